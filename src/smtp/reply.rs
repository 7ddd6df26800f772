//! SMTP replies: parsing one reply out of the lines a server sent.

use serde::{Serialize, Serializer};
use std::fmt;

/// The longest line we accept. RFC 5321 allows 512 octets; real servers stay well inside it.
pub const MAX_LINE: usize = 4096;
/// The most lines one reply may have (EHLO lists are the longest, about 15 lines).
pub const MAX_LINES: usize = 200;

/// One complete reply from the server, possibly spread over several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The enhanced status code (RFC 3463), such as `5.7.8`, when the server sent one.
    pub enhanced: Option<String>,
    /// The text of each line, without the code, the separator or the enhanced code.
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// All the text on one line, for matching and for showing.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True when the text contains `needle`, ignoring case.
    pub fn mentions(&self, needle: &str) -> bool {
        self.text()
            .to_ascii_lowercase()
            .contains(&needle.to_ascii_lowercase())
    }

    /// Replaces every occurrence of `secret` in the text. Used so that a server that echoes what
    /// it was sent cannot make us show the password.
    pub fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        for line in &mut self.lines {
            if line.contains(secret) {
                *line = line.replace(secret, "<hidden>");
            }
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = &self.enhanced {
            write!(f, " {e}")?;
        }
        let text = self.text();
        if !text.is_empty() {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// What a single line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line of a reply; `last` is true for the final line.
    Part { code: u16, last: bool, text: String },
    /// Not an SMTP reply line at all.
    Garbage(String),
}

/// Parses one line (without its CR LF).
pub fn parse_line(raw: &[u8]) -> Line {
    let s = String::from_utf8_lossy(raw);
    let s = s.trim_end_matches(['\r', '\n']);
    let b = s.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&b[0]) {
        return Line::Garbage(controls_hidden(s));
    }
    let code: u16 = s[..3].parse().unwrap_or(0);
    match b.get(3) {
        None => Line::Part {
            code,
            last: true,
            text: String::new(),
        },
        Some(b' ') => Line::Part {
            code,
            last: true,
            text: s[4..].to_string(),
        },
        Some(b'-') => Line::Part {
            code,
            last: false,
            text: s[4..].to_string(),
        },
        Some(_) => Line::Garbage(controls_hidden(s)),
    }
}

/// Builds a reply from its lines; fails when the lines disagree about the code.
pub fn assemble(parts: Vec<(u16, String)>) -> Result<Reply, String> {
    let code = parts.first().map_or(0, |p| p.0);
    if let Some((other, _)) = parts.iter().find(|p| p.0 != code) {
        return Err(format!(
            "The server's reply changed its code midway ({code} then {other})."
        ));
    }
    let mut enhanced = None;
    let lines = parts
        .into_iter()
        .map(|(_, text)| {
            let (e, rest) = split_enhanced(&text);
            if enhanced.is_none() {
                enhanced = e;
            }
            rest
        })
        .collect();
    Ok(Reply {
        code,
        enhanced,
        lines,
    })
}

/// Splits `5.7.8 Username and...` into the enhanced code and the rest.
fn split_enhanced(text: &str) -> (Option<String>, String) {
    let (first, rest) = match text.split_once(' ') {
        Some((a, b)) => (a, b),
        None => (text, ""),
    };
    let parts: Vec<&str> = first.split('.').collect();
    let looks_enhanced = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()));
    if looks_enhanced {
        (Some(first.to_string()), rest.to_string())
    } else {
        (None, text.to_string())
    }
}

/// Makes text from a server safe to show: control characters become `?`, long text is cut.
pub fn printable(s: &str) -> String {
    cut(&controls_hidden(s))
}

/// `s` with control characters replaced by `?` (nothing a server sends can steer a terminal).
pub fn controls_hidden(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// At most 200 characters, marked with `…` when cut. Cut only after redaction, so a secret that
/// straddles the cut cannot leave a prefix behind.
pub fn cut(s: &str) -> String {
    if s.chars().count() <= 200 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(200).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(lines: &[&str]) -> Reply {
        let parts = lines
            .iter()
            .map(|l| match parse_line(l.as_bytes()) {
                Line::Part { code, text, .. } => (code, text),
                Line::Garbage(g) => panic!("garbage: {g}"),
            })
            .collect();
        assemble(parts).unwrap()
    }

    #[test]
    fn gmail_multiline_reply_reads_as_one_sentence() {
        let r = reply(&[
            "535-5.7.8 Username and Password not accepted. For more information, go to",
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials a1-20020a gsmtp",
        ]);
        assert_eq!(r.code, 535);
        assert_eq!(r.enhanced.as_deref(), Some("5.7.8"));
        assert_eq!(
            r.to_string(),
            "535 5.7.8 Username and Password not accepted. For more information, go to \
             https://support.google.com/mail/?p=BadCredentials a1-20020a gsmtp"
        );
    }

    #[test]
    fn lines_without_enhanced_codes_keep_their_words() {
        let r = reply(&["220 smtp.example.test ESMTP ready"]);
        assert_eq!(r.enhanced, None);
        assert_eq!(r.text(), "smtp.example.test ESMTP ready");
        assert!(r.mentions("esmtp"));
    }

    #[test]
    fn last_line_markers() {
        assert_eq!(
            parse_line(b"250-PIPELINING\r\n"),
            Line::Part {
                code: 250,
                last: false,
                text: "PIPELINING".into()
            }
        );
        assert!(matches!(parse_line(b"250"), Line::Part { last: true, .. }));
        assert!(matches!(parse_line(b"HTTP/1.1 400"), Line::Garbage(_)));
        assert!(matches!(parse_line(b"250xfoo"), Line::Garbage(_)));
        assert!(matches!(parse_line(b"999 nope"), Line::Garbage(_)));
        assert!(matches!(parse_line(b"\x16\x03\x01"), Line::Garbage(_)));
    }

    #[test]
    fn mixed_codes_are_an_error() {
        assert!(assemble(vec![(250, "a".into()), (550, "b".into())]).is_err());
    }

    #[test]
    fn redaction_removes_a_secret() {
        let mut r = reply(&["535 5.7.8 bad password s3cret-echo"]);
        r.redact("s3cret-echo");
        assert!(!r.to_string().contains("s3cret-echo"));
        assert!(r.to_string().contains("<hidden>"));
    }

    #[test]
    fn printable_strips_controls_and_cuts() {
        assert_eq!(printable("a\u{1b}[31mb"), "a?[31mb");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }
}
