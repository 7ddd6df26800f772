//! `relay install-service`: the relay as a service, from settings and a program only
//! administrators can change.

use super::super::BadInput;
use super::*;

/// Only an administrator installs a service: else the exact command that does.
pub(super) fn may_install(path: &Path) -> Result<(), BadInput> {
    #[cfg(unix)]
    if !relay::service::may_install() {
        let mut command = relay::program::install_command();
        if path != config::path_or_default(None) {
            command += &format!(" --config \"{}\"", path.display());
        }
        return Err(BadInput(format!(
            "Installing a service needs an administrator. Run: {command}"
        )));
    }
    let _ = path;
    Ok(())
}

/// Installs the service: the settings get a state folder the service may write and keep the
/// secret in a private file there (a service has no keychain of its own); a secret already in
/// the keychain moves there.
pub(super) fn install_service(path: &Path, out: &mut dyn Write) -> Result<i32, BadInput> {
    may_install(path)?;
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
    // No folder above the settings may be one someone else can change either (they could swap
    // the whole folder for one of their own after this check).
    if let Some(why) = path
        .canonicalize()
        .ok()
        .and_then(|p| relay::program::changeable_by_others(&p))
    {
        return Err(BadInput(format!(
            "{} is not used for a service: {why}. Keep the relay's settings in {}",
            path.display(),
            config::system_dir().display()
        )));
    }
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
    // password hashes; the secret stays in the private state folder). The macOS daemon is root.
    #[cfg(all(unix, not(target_os = "macos")))]
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
