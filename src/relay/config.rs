//! `relay.toml`: where the relay listens, the provider it passes mail to, and the copiers that
//! may send through it. Read with the same trust rule as the system preset when it lives in the
//! machine-wide folder; changed (devices added or removed) with `toml_edit`, so IT's comments
//! stay.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The provider the relay sends on to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Microsoft,
    Google,
    /// Any other SMTP server (the organization's own).
    Server,
}

/// How the relay signs in to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    OAuth,
    Password,
}

/// The upstream connection's security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpSecurity {
    Starttls,
    Ssl,
}

/// Where the relay keeps the provider's secret (refresh token or password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStore {
    /// The OS keychain of the account that runs the relay (the default).
    #[default]
    Keychain,
    /// A file only the relay's own account may read (a Linux service's state directory; on
    /// Windows also sealed with DPAPI for this computer).
    File,
    /// macOS: the System keychain, which a LaunchDaemon (root) can use with no one logged in.
    SystemKeychain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub provider: ProviderKind,
    /// The mailbox the relay sends as (the envelope sender, always).
    pub account: String,
    pub auth: AuthKind,
    pub server: Option<String>,
    pub port: Option<u16>,
    pub security: Option<UpSecurity>,
    /// An extra CA certificate (PEM) for an organization's own server.
    pub ca_file: Option<PathBuf>,
    /// The sign-in apps (copied from the organization preset by `relay init`).
    #[serde(default, skip_serializing_if = "crate::oauth::Apps::is_empty")]
    pub oauth: crate::oauth::Apps,
    #[serde(default)]
    pub secrets: SecretStore,
    /// With `secrets = "file"`: the file (default `relay-secret` next to the state file).
    pub secrets_file: Option<PathBuf>,
}

impl Upstream {
    pub fn server(&self) -> &str {
        match (self.server.as_deref(), self.provider) {
            (Some(s), _) => s,
            (None, ProviderKind::Microsoft) => "smtp.office365.com",
            (None, ProviderKind::Google) => "smtp.gmail.com",
            (None, ProviderKind::Server) => "",
        }
    }

    pub fn security(&self) -> UpSecurity {
        self.security.unwrap_or(match self.provider {
            ProviderKind::Google => UpSecurity::Ssl,
            _ => UpSecurity::Starttls,
        })
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security() {
            UpSecurity::Ssl => 465,
            UpSecurity::Starttls => 587,
        })
    }

    /// The sign-in provider for OAuth.
    pub fn oauth_provider(&self) -> Option<crate::oauth::Provider> {
        match (self.auth, self.provider) {
            (AuthKind::OAuth, ProviderKind::Microsoft) => Some(crate::oauth::Provider::Microsoft),
            (AuthKind::OAuth, ProviderKind::Google) => Some(crate::oauth::Provider::Google),
            _ => None,
        }
    }

    /// The provider's sending limit per minute, below which each copier stays (Microsoft 365:
    /// 30 messages a minute per mailbox).
    pub fn per_minute(&self) -> u32 {
        match self.provider {
            ProviderKind::Microsoft => 25,
            ProviderKind::Google => 20,
            ProviderKind::Server => 60,
        }
    }
}

/// One copier that may send through the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Its login.
    pub name: String,
    /// Argon2id, PHC string. The password itself is never kept.
    pub password_hash: String,
    /// Only from these addresses (IPs or CIDR ranges), when given.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The From header becomes the relay's account (the original kept as Reply-To).
    #[serde(default = "yes")]
    pub rewrite_from: bool,
    /// Only to these recipients (`*@example.edu`, `scans@example.edu`), when given.
    #[serde(default)]
    pub allowed_recipients: Vec<String>,
}

fn yes() -> bool {
    true
}

