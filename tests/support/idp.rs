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
    pub used: Vec<String>,
}

impl Default for Refresh {
    fn default() -> Self {
        Self {
            current: REFRESH.into(),
            expires_in: 3599,
            revoked: false,
            used: Vec::new(),
        }
    }
}

/// What the device-code endpoint answers instead of the usual (a hostile or broken provider):
/// the sign-in page's address, the polling interval and the code's life, in seconds.
pub type DeviceAnswer = Arc<Mutex<Option<(String, u64, u64)>>>;

pub struct Idp {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
    pub device_answer: DeviceAnswer,
    pub refresh: Arc<Mutex<Refresh>>,
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
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (seen, answer, refresh) = (seen2.clone(), answer.clone(), refresh2.clone());
                tokio::spawn(async move {
                    let _ = serve(tcp, port, outcome, seen, answer, refresh).await;
                });
            }
        });
        Idp {
            port,
            seen,
            device_answer,
            refresh,
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
            if r.revoked || given != r.current || !client_ok {
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
