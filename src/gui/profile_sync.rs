//! Keeping the steps and the saved devices in step: loading a device into the steps, saving
//! the steps into the device after every change, and the keychain for its app password.

use super::app::{App, Effect};
use super::device_list;
use crate::profile::{self, Profile};
use crate::secrets::{AppPassword, Key, KeychainError};

impl App {
    /// A new device with the organization's server and ports.
    pub(super) fn blank_profile(&self, name: &str) -> Profile {
        Profile {
            name: self.profiles.unique_name(name),
            server: self.preset.server.clone(),
            ssl_port: self.preset.ssl_port,
            starttls_port: self.preset.starttls_port,
            ..Profile::default()
        }
    }

    /// Fills the steps from the current device. The password is not in the device: it comes
    /// from the keychain (see `recall_effect`) or is typed again.
    pub(super) fn load_current(&mut self) {
        let Some(p) = self.profiles.profiles.get(self.current).cloned() else {
            return;
        };
        self.account = super::account::State::from_profile(&p);
        self.device = super::device::State::from_profile(&p);
        self.test = super::test_send::State::from_profile(&self.preset, &p);
        self.card = super::settings_card::State::default();
        self.device_list = device_list::State::default();
        self.profiles.current = Some(p.name);
    }

    /// Takes in what was just written, which may hold another program's saves (the command line
    /// recorded a result, added a device): this window's own changes since are kept.
    pub(super) fn adopt(&mut self, written: crate::profile::ProfileFile) {
        let name = self
            .profiles
            .profiles
            .get(self.current)
            .map(|p| p.name.clone());
        let merged = crate::profile::merge(&self.synced, &self.profiles, &written);
        self.synced = written;
        if merged.profiles == self.profiles.profiles {
            return;
        }
        self.profiles.profiles = merged.profiles;
        if self.profiles.profiles.is_empty() {
            let p = self.blank_profile(crate::profile::NEW_DEVICE);
            self.profiles.profiles.push(p);
        }
        self.current = name
            .and_then(|n| self.profiles.profiles.iter().position(|p| p.name == n))
            .unwrap_or(0);
        if let Some(p) = self.profiles.profiles.get(self.current).cloned() {
            self.test.last = p.last_test.clone().filter(|t| t.matches(&p));
            // What the other program changed in the open device shows in the steps (the typed
            // password and the ticked steps stay).
            if self.profile_from_steps().as_ref() != Some(&p) {
                self.account.take_saved(&p);
                self.device.take_saved(&p);
            }
        }
    }

    /// The current device as the steps show it now.
    fn profile_from_steps(&self) -> Option<Profile> {
        let old = self.profiles.profiles.get(self.current)?;
        let mut p = old.clone();
        self.account.write_to(&mut p);
        self.device.write_to(&mut p);
        self.test.write_to(&mut p);
        // A verdict belongs to the server and account it was for.
        if !p.server.eq_ignore_ascii_case(&old.server)
            || !p.account.eq_ignore_ascii_case(&old.account)
        {
            p.last_test = None;
            p.security = None;
        }
        // The last report counts only while the device still names what it tested.
        if let Some(report) = self.test.report.as_ref().filter(|r| {
            r.server.eq_ignore_ascii_case(&p.server) && r.account.eq_ignore_ascii_case(&p.account)
        }) {
            profile::record_test(&mut p, report);
        }
        Some(p)
    }

    /// After every message: the current device takes what the steps show, and is marked for
    /// saving when that changed anything.
    pub(super) fn sync_current(&mut self) {
        let Some(p) = self.profile_from_steps() else {
            return;
        };
        if self.profiles.profiles.get(self.current) != Some(&p)
            || self.profiles.current.as_deref() != Some(p.name.as_str())
        {
            self.profiles.current = Some(p.name.clone());
            if let Some(slot) = self.profiles.profiles.get_mut(self.current) {
                *slot = p;
            }
            self.dirty = true;
        }
    }

    fn switch_to(&mut self, index: usize) -> Effect {
        let stop = if self.test.running {
            Effect::CancelTest
        } else {
            Effect::None
        };
        self.current = index.min(self.profiles.profiles.len().saturating_sub(1));
        self.load_current();
        self.dirty = true;
        match stop {
            Effect::None => self.recall_effect(),
            stop => stop,
        }
    }

