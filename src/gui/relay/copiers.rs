//! The Relay page's copiers: each with its messages, its last problem and what to do, its card
//! again (without the password) and the check through the relay; the addresses turned away;
//! and a copier's card.

use super::{Message, State, style};
use crate::relay;
use crate::relay::{card::RelayCard, config::RelayConfig, status::Report};
use iced::widget::{Column, button, column, container, row, text};
use iced::{Element, Length};

impl State {
    /// A copier's card again: server, port, security, login, no password (it is shown only when
    /// the copier is added) and no maker's words (the Device step's maker may be another's).
    pub(super) fn show_card(&mut self, name: &str) {
        let Some(cfg) = self.config() else { return };
        let Some(d) = cfg.device(name) else { return };
        let mut card = RelayCard::new(cfg, d, &relay::card::this_address(cfg), None);
        card.password = "The one on the copier's first card (shown only when it was added)".into();
        self.card = Some(card);
        self.card_again = Some(name.to_string());
        self.said = Some(format!(
            "The card for {name} is below. Its password is not on it: it was shown only when the copier was added."
        ));
    }

    /// The password is lost: IT removes the copier, then staff add it again here (the form is
    /// filled with its name and address) for a new card and password.
    pub(super) fn lost_password(&mut self, name: &str) {
        let Some(cfg) = self.config() else { return };
        let Some(d) = cfg.device(name) else { return };
        let address = d.addresses.first().cloned().unwrap_or_default();
        let with = if address.is_empty() {
            String::new()
        } else {
            format!(" with its address {address}")
        };
        self.for_it = Some(crate::typed::typed(&format!(
            "The password for the copier {name} is lost. Please remove the copier, so staff can add it again{with} on ScanMail's Relay page for a new password: scanmail relay remove-device {name}"
        )));
        self.said = Some(format!(
            "Send IT the message below. When IT has removed {name}, press Add the copier in Add a copier: it gets a new card and password."
        ));
        self.name = name.to_string();
        self.address = address;
        self.card = None;
        self.card_again = None;
    }

    /// The copiers with their counts, problems and buttons, and the addresses turned away.
    pub(super) fn copiers<'a>(&'a self, report: &Report) -> Element<'a, Message> {
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
            match (&d.last_error, d.refusal) {
                (Some(e), Some(_)) => line += &format!("\n  Last problem: {e}"),
                // Its last message failed (the provider, the sign-in, the network): the words
                // and their fix are IT's, in the message for IT.
                (Some(_), None) => {
                    line += "\n  Last problem: Its last message did not go through.\n  What to do: Send the scan again. If it fails again, send IT the message below.";
                }
                _ => {}
            }
            if let Some(r) = d.refusal {
                line += &format!(
                    "\n  What to do: {}",
                    r.staff_step()
                        .unwrap_or("IT must change something. Send IT the message below.")
                );
            }
            list = list.push(
                row![
                    text(line).size(style::SMALL).width(Length::Fill),
                    button(text("Show its card").size(style::SMALL))
                        .on_press(Message::ShowCard(d.name.clone()))
                        .style(button::secondary),
                    button(text("Check this copier through the relay").size(style::SMALL))
                        .on_press(Message::Check(d.name.clone()))
                        .style(button::secondary),
                ]
                .spacing(8)
                .align_y(iced::Alignment::Center),
            );
        }
        for d in &report.strangers {
            list = list.push(
                text(format!(
                    "Turned away at {}{}: {}",
                    d.name,
                    d.last_refused
                        .as_deref()
                        .map(|t| format!(" ({})", crate::time::local_words_from(t)))
                        .unwrap_or_default(),
                    d.last_error.as_deref().unwrap_or_default()
                ))
                .size(style::SMALL)
                .style(style::hint),
            );
            if let Some(r) = d.refusal {
                list = list.push(
                    text(format!(
                        "  If this is your copier: {}",
                        r.staff_step().unwrap_or("send IT the message below.")
                    ))
                    .size(style::SMALL)
                    .style(style::hint),
                );
            }
        }
        container(column![text("Copiers").size(style::BODY), list].spacing(6))
            .padding(12)
            .width(Length::Fill)
            .style(style::panel)
            .into()
    }

    /// The copiers by name, without counts (where the state cannot be read).
    pub(super) fn device_names<'a>(&'a self, cfg: &'a RelayConfig) -> Element<'a, Message> {
        let names: Vec<&str> = cfg.devices.iter().map(|d| d.name.as_str()).collect();
        container(
            column![
                text("Copiers").size(style::BODY),
                text(if names.is_empty() {
                    "No copiers yet.".to_string()
                } else {
                    names.join(", ")
                })
                .size(style::SMALL),
            ]
            .spacing(6),
        )
        .padding(12)
        .width(Length::Fill)
        .style(style::panel)
        .into()
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
