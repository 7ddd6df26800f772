//! The Relay page's look, by what it knows: no relay yet, settings it cannot read, a relay (its
//! sign-in, its copiers, the form to add one), and a copier's card.

use super::{ADDRESS_ID, Message, NAME_ID, State, style};
use crate::relay::{card::RelayCard, config::RelayConfig, status};
use iced::widget::{Column, button, column, container, row, text, text_input};
use iced::{Element, Length};

impl State {
    pub fn view(&self) -> Element<'_, Message> {
        let mut c = column![text("Relay").size(style::TITLE)].spacing(style::GAP);
        c = c.push(
            text("A computer that stays on can keep copiers sending, even when they cannot sign in to the mail provider. Each copier signs in to this computer, and this computer signs in to the provider for them.")
                .size(style::BODY),
        );
        match &self.config {
            None => {
                c = c.push(
                    text("This computer has no relay yet. IT can set one up in a few steps. Send IT the message below.")
                        .size(style::BODY),
                );
                c = c.push(
                    text(self.message_for_it())
                        .size(style::SMALL)
                        .style(style::hint),
                );
                c = c.push(button(text("Copy the message for IT")).on_press(Message::CopyForIt));
            }
            Some(Err(e)) => {
                c = c.push(
                    container(
                        column![
                            text(format!("The relay's settings could not be read: {e}"))
                                .size(style::BODY),
                            text(
                                "Send IT the message below. When IT has fixed it, press Try again."
                            )
                            .size(style::BODY),
                            text(self.message_for_it()).size(style::SMALL),
                            row![
                                button(text("Copy the message for IT"))
                                    .on_press(Message::CopyForIt),
                                button(text("Try again"))
                                    .on_press(Message::Refresh)
                                    .style(button::secondary),
                            ]
                            .spacing(8),
                        ]
                        .spacing(8),
                    )
                    .padding(10)
                    .width(Length::Fill)
                    .style(style::bad),
                );
            }
            Some(Ok(cfg)) => c = c.push(self.overview(cfg)),
        }
        if let Some(s) = &self.said {
            c = c.push(text(s.as_str()).size(style::BODY));
        }
        if let Some(card) = &self.card {
            c = c.push(card_view(card));
        }
        c.into()
    }

    fn overview<'a>(&'a self, cfg: &'a RelayConfig) -> Element<'a, Message> {
        if let Some(why) = &self.unreadable {
            return text(why.as_str()).size(style::BODY).into();
        }
        let report = status::report(cfg, &self.state, crate::time::now_unix());
        let mut c = Column::new().spacing(8);
        let u = &report.upstream;
        c = c.push(
            text(if report.running {
                format!("The relay runs here, on {}.", report.listening.join(", "))
            } else {
                "The relay is not running on this computer.".to_string()
            })
            .size(style::BODY),
        );
        if !report.running {
            c = c.push(
                button(text("Install it as a service"))
                    .on_press(Message::InstallService)
                    .style(button::secondary),
            );
        }
        // A sign-in whose time has passed is not "until" anything: the warning below says when
        // it ran out.
        let ran_out = u
            .token_expires
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t.timestamp() <= crate::time::now_unix());
        let signed = if u.signed_in && ran_out {
            format!("The relay's sign-in as {} has run out.", u.account)
        } else if u.signed_in {
            format!(
                "Signed in as {}{}.",
                u.account,
                u.token_expires
                    .as_deref()
                    .map(|t| format!(
                        " (it stays signed in while the relay runs; unused, until {})",
                        crate::time::local_words_from(t)
                    ))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "Not signed in as {}: copiers' mail waits on the copiers.",
                u.account
            )
        };
        c = c.push(text(signed).size(style::BODY));
        c = c.push(
            text(super::sign_in_kind(cfg))
                .size(style::SMALL)
                .style(style::hint),
        );
        if let Some(m) = self.microsoft_view(cfg) {
            c = c.push(m);
        }
        if !u.signed_in || !report.warnings.is_empty() {
            c = c.push(
                button(text("Sign in again"))
                    .on_press(Message::SignInAgain)
                    .style(button::primary),
            );
        }
        for w in &report.warnings {
            c = c.push(
                container(text(w.clone()).size(style::SMALL))
                    .padding(8)
                    .width(Length::Fill)
                    .style(style::caution),
            );
        }
        let mut list = Column::new().spacing(6);
        if report.devices.is_empty() {
            list = list.push(text("No copiers yet.").size(style::SMALL));
        }
        for d in &report.devices {
            let last = d.last_message.as_deref().map_or_else(
                || "no message yet".to_string(),
                |t| format!("last message {}", crate::time::local_words_from(t)),
            );
            let mut line = format!("{}: {} message(s), {last}", d.name, d.messages);
            if let Some(e) = &d.last_error {
                line += &format!("\n  Last problem: {e}");
            }
            list = list.push(
                row![
                    text(line).size(style::SMALL).width(Length::Fill),
                    button(text("Check this copier through the relay").size(style::SMALL))
                        .on_press(Message::Check(d.name.clone()))
                        .style(button::secondary),
                ]
                .spacing(8)
                .align_y(iced::Alignment::Center),
            );
        }
        c = c.push(
            container(column![text("Copiers").size(style::BODY), list].spacing(6))
                .padding(12)
                .width(Length::Fill)
                .style(style::panel),
        );
        c = c.push(
            container(
                column![
                    text("Add a copier").size(style::BODY),
                    text("Its name is its login (letters, digits and - . _ @).").size(style::SMALL),
                    text_input("copier-3f", &self.name)
                        .id(NAME_ID)
                        .on_input(Message::NameChanged)
                        .on_submit(Message::Add)
                        .padding(8),
                    text("Its address on the network (optional: then only it may use this login)")
                        .size(style::SMALL),
                    text_input("10.1.2.3", &self.address)
                        .id(ADDRESS_ID)
                        .on_input(Message::AddressChanged)
                        .on_submit(Message::Add)
                        .padding(8),
                    button(text("Add the copier")).on_press(Message::Add),
                ]
                .spacing(6),
            )
            .padding(12)
            .width(Length::Fill)
            .style(style::panel),
        );
        c.into()
    }
}

pub(super) fn card_view(card: &RelayCard) -> Element<'_, Message> {
    let mut rows = Column::new().spacing(4);
    for (k, v) in card.rows() {
        rows = rows.push(
            row![
                text(k).size(style::BODY).width(160),
                text(v).size(style::BODY).font(iced::Font::MONOSPACE),
            ]
            .spacing(10),
        );
    }
    container(
        column![
            text("Type these into the copier").size(style::BODY),
            rows,
            row![
                button(text("Copy")).on_press(Message::CopyCard),
                button(text("Print"))
                    .on_press(Message::PrintCard)
                    .style(button::secondary),
            ]
            .spacing(8),
            text("The computer with the relay must stay on, on the copier's network.")
                .size(style::SMALL)
                .style(style::hint),
        ]
        .spacing(8),
    )
    .padding(14)
    .width(Length::Fill)
    .style(style::panel)
    .into()
}
