//! `scanmail check`: both ports at once, plain words or JSON.

use super::BadInput;
use super::check_words::{human, warnings_text};
use crate::catalog::{self, warnings::Warning};
use crate::profile::Profile;
use crate::secrets::AppPassword;
use crate::smtp::{self, Report, Request};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("password").args(["password_env", "password_stdin"])))]
pub struct CheckArgs {
    /// Use a saved device profile: its server, account, ports and recipient, and its app
    /// password from this computer's keychain. Other flags override the profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Mail server name, for example smtp.gmail.com.
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,
    /// The device account's address (the login name).
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// Read the app password from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Read the app password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Sign in with Microsoft 365 or Google (OAuth 2.0) instead of an app password; the
    /// organization preset names the app ([oauth.microsoft] or [oauth.google]).
    #[arg(long, value_name = "PROVIDER", value_enum, conflicts_with_all = ["password_env", "password_stdin"])]
    pub oauth: Option<crate::oauth::Provider>,
    /// Use the OAuth 2.0 access token in this environment variable (no sign-in).
    #[arg(long, value_name = "VAR", conflicts_with_all = ["password_env", "password_stdin"])]
    pub token_env: Option<String>,
    /// Send the test message here instead of to the account itself.
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
    /// Port for SSL/TLS (implicit TLS) [default: 465].
    #[arg(long, value_name = "N")]
    pub ssl_port: Option<u16>,
    /// Port for STARTTLS [default: 587].
    #[arg(long, value_name = "N")]
    pub starttls_port: Option<u16>,
    /// Do not test SSL/TLS.
    #[arg(long)]
    pub skip_ssl: bool,
    /// Do not test STARTTLS.
    #[arg(long)]
    pub skip_starttls: bool,
    /// Also trust the CA certificate(s) in this PEM file (an organization's own server).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Time limit for each port, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Sign in only; send no message.
    #[arg(long)]
    pub login_only: bool,
    /// Print one JSON object instead of plain words.
    #[arg(long)]
    pub json: bool,
    /// Also write a report for IT to this file (HTML when it ends in .html, else text).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The fields of a check once flags and the profile are combined.
struct Resolved {
    server: String,
    user: String,
    to: Option<String>,
    ssl_port: Option<u16>,
    starttls_port: Option<u16>,
}

fn resolve(args: &CheckArgs, profile: Option<&Profile>) -> Result<Resolved, BadInput> {
    let pick = |flag: &Option<String>, saved: Option<&String>| {
        flag.clone()
            .or_else(|| saved.filter(|s| !s.trim().is_empty()).cloned())
    };
    let server = pick(&args.server, profile.map(|p| &p.server))
        .ok_or_else(|| BadInput("Give --server HOST (or --profile NAME).".into()))?;
    let user = pick(&args.user, profile.map(|p| &p.account))
        .ok_or_else(|| BadInput("Give --user ADDRESS (or --profile NAME).".into()))?;
    let to = pick(&args.to, profile.map(|p| &p.recipient));
    let ssl = args
        .ssl_port
        .or(profile.and_then(|p| p.ssl_port))
        .unwrap_or(smtp::DEFAULT_SSL_PORT);
    let starttls = args
        .starttls_port
        .or(profile.and_then(|p| p.starttls_port))
        .unwrap_or(smtp::DEFAULT_STARTTLS_PORT);
    Ok(Resolved {
        server,
        user,
        to,
        ssl_port: (!args.skip_ssl).then_some(ssl),
        starttls_port: (!args.skip_starttls).then_some(starttls),
    })
}

/// The flags that made a `--profile` check test something other than the saved device.
fn overrides(args: &CheckArgs) -> Vec<&'static str> {
    [
        (args.server.is_some(), "--server"),
        (args.user.is_some(), "--user"),
        (args.ssl_port.is_some(), "--ssl-port"),
        (args.starttls_port.is_some(), "--starttls-port"),
        (args.skip_ssl, "--skip-ssl"),
        (args.skip_starttls, "--skip-starttls"),
        (args.login_only, "--login-only"),
        (args.token_env.is_some(), "--token-env"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}

/// The password exactly as given; spaces are handled by the caller. Without a password flag,
/// a profile's password comes from the keychain.
fn read_password(
    args: &CheckArgs,
    stdin: &mut dyn BufRead,
    keychain: Option<(&crate::secrets::Key, bool)>,
) -> Result<AppPassword, BadInput> {
    if args.password_env.is_none() && !args.password_stdin {
        let Some((key, saved_server)) = keychain else {
            return Err(BadInput(
                "Give --password-env VAR or --password-stdin (the password is never a command-line argument).".into(),
            ));
        };
        crate::secrets::use_platform_keychain()
            .map_err(|e| BadInput(format!("{e} Use --password-env or --password-stdin.")))?;
        let account = key.account();
        // Only the device's own saved server may take over a 0.1 entry.
        let recalled = if saved_server {
            crate::secrets::recall(key)
        } else {
            crate::secrets::recall_exact(key)
        };
        return match recalled {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(BadInput(format!(
                "No app password for {account} is saved on this computer. Save it in the window (Remember the app password), or use --password-env."
            ))),
            Err(e) => Err(BadInput(format!(
                "{e} Use --password-env or --password-stdin."
            ))),
        };
    }
    super::password::given_password(args.password_env.as_deref(), stdin)
}

/// Turns the arguments into a request (all checks that need no network), with the catalog's
/// warnings. Spaces in the password are removed (app passwords never contain any) and a warning
/// says so.
pub fn request_from(
    args: &CheckArgs,
    stdin: &mut dyn BufRead,
    profile: Option<&Profile>,
) -> Result<(Request, Vec<Warning>), BadInput> {
    let r = resolve(args, profile)?;
    if !(args.timeout.is_finite() && args.timeout >= 1.0 && args.timeout <= 300.0) {
        return Err(BadInput(
            "--timeout must be between 1 and 300 seconds.".into(),
        ));
    }
    let extra_ca_pem = match &args.ca_file {
        None => None,
        Some(path) => Some(
            crate::fsutil::read_capped(path, crate::fsutil::CA_CAP).map_err(|e| {
                BadInput(format!(
                    "The certificate file {} could not be read: {}.",
                    path.display(),
                    crate::fsutil::plain_io(&e)
                ))
            })?,
        ),
    };
    // A token (from --token-env, or a sign-in after these checks) replaces the password.
    let sign_in = args.oauth.or(profile.and_then(|p| p.sign_in));
    let uses_token = sign_in.is_some() || args.token_env.is_some();
    if let Some(p) = profile.filter(|p| !p.remember_password && !uses_token)
        && args.password_env.is_none()
        && !args.password_stdin
    {
        return Err(BadInput(format!(
            "\"{}\" does not keep its app password on this computer. Give --password-env VAR or --password-stdin, or keep it first: scanmail profiles remember \"{}\" --password-stdin",
            p.name, p.name
        )));
    }
    let as_typed = if uses_token {
        None
    } else {
        // The keychain is read only for a device that keeps its password there.
        let keychain = profile.filter(|p| p.remember_password).map(|p| {
            (
                crate::secrets::Key::new(&r.server, &r.user),
                p.server.trim().eq_ignore_ascii_case(r.server.trim()),
            )
        });
        Some(read_password(
            args,
            stdin,
            keychain.as_ref().map(|(k, saved)| (k, *saved)),
        )?)
    };
    let warnings = catalog::warnings::warnings(
        catalog::catalog(),
        &catalog::warnings::Input {
            server: &r.server,
            account: &r.user,
            from: None,
            password_as_typed: as_typed.as_ref().map(AppPassword::expose),
            ssl_port: r.ssl_port,
            starttls_port: r.starttls_port,
        },
    )
    .into_iter()
    .filter(|w| !uses_token || !catalog::warnings::about_passwords(w))
    .collect();
    let password = as_typed.map_or_else(AppPassword::default, |p| {
        AppPassword::from_pasted(p.expose())
    });
    let mut request = Request::new(&r.server, &r.user, password);
    request.token = args
        .token_env
        .as_deref()
        .map(super::oauth::token_from_env)
        .transpose()?;
    request.recipient = r.to;
    request.ssl_port = r.ssl_port;
    request.starttls_port = r.starttls_port;
    request.timeout = Duration::from_secs_f64(args.timeout);
    request.extra_ca_pem = extra_ca_pem;
    request.login_only = args.login_only;
    request.profile_name = profile.map(Profile::label).filter(|l| !l.is_empty());
    request.surface = smtp::Surface::CommandLine;
    catalog::catalog().shape_advice(&mut request);
    if uses_token && request.token.is_none() {
        request.validate_settings()?; // the token comes from the sign-in that follows
    } else {
        request.validate()?;
    }
    Ok((request, warnings))
}

pub(super) fn check(
    args: &CheckArgs,
    org: Option<&std::path::Path>,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let store = crate::profile::Store::default_location();
    let saved = match (&args.profile, &store) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(BadInput(
                "This computer has no settings folder, so there are no saved devices.".into(),
            ));
        }
        (Some(name), Some(store)) => {
            let loaded = store.load_read_only();
            if let Some(n) = loaded.notice {
                return Err(BadInput(n));
            }
            let found = loaded.file.find(name).cloned().ok_or_else(|| {
                BadInput(format!(
                    "No saved device is called \"{name}\". See: scanmail profiles list"
                ))
            })?;
            Some((loaded.file, found))
        }
    };
    let (mut request, warnings) = request_from(args, stdin, saved.as_ref().map(|(_, p)| p))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput(format!("Could not start: {e}")))?;
    let sign_in = args.oauth.or(saved.as_ref().and_then(|(_, p)| p.sign_in));
    if let (None, Some(provider)) = (&request.token, sign_in) {
        let apps = crate::org::locate(org).preset.oauth;
        // The identity provider's words (the code, the address) go through the terminal filter.
        let mut raw = std::io::stderr();
        let mut err = super::Safe::new(&mut raw);
        match super::oauth::sign_in(&runtime, provider, &apps, &request.account, &mut err) {
            Ok(token) => request.token = Some(token),
            Err(super::oauth::NoToken::Setup(bad)) => return Err(bad),
            Err(super::oauth::NoToken::Failed(e)) => {
                let _ = writeln!(err, "The {} sign-in did not work: {e}", provider.label());
                return Ok(1);
            }
        }
    }
    let mut report = runtime.block_on(smtp::test_send(&request))?;
    let maker = saved
        .as_ref()
        .and_then(|(_, p)| catalog::catalog().find_manufacturer(&p.manufacturer, &p.model));
    let label = saved.as_ref().map(|(_, p)| p.label()).unwrap_or_default();
    let oauth_ready = crate::org::locate(org).preset.oauth.microsoft.is_some();
    catalog::microsoft::advise(
        &mut report,
        &catalog::microsoft::Copier {
            maker,
            label: &label,
        },
        oauth_ready,
        crate::time::now_unix(),
    );

    if args.json {
        #[derive(serde::Serialize)]
        struct Output<'a> {
            #[serde(flatten)]
            report: &'a Report,
            warnings: &'a [Warning],
        }
        let output = Output {
            report: &report,
            warnings: &warnings,
        };
        let text = super::json_text(&output, true)?;
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(out, "{}", warnings_text(&warnings));
        let card = crate::card::Card::from_report(&report, maker, &label, sign_in);
        let _ = write!(out, "{}", human(&report, card.as_ref()));
    }
    if let Some(path) = &args.report {
        let found = crate::org::locate(org);
        let about = crate::report::About {
            organization: format!("{} (from {})", found.preset.organization, found.source),
            device: saved.as_ref().map(|(_, p)| p.label()).unwrap_or_default(),
        };
        crate::report::write_file(path, &report, &about).map_err(BadInput)?;
    }
    if let (Some((_, profile)), Some(store)) = (saved.as_ref(), &store) {
        let mut overrides = overrides(args);
        if args.oauth.is_some() && args.oauth != profile.sign_in {
            overrides.push("--oauth");
        }
        if overrides.is_empty() {
            // Keep the verdict with the device, as the window does: reloaded under the lock, so
            // whatever the window saved meanwhile stays.
            let recorded = store.update(|file| {
                if let Some(p) = file.profiles.iter_mut().find(|p| p.name == profile.name) {
                    crate::profile::record_test(p, &report);
                }
            });
            if let Err(e) = recorded
                && !args.json
            {
                let _ = writeln!(out, "Note: {e}");
            }
        } else if !args.json {
            // A verdict for other settings must not be printed later as this device's.
            let _ = writeln!(
                out,
                "Note: not recorded with \"{}\", because {} changed what was tested.",
                profile.name,
                overrides.join(", ")
            );
        }
    }
    Ok(if report.any_works() { 0 } else { 1 })
}