fn default_listen() -> Vec<String> {
    vec!["0.0.0.0:2525".into()]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// STARTTLS listeners.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Implicit-TLS listeners.
    #[serde(default)]
    pub listen_tls: Vec<String>,
    /// Addresses or CIDR ranges that may connect and sign in without TLS (copiers that speak
    /// only TLS 1.0, which rustls does not).
    #[serde(default)]
    pub allow_plain_from: Vec<String>,
    pub certificate: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Largest message (default: the provider's own limit).
    pub max_message_bytes: Option<u64>,
    /// Copiers sending at once, in all and from one address.
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    /// Where the relay keeps its state, its own certificate and (with `secrets = "file"`) its
    /// secret; default: beside this file (a service uses its own state folder).
    pub state_dir: Option<PathBuf>,
    /// The help desk's address: one message a day goes there while something needs a look.
    pub help_desk_email: Option<String>,
    pub upstream: Upstream,
    #[serde(default, rename = "device")]
    pub devices: Vec<Device>,
}

/// The largest messages the providers take (Microsoft 365: 150 MB as announced in its SIZE;
/// Gmail: 25 MB).
fn provider_max(p: ProviderKind) -> u64 {
    match p {
        ProviderKind::Microsoft => 157_286_400,
        ProviderKind::Google => 35_882_577,
        ProviderKind::Server => 52_428_800,
    }
}

impl RelayConfig {
    pub fn max_message_bytes(&self) -> u64 {
        self.max_message_bytes
            .unwrap_or_else(|| provider_max(self.upstream.provider))
    }

    pub fn listen_addrs(&self) -> Result<Vec<(SocketAddr, bool)>, String> {
        let mut out = Vec::new();
        for (list, implicit) in [(&self.listen, false), (&self.listen_tls, true)] {
            for a in list {
                let addr: SocketAddr = a.parse().map_err(|_| {
                    format!("listen address \"{a}\" must be IP:PORT, such as 0.0.0.0:2525")
                })?;
                out.push((addr, implicit));
            }
        }
        if out.is_empty() {
            return Err(
                "listen and listen_tls are both empty: the relay would take no mail".into(),
            );
        }
        Ok(out)
    }

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
        ];
        for (name, p) in paths {
            let Some(p) = p else { continue };
            let full = dir.join(p);
            let climbs = full
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
            if climbs || !(full.starts_with(dir) || full.starts_with(state)) {
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

    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
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

/// The machine-wide folder for the relay (config and state of the service).
pub fn system_dir() -> PathBuf {
    crate::org::system_path()
        .parent()
        .map_or_else(|| PathBuf::from("relay"), |p| p.join("relay"))
}

/// The config file: `--config FILE`, else the machine-wide one.
pub fn path_or_default(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| system_dir().join("relay.toml"), Path::to_path_buf)
}

/// Largest relay.toml read.
const CAP: u64 = 1024 * 1024;

/// Reads and checks the config. In the machine-wide folder it counts only while administrators
/// alone can change it (the same rule as the system preset).
pub fn load(path: &Path) -> Result<RelayConfig, String> {
    load_with(path, path.starts_with(system_dir()))
}

/// Reads and checks the config without asking who may change it: for installing a service and
/// for checking an edit, never for running (the relay itself always loads with [`load`], so a
/// machine-wide relay.toml a user could change is refused when the service starts, with the
/// reason in its log).
pub fn load_unguarded(path: &Path) -> Result<RelayConfig, String> {
    load_with(path, false)
}

fn load_with(path: &Path, guarded: bool) -> Result<RelayConfig, String> {
    let bytes = if guarded {
        match crate::trust::read_guarded(path, CAP) {
            crate::trust::Guarded::Read(b) => b,
            crate::trust::Guarded::Untrusted(why) => {
                return Err(format!(
                    "{} is not used: {why}. Only administrators may be able to change the relay's settings.",
                    path.display()
                ));
            }
            crate::trust::Guarded::Unreadable(why) => {
                return Err(format!("{}: {why}", path.display()));
            }
        }
    } else {
        crate::fsutil::read_capped(path, CAP)
            .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::plain_io(&e)))?
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{}: it is not text (UTF-8)", path.display()))?;
    let cfg: RelayConfig = toml::from_str(text).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            crate::fsutil::plain_toml(text, &e)
        )
    })?;
    let mut cfg = cfg;
    // Files named in relay.toml are found beside it, wherever the relay is started from.
    let dir = path.parent().unwrap_or(Path::new("."));
    for p in [&mut cfg.upstream.ca_file, &mut cfg.upstream.secrets_file] {
        if let Some(f) = p.as_mut()
            && f.is_relative()
        {
            *f = dir.join(&*f);
        }
    }
    cfg.check()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if guarded {
        cfg.confined(dir, &super::service_state_dir())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(cfg)
}

