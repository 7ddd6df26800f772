//! `scanmail profiles list`, `scanmail card --profile NAME`, and `scanmail org show|check`.

use super::BadInput;
use crate::card::Card;
use crate::catalog;
use crate::org;
use crate::profile::{Profile, Store};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List the saved devices.
    List {
        /// Print JSON instead of plain words.
        #[arg(long)]
        json: bool,
    },
    /// Keep a saved device's app password in this computer's keychain, so that
    /// `check --profile` needs no password (for IT scripts; the window's "Remember" does the same).
    #[command(group(clap::ArgGroup::new("password").required(true).args(["password_env", "password_stdin"])))]
    Remember {
        /// The saved device.
        name: String,
        /// Read the app password from this environment variable.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Read the app password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a saved device's app password from this computer's keychain.
    Forget {
        /// The saved device.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct CardArgs {
    /// The saved device whose settings card to print.
    #[arg(long, value_name = "NAME", required_unless_present = "relay")]
    pub profile: Option<String>,
    /// The card of a copier that sends through the relay (its login in relay.toml).
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub relay: Option<String>,
    /// The relay's settings, with --relay [default: the machine-wide relay.toml].
    #[arg(long, value_name = "FILE", requires = "relay")]
    pub config: Option<PathBuf>,
    /// With --relay: the copier's maker (and model), for its own menu words on the card.
    #[arg(long, value_name = "MAKER", requires = "relay")]
    pub manufacturer: Option<String>,
    /// Print the card as an HTML page instead of text.
    #[arg(long)]
    pub html: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Show the organization preset in effect and the file it came from.
    Show {
        /// Print JSON instead of plain words.
        #[arg(long)]
        json: bool,
    },
    /// Check a preset file for mistakes before shipping it.
    Check {
        /// The org.toml to check.
        file: PathBuf,
    },
    /// Check a preset and install it for every user of this computer (the system location;
    /// needs administrator rights). The Windows installer's ORGPRESET uses this.
    Install {
        /// The org.toml to install.
        file: PathBuf,
    },
}

fn load() -> Result<crate::profile::ProfileFile, BadInput> {
    let store = Store::default_location().ok_or_else(|| {
        BadInput("This computer has no settings folder, so there are no saved devices.".into())
    })?;
    let loaded = store.load_read_only();
    if let Some(n) = loaded.notice {
        return Err(BadInput(n));
    }
    Ok(loaded.file)
}

pub(super) fn profiles(
    cmd: &ProfilesCommand,
    stdin: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let json = match cmd {
        ProfilesCommand::List { json } => json,
        ProfilesCommand::Remember {
            name, password_env, ..
        } => {
            let password = super::password::given_password(password_env.as_deref(), stdin)?;
            let password = crate::secrets::AppPassword::from_pasted(password.expose());
            return keychain(name, Some(&password), out);
        }
        ProfilesCommand::Forget { name } => return keychain(name, None, out),
    };
    let file = load()?;
    if *json {
        #[derive(Serialize)]
        struct Out<'a> {
            current: Option<&'a str>,
            profiles: &'a [Profile],
        }
        let text = super::json_text(
            &Out {
                current: file.current.as_deref(),
                profiles: &file.profiles,
            },
            true,
        )?;
        let _ = writeln!(out, "{text}");
        return Ok(0);
    }
    if file.profiles.is_empty() {
        let _ = writeln!(
            out,
            "No saved devices yet. Open ScanMail's window to add one."
        );
        return Ok(0);
    }
    for p in &file.profiles {
        let last = p
            .last_test
            .as_ref()
            .map_or("not tested yet".to_string(), |t| {
                format!("tested {}: {}", t.at, t.summary)
            });
        let label = p.label();
        let _ = writeln!(
            out,
            "{}\n  account: {} on {}\n  {}\n  check it: scanmail check --profile \"{}\"",
            if label.is_empty() { &p.name } else { &label },
            p.account,
            p.server,
            last,
            p.name
        );
    }
    Ok(0)
}

/// Keeps (`Some`) or deletes (`None`) a saved device's password in the keychain, and records
/// the choice with the device.
fn keychain(
    name: &str,
    password: Option<&crate::secrets::AppPassword>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let store = Store::default_location().ok_or_else(|| {
        BadInput("This computer has no settings folder, so there are no saved devices.".into())
    })?;
    let file = load()?;
    let p = file
        .profiles
        .iter()
        .find(|p| p.name.trim().eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            BadInput(format!(
                "No saved device is called \"{name}\". See: scanmail profiles list"
            ))
        })?;
    if crate::smtp::validate_address(&p.account).is_err() {
        return Err(BadInput(format!(
            "\"{}\" has no account address yet. Add it in the window first.",
            p.name
        )));
    }
    crate::secrets::use_platform_keychain().map_err(BadInput::from)?;
    match password {
        Some(pw) => {
            crate::secrets::remember(&crate::secrets::Key::new(&p.server, &p.account), pw)?;
            let _ = writeln!(
                out,
                "Kept the app password for {} in this computer's keychain.",
                p.account
            );
        }
        None => {
            crate::secrets::forget(&crate::secrets::Key::new(&p.server, &p.account))?;
            let _ = writeln!(
                out,
                "Deleted the app password for {} from this computer's keychain.",
                p.account
            );
        }
    }
    // The choice is kept with the device, under the lock (the window may be saving too).
    let (target, keep) = (p.name.clone(), password.is_some());
    store
        .update(|f| {
            if let Some(d) = f.profiles.iter_mut().find(|d| d.name == target) {
                d.remember_password = keep;
            }
        })
        .map_err(BadInput)?;
    Ok(0)
}

