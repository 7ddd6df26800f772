//! A copier signs in to the relay: its login is a device name, its password checked against the
//! device's Argon2id hash (an unknown login costs the same time, against a decoy), from one of
//! its addresses when it has some. Failures count toward the lock-outs in [`super::super::guard`].

use super::super::config;
use super::super::guard::LOCKED_REPLY;
use super::super::log::log;
use super::super::refusal::Refusal;
use super::Bridge;
use crate::receive::{Login, Reply};
use std::sync::LazyLock;

/// A hash of nothing: unknown logins cost the same time as wrong passwords.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    super::super::device::hash(&crate::secrets::AppPassword::new("decoy-decoy-decoy"))
        .unwrap_or_default()
});

impl Bridge {
    pub(super) async fn sign_in(&mut self, login: Login) -> Reply {
        let shared = self.shared.clone();
        if shared.guard.locked(self.peer) || shared.guard.login_locked(self.peer, &login.user) {
            log(&format!(
                "sign-in refused: {} must wait after failed sign-ins",
                self.peer
            ));
            return Reply::new(421, LOCKED_REPLY);
        }
        let device = self.cfg.device(&login.user).cloned();
        let from_ok = device
            .as_ref()
            .is_some_and(|d| d.addresses.is_empty() || config::allowed(&d.addresses, self.peer));
        let hash = device
            .as_ref()
            .map_or_else(|| DECOY.clone(), |d| d.password_hash.clone());
        let name = device.as_ref().map(|d| d.name.clone()).unwrap_or_default();
        let right = if device.is_some() && shared.known.knows(&name, login.password.expose(), &hash)
        {
            true
        } else {
            let password = login.password.expose().to_string();
            let right = super::super::device::verify(login.password, hash.clone()).await;
            if right && device.is_some() {
                shared.known.remember(&name, &password, &hash);
            }
            right
        };
        match device {
            Some(d) if right && from_ok => {
                shared.guard.succeeded(self.peer, &d.name);
                log(&format!("device {} signed in from {}", d.name, self.peer));
                self.device = Some(d);
                Reply::new(235, "2.7.0 Signed in")
            }
            other => {
                let why = match &other {
                    None => "an unknown login",
                    Some(_) if right => "a device from an address not in its list",
                    Some(_) => "a wrong password",
                };
                // The copier's own row says why (a copier that keeps failing is one IT must
                // look at); an unknown login is kept by address, at most once a minute each.
                let from = self.peer.to_string();
                match &other {
                    Some(d) => {
                        let what = if right {
                            Refusal::AddressNotAllowed
                        } else {
                            Refusal::WrongPassword
                        };
                        shared
                            .status
                            .device(&d.name, |s| s.refused(what, &from, ""));
                    }
                    None => shared.status.stranger(&from, Refusal::UnknownLogin, ""),
                }
                log(&format!("sign-in refused from {}: {why}", self.peer));
                if shared.guard.failed(self.peer, &login.user) {
                    log(&format!(
                        "{} waits 5 minutes after too many failed sign-ins",
                        self.peer
                    ));
                    return Reply::new(421, LOCKED_REPLY);
                }
                Reply::new(535, "5.7.8 Authentication credentials invalid")
            }
        }
    }
}
