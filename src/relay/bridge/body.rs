//! The message itself: the provider's go-ahead to DATA is read before the first byte goes on
//! (anything but 354 stops the message: a 4xx or 5xx as the provider said it, anything else as
//! 451, so a provider that answers DATA with 250 never gets the copier a 250 for nothing), the
//! From header rewritten to the account, the body dot-stuffed again and streamed, and the
//! provider's own answer to the end of the message passed back to the copier.

use super::super::headers::Rewriter;
use super::super::log::log;
use super::{Bridge, broke_off};
use crate::receive::data::DotStuffer;
use crate::receive::{DataEnd, Reply};

impl Bridge {
    /// The account From is rewritten to, when the copier's From is rewritten.
    fn rewrite_to(&self) -> Option<String> {
        self.device
            .as_ref()
            .is_some_and(|d| d.rewrite_from)
            .then(|| self.cfg.upstream.account.trim().to_string())
    }

    pub(super) async fn begin_data(&mut self) -> Reply {
        if self.graph_mode() {
            self.rewriter = Rewriter::new(self.rewrite_to());
            return self.graph_turn().await;
        }
        let Some(session) = self.session.as_mut() else {
            return Reply::new(
                451,
                "4.4.1 The connection to the mail provider is gone: try again",
            );
        };
        // The copier may start at once; the provider's own go-ahead is read before the first
        // byte goes to it (its refusal then comes back at the end of the message).
        match session.start_data().await {
            Ok(()) => {
                self.rewriter = Rewriter::new(self.rewrite_to());
                self.stuffer = DotStuffer::default();
                self.broken = None;
                self.awaiting = true;
                Reply::new(354, "Go ahead")
            }
            Err(e) => {
                self.session = None;
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    pub(super) async fn pass_chunk(&mut self, bytes: &[u8]) {
        if self.graph_mode() {
            self.graph_chunk(bytes);
            return;
        }
        self.wait_go_ahead().await;
        if self.broken.is_some() {
            return;
        }
        self.held.clear();
        self.rewriter.feed(bytes, &mut self.held);
        if self.rewriter.too_long {
            self.session = None;
            self.broken = Some(Reply::new(
                552,
                "5.3.4 The message's header is too long for the relay to check its sender",
            ));
            return;
        }
        self.out.clear();
        self.stuffer.feed(&self.held, &mut self.out);
        if self.out.is_empty() {
            return;
        }
        let Some(session) = self.session.as_mut() else {
            self.broken = Some(broke_off());
            return;
        };
        if let Err(e) = session.body(&self.out).await {
            self.provider_broke_off(&e);
        }
    }

    pub(super) async fn end_message(&mut self, how: DataEnd) -> Reply {
        if self.graph_mode() {
            return self.graph_end(how).await;
        }
        let DataEnd::Complete { size } = how else {
            // Too long a line or too big: the provider gets no end of data, so it drops it.
            self.session = None;
            self.awaiting = false;
            return Reply::new(451, "4.3.0 Message dropped");
        };
        self.wait_go_ahead().await;
        if let Some(r) = self.broken.take() {
            self.note_error(&format!("The message did not go through: {r}"));
            return r;
        }
        self.held.clear();
        self.rewriter.flush(&mut self.held);
        self.out.clear();
        self.stuffer.feed(&self.held, &mut self.out);
        self.stuffer.finish(&mut self.out);
        let Some(mut session) = self.session.take() else {
            return broke_off();
        };
        let r = match session.finish(&self.out).await {
            // Only a complete answer counts: anything but 2xx, 4xx or 5xx is out of step.
            Ok(r) if (200..600).contains(&r.code) && !(300..400).contains(&r.code) => r,
            Ok(r) => {
                log(&format!(
                    "device {}: the provider's answer was out of step ({})",
                    self.name(),
                    r.code
                ));
                return Reply::new(
                    451,
                    "4.4.2 The mail provider did not confirm the message: try again",
                );
            }
            Err(e) => {
                log(&format!("device {}: {}", self.name(), e.words()));
                self.note_error(&e.words());
                return Reply::new(
                    451,
                    "4.4.2 The mail provider did not confirm the message: try again",
                );
            }
        };
        // The session stays open for this copier's next message.
        if r.is_positive() {
            self.session = Some(session);
        } else {
            session.quit().await;
        }
        let name = self.name().to_string();
        log(&format!(
            "device {name}: a message of {size} bytes, the provider answered {}",
            r.code
        ));
        if r.is_positive() {
            self.sent += 1;
            self.shared.status.sent(&name, size, &self.peer.to_string());
            // The provider took it: whatever the state file said, the relay is signed in.
            self.shared.status.update(|s| {
                s.upstream.refused_in_a_row = 0;
                s.upstream.signed_in = true;
            });
        } else {
            let words = super::super::microsoft::smtp(
                r.code,
                &r.text,
                self.cfg.upstream.auth == super::super::config::AuthKind::App,
                &super::super::app_token::ctx(&self.cfg.upstream),
            )
            .filter(|_| self.cfg.upstream.provider == super::super::config::ProviderKind::Microsoft)
            .map_or_else(
                || format!("The mail provider refused a message: {r}"),
                |f| f.words(),
            );
            self.note_error(&words);
            if r.code >= 500 {
                self.shared.status.update(|s| {
                    s.upstream.refused_in_a_row += 1;
                    s.upstream.last_error = Some(words);
                });
            }
        }
        r
    }

    /// Reads the provider's answer to DATA once, before the body goes on.
    async fn wait_go_ahead(&mut self) {
        if !self.awaiting {
            return;
        }
        self.awaiting = false;
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let mail = std::mem::take(&mut self.mail_pending);
        let rcpts = std::mem::take(&mut self.rcpt_pending);
        match session.pending_answers(mail, rcpts).await {
            Ok(None) => {}
            Ok(Some(refused)) => {
                // The transaction must not go on: the connection is dropped without the end of
                // the message, so the provider sends nothing.
                log(&format!(
                    "device {}: the provider refused the sender or a recipient: {}",
                    self.name(),
                    refused.code
                ));
                self.session = None;
                self.broken = Some(refused);
                return;
            }
            Err(e) => {
                self.provider_broke_off(&e);
                return;
            }
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        match session.go_ahead().await {
            Ok(Ok(())) => {}
            Ok(Err(r)) => {
                self.session = None;
                self.broken = Some(r);
            }
            Err(e) => {
                self.provider_broke_off(&e);
            }
        }
    }
}
