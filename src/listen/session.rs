//! One connection to the copier check: a small SMTP server that records what the client did
//! and what it sent, and keeps nothing else. It answers 250 to a well-formed message and drops
//! it; it never relays, never writes to disk, and never keeps, shows or logs a password (it only
//! says whether it equals the one given, compared in constant time, and only over TLS).

use super::hello::{self, Hello};
use super::wire::{Io, Rewind, Wire};
use super::{Attachment, AuthFacts, Connection, TlsFacts};
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;

/// What one connection may do.
#[derive(Clone)]
pub struct Limits {
    /// Silence allowed between commands.
    pub idle: Duration,
    /// Message bytes kept in memory to read its parts (the rest is only counted).
    pub keep: usize,
    /// The password to compare with, if any (from step 1 or `--password-env`).
    pub password: Option<crate::secrets::AppPassword>,
}

const GREETING: &str =
    "220 scanmail-check ESMTP ScanMail copier check: nothing sent here is delivered";

/// Serves one connection to its end and returns what it saw.
pub async fn serve(
    io: Box<dyn Io>,
    peer: String,
    implicit: bool,
    tls: Arc<rustls::ServerConfig>,
    limits: &Limits,
) -> Connection {
    let mut c = Connection::new(peer);
    let mut wire = Wire::new(io);
    if implicit {
        c.tls.mode = "implicit".into();
        match upgrade(wire, &tls, &mut c, limits.idle).await {
            Some(w) => wire = w,
            None => return c,
        }
    }
    match tokio::time::timeout(limits.idle, wire.say(&[GREETING])).await {
        Ok(Ok(())) => {}
        _ => return c.ended("The connection closed before the greeting."),
    }
    let mut secure = implicit;
    loop {
        let line = match tokio::time::timeout(limits.idle, wire.line()).await {
            Err(_) => {
                return c.ended(&format!(
                    "The client stopped talking for {} seconds, so ScanMail closed the connection.",
                    limits.idle.as_secs()
                ));
            }
            Ok(Err(_)) => {
                return c.ended("The connection broke off (or sent a line far too long).");
            }
            Ok(Ok(None)) => return c.ended("The client closed the connection."),
            Ok(Ok(Some(l))) => l,
        };
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let verb = verb.to_ascii_uppercase();
        let said = match verb.as_str() {
            "EHLO" | "HELO" => {
                c.ehlo = Some(clean(rest.trim()));
                let mut lines = vec![
                    "250 scanmail-check at your service",
                    "250 SIZE 157286400",
                    "250 8BITMIME",
                ];
                lines.push(if secure {
                    "250 AUTH PLAIN LOGIN"
                } else {
                    "250 STARTTLS"
                });
                wire.say(&lines).await
            }
            "STARTTLS" if !secure => {
                if wire.say(&["220 2.0.0 Ready to start TLS"]).await.is_err() {
                    return c.ended("The connection broke off at STARTTLS.");
                }
                c.tls.mode = "starttls".into();
                match upgrade(wire, &tls, &mut c, limits.idle).await {
                    Some(w) => {
                        wire = w;
                        secure = true;
                        continue;
                    }
                    None => return c,
                }
            }
            "AUTH" if !secure => {
                c.notes.push("The client tried to sign in before encryption; ScanMail refused and kept nothing.".into());
                wire.say(&["530 5.7.0 Must issue a STARTTLS command first"])
                    .await
            }
            "AUTH" => match auth(&mut wire, rest, limits).await {
                Some(facts) => {
                    c.auth = Some(facts);
                    wire.say(&["235 2.7.0 Accepted (ScanMail copier check)"])
                        .await
                }
                None => {
                    wire.say(&["501 5.5.2 Sign-in data could not be read"])
                        .await
                }
            },
            "MAIL" => {
                c.mail_from = Some(address(rest));
                wire.say(&["250 2.1.0 OK"]).await
            }
            "RCPT" => {
                c.rcpt_to.push(address(rest));
                wire.say(&["250 2.1.5 OK (recorded, never delivered)"])
                    .await
            }
            "DATA" => {
                if wire.say(&["354 Go ahead"]).await.is_err() {
                    return c.ended("The connection broke off at DATA.");
                }
                match tokio::time::timeout(limits.idle * 10, wire.body(limits.keep)).await {
                    Ok(Ok((size, kept))) => {
                        c.size_bytes = Some(size);
                        read_parts(&mut c, &kept, size);
                        c.notes.push("ScanMail received the message, measured it and threw it away: nothing was delivered.".into());
                        wire.say(&["250 2.0.0 Received and discarded by ScanMail's copier check"])
                            .await
                    }
                    _ => return c.ended("The message did not finish arriving."),
                }
            }
            "RSET" | "NOOP" => wire.say(&["250 2.0.0 OK"]).await,
            "QUIT" => {
                let _ = wire.say(&["221 2.0.0 Bye"]).await;
                return c.ended("The client said goodbye.");
            }
            _ => {
                wire.say(&["502 5.5.1 Not a command ScanMail's check knows"])
                    .await
            }
        };
        if said.is_err() {
            return c.ended("The connection broke off.");
        }
    }
}

