//! Microsoft Graph as the relay's upstream, for Microsoft 365 organizations that keep SMTP AUTH
//! off. A message of up to [`MIME_MAX`] bytes goes in one `sendMail` request (the MIME message,
//! base64); a larger one becomes a draft with its headers' recipients, subject and body, its small
//! attachments added in one request each and its large ones uploaded through upload sessions in
//! pieces of [`CHUNK`] bytes (the upload address gets no token), and is then sent. A draft left by
//! a failure is deleted. The copier hears 250 only after Graph's 202.
//!
//! Facts relied on (learn.microsoft.com, "user: sendMail", "Attach large files to Outlook
//! messages", "Microsoft Graph throttling"): one request carries about 4 MB (base64 included);
//! upload sessions take files of 3 to 150 MB in ordered pieces of at most 4 MB; 429 and 503 come
//! with `Retry-After` in seconds; errors are `{"error": {"code", "message"}}`.

mod cleanup;
mod error;
pub mod http;
pub mod mime;

use cleanup::DraftGuard;
pub use cleanup::cleaned_up;
pub use error::GraphError;
use error::classify;

use super::tokens::{Credential, Credentials};
use crate::secrets::AccessToken;
use base64::Engine;
use http::{Answer, Call};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The largest MIME message sent in one `sendMail` (its base64 stays under 4 MB).
pub const MIME_MAX: usize = 3_000_000;
/// Attachments from this size go through an upload session (Graph's minimum is about 3 MB).
pub const UPLOAD_FROM: usize = 3_000_000;
/// One upload piece: 12 x 320 KiB (3.75 MiB), under Graph's 4 MB a request.
pub const CHUNK: usize = 3_932_160;
/// Small attachments ride in the draft's own request while it stays this small.
const DRAFT_MAX: usize = 3_000_000;
/// Messages sent to Graph at once (Graph allows 4 requests at once per app).
pub const AT_ONCE: usize = 4;

/// The relay's way to Graph.
pub struct Graph {
    base: String,
    account: String,
    save: bool,
    at_once: tokio::sync::Semaphore,
}

/// One message on its way.
struct Sending<'a> {
    graph: &'a Graph,
    creds: &'a Arc<Credentials>,
    token: AccessToken,
    refreshed: bool,
    waited: Duration,
    /// The draft while it exists (deleted if the message does not go).
    draft: Arc<Mutex<Option<String>>>,
}

fn segment(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_')
        .remove(b'@');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

impl Graph {
    pub fn new(base: &str, account: &str, save: bool) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            account: account.trim().to_string(),
            save,
            at_once: tokio::sync::Semaphore::new(AT_ONCE),
        }
    }

    fn user(&self) -> String {
        format!("{}/v1.0/users/{}", self.base, segment(&self.account))
    }

    /// The mailbox is there and the app may use it: its Drafts folder, read.
    pub async fn reachable(&self, creds: &Arc<Credentials>) -> Result<(), GraphError> {
        let mut s = Sending::start(self, creds).await?;
        s.call(
            "GET",
            format!("{}/mailFolders/drafts?$select=id", self.user()),
            None,
            Vec::new(),
        )
        .await
        .map(|_| ())
    }

    /// Sends `message` (as the copier sent it, From already rewritten) to `envelope`. The
    /// message is given up as soon as its parts are read, so a large one is not held twice.
    pub async fn send(
        &self,
        creds: &Arc<Credentials>,
        message: Vec<u8>,
        envelope: &[String],
    ) -> Result<(), GraphError> {
        let _turn = self.at_once.acquire().await.ok();
        let r = mime::recipients(&message, envelope);
        if !r.dropped.is_empty() {
            super::log::log(&format!(
                "{} address(es) in the message's To, Cc or Bcc were not among its recipients and were taken out (Graph would have sent to them)",
                r.dropped.len()
            ));
        }
        let mut s = Sending::start(self, creds).await?;
        let result = if message.len() <= MIME_MAX && self.save {
            let mime = mime::with_recipients(&message, &r);
            drop(message);
            let body = base64::engine::general_purpose::STANDARD.encode(&mime);
            drop(mime);
            s.call(
                "POST",
                format!("{}/sendMail", self.user()),
                Some("text/plain"),
                body.into_bytes(),
            )
            .await
            .map(|_| ())
        } else {
            s.by_draft(message, &r).await
        };
        if result.is_err() {
            s.delete_draft().await;
        }
        result
    }
}

