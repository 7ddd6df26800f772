//! A scripted SMTP peer for tests: plays providers' greetings, capabilities and replies, and
//! faults (tarpit, trickle, hang-ups, garbage, missing STARTTLS, bad certificates). Listens on
//! 127.0.0.1 only; certificates are made at test time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod copier;
pub mod dns;
pub mod graph;
pub mod idp;
pub mod proxy;
pub mod rig;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub const USER: &str = "lab-scanner@example.edu";
pub const PASSWORD: &str = "abcdefghijklmnop";
/// A port result's `transcript` from `check --json`, as lines.
pub fn transcript(result: &serde_json::Value) -> Vec<&str> {
    result["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect()
}

/// The access token the peer accepts with XOAUTH2 (a canary: it must never be shown).
pub const TOKEN: &str = "ya29.CANARY-token-7f3e9a";

/// A test certificate authority and the server certificates it signs.
pub struct Pki {
    pub ca_pem: String,
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

/// Which certificate a peer shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// Signed by the test CA for localhost, 127.0.0.1 and ::1.
    Good,
    /// Signed by the test CA, for another name.
    WrongHost,
    /// Signed by the test CA, expired in 2020.
    Expired,
    /// Self-signed: no CA vouches for it.
    Untrusted,
}

impl Pki {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ScanMail Test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            ca_params: params,
            ca_key: key,
        }
    }

    pub fn server_config(&self, kind: Cert) -> Arc<ServerConfig> {
        let names: Vec<String> = match kind {
            Cert::WrongHost => vec!["mail.other.test".into()],
            _ => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        };
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "scripted peer");
        if kind == Cert::Expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = if kind == Cert::Untrusted {
            params.self_signed(&key).unwrap()
        } else {
            let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
            params.signed_by(&key, &issuer).unwrap()
        };
        let der: CertificateDer<'static> = cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .unwrap();
        Arc::new(config)
    }

    /// Writes the CA to a PEM file in `dir` and returns its path.
    pub fn ca_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

