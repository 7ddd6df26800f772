//! The copier check: a temporary receiving server on this computer. The copier is set to send
//! here for a few minutes; ScanMail records what it did (address, EHLO name, STARTTLS or
//! implicit TLS or none, the TLS hello it offered, sign-in mechanism and user, envelope, size,
//! attachments) and says what the real provider would do with it. It never relays, never writes
//! a message to disk, and never keeps a password.
//!
//! - [`hello`]: the ClientHello from the raw bytes (`tls-parser`).
//! - [`session`]: one connection's SMTP conversation.
//! - [`verdict`]: the provider's rules (from the catalog) against what was seen.
//! - [`wire`]: lines and bytes over plain TCP or TLS.

pub mod hello;
pub mod session;
pub mod verdict;
pub mod wire;
mod words;

pub use words::describe;

use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 2525;
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
    /// Decoded size.
    pub bytes: u64,
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
}

impl Connection {
    fn new(peer: String) -> Self {
        Self {
            peer,
            ..Self::default()
        }
    }

    fn ended(mut self, why: &str) -> Self {
        self.notes.push(why.to_string());
        self
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
    /// Silence allowed between a client's commands.
    pub idle: Duration,
    pub password: Option<crate::secrets::AppPassword>,
    /// Whose rules to judge by.
    pub providers: Vec<verdict::Rules>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            address: None,
            port: DEFAULT_PORT,
            tls_port: None,
            seconds: MAX_SECONDS,
            once: false,
            idle: Duration::from_secs(60),
            password: None,
            providers: verdict::Rules::all(),
        }
    }
}

/// Why the check could not start, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error(
        "Port {0} is already in use on this computer. Close the program using it, or choose another port (for example 2526) and type that into the copier."
    )]
    PortTaken(u16),
    #[error(
        "Port {0} needs administrator rights on this computer. Use a port above 1024, such as 2525."
    )]
    PortNeedsAdmin(u16),
    #[error(
        "ScanMail could not listen on {0}: {1}. Check the address, or leave it out to use all of this computer's addresses."
    )]
    Address(String, String),
    #[error("ScanMail could not make its temporary certificate: {0}")]
    Certificate(String),
}

/// A running check: the settings to type into the copier, and what happens.
pub struct Running {
    /// The address to type into the copier (this computer's address on the network).
    pub address: Option<IpAddr>,
    pub port: u16,
    pub tls_port: Option<u16>,
    /// The throw-away certificate's CA, PEM (for clients that check certificates).
    pub ca_pem: String,
    pub events: tokio::sync::mpsc::UnboundedReceiver<Event>,
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

/// Starts listening. The ports close when the time runs out, after the first connection with
/// `once`, or when the returned [`Running`] is dropped.
pub async fn start(options: Options) -> Result<Running, ListenError> {
    let (tls, ca_pem) = throwaway_tls()?;
    let bind_ip = options
        .address
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let bind = |port: u16| async move {
        tokio::net::TcpListener::bind(SocketAddr::new(bind_ip, port))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => ListenError::PortTaken(port),
                std::io::ErrorKind::PermissionDenied => ListenError::PortNeedsAdmin(port),
                _ => ListenError::Address(bind_ip.to_string(), crate::fsutil::plain_io(&e)),
            })
    };
    let plain = bind(options.port).await?;
    let port = plain.local_addr().map_or(options.port, |a| a.port());
    let implicit = match options.tls_port {
        Some(p) => Some(bind(p).await?),
        None => None,
    };
    let tls_port = implicit
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port());
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let address = options
        .address
        .filter(|a| !a.is_unspecified())
        .or_else(this_computer);
    let task = tokio::spawn(run(options, plain, implicit, tls, tx));
    Ok(Running {
        address,
        port,
        tls_port,
        ca_pem,
        events,
        task,
    })
}

async fn run(
    options: Options,
    plain: tokio::net::TcpListener,
    implicit: Option<tokio::net::TcpListener>,
    tls: Arc<rustls::ServerConfig>,
    tx: tokio::sync::mpsc::UnboundedSender<Event>,
) {
    let limits = session::Limits {
        idle: options.idle,
        keep: 64 * 1024 * 1024,
        password: options.password.clone(),
    };
    let deadline = tokio::time::sleep(Duration::from_secs(options.seconds.min(MAX_SECONDS)));
    tokio::pin!(deadline);
    let mut open = tokio::task::JoinSet::new();
    let accept_tls = async |l: &Option<tokio::net::TcpListener>| match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    };
    loop {
        let (accepted, is_implicit) = tokio::select! {
            () = &mut deadline => {
                let _ = tx.send(Event::Ended("The time for the check ran out; ScanMail stopped listening.".into()));
                return;
            }
            Some(done) = open.join_next(), if !open.is_empty() => {
                if let Ok(mut c) = done {
                    verdict::judge(&mut c, &options.providers);
                    let _ = tx.send(Event::Finished(Box::new(c)));
                    if options.once {
                        let _ = tx.send(Event::Ended("The first connection ended; ScanMail stopped listening.".into()));
                        return;
                    }
                }
                continue;
            }
            a = plain.accept() => (a, false),
            a = accept_tls(&implicit) => (a, true),
        };
        let Ok((tcp, peer)) = accepted else {
            continue;
        };
        let peer = peer.ip().to_string();
        let _ = tx.send(Event::Connected(peer.clone()));
        let (tls, limits) = (tls.clone(), limits.clone());
        open.spawn(
            async move { session::serve(Box::new(tcp), peer, is_implicit, tls, &limits).await },
        );
    }
}

/// A certificate made at start for this check only (its own CA, and a leaf for this computer's
/// names), with TLS 1.2 and 1.3 as rustls offers them.
fn throwaway_tls() -> Result<(Arc<rustls::ServerConfig>, String), ListenError> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| ListenError::Certificate(e.to_string());
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        "ScanMail copier check (temporary)",
    );
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(ip) = this_computer() {
        names.push(ip.to_string());
    }
    let leaf_key = KeyPair::generate().map_err(err)?;
    let leaf = CertificateParams::new(names)
        .map_err(err)?
        .signed_by(&leaf_key, &issuer)
        .map_err(err)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ListenError::Certificate(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .map_err(|e| ListenError::Certificate(e.to_string()))?;
    Ok((Arc::new(config), ca_cert.pem()))
}

/// This computer's address on its network: the one the system would send from (a UDP socket
/// "connected" to a documentation address picks a route and sends nothing).
pub fn this_computer() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    s.local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified() && !ip.is_loopback())
}
