//! The answers about a message: what EHLO offers, and the body of DATA passed to the handler
//! piece by piece, with every limit of a message (its lines, its size, the connection's life).

use super::data::DataDecoder;
use super::handler::{DataEnd, End, Handler, Reply};
use super::session::Talk;
use super::{Limits, Stop};
use tokio::time::Instant;

pub(super) fn ehlo_reply(extended: bool, secure: bool, plain_auth: bool, limits: &Limits) -> Reply {
    if !extended {
        return Reply::ok("scanmail");
    }
    let mut lines = vec![
        "scanmail".to_string(),
        format!("SIZE {}", limits.max_message_bytes),
        "8BITMIME".into(),
        "PIPELINING".into(),
        "ENHANCEDSTATUSCODES".into(),
    ];
    if !secure {
        lines.push("STARTTLS".into());
    }
    if secure || plain_auth {
        lines.push("AUTH PLAIN LOGIN".into());
    }
    Reply::ok(lines.join("\n"))
}

/// The body of one message, passed to the handler piece by piece. The connection's life is
/// checked with every read, so a client that never stops sending is cut at its end too.
pub(super) async fn data<H: Handler>(t: &mut Talk<'_>, h: &mut H) -> Result<Reply, End> {
    let go = h.data().await;
    if go.code != 354 {
        return Ok(go);
    }
    t.say(&go).await?;
    let mut decoder = DataDecoder::new(t.limits.data_line);
    let mut out = Vec::with_capacity(super::wire::READ_CHUNK);
    let mut too_big = false;
    loop {
        if !t.wire.unread().is_empty() {
            out.clear();
            let end = decoder.feed(t.wire.unread(), &mut out);
            let used = end.unwrap_or(t.wire.unread().len());
            t.wire.consume(used);
            if decoder.size > t.limits.max_message_bytes {
                too_big = true;
            }
            if !out.is_empty() && !too_big && !decoder.too_long {
                h.chunk(&out).await;
            }
            if end.is_some() {
                break;
            }
        }
        if Instant::now() >= t.deadline {
            h.end(DataEnd::TooBig).await;
            return Err(End::TooLong);
        }
        let limit = t.within(t.limits.data_idle);
        if let Err(c) = t.wire.fill(limit, Stop::Cut).await {
            return Err(t.ended(c));
        }
    }
    Ok(if decoder.too_long {
        h.end(DataEnd::LineTooLong).await;
        t.errors += 1;
        Reply::new(500, "5.5.2 Line too long (more than 1000 bytes)")
    } else if too_big {
        h.end(DataEnd::TooBig).await;
        too_big_reply(t.limits)
    } else {
        h.end(DataEnd::Complete { size: decoder.size }).await
    })
}

/// The refusal of a message over the size limit, with the limit in it.
pub(super) fn too_big_reply(limits: &Limits) -> Reply {
    Reply::new(
        552,
        format!(
            "5.3.4 Message too big for this server: it takes at most {} MB",
            limits.max_message_bytes / 1_000_000
        ),
    )
}
