//! Microsoft 365: the device authorization grant (RFC 8628). ScanMail asks for a code, the
//! person opens Microsoft's page (on any device), types the code and signs in as the device
//! account; ScanMail polls the token endpoint no faster than the interval Microsoft gave.

use super::http::send;
use super::{AccessToken, MICROSOFT_SCOPE, MicrosoftApp, SignInError, from_request_error};
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, HttpRequest, Scope, StandardDeviceAuthorizationResponse,
    TokenUrl,
};
use std::time::Duration;

/// What the person needs to sign in: the code and where to type it.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    /// The address is https (or http to a loopback address with a port, for a local
    /// provider): only then does ScanMail open it. Anything else is shown as text, with a
    /// warning.
    pub openable: bool,
    /// How long the code works (at most [`MAX_WAIT`], whatever the provider said).
    pub expires_in: Duration,
    /// How often ScanMail may ask whether the sign-in is done (1 to 60 seconds).
    pub interval: Duration,
    details: StandardDeviceAuthorizationResponse,
}

/// The longest ScanMail waits for a sign-in, whatever `expires_in` the provider gave.
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

/// The polling interval held to 1..60 seconds (a provider's 0 would spin, its 3600 would hang).
pub fn clamp_interval(d: Duration) -> Duration {
    d.clamp(Duration::from_secs(1), Duration::from_secs(60))
}

fn urls(app: &MicrosoftApp) -> Result<(DeviceAuthorizationUrl, TokenUrl), SignInError> {
    let setup = |what: &str| {
        SignInError::Setup(format!(
            "The organization preset's Microsoft sign-in address is not valid ({what}). Send IT the message below."
        ))
    };
    if let Some(a) = &app.authority {
        super::check_endpoint(a).map_err(|e| setup(&e))?;
    }
    Ok((
        DeviceAuthorizationUrl::new(app.device_code_url()).map_err(|_| setup("devicecode"))?,
        TokenUrl::new(app.token_url()).map_err(|_| setup("token"))?,
    ))
}

/// Asks Microsoft for a code to show (the SMTP sending permission).
pub async fn start(app: &MicrosoftApp) -> Result<DeviceCode, SignInError> {
    start_for(app, &[MICROSOFT_SCOPE]).await
}

/// Asks Microsoft for a code to show, for these permissions.
pub async fn start_for(app: &MicrosoftApp, scopes: &[&str]) -> Result<DeviceCode, SignInError> {
    let (device_url, token_url) = urls(app)?;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url);
    let http = |r: HttpRequest| send(r);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_string())))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .map_err(|e| from_request_error(&e))?;
    let verification_uri = crate::receive::clean(details.verification_uri(), 2048);
    Ok(DeviceCode {
        user_code: crate::receive::clean(details.user_code().secret(), 64),
        openable: super::check_endpoint(&verification_uri).is_ok(),
        verification_uri,
        expires_in: details.expires_in().min(MAX_WAIT),
        interval: clamp_interval(details.interval()),
        details,
    })
}

/// Waits for the person to finish signing in (polling at Microsoft's interval, slowing down
/// when asked), until the code runs out. Dropping the future cancels.
pub async fn finish(app: &MicrosoftApp, code: &DeviceCode) -> Result<AccessToken, SignInError> {
    finish_tokens(app, code).await.map(|t| t.access)
}

/// [`finish`], keeping the refresh token and the access token's end (for the relay).
pub async fn finish_tokens(
    app: &MicrosoftApp,
    code: &DeviceCode,
) -> Result<super::TokenSet, SignInError> {
    let (device_url, token_url) = urls(app)?;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url);
    let http = |r: HttpRequest| send(r);
    let minutes = code.expires_in.as_secs().div_ceil(60);
    // Each wait is held to 1..60 s (also after "slow_down"), the whole to the code's life.
    let sleep = |d: Duration| tokio::time::sleep(clamp_interval(d));
    let token = client
        .exchange_device_access_token(&code.details)
        .request_async(&http, sleep, Some(code.expires_in))
        .await
        .map_err(|e| match from_request_error(&e) {
            SignInError::Expired(_) => SignInError::Expired(minutes),
            other => other,
        })?;
    Ok(super::TokenSet::from_response(&token))
}
