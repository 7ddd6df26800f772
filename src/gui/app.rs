//! The window's state, its top-level `Message`, `update` and `view`.

use super::{account, device, device_list, settings_card, test_send};
use crate::card::Card;
use crate::org::{self, Preset};
use crate::profile::{Profile, ProfileFile, Store};
use crate::secrets::{AppPassword, Key, KeychainError};

use iced::{Task, Theme};

pub use super::effects::Effect;
use std::path::PathBuf;

/// The scrollable that holds each step's page.
pub const MAIN_SCROLL_ID: &str = "main-scroll";

/// The four steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Account,
    Device,
    TestSend,
    Card,
    /// The relay page (beside the saved devices, not one of the four steps).
    Relay,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Account, Step::Device, Step::TestSend, Step::Card];

    pub fn label(self) -> &'static str {
        match self {
            Step::Account => "1  Account",
            Step::Device => "2  Device",
            Step::TestSend => "3  Test send",
            Step::Card => "4  Settings card",
            Step::Relay => "Relay",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Goto(Step),
    /// The help desk's link in the sidebar (a web page or an email).
    OpenHelp,
    Account(account::Message),
    Device(device::Message),
    Test(test_send::Message),
    Card(settings_card::Message),
    Copier(super::copier_check::Message),
    Relay(super::relay::Message),
    FocusNext,
    FocusPrevious,
    /// Enter pressed with no field taking it: the step's main button.
    Enter,
    /// A browser, dialog or file operation finished; `Err` carries what to tell the user.
    Done(Result<(), String>),
    /// Copies the address from a notice (a browser that would not open).
    CopyNoticeAddress,
    /// Copy the message for IT inside the notice.
    CopyNoticeForIt,
    DismissNotice,
    DeviceList(device_list::Message),
    /// The devices file as written (merged with another program's saves; `None` when a newer
    /// save had already won), or as another program changed it; or why it could not be saved.
    DevicesOnDisk(Result<Option<Box<ProfileFile>>, String>),
    /// Time to look whether another program changed the devices file.
    DiskTick,
    /// A keychain write or delete finished.
    Keychain(Result<(), KeychainError>),
    /// The keychain answered for an account.
    Recalled(Key, Result<Option<AppPassword>, KeychainError>),
    /// An exported device file was chosen and read (`None`: the dialog was closed).
    Imported(Option<Result<Profile, String>>),
    Exported(Result<Option<PathBuf>, String>),
}

pub struct App {
    pub step: Step,
    pub preset: Preset,
    pub account: account::State,
    pub device: device::State,
    pub test: test_send::State,
    pub card: settings_card::State,
    pub copier: super::copier_check::State,
    pub relay: super::relay::State,
    /// A message for the bottom of the window (a browser that would not open, a saved file).
    pub notice: Option<String>,
    pub(super) running: Option<iced::task::Handle>,
    pub(super) theme_override: Option<Theme>,
    /// The settings card for the current report and device, rebuilt after every message.
    pub(super) card_cache: Option<Card>,
    pub device_list: device_list::State,
    /// Every saved device; `current` is the one in the steps.
    pub profiles: ProfileFile,
    pub current: usize,
    pub(super) store: Option<Store>,
    /// The profiles changed since the last save.
    pub(super) dirty: bool,
    /// A keychain is there to remember passwords.
    pub keychain: bool,
    /// Snapshots of the devices taken for saving so far (see [`Store::save_merged`]).
    pub(super) snapshots: u64,
    /// The devices as this window last read or wrote them: the base for merging with what
    /// another program (the command line) saved meanwhile.
    pub(super) synced: ProfileFile,
}

impl App {
    /// A window with the given preset and no saved devices (tests, and computers without a
    /// settings folder).
    pub fn new(preset: Preset) -> Self {
        Self::with_store(
            org::Found {
                preset,
                source: org::Source::BuiltIn,
                problem: None,
            },
            None,
        )
    }

