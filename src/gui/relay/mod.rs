//! The Relay page, beside the saved devices: is the relay running here, signed in as whom and
//! until when; each copier with its last message and last problem; "Add a copier" (its card with
//! the password, once); "Sign in again"; "Check this copier through the relay" (the next message
//! from it, with the provider's answer). What needs an administrator (the machine-wide settings,
//! the service) asks for one the system's way, and says why first.

mod microsoft;
mod view;

pub use microsoft::{CLIENT_ID_ID, PORTAL_STEPS, sign_in_kind};

use super::style;
use crate::relay::{self, card::RelayCard, config::RelayConfig, status};
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
    /// The app's Application (client) ID, as typed (Microsoft 365 app-only).
    pub client_id: String,
    /// The portal's steps are shown.
    pub show_portal: bool,
    /// The copier's maker from the Device step, for its own menu words on the card.
    pub maker: Option<crate::catalog::Manufacturer>,
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
            client_id: String::new(),
            show_portal: false,
            maker: None,
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
    /// Make the app's certificate and the setup script (an administrator's step).
    SetUpMicrosoft,
    OpenFolder,
    TogglePortal,
    ClientIdChanged(String),
    /// Sign the relay in with the app's ID (an administrator's step).
    AppSignIn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Run `scanmail` with these arguments as an administrator.
    Elevated(Vec<String>),
    Copy(String),
    Print(String),
    /// Open a folder (or page) the system's way.
    Open(String),
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
            Message::SetUpMicrosoft => {
                self.said = Some(format!(
                    "{WHY_ADMIN} Then the relay's certificate and the setup script appear in {}.",
                    self.folder().display()
                ));
                return Action::Elevated(Self::cli(&["relay", "microsoft-app"]));
            }
            Message::OpenFolder => return Action::Open(self.folder().display().to_string()),
            Message::TogglePortal => self.show_portal = !self.show_portal,
            Message::ClientIdChanged(id) => self.client_id = id,
            Message::AppSignIn => {
                let id = self.client_id.trim().to_string();
                let looks_right =
                    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
                if !looks_right {
                    self.said = Some("The Application (client) ID looks like 11111111-2222-3333-4444-555555555555. Copy it from the app's Overview page, or from the end of the setup script.".into());
                    return Action::None;
                }
                self.said = Some(format!(
                    "{WHY_ADMIN} The relay then proves the sign-in with Microsoft before it keeps it."
                ));
                return Action::Elevated(Self::cli(&["relay", "sign-in", "--client-id", &id]));
            }
            Message::CopyCard => {
                if let Some(c) = &self.card {
                    return Action::Copy(c.text());
                }
            }
            Message::PrintCard => {
                if let Some(c) = &self.card {
                    return Action::Print(c.html());
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
        )
        .for_maker(self.maker.as_ref());
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
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}
