//! One connection in plain words: the line that says ready or not, then what the copier did
//! (the main view), then the connection's details (behind Details in the window).

use super::Connection;

/// The main view: ready or not, and what the copier did, in plain words.
pub fn summary(c: &Connection) -> String {
    let mut s = String::new();
    if let Some(r) = &c.ready {
        s += &format!("{}\n", r.line);
    }
    s += &format!("From {}\n", c.peer);
    let t = &c.tls;
    let kind = if t.mode == "implicit" {
        "SSL/TLS"
    } else {
        "STARTTLS"
    };
    s += &match (t.mode.as_str(), t.handshake.as_str()) {
        ("none", _) => "  Encryption: no\n".to_string(),
        (_, "ok") => format!("  Encryption: yes ({kind})\n"),
        _ => format!("  Encryption: did not start ({kind})\n"),
    };
    match &c.auth {
        Some(a) => {
            s += &format!("  Signed in as {} with a password", a.user);
            match a.password_matches {
                Some(true) => s += " (the one you gave ScanMail)",
                Some(false) => s += " (NOT the one you gave ScanMail)",
                None => {}
            }
            s += "\n";
        }
        None => s += "  Signed in: no\n",
    }
    if let Some(f) = &c.mail_from {
        let to = if c.rcpt_to.is_empty() {
            "no one yet".to_string()
        } else {
            c.rcpt_to.join(", ")
        };
        s += &format!("  Sender: {f}  To: {to}\n");
    }
    if let Some(n) = c.size_bytes {
        s += &format!("  Scan: {}", size(n));
        if !c.attachments.is_empty() {
            let parts: Vec<String> = c
                .attachments
                .iter()
                .map(|a| {
                    if a.cut {
                        format!("{} about {}", a.kind, size(a.bytes))
                    } else {
                        format!("{} {}", a.kind, size(a.bytes))
                    }
                })
                .collect();
            s += &format!(" ({})", parts.join(", "));
        }
        s += "\n";
    }
    for v in &c.verdicts {
        let word = match v.ok {
            Some(true) => "will accept",
            Some(false) => "will refuse",
            None => "not sure",
        };
        s += &format!("  {}: {word}. {}\n", v.provider, v.why);
    }
    if c.cut {
        s += "  The check ended while the copier was still connected.\n";
    }
    s
}

/// The details: the copier's own name for itself, the encryption offered and agreed, the
/// sign-in method, the exact size, and how the connection ended.
pub fn details(c: &Connection) -> String {
    let mut s = String::new();
    if let Some(e) = &c.ehlo {
        s += &format!("  It calls itself (EHLO): {e}\n");
    }
    let t = &c.tls;
    if t.mode != "none" {
        s += &format!(
            "  TLS: {} offered ({}), {} cipher suites{}; handshake {}",
            t.highest_version.as_deref().unwrap_or("unknown version"),
            if t.offered_versions.is_empty() {
                "?".into()
            } else {
                t.offered_versions.join(", ")
            },
            t.cipher_suites.unwrap_or(0),
            if t.modern_cipher == Some(false) {
                ", none current"
            } else {
                ""
            },
            t.handshake
        );
        if let (Some(v), Some(cs)) = (&t.version, &t.cipher) {
            s += &format!(", agreed {v} {cs}");
        }
        if let Some(f) = &t.failure {
            s += &format!(" ({f})");
        }
        s += "\n";
        if let Some(n) = &t.sni {
            s += &format!("  Server name asked for (SNI): {n}\n");
        }
    }
    if let Some(a) = &c.auth {
        s += &format!("  Sign-in method: {}\n", a.mechanism);
    }
    if let Some(n) = c.size_bytes {
        s += &format!("  Message: {n} bytes\n");
    }
    for n in &c.notes {
        s += &format!("  {n}\n");
    }
    s
}

/// One connection in plain words, details included (the command line's block).
pub fn describe(c: &Connection) -> String {
    format!("{}  Details:\n{}\n", summary(c), indent(&details(c)))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if bytes >= 1_048_576 {
        format!("{:.1} MB", b / 1_048_576.0)
    } else if bytes >= 1024 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}
