//! One connection's SMTP conversation. The core answers what is the same for every feature
//! (EHLO, STARTTLS, the order of commands, every limit); the [`Handler`] decides the rest.

use super::data::DataDecoder;
use super::hello::{self, Hello};
use super::wire::{Cut, Wire};
use super::{Budget, Limits, Stop};
use crate::secrets::AppPassword;
use base64::Engine;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

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

/// What a connection needs from the server.
#[derive(Clone)]
pub struct Setup {
    pub limits: Limits,
    pub tls: Arc<rustls::ServerConfig>,
    pub budget: Budget,
}

/// Serves one connection to its end. `implicit`: TLS from the first byte.
pub async fn serve<H: Handler>(
    io: Box<dyn super::wire::Io>,
    stop: tokio::sync::watch::Receiver<Stop>,
    implicit: bool,
    setup: &Setup,
    mut h: H,
) -> (H::Output, End) {
    let end = conversation(io, stop, implicit, setup, &mut h).await;
    (h.finish(end).await, end)
}

/// The state of one conversation.
struct Talk<'a> {
    wire: Wire,
    limits: &'a Limits,
    deadline: Instant,
    secure: bool,
    mail: bool,
    rcpts: usize,
    errors: usize,
    /// The first bytes after the greeting were looked at (TLS at once on a STARTTLS port?).
    looked: bool,
    /// Until when the client may take to sign in (when the feature asks for it).
    sign_in_by: Option<Instant>,
    /// The client signed in (and has not started TLS since): a second AUTH is refused.
    signed_in: bool,
}

impl Talk<'_> {
    /// The time a read may wait: the limit, or what is left of the connection's life (or of
    /// the time to sign in).
    fn within(&self, limit: Duration) -> Duration {
        let mut left = limit.min(self.deadline.saturating_duration_since(Instant::now()));
        if let Some(by) = self.sign_in_by {
            left = left.min(by.saturating_duration_since(Instant::now()));
        }
        left
    }

    fn ended(&self, cut: Cut) -> End {
        match cut {
            Cut::Closed => End::Closed,
            Cut::TimedOut if Instant::now() >= self.deadline => End::TooLong,
            Cut::TimedOut => End::Silent,
            Cut::TooLong => End::LineTooLong,
            Cut::Stopped => End::Stopped,
            Cut::Broken => End::Broken,
        }
    }

    async fn say(&mut self, r: &Reply) -> Result<(), End> {
        let lines = r.lines();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.wire.say(&refs).await.map_err(|c| match c {
            Cut::TimedOut => End::NotReading,
            c => self.ended(c),
        })
    }

    /// Answers a refusal and counts it; past the limit, says goodbye. A 421 from the feature
    /// closes the connection (RFC 5321: the service is closing the channel).
    async fn refuse(&mut self, r: &Reply) -> Result<(), End> {
        if r.code == 421 {
            let _ = self.say(r).await;
            self.wire.linger().await;
            return Err(End::Refused);
        }
        self.errors += 1;
        if self.errors > self.limits.max_errors {
            let _ = self
                .say(&Reply::new(
                    421,
                    "4.7.0 Too many errors, closing the connection",
                ))
                .await;
            self.wire.linger().await;
            return Err(End::TooManyErrors);
        }
        self.say(r).await
    }
}

