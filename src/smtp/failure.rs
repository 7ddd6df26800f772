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

/// Classifies a failed TLS handshake. The certificate verifier's own verdict (`refused`, kept
/// by `certs::Recording`) decides first, so the answer does not depend on how an OS library
/// words its error; else the rustls error in the source chain; else the I/O error.
pub fn tls(err: &io::Error, refused: Option<&rustls::Error>) -> Failure {
    if let Some(r) = refused {
        return from_rustls(r);
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.get_ref().map(|e| e as _);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return from_rustls(r);
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

fn from_rustls(r: &rustls::Error) -> Failure {
    use rustls::CertificateError as C;
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
    Failure::with(problem, format!("TLS: {r}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError as C;

    #[test]
    fn the_verifiers_own_verdict_decides() {
        // An OS library's words around the refusal, with no rustls error in the chain.
        let worded =
            io::Error::other("unexpected error: Invalid parameter. (os error -2147024809)");
        let cases = [
            (C::UnknownIssuer, Problem::TlsCertificateUntrusted),
            (C::NotValidForName, Problem::TlsCertificateWrongHost),
            (C::Expired, Problem::TlsCertificateExpired),
            (C::BadSignature, Problem::TlsCertificateUntrusted),
        ];
        for (refusal, want) in cases {
            let f = tls(&worded, Some(&rustls::Error::InvalidCertificate(refusal)));
            assert_eq!(f.problem, want);
        }
        assert_eq!(tls(&worded, None).problem, Problem::TlsHandshakeFailed);
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert!(
            tls(&eof, None)
                .detail
                .unwrap_or_default()
                .contains("closed the connection")
        );
    }
}
