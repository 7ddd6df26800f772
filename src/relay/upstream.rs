//! One session with the provider, opened when a copier's MAIL FROM arrives: connect (every
//! address, the engine's race), TLS (implicit, or STARTTLS with nothing read before it), EHLO,
//! sign in (XOAUTH2 with an access token, or PLAIN), then MAIL FROM the relay's account, each
//! RCPT passed through, and DATA streamed as it arrives. Every step has a time limit. The
//! certificate is always checked (the OS store, plus the config's `ca_file`).

use super::config::{UpSecurity, Upstream};
use super::tokens::Credential;
use crate::receive::Reply;
use crate::smtp::conn::{Conn, ConnError, Transcript};
use crate::smtp::session::{Caps, xoauth2_blob};
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsConnector;

/// Time allowed for the provider's answer to one command, and for connecting.
pub const STEP: Duration = Duration::from_secs(30);
/// Time allowed for the provider's answer after the end of a message (it may scan it).
pub const FINAL: Duration = Duration::from_secs(120);

/// Why the session could not go on, and what the copier should hear.
#[derive(Debug, Clone)]
pub enum UpError {
    /// The provider could not be reached, was too slow or broke off: temporary (451 4.4.x).
    Unreachable(String),
    /// The provider refused the relay's own sign-in (454 4.7.0: the copier retries).
    SignIn(Reply),
    /// The provider refused with its own reply (passed through to the copier).
    Refused(Reply),
}

impl UpError {
    /// What the copier hears: `451 4.4.x` for a provider that cannot be reached, `454 4.7.0`
    /// for the relay's own sign-in, the provider's own reply otherwise.
    pub fn reply(&self) -> Reply {
        match self {
            UpError::Unreachable(why) => Reply::new(
                451,
                format!(
                    "4.4.1 The relay could not reach the mail provider ({why}). Try again later."
                ),
            ),
            UpError::SignIn(r) => Reply::new(
                454,
                format!(
                    "4.7.0 The relay could not sign in to the mail provider ({} {}). Try again later.",
                    r.code,
                    r.text.lines().next().unwrap_or("")
                ),
            ),
            UpError::Refused(r) => r.clone(),
        }
    }

    /// In plain words, for the status and the log (no secret: replies are the provider's words).
    pub fn words(&self) -> String {
        match self {
            UpError::Unreachable(why) => format!("The mail provider could not be reached: {why}."),
            UpError::SignIn(r) => format!("The mail provider refused the relay's sign-in: {r}"),
            UpError::Refused(r) => format!("The mail provider refused: {r}"),
        }
    }
}

fn to_reply(r: &crate::smtp::reply::Reply) -> Reply {
    hidden(r, &[])
}

/// The provider's reply with the relay's own secrets hidden, should it echo them.
fn hidden(r: &crate::smtp::reply::Reply, secrets: &[String]) -> Reply {
    let mut r = r.clone();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        r.redact(s);
    }
    let enhanced = r
        .enhanced
        .as_deref()
        .map(|e| format!("{e} "))
        .unwrap_or_default();
    Reply::new(r.code, format!("{enhanced}{}", r.lines.join("\n")))
}

fn lost(e: &ConnError) -> UpError {
    UpError::Unreachable(match e {
        ConnError::Io(e) => crate::fsutil::plain_io(e),
        ConnError::Closed => "it closed the connection".into(),
        ConnError::Garbage(_) | ConnError::Malformed(_) => "its answer was not SMTP".into(),
        ConnError::TooLong => "its answer was far too long".into(),
    })
}

async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, ConnError>>,
) -> Result<T, UpError> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(lost(&e)),
        Err(_) => Err(UpError::Unreachable("it did not answer in time".into())),
    }
}

/// What the relay needs to reach the provider, made once.
pub struct Route {
    pub upstream: Upstream,
    pub tls: Arc<rustls::ClientConfig>,
    pub hello: String,
}

impl Route {
    pub fn new(upstream: Upstream) -> Result<Self, String> {
        let extra = match &upstream.ca_file {
            Some(p) => {
                let pem = crate::fsutil::read_capped(p, 256 * 1024)
                    .map_err(|e| format!("{}: {}", p.display(), crate::fsutil::plain_io(&e)))?;
                crate::smtp::certs::parse_pem_certs(&pem)?
            }
            None => Vec::new(),
        };
        let verifier = crate::smtp::certs::base_verifier(&extra)?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous() // only to use the verifier built above; it never relaxes a check
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
        Ok(Self {
            upstream,
            tls: Arc::new(config),
            hello: crate::smtp::connect::hello_name(),
        })
    }
}

/// An open, signed-in session with the provider.
pub struct Session {
    conn: Conn,
    pipelining: bool,
    /// What the relay signed in with: hidden from every reply the provider echoes.
    secrets: Vec<String>,
}

