//! `relay add-device` and `relay remove-device`: copiers' logins, each password shown once
//! and kept only as its Argon2id hash.

use super::super::BadInput;
use super::*;

pub(super) fn add_device(
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
        let text = crate::cli::json_text(
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

pub(super) fn remove_device(path: &Path, name: &str, out: &mut dyn Write) -> Result<i32, BadInput> {
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
