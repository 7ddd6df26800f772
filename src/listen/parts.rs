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
    for part in msg.attachments().take(50) {
        let kind = part.content_type().map_or_else(
            || "application/octet-stream".to_string(),
            |ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            },
        );
        c.attachments.push(Attachment {
            kind: clean(&kind, 100),
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
