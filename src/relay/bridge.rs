//! One copier's connection to the relay, as a [`Handler`] of the receiving core. The relay's
//! rules: a copier signs in as a device (over TLS, or in the clear only from `allow_plain_from`;
//! only from its `addresses` when it has some); nothing is sent for a copier that has not; the
//! envelope sender is always the relay's account; recipients outside the device's list are
//! refused; and the copier hears `250` only after the provider said `250`. Nothing is written
//! to disk: the body streams to the provider as it arrives.

use super::config::{self, Device, RelayConfig};
use super::guard::Guard;
use super::headers::Rewriter;
use super::status;
use super::tokens::Credentials;
use super::upstream::{Route, Session, UpError};
use crate::receive::data::DotStuffer;
use crate::receive::{DataEnd, End, Handler, Login, Reply};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, RwLock};

/// What every connection shares.
pub struct Shared {
    pub config: RwLock<Arc<RelayConfig>>,
    pub config_path: std::path::PathBuf,
    stamp: std::sync::Mutex<Option<(std::time::SystemTime, u64)>>,
    pub route: Route,
    pub creds: Arc<Credentials>,
    pub guard: Guard,
    pub status: Arc<status::Shared>,
    /// Logins that passed Argon2 within the hour.
    pub known: super::device::Known,
}

impl Shared {
    pub fn new(
        config: RelayConfig,
        config_path: std::path::PathBuf,
        route: Route,
        creds: Arc<Credentials>,
        status: Arc<status::Shared>,
    ) -> Self {
        let stamp = stamp_of(&config_path);
        Self {
            config: RwLock::new(Arc::new(config)),
            config_path,
            stamp: std::sync::Mutex::new(stamp),
            route,
            creds,
            guard: Guard::default(),
            status,
            known: super::device::Known::default(),
        }
    }

    /// The config, read again when the file changed (a device added or removed takes effect at
    /// the next connection; the upstream's settings need a restart).
    pub fn current(&self) -> Arc<RelayConfig> {
        let now = stamp_of(&self.config_path);
        let changed = self.stamp.lock().is_ok_and(|s| *s != now);
        if changed {
            match config::load(&self.config_path) {
                Ok(mut fresh) => {
                    if let Ok(mut c) = self.config.write() {
                        fresh.upstream = c.upstream.clone();
                        *c = Arc::new(fresh);
                    }
                    log("the settings changed on disk: devices read again");
                }
                Err(e) => log(&format!(
                    "the settings changed but could not be read, the old ones stay: {e}"
                )),
            }
            if let Ok(mut s) = self.stamp.lock() {
                *s = now;
            }
        }
        self.config
            .read()
            .map_or_else(|_| Arc::new(placeholder()), |c| c.clone())
    }
}

fn placeholder() -> RelayConfig {
    // Only reached if a lock was poisoned: a config that lets nobody in.
    RelayConfig {
        listen: Vec::new(),
        listen_tls: Vec::new(),
        allow_plain_from: Vec::new(),
        certificate: None,
        key: None,
        max_message_bytes: None,
        max_connections: None,
        max_connections_per_address: None,
        state_dir: None,
        help_desk_email: None,
        upstream: config::Upstream {
            provider: config::ProviderKind::Server,
            account: String::new(),
            auth: config::AuthKind::Password,
            server: None,
            port: None,
            security: None,
            ca_file: None,
            oauth: crate::oauth::Apps::default(),
            secrets: config::SecretStore::Keychain,
            secrets_file: None,
        },
        devices: Vec::new(),
    }
}

