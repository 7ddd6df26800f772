//! `scanmail relay`: the bridge for IT. `init` writes a commented relay.toml from the preset,
//! `sign-in` signs the relay's mailbox in (the refresh token goes to the keychain, never a file
//! or the screen), `add-device` / `remove-device` manage copiers' logins, `run` runs it in the
//! foreground, `status` says how it stands, `test` sends a real message through it.

use super::BadInput;
use crate::relay::{self, config, device, secret, status};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The relay's settings [default: the machine-wide relay.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    fn path(&self) -> PathBuf {
        config::path_or_default(self.config.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Write a commented relay.toml from the organization preset (never over an existing one).
    Init {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Sign the relay's mailbox in (Microsoft: a code to type; Google: the browser), or keep its
    /// password (auth = "password").
    SignIn {
        #[command(flatten)]
        config: ConfigArg,
        /// auth = "password": the password is in this environment variable.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// auth = "password": the password is the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add a copier: a login (NAME) and a new password, shown once.
    AddDevice {
        /// The copier's login, such as copier-3f (letters, digits and - . _ @).
        name: String,
        /// Only from this address or range (may be given more than once).
        #[arg(long = "address", value_name = "IP")]
        addresses: Vec<String>,
        /// Only to these recipients, such as *@example.edu (may be given more than once).
        #[arg(long = "allow-recipient", value_name = "PATTERN")]
        allowed_recipients: Vec<String>,
        /// Print {"login", "password"} as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Remove a copier's login.
    RemoveDevice {
        name: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run the relay in the foreground (Ctrl-C or SIGTERM stops it; messages in flight finish).
    Run {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// How the relay stands: where it listens, its sign-in, each copier's counts.
    Status {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        json: bool,
    },
    /// Send a real message through the running relay, as a copier would.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// Where the test message goes [default: the relay's own mailbox].
        #[arg(long, value_name = "ADDRESS")]
        to: Option<String>,
    },
}

pub fn relay_cmd(
    cmd: &RelayCommand,
    org: Option<&Path>,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, BadInput> {
    match cmd {
        RelayCommand::Init { config } => init(&config.path(), org, out),
        RelayCommand::SignIn {
            config,
            password_env,
            password_stdin,
        } => sign_in(
            &config.path(),
            password_env.as_deref(),
            *password_stdin,
            stdin,
            out,
            err,
        ),
        RelayCommand::AddDevice {
            name,
            addresses,
            allowed_recipients,
            json,
            config,
        } => add_device(
            &config.path(),
            name,
            addresses,
            allowed_recipients,
            *json,
            out,
        ),
        RelayCommand::RemoveDevice { name, config } => remove_device(&config.path(), name, out),
        RelayCommand::Run { config } => run(&config.path(), out),
        RelayCommand::Status { config, json } => status_cmd(&config.path(), *json, out),
        RelayCommand::Test { config, to } => test(&config.path(), to.as_deref(), out),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, BadInput> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput(format!("Could not start: {e}")))
}

fn init(path: &Path, org: Option<&Path>, out: &mut dyn Write) -> Result<i32, BadInput> {
    if path.exists() {
        return Err(BadInput(format!(
            "{} already exists. Edit it, or give --config for another file.",
            path.display()
        )));
    }
    let preset = crate::org::locate(org).preset;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            BadInput(format!(
                "{}: {}",
                dir.display(),
                crate::fsutil::plain_io(&e)
            ))
        })?;
    }
    crate::fsutil::write_atomic(path, config::initial_text(&preset).as_bytes()).map_err(|e| {
        BadInput(format!(
            "{}: {}",
            path.display(),
            crate::fsutil::plain_io(&e)
        ))
    })?;
    let _ = writeln!(
        out,
        "Wrote {}. Next:\n  1. Set [upstream] account to the mailbox the relay sends as.\n  2. scanmail relay sign-in --config {}\n  3. scanmail relay add-device NAME --config {}",
        path.display(),
        path.display(),
        path.display()
    );
    Ok(0)
}

fn load(path: &Path) -> Result<config::RelayConfig, BadInput> {
    config::load(path).map_err(BadInput)
}

fn sign_in(
    path: &Path,
    password_env: Option<&str>,
    password_stdin: bool,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let store = secret::Store::for_config(&cfg, &relay::state_dir(path));
    let state = status::Shared::open(status::path_for(path));
    let rt = runtime()?;
    let route = relay::upstream::Route::new(cfg.upstream.clone()).map_err(BadInput)?;
    let account = cfg.upstream.account.trim().to_string();
    let (credential, secret_to_keep, expires) = match cfg.upstream.auth {
        config::AuthKind::Password => {
            if password_env.is_none() && !password_stdin {
                return Err(BadInput(
                    "auth = \"password\": give --password-env VAR or --password-stdin (never on the command line).".into(),
                ));
            }
            let pw = super::check::given_password(password_env, stdin)?;
            let keep = pw.expose().to_string();
            (relay::tokens::Credential::Password(pw), keep, None)
        }
        config::AuthKind::OAuth => {
            let provider = cfg.upstream.oauth_provider().ok_or_else(|| {
                BadInput("auth = \"oauth\" needs provider = \"microsoft\" or \"google\".".into())
            })?;
            let set = match rt.block_on(oauth_tokens(provider, &cfg, &account, err)) {
                Ok(s) => s,
                Err(e) => {
                    let _ = writeln!(err, "The sign-in did not work: {e}");
                    return Ok(1);
                }
            };
            let Some(refresh) = set.refresh else {
                let _ = writeln!(
                    err,
                    "The provider gave no refresh token, so the relay could not keep sending. Tell IT: the app must be allowed offline_access."
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
    // A real sign-in to the provider, so a mistake shows now, not at the first scan.
    if let Err(e) = rt.block_on(relay::upstream::Session::open(&route, &credential)) {
        let _ = writeln!(err, "{} Nothing was kept.", e.words());
        return Ok(1);
    }
    store.save(&secret_to_keep).map_err(BadInput)?;
    state.update(|s| {
        s.upstream.signed_in = true;
        s.upstream.token_expires = expires.map(crate::time::utc_rfc3339);
        s.upstream.last_error = None;
    });
    let _ = writeln!(
        out,
        "Signed in: the relay sends as {account} through {}. The sign-in is kept in {}.",
        cfg.upstream.server(),
        store.describe()
    );
    Ok(0)
}

async fn oauth_tokens(
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
            let code = device::start(app).await?;
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
            super::oauth::open_browser(&pending.url);
            loopback::finish_tokens(app, pending, super::oauth::BROWSER_LIMIT).await
        }
    }
}

/// Changes the device list in the file, keeping everything else (comments too).
fn edit(
    path: &Path,
    change: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<(), BadInput>,
) -> Result<(), BadInput> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BadInput(format!(
            "{}: {}",
            path.display(),
            crate::fsutil::plain_io(&e)
        ))
    })?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        BadInput(format!("{}: {}", path.display(), e.message()))
    })?;
    change(&mut doc)?;
    let mode = file_mode(path);
    crate::fsutil::write_atomic_mode(path, doc.to_string().as_bytes(), mode).map_err(|e| {
        BadInput(format!(
            "{}: {}",
            path.display(),
            crate::fsutil::plain_io(&e)
        ))
    })?;
    // What was written must still be a good config.
    config::load(path).map(|_| ()).map_err(BadInput)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn file_mode(_path: &Path) -> u32 {
    0o600
}

