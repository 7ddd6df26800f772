//! After hello: what EHLO offered, signing in, the pipelined send, and QUIT.
//!
//! Round trips are the cost on a slow network, so none is spent that the server does not need:
//! AUTH PLAIN carries its answer in the command (an initial response), MAIL FROM, RCPT TO and
//! DATA go out in one write when the server offers PIPELINING (RFC 2920), and QUIT is sent
//! without waiting for its reply.

use super::conn::Conn;
use super::diagnose::{Problem, SendStep};
use super::failure::Failure;
use super::message::{self, TestMessage};
use super::probe::{PortState, Shared};
use super::reply::Reply;
use base64::Engine;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::Auth;
use std::time::Duration;

/// What EHLO said the server can do.
#[derive(Debug, Default)]
pub struct Caps {
    pub starttls: bool,
    pub pipelining: bool,
    pub auth: Vec<String>,
}

impl From<&Reply> for Caps {
    fn from(reply: &Reply) -> Self {
        let mut caps = Caps::default();
        for line in reply.lines.iter().skip(1) {
            let upper = line.trim().to_ascii_uppercase();
            let mut words = upper.split([' ', '=']);
            match words.next() {
                Some("STARTTLS") => caps.starttls = true,
                Some("PIPELINING") => caps.pipelining = true,
                Some("AUTH") => caps
                    .auth
                    .extend(words.filter(|w| !w.is_empty()).map(String::from)),
                _ => {}
            }
        }
        caps
    }
}

/// Signs in with PLAIN (one round trip: the credentials ride in the command), else LOGIN.
pub async fn authenticate(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    caps: &Caps,
    shared: &Shared<'_>,
) -> Result<(), Failure> {
    let req = shared.request;
    if let Some(token) = &req.token {
        return xoauth2(conn, st, caps, req.account.trim(), token).await;
    }
    let mechanism = if caps.auth.iter().any(|m| m == "PLAIN") {
        Mechanism::Plain
    } else if caps.auth.iter().any(|m| m == "LOGIN") {
        Mechanism::Login
    } else {
        let offered = if caps.auth.is_empty() {
            "none".to_string()
        } else {
            caps.auth.join(", ")
        };
        return Err(Failure::with(
            Problem::AuthNotOffered,
            format!("Sign-in methods offered: {offered}."),
        ));
    };
    let creds = Credentials::new(
        req.account.trim().to_string(),
        req.password.expose().to_string(),
    );
    let bad = || {
        Failure::with(
            Problem::ProtocolError,
            "The server's sign-in prompt could not be understood.",
        )
    };
    let mut line = Auth::new(mechanism, creds.clone(), None)
        .map_err(|_| bad())?
        .to_string();
    // PLAIN carries the credentials in its first line; LOGIN's first line is only the mechanism.
    let mut shown = match mechanism {
        Mechanism::Plain => "AUTH PLAIN <hidden>".to_string(),
        _ => line.trim_end().to_string(),
    };
    for _ in 0..3 {
        conn.write_hidden(&line, &shown)
            .await
            .map_err(|e| st.lost(e))?;
        let reply = conn.read_reply().await.map_err(|e| st.lost(e))?;
        shown = "<hidden>".into();
        if reply.code != 334 {
            st.expect(reply, &[235])?;
            return Ok(());
        }
        st.reply = Some(reply.clone());
        let challenge = reply.lines.first().map_or("", |l| l.trim());
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(challenge)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        line = Auth::new(mechanism, creds.clone(), Some(decoded))
            .map_err(|_| bad())?
            .to_string();
    }
    Err(Failure::with(
        Problem::ProtocolError,
        "The server kept asking for more sign-in steps.",
    ))
}

/// The SASL XOAUTH2 initial response: `user=<account>^Aauth=Bearer <token>^A^A`, in base64.
pub fn xoauth2_blob(account: &str, token: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("user={account}\x01auth=Bearer {token}\x01\x01"))
}

