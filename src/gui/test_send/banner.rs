//! The verdict banner after a test send: headline, next step, the message for IT, the report
//! buttons; for Microsoft 365 the line about what is coming, or the best way for this copier
//! with the others behind "Other ways (for IT)".

use super::{Context, Message, State};
use crate::gui::style;
use iced::widget::{Column, button, column, container, row, text};
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
        let works = report.recommended.is_some();
        if works {
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
            if let Some(n) = &v.notice {
                col = col.push(text(n.clone()).size(style::BODY));
            }
        } else {
            col = col.push(text(format!("What to do: {}", v.next_step)).size(style::BODY));
            if let Some(next) = v.next {
                col = col.push(
                    button(text(next.label()))
                        .on_press(Message::Next(next))
                        .style(button::primary)
                        .padding([8, 16]),
                );
            }
        }
        if v.ways.is_some() && cx.relay_offered {
            col = col.push(
                button(text("This computer can keep the copier sending"))
                    .on_press(Message::OpenRelay)
                    .style(button::secondary),
            );
        }
        if let Some(m) = &v.message_for_it {
            col = col.push(self.for_it_box(m, cx));
        }
        if let Some(ways) = v.ways.as_ref().filter(|_| !works) {
            col = col.push(
                button(
                    text(if self.ways_open {
                        "Other ways (for IT) ▾"
                    } else {
                        "Other ways (for IT) ▸"
                    })
                    .size(style::SMALL),
                )
                .on_press(Message::ToggleWays)
                .style(button::text),
            );
            if self.ways_open {
                let mut list = Column::new().spacing(4);
                for w in &ways.others {
                    list = list.push(text(format!("• {}: {}", w.title, w.text)).size(style::SMALL));
                }
                col = col.push(list);
            }
        }
        col = col.push(report_buttons);
        Some(
            container(col)
                .padding(14)
                .width(Length::Fill)
                .style(if works { style::good } else { style::bad })
                .into(),
        )
    }

    fn for_it_box<'a>(&'a self, m: &'a str, cx: &Context<'a>) -> Element<'a, Message> {
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
        container(
            column![
                text("Message for IT:").size(style::SMALL),
                text(m).size(style::SMALL),
                actions,
            ]
            .spacing(6),
        )
        .padding(10)
        .width(Length::Fill)
        .style(style::panel)
        .into()
    }
}
