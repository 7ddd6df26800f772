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
    /// When `relay sign-in` last signed the relay in (milliseconds since 1970): a running relay
    /// that sees a newer one than its own takes the sign-in at once.
    #[serde(default)]
    pub signed_in_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub messages: u64,
    pub bytes: u64,
    /// When the last message went through (RFC 3339).
    pub last_message: Option<String>,
    pub last_error: Option<String>,
    /// The days (YYYY-MM-DD, UTC) it sent on, the last 14 at most: a copier that used to send
    /// daily and has gone quiet is worth a look.
    #[serde(default)]
    pub days: Vec<String>,
    /// When the relay last refused this copier (its sign-in), RFC 3339; the reason is in
    /// `last_error`.
    #[serde(default)]
    pub last_refused: Option<String>,
    /// What the relay refused last, and the address it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<super::refusal::Refusal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_from: Option<String>,
    /// The encryption's error, for IT (a failed handshake only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_detail: Option<String>,
}

impl DeviceState {
    /// Counts a message sent now, from the address `from`.
    pub fn sent(&mut self, bytes: u64, now_unix: i64, from: &str) {
        let now = crate::time::utc_rfc3339(now_unix);
        let day = now[..10].to_string();
        if self.days.last() != Some(&day) {
            self.days.push(day);
            if self.days.len() > 14 {
                self.days.remove(0);
            }
        }
        self.messages += 1;
        self.bytes += bytes;
        self.last_message = Some(now);
        self.last_error = None;
        self.mended_from(from);
    }

    /// It signed in from `from`: a refusal from that address is mended (one from elsewhere,
    /// another copier with this card or someone guessing, stays).
    pub fn mended_from(&mut self, from: &str) {
        if self.refused_from.as_deref() == Some(from) {
            self.refusal = None;
            self.refused_from = None;
            self.refused_detail = None;
        }
    }

    /// Counts a refusal of this copier now: what, from where (an address), and a detail (the
    /// TLS version offered, the handshake's error).
    pub fn refused(&mut self, what: super::refusal::Refusal, from: &str, detail: &str) {
        self.last_refused = Some(crate::time::utc_rfc3339(crate::time::now_unix()));
        self.last_error = Some(what.what(from, detail));
        self.refusal = Some(what);
        self.refused_from = Some(from.to_string());
        // The handshake's error, as the TLS library (or the system) words it: no control
        // characters, short.
        let detail: String = detail
            .chars()
            .filter(|c| !c.is_control())
            .take(160)
            .collect();
        self.refused_detail =
            (what == super::refusal::Refusal::TlsFailed && !detail.is_empty()).then_some(detail);
    }
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
    /// The day (YYYY-MM-DD) the last health message went to the help desk.
    #[serde(default)]
    pub health_mailed: Option<String>,
    #[serde(default)]
    pub upstream: UpstreamState,
    #[serde(default)]
    pub devices: BTreeMap<String, DeviceState>,
    /// relay.toml changed and could not be read (the relay goes on with the copiers it read
    /// before): why.
    #[serde(default)]
    pub settings_problem: Option<String>,
    /// Refusals of connections no copier's address or login names, by address (the last
    /// [`STRANGERS`] addresses): an unknown login, or encryption that failed.
    #[serde(default)]
    pub strangers: BTreeMap<String, DeviceState>,
    /// Why the relay could not start last time (a port in use, settings it may not use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_problem: Option<String>,
}

/// Addresses kept in [`State::strangers`].
pub const STRANGERS: usize = 16;

impl State {
    /// Every text that may quote a provider, with mail addresses hidden.
    fn without_addresses(&mut self) {
        let hide = |t: &mut Option<String>| {
            if let Some(x) = t.as_mut() {
                *x = super::log::without_addresses(x);
            }
        };
        hide(&mut self.upstream.last_error);
        hide(&mut self.settings_problem);
        for d in self.devices.values_mut() {
            hide(&mut d.last_error);
        }
    }
}

/// The state file in the relay's state folder.
pub fn path_for(state_dir: &Path) -> PathBuf {
    state_dir.join("relay-state.json")
}