pub(super) fn card(args: &CardArgs, out: &mut dyn Write) -> Result<i32, BadInput> {
    if let Some(name) = &args.relay {
        let path = crate::relay::config::path_or_default(args.config.as_deref());
        let cfg = crate::relay::config::load(&path).map_err(BadInput)?;
        let dev = cfg.device(name).ok_or_else(|| {
            BadInput(format!("The relay has no copier called \"{name}\". Add it: scanmail relay add-device {name}"))
        })?;
        let card = crate::relay::card::RelayCard::new(
            &cfg,
            dev,
            &crate::relay::card::this_address(&cfg),
            None,
        )
        .for_maker(
            args.manufacturer
                .as_deref()
                .and_then(|m| catalog::catalog().find_manufacturer(m, "")),
        );
        let _ = write!(out, "{}", if args.html { card.html() } else { card.text() });
        return Ok(0);
    }
    let file = load()?;
    let profile = args.profile.clone().unwrap_or_default();
    let p = file.find(&profile).ok_or_else(|| {
        BadInput(format!(
            "No saved device is called \"{profile}\". See: scanmail profiles list"
        ))
    })?;
    let maker = catalog::catalog().find_manufacturer(&p.manufacturer, &p.model);
    let card = Card::from_profile(p, maker).ok_or_else(|| {
        BadInput(format!(
            "\"{}\" has no working test yet, so there is no card. Run: scanmail check --profile \"{}\"",
            p.name, p.name
        ))
    })?;
    let _ = write!(out, "{}", if args.html { card.html() } else { card.text() });
    Ok(0)
}

pub(super) fn org_cmd(
    cmd: &OrgCommand,
    explicit: Option<&Path>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    match cmd {
        OrgCommand::Show { json } => {
            let found = org::locate(explicit);
            if *json {
                #[derive(Serialize)]
                struct Out<'a> {
                    source: &'a org::Source,
                    problem: Option<&'a str>,
                    preset: &'a org::Preset,
                }
                let text = super::json_text(
                    &Out {
                        source: &found.source,
                        problem: found.problem.as_deref(),
                        preset: &found.preset,
                    },
                    true,
                )?;
                let _ = writeln!(out, "{text}");
            } else {
                let p = &found.preset;
                let _ = writeln!(
                    out,
                    "Organization: {}\nFrom: {}",
                    p.organization, found.source
                );
                if let Some(problem) = &found.problem {
                    let _ = writeln!(out, "Problem: {problem}");
                }
                let ports: Vec<String> = [(p.ssl_port, "SSL/TLS"), (p.starttls_port, "STARTTLS")]
                    .iter()
                    .filter_map(|(port, l)| port.map(|n| format!("{n} {l}")))
                    .collect();
                let _ = writeln!(
                    out,
                    "Server: {} ({}){}",
                    p.server,
                    ports.join(", "),
                    if p.locked { ", locked" } else { "" }
                );
                if !p.help_desk.is_empty() {
                    let _ = writeln!(out, "Help desk: {}", p.help_desk);
                }
                if !p.account_domain.is_empty() {
                    let _ = writeln!(out, "Device accounts: @{}", p.account_domain);
                }
                for (i, step) in p.steps.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{}. {}{}",
                        i + 1,
                        step.title,
                        step.link
                            .as_ref()
                            .map_or(String::new(), |l| format!(" ({l})"))
                    );
                }
            }
            Ok(0)
        }
        OrgCommand::Install { file } => {
            // One read: the bytes checked are the bytes written.
            let (p, text) = org::load_bytes(file).map_err(BadInput)?;
            let target = org::system_path();
            org::install_at(&target, &text).map_err(BadInput)?;
            let _ = writeln!(
                out,
                "Installed the {} preset as {}.",
                p.organization,
                target.display()
            );
            Ok(0)
        }
        OrgCommand::Check { file } => {
            let p = org::load_file(file).map_err(BadInput)?;
            let _ = writeln!(
                out,
                "{} is a valid ScanMail preset for {} ({} steps).",
                file.display(),
                p.organization,
                p.steps.len()
            );
            Ok(0)
        }
    }
}
