//! Google: the authorization code grant with PKCE and a loopback redirect (Google's "installed
//! app" flow). ScanMail listens on 127.0.0.1 at a random port, opens the browser at Google's
//! page, accepts the one redirect that carries its own `state`, and trades the code (with the
//! PKCE verifier) for a token.

use super::http::send;
use super::{AccessToken, GOOGLE_SCOPE, GoogleApp, SignInError, from_request_error};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenUrl,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A sign-in waiting for the browser to come back.
pub struct Pending {
    /// The address to open in the browser.
    pub url: String,
    listener: tokio::net::TcpListener,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    redirect: RedirectUrl,
}

fn setup(what: &str) -> SignInError {
    SignInError::Setup(format!(
        "The organization preset's Google sign-in is not set up right ({what}). Send IT the message below."
    ))
}

pub(super) fn client(
    app: &GoogleApp,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    SignInError,
> {
    super::check_endpoint(app.auth_url()).map_err(|e| setup(&e))?;
    super::check_endpoint(app.token_url()).map_err(|e| setup(&e))?;
    let mut c = BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(app.auth_url().into()).map_err(|_| setup("auth_url"))?)
        .set_token_uri(TokenUrl::new(app.token_url().into()).map_err(|_| setup("token_url"))?);
    if !app.client_secret.is_empty() {
        c = c.set_client_secret(ClientSecret::new(app.client_secret.clone()));
    }
    Ok(c)
}

/// Starts listening on 127.0.0.1 and makes the sign-in address (with the account as a hint).
pub async fn start(app: &GoogleApp, account: &str) -> Result<Pending, SignInError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| {
            SignInError::Setup(format!(
                "ScanMail could not wait for the browser on this computer ({}). Try again.",
                crate::fsutil::plain_io(&e)
            ))
        })?;
    let port = listener
        .local_addr()
        .map_err(|_| setup("loopback port"))?
        .port();
    let redirect =
        RedirectUrl::new(format!("http://127.0.0.1:{port}/")).map_err(|_| setup("redirect"))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = client(app)?.set_redirect_uri(redirect.clone());
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new(GOOGLE_SCOPE.into()))
        .set_pkce_challenge(challenge);
    if !account.trim().is_empty() {
        request = request.add_extra_param("login_hint", account.trim().to_string());
    }
    let (url, state) = request.url();
    Ok(Pending {
        url: url.to_string(),
        listener,
        verifier,
        state,
        redirect,
    })
}

/// Waits (at most `limit`) for the browser to come back with a code, then trades it for a token.
pub async fn finish(
    app: &GoogleApp,
    pending: Pending,
    limit: Duration,
) -> Result<AccessToken, SignInError> {
    finish_tokens(app, pending, limit).await.map(|t| t.access)
}

/// [`finish`], keeping the refresh token and the access token's end (for the relay).
pub async fn finish_tokens(
    app: &GoogleApp,
    pending: Pending,
    limit: Duration,
) -> Result<super::TokenSet, SignInError> {
    let minutes = limit.as_secs().div_ceil(60);
    let code = tokio::time::timeout(limit, accept(&pending))
        .await
        .map_err(|_| SignInError::TimedOut(minutes))??;
    let client = client(app)?.set_redirect_uri(pending.redirect.clone());
    let http = |r: HttpRequest| send(r);
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(pending.verifier)
        .request_async(&http)
        .await
        .map_err(|e| from_request_error(&e))?;
    Ok(super::TokenSet::from_response(&token))
}

const DONE_PAGE: &str = "<!doctype html><meta charset=utf-8><title>ScanMail</title><p style=\"font:18px sans-serif\">Signed in. You can close this tab and go back to ScanMail.";
const CANCELLED_PAGE: &str = "<!doctype html><meta charset=utf-8><title>ScanMail</title><p style=\"font:18px sans-serif\">The sign-in was cancelled. Go back to ScanMail to try again.";

/// Accepts connections until one brings this sign-in's redirect; anything else (a favicon, a
/// stale or forged state) is answered 404 and ignored.
async fn accept(pending: &Pending) -> Result<String, SignInError> {
    loop {
        let Ok((mut tcp, _)) = pending.listener.accept().await else {
            continue;
        };
        let Ok(Ok(head)) = tokio::time::timeout(Duration::from_secs(10), read_head(&mut tcp)).await
        else {
            continue;
        };
        let target = head
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("GET "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or("");
        let query = target.strip_prefix("/?").unwrap_or("");
        let params: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        let ours = params.get("state").map(String::as_str) == Some(pending.state.secret());
        let answer = |status: &str, page: &str| {
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            )
        };
        match (ours, params.get("code"), params.get("error")) {
            (true, Some(code), _) => {
                let _ = tcp.write_all(answer("200 OK", DONE_PAGE).as_bytes()).await;
                return Ok(code.clone());
            }
            (true, None, Some(error)) => {
                let _ = tcp
                    .write_all(answer("200 OK", CANCELLED_PAGE).as_bytes())
                    .await;
                return Err(super::from_code(error, None));
            }
            _ => {
                let _ = tcp.write_all(answer("404 Not Found", "").as_bytes()).await;
            }
        }
    }
}

/// Reads an HTTP request head (up to 8 KB).
async fn read_head(tcp: &mut tokio::net::TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
