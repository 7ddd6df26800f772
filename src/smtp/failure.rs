//! Why a port stopped: what went wrong (a failed read, a TLS error, the clock, a refused
//! connection) turned into a [`Problem`] and a technical detail for the curious.

use super::Stage;
use super::conn::ConnError;
use super::connect::Attempt;
use super::diagnose::Problem;
use std::io;
use std::time::Duration;

/// Why a port stopped.
#[derive(Debug)]
pub struct Failure {
    pub problem: Problem,
    pub detail: Option<String>,
}

impl Failure {
    pub fn new(problem: Problem) -> Self {
        Self {
            problem,
            detail: None,
        }
    }

    pub fn with(problem: Problem, detail: impl Into<String>) -> Self {
        Self {
            problem,
            detail: Some(detail.into()),
        }
    }
}

/// The port's time limit ran out during `stage`.
pub fn timed_out(stage: Stage, limit: Duration) -> Failure {
    Failure::with(
        match stage {
            Stage::Resolve => Problem::DnsFailed,
            Stage::Connect => Problem::ConnectTimeout,
            Stage::Tls | Stage::Greeting => Problem::NoGreeting,
            _ => Problem::Timeout,
        },
        format!("No complete answer within {} seconds.", limit.as_secs_f32()),
    )
}

/// Every address refused or failed.
pub fn not_connected(attempts: &[Attempt]) -> Failure {
    let kinds = || attempts.iter().map(|a| a.error.kind());
    let problem = if kinds().any(|k| k == io::ErrorKind::TimedOut) {
        Problem::ConnectTimeout
    } else if kinds().any(|k| k == io::ErrorKind::ConnectionRefused) {
        Problem::ConnectionRefused
    } else {
        Problem::ConnectFailed
    };
    let notes: Vec<String> = attempts
        .iter()
        .map(|a| format!("{}: {}", a.addr, a.error))
        .collect();
    Failure::with(problem, notes.join("; "))
}

/// Classifies a TLS handshake error by walking its source chain for the rustls error.
pub fn tls(err: &io::Error) -> Failure {
    use rustls::CertificateError as C;
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.get_ref().map(|e| e as _);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            let problem = match r {
                rustls::Error::InvalidCertificate(c) => match c {
                    C::NotValidForName | C::NotValidForNameContext { .. } => {
                        Problem::TlsCertificateWrongHost
                    }
                    C::Expired
                    | C::ExpiredContext { .. }
                    | C::NotValidYet
                    | C::NotValidYetContext { .. } => Problem::TlsCertificateExpired,
                    _ => Problem::TlsCertificateUntrusted,
                },
                _ => Problem::TlsHandshakeFailed,
            };
            return Failure::with(problem, format!("TLS: {r}"));
        }
        source = e.source();
    }
    let detail = match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            "The server closed the connection during the secure handshake.".to_string()
        }
        _ => format!("TLS: {err}"),
    };
    Failure::with(Problem::TlsHandshakeFailed, detail)
}

/// Turns a failed read or write into a problem for the current stage.
pub fn conn(stage: Stage, e: ConnError) -> Failure {
    match e {
        ConnError::Closed => {
            Failure::with(Problem::ServerClosed, "The server closed the connection.")
        }
        ConnError::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Failure::with(Problem::ServerClosed, e.to_string())
        }
        ConnError::Io(e) => Failure::with(
            if stage == Stage::Greeting {
                Problem::NoGreeting
            } else {
                Problem::ServerClosed
            },
            e.to_string(),
        ),
        ConnError::Garbage(text) => Failure::with(
            Problem::ProtocolError,
            format!("The server sent something that is not a mail server reply: \"{text}\""),
        ),
        ConnError::TooLong => Failure::with(
            Problem::ProtocolError,
            "The server's reply was far too long.",
        ),
        ConnError::Malformed(m) => Failure::with(Problem::ProtocolError, m),
    }
}
