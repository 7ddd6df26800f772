//! One port, stage by stage: resolve, connect, TLS, greeting, EHLO, STARTTLS, AUTH, send. Each
//! step is a [`Stage`]; the first failure ends the port and becomes a [`Problem`].
//!
//! [`walk`] reads top to bottom as the conversation does; the 587 upgrade is the named
//! [`starttls`] step, signing in and sending are in `session.rs`.

use super::certs::{self, Recording, TlsInfo};
use super::conn::{self, Conn, ConnError, Transcript};
use super::connect::{self, ATTEMPT_DELAY};
use super::diagnose::{Problem, SendStep, classify_reply};
use super::failure::{self, Failure};
use super::reply::{self, Reply};
use super::session::{self, Caps};
use super::verdict;
use super::{Event, Options, PortResult, Request, Security, Stage, host_only};
use base64::Engine;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// What both ports share.
pub struct Shared<'a> {
    pub request: &'a Request,
    pub options: Options,
    pub verifier: Result<Arc<dyn ServerCertVerifier>, String>,
    pub hello: String,
    pub token: String,
    pub started_at: String,
}

impl<'a> Shared<'a> {
    pub fn new(request: &'a Request, options: Options) -> Self {
        let extra = request
            .extra_ca_pem
            .as_deref()
            .map(certs::parse_pem_certs)
            .and_then(Result::ok)
            .unwrap_or_default();
        Self {
            request,
            options,
            verifier: certs::base_verifier(&extra),
            hello: connect::hello_name(),
            token: new_token(),
            started_at: crate::time::utc_rfc3339(crate::time::now_unix()),
        }
    }
}

/// A short token that is easy to read aloud and find in an inbox.
fn new_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..6)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// Where one port stands while it runs.
pub struct PortState<'s> {
    pub port: u16,
    pub security: Security,
    pub stage: Stage,
    pub step: Option<SendStep>,
    pub reply: Option<Reply>,
    pub tls: Option<TlsInfo>,
    pub address: Option<SocketAddr>,
    pub sent: bool,
    pub transcript: Transcript,
    started: Instant,
    events: Option<&'s tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl PortState<'_> {
    fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        if let Some(tx) = self.events {
            let _ = tx.send(Event::Stage {
                port: self.port,
                security: self.security,
                stage,
                elapsed_ms: elapsed_ms(self.started),
            });
        }
    }

    /// Keeps the reply and fails unless its code is one of `ok`.
    pub fn expect(&mut self, reply: Reply, ok: &[u16]) -> Result<Reply, Failure> {
        self.reply = Some(reply.clone());
        if ok.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(Failure::new(classify_reply(self.stage, self.step, &reply)))
        }
    }

    /// Sends one command and checks its reply: the send-and-check pair every step repeats.
    pub async fn ask(&mut self, conn: &mut Conn, line: &str, ok: &[u16]) -> Result<Reply, Failure> {
        let reply = conn.command(line).await.map_err(|e| self.lost(e))?;
        self.expect(reply, ok)
    }

    /// Reads one reply and checks it.
    pub async fn answer(&mut self, conn: &mut Conn, ok: &[u16]) -> Result<Reply, Failure> {
        let reply = conn.read_reply().await.map_err(|e| self.lost(e))?;
        self.expect(reply, ok)
    }

    /// Notes the TLS session in the transcript.
    fn note_tls(&self) {
        if let Some(t) = &self.tls {
            conn::note(
                &self.transcript,
                format!(
                    "TLS: {}, certificate for {} (issued by {})",
                    t.version.as_deref().unwrap_or("?"),
                    t.subject,
                    t.issuer
                ),
            );
        }
    }

    /// A read or write failed in the current stage.
    pub fn lost(&self, e: ConnError) -> Failure {
        failure::conn(self.stage, e)
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Runs one port to its verdict within the request's timeout.
pub async fn run_port(shared: &Shared<'_>, (port, security): (u16, Security)) -> PortResult {
    let recording = shared.verifier.clone().map(Recording::new);
    let mut st = PortState {
        port,
        security,
        stage: Stage::Resolve,
        step: None,
        reply: None,
        tls: None,
        address: None,
        sent: false,
        transcript: Transcript::default(),
        started: Instant::now(),
        events: shared.options.events.as_ref(),
    };
    let limit = shared.request.timeout;
    let failure = match tokio::time::timeout(limit, walk(shared, &recording, &mut st)).await {
        Ok(Ok(())) => None,
        Ok(Err(f)) => Some(f),
        Err(_) => Some(failure::timed_out(st.stage, limit)),
    };
    if st.tls.is_none()
        && let Ok(rec) = &recording
    {
        st.tls = rec.seen().and_then(|c| certs::describe(&c, None));
    }
    let req = shared.request;
    let (problem, detail) = match &failure {
        None => (None, None),
        Some(f) => (Some(f.problem), f.detail.clone()),
    };
    let mut result = PortResult {
        port,
        security,
        works: failure.is_none(),
        stage: if failure.is_none() {
            Stage::Done
        } else {
            st.stage
        },
        sent: st.sent,
        elapsed_ms: elapsed_ms(st.started),
        problem,
        reply: st.reply.take(),
        advice: None,
        tls: st.tls.take(),
        address: st.address.map(|a| a.to_string()),
        detail,
        transcript: st.transcript.lock().map(|t| t.clone()).unwrap_or_default(),
    };
    redact(&mut result, req);
    result.advice = verdict::advise(&result, &verdict::Facts::of(req, false));
    if let Some(tx) = &shared.options.events {
        let _ = tx.send(Event::Finished(Box::new(result.clone())));
    }
    result
}

/// Removes the password, in every form we sent it, from anything the server said back.
fn redact(result: &mut PortResult, req: &Request) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pw = req.password.expose();
    let token = req.token.as_ref().map_or("", |t| t.expose());
    let forms = [
        pw.to_string(),
        b64.encode(pw),
        b64.encode(format!("\0{}\0{pw}", req.account.trim())),
        token.to_string(),
        if token.is_empty() {
            String::new()
        } else {
            super::session::xoauth2_blob(req.account.trim(), token)
        },
    ];
    for form in forms.iter().filter(|f| !f.is_empty()) {
        if let Some(r) = &mut result.reply {
            r.redact(form);
        }
        if let Some(d) = &mut result.detail {
            *d = d.replace(form.as_str(), "<hidden>");
        }
        for line in &mut result.transcript {
            *line = line.replace(form.as_str(), "<hidden>");
        }
    }
    // Long server words are cut only now, after redaction.
    if let Some(d) = &mut result.detail {
        *d = reply::cut(d);
    }
    for line in &mut result.transcript {
        *line = reply::cut(line);
    }
}