    /// A window for the preset in effect, with the devices saved in `store`.
    pub fn with_store(found: org::Found, store: Option<Store>) -> Self {
        let test = test_send::State::new(&found.preset);
        let theme_override = match std::env::var("SCANMAIL_THEME").as_deref() {
            Ok("dark") => Some(Theme::Dark),
            Ok("light") => Some(Theme::Light),
            _ => None,
        };
        let loaded = store.as_ref().map(Store::load);
        let mut app = Self {
            step: Step::Account,
            preset: found.preset,
            account: account::State::default(),
            device: device::State::default(),
            test,
            card: settings_card::State::default(),
            copier: super::copier_check::State::default(),
            relay: super::relay::State::default(),
            notice: found.problem,
            running: None,
            theme_override,
            card_cache: None,
            device_list: device_list::State::default(),
            profiles: ProfileFile::default(),
            current: 0,
            store,
            dirty: false,
            keychain: crate::secrets::keychain_available(),
            snapshots: 0,
            synced: ProfileFile::default(),
        };
        if let Some(loaded) = loaded {
            if let Some(n) = loaded.notice {
                app.notice = Some(match app.notice.take() {
                    Some(first) => format!("{first}\n{n}"),
                    None => n,
                });
            }
            app.profiles = loaded.file;
            app.synced = app.profiles.clone();
        }
        if app.profiles.profiles.is_empty() {
            app.profiles
                .profiles
                .push(app.blank_profile(crate::profile::NEW_DEVICE));
        }
        app.current = app
            .profiles
            .current
            .as_deref()
            .and_then(|name| app.profiles.profiles.iter().position(|p| p.name == name))
            .unwrap_or(0);
        app.load_current();
        app
    }

    /// The real window: the preset found in `org::locate`'s order, the OS keychain, and the
    /// devices in the OS config directory.
    pub fn boot_with(org_file: Option<&std::path::Path>) -> (Self, Task<Message>) {
        let keychain = crate::secrets::use_platform_keychain();
        let mut app = Self::with_store(org::locate(org_file), Store::default_location());
        app.keychain = keychain.is_ok();
        let recall = app.recall_effect();
        let task = app.perform(recall);
        (
            app,
            Task::batch([task, iced::widget::operation::focus(account::ADDRESS_ID)]),
        )
    }

    /// The mail provider's name for the server in step 3 ("the mail provider" when unknown).
    pub fn provider_name(&self) -> String {
        crate::catalog::catalog()
            .provider_for(&self.test.server, &self.account.address)
            .map_or_else(|| "the mail provider".to_string(), |p| p.name.clone())
    }

    /// The settings card, once a port works.
    pub fn settings_card(&self) -> Option<&Card> {
        self.card_cache.as_ref()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let (step, device) = (self.step, self.current);
        let effect = self.handle(message);
        let mut task = self.perform(effect);
        if self.step != step || self.current != device {
            // A new page starts at its top, not where the last one was scrolled to.
            task = Task::batch([
                task,
                iced::widget::operation::snap_to(
                    MAIN_SCROLL_ID,
                    iced::widget::operation::RelativeOffset::START,
                ),
            ]);
        }
        match self.save_effect() {
            Effect::None => task,
            save => Task::batch([task, self.perform(save)]),
        }
    }

    /// Applies a message to the state and says which side effect it asks for. The current
    /// device is kept up to date after every message (and marked for saving when it changed).
    pub fn handle(&mut self, message: Message) -> Effect {
        let effect = self.apply(message);
        let label = self.device_label();
        self.card_cache =
            self.test.report.as_ref().and_then(|r| {
                Card::from_report(r, self.device.known(), &label, self.account.sign_in)
            });
        self.sync_current();
        effect
    }

