//! The Test send step's fields: from and to a saved device, checking them in plain words, the
//! request they make, and the catalog's warnings about them.

use super::{Context, State};
use crate::catalog::{self, warnings};
use crate::org::Preset;
use crate::profile::Profile;
use crate::smtp::{self, InputError, Request};
use std::time::Duration;

impl State {
    /// The step for a saved device: the organization's server and ports when the preset locks
    /// them, else the device's own.
    pub fn from_profile(preset: &Preset, p: &Profile) -> Self {
        let mut test = Self::new(preset);
        if !preset.locked {
            if !p.server.is_empty() {
                test.server.clone_from(&p.server);
            }
            test.ssl_on = p.ssl_port.is_some();
            test.starttls_on = p.starttls_port.is_some();
            if let Some(port) = p.ssl_port {
                test.ssl_port = port.to_string();
            }
            if let Some(port) = p.starttls_port {
                test.starttls_port = port.to_string();
            }
        }
        test.recipient.clone_from(&p.recipient);
        test.last = p.last_test.clone().filter(|t| t.matches(p));
        test
    }

    /// Keeps what this step holds in the saved device (not the verdict: see
    /// [`crate::profile::record_test`]).
    pub fn write_to(&self, p: &mut Profile) {
        let port = |on: bool, text: &str| on.then(|| smtp::parse_port(text)).flatten();
        p.server = self.server.trim().to_string();
        p.ssl_port = port(self.ssl_on, &self.ssl_port);
        p.starttls_port = port(self.starttls_on, &self.starttls_port);
        p.recipient = self.recipient.trim().to_string();
    }

    fn port(text: &str, name: &str) -> Result<u16, String> {
        smtp::parse_port(text)
            .ok_or_else(|| format!("The {name} port must be a number from 1 to 65535."))
    }

    /// Problems with the fields of this step, in plain words (empty when all is well).
    pub fn field_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.locked && self.server.trim().is_empty() {
            errors.push(
                "Your organization sets the mail server, but its preset has a mistake, so ScanMail will not test. Send IT the message below."
                    .to_string(),
            );
        } else if let Err(e) = smtp::validate_server(&self.server) {
            errors.push(e.to_string());
        }
        if !self.recipient.trim().is_empty() && smtp::validate_address(&self.recipient).is_err() {
            errors.push(InputError::BadRecipient(self.recipient.trim().to_string()).to_string());
        }
        if self.ssl_on
            && let Err(e) = Self::port(&self.ssl_port, "SSL/TLS")
        {
            errors.push(e);
        }
        if self.starttls_on
            && let Err(e) = Self::port(&self.starttls_port, "STARTTLS")
        {
            errors.push(e);
        }
        if !matches!(self.timeout.trim().parse::<u64>(), Ok(1..=300)) {
            errors.push("The time limit must be a whole number of seconds from 1 to 300.".into());
        }
        errors
    }

    /// The request for a test send, or the first reason it cannot start.
    pub fn request(&self, cx: &Context<'_>) -> Result<Request, String> {
        if let Some(e) = self.field_errors().into_iter().next() {
            return Err(e);
        }
        let mut r = Request::new(self.server.trim(), cx.account.trim(), cx.password.clone());
        r.recipient = Some(self.recipient.trim().to_string()).filter(|s| !s.is_empty());
        r.ssl_port = if self.ssl_on {
            Self::port(&self.ssl_port, "SSL/TLS").ok()
        } else {
            None
        };
        r.starttls_port = if self.starttls_on {
            Self::port(&self.starttls_port, "STARTTLS").ok()
        } else {
            None
        };
        r.timeout = Duration::from_secs(self.timeout.trim().parse().unwrap_or(10));
        r.extra_ca_pem = self.ca_pem.clone();
        r.profile_name = Some(cx.device.to_string()).filter(|d| !d.is_empty());
        r.ports_locked = self.locked;
        catalog::catalog().shape_advice(&mut r);
        // A device that signs in with OAuth gets its token from the sign-in that follows.
        let checked = if cx.sign_in.is_some() {
            r.validate_settings()
        } else {
            r.validate()
        };
        checked.map_err(|e| match e {
            InputError::EmptyAccount | InputError::BadAccount(_) | InputError::EmptyPassword => {
                format!("{e} (step 1, Account)")
            }
            e => e.to_string(),
        })?;
        Ok(r)
    }

    /// Warnings before testing, from the catalog.
    pub fn warnings(&self, cx: &Context<'_>) -> Vec<warnings::Warning> {
        warnings::warnings(
            catalog::catalog(),
            &warnings::Input {
                server: &self.server,
                account: cx.account,
                from: None,
                password_as_typed: cx.sign_in.is_none().then(|| cx.password.expose()),
                ssl_port: self
                    .ssl_on
                    .then(|| smtp::parse_port(&self.ssl_port))
                    .flatten(),
                starttls_port: self
                    .starttls_on
                    .then(|| smtp::parse_port(&self.starttls_port))
                    .flatten(),
            },
        )
        .into_iter()
        // Password sending going away does not concern a device that signs in with OAuth.
        .filter(|w| cx.sign_in.is_none() || !warnings::about_passwords(w))
        .collect()
    }
}
