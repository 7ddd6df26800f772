//! The Relay page, beside the saved devices: is the relay running here, signed in as whom and
//! until when; each copier with its last message and last problem; "Add a copier" (its card with
//! the password, once); "Sign in again"; "Check this copier through the relay" (the next message
//! from it, with the provider's answer). What needs an administrator (the machine-wide settings,
//! the service) asks for one the system's way, and says why first.

mod add;
mod copiers;
mod for_it;
mod microsoft;
pub mod running;
mod view;
pub mod watch;

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
    /// The card shown is an existing copier's, again (this copier's name), without its password.
    pub card_again: Option<String>,
    /// Watching one copier's next message ("Check this copier through the relay").
    pub watch: Option<watch::Watch>,
    pub said: Option<String>,
    /// The message for IT that goes with `said`, when IT has to act.
    pub for_it: Option<String>,
    /// An administrator's step that could not run here: the command to type instead.
    pub admin_command: Option<String>,
    /// The last administrator's step asked for (its arguments).
    last_admin: Option<Vec<String>>,
    /// A copier the copier check found too old for encryption today (from the Test step).
    pub old_copier: Option<super::copier_check::OldCopier>,
    /// The service as the service manager last said (asked at most every 10 s, only while the
    /// relay is not running).
    service: Option<(relay::service_state::ServiceState, i64)>,
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
            card_again: None,
            watch: None,
            said: None,
            for_it: None,
            admin_command: None,
            last_admin: None,
            old_copier: None,
            service: None,
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
    /// How the administrator's step went: `Ok(true)` done, `Ok(false)` running in its own
    /// window, `Err` why it could not run (the command to type is then shown).
    AdminDone(Result<bool, String>),
    /// Copy the command an administrator types instead.
    CopyCommand,
    /// Copy what needs IT in a running relay (its warnings, refusals only IT can fix).
    CopyNeedsIt,
    /// Show a copier's card again (without its password, which is shown only once).
    ShowCard(String),
    /// The copier's password is lost: the message for IT, and the form ready to add it again.
    LostPassword(String),
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
            self.for_it = None;
            self.admin_command = None;
            self.name.clear();
            self.address.clear();
            self.card = self.pending.take().map(|(c, _)| c);
            self.card_again = None;
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
        if let (Some(w), Some(cfg)) = (&self.watch, self.config())
            && let Some(seen) = w.seen(cfg, &self.state)
        {
            self.said = Some(seen.said);
            self.for_it = seen.for_it;
            self.watch = None;
        }
        self.ask_service();
    }

    /// Asks the service manager how the service stands, while the relay is not running (at
    /// most every 10 s).
    fn ask_service(&mut self) {
        let Some(cfg) = self.config() else { return };
        let now = crate::time::now_unix();
        if status::report(cfg, &self.state, now).running {
            self.service = None;
            return;
        }
        if self.service.as_ref().is_none_or(|(_, at)| now - at >= 10) {
            self.service = Some((relay::service::status(), now));
        }
    }

    /// Why the relay is not running, and the fix for that cause.
    fn down(&self) -> running::Down {
        let service = self.service.as_ref().map_or(
            relay::service_state::ServiceState::NotInstalled,
            |(s, _)| s.clone(),
        );
        running::down(
            self.state.start_problem.as_deref(),
            &service,
            &self.config_path.display().to_string(),
        )
    }

    /// An administrator's step: said why first, remembered in case it cannot run here.
    fn elevated(&mut self, args: Vec<String>, why: String) -> Action {
        self.said = Some(why);
        self.for_it = None;
        self.admin_command = None;
        self.last_admin = Some(args.clone());
        Action::Elevated(args)
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
                return self.elevated(
                    Self::cli(&["relay", "sign-in"]),
                    format!(
                        "{WHY_ADMIN} Then sign in as the relay's mailbox in the window that opens."
                    ),
                );
            }
            Message::InstallService => {
                return self.elevated(
                    Self::cli(&["relay", "install-service"]),
                    format!(
                        "{WHY_ADMIN} The service starts with the computer and keeps the copiers sending."
                    ),
                );
            }
            Message::CopyForIt => return Action::Copy(self.message_for_it()),
            Message::CopyNeedsIt => {
                if let Some(m) = self.config().and_then(|c| self.needs_it(c)) {
                    return Action::Copy(m);
                }
            }
            Message::CopyCommand => {
                if let Some(c) = &self.admin_command {
                    return Action::Copy(c.clone());
                }
            }
            Message::AdminDone(Ok(true)) => {
                self.said = Some("The administrator's step is done.".into());
                self.refresh();
            }
            Message::AdminDone(Ok(false)) => {
                self.said = Some(
                    "The administrator's step runs in its own window. Read what it says there; this page shows the result when it is done."
                        .into(),
                );
            }
            Message::AdminDone(Err(e)) => {
                self.admin_command = self
                    .last_admin
                    .as_deref()
                    .map(super::desktop::command_for_it);
                self.said = Some(e);
            }
            Message::SetUpMicrosoft => {
                let why = format!(
                    "{WHY_ADMIN} Then the relay's certificate and the setup script appear in {}.",
                    self.folder().display()
                );
                return self.elevated(Self::cli(&["relay", "microsoft-app"]), why);
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
                return self.elevated(
                    Self::cli(&["relay", "sign-in", "--client-id", &id]),
                    format!(
                        "{WHY_ADMIN} The relay then proves the sign-in with Microsoft before it keeps it."
                    ),
                );
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
            Message::ShowCard(name) => self.show_card(&name),
            Message::LostPassword(name) => self.lost_password(&name),
            Message::Check(name) => {
                let running = self.config().is_some_and(|c| {
                    status::report(c, &self.state, crate::time::now_unix()).running
                });
                if !running {
                    self.said = Some(watch::not_running(&name).said);
                    self.for_it = None;
                    self.watch = None;
                    return Action::None;
                }
                self.said = Some(format!(
                    "Send a scan from {name} now. This page watches the relay for 3 minutes and says what it sees."
                ));
                self.for_it = None;
                self.watch = Some(watch::Watch::start(&name, &self.state));
            }
        }
        Action::None
    }
}

pub(super) fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}
