//! One connection in plain words (the command line's block, the window's list).

use super::Connection;

/// One connection in plain words.
pub fn describe(c: &Connection) -> String {
    let mut s = format!("From {}", c.peer);
    if let Some(e) = &c.ehlo {
        s += &format!(" (it calls itself {e})");
    }
    s += "\n";
    let t = &c.tls;
    s += &match t.mode.as_str() {
        "none" => "  Encryption: none\n".to_string(),
        mode => format!(
            "  Encryption: {} ({}), offered {}, {} cipher suites{}; handshake {}\n",
            if mode == "implicit" {
                "SSL/TLS"
            } else {
                "STARTTLS"
            },
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
        ),
    };
    match &c.auth {
        Some(a) => {
            s += &format!("  Sign-in: {} as {}", a.mechanism, a.user);
            match a.password_matches {
                Some(true) => s += " (the password matches)",
                Some(false) => s += " (the password does NOT match the one given)",
                None => {}
            }
            s += "\n";
        }
        None => s += "  Sign-in: none\n",
    }
    if let Some(f) = &c.mail_from {
        let to = if c.rcpt_to.is_empty() {
            "no one yet".to_string()
        } else {
            c.rcpt_to.join(", ")
        };
        s += &format!("  From: {f}  To: {to}\n");
    }
    if let Some(n) = c.size_bytes {
        s += &format!("  Message: {n} bytes");
        for a in &c.attachments {
            s += &format!("; {} {} bytes", a.kind, a.bytes);
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
    for n in &c.notes {
        s += &format!("  {n}\n");
    }
    s + "\n"
}
