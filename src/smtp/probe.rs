//! One port: resolve, connect, TLS, greeting, EHLO, STARTTLS, AUTH, send. Each step is a
//! [`Stage`]; the first failure ends the port and is turned into a [`Problem`].

use super::conn::{Conn, ConnError};
use super::diagnose::{self, Context, Problem, SendStep, classify_reply};
use super::message::{self, TestMessage};
use super::reply::Reply;
use super::tls::{self, Recording, TlsInfo};
use super::{Event, Options, PortResult, Request, Security, Stage, host_only};
use base64::Engine;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::Auth;
use rustls::client::danger::ServerCertVerifier;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
            .map(tls::parse_pem_certs)
            .and_then(Result::ok)
            .unwrap_or_default();
        Self {
            request,
            options,
            verifier: tls::base_verifier(&extra),
            hello: hello_name(),
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

/// The EHLO name: this machine's name when it is a valid dotted host name, else empty (an
/// address literal of our own address is used instead).
fn hello_name() -> String {
    let name = hostname::get()
        .ok()
        .and_then(|n| n.into_string().ok())
        .unwrap_or_default();
    sanitize_hello(&name)
}

pub(crate) fn sanitize_hello(name: &str) -> String {
    let labels: Vec<String> = name
        .trim()
        .trim_end_matches('.')
        .split('.')
        .map(|l| {
            let l: String = l
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            l.trim_matches('-').to_ascii_lowercase()
        })
        .collect();
    let ok = labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && l.len() <= 63);
    if ok { labels.join(".") } else { String::new() }
}

fn address_literal(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("[{}]", a.ip()),
        SocketAddr::V6(a) => format!("[IPv6:{}]", a.ip()),
    }
}

/// Why a port stopped.
struct Failure {
    problem: Problem,
    detail: Option<String>,
}

impl Failure {
    fn new(problem: Problem) -> Self {
        Self {
            problem,
            detail: None,
        }
    }
    fn with(problem: Problem, detail: impl Into<String>) -> Self {
        Self {
            problem,
            detail: Some(detail.into()),
        }
    }
}

struct PortState<'s> {
    port: u16,
    security: Security,
    stage: Stage,
    step: Option<SendStep>,
    reply: Option<Reply>,
    tls: Option<TlsInfo>,
    address: Option<SocketAddr>,
    sent: bool,
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
    fn expect(&mut self, reply: Reply, ok: &[u16]) -> Result<Reply, Failure> {
        self.reply = Some(reply.clone());
        if ok.contains(&reply.code) {
            Ok(reply)
        } else {
            Err(Failure::new(classify_reply(self.stage, self.step, &reply)))
        }
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
        started: Instant::now(),
        events: shared.options.events.as_ref(),
    };
    let deadline = st.started + shared.request.timeout;
    let outcome = tokio::time::timeout(
        shared.request.timeout,
        walk(shared, &recording, &mut st, deadline),
    )
    .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(f)) => Some(f),
        Err(_) => Some(Failure::with(
            match st.stage {
                Stage::Resolve => Problem::DnsFailed,
                Stage::Connect => Problem::ConnectTimeout,
                Stage::Tls | Stage::Greeting => Problem::NoGreeting,
                _ => Problem::Timeout,
            },
            format!(
                "No complete answer within {} seconds.",
                shared.request.timeout.as_secs_f32()
            ),
        )),
    };
    if st.tls.is_none()
        && let Ok(rec) = &recording
    {
        st.tls = rec.seen().and_then(|c| tls::describe(&c, None));
    }
    let req = shared.request;
    let cx = Context {
        server: req.server.trim(),
        port,
        security,
        account: req.account.trim(),
        not_after: st.tls.as_ref().map(|t| t.not_after.as_str()),
    };
    let (problem, advice, detail) = match &failure {
        None => (None, None, None),
        Some(f) => (
            Some(f.problem),
            Some(diagnose::advice(f.problem, &cx)),
            f.detail.clone(),
        ),
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
        advice,
        tls: st.tls.take(),
        address: st.address.map(|a| a.to_string()),
        detail,
    };
    redact(&mut result, req);
    if let Some(tx) = &shared.options.events {
        let _ = tx.send(Event::Finished(Box::new(result.clone())));
    }
    result
}

/// Removes the password, in every form we sent it, from anything the server said back.
fn redact(result: &mut PortResult, req: &Request) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pw = req.password.expose();
    let forms = [
        pw.to_string(),
        b64.encode(pw),
        b64.encode(format!("\0{}\0{pw}", req.account.trim())),
    ];
    for form in forms.iter().filter(|f| !f.is_empty()) {
        if let Some(r) = &mut result.reply {
            r.redact(form);
        }
        if let Some(d) = &mut result.detail {
            *d = d.replace(form.as_str(), "<hidden>");
        }
    }
}

