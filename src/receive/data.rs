//! The body of `DATA` as it arrives: finds the lone "." line that ends it and undoes
//! dot-stuffing, in one pass over each chunk (linear time, nothing buffered but the state of the
//! current line), and holds every line to a length limit without ever keeping the line.
//!
//! Only CR LF "." CR LF ends a body. A bare LF ends a line for the length limit but never starts
//! one for the end-of-data dot, so a body cannot end one way here and another way at the server
//! the relay passes it to (SMTP smuggling).

/// Where the decoder is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line (also the start of the body).
    LineStart,
    /// A "." at the start of a line: stuffing, or the end of the body.
    Dot,
    /// ".\r" at the start of a line.
    DotCr,
    /// Inside a line.
    InLine,
}

/// The streaming decoder of one message body.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    at: At,
    /// Bytes of the current line so far (its CR included, its LF not).
    line: usize,
    /// Longest line allowed, in bytes before its LF (RFC 5321: 1000 with CR LF, so 999 here).
    max_line: usize,
    /// A line was longer than `max_line`. From then on nothing more is passed on.
    pub too_long: bool,
    /// Bytes passed on (after unstuffing).
    pub size: u64,
    /// The last byte seen was a CR.
    last_cr: bool,
}

impl DataDecoder {
    /// `max_line_with_crlf`: the longest line allowed counting its CR LF (1000 in RFC 5321).
    pub fn new(max_line_with_crlf: usize) -> Self {
        Self {
            at: At::LineStart,
            line: 0,
            max_line: max_line_with_crlf.saturating_sub(1).max(1),
            too_long: false,
            size: 0,
            last_cr: false,
        }
    }

    /// Decodes `input`, appending the body's bytes (unstuffed, line ends as sent) to `out`.
    /// Returns `Some(n)` when the end-of-data line ended at `input[n - 1]` (the bytes after it
    /// are the next command), `None` when the body goes on.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let mut i = 0;
        while i < input.len() {
            match self.at {
                At::LineStart => {
                    if input[i] == b'.' {
                        self.at = At::Dot;
                        i += 1;
                    } else {
                        self.at = At::InLine;
                    }
                }
                At::Dot => {
                    if input[i] == b'\r' {
                        self.at = At::DotCr;
                        i += 1;
                    } else {
                        // Stuffing: the dot is dropped, the line goes on.
                        self.line += 1;
                        self.last_cr = false;
                        self.at = At::InLine;
                    }
                }
                At::DotCr => {
                    if input[i] == b'\n' {
                        return Some(i + 1);
                    }
                    // ".\rX": the dot was stuffing and the CR is content.
                    self.push(b"\r", out);
                    self.line += 2;
                    self.last_cr = true;
                    self.at = At::InLine;
                }
                At::InLine => {
                    let rest = &input[i..];
                    match rest.iter().position(|&b| b == b'\n') {
                        Some(n) => {
                            self.line += n;
                            self.check_line();
                            self.push(&rest[..=n], out);
                            let crlf = if n == 0 {
                                self.last_cr
                            } else {
                                rest[n - 1] == b'\r'
                            };
                            self.line = 0;
                            self.last_cr = false;
                            // Only CR LF starts a line where a dot counts.
                            self.at = if crlf { At::LineStart } else { At::InLine };
                            i += n + 1;
                        }
                        None => {
                            self.line += rest.len();
                            self.check_line();
                            self.push(rest, out);
                            self.last_cr = rest.last() == Some(&b'\r');
                            i = input.len();
                        }
                    }
                }
            }
        }
        None
    }

    fn check_line(&mut self) {
        if self.line > self.max_line {
            self.too_long = true;
        }
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if !self.too_long {
            out.extend_from_slice(bytes);
            self.size += bytes.len() as u64;
        }
    }
}

/// Dot-stuffing for sending a body on (the relay): every line end goes out as CR LF (a bare LF
/// and a bare CR both become CR LF), and a "." at the start of a line gets a second one. So a
/// server that reads a bare CR or LF as a line end sees the same lines, and the same end, as
/// ScanMail did: nothing can be smuggled past the end of a message.
#[derive(Debug, Clone, Default)]
pub struct DotStuffer {
    mid_line: bool,
    /// A CR was seen and its LF (or not) is still to come.
    pending_cr: bool,
}

