//! The envelope: MAIL opens (or reuses) the session with the provider, always as the relay's
//! account; each RCPT is checked against the copier's list and passed on. With PIPELINING the
//! provider's answers are read with DATA's, so MAIL, RCPT and DATA cost one round trip to it.

use super::super::log::log;
use super::super::upstream::{STEP, Session, UpError};
use super::{Bridge, plain_address};
use crate::receive::Reply;

impl Bridge {
    pub(super) async fn start_mail(&mut self) -> Reply {
        let Some(device) = self.device.clone() else {
            log(&format!("mail refused from {}: not signed in", self.peer));
            return Reply::new(530, "5.7.0 Authentication required: sign in first");
        };
        // A copier removed (or given a new password) since it signed in goes at once, not when
        // its connection ends.
        self.cfg = self.shared.current();
        if self
            .cfg
            .device(&device.name)
            .is_none_or(|d| d.password_hash != device.password_hash)
        {
            log(&format!(
                "device {}: removed or given a new password since it signed in; its connection is closed",
                device.name
            ));
            self.device = None;
            return Reply::new(
                421,
                "4.7.0 This copier's sign-in was withdrawn: sign in again",
            );
        }
        let per_minute = self.cfg.upstream.per_minute();
        if !self.shared.guard.may_send(&device.name, per_minute) {
            log(&format!(
                "device {}: more than {per_minute} messages a minute, asked to wait",
                device.name
            ));
            return Reply::new(
                451,
                "4.7.1 This copier sent many messages this minute: try again shortly",
            );
        }
        if self.graph_mode() {
            return self.graph_mail(&device.name).await;
        }
        let account = self.cfg.upstream.account.trim().to_string();
        // The session of this copier's last message, when it is still open: no new sign-in.
        // A session with unread bytes from the provider is out of step and is not used again.
        if let Some(mut session) = self.session.take()
            && session.in_step().await
            && let Ok(r) = session.mail(&account, None).await
            && r.is_positive()
        {
            self.session = Some(session);
            return r;
        }
        // The old session is gone or closed by the provider: a new one.
        let credential = match tokio::time::timeout(STEP * 2, self.shared.creds.get())
            .await
            .unwrap_or_else(|_| {
                Err("the relay's secret store or the sign-in service did not answer in time".into())
            }) {
            Ok(c) => c,
            Err(why) => {
                log(&format!(
                    "device {}: the relay is not signed in: {why}",
                    device.name
                ));
                self.note_error(&why);
                return Reply::new(
                    454,
                    "4.7.0 The relay is not signed in to the mail provider: try again later",
                );
            }
        };
        let opened = tokio::time::timeout(STEP * 2, Session::open(&self.shared.route, &credential))
            .await
            .unwrap_or_else(|_| Err(UpError::Unreachable("it did not answer in time".into())));
        let mut session = match opened {
            Ok(s) => s,
            Err(e) => {
                if matches!(e, UpError::SignIn(_)) {
                    self.shared.creds.forget_access().await;
                    let w = super::super::links::upstream_words(&self.cfg, &e);
                    self.shared
                        .status
                        .update(|s| s.upstream.last_error = Some(w));
                }
                log(&format!("device {}: {}", device.name, e.words()));
                self.note_error(&e.words());
                return e.reply();
            }
        };
        // A new session: MAIL goes out now and its answer is read with the first RCPT's (one
        // round trip to the provider for both, RFC 2920); the copier hears 250 at once.
        if session.pipelining() {
            return match session.mail_start(&account).await {
                Ok(()) => {
                    self.session = Some(session);
                    self.mail_pending = true;
                    Reply::new(250, "2.1.0 Sender OK")
                }
                Err(e) => {
                    self.note_error(&e.words());
                    e.reply()
                }
            };
        }
        match session.mail(&account, None).await {
            Ok(r) if r.is_positive() => {
                self.session = Some(session);
                r
            }
            Ok(r) => {
                log(&format!(
                    "device {}: the provider refused MAIL FROM: {}",
                    device.name, r.code
                ));
                self.note_error(&format!("The mail provider refused the sender: {r}"));
                session.quit().await;
                r
            }
            Err(e) => {
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    pub(super) async fn add_rcpt(&mut self, to: &str) -> Reply {
        if self.device.is_none() {
            return Reply::new(530, "5.7.0 Authentication required: sign in first");
        }
        let Some(to) = plain_address(to) else {
            log(&format!(
                "device {}: a recipient address that is not plain was refused",
                self.name()
            ));
            return Reply::new(
                501,
                "5.1.3 The recipient must be a plain address such as name@example.edu",
            );
        };
        let to = to.as_str();
        if !self.recipient_allowed(to) {
            log(&format!(
                "device {}: a recipient outside its list was refused",
                self.name()
            ));
            return Reply::new(550, "5.7.1 This copier may not send to that address");
        }
        if self.graph_mode() {
            return self.graph_rcpt(to);
        }
        let Some(session) = self.session.as_mut() else {
            return Reply::new(
                451,
                "4.4.1 The connection to the mail provider is gone: try again",
            );
        };
        if session.pipelining() {
            // The provider's answer is read with DATA's, so MAIL, RCPT and DATA cost one round
            // trip to it, as when the engine sends straight. A refusal then ends the message
            // at DATA's end with the provider's own words (nothing is sent).
            return match session.rcpt_start(to).await {
                Ok(()) => {
                    self.rcpt_pending += 1;
                    Reply::new(250, "2.1.5 Recipient OK")
                }
                Err(e) => {
                    self.session = None;
                    self.note_error(&e.words());
                    e.reply()
                }
            };
        }
        match session.rcpt(to).await {
            Ok(r) => r,
            Err(e) => {
                self.session = None;
                self.note_error(&e.words());
                e.reply()
            }
        }
    }

    fn recipient_allowed(&self, to: &str) -> bool {
        let Some(d) = &self.device else { return false };
        if d.allowed_recipients.is_empty() {
            return true;
        }
        let to = to.trim().to_ascii_lowercase();
        let Some((_, domain)) = to.rsplit_once('@') else {
            return false;
        };
        d.allowed_recipients.iter().any(|p| {
            let p = p.trim().to_ascii_lowercase();
            match p.strip_prefix("*@") {
                Some(d) => d.trim_end_matches('.') == domain.trim_end_matches('.'),
                None => p == to,
            }
        })
    }
}
