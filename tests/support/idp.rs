//! A local identity provider on 127.0.0.1 for the OAuth tests: Microsoft's device code and token
//! endpoints (`/{tenant}/oauth2/v2.0/devicecode`, `/token`), and Google's authorization
//! endpoint (redirects to the loopback address with a code) and token endpoint (PKCE checked).
//! It issues [`super::TOKEN`], the token the scripted SMTP peer accepts.

use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "scanmail-test-client";
pub const GOOGLE_SECRET: &str = "not-really-secret";
pub const USER_CODE: &str = "BCDF-GHJK";
/// Never handed to anyone: a refresh token ScanMail must drop.
pub const REFRESH: &str = "rt-CANARY-refresh-93ab";
/// The tenant id that `test.example.edu` (and `example.edu`) resolve to.
pub const TENANT_ID: &str = "0b5e3c1d-1111-4222-8333-444455556666";
/// The relay's app (app-only sign-in), its client secret, and the token it gets.
pub const APP_CLIENT_ID: &str = "7d1c2b3a-0000-4000-8000-0000000000a1";
pub const APP_SECRET: &str = "app-secret-CANARY-71f";
pub const APP_TOKEN: &str = "eyJ0eXAi.app-only-CANARY.token";

/// How the device sign-in ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Approved after this many polls that said "authorization_pending".
    ApproveAfter(usize),
    /// The person refused on the sign-in page.
    Deny,
}

#[derive(Debug, Default)]
pub struct Seen {
    /// When each device-code token poll arrived.
    pub polls: Vec<Instant>,
    /// Every request line, for the record.
    pub requests: Vec<String>,
    /// Google: the PKCE challenge and redirect for each code handed out.
    pub codes: HashMap<String, (String, String)>,
    /// Token requests refused, and why.
    pub refused: Vec<String>,
}

/// The refresh-token grant: the refresh token that is valid now (each use rotates it: the old one
/// stops working), the access tokens' life, whether IT withdrew the sign-in, and the uses.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub current: String,
    pub expires_in: u64,
    pub revoked: bool,
    /// Microsoft's words for a refusal to renew (an AADSTS number first), instead of a token.
    pub refusal: Option<String>,
    pub used: Vec<String>,
}

impl Default for Refresh {
    fn default() -> Self {
        Self {
            current: REFRESH.into(),
            expires_in: 3599,
            revoked: false,
            refusal: None,
            used: Vec::new(),
        }
    }
}

/// The app-only sign-in as the identity provider sees it: the certificates uploaded to the app
/// (DER), the assertions' ids seen (replays are refused), an error to give every request
/// instead (an AADSTS number and words), whether the client secret has run out, and what was
/// asked (scopes, algorithms).
#[derive(Debug, Default)]
pub struct AppSide {
    pub certificates: Vec<Vec<u8>>,
    pub seen_jti: Vec<String>,
    pub force: Option<(u32, String)>,
    pub secret_expired: bool,
    /// Only RS256 with x5t is taken (a tenant that refuses PS256).
    pub rs256_only: bool,
    pub scopes: Vec<String>,
    pub algs: Vec<String>,
    pub tokens_given: usize,
    /// Give a new token each time ("<APP_TOKEN>-n"), so an expired one can be told apart.
    pub distinct_tokens: bool,
}

/// What the device-code endpoint answers instead of the usual (a hostile or broken provider):
/// the sign-in page's address, the polling interval and the code's life, in seconds.
pub type DeviceAnswer = Arc<Mutex<Option<(String, u64, u64)>>>;