impl DotStuffer {
    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            out.extend_from_slice(b"\r\n");
            self.mid_line = false;
            if b == b'\n' {
                return;
            }
        }
        match b {
            b'\r' => self.pending_cr = true,
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                self.mid_line = false;
            }
            _ => {
                if !self.mid_line && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                self.mid_line = true;
            }
        }
    }

    /// Appends `input`, stuffed, to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 64 + 2);
        for &b in input {
            self.byte(b, out);
        }
    }

    /// The end-of-data line, after a CR LF if the body did not end with one.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            out.extend_from_slice(b"\r\n");
            self.mid_line = false;
        }
        if self.mid_line {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_chunks(input: &[u8], chunk: usize) -> (Vec<u8>, Option<usize>, bool) {
        let mut d = DataDecoder::new(1000);
        let mut out = Vec::new();
        let mut at = 0;
        for c in input.chunks(chunk.max(1)) {
            if let Some(n) = d.feed(c, &mut out) {
                return (out, Some(at + n), d.too_long);
            }
            at += c.len();
        }
        (out, None, d.too_long)
    }

    #[test]
    fn ends_at_the_lone_dot_and_unstuffs_in_any_chunking() {
        let wire = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n";
        for chunk in 1..wire.len() {
            let (out, end, long) = decode_in_chunks(wire, chunk);
            assert_eq!(out, b"Subject: x\r\n\r\n.leading dot\r\n", "chunk {chunk}");
            assert_eq!(end, Some(wire.len() - 6), "chunk {chunk}");
            assert!(!long);
        }
    }

    #[test]
    fn an_empty_body_ends_and_bare_line_feeds_never_end() {
        assert_eq!(decode_in_chunks(b".\r\n", 3).1, Some(3));
        for chunk in 1..6 {
            assert_eq!(decode_in_chunks(b"a\n.\n", chunk).1, None);
            let (out, end, _) = decode_in_chunks(b"a\n.\r\nb\r\n.\r\n", chunk);
            assert_eq!((out.as_slice(), end), (&b"a\n.\r\nb\r\n"[..], Some(11)));
        }
        // ".\rX" is a stuffed line holding a CR, not the end.
        let (out, end, _) = decode_in_chunks(b".\rX\r\n.\r\n", 2);
        assert_eq!((out.as_slice(), end), (&b"\rX\r\n"[..], Some(8)));
    }

    #[test]
    fn a_line_over_1000_bytes_is_flagged_and_not_kept() {
        let mut wire = vec![b'a'; 998];
        wire.extend_from_slice(b"\r\n");
        let (out, _, long) = decode_in_chunks(&wire, 7);
        assert!(!long, "998 + CR LF is allowed");
        assert_eq!(out.len(), 1000);
        let mut wire = vec![b'a'; 5000];
        wire.extend_from_slice(b"\r\nnext\r\n.\r\n");
        let (out, end, long) = decode_in_chunks(&wire, 4096);
        assert!(long);
        assert!(out.len() <= 4096, "stopped keeping: {}", out.len());
        assert_eq!(end, Some(wire.len()));
    }

    #[test]
    fn stuffing_undoes_decoding() {
        let body = b".a\r\nb\n..c\r\n.";
        let mut s = DotStuffer::default();
        let mut wire = Vec::new();
        s.feed(body, &mut wire);
        s.finish(&mut wire);
        assert_eq!(wire, b"..a\r\nb\r\n...c\r\n..\r\n.\r\n");
        let (out, end, _) = decode_in_chunks(&wire, 3);
        assert_eq!(out, b".a\r\nb\r\n..c\r\n.\r\n");
        assert_eq!(end, Some(wire.len()));
        // A bare CR is a line end on the way out: "x\r.\r\n" cannot end the message early.
        let mut s = DotStuffer::default();
        let mut wire = Vec::new();
        s.feed(b"x\r.\r\nMAIL FROM:<a@b>\r\n", &mut wire);
        s.finish(&mut wire);
        assert_eq!(wire, b"x\r\n..\r\nMAIL FROM:<a@b>\r\n.\r\n");
        let (out, end, _) = decode_in_chunks(&wire, 3);
        assert_eq!(out, b"x\r\n.\r\nMAIL FROM:<a@b>\r\n");
        assert_eq!(end, Some(wire.len()));
    }

    proptest::proptest! {
        #[test]
        fn stuffed_bodies_come_back_whole(body in proptest::collection::vec(
            proptest::sample::select(vec![b'.', b'\r', b'\n', b'a', b'b']), 0..400),
            chunk in 1usize..50) {
            let mut s = DotStuffer::default();
            let mut wire = Vec::new();
            s.feed(&body, &mut wire);
            s.finish(&mut wire);
            let (out, end, _) = decode_in_chunks(&wire, chunk);
            proptest::prop_assert_eq!(end, Some(wire.len()));
            // What comes back is the body with every line end CR LF, each line's stuffed dot
            // gone, and a final CR LF; and no bare CR or LF is left anywhere.
            let lines: Vec<&[u8]> = wire[..wire.len() - 3].split(|&b| b == b'\n').collect();
            let mut unstuffed = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == lines.len() {
                    proptest::prop_assert!(l.is_empty(), "every line ends in CR LF");
                    break;
                }
                proptest::prop_assert_eq!(l.last(), Some(&b'\r'));
                proptest::prop_assert!(!l[..l.len() - 1].contains(&b'\r'), "no bare CR");
                unstuffed.extend_from_slice(l.strip_prefix(b".").unwrap_or(l));
                unstuffed.push(b'\n');
            }
            proptest::prop_assert_eq!(out, unstuffed);
        }
    }
}
