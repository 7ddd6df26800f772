//! The Relay page, beside the saved devices: is the relay running here, signed in as whom and
//! until when; each copier with its last message and last problem; "Add a copier" (its card with
//! the password, once); "Sign in again"; "Check this copier through the relay" (the next message
//! from it, with the provider's answer). What needs an administrator (the machine-wide settings,
//! the service) asks for one the system's way, and says why first.

use super::style;
use crate::relay::{self, card::RelayCard, config::RelayConfig, status};
use iced::widget::{Column, button, column, container, row, text, text_input};
use iced::{Element, Length};
use std::path::PathBuf;

pub const NAME_ID: &str = "relay-device-name";
pub const ADDRESS_ID: &str = "relay-device-address";

/// Why an administrator is asked.
pub const WHY_ADMIN: &str = "This changes settings for the whole computer. So your computer asks for an administrator's OK first.";

pub struct State {
    /// relay.toml (the machine-wide one unless told otherwise).
    pub config_path: PathBuf,
    pub config: Option<Result<RelayConfig, String>>,
    pub state: status::State,
    pub name: String,
    pub address: String,
    /// The card of the copier just added, with its password (shown this once).
    pub card: Option<RelayCard>,
    /// Watching one copier's next message: its name and its last message before.
    pub watching: Option<(String, Option<String>, Option<String>)>,
    pub said: Option<String>,
    /// The state file could not be read (a service's, without administrator rights).
    pub unreadable: Option<String>,
    /// A copier added with administrator rights: its card (with the password) and its hash,
    /// shown once relay.toml has that hash, never before (a refused prompt must not leave a
    /// password that does not work on the copier).
    pending: Option<(RelayCard, String)>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            config_path: relay::config::path_or_default(None),
            config: None,
            state: status::State::default(),
            name: String::new(),
            address: String::new(),
            card: None,
            watching: None,
            said: None,
            unreadable: None,
            pending: None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Read the settings and the state again (every few seconds while the page is open).
    Refresh,
    NameChanged(String),
    AddressChanged(String),
    Add,
    SignInAgain,
    InstallService,
    CopyCard,
    PrintCard,
    Check(String),
    /// Copy the message for IT when there is no relay yet or its settings cannot be read.
    CopyForIt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Run `scanmail` with these arguments as an administrator.
    Elevated(Vec<String>),
    Copy(String),
    Print(String),
}

impl State {
    /// What IT needs to hear when this page cannot go on by itself.
    pub fn message_for_it(&self) -> String {
        match &self.config {
            Some(Err(e)) => format!(
                "ScanMail's relay settings on this computer ({}) could not be read: {e}. Please fix the file, or move it away and set the relay up again: scanmail relay init --account ADDRESS",
                self.config_path.display()
            ),
            _ => "Please set up ScanMail's relay on this computer, so our copiers can keep sending when they cannot sign in to the mail provider themselves. The steps are in ScanMail's guide for IT (docs/relay.md): scanmail relay init --account ADDRESS, then relay sign-in and relay install-service.".into(),
        }
    }

    /// The page is offered when the preset allows relays or this computer has one.
    pub fn offered(&self, preset_allows: bool) -> bool {
        preset_allows || self.config_path.exists()
    }

    fn config(&self) -> Option<&RelayConfig> {
        self.config.as_ref().and_then(|c| c.as_ref().ok())
    }

    fn state_dir(&self) -> Option<PathBuf> {
        self.config()
            .map(|c| relay::state_dir(c, &self.config_path))
    }

    pub fn refresh(&mut self) {
        if !self.config_path.exists() {
            self.config = None;
            return;
        }
        self.config = Some(relay::config::load(&self.config_path));
        if let Some((card, hash)) = &self.pending
            && self
                .config()
                .and_then(|c| c.device(&card.login))
                .is_some_and(|d| d.password_hash == *hash)
        {
            self.said = Some(format!(
                "Added {}. Type the card below into the copier. Its password is shown only now.",
                card.login
            ));
            self.card = self.pending.take().map(|(c, _)| c);
        }
        if let Some(dir) = self.state_dir() {
            match status::read_checked(&status::path_for(&dir)) {
                Ok(s) => {
                    self.state = s;
                    self.unreadable = None;
                }
                Err(why) => self.unreadable = Some(why),
            }
        }
        if let Some((name, before, err_before)) = &self.watching {
            let now = self.state.devices.get(name).cloned().unwrap_or_default();
            if now.last_message != *before {
                self.said = Some(format!(
                    "The provider took a message from {name} ({}).",
                    now.last_message
                        .as_deref()
                        .map(crate::time::local_words_from)
                        .unwrap_or_default()
                ));
                self.watching = None;
            } else if now.last_error != *err_before
                && let Some(e) = now.last_error
            {
                self.said = Some(format!("A message from {name} did not go through: {e}"));
                self.watching = None;
            }
        }
    }

