//! What a test send needs, and checking it: the fields as a person typed them, in plain words
//! when something is wrong.

use super::{DEFAULT_SSL_PORT, DEFAULT_STARTTLS_PORT, DEFAULT_TIMEOUT, Security, certs};
use crate::secrets::{AccessToken, AppPassword};
use std::time::Duration;

/// Everything a test send needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub server: String,
    pub account: String,
    pub password: AppPassword,
    /// An OAuth 2.0 access token: when set, the test signs in with XOAUTH2 and the password is
    /// not used (it may be empty).
    pub token: Option<AccessToken>,
    /// Where the test message goes; the account itself when `None`.
    pub recipient: Option<String>,
    /// `None` skips that port.
    pub ssl_port: Option<u16>,
    pub starttls_port: Option<u16>,
    /// Bound for each port, from the first step to the verdict.
    pub timeout: Duration,
    /// PEM text of an extra CA to trust besides the OS store (an organization's own server).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Stop after signing in: no message is sent.
    pub login_only: bool,
    /// Named in the test message, so the recipient knows which device setup it came from.
    pub profile_name: Option<String>,
    /// The security to recommend when both ports work. The caller asks the catalog (Microsoft
    /// 365 wants STARTTLS for devices); RFC 8314's SSL/TLS otherwise.
    pub prefer: Security,
    /// Who reads the advice: the window (its buttons and fields) or the command line (flags).
    pub surface: Surface,
    /// The other usual port may be suggested: false when the provider has no such port
    /// (Microsoft 365 has no 465). The caller asks the catalog.
    pub other_port_allowed: bool,
    /// The organization preset fixes the server and ports: advice never sends anyone to change
    /// them.
    pub ports_locked: bool,
    /// The provider gives devices app passwords (Google); false where devices use the
    /// mailbox's own password (Microsoft 365). The caller asks the catalog.
    pub app_passwords: bool,
    /// When the test was asked for (seconds since 1970): advice about dated changes follows it.
    pub now_unix: i64,
}

/// Who reads the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Surface {
    #[default]
    Window,
    CommandLine,
}

impl Request {
    pub fn new(server: &str, account: &str, password: AppPassword) -> Self {
        Self {
            server: server.to_string(),
            account: account.to_string(),
            password,
            token: None,
            recipient: None,
            ssl_port: Some(DEFAULT_SSL_PORT),
            starttls_port: Some(DEFAULT_STARTTLS_PORT),
            timeout: DEFAULT_TIMEOUT,
            extra_ca_pem: None,
            login_only: false,
            profile_name: None,
            prefer: Security::Ssl,
            surface: Surface::Window,
            other_port_allowed: true,
            ports_locked: false,
            app_passwords: true,
            now_unix: crate::time::now_unix(),
        }
    }

    /// The recipient, defaulting to the account.
    pub fn recipient(&self) -> &str {
        self.recipient
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(&self.account)
    }

    /// Checks the fields, in the order a person fills them in.
    pub fn validate(&self) -> Result<(), InputError> {
        validate_server(&self.server)?;
        if self.account.trim().is_empty() {
            return Err(InputError::EmptyAccount);
        }
        validate_address(&self.account).map_err(InputError::BadAccount)?;
        match &self.token {
            Some(token) if token.is_empty() => return Err(InputError::EmptyToken),
            None if self.password.is_empty() => return Err(InputError::EmptyPassword),
            _ => {}
        }
        self.validate_settings()
    }

    /// Checks everything but the secret (for a sign-in that comes after the checks).
    pub fn validate_settings(&self) -> Result<(), InputError> {
        validate_server(&self.server)?;
        if self.account.trim().is_empty() {
            return Err(InputError::EmptyAccount);
        }
        validate_address(&self.account).map_err(InputError::BadAccount)?;
        if let Some(r) = self.recipient.as_deref().filter(|r| !r.trim().is_empty()) {
            validate_address(r).map_err(InputError::BadRecipient)?;
        }
        match (self.ssl_port, self.starttls_port) {
            (None, None) => return Err(InputError::NoPorts),
            (Some(0), _) | (_, Some(0)) => return Err(InputError::PortZero),
            (Some(a), Some(b)) if a == b => return Err(InputError::SamePort(a)),
            _ => {}
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(300) {
            return Err(InputError::BadTimeout);
        }
        if let Some(pem) = &self.extra_ca_pem {
            certs::parse_pem_certs(pem).map_err(InputError::BadCa)?;
        }
        Ok(())
    }
}

/// Checks a server name or address as typed.
pub fn validate_server(server: &str) -> Result<(), InputError> {
    let s = server.trim();
    if s.is_empty() {
        return Err(InputError::EmptyServer);
    }
    if s.contains("://") || s.contains('/') || s.contains('@') || s.contains(' ') {
        return Err(InputError::BadServer(s.to_string()));
    }
    if s.rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !s.contains("::")
    {
        return Err(InputError::ServerWithPort(s.to_string()));
    }
    certs::server_name(host_only(s)).map_err(|_| InputError::BadServer(s.to_string()))?;
    Ok(())
}

/// A port as typed: a whole number from 1 to 65535 (spaces around it are ignored). The one rule
/// for port text, in the window's fields and wherever else a port is typed.
pub fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

/// Checks an email address.
pub fn validate_address(address: &str) -> Result<(), String> {
    address
        .trim()
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|_| address.trim().to_string())
}

