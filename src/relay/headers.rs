//! The From header, rewritten on the way through: Microsoft 365 refuses mail whose From is not
//! the signed-in mailbox (550 5.7.60), and a copier's From is often the copier itself. The header
//! section is held (at most 64 KB) until its end; every From and Sender field goes and one
//! `From:` with the relay's account takes the first From's place; the original is kept as
//! Reply-To when the message has none and it named someone else; the body then streams on
//! untouched. A header section too long to check is refused, never passed on unchecked.
//!
//! Line ends are made CR LF first (a bare CR or a bare LF becomes CR LF), as the dot-stuffer
//! sends them on: the fields the rewriter sees are the fields the provider reads, so no
//! `Subject: x<CR>From: ceo@...` can hide a second From inside one line.

/// Header bytes held at most; a header section longer than this passes on unchanged.
pub const MAX_HEADER: usize = 64 * 1024;

#[derive(Debug)]
pub struct Rewriter {
    /// `Some(account)` to rewrite; `None` passes everything on.
    account: Option<String>,
    held: Vec<u8>,
    /// How far `held` was already searched for the header's end (no quadratic rescans).
    scanned: usize,
    /// A CR was the last byte seen; whether an LF follows is still to come.
    pending_cr: bool,
    /// Line ends made CR LF, reused between chunks.
    norm: Vec<u8>,
    done: bool,
    /// The header section was longer than [`MAX_HEADER`]: the message must not go on.
    pub too_long: bool,
}

impl Rewriter {
    pub fn new(account: Option<String>) -> Self {
        Self {
            done: account.is_none(),
            account,
            held: Vec::new(),
            scanned: 0,
            pending_cr: false,
            norm: Vec::new(),
            too_long: false,
        }
    }

    /// Takes body bytes (unstuffed); appends what may go on now to `out`, line ends CR LF.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.too_long {
            return;
        }
        let mut norm = std::mem::take(&mut self.norm);
        norm.clear();
        self.normalize(bytes, &mut norm);
        self.take(&norm, out);
        self.norm = norm;
    }

    /// Bare CR and bare LF become CR LF; a CR at the end of a chunk waits for the next byte.
    fn normalize(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        out.reserve(bytes.len() + 2);
        for &b in bytes {
            if self.pending_cr {
                self.pending_cr = false;
                out.extend_from_slice(b"\r\n");
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => out.extend_from_slice(b"\r\n"),
                _ => out.push(b),
            }
        }
    }

    fn take(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.done {
            out.extend_from_slice(bytes);
            return;
        }
        self.held.extend_from_slice(bytes);
        let from = self.scanned.saturating_sub(3);
        self.scanned = self.held.len();
        if let Some(end) = find_end(&self.held, from) {
            let rest = self.held.split_off(end);
            let head = std::mem::take(&mut self.held);
            out.extend_from_slice(&self.rewrite(&head));
            out.extend_from_slice(&rest);
            self.done = true;
        } else if self.held.len() > MAX_HEADER {
            self.held = Vec::new();
            self.too_long = true;
            self.done = true;
        }
    }

    /// The end of the message: whatever is still held (a message of headers only).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        if self.too_long {
            return;
        }
        if std::mem::take(&mut self.pending_cr) {
            self.take(b"\r\n", out);
        }
        if !self.done {
            let head = std::mem::take(&mut self.held);
            out.extend_from_slice(&self.rewrite(&head));
            self.done = true;
        }
    }

    /// The header section with From (and Sender) rewritten. It works on bytes: every field
    /// it does not rewrite goes on exactly as the copier sent it, whatever its character set
    /// (a Latin-1 or Shift_JIS subject is the copier's own words, never turned into U+FFFD).
    fn rewrite(&self, head: &[u8]) -> Vec<u8> {
        let Some(account) = &self.account else {
            return head.to_vec();
        };
        let fields = fields(head);
        let name = field_name;
        let has_reply_to = fields.iter().any(|f| name(f) == b"reply-to");
        let mut out: Vec<u8> = Vec::with_capacity(head.len() + 64);
        let mut replaced = false;
        for f in &fields {
            let n = name(f);
            if n == b"sender" {
                // The account sends; no one else is named as sender.
                continue;
            }
            if n != b"from" {
                out.extend_from_slice(f);
                continue;
            }
            if replaced {
                // Every later From goes: one message, one sender.
                continue;
            }
            replaced = true;
            let original = f
                .iter()
                .position(|&b| b == b':')
                .map_or(&[][..], |i| &f[i + 1..])
                .trim_ascii();
            out.extend_from_slice(format!("From: {account}\r\n").as_bytes());
            let same = only_address(&String::from_utf8_lossy(original))
                .is_some_and(|a| a.eq_ignore_ascii_case(account));
            if !same && !has_reply_to && !original.is_empty() {
                out.extend_from_slice(b"Reply-To: ");
                out.extend_from_slice(&one_line(original));
                out.extend_from_slice(b"\r\n");
            }
        }
        if !replaced {
            // No From at all: the message gets the account's, before the blank line.
            let at = out
                .windows(4)
                .rposition(|w| w == b"\r\n\r\n")
                .map_or(out.len(), |i| i + 2);
            let from = format!("From: {account}\r\n");
            out.splice(at..at, from.into_bytes());
        }
        out
    }
}

/// The one address in a header value (`Name <a@b>` or `a@b`), when it holds exactly one.
/// The header section's fields, each with its folded continuation lines, as bytes.
pub fn fields(head: &[u8]) -> Vec<Vec<u8>> {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in head.split_inclusive(|&b| b == b'\n') {
        let folded = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        match fields.last_mut() {
            Some(last) if folded => last.extend_from_slice(line),
            _ => fields.push(line.to_vec()),
        }
    }
    fields
}