/// The conversation, stage by stage.
async fn walk(
    shared: &Shared<'_>,
    recording: &Result<Arc<Recording>, String>,
    st: &mut PortState<'_>,
) -> Result<(), Failure> {
    let req = shared.request;
    let host = host_only(&req.server);

    st.enter(Stage::Resolve);
    let addrs = shared
        .options
        .resolver
        .resolve(host, st.port)
        .await
        .map_err(|e| Failure::with(Problem::DnsFailed, e.to_string()))?;
    if addrs.is_empty() {
        return Err(Failure::with(
            Problem::DnsFailed,
            "The name has no addresses.",
        ));
    }

    st.enter(Stage::Connect);
    let order = connect::interleave(&addrs);
    let (address, tcp) = connect::race(&order, ATTEMPT_DELAY, TcpStream::connect)
        .await
        .map_err(|attempts| failure::not_connected(&attempts))?;
    let _ = tcp.set_nodelay(true);
    st.address = Some(address);
    let hello = if shared.hello.is_empty() {
        tcp.local_addr()
            .map_or_else(|_| "[127.0.0.1]".to_string(), connect::address_literal)
    } else {
        shared.hello.clone()
    };

    let mut conn = match st.security {
        Security::Ssl => {
            st.enter(Stage::Tls);
            let tls = Secure::new(recording, host)?;
            let stream = tls
                .connector
                .connect(tls.name.clone(), tcp)
                .await
                .map_err(|e| failure::tls(&e, tls.recording.refused().as_ref()))?;
            let conn = Conn::tls(stream, st.transcript.clone());
            st.tls = session_info(&conn);
            st.note_tls();
            conn
        }
        Security::Starttls => Conn::plain(tcp, st.transcript.clone()),
    };

    st.enter(Stage::Greeting);
    st.answer(&mut conn, &[220]).await?;

    st.enter(Stage::Ehlo);
    let ehlo = format!("EHLO {hello}\r\n");
    let mut caps = Caps::from(&st.ask(&mut conn, &ehlo, &[250]).await?);

    if st.security == Security::Starttls {
        st.enter(Stage::Starttls);
        caps = starttls(&mut conn, st, &caps, (recording, host), &ehlo).await?;
    }

    st.enter(Stage::Auth);
    if !conn.is_tls() {
        // Cannot happen by construction; kept so a future change cannot send a password in clear.
        return Err(Failure::new(Problem::StarttlsNotOffered));
    }
    session::authenticate(&mut conn, st, &caps, shared).await?;

    if !req.login_only {
        st.enter(Stage::Send);
        session::send_message(&mut conn, st, &caps, shared).await?;
        st.sent = true;
    }
    session::quit(conn).await;
    Ok(())
}

