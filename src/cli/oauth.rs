//! `scanmail check --oauth microsoft|google`: signing in before the test. The code, the address
//! and the waiting go to standard error, so standard output (and `--json`) keep their shape.

use super::BadInput;
use crate::oauth::{self, AccessToken, Apps, Provider, SignInError};
use std::io::Write;
use std::time::Duration;

/// How long the browser sign-in waits for the person.
pub const BROWSER_LIMIT: Duration = Duration::from_secs(300);

/// Why there is no token: the preset lacks the app (bad input, exit 2), or the sign-in itself
/// failed (exit 1, with the reason).
pub enum NoToken {
    Setup(BadInput),
    Failed(SignInError),
}

/// Signs in as `account` with the provider's app from the preset and returns the access token.
pub fn sign_in(
    runtime: &tokio::runtime::Runtime,
    provider: Provider,
    apps: &Apps,
    account: &str,
    err: &mut dyn Write,
) -> Result<AccessToken, NoToken> {
    let missing = |section: &str| {
        NoToken::Setup(BadInput(format!(
            "The organization preset has no {} sign-in ([oauth.{section}]). Ask IT to add the app registration (README, \"For IT\").",
            provider.label()
        )))
    };
    match provider {
        Provider::Microsoft => {
            let app = apps
                .microsoft
                .as_ref()
                .ok_or_else(|| missing("microsoft"))?;
            let code = runtime
                .block_on(oauth::device::start(app))
                .map_err(NoToken::Failed)?;
            if !code.openable {
                let _ = writeln!(
                    err,
                    "Warning: the sign-in page given is not an https address: {}\nDo not enter the code there. Tell IT: the preset's Microsoft sign-in gives a page that is not https.",
                    code.verification_uri
                );
                return Err(NoToken::Failed(SignInError::Setup(
                    "The sign-in page is not a safe (https) address.".into(),
                )));
            }
            let _ = writeln!(
                err,
                "To sign in, open {} and enter the code {}\nSign in as {account}. Waiting up to {} minutes (Ctrl+C stops).",
                code.verification_uri,
                code.user_code,
                code.expires_in.as_secs().div_ceil(60)
            );
            runtime
                .block_on(oauth::device::finish(app, &code))
                .map_err(NoToken::Failed)
        }
        Provider::Google => {
            let app = apps.google.as_ref().ok_or_else(|| missing("google"))?;
            let pending = runtime
                .block_on(oauth::loopback::start(app, account))
                .map_err(NoToken::Failed)?;
            let _ = writeln!(
                err,
                "Open this address to sign in:\n{}\nSign in as {account}. Waiting up to {} minutes (Ctrl+C stops).",
                pending.url,
                BROWSER_LIMIT.as_secs() / 60
            );
            open_browser(&pending.url);
            runtime
                .block_on(oauth::loopback::finish(app, pending, BROWSER_LIMIT))
                .map_err(NoToken::Failed)
        }
    }
}

/// Tries to open the browser (not when `SCANMAIL_NO_BROWSER` is set: scripts and tests).
pub(super) fn open_browser(url: &str) {
    if std::env::var_os("SCANMAIL_NO_BROWSER").is_some() {
        return;
    }
    #[cfg(feature = "gui")]
    let _ = open::that_detached(url);
    #[cfg(not(feature = "gui"))]
    let _ = url;
}

/// An access token from the environment variable `var` (`--token-env`), read like a password.
pub fn token_from_env(var: &str) -> Result<AccessToken, BadInput> {
    super::password::given_password(Some(var), &mut std::io::empty())
        .map(|p| AccessToken::new(p.expose()))
}
