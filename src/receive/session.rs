//! One connection's SMTP conversation. The core answers what is the same for every feature
//! (EHLO, STARTTLS, the order of commands, every limit); the [`Handler`] decides the rest.
//! Commands come parsed from bytes ([`super::command`]); TLS is in [`super::tls`], the sign-in
//! exchange in [`super::auth`]. Every deadline is checked before each command, so a client that
//! always has bytes waiting is held to them as well as one that trickles.

use super::command::{self, Command};
use super::handler::{End, Handler, Login, Reply, TlsOutcome};
use super::message::{data, ehlo_reply};
use super::slots::Slot;
use super::wire::{Cut, Wire};
use super::{Budget, Limits, Stop, tls};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What a connection needs from the server.
#[derive(Clone)]
pub struct Setup {
    pub limits: Limits,
    pub tls: Arc<rustls::ServerConfig>,
    pub budget: Budget,
}

/// Serves one connection to its end. `implicit`: TLS from the first byte. `slot`: the
/// connection's place, told when the client signs in.
pub async fn serve<H: Handler>(
    io: Box<dyn super::wire::Io>,
    stop: tokio::sync::watch::Receiver<Stop>,
    implicit: bool,
    setup: &Setup,
    mut h: H,
    slot: Option<&Slot>,
) -> (H::Output, End) {
    let end = conversation(io, stop, implicit, setup, &mut h, slot).await;
    (h.finish(end).await, end)
}

/// The state of one conversation.
pub(super) struct Talk<'a> {
    pub wire: Wire,
    pub limits: &'a Limits,
    /// The end of the connection's life.
    pub deadline: Instant,
    pub secure: bool,
    mail: bool,
    rcpts: usize,
    pub errors: usize,
    /// The first bytes after the greeting were looked at (TLS at once on a STARTTLS port?).
    looked: bool,
    /// Until when the client may take to sign in (when the feature asks for it).
    sign_in_by: Option<Instant>,
    /// The client signed in (and has not started TLS since): a second AUTH is refused.
    signed_in: bool,
    slot: Option<&'a Slot>,
}

impl Talk<'_> {
    /// The time a read may wait: the limit, or what is left of the connection's life (or of
    /// the time to sign in).
    pub fn within(&self, limit: Duration) -> Duration {
        self.by()
            .saturating_duration_since(Instant::now())
            .min(limit)
    }

    /// The earlier of the connection's end and the time to sign in.
    fn by(&self) -> Instant {
        self.sign_in_by
            .map_or(self.deadline, |s| s.min(self.deadline))
    }

    pub fn ended(&self, cut: Cut) -> End {
        match cut {
            Cut::Closed => End::Closed,
            Cut::TimedOut if Instant::now() >= self.deadline => End::TooLong,
            Cut::TimedOut => End::Silent,
            Cut::TooLong => End::LineTooLong,
            Cut::Stopped => End::Stopped,
            Cut::Broken => End::Broken,
        }
    }

    pub async fn say(&mut self, r: &Reply) -> Result<(), End> {
        let lines = r.lines();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.wire.say(&refs).await.map_err(|c| match c {
            Cut::TimedOut => End::NotReading,
            c => self.ended(c),
        })
    }

    /// Says goodbye and closes gently.
    async fn goodbye(&mut self, r: &Reply, end: End) -> End {
        let _ = self.say(r).await;
        self.wire.linger().await;
        end
    }

    /// A deadline that has passed, with the goodbye said: checked before every command.
    async fn out_of_time(&mut self) -> Option<End> {
        let now = Instant::now();
        if now >= self.deadline {
            let r = Reply::new(421, "4.4.2 Connected too long, closing the connection");
            return Some(self.goodbye(&r, End::TooLong).await);
        }
        if self.sign_in_by.is_some_and(|by| now >= by) {
            let r = Reply::new(
                421,
                "4.4.2 Too long without signing in, closing the connection",
            );
            return Some(self.goodbye(&r, End::Silent).await);
        }
        None
    }

    /// Answers a refusal and counts it; past the limit, says goodbye. A 421 from the feature
    /// closes the connection (RFC 5321: the service is closing the channel).
    pub async fn refuse(&mut self, r: &Reply) -> Result<(), End> {
        if r.code == 421 {
            return Err(self.goodbye(r, End::Refused).await);
        }
        self.errors += 1;
        if self.errors > self.limits.max_errors {
            let r = Reply::new(421, "4.7.0 Too many errors, closing the connection");
            return Err(self.goodbye(&r, End::TooManyErrors).await);
        }
        self.say(r).await
    }

    fn new_envelope(&mut self) {
        self.mail = false;
        self.rcpts = 0;
    }
}

async fn conversation<H: Handler>(
    io: Box<dyn super::wire::Io>,
    stop: tokio::sync::watch::Receiver<Stop>,
    implicit: bool,
    setup: &Setup,
    h: &mut H,
    slot: Option<&Slot>,
) -> End {
    let limits = &setup.limits;
    let start = Instant::now();
    let mut t = Talk {
        wire: Wire::new(io, stop, limits.write),
        limits,
        deadline: start + limits.session,
        secure: false,
        mail: false,
        rcpts: 0,
        errors: 0,
        looked: implicit,
        sign_in_by: limits.sign_in_within.map(|d| start + d),
        signed_in: false,
        slot,
    };
    if implicit {
        let by = tls::deadline(t.by());
        match tls::upgrade(t.wire, setup, h, by).await {
            Ok(w) => t.wire = w,
            Err(e) => return e,
        }
        t.secure = true;
    }
    if let Err(e) = t.say(&Reply::new(220, h.greeting())).await {
        return e;
    }
    let idle = Reply::new(421, "4.4.2 Idle too long, closing the connection");
    loop {
        if t.wire.stopping(Stop::Drain) {
            let r = Reply::new(421, "4.3.2 The server is stopping, try again later");
            let _ = t.say(&r).await;
            return End::Stopped;
        }
        if let Some(end) = t.out_of_time().await {
            return end;
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
                        let _ = t.say(&idle).await;
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
                return t
                    .goodbye(&Reply::new(500, "5.5.2 Line too long"), End::LineTooLong)
                    .await;
            }
            Err(Cut::TimedOut) => {
                let end = t.ended(Cut::TimedOut);
                let _ = t.say(&idle).await;
                return end;
            }
            Err(c) => return t.ended(c),
        };
        if let Err(e) = command_step(&mut t, setup, h, command::parse(&line)).await {
            return e;
        }
    }
}

