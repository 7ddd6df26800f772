//! Step 4, Settings card: exactly what to type into the device; copy, save, print.

use super::style;
use crate::card::{Card, RowKind};
use crate::secrets::AppPassword;
use iced::widget::{Column, button, column, container, row, text};
use iced::{Element, Length};
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct State {
    pub reveal: bool,
    /// What happened after Copy, Save or Print, in plain words.
    pub notice: Option<String>,
    /// Copied, saved or printed at least once.
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    ToggleReveal,
    Copy,
    SaveAs,
    Print,
    GoToTest,
    /// Save as... finished: the file written, `None` when the dialog was closed.
    Saved(Result<Option<PathBuf>, String>),
    /// The card was handed to the browser for printing (or could not be).
    Printed(Result<(), String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    Copy(String),
    Save { text: String, html: String },
    Print(String),
    GoToTest,
}

impl State {
    pub fn update(&mut self, message: Message, card: Option<&Card>) -> Action {
        match message {
            Message::Saved(Ok(Some(path))) => {
                self.used = true;
                self.notice = Some(format!(
                    "Saved to {}. The password is not in the file.",
                    path.display()
                ));
                return Action::None;
            }
            Message::Saved(Ok(None)) | Message::Printed(Ok(())) => return Action::None,
            Message::Saved(Err(e)) | Message::Printed(Err(e)) => {
                self.notice = Some(e);
                return Action::None;
            }
            _ => {}
        }
        let Some(card) = card else {
            return if message == Message::GoToTest {
                Action::GoToTest
            } else {
                Action::None
            };
        };
        match message {
            Message::ToggleReveal => self.reveal = !self.reveal,
            Message::Copy => {
                self.used = true;
                self.notice =
                    Some("Copied. The password is not in the copy: type it from step 1.".into());
                return Action::Copy(card.text());
            }
            Message::SaveAs => {
                return Action::Save {
                    text: card.text(),
                    html: card.html(),
                };
            }
            Message::Print => {
                self.used = true;
                self.notice = Some("The card opened in your browser. Print it from there.".into());
                return Action::Print(card.html());
            }
            Message::GoToTest => return Action::GoToTest,
            Message::Saved(_) | Message::Printed(_) => {}
        }
        Action::None
    }

    pub fn view<'a>(
        &'a self,
        card: Option<&'a Card>,
        password: &AppPassword,
    ) -> Element<'a, Message> {
        let title = text("4. Settings card").size(style::TITLE);
        let Some(card) = card else {
            return column![
                title,
                text("The card shows the settings that worked, so run the test send first.")
                    .size(style::BODY),
                button(text("Go to the test send"))
                    .on_press(Message::GoToTest)
                    .style(button::primary)
                    .padding([8, 16]),
            ]
            .spacing(style::GAP)
            .into();
        };
        let mut rows = Column::new().spacing(10);
        for r in card.rows() {
            let value: Element<'_, Message> = if r.kind == RowKind::Password {
                let shown = if self.reveal && !password.is_empty() {
                    password.expose().to_string()
                } else {
                    "•".repeat(password.len().clamp(8, 16))
                };
                row![
                    text(shown).size(18).font(style::MONO),
                    button(text(if self.reveal { "Hide" } else { "Show" }).size(style::SMALL))
                        .on_press(Message::ToggleReveal)
                        .style(button::secondary),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center)
                .into()
            } else {
                text(r.value).size(18).font(style::MONO).into()
            };
            rows = rows.push(
                row![text(r.kind.label()).size(style::BODY).width(190), value]
                    .spacing(10)
                    .align_y(iced::Alignment::Center),
            );
        }
        let mut content = column![
            title,
            text(card.title()).size(20),
            text("Type these into the device's email (SMTP) settings, exactly as shown.")
                .size(style::BODY),
            container(rows)
                .padding(16)
                .width(Length::Fill)
                .style(style::panel),
        ]
        .spacing(style::GAP);
        if let Some(w) = &card.web_ui {
            content = content.push(
                text(format!(
                    "Open the device's settings page ({w}) in a browser, or use its control panel."
                ))
                .size(style::SMALL)
                .style(style::hint),
            );
        }
        content = content.push(
            row![
                button(text("Copy"))
                    .on_press(Message::Copy)
                    .style(button::primary)
                    .padding([8, 16]),
                button(text("Save as..."))
                    .on_press(Message::SaveAs)
                    .style(button::secondary)
                    .padding([8, 16]),
                button(text("Print"))
                    .on_press(Message::Print)
                    .style(button::secondary)
                    .padding([8, 16]),
            ]
            .spacing(8),
        );
        if let Some(n) = &self.notice {
            content = content.push(text(n).size(style::SMALL));
        }
        if let Some((notice, _)) = &card.notice {
            content = content.push(
                container(
                    text(format!(
                        "Note: {notice} (The message for IT is in step 3 and on the saved card.)"
                    ))
                    .size(style::SMALL),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::caution),
            );
        }
        let mut copier = column![text("At the copier").size(style::BODY)].spacing(4);
        for (i, l) in crate::card::AT_THE_COPIER.iter().enumerate() {
            copier = copier.push(text(format!("{}. {l}", i + 1)).size(style::SMALL));
        }
        copier =
            copier.push(text("If the copier fails although ScanMail worked").size(style::BODY));
        for l in crate::card::IF_THE_COPIER_FAILS {
            copier = copier.push(text(format!("• {l}")).size(style::SMALL));
        }
        content = content.push(
            container(copier)
                .padding(14)
                .width(Length::Fill)
                .style(style::panel),
        );
        content.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Security;

    fn card() -> Card {
        Card {
            server: "smtp.gmail.com".into(),
            port: 465,
            security: Security::Ssl,
            device_words: None,
            device_words_off: None,
            password_hint: "The app password (no spaces)".into(),
            login: "lab@example.edu".into(),
            from: "lab@example.edu".into(),
            device: Some("Lab copier".into()),
            menu_path: None,
            web_ui: None,
            tested: None,
            sign_in: None,
            sign_in_where: None,
            notice: None,
        }
    }

    #[test]
    fn without_a_card_only_the_way_back_works() {
        let mut s = State::default();
        assert_eq!(s.update(Message::Copy, None), Action::None);
        assert_eq!(s.update(Message::GoToTest, None), Action::GoToTest);
        assert!(!s.used);
    }

    #[test]
    fn copy_save_and_print_mark_the_card_used_and_say_what_happened() {
        let c = card();
        let mut s = State::default();
        let Action::Copy(text) = s.update(Message::Copy, Some(&c)) else {
            panic!("no copy")
        };
        assert!(text.contains("smtp.gmail.com") && s.used);

        let mut s = State::default();
        assert!(matches!(
            s.update(Message::SaveAs, Some(&c)),
            Action::Save { .. }
        ));
        assert!(!s.used, "not used until the file is written");
        s.update(Message::Saved(Ok(None)), Some(&c));
        assert!(!s.used, "the dialog was closed");
        s.update(
            Message::Saved(Ok(Some(PathBuf::from("card.html")))),
            Some(&c),
        );
        assert!(s.used);
        assert!(s.notice.as_deref().unwrap_or("").contains("card.html"));
        s.update(Message::Saved(Err("The disk is full.".into())), Some(&c));
        assert_eq!(s.notice.as_deref(), Some("The disk is full."));

        let mut s = State::default();
        let Action::Print(html) = s.update(Message::Print, Some(&c)) else {
            panic!("no print")
        };
        assert!(html.contains("<table>") && s.used);
        s.update(Message::Printed(Err("No browser.".into())), Some(&c));
        assert_eq!(s.notice.as_deref(), Some("No browser."));
    }

    #[test]
    fn show_reveals_the_password_row() {
        let mut s = State::default();
        s.update(Message::ToggleReveal, Some(&card()));
        assert!(s.reveal);
    }
}
