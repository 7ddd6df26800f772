//! `relay test` walks the chain from relay.toml to the provider, link by link, and stops at the
//! first broken one: each link is "ok" or the fix, in words for IT, with the provider's code.
//! This file holds the links up to the provider (settings, tenant, sign-in, the mailbox); the
//! last one, a real message through the running relay, is the command line's.

use super::config::{AuthKind, ProviderKind, RelayConfig};
use super::microsoft;
use super::upstream::{Route, Session, UpError};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// One link of the chain.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub name: &'static str,
    pub ok: bool,
    /// What was proved, when it holds (for people; JSON keeps `fix` only).
    #[serde(skip)]
    pub proved: String,
    /// The fix, when it is broken.
    pub fix: Option<String>,
}

impl Link {
    pub fn ok(name: &'static str, proved: impl Into<String>) -> Self {
        Self {
            name,
            ok: true,
            proved: proved.into(),
            fix: None,
        }
    }

    pub fn broken(name: &'static str, fix: impl Into<String>) -> Self {
        Self {
            name,
            ok: false,
            proved: String::new(),
            fix: Some(fix.into()),
        }
    }
}

/// The provider's refusal in words for IT: Microsoft's with its exact fix, else as it said it.
pub fn upstream_words(cfg: &RelayConfig, e: &UpError) -> String {
    let u = &cfg.upstream;
    if u.provider == ProviderKind::Microsoft
        && let UpError::SignIn(r) | UpError::Refused(r) = e
        && let Some(f) = microsoft::smtp(
            r.code,
            &r.text,
            u.auth == AuthKind::App,
            &super::app_token::ctx(u),
        )
    {
        return f.words();
    }
    e.words()
}

/// Settings, then (Microsoft) the tenant, the sign-in and the mailbox; stops at the first broken
/// link. `loaded`: relay.toml as read (or why it could not be).
pub async fn walk(path: &Path, loaded: Result<RelayConfig, String>) -> Vec<Link> {
    let mut links = Vec::new();
    let cfg = match loaded {
        Ok(c) => {
            links.push(Link::ok("settings", format!("{} read", path.display())));
            c
        }
        Err(e) => {
            links.push(Link::broken(
                "settings",
                format!("{e} Fix relay.toml, then test again."),
            ));
            return links;
        }
    };
    let u = &cfg.upstream;
    if let Some(app) = u.oauth.microsoft.as_ref().filter(|_| {
        u.provider == ProviderKind::Microsoft && matches!(u.auth, AuthKind::App | AuthKind::OAuth)
    }) {
        match crate::oauth::app::discover_tenant(app.authority(), &app.tenant).await {
            Ok(t) => links.push(Link::ok("tenant", format!("{} is {t}", app.tenant))),
            Err(e) => {
                let f = microsoft::sign_in(&e, &super::app_token::ctx(u));
                links.push(Link::broken("tenant", f.words()));
                return links;
            }
        }
    }
    let dir = super::state_dir(&cfg, path);
    let mut state = super::status::read(&super::status::path_for(&dir));
    let running = super::status::report(&cfg, &state, crate::time::now_unix()).running;
    if running && u.auth == AuthKind::OAuth {
        // A relay that has just started is still getting its first token: wait for it to say
        // how its sign-in stands (signed in, or why not), up to 15 s.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !state.upstream.signed_in
            && state.upstream.last_error.is_none()
            && std::time::Instant::now() < until
        {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            state = super::status::read(&super::status::path_for(&dir));
        }
        // A running relay renews a person's sign-in by itself, and each renewal replaces the
        // kept refresh token: a second renewal from here could race it. Its state says how its
        // sign-in stands; the message through it (the last link) proves the rest.
        if state.upstream.signed_in {
            links.push(Link::ok("sign-in", "the running relay is signed in"));
        } else {
            links.push(Link::broken(
                "sign-in",
                state
                    .upstream
                    .last_error
                    .clone()
                    .unwrap_or_else(|| super::status::SIGN_IN_AGAIN.to_string()),
            ));
        }
        return links;
    }
    let status = Arc::new(super::status::Shared::open(super::status::path_for(&dir)));
    let store = super::secret::Store::for_config(&cfg, &dir);
    let creds = Arc::new(super::tokens::Credentials::new(u.clone(), store, status));
    let credential = match creds.get().await {
        Ok(c) => {
            let how = match u.auth {
                AuthKind::App => "the app's token",
                AuthKind::OAuth => "the kept sign-in gave a token",
                AuthKind::Password => "the password is kept",
            };
            links.push(Link::ok("sign-in", how));
            c
        }
        Err(why) => {
            links.push(Link::broken("sign-in", why));
            return links;
        }
    };
    if u.graph() {
        let graph = super::graph::Graph::new(u.graph_url(), &u.account, true);
        match graph.reachable(&creds).await {
            Ok(()) => links.push(Link::ok(
                "mailbox",
                format!("Microsoft Graph reaches the mailbox {}", u.account.trim()),
            )),
            Err(e) => links.push(Link::broken("mailbox", e.words(u.account.trim()))),
        }
        drop(credential);
        return links;
    }
    let route = match Route::new(u.clone()) {
        Ok(r) => r,
        Err(e) => {
            links.push(Link::broken("mailbox", e));
            return links;
        }
    };
    match tokio::time::timeout(
        super::upstream::STEP * 2,
        Session::open(&route, &credential),
    )
    .await
    {
        Ok(Ok(s)) => {
            s.quit().await;
            links.push(Link::ok(
                "mailbox",
                format!("signed in to {} as {}", u.server(), u.account.trim()),
            ));
        }
        Ok(Err(e)) => {
            let words = upstream_words(&cfg, &e);
            links.push(Link::broken("mailbox", words));
        }
        Err(_) => links.push(Link::broken(
            "mailbox",
            format!(
                "{} did not answer in time. Check that this computer may reach it (port {}), then test again.",
                u.server(),
                u.port()
            ),
        )),
    }
    links
}