    fn writable(&self) -> bool {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.config_path)
            .is_ok()
    }

    /// The command line for an administrator's step. It names no settings file: an elevated
    /// command acts only on the machine-wide relay.toml, never on one a path from this
    /// (unelevated) window could point elsewhere.
    fn cli(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_string()).collect()
    }

    pub fn update(&mut self, m: Message) -> Action {
        match m {
            Message::Refresh => self.refresh(),
            Message::NameChanged(n) => self.name = n,
            Message::AddressChanged(a) => self.address = a,
            Message::Add => return self.add(),
            Message::SignInAgain => {
                self.said = Some(format!(
                    "{WHY_ADMIN} Then sign in as the relay's mailbox in the window that opens."
                ));
                return Action::Elevated(Self::cli(&["relay", "sign-in"]));
            }
            Message::InstallService => {
                self.said = Some(format!(
                    "{WHY_ADMIN} The service starts with the computer and keeps the copiers sending."
                ));
                return Action::Elevated(Self::cli(&["relay", "install-service"]));
            }
            Message::CopyForIt => return Action::Copy(self.message_for_it()),
            Message::CopyCard => {
                if let Some(c) = &self.card {
                    return Action::Copy(c.text());
                }
            }
            Message::PrintCard => {
                if let Some(c) = &self.card {
                    return Action::Print(card_html(c));
                }
            }
            Message::Check(name) => {
                let s = self.state.devices.get(&name).cloned().unwrap_or_default();
                self.said = Some(format!(
                    "Waiting for the next message from {name}: send a scan from it now."
                ));
                self.watching = Some((name, s.last_message, s.last_error));
            }
        }
        Action::None
    }

    fn add(&mut self) -> Action {
        let name = self.name.trim().to_string();
        let addresses: Vec<String> = self
            .address
            .split([',', ' '])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        if let Err(e) = relay::config::check_name(&name) {
            self.said = Some(format!("{}.", capital(&e)));
            return Action::None;
        }
        if let Some(bad) = addresses
            .iter()
            .find(|a| relay::config::parse_net(a).is_err())
        {
            self.said = Some(format!(
                "\"{bad}\" is not an address such as 10.1.2.3. Fix it or leave it empty."
            ));
            return Action::None;
        }
        let Some(cfg) = self.config().cloned() else {
            self.said = Some(
                "This computer has no relay settings yet. IT sets the relay up first (scanmail relay init)."
                    .into(),
            );
            return Action::None;
        };
        let password = relay::device::new_password();
        let hash = match relay::device::hash(&password) {
            Ok(h) => h,
            Err(e) => {
                self.said = Some(e);
                return Action::None;
            }
        };
        let device = relay::config::Device {
            name: name.clone(),
            password_hash: hash.clone(),
            addresses: addresses.clone(),
            rewrite_from: true,
            allowed_recipients: Vec::new(),
        };
        let card = RelayCard::new(
            &cfg,
            &device,
            &relay::card::this_address(&cfg),
            Some(password.expose()),
        );
        if self.writable() {
            if let Err(e) =
                relay::edit::add_device(&self.config_path, &name, &addresses, &[], &hash)
            {
                self.said = Some(format!("{}.", capital(&e)));
                return Action::None;
            }
            self.card = Some(card);
            self.said = Some(format!(
                "Added {name}. Type the card below into the copier. Its password is shown only now."
            ));
            self.name.clear();
            self.address.clear();
            self.refresh();
            return Action::None;
        }
        self.card = None;
        self.pending = Some((card, hash.clone()));
        self.said = Some(format!(
            "{WHY_ADMIN} Once it is allowed, the copier's card shows here. If nothing happens, press Add the copier again."
        ));
        let mut args = vec![
            "relay",
            "add-device",
            name.as_str(),
            "--password-hash",
            hash.as_str(),
        ];
        for a in &addresses {
            args.push("--address");
            args.push(a.as_str());
        }
        let args = Self::cli(&args);
        self.name.clear();
        self.address.clear();
        Action::Elevated(args)
    }

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
                        ", until {} if no copier sends",
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

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn card_view(card: &RelayCard) -> Element<'_, Message> {
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

fn card_html(card: &RelayCard) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut rows = String::new();
    for (k, v) in card.rows() {
        rows += &format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(&v));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Copier settings (relay)</title></head><body>\n<h1>Type these into the copier</h1>\n<table>\n{rows}</table>\n<p>The computer with the relay must stay on, on the copier's network.</p>\n</body></html>\n"
    )
}
