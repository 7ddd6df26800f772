//! `relay microsoft-app`: the relay's own app for Microsoft 365, made once. An RSA key (kept only
//! in the relay's secret store, like a refresh token), a self-signed certificate written as
//! `relay-app.cer` beside relay.toml, and `setup-microsoft-365.ps1`: a script IT reads and runs
//! that registers the app, uploads the certificate and lets it send as the one mailbox. With
//! `--renew`, a new key and certificate wait beside the current ones (the relay keeps sending
//! with the current ones) until `relay sign-in` proves Microsoft takes the new one.

use super::config::{self, AuthKind, ProviderKind};
use super::secret::Store;
use crate::oauth::app::{self, Certificate};
use std::path::{Path, PathBuf};

pub const CERT_FILE: &str = "relay-app.cer";
pub const NEW_CERT_FILE: &str = "relay-app-new.cer";
pub const SCRIPT_FILE: &str = "setup-microsoft-365.ps1";
/// How long a certificate made here lasts.
pub const CERT_DAYS: i64 = 730;

const TEMPLATE: &str = include_str!("../../resources/microsoft/setup-microsoft-365.ps1.template");

/// What `relay microsoft-app` made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Made {
    pub certificate: PathBuf,
    pub thumbprint: String,
    pub script: PathBuf,
    /// When the certificate ends (RFC 3339).
    pub expires: String,
    #[serde(skip)]
    pub renewed: bool,
    /// The key and certificate were there already (only the script was written again).
    #[serde(skip)]
    pub already: bool,
}

/// The app's name in Entra.
pub fn app_name(account: &str) -> String {
    format!("ScanMail relay ({})", account.trim())
}

