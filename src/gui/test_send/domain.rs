//! Step 3's hint from the account's domain: when its domain is not a provider ScanMail knows,
//! its SRV and MX records are looked up (a few seconds at most, never blocking the window) and
//! the step suggests the server, or warns when the preset's server and the domain disagree.

use super::{Message, State};
use crate::catalog;
use crate::discover::dns::DomainFacts;
use crate::gui::style;
use iced::widget::{button, column, container, text};
use iced::{Element, Length};

impl State {
    /// The domain's provider, once looked up.
    pub(super) fn domain_found(&mut self, domain: String, facts: DomainFacts) {
        self.domain = Some((domain, facts));
    }

    /// The suggested server and ports from the domain: its SRV target, else its provider's.
    fn domain_suggestion(&self) -> Option<(String, Option<u16>, Option<u16>)> {
        let (_, f) = self.domain.as_ref()?;
        if let Some((host, port, implicit)) = f.srv.as_ref().filter(|_| f.srv_trusted) {
            return Some(if *implicit {
                (host.clone(), Some(*port), None)
            } else {
                (host.clone(), None, Some(*port))
            });
        }
        let p = catalog::catalog().provider(f.provider.as_deref()?)?;
        Some((p.default_server()?.to_string(), p.ssl_port, p.starttls_port))
    }

    pub(super) fn use_domain_server(&mut self) {
        if self.locked {
            return;
        }
        if let Some((server, ssl, starttls)) = self.domain_suggestion() {
            self.server = server;
            self.ssl_on = ssl.is_some();
            self.starttls_on = starttls.is_some();
            if let Some(p) = ssl {
                self.ssl_port = p.to_string();
            }
            if let Some(p) = starttls {
                self.starttls_port = p.to_string();
            }
        }
    }

    /// The message for IT when the domain and the server here disagree, or when the domain's
    /// records point outside it.
    pub fn domain_message_for_it(&self) -> Option<String> {
        let (domain, f) = self.domain.as_ref()?;
        let cat = catalog::catalog();
        if let Some((host, port, _)) = f.srv.as_ref().filter(|_| !f.srv_trusted) {
            return Some(format!(
                "The DNS SRV record _submission._tcp.{domain} names {host} (port {port}), which is outside {domain}. ScanMail did not use it. Is {host} the right SMTP server for the device account on {domain}? (ScanMail is set to {}.)",
                self.server.trim()
            ));
        }
        let found = f.provider.as_deref().and_then(|id| cat.provider(id))?;
        let current = cat.provider_for(&self.server, "")?;
        (current.id != found.id).then(|| {
            format!(
                "The MX records of {domain} point to {}, but ScanMail's preset sends through {} ({}). Which SMTP server should the device account on {domain} use?",
                found.name,
                self.server.trim(),
                current.name
            )
        })
    }

    pub fn domain_view(&self) -> Option<Element<'_, Message>> {
        let (domain, f) = self.domain.as_ref()?;
        let cat = catalog::catalog();
        let found = f.provider.as_deref().and_then(|id| cat.provider(id));
        let mut c = column![].spacing(6);
        match (found, &f.srv) {
            (Some(p), _) => {
                c = c.push(
                    text(format!("Mail for {domain} goes through {}.", p.name)).size(style::BODY),
                );
                let current = cat.provider_for(&self.server, "");
                if current.is_some_and(|cp| cp.id != p.id) {
                    c = c.push(
                        text(format!(
                            "But the server here ({}) belongs to {}. Send IT the message below before you set up the copier.",
                            self.server.trim(),
                            current.map_or("", |cp| cp.name.as_str()),
                        ))
                        .size(style::SMALL)
                        .style(style::error),
                    );
                }
            }
            (None, Some((host, port, _))) if f.srv_trusted => {
                c = c.push(
                    text(format!(
                        "{domain} names its own sending server: {host}, port {port}."
                    ))
                    .size(style::BODY),
                );
            }
            (None, Some((host, _, _))) => {
                c = c.push(
                    text(format!(
                        "{domain} points to a sending server outside it: {host}. ScanMail does not use it on its own. Send IT the message below."
                    ))
                    .size(style::BODY),
                );
            }
            (None, None) => {
                if let Some(w) = &f.warning {
                    c = c.push(text(w.as_str()).size(style::SMALL).style(style::hint));
                } else {
                    return None;
                }
            }
        }
        if let Some(m) = self.domain_message_for_it() {
            c = c.push(
                container(text(m.clone()).size(style::SMALL))
                    .padding(8)
                    .width(Length::Fill)
                    .style(style::panel),
            );
            c = c.push(button(text("Copy the message for IT")).on_press(Message::CopyText(m)));
        }
        if let Some((server, ..)) = self
            .domain_suggestion()
            .filter(|(s, ..)| !self.locked && !s.eq_ignore_ascii_case(self.server.trim()))
        {
            c = c.push(button(text(format!("Use {server}"))).on_press(Message::UseDomainServer));
        }
        Some(
            container(c)
                .padding(12)
                .width(Length::Fill)
                .style(style::panel)
                .into(),
        )
    }
}
