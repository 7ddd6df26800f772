//! A Microsoft Graph look-alike on 127.0.0.1 for the relay's Graph tests: `sendMail` (MIME in
//! base64, or JSON), drafts, attachments, upload sessions (pieces in order, at most 4 MiB, the
//! upload address refused with a token), send and delete, as Graph documents them; and the
//! faults a tenant shows: throttling, outages, a refused or expired token, 403, 413, a refused
//! recipient, an upload that never ends.

use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The request limit Graph applies (4 MiB).
pub const REQUEST_MAX: usize = 4 * 1024 * 1024;

/// A message Graph took.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The MIME message (sendMail with text/plain).
    pub mime: Option<Vec<u8>>,
    /// Or the JSON message (a draft, or sendMail with JSON).
    pub json: Option<serde_json::Value>,
    /// The draft's attachments: name, content type, bytes.
    pub attachments: Vec<(String, String, Vec<u8>)>,
    pub save: bool,
}

#[derive(Debug, Default)]
pub struct GraphSide {
    /// Tokens taken; a token in `expired` gets 401.
    pub expired: Vec<String>,
    /// Expire the token after it was used this many times.
    pub expire_after: Option<usize>,
    pub uses: HashMap<String, usize>,
    /// Answer this many requests with 429 (Retry-After: 1).
    pub throttle: usize,
    /// Answer every request with 503 (Retry-After: 1).
    pub unavailable: bool,
    /// Answer with 403 and this code.
    pub forbidden: Option<String>,
    /// Refuse messages to this address (400 ErrorInvalidRecipients).
    pub bad_recipient: Option<String>,
    /// Hold every upload piece for 8 s and then close without an answer (the relay is stopped
    /// meanwhile).
    pub hang_uploads: bool,
    /// What the mailbox takes: a larger message is refused (ErrorMessageSizeExceeded).
    pub mailbox_limit: Option<usize>,
    pub drafts: HashMap<String, Sent>,
    pub sessions: HashMap<String, (String, String, String, usize, Vec<u8>)>,
    pub sent: Vec<Sent>,
    pub deleted: Vec<String>,
    pub requests: Vec<String>,
    /// Upload pieces that arrived with a token (must be none).
    pub uploads_with_token: usize,
    pub pieces: Vec<usize>,
    next: usize,
}

