//! The app password, and the OS keychain that keeps it: the only place that touches the
//! password store.
//!
//! `AppPassword` is the only type that carries the password through the program. It has no
//! `Display` and no `Serialize`, and its `Debug` prints a placeholder, so it cannot end up in a
//! log line, an error text or a JSON document by accident.
//!
//! The keychain is Windows Credential Manager, the macOS Keychain, or the Secret Service on
//! Linux, under service `scanmail` and user = the account address. When none is available the
//! password is kept in memory for this run only; there is no other place it is kept.

use std::fmt;

pub const SERVICE: &str = "scanmail";

/// An app password held in memory.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AppPassword(String);

impl AppPassword {
    /// Wraps a password exactly as given.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// Wraps a password as pasted by a person: spaces and line breaks are removed, because
    /// providers show app passwords in groups ("abcd efgh ijkl mnop") that are typed without them.
    pub fn from_pasted(text: &str) -> Self {
        Self(text.chars().filter(|c| !c.is_whitespace()).collect())
    }

    /// The password itself, for the one place that sends it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when it looks like an app password (16 letters, as Google and Microsoft make them),
    /// so advice can name the likely causes of a refusal instead of "use an app password".
    pub fn has_app_password_shape(&self) -> bool {
        self.0.chars().count() == 16 && self.0.chars().all(|c| c.is_ascii_alphabetic())
    }

    /// Number of characters, so callers can warn about unusual lengths without seeing the text.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for AppPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppPassword(<hidden>)")
    }
}

/// An OAuth 2.0 access token, held in memory for one test: a secret exactly like the password
/// (no `Display`, no `Serialize`, a `Debug` that hides it; never in a file, log or output).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token; surrounding spaces and line breaks (a pasted or piped token) are dropped.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_string())
    }

    /// The token itself, for the one place that sends it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<hidden>)")
    }
}

/// Why the keychain could not be used, in plain words. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    #[error(
        "This computer has no keychain ScanMail can use, so the app password is kept only until ScanMail closes."
    )]
    Unavailable,
    #[error("The keychain refused: {0}. The app password is kept only until ScanMail closes.")]
    Failed(String),
}

/// Installs the platform's keychain as the default store. Call once at start-up; `Err` means
/// there is none (for example Linux without a Secret Service).
pub fn use_platform_keychain() -> Result<(), KeychainError> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(_) => Err(KeychainError::Unavailable),
    }
}

/// True when a keychain is in place.
pub fn keychain_available() -> bool {
    keyring_core::get_default_store().is_some()
}

/// What a kept password is for: one account on one server. A password kept for an account on
/// one server is never handed to another server that names the same account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    server: String,
    account: String,
}

