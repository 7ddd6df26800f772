//! The copier check: a temporary receiving server on this computer. The copier is set to send
//! here for a few minutes; ScanMail records what it did (address, EHLO name, STARTTLS or
//! implicit TLS or none, the TLS hello it offered, sign-in mechanism and user, envelope, size,
//! attachments) and says what the real provider would do with it. It never relays, never writes
//! a message to disk, and never keeps a password.
//!
//! It stands on the receiving core ([`crate::receive`]), which holds every limit.
//!
//! - [`session`]: what the check records of one connection (a core `Handler`).
//! - [`verdict`]: the provider's rules (from the catalog) against what was seen.
//! - [`parts`]: the message's attachments and From header.

pub use crate::receive::hello;
mod cert;
pub mod parts;
pub mod ready;
pub mod session;
pub mod verdict;

pub use cert::this_computer;
use cert::throwaway_tls;
mod words;

pub use words::{describe, details, summary};

use crate::receive;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 2525;
/// The check's port when the card says SSL/TLS (TLS from the first byte).
pub const DEFAULT_TLS_PORT: u16 = 2465;
pub const MAX_SECONDS: u64 = 600;

/// TLS as the client used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFacts {
    /// `starttls`, `implicit` or `none`.
    pub mode: String,
    pub offered_versions: Vec<String>,
    pub highest_version: Option<String>,
    /// `ok`, `failed` or `none`.
    pub handshake: String,
    pub sni: Option<String>,
    pub cipher_suites: Option<usize>,
    /// At least one cipher suite today's providers take.
    pub modern_cipher: Option<bool>,
    /// The version agreed, when the handshake worked (`TLS1.3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The cipher suite agreed, when the handshake worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Why the handshake failed, in rustls's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The client sent TLS at once on a STARTTLS port (it is set to SSL/TLS).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_once: bool,
}

impl Default for TlsFacts {
    fn default() -> Self {
        Self {
            mode: "none".into(),
            offered_versions: Vec::new(),
            highest_version: None,
            handshake: "none".into(),
            sni: None,
            cipher_suites: None,
            modern_cipher: None,
            version: None,
            cipher: None,
            failure: None,
            at_once: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthFacts {
    pub mechanism: String,
    pub user: String,
    /// Whether the password equals the one given (`null` when none was given). The password
    /// itself is never kept.
    pub password_matches: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    /// Decoded size (estimated from the whole message when the part was cut).
    pub bytes: u64,
    /// The part ran past what the check keeps of a message (40 MiB): `bytes` is an estimate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub provider: String,
    /// `null` when the provider's rule is not known.
    pub ok: Option<bool>,
    pub why: String,
}

/// Everything one connection showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Connection {
    pub peer: String,
    pub ehlo: Option<String>,
    pub tls: TlsFacts,
    pub auth: Option<AuthFacts>,
    pub mail_from: Option<String>,
    pub rcpt_to: Vec<String>,
    pub size_bytes: Option<u64>,
    pub attachments: Vec<Attachment>,
    pub verdicts: Vec<Verdict>,
    /// What happened, in plain sentences (how it ended, what was refused).
    pub notes: Vec<String>,
    /// The message's From header (checked against the login).
    #[serde(skip)]
    pub from_header: Option<String>,
    /// The connection was still open when the check ended, and was cut.
    pub cut: bool,
    /// "Ready" or "Not ready: the one thing to fix", judged against the card and step 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<ready::Ready>,
}

impl Connection {
    fn new(peer: String) -> Self {
        Self {
            peer,
            ..Self::default()
        }
    }
}

/// What the check listens with.
#[derive(Clone)]
pub struct Options {
    /// Where to listen; every address of this computer when `None`.
    pub address: Option<IpAddr>,
    pub port: u16,
    /// Also an implicit-TLS port (the copier's "SSL/TLS").
    pub tls_port: Option<u16>,
    /// How long to listen, at most [`MAX_SECONDS`].
    pub seconds: u64,
    /// Stop after the first connection ends.
    pub once: bool,
    /// The receiving core's limits (silence allowed, connections at once, ...).
    pub limits: receive::Limits,
    pub password: Option<crate::secrets::AppPassword>,
    /// Whose rules to judge by.
    pub providers: Vec<verdict::Rules>,
    /// What the card and step 1 say (login, security, the copier's address). With SSL/TLS the
    /// check's port speaks TLS at once, as the card's port would.
    pub expect: ready::Expect,
    /// When the port is taken, use the next free one (up to 10 further): the window has no
    /// port field, so it offers the next free port itself.
    pub next_free_port: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            address: None,
            port: DEFAULT_PORT,
            tls_port: None,
            seconds: MAX_SECONDS,
            once: false,
            limits: receive::Limits::default(),
            password: None,
            providers: verdict::Rules::all(),
            expect: ready::Expect::default(),
            next_free_port: false,
        }
    }
}

/// Message bytes kept per message to read its parts (the rest is only counted).
pub const KEEP_PER_MESSAGE: usize = 40 * 1024 * 1024;

/// Why the check could not start, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error(
        "Port {0} is already in use on this computer. Close the program that uses it, such as another copier check. Or choose another port with --port, for example {next}.", next = .0 + 1
    )]
    PortTaken(u16),
    #[error(
        "Ports {0} to {1} are all in use on this computer. Close other programs that take in mail, such as another copier check. Then start the check again."
    )]
    PortsTaken(u16, u16),
    #[error(
        "Port {0} needs administrator rights on this computer. Use a port above 1024, such as 2525."
    )]
    PortNeedsAdmin(u16),
    #[error(
        "ScanMail could not listen on {0}: {1}. Check the address, or leave it out to use all of this computer's addresses."
    )]
    Address(String, String),
    #[error(
        "ScanMail could not make its temporary certificate ({0}). Start the check again. If it fails again, send IT this: \"ScanMail's copier check could not make its certificate: {0}\"."
    )]
    Certificate(String),
}