async fn walk(
    shared: &Shared<'_>,
    recording: &Result<Arc<Recording>, String>,
    st: &mut PortState<'_>,
    deadline: Instant,
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
    let tcp = connect_any(&addrs, deadline).await?;
    let _ = tcp.set_nodelay(true);
    st.address = tcp.peer_addr().ok();
    let local = tcp.local_addr().ok();
    let hello = if shared.hello.is_empty() {
        local.map_or_else(|| "[127.0.0.1]".to_string(), address_literal)
    } else {
        shared.hello.clone()
    };

    let recording = recording.as_ref().map_err(|e| {
        Failure::with(
            Problem::TlsHandshakeFailed,
            format!("No trusted certificates on this computer: {e}"),
        )
    })?;
    let connector = TlsConnector::from(
        tls::client_config(recording.clone())
            .map_err(|e| Failure::with(Problem::TlsHandshakeFailed, e))?,
    );
    let name = tls::server_name(host).map_err(|e| Failure::with(Problem::DnsFailed, e))?;

    let mut conn = match st.security {
        Security::Ssl => {
            st.enter(Stage::Tls);
            let stream = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| classify_tls(&e))?;
            let conn = Conn::tls(stream);
            st.tls = session_info(&conn);
            conn
        }
        Security::Starttls => Conn::plain(tcp),
    };

    st.enter(Stage::Greeting);
    let greeting = conn.read_reply().await.map_err(|e| conn_failure(st, e))?;
    st.expect(greeting, &[220])?;

    st.enter(Stage::Ehlo);
    let ehlo_line = format!("EHLO {hello}\r\n");
    let reply = conn
        .command(&ehlo_line)
        .await
        .map_err(|e| conn_failure(st, e))?;
    let mut caps = Caps::from(&st.expect(reply, &[250])?);

    if st.security == Security::Starttls {
        st.enter(Stage::Starttls);
        if !caps.starttls {
            return Err(Failure::new(Problem::StarttlsNotOffered));
        }
        let reply = conn
            .command("STARTTLS\r\n")
            .await
            .map_err(|e| conn_failure(st, e))?;
        st.expect(reply, &[220])?;
        if conn.has_unread() {
            return Err(Failure::with(
                Problem::ProtocolError,
                "The server sent extra data before encryption started; it was not trusted.",
            ));
        }
        conn.upgrade(&connector, name.clone())
            .await
            .map_err(|e| classify_tls(&e))?;
        st.tls = session_info(&conn);
        let reply = conn
            .command(&ehlo_line)
            .await
            .map_err(|e| conn_failure(st, e))?;
        caps = Caps::from(&st.expect(reply, &[250])?);
    }

    st.enter(Stage::Auth);
    if !conn.is_tls() {
        // Cannot happen by construction; kept so a future change cannot send a password in clear.
        return Err(Failure::new(Problem::StarttlsNotOffered));
    }
    authenticate(&mut conn, st, &caps, req).await?;

    if req.login_only {
        let _ = quit(&mut conn).await;
        return Ok(());
    }

    st.enter(Stage::Send);
    send_message(&mut conn, st, shared).await?;
    st.sent = true;
    let _ = quit(&mut conn).await;
    Ok(())
}

