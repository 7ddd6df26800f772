//! `relay status` as a report: the state file read against relay.toml, with each copier's
//! refusal and its fix, the strangers turned away, the warnings, and the sign-in's end.

use super::status::{DeviceState, State};
use super::warnings::warnings;
use serde::Serialize;

/// `relay status --json` (contract): listening, upstream, devices.
#[derive(Debug, Serialize)]
pub struct Report {
    pub listening: Vec<String>,
    pub running: bool,
    pub upstream: UpstreamReport,
    pub devices: Vec<DeviceReport>,
    /// Refusals of addresses no copier is known by (named by address).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strangers: Vec<DeviceReport>,
    /// Why the relay could not start last time, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_problem: Option<String>,
    /// Things to act on, each with its next step.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct UpstreamReport {
    pub provider: super::config::ProviderKind,
    pub account: String,
    pub auth: super::config::AuthKind,
    pub signed_in: bool,
    pub token_expires: Option<String>,
    pub last_error: Option<String>,
    /// The app-only sign-in: when its certificate (or client secret) ends (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_expires: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeviceReport {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub last_message: Option<String>,
    pub last_error: Option<String>,
    /// When the relay last turned it away (RFC 3339), what, and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<super::refusal::Refusal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl DeviceReport {
    /// `known`: the name is a copier's in relay.toml (else it is the address it came from).
    fn of(name: &str, known: bool, s: DeviceState) -> Self {
        let fix = s.refusal.map(|r| {
            r.fix(
                known.then_some(name),
                s.refused_from.as_deref().unwrap_or("its address"),
                s.refused_detail.as_deref().unwrap_or_default(),
            )
        });
        Self {
            name: name.to_string(),
            messages: s.messages,
            bytes: s.bytes,
            last_message: s.last_message,
            last_error: s.last_error,
            last_refused: s.last_refused,
            refusal: s.refusal,
            fix,
        }
    }
}

/// The report for a config and its state. `running`: a relay wrote the state within the last
/// few minutes (it writes at least every minute while it runs).
pub fn report(cfg: &super::config::RelayConfig, state: &State, now_unix: i64) -> Report {
    let updated = state
        .alive
        .as_deref()
        .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .map(|d| d.timestamp());
    let running = updated.is_some_and(|u| now_unix - u < 180);
    let warnings = warnings(cfg, state, now_unix);
    let u = &state.upstream;
    let devices = cfg
        .devices
        .iter()
        .map(|d| {
            DeviceReport::of(
                &d.name,
                true,
                state.devices.get(&d.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let strangers = state
        .strangers
        .iter()
        .map(|(from, s)| DeviceReport::of(from, false, s.clone()))
        .collect();
    Report {
        listening: if running && !state.listening.is_empty() {
            state.listening.clone()
        } else {
            cfg.listen.iter().chain(&cfg.listen_tls).cloned().collect()
        },
        running,
        upstream: UpstreamReport {
            provider: cfg.upstream.provider,
            account: cfg.upstream.account.clone(),
            auth: cfg.upstream.auth,
            signed_in: u.signed_in,
            token_expires: u.token_expires.clone(),
            last_error: u.last_error.clone(),
            credential_expires: credential_expires(cfg).map(crate::time::utc_rfc3339),
        },
        devices,
        strangers,
        start_problem: (!running).then(|| state.start_problem.clone()).flatten(),
        warnings,
    }
}

/// The app-only sign-in's end: its certificate's (read from the file), else the client
/// secret's date IT gave.
pub fn credential_expires(cfg: &super::config::RelayConfig) -> Option<i64> {
    let app = cfg.upstream.app()?;
    if let Some(c) = &app.certificate {
        return crate::oauth::app::Certificate::read(c)
            .and_then(|c| c.not_after())
            .ok();
    }
    let d = app.client_secret_expires.as_deref()?;
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
}