fn stamp_of(p: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    std::fs::metadata(p)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

/// What a copier hears when the connection to the provider broke off: temporary, so it keeps
/// the scan and sends it again.
fn broke_off() -> Reply {
    Reply::new(
        451,
        "4.4.2 The connection to the mail provider broke off: try again",
    )
}

/// A provider's words for the log and the status file, with every mail address in them hidden
/// (a refusal often names the recipient): those files hold counts, never a recipient.
pub fn without_addresses(said: &str) -> String {
    said.split(' ')
        .map(|w| if w.contains('@') { "(an address)" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One log line to standard error (the service's log): device, peer address, sizes, reply
/// codes. Never a password, a token, a recipient or the message.
pub fn log(line: &str) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{} scanmail-relay: {}",
            crate::time::utc_rfc3339(crate::time::now_unix()),
            crate::receive::clean(line, 400)
        );
    }
}

/// How serious a [`notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A line IT must see even without a terminal: the log, and on Windows the event log too (the
/// service's start and stop, why it cannot run, each new warning).
pub fn notice(level: Level, line: &str) {
    log(line);
    #[cfg(windows)]
    super::eventlog::write(
        match level {
            Level::Info => super::eventlog::Level::Info,
            Level::Warning => super::eventlog::Level::Warning,
            Level::Error => super::eventlog::Level::Error,
        },
        line,
    );
    #[cfg(not(windows))]
    let _ = level;
}

/// A recipient as the relay passes it on: exactly one `@`, a local part of the plain characters
/// RFC 5322 allows without quotes, a domain of letters, digits, dots and hyphens. Anything else
/// (quotes, source routes, spaces, brackets, parameters) is refused rather than guessed at.
pub fn plain_address(to: &str) -> Option<String> {
    let to = to.trim();
    let (local, domain) = to.split_once('@')?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    (local_ok && domain_ok).then(|| to.to_string())
}

/// A hash of nothing: unknown logins cost the same time as wrong passwords.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    super::device::hash(&crate::secrets::AppPassword::new("decoy-decoy-decoy")).unwrap_or_default()
});

pub struct Bridge {
    shared: Arc<Shared>,
    cfg: Arc<RelayConfig>,
    peer: IpAddr,
    plain_ok: bool,
    device: Option<Device>,
    session: Option<Session>,
    /// The provider broke off during the body: what the copier hears at its end.
    broken: Option<Reply>,
    rewriter: Rewriter,
    stuffer: DotStuffer,
    held: Vec<u8>,
    out: Vec<u8>,
    sent: u32,
    /// DATA went to the provider; its go-ahead is read before the first byte of the body.
    awaiting: bool,
    /// MAIL FROM went to the provider; its answer is read with DATA's (RFC 2920).
    mail_pending: bool,
    /// RCPT TOs sent to the provider whose answers are read with DATA's.
    rcpt_pending: usize,
}

impl Bridge {
    pub fn new(shared: Arc<Shared>, peer: IpAddr) -> Self {
        let cfg = shared.current();
        let plain_ok = config::allowed(&cfg.allow_plain_from, peer);
        Self {
            shared,
            cfg,
            peer,
            plain_ok,
            device: None,
            session: None,
            broken: None,
            rewriter: Rewriter::new(None),
            stuffer: DotStuffer::default(),
            held: Vec::new(),
            out: Vec::new(),
            sent: 0,
            awaiting: false,
            mail_pending: false,
            rcpt_pending: 0,
        }
    }

    fn name(&self) -> &str {
        self.device.as_ref().map_or("-", |d| d.name.as_str())
    }

    async fn close_session(&mut self) {
        self.mail_pending = false;
        self.rcpt_pending = 0;
        if let Some(s) = self.session.take() {
            s.quit().await;
        }
    }

    /// The provider's connection failed mid-transaction: said in the log, the session dropped,
    /// and the copier hears a temporary failure at the end of its message.
    fn provider_broke_off(&mut self, e: &UpError) {
        log(&format!(
            "device {}: {}",
            self.name(),
            without_addresses(&e.words())
        ));
        self.session = None;
        self.broken = Some(broke_off());
    }

    fn note_error(&self, why: &str) {
        if let Some(d) = &self.device {
            let why = without_addresses(why);
            self.shared
                .status
                .device(&d.name, |s| s.last_error = Some(why));
        }
    }