/// Signs in with an OAuth 2.0 access token (XOAUTH2, initial response). Gmail answers a refused
/// token with a 334 holding base64 JSON (`{"status":"400",...}`), which is answered with an
/// empty line before its 535; Microsoft answers 535 5.7.3 at once.
async fn xoauth2(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    caps: &Caps,
    account: &str,
    token: &crate::secrets::AccessToken,
) -> Result<(), Failure> {
    if !caps.auth.iter().any(|m| m == "XOAUTH2") {
        let offered = if caps.auth.is_empty() {
            "none".to_string()
        } else {
            caps.auth.join(", ")
        };
        return Err(Failure::with(
            Problem::OAuthNotOffered,
            format!("Sign-in methods offered: {offered}."),
        ));
    }
    let line = format!("AUTH XOAUTH2 {}\r\n", xoauth2_blob(account, token.expose()));
    conn.write_hidden(&line, "AUTH XOAUTH2 <hidden>")
        .await
        .map_err(|e| st.lost(e))?;
    let mut reply = conn.read_reply().await.map_err(|e| st.lost(e))?;
    let mut why = None;
    if reply.code == 334 {
        why = oauth_error(&reply);
        st.reply = Some(reply.clone());
        conn.write_hidden("\r\n", "(empty line: no more sign-in data)")
            .await
            .map_err(|e| st.lost(e))?;
        reply = conn.read_reply().await.map_err(|e| st.lost(e))?;
    }
    st.reply = Some(reply.clone());
    if reply.code == 235 {
        return Ok(());
    }
    let problem = match super::diagnose::classify_reply(st.stage, st.step, &reply) {
        Problem::AuthRejected
        | Problem::AppPasswordRequired
        | Problem::BasicAuthDisabled
        | Problem::WebLoginRequired => Problem::OAuthRejected,
        other => other,
    };
    Err(match why {
        Some(why) => Failure::with(problem, why),
        None => Failure::new(problem),
    })
}

/// What Gmail's 334 challenge says about a refused token, in a few words (its JSON has
/// `status` and `scope`; never the token).
fn oauth_error(reply: &Reply) -> Option<String> {
    let text = reply.lines.first()?.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let status = v.get("status").and_then(|s| s.as_str()).unwrap_or("?");
    let scope = v.get("scope").and_then(|s| s.as_str()).unwrap_or("");
    Some(format!(
        "The server said the token is not valid (status {status}{}).",
        if scope.is_empty() {
            String::new()
        } else {
            format!("; it needs the scope {scope}")
        }
    ))
}

/// Sends the test message. With PIPELINING, MAIL FROM, RCPT TO and DATA leave in one write and
/// their three replies are read in order, each checked on its own (the first refusal decides).
pub async fn send_message(
    conn: &mut Conn,
    st: &mut PortState<'_>,
    caps: &Caps,
    shared: &Shared<'_>,
) -> Result<(), Failure> {
    let req = shared.request;
    let account = req.account.trim();
    let recipient = req.recipient().trim();
    let envelope: [(SendStep, String, &[u16]); 3] = [
        (
            SendStep::MailFrom,
            format!("MAIL FROM:<{account}>\r\n"),
            &[250],
        ),
        (
            SendStep::RcptTo,
            format!("RCPT TO:<{recipient}>\r\n"),
            &[250, 251],
        ),
        (SendStep::Data, "DATA\r\n".to_string(), &[354]),
    ];
    if caps.pipelining {
        let batch: String = envelope.iter().map(|(_, line, _)| line.as_str()).collect();
        conn.write(&batch).await.map_err(|e| st.lost(e))?;
        for (step, _, ok) in &envelope {
            st.step = Some(*step);
            st.answer(conn, ok).await?;
        }
    } else {
        for (step, line, ok) in &envelope {
            st.step = Some(*step);
            st.ask(conn, line, ok).await?;
        }
    }
    st.step = Some(SendStep::Body);
    let raw = message::build(&TestMessage {
        account,
        recipient,
        server: req.server.trim(),
        port: st.port,
        security: st.security,
        token: &shared.token,
        profile: req.profile_name.as_deref(),
        when: &crate::time::utc_rfc3339(crate::time::now_unix()),
    })
    .ok_or_else(|| {
        Failure::with(
            Problem::SenderRejected,
            "The address could not be used in a message.",
        )
    })?;
    conn.write_message(&message::dot_stuff(&raw))
        .await
        .map_err(|e| st.lost(e))?;
    st.answer(conn, &[250]).await?;
    Ok(())
}

/// How long a server has to answer QUIT before the connection is closed anyway.
const QUIT_GRACE: Duration = Duration::from_millis(500);

/// Says goodbye off the critical path: QUIT is written now, and its reply is awaited (briefly)
/// by a task of its own, so the verdict never waits for it. A server that does not answer QUIT
/// does not change the verdict.
pub async fn quit(mut conn: Conn) {
    if conn.write("QUIT\r\n").await.is_err() {
        return;
    }
    tokio::spawn(async move {
        let _ = tokio::time::timeout(QUIT_GRACE, conn.read_reply()).await;
    });
}