impl ListenError {
    /// The message for IT, when only IT can fix it (the window offers it with Copy).
    pub fn for_it(&self) -> Option<String> {
        match self {
            ListenError::Certificate(why) => Some(format!(
                "ScanMail's copier check could not make its certificate: {why}"
            )),
            _ => None,
        }
    }
}

/// A running check: the settings to type into the copier, and what happens.
pub struct Running {
    /// The address to type into the copier (this computer's address on the network).
    pub address: Option<IpAddr>,
    pub port: u16,
    /// `port` speaks TLS at once (the card says SSL/TLS).
    pub implicit: bool,
    pub tls_port: Option<u16>,
    /// The throw-away certificate's CA, PEM (for clients that check certificates).
    pub ca_pem: String,
    pub events: tokio::sync::mpsc::Receiver<Event>,
    /// What the receiving core counted (refused, closed for limits, ...).
    pub stats: Arc<receive::Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Cancel: the listening sockets and open connections close with the task.
        self.task.abort();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client connected from this address.
    Connected(String),
    /// A connection ended; what it showed, with the verdicts.
    Finished(Box<Connection>),
    /// The check ended: the time ran out, or `once` was met. The ports are closed.
    Ended(String),
}

/// Binds a port, with the error in plain words.
pub async fn bind(ip: IpAddr, port: u16) -> Result<tokio::net::TcpListener, ListenError> {
    tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => ListenError::PortTaken(port),
            std::io::ErrorKind::PermissionDenied => ListenError::PortNeedsAdmin(port),
            _ => ListenError::Address(ip.to_string(), crate::fsutil::plain_io(&e)),
        })
}

/// Binds `first`, or the next free port up to 10 further.
async fn bind_next_free(ip: IpAddr, first: u16) -> Result<tokio::net::TcpListener, ListenError> {
    let last = first.saturating_add(10);
    for port in first..=last {
        match bind(ip, port).await {
            Err(ListenError::PortTaken(_)) => {}
            other => return other,
        }
    }
    Err(ListenError::PortsTaken(first, last))
}

/// Starts listening. The ports close when the time runs out, after the first connection with
/// `once`, or when the returned [`Running`] is dropped.
pub async fn start(options: Options) -> Result<Running, ListenError> {
    let address = options
        .address
        .filter(|a| !a.is_unspecified())
        .or_else(this_computer);
    let (tls, ca_pem) = throwaway_tls(address)?;
    let bind_ip = options
        .address
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let implicit = options.expect.security == Some(crate::smtp::Security::Ssl);
    let main = if options.next_free_port && options.port != 0 {
        bind_next_free(bind_ip, options.port).await?
    } else {
        bind(bind_ip, options.port).await?
    };
    let port = main.local_addr().map_or(options.port, |a| a.port());
    let mut listeners = vec![receive::Listener {
        tcp: main,
        implicit,
    }];
    let mut tls_port = None;
    if let Some(p) = options.tls_port {
        let l = bind(bind_ip, p).await?;
        tls_port = Some(l.local_addr().map_or(p, |a| a.port()));
        listeners.push(receive::Listener {
            tcp: l,
            implicit: true,
        });
    }
    let budget = receive::Budget::new(options.limits.memory_budget);
    let setup = receive::session::Setup {
        limits: options.limits.clone(),
        tls,
        budget: budget.clone(),
    };
    let password = options.password.clone();
    let keep = KEEP_PER_MESSAGE.min(options.limits.memory_budget);
    let core = receive::start(listeners, setup, move |peer: &receive::server::Peer| {
        Ok(session::Check::new(
            peer.addr.ip().to_string(),
            peer.implicit,
            password.clone(),
            keep,
            budget.clone(),
        ))
    });
    let stats = core.stats.clone();
    let (tx, events) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(relay_events(options, core, tx));
    Ok(Running {
        address,
        port,
        implicit,
        tls_port,
        ca_pem,
        events,
        stats,
        task,
    })
}

/// Passes the core's events on, judged; stops the core when the time runs out or, with `once`,
/// after the first connection.
async fn relay_events(
    options: Options,
    mut core: receive::Running<Connection>,
    tx: tokio::sync::mpsc::Sender<Event>,
) {
    use receive::Served;
    let deadline = tokio::time::sleep(Duration::from_secs(options.seconds.min(MAX_SECONDS)));
    tokio::pin!(deadline);
    let mut why = "The time for the check ran out; ScanMail stopped listening.";
    let mut stopping = false;
    loop {
        let served = tokio::select! {
            () = &mut deadline, if !stopping => {
                stopping = true;
                core.stop();
                continue;
            }
            s = core.events.recv() => s,
        };
        match served {
            Some(Served::Connected(peer)) => {
                let _ = tx.send(Event::Connected(peer.ip().to_string())).await;
            }
            Some(Served::Finished(mut c, _)) => {
                verdict::judge(&mut c, &options.providers);
                c.ready = Some(ready::judge(&c, &options.expect));
                let _ = tx.send(Event::Finished(Box::new(c))).await;
                if options.once && !stopping {
                    stopping = true;
                    why = "The first connection ended; ScanMail stopped listening.";
                    core.stop();
                }
            }
            Some(Served::Stopped) | None => break,
        }
    }
    let refused = core.stats.refused();
    let mut said = why.to_string();
    if refused > 0 {
        said += &format!(
            " It turned away {refused} connection{} (too many at once).",
            if refused == 1 { "" } else { "s" }
        );
    }
    let _ = tx.send(Event::Ended(said)).await;
}