    /// Reads the provider's answer to DATA once, before the body goes on.
    async fn wait_go_ahead(&mut self) {
        if !self.awaiting {
            return;
        }
        self.awaiting = false;
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mail = std::mem::take(&mut self.mail_pending);
        let rcpts = std::mem::take(&mut self.rcpt_pending);
        match session.pending_answers(mail, rcpts).await {
            Ok(None) => {}
            Ok(Some(refused)) => {
                // The transaction must not go on: the connection is dropped without the end of
                // the message, so the provider sends nothing.
                log(&format!(
                    "device {}: the provider refused the sender or a recipient: {}",
                    self.name(),
                    refused.code
                ));
                self.session = None;
                self.broken = Some(refused);
                return;
            }
            Err(e) => {
                self.provider_broke_off(&e);
                return;
            }
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        match session.go_ahead().await {
            Ok(Ok(())) => {}
            Ok(Err(r)) => {
                self.session = None;
                self.broken = Some(r);
            }
            Err(e) => {
                self.provider_broke_off(&e);
            }
        }
    }

    fn recipient_allowed(&self, to: &str) -> bool {
        let Some(d) = &self.device else { return false };
        if d.allowed_recipients.is_empty() {
            return true;
        }
        let to = to.trim().to_ascii_lowercase();
        let Some((_, domain)) = to.rsplit_once('@') else {
            return false;
        };
        d.allowed_recipients.iter().any(|p| {
            let p = p.trim().to_ascii_lowercase();
            match p.strip_prefix("*@") {
                Some(d) => d.trim_end_matches('.') == domain.trim_end_matches('.'),
                None => p == to,
            }
        })
    }
}

impl Handler for Bridge {
    type Output = ();

    fn greeting(&self) -> String {
        "scanmail-relay ESMTP ScanMail relay".into()
    }

    fn plain_auth_allowed(&self) -> bool {
        self.plain_ok
    }

    fn tls(&mut self, _outcome: crate::receive::TlsOutcome) {
        // RFC 3207: a sign-in from before STARTTLS does not carry over into the encryption.
        self.device = None;
    }

    async fn auth(&mut self, login: Login) -> Reply {
        let shared = self.shared.clone();
        if shared.guard.locked(self.peer) {
            log(&format!(
                "sign-in refused: {} must wait after failed sign-ins",
                self.peer
            ));
            return Reply::new(
                421,
                "4.7.0 Too many failed sign-ins from your address: try again in 5 minutes",
            );
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
            let right = super::device::verify(login.password, hash.clone()).await;
            if right && device.is_some() {
                shared.known.remember(&name, &password, &hash);
            }
            right
        };
        match device {
            Some(d) if right && from_ok => {
                shared.guard.succeeded(self.peer);
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
                // Logged only: a stranger's guesses must not cost a disk write each.
                log(&format!("sign-in refused from {}: {why}", self.peer));
                if shared.guard.failed(self.peer) {
                    log(&format!(
                        "{} waits 5 minutes after 5 failed sign-ins",
                        self.peer
                    ));
                    return Reply::new(
                        421,
                        "4.7.0 Too many failed sign-ins from your address: try again in 5 minutes",
                    );
                }
                Reply::new(535, "5.7.8 Authentication credentials invalid")
            }
        }
    }

