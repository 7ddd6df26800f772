//! One copier's connection to the relay, as a [`Handler`] of the receiving core. The relay's
//! rules: a copier signs in as a device (over TLS, or in the clear only from `allow_plain_from`;
//! only from its `addresses` when it has some); nothing is sent for a copier that has not; the
//! envelope sender is always the relay's account; recipients outside the device's list are
//! refused; and the copier hears `250` only after the provider said `250`. Nothing is written
//! to disk: the body streams to the provider as it arrives.
//!
//! The copier's side is here; each step with the provider sits in its own file:
//! [`sign_in`] (the copier's login), [`envelope`] (MAIL and RCPT), [`body`] (DATA to the
//! provider's answer). [`shared`] holds what every connection shares.

mod body;
mod envelope;
mod graph;
mod shared;
mod sign_in;

pub use super::log::{Level, log, notice, without_addresses};
pub use graph::GRAPH_AT_ONCE;
pub use shared::Shared;

use super::config::{self, Device, RelayConfig};
use super::headers::Rewriter;
use super::upstream::{Session, UpError};
use crate::receive::data::DotStuffer;
use crate::receive::{DataEnd, End, Handler, Login, Reply};
use std::net::IpAddr;
use std::sync::Arc;

/// What a copier hears when the connection to the provider broke off: temporary, so it keeps
/// the scan and sends it again.
fn broke_off() -> Reply {
    Reply::new(
        451,
        "4.4.2 The connection to the mail provider broke off: try again",
    )
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
    /// With Microsoft Graph: the message being received.
    for_graph: Option<graph::ForGraph>,
    /// The newest TLS version the copier's hello offered.
    offered: Option<String>,
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
            for_graph: None,
            offered: None,
        }
    }

    fn name(&self) -> &str {
        self.device.as_ref().map_or("-", |d| d.name.as_str())
    }

    async fn close_session(&mut self) {
        self.for_graph = None;
        self.mail_pending = false;
        self.rcpt_pending = 0;
        if let Some(s) = self.session.take() {
            s.quit().await;
        }
    }

    /// The provider's connection failed mid-transaction: said in the log, the session dropped,
    /// and the copier hears a temporary failure at the end of its message.
    fn provider_broke_off(&mut self, e: &UpError) {
        log(&format!("device {}: {}", self.name(), e.words()));
        self.session = None;
        self.broken = Some(broke_off());
    }

    fn note_error(&self, why: &str) {
        if let Some(d) = &self.device {
            let why = why.to_string();
            let peer = self.peer.to_string();
            self.shared.status.device(&d.name, |s| {
                // It signed in from here, so a refusal from here is mended: the provider's is
                // the problem now.
                s.last_error = Some(why);
                s.mended_from(&peer);
            });
        }
    }

    /// A refusal before any sign-in: kept against the copier whose addresses name this one
    /// (only one may), else by address.
    fn refused_before_sign_in(&self, what: super::refusal::Refusal, detail: &str) {
        let from = self.peer.to_string();
        // The handshake's error goes to the log too, for IT (staff's words leave it out).
        let error = if what == super::refusal::Refusal::TlsFailed && !detail.is_empty() {
            format!(" The error: {detail}")
        } else {
            String::new()
        };
        log(&format!("{from}: {}{error}", what.what(&from, detail)));
        let named: Vec<&Device> = self
            .cfg
            .devices
            .iter()
            .filter(|d| !d.addresses.is_empty() && config::allowed(&d.addresses, self.peer))
            .collect();
        match named[..] {
            [d] => self
                .shared
                .status
                .device(&d.name, |s| s.refused(what, &from, detail)),
            _ => self.shared.status.stranger(&from, what, detail),
        }
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

    fn hello(&mut self, hello: Option<crate::receive::hello::Hello>) {
        self.offered = hello.and_then(|h| h.highest_version);
    }

    fn tls(&mut self, outcome: crate::receive::TlsOutcome) {
        use super::refusal::{Refusal, of_handshake};
        use crate::receive::TlsOutcome;
        // RFC 3207: a sign-in from before STARTTLS does not carry over into the encryption.
        self.device = None;
        let (what, detail) = match outcome {
            TlsOutcome::Failed(e) => {
                let what = of_handshake(self.offered.as_deref(), &e);
                let detail = if what == Refusal::OldTls {
                    self.offered
                        .clone()
                        .unwrap_or_default()
                        .replace("TLS1", "TLS 1")
                } else {
                    e
                };
                (what, detail)
            }
            TlsOutcome::AtOnce => (Refusal::SslOnStarttls, String::new()),
            // Nothing, or not TLS at all: a scanner passing by, not a copier to name.
            TlsOutcome::Ok { .. } | TlsOutcome::NotTls | TlsOutcome::TimedOut => return,
        };
        self.refused_before_sign_in(what, &detail);
    }

    fn plain_auth_refused(&mut self) {
        self.refused_before_sign_in(super::refusal::Refusal::SignInWithoutTls, "");
    }

    async fn auth(&mut self, login: Login) -> Reply {
        self.sign_in(login).await
    }

    async fn mail(&mut self, _from: &str) -> Reply {
        self.start_mail().await
    }

    async fn rcpt(&mut self, to: &str) -> Reply {
        self.add_rcpt(to).await
    }

    async fn data(&mut self) -> Reply {
        self.begin_data().await
    }

    async fn chunk(&mut self, bytes: &[u8]) {
        self.pass_chunk(bytes).await;
    }

    async fn end(&mut self, how: DataEnd) -> Reply {
        self.end_message(how).await
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