/// The relay's sign-in command as typed on this computer (for the script's last line).
pub fn sign_in_command(config_path: &Path) -> String {
    let default = config::path_or_default(None);
    let config = if config_path == default {
        String::new()
    } else {
        format!(" --config \"{}\"", config_path.display())
    };
    if cfg!(windows) {
        format!(r#"& "C:\Program Files\ScanMail\scanmail-cli.exe" relay sign-in{config}"#)
    } else if cfg!(target_os = "macos") {
        format!("sudo /Applications/ScanMail.app/Contents/MacOS/ScanMail relay sign-in{config}")
    } else {
        format!("sudo scanmail relay sign-in{config}")
    }
}

/// Text for inside a PowerShell single-quoted string; `None` for a line break (it could start
/// a command of its own).
fn ps_single(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    Some(out)
}

/// The setup script for this mailbox and certificate: SMTP (`SMTP.SendAsApp`, the mailbox
/// permission, SMTP AUTH for the one mailbox) or, with `graph`, Microsoft Graph (RBAC for
/// Applications scoped to the one mailbox, no tenant-wide grant).
pub fn script(
    account: &str,
    cert_file: &str,
    thumbprint: &str,
    graph: bool,
    sign_in: &str,
) -> Result<String, String> {
    let bad = |what: &str| format!("the {what} cannot be written into a PowerShell script");
    // Only a plain address (no quotes, spaces or brackets) goes into the script.
    let plain = super::bridge::plain_address(account).ok_or_else(|| {
        "the mailbox's address must be a plain one, such as scanner@example.edu, for the script"
            .to_string()
    })?;
    let account = ps_single(&plain).ok_or_else(|| bad("mailbox"))?;
    let name = ps_single(&app_name(&account)).ok_or_else(|| bad("app name"))?;
    let cert = ps_single(cert_file).ok_or_else(|| bad("certificate's name"))?;
    let sign_in = ps_single(sign_in).ok_or_else(|| bad("sign-in command"))?;
    let (keep, drop) = if graph {
        ("graph only", "smtp only")
    } else {
        ("smtp only", "graph only")
    };
    let mut out = String::with_capacity(TEMPLATE.len());
    let mut skipping = false;
    for line in TEMPLATE.lines() {
        let t = line.trim();
        if t == format!("# --- {drop} ---") {
            skipping = true;
            continue;
        }
        if t == format!("# --- end {drop} ---") {
            skipping = false;
            continue;
        }
        if t == format!("# --- {keep} ---") || t == format!("# --- end {keep} ---") {
            continue;
        }
        if !skipping {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    let out = out
        .replace("{{ACCOUNT}}", &account)
        .replace("{{APP_NAME}}", &name)
        .replace("{{CERT_FILE}}", &cert)
        .replace("{{THUMBPRINT}}", thumbprint)
        .replace("{{GRAPH}}", if graph { "$true" } else { "$false" })
        .replace("{{SIGN_IN}}", &sign_in);
    // Windows PowerShell 5.1 reads a file without a byte-order mark as the old ANSI code page:
    // only ASCII is safe.
    if !out.is_ascii() {
        return Err("the mailbox's address must be plain ASCII for the script".into());
    }
    Ok(out)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    crate::fsutil::write_atomic_mode(path, bytes, 0o644)
        .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::plain_io(&e)))
}

/// Makes the app's key and certificate (or, with `renew`, new ones that wait), writes the
/// script, and sets relay.toml's `auth = "app"` and the certificate.
pub fn make(config_path: &Path, graph: bool, renew: bool) -> Result<Made, String> {
    let cfg = config::load(config_path)?;
    if cfg.upstream.provider != ProviderKind::Microsoft {
        return Err(
            "The app-only sign-in is for Microsoft 365: relay.toml's [upstream] provider is not \"microsoft\"."
                .into(),
        );
    }
    let dir = super::config_dir(config_path);
    let account = cfg.upstream.account.trim().to_string();
    // The store as it will be with auth = "app".
    let mut as_app = cfg.clone();
    as_app.upstream.auth = AuthKind::App;
    let store = Store::for_config(&as_app, &super::state_dir(&cfg, config_path));
    let current = dir.join(CERT_FILE);
    let have = current.exists() && store.load().ok().flatten().is_some();
    let (cert_path, cert, already) = if have && !renew {
        (current.clone(), Certificate::read(&current)?, true)
    } else {
        let (key, cert) = app::make(&app_name(&account), CERT_DAYS)?;
        let (cert_path, target) = if have {
            (dir.join(NEW_CERT_FILE), store.pending())
        } else {
            (current.clone(), store.clone())
        };
        target.save(key.expose())?;
        write(&cert_path, &cert.der)?;
        (cert_path, cert, false)
    };
    let thumbprint = cert.thumbprint();
    let file_name = cert_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = script(
        &account,
        &file_name,
        &thumbprint,
        graph,
        &sign_in_command(config_path),
    )?;
    let script_path = dir.join(SCRIPT_FILE);
    write(&script_path, text.as_bytes())?;
    super::edit::with(config_path, |doc| {
        let up = doc
            .get_mut("upstream")
            .and_then(toml_edit::Item::as_table_like_mut)
            .ok_or_else(|| "relay.toml has no [upstream] section".to_string())?;
        up.insert("auth", toml_edit::value("app"));
        if graph {
            up.insert("api", toml_edit::value("graph"));
        }
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
        if ms.get("client_id").is_none() {
            // Filled in by `relay sign-in --client-id`.
            ms.insert("client_id", toml_edit::value(""));
        }
        if ms.get("tenant").is_none() {
            let domain = account.rsplit_once('@').map_or("", |(_, d)| d);
            ms.insert("tenant", toml_edit::value(domain));
        }
        ms.insert("certificate", toml_edit::value(CERT_FILE));
        Ok(())
    })?;
    Ok(Made {
        certificate: cert_path,
        thumbprint,
        script: script_path,
        expires: crate::time::utc_rfc3339(cert.not_after()?),
        renewed: renew && have,
        already,
    })
}

/// After a sign-in proved the waiting certificate: it becomes the current one (key and file).
pub fn promote(config_path: &Path, store: &Store) -> Result<bool, String> {
    let dir = super::config_dir(config_path);
    let pending = store.pending();
    let Some(key) = pending.load()? else {
        return Ok(false);
    };
    store.save(key.expose())?;
    let _ = pending.delete();
    let new = dir.join(NEW_CERT_FILE);
    if new.exists() {
        std::fs::rename(&new, dir.join(CERT_FILE))
            .map_err(|e| format!("{}: {}", new.display(), crate::fsutil::plain_io(&e)))?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_names_the_mailbox_the_certificate_and_one_upstream() {
        let smtp = script(
            "scan@contoso.example",
            CERT_FILE,
            "ABCDEF0123",
            false,
            "sudo scanmail relay sign-in",
        )
        .unwrap();
        assert!(smtp.contains("$Account    = 'scan@contoso.example'"));
        assert!(smtp.contains("$AppName    = 'ScanMail relay (scan@contoso.example)'"));
        assert!(smtp.contains("$Thumbprint = 'ABCDEF0123'"));
        assert!(smtp.contains("SMTP.SendAsApp") && smtp.contains("Set-CASMailbox"));
        assert!(smtp.contains("Add-MailboxPermission"));
        assert!(
            !smtp.contains("Application Mail.Send"),
            "no Graph role on the SMTP path"
        );
        assert!(!smtp.contains("{{") && !smtp.contains("# --- "));
        let graph = script("scan@contoso.example", CERT_FILE, "AB", true, "x").unwrap();
        assert!(graph.contains("New-ManagementScope") && graph.contains("'Application Mail.Send'"));
        assert!(graph.contains("Application Mail.ReadWrite"));
        assert!(
            !graph.contains("Set-CASMailbox -Identity $address"),
            "SMTP AUTH stays off"
        );
        assert!(
            !graph.contains("New-MgServicePrincipalAppRoleAssignment"),
            "no tenant-wide grant"
        );
        // A quote in a name cannot end the string; a line break, a quoted local part or a
        // comment's end is refused; the address never stands inside the comment block.
        let odd = script("o'brien@contoso.example", CERT_FILE, "AB", false, "x").unwrap();
        assert!(odd.contains("'o''brien@contoso.example'"));
        assert!(script("a@b.example\nRemove-Item", CERT_FILE, "AB", false, "x").is_err());
        assert!(script("\"x#>cmd<#\"@contoso.example", CERT_FILE, "AB", false, "x").is_err());
        let comment = &odd[..odd.find("#>").unwrap()];
        assert!(!comment.contains("brien"), "{comment}");
    }
}