async fn conversation<H: Handler>(
    io: Box<dyn super::wire::Io>,
    stop: tokio::sync::watch::Receiver<Stop>,
    implicit: bool,
    setup: &Setup,
    h: &mut H,
) -> End {
    let limits = &setup.limits;
    let mut t = Talk {
        wire: Wire::new(io, stop, limits.write),
        limits,
        deadline: Instant::now() + limits.session,
        secure: false,
        mail: false,
        rcpts: 0,
        errors: 0,
        looked: implicit,
        sign_in_by: limits.sign_in_within.map(|d| Instant::now() + d),
        signed_in: false,
    };
    if implicit {
        match upgrade(t.wire, setup, h, limits.data_idle).await {
            Ok(w) => t.wire = w,
            Err(e) => return e,
        }
        t.secure = true;
    }
    if let Err(e) = t.say(&Reply::new(220, h.greeting())).await {
        return e;
    }
    loop {
        if t.wire.stopping(Stop::Drain) {
            let _ = t
                .say(&Reply::new(
                    421,
                    "4.3.2 The server is stopping, try again later",
                ))
                .await;
            return End::Stopped;
        }
        if !t.looked {
            // A client set to SSL/TLS sends its TLS hello at once instead of EHLO.
            t.looked = true;
            if t.wire.unread().is_empty() {
                match t.wire.fill(t.within(limits.idle), Stop::Drain).await {
                    Ok(()) => {}
                    Err(Cut::Stopped) => continue,
                    Err(Cut::TimedOut) => {
                        let end = t.ended(Cut::TimedOut);
                        let _ = t
                            .say(&Reply::new(
                                421,
                                "4.4.2 Idle too long, closing the connection",
                            ))
                            .await;
                        return end;
                    }
                    Err(c) => return t.ended(c),
                }
            }
            if t.wire.unread().starts_with(&[0x16, 0x03]) {
                h.tls(TlsOutcome::AtOnce);
                return End::NoTls;
            }
        }
        let line = match t
            .wire
            .line(limits.command_line, t.within(limits.idle), Stop::Drain)
            .await
        {
            Ok(l) => l,
            Err(Cut::Stopped) => continue,
            Err(Cut::TooLong) => {
                let _ = t.say(&Reply::new(500, "5.5.2 Line too long")).await;
                t.wire.linger().await;
                return End::LineTooLong;
            }
            Err(Cut::TimedOut) => {
                let end = t.ended(Cut::TimedOut);
                let _ = t
                    .say(&Reply::new(
                        421,
                        "4.4.2 Idle too long, closing the connection",
                    ))
                    .await;
                return end;
            }
            Err(c) => return t.ended(c),
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        let step = match verb.as_str() {
            "EHLO" | "HELO" => {
                h.ehlo(rest.trim());
                let r = ehlo_reply(&verb, t.secure, h.plain_auth_allowed(), limits);
                t.mail = false;
                t.rcpts = 0;
                h.reset().await;
                t.say(&r).await
            }
            "STARTTLS" if t.secure => t.refuse(&Reply::new(503, "5.5.1 TLS is already on")).await,
            "STARTTLS" => {
                // Anything sent after STARTTLS and before our answer would be plaintext taken
                // as if it came over TLS (CVE-2011-0411): it is thrown away.
                let pipelined = t.wire.unread().len();
                t.wire.consume(pipelined);
                if let Err(e) = t.say(&Reply::new(220, "2.0.0 Ready to start TLS")).await {
                    return e;
                }
                match upgrade(t.wire, setup, h, limits.data_idle).await {
                    Ok(w) => t.wire = w,
                    Err(e) => return e,
                }
                t.secure = true;
                t.mail = false;
                t.rcpts = 0;
                // RFC 3207: what was said before TLS, a sign-in too, is forgotten.
                t.signed_in = false;
                h.reset().await;
                Ok(())
            }
            "AUTH" if !t.secure && !h.plain_auth_allowed() => {
                h.note("The client tried to sign in before encryption; ScanMail refused and kept nothing.");
                t.refuse(&Reply::new(
                    538,
                    "5.7.11 Encryption required: use STARTTLS first",
                ))
                .await
            }
            "AUTH" if t.signed_in => {
                // RFC 4954: one sign-in per session.
                t.refuse(&Reply::new(503, "5.5.1 Already signed in")).await
            }
            "AUTH" => match read_login(&mut t, rest).await {
                Ok(Some(login)) => {
                    let secure = t.secure;
                    let r = h.auth(Login { secure, ..login }).await;
                    if r.is_positive() {
                        t.sign_in_by = None;
                        t.signed_in = true;
                        t.say(&r).await
                    } else {
                        t.refuse(&r).await
                    }
                }
                Ok(None) => {
                    t.refuse(&Reply::new(501, "5.5.2 Sign-in data could not be read"))
                        .await
                }
                Err(e) => return e,
            },
            "MAIL" => match mail_from(rest) {
                None => {
                    t.refuse(&Reply::new(501, "5.5.4 Syntax: MAIL FROM:<address>"))
                        .await
                }
                Some((_, Some(size))) if size > limits.max_message_bytes => {
                    t.refuse(&Reply::new(552, "5.3.4 Message too big for this server"))
                        .await
                }
                Some((from, _)) => {
                    if t.mail {
                        h.reset().await;
                    }
                    let r = h.mail(&from).await;
                    t.mail = r.is_positive();
                    t.rcpts = 0;
                    if r.is_positive() {
                        t.say(&r).await
                    } else {
                        t.refuse(&r).await
                    }
                }
            },
            "RCPT" if !t.mail => t.refuse(&Reply::new(503, "5.5.1 MAIL first")).await,
            "RCPT" if t.rcpts >= limits.max_recipients => {
                t.refuse(&Reply::new(452, "4.5.3 Too many recipients"))
                    .await
            }
            "RCPT" => match angle(rest, "TO:") {
                None => {
                    t.refuse(&Reply::new(501, "5.5.4 Syntax: RCPT TO:<address>"))
                        .await
                }
                Some(to) => {
                    let r = h.rcpt(&to).await;
                    if r.is_positive() {
                        t.rcpts += 1;
                        t.say(&r).await
                    } else {
                        t.refuse(&r).await
                    }
                }
            },
            "DATA" if !t.mail || t.rcpts == 0 => {
                t.refuse(&Reply::new(503, "5.5.1 MAIL and RCPT first"))
                    .await
            }
            "DATA" if setup.budget.spent() => {
                t.say(&Reply::new(
                    452,
                    "4.3.1 Too busy right now, try again later",
                ))
                .await
            }
            "DATA" => match data(&mut t, h).await {
                Ok(r) => {
                    t.mail = false;
                    t.rcpts = 0;
                    t.say(&r).await
                }
                Err(e) => return e,
            },
            "RSET" => {
                t.mail = false;
                t.rcpts = 0;
                h.reset().await;
                t.say(&Reply::ok("2.0.0 OK")).await
            }
            "NOOP" => t.say(&Reply::ok("2.0.0 OK")).await,
            "QUIT" => {
                let _ = t.say(&Reply::new(221, "2.0.0 Bye")).await;
                return End::Quit;
            }
            _ => {
                t.refuse(&Reply::new(502, "5.5.1 Command not known here"))
                    .await
            }
        };
        if let Err(e) = step {
            return e;
        }
    }
}

fn ehlo_reply(verb: &str, secure: bool, plain_auth: bool, limits: &Limits) -> Reply {
    if verb == "HELO" {
        return Reply::ok("scanmail");
    }
    let mut lines = vec![
        "scanmail".to_string(),
        format!("SIZE {}", limits.max_message_bytes),
        "8BITMIME".into(),
        "PIPELINING".into(),
        "ENHANCEDSTATUSCODES".into(),
    ];
    if !secure {
        lines.push("STARTTLS".into());
    }
    if secure || plain_auth {
        lines.push("AUTH PLAIN LOGIN".into());
    }
    Reply::ok(lines.join("\n"))
}

/// The body of one message, passed to the handler piece by piece.
async fn data<H: Handler>(t: &mut Talk<'_>, h: &mut H) -> Result<Reply, End> {
    let go = h.data().await;
    if go.code != 354 {
        return Ok(go);
    }
    t.say(&go).await?;
    let mut decoder = DataDecoder::new(t.limits.data_line);
    let mut out = Vec::with_capacity(super::wire::READ_CHUNK);
    let mut too_big = false;
    loop {
        if !t.wire.unread().is_empty() {
            out.clear();
            let end = decoder.feed(t.wire.unread(), &mut out);
            let used = end.unwrap_or(t.wire.unread().len());
            t.wire.consume(used);
            if decoder.size > t.limits.max_message_bytes {
                too_big = true;
            }
            if !out.is_empty() && !too_big && !decoder.too_long {
                h.chunk(&out).await;
            }
            if end.is_some() {
                break;
            }
        }
        let limit = t.within(t.limits.data_idle);
        if let Err(c) = t.wire.fill(limit, Stop::Cut).await {
            return Err(t.ended(c));
        }
    }
    Ok(if decoder.too_long {
        h.end(DataEnd::LineTooLong).await;
        t.errors += 1;
        Reply::new(500, "5.5.2 Line too long (more than 1000 bytes)")
    } else if too_big {
        h.end(DataEnd::TooBig).await;
        Reply::new(552, "5.3.4 Message too big for this server")
    } else {
        h.end(DataEnd::Complete { size: decoder.size }).await
    })
}

/// AUTH PLAIN (with or without an initial response) or LOGIN. `Ok(None)`: unreadable.
async fn read_login(t: &mut Talk<'_>, rest: &str) -> Result<Option<Login>, End> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts = rest.split_whitespace();
    let mechanism = parts.next().unwrap_or("").to_ascii_uppercase();
    let answer = async |t: &mut Talk<'_>, prompt: &str| -> Result<Option<Vec<u8>>, End> {
        t.say(&Reply::new(334, prompt)).await?;
        let limit = t.within(t.limits.data_idle);
        let line = match t.wire.line(t.limits.command_line, limit, Stop::Cut).await {
            Ok(l) => l,
            Err(Cut::TooLong) => return Ok(None),
            Err(c) => return Err(t.ended(c)),
        };
        if line == b"*" {
            return Ok(None);
        }
        Ok(b64.decode(line.trim_ascii()).ok())
    };
    let (user, password) = match mechanism.as_str() {
        "PLAIN" => {
            let raw = match parts.next() {
                Some(d) => b64.decode(d.trim()).ok(),
                None => answer(t, "").await?,
            };
            let Some(raw) = raw else { return Ok(None) };
            let mut fields = raw.split(|&b| b == 0);
            let _authz = fields.next();
            match (fields.next(), fields.next()) {
                (Some(u), Some(p)) => (u.to_vec(), p.to_vec()),
                _ => return Ok(None),
            }
        }
        "LOGIN" => {
            let user = match parts.next() {
                Some(d) => b64.decode(d.trim()).ok(),
                None => answer(t, "VXNlcm5hbWU6").await?,
            };
            let Some(user) = user else { return Ok(None) };
            let Some(pw) = answer(t, "UGFzc3dvcmQ6").await? else {
                return Ok(None);
            };
            (user, pw)
        }
        _ => return Ok(None),
    };
    let password = AppPassword::new(String::from_utf8_lossy(&password).into_owned());
    Ok(Some(Login {
        mechanism,
        user: super::clean(&String::from_utf8_lossy(&user), 320),
        password,
        secure: t.secure,
    }))
}

