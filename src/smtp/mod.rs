//! The test send: both ports at once, a real login and a real message, and a report in plain
//! words. No iced, catalog or command line here: the window and the command line both call
//! [`test_send`] and pass in what they know (the provider's preferred security, for example).
//!
//! A map of this folder, in the order a port walks:
//!
//! | file          | what it holds                                                            |
//! |---------------|--------------------------------------------------------------------------|
//! | `mod.rs`      | the report types, [`test_send`] (both ports at once), [`recommend`]     |
//! | `request.rs`  | [`Request`] and checking its fields ([`InputError`], [`parse_port`])     |
//! | `probe.rs`    | one port, stage by stage (`walk`), and the named `starttls` step         |
//! | `connect.rs`  | resolving and connecting: Happy Eyeballs across addresses, the EHLO name |
//! | `conn.rs`     | one connection: bounded reply reading, writing, the TLS upgrade          |
//! | `session.rs`  | after hello: EHLO capabilities, AUTH, the pipelined send, QUIT           |
//! | `certs.rs`    | the OS trust store plus an extra CA, and facts about a certificate       |
//! | `failure.rs`  | turning what went wrong (I/O, TLS, time) into a [`Problem`]              |
//! | `diagnose.rs` | the problem table, and server replies to problems                        |
//! | `advice.rs`   | what to do about each problem: words, a next step, a message for IT      |
//! | `verdict.rs`  | one verdict for the whole test from both ports' results                  |
//! | `reply.rs`    | parsing SMTP replies                                                     |
//! | `message.rs`  | the test message (built with lettre)                                     |

pub mod advice;
pub mod certs;
pub mod diagnose;
pub mod reply;
pub mod verdict;

pub(crate) mod conn;
pub(crate) mod connect;
mod failure;
mod message;
mod probe;
mod request;
pub(crate) mod session;

pub(crate) use request::host_only;
pub use request::{InputError, Request, Surface, parse_port, validate_address, validate_server};

use certs::TlsInfo;
use diagnose::{Advice, Problem};
use reply::Reply;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
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

    /// What the stage is waiting for, in plain words.
    pub fn waiting_for(self) -> &'static str {
        match self {
            Stage::Resolve => "looking up the server's name",
            Stage::Connect => "waiting for the server to answer",
            Stage::Tls | Stage::Starttls => "waiting for the secure connection",
            Stage::Greeting => "waiting for the server's hello",
            Stage::Ehlo => "waiting for the server's list of features",
            Stage::Auth => "waiting for the answer to the sign-in",
            Stage::Send => "waiting for the server to take the message",
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
    /// The conversation: `S: ...` and `C: ...` lines and TLS notes. Sign-in lines are
    /// `<hidden>`, the message is `C: <message, N bytes>`.
    pub transcript: Vec<String>,
}

/// The port ScanMail suggests typing into the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommended {
    pub port: u16,
    pub security: Security,
}

/// How the test signed in: with the app password, or with an OAuth 2.0 access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Password,
    OAuth,
}

/// The outcome of a test send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub server: String,
    pub account: String,
    pub recipient: String,
    pub login_only: bool,
    /// `"password"` or `"oauth"`.
    pub auth: Auth,
    /// The token in the test message's subject, to find it in the inbox.
    pub token: String,
    pub started_at: String,
    pub results: Vec<PortResult>,
    pub recommended: Option<Recommended>,
    /// One verdict for the whole test.
    pub summary: verdict::Summary,
}

/// A port result for tests: works (stage done, sent) or failed at sign-in, nothing else known.
#[cfg(test)]
impl PortResult {
    pub(crate) fn sample(port: u16, security: Security, works: bool) -> Self {
        Self {
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
            transcript: Vec::new(),
        }
    }
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
    let mut results: Vec<PortResult> = [a, b].into_iter().flatten().collect();
    let recommended = recommend(&results, request.prefer);
    let summary = verdict::settle(
        &mut results,
        recommended,
        &verdict::Facts::of(request, true),
        (
            request.login_only,
            &shared.token,
            request.recipient().trim(),
        ),
    );
    Ok(Report {
        server: request.server.trim().to_string(),
        account: request.account.trim().to_string(),
        recipient: request.recipient().trim().to_string(),
        login_only: request.login_only,
        auth: if request.token.is_some() {
            Auth::OAuth
        } else {
            Auth::Password
        },
        token: shared.token.clone(),
        started_at: shared.started_at.clone(),
        results,
        recommended,
        summary,
    })
}

/// Both work: the `prefer`red security (SSL/TLS by RFC 8314, unless the provider's guidance
/// says otherwise). One works: that one.
pub fn recommend(results: &[PortResult], prefer: Security) -> Option<Recommended> {
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

    fn result(port: u16, security: Security, works: bool) -> PortResult {
        PortResult::sample(port, security, works)
    }

    #[test]
    fn recommendation_rules() {
        let both = [
            result(465, Security::Ssl, true),
            result(587, Security::Starttls, true),
        ];
        assert_eq!(recommend(&both, Security::Ssl).map(|r| r.port), Some(465));
        assert_eq!(
            recommend(&both, Security::Starttls).map(|r| r.port),
            Some(587)
        );
        let one = [
            result(465, Security::Ssl, false),
            result(587, Security::Starttls, true),
        ];
        assert_eq!(recommend(&one, Security::Ssl).map(|r| r.port), Some(587));
        let none = [
            result(465, Security::Ssl, false),
            result(587, Security::Starttls, false),
        ];
        assert_eq!(recommend(&none, Security::Ssl), None);
    }
}
