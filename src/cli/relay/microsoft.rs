//! Microsoft 365 app-only: `relay microsoft-app` (the key, the certificate and the setup script)
//! and `relay sign-in --client-id ID [--tenant T]` (the app recorded in relay.toml once a token
//! and a real SMTP sign-in as the mailbox prove it).

use super::super::BadInput;
use super::*;
use crate::oauth::app as entra;
use crate::relay::{app_setup, app_token, microsoft};

pub(super) fn microsoft_app(
    path: &Path,
    graph: bool,
    renew: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    // Where the key will be kept, before it is made.
    relay_store(path)
        .map_err(BadInput)?
        .ready()
        .map_err(|why| BadInput(super::setup::no_keychain(path, &why)))?;
    let made = app_setup::make(path, graph, renew).map_err(BadInput)?;
    if json {
        let v = serde_json::json!({
            "certificate": made.certificate,
            "thumbprint": made.thumbprint,
            "script": made.script,
            "expires": made.expires,
        });
        let _ = writeln!(out, "{}", crate::cli::json_text(&v, false)?);
        return Ok(0);
    }
    let when = crate::time::local_words_from(&made.expires);
    let first = if made.already {
        format!(
            "The relay's app already has its certificate (thumbprint {}, ends on {when}): {}. To make a new one: scanmail relay microsoft-app --renew",
            made.thumbprint,
            made.certificate.display()
        )
    } else if made.renewed {
        format!(
            "Made a new certificate for the relay's app (thumbprint {}, ends on {when}): {}. The relay goes on with the current one until the new one is proved.",
            made.thumbprint,
            made.certificate.display()
        )
    } else {
        format!(
            "Made the relay's app certificate (thumbprint {}, ends on {when}): {}. Its private key is only in {}.",
            made.thumbprint,
            made.certificate.display(),
            relay_store(path).map_or_else(|_| "the relay's secret store".into(), |s| s.describe())
        )
    };
    let _ = writeln!(
        out,
        "{first}
Wrote the setup script: {}
Next:
  1. An administrator of Microsoft 365 reads the script, then runs it on a Windows PC (in the
     folder with the script and {}):
       powershell -ExecutionPolicy Bypass -File .\\{}
     Or does the same steps in the portal: docs/microsoft-365.md, \"In the portal\".
  2. The script ends with the app's two IDs. Then, on this computer:
       {} --client-id <Application (client) ID> --tenant <Directory (tenant) ID>",
        made.script.display(),
        made.certificate
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        app_setup::SCRIPT_FILE,
        app_setup::sign_in_command(path)
    );
    Ok(0)
}

fn relay_store(path: &Path) -> Result<secret::Store, String> {
    let cfg = config::load(path)?;
    Ok(secret::Store::for_config(
        &cfg,
        &relay::state_dir(&cfg, path),
    ))
}

/// What `relay sign-in` was given for the app-only sign-in.
pub(super) struct AppGiven<'a> {
    pub client_id: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub secret_env: Option<&'a str>,
    pub secret_stdin: bool,
    pub secret_expires: Option<&'a str>,
}

