//! The saved devices (profiles) in the step list: new, open, rename, duplicate, delete with
//! confirmation, import and export.

use super::style;
use iced::widget::{Column, button, checkbox, column, row, text, text_input};
use iced::{Element, Length};

pub const RENAME_ID: &str = "device-rename";

#[derive(Debug, Default)]
pub struct State {
    /// The new name while renaming.
    pub renaming: Option<String>,
    /// Asking "delete?"; the flag is "also delete its app password".
    pub confirm_delete: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Open(usize),
    New,
    StartRename,
    RenameChanged(String),
    FinishRename,
    CancelRename,
    Duplicate,
    AskDelete,
    ForgetPasswordToo(bool),
    ConfirmDelete,
    KeepIt,
    Import,
    Export,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Open(usize),
    New,
    Rename(String),
    Duplicate,
    /// Delete the current profile; `true` also deletes its password from the keychain.
    Delete(bool),
    Import,
    Export,
}

impl State {
    pub fn update(&mut self, message: Message, current_name: &str) -> Action {
        match message {
            Message::Open(i) => {
                self.renaming = None;
                self.confirm_delete = None;
                return Action::Open(i);
            }
            Message::New => return Action::New,
            Message::StartRename => self.renaming = Some(current_name.to_string()),
            Message::RenameChanged(s) => self.renaming = Some(s),
            Message::FinishRename => {
                if let Some(name) = self.renaming.take()
                    && !name.trim().is_empty()
                {
                    return Action::Rename(name.trim().to_string());
                }
            }
            Message::CancelRename => self.renaming = None,
            Message::Duplicate => return Action::Duplicate,
            Message::AskDelete => self.confirm_delete = Some(false),
            Message::ForgetPasswordToo(on) => {
                if self.confirm_delete.is_some() {
                    self.confirm_delete = Some(on);
                }
            }
            Message::ConfirmDelete => {
                if let Some(forget) = self.confirm_delete.take() {
                    return Action::Delete(forget);
                }
            }
            Message::KeepIt => self.confirm_delete = None,
            Message::Import => return Action::Import,
            Message::Export => return Action::Export,
        }
        Action::None
    }

    pub fn view<'a>(
        &'a self,
        names: &[&'a str],
        current: usize,
        remembers_password: bool,
    ) -> Element<'a, Message> {
        let small = |label: &'a str, m: Message| {
            button(text(label).size(12))
                .on_press(m)
                .padding([3, 6])
                .style(button::secondary)
        };
        let mut list = Column::new().spacing(4);
        for (i, name) in names.iter().enumerate() {
            if i == current
                && let Some(new) = &self.renaming
            {
                list = list.push(
                    column![
                        text_input("Device name", new)
                            .id(RENAME_ID)
                            .on_input(Message::RenameChanged)
                            .on_submit(Message::FinishRename)
                            .size(style::SMALL),
                        row![
                            small("Save name", Message::FinishRename),
                            small("Cancel", Message::CancelRename)
                        ]
                        .spacing(4),
                    ]
                    .spacing(4),
                );
                continue;
            }
            list = list.push(
                button(text(*name).size(style::SMALL))
                    .on_press(Message::Open(i))
                    .width(Length::Fill)
                    .padding([5, 8])
                    .style(if i == current {
                        button::secondary
                    } else {
                        button::text
                    }),
            );
        }
        let mut c = column![text("Devices").size(style::SMALL).style(style::hint), list].spacing(6);
        if let Some(forget) = self.confirm_delete {
            let name = names.get(current).copied().unwrap_or("this device");
            let mut ask =
                column![text(format!("Delete \"{name}\"?")).size(style::SMALL)].spacing(4);
            if remembers_password {
                ask = ask.push(
                    checkbox(forget)
                        .label("Also delete its app password from this computer")
                        .on_toggle(Message::ForgetPasswordToo)
                        .text_size(12),
                );
            }
            ask = ask.push(
                row![
                    button(text("Delete").size(12))
                        .on_press(Message::ConfirmDelete)
                        .padding([3, 6])
                        .style(button::danger),
                    small("Keep it", Message::KeepIt),
                ]
                .spacing(4),
            );
            c = c.push(ask);
        } else if self.renaming.is_none() {
            c = c.push(
                row![
                    small("New", Message::New),
                    small("Rename", Message::StartRename),
                    small("Duplicate", Message::Duplicate)
                ]
                .spacing(4),
            );
            c = c.push(
                row![
                    small("Delete", Message::AskDelete),
                    small("Import", Message::Import),
                    small("Export", Message::Export)
                ]
                .spacing(4),
            );
        }
        c.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_and_delete_need_confirmation() {
        let mut s = State::default();
        assert_eq!(s.update(Message::StartRename, "Copier"), Action::None);
        assert_eq!(s.renaming.as_deref(), Some("Copier"));
        s.update(Message::RenameChanged("  ".into()), "Copier");
        assert_eq!(
            s.update(Message::FinishRename, "Copier"),
            Action::None,
            "an empty name is not taken"
        );
        s.update(Message::StartRename, "Copier");
        s.update(Message::RenameChanged(" Library copier ".into()), "Copier");
        assert_eq!(
            s.update(Message::FinishRename, "Copier"),
            Action::Rename("Library copier".into())
        );
        assert_eq!(
            s.update(Message::ConfirmDelete, "x"),
            Action::None,
            "no delete without asking"
        );
        s.update(Message::AskDelete, "x");
        s.update(Message::ForgetPasswordToo(true), "x");
        assert_eq!(s.update(Message::ConfirmDelete, "x"), Action::Delete(true));
        s.update(Message::AskDelete, "x");
        assert_eq!(s.update(Message::KeepIt, "x"), Action::None);
        assert_eq!(s.confirm_delete, None);
    }
}