impl Session {
    /// Connects, secures and signs in.
    pub async fn open(route: &Route, credential: &Credential) -> Result<Self, UpError> {
        let u = &route.upstream;
        let server = u.server().to_string();
        let transcript = Transcript::default();
        let addrs: Vec<std::net::SocketAddr> =
            tokio::time::timeout(STEP, tokio::net::lookup_host((server.as_str(), u.port())))
                .await
                .map_err(|_| UpError::Unreachable("its name did not resolve in time".into()))?
                .map_err(|_| UpError::Unreachable(format!("the name {server} was not found")))?
                .collect();
        let addrs = crate::smtp::connect::interleave(&addrs);
        let tcp = tokio::time::timeout(
            STEP,
            crate::smtp::connect::race(
                &addrs,
                crate::smtp::connect::ATTEMPT_DELAY,
                tokio::net::TcpStream::connect,
            ),
        )
        .await
        .map_err(|_| UpError::Unreachable("it did not answer in time".into()))?
        .map_err(|_| UpError::Unreachable(format!("no connection to {server}:{}", u.port())))?
        .1;
        let _ = tcp.set_nodelay(true);
        let name = crate::smtp::certs::server_name(&server).map_err(UpError::Unreachable)?;
        let connector = TlsConnector::from(route.tls.clone());
        let mut conn = if u.security() == UpSecurity::Ssl {
            let tls = tokio::time::timeout(STEP, connector.connect(name.clone(), tcp))
                .await
                .map_err(|_| UpError::Unreachable("TLS did not finish in time".into()))?
                .map_err(|e| UpError::Unreachable(format!("TLS failed: {e}")))?;
            Conn::tls(tls, transcript)
        } else {
            Conn::plain(tcp, transcript)
        };
        let greeting = within(STEP, conn.read_reply()).await?;
        if greeting.code != 220 {
            return Err(UpError::Unreachable(format!(
                "it greeted with {}",
                greeting.code
            )));
        }
        let hello = if route.hello.is_empty() {
            "scanmail-relay.invalid".to_string()
        } else {
            route.hello.clone()
        };
        let mut caps = ehlo(&mut conn, &hello).await?;
        if !conn.is_tls() {
            if !caps.starttls {
                // Never sign in without encryption.
                return Err(UpError::Unreachable(
                    "it offers no STARTTLS, so the relay will not sign in".into(),
                ));
            }
            let r = within(STEP, conn.command("STARTTLS\r\n")).await?;
            if r.code != 220 || conn.has_unread() {
                return Err(UpError::Unreachable("STARTTLS was refused".into()));
            }
            tokio::time::timeout(STEP, conn.upgrade(&connector, name))
                .await
                .map_err(|_| UpError::Unreachable("TLS did not finish in time".into()))?
                .map_err(|e| UpError::Unreachable(format!("TLS failed: {e}")))?;
            caps = ehlo(&mut conn, &hello).await?;
        }
        let secrets = sign_in(&mut conn, &caps, u.account.trim(), credential).await?;
        Ok(Self {
            conn,
            pipelining: caps.pipelining,
            secrets,
        })
    }

    /// MAIL FROM the relay's account (the envelope sender is always the account).
    pub async fn mail(&mut self, account: &str, size: Option<u64>) -> Result<Reply, UpError> {
        let size = size.map(|s| format!(" SIZE={s}")).unwrap_or_default();
        let r = within(
            STEP,
            self.conn
                .command(&format!("MAIL FROM:<{account}>{size}\r\n")),
        )
        .await?;
        Ok(hidden(&r, &self.secrets))
    }

    /// Whether the session may carry another message: nothing unread from the provider, and
    /// still open. A session out of step is dropped, never used.
    pub async fn in_step(&mut self) -> bool {
        self.conn.idle_and_open().await
    }

    /// Whether the provider takes commands in a group (PIPELINING).
    pub fn pipelining(&self) -> bool {
        self.pipelining
    }

    /// Sends MAIL FROM without waiting for its answer (read by [`Session::rcpt_after_mail`]).
    pub async fn mail_start(&mut self, account: &str) -> Result<(), UpError> {
        within(STEP, self.conn.write(&format!("MAIL FROM:<{account}>\r\n"))).await
    }

    /// Sends RCPT TO without waiting for its answer (read by [`Session::pending_answers`]).
    pub async fn rcpt_start(&mut self, to: &str) -> Result<(), UpError> {
        within(STEP, self.conn.write(&format!("RCPT TO:<{to}>\r\n"))).await
    }

