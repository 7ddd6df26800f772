//! One request to Microsoft Graph, on ureq (rustls, the OS's certificates, no redirects), off
//! the async threads, with the rules every Graph call shares: 429 and 503 wait `Retry-After`
//! (while the copier would still wait), 401 asks for a new token once, and every other answer is
//! kept as Graph's own error code and words.

use std::time::Duration;

/// The longest the relay waits on Graph's throttling for one message (a copier waits for its
/// reply after the end of the message; most give up after a minute or two).
pub const MOST_WAIT: Duration = Duration::from_secs(20);

/// An answer: status, `Retry-After` (seconds), the `Location` header, the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Graph's error: its `code` and `message` (cleaned), or the status.
    pub fn error(&self) -> (String, String) {
        let v: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        let e = &v["error"];
        (
            crate::receive::clean(e["code"].as_str().unwrap_or(""), 80),
            crate::receive::clean(e["message"].as_str().unwrap_or(""), 300),
        )
    }
}

/// A request as Graph (or an upload session's address) takes it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub url: String,
    /// The bearer token; `None` for an upload session's address, which must get none.
    pub token: Option<crate::secrets::AccessToken>,
    pub content_type: Option<&'static str>,
    pub content_range: Option<String>,
    pub body: Vec<u8>,
}

/// One agent for every Graph call: its connections are kept and used again (a new TLS
/// handshake per request would cost a round trip or two each).
static AGENT: std::sync::LazyLock<ureq::Agent> = std::sync::LazyLock::new(agent);

fn agent() -> ureq::Agent {
    crate::oauth::http::agent_with(Duration::from_secs(15), Duration::from_secs(120))
}

/// Sends one request and reads its whole answer (at most 1 MB of body).
pub async fn send(call: Call) -> Result<Answer, String> {
    tokio::task::spawn_blocking(move || {
        crate::receive::contain::quietly(|| {
            let mut b = oauth2::http::Request::builder()
                .method(call.method)
                .uri(&call.url)
                .header("Accept", "application/json");
            if let Some(t) = &call.token {
                b = b.header("Authorization", format!("Bearer {}", t.expose()));
            }
            if let Some(ct) = call.content_type {
                b = b.header("Content-Type", ct);
            }
            if let Some(r) = &call.content_range {
                b = b.header("Content-Range", r.as_str());
            }
            let request = b
                .body(call.body)
                .map_err(|_| "the request could not be made".to_string())?;
            let response = AGENT.run(request).map_err(|e| match e {
                ureq::Error::Timeout(_) => "Microsoft Graph did not answer in time".to_string(),
                ureq::Error::Io(_) | ureq::Error::ConnectionFailed => {
                    "Microsoft Graph could not be reached".to_string()
                }
                ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
                    "Microsoft Graph's certificate was not trusted".to_string()
                }
                _ => "Microsoft Graph's answer could not be read".to_string(),
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let (_, mut body) = response.into_parts();
            let body = body
                .with_config()
                .limit(1024 * 1024)
                .read_to_vec()
                .unwrap_or_default();
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        })
    })
    .await
    .map_err(|_| "the request stopped".to_string())?
}
