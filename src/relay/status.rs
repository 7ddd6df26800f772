//! What `relay status` shows: where the relay listens, how it stands with the provider, and each
//! copier's counts. The running relay keeps it in a small JSON state file (no message content,
//! no recipients, no secret), written atomically on every change, so counts survive a restart.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamState {
    pub signed_in: bool,
    /// When the sign-in runs out if unused (RFC 3339), when known.
    pub token_expires: Option<String>,
    /// The last problem with the provider, in plain words.
    pub last_error: Option<String>,
    /// Messages the provider refused in a row (a warning at 3).
    #[serde(default)]
    pub refused_in_a_row: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub messages: u64,
    pub bytes: u64,
    /// When the last message went through (RFC 3339).
    pub last_message: Option<String>,
    pub last_error: Option<String>,
}

/// The state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub listening: Vec<String>,
    /// The running relay's process and when it last wrote (RFC 3339).
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub updated: Option<String>,
    /// The running relay's heartbeat (RFC 3339): written at start and every minute, cleared
    /// when it stops.
    #[serde(default)]
    pub alive: Option<String>,
    #[serde(default)]
    pub upstream: UpstreamState,
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceState>,
}

/// The state next to the relay's config (or in the service's state directory).
pub fn path_for(config: &Path) -> PathBuf {
    config.with_file_name("relay-state.json")
}

/// Reads the state file; a missing or broken one is an empty state (it only holds counts).
pub fn read(path: &Path) -> State {
    crate::fsutil::read_capped(path, 4 * 1024 * 1024)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The running relay's state, shared by its connections and written on every change.
#[derive(Debug)]
pub struct Shared {
    path: PathBuf,
    state: Mutex<State>,
}

impl Shared {
    pub fn open(path: PathBuf) -> Self {
        let state = read(&path);
        Self {
            path,
            state: Mutex::new(state),
        }
    }

    /// Changes the state and writes it (atomically: a new file, then a rename).
    pub fn update(&self, change: impl FnOnce(&mut State)) {
        let Ok(mut s) = self.state.lock() else { return };
        change(&mut s);
        s.pid = Some(std::process::id());
        s.updated = Some(crate::time::utc_rfc3339(crate::time::now_unix()));
        if let Ok(text) = serde_json::to_vec_pretty(&*s) {
            let _ = crate::fsutil::write_atomic(&self.path, &text);
        }
    }

    /// The running relay says it is alive (at start and every minute), or, with `false`, that
    /// it stopped.
    pub fn heartbeat(&self, alive: bool) {
        let now = crate::time::utc_rfc3339(crate::time::now_unix());
        self.update(|s| s.alive = alive.then_some(now));
    }

    pub fn get(&self) -> State {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn device(&self, name: &str, change: impl FnOnce(&mut DeviceState)) {
        self.update(|s| change(s.devices.entry(name.to_string()).or_default()));
    }
}

/// `relay status --json` (contract): listening, upstream, devices.
#[derive(Debug, Serialize)]
pub struct Report {
    pub listening: Vec<String>,
    pub running: bool,
    pub upstream: UpstreamReport,
    pub devices: Vec<DeviceReport>,
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
}

#[derive(Debug, Serialize)]
pub struct DeviceReport {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub last_message: Option<String>,
    pub last_error: Option<String>,
}

/// The words that tell IT to sign the relay in again.
pub const SIGN_IN_AGAIN: &str = "Sign the relay in again: scanmail relay sign-in";

/// The report for a config and its state. `running`: a relay wrote the state within the last
/// few minutes (it writes at least every minute while it runs).
pub fn report(cfg: &super::config::RelayConfig, state: &State, now_unix: i64) -> Report {
    let updated = state
        .alive
        .as_deref()
        .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .map(|d| d.timestamp());
    let running = updated.is_some_and(|u| now_unix - u < 180);
    let mut warnings = Vec::new();
    let u = &state.upstream;
    if !u.signed_in {
        warnings.push(format!(
            "The relay is not signed in to the provider, so copiers' mail waits on the copiers. {SIGN_IN_AGAIN}"
        ));
    }
    if let Some(exp) = u
        .token_expires
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        && u.signed_in
        && exp.timestamp() - now_unix < 14 * 86_400
    {
        warnings.push(format!(
            "The relay's sign-in runs out on {} unless a copier sends before. {SIGN_IN_AGAIN}",
            crate::time::local_words(exp.timestamp())
        ));
    }
    if u.refused_in_a_row >= 3 {
        warnings.push(format!(
            "The provider refused the last {} messages. See last_error, and send it to IT.",
            u.refused_in_a_row
        ));
    }
    let devices = cfg
        .devices
        .iter()
        .map(|d| {
            let s = state.devices.get(&d.name).cloned().unwrap_or_default();
            DeviceReport {
                name: d.name.clone(),
                messages: s.messages,
                bytes: s.bytes,
                last_message: s.last_message,
                last_error: s.last_error,
            }
        })
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
        },
        devices,
        warnings,
    }
}