pub struct Idp {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
    pub device_answer: DeviceAnswer,
    pub refresh: Arc<Mutex<Refresh>>,
    pub app: Arc<Mutex<AppSide>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Idp {
    pub async fn start(outcome: Outcome) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        let device_answer = DeviceAnswer::default();
        let answer = device_answer.clone();
        let refresh = Arc::new(Mutex::new(Refresh::default()));
        let refresh2 = refresh.clone();
        let app = Arc::new(Mutex::new(AppSide::default()));
        let app2 = app.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (seen, answer, refresh) = (seen2.clone(), answer.clone(), refresh2.clone());
                let app = app2.clone();
                tokio::spawn(async move {
                    let _ = serve(tcp, port, outcome, seen, answer, refresh, app).await;
                });
            }
        });
        Idp {
            port,
            seen,
            device_answer,
            refresh,
            app,
            task,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A preset that points both providers' apps at this identity provider.
    pub fn preset(&self) -> String {
        format!(
            "organization = \"Test University\"\nserver = \"127.0.0.1\"\nssl_port = 465\nstarttls_port = 587\n\n[oauth.microsoft]\nclient_id = \"{CLIENT_ID}\"\ntenant = \"test.example.edu\"\nauthority = \"{base}\"\n\n[oauth.google]\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{GOOGLE_SECRET}\"\nauth_url = \"{base}/auth\"\ntoken_url = \"{base}/token\"\n",
            base = self.base()
        )
    }
}

fn json(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn token_json() -> String {
    format!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3599,"scope":"https://outlook.office.com/SMTP.Send","refresh_token":"{REFRESH}"}}"#,
        super::TOKEN
    )
}

fn aadsts(status: &str, error: &str, code: u32, words: &str) -> String {
    json(
        status,
        &format!(
            r#"{{"error":"{error}","error_description":"AADSTS{code}: {words}","error_codes":[{code}]}}"#
        ),
    )
}

/// The client-credentials grant, as Microsoft's token endpoint checks it: the client, the
/// scope, and the assertion (its certificate uploaded to the app, its signature, audience, time
/// and id) or the client secret.
fn app_token(body: &HashMap<String, String>, port: u16, app: &Mutex<AppSide>) -> String {
    let mut a = app.lock().unwrap();
    let scope = body.get("scope").cloned().unwrap_or_default();
    a.scopes.push(scope.clone());
    if let Some((code, words)) = a.force.clone() {
        return aadsts("400 Bad Request", "invalid_client", code, &words);
    }
    if body.get("client_id").map(String::as_str) != Some(APP_CLIENT_ID) {
        return aadsts(
            "400 Bad Request",
            "unauthorized_client",
            700016,
            "Application with identifier was not found in the directory.",
        );
    }
    if scope != "https://outlook.office365.com/.default"
        && scope != "https://graph.microsoft.com/.default"
    {
        return aadsts(
            "400 Bad Request",
            "invalid_scope",
            70011,
            "The provided value for the input parameter 'scope' is not valid.",
        );
    }
    if let Some(secret) = body.get("client_secret") {
        if a.secret_expired {
            return aadsts(
                "401 Unauthorized",
                "invalid_client",
                7000222,
                "The provided client secret keys for app are expired.",
            );
        }
        if secret != APP_SECRET {
            return aadsts(
                "401 Unauthorized",
                "invalid_client",
                7000215,
                "Invalid client secret provided.",
            );
        }
    } else {
        let jwt = body.get("client_assertion").cloned().unwrap_or_default();
        if let Err((code, words)) = check_assertion(&jwt, port, &mut a) {
            return aadsts("401 Unauthorized", "invalid_client", code, &words);
        }
    }
    a.tokens_given += 1;
    let token = if a.distinct_tokens {
        format!("{APP_TOKEN}-{}", a.tokens_given)
    } else {
        APP_TOKEN.to_string()
    };
    json(
        "200 OK",
        &format!(
            r#"{{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"{token}"}}"#
        ),
    )
}

