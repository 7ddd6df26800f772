//! Where the relay keeps the provider's secret: the refresh token (OAuth) or the password.
//! By default the OS keychain of the account that runs the relay, under the relay's own entry
//! (service `scanmail-relay`); for a Linux service, a file in its state directory that only the
//! service's account may read (0600). Never printed, never in the config or the state file.

use super::config::{RelayConfig, SecretStore};
use std::path::{Path, PathBuf};

/// The keychain cannot be read (locked, or no one signed in to unlock it).
const KEYCHAIN_UNREADABLE: &str = "the keychain could not be read (it may be locked, or no one is signed in to unlock it). A relay that runs with no one signed in keeps its sign-in in a file: install it as a service (scanmail relay install-service), or set secrets = \"file\" under [upstream] in relay.toml and sign in again (scanmail relay sign-in)";

/// The keychain service name of the relay's entries (the window's are `scanmail`).
pub const SERVICE: &str = "scanmail-relay";

/// One secret, kept.
#[derive(Debug, Clone)]
pub struct Store {
    kind: SecretStore,
    file: PathBuf,
    user: String,
}

/// A secret read back: only shown through [`Secret::expose`], never by `Debug`.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Store {
    /// The store for this config; `state_dir` holds the file store by default.
    pub fn for_config(cfg: &RelayConfig, state_dir: &Path) -> Self {
        let u = &cfg.upstream;
        let what = match u.auth {
            super::config::AuthKind::OAuth => "refresh token",
            super::config::AuthKind::App => "app key",
            super::config::AuthKind::Password => "password",
        };
        Self {
            kind: u.secrets,
            file: u
                .secrets_file
                .clone()
                .unwrap_or_else(|| state_dir.join("relay-secret")),
            user: format!("{} {what}", u.account.trim().to_lowercase()),
        }
    }

    /// Where a new secret waits until it is proved (a renewed app key): the same store, under
    /// its own name.
    pub fn pending(&self) -> Self {
        let mut file = self.file.clone().into_os_string();
        file.push(".new");
        Self {
            kind: self.kind,
            file: file.into(),
            user: format!("{} (new)", self.user),
        }
    }

    pub fn describe(&self) -> String {
        match self.kind {
            SecretStore::Keychain => format!("the keychain (\"{SERVICE}\", \"{}\")", self.user),
            SecretStore::SystemKeychain => {
                format!("the System keychain (\"{SERVICE}\", \"{}\")", self.user)
            }
            SecretStore::File => format!(
                "{} (readable by this account only{})",
                self.file.display(),
                if cfg!(windows) {
                    ", sealed for this computer"
                } else {
                    ""
                }
            ),
        }
    }

    fn entry(&self) -> Result<keyring_core::Entry, String> {
        if !crate::secrets::keychain_available() {
            crate::secrets::use_platform_keychain().map_err(|_| {
                "this computer has no keychain the relay can use (on a Linux server, set secrets = \"file\" in [upstream])".to_string()
            })?;
        }
        if self.kind == SecretStore::SystemKeychain {
            if !cfg!(target_os = "macos") {
                return Err("secrets = \"system-keychain\" is for macOS only".into());
            }
            let system = std::collections::HashMap::from([("keychain", "System")]);
            return keyring_core::Entry::new_with_modifiers(SERVICE, &self.user, &system)
                .map_err(|_| "the System keychain refused the relay's entry (run this as an administrator: sudo)".to_string());
        }
        keyring_core::Entry::new(SERVICE, &self.user)
            .map_err(|_| "the keychain refused the relay's entry".to_string())
    }

    /// Whether a secret could be kept here, asked before a sign-in starts (so no one types a
    /// Microsoft code for a sign-in that cannot be kept): `Err` says why not.
    pub fn ready(&self) -> Result<(), String> {
        match self.kind {
            SecretStore::Keychain | SecretStore::SystemKeychain => {
                match self.entry()?.get_password() {
                    Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
                    Err(_) => Err(KEYCHAIN_UNREADABLE.into()),
                }
            }
            SecretStore::File => Ok(()),
        }
    }

    pub fn load(&self) -> Result<Option<Secret>, String> {
        match self.kind {
            SecretStore::Keychain | SecretStore::SystemKeychain => {
                match self.entry()?.get_password() {
                    Ok(s) => Ok(Some(Secret(s))),
                    Err(keyring_core::Error::NoEntry) => Ok(None),
                    Err(_) => Err(KEYCHAIN_UNREADABLE.into()),
                }
            }
            SecretStore::File => match crate::fsutil::read_capped(&self.file, 64 * 1024) {
                Ok(b) => {
                    let text = String::from_utf8_lossy(&b).trim().to_string();
                    #[cfg(windows)]
                    let text = super::dpapi::open(&text)?;
                    Ok(Some(Secret(text)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!(
                    "{} could not be read ({}). The account the relay runs as must be able to read it: run the relay as that account, or install it as a service (scanmail relay install-service), which keeps the file for it",
                    self.file.display(),
                    crate::fsutil::plain_io(&e)
                )),
            },
        }
    }

    /// Replaces the secret in one step (a rotated refresh token replaces the old one whole).
    pub fn save(&self, secret: &str) -> Result<(), String> {
        match self.kind {
            SecretStore::Keychain | SecretStore::SystemKeychain => self
                .entry()?
                .set_password(secret)
                .map_err(|_| "the keychain refused to keep the relay's secret".into()),
            SecretStore::File => {
                if let Some(dir) = self.file.parent() {
                    let _ = std::fs::create_dir_all(dir);
                }
                #[cfg(windows)]
                let sealed = super::dpapi::seal(secret)?;
                #[cfg(windows)]
                let secret = sealed.as_str();
                crate::fsutil::write_atomic(&self.file, secret.as_bytes()).map_err(|e| {
                    format!(
                        "{} could not be written ({})",
                        self.file.display(),
                        crate::fsutil::plain_io(&e)
                    )
                })?;
                Ok(())
            }
        }
    }

    pub fn delete(&self) -> Result<(), String> {
        match self.kind {
            SecretStore::Keychain | SecretStore::SystemKeychain => {
                match self.entry()?.delete_credential() {
                    Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                    Err(_) => Err("the keychain refused to delete the relay's secret".into()),
                }
            }
            SecretStore::File => match std::fs::remove_file(&self.file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(crate::fsutil::plain_io(&e))
                }
                _ => Ok(()),
            },
        }
    }
}
