//! The test send: both ports at once, a real login and a real message, and a report in plain
//! words. No iced here: the window and the command line both call [`test_send`].

pub mod diagnose;
pub mod reply;
pub mod tls;

mod conn;
mod message;
mod probe;

use crate::secrets::AppPassword;
use diagnose::{Advice, Problem};
use reply::Reply;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tls::TlsInfo;
use tokio::sync::mpsc::UnboundedSender;

pub const DEFAULT_SSL_PORT: u16 = 465;
pub const DEFAULT_STARTTLS_PORT: u16 = 587;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a port is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// Encrypted from the first byte (implicit TLS, usually port 465).
    Ssl,
    /// Plain at first, then upgraded with the STARTTLS command (usually port 587).
    Starttls,
}

impl Security {
    /// The words most devices use in their menus.
    pub fn label(self) -> &'static str {
        match self {
            Security::Ssl => "SSL/TLS",
            Security::Starttls => "STARTTLS",
        }
    }
}

/// The steps a port walks through, in order. A failed port stops at the stage that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Resolve,
    Connect,
    Tls,
    Greeting,
    Ehlo,
    Starttls,
    Auth,
    Send,
    Done,
}

impl Stage {
    pub fn id(self) -> &'static str {
        match self {
            Stage::Resolve => "resolve",
            Stage::Connect => "connect",
            Stage::Tls => "tls",
            Stage::Greeting => "greeting",
            Stage::Ehlo => "ehlo",
            Stage::Starttls => "starttls",
            Stage::Auth => "auth",
            Stage::Send => "send",
            Stage::Done => "done",
        }
    }

    /// What a person sees while the stage runs.
    pub fn doing(self) -> &'static str {
        match self {
            Stage::Resolve => "Finding the server",
            Stage::Connect => "Connecting",
            Stage::Tls | Stage::Starttls => "Securing the connection",
            Stage::Greeting | Stage::Ehlo => "Saying hello",
            Stage::Auth => "Signing in",
            Stage::Send => "Sending the test message",
            Stage::Done => "Finished",
        }
    }
}

/// Everything a test send needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub server: String,
    pub account: String,
    pub password: AppPassword,
    /// Where the test message goes; the account itself when `None`.
    pub recipient: Option<String>,
    /// `None` skips that port.
    pub ssl_port: Option<u16>,
    pub starttls_port: Option<u16>,
    /// Bound for each port, from the first step to the verdict.
    pub timeout: Duration,
    /// PEM text of an extra CA to trust besides the OS store (an organization's own server).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Stop after signing in: no message is sent.
    pub login_only: bool,
    /// Named in the test message, so the recipient knows which device setup it came from.
    pub profile_name: Option<String>,
}

impl Request {
    pub fn new(server: &str, account: &str, password: AppPassword) -> Self {
        Self {
            server: server.to_string(),
            account: account.to_string(),
            password,
            recipient: None,
            ssl_port: Some(DEFAULT_SSL_PORT),
            starttls_port: Some(DEFAULT_STARTTLS_PORT),
            timeout: DEFAULT_TIMEOUT,
            extra_ca_pem: None,
            login_only: false,
            profile_name: None,
        }
    }

    /// The recipient, defaulting to the account.
    pub fn recipient(&self) -> &str {
        self.recipient
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(&self.account)
    }

    /// Checks the fields, in the order a person fills them in.
    pub fn validate(&self) -> Result<(), InputError> {
        validate_server(&self.server)?;
        if self.account.trim().is_empty() {
            return Err(InputError::EmptyAccount);
        }
        validate_address(&self.account).map_err(InputError::BadAccount)?;
        if self.password.is_empty() {
            return Err(InputError::EmptyPassword);
        }
        if let Some(r) = self.recipient.as_deref().filter(|r| !r.trim().is_empty()) {
            validate_address(r).map_err(InputError::BadRecipient)?;
        }
        match (self.ssl_port, self.starttls_port) {
            (None, None) => return Err(InputError::NoPorts),
            (Some(0), _) | (_, Some(0)) => return Err(InputError::PortZero),
            (Some(a), Some(b)) if a == b => return Err(InputError::SamePort(a)),
            _ => {}
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(300) {
            return Err(InputError::BadTimeout);
        }
        if let Some(pem) = &self.extra_ca_pem {
            tls::parse_pem_certs(pem).map_err(InputError::BadCa)?;
        }
        Ok(())
    }
}

/// Checks a server name or address as typed.
pub fn validate_server(server: &str) -> Result<(), InputError> {
    let s = server.trim();
    if s.is_empty() {
        return Err(InputError::EmptyServer);
    }
    if s.contains("://") || s.contains('/') || s.contains('@') || s.contains(' ') {
        return Err(InputError::BadServer(s.to_string()));
    }
    if s.rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !s.contains("::")
    {
        return Err(InputError::ServerWithPort(s.to_string()));
    }
    tls::server_name(host_only(s)).map_err(|_| InputError::BadServer(s.to_string()))?;
    Ok(())
}

/// Checks an email address.
pub fn validate_address(address: &str) -> Result<(), String> {
    address
        .trim()
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| address.trim().to_string())
}

