//! The notice at the bottom of the page: something to tell the person (a browser that would not
//! open, a file that could not be read), with Copy address when it holds one, the message for
//! IT with Copy when it holds one, and OK.

use super::app::{App, Message};
use super::style;
use iced::widget::{button, column, container, row, text};
use iced::{Element, Length};

impl App {
    /// The web address inside the current notice, if any.
    pub fn notice_address(&self) -> Option<String> {
        let n = self.notice.as_deref()?;
        let start = n.find("https://").or_else(|| n.find("http://"))?;
        Some(
            n[start..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// The message for IT inside the current notice (`Send IT this: "..."`), if any.
    pub fn notice_for_it(&self) -> Option<String> {
        let n = self.notice.as_deref()?;
        let start = n.find("IT this: \"")? + "IT this: \"".len();
        let end = n.rfind('"').filter(|&e| e > start)?;
        Some(n[start..end].to_string())
    }

    pub(super) fn notice_view(&self) -> Option<Element<'_, Message>> {
        let n = self.notice.as_ref()?;
        let mut actions = row![].spacing(8);
        if self.notice_address().is_some() {
            actions = actions.push(
                button(text("Copy address").size(style::SMALL))
                    .on_press(Message::CopyNoticeAddress)
                    .style(button::secondary),
            );
        }
        if self.notice_for_it().is_some() {
            actions = actions.push(
                button(text("Copy the message for IT").size(style::SMALL))
                    .on_press(Message::CopyNoticeForIt)
                    .style(button::secondary),
            );
        }
        actions = actions.push(
            button(text("OK").size(style::SMALL))
                .on_press(Message::DismissNotice)
                .style(button::secondary),
        );
        Some(
            container(column![text(n).size(style::SMALL), actions].spacing(8))
                .padding(10)
                .width(Length::Fill)
                .style(style::caution)
                .into(),
        )
    }
}
