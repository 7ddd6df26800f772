//! The relay's app-only sign-in at run time: a token from the client-credentials grant, asked
//! for when needed and kept in memory until shortly before it runs out. There is no refresh
//! token and nothing that a person's password change, 90 days without use or a second factor
//! ends: only the certificate's (or client secret's) end date.

use super::config::Upstream;
use super::microsoft::{self, Ctx};
use crate::oauth::TokenSet;
use crate::oauth::app::{self, Alg, AppError, Certificate};
use std::sync::atomic::{AtomicBool, Ordering};

/// What the relay's secret store holds for the app: its key (PKCS#8 PEM), or a client secret
/// behind this prefix.
pub const SECRET_PREFIX: &str = "client-secret:";

/// Tenants that refused the PS256 form once with AADSTS700027 get RS256 from then on.
static RS256: AtomicBool = AtomicBool::new(false);

/// The words for this relay's fixes.
pub fn ctx(u: &Upstream) -> Ctx {
    let app = u.oauth.microsoft.as_ref();
    Ctx {
        account: u.account.trim().to_string(),
        client_id: app.map(|a| a.client_id.clone()).unwrap_or_default(),
        tenant: app.map(|a| a.tenant.clone()).unwrap_or_default(),
        script: app
            .and_then(|a| a.certificate.as_ref())
            .and_then(|c| c.parent())
            .map(|d| d.join("setup-microsoft-365.ps1"))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string()),
    }
}

/// Why no token: in words for IT (with the code), and whether only IT can mend it (as opposed
/// to Microsoft or the network being unreachable for a while).
pub struct Refused {
    pub words: String,
    pub needs_it: bool,
}

/// An app-only token for `scope`, with `kept` (the secret store's text) as the key or secret.
pub async fn fetch(u: &Upstream, kept: &str, scope: &str) -> Result<TokenSet, Refused> {
    let setup = |why: String| Refused {
        words: why,
        needs_it: true,
    };
    let Some(a) = u.app() else {
        return Err(setup(
            "relay.toml has no [upstream.oauth.microsoft] for the app-only sign-in. Run: scanmail relay microsoft-app".into(),
        ));
    };
    let token_url = a.token_url();
    let cert;
    let credential = if let Some(secret) = kept.strip_prefix(SECRET_PREFIX) {
        app::Credential::Secret(secret)
    } else {
        let Some(path) = a.certificate.as_ref() else {
            return Err(setup(
                "[upstream.oauth.microsoft] names no certificate. Run: scanmail relay microsoft-app".into(),
            ));
        };
        cert = Certificate::read(path).map_err(|e| {
            setup(format!(
                "The relay's certificate cannot be read: {e}. Make a new one: scanmail relay microsoft-app --renew"
            ))
        })?;
        app::Credential::Key {
            pem: kept,
            cert: &cert,
        }
    };
    let key = matches!(credential, app::Credential::Key { .. });
    let first = if RS256.load(Ordering::Relaxed) {
        Alg::Rs256
    } else {
        Alg::Ps256
    };
    let mut got = app::token(&token_url, &a.client_id, scope, &credential, first).await;
    // Microsoft documents PS256 with x5t#S256; some tenants still want RS256 with x5t.
    if key
        && first == Alg::Ps256
        && matches!(
            &got,
            Err(AppError {
                aadsts: Some(700_027),
                ..
            })
        )
    {
        let again = app::token(&token_url, &a.client_id, scope, &credential, Alg::Rs256).await;
        if again.is_ok() {
            RS256.store(true, Ordering::Relaxed);
            super::log::log(
                "Microsoft took the app's certificate in the RS256 form; the relay uses it from now on",
            );
        }
        got = again;
    }
    got.map_err(|e| Refused {
        words: microsoft::sign_in(&e, &ctx(u)).words(),
        needs_it: !e.network,
    })
}

/// The token's scope for this upstream.
pub fn scope(u: &Upstream) -> &'static str {
    if u.graph() {
        app::GRAPH_SCOPE
    } else {
        app::SMTP_SCOPE
    }
}
