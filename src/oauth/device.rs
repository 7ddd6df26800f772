//! Microsoft 365: the device authorization grant (RFC 8628). ScanMail asks for a code, the
//! person opens Microsoft's page (on any device), types the code and signs in as the device
//! account; ScanMail polls the token endpoint no faster than the interval Microsoft gave.

use super::http::send;
use super::{AccessToken, MICROSOFT_SCOPE, MicrosoftApp, SignInError, from_request_error};
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, HttpRequest, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse, TokenUrl,
};
use std::time::Duration;

/// What the person needs to sign in: the code and where to type it.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    /// How long the code works.
    pub expires_in: Duration,
    /// How often ScanMail may ask whether the sign-in is done.
    pub interval: Duration,
    details: StandardDeviceAuthorizationResponse,
}

fn urls(app: &MicrosoftApp) -> Result<(DeviceAuthorizationUrl, TokenUrl), SignInError> {
    let setup = |what: &str| {
        SignInError::Setup(format!(
            "The organization preset's Microsoft sign-in address is not valid ({what}). Tell IT."
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

/// Asks Microsoft for a code to show.
pub async fn start(app: &MicrosoftApp) -> Result<DeviceCode, SignInError> {
    let (device_url, token_url) = urls(app)?;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url);
    let http = |r: HttpRequest| send(r);
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new(MICROSOFT_SCOPE.into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .map_err(|e| from_request_error(&e))?;
    Ok(DeviceCode {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        expires_in: details.expires_in(),
        interval: details.interval(),
        details,
    })
}

/// Waits for the person to finish signing in (polling at Microsoft's interval, slowing down
/// when asked), until the code runs out. Dropping the future cancels.
pub async fn finish(app: &MicrosoftApp, code: &DeviceCode) -> Result<AccessToken, SignInError> {
    let (device_url, token_url) = urls(app)?;
    let client = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_device_authorization_url(device_url)
        .set_token_uri(token_url);
    let http = |r: HttpRequest| send(r);
    let minutes = code.expires_in.as_secs().div_ceil(60);
    let token = client
        .exchange_device_access_token(&code.details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|e| match from_request_error(&e) {
            SignInError::Expired(_) => SignInError::Expired(minutes),
            other => other,
        })?;
    Ok(AccessToken::new(token.access_token().secret().clone()))
}