fn add_device(
    path: &Path,
    name: &str,
    addresses: &[String],
    allowed_recipients: &[String],
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    config::check_name(name).map_err(|e| BadInput(format!("{e}.")))?;
    if cfg.device(name).is_some() {
        return Err(BadInput(format!(
            "A copier called \"{name}\" is already there. Pick another name, or remove it first."
        )));
    }
    for a in addresses {
        config::parse_net(a).map_err(|e| BadInput(format!("--address: {e}.")))?;
    }
    let password = device::new_password();
    let hash = device::hash(&password).map_err(BadInput)?;
    edit(path, |doc| {
        let mut t = toml_edit::Table::new();
        t["name"] = toml_edit::value(name);
        t["password_hash"] = toml_edit::value(hash.as_str());
        if !addresses.is_empty() {
            t["addresses"] = toml_edit::value(addresses.iter().collect::<toml_edit::Array>());
        }
        if !allowed_recipients.is_empty() {
            t["allowed_recipients"] =
                toml_edit::value(allowed_recipients.iter().collect::<toml_edit::Array>());
        }
        t["rewrite_from"] = toml_edit::value(true);
        match doc.get_mut("device") {
            Some(item) => item
                .as_array_of_tables_mut()
                .ok_or_else(|| {
                    BadInput("\"device\" in relay.toml is not a list of [[device]] tables.".into())
                })?
                .push(t),
            None => {
                let mut a = toml_edit::ArrayOfTables::new();
                a.push(t);
                doc.insert("device", toml_edit::Item::ArrayOfTables(a));
            }
        }
        Ok(())
    })?;
    if json {
        let text = super::json_text(
            &serde_json::json!({"login": name, "password": password.expose()}),
            false,
        )?;
        let _ = writeln!(out, "{text}");
    } else {
        let cfg = load(path)?;
        let dev = cfg
            .device(name)
            .cloned()
            .ok_or_else(|| BadInput("the copier was not kept".into()))?;
        let card = relay::card::RelayCard::new(
            &cfg,
            &dev,
            &relay::card::this_address(&cfg),
            Some(password.expose()),
        );
        let _ = writeln!(
            out,
            "Added the copier \"{name}\". Its password is shown this once; only a hash of it is kept.\n\n{}",
            card.text()
        );
    }
    Ok(0)
}

