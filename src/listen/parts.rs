//! The message's attachments (type and decoded size) and its From header, read with
//! `mail-parser` from the bytes kept.

use super::{Attachment, Connection};
use crate::receive::clean;

pub fn read_parts(c: &mut Connection, kept: &[u8], size: u64) {
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
        .map(|a| clean(a, 320));
    let cut_at = kept.len();
    let was_cut = (cut_at as u64) < size;
    for part in msg.attachments().take(50) {
        let kind = part.content_type().map_or_else(
            || "application/octet-stream".to_string(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            },
        );
        // A part that reaches the end of what was kept was cut: mail-parser then hands back
        // its raw (encoded) bytes, so its size is estimated from the whole message instead.
        let cut = was_cut && part.raw_end_offset() as usize + 256 >= cut_at;
        let bytes = if cut {
            let encoded = size.saturating_sub(u64::from(part.raw_body_offset()));
            decoded_estimate(
                encoded,
                part.content_transfer_encoding()
                    .is_some_and(|e| e.eq_ignore_ascii_case("base64")),
            )
        } else {
            part.contents().len() as u64
        };
        c.attachments.push(Attachment {
            kind: clean(&kind, 100),
            bytes,
            cut,
        });
    }
    if was_cut {
        c.notes.push(format!(
            "The message was {} bytes; ScanMail read the parts of the first {} bytes only, so the size of a part that goes past them is an estimate.",
            size,
            kept.len()
        ));
    }
}

/// The decoded size of `encoded` bytes of a part: base64 carries 57 bytes in each line of 76
/// characters and CR LF; quoted-printable and plain parts are counted as they are.
fn decoded_estimate(encoded: u64, base64: bool) -> u64 {
    if base64 {
        encoded / 78 * 57 + (encoded % 78).min(76) * 3 / 4
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 30 MiB PDF in a message cut at 4 MiB (the check keeps 40 MiB; smaller here): the part
    /// is reported at its decoded size, about 30 MiB, and marked as cut.
    #[test]
    fn a_part_cut_short_is_reported_at_its_decoded_size() {
        use base64::Engine;
        let pdf = vec![0x25u8; 30 * 1024 * 1024];
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
        let mut msg = String::from(
            "From: copier@lab.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nscan\r\n--b\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        );
        for line in b64.as_bytes().chunks(76) {
            msg.push_str(std::str::from_utf8(line).unwrap());
            msg.push_str("\r\n");
        }
        msg.push_str("--b--\r\n");
        let size = msg.len() as u64;
        let kept = &msg.as_bytes()[..4 * 1024 * 1024];
        let mut c = Connection::new("127.0.0.1".into());
        read_parts(&mut c, kept, size);
        let pdf_part = c
            .attachments
            .iter()
            .find(|a| a.kind == "application/pdf")
            .unwrap();
        assert!(pdf_part.cut);
        let mib = pdf_part.bytes as f64 / (1024.0 * 1024.0);
        assert!((29.9..30.1).contains(&mib), "{mib} MiB");
        // Whole, it is exact and not marked.
        let mut whole = Connection::new("127.0.0.1".into());
        read_parts(&mut whole, msg.as_bytes(), size);
        let p = whole
            .attachments
            .iter()
            .find(|a| a.kind == "application/pdf")
            .unwrap();
        assert_eq!((p.bytes, p.cut), (pdf.len() as u64, false));
    }
}