/// A server as typed, without IPv6 brackets.
pub(crate) fn host_only(server: &str) -> &str {
    server.trim().trim_start_matches('[').trim_end_matches(']')
}

/// Bad input, in plain words. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("Enter the mail server's name, for example smtp.gmail.com.")]
    EmptyServer,
    #[error("\"{0}\" is not a server name. Enter only the name, for example smtp.gmail.com.")]
    BadServer(String),
    #[error("Enter the server name without a port (\"{0}\"); the ports are set separately.")]
    ServerWithPort(String),
    #[error("Enter the device account's email address.")]
    EmptyAccount,
    #[error("\"{0}\" is not a complete email address. It should look like name@example.edu.")]
    BadAccount(String),
    #[error("Enter the app password.")]
    EmptyPassword,
    #[error("\"{0}\" is not a complete email address for the test message's recipient.")]
    BadRecipient(String),
    #[error("Choose at least one port to test.")]
    NoPorts,
    #[error("Port numbers go from 1 to 65535.")]
    PortZero,
    #[error("Both tests use port {0}. Give SSL/TLS and STARTTLS different ports.")]
    SamePort(u16),
    #[error("The time limit must be between 1 and 300 seconds.")]
    BadTimeout,
    #[error("{0}")]
    BadCa(String),
}

/// The outcome for one port.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortResult {
    pub port: u16,
    pub security: Security,
    pub works: bool,
    /// The stage reached: `done` when it works, else the stage that failed.
    pub stage: Stage,
    /// True when the server accepted the test message.
    pub sent: bool,
    pub elapsed_ms: u64,
    pub problem: Option<Problem>,
    /// The server's last reply, in its own words.
    pub reply: Option<Reply>,
    pub advice: Option<Advice>,
    pub tls: Option<TlsInfo>,
    /// The address that answered, such as `[::1]:465`.
    pub address: Option<String>,
    /// Technical detail for the curious (an OS or TLS error), never the password.
    pub detail: Option<String>,
}

/// The port ScanMail suggests typing into the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommended {
    pub port: u16,
    pub security: Security,
}

/// The outcome of a test send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub server: String,
    pub account: String,
    pub recipient: String,
    pub login_only: bool,
    /// The token in the test message's subject, to find it in the inbox.
    pub token: String,
    pub started_at: String,
    pub results: Vec<PortResult>,
    pub recommended: Option<Recommended>,
}

impl Report {
    pub fn any_works(&self) -> bool {
        self.results.iter().any(|r| r.works)
    }
}

/// Live progress while a test send runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Stage {
        port: u16,
        security: Security,
        stage: Stage,
        elapsed_ms: u64,
    },
    Finished(Box<PortResult>),
}

/// Turns a host name into addresses. Replaceable so tests can fail a lookup without asking the
/// machine's name server about made-up names.
pub trait Resolve: Send + Sync {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// The system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Knobs beyond the request: where progress goes, and how names are resolved.
#[derive(Clone)]
pub struct Options {
    pub resolver: Arc<dyn Resolve>,
    pub events: Option<UnboundedSender<Event>>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            events: None,
        }
    }
}

/// Runs the test send on both ports at once.
pub async fn test_send(request: &Request) -> Result<Report, InputError> {
    test_send_with(request, Options::default()).await
}

/// Runs the test send with progress events and a chosen resolver. Dropping the future stops
/// both ports.
pub async fn test_send_with(request: &Request, options: Options) -> Result<Report, InputError> {
    request.validate()?;
    let shared = probe::Shared::new(request, options);
    let ssl = request.ssl_port.map(|p| (p, Security::Ssl));
    let starttls = request.starttls_port.map(|p| (p, Security::Starttls));
    let (a, b) = tokio::join!(
        async {
            match ssl {
                Some(spec) => Some(probe::run_port(&shared, spec).await),
                None => None,
            }
        },
        async {
            match starttls {
                Some(spec) => Some(probe::run_port(&shared, spec).await),
                None => None,
            }
        }
    );
    let results: Vec<PortResult> = [a, b].into_iter().flatten().collect();
    let recommended = recommend(&results, &request.server);
    Ok(Report {
        server: request.server.trim().to_string(),
        account: request.account.trim().to_string(),
        recipient: request.recipient().trim().to_string(),
        login_only: request.login_only,
        token: shared.token.clone(),
        started_at: shared.started_at.clone(),
        results,
        recommended,
    })
}