    fn apply(&mut self, message: Message) -> Effect {
        match message {
            Message::Goto(step) => {
                self.step = step;
                if step == Step::Relay {
                    self.relay.refresh();
                }
                Effect::None
            }
            Message::OpenHelp => self
                .preset
                .help_link()
                .map_or(Effect::None, Effect::OpenUrl),
            Message::Account(m) => match self.account.update(m, &self.preset) {
                account::Action::None => Effect::None,
                account::Action::OpenUrl(url) => Effect::OpenUrl(url),
                account::Action::Next => {
                    let remember = self.remember_effect();
                    self.goto(Step::Device);
                    remember
                }
                account::Action::Remember(on) => self.remember_toggled(on),
            },
            Message::DeviceList(m) => {
                let name = self
                    .profiles
                    .profiles
                    .get(self.current)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                let action = self.device_list.update(m, &name);
                self.device_action(action)
            }
            Message::DiskTick => {
                if self.step == Step::Relay {
                    self.relay.refresh();
                }
                Effect::CheckDisk
            }
            Message::DevicesOnDisk(Ok(None)) => Effect::None,
            Message::DevicesOnDisk(Ok(Some(written))) => {
                self.adopt(*written);
                Effect::None
            }
            Message::DevicesOnDisk(Err(e)) => {
                self.notice = Some(e);
                Effect::None
            }
            Message::Keychain(result) => {
                if let Err(e) = result {
                    self.keychain_failed(&e);
                }
                Effect::None
            }
            Message::Recalled(key, result) => {
                self.recalled(&key, result);
                Effect::None
            }
            Message::Imported(result) => self.imported(result),
            Message::Exported(Ok(Some(path))) => {
                self.notice = Some(format!(
                    "Exported to {}. The app password is not in the file.",
                    path.display()
                ));
                Effect::None
            }
            Message::Exported(Ok(None)) => Effect::None,
            Message::Exported(Err(e)) => {
                self.notice = Some(e);
                Effect::None
            }
            Message::Device(m) => match self.device.update(m, &self.preset.engine()) {
                device::Action::None => Effect::None,
                device::Action::OpenUrl(url) => Effect::OpenUrl(url),
                device::Action::Next => self.goto(Step::TestSend),
                device::Action::Find => Effect::FindDevices,
                device::Action::CancelFind => Effect::StopFindingDevices,
            },
            Message::Test(m) => {
                // The test message names the saved device and what it is.
                let device = self.device_label();
                let relay = self.relay.offered(self.preset.relay);
                let cx =
                    super::test_actions::test_context(&self.account, &self.preset, &device, relay);
                let action = self.test.update(m, &cx);
                self.test_action(action)
            }
            Message::Copier(m) => self.copier_action(m),
            Message::Relay(m) => match self.relay_update(m) {
                super::relay::Action::None => Effect::None,
                super::relay::Action::Elevated(args) => Effect::Elevated(args),
                super::relay::Action::Copy(text) => Effect::Copy(text),
                super::relay::Action::Print(html) => Effect::PrintCard(html),
                super::relay::Action::Open(target) => Effect::OpenUrl(target),
            },
            Message::Card(m) => match self.card.update(m, self.card_cache.as_ref()) {
                settings_card::Action::None => Effect::None,
                settings_card::Action::Copy(text) => Effect::Copy(text),
                settings_card::Action::Save { text, html } => Effect::SaveCard { text, html },
                settings_card::Action::Print(html) => Effect::PrintCard(html),
                settings_card::Action::GoToTest => self.goto(Step::TestSend),
            },
            Message::Enter => match self.step {
                Step::Account => self.apply(Message::Account(account::Message::Next)),
                Step::Device => self.apply(Message::Device(device::Message::Next)),
                Step::TestSend if !self.test.running => {
                    self.apply(Message::Test(test_send::Message::Start))
                }
                Step::TestSend | Step::Card => Effect::None,
                Step::Relay => self.apply(Message::Relay(super::relay::Message::Add)),
            },
            Message::FocusNext => Effect::FocusNext,
            Message::FocusPrevious => Effect::FocusPrevious,
            Message::Done(Ok(())) => Effect::None,
            Message::CopyNoticeAddress => match self.notice_address() {
                Some(url) => Effect::Copy(url),
                None => Effect::None,
            },
            Message::CopyNoticeForIt => match self.notice_for_it() {
                Some(m) => Effect::Copy(m),
                None => Effect::None,
            },
            Message::DismissNotice => {
                self.notice = None;
                Effect::None
            }
            Message::Done(Err(e)) => {
                self.notice = Some(e);
                Effect::None
            }
        }
    }

    /// The Relay page's update, knowing the copier's maker from the Device step.
    fn relay_update(&mut self, m: super::relay::Message) -> super::relay::Action {
        self.relay.maker = crate::catalog::catalog()
            .find_manufacturer(&self.device.manufacturer, &self.device.model)
            .cloned();
        self.relay.update(m)
    }

    /// The current device's label, as the steps show it now (see [`crate::profile::device_label`]).
    pub fn device_label(&self) -> String {
        let name = self
            .profiles
            .profiles
            .get(self.current)
            .map_or("", |p| p.name.as_str());
        crate::profile::device_label(name, &self.device.manufacturer, &self.device.model)
    }

    pub(super) fn goto(&mut self, step: Step) -> Effect {
        self.step = step;
        if step == Step::Relay {
            self.relay.refresh();
        }
        self.domain_effect()
    }
}
