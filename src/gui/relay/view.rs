//! The Relay page's look, by what it knows: no relay yet, settings it cannot read, a relay (its
//! sign-in, its copiers, the form to add one), and a copier's card.

use super::copiers::card_view;
use super::{ADDRESS_ID, Message, NAME_ID, State, style};
use crate::relay::{config::RelayConfig, status};
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
            Some(Err(_)) => {
                c = c.push(
                    container(
                        column![
                            text("The relay's settings on this computer cannot be used.")
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
        if let Some(cmd) = &self.admin_command {
            c = c.push(
                container(
                    column![
                        text(cmd.as_str())
                            .size(style::SMALL)
                            .font(iced::Font::MONOSPACE),
                        button(text("Copy the command")).on_press(Message::CopyCommand),
                    ]
                    .spacing(6),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::panel),
            );
        }
        if let (Some(m), Some(Ok(_))) = (&self.for_it, &self.config) {
            c = c.push(
                column![
                    text(m.as_str()).size(style::SMALL).style(style::hint),
                    button(text("Copy the message for IT")).on_press(Message::CopyForIt),
                ]
                .spacing(6),
            );
        }
        if let Some(card) = &self.card {
            c = c.push(card_view(card));
        }
        if let Some(name) = &self.card_again {
            c = c.push(
                button(text("Lost the password?"))
                    .on_press(Message::LostPassword(name.clone()))
                    .style(button::secondary),
            );
        }
        c.into()
    }

    fn overview<'a>(&'a self, cfg: &'a RelayConfig) -> Element<'a, Message> {
        let mut c = Column::new().spacing(8);
        if let Some(o) = &self.old_copier {
            c = c.push(self.old_copier_view(o, cfg));
        }
        // Where only IT can read the service's state, the page still adds copiers (the
        // administrator's step) and gives the message for IT.
        if self.unreadable.is_some() {
            c = c.push(
                container(
                    column![
                        text(if self.unreadable.as_deref().is_some_and(|w| w.starts_with("Only an administrator")) {
                            "Only IT can see how the relay is doing on this computer. You can still add a copier below. To know whether its scans go through, send IT the message below."
                        } else {
                            "ScanMail cannot read how the relay is doing right now. Look again in a minute. You can still add a copier below. If this stays, send IT the message below."
                        })
                            .size(style::BODY),
                        text(self.message_for_it()).size(style::SMALL),
                        button(text("Copy the message for IT")).on_press(Message::CopyForIt),
                    ]
                    .spacing(6),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::caution),
            );
            c = c.push(self.device_names(cfg));
            c = c.push(self.add_form());
            return c.into();
        }
        let report = status::report(cfg, &self.state, crate::time::now_unix());
        let u = &report.upstream;
        if report.running {
            c = c.push(
                text(format!(
                    "The relay runs on this computer. Copiers send to {}, {}.",
                    crate::relay::card::this_address(cfg),
                    report
                        .listening
                        .iter()
                        .map(|l| format!(
                            "Port {}",
                            l.rsplit_once(':').map_or(l.as_str(), |(_, p)| p)
                        ))
                        // The same port on IPv4 and IPv6 is one port to the copier.
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
                .size(style::BODY),
            );
        } else {
            let down = self.down();
            c = c.push(text(down.said).size(style::BODY));
            let mut buttons = row![].spacing(8);
            if let Some((label, m)) = down.button {
                buttons = buttons.push(button(text(label)).on_press(m));
            }
            if self.for_it.is_none() && down.for_it.is_some() {
                buttons = buttons.push(
                    button(text("Copy the message for IT"))
                        .on_press(Message::CopyForIt)
                        .style(button::secondary),
                );
            }
            c = c.push(buttons);
        }
        // A sign-in whose time has passed is not "until" anything: the warning below says when
        // it ran out.
        let now = crate::time::now_unix();
        let ends = u
            .token_expires
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp());
        let ran_out = ends.is_some_and(|t| t <= now);
        let signed = if u.signed_in && ran_out {
            format!("The relay's sign-in as {} has run out.", u.account)
        } else if u.signed_in {
            format!(
                "Signed in as {}{}.",
                u.account,
                u.token_expires
                    .as_deref()
                    .map(|t| format!(
                        ". It stays signed in while the relay runs. If the relay is off, the sign-in ends on {}",
                        crate::time::local_words_from(t)
                    ))
                    .unwrap_or_default()
            )
        } else {
            format!(
                "Not signed in as {}: copiers keep their scans and try again later.",
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
        // "Sign in" only where a person's sign-in is what is missing (the app-only sign-in has
        // its own steps above).
        let app_only = cfg.upstream.auth == crate::relay::config::AuthKind::App;
        // A password is IT's to give (relay sign-in --password-stdin, in the message for IT).
        let password = cfg.upstream.auth == crate::relay::config::AuthKind::Password;
        // Blocked by the provider: a sign-in now is refused the same way (IT's fix comes first).
        let blocked = crate::relay::status::sign_in_blocked(u.last_error.as_deref());
        let needs_sign_in = !app_only
            && !password
            && !blocked
            && (!u.signed_in || ends.is_some_and(|t| t - now < 14 * 86_400));
        if needs_sign_in {
            c = c.push(
                button(text("Sign in"))
                    .on_press(Message::SignInAgain)
                    .style(button::primary),
            );
        }
        c = c.push(self.copiers(&report));
        // Warnings and refusals only IT can fix: one message for IT, with Copy.
        if self.for_it.is_none()
            && let Some(m) = self.needs_it(cfg)
        {
            c = c.push(
                column![
                    text(if self.it_must_act(cfg) {
                        "Something here needs IT. Send IT the message below."
                    } else {
                        "If the steps above do not help, send IT the message below."
                    })
                    .size(style::BODY),
                    text(m).size(style::SMALL).style(style::hint),
                    button(text("Copy the message for IT")).on_press(Message::CopyNeedsIt),
                ]
                .spacing(6),
            );
        }
        c = c.push(self.add_form());
        c.into()
    }
}

impl State {
    fn add_form(&self) -> Element<'_, Message> {
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
        .style(style::panel)
        .into()
    }

    /// The copier the copier check found too old for encryption: what IT must allow.
    fn old_copier_view<'a>(
        &'a self,
        o: &'a crate::gui::copier_check::OldCopier,
        cfg: &'a RelayConfig,
    ) -> Element<'a, Message> {
        let allowed = o
            .address
            .parse()
            .is_ok_and(|ip| crate::relay::config::allowed(&cfg.allow_plain_from, ip));
        let said = if allowed {
            format!(
                "IT lets the copier at {} send without encryption, on this network only. Add it below with that address: its card then says Security: None.",
                o.address
            )
        } else {
            format!(
                "The copier at {} knows only old encryption ({}). The relay takes it only if IT lets it send without encryption, on this network only. Send IT the message below, then add the copier here with its address.",
                o.address, o.version
            )
        };
        let mut c = column![text(said).size(style::BODY)].spacing(6);
        if !allowed && self.for_it.is_none() {
            c = c.push(text(self.message_for_it()).size(style::SMALL));
            c = c.push(button(text("Copy the message for IT")).on_press(Message::CopyForIt));
        }
        container(c)
            .padding(10)
            .width(Length::Fill)
            .style(style::caution)
            .into()
    }
}
