//! TLS with a client: the raw ClientHello read for the handler, then the handshake, all within
//! one deadline fixed when TLS starts. A client that sends its hello a byte at a time, each
//! byte just inside the idle limit, is cut when the deadline passes, not months later.

use super::handler::{End, Handler, TlsOutcome};
use super::hello;
use super::session::Setup;
use super::wire::{Cut, Wire};
use super::{Stop, clean};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a whole TLS handshake may take, hello included.
pub const HANDSHAKE: Duration = Duration::from_secs(15);

/// When a handshake starting now must be over: [`HANDSHAKE`] from now, never past `limit`
/// (the time to sign in, or the connection's life).
pub fn deadline(limit: Instant) -> Instant {
    (Instant::now() + HANDSHAKE).min(limit)
}

/// Reads the raw ClientHello (for the handler), then hands the stream to rustls; everything by
/// `by`.
pub async fn upgrade<H: Handler>(
    mut wire: Wire,
    setup: &Setup,
    h: &mut H,
    by: Instant,
) -> Result<Wire, End> {
    let cut = |c: Cut| match c {
        Cut::Closed => End::Closed,
        Cut::Stopped => End::Stopped,
        Cut::TimedOut => End::Silent,
        _ => End::Broken,
    };
    if let Err(c) = wire.want_by(5, by).await {
        h.tls(if c == Cut::TimedOut {
            TlsOutcome::TimedOut
        } else {
            TlsOutcome::NotTls
        });
        return Err(if c == Cut::TimedOut {
            End::NoTls
        } else {
            cut(c)
        });
    }
    let Some(need) = hello::record_len(wire.unread()) else {
        h.tls(TlsOutcome::NotTls);
        return Err(End::NoTls);
    };
    if let Err(c) = wire.want_by(need, by).await {
        h.tls(if c == Cut::TimedOut {
            TlsOutcome::TimedOut
        } else {
            TlsOutcome::NotTls
        });
        return Err(if c == Cut::TimedOut {
            End::NoTls
        } else {
            cut(c)
        });
    }
    h.hello(wire.unread().get(..need).and_then(hello::parse));
    let (stream, mut stop, write_limit) = wire.into_parts();
    let acceptor = tokio_rustls::TlsAcceptor::from(setup.tls.clone());
    let watch = stop.clone();
    let accepted = tokio::select! {
        r = tokio::time::timeout_at(by, acceptor.accept(stream)) => r,
        _ = stop.wait_for(|s| *s >= Stop::Cut) => return Err(End::Stopped),
    };
    match accepted {
        Ok(Ok(s)) => {
            let (_, conn) = s.get_ref();
            let version = conn
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("TLS")
                .replace("v", "");
            let cipher = conn
                .negotiated_cipher_suite()
                .and_then(|c| c.suite().as_str())
                .unwrap_or("")
                .to_string();
            h.tls(TlsOutcome::Ok { version, cipher });
            Ok(Wire::new(Box::new(s), watch, write_limit))
        }
        Ok(Err(e)) => {
            h.tls(TlsOutcome::Failed(clean(&e.to_string(), 200)));
            Err(End::NoTls)
        }
        Err(_) => {
            h.tls(TlsOutcome::TimedOut);
            Err(End::NoTls)
        }
    }
}
