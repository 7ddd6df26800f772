//! One connection to the copier check, as a [`Handler`] of the receiving core: it records what
//! the client did and what it sent, and keeps nothing else. It answers 250 to a well-formed
//! message and drops it; it never relays, never writes to disk, and never keeps, shows or logs
//! a password (it only says whether it equals the one given, compared in constant time).

use super::{AuthFacts, Connection};
use crate::receive::{self, DataEnd, End, Handler, Held, Login, Reply, TlsOutcome, hello::Hello};
use crate::secrets::AppPassword;

/// Notes kept per connection, at most.
const MAX_NOTES: usize = 12;
/// Recipients kept per connection, at most (the core refuses more than its own limit anyway).
const MAX_RCPTS: usize = 100;

const GREETING: &str = "scanmail-check ESMTP ScanMail copier check: nothing sent here is delivered";

/// The copier check's side of one connection.
pub struct Check {
    c: Connection,
    password: Option<AppPassword>,
    /// Message bytes kept to read the parts (the rest is only counted).
    keep: usize,
    kept: Vec<u8>,
    held: Held,
    /// The kept bytes stopped early because the shared budget ran out.
    starved: bool,
}

impl Check {
    pub fn new(
        peer: String,
        implicit: bool,
        password: Option<AppPassword>,
        keep: usize,
        budget: receive::Budget,
    ) -> Self {
        let mut c = Connection::new(peer);
        if implicit {
            c.tls.mode = "implicit".into();
        }
        Self {
            c,
            password,
            keep,
            kept: Vec::new(),
            held: Held::new(budget),
            starved: false,
        }
    }

    fn push_note(&mut self, what: &str) {
        if self.c.notes.len() < MAX_NOTES && !self.c.notes.iter().any(|n| n == what) {
            self.c.notes.push(what.to_string());
        }
    }

    fn drop_message(&mut self) {
        self.kept = Vec::new();
        self.held.release();
    }
}

impl Handler for Check {
    type Output = Connection;

    fn greeting(&self) -> String {
        GREETING.into()
    }

    fn hello(&mut self, hello: Option<Hello>) {
        if self.c.tls.mode == "none" {
            self.c.tls.mode = "starttls".into();
        }
        match hello {
            Some(h) => {
                let t = &mut self.c.tls;
                t.offered_versions = h.offered_versions;
                t.highest_version = h.highest_version;
                t.sni = h.sni.map(|s| receive::clean(&s, 255));
                t.cipher_suites = Some(h.cipher_suites);
                t.modern_cipher = Some(h.modern_cipher);
            }
            None => self.push_note("The client's TLS hello could not be read."),
        }
    }

    fn tls(&mut self, outcome: TlsOutcome) {
        if self.c.tls.mode == "none" && outcome != TlsOutcome::AtOnce {
            self.c.tls.mode = "starttls".into();
        }
        match outcome {
            TlsOutcome::Ok { version, cipher } => {
                self.c.tls.handshake = "ok".into();
                self.c.tls.version = Some(version);
                self.c.tls.cipher = Some(cipher);
            }
            TlsOutcome::Failed(why) => {
                self.c.tls.handshake = "failed".into();
                self.c.tls.failure = Some(why);
                self.push_note("The encryption did not start: the copier and ScanMail found no TLS version and cipher they both speak (ScanMail, like today's mail providers, speaks only TLS 1.2 and 1.3).");
            }
            TlsOutcome::NotTls => {
                self.c.tls.handshake = "failed".into();
                self.push_note(
                    "The client did not start the encryption (it sent something else, or nothing).",
                );
            }
            TlsOutcome::TimedOut => {
                self.c.tls.handshake = "failed".into();
                self.push_note("The client never finished starting the encryption.");
            }
            TlsOutcome::AtOnce => {
                self.c.tls.mode = "implicit".into();
                self.c.tls.handshake = "failed".into();
                self.c.tls.at_once = true;
                self.push_note("The copier started encryption at once (it is set to SSL/TLS), but this port expects STARTTLS.");
            }
        }
    }