fn remove_device(path: &Path, name: &str, out: &mut dyn Write) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let Some(dev) = cfg.device(name) else {
        return Err(BadInput(format!(
            "No copier is called \"{name}\". See: scanmail relay status"
        )));
    };
    let exact = dev.name.clone();
    edit(path, |doc| {
        if let Some(a) = doc
            .get_mut("device")
            .and_then(toml_edit::Item::as_array_of_tables_mut)
        {
            a.retain(|t| t.get("name").and_then(toml_edit::Item::as_str) != Some(exact.as_str()));
            if a.is_empty() {
                doc.remove("device");
            }
        }
        Ok(())
    })?;
    let _ = writeln!(
        out,
        "Removed the copier \"{exact}\". Its login no longer works."
    );
    Ok(0)
}

fn run(path: &Path, out: &mut dyn Write) -> Result<i32, BadInput> {
    let rt = runtime()?;
    let result = rt.block_on(relay::run(path, stop_signal(), |listening| {
        let _ = writeln!(
            out,
            "The relay is running on {}. Ctrl-C stops it.",
            listening.join(", ")
        );
        let _ = out.flush();
    }));
    match result {
        Ok(()) => Ok(0),
        Err(e) => Err(BadInput(e)),
    }
}

/// Ctrl-C, or SIGTERM (how services are stopped).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn status_cmd(path: &Path, json: bool, out: &mut dyn Write) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let state = status::read(&status::path_for(path));
    let r = status::report(&cfg, &state, crate::time::now_unix());
    if json {
        let _ = writeln!(out, "{}", super::json_text(&r, true)?);
        return Ok(0);
    }
    let _ = writeln!(
        out,
        "Relay: {} on {}",
        if r.running { "running" } else { "not running" },
        r.listening.join(", ")
    );
    let u = &r.upstream;
    let _ = writeln!(
        out,
        "Sends as {} through {}: {}",
        u.account,
        cfg.upstream.server(),
        if u.signed_in {
            format!(
                "signed in{}",
                u.token_expires
                    .as_deref()
                    .map(|t| format!(" (until {}, if unused)", crate::time::local_words_from(t)))
                    .unwrap_or_default()
            )
        } else {
            "NOT signed in".into()
        }
    );
    if let Some(e) = &u.last_error {
        let _ = writeln!(out, "  Last problem: {e}");
    }
    if r.devices.is_empty() {
        let _ = writeln!(
            out,
            "No copiers yet. Add one: scanmail relay add-device NAME"
        );
    }
    for d in &r.devices {
        let _ = writeln!(
            out,
            "Copier {}: {} message(s), {} bytes{}",
            d.name,
            d.messages,
            d.bytes,
            d.last_message
                .as_deref()
                .map(|t| format!(", last {}", crate::time::local_words_from(t)))
                .unwrap_or_default()
        );
        if let Some(e) = &d.last_error {
            let _ = writeln!(out, "  Last problem: {e}");
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    Ok(0)
}

/// The login `relay test` uses for one message, added and removed around it.
const TEST_LOGIN: &str = "relay-test@scanmail.invalid";

fn test(path: &Path, to: Option<&str>, out: &mut dyn Write) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let state = status::read(&status::path_for(path));
    let report = status::report(&cfg, &state, crate::time::now_unix());
    if !report.running {
        let _ = writeln!(
            out,
            "The relay is not running. Start it (scanmail relay run, or its service), then test again."
        );
        return Ok(1);
    }
    if cfg.device(TEST_LOGIN).is_some() {
        let _ = remove_device(path, TEST_LOGIN, &mut std::io::sink());
    }
    let mut sink = Vec::new();
    add_device(path, TEST_LOGIN, &[], &[], true, &mut sink)?;
    let login: serde_json::Value = serde_json::from_slice(&sink).unwrap_or_default();
    let password = crate::secrets::AppPassword::new(login["password"].as_str().unwrap_or_default());
    let result = send_test(&cfg, &state.listening, path, password, to);
    let _ = remove_device(path, TEST_LOGIN, &mut std::io::sink());
    let report = result?;
    let _ = write!(out, "{}", super::check_words::human(&report, None));
    Ok(if report.any_works() { 0 } else { 1 })
}