/// A field's name, lower case ("Subject: x" gives "subject").
pub fn field_name(f: &[u8]) -> Vec<u8> {
    f.split(|&b| b == b':')
        .next()
        .unwrap_or_default()
        .trim_ascii()
        .to_ascii_lowercase()
}

fn only_address(v: &str) -> Option<String> {
    let v = v.trim();
    let inner = match (v.find('<'), v.rfind('>')) {
        (Some(i), Some(j)) if i < j && v.matches('<').count() == 1 => &v[i + 1..j],
        (None, None) => v,
        _ => return None,
    };
    let ok = inner.matches('@').count() == 1
        && !inner.contains([',', ';', ' ', '(', ')', '"', '<', '>']);
    ok.then(|| inner.to_string())
}

/// Unfolds a header value onto one line (no CR or LF can stay inside it), bytes kept.
fn one_line(v: &[u8]) -> Vec<u8> {
    v.split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(&b' ')
}

/// Where the header section ends (just after its blank line), if it has ended.
/// The end of the header section (line ends are CR LF by now), searching from `from`.
fn find_end(b: &[u8], from: usize) -> Option<usize> {
    if b.starts_with(b"\r\n") {
        return Some(2);
    }
    b.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| from + i + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(msg: &str, account: Option<&str>, chunk: usize) -> String {
        let mut r = Rewriter::new(account.map(str::to_string));
        let mut out = Vec::new();
        for c in msg.as_bytes().chunks(chunk) {
            r.feed(c, &mut out);
        }
        r.flush(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn other_character_sets_pass_byte_for_byte() {
        // A Latin-1 subject and a Shift_JIS display name, as old copiers send them unencoded.
        let mut msg: Vec<u8> = b"From: \"Kopierer Gr\xfcn\" <copier@lab.example>\r\nSubject: Scan f\xfcr Ren\xe9\r\nX-Name: \x83\x52\x83\x73\x81\x5b\r\n\r\nbody \xff\r\n".to_vec();
        let mut r = Rewriter::new(Some("scan@contoso.example".into()));
        let mut out = Vec::new();
        for c in msg.chunks(5) {
            r.feed(c, &mut out);
        }
        r.flush(&mut out);
        assert!(out.starts_with(b"From: scan@contoso.example\r\nReply-To: \"Kopierer Gr\xfcn\" <copier@lab.example>\r\n"));
        let tail = msg.split_off(msg.iter().position(|&b| b == b'\n').unwrap() + 1);
        assert!(out.ends_with(&tail), "{:?}", String::from_utf8_lossy(&out));
        assert!(!out.windows(3).any(|w| w == "\u{fffd}".as_bytes()));
    }

    #[test]
    fn from_becomes_the_account_and_the_original_a_reply_to() {
        let msg = "From: \"Copier 3F\" <copier@lab.example>\r\nTo: a@b.example\r\nSubject: Scan\r\n\r\nbody\r\nFrom: not a header\r\n";
        for chunk in [1, 3, 7, 1000] {
            let out = run(msg, Some("scan@contoso.example"), chunk);
            assert!(out.starts_with("From: scan@contoso.example\r\nReply-To: \"Copier 3F\" <copier@lab.example>\r\nTo: a@b.example"), "{out}");
            assert!(
                out.ends_with("\r\n\r\nbody\r\nFrom: not a header\r\n"),
                "{out}"
            );
        }
        // An existing Reply-To stays; a folded From is one field.
        let out = run("From: x@y\r\n z\r\nReply-To: r@y\r\n\r\nb", Some("a@c"), 2);
        assert_eq!(out, "From: a@c\r\nReply-To: r@y\r\n\r\nb");
        // Already the account: From is the bare account, no Reply-To. No rewriting: unchanged.
        assert_eq!(
            run("From: A <a@c>\r\n\r\nb", Some("a@c"), 4),
            "From: a@c\r\n\r\nb"
        );
        assert_eq!(run(msg, None, 5), msg);
        // A comment naming the account does not keep a forged From; a second From goes too.
        let forged = "From: ceo@c (a@c)\r\nFrom: boss@c\r\n\r\nb";
        assert_eq!(
            run(forged, Some("a@c"), 3),
            "From: a@c\r\nReply-To: ceo@c (a@c)\r\n\r\nb"
        );
        // A header section too long to check is refused, not passed on.
        let mut r = Rewriter::new(Some("a@c".into()));
        let mut out = Vec::new();
        r.feed(&vec![b'X'; MAX_HEADER + 10], &mut out);
        r.feed(b"\r\n\r\nbody", &mut out);
        assert!(r.too_long && out.is_empty());
        // A bare CR ends a line for the provider, so it ends one here: the From hidden after
        // it goes too, in any chunking; a Sender naming someone else goes as well.
        for chunk in [1, 2, 5, 100] {
            assert_eq!(
                run(
                    "Subject: x\rFrom: ceo@c\nSender: boss@c\r\nFrom: copier@c\r\rbody\r.\r",
                    Some("a@c"),
                    chunk
                ),
                "Subject: x\r\nFrom: a@c\r\nReply-To: ceo@c\r\n\r\nbody\r\n.\r\n"
            );
        }
        // No From: one is added.
        assert_eq!(
            run("Subject: s\r\n\r\nb", Some("a@c"), 3),
            "Subject: s\r\nFrom: a@c\r\n\r\nb"
        );
    }
}
