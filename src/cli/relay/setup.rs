//! `relay init` (a commented relay.toml from the preset) and `relay sign-in` (the relay's
//! mailbox signed in: the refresh token or password to the relay's secret store, never a file a
//! standard user can read or the screen).

use super::super::BadInput;
use super::*;

/// What `relay init` was asked.
#[derive(Debug, Default)]
pub(super) struct InitAsk<'a> {
    pub account: Option<&'a str>,
    pub auth: Option<InitAuth>,
    pub authority: Option<&'a str>,
}

pub(super) fn init(
    path: &Path,
    org: Option<&Path>,
    ask: &InitAsk<'_>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    use relay::template::{self, AuthChoice};
    if path.exists() {
        return Err(BadInput(format!(
            "{} already exists. Edit it, or give --config for another file.",
            path.display()
        )));
    }
    let found = crate::org::locate(org);
    let preset = found.preset;
    let kind = template::kind_of(&preset);
    let auth = match ask.auth {
        None | Some(InitAuth::App | InitAuth::Oauth) if kind == "server" => "password",
        None => template::auth_for(&preset, AuthChoice::Best),
        Some(InitAuth::Password) => "password",
        Some(InitAuth::App) if kind == "microsoft" => "app",
        Some(InitAuth::App) => {
            return Err(BadInput(
                "--auth app is Microsoft 365's app-only sign-in, and this preset is not for Microsoft 365. Leave out --auth.".into(),
            ));
        }
        Some(InitAuth::Oauth) if template::auth_for(&preset, AuthChoice::Best) == "oauth" => {
            "oauth"
        }
        Some(InitAuth::Oauth) => {
            return Err(BadInput(
                "--auth oauth needs a sign-in app in the organization preset ([oauth.microsoft] or [oauth.google]). Leave out --auth for Microsoft 365's app-only sign-in.".into(),
            ));
        }
    };
    if let Some(a) = ask.authority {
        crate::oauth::check_endpoint(a).map_err(|e| BadInput(format!("--authority: {e}")))?;
    }
    // The tenant, found from the mailbox's domain (its id kept) when the account is known.
    let mut found_tenant = String::new();
    let domain = ask
        .account
        .and_then(|a| a.trim().rsplit_once('@'))
        .map(|(_, d)| d.to_string());
    let mut tenant = domain.clone().unwrap_or_default();
    if auth == "app"
        && let Some(d) = &domain
    {
        let authority = ask.authority.unwrap_or("https://login.microsoftonline.com");
        match runtime()?.block_on(crate::oauth::app::discover_tenant(authority, d)) {
            Ok(t) => {
                found_tenant = format!("Tenant: {d} is {t}.\n");
                tenant = t;
            }
            Err(e) => {
                let f = relay::microsoft::sign_in(
                    &e,
                    &relay::microsoft::Ctx {
                        tenant: d.clone(),
                        ..Default::default()
                    },
                );
                found_tenant = format!(
                    "Tenant: not found yet ({}). relay sign-in looks again; give --tenant there if it is not {d}.\n",
                    f.what
                );
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            BadInput(format!(
                "{}: {}",
                dir.display(),
                crate::fsutil::plain_io(&e)
            ))
        })?;
    }
    let text = template::initial_text(
        &preset,
        auth,
        Some((ask.authority.unwrap_or(""), tenant.as_str())),
    );
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| {
        BadInput(format!(
            "{}: {}",
            path.display(),
            crate::fsutil::plain_io(&e)
        ))
    })?;
    let first = match ask.account {
        Some(a) => {
            set_account(path, a)?;
            String::new()
        }
        None => "\n  - Set [upstream] account to the mailbox the relay sends as.".to_string(),
    };
    let config = if *path == config::path_or_default(None) {
        String::new()
    } else {
        format!(" --config \"{}\"", path.display())
    };
    let source = match &found.source {
        crate::org::Source::BuiltIn => format!("the {} preset (built in)", preset.organization),
        crate::org::Source::File(p) => {
            format!("the {} preset ({})", preset.organization, p.display())
        }
    };
    let (how, next) = match auth {
        "app" => (
            "app-only: the relay's own app, no person's sign-in",
            format!("scanmail relay microsoft-app{config}"),
        ),
        "oauth" => (
            "a person signs the mailbox in, with the preset's sign-in app",
            format!("scanmail relay sign-in{config}"),
        ),
        _ => (
            "the mailbox's password",
            format!("scanmail relay sign-in{config} --password-stdin"),
        ),
    };
    let warning = if auth == "password" && kind == "microsoft" {
        format!(
            "\nCareful: Microsoft 365 turns password sending off by default at the end of December 2026, and this relay then stops. The app-only sign-in does not. To use it, delete {} and run: scanmail relay init --auth app --account ADDRESS",
            path.display()
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "Wrote {}.\nMade from: {source}. Sign-in: {how}.{warning}\n{found_tenant}Next:{first}\n  - {next}\n  - scanmail relay add-device NAME{config}",
        path.display(),
    );
    Ok(0)
}