/// Reads the raw ClientHello (describing it), then hands the stream to the TLS acceptor.
async fn upgrade(
    mut wire: Wire,
    tls: &Arc<rustls::ServerConfig>,
    c: &mut Connection,
    idle: Duration,
) -> Option<Wire> {
    let read = async {
        wire.want(5).await.ok()?;
        let need = hello::record_len(&wire.buf)?;
        wire.want(need).await.ok()?;
        Some(hello::parse(&wire.buf[..need.min(wire.buf.len())]))
    };
    match tokio::time::timeout(idle, read).await {
        Ok(Some(Some(h))) => set_hello(&mut c.tls, h),
        Ok(Some(None)) => c
            .notes
            .push("The client's TLS hello could not be read.".into()),
        Ok(None) => {
            c.tls.handshake = "failed".into();
            *c = std::mem::take(c)
                .ended("The client did not start TLS (it sent something else, or nothing).");
            return None;
        }
        Err(_) => {
            c.tls.handshake = "failed".into();
            *c = std::mem::take(c).ended("The client never started TLS.");
            return None;
        }
    }
    let stream = Rewind::new(std::mem::take(&mut wire.buf), wire.io);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.clone());
    match tokio::time::timeout(idle, acceptor.accept(stream)).await {
        Ok(Ok(s)) => {
            c.tls.handshake = "ok".into();
            Some(Wire::new(Box::new(s)))
        }
        Ok(Err(e)) => {
            c.tls.handshake = "failed".into();
            *c = std::mem::take(c).ended(&format!(
                "The TLS handshake failed ({}): ScanMail, like today's mail providers, only speaks TLS 1.2 and 1.3 with current ciphers.",
                clean(&e.to_string())
            ));
            None
        }
        Err(_) => {
            c.tls.handshake = "failed".into();
            *c = std::mem::take(c).ended("The TLS handshake did not finish in time.");
            None
        }
    }
}

fn set_hello(t: &mut TlsFacts, h: Hello) {
    t.offered_versions = h.offered_versions;
    t.highest_version = h.highest_version;
    t.sni = h.sni;
    t.cipher_suites = Some(h.cipher_suites);
    t.modern_cipher = Some(h.modern_cipher);
}

/// AUTH PLAIN (with or without an initial response) or LOGIN. The user is kept; the password
/// is compared (constant time) and dropped.
async fn auth(wire: &mut Wire, rest: &str, limits: &Limits) -> Option<AuthFacts> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts = rest.split_whitespace();
    let mechanism = parts.next()?.to_ascii_uppercase();
    let (user, password) = match mechanism.as_str() {
        "PLAIN" => {
            let data = match parts.next() {
                Some(d) => d.to_string(),
                None => {
                    wire.say(&["334 "]).await.ok()?;
                    wire.line().await.ok()??
                }
            };
            let raw = b64.decode(data.trim()).ok()?;
            let mut fields = raw.split(|&b| b == 0);
            let _authz = fields.next()?;
            (fields.next()?.to_vec(), fields.next()?.to_vec())
        }
        "LOGIN" => {
            wire.say(&["334 VXNlcm5hbWU6"]).await.ok()?;
            let user = b64.decode(wire.line().await.ok()??.trim()).ok()?;
            wire.say(&["334 UGFzc3dvcmQ6"]).await.ok()?;
            let pw = b64.decode(wire.line().await.ok()??.trim()).ok()?;
            (user, pw)
        }
        _ => return None,
    };
    let password_matches = limits.password.as_ref().map(|expected| {
        use subtle::ConstantTimeEq;
        bool::from(expected.expose().as_bytes().ct_eq(&password))
    });
    drop(password);
    Some(AuthFacts {
        mechanism,
        user: clean(&String::from_utf8_lossy(&user)),
        password_matches,
    })
}

/// The address inside `FROM:<x>` / `TO:<x>`.
fn address(rest: &str) -> String {
    let inner = rest
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map_or(rest, |(a, _)| a);
    clean(
        inner
            .trim()
            .trim_start_matches("FROM:")
            .trim_start_matches("TO:"),
    )
}

/// Control characters out (these strings reach a terminal and a window), 320 characters at most.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(320).collect()
}

/// The message's attachments (type and decoded size) and its From header, read with
/// `mail-parser` from the bytes kept.
fn read_parts(c: &mut Connection, kept: &[u8], size: u64) {
    use mail_parser::MimeHeaders;
    let Some(msg) = mail_parser::MessageParser::default().parse(kept) else {
        c.notes
            .push("The message could not be read as an email.".into());
        return;
    };
    c.from_header = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(clean);
    for part in msg.attachments() {
        let kind = part.content_type().map_or_else(
            || "application/octet-stream".to_string(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            },
        );
        c.attachments.push(Attachment {
            kind: clean(&kind),
            bytes: part.contents().len() as u64,
        });
    }
    if (kept.len() as u64) < size {
        c.notes.push(format!(
            "The message was {} bytes; ScanMail read the parts of the first {} bytes only.",
            size,
            kept.len()
        ));
    }
}