/// Reads the state file; a missing or broken one is an empty state (it only holds counts).
pub fn read(path: &Path) -> State {
    read_checked(path).unwrap_or_default()
}

/// The state file, or why it cannot be read: a missing file is a relay that never ran (an empty
/// state); a file this account may not read (a service's, on Windows) is said so.
pub fn read_checked(path: &Path) -> Result<State, String> {
    match crate::fsutil::read_capped(path, 4 * 1024 * 1024) {
        Ok(b) => Ok(serde_json::from_slice(&b).unwrap_or_default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(
            "Only an administrator can see how the relay's service stands. Run as an administrator: scanmail relay status".to_string(),
        ),
        Err(e) => Err(format!(
            "{path} could not be read ({why}). A running relay writes it every minute, so look again in a minute. If this stays, check that file and its folder: the relay's account must be able to write them, and everyone to read the file.",
            path = path.display(),
            why = crate::fsutil::plain_io(&e)
        )),
    }
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

    /// Takes a sign-in another process (`relay sign-in`) wrote since this one last looked:
    /// true when there was one.
    fn take_newer_sign_in(&self, s: &mut State) -> bool {
        let disk = read(&self.path);
        if disk.upstream.signed_in_ms > s.upstream.signed_in_ms {
            s.upstream = disk.upstream;
            return true;
        }
        false
    }

    /// Looks for a newer sign-in on disk now (the running relay asks every few seconds); true
    /// when one was taken, so the relay uses it at once.
    pub fn pick_up_sign_in(&self) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        self.take_newer_sign_in(&mut s)
    }

    /// Changes the state and writes it (atomically: a new file, then a rename). A newer
    /// sign-in on disk is taken first, so the relay never writes its old "not signed in" over
    /// the one `relay sign-in` just wrote.
    pub fn update(&self, change: impl FnOnce(&mut State)) {
        let Ok(mut s) = self.state.lock() else { return };
        self.take_newer_sign_in(&mut s);
        change(&mut s);
        s.without_addresses();
        s.pid = Some(std::process::id());
        s.updated = Some(crate::time::utc_rfc3339(crate::time::now_unix()));
        // Counts and times only, no secret, no address: readable by everyone, so `relay
        // status` and the window can show a service's state without administrator rights.
        if let Ok(text) = serde_json::to_vec_pretty(&*s) {
            let _ = crate::fsutil::write_atomic_mode(&self.path, &text, 0o644);
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

    /// A copier's message went through from `from`: counted, its refusal from there mended, and
    /// that address no longer a stranger.
    pub fn sent(&self, name: &str, bytes: u64, from: &str) {
        let now = crate::time::now_unix();
        self.update(|s| {
            s.devices
                .entry(name.to_string())
                .or_default()
                .sent(bytes, now, from);
            s.strangers.remove(from);
        });
    }

    /// Records a refusal from an address no copier is known by: at most one write a minute
    /// for the same refusal from the same address, and only the last [`STRANGERS`] addresses.
    pub fn stranger(&self, from: &str, what: super::refusal::Refusal, detail: &str) {
        let now = crate::time::now_unix();
        let fresh = self.get().strangers.get(from).is_some_and(|d| {
            d.refusal == Some(what)
                && d.last_refused
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| now - t.timestamp() < 60)
        });
        if fresh {
            return;
        }
        self.update(|s| {
            s.strangers
                .entry(from.to_string())
                .or_default()
                .refused(what, from, detail);
            while s.strangers.len() > STRANGERS {
                let oldest = s
                    .strangers
                    .iter()
                    .min_by_key(|(_, d)| d.last_refused.clone())
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => s.strangers.remove(&k),
                    None => break,
                };
            }
        });
    }
}

/// The words that tell IT to sign the relay in again.
pub const SIGN_IN_AGAIN: &str = "Sign the relay in again: scanmail relay sign-in";

/// The words that mark a sign-in the provider blocks (a new one is refused too, until IT's
/// fix): in `last_error`, where "Sign in again" would be a loop.
pub const BLOCKED: &str = "A new sign-in is refused the same way until that changes.";

/// True when the last error says the provider blocks the sign-in.
pub fn sign_in_blocked(last_error: Option<&str>) -> bool {
    last_error.is_some_and(|e| e.contains(BLOCKED))
}