impl<'a> Sending<'a> {
    async fn start(
        graph: &'a Graph,
        creds: &'a Arc<Credentials>,
    ) -> Result<Sending<'a>, GraphError> {
        let Ok(Credential::Token(token)) = creds.get().await else {
            return Err(GraphError::Unauthorized);
        };
        Ok(Self {
            graph,
            creds,
            token,
            refreshed: false,
            waited: Duration::ZERO,
            draft: Arc::new(Mutex::new(None)),
        })
    }

    /// One Graph call with the token, the waits and the one new token.
    async fn call(
        &mut self,
        method: &'static str,
        url: String,
        content_type: Option<&'static str>,
        body: Vec<u8>,
    ) -> Result<Answer, GraphError> {
        self.exec(Call {
            method,
            url,
            token: Some(self.token.clone()),
            content_type,
            content_range: None,
            body,
        })
        .await
    }

    async fn exec(&mut self, mut call: Call) -> Result<Answer, GraphError> {
        let authorized = call.token.is_some();
        loop {
            if authorized {
                call.token = Some(self.token.clone());
            }
            let a = http::send(call.clone())
                .await
                .map_err(GraphError::Network)?;
            match a.status {
                _ if a.ok() => return Ok(a),
                401 if authorized && !self.refreshed => {
                    self.refreshed = true;
                    self.creds.forget_access().await;
                    match self.creds.get().await {
                        Ok(Credential::Token(t)) => self.token = t,
                        _ => return Err(GraphError::Unauthorized),
                    }
                }
                401 => return Err(GraphError::Unauthorized),
                429 | 503 | 504 => {
                    let wait = Duration::from_secs(a.retry_after.unwrap_or(2).clamp(1, 60));
                    if self.waited + wait > http::MOST_WAIT {
                        return Err(GraphError::Busy(a.status));
                    }
                    self.waited += wait;
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(classify(&a, call.body.len())),
            }
        }
    }

    /// Deletes the draft, if one was made and not sent.
    async fn delete_draft(&mut self) {
        let id = self.draft.lock().ok().and_then(|mut d| d.take());
        if let Some(id) = id {
            let url = format!("{}/messages/{}", self.graph.user(), segment(&id));
            let _ = self.call("DELETE", url, None, Vec::new()).await;
        }
    }

    async fn by_draft(&mut self, message: Vec<u8>, r: &mime::Recipients) -> Result<(), GraphError> {
        let parts = mime::parts(&message);
        let small_message = message.len() <= MIME_MAX;
        drop(message);
        let Some(parts) = parts else {
            return Err(GraphError::Refused(
                400,
                "NotAMessage".into(),
                "the message could not be read as an email".into(),
            ));
        };
        let list = |v: &[String]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|a| serde_json::json!({"emailAddress": {"address": a}}))
                .collect()
        };
        let mut msg = serde_json::json!({
            "subject": parts.subject,
            "body": {"contentType": if parts.html { "HTML" } else { "Text" }, "content": parts.body},
            "toRecipients": list(&r.to),
            "ccRecipients": list(&r.cc),
            "bccRecipients": list(&r.bcc),
            "replyTo": list(&parts.reply_to),
        });
        let small: Vec<&mime::Attachment> = parts
            .attachments
            .iter()
            .filter(|a| a.bytes.len() < UPLOAD_FROM)
            .collect();
        // Small enough for one request, and no copy to keep: sendMail with the JSON message.
        if small_message && !self.graph.save {
            msg["attachments"] = serde_json::Value::Array(small.iter().map(|a| file(a)).collect());
            let body = serde_json::json!({"message": msg, "saveToSentItems": false});
            let url = format!("{}/sendMail", self.graph.user());
            return self
                .call(
                    "POST",
                    url,
                    Some("application/json"),
                    body.to_string().into_bytes(),
                )
                .await
                .map(|_| ());
        }
        // Small attachments go in the draft's own request while it stays under the limit (one
        // round trip for all of them); the rest are added after.
        let mut inline_bytes = 0usize;
        let (with_draft, after): (Vec<&mime::Attachment>, Vec<&mime::Attachment>) =
            parts.attachments.iter().partition(|a| {
                let fits = a.bytes.len() < UPLOAD_FROM
                    && inline_bytes + a.bytes.len() * 4 / 3 + 1024 < DRAFT_MAX;
                if fits {
                    inline_bytes += a.bytes.len() * 4 / 3 + 1024;
                }
                fits
            });
        msg["attachments"] = serde_json::Value::Array(with_draft.iter().map(|a| file(a)).collect());
        let made = self
            .call(
                "POST",
                format!("{}/messages", self.graph.user()),
                Some("application/json"),
                msg.to_string().into_bytes(),
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&made.body).unwrap_or_default();
        let Some(id) = v["id"].as_str().map(str::to_string) else {
            return Err(GraphError::Refused(
                made.status,
                "NoDraftId".into(),
                String::new(),
            ));
        };
        if let Ok(mut d) = self.draft.lock() {
            *d = Some(id.clone());
        }
        // Should the connection end now, the draft is still deleted.
        let guard = DraftGuard {
            draft: self.draft.clone(),
            url: format!("{}/messages/{}", self.graph.user(), segment(&id)),
            creds: self.creds.clone(),
        };
        let msg_url = format!("{}/messages/{}", self.graph.user(), segment(&id));
        let result = self.fill_and_send(&msg_url, &after).await;
        if result.is_err() {
            self.delete_draft().await;
        }
        drop(guard);
        result
    }

    /// The draft's attachments (small ones in one request each, large ones uploaded), then send.
    async fn fill_and_send(
        &mut self,
        msg_url: &str,
        after: &[&mime::Attachment],
    ) -> Result<(), GraphError> {
        for a in after {
            if a.bytes.len() < UPLOAD_FROM {
                let body = file(a).to_string().into_bytes();
                self.call(
                    "POST",
                    format!("{msg_url}/attachments"),
                    Some("application/json"),
                    body,
                )
                .await?;
            } else {
                self.upload(msg_url, a).await?;
            }
        }
        self.call("POST", format!("{msg_url}/send"), None, Vec::new())
            .await?;
        if let Ok(mut d) = self.draft.lock() {
            *d = None;
        }
        Ok(())
    }

    /// A large attachment through an upload session, piece by piece, without the token.
    async fn upload(&mut self, msg_url: &str, a: &mime::Attachment) -> Result<(), GraphError> {
        let mut item = serde_json::json!({
            "attachmentType": "file",
            "name": a.name,
            "size": a.bytes.len(),
            "contentType": a.content_type,
            "isInline": a.inline,
        });
        if let Some(cid) = &a.content_id {
            item["contentId"] = serde_json::Value::from(cid.as_str());
        }
        let body = serde_json::json!({"AttachmentItem": item})
            .to_string()
            .into_bytes();
        let made = self
            .call(
                "POST",
                format!("{msg_url}/attachments/createUploadSession"),
                Some("application/json"),
                body,
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&made.body).unwrap_or_default();
        let url = v["uploadUrl"].as_str().unwrap_or_default().to_string();
        // The upload address comes from Graph's answer: https only (loopback http for tests).
        crate::oauth::check_endpoint(&url)
            .map_err(|_| GraphError::Refused(made.status, "BadUploadUrl".into(), String::new()))?;
        let total = a.bytes.len();
        for (i, piece) in a.bytes.chunks(CHUNK).enumerate() {
            let start = i * CHUNK;
            let end = start + piece.len() - 1;
            self.exec(Call {
                method: "PUT",
                url: url.clone(),
                token: None,
                content_type: Some("application/octet-stream"),
                content_range: Some(format!("bytes {start}-{end}/{total}")),
                body: piece.to_vec(),
            })
            .await?;
        }
        Ok(())
    }
}

/// A file attachment as JSON (its bytes in base64).
fn file(a: &mime::Attachment) -> serde_json::Value {
    let mut v = serde_json::json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": a.name,
        "contentType": a.content_type,
        "contentBytes": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
        "isInline": a.inline,
    });
    if let Some(cid) = &a.content_id {
        v["contentId"] = serde_json::Value::from(cid.as_str());
    }
    v
}
