//! The test message, built with lettre.

use super::Security;
use lettre::message::{Mailbox, Message, header::ContentType};

pub struct TestMessage<'a> {
    pub account: &'a str,
    pub recipient: &'a str,
    pub server: &'a str,
    pub port: u16,
    pub security: Security,
    pub token: &'a str,
    pub profile: Option<&'a str>,
    pub when: &'a str,
}

/// The message as it goes on the wire (before dot-stuffing). `None` when an address does not
/// parse, which validation has already ruled out.
pub fn build(m: &TestMessage<'_>) -> Option<Vec<u8>> {
    let from: Mailbox = m.account.trim().parse().ok()?;
    let to: Mailbox = m.recipient.trim().parse().ok()?;
    let domain = m
        .account
        .rsplit_once('@')
        .map_or("scanmail.invalid", |(_, d)| d.trim());
    let label = m.security.label();
    let profile = m.profile.unwrap_or("(no device profile)");
    let body = format!(
        "This is a test message from ScanMail.\r\n\
         \r\n\
         It was sent through {server} on port {port} with {label} security,\r\n\
         signed in as {account}, at {when}.\r\n\
         Device profile: {profile}\r\n\
         Test token: {token}\r\n\
         \r\n\
         A device set up with these settings can send email. You can delete this message.\r\n",
        server = m.server,
        port = m.port,
        account = m.account.trim(),
        when = m.when,
        token = m.token,
    );
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(format!(
            "ScanMail test: port {} with {label} works [{}]",
            m.port, m.token
        ))
        .date_now()
        .message_id(Some(format!(
            "<scanmail.{}.{}@{domain}>",
            m.token.to_ascii_lowercase(),
            m.port
        )))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .ok()?;
    Some(message.formatted())
}

/// Doubles a leading dot on every line and ends the data with `CRLF . CRLF` (RFC 5321 4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 8);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_the_required_headers() {
        let raw = build(&TestMessage {
            account: "lab-scanner@example.edu",
            recipient: "lab-scanner@example.edu",
            server: "smtp.gmail.com",
            port: 465,
            security: Security::Ssl,
            token: "K7QX2M",
            profile: Some("Warren 2nd floor"),
            when: "2026-11-27T10:00:00Z",
        })
        .unwrap();
        let text = String::from_utf8(raw).unwrap();
        for needle in [
            "From: lab-scanner@example.edu",
            "To: lab-scanner@example.edu",
            "Date: ",
            "Message-ID: <scanmail.k7qx2m.465@example.edu>",
            "Subject: ScanMail test: port 465 with SSL/TLS works [K7QX2M]",
            "Warren 2nd floor",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn dots_are_stuffed() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"x"), b"x\r\n.\r\n");
    }
}
