//! `relay.toml`: where the relay listens, the provider it passes mail to, and the copiers that
//! may send through it. Read with the same trust rule as the system preset when it lives in the
//! machine-wide folder; changed (devices added or removed) with `toml_edit`, so IT's comments
//! stay.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use super::config_check::{allowed, check_name, parse_net};

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
    /// A person signs the mailbox in (device code or browser); the relay keeps a refresh token.
    OAuth,
    /// Microsoft 365 app-only: the relay's own app signs in with its certificate (or a client
    /// secret); no person, no refresh token.
    App,
    Password,
}

/// How the relay hands mail to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// SMTP (XOAUTH2 or a password), the message streamed byte for byte.
    #[default]
    Smtp,
    /// Microsoft Graph (`sendMail`, or a draft with its attachments uploaded): for Microsoft 365
    /// organizations that keep SMTP AUTH off.
    Graph,
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
    /// SMTP (the default) or Microsoft Graph.
    #[serde(default)]
    pub api: ApiKind,
    /// Microsoft Graph's address (`https://graph.microsoft.com`; plain http only to a loopback
    /// address, for tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// Graph: keep a copy of each message in the mailbox's Sent Items (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_to_sent_items: Option<bool>,
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

    /// Microsoft Graph's address.
    pub fn graph_url(&self) -> &str {
        self.graph_url
            .as_deref()
            .unwrap_or("https://graph.microsoft.com")
            .trim_end_matches('/')
    }

    /// True when the relay sends through Microsoft Graph.
    pub fn graph(&self) -> bool {
        self.api == ApiKind::Graph
    }

    /// The app-only sign-in's app: `[upstream.oauth.microsoft]` with `auth = "app"`.
    pub fn app(&self) -> Option<&crate::oauth::MicrosoftApp> {
        (self.auth == AuthKind::App && self.provider == ProviderKind::Microsoft)
            .then_some(self.oauth.microsoft.as_ref())
            .flatten()
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
    /// How long a stop lets messages in flight finish (default 60 s).
    pub stop_grace_seconds: Option<u64>,
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
    /// The largest message taken: relay.toml's, else the provider's own limit (through
    /// Microsoft Graph: Exchange Online's default of 35 MB, since the message is held in memory).
    pub fn max_message_bytes(&self) -> u64 {
        self.max_message_bytes.unwrap_or_else(|| {
            if self.upstream.graph() {
                36_700_160
            } else {
                provider_max(self.upstream.provider)
            }
        })
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

    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name.trim()))
    }
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

/// What to say when relay.toml is not there: the relay is not set up yet, and the command
/// that sets it up (for this file).
pub fn not_set_up(path: &Path) -> String {
    let init = if path == path_or_default(None) {
        "scanmail relay init --account ADDRESS".to_string()
    } else {
        format!(
            "scanmail relay init --config \"{}\" --account ADDRESS",
            path.display()
        )
    };
    format!(
        "There is no relay here yet: {} does not exist. Set one up first (ADDRESS is the mail account it sends as): {init}",
        path.display()
    )
}

/// Reads and checks the config without asking who may change it: for installing a service and
/// for checking an edit, never for running (the relay itself always loads with [`load`], so a
/// machine-wide relay.toml a user could change is refused when the service starts, with the
/// reason in its log).
pub fn load_unguarded(path: &Path) -> Result<RelayConfig, String> {
    load_with(path, false)
}

fn load_with(path: &Path, guarded: bool) -> Result<RelayConfig, String> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        return Err(not_set_up(path));
    }
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
    let certificate = cfg
        .upstream
        .oauth
        .microsoft
        .as_mut()
        .map(|m| &mut m.certificate);
    for p in [&mut cfg.upstream.ca_file, &mut cfg.upstream.secrets_file]
        .into_iter()
        .chain(certificate)
    {
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

#[cfg(test)]
mod tests {
    use super::*;

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
