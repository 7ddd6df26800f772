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
        /// The mailbox the relay sends as (else set [upstream] account in the file).
        #[arg(long, value_name = "ADDRESS")]
        account: Option<String>,
    },
    /// Sign the relay's mailbox in (Microsoft: a code to type; Google: the browser), or keep its
    /// password (auth = "password").
    SignIn {
        #[command(flatten)]
        config: ConfigArg,
        /// The mailbox the relay sends as; kept in relay.toml as [upstream] account.
        #[arg(long, value_name = "ADDRESS")]
        account: Option<String>,
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
        /// The password's Argon2id hash, made elsewhere (the window makes the password and
        /// shows it; this command, run with administrator rights, only keeps the hash).
        #[arg(long, value_name = "HASH", hide = true)]
        password_hash: Option<String>,
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
        /// Run as the service does: started by the service manager, restarted after a failure.
        #[arg(long)]
        service: bool,
    },
    /// Install the relay as a service that starts with the computer (as an administrator).
    InstallService {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Stop and remove the relay's service (its settings stay).
    UninstallService,
    /// Is the relay's service installed and running?
    ServiceStatus,
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

impl RelayCommand {
    /// The `--config` of a verb that has one.
    pub fn config_arg(&self) -> Option<&ConfigArg> {
        match self {
            RelayCommand::Init { config, .. }
            | RelayCommand::SignIn { config, .. }
            | RelayCommand::AddDevice { config, .. }
            | RelayCommand::RemoveDevice { config, .. }
            | RelayCommand::Run { config, .. }
            | RelayCommand::InstallService { config }
            | RelayCommand::Status { config, .. }
            | RelayCommand::Test { config, .. } => Some(config),
            RelayCommand::UninstallService | RelayCommand::ServiceStatus => None,
        }
    }
}

/// The same file, however named.
#[cfg(windows)]
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn relay_cmd(
    cmd: &RelayCommand,
    org: Option<&Path>,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, BadInput> {
    #[cfg(windows)]
    if let Some(given) = cmd.config_arg().and_then(|c| c.config.as_deref())
        && crate::winacl::is_elevated()
        && !same_file(given, &config::path_or_default(None))
    {
        return Err(BadInput(format!(
            "As an administrator, ScanMail changes only the machine-wide relay settings ({}). Leave out --config, or run this without administrator rights.",
            config::path_or_default(None).display()
        )));
    }
    match cmd {
        RelayCommand::Init { config, account } => {
            init(&config.path(), org, account.as_deref(), out)
        }
        RelayCommand::SignIn {
            config,
            account,
            password_env,
            password_stdin,
        } => {
            if let Some(a) = account {
                set_account(&config.path(), a)?;
            }
            sign_in(
                &config.path(),
                password_env.as_deref(),
                *password_stdin,
                stdin,
                out,
                err,
            )
        }
        RelayCommand::AddDevice {
            name,
            addresses,
            allowed_recipients,
            json,
            password_hash,
            config,
        } => add_device(
            &config.path(),
            name,
            addresses,
            allowed_recipients,
            password_hash.as_deref(),
            *json,
            out,
        ),
        RelayCommand::RemoveDevice { name, config } => remove_device(&config.path(), name, out),
        RelayCommand::Run { config, service } => {
            if *service {
                run_service(&config.path())
            } else {
                run(&config.path(), out)
            }
        }
        RelayCommand::InstallService { config } => {
            let path = config.path();
            // The installer (MSI with RELAY=1) installs the service before anyone made a
            // relay.toml: make it from the preset; the service waits until it is signed in.
            if !path.exists() {
                init(&path, org, None, out)?;
            }
            install_service(&path, out)
        }
        RelayCommand::UninstallService => {
            let said = relay::service::uninstall().map_err(BadInput)?;
            let _ = writeln!(out, "{said}");
            Ok(0)
        }
        RelayCommand::ServiceStatus => {
            let _ = writeln!(out, "{}", relay::service::status());
            Ok(0)
        }
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

fn init(
    path: &Path,
    org: Option<&Path>,
    account: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
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
    crate::fsutil::write_atomic(path, relay::template::initial_text(&preset).as_bytes()).map_err(
        |e| {
            BadInput(format!(
                "{}: {}",
                path.display(),
                crate::fsutil::plain_io(&e)
            ))
        },
    )?;
    let first = match account {
        Some(a) => {
            set_account(path, a)?;
            String::new()
        }
        None => "\n  - Set [upstream] account to the mailbox the relay sends as.".to_string(),
    };
    let _ = writeln!(
        out,
        "Wrote {}. Next:{first}\n  - scanmail relay sign-in --config {}\n  - scanmail relay add-device NAME --config {}",
        path.display(),
        path.display(),
        path.display()
    );
    Ok(0)
}

/// Keeps the mailbox the relay sends as in relay.toml.
fn set_account(path: &Path, account: &str) -> Result<(), BadInput> {
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
    let dir = relay::state_dir(&cfg, path);
    let _ = std::fs::create_dir_all(&dir);
    let store = secret::Store::for_config(&cfg, &dir);
    let state = status::Shared::open(status::path_for(&dir));
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

fn add_device(
    path: &Path,
    name: &str,
    addresses: &[String],
    allowed_recipients: &[String],
    given_hash: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let (password, hash) = match given_hash {
        Some(h) => (None, h.to_string()),
        None => {
            let p = device::new_password();
            let h = device::hash(&p).map_err(BadInput)?;
            (Some(p), h)
        }
    };
    relay::edit::add_device(path, name, addresses, allowed_recipients, &hash)
        .map_err(|e| BadInput(format!("{e}.")))?;
    let Some(password) = password else {
        let _ = writeln!(out, "Added the copier \"{name}\".");
        return Ok(0);
    };
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
    if relay::edit::remove_device(path, name).map_err(BadInput)? {
        let _ = writeln!(
            out,
            "Removed the copier \"{name}\". Its login no longer works."
        );
        Ok(0)
    } else {
        Err(BadInput(format!(
            "No copier is called \"{name}\". See: scanmail relay status"
        )))
    }
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

/// The service's way to run: supervised (a failure waits and tries again), stopped by the
/// service manager. On Windows the service control manager's dispatcher takes over.
fn run_service(path: &Path) -> Result<i32, BadInput> {
    #[cfg(windows)]
    {
        relay::winsvc::dispatch(path).map_err(BadInput)?;
        Ok(0)
    }
    #[cfg(not(windows))]
    {
        let rt = runtime()?;
        rt.block_on(async {
            let (stop_tx, stop) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                stop_signal().await;
                let _ = stop_tx.send(true);
            });
            let mut repeats = relay::service::Repeats::default();
            let mut report = |phase: relay::service::Phase, why: Option<&str>| {
                let words = match (phase, why) {
                    (relay::service::Phase::Waiting(w), Some(why)) => {
                        if !repeats.worth_saying(why) {
                            return;
                        }
                        format!("could not run ({why}); trying again in {} s", w.as_secs())
                    }
                    (p, _) => format!("{p:?}").to_lowercase(),
                };
                relay::bridge::log(&format!("service: {words}"));
            };
            let path = path.to_path_buf();
            relay::service::supervise(
                |mut s: tokio::sync::watch::Receiver<bool>,
                 ready: tokio::sync::oneshot::Sender<()>| {
                    let path = path.clone();
                    async move {
                        relay::run(
                            &path,
                            async move {
                                let _ = s.wait_for(|v| *v).await;
                            },
                            move |listening| {
                                relay::bridge::log(&format!(
                                    "service: listening on {}",
                                    listening.join(", ")
                                ));
                                let _ = ready.send(());
                            },
                        )
                        .await
                    }
                },
                stop,
                &mut report,
            )
            .await;
        });
        Ok(0)
    }
}

/// Installs the service: the settings get a state folder the service may write and keep the
/// secret in a private file there (a service has no keychain of its own); a secret already in
/// the keychain moves there.
fn install_service(path: &Path, out: &mut dyn Write) -> Result<i32, BadInput> {
    #[cfg(unix)]
    if !relay::service::may_install() {
        return Err(BadInput(format!(
            "Installing a service needs an administrator. Run: {}",
            relay::program::install_command()
        )));
    }
    // The program the service will run, before anything is changed.
    let exe = relay::program::check().map_err(BadInput)?;
    #[cfg(unix)]
    {
        // The service runs from these settings: only administrators may be able to change them.
        if let crate::trust::Guarded::Untrusted(why) | crate::trust::Guarded::Unreadable(why) =
            crate::trust::read_guarded(path, 1024 * 1024)
        {
            return Err(BadInput(format!(
                "{} is not used for a service: {why}. Keep the relay's settings where only administrators can change them, such as {}",
                path.display(),
                config::path_or_default(None).display()
            )));
        }
    }
    #[cfg(windows)]
    if let crate::trust::Guarded::Untrusted(why) | crate::trust::Guarded::Unreadable(why) =
        crate::trust::read_guarded(path, 1024 * 1024)
    {
        return Err(BadInput(format!(
            "{} is not used for a service: {why}. Someone other than an administrator could change it, and the service would run from it. Keep the relay's settings in {}: run the installer with the Relay feature, or scanmail relay init there as an administrator",
            path.display(),
            config::system_dir().display()
        )));
    }
    // The Linux service runs as its own user: it must reach the settings through their folders.
    // Folders are never changed here: one the service cannot pass is named, with the command
    // that opens it.
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some(closed) = path.ancestors().skip(1).find(|f| {
        use std::os::unix::fs::PermissionsExt;
        !f.as_os_str().is_empty()
            && std::fs::metadata(f).is_ok_and(|m| m.permissions().mode() & 0o001 == 0)
    }) {
        return Err(BadInput(format!(
            "The service's own account cannot reach {}: the folder {} is closed to other accounts. Keep relay.toml in {} (sudo scanmail relay init there), or open that folder for passing through: sudo chmod o+x \"{}\"",
            path.display(),
            closed.display(),
            config::system_dir().display(),
            closed.display()
        )));
    }
    let cfg = config::load_unguarded(path).map_err(BadInput)?;
    // Every file the service reads or writes lies in a folder only administrators change.
    cfg.confined(&relay::config_dir(path), &relay::service_state_dir())
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let state = relay::service_state_dir();
    let before = secret::Store::for_config(&cfg, &relay::state_dir(&cfg, path));
    let kept = before.load().ok().flatten();
    relay::edit::with(path, |doc| {
        if doc.get("state_dir").is_none() {
            doc.insert("state_dir", toml_edit::value(state.display().to_string()));
        }
        if let Some(u) = doc
            .get_mut("upstream")
            .and_then(toml_edit::Item::as_table_like_mut)
        {
            // macOS: the System keychain (the LaunchDaemon runs as root); elsewhere a private
            // file in the state folder (sealed with DPAPI on Windows).
            let store = if cfg!(target_os = "macos") {
                "system-keychain"
            } else {
                "file"
            };
            u.insert("secrets", toml_edit::value(store));
        }
        Ok(())
    })?;
    let cfg = config::load_unguarded(path).map_err(BadInput)?;
    let dir = relay::state_dir(&cfg, path);
    std::fs::create_dir_all(&dir).map_err(|e| {
        BadInput(format!(
            "{}: {}",
            dir.display(),
            crate::fsutil::plain_io(&e)
        ))
    })?;
    let after = secret::Store::for_config(&cfg, &dir);
    if let Some(k) = kept
        && after.load().ok().flatten().is_none()
    {
        after.save(k.expose()).map_err(BadInput)?;
        let _ = before.delete();
    }
    // The Linux service's own account reads the settings (they hold only the copiers'
    // password hashes; the secret stays in the private state folder).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    let said = relay::service::install(&exe, path, &dir).map_err(BadInput)?;
    let _ = writeln!(
        out,
        "{said}
See how it stands: scanmail relay status"
    );
    Ok(0)
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
    let state =
        status::read_checked(&status::path_for(&relay::state_dir(&cfg, path))).map_err(BadInput)?;
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
    let state = status::read(&status::path_for(&relay::state_dir(&cfg, path)));
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
    // The test's own login works only from this computer and only to the test's recipient,
    // so one left behind by an interrupted test (it is removed at the next) opens nothing.
    let recipient = to.unwrap_or(cfg.upstream.account.trim()).to_string();
    let mut here = vec!["127.0.0.1".to_string(), "::1".to_string()];
    for (a, _) in cfg.listen_addrs().unwrap_or_default() {
        if !a.ip().is_unspecified() && !here.contains(&a.ip().to_string()) {
            here.push(a.ip().to_string());
        }
    }
    let mut sink = Vec::new();
    add_device(path, TEST_LOGIN, &here, &[recipient], None, true, &mut sink)?;
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
    let cert = match &cfg.certificate {
        Some(c) => relay::config_dir(path).join(c),
        None => relay::state_dir(cfg, path).join("relay-cert.pem"),
    };
    req.extra_ca_pem = std::fs::read(cert).ok();
    req.validate().map_err(|e| BadInput(e.to_string()))?;
    runtime()?
        .block_on(crate::smtp::test_send(&req))
        .map_err(|e| BadInput(e.to_string()))
}
