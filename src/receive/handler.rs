//! What the core and a feature say to each other: the [`Handler`] a feature implements, the
//! [`Reply`] it answers with, and how a connection, its TLS and its message ended.

use super::hello::Hello;
use crate::secrets::AppPassword;
use std::future::Future;

/// One SMTP reply: a code and its text (lines joined by `\n` for a multi-line reply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    pub fn ok(text: impl Into<String>) -> Self {
        Self::new(250, text)
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// The lines as they go on the wire ("250 2.0.0 OK"), control characters out.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .text
            .split('\n')
            .map(|l| {
                format!(
                    "{} {}",
                    self.code,
                    super::clean(l.trim_end_matches('\r'), 510)
                )
            })
            .collect();
        if out.is_empty() {
            out.push(self.code.to_string());
        }
        out
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.lines().join(" / "))
    }
}

/// A sign-in as the client sent it. The password lives only in this value and is dropped with
/// it.
#[derive(Debug)]
pub struct Login {
    pub mechanism: String,
    pub user: String,
    pub password: AppPassword,
    /// Sent over TLS.
    pub secure: bool,
}

/// How TLS went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsOutcome {
    /// Agreed: the version and cipher suite rustls chose.
    Ok {
        version: String,
        cipher: String,
    },
    /// The handshake failed (why, from rustls).
    Failed(String),
    /// The client sent something that is not TLS, or nothing.
    NotTls,
    TimedOut,
    /// The client started TLS at once on a port that offers STARTTLS (it is set to SSL/TLS).
    AtOnce,
}

/// How the body of a message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEnd {
    /// Whole; the handler's reply is the answer.
    Complete { size: u64 },
    /// A line was too long: the core answers `500 5.5.2`.
    LineTooLong,
    /// Bigger than the limit: the core answers `552 5.3.4`.
    TooBig,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client said QUIT.
    Quit,
    /// The client closed the connection.
    Closed,
    /// The client was silent too long between commands (or in DATA, or signing in).
    Silent,
    /// The client did not read what the server wrote.
    NotReading,
    /// A command line was too long.
    LineTooLong,
    /// Too many bad commands or refusals.
    TooManyErrors,
    /// The connection lived longer than allowed.
    TooLong,
    /// TLS did not start (see the handler's [`TlsOutcome`]).
    NoTls,
    /// The server stopped while the connection was open.
    Stopped,
    /// The feature closed it with a 421 (an address that must wait, for example).
    Refused,
    /// The connection broke.
    Broken,
}

impl End {
    /// True when a limit of the core closed the connection.
    pub fn by_limit(self) -> bool {
        matches!(
            self,
            End::Silent | End::NotReading | End::LineTooLong | End::TooManyErrors | End::TooLong
        )
    }
}

/// What a feature decides. Methods that may wait (the relay asks the provider) return futures;
/// the rest are plain calls.
pub trait Handler: Send + 'static {
    type Output: Send + 'static;

    /// The greeting after `220 ` (one line).
    fn greeting(&self) -> String;
    /// The raw ClientHello, before the handshake (`None` when it could not be read).
    fn hello(&mut self, _hello: Option<Hello>) {}
    fn tls(&mut self, _outcome: TlsOutcome) {}
    fn ehlo(&mut self, _name: &str) {}
    /// May this client sign in without TLS (the relay's `allow_plain_from`)?
    fn plain_auth_allowed(&self) -> bool {
        false
    }
    /// Something the core refused or noticed, in plain words, for the record.
    fn note(&mut self, _what: &str) {}
    /// The core refused a sign-in before encryption (`538`).
    fn plain_auth_refused(&mut self) {}
    fn auth(&mut self, login: Login) -> impl Future<Output = Reply> + Send;
    fn mail(&mut self, from: &str) -> impl Future<Output = Reply> + Send;
    fn rcpt(&mut self, to: &str) -> impl Future<Output = Reply> + Send;
    /// Before `354`: a refusal here ends the DATA command.
    fn data(&mut self) -> impl Future<Output = Reply> + Send;
    /// A piece of the body (unstuffed). The handler keeps or passes it on; a failure is
    /// remembered and answered at [`Handler::end`].
    fn chunk(&mut self, bytes: &[u8]) -> impl Future<Output = ()> + Send;
    /// The body ended. For [`DataEnd::Complete`] the reply goes to the client; otherwise the
    /// core's reply does, and the handler drops the message.
    fn end(&mut self, how: DataEnd) -> impl Future<Output = Reply> + Send;
    /// RSET, or a new MAIL after a message.
    fn reset(&mut self) -> impl Future<Output = ()> + Send;
    fn finish(self, end: End) -> impl Future<Output = Self::Output> + Send;
}