pub use super::report::{DeviceReport, Report, UpstreamReport, credential_expires, report};
pub use super::warnings::warnings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copier_that_sends_again_has_its_refusal_mended() {
        let mut d = DeviceState::default();
        d.refused(
            super::super::refusal::Refusal::TlsFailed,
            "10.1.2.3",
            "received fatal alert: HandshakeFailure\u{1b}[2J é",
        );
        assert_eq!(
            d.refused_detail.as_deref(),
            Some("received fatal alert: HandshakeFailure[2J é"),
            "no control characters"
        );
        assert!(d.refusal.is_some() && d.last_refused.is_some());
        // Another address sends with this card: the refusal from 10.1.2.3 stays.
        d.sent(100, crate::time::now_unix(), "10.9.9.9");
        assert!(d.refusal.is_some());
        d.sent(100, crate::time::now_unix(), "10.1.2.3");
        assert!(d.refusal.is_none() && d.refused_from.is_none() && d.refused_detail.is_none());
        assert!(d.last_error.is_none());
    }

    #[test]
    fn a_message_sent_from_an_address_turned_away_before_ends_that_stranger() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::open(dir.path().join("relay-state.json"));
        shared.stranger("10.1.2.3", super::super::refusal::Refusal::UnknownLogin, "");
        shared.stranger("10.1.2.4", super::super::refusal::Refusal::UnknownLogin, "");
        shared.sent("copier-3f", 10, "10.1.2.3");
        let s = shared.get();
        assert!(!s.strangers.contains_key("10.1.2.3"));
        assert!(s.strangers.contains_key("10.1.2.4"));
        assert_eq!(s.devices["copier-3f"].messages, 1);
    }

    #[test]
    fn a_state_file_that_cannot_be_read_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        // Missing: a relay that never ran, not an error.
        assert!(read_checked(&dir.path().join("relay-state.json")).is_ok());
        // A folder where the file should be: the reason, when to look again, and what IT
        // checks (this text is IT's: it never says to send it to IT).
        let why = read_checked(dir.path()).unwrap_err();
        assert!(why.contains("look again in a minute"), "{why}");
        assert!(
            why.contains("check that file and its folder") && !why.contains("send IT"),
            "{why}"
        );
    }

    #[test]
    fn warnings_name_what_needs_a_person() {
        let cfg: super::super::config::RelayConfig = toml::from_str(
            "[upstream]\nprovider = \"microsoft\"\naccount = \"a@b.example\"\nauth = \"oauth\"\n[[device]]\nname = \"copier\"\npassword_hash = \"$argon2id$x\"\n",
        )
        .unwrap();
        let now = 1_800_000_000;
        let mut s = State::default();
        s.upstream.signed_in = true;
        s.upstream.token_expires = Some(crate::time::utc_rfc3339(now + 5 * 86_400));
        s.upstream.refused_in_a_row = 3;
        s.upstream.last_error = Some("550 5.7.60".into());
        let mut d = DeviceState::default();
        for k in (3..9).rev() {
            d.sent(10, now - k * 86_400, "10.1.2.3");
        }
        s.devices.insert("copier".into(), d);
        let w = warnings(&cfg, &s, now);
        assert_eq!(w.len(), 3, "{w:#?}");
        assert!(
            w[0].contains("runs out")
                && w[0].contains("renews it only while it runs")
                && w[0].contains("scanmail relay sign-in"),
            "{}",
            w[0]
        );
        assert!(
            w[1].contains("refused the last 3")
                && w[1].contains("550 5.7.60")
                && w[1].contains("scanmail relay test")
                && !w[1].contains("Send this to IT"),
            "{}",
            w[1]
        );
        assert!(w[2].contains("The copier copier sent on most days"));
        s.upstream.signed_in = false;
        assert!(warnings(&cfg, &s, now)[0].contains("not signed in"));
        // A copier that sent today is no worry.
        s.devices
            .get_mut("copier")
            .unwrap()
            .sent(10, now - 60, "10.1.2.3");
        assert!(
            !warnings(&cfg, &s, now)
                .iter()
                .any(|x| x.contains("most days"))
        );
    }
}