/// Tries each address in turn, sharing the remaining time among those left.
async fn connect_any(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Failure> {
    let mut notes = Vec::new();
    let mut refused = 0;
    let mut timed_out = 0;
    for (i, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let share = left / u32::try_from(addrs.len() - i).unwrap_or(1);
        match tokio::time::timeout(
            share.max(Duration::from_millis(50)),
            TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => {
                if e.kind() == io::ErrorKind::ConnectionRefused {
                    refused += 1;
                } else if e.kind() == io::ErrorKind::TimedOut {
                    timed_out += 1;
                }
                notes.push(format!("{addr}: {e}"));
            }
            Err(_) => {
                timed_out += 1;
                notes.push(format!("{addr}: no answer"));
            }
        }
    }
    let problem = if timed_out > 0 {
        Problem::ConnectTimeout
    } else if refused > 0 {
        Problem::ConnectionRefused
    } else {
        Problem::ConnectFailed
    };
    Err(Failure::with(problem, notes.join("; ")))
}

fn session_info(conn: &Conn) -> Option<TlsInfo> {
    let session = conn.tls_session()?;
    let version = tls::version_name(session.protocol_version());
    let cert = session.peer_certificates()?.first()?;
    tls::describe(cert, Some(version))
}

/// Classifies a TLS handshake error by walking its source chain for the rustls error.
fn classify_tls(err: &io::Error) -> Failure {
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

/// Turns a failed read into a problem for the current stage.
fn conn_failure(st: &PortState<'_>, e: ConnError) -> Failure {
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
            if st.stage == Stage::Greeting {
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

/// What EHLO said the server can do.
#[derive(Debug, Default)]
struct Caps {
    starttls: bool,
    auth: Vec<String>,
}

impl From<&Reply> for Caps {
    fn from(reply: &Reply) -> Self {
        let mut caps = Caps::default();
        for line in reply.lines.iter().skip(1) {
            let upper = line.trim().to_ascii_uppercase();
            let mut words = upper.split([' ', '=']);
            match words.next() {
                Some("STARTTLS") => caps.starttls = true,
                Some("AUTH") => caps
                    .auth
                    .extend(words.filter(|w| !w.is_empty()).map(String::from)),
                _ => {}
            }
        }
        caps
    }
}

async fn authenticate(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    caps: &Caps,
    req: &Request,
) -> Result<(), Failure> {
    let mechanism = if caps.auth.iter().any(|m| m == "PLAIN") {
        Mechanism::Plain
    } else if caps.auth.iter().any(|m| m == "LOGIN") {
        Mechanism::Login
    } else {
        let offered = if caps.auth.is_empty() {
            "none".to_string()
        } else {
            caps.auth.join(", ")
        };
        return Err(Failure::with(
            Problem::AuthNotOffered,
            format!("Sign-in methods offered: {offered}."),
        ));
    };
    let creds = Credentials::new(
        req.account.trim().to_string(),
        req.password.expose().to_string(),
    );
    let bad = || {
        Failure::with(
            Problem::ProtocolError,
            "The server's sign-in prompt could not be understood.",
        )
    };
    let mut line = Auth::new(mechanism, creds.clone(), None)
        .map_err(|_| bad())?
        .to_string();
    for _ in 0..3 {
        let reply = conn.command(&line).await.map_err(|e| conn_failure(st, e))?;
        if reply.code != 334 {
            st.expect(reply, &[235])?;
            return Ok(());
        }
        st.reply = Some(reply.clone());
        let challenge = reply.lines.first().map(|l| l.trim()).unwrap_or("");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(challenge)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        line = Auth::new(mechanism, creds.clone(), Some(decoded))
            .map_err(|_| bad())?
            .to_string();
    }
    Err(Failure::with(
        Problem::ProtocolError,
        "The server kept asking for more sign-in steps.",
    ))
}

async fn send_message(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    shared: &Shared<'_>,
) -> Result<(), Failure> {
    let req = shared.request;
    let account = req.account.trim();
    let recipient = req.recipient().trim();
    st.step = Some(SendStep::MailFrom);
    let reply = conn
        .command(&format!("MAIL FROM:<{account}>\r\n"))
        .await
        .map_err(|e| conn_failure(st, e))?;
    st.expect(reply, &[250])?;
    st.step = Some(SendStep::RcptTo);
    let reply = conn
        .command(&format!("RCPT TO:<{recipient}>\r\n"))
        .await
        .map_err(|e| conn_failure(st, e))?;
    st.expect(reply, &[250, 251])?;
    st.step = Some(SendStep::Data);
    let reply = conn
        .command("DATA\r\n")
        .await
        .map_err(|e| conn_failure(st, e))?;
    st.expect(reply, &[354])?;
    st.step = Some(SendStep::Body);
    let raw = message::build(&TestMessage {
        account,
        recipient,
        server: req.server.trim(),
        port: st.port,
        security: st.security,
        token: &shared.token,
        profile: req.profile_name.as_deref(),
        when: &crate::time::utc_rfc3339(crate::time::now_unix()),
    })
    .ok_or_else(|| {
        Failure::with(
            Problem::SenderRejected,
            "The address could not be used in a message.",
        )
    })?;
    conn.write(&message::dot_stuff(&raw))
        .await
        .map_err(|e| conn_failure(st, e))?;
    let reply = conn.read_reply().await.map_err(|e| conn_failure(st, e))?;
    st.expect(reply, &[250])?;
    Ok(())
}

/// Says goodbye, briefly: a server that does not answer QUIT does not change the verdict.
async fn quit(conn: &mut Conn) -> Option<()> {
    tokio::time::timeout(Duration::from_millis(500), conn.command("QUIT\r\n"))
        .await
        .ok()?
        .ok()
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_names_are_ascii_fqdns_or_nothing() {
        assert_eq!(sanitize_hello("Lab-PC.Example.EDU."), "lab-pc.example.edu");
        assert_eq!(
            sanitize_hello("Kopierer Büro.example.de"),
            "kopierer-b-ro.example.de"
        );
        assert_eq!(sanitize_hello("DESKTOP-ABC"), "");
        assert_eq!(sanitize_hello(""), "");
        assert_eq!(sanitize_hello("a..b"), "");
    }

    #[test]
    fn address_literals() {
        assert_eq!(
            address_literal("127.0.0.1:5".parse().unwrap()),
            "[127.0.0.1]"
        );
        assert_eq!(address_literal("[::1]:5".parse().unwrap()), "[IPv6:::1]");
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