/// Both work: SSL/TLS (RFC 8314 prefers implicit TLS), unless the provider's guidance says
/// otherwise (the catalog: Microsoft 365 takes only 587 for devices). One works: that one.
pub fn recommend(results: &[PortResult], server: &str) -> Option<Recommended> {
    let prefer = crate::catalog::catalog()
        .provider_for(server, "")
        .map_or(Security::Ssl, |p| p.preferred());
    let working: Vec<&PortResult> = results.iter().filter(|r| r.works).collect();
    working
        .iter()
        .find(|r| r.security == prefer)
        .or_else(|| working.first())
        .map(|r| Recommended {
            port: r.port,
            security: r.security,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_req() -> Request {
        Request::new(
            "smtp.gmail.com",
            "lab@example.edu",
            AppPassword::new("abcdabcdabcdabcd"),
        )
    }

    #[test]
    fn validation_speaks_plainly() {
        assert_eq!(ok_req().validate(), Ok(()));
        type Change = Box<dyn Fn(&mut Request)>;
        let cases: Vec<(Change, InputError)> = vec![
            (Box::new(|r| r.server = " ".into()), InputError::EmptyServer),
            (
                Box::new(|r| r.server = "https://smtp.gmail.com".into()),
                InputError::BadServer("https://smtp.gmail.com".into()),
            ),
            (
                Box::new(|r| r.server = "smtp.gmail.com:465".into()),
                InputError::ServerWithPort("smtp.gmail.com:465".into()),
            ),
            (
                Box::new(|r| r.account = "lab".into()),
                InputError::BadAccount("lab".into()),
            ),
            (
                Box::new(|r| r.password = AppPassword::new("")),
                InputError::EmptyPassword,
            ),
            (
                Box::new(|r| r.recipient = Some("x@".into())),
                InputError::BadRecipient("x@".into()),
            ),
            (
                Box::new(|r| {
                    r.ssl_port = None;
                    r.starttls_port = None;
                }),
                InputError::NoPorts,
            ),
            (Box::new(|r| r.ssl_port = Some(0)), InputError::PortZero),
            (
                Box::new(|r| r.starttls_port = Some(465)),
                InputError::SamePort(465),
            ),
            (
                Box::new(|r| r.timeout = Duration::ZERO),
                InputError::BadTimeout,
            ),
        ];
        for (change, want) in cases {
            let mut r = ok_req();
            change(&mut r);
            assert_eq!(r.validate(), Err(want));
        }
        let mut r = ok_req();
        r.extra_ca_pem = Some(b"not a certificate".to_vec());
        assert!(matches!(r.validate(), Err(InputError::BadCa(_))));
        for good in ["::1", "[::1]", "127.0.0.1", "localhost"] {
            let mut r = ok_req();
            r.server = good.into();
            assert_eq!(r.validate(), Ok(()), "{good}");
        }
    }

    fn result(port: u16, security: Security, works: bool) -> PortResult {
        PortResult {
            port,
            security,
            works,
            stage: if works { Stage::Done } else { Stage::Auth },
            sent: works,
            elapsed_ms: 1,
            problem: None,
            reply: None,
            advice: None,
            tls: None,
            address: None,
            detail: None,
        }
    }

    #[test]
    fn recommendation_rules() {
        let both = [
            result(465, Security::Ssl, true),
            result(587, Security::Starttls, true),
        ];
        assert_eq!(
            recommend(&both, "smtp.gmail.com").map(|r| r.port),
            Some(465)
        );
        assert_eq!(
            recommend(&both, "smtp.office365.com").map(|r| r.port),
            Some(587)
        );
        let one = [
            result(465, Security::Ssl, false),
            result(587, Security::Starttls, true),
        ];
        assert_eq!(recommend(&one, "smtp.gmail.com").map(|r| r.port), Some(587));
        let none = [
            result(465, Security::Ssl, false),
            result(587, Security::Starttls, false),
        ];
        assert_eq!(recommend(&none, "smtp.gmail.com"), None);
    }
}
