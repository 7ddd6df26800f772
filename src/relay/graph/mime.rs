//! The copier's message made right for Microsoft Graph, which has no envelope and takes its
//! recipients from the message's own To, Cc and Bcc: every envelope recipient must be in one of
//! them (a copier's Bcc-only or envelope-only recipient is added as Bcc), and no address may stay
//! there that the copier did not give as an envelope recipient (Graph would deliver to it). The
//! header section is rewritten only when it must be; the rest goes on byte for byte. For the
//! draft path, the message's parts: subject, body, Reply-To, and attachments with their names,
//! types and bytes (mail-parser decodes them).

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use std::collections::BTreeSet;

/// Who the message goes to, as Graph will read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipients {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    /// Addresses in the header that were not envelope recipients (taken out).
    pub dropped: Vec<String>,
}

fn addresses(a: Option<&Address<'_>>) -> Vec<String> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|x| x.address())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The addresses of every field called `name` (a message may carry a field more than once; the
/// provider may read any of them).
fn all(m: &mail_parser::Message<'_>, name: &str) -> Vec<String> {
    m.header_values(name)
        .filter_map(|v| match v {
            HeaderValue::Address(a) => Some(addresses(Some(a))),
            _ => None,
        })
        .flatten()
        .collect()
}

fn key(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// Fields that name recipients: every one is taken out of a message for Graph and To, Cc and
/// Bcc are written again from the envelope.
const RECIPIENT_FIELDS: [&[u8]; 6] = [
    b"to",
    b"cc",
    b"bcc",
    b"resent-to",
    b"resent-cc",
    b"resent-bcc",
];

/// The recipients Graph must get for `message` sent to `envelope`: the copier's To and Cc (every
/// field of each) as far as they are envelope recipients, and every other envelope recipient as
/// Bcc.
pub fn recipients(message: &[u8], envelope: &[String]) -> Recipients {
    let parsed = MessageParser::default().parse_headers(message);
    let env: BTreeSet<String> = envelope.iter().map(|e| key(e)).collect();
    let (to, cc, rest) = parsed.as_ref().map_or_else(
        || (Vec::new(), Vec::new(), Vec::new()),
        |m| {
            let mut rest = all(m, "Bcc");
            for f in ["Resent-To", "Resent-Cc", "Resent-Bcc"] {
                rest.extend(all(m, f));
            }
            (all(m, "To"), all(m, "Cc"), rest)
        },
    );
    let mut r = Recipients::default();
    let mut placed = BTreeSet::new();
    for (list, out) in [(&to, &mut r.to), (&cc, &mut r.cc)] {
        for a in list {
            if !env.contains(&key(a)) {
                r.dropped.push(a.clone());
            } else if placed.insert(key(a)) {
                out.push(a.clone());
            }
        }
    }
    for a in &rest {
        if !env.contains(&key(a)) {
            r.dropped.push(a.clone());
        }
    }
    for e in envelope {
        if placed.insert(key(e)) {
            r.bcc.push(e.trim().to_string());
        }
    }
    r
}

/// Where the header section ends (just after its blank line), or the whole message.
fn header_end(m: &[u8]) -> usize {
    if m.starts_with(b"\r\n") {
        return 2;
    }
    m.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(m.len(), |i| i + 4)
}

/// The message with every recipient field (each To, Cc, Bcc and Resent-* field, however many)
/// taken out and To, Cc and Bcc written from `r`: Graph sends to exactly these. The body goes on
/// byte for byte (line ends are CR LF already: the relay's header reader made them so).
pub fn with_recipients(message: &[u8], r: &Recipients) -> Vec<u8> {
    let end = header_end(message);
    let (head, body) = message.split_at(end);
    let fields = crate::relay::headers::fields(head);
    let name = crate::relay::headers::field_name;
    let mut out = Vec::with_capacity(message.len() + 256);
    for f in &fields {
        let n = name(f);
        if f.trim_ascii().is_empty() || RECIPIENT_FIELDS.contains(&n.as_slice()) {
            continue;
        }
        out.extend_from_slice(f);
    }
    for (field, list) in [("To", &r.to), ("Cc", &r.cc), ("Bcc", &r.bcc)] {
        if !list.is_empty() {
            out.extend_from_slice(format!("{field}: {}\r\n", list.join(", ")).as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// One attachment, as the copier sent it (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub inline: bool,
    pub content_id: Option<String>,
}

/// The parts of a message for a Graph draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    pub subject: String,
    /// The body and whether it is HTML.
    pub body: String,
    pub html: bool,
    pub reply_to: Vec<String>,
    pub attachments: Vec<Attachment>,
}

/// The message's parts, or `None` when it cannot be read as an email.
pub fn parts(message: &[u8]) -> Option<Parts> {
    let m = MessageParser::default().parse(message)?;
    let (body, html) = match m.body_text(0) {
        Some(t) => (t.into_owned(), false),
        None => (
            m.body_html(0)
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default(),
            true,
        ),
    };
    let attachments = m
        .attachments()
        .enumerate()
        .map(|(i, a)| {
            let content_type = a.content_type().map_or_else(
                || "application/octet-stream".to_string(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                },
            );
            let inline = a
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
            Attachment {
                name: a
                    .attachment_name()
                    .map_or_else(|| format!("attachment-{}", i + 1), str::to_string),
                content_type,
                bytes: a.contents().to_vec(),
                inline,
                content_id: a.content_id().map(str::to_string),
            }
        })
        .collect();
    Some(Parts {
        subject: m.subject().unwrap_or_default().to_string(),
        body,
        html,
        reply_to: addresses(m.reply_to()),
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn every_envelope_recipient_is_in_the_header_and_no_stranger() {
        let msg = b"From: a@lab.example\r\nTo: \"Me\" <me@lab.example>, boss@lab.example\r\nSubject: x\r\n\r\nbody\r\n";
        // boss is in To but was not an envelope recipient; hidden@ was only in the envelope.
        let r = recipients(msg, &env(&["ME@lab.example", "hidden@lab.example"]));
        assert_eq!(r.to, ["me@lab.example"]);
        assert_eq!(r.bcc, ["hidden@lab.example"]);
        assert_eq!(r.dropped, ["boss@lab.example"]);
        let out = String::from_utf8(with_recipients(msg, &r)).unwrap();
        assert!(out.contains("To: me@lab.example\r\n"), "{out}");
        assert!(out.contains("Bcc: hidden@lab.example\r\n"), "{out}");
        assert!(!out.contains("boss@"), "{out}");
        assert!(
            out.ends_with("\r\n\r\nbody\r\n") && out.contains("Subject: x\r\n"),
            "{out}"
        );
        // A Bcc-only copier: no To at all.
        let bcc_only = b"From: a@lab.example\r\nSubject: y\r\n\r\nb\r\n";
        let r = recipients(bcc_only, &env(&["x@lab.example"]));
        assert_eq!(
            (r.to.len(), r.bcc.as_slice()),
            (0, &["x@lab.example".to_string()][..])
        );
        // Headers that already match the envelope: To and Cc as they were.
        let exact = b"To: me@lab.example\r\nCc: you@lab.example\r\n\r\nb";
        let r = recipients(exact, &env(&["you@lab.example", "me@lab.example"]));
        assert_eq!(with_recipients(exact, &r), exact.to_vec());
    }

    #[test]
    fn a_second_field_cannot_smuggle_a_recipient() {
        // mail-parser reads the last To: the first one must not reach Graph either.
        let msg = b"To: outsider@evil.example\r\nTo: me@lab.example\r\nBcc: other@evil.example\r\nResent-To: x@evil.example\r\nCc: boss\r\nSubject: s\r\n\r\nb\r\n";
        let r = recipients(msg, &env(&["me@lab.example"]));
        assert!(
            r.dropped.iter().any(|d| d == "outsider@evil.example"),
            "{r:?}"
        );
        let out = String::from_utf8(with_recipients(msg, &r)).unwrap();
        assert!(
            !out.contains("evil.example") && !out.contains("boss"),
            "{out}"
        );
        assert!(
            out.contains("To: me@lab.example\r\n") && out.contains("Subject: s\r\n"),
            "{out}"
        );
    }

    #[test]
    fn a_scans_parts_come_out_whole() {
        use base64::Engine;
        let pdf: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
        let msg = format!(
            "From: c@lab.example\r\nReply-To: c@lab.example\r\nSubject: Scan 42\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npage 1\r\n--b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        );
        let p = parts(msg.as_bytes()).unwrap();
        assert_eq!(p.subject, "Scan 42");
        assert_eq!(p.body.trim_end(), "page 1");
        assert_eq!(p.reply_to, ["c@lab.example"]);
        assert_eq!(p.attachments.len(), 1);
        assert_eq!(p.attachments[0].name, "scan.pdf");
        assert_eq!(p.attachments[0].content_type, "application/pdf");
        assert_eq!(p.attachments[0].bytes, pdf);
    }
}