    /// Reads the answers to a MAIL FROM (when `mail`) and `rcpts` RCPT TOs sent without waiting:
    /// `Some` the first refusal (the message must not go on), `None` when all were taken.
    pub async fn pending_answers(
        &mut self,
        mail: bool,
        rcpts: usize,
    ) -> Result<Option<Reply>, UpError> {
        let mut refused = None;
        for _ in 0..usize::from(mail) + rcpts {
            let r = within(STEP, self.conn.read_reply()).await?;
            if !r.is_positive() && refused.is_none() {
                refused = Some(hidden(&r, &self.secrets));
            }
        }
        Ok(refused)
    }

    pub async fn rcpt(&mut self, to: &str) -> Result<Reply, UpError> {
        let r = within(STEP, self.conn.command(&format!("RCPT TO:<{to}>\r\n"))).await?;
        Ok(hidden(&r, &self.secrets))
    }

    pub async fn data(&mut self) -> Result<Reply, UpError> {
        let r = within(STEP, self.conn.command("DATA\r\n")).await?;
        Ok(hidden(&r, &self.secrets))
    }

    /// Sends DATA without waiting: the provider's go-ahead is read by [`Session::go_ahead`]
    /// before the first byte of the body goes out (RFC 2920), while the copier already sends.
    pub async fn start_data(&mut self) -> Result<(), UpError> {
        within(STEP, self.conn.write("DATA\r\n")).await
    }

    /// The provider's answer to DATA: `Ok` for its 354; a refusal (4xx, 5xx) as it said it;
    /// anything else (a 250, say) is out of step and becomes a temporary failure, so the copier
    /// never hears a success the provider did not give for this message.
    pub async fn go_ahead(&mut self) -> Result<Result<(), Reply>, UpError> {
        let r = within(STEP, self.conn.read_reply()).await?;
        Ok(match r.code {
            354 => Ok(()),
            400..=599 => Err(to_reply(&r)),
            other => Err(Reply::new(
                451,
                format!(
                    "4.4.2 The mail provider answered DATA with {other}, not 354: nothing was sent, try again"
                ),
            )),
        })
    }

    /// Sends a piece of the (already stuffed) body.
    pub async fn body(&mut self, bytes: &[u8]) -> Result<(), UpError> {
        within(STEP, self.conn.write_message(bytes)).await
    }

    /// Sends the end of the body and returns the provider's own reply to it.
    pub async fn finish(&mut self, tail: &[u8]) -> Result<Reply, UpError> {
        within(STEP, self.conn.write_message(tail)).await?;
        let r = within(FINAL, self.conn.read_reply()).await?;
        Ok(hidden(&r, &self.secrets))
    }

    /// Says goodbye without waiting for the answer.
    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.write("QUIT\r\n")).await;
    }
}

async fn ehlo(conn: &mut Conn, hello: &str) -> Result<Caps, UpError> {
    let r = within(STEP, conn.command(&format!("EHLO {hello}\r\n"))).await?;
    if r.code != 250 {
        return Err(UpError::Unreachable(format!(
            "EHLO was refused ({})",
            r.code
        )));
    }
    Ok(Caps::from(&r))
}

/// Signs in; returns what must never be shown again (the secret and its encodings).
async fn sign_in(
    conn: &mut Conn,
    caps: &Caps,
    account: &str,
    credential: &Credential,
) -> Result<Vec<String>, UpError> {
    let secret = match credential {
        Credential::Token(t) => t.expose().to_string(),
        Credential::Password(p) => p.expose().to_string(),
    };
    let (line, what) = match credential {
        Credential::Token(t) => {
            if !caps.auth.iter().any(|m| m == "XOAUTH2") {
                return Err(UpError::SignIn(Reply::new(
                    504,
                    "5.7.4 the provider does not offer XOAUTH2 sign-in here",
                )));
            }
            (
                format!("AUTH XOAUTH2 {}\r\n", xoauth2_blob(account, t.expose())),
                "AUTH XOAUTH2 <hidden>",
            )
        }
        Credential::Password(p) => {
            let blob = base64::engine::general_purpose::STANDARD
                .encode(format!("\0{account}\0{}", p.expose()));
            (format!("AUTH PLAIN {blob}\r\n"), "AUTH PLAIN <hidden>")
        }
    };
    let blob = line
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    let secrets = vec![secret, blob];
    within(STEP, conn.write_hidden(&line, what)).await?;
    let mut r = within(STEP, conn.read_reply()).await?;
    if r.code == 334 {
        // Gmail's refusal comes as a 334 with JSON; the client answers with an empty line and
        // gets the 535.
        within(STEP, conn.write_hidden("\r\n", "<empty>")).await?;
        r = within(STEP, conn.read_reply()).await?;
    }
    if r.code == 235 {
        Ok(secrets)
    } else {
        Err(UpError::SignIn(hidden(&r, &secrets)))
    }
}