    fn ehlo(&mut self, name: &str) {
        self.c.ehlo = Some(receive::clean(name, 255));
    }

    fn note(&mut self, what: &str) {
        self.push_note(what);
    }

    async fn auth(&mut self, login: Login) -> Reply {
        let password_matches = self.password.as_ref().map(|expected| {
            use subtle::ConstantTimeEq;
            bool::from(
                expected
                    .expose()
                    .as_bytes()
                    .ct_eq(login.password.expose().as_bytes()),
            )
        });
        self.c.auth = Some(AuthFacts {
            mechanism: login.mechanism,
            user: login.user,
            password_matches,
        });
        drop(login.password);
        Reply::new(235, "2.7.0 Accepted (ScanMail copier check)")
    }

    async fn mail(&mut self, from: &str) -> Reply {
        self.c.mail_from = Some(from.to_string());
        Reply::ok("2.1.0 OK")
    }

    async fn rcpt(&mut self, to: &str) -> Reply {
        if self.c.rcpt_to.len() < MAX_RCPTS {
            self.c.rcpt_to.push(to.to_string());
        }
        Reply::ok("2.1.5 OK (recorded, never delivered)")
    }

    async fn data(&mut self) -> Reply {
        self.drop_message();
        self.starved = false;
        Reply::new(354, "Go ahead")
    }

    async fn chunk(&mut self, bytes: &[u8]) {
        let room = self.keep.saturating_sub(self.kept.len());
        let take = room.min(bytes.len());
        if take == 0 || self.starved {
            return;
        }
        if self.held.take(take) {
            self.kept.extend_from_slice(&bytes[..take]);
        } else {
            self.starved = true;
        }
    }

    async fn end(&mut self, how: DataEnd) -> Reply {
        match how {
            DataEnd::Complete { size } => {
                self.c.size_bytes = Some(size);
                let kept = std::mem::take(&mut self.kept);
                super::parts::read_parts(&mut self.c, &kept, size);
                if self.starved {
                    self.push_note("ScanMail was receiving much at once, so it read only the start of this message.");
                }
                self.push_note("ScanMail received the message, measured it and threw it away: nothing was delivered.");
                self.drop_message();
                Reply::ok("2.0.0 Received and discarded by ScanMail's copier check")
            }
            DataEnd::LineTooLong => {
                self.drop_message();
                self.push_note("The message had a line longer than 1000 bytes, which mail servers refuse (500 5.5.2).");
                Reply::new(500, "5.5.2 Line too long")
            }
            DataEnd::TooBig => {
                self.drop_message();
                self.push_note("The message was bigger than the check takes (150 MB).");
                Reply::new(552, "5.3.4 Too big")
            }
        }
    }

    async fn reset(&mut self) {
        self.drop_message();
    }

    async fn finish(mut self, end: End) -> Connection {
        self.drop_message();
        let why = match end {
            End::Quit => "The client said goodbye.",
            End::Closed => "The client closed the connection.",
            End::Silent => "The client stopped talking, so ScanMail closed the connection.",
            End::NotReading => {
                "The client stopped reading ScanMail's answers, so ScanMail closed the connection."
            }
            End::LineTooLong => {
                "The client sent a line far too long, so ScanMail closed the connection."
            }
            End::TooManyErrors => {
                "The client made too many mistakes, so ScanMail closed the connection."
            }
            End::TooLong => "The connection stayed open too long, so ScanMail closed it.",
            End::NoTls => "",
            End::Stopped => "The check ended while this connection was still open: it was cut.",
            End::Refused => "ScanMail closed the connection.",
            End::Broken => "The connection broke off.",
        };
        if !why.is_empty() {
            self.push_note(why);
        }
        self.c.cut = end == End::Stopped;
        self.c
    }
}
