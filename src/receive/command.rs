//! A command line from the client, parsed from its bytes into a [`Command`] with no I/O. Nothing
//! here slices a `str`: a line is bytes until the very end, where what is kept (a host name, an
//! address) is turned into text with any invalid UTF-8 replaced and control characters removed.
//! So no byte sequence a stranger sends can panic the parser (a property test feeds it any).

#![deny(clippy::string_slice, clippy::indexing_slicing)]

/// Longest address kept (RFC 5321: 256 for a path, 320 is more than any real one).
const ADDRESS: usize = 320;
/// Longest host name kept from EHLO.
const HOST: usize = 255;

/// One command, as far as the core needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// EHLO (`extended`) or HELO, with the name the client gave.
    Hello {
        extended: bool,
        name: String,
    },
    StartTls,
    /// AUTH with its mechanism (upper case) and the initial response, if any (still base64).
    Auth {
        mechanism: String,
        initial: Option<Vec<u8>>,
    },
    /// MAIL FROM with the address (may be empty: the null sender) and SIZE=, when given.
    Mail {
        from: String,
        size: Option<u64>,
    },
    /// MAIL whose arguments could not be read.
    BadMail,
    Rcpt {
        to: String,
    },
    /// RCPT whose arguments could not be read.
    BadRcpt,
    Data,
    Rset,
    Noop,
    Quit,
    /// A verb the core does not know (VRFY, EXPN, BDAT, random bytes...).
    Unknown,
}

/// Parses one command line (without its line end).
pub fn parse(line: &[u8]) -> Command {
    let (verb, rest) = split_verb(line);
    if verb.eq_ignore_ascii_case(b"EHLO") || verb.eq_ignore_ascii_case(b"HELO") {
        return Command::Hello {
            extended: verb.eq_ignore_ascii_case(b"EHLO"),
            name: text(rest.trim_ascii(), HOST),
        };
    }
    if verb.eq_ignore_ascii_case(b"MAIL") {
        return mail_from(rest).map_or(Command::BadMail, |(from, size)| Command::Mail {
            from,
            size,
        });
    }
    if verb.eq_ignore_ascii_case(b"RCPT") {
        return angle(rest, b"TO:").map_or(Command::BadRcpt, |to| Command::Rcpt { to });
    }
    if verb.eq_ignore_ascii_case(b"AUTH") {
        let mut words = rest
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty());
        let mechanism = text(words.next().unwrap_or_default(), 40).to_ascii_uppercase();
        let initial = words.next().map(<[u8]>::to_vec);
        return Command::Auth { mechanism, initial };
    }
    let only = |name: &[u8], c: Command| verb.eq_ignore_ascii_case(name).then_some(c);
    only(b"STARTTLS", Command::StartTls)
        .or_else(|| only(b"DATA", Command::Data))
        .or_else(|| only(b"RSET", Command::Rset))
        .or_else(|| only(b"NOOP", Command::Noop))
        .or_else(|| only(b"QUIT", Command::Quit))
        .unwrap_or(Command::Unknown)
}

/// The verb (up to the first space) and the rest of the line after it.
fn split_verb(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (
            line.get(..i).unwrap_or_default(),
            line.get(i + 1..).unwrap_or_default(),
        ),
        None => (line, &[]),
    }
}

/// Bytes from the network as text to keep: invalid UTF-8 replaced, control characters out, at
/// most `max` characters.
fn text(bytes: &[u8], max: usize) -> String {
    super::clean(&String::from_utf8_lossy(bytes), max)
}

/// `rest` without `prefix` (compared without regard to ASCII case), or `None`.
fn strip_prefix_ignore_case<'a>(rest: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = rest.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| rest.get(prefix.len()..).unwrap_or_default())
}

