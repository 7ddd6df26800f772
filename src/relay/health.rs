//! Health that reaches people: every ten minutes the relay looks at its own state; each new
//! warning goes to the log (the service's log: journald, the macOS system log, the Windows
//! event log), and, when the organization's help desk has an email address, one
//! message a day goes to it, sent through the relay itself.

use super::bridge::{self, Shared};
use super::status;
use std::sync::Arc;
use std::time::Duration;

/// How often the relay looks.
pub const EVERY: Duration = Duration::from_secs(600);

/// Runs until the relay stops.
pub async fn watch(shared: Arc<Shared>) {
    let mut logged: Vec<String> = Vec::new();
    loop {
        let cfg = shared.current();
        let state = shared.status.get();
        let now = crate::time::now_unix();
        let warnings = status::warnings(&cfg, &state, now);
        for w in warnings.iter().filter(|w| !logged.contains(w)) {
            bridge::notice(bridge::Level::Warning, &format!("warning: {w}"));
        }
        logged.clone_from(&warnings);
        let today = crate::time::utc_rfc3339(now)[..10].to_string();
        if let Some(to) = cfg.help_desk_email.as_deref()
            && !warnings.is_empty()
            && state.health_mailed.as_deref() != Some(today.as_str())
        {
            match mail(&shared, &cfg.upstream.account, to, &warnings).await {
                Ok(()) => {
                    bridge::log("the help desk was told about the warnings (once a day)");
                    shared.status.update(|s| s.health_mailed = Some(today));
                }
                Err(e) => bridge::notice(
                    bridge::Level::Warning,
                    &format!("the help desk could not be told: {e}"),
                ),
            }
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// One message to the help desk through the provider, as the relay's account.
async fn mail(shared: &Shared, account: &str, to: &str, warnings: &[String]) -> Result<(), String> {
    let text = health_text(account.trim(), to, warnings);
    if let Some(g) = &shared.graph {
        return g
            .send(&shared.creds, text.into_bytes(), &[to.to_string()])
            .await
            .map_err(|e| e.words(account));
    }
    let credential = shared.creds.get().await?;
    let mut s = super::upstream::Session::open(&shared.route, &credential)
        .await
        .map_err(|e| e.words())?;
    let account = account.trim();
    let step = |r: Result<crate::receive::Reply, super::upstream::UpError>, want: u16| match r {
        Ok(r) if r.code == want || (want == 250 && r.is_positive()) => Ok(()),
        Ok(r) => Err(format!("the provider answered {r}")),
        Err(e) => Err(e.words()),
    };
    step(s.mail(account, None).await, 250)?;
    step(s.rcpt(to).await, 250)?;
    step(s.data().await, 354)?;
    let mut body = Vec::new();
    let mut stuffer = crate::receive::data::DotStuffer::default();
    stuffer.feed(text.as_bytes(), &mut body);
    stuffer.finish(&mut body);
    step(s.finish(&body).await, 250)?;
    s.quit().await;
    Ok(())
}

/// The help desk's message.
fn health_text(account: &str, to: &str, warnings: &[String]) -> String {
    let host = crate::smtp::connect::hello_name();
    let host = if host.is_empty() {
        "this computer".to_string()
    } else {
        host
    };
    let mut text = format!(
        "From: {account}\r\nTo: {to}\r\nSubject: The ScanMail relay on {host} needs a look\r\nDate: {}\r\nMessage-ID: <relay-health-{}@scanmail.invalid>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe ScanMail relay on {host} (sending as {account}) says:\r\n\r\n",
        chrono::Utc::now().to_rfc2822(),
        crate::time::now_unix()
    );
    for w in warnings {
        text += &format!("- {w}\r\n");
    }
    text += "\r\nSee it all with: scanmail relay status\r\nThis message comes at most once a day while something needs a look.\r\n";
    text
}