/// Keeps the mailbox the relay sends as in relay.toml.
pub(super) fn set_account(path: &Path, account: &str) -> Result<(), BadInput> {
    let account = account.trim();
    crate::smtp::validate_address(account).map_err(|_| {
        BadInput(format!(
            "\"{account}\" is not an email address. Give the mailbox the relay sends as, such as scanner@example.edu."
        ))
    })?;
    relay::edit::with(path, |doc| {
        let up = doc
            .get_mut("upstream")
            .and_then(toml_edit::Item::as_table_like_mut)
            .ok_or_else(|| "relay.toml has no [upstream] section".to_string())?;
        up.insert("account", toml_edit::value(account));
        Ok(())
    })
    .map_err(BadInput)
}

pub(super) fn sign_in(
    path: &Path,
    password_env: Option<&str>,
    password_stdin: bool,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let dir = relay::state_dir(&cfg, path);
    let _ = std::fs::create_dir_all(&dir);
    let store = secret::Store::for_config(&cfg, &dir);
    let state = status::Shared::open(status::path_for(&dir));
    let rt = runtime()?;
    let route = relay::upstream::Route::new(cfg.upstream.clone()).map_err(BadInput)?;
    let account = cfg.upstream.account.trim().to_string();
    // Where the sign-in will be kept, before anything is asked.
    store
        .ready()
        .map_err(|why| BadInput(no_keychain(path, &why)))?;
    let (credential, secret_to_keep, expires) = match cfg.upstream.auth {
        config::AuthKind::Password => {
            if password_env.is_none() && !password_stdin {
                return Err(BadInput(
                    "auth = \"password\": give --password-env VAR or --password-stdin (never on the command line).".into(),
                ));
            }
            let pw = crate::cli::password::given_password(password_env, stdin)?;
            let keep = pw.expose().to_string();
            (relay::tokens::Credential::Password(pw), keep, None)
        }
        config::AuthKind::App => {
            return Err(BadInput(
                "auth = \"app\": give the app's ID: scanmail relay sign-in --client-id ID".into(),
            ));
        }
        config::AuthKind::OAuth => {
            let provider = cfg.upstream.oauth_provider().ok_or_else(|| {
                BadInput("auth = \"oauth\" needs provider = \"microsoft\" or \"google\".".into())
            })?;
            let set = match rt.block_on(oauth_tokens(provider, &cfg, &account, err)) {
                Ok(s) => s,
                Err(e) => {
                    let _ = writeln!(err, "The sign-in did not work: {e}");
                    // The provider's own words, for IT reading this (the error's "message below").
                    if let Some(m) = e.for_it(provider.label(), &account) {
                        let _ = writeln!(err, "{m}");
                    }
                    return Ok(1);
                }
            };
            let Some(refresh) = set.refresh else {
                let _ = writeln!(
                    err,
                    "The provider gave no refresh token, so the relay could not keep sending. The app registration must allow offline_access (Microsoft: the app's API permissions; Google: an OAuth client of type \"TVs and Limited Input devices\"). Then sign in again: scanmail relay sign-in"
                );
                return Ok(1);
            };
            (
                relay::tokens::Credential::Token(set.access),
                refresh.expose().to_string(),
                Some(crate::time::now_unix() + 90 * 86_400),
            )
        }
    };
    // A real sign-in to the provider, so a mistake shows now, not at the first scan (Graph:
    // the token proves it; relay test sends the real message).
    if !cfg.upstream.graph()
        && let Err(e) = rt.block_on(relay::upstream::Session::open(&route, &credential))
    {
        let _ = writeln!(err, "{} Nothing was kept.", e.words());
        return Ok(1);
    }
    store.save(&secret_to_keep).map_err(BadInput)?;
    state.update(|s| {
        s.upstream.signed_in = true;
        s.upstream.token_expires = expires.map(crate::time::utc_rfc3339);
        s.upstream.last_error = None;
        // A running relay sees this within seconds and uses the new sign-in.
        s.upstream.signed_in_ms = crate::time::now_millis();
    });
    let _ = writeln!(
        out,
        "Signed in: the relay sends as {account} through {}. The sign-in is kept in {}.",
        cfg.upstream.server(),
        store.describe()
    );
    Ok(0)
}