    pub(super) fn device_action(&mut self, action: device_list::Action) -> Effect {
        match action {
            device_list::Action::None => Effect::None,
            device_list::Action::Open(i) => self.switch_to(i),
            device_list::Action::New => {
                let p = self.blank_profile(crate::profile::NEW_DEVICE);
                self.profiles.profiles.push(p);
                self.step = super::app::Step::Account;
                self.switch_to(self.profiles.profiles.len() - 1)
            }
            device_list::Action::Rename(name) => {
                let taken = self.profiles.profiles.iter().enumerate().any(|(i, p)| {
                    i != self.current && p.name.trim().eq_ignore_ascii_case(name.trim())
                });
                let name = if taken {
                    self.profiles.unique_name(&name)
                } else {
                    name
                };
                if let Some(p) = self.profiles.profiles.get_mut(self.current) {
                    p.name = name.clone();
                }
                self.profiles.current = Some(name);
                self.dirty = true;
                Effect::None
            }
            device_list::Action::Duplicate => {
                let Some(mut copy) = self.profiles.profiles.get(self.current).cloned() else {
                    return Effect::None;
                };
                copy.name = self.profiles.unique_name(&format!("{} copy", copy.name));
                copy.remember_password = false;
                copy.last_test = None;
                self.profiles.profiles.push(copy);
                self.switch_to(self.profiles.profiles.len() - 1)
            }
            device_list::Action::Delete(forget_password) => {
                if self.current >= self.profiles.profiles.len() {
                    return Effect::None;
                }
                let gone = self.profiles.profiles.remove(self.current);
                if self.profiles.profiles.is_empty() {
                    let p = self.blank_profile(crate::profile::NEW_DEVICE);
                    self.profiles.profiles.push(p);
                }
                let next = self.current.min(self.profiles.profiles.len() - 1);
                let effect = self.switch_to(next);
                let key = Key::new(&gone.server, &gone.account);
                // Another device may keep the same password (same account and server).
                let shared = self
                    .profiles
                    .profiles
                    .iter()
                    .any(|p| p.remember_password && Key::new(&p.server, &p.account) == key);
                if forget_password && gone.remember_password && !gone.account.is_empty() && !shared
                {
                    return Effect::Forget(key);
                }
                effect
            }
            device_list::Action::Import => Effect::ImportProfile,
            device_list::Action::Export => match self.profiles.profiles.get(self.current) {
                Some(p) => Effect::ExportProfile {
                    name: p.name.clone(),
                    text: profile::export(p),
                },
                None => Effect::None,
            },
        }
    }

    pub(super) fn imported(&mut self, result: Option<Result<Profile, String>>) -> Effect {
        match result {
            None => Effect::None,
            Some(Err(e)) => {
                self.notice = Some(e);
                Effect::None
            }
            Some(Ok(mut p)) => {
                p.name = self.profiles.unique_name(&p.name);
                p.remember_password = false;
                self.notice = Some(format!(
                    "Imported \"{}\". Type its app password in step 1.",
                    p.name
                ));
                self.profiles.profiles.push(p);
                self.switch_to(self.profiles.profiles.len() - 1)
            }
        }
    }

    /// Asks the keychain for the current device's password, when it keeps one.
    pub(super) fn recall_effect(&self) -> Effect {
        let p = self.profiles.profiles.get(self.current);
        match p {
            Some(p) if p.remember_password && self.keychain && !p.account.is_empty() => {
                Effect::Recall(Key::new(&p.server, &p.account))
            }
            _ => Effect::None,
        }
    }

    /// The keychain key for what the steps show now.
    fn current_key(&self) -> Key {
        Key::new(&self.test.server, &self.account.address)
    }

    pub(super) fn recalled(
        &mut self,
        key: &Key,
        result: Result<Option<AppPassword>, KeychainError>,
    ) {
        match result {
            Ok(Some(password))
                if *key == self.current_key() && self.account.password().is_empty() =>
            {
                self.account.set_password(&password);
            }
            Ok(_) => {}
            Err(e) => self.keychain_failed(&e),
        }
    }

    /// Keeps the password in the keychain, when the user asked and it makes sense now.
    pub(super) fn remember_effect(&self) -> Effect {
        let password = self.account.password();
        let address = self.account.address.trim();
        if self.account.remember
            && self.keychain
            && !password.is_empty()
            && crate::smtp::validate_address(address).is_ok()
        {
            Effect::Remember(self.current_key(), password)
        } else {
            Effect::None
        }
    }

    pub(super) fn remember_toggled(&mut self, on: bool) -> Effect {
        if on && !self.keychain {
            self.account.remember = false;
            self.notice = Some(KeychainError::Unavailable.to_string());
            return Effect::None;
        }
        if on {
            self.remember_effect()
        } else if !self.account.address.trim().is_empty() && self.keychain {
            Effect::Forget(self.current_key())
        } else {
            Effect::None
        }
    }

    pub(super) fn test_finished(&mut self) -> Effect {
        // Microsoft 365 after passwords: the same plan the command line and the report show.
        let label = self.device_label();
        let maker = self.device.known();
        let oauth_ready = self.preset.oauth.microsoft.is_some();
        if let Some(report) = self.test.report.as_mut() {
            crate::catalog::microsoft::advise(
                report,
                &crate::catalog::microsoft::Copier {
                    maker,
                    label: &label,
                },
                oauth_ready,
                crate::time::now_unix(),
            );
        }
        self.remember_effect()
    }

    pub(super) fn keychain_failed(&mut self, e: &KeychainError) {
        self.account.remember = false;
        self.notice = Some(e.to_string());
    }
}