    async fn mail(&mut self, _from: &str) -> Reply {
        let Some(device) = self.device.clone() else {
            log(&format!("mail refused from {}: not signed in", self.peer));
            return Reply::new(530, "5.7.0 Authentication required: sign in first");
        };
        let per_minute = self.cfg.upstream.per_minute();
        if !self.shared.guard.may_send(&device.name, per_minute) {
            log(&format!(
                "device {}: more than {per_minute} messages a minute, asked to wait",
                device.name
            ));
            return Reply::new(
                451,
                "4.7.1 This copier sent many messages this minute: try again shortly",
            );
        }
        let account = self.cfg.upstream.account.trim().to_string();
        // The session of this copier's last message, when it is still open: no new sign-in.
        if let Some(mut session) = self.session.take()
            && let Ok(r) = session.mail(&account, None).await
            && r.is_positive()
        {
            self.session = Some(session);
            return r;
        }
        // The old session is gone or closed by the provider: a new one.
        let credential =
            match tokio::time::timeout(super::upstream::STEP * 2, self.shared.creds.get())
                .await
                .unwrap_or_else(|_| {
                    Err(
                        "the relay's secret store or the sign-in service did not answer in time"
                            .into(),
                    )
                }) {
                Ok(c) => c,
                Err(why) => {
                    log(&format!(
                        "device {}: the relay is not signed in: {why}",
                        device.name
                    ));
                    self.note_error(&why);
                    return Reply::new(
                        454,
                        "4.7.0 The relay is not signed in to the mail provider: try again later",
                    );
                }
            };
        let opened = tokio::time::timeout(
            super::upstream::STEP * 2,
            Session::open(&self.shared.route, &credential),
        )
        .await
        .unwrap_or_else(|_| Err(UpError::Unreachable("it did not answer in time".into())));
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, UpError::SignIn(_)) {
                    self.shared.creds.forget_access().await;
                    let w = without_addresses(&e.words());
                    self.shared
                        .status
                        .update(|s| s.upstream.last_error = Some(w));
                }
                log(&format!(
                    "device {}: {}",
                    device.name,
                    without_addresses(&e.words())
                ));
                self.note_error(&e.words());
                return e.reply();
            }
        };
        // A new session: MAIL goes out now and its answer is read with the first RCPT's (one
        // round trip to the provider for both, RFC 2920); the copier hears 250 at once.
        if session.pipelining() {
            return match session.mail_start(&account).await {
                Ok(()) => {
                    self.session = Some(session);
                    self.mail_pending = true;
                    Reply::new(250, "2.1.0 Sender OK")
                }
                Err(e) => {
                    self.note_error(&e.words());
                    e.reply()
                }
            };
        }
        match session.mail(&account, None).await {
            Ok(r) if r.is_positive() => {
                self.session = Some(session);
                r
            }
            Ok(r) => {
                log(&format!(
                    "device {}: the provider refused MAIL FROM: {}",
                    device.name, r.code
                ));
                self.note_error(&format!("The mail provider refused the sender: {r}"));
                session.quit().await;
                r
            }
            Err(e) => {
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    async fn rcpt(&mut self, to: &str) -> Reply {
        if self.device.is_none() {
            return Reply::new(530, "5.7.0 Authentication required: sign in first");
        }
        let Some(to) = plain_address(to) else {
            log(&format!(
                "device {}: a recipient address that is not plain was refused",
                self.name()
            ));
            return Reply::new(
                501,
                "5.1.3 The recipient must be a plain address such as name@example.edu",
            );
        };
        let to = to.as_str();
        if !self.recipient_allowed(to) {
            log(&format!(
                "device {}: a recipient outside its list was refused",
                self.name()
            ));
            return Reply::new(550, "5.7.1 This copier may not send to that address");
        }
        let Some(session) = self.session.as_mut() else {
            return Reply::new(
                451,
                "4.4.1 The connection to the mail provider is gone: try again",
            );
        };
        if session.pipelining() {
            // The provider's answer is read with DATA's, so MAIL, RCPT and DATA cost one round
            // trip to it, as when the engine sends straight. A refusal then ends the message
            // at DATA's end with the provider's own words (nothing is sent).
            return match session.rcpt_start(to).await {
                Ok(()) => {
                    self.rcpt_pending += 1;
                    Reply::new(250, "2.1.5 Recipient OK")
                }
                Err(e) => {
                    self.session = None;
                    self.note_error(&e.words());
                    e.reply()
                }
            };
        }
        match session.rcpt(to).await {
            Ok(r) => r,
            Err(e) => {
                self.session = None;
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    async fn data(&mut self) -> Reply {
        let Some(session) = self.session.as_mut() else {
            return Reply::new(
                451,
                "4.4.1 The connection to the mail provider is gone: try again",
            );
        };
        // The copier may start at once; the provider's own go-ahead is read before the first
        // byte goes to it (its refusal then comes back at the end of the message).
        match session.start_data().await {
            Ok(()) => {
                let rewrite = self
                    .device
                    .as_ref()
                    .is_some_and(|d| d.rewrite_from)
                    .then(|| self.cfg.upstream.account.trim().to_string());
                self.rewriter = Rewriter::new(rewrite);
                self.stuffer = DotStuffer::default();
                self.broken = None;
                self.awaiting = true;
                Reply::new(354, "Go ahead")
            }
            Err(e) => {
                self.session = None;
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    async fn chunk(&mut self, bytes: &[u8]) {
        self.wait_go_ahead().await;
        if self.broken.is_some() {
            return;
        }
        self.held.clear();
        self.rewriter.feed(bytes, &mut self.held);
        if self.rewriter.too_long {
            self.session = None;
            self.broken = Some(Reply::new(
                552,
                "5.3.4 The message's header is too long for the relay to check its sender",
            ));
            return;
        }
        self.out.clear();
        self.stuffer.feed(&self.held, &mut self.out);
        if self.out.is_empty() {
            return;
        }
        let Some(session) = self.session.as_mut() else {
            self.broken = Some(broke_off());
            return;
        };
        if let Err(e) = session.body(&self.out).await {
            self.provider_broke_off(&e);
        }
    }

    async fn end(&mut self, how: DataEnd) -> Reply {
        let DataEnd::Complete { size } = how else {
            // Too long a line or too big: the provider gets no end of data, so it drops it.
            self.session = None;
            self.awaiting = false;
            return Reply::new(451, "4.3.0 Message dropped");
        };
        self.wait_go_ahead().await;
        if let Some(r) = self.broken.take() {
            self.note_error(&format!("The message did not go through: {r}"));
            return r;
        }
        self.held.clear();
        self.rewriter.flush(&mut self.held);
        self.out.clear();
        self.stuffer.feed(&self.held, &mut self.out);
        self.stuffer.finish(&mut self.out);
        let Some(mut session) = self.session.take() else {
            return broke_off();
        };
        let r = match session.finish(&self.out).await {
            // Only a complete answer counts: anything but 2xx, 4xx or 5xx is out of step.
            Ok(r) if (200..600).contains(&r.code) && !(300..400).contains(&r.code) => r,
            Ok(r) => {
                log(&format!(
                    "device {}: the provider's answer was out of step ({})",
                    self.name(),
                    r.code
                ));
                return Reply::new(
                    451,
                    "4.4.2 The mail provider did not confirm the message: try again",
                );
            }
            Err(e) => {
                log(&format!(
                    "device {}: {}",
                    self.name(),
                    without_addresses(&e.words())
                ));
                self.note_error(&e.words());
                return Reply::new(
                    451,
                    "4.4.2 The mail provider did not confirm the message: try again",
                );
            }
        };
        // The session stays open for this copier's next message.
        if r.is_positive() {
            self.session = Some(session);
        } else {
            session.quit().await;
        }
        let name = self.name().to_string();
        log(&format!(
            "device {name}: a message of {size} bytes, the provider answered {}",
            r.code
        ));
        if r.is_positive() {
            self.sent += 1;
            let now = crate::time::now_unix();
            self.shared.status.device(&name, |s| s.sent(size, now));
            self.shared
                .status
                .update(|s| s.upstream.refused_in_a_row = 0);
        } else {
            let words = format!("The mail provider refused a message: {r}");
            self.note_error(&words);
            if r.code >= 500 {
                self.shared.status.update(|s| {
                    s.upstream.refused_in_a_row += 1;
                    s.upstream.last_error = Some(words);
                });
            }
        }
        r
    }

    async fn reset(&mut self) {
        self.close_session().await;
    }

    async fn finish(mut self, end: End) {
        self.close_session().await;
        if self.device.is_some() || end != End::Quit {
            log(&format!(
                "connection from {} ended ({end:?}), device {}, {} message(s)",
                self.peer,
                self.name(),
                self.sent
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_address;

    #[test]
    fn only_plain_recipients_pass() {
        assert_eq!(
            plain_address("me@lab.example").as_deref(),
            Some("me@lab.example")
        );
        for bad in [
            "victim@evil>@example.edu",
            "victim@evil NOTIFY=NEVER x@example.edu",
            "\"a b\"@lab.example",
            "@relay:me@lab.example",
            "me@lab",
            "me@@lab.example",
            "",
        ] {
            assert_eq!(plain_address(bad), None, "{bad}");
        }
    }
}
