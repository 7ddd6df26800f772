//! What relay.toml may say: each field checked in plain words ([`RelayConfig::check`]), the
//! files it names kept inside the relay's own folders ([`RelayConfig::confined`]), copiers'
//! names, and address ranges.

use super::config::{AuthKind, RelayConfig};
use std::net::IpAddr;
use std::path::Path;

impl RelayConfig {
    /// Every file the relay reads or writes besides relay.toml (`state_dir`, `certificate`,
    /// `key`, `ca_file`, `secrets_file`) lies inside `dir` (relay.toml's folder) or `state`
    /// (the service's state folder), with no `..` on the way: for a relay that runs as a
    /// service, and for the machine-wide settings, whose folder only administrators change.
    pub fn confined(&self, dir: &Path, state: &Path) -> Result<(), String> {
        let u = &self.upstream;
        let paths = [
            ("state_dir", self.state_dir.as_ref()),
            ("certificate", self.certificate.as_ref()),
            ("key", self.key.as_ref()),
            ("ca_file", u.ca_file.as_ref()),
            ("secrets_file", u.secrets_file.as_ref()),
            (
                "certificate ([upstream.oauth.microsoft])",
                u.oauth
                    .microsoft
                    .as_ref()
                    .and_then(|m| m.certificate.as_ref()),
            ),
        ];
        for (name, p) in paths {
            let Some(p) = p else { continue };
            let full = dir.join(p);
            let climbs = full
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
            // The state folder is the service's to write: never relay.toml's own folder.
            let own_folder = name == "state_dir" && full.components().eq(dir.components());
            if climbs || own_folder || !(full.starts_with(dir) || full.starts_with(state)) {
                return Err(format!(
                    "{name} = \"{}\" is outside the relay's own folders ({} and {}). Move that file into {} and give its name there",
                    p.display(),
                    dir.display(),
                    state.display(),
                    dir.display()
                ));
            }
        }
        Ok(())
    }

    /// Checks what a person typed, in plain words.
    pub fn check(&self) -> Result<(), String> {
        self.listen_addrs()?;
        for a in &self.allow_plain_from {
            parse_net(a).map_err(|e| format!("allow_plain_from: {e}"))?;
        }
        let u = &self.upstream;
        crate::smtp::validate_address(&u.account).map_err(|_| {
            format!(
                "[upstream] account \"{}\" must be the mailbox's address",
                u.account
            )
        })?;
        if let Some(e) = &self.help_desk_email {
            crate::smtp::validate_address(e)
                .map_err(|_| format!("help_desk_email \"{e}\" must be an email address"))?;
        }
        if u.server().is_empty() {
            return Err("[upstream] server is needed when provider = \"server\"".into());
        }
        crate::smtp::validate_server(u.server()).map_err(|e| format!("[upstream] server: {e}"))?;
        if u.api == super::config::ApiKind::Graph {
            if u.provider != super::config::ProviderKind::Microsoft {
                return Err(
                    "[upstream] api = \"graph\" (Microsoft Graph) is for provider = \"microsoft\""
                        .into(),
                );
            }
            if u.auth == AuthKind::Password {
                return Err(
                    "[upstream] api = \"graph\" needs a Microsoft sign-in: auth = \"app\" (scanmail relay microsoft-app --graph) or \"oauth\""
                        .into(),
                );
            }
            crate::oauth::check_endpoint(u.graph_url())
                .map_err(|e| format!("[upstream] graph_url: {e}"))?;
        }
        if u.auth == AuthKind::App {
            if u.provider != super::config::ProviderKind::Microsoft {
                return Err(
                    "[upstream] auth = \"app\" (the app-only sign-in) is for provider = \"microsoft\""
                        .into(),
                );
            }
            if u.oauth.microsoft.is_none() {
                return Err(
                    "[upstream] auth = \"app\" needs [upstream.oauth.microsoft]: make it with scanmail relay microsoft-app, then scanmail relay sign-in --client-id ID"
                        .into(),
                );
            }
        }
        if u.auth == AuthKind::OAuth {
            let Some(p) = u.oauth_provider() else {
                return Err(
                    "[upstream] auth = \"oauth\" needs provider = \"microsoft\" or \"google\""
                        .into(),
                );
            };
            let missing = match p {
                crate::oauth::Provider::Microsoft => u.oauth.microsoft.is_none(),
                crate::oauth::Provider::Google => u.oauth.google.is_none(),
            };
            if missing {
                return Err(format!(
                    "[upstream] auth = \"oauth\" needs the sign-in app in [upstream.oauth.{}] (relay init copies it from the organization preset)",
                    if p == crate::oauth::Provider::Microsoft {
                        "microsoft"
                    } else {
                        "google"
                    }
                ));
            }
            u.oauth.check()?;
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.devices {
            check_name(&d.name)?;
            if !seen.insert(d.name.to_ascii_lowercase()) {
                return Err(format!("two devices are called \"{}\"", d.name));
            }
            let params = argon2::password_hash::PasswordHash::new(&d.password_hash)
                .ok()
                .filter(|h| h.algorithm.as_str() == "argon2id")
                .and_then(|h| argon2::Params::try_from(&h).ok());
            let Some(params) = params else {
                return Err(format!(
                    "device \"{}\": password_hash is not an Argon2id hash (make one with relay add-device)",
                    d.name
                ));
            };
            if !super::device::within_caps(&params) {
                return Err(format!(
                    "device \"{}\": password_hash asks for more memory or time than ScanMail allows. Give the copier a new password: relay remove-device, then relay add-device",
                    d.name
                ));
            }
            for a in &d.addresses {
                parse_net(a).map_err(|e| format!("device \"{}\": {e}", d.name))?;
            }
            for r in &d.allowed_recipients {
                if !r.contains('@') {
                    return Err(format!(
                        "device \"{}\": allowed_recipients entry \"{r}\" must look like *@example.edu or name@example.edu",
                        d.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A device name is its login: letters, digits and `-._@`, at most 64 characters (copiers cap
/// their login fields).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the device name \"{name}\" is its login: use letters, digits and - . _ @ (at most 64)"
        ))
    }
}

/// An address or CIDR range.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("\"{s}\" is not an IP address or a range such as 10.0.0.0/24"))
}

/// True when `peer` is in one of `list` (IPv4 seen through an IPv6 socket counts as IPv4).
pub fn allowed(list: &[String], peer: IpAddr) -> bool {
    let peer = peer.to_canonical();
    list.iter()
        .filter_map(|s| parse_net(s).ok())
        .any(|n| n.contains(&peer))
}
