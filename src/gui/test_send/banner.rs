//! The verdict banner after a test send: headline, next step, the message for IT, the report
//! buttons.

use super::{Context, Message, State};
use crate::gui::style;
use iced::widget::{button, column, container, row, text};
use iced::{Element, Length};

impl State {
    pub(super) fn banner<'a>(&'a self, cx: &Context<'a>) -> Option<Element<'a, Message>> {
        let report = self.report.as_ref()?;
        let v = &report.summary;
        let report_buttons = row![
            button(text("Copy report").size(style::SMALL))
                .on_press(Message::CopyReport)
                .style(button::secondary),
            button(text("Save report...").size(style::SMALL))
                .on_press(Message::SaveReport)
                .style(button::secondary),
        ]
        .spacing(8);
        let mut col = column![text(v.headline.clone()).size(20)].spacing(8);
        if report.recommended.is_some() {
            col = col.push(
                row![
                    text(v.next_step.clone())
                        .size(style::SMALL)
                        .width(Length::Fill),
                    button(text("Show the settings card"))
                        .on_press(Message::ShowCard)
                        .style(button::success)
                        .padding([8, 16]),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            );
            col = col.push(report_buttons);
            return Some(
                container(col)
                    .padding(14)
                    .width(Length::Fill)
                    .style(style::good)
                    .into(),
            );
        }
        col = col.push(text(format!("What to do: {}", v.next_step)).size(style::BODY));
        if let Some(next) = v.next {
            col = col.push(
                button(text(next.label()))
                    .on_press(Message::Next(next))
                    .style(button::primary)
                    .padding([8, 16]),
            );
        }
        if let Some(m) = &v.message_for_it {
            let mut actions = row![
                button(text("Copy message for IT").size(style::SMALL))
                    .on_press(Message::CopyForIt)
                    .style(button::secondary)
            ]
            .spacing(8);
            if cx.can_email_it {
                actions = actions.push(
                    button(text("Email IT").size(style::SMALL))
                        .on_press(Message::EmailIt)
                        .style(button::secondary),
                );
            }
            col = col.push(
                container(
                    column![
                        text("Message for IT:").size(style::SMALL),
                        text(m.clone()).size(style::SMALL),
                        actions,
                    ]
                    .spacing(6),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::panel),
            );
        }
        col = col.push(report_buttons);
        Some(
            container(col)
                .padding(14)
                .width(Length::Fill)
                .style(style::bad)
                .into(),
        )
    }
}
