//! OAuth 2.0 sign-in for sending mail, the way modern copiers do it: an access token for SMTP's
//! XOAUTH2 instead of an app password.
//!
//! - Microsoft 365: the device authorization grant (a code the person types at Microsoft's
//!   page), scope `https://outlook.office.com/SMTP.Send offline_access` ([`device`]).
//! - Google: the authorization code grant with PKCE and a loopback redirect on 127.0.0.1, scope
//!   `https://mail.google.com/` (Google's device flow refuses the Gmail scope) ([`loopback`]).
//!
//! The app registrations come from IT, in the organization preset (`[oauth.microsoft]`,
//! `[oauth.google]`). The token is held in memory for one test ([`AccessToken`]); refresh
//! tokens are dropped. The `oauth2` crate does the protocol; [`http`] is its small HTTPS client
//! (ureq on rustls, certificates checked against the OS store, no redirects followed).

pub mod app;
pub mod blocked;
pub mod device;
pub mod http;
pub mod loopback;
pub mod refresh;

pub use crate::secrets::AccessToken;
use serde::{Deserialize, Serialize};

pub const MICROSOFT_SCOPE: &str = "https://outlook.office.com/SMTP.Send";
/// A person's sign-in for a relay that sends through Microsoft Graph (drafts and attachments
/// need Mail.ReadWrite).
pub const MICROSOFT_GRAPH_SCOPES: [&str; 2] = [
    "https://graph.microsoft.com/Mail.Send",
    "https://graph.microsoft.com/Mail.ReadWrite",
];
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";
const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";
const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// What a sign-in gives a relay that must keep sending: the access token, when it runs out, and
/// the refresh token to get the next one. Both are secrets; `Debug` shows neither.
pub struct TokenSet {
    pub access: AccessToken,
    /// Seconds since 1970 when the access token runs out.
    pub expires_at: i64,
    /// A new refresh token (providers rotate it: the old one must be replaced).
    pub refresh: Option<AccessToken>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenSet {{ access: <hidden>, expires_at: {}, refresh: {} }}",
            self.expires_at,
            if self.refresh.is_some() {
                "<hidden>"
            } else {
                "none"
            }
        )
    }
}

/// Longest and shortest lifetime believed of an access token: a provider's `expires_in` of
/// years (or near `i64::MAX`, which would overflow) is held to a day, and of nothing to a minute.
const LONGEST: i64 = 86_400;
const SHORTEST: i64 = 60;

/// When a token given now with `expires_in` seconds (an hour when not said) runs out.
pub fn expires_at(expires_in: Option<u64>) -> i64 {
    let lifetime = expires_in.map_or(3600, |s| i64::try_from(s).unwrap_or(LONGEST));
    crate::time::now_unix().saturating_add(lifetime.clamp(SHORTEST, LONGEST))
}

impl TokenSet {
    /// From the `oauth2` crate's token answer.
    fn from_response<R: oauth2::TokenResponse>(r: &R) -> Self {
        TokenSet {
            access: AccessToken::new(r.access_token().secret().clone()),
            expires_at: expires_at(r.expires_in().map(|d| d.as_secs())),
            refresh: r
                .refresh_token()
                .map(|t| AccessToken::new(t.secret().clone())),
        }
    }
}

/// Whose sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Microsoft,
    Google,
}

impl Provider {
    /// The provider's name as people know it.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Microsoft => "Microsoft 365",
            Provider::Google => "Google",
        }
    }
}

/// IT's app registrations, from the preset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Apps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft: Option<MicrosoftApp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<GoogleApp>,
}

/// An Entra ID app registration (a public client with the device code flow allowed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftApp {
    pub client_id: String,
    /// `organizations`, a tenant id or a domain.
    #[serde(default = "organizations")]
    pub tenant: String,
    /// `https://login.microsoftonline.com` unless a national cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// The relay's app-only sign-in: its certificate (beside relay.toml), when it signs in
    /// with one (its key is in the relay's secret store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<std::path::PathBuf>,
    /// The relay's app-only sign-in with a client secret: the secret's end date (YYYY-MM-DD),
    /// as IT gave it, for `relay status` to warn ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires: Option<String>,
}

fn organizations() -> String {
    "organizations".into()
}

/// A Google Cloud OAuth client of type "Desktop app". Google's desktop clients carry a secret
/// that is not secret (it ships in every copy of the app), so it may sit in the preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleApp {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
}

impl MicrosoftApp {
    /// The identity platform's address (`https://login.microsoftonline.com` unless a national
    /// cloud or a local identity provider).
    pub fn authority(&self) -> &str {
        self.authority.as_deref().unwrap_or(MICROSOFT_AUTHORITY)
    }

    fn base(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0",
            self.authority().trim_end_matches('/'),
            self.tenant
        )
    }
    pub fn device_code_url(&self) -> String {
        format!("{}/devicecode", self.base())
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.base())
    }
}

impl GoogleApp {
    pub fn auth_url(&self) -> &str {
        self.auth_url.as_deref().unwrap_or(GOOGLE_AUTH_URL)
    }
    pub fn token_url(&self) -> &str {
        self.token_url.as_deref().unwrap_or(GOOGLE_TOKEN_URL)
    }
}