fn check_assertion(jwt: &str, port: u16, a: &mut AppSide) -> Result<(), (u32, String)> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bad = |w: &str| {
        (
            700027,
            format!("Client assertion failed signature validation. {w}"),
        )
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts.as_slice() else {
        return Err((50027, "JWT token is invalid or malformed.".into()));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(h).map_err(|_| bad("header"))?)
            .map_err(|_| bad("header"))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(c).map_err(|_| bad("claims"))?)
            .map_err(|_| bad("claims"))?;
    let sig = b64.decode(sig).map_err(|_| bad("signature"))?;
    let alg = header["alg"].as_str().unwrap_or("").to_string();
    a.algs.push(alg.clone());
    let (thumb, verify): (String, &'static dyn ring::signature::VerificationAlgorithm) =
        match alg.as_str() {
            "PS256" if !a.rs256_only => (
                header["x5t#S256"].as_str().unwrap_or("").to_string(),
                &ring::signature::RSA_PSS_2048_8192_SHA256,
            ),
            "RS256" => (
                header["x5t"].as_str().unwrap_or("").to_string(),
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ),
            _ => return Err(bad("The algorithm is not taken.")),
        };
    let cert = a
        .certificates
        .iter()
        .find(|der| {
            let s256 = b64.encode(ring::digest::digest(&ring::digest::SHA256, der));
            let s1 = b64.encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der));
            thumb == s256 || thumb == s1
        })
        .cloned()
        .ok_or_else(|| bad("The certificate with identifier used to sign the client assertion is not registered on application."))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).map_err(|_| bad("certificate"))?;
    let spki = parsed.public_key().subject_public_key.data.to_vec();
    ring::signature::UnparsedPublicKey::new(verify, &spki)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| bad("The signature does not match."))?;
    let aud = format!("http://127.0.0.1:{port}/{TENANT_ID}/oauth2/v2.0/token");
    if claims["aud"].as_str() != Some(aud.as_str()) {
        return Err((
            50027,
            "Invalid JWT token: the audience is not this token endpoint.".into(),
        ));
    }
    if claims["iss"].as_str() != Some(APP_CLIENT_ID)
        || claims["sub"].as_str() != Some(APP_CLIENT_ID)
    {
        return Err(bad("iss and sub must be the client id."));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let nbf = claims["nbf"].as_i64().unwrap_or(i64::MAX);
    if exp <= now || nbf > now + 300 || exp - nbf > 3600 {
        return Err((
            700024,
            "Client assertion is not within its valid time range.".into(),
        ));
    }
    let jti = claims["jti"].as_str().unwrap_or("").to_string();
    if jti.is_empty() || a.seen_jti.contains(&jti) {
        return Err((
            50027,
            "Invalid JWT token: the assertion was used before (jti).".into(),
        ));
    }
    a.seen_jti.push(jti);
    Ok(())
}