pub struct GraphPeer {
    pub port: u16,
    pub side: Arc<Mutex<GraphSide>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GraphPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GraphPeer {
    pub async fn start() -> GraphPeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let side = Arc::new(Mutex::new(GraphSide::default()));
        let s2 = side.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let side = s2.clone();
                tokio::spawn(async move {
                    let _ = serve(tcp, port, side).await;
                });
            }
        });
        GraphPeer { port, side, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn answer(status: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn error(status: &str, code: &str, message: &str) -> String {
    answer(
        status,
        "",
        &format!(
            r#"{{"error":{{"code":"{code}","message":"{message}","innerError":{{"request-id":"r1"}}}}}}"#
        ),
    )
}

fn addresses(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["emailAddress"]["address"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn serve(
    tcp: tokio::net::TcpStream,
    port: u16,
    side: Arc<Mutex<GraphSide>>,
) -> std::io::Result<()> {
    let _ = tcp.set_nodelay(true);
    let mut rw = BufReader::new(tcp);
    // Requests one after another on one connection (HTTP/1.1 keep-alive), as Graph serves them.
    loop {
        let mut line = String::new();
        if rw.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut headers: HashMap<String, String> = HashMap::new();
        loop {
            let mut h = String::new();
            if rw.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length.min(8 * 1024 * 1024)];
        rw.read_exact(&mut body).await?;
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = target.split('?').next().unwrap_or("").to_string();
        let hang = {
            let s = side.lock().unwrap();
            s.hang_uploads && method == "PUT"
        };
        if hang {
            // An upload that does not end: the relay is stopped meanwhile.
            tokio::time::sleep(std::time::Duration::from_secs(8)).await;
            return Ok(());
        }
        let reply = handle(method, &path, &headers, &body, port, &side);
        rw.get_mut().write_all(reply.as_bytes()).await?;
        rw.get_mut().flush().await?;
    }
}

fn handle(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
    port: u16,
    side: &Mutex<GraphSide>,
) -> String {
    let mut s = side.lock().unwrap();
    s.requests.push(format!("{method} {path}"));
    let b64 = base64::engine::general_purpose::STANDARD;
    if s.unavailable {
        return answer("503 Service Unavailable", "Retry-After: 1\r\n", "{}");
    }
    if s.throttle > 0 {
        s.throttle -= 1;
        return error(
            "429 Too Many Requests",
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
        );
    }
    // Upload pieces: the address is the authority; a token must not come with it.
    if let Some(sid) = path.strip_prefix("/upload/") {
        if headers.contains_key("authorization") {
            s.uploads_with_token += 1;
            return error(
                "401 Unauthorized",
                "InvalidAuthenticationToken",
                "The upload URL is called without a token.",
            );
        }
        if body.len() > REQUEST_MAX {
            return error(
                "413 Request Entity Too Large",
                "RequestBodyTooLarge",
                "The maximum request length supported is 4MB.",
            );
        }
        s.pieces.push(body.len());
        let range = headers.get("content-range").cloned().unwrap_or_default();
        let Some((draft, name, ctype, size, mut bytes)) = s.sessions.remove(sid) else {
            return error(
                "404 Not Found",
                "ErrorItemNotFound",
                "No such upload session.",
            );
        };
        let start: usize = range
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        if start != bytes.len() {
            return error(
                "416 Range Not Satisfiable",
                "InvalidRange",
                "Pieces must come in order.",
            );
        }
        bytes.extend_from_slice(body);
        if bytes.len() >= size {
            if let Some(d) = s.drafts.get_mut(&draft) {
                d.attachments.push((name, ctype, bytes));
            }
            return answer("201 Created", "Location: http://x/Attachments('a')\r\n", "");
        }
        let next = bytes.len();
        s.sessions
            .insert(sid.to_string(), (draft, name, ctype, size, bytes));
        return answer(
            "200 OK",
            "",
            &format!(
                r#"{{"ExpirationDateTime":"2030-01-01T00:00:00Z","nextExpectedRanges":["{next}-"]}}"#
            ),
        );
    }
    // Everything else needs the app's token.
    let token = headers
        .get("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let known = token.starts_with(super::idp::APP_TOKEN);
    let used = {
        let n = s.uses.entry(token.clone()).or_default();
        *n += 1;
        *n
    };
    if s.expire_after.is_some_and(|k| used > k) && !s.expired.contains(&token) {
        s.expired.push(token.clone());
    }
    if !known || s.expired.contains(&token) {
        return error(
            "401 Unauthorized",
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
    }
    if let Some(code) = s.forbidden.clone() {
        return error(
            "403 Forbidden",
            &code,
            "Access is denied. Check credentials and try again.",
        );
    }
    if body.len() > REQUEST_MAX {
        return error(
            "413 Request Entity Too Large",
            "RequestBodyTooLarge",
            "The maximum request length supported is 4MB.",
        );
    }
    let user = format!("/v1.0/users/{}", super::USER.replace('@', "%40"));
    let user_plain = format!("/v1.0/users/{}", super::USER);
    let rest = path
        .strip_prefix(&user)
        .or_else(|| path.strip_prefix(&user_plain));
    let Some(rest) = rest else {
        return error(
            "404 Not Found",
            "ErrorInvalidUser",
            "The requested user is invalid.",
        );
    };
    let bad = s.bad_recipient.clone();
    let refuses = |addrs: &[String]| bad.as_ref().is_some_and(|b| addrs.iter().any(|a| a == b));
    match (method, rest) {
        ("GET", "/mailFolders/drafts") => answer("200 OK", "", r#"{"id":"drafts"}"#),
        ("POST", "/sendMail") => {
            let sent = if headers
                .get("content-type")
                .is_some_and(|c| c.starts_with("text/plain"))
            {
                let Ok(mime) = b64.decode(body.trim_ascii()) else {
                    return error(
                        "400 Bad Request",
                        "ErrorMimeContentInvalidBase64String",
                        "Invalid base64 string for MIME content.",
                    );
                };
                let text = String::from_utf8_lossy(&mime).to_lowercase();
                if bad
                    .as_ref()
                    .is_some_and(|b| text.contains(&b.to_lowercase()))
                {
                    return error(
                        "400 Bad Request",
                        "ErrorInvalidRecipients",
                        "At least one recipient isn't valid.",
                    );
                }
                if s.mailbox_limit.is_some_and(|l| mime.len() > l) {
                    return error(
                        "400 Bad Request",
                        "ErrorMessageSizeExceeded",
                        "The message exceeds the maximum supported size.",
                    );
                }
                Sent {
                    mime: Some(mime),
                    save: true,
                    ..Sent::default()
                }
            } else {
                let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                let m = &v["message"];
                let all: Vec<String> = ["toRecipients", "ccRecipients", "bccRecipients"]
                    .iter()
                    .flat_map(|k| addresses(m, k))
                    .collect();
                if refuses(&all) {
                    return error(
                        "400 Bad Request",
                        "ErrorInvalidRecipients",
                        "At least one recipient isn't valid.",
                    );
                }
                let attachments = attachments_of(m);
                Sent {
                    json: Some(m.clone()),
                    attachments,
                    save: v["saveToSentItems"].as_bool().unwrap_or(true),
                    ..Sent::default()
                }
            };
            s.sent.push(sent);
            answer("202 Accepted", "", "")
        }
        ("POST", "/messages") => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            s.next += 1;
            let id = format!("AAMk-draft-{}", s.next);
            let attachments = attachments_of(&v);
            s.drafts.insert(
                id.clone(),
                Sent {
                    json: Some(v),
                    attachments,
                    save: true,
                    ..Sent::default()
                },
            );
            answer(
                "201 Created",
                "",
                &format!(r#"{{"id":"{id}","isDraft":true}}"#),
            )
        }
        ("DELETE", r) if r.starts_with("/messages/") => {
            let id = r.trim_start_matches("/messages/").to_string();
            s.drafts.remove(&id);
            s.deleted.push(id);
            answer("204 No Content", "", "")
        }
        ("POST", r) if r.starts_with("/messages/") => {
            let r = r.trim_start_matches("/messages/");
            let (id, what) = r.split_once('/').unwrap_or((r, ""));
            let id = id.to_string();
            if !s.drafts.contains_key(&id) {
                return error(
                    "404 Not Found",
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                );
            }
            match what {
                "attachments" => {
                    let x: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    let a = (
                        x["name"].as_str().unwrap_or("").to_string(),
                        x["contentType"].as_str().unwrap_or("").to_string(),
                        b64.decode(x["contentBytes"].as_str().unwrap_or(""))
                            .unwrap_or_default(),
                    );
                    s.drafts.get_mut(&id).unwrap().attachments.push(a);
                    answer("201 Created", "", r#"{"id":"att"}"#)
                }
                "attachments/createUploadSession" => {
                    let x: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    let item = &x["AttachmentItem"];
                    let size = item["size"].as_u64().unwrap_or(0) as usize;
                    if size < 3_000_000 {
                        return error(
                            "400 Bad Request",
                            "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                            "Attachment size is less than the minimum size.",
                        );
                    }
                    s.next += 1;
                    let sid = format!("s{}", s.next);
                    s.sessions.insert(
                        sid.clone(),
                        (
                            id,
                            item["name"].as_str().unwrap_or("").to_string(),
                            item["contentType"].as_str().unwrap_or("").to_string(),
                            size,
                            Vec::new(),
                        ),
                    );
                    answer(
                        "201 Created",
                        "",
                        &format!(
                            r#"{{"uploadUrl":"http://127.0.0.1:{port}/upload/{sid}","expirationDateTime":"2030-01-01T00:00:00Z","nextExpectedRanges":["0-"]}}"#
                        ),
                    )
                }
                "send" => {
                    let size: usize = s.drafts[&id].attachments.iter().map(|a| a.2.len()).sum();
                    if s.mailbox_limit.is_some_and(|l| size > l) {
                        return error(
                            "400 Bad Request",
                            "ErrorMessageSizeExceeded",
                            "The message exceeds the maximum supported size.",
                        );
                    }
                    let d = s.drafts.remove(&id).unwrap();
                    let json = d.json.clone().unwrap_or_default();
                    let all: Vec<String> = ["toRecipients", "ccRecipients", "bccRecipients"]
                        .iter()
                        .flat_map(|k| addresses(&json, k))
                        .collect();
                    if refuses(&all) {
                        s.drafts.insert(id, d);
                        return error(
                            "400 Bad Request",
                            "ErrorInvalidRecipients",
                            "At least one recipient isn't valid.",
                        );
                    }
                    s.sent.push(d);
                    answer("202 Accepted", "", "")
                }
                _ => error("400 Bad Request", "BadRequest", "Unknown."),
            }
        }
        _ => error("400 Bad Request", "BadRequest", "Unknown request."),
    }
}

/// The addresses a sent message's JSON names for `key` (toRecipients, ...).
pub fn recipients_of(sent: &Sent, key: &str) -> Vec<String> {
    sent.json
        .as_ref()
        .map(|j| addresses(j, key))
        .unwrap_or_default()
}

/// The attachments of a message in Graph's JSON form: name, content type, decoded bytes.
fn attachments_of(m: &serde_json::Value) -> Vec<(String, String, Vec<u8>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    m["attachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["name"].as_str().unwrap_or("").to_string(),
                        x["contentType"].as_str().unwrap_or("").to_string(),
                        base64::Engine::decode(&b64, x["contentBytes"].as_str().unwrap_or(""))
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