/// A server as typed, without IPv6 brackets.
pub(crate) fn host_only(server: &str) -> &str {
    server.trim().trim_start_matches('[').trim_end_matches(']')
}

/// Bad input, in plain words. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("Enter the mail server's name, for example smtp.gmail.com.")]
    EmptyServer,
    #[error("\"{0}\" is not a server name. Enter only the name, for example smtp.gmail.com.")]
    BadServer(String),
    #[error("Enter the server name without a port (\"{0}\"); the ports are set separately.")]
    ServerWithPort(String),
    #[error("Enter the device account's email address.")]
    EmptyAccount,
    #[error("\"{0}\" is not a complete email address. It should look like name@example.edu.")]
    BadAccount(String),
    #[error("Enter the app password.")]
    EmptyPassword,
    #[error("The sign-in gave no access token. Sign in again.")]
    EmptyToken,
    #[error("\"{0}\" is not a complete email address for the test message's recipient.")]
    BadRecipient(String),
    #[error("Choose at least one port to test.")]
    NoPorts,
    #[error("Port numbers go from 1 to 65535.")]
    PortZero,
    #[error("Both tests use port {0}. Give SSL/TLS and STARTTLS different ports.")]
    SamePort(u16),
    #[error("The time limit must be between 1 and 300 seconds.")]
    BadTimeout,
    #[error("{0}")]
    BadCa(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_req() -> Request {
        Request::new(
            "smtp.gmail.com",
            "lab@example.edu",
            AppPassword::new("abcdabcdabcdabcd"),
        )
    }

    #[test]
    fn port_text() {
        assert_eq!(parse_port(" 465 "), Some(465));
        for bad in ["0", "65536", "-1", "4 65", "", "abc", "465.0"] {
            assert_eq!(parse_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn validation_speaks_plainly() {
        assert_eq!(ok_req().validate(), Ok(()));
        type Change = Box<dyn Fn(&mut Request)>;
        let cases: Vec<(Change, InputError)> = vec![
            (Box::new(|r| r.server = " ".into()), InputError::EmptyServer),
            (
                Box::new(|r| r.server = "https://smtp.gmail.com".into()),
                InputError::BadServer("https://smtp.gmail.com".into()),
            ),
            (
                Box::new(|r| r.server = "smtp.gmail.com:465".into()),
                InputError::ServerWithPort("smtp.gmail.com:465".into()),
            ),
            (
                Box::new(|r| r.account = "lab".into()),
                InputError::BadAccount("lab".into()),
            ),
            (
                Box::new(|r| r.password = AppPassword::new("")),
                InputError::EmptyPassword,
            ),
            (
                Box::new(|r| r.recipient = Some("x@".into())),
                InputError::BadRecipient("x@".into()),
            ),
            (
                Box::new(|r| {
                    r.ssl_port = None;
                    r.starttls_port = None;
                }),
                InputError::NoPorts,
            ),
            (Box::new(|r| r.ssl_port = Some(0)), InputError::PortZero),
            (
                Box::new(|r| r.starttls_port = Some(465)),
                InputError::SamePort(465),
            ),
            (
                Box::new(|r| r.timeout = Duration::ZERO),
                InputError::BadTimeout,
            ),
        ];
        for (change, want) in cases {
            let mut r = ok_req();
            change(&mut r);
            assert_eq!(r.validate(), Err(want));
        }
        let mut r = ok_req();
        r.extra_ca_pem = Some(b"not a certificate".to_vec());
        assert!(matches!(r.validate(), Err(InputError::BadCa(_))));
        for good in ["::1", "[::1]", "127.0.0.1", "localhost"] {
            let mut r = ok_req();
            r.server = good.into();
            assert_eq!(r.validate(), Ok(()), "{good}");
        }
    }
}