fn form(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

async fn serve(
    tcp: tokio::net::TcpStream,
    port: u16,
    outcome: Outcome,
    seen: Arc<Mutex<Seen>>,
    answer: DeviceAnswer,
    refresh: Arc<Mutex<Refresh>>,
    app: Arc<Mutex<AppSide>>,
) -> std::io::Result<()> {
    let mut rw = BufReader::new(tcp);
    let mut line = String::new();
    rw.read_line(&mut line).await?;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        rw.read_line(&mut h).await?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(65536)];
    rw.read_exact(&mut body).await?;
    let body = form(&String::from_utf8_lossy(&body));
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    seen.lock()
        .unwrap()
        .requests
        .push(format!("{method} {target}"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = form(query);
    let client_ok = body
        .get("client_id")
        .or(query.get("client_id"))
        .map(String::as_str)
        == Some(CLIENT_ID);
    let reply = match (method, path) {
        ("GET", p) if p.ends_with("/v2.0/.well-known/openid-configuration") => {
            let tenant = p.trim_start_matches('/').split('/').next().unwrap_or("");
            if [
                "test.example.edu",
                "example.edu",
                "contoso.example",
                TENANT_ID,
            ]
            .contains(&tenant)
            {
                json(
                    "200 OK",
                    &format!(
                        r#"{{"issuer":"https://login.microsoftonline.com/{TENANT_ID}/v2.0","token_endpoint":"http://127.0.0.1:{port}/{TENANT_ID}/oauth2/v2.0/token"}}"#
                    ),
                )
            } else {
                json(
                    "400 Bad Request",
                    &format!(
                        r#"{{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.","error_codes":[90002]}}"#
                    ),
                )
            }
        }
        ("POST", p)
            if p == format!("/{TENANT_ID}/oauth2/v2.0/token")
                && body.get("grant_type").map(String::as_str) == Some("client_credentials") =>
        {
            app_token(&body, port, &app)
        }
        ("POST", "/test.example.edu/oauth2/v2.0/devicecode") => {
            let scope = body.get("scope").cloned().unwrap_or_default();
            if !client_ok {
                json("400 Bad Request", r#"{"error":"invalid_client"}"#)
            } else if !scope.contains("https://outlook.office.com/SMTP.Send") {
                json("400 Bad Request", r#"{"error":"invalid_scope"}"#)
            } else {
                let (uri, interval, expires) = answer.lock().unwrap().clone().unwrap_or((
                    format!("http://127.0.0.1:{port}/devicelogin"),
                    1,
                    900,
                ));
                json(
                    "200 OK",
                    &format!(
                        r#"{{"device_code":"dc-secret-1","user_code":"{USER_CODE}","verification_uri":"{uri}","expires_in":{expires},"interval":{interval},"message":"To sign in, use a web browser."}}"#
                    ),
                )
            }
        }
        ("POST", "/test.example.edu/oauth2/v2.0/token" | "/token")
            if body.get("grant_type").map(String::as_str) == Some("refresh_token") =>
        {
            let given = body.get("refresh_token").cloned().unwrap_or_default();
            let mut r = refresh.lock().unwrap();
            r.used.push(given.clone());
            if let Some(words) = r.refusal.clone() {
                json(
                    "400 Bad Request",
                    &serde_json::json!({"error": "invalid_grant", "error_description": words})
                        .to_string(),
                )
            } else if r.revoked || given != r.current || !client_ok {
                json(
                    "400 Bad Request",
                    r#"{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired or is invalid."}"#,
                )
            } else {
                // Rotation: a new refresh token, and the old one no longer works.
                r.current = format!("rt-rotated-{}", r.used.len());
                json(
                    "200 OK",
                    &format!(
                        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{},"refresh_token":"{}"}}"#,
                        super::TOKEN,
                        r.expires_in,
                        r.current
                    ),
                )
            }
        }
        ("POST", "/test.example.edu/oauth2/v2.0/token") => {
            let mut s = seen.lock().unwrap();
            s.polls.push(Instant::now());
            let n = s.polls.len();
            drop(s);
            if !client_ok || body.get("device_code").map(String::as_str) != Some("dc-secret-1") {
                json("400 Bad Request", r#"{"error":"invalid_grant"}"#)
            } else {
                match outcome {
                    Outcome::Deny => json("400 Bad Request", r#"{"error":"access_denied"}"#),
                    Outcome::ApproveAfter(k) if n <= k => {
                        json("400 Bad Request", r#"{"error":"authorization_pending"}"#)
                    }
                    Outcome::ApproveAfter(_) => json("200 OK", &token_json()),
                }
            }
        }
        ("GET", "/auth") => {
            let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
            let ok = client_ok
                && redirect.starts_with("http://127.0.0.1:")
                && query.get("response_type").map(String::as_str) == Some("code")
                && query.get("scope").map(String::as_str) == Some("https://mail.google.com/")
                && query.get("code_challenge_method").map(String::as_str) == Some("S256");
            if ok {
                let code = format!("gc-{}", seen.lock().unwrap().codes.len() + 1);
                let challenge = query.get("code_challenge").cloned().unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .codes
                    .insert(code.clone(), (challenge, redirect.clone()));
                let state = query.get("state").cloned().unwrap_or_default();
                let to =
                    format!("{redirect}?state={state}&code={code}&scope=https://mail.google.com/");
                format!(
                    "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            } else {
                json("400 Bad Request", r#"{"error":"invalid_request"}"#)
            }
        }
        ("POST", "/token") => {
            let code = body.get("code").cloned().unwrap_or_default();
            let verifier = body.get("code_verifier").cloned().unwrap_or_default();
            let known = seen.lock().unwrap().codes.remove(&code);
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            let why = match known {
                None => Some("unknown or reused code"),
                Some((challenge, _)) if challenge != computed => {
                    Some("PKCE verifier does not match")
                }
                Some((_, redirect)) if body.get("redirect_uri") != Some(&redirect) => {
                    Some("redirect_uri differs")
                }
                _ if !client_ok
                    || body.get("client_secret").map(String::as_str) != Some(GOOGLE_SECRET) =>
                {
                    Some("client")
                }
                _ => None,
            };
            match why {
                None => json("200 OK", &token_json()),
                Some(why) => {
                    seen.lock().unwrap().refused.push(why.to_string());
                    json("400 Bad Request", r#"{"error":"invalid_grant"}"#)
                }
            }
        }
        _ => json("404 Not Found", "{}"),
    };
    let mut tcp = rw.into_inner();
    tcp.write_all(reply.as_bytes()).await?;
    tcp.shutdown().await
}
