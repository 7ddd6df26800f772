//! Trading a refresh token for a new access token (RFC 6749 section 6), for the relay that
//! keeps sending for months. Providers may rotate the refresh token: the answer's new one must
//! replace the old one. `invalid_grant` means the sign-in has run out or was withdrawn (90 days
//! without use at Microsoft, a password change, IT's revocation): sign in again.

use super::http::send;
use super::{Apps, MICROSOFT_SCOPE, Provider, SignInError, TokenSet, from_request_error};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, HttpRequest, RefreshToken, Scope, TokenUrl};

/// A new access token (and perhaps a new refresh token) for `refresh`.
pub async fn refresh(
    provider: Provider,
    apps: &Apps,
    refresh: &str,
) -> Result<TokenSet, SignInError> {
    refresh_for(provider, apps, refresh, &[MICROSOFT_SCOPE]).await
}

/// [`refresh`] for these Microsoft permissions (a relay sending through Graph asks for Graph's).
pub async fn refresh_for(
    provider: Provider,
    apps: &Apps,
    refresh: &str,
    microsoft_scopes: &[&str],
) -> Result<TokenSet, SignInError> {
    let http = |r: HttpRequest| send(r);
    let missing = || {
        SignInError::Setup(format!(
            "The relay has no {} sign-in app.",
            provider.label()
        ))
    };
    let token = RefreshToken::new(refresh.to_string());
    let answer = match provider {
        Provider::Microsoft => {
            let app = apps.microsoft.as_ref().ok_or_else(missing)?;
            if let Some(a) = &app.authority {
                super::check_endpoint(a).map_err(SignInError::Setup)?;
            }
            let client = BasicClient::new(ClientId::new(app.client_id.clone())).set_token_uri(
                TokenUrl::new(app.token_url())
                    .map_err(|_| SignInError::Setup("The token address is not valid.".into()))?,
            );
            client
                .exchange_refresh_token(&token)
                .add_scopes(
                    microsoft_scopes
                        .iter()
                        .map(|s| Scope::new((*s).to_string())),
                )
                .add_scope(Scope::new("offline_access".into()))
                .request_async(&http)
                .await
                .map_err(|e| from_request_error(&e))?
        }
        Provider::Google => {
            let app = apps.google.as_ref().ok_or_else(missing)?;
            super::loopback::client(app)?
                .exchange_refresh_token(&token)
                .request_async(&http)
                .await
                .map_err(|e| from_request_error(&e))?
        }
    };
    Ok(TokenSet::from_response(&answer))
}