/// A tenant id (a GUID).
fn is_tenant_id(t: &str) -> bool {
    t.len() == 36 && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The app-only sign-in, proved before anything is kept.
pub(super) fn app_sign_in(
    path: &Path,
    given: &AppGiven<'_>,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, BadInput> {
    let mut cfg = load(path)?;
    if cfg.upstream.provider != config::ProviderKind::Microsoft {
        return Err(BadInput(
            "--client-id is for Microsoft 365's app-only sign-in: relay.toml's [upstream] provider is not \"microsoft\".".into(),
        ));
    }
    let secret = match (given.secret_env, given.secret_stdin) {
        (None, false) => None,
        (env, from_stdin) => Some(crate::cli::password::given_password(
            if from_stdin { None } else { env },
            stdin,
        )?),
    };
    if secret.is_none() && cfg.upstream.auth != config::AuthKind::App {
        return Err(BadInput(
            "The relay has no app certificate yet. Make it first: scanmail relay microsoft-app"
                .into(),
        ));
    }
    if let Some(d) = given.secret_expires
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(BadInput(format!(
            "--client-secret-expires \"{d}\" must be a date such as 2028-06-30"
        )));
    }
    cfg.upstream.auth = config::AuthKind::App;
    let account = cfg.upstream.account.trim().to_string();
    let mut app =
        cfg.upstream
            .oauth
            .microsoft
            .clone()
            .unwrap_or_else(|| crate::oauth::MicrosoftApp {
                client_id: String::new(),
                tenant: String::new(),
                authority: None,
                certificate: None,
                client_secret_expires: None,
            });
    if let Some(id) = given.client_id {
        app.client_id = id.trim().to_string();
    }
    if app.client_id.is_empty() {
        return Err(BadInput(
            "Give the app's Application (client) ID: scanmail relay sign-in --client-id ID (the setup script prints it).".into(),
        ));
    }
    let rt = runtime()?;
    // The tenant: as given, else as kept, else the mailbox's domain; a domain becomes its id.
    let asked = given
        .tenant
        .map(str::to_string)
        .or_else(|| (!app.tenant.is_empty()).then(|| app.tenant.clone()))
        .unwrap_or_else(|| account.rsplit_once('@').map_or("", |(_, d)| d).to_string());
    let ctx = |app: &crate::oauth::MicrosoftApp| microsoft::Ctx {
        account: account.clone(),
        client_id: app.client_id.clone(),
        tenant: asked.clone(),
        script: None,
    };
    app.tenant = if is_tenant_id(&asked) {
        asked.to_ascii_lowercase()
    } else {
        match rt.block_on(entra::discover_tenant(app.authority(), &asked)) {
            Ok(t) => {
                let _ = writeln!(out, "Tenant found: {asked} is {t}.");
                t
            }
            Err(e) => {
                let f = microsoft::sign_in(&e, &ctx(&app));
                let _ = writeln!(err, "{}\n{}\nNothing was kept.", f.what, f.fix);
                return Ok(1);
            }
        }
    };
    if let Some(d) = given.secret_expires {
        app.client_secret_expires = Some(d.to_string());
    }
    cfg.upstream.oauth.microsoft = Some(app.clone());
    let dir = relay::state_dir(&cfg, path);
    let _ = std::fs::create_dir_all(&dir);
    let store = secret::Store::for_config(&cfg, &dir);
    // The key or secret to prove: a renewed key waiting, else the current one, else the
    // client secret given now.
    let pending = store.pending().load().map_err(BadInput)?;
    let kept = match (&secret, &pending) {
        (Some(s), _) => format!("{}{}", app_token::SECRET_PREFIX, s.expose()),
        (None, Some(p)) => p.expose().to_string(),
        (None, None) => match store.load().map_err(BadInput)? {
            Some(k) => k.expose().to_string(),
            None => {
                return Err(BadInput(
                    "The relay's app key is not in its secret store. Make it: scanmail relay microsoft-app".into(),
                ));
            }
        },
    };
    if pending.is_some()
        && let Some(c) = cfg.upstream.oauth.microsoft.as_mut()
    {
        c.certificate = Some(relay::config_dir(path).join(app_setup::NEW_CERT_FILE));
    }
    let token = match rt.block_on(app_token::fetch(
        &cfg.upstream,
        &kept,
        app_token::scope(&cfg.upstream),
    )) {
        Ok(t) => t,
        Err(r) => {
            let _ = writeln!(err, "{}\nNothing was kept.", r.words);
            return Ok(1);
        }
    };
    if cfg.upstream.graph() {
        // Graph: the token alone proves the sign-in; relay test sends the real message.
        let _ = writeln!(out, "The app's token for Microsoft Graph: ok.");
    } else {
        let _ = writeln!(out, "The app's token: ok.");
    }
    // A real sign-in as the mailbox (SMTP), so a missing Exchange step shows now, not at a scan.
    let route = relay::upstream::Route::new(cfg.upstream.clone()).map_err(BadInput)?;
    let credential = relay::tokens::Credential::Token(token.access);
    let opened = if cfg.upstream.graph() {
        Ok(())
    } else {
        rt.block_on(relay::upstream::Session::open(&route, &credential))
            .map(|_| ())
    };
    if let Err(e) = opened {
        let words = match &e {
            relay::upstream::UpError::SignIn(r) | relay::upstream::UpError::Refused(r) => {
                microsoft::smtp(r.code, &r.text, true, &ctx(&app)).map(|f| f.words())
            }
            relay::upstream::UpError::Unreachable(_) => None,
        };
        let _ = writeln!(
            err,
            "{}\nNothing was kept.",
            words.unwrap_or_else(|| e.words())
        );
        return Ok(1);
    }
    if !cfg.upstream.graph() {
        let _ = writeln!(out, "The SMTP sign-in as {account}: ok.");
    }
    // Proved: keep it.
    if secret.is_some() {
        store.save(&kept).map_err(BadInput)?;
    } else if pending.is_some() {
        app_setup::promote(path, &store).map_err(BadInput)?;
    }
    relay::edit::with(path, |doc| {
        let up = doc
            .get_mut("upstream")
            .and_then(toml_edit::Item::as_table_like_mut)
            .ok_or_else(|| "relay.toml has no [upstream] section".to_string())?;
        up.insert("auth", toml_edit::value("app"));
        let oauth = up
            .entry("oauth")
            .or_insert(toml_edit::table())
            .as_table_like_mut()
            .ok_or_else(|| "[upstream.oauth] is not a table".to_string())?;
        let ms = oauth
            .entry("microsoft")
            .or_insert(toml_edit::table())
            .as_table_like_mut()
            .ok_or_else(|| "[upstream.oauth.microsoft] is not a table".to_string())?;
        ms.insert("client_id", toml_edit::value(app.client_id.as_str()));
        ms.insert("tenant", toml_edit::value(app.tenant.as_str()));
        if let Some(d) = &app.client_secret_expires {
            ms.insert("client_secret_expires", toml_edit::value(d.as_str()));
        }
        if secret.is_some() {
            ms.remove("certificate");
        }
        Ok(())
    })
    .map_err(BadInput)?;
    let state = status::Shared::open(status::path_for(&dir));
    state.update(|s| {
        s.upstream.signed_in = true;
        s.upstream.token_expires = None;
        s.upstream.last_error = None;
        s.upstream.signed_in_ms = crate::time::now_millis();
    });
    let ends = if secret.is_some() {
        app.client_secret_expires.as_deref().map_or_else(
            || " The secret's end date was not given (--client-secret-expires), so relay status cannot warn before it.".to_string(),
            |d| format!(" The client secret ends on {d}; relay status warns 30 days before."),
        )
    } else {
        let cert = relay::config_dir(path).join(app_setup::CERT_FILE);
        entra::Certificate::read(&cert)
            .and_then(|c| c.not_after())
            .map_or_else(
                |_| String::new(),
                |t| format!(" Nothing of it runs out but the certificate, on {}; relay status warns 30 days before.", crate::time::local_words(t)),
            )
    };
    let through = if cfg.upstream.graph() {
        "Microsoft Graph".to_string()
    } else {
        cfg.upstream.server().to_string()
    };
    let _ = writeln!(
        out,
        "Signed in: the relay sends as {account} through {through} with its own app (app-only: no person's password or sign-in).{ends}"
    );
    Ok(0)
}