/// Something the peer does wrong on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Accepts TCP and never says anything.
    Tarpit,
    /// Sends the greeting one byte at a time, slowly, forever.
    Trickle,
    /// Closes the connection when a command starting with this word arrives.
    HangUpOn(&'static str),
    /// Answers with something that is not SMTP.
    Garbage,
    /// Stops answering (but keeps reading) once a command starting with this word arrives.
    SilentOn(&'static str),
    /// Closes the connection after this many bytes of a message's body.
    HangUpInData(usize),
    /// Answers DATA with this line instead of 354 (and then takes the body's lines as commands).
    DataAnswer(&'static str),
}

/// What the peer says. Reply lines are complete (code included), without CR LF.
#[derive(Clone, Debug)]
pub struct Script {
    pub greeting: Vec<String>,
    /// EHLO reply before TLS (on a STARTTLS port).
    pub ehlo_plain: Vec<String>,
    /// EHLO reply once TLS is active.
    pub ehlo_tls: Vec<String>,
    /// The accepted password.
    pub password: String,
    /// Reply to a wrong password.
    pub auth_fail: Vec<String>,
    /// Reply to every AUTH, whatever the password (a provider policy).
    pub auth_always: Option<Vec<String>>,
    /// The accepted XOAUTH2 access token.
    pub token: String,
    /// Gmail's answer to a refused token before its 535: a 334 with this JSON in base64.
    pub oauth_challenge: Option<String>,
    pub mail_from: Vec<String>,
    pub rcpt_to: Vec<String>,
    pub data_end: Vec<String>,
    /// The reply to STARTTLS (more than one line here models bytes injected before TLS).
    pub starttls_reply: Vec<String>,
    pub fault: Fault,
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(std::string::ToString::to_string).collect()
}

impl Script {
    /// Gmail's words (provider-replies.md).
    pub fn gmail() -> Self {
        Self {
            greeting: lines(&["220 smtp.gmail.com ESMTP a1si123 - gsmtp"]),
            ehlo_plain: lines(&[
                "250-smtp.gmail.com at your service, [127.0.0.1]",
                "250-SIZE 35882577",
                "250-8BITMIME",
                "250-STARTTLS",
                "250-ENHANCEDSTATUSCODES",
                "250-PIPELINING",
                "250-CHUNKING",
                "250 SMTPUTF8",
            ]),
            ehlo_tls: lines(&[
                "250-smtp.gmail.com at your service, [127.0.0.1]",
                "250-SIZE 35882577",
                "250-8BITMIME",
                "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
                "250-ENHANCEDSTATUSCODES",
                "250-PIPELINING",
                "250-CHUNKING",
                "250 SMTPUTF8",
            ]),
            password: PASSWORD.into(),
            auth_fail: lines(&[
                "535-5.7.8 Username and Password not accepted. For more information, go to",
                "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1si123 - gsmtp",
            ]),
            auth_always: None,
            token: TOKEN.into(),
            oauth_challenge: Some(
                r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#.into(),
            ),
            mail_from: lines(&["250 2.1.0 OK a1si123 - gsmtp"]),
            rcpt_to: lines(&["250 2.1.5 OK a1si123 - gsmtp"]),
            data_end: lines(&["250 2.0.0 OK  1700000000 a1si123 - gsmtp"]),
            starttls_reply: lines(&["220 2.0.0 Ready to start TLS"]),
            fault: Fault::None,
        }
    }

    /// Microsoft 365's words.
    pub fn microsoft() -> Self {
        Self {
            greeting: lines(&[
                "220 AM0PR01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Fri, 27 Nov 2026 10:00:00 +0000",
            ]),
            ehlo_plain: lines(&[
                "250-AM0PR01CA0001.outlook.office365.com Hello [127.0.0.1]",
                "250-SIZE 157286400",
                "250-PIPELINING",
                "250-DSN",
                "250-ENHANCEDSTATUSCODES",
                "250-STARTTLS",
                "250-8BITMIME",
                "250-BINARYMIME",
                "250-CHUNKING",
                "250 SMTPUTF8",
            ]),
            ehlo_tls: lines(&[
                "250-AM0PR01CA0001.outlook.office365.com Hello [127.0.0.1]",
                "250-SIZE 157286400",
                "250-PIPELINING",
                "250-DSN",
                "250-ENHANCEDSTATUSCODES",
                "250-AUTH LOGIN XOAUTH2",
                "250-8BITMIME",
                "250-BINARYMIME",
                "250-CHUNKING",
                "250 SMTPUTF8",
            ]),
            password: PASSWORD.into(),
            auth_fail: lines(&[
                "535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
            ]),
            auth_always: None,
            token: TOKEN.into(),
            oauth_challenge: None,
            mail_from: lines(&["250 2.1.0 Sender OK"]),
            rcpt_to: lines(&["250 2.1.5 Recipient OK"]),
            data_end: lines(&["250 2.0.0 OK <id@example> [Hostname=AM0PR01]"]),
            starttls_reply: lines(&["220 2.0.0 SMTP server ready"]),
            fault: Fault::None,
        }
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}

/// What the peer saw.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// Every command line received, with whether TLS was active at the time.
    pub commands: Vec<(bool, String)>,
    /// Verbs of commands that arrived with the next command already behind them, before the
    /// peer answered: proof of pipelining (RFC 2920).
    pub pipelined: Vec<String>,
    /// Decoded AUTH credentials, with whether TLS was active.
    pub passwords: Vec<(bool, String)>,
    /// XOAUTH2 sign-ins: whether TLS was active, the user and the token.
    pub tokens: Vec<(bool, String, String)>,
    /// What the client answered to Gmail's 334 challenge (it must be an empty line).
    pub challenge_answers: Vec<String>,
    /// Complete messages received (after DATA).
    pub messages: Vec<String>,
    pub connections: usize,
    /// Connections the client closed (the peer read end-of-file).
    pub closed_by_client: usize,
}

/// How a peer's port is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// TLS from the first byte (465).
    Implicit,
    /// Plain at first, with STARTTLS offered by the script (587).
    Plain,
}

pub struct Peer {
    pub port: u16,
    pub log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Peer {
    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }

    /// Starts a peer on 127.0.0.1 with a free port.
    pub async fn start(mode: Mode, script: Script, tls: Arc<ServerConfig>) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let log2 = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                log2.lock().unwrap().connections += 1;
                let (script, tls, log) = (script.clone(), tls.clone(), log2.clone());
                tokio::spawn(async move {
                    let _ = serve(tcp, mode, script, tls, log).await;
                });
            }
        });
        Peer { port, log, task }
    }
}