impl Key {
    pub fn new(server: &str, account: &str) -> Self {
        Self {
            server: server.trim().to_lowercase(),
            account: account.trim().to_lowercase(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The keychain entry's user name: `account on server`.
    fn user(&self) -> String {
        format!("{} on {}", self.account, self.server)
    }
}

fn entry(user: &str) -> Result<keyring_core::Entry, KeychainError> {
    if !keychain_available() {
        return Err(KeychainError::Unavailable);
    }
    keyring_core::Entry::new(SERVICE, user).map_err(plain)
}

/// Maps keychain errors to words. Some variants carry the secret's bytes: never format those.
fn plain(e: keyring_core::Error) -> KeychainError {
    use keyring_core::Error as E;
    match e {
        E::NoDefaultStore | E::NoStorageAccess(_) => KeychainError::Unavailable,
        E::PlatformFailure(_) => {
            KeychainError::Failed("the system keychain reported an error".into())
        }
        E::BadEncoding(_) | E::BadDataFormat(..) => {
            KeychainError::Failed("the saved entry is damaged".into())
        }
        E::TooLong(what, _) => KeychainError::Failed(format!("the {what} is too long")),
        E::Invalid(what, _) => KeychainError::Failed(format!("the {what} is not accepted")),
        E::Ambiguous(_) => {
            KeychainError::Failed("there is more than one entry for this account".into())
        }
        _ => KeychainError::Failed("an unexpected keychain error".into()),
    }
}

/// Keeps the password in the keychain for this account on this server.
pub fn remember(key: &Key, password: &AppPassword) -> Result<(), KeychainError> {
    entry(&key.user())?
        .set_password(password.expose())
        .map_err(plain)
}

/// The password kept for this account on this server, if any. An entry from ScanMail 0.1 (keyed
/// by the account alone) is moved to this server's key on first use: only devices that keep their
/// password ask, and 0.1 kept it only for the server the device named.
pub fn recall(key: &Key) -> Result<Option<AppPassword>, KeychainError> {
    match get(&key.user())? {
        Some(p) => Ok(Some(p)),
        None => match get(&key.account)? {
            Some(old) => {
                remember(key, &old)?;
                delete(&key.account)?;
                Ok(Some(old))
            }
            None => Ok(None),
        },
    }
}

/// The password kept for exactly this account on this server. A 0.1 entry (keyed by the
/// account alone) is left where it is: it belongs to the server the device saved, so a server
/// typed over it (`check --server`) never receives it.
pub fn recall_exact(key: &Key) -> Result<Option<AppPassword>, KeychainError> {
    get(&key.user())
}

fn get(user: &str) -> Result<Option<AppPassword>, KeychainError> {
    match entry(user)?.get_password() {
        Ok(p) => Ok(Some(AppPassword::new(p))),
        Err(keyring_core::Error::NoEntry) => Ok(None),
        Err(e) => Err(plain(e)),
    }
}

fn delete(user: &str) -> Result<(), KeychainError> {
    match entry(user)?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(plain(e)),
    }
}

/// Removes the password kept for this account on this server (nothing kept is fine).
pub fn forget(key: &Key) -> Result<(), KeychainError> {
    delete(&key.user())
}

/// Tests share one in-memory keychain (keyring-core's mock store).
#[cfg(test)]
pub(crate) fn use_mock_keychain() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(store) = keyring_core::mock::Store::new() {
            keyring_core::set_default_store(store);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keychain_round_trip() {
        use_mock_keychain();
        let key = Key::new("smtp.gmail.com", "Keychain-Test@example.edu");
        assert_eq!(recall(&key), Ok(None));
        remember(&key, &AppPassword::new("qwertyuiopasdfgh")).unwrap();
        assert_eq!(
            recall(&Key::new("SMTP.gmail.com ", "keychain-test@example.edu"))
                .unwrap()
                .unwrap()
                .expose(),
            "qwertyuiopasdfgh"
        );
        let elsewhere = Key::new("mail.attacker.example", "keychain-test@example.edu");
        assert_eq!(recall(&elsewhere), Ok(None), "another server gets nothing");
        forget(&key).unwrap();
        assert_eq!(recall(&key), Ok(None));
        forget(&key).unwrap();
    }

    #[test]
    fn an_entry_from_0_1_moves_to_the_server_key_on_first_use() {
        use_mock_keychain();
        let old = entry("legacy@example.edu").unwrap();
        old.set_password("legacylegacylega").unwrap();
        let key = Key::new("smtp.gmail.com", "legacy@example.edu");
        assert_eq!(
            recall(&key).unwrap().map(|p| p.expose().to_string()),
            Some("legacylegacylega".to_string())
        );
        assert_eq!(get("legacy@example.edu"), Ok(None), "the old entry is gone");
        assert!(get(&key.user()).unwrap().is_some());
        forget(&key).unwrap();
    }

    #[test]
    fn a_server_typed_over_the_devices_never_receives_a_0_1_entry() {
        use_mock_keychain();
        let old = entry("override@example.edu").unwrap();
        old.set_password("overrideoverride").unwrap();
        let typed = Key::new("mail.attacker.example", "override@example.edu");
        assert_eq!(recall_exact(&typed), Ok(None));
        assert!(
            get("override@example.edu").unwrap().is_some(),
            "the 0.1 entry stays for the device's own server"
        );
        assert_eq!(get(&typed.user()), Ok(None));
        let _ = delete("override@example.edu");
    }

    #[test]
    fn keychain_errors_never_show_the_secret() {
        let e = plain(keyring_core::Error::BadEncoding(b"hunter2-secret".to_vec()));
        assert!(!e.to_string().contains("hunter2") && !format!("{e:?}").contains("hunter2"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = AppPassword::new("hunter2-distinctive");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn pasted_passwords_lose_their_spaces() {
        let p = AppPassword::from_pasted(" abcd efgh\tijkl mnop\n");
        assert_eq!(p.expose(), "abcdefghijklmnop");
        assert_eq!(p.len(), 16);
    }
}
