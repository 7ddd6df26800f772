//! Drafts left by a message whose task ended before it was sent (the copier's connection cut,
//! the relay stopped): deleted with a fresh token, and waited for when the relay stops.

use super::http::{self, Call};
use crate::relay::tokens::{Credential, Credentials};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Drafts to delete whose connection ended before it could (the relay waits for them when it
/// stops).
static CLEANUP: Mutex<Vec<tokio::task::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits (at most `limit`) for drafts being deleted.
pub async fn cleaned_up(limit: Duration) {
    let pending: Vec<_> = CLEANUP
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    let _ = tokio::time::timeout(limit, async {
        for h in pending {
            let _ = h.await;
        }
    })
    .await;
}

/// Deletes a draft when its message's task ends before it was sent or deleted (the copier's
/// connection cut, the relay stopped), with a token asked for then (the one in hand may have
/// been renewed since).
pub(super) struct DraftGuard {
    pub(super) draft: Arc<Mutex<Option<String>>>,
    pub(super) url: String,
    pub(super) creds: Arc<Credentials>,
}

impl Drop for DraftGuard {
    fn drop(&mut self) {
        let left = self.draft.lock().ok().and_then(|mut d| d.take());
        if left.is_none() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (url, creds) = (std::mem::take(&mut self.url), self.creds.clone());
        let h = rt.spawn(async move {
            let Ok(Credential::Token(token)) = creds.get().await else {
                crate::relay::log::log("a draft left by an unfinished message could not be deleted: no token");
                return;
            };
            let call = Call {
                method: "DELETE",
                url,
                token: Some(token),
                content_type: None,
                content_range: None,
                body: Vec::new(),
            };
            match http::send(call).await {
                Ok(a) if a.ok() => {
                    crate::relay::log::log("a draft left by an unfinished message was deleted");
                }
                _ => crate::relay::log::log(
                    "a draft left by an unfinished message could not be deleted: delete it in the mailbox's Drafts",
                ),
            }
        });
        if let Ok(mut c) = CLEANUP.lock() {
            c.push(h);
        }
    }
}