pub(super) async fn oauth_tokens(
    provider: crate::oauth::Provider,
    cfg: &config::RelayConfig,
    account: &str,
    err: &mut dyn Write,
) -> Result<crate::oauth::TokenSet, crate::oauth::SignInError> {
    use crate::oauth::{SignInError, device, loopback};
    let apps = &cfg.upstream.oauth;
    let missing = || SignInError::Setup("The relay's settings have no sign-in app.".into());
    match provider {
        crate::oauth::Provider::Microsoft => {
            let app = apps.microsoft.as_ref().ok_or_else(missing)?;
            let code = if cfg.upstream.graph() {
                device::start_for(app, &crate::oauth::MICROSOFT_GRAPH_SCOPES).await?
            } else {
                device::start(app).await?
            };
            if !code.openable {
                return Err(SignInError::Setup(
                    "The sign-in page is not a safe (https) address.".into(),
                ));
            }
            let _ = writeln!(
                err,
                "To sign the relay in, open {} on any computer or phone and enter the code {}\nSign in as {account}. Waiting up to {} minutes (Ctrl+C stops).",
                code.verification_uri,
                code.user_code,
                code.expires_in.as_secs().div_ceil(60)
            );
            device::finish_tokens(app, &code).await
        }
        crate::oauth::Provider::Google => {
            let app = apps.google.as_ref().ok_or_else(missing)?;
            let pending = loopback::start(app, account).await?;
            let _ = writeln!(
                err,
                "Open this address on this computer to sign the relay in:\n{}\nSign in as {account}. Waiting up to 5 minutes (Ctrl+C stops).",
                pending.url
            );
            crate::cli::oauth::open_browser(&pending.url);
            loopback::finish_tokens(app, pending, crate::cli::oauth::BROWSER_LIMIT).await
        }
    }
}

/// The sign-in cannot be kept where relay.toml says: why, and the two ways on.
pub(super) fn no_keychain(path: &Path, why: &str) -> String {
    let config = if path == config::path_or_default(None) {
        String::new()
    } else {
        format!(" --config \"{}\"", path.display())
    };
    format!(
        "The sign-in could not be kept: {why}. Nothing was asked yet. Keep it in a file only this account can read instead: add the line secrets = \"file\" under [upstream] in {}, then run: scanmail relay sign-in{config}. Or install the relay as a service, which keeps it in a file of its own: scanmail relay install-service{config}",
        path.display()
    )
}