/// The address in `FROM:<x> SIZE=n` and the SIZE parameter, if any.
fn mail_from(rest: &str) -> Option<(String, Option<u64>)> {
    let from = angle(rest, "FROM:")?;
    let size = rest
        .rsplit_once('>')
        .map_or("", |(_, p)| p)
        .split_whitespace()
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.eq_ignore_ascii_case("SIZE")
                .then(|| v.parse::<u64>().ok())?
        });
    Some((from, size))
}

/// The address inside `TO:<x>` (or `TO:x`).
fn angle(rest: &str, prefix: &str) -> Option<String> {
    let rest = rest.trim_start();
    if rest.len() < prefix.len() || !rest[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = rest[prefix.len()..].trim_start();
    let inner = match rest.strip_prefix('<') {
        Some(r) => r.split_once('>')?.0,
        None => rest.split_whitespace().next().unwrap_or(""),
    };
    Some(super::clean(inner.trim(), 320))
}

/// Reads the raw ClientHello (for the handler), then hands the stream to rustls.
async fn upgrade<H: Handler>(
    mut wire: Wire,
    setup: &Setup,
    h: &mut H,
    limit: Duration,
) -> Result<Wire, End> {
    let cut = |c: Cut| match c {
        Cut::Closed => End::Closed,
        Cut::Stopped => End::Stopped,
        Cut::TimedOut => End::Silent,
        _ => End::Broken,
    };
    let first = wire.want(5, limit).await;
    if let Err(c) = first {
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
    if let Err(c) = wire.want(need, limit).await {
        h.tls(TlsOutcome::NotTls);
        return Err(cut(c));
    }
    h.hello(hello::parse(&wire.unread()[..need]));
    let (stream, mut stop, write_limit) = wire.into_parts();
    let acceptor = tokio_rustls::TlsAcceptor::from(setup.tls.clone());
    let watch = stop.clone();
    let accepted = tokio::select! {
        r = tokio::time::timeout(limit, acceptor.accept(stream)) => r,
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
            h.tls(TlsOutcome::Failed(super::clean(&e.to_string(), 200)));
            Err(End::NoTls)
        }
        Err(_) => {
            h.tls(TlsOutcome::TimedOut);
            Err(End::NoTls)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_and_size_are_read_leniently() {
        assert_eq!(
            mail_from("FROM:<a@b.example> SIZE=1200 BODY=8BITMIME"),
            Some(("a@b.example".into(), Some(1200)))
        );
        assert_eq!(mail_from("from: <>"), Some((String::new(), None)));
        assert_eq!(mail_from("TO:<a@b>"), None);
        assert_eq!(angle("To:x@y.example", "TO:"), Some("x@y.example".into()));
        assert_eq!(angle("TO:<x\u{7f}\u{9b}@y>", "TO:"), Some("x@y".into()));
    }

    #[test]
    fn replies_are_one_line_each_without_control_characters() {
        let r = Reply::new(250, "a\nb\u{1b}[31m\r");
        assert_eq!(r.lines(), ["250 a", "250 b[31m"]);
    }
}