/// Answers one command. `Err` ends the connection.
async fn command_step<H: Handler>(
    t: &mut Talk<'_>,
    setup: &Setup,
    h: &mut H,
    cmd: Command,
) -> Result<(), End> {
    let limits = t.limits;
    match cmd {
        Command::Hello { extended, name } => {
            h.ehlo(&name);
            let r = ehlo_reply(extended, t.secure, h.plain_auth_allowed(), limits);
            t.new_envelope();
            h.reset().await;
            t.say(&r).await
        }
        Command::StartTls if t.secure => {
            t.refuse(&Reply::new(503, "5.5.1 TLS is already on")).await
        }
        Command::StartTls => {
            // Anything sent after STARTTLS and before our answer would be plaintext taken as if
            // it came over TLS (CVE-2011-0411): it is thrown away.
            let pipelined = t.wire.unread().len();
            t.wire.consume(pipelined);
            t.say(&Reply::new(220, "2.0.0 Ready to start TLS")).await?;
            let wire = std::mem::replace(&mut t.wire, Wire::closed());
            let by = tls::deadline(t.by());
            t.wire = tls::upgrade(wire, setup, h, by).await?;
            t.secure = true;
            t.new_envelope();
            // RFC 3207: what was said before TLS, a sign-in too, is forgotten.
            t.signed_in = false;
            if let Some(s) = t.slot {
                s.signed_out();
            }
            h.reset().await;
            Ok(())
        }
        Command::Auth { .. } if !t.secure && !h.plain_auth_allowed() => {
            h.note(
                "The client tried to sign in before encryption; ScanMail refused and kept nothing.",
            );
            h.plain_auth_refused();
            t.refuse(&Reply::new(
                538,
                "5.7.11 Encryption required: use STARTTLS first",
            ))
            .await
        }
        // RFC 4954: one sign-in per session.
        Command::Auth { .. } if t.signed_in => {
            t.refuse(&Reply::new(503, "5.5.1 Already signed in")).await
        }
        Command::Auth { mechanism, initial } => {
            match super::auth::read_login(t, &mechanism, initial.as_deref()).await? {
                Some(login) => {
                    let secure = t.secure;
                    let r = h.auth(Login { secure, ..login }).await;
                    if r.is_positive() {
                        t.sign_in_by = None;
                        t.signed_in = true;
                        if let Some(s) = t.slot {
                            s.signed_in();
                        }
                        t.say(&r).await
                    } else {
                        t.refuse(&r).await
                    }
                }
                None => {
                    t.refuse(&Reply::new(501, "5.5.2 Sign-in data could not be read"))
                        .await
                }
            }
        }
        Command::BadMail => {
            t.refuse(&Reply::new(501, "5.5.4 Syntax: MAIL FROM:<address>"))
                .await
        }
        Command::Mail { size: Some(s), .. } if s > limits.max_message_bytes => {
            t.refuse(&super::message::too_big_reply(limits)).await
        }
        Command::Mail { from, .. } => {
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
        Command::Rcpt { .. } | Command::BadRcpt if !t.mail => {
            t.refuse(&Reply::new(503, "5.5.1 MAIL first")).await
        }
        Command::Rcpt { .. } | Command::BadRcpt if t.rcpts >= limits.max_recipients => {
            t.refuse(&Reply::new(452, "4.5.3 Too many recipients"))
                .await
        }
        Command::BadRcpt => {
            t.refuse(&Reply::new(501, "5.5.4 Syntax: RCPT TO:<address>"))
                .await
        }
        Command::Rcpt { to } => {
            let r = h.rcpt(&to).await;
            if r.is_positive() {
                t.rcpts += 1;
                t.say(&r).await
            } else {
                t.refuse(&r).await
            }
        }
        Command::Data if !t.mail || t.rcpts == 0 => {
            t.refuse(&Reply::new(503, "5.5.1 MAIL and RCPT first"))
                .await
        }
        Command::Data if setup.budget.spent() => {
            t.say(&Reply::new(
                452,
                "4.3.1 Too busy right now, try again later",
            ))
            .await
        }
        Command::Data => {
            let r = data(t, h).await?;
            t.new_envelope();
            t.say(&r).await
        }
        Command::Rset => {
            t.new_envelope();
            h.reset().await;
            t.say(&Reply::ok("2.0.0 OK")).await
        }
        Command::Noop => t.say(&Reply::ok("2.0.0 OK")).await,
        Command::Quit => {
            let _ = t.say(&Reply::new(221, "2.0.0 Bye")).await;
            Err(End::Quit)
        }
        Command::Unknown => {
            t.refuse(&Reply::new(502, "5.5.1 Command not known here"))
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_one_line_each_without_control_characters() {
        let r = Reply::new(250, "a\nb\u{1b}[31m\r");
        assert_eq!(r.lines(), ["250 a", "250 b[31m"]);
    }
}
