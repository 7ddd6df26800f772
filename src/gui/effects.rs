//! The window's side effects: what it may ask for ([`Effect`]), and turning each into an iced
//! task. This is the only place the window's side effects start.

use super::app::{App, Message};
use super::{desktop, settings_card, test_send};
use crate::profile::ProfileFile;
use crate::secrets::{AppPassword, Key};
use crate::smtp::{self, Request};
use iced::Task;

/// A side effect the window wants. `update` turns each into an iced `Task`; tests call
/// [`App::handle`] and look at the effect instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    OpenUrl(String),
    StartTest(Box<Request>),
    CancelTest,
    PickCaFile,
    Copy(String),
    SaveCard {
        text: String,
        html: String,
    },
    /// Save the report for IT (text or HTML, by the name chosen).
    SaveReport {
        text: String,
        html: String,
    },
    /// Put the keyboard focus in this field.
    Focus(&'static str),
    PrintCard(String),
    FocusNext,
    FocusPrevious,
    /// Keep the password in the keychain for this account.
    Remember(Key, AppPassword),
    /// Read the password kept for this account.
    Recall(Key),
    /// Delete the password kept for this account.
    Forget(Key),
    ImportProfile,
    ExportProfile {
        name: String,
        text: String,
    },
    /// Write this snapshot of the devices (number `generation`) in the background, merged with
    /// what another program saved since `base`.
    SaveDevices {
        base: Box<ProfileFile>,
        file: Box<ProfileFile>,
        generation: u64,
    },
    /// Read the devices file if another program changed it (merged in by `adopt`).
    CheckDisk,
    /// Look up who handles the account domain's mail (bounded to a few seconds).
    LookupDomain(String),
    /// Look for copiers on the network (a few seconds), or stop looking.
    FindDevices,
    StopFindingDevices,
    /// Start the copier check (listen), or stop it.
    StartCopierCheck,
    StopCopierCheck,
    /// Sign in with OAuth 2.0 as the account, then test (the task replaces any running one).
    StartSignIn(crate::oauth::Provider),
    /// Run `scanmail` with these arguments as an administrator, the system's way.
    Elevated(Vec<String>),
}