impl Apps {
    pub fn is_empty(&self) -> bool {
        self.microsoft.is_none() && self.google.is_none()
    }

    /// The providers IT registered an app for, Microsoft first.
    pub fn providers(&self) -> Vec<Provider> {
        let mut v = Vec::new();
        if self.microsoft.is_some() {
            v.push(Provider::Microsoft);
        }
        if self.google.is_some() {
            v.push(Provider::Google);
        }
        v
    }

    /// Checks the section the way `org check` reports it: ids present, tenant a plain name,
    /// endpoints `https://` (or `http://` to this computer only, for local identity providers).
    pub fn check(&self) -> Result<(), String> {
        if let Some(m) = &self.microsoft {
            if m.client_id.trim().is_empty() {
                return Err("[oauth.microsoft]: client_id is empty".into());
            }
            if m.tenant.is_empty()
                || !m
                    .tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
            {
                return Err(format!(
                    "[oauth.microsoft]: tenant \"{}\" must be organizations, a tenant id or a domain",
                    m.tenant
                ));
            }
            if let Some(a) = &m.authority {
                check_endpoint(a).map_err(|e| format!("[oauth.microsoft] authority: {e}"))?;
            }
        }
        if let Some(g) = &self.google {
            if g.client_id.trim().is_empty() {
                return Err("[oauth.google]: client_id is empty".into());
            }
            check_endpoint(g.auth_url()).map_err(|e| format!("[oauth.google] auth_url: {e}"))?;
            check_endpoint(g.token_url()).map_err(|e| format!("[oauth.google] token_url: {e}"))?;
        }
        Ok(())
    }
}

/// An identity provider's address must be `https://`; `http://` only to this computer
/// (`127.0.0.1` or `[::1]` with a port), where tests and local identity providers run.
pub fn check_endpoint(address: &str) -> Result<(), String> {
    let url =
        url::Url::parse(address).map_err(|_| format!("\"{address}\" is not a web address"))?;
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" => {
            let loopback = matches!(
                url.host(),
                Some(url::Host::Ipv4(ip)) if ip.is_loopback()
            ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
            if loopback && url.port().is_some() {
                Ok(())
            } else {
                Err(format!(
                    "\"{address}\" must start with https:// (http:// only for 127.0.0.1:PORT or [::1]:PORT)"
                ))
            }
        }
        _ => Err(format!("\"{address}\" must start with https://")),
    }
}

/// Why a sign-in did not give a token, in plain words (never a token or a code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error(
        "The sign-in was refused or cancelled on the sign-in page. Start again and sign in as the device account."
    )]
    Denied,
    #[error(
        "The code ran out before anyone signed in. Start again; the new code works for {0} minutes."
    )]
    Expired(u64),
    #[error("Nobody finished signing in within {0} minutes. Start again when you are ready.")]
    TimedOut(u64),
    #[error(
        "The sign-in service refused the sign-in app IT set up ({0}). Send IT the message below."
    )]
    AppRefused(String),
    #[error(
        "ScanMail could not reach the sign-in service at {host}: {reason}. Check that this computer is online, then try again."
    )]
    Network { host: String, reason: String },
    #[error(
        "The sign-in service answered: {0}. Try again. If it keeps happening, send IT the message below."
    )]
    Service(String),
    #[error("{0}")]
    Setup(String),
    #[error(
        "The sign-in has run out or was withdrawn (it ends after 90 days without use, or when IT withdraws it). Sign in again."
    )]
    Revoked,
    /// The provider refuses to renew the sign-in for a reason a new sign-in would meet too.
    #[error(
        "Microsoft refused the sign-in: {}. Signing in again will not help yet. Send IT the message below.",
        .0.what
    )]
    Blocked(blocked::Blocked),
}

impl SignInError {
    /// The exact message for IT, when only IT can fix it.
    pub fn for_it(&self, provider: &str, account: &str) -> Option<String> {
        match self {
            SignInError::AppRefused(code) => Some(format!(
                "ScanMail's {provider} sign-in for {account} was refused by the identity provider ({code}). Please check the app in ScanMail's organization preset ([oauth] client_id and tenant), and that it may ask for the permission to send mail."
            )),
            SignInError::Service(said) => Some(format!(
                "ScanMail's {provider} sign-in for {account} keeps failing. The sign-in service answered: {said}"
            )),
            SignInError::Setup(why) => Some(format!(
                "ScanMail's {provider} sign-in for {account} cannot start: {why} Please check the [oauth] section of ScanMail's organization preset (scanmail org show)."
            )),
            SignInError::Blocked(b) => Some(format!(
                "ScanMail's {provider} sign-in for {account} was refused ({}): {}. {}",
                b.code, b.what, b.fix
            )),
            _ => None,
        }
    }
}

/// Makes a server's error words safe to show: controls dropped, cut at 200 characters.
fn plain(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    match clean.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &clean[..i]),
        None => clean,
    }
}

