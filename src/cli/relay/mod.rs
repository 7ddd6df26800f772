//! `scanmail relay`: the bridge for IT. `init` writes a commented relay.toml from the preset,
//! `sign-in` signs the relay's mailbox in (the refresh token goes to the keychain, never a file
//! or the screen), `add-device` / `remove-device` manage copiers' logins, `run` runs it in the
//! foreground, `status` says how it stands, `test` sends a real message through it.

mod devices;
mod install;
mod microsoft;
mod report;
mod serve;
mod setup;

use super::BadInput;
use crate::relay::{self, config, device, secret, status};
use clap::{Args, Subcommand};
use devices::{add_device, remove_device};
use install::install_service;
use report::{status_cmd, test};
use serve::{run, run_service};
use setup::{init, set_account, sign_in};
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

/// `relay init --auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitAuth {
    /// Microsoft 365 app-only (no person's sign-in).
    App,
    /// A person signs the mailbox in, with the preset's sign-in app.
    Oauth,
    /// The mailbox's password (Microsoft 365 turns this off by default at the end of 2026).
    Password,
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
        /// How the relay signs in [default: Microsoft 365's app-only sign-in, or the preset's
        /// sign-in app; a password only when asked for].
        #[arg(long, value_enum)]
        auth: Option<InitAuth>,
        /// Microsoft's sign-in address, for a national cloud [default:
        /// https://login.microsoftonline.com].
        #[arg(long, value_name = "URL")]
        authority: Option<String>,
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
        /// Microsoft 365 app-only: the app's Application (client) ID (setup-microsoft-365.ps1
        /// prints it).
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Microsoft 365 app-only: the Directory (tenant) ID, or the organization's domain
        /// [default: the mailbox's domain].
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        /// App-only with a client secret instead of the certificate: the secret is in this
        /// environment variable.
        #[arg(long, value_name = "VAR")]
        client_secret_env: Option<String>,
        /// App-only with a client secret: the secret is the first line of standard input.
        #[arg(long)]
        client_secret_stdin: bool,
        /// The client secret's end date (YYYY-MM-DD), for relay status to warn before it.
        #[arg(long, value_name = "DATE")]
        client_secret_expires: Option<String>,
    },
    /// Microsoft 365 app-only: make the relay's certificate (its key only in the relay's secret
    /// store) and setup-microsoft-365.ps1 for IT, beside relay.toml.
    MicrosoftApp {
        #[command(flatten)]
        config: ConfigArg,
        /// The relay sends with Microsoft Graph (api = "graph"): the script scopes Graph's
        /// Mail.Send and Mail.ReadWrite to the one mailbox instead of allowing SMTP.
        #[arg(long)]
        graph: bool,
        /// Make a new certificate (the current one keeps working until the new one is proved
        /// by relay sign-in).
        #[arg(long)]
        renew: bool,
        /// Print {"certificate", "thumbprint", "script", "expires"}.
        #[arg(long)]
        json: bool,
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
        /// Print {"links": [{"name", "ok", "fix"}]}, one entry per link, in order.
        #[arg(long)]
        json: bool,
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
            | RelayCommand::MicrosoftApp { config, .. }
            | RelayCommand::Run { config, .. }
            | RelayCommand::InstallService { config }
            | RelayCommand::Status { config, .. }
            | RelayCommand::Test { config, .. } => Some(config),
            RelayCommand::UninstallService | RelayCommand::ServiceStatus => None,
        }
    }
}

/// The same file, however named.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
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
        RelayCommand::Init {
            config,
            account,
            auth,
            authority,
        } => init(
            &config.path(),
            org,
            &setup::InitAsk {
                account: account.as_deref(),
                auth: *auth,
                authority: authority.as_deref(),
            },
            out,
        ),
        RelayCommand::SignIn {
            config,
            account,
            password_env,
            password_stdin,
            client_id,
            tenant,
            client_secret_env,
            client_secret_stdin,
            client_secret_expires,
        } => {
            if let Some(a) = account {
                set_account(&config.path(), a)?;
            }
            let app = microsoft::AppGiven {
                client_id: client_id.as_deref(),
                tenant: tenant.as_deref(),
                secret_env: client_secret_env.as_deref(),
                secret_stdin: *client_secret_stdin,
                secret_expires: client_secret_expires.as_deref(),
            };
            let app_only = client_id.is_some()
                || client_secret_env.is_some()
                || *client_secret_stdin
                || load(&config.path())?.upstream.auth == config::AuthKind::App;
            if app_only {
                return microsoft::app_sign_in(&config.path(), &app, stdin, out, err);
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
        RelayCommand::MicrosoftApp {
            config,
            graph,
            renew,
            json,
        } => microsoft::microsoft_app(&config.path(), *graph, *renew, *json, out),
        RelayCommand::Run { config, service } => {
            if *service {
                run_service(&config.path())
            } else {
                run(&config.path(), out)
            }
        }
        RelayCommand::InstallService { config } => {
            let path = config.path();
            install::may_install(&path)?;
            // The installer (MSI with RELAY=1) installs the service before anyone made a
            // relay.toml: make it from the preset; the service waits until it is signed in.
            if !path.exists() {
                init(&path, org, &setup::InitAsk::default(), out)?;
            }
            install_service(&path, out)
        }
        RelayCommand::UninstallService => {
            let said = relay::service::uninstall().map_err(BadInput)?;
            let _ = writeln!(out, "{said}");
            Ok(0)
        }
        RelayCommand::ServiceStatus => {
            let state = relay::service::status();
            let _ = writeln!(out, "{}", state.words());
            Ok(state.exit_code())
        }
        RelayCommand::Status { config, json } => status_cmd(&config.path(), *json, out),
        RelayCommand::Test { config, to, json } => test(&config.path(), to.as_deref(), *json, out),
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, BadInput> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BadInput(format!("Could not start: {e}")))
}

/// How to start the relay on this system, as typed.
pub(super) fn start_command(path: &Path) -> String {
    let config = if *path == config::path_or_default(None) {
        String::new()
    } else {
        format!(" --config \"{}\"", path.display())
    };
    let installed = relay::service::definition_path().exists();
    if installed {
        if cfg!(windows) {
            "Start-Service ScanMailRelay".into()
        } else if cfg!(target_os = "macos") {
            "sudo launchctl kickstart -k system/org.scanmail.relay".into()
        } else {
            "sudo systemctl restart scanmail-relay".into()
        }
    } else {
        format!("scanmail relay run{config}")
    }
}

pub(super) fn load(path: &Path) -> Result<config::RelayConfig, BadInput> {
    config::load(path).map_err(BadInput)
}