fn send_test(
    cfg: &config::RelayConfig,
    listening: &[String],
    path: &Path,
    password: crate::secrets::AppPassword,
    to: Option<&str>,
) -> Result<crate::smtp::Report, BadInput> {
    // Where the running relay really listens (port 0 in the file becomes a real port).
    let listen: Vec<(std::net::SocketAddr, bool)> = listening
        .iter()
        .filter_map(|l| {
            let (addr, kind) = l.split_once(' ')?;
            Some((addr.parse().ok()?, kind.contains("SSL/TLS")))
        })
        .collect();
    let listen = if listen.is_empty() {
        cfg.listen_addrs().map_err(BadInput)?
    } else {
        listen
    };
    let host = |a: &std::net::SocketAddr| {
        if a.ip().is_unspecified() {
            if a.is_ipv4() {
                "127.0.0.1".to_string()
            } else {
                "::1".to_string()
            }
        } else {
            a.ip().to_string()
        }
    };
    let plain = listen.iter().find(|(_, i)| !i);
    let implicit = listen.iter().find(|(_, i)| *i);
    let server = plain.or(implicit).map(|(a, _)| host(a)).unwrap_or_default();
    let mut req = crate::smtp::Request::new(&server, TEST_LOGIN, password);
    req.starttls_port = plain.map(|(a, _)| a.port());
    req.ssl_port = implicit.map(|(a, _)| a.port());
    req.recipient = Some(to.unwrap_or(cfg.upstream.account.trim()).to_string());
    req.surface = crate::smtp::Surface::CommandLine;
    req.timeout = std::time::Duration::from_secs(60);
    req.profile_name = Some("the relay's test".into());
    // The relay's own certificate, when ScanMail made it.
    let cert = relay::state_dir(path).join(
        cfg.certificate
            .clone()
            .unwrap_or_else(|| "relay-cert.pem".into()),
    );
    req.extra_ca_pem = std::fs::read(cert).ok();
    req.validate().map_err(|e| BadInput(e.to_string()))?;
    runtime()?
        .block_on(crate::smtp::test_send(&req))
        .map_err(|e| BadInput(e.to_string()))
}