/// Turns an OAuth error code from the identity provider into a [`SignInError`].
fn from_code(code: &str, description: Option<&str>) -> SignInError {
    match code {
        "access_denied" | "authorization_declined" => SignInError::Denied,
        "expired_token" => SignInError::Expired(15),
        "invalid_grant" => description
            .and_then(blocked::blocked)
            .map_or(SignInError::Revoked, SignInError::Blocked),
        "invalid_client" | "unauthorized_client" | "invalid_scope" => {
            SignInError::AppRefused(code.into())
        }
        _ => SignInError::Service(match description {
            Some(d) => plain(&format!("{code}: {d}")),
            None => plain(code),
        }),
    }
}

/// Turns the oauth2 crate's error (token or device-code endpoint) into a [`SignInError`].
fn from_request_error<T>(
    e: &oauth2::RequestTokenError<http::HttpError, oauth2::StandardErrorResponse<T>>,
) -> SignInError
where
    T: oauth2::ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
{
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => from_code(
            r.error().as_ref(),
            r.error_description().map(String::as_str),
        ),
        oauth2::RequestTokenError::Request(e) => SignInError::Network {
            host: e.host.clone(),
            reason: e.reason.clone(),
        },
        oauth2::RequestTokenError::Parse(_, _) => {
            SignInError::Service("an answer ScanMail could not read".into())
        }
        oauth2::RequestTokenError::Other(s) => SignInError::Service(plain(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocked_renewal_names_its_reason_and_its_fix_for_it() {
        let e = from_code(
            "invalid_grant",
            Some("AADSTS50057: The user account is disabled."),
        );
        assert!(matches!(e, SignInError::Blocked(_)), "{e:?}");
        assert!(e.to_string().contains("turned off") && e.to_string().contains("IT"));
        let it = e
            .for_it("Microsoft 365", "scanner@contoso.example")
            .unwrap();
        assert!(
            it.contains("(AADSTS50057)") && it.contains("unblock its sign-in"),
            "{it}"
        );
        // The rest of invalid_grant: sign in again.
        assert_eq!(
            from_code(
                "invalid_grant",
                Some("AADSTS700082: expired due to inactivity")
            ),
            SignInError::Revoked
        );
        assert_eq!(from_code("invalid_grant", None), SignInError::Revoked);
    }

    #[test]
    fn a_lifetime_of_any_size_is_held_to_a_day() {
        let now = crate::time::now_unix();
        assert!(expires_at(Some(u64::MAX)) <= now + 86_400 + 5);
        assert!(expires_at(Some(i64::MAX as u64 - 1)) <= now + 86_400 + 5);
        assert!(expires_at(Some(0)) >= now + 60);
        let hour = expires_at(None) - now;
        assert!((3595..=3605).contains(&hour), "{hour}");
    }

    #[test]
    fn endpoints_must_be_https_or_this_computer() {
        for ok in [
            "https://login.microsoftonline.com",
            "https://idp.example.edu/token",
            "http://127.0.0.1:8080/token",
            "http://[::1]:9000",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://login.microsoftonline.com",
            "http://127.0.0.1/token",
            "http://localhost:8080",
            "http://10.0.0.5:8080",
            "ftp://x",
            "login.microsoftonline.com",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn microsoft_addresses_follow_the_tenant_and_authority() {
        let m = MicrosoftApp {
            client_id: "id".into(),
            tenant: "contoso.edu".into(),
            authority: Some("https://login.microsoftonline.us/".into()),
            certificate: None,
            client_secret_expires: None,
        };
        assert_eq!(
            m.device_code_url(),
            "https://login.microsoftonline.us/contoso.edu/oauth2/v2.0/devicecode"
        );
        assert!(m.token_url().ends_with("/contoso.edu/oauth2/v2.0/token"));
    }

    #[test]
    fn the_section_is_checked() {
        let parse = |t: &str| toml::from_str::<Apps>(t).map_err(|e| e.to_string());
        let apps = parse("[microsoft]\nclient_id = \"abc\"\n").unwrap();
        assert_eq!(apps.microsoft.as_ref().unwrap().tenant, "organizations");
        assert_eq!(apps.check(), Ok(()));
        let apps = parse("[microsoft]\nclient_id = \"abc\"\ntenant = \"a/b\"\n").unwrap();
        assert!(apps.check().unwrap_err().contains("tenant"));
        let apps = parse("[google]\nclient_id = \"g\"\ntoken_url = \"http://idp.example.edu/t\"\n")
            .unwrap();
        assert!(apps.check().unwrap_err().contains("token_url"));
        assert!(parse("[google]\nclient_id = \"g\"\nsecret = \"x\"\n").is_err());
    }

    #[test]
    fn provider_errors_are_plain_words() {
        assert_eq!(from_code("access_denied", None), SignInError::Denied);
        assert!(matches!(
            from_code("invalid_client", Some("AADSTS7000218")),
            SignInError::AppRefused(_)
        ));
        let long = "x".repeat(500);
        let SignInError::Service(s) = from_code("server_error", Some(&format!("\u{1b}[2J{long}")))
        else {
            panic!("a service error");
        };
        assert!(!s.contains('\u{1b}') && s.len() < 220, "{s}");
    }
}
