//! The relay's standing with the provider: the access token (refreshed before it runs out,
//! never more than one refresh at a time, a rotated refresh token replacing the old one in its
//! store), or the password. A refresh that fails for good marks the relay signed out with a plain
//! `last_error`; copiers then hear `454 4.7.0` (temporary: they keep the scan and retry). A
//! copier's wrong password never reaches this code.

use super::config::{AuthKind, Upstream};
use super::secret::Store;
use super::status::{SIGN_IN_AGAIN, Shared};
use crate::oauth::{AccessToken, SignInError};
use crate::secrets::AppPassword;
use std::sync::Arc;

/// Refresh this long before the access token runs out.
pub const AHEAD: i64 = 5 * 60;
/// Microsoft ends a refresh token after 90 days without use.
const REFRESH_LIFE: i64 = 90 * 86_400;

/// What the relay signs in to the provider with.
#[derive(Clone)]
pub enum Credential {
    Token(AccessToken),
    Password(AppPassword),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<hidden>)")
    }
}

pub struct Credentials {
    upstream: Upstream,
    store: Store,
    status: Arc<Shared>,
    /// The cached access token and when it runs out; held across a refresh (one at a time).
    cached: tokio::sync::Mutex<Option<(AccessToken, i64)>>,
    /// Rung when `relay sign-in` kept a new sign-in: the keeper tries at once.
    fresh_sign_in: tokio::sync::Notify,
}

impl Credentials {
    pub fn new(upstream: Upstream, store: Store, status: Arc<Shared>) -> Self {
        Self {
            upstream,
            store,
            status,
            cached: tokio::sync::Mutex::new(None),
            fresh_sign_in: tokio::sync::Notify::new(),
        }
    }

    /// When the cached access token runs out (seconds since 1970), if one is held.
    pub async fn expires_at(&self) -> Option<i64> {
        self.cached.lock().await.as_ref().map(|(_, e)| *e)
    }

    /// The credential for the next upstream session; `Err` is the plain reason (also kept as
    /// the status's `last_error`).
    pub async fn get(&self) -> Result<Credential, String> {
        match self.upstream.auth {
            AuthKind::Password => {
                let store = self.store.clone();
                let kept = tokio::task::spawn_blocking(move || store.load())
                    .await
                    .map_err(|_| "the relay's secret could not be read".to_string())?;
                match kept {
                    Ok(Some(p)) => Ok(Credential::Password(AppPassword::new(p.expose()))),
                    Ok(None) => Err(self.signed_out(format!(
                        "No password for the provider is kept. {SIGN_IN_AGAIN}"
                    ))),
                    Err(e) => Err(self.fault(e)),
                }
            }
            AuthKind::OAuth => self.token().await.map(Credential::Token),
            AuthKind::App => self.app_token().await.map(Credential::Token),
        }
    }

    /// The app-only token: the cached one while it has time left, else a new one from the
    /// client-credentials grant (one request at a time).
    async fn app_token(&self) -> Result<AccessToken, String> {
        let mut cached = self.cached.lock().await;
        let now = crate::time::now_unix();
        if let Some((t, exp)) = cached.as_ref()
            && exp - now > AHEAD
        {
            return Ok(t.clone());
        }
        let store = self.store.clone();
        let kept = match tokio::task::spawn_blocking(move || store.load()).await {
            Ok(Ok(Some(k))) => k,
            Ok(Ok(None)) => {
                return Err(self.signed_out(
                    "The relay's app has no key yet. Run: scanmail relay microsoft-app, then scanmail relay sign-in --client-id ID".into(),
                ));
            }
            Ok(Err(e)) => return Err(self.fault(e)),
            Err(_) => {
                return Err(self.fault(format!(
                    "the relay's secret could not be read. {SIGN_IN_AGAIN}"
                )));
            }
        };
        let scope = super::app_token::scope(&self.upstream);
        match super::app_token::fetch(&self.upstream, kept.expose(), scope).await {
            Ok(set) => {
                self.status.update(|s| {
                    s.upstream.signed_in = true;
                    // Nothing of the sign-in runs out but the certificate (relay status reads
                    // its date from the certificate itself).
                    s.upstream.token_expires = None;
                    s.upstream.last_error = None;
                });
                *cached = Some((set.access.clone(), set.expires_at));
                Ok(set.access)
            }
            Err(r) if r.needs_it => Err(self.signed_out(r.words)),
            Err(r) => Err(self.fault(r.words)),
        }
    }