impl App {
    pub(super) fn perform(&mut self, effect: Effect) -> Task<Message> {
        match effect {
            Effect::None => Task::none(),
            Effect::OpenUrl(url) => {
                Task::perform(async move { desktop::open(&url) }, Message::Done)
            }
            Effect::StartTest(request) => {
                let (task, handle) = Task::run(run_test(*request), Message::Test).abortable();
                if let Some(old) = self.running.replace(handle) {
                    old.abort();
                }
                task
            }
            Effect::LookupDomain(domain) => Task::perform(
                async move {
                    let facts = crate::discover::dns::look_up(&domain).await;
                    (domain, facts)
                },
                |(d, f)| Message::Test(test_send::Message::DomainFound(d, f)),
            ),
            Effect::FindDevices => {
                let (task, handle) = Task::perform(super::device_finder::find(), |r| {
                    Message::Device(super::device::Message::Finder(
                        super::device_finder::Message::Found(r),
                    ))
                })
                .abortable();
                if let Some(old) = self.device.finder.handle.replace(handle) {
                    old.abort();
                }
                task
            }
            Effect::StopFindingDevices => {
                if let Some(h) = self.device.finder.handle.take() {
                    h.abort();
                }
                Task::none()
            }
            Effect::StartCopierCheck => {
                let options = self.copier_options();
                let (task, handle) =
                    Task::run(super::copier_check::run(options), Message::Copier).abortable();
                if let Some(old) = self.copier.handle.replace(handle) {
                    old.abort();
                }
                task
            }
            Effect::StopCopierCheck => {
                if let Some(h) = self.copier.handle.take() {
                    h.abort();
                }
                Task::none()
            }
            Effect::StartSignIn(provider) => {
                let run = test_send::sign_in::run(
                    provider,
                    self.preset.oauth.clone(),
                    self.account.address.trim().to_string(),
                );
                let (task, handle) =
                    Task::run(run, |m| Message::Test(test_send::Message::SignIn(m))).abortable();
                if let Some(old) = self.running.replace(handle) {
                    old.abort();
                }
                task
            }
            Effect::CancelTest => {
                if let Some(handle) = self.running.take() {
                    handle.abort();
                }
                Task::none()
            }
            Effect::PickCaFile => Task::perform(desktop::pick_ca_file(), |r| {
                Message::Test(test_send::Message::CaFileLoaded(r))
            }),
            Effect::Copy(text) => iced::clipboard::write(text),
            Effect::SaveCard { text, html } => {
                Task::perform(desktop::save_as(&desktop::CARD, text, html), |r| {
                    Message::Card(settings_card::Message::Saved(r))
                })
            }
            Effect::SaveReport { text, html } => {
                Task::perform(desktop::save_as(&desktop::REPORT, text, html), |r| {
                    Message::Test(test_send::Message::ReportSaved(r))
                })
            }
            Effect::Focus(id) => iced::widget::operation::focus(id),
            Effect::Elevated(args) => {
                // It waits for the administrator's step (Windows): off the window's threads.
                Task::perform(
                    async move {
                        tokio::task::spawn_blocking(move || desktop::run_elevated(&args))
                            .await
                            .unwrap_or_else(|_| Err("The administrator's step stopped.".into()))
                    },
                    |r| Message::Relay(super::relay::Message::AdminDone(r)),
                )
            }
            Effect::PrintCard(html) => {
                Task::perform(async move { desktop::print_card(&html) }, |r| {
                    Message::Card(settings_card::Message::Printed(r))
                })
            }
            Effect::FocusNext => iced::widget::operation::focus_next(),
            Effect::FocusPrevious => iced::widget::operation::focus_previous(),
            // The keychain blocks, so it runs off the window's thread.
            Effect::Remember(key, password) => Task::perform(
                blocking(move || crate::secrets::remember(&key, &password)),
                |r| Message::Keychain(r.unwrap_or(Err(crate::secrets::KeychainError::Unavailable))),
            ),
            Effect::Forget(key) => {
                Task::perform(blocking(move || crate::secrets::forget(&key)), |r| {
                    Message::Keychain(r.unwrap_or(Err(crate::secrets::KeychainError::Unavailable)))
                })
            }
            Effect::Recall(key) => {
                let who = key.clone();
                Task::perform(blocking(move || crate::secrets::recall(&key)), move |r| {
                    Message::Recalled(
                        who.clone(),
                        r.unwrap_or(Err(crate::secrets::KeychainError::Unavailable)),
                    )
                })
            }
            Effect::ImportProfile => Task::perform(desktop::import_profile(), Message::Imported),
            Effect::ExportProfile { name, text } => {
                Task::perform(desktop::export_profile(name, text), Message::Exported)
            }
            // Saves run on a thread pool; the store keeps the newest snapshot on disk, merged
            // under the lock with what another program saved.
            Effect::SaveDevices {
                base,
                file,
                generation,
            } => match self.store.clone() {
                Some(store) => Task::perform(
                    blocking(move || {
                        store
                            .save_merged(&base, &file, generation)
                            .map(|written| written.map(Box::new))
                            .map_err(|e| e.to_string())
                    }),
                    |r| Message::DevicesOnDisk(r.unwrap_or_else(Err)),
                ),
                None => Task::none(),
            },
            Effect::CheckDisk => match self.store.clone() {
                Some(store) => Task::perform(
                    blocking(move || Ok::<_, String>(store.changed_on_disk().map(Box::new))),
                    |r| Message::DevicesOnDisk(r.unwrap_or_else(Err)),
                ),
                None => Task::none(),
            },
        }
    }

    /// The background save of the devices, when something changed since the last one.
    pub fn save_effect(&mut self) -> Effect {
        if !self.dirty || self.store.is_none() {
            return Effect::None;
        }
        self.dirty = false;
        self.snapshots += 1;
        Effect::SaveDevices {
            base: Box::new(self.synced.clone()),
            file: Box::new(self.profiles.clone()),
            generation: self.snapshots,
        }
    }

    /// Saves now, on this thread (for tests and for closing).
    pub fn save_now(&mut self) -> Result<(), String> {
        self.dirty = false;
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        self.snapshots += 1;
        match store.save_merged(&self.synced, &self.profiles, self.snapshots) {
            Ok(Some(written)) => {
                self.adopt(written);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Runs blocking work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| "ScanMail could not finish that; please try again.".to_string())
}

/// Runs the test send, turning its progress into messages. Dropping the stream (Cancel) drops
/// the engine's future, which closes both connections.
fn run_test(request: Request) -> impl iced::futures::Stream<Item = test_send::Message> {
    use iced::futures::SinkExt;
    iced::stream::channel(
        64,
        async move |mut output: iced::futures::channel::mpsc::Sender<test_send::Message>| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let options = smtp::Options {
                events: Some(tx),
                ..smtp::Options::default()
            };
            let run = smtp::test_send_with(&request, options);
            tokio::pin!(run);
            let result = loop {
                tokio::select! {
                    Some(event) = rx.recv() => {
                        let _ = output.send(test_send::Message::Progress(event)).await;
                    }
                    result = &mut run => break result,
                }
            };
            while let Ok(event) = rx.try_recv() {
                let _ = output.send(test_send::Message::Progress(event)).await;
            }
            let _ = output.send(test_send::Message::Finished(result)).await;
        },
    )
}