/// The commented relay.toml `relay init` writes, from the organization preset.
pub fn initial_text(preset: &crate::org::Preset) -> String {
    let cat = crate::catalog::catalog();
    let provider = cat.provider_for(&preset.server, "");
    let (kind, server_line) = match provider.map(|p| p.id.as_str()) {
        Some("microsoft365") => ("microsoft", "# server = \"smtp.office365.com\"".to_string()),
        Some("google") => ("google", "# server = \"smtp.gmail.com\"".to_string()),
        _ => ("server", format!("server = \"{}\"", preset.server)),
    };
    let (security, port) = match (kind, preset.ssl_port, preset.starttls_port) {
        ("microsoft", _, p) => ("starttls", p.unwrap_or(587)),
        (_, Some(p), _) => ("ssl", p),
        (_, None, Some(p)) => ("starttls", p),
        _ => ("starttls", 587),
    };
    let has_app = match kind {
        "microsoft" => preset.oauth.microsoft.is_some(),
        "google" => preset.oauth.google.is_some(),
        _ => false,
    };
    let auth = if has_app { "oauth" } else { "password" };
    let mut oauth = String::new();
    if let Ok(t) = toml::to_string(&preset.oauth)
        && !preset.oauth.is_empty()
    {
        for line in t.lines() {
            let line = if let Some(rest) = line.strip_prefix('[') {
                format!("[upstream.oauth.{rest}")
            } else {
                line.to_string()
            };
            oauth += &line;
            oauth.push('\n');
        }
    }
    format!(
        r#"# ScanMail relay ("the bridge"): copiers sign in here on the local network, and the relay
# sends their mail on to the provider, signed in with OAuth 2.0 (or a password). Made by
# `scanmail relay init` from the organization preset ({org}). See the README, "Relay (for IT)".

# Where copiers connect: STARTTLS on these addresses (0.0.0.0 = every address of this computer).
listen = ["0.0.0.0:2525"]
# Also TLS from the first byte (the copier's "SSL/TLS"), for example ["0.0.0.0:2465"].
listen_tls = []
# Copiers that speak only old TLS 1.0 may connect and sign in WITHOUT encryption from these
# addresses or ranges only (keep it to the copier's own address), for example ["10.1.2.3"].
allow_plain_from = []
# certificate = "relay-cert.pem"   # else one is made once and kept next to this file
# key = "relay-key.pem"
# max_message_bytes = 36700160     # default: the provider's own limit
{help}

[upstream]
provider = "{kind}"                 # microsoft | google | server
account = "scanner@example.edu"     # the mailbox the relay sends as: change this
auth = "{auth}"                     # oauth | password
{server_line}
port = {port}
security = "{security}"             # starttls | ssl
# ca_file = "our-ca.pem"           # an organization's own server's CA
# secrets = "keychain"             # where the refresh token (or password) is kept: keychain | file | system-keychain (macOS service)

{oauth}
# Copiers are added with: scanmail relay add-device NAME [--address IP]
"#,
        org = preset.organization,
        help = preset.help_email().map_or_else(
            || "# help_desk_email = \"help@example.edu\" # one message a day while something needs a look".to_string(),
            |e| format!("help_desk_email = \"{e}\"        # one message a day while something needs a look"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_file_reads_back_and_names_the_provider() {
        let preset =
            crate::org::Preset::parse(include_str!("../../resources/presets/microsoft-365.toml"))
                .unwrap();
        let text = initial_text(&preset).replace("scanner@example.edu", "scan@contoso.example");
        let cfg: RelayConfig = toml::from_str(&text).unwrap();
        assert_eq!(cfg.upstream.provider, ProviderKind::Microsoft);
        assert_eq!(cfg.upstream.server(), "smtp.office365.com");
        assert_eq!(
            (cfg.upstream.port(), cfg.upstream.security()),
            (587, UpSecurity::Starttls)
        );
        assert_eq!(cfg.listen, ["0.0.0.0:2525"]);
    }

    #[test]
    fn addresses_and_ranges() {
        let list = vec!["10.0.0.0/24".to_string(), "192.0.2.7".to_string()];
        assert!(allowed(&list, "10.0.0.99".parse().unwrap()));
        assert!(allowed(&list, "::ffff:192.0.2.7".parse().unwrap()));
        assert!(!allowed(&list, "192.0.2.8".parse().unwrap()));
        assert!(parse_net("10.0.0.300").is_err());
        assert!(check_name("copier-3f@lab").is_ok());
        assert!(check_name("bad name").is_err());
    }
}