    async fn token(&self) -> Result<AccessToken, String> {
        // One refresh at a time: whoever holds the lock refreshes, the others wait and then
        // find the new token.
        let mut cached = self.cached.lock().await;
        let now = crate::time::now_unix();
        if let Some((t, exp)) = cached.as_ref()
            && exp - now > AHEAD
        {
            return Ok(t.clone());
        }
        let Some(provider) = self.upstream.oauth_provider() else {
            return Err(self.fault("the relay's sign-in is not set up (auth = \"oauth\")".into()));
        };
        let store = self.store.clone();
        let refresh = match tokio::task::spawn_blocking(move || store.load()).await {
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) => {
                return Err(self.signed_out(format!("The relay is not signed in. {SIGN_IN_AGAIN}")));
            }
            Ok(Err(e)) => return Err(self.fault(e)),
            Err(_) => {
                return Err(self.fault(format!(
                    "the relay's secret could not be read. {SIGN_IN_AGAIN}"
                )));
            }
        };
        let scopes: &[&str] = if self.upstream.graph() {
            &crate::oauth::MICROSOFT_GRAPH_SCOPES
        } else {
            &[crate::oauth::MICROSOFT_SCOPE]
        };
        match crate::oauth::refresh::refresh_for(
            provider,
            &self.upstream.oauth,
            refresh.expose(),
            scopes,
        )
        .await
        {
            Ok(set) => {
                if let Some(new) = set.refresh {
                    // Rotation: the new refresh token replaces the old one whole.
                    let store = self.store.clone();
                    let saved = tokio::task::spawn_blocking(move || store.save(new.expose()))
                        .await
                        .unwrap_or_else(|_| Err("the relay's secret could not be kept".into()));
                    if let Err(e) = saved {
                        return Err(self.fault(e));
                    }
                }
                let expires = crate::time::utc_rfc3339(now + REFRESH_LIFE);
                self.status.update(|s| {
                    s.upstream.signed_in = true;
                    s.upstream.token_expires = Some(expires);
                    s.upstream.last_error = None;
                });
                *cached = Some((set.access.clone(), set.expires_at));
                Ok(set.access)
            }
            Err(SignInError::Blocked(b)) => Err(self.signed_out(format!(
                "Microsoft refused to renew the relay's sign-in ({}): {}. {} {}{} The relay tries again every 5 minutes; if it then asks for a new sign-in, run: scanmail relay sign-in",
                b.code,
                b.what,
                super::status::BLOCKED,
                b.fix,
                if b.rule {
                    " Or give the relay its own app-only sign-in, which no person's sign-in rule or password change ends: scanmail relay microsoft-app (docs/microsoft-365.md)."
                } else {
                    ""
                }
            ))),
            Err(SignInError::Revoked) => Err(self.signed_out(format!(
                "The provider no longer accepts the relay's sign-in: it has run out or was withdrawn. {SIGN_IN_AGAIN}"
            ))),
            Err(e) => Err(self.fault(format!(
                "The sign-in service could not refresh the relay's sign-in: {e} The relay tries again in 5 minutes; to see whether it works now: scanmail relay test"
            ))),
        }
    }

    /// A new sign-in was kept by `relay sign-in`: the cached token is dropped and the keeper
    /// uses the new sign-in at once, not after its five-minute wait.
    pub async fn new_sign_in(&self) {
        self.forget_access().await;
        self.fresh_sign_in.notify_one();
    }

    /// The cached token is refused by the provider (535): forget it, so the next message
    /// refreshes.
    pub async fn forget_access(&self) {
        *self.cached.lock().await = None;
    }

    fn signed_out(&self, why: String) -> String {
        let w = why.clone();
        self.status.update(|s| {
            s.upstream.signed_in = false;
            s.upstream.last_error = Some(w);
        });
        why
    }

    fn fault(&self, why: String) -> String {
        let w = why.clone();
        self.status.update(|s| s.upstream.last_error = Some(w));
        why
    }
}

/// Keeps the access token fresh: wakes every minute and refreshes when it has less than
/// [`AHEAD`] left (or none), so a copier never waits on a refresh.
pub async fn keep_fresh(creds: Arc<Credentials>) {
    if !matches!(creds.upstream.auth, AuthKind::OAuth | AuthKind::App) {
        return;
    }
    loop {
        let now = crate::time::now_unix();
        let due = creds.expires_at().await.is_none_or(|e| e - now <= AHEAD);
        // After a failure, wait five minutes: the identity provider is not asked every minute.
        let wait = if due && creds.get().await.is_err() {
            300
        } else {
            60
        };
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(wait)) => {}
            () = creds.fresh_sign_in.notified() => {}
        }
    }
}