/// A test CA and two peers playing `script`: implicit TLS (465's role) and plain + STARTTLS
/// (587's role), both with a good certificate.
pub async fn start_pair(script: Script) -> (Pki, Peer, Peer) {
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let ssl = Peer::start(Mode::Implicit, script.clone(), tls.clone()).await;
    let st = Peer::start(Mode::Plain, script, tls).await;
    (pki, ssl, st)
}

/// A listener on [::1]:port whose accept queue is full: further connects hang, as to an IPv6
/// address that drops packets. Keep the returned value alive while it should stay silent.
/// `None` when this machine has no IPv6 loopback or the port is taken there.
pub fn ipv6_black_hole(port: u16) -> Option<(TcpListener, Vec<std::net::TcpStream>)> {
    let addr = std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port));
    let socket = tokio::net::TcpSocket::new_v6().ok()?;
    socket.bind(addr).ok()?;
    let listener = socket.listen(0).ok()?;
    let queued = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
        })
        .collect();
    Some((listener, queued))
}

/// Reserves a port that nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

enum S {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for S {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            S::Plain(s) => Pin::new(s).poll_read(cx, buf),
            S::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for S {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            S::Plain(s) => Pin::new(s).poll_write(cx, buf),
            S::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            S::Plain(s) => Pin::new(s).poll_flush(cx),
            S::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            S::Plain(s) => Pin::new(s).poll_shutdown(cx),
            S::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

async fn say(w: &mut BufReader<S>, reply: &[String]) -> std::io::Result<()> {
    let mut out = String::new();
    for l in reply {
        out.push_str(l);
        out.push_str("\r\n");
    }
    w.get_mut().write_all(out.as_bytes()).await?;
    w.get_mut().flush().await
}

async fn serve(
    tcp: TcpStream,
    mode: Mode,
    script: Script,
    tls: Arc<ServerConfig>,
    log: Arc<Mutex<Log>>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    if script.fault == Fault::Tarpit {
        let _keep = tcp;
        tokio::time::sleep(Duration::from_secs(3600)).await;
        return Ok(());
    }
    let stream = match mode {
        Mode::Implicit => S::Tls(Box::new(acceptor.accept(tcp).await?)),
        Mode::Plain => S::Plain(tcp),
    };
    let mut rw = BufReader::new(stream);
    match script.fault {
        Fault::Trickle => loop {
            for b in b"220-slow.example.test "
                .iter()
                .chain(std::iter::repeat(&b'.'))
            {
                rw.get_mut().write_all(&[*b]).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        },
        Fault::Garbage => {
            rw.get_mut()
                .write_all(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n")
                .await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
            return Ok(());
        }
        _ => {}
    }
    say(&mut rw, &script.greeting).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    loop {
        let mut line = String::new();
        if !matches!(rw.read_line(&mut line).await, Ok(n) if n > 0) {
            log.lock().unwrap().closed_by_client += 1;
            return Ok(());
        }
        let line = line.trim_end().to_string();
        let secure = matches!(rw.get_ref(), S::Tls(_));
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        {
            let mut log = log.lock().unwrap();
            log.commands.push((secure, line.clone()));
            if !rw.buffer().is_empty() {
                log.pipelined.push(verb.clone());
            }
        }
        if let Fault::HangUpOn(word) = &script.fault
            && verb == *word
        {
            return Ok(());
        }
        if let Fault::SilentOn(word) = &script.fault
            && verb == *word
        {
            let mut sink = String::new();
            // Ends on end-of-file, or on an error when TLS is cut without a goodbye.
            while matches!(rw.read_line(&mut sink).await, Ok(n) if n > 0) {}
            log.lock().unwrap().closed_by_client += 1;
            return Ok(());
        }
        match verb.as_str() {
            "EHLO" => {
                let reply = if secure {
                    &script.ehlo_tls
                } else {
                    &script.ehlo_plain
                };
                say(&mut rw, reply).await?;
            }
            "STARTTLS" => {
                say(&mut rw, &script.starttls_reply).await?;
                let S::Plain(tcp) = rw.into_inner() else {
                    return Ok(());
                };
                rw = BufReader::new(S::Tls(Box::new(acceptor.accept(tcp).await?)));
            }
            "AUTH" => {
                let mut parts = line.split(' ').skip(1);
                let mech = parts.next().unwrap_or("").to_ascii_uppercase();
                let password = if mech == "PLAIN" {
                    let data = match parts.next() {
                        Some(d) => d.to_string(),
                        None => {
                            say(&mut rw, &["334 ".to_string()]).await?;
                            let mut l = String::new();
                            rw.read_line(&mut l).await?;
                            l.trim().to_string()
                        }
                    };
                    let raw = b64.decode(data).unwrap_or_default();
                    let raw = String::from_utf8_lossy(&raw).to_string();
                    raw.split('\0').nth(2).unwrap_or("").to_string()
                } else if mech == "XOAUTH2" {
                    let raw = b64.decode(parts.next().unwrap_or("")).unwrap_or_default();
                    let raw = String::from_utf8_lossy(&raw).to_string();
                    let mut fields = raw.split('\x01');
                    let user = fields.next().unwrap_or("").trim_start_matches("user=");
                    let token = fields
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("auth=Bearer ");
                    let well_formed = raw.ends_with("\x01\x01");
                    log.lock()
                        .unwrap()
                        .tokens
                        .push((secure, user.to_string(), token.to_string()));
                    if let Some(r) = &script.auth_always {
                        say(&mut rw, r).await?;
                        continue;
                    }
                    if well_formed && token == script.token && user == USER {
                        say(&mut rw, &["235 2.7.0 Accepted".to_string()]).await?;
                        continue;
                    }
                    if let Some(json) = &script.oauth_challenge {
                        say(&mut rw, &[format!("334 {}", b64.encode(json))]).await?;
                        let mut l = String::new();
                        rw.read_line(&mut l).await?;
                        log.lock().unwrap().challenge_answers.push(l);
                    }
                    say(&mut rw, &script.auth_fail).await?;
                    continue;
                } else if mech == "LOGIN" {
                    say(&mut rw, &["334 VXNlcm5hbWU6".to_string()]).await?;
                    let mut l = String::new();
                    rw.read_line(&mut l).await?;
                    say(&mut rw, &["334 UGFzc3dvcmQ6".to_string()]).await?;
                    let mut l = String::new();
                    rw.read_line(&mut l).await?;
                    String::from_utf8_lossy(&b64.decode(l.trim()).unwrap_or_default()).to_string()
                } else {
                    say(
                        &mut rw,
                        &["504 5.7.4 Unrecognized authentication type".to_string()],
                    )
                    .await?;
                    continue;
                };
                log.lock()
                    .unwrap()
                    .passwords
                    .push((secure, password.clone()));
                let reply = match &script.auth_always {
                    Some(r) => r.clone(),
                    None if password == script.password => vec!["235 2.7.0 Accepted".to_string()],
                    None => script.auth_fail.clone(),
                };
                say(&mut rw, &reply).await?;
            }
            "MAIL" => say(&mut rw, &script.mail_from).await?,
            "RCPT" => say(&mut rw, &script.rcpt_to).await?,
            "DATA" if matches!(script.fault, Fault::DataAnswer(_)) => {
                if let Fault::DataAnswer(line) = script.fault {
                    say(&mut rw, &[line.to_string()]).await?;
                }
            }
            "DATA" => {
                say(&mut rw, &["354  Go ahead".to_string()]).await?;
                let mut message = String::new();
                loop {
                    let mut l = String::new();
                    if rw.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    message.push_str(&l);
                    if let Fault::HangUpInData(n) = script.fault
                        && message.len() >= n
                    {
                        return Ok(());
                    }
                }
                log.lock().unwrap().messages.push(message);
                say(&mut rw, &script.data_end).await?;
            }
            "QUIT" => {
                say(&mut rw, &["221 2.0.0 closing connection".to_string()]).await?;
                return Ok(());
            }
            "NOOP" | "RSET" => say(&mut rw, &["250 2.0.0 OK".to_string()]).await?,
            _ => say(&mut rw, &["502 5.5.1 Unrecognized command.".to_string()]).await?,
        }
    }
}
