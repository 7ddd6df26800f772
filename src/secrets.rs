//! The app password, and (later) the OS keychain that stores it.
//!
//! `AppPassword` is the only type that carries the password through the program. It has no
//! `Display` and no `Serialize`, and its `Debug` prints a placeholder, so it cannot end up in a
//! log line, an error text or a JSON document by accident.

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