/// The address inside `TO:<x>` (or `TO:x`), leniently: spaces around it are allowed.
pub fn angle(rest: &[u8], prefix: &[u8]) -> Option<String> {
    let rest = strip_prefix_ignore_case(rest.trim_ascii_start(), prefix)?.trim_ascii_start();
    let inner = match rest.strip_prefix(b"<") {
        Some(r) => {
            let close = r.iter().position(|&b| b == b'>')?;
            r.split_at(close).0
        }
        None => rest
            .split(u8::is_ascii_whitespace)
            .next()
            .unwrap_or_default(),
    };
    Some(text(inner.trim_ascii(), ADDRESS))
}

/// The address in `FROM:<x> SIZE=n` and the SIZE parameter, if any.
pub fn mail_from(rest: &[u8]) -> Option<(String, Option<u64>)> {
    let from = angle(rest, b"FROM:")?;
    let params = match rest.iter().rposition(|&b| b == b'>') {
        Some(i) => rest.get(i + 1..).unwrap_or_default(),
        None => &[],
    };
    let size = params.split(u8::is_ascii_whitespace).find_map(|p| {
        let v = strip_prefix_ignore_case(p, b"SIZE=")?;
        std::str::from_utf8(v).ok()?.parse::<u64>().ok()
    });
    Some((from, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_and_size_are_read_leniently() {
        assert_eq!(
            mail_from(b"FROM:<a@b.example> SIZE=1200 BODY=8BITMIME"),
            Some(("a@b.example".into(), Some(1200)))
        );
        assert_eq!(mail_from(b"from: <>"), Some((String::new(), None)));
        assert_eq!(mail_from(b"TO:<a@b>"), None);
        assert_eq!(angle(b"To:x@y.example", b"TO:"), Some("x@y.example".into()));
        assert_eq!(
            angle("TO:<x\u{7f}\u{9b}@y>".as_bytes(), b"TO:"),
            Some("x@y".into())
        );
    }

    #[test]
    fn lines_that_once_panicked_are_plain_refusals() {
        // "€" is three bytes: the old parser sliced a str at byte 5, inside the second one.
        assert_eq!(parse("MAIL €€".as_bytes()), Command::BadMail);
        assert_eq!(parse("RCPT €".as_bytes()), Command::BadRcpt);
        assert_eq!(
            parse("RCPT TO:€€".as_bytes()),
            Command::Rcpt {
                to: "€€".into()
            }
        );
        assert_eq!(parse(b"MAIL \xff\xfe\xfd\xfc\xfb\xfa"), Command::BadMail);
        assert_eq!(parse("€HLO x".as_bytes()), Command::Unknown);
        assert_eq!(parse(b""), Command::Unknown);
    }

    #[test]
    fn verbs_are_read_without_regard_to_case() {
        assert_eq!(
            parse(b"ehlo copier.lab"),
            Command::Hello {
                extended: true,
                name: "copier.lab".into()
            }
        );
        assert_eq!(parse(b"StartTLS"), Command::StartTls);
        assert_eq!(
            parse(b"AUTH plain AGEAYg=="),
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some(b"AGEAYg==".to_vec())
            }
        );
        assert_eq!(
            parse(b"AUTH LOGIN"),
            Command::Auth {
                mechanism: "LOGIN".into(),
                initial: None
            }
        );
        assert_eq!(parse(b"DATAX"), Command::Unknown);
        assert_eq!(parse(b"quit"), Command::Quit);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        /// Any bytes at all: a command, never a panic; what is kept has no control character.
        #[test]
        fn any_bytes_parse(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            match parse(&line) {
                Command::Hello { name: s, .. } | Command::Rcpt { to: s } | Command::Mail { from: s, .. }
                | Command::Auth { mechanism: s, .. } => {
                    proptest::prop_assert!(!s.chars().any(char::is_control));
                }
                _ => {}
            }
        }

        /// Lines made of real verbs followed by any text, multi-byte characters included.
        #[test]
        fn verbs_with_any_text(verb in "(MAIL|RCPT|AUTH|EHLO|HELO|mail|rcpt) ?(FROM:|TO:)?<?", rest in "\\PC{0,24}") {
            let line = format!("{verb}{rest}");
            let _ = parse(line.as_bytes());
        }
    }
}