/// Port 587's upgrade: STARTTLS, the TLS handshake, and EHLO again over TLS (whose answer is
/// the one that counts). The password is never sent when the server does not offer STARTTLS.
async fn starttls(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    caps: &Caps,
    (recording, host): (&Result<Arc<Recording>, String>, &str),
    ehlo: &str,
) -> Result<Caps, Failure> {
    if !caps.starttls {
        return Err(Failure::new(Problem::StarttlsNotOffered));
    }
    let tls = Secure::new(recording, host)?;
    st.ask(conn, "STARTTLS\r\n", &[220]).await?;
    if conn.has_unread() {
        return Err(Failure::with(
            Problem::ProtocolError,
            "The server sent extra data before encryption started; it was not trusted.",
        ));
    }
    conn.upgrade(&tls.connector, tls.name)
        .await
        .map_err(|e| failure::tls(&e, tls.recording.refused().as_ref()))?;
    st.tls = session_info(conn);
    st.note_tls();
    Ok(Caps::from(&st.ask(conn, ehlo, &[250]).await?))
}

/// What a TLS handshake needs: a connector whose verifier records its verdict, and the name
/// the certificate must carry. Made only when TLS starts, so a computer whose certificate store
/// cannot be read fails at the `tls` or `starttls` stage, with its own problem id.
struct Secure<'r> {
    connector: TlsConnector,
    recording: &'r Recording,
    name: ServerName<'static>,
}

impl<'r> Secure<'r> {
    fn new(recording: &'r Result<Arc<Recording>, String>, host: &str) -> Result<Self, Failure> {
        let recording = recording.as_ref().map_err(|e| {
            Failure::with(
                Problem::TrustStoreUnavailable,
                format!("The system's certificate store: {e}"),
            )
        })?;
        let config = certs::client_config(recording.clone())
            .map_err(|e| Failure::with(Problem::TlsHandshakeFailed, e))?;
        Ok(Self {
            connector: TlsConnector::from(config),
            recording,
            name: certs::server_name(host).map_err(|e| Failure::with(Problem::DnsFailed, e))?,
        })
    }
}

fn session_info(conn: &Conn) -> Option<TlsInfo> {
    let session = conn.tls_session()?;
    let version = certs::version_name(session.protocol_version());
    let cert = session.peer_certificates()?.first()?;
    certs::describe(cert, Some(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_echoed_across_the_cut_is_hidden_whole() {
        let req = Request::new(
            "smtp.example.edu",
            "lab@example.edu",
            crate::secrets::AppPassword::new("qwertyuiopasdfgh"),
        );
        let echo = format!("{}qwertyuiopasdfgh and more", "x".repeat(190));
        let mut r = PortResult {
            detail: Some(echo.clone()),
            transcript: vec![format!("S: {echo}")],
            ..PortResult::sample(465, Security::Ssl, false)
        };
        redact(&mut r, &req);
        for text in [r.detail.as_deref().unwrap_or(""), r.transcript[0].as_str()] {
            assert!(!text.contains("qwerty"), "{text}");
            assert!(text.contains("<hidden"), "{text}");
        }
    }

    #[test]
    fn tokens_are_six_readable_characters() {
        let t = new_token();
        assert_eq!(t.len(), 6);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert!(!t.contains('O') && !t.contains('0') && !t.contains('1') && !t.contains('I'));
    }
}
