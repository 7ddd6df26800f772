//! The copier's message on its way to Microsoft Graph: MAIL makes sure the relay has a token,
//! each RCPT is kept as the envelope, and the body (From rewritten) is held in memory until its
//! end, because Graph takes a whole message per request and a draft's parts only once the
//! message can be read. What all copiers hold together is capped ([`GRAPH_HELD`] at least): a
//! copier over the cap waits (its connection is not read, so its own bytes wait in the network)
//! and, after two minutes, hears `452`; never an out-of-memory. Nothing touches the disk.

use super::super::log::log;
use super::Bridge;
use crate::receive::{DataEnd, Held, Reply};
use std::time::Duration;

/// Message bytes held for Graph by all copiers at once, at least (the largest message allowed
/// raises it: a message must always fit).
pub const GRAPH_HELD: usize = 64 * 1024 * 1024;
/// How long a copier's message waits for room before it hears 452.
const ROOM_WAIT: Duration = Duration::from_secs(120);

/// One message for Graph.
pub(super) struct ForGraph {
    pub rcpts: Vec<String>,
    pub bytes: Vec<u8>,
    pub held: Held,
    /// No room came in time: what the copier hears at the end.
    pub failed: Option<Reply>,
}

impl Bridge {
    pub(super) fn graph_mode(&self) -> bool {
        self.shared.graph.is_some()
    }

    /// MAIL for Graph: a token must be at hand (else 454, and the copier keeps its scan).
    pub(super) async fn graph_mail(&mut self, device: &str) -> Reply {
        let got =
            tokio::time::timeout(super::super::upstream::STEP * 2, self.shared.creds.get()).await;
        let why = match got {
            Ok(Ok(_)) => None,
            Ok(Err(w)) => Some(w),
            Err(_) => Some("the sign-in service did not answer in time".to_string()),
        };
        if let Some(why) = why {
            log(&format!(
                "device {device}: the relay is not signed in: {why}"
            ));
            self.note_error(&why);
            return Reply::new(
                454,
                "4.7.0 The relay is not signed in to the mail provider: try again later",
            );
        }
        self.for_graph = Some(ForGraph {
            rcpts: Vec::new(),
            bytes: Vec::new(),
            held: Held::new(self.shared.graph_budget.clone()),
            failed: None,
        });
        Reply::new(250, "2.1.0 Sender OK")
    }

    pub(super) fn graph_rcpt(&mut self, to: &str) -> Reply {
        let Some(m) = self.for_graph.as_mut() else {
            return Reply::new(503, "5.5.1 MAIL first");
        };
        if !m.rcpts.iter().any(|r| r.eq_ignore_ascii_case(to)) {
            m.rcpts.push(to.to_string());
        }
        Reply::new(250, "2.1.5 Recipient OK")
    }

    /// Keeps a piece of the body, waiting for room when all copiers together hold the cap.
    pub(super) async fn graph_chunk(&mut self, bytes: &[u8]) {
        self.held.clear();
        self.rewriter.feed(bytes, &mut self.held);
        let piece = std::mem::take(&mut self.held);
        self.graph_keep(&piece).await;
        self.held = piece;
    }

    async fn graph_keep(&mut self, piece: &[u8]) {
        let too_long = self.rewriter.too_long;
        let Some(m) = self.for_graph.as_mut() else {
            return;
        };
        if too_long {
            m.failed = Some(Reply::new(
                552,
                "5.3.4 The message's header is too long for the relay to check its sender",
            ));
        }
        if m.failed.is_some() || piece.is_empty() {
            return;
        }
        let start = tokio::time::Instant::now();
        while !m.held.take(piece.len()) {
            if start.elapsed() > ROOM_WAIT {
                m.failed = Some(Reply::new(
                    452,
                    "4.3.1 The relay holds many messages for Microsoft Graph right now: try again shortly",
                ));
                m.bytes = Vec::new();
                m.held.release();
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        m.bytes.extend_from_slice(piece);
    }

    /// The end of the message: sent to Graph, and the copier hears 250 only after Graph's 202.
    pub(super) async fn graph_end(&mut self, how: DataEnd) -> Reply {
        let Some(mut m) = self.for_graph.take() else {
            return Reply::new(451, "4.3.0 Message dropped");
        };
        let DataEnd::Complete { size } = how else {
            return Reply::new(451, "4.3.0 Message dropped");
        };
        let mut tail = Vec::new();
        self.rewriter.flush(&mut tail);
        self.graph_keep_tail(&mut m, &tail);
        if let Some(r) = m.failed.take() {
            self.note_error(&format!("The message did not go through: {r}"));
            return r;
        }
        let Some(graph) = self.shared.graph.as_ref() else {
            return Reply::new(451, "4.3.0 Message dropped");
        };
        let name = self.name().to_string();
        let sent = graph.send(&self.shared.creds, &m.bytes, &m.rcpts).await;
        drop(m);
        let account = self.cfg.upstream.account.trim().to_string();
        match sent {
            Ok(()) => {
                log(&format!(
                    "device {name}: a message of {size} bytes, Microsoft Graph answered 202"
                ));
                self.sent += 1;
                let now = crate::time::now_unix();
                self.shared.status.device(&name, |s| s.sent(size, now));
                self.shared.status.update(|s| {
                    s.upstream.refused_in_a_row = 0;
                    s.upstream.signed_in = true;
                });
                Reply::new(250, "2.0.0 Sent through Microsoft Graph")
            }
            Err(e) => {
                let words = e.words(&account);
                log(&format!("device {name}: {words}"));
                self.note_error(&words);
                let reply = e.reply();
                let for_it = matches!(
                    e,
                    super::super::graph::GraphError::Forbidden(..)
                        | super::super::graph::GraphError::Unauthorized
                        | super::super::graph::GraphError::Refused(..)
                );
                self.shared.status.update(|s| {
                    if for_it {
                        s.upstream.last_error = Some(words.clone());
                    }
                    if reply.code >= 500 {
                        s.upstream.refused_in_a_row += 1;
                    }
                });
                reply
            }
        }
    }

    /// The last bytes the header rewriter held back (a message of headers only).
    fn graph_keep_tail(&mut self, m: &mut ForGraph, tail: &[u8]) {
        if m.failed.is_none() && !tail.is_empty() {
            if m.held.take(tail.len()) {
                m.bytes.extend_from_slice(tail);
            } else {
                m.failed = Some(Reply::new(
                    452,
                    "4.3.1 The relay holds many messages for Microsoft Graph right now: try again shortly",
                ));
            }
        }
    }
}
