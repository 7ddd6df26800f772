//! The copier's message on its way to Microsoft Graph: MAIL makes sure the relay has a token,
//! each RCPT is kept as the envelope, and the body (From rewritten) is held in memory until its
//! end, because Graph takes a whole message per request and a draft's parts only once the
//! message can be read. At most [`GRAPH_AT_ONCE`] messages are in memory at once: a copier's DATA
//! waits for a turn (its 354 comes when there is one; after two minutes it hears `452`), and a
//! message never grows past the largest allowed, so memory is bounded however many copiers send
//! and no two messages can each wait for room the other holds. Nothing touches the disk.

use super::super::log::log;
use super::Bridge;
use crate::receive::{DataEnd, Held, Reply};
use std::time::Duration;

/// Messages held for Graph at once (Graph itself takes 4 requests at once per mailbox; 3 keeps
/// 20 copiers sending 10 MB scans under 150 MB, see benches/relay_graph.rs).
pub const GRAPH_AT_ONCE: usize = 3;
/// How long a copier's DATA waits for a turn before it hears 452.
const TURN_WAIT: Duration = Duration::from_secs(110);

/// One message for Graph.
pub(super) struct ForGraph {
    pub rcpts: Vec<String>,
    pub bytes: Vec<u8>,
    pub held: Held,
    /// Its turn (taken at DATA).
    pub turn: Option<tokio::sync::OwnedSemaphorePermit>,
    /// What the copier hears at the end instead of sending (a header too long to check).
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
            turn: None,
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
    pub(super) fn graph_chunk(&mut self, bytes: &[u8]) {
        self.held.clear();
        self.rewriter.feed(bytes, &mut self.held);
        let piece = std::mem::take(&mut self.held);
        self.graph_keep(&piece);
        self.held = piece;
    }

    /// DATA for Graph: a turn among the messages held in memory, waited for (the copier waits
    /// for its 354 meanwhile).
    pub(super) async fn graph_turn(&mut self) -> Reply {
        let slots = self.shared.graph_slots.clone();
        let Some(m) = self.for_graph.as_mut() else {
            return Reply::new(503, "5.5.1 MAIL first");
        };
        match tokio::time::timeout(TURN_WAIT, slots.acquire_owned()).await {
            Ok(Ok(permit)) => {
                m.turn = Some(permit);
                Reply::new(354, "Go ahead")
            }
            _ => Reply::new(
                452,
                "4.3.1 The relay is sending many messages through Microsoft Graph right now: try again shortly",
            ),
        }
    }

    fn graph_keep(&mut self, piece: &[u8]) {
        let too_long = self.rewriter.too_long;
        let Some(m) = self.for_graph.as_mut() else {
            return;
        };
        if too_long {
            m.failed = Some(Reply::new(
                552,
                "5.3.4 The message's header is too long for the relay to check its sender",
            ));
            m.bytes = Vec::new();
        }
        if m.failed.is_some() || piece.is_empty() {
            return;
        }
        // Counted in the budget (it never runs short: each message in its turn is at most the
        // largest allowed, and the budget holds that many).
        let _ = m.held.take(piece.len());
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
        Self::graph_keep_tail(&mut m, &tail);
        if let Some(r) = m.failed.take() {
            self.note_error(&format!("The message did not go through: {r}"));
            return r;
        }
        let Some(graph) = self.shared.graph.as_ref() else {
            return Reply::new(451, "4.3.0 Message dropped");
        };
        let name = self.name().to_string();
        let mut message = std::mem::take(&mut m.bytes);
        // The buffer grew by doubling: what it holds, no more, while Graph has it.
        message.shrink_to_fit();
        // `m` keeps its place in the budget until Graph is done with the message.
        let sent = graph.send(&self.shared.creds, message, &m.rcpts).await;
        drop(m);
        let account = self.cfg.upstream.account.trim().to_string();
        match sent {
            Ok(()) => {
                log(&format!(
                    "device {name}: a message of {size} bytes, Microsoft Graph answered 202"
                ));
                self.sent += 1;
                self.shared.status.sent(&name, size, &self.peer.to_string());
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
    fn graph_keep_tail(m: &mut ForGraph, tail: &[u8]) {
        if m.failed.is_none() && !tail.is_empty() {
            let _ = m.held.take(tail.len());
            m.bytes.extend_from_slice(tail);
        }
    }
}
