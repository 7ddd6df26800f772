//! Changing relay.toml's copiers: a `[[device]]` added or removed with `toml_edit`, so IT's
//! comments and order stay; written through a new file in one step, with the file's own mode;
//! checked again after.

use super::config;
use std::path::Path;

fn edit(
    path: &Path,
    change: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<(), String>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::plain_io(&e)))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("{}: {}", path.display(), e.message()))?;
    change(&mut doc)?;
    crate::fsutil::write_atomic_mode(path, doc.to_string().as_bytes(), file_mode(path))
        .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::plain_io(&e)))?;
    // What was written must still be a good config.
    config::load_unguarded(path).map(|_| ())
}

/// Changes the file with `change` (any key), keeping everything else.
pub fn with(
    path: &Path,
    change: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<(), String>,
) -> Result<(), String> {
    edit(path, change)
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

/// Adds a copier with this password hash.
pub fn add_device(
    path: &Path,
    name: &str,
    addresses: &[String],
    allowed_recipients: &[String],
    hash: &str,
) -> Result<(), String> {
    config::check_name(name)?;
    if !hash.starts_with("$argon2id$") {
        return Err("the password hash is not an Argon2id hash".into());
    }
    for a in addresses {
        config::parse_net(a)?;
    }
    let cfg = config::load(path)?;
    if cfg.device(name).is_some() {
        return Err(format!(
            "a copier called \"{name}\" is already there. Pick another name, or remove it first"
        ));
    }
    edit(path, |doc| {
        let mut t = toml_edit::Table::new();
        t["name"] = toml_edit::value(name);
        t["password_hash"] = toml_edit::value(hash);
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
                    "\"device\" in relay.toml is not a list of [[device]] tables".to_string()
                })?
                .push(t),
            None => {
                let mut a = toml_edit::ArrayOfTables::new();
                a.push(t);
                doc.insert("device", toml_edit::Item::ArrayOfTables(a));
            }
        }
        Ok(())
    })
}

/// Removes a copier; `Ok(false)` when there was none of that name.
pub fn remove_device(path: &Path, name: &str) -> Result<bool, String> {
    let cfg = config::load(path)?;
    let Some(dev) = cfg.device(name) else {
        return Ok(false);
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
    Ok(true)
}
