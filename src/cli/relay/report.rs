//! `relay status` (how the relay stands) and `relay test` (a real message through it).

use super::super::BadInput;
use super::*;

pub(super) fn status_cmd(path: &Path, json: bool, out: &mut dyn Write) -> Result<i32, BadInput> {
    let cfg = load(path)?;
    let state =
        status::read_checked(&status::path_for(&relay::state_dir(&cfg, path))).map_err(BadInput)?;
    let r = status::report(&cfg, &state, crate::time::now_unix());
    if json {
        let _ = writeln!(out, "{}", crate::cli::json_text(&r, true)?);
        return Ok(0);
    }
    let _ = writeln!(
        out,
        "Relay: {} on {}",
        if r.running { "running" } else { "not running" },
        r.listening.join(", ")
    );
    if let Some(p) = &r.start_problem {
        let _ = writeln!(
            out,
            "  It could not start: {p}. Free that port, or change listen in {}; the service tries again by itself within a minute.",
            path.display()
        );
    } else if !r.running {
        let _ = writeln!(out, "  Start it: {}", super::start_command(path));
    }
    let u = &r.upstream;
    let through = if cfg.upstream.graph() {
        format!("Microsoft Graph as {}", u.account)
    } else {
        format!("{} as {}", cfg.upstream.server(), u.account)
    };
    let _ = writeln!(
        out,
        "Sends through {through}: {}",
        if u.signed_in {
            format!(
                "signed in{}",
                u.token_expires
                    .as_deref()
                    .map(|t| format!(
                        " (renewed while the relay runs; unused, until {})",
                        crate::time::local_words_from(t)
                    ))
                    .unwrap_or_default()
            )
        } else {
            "NOT signed in".into()
        }
    );
    if let Some(e) = &u.last_error {
        let _ = writeln!(out, "  Last problem: {e}");
    }
    if r.devices.is_empty() {
        let _ = writeln!(
            out,
            "No copiers yet. Add one: scanmail relay add-device NAME"
        );
    }
    for d in &r.devices {
        let _ = writeln!(
            out,
            "Copier {}: {} message(s), {} bytes{}",
            d.name,
            d.messages,
            d.bytes,
            d.last_message
                .as_deref()
                .map(|t| format!(", last {}", crate::time::local_words_from(t)))
                .unwrap_or_default()
        );
        if let Some(e) = &d.last_error {
            let _ = writeln!(out, "  Last problem: {e}");
        }
        if let Some(f) = &d.fix {
            let _ = writeln!(out, "  What to do: {f}");
        }
    }
    for d in &r.strangers {
        let _ = writeln!(
            out,
            "Refused from {}{}: {}",
            d.name,
            d.last_refused
                .as_deref()
                .map(|t| format!(" ({})", crate::time::local_words_from(t)))
                .unwrap_or_default(),
            d.last_error.as_deref().unwrap_or_default()
        );
        if let Some(f) = &d.fix {
            let _ = writeln!(out, "  If that is a copier: {f}");
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    Ok(0)
}

/// The login `relay test` uses for one message, added and removed around it.
const TEST_LOGIN: &str = "relay-test@scanmail.invalid";

/// `relay test`: the links from relay.toml to a real message, in order, stopping at the first
/// broken one (`--json`: `{"links": [{"name", "ok", "fix"}]}`).
pub(super) fn test(
    path: &Path,
    to: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    use relay::links::Link;
    let rt = runtime()?;
    let loaded = config::load(path);
    let mut links = rt.block_on(relay::links::walk(path, loaded.clone()));
    if links.iter().all(|l| l.ok)
        && let Ok(cfg) = &loaded
    {
        links.push(message_link(path, cfg, to)?);
    }
    if json {
        let v = serde_json::json!({ "links": links });
        let _ = writeln!(out, "{}", crate::cli::json_text(&v, false)?);
    } else {
        for l in &links {
            match &l.fix {
                None => {
                    let _ = writeln!(out, "  ok    {}: {}", l.name, l.proved);
                }
                Some(fix) => {
                    let _ = writeln!(out, "  FIX   {}: {fix}", l.name);
                }
            }
        }
        if links.iter().all(|l| l.ok) {
            let _ = writeln!(out, "Every link holds: the relay sends as it should.");
        }
    }
    Ok(if links.iter().all(|l: &Link| l.ok) {
        0
    } else {
        1
    })
}

/// The last link: a real message through the running relay, to the mailbox itself (or `to`).
fn message_link(
    path: &Path,
    cfg: &config::RelayConfig,
    to: Option<&str>,
) -> Result<relay::links::Link, BadInput> {
    use relay::links::Link;
    let state = status::read(&status::path_for(&relay::state_dir(cfg, path)));
    let report = status::report(cfg, &state, crate::time::now_unix());
    if !report.running {
        return Ok(Link::broken(
            "message",
            format!(
                "The relay is not running, so no message went through it. Start it ({}), then test again.",
                super::start_command(path)
            ),
        ));
    }
    if cfg.device(TEST_LOGIN).is_some() {
        let _ = remove_device(path, TEST_LOGIN, &mut std::io::sink());
    }
    // The test's own login works only from this computer and only to the test's recipient,
    // so one left behind by an interrupted test (it is removed at the next) opens nothing.
    let recipient = to.unwrap_or(cfg.upstream.account.trim()).to_string();
    let mut here = vec!["127.0.0.1".to_string(), "::1".to_string()];
    for (a, _) in cfg.listen_addrs().unwrap_or_default() {
        if !a.ip().is_unspecified() && !here.contains(&a.ip().to_string()) {
            here.push(a.ip().to_string());
        }
    }
    let mut sink = Vec::new();
    add_device(
        path,
        TEST_LOGIN,
        &here,
        std::slice::from_ref(&recipient),
        None,
        true,
        &mut sink,
    )?;
    let login: serde_json::Value = serde_json::from_slice(&sink).unwrap_or_default();
    let password = crate::secrets::AppPassword::new(login["password"].as_str().unwrap_or_default());
    let result = send_test(cfg, &state.listening, path, password, to);
    let _ = remove_device(path, TEST_LOGIN, &mut std::io::sink());
    let report = result?;
    Ok(if report.any_works() {
        Link::ok(
            "message",
            format!("a test message to {recipient} went through the relay"),
        )
    } else {
        let said = report
            .results
            .iter()
            .filter_map(|r| r.reply.as_ref().map(ToString::to_string))
            .next()
            .unwrap_or_default();
        // 454: the relay could not get a sign-in to pass the message on. Sign-in is the fix only
        // when the relay knows it is not signed in; else the provider's own reason is said.
        let state = status::read(&status::path_for(&relay::state_dir(cfg, path)));
        let busy = said.starts_with("454") && !state.upstream.signed_in;
        Link::broken(
            "message",
            if busy {
                let config = if path == config::path_or_default(None) {
                    String::new()
                } else {
                    format!(" --config \"{}\"", path.display())
                };
                format!(
                    "The relay is not signed in to the mail provider, so it could not pass the message on (it answered 454). Sign it in: scanmail relay sign-in{config}. Then test again: scanmail relay test{config}"
                )
            } else {
                // The relay's own record of why (the provider's words), said here, not sent on.
                let why = state
                    .upstream
                    .last_error
                    .map(|e| format!(" The provider said: {e}"))
                    .unwrap_or_default();
                let said = if said.is_empty() {
                    "no answer".to_string()
                } else {
                    said
                };
                format!(
                    "The message did not go through the relay (it answered: {said}).{why} What each of the provider's answers means and what to change: docs/microsoft-365.md, \"What each Microsoft answer means\" (Microsoft 365), or the provider's own documentation."
                )
            },
        )
    })
}

pub(super) fn send_test(
    cfg: &config::RelayConfig,
    listening: &[String],
    path: &Path,
    password: crate::secrets::AppPassword,
    to: Option<&str>,
) -> Result<crate::smtp::Report, BadInput> {
    // Where the running relay really listens (port 0 in the file becomes a real port).
    let listen: Vec<(std::net::SocketAddr, bool)> = listening
        .iter()
        .filter_map(|l| {
            let (addr, kind) = l.split_once(' ')?;
            Some((addr.parse().ok()?, kind.contains("SSL/TLS")))
        })
        .collect();
    let listen = if listen.is_empty() {
        cfg.listen_addrs().map_err(BadInput)?
    } else {
        listen
    };
    let host = |a: &std::net::SocketAddr| {
        if a.ip().is_unspecified() {
            if a.is_ipv4() {
                "127.0.0.1".to_string()
            } else {
                "::1".to_string()
            }
        } else {
            a.ip().to_string()
        }
    };
    let plain = listen.iter().find(|(_, i)| !i);
    let implicit = listen.iter().find(|(_, i)| *i);
    let server = plain.or(implicit).map(|(a, _)| host(a)).unwrap_or_default();
    let mut req = crate::smtp::Request::new(&server, TEST_LOGIN, password);
    req.starttls_port = plain.map(|(a, _)| a.port());
    req.ssl_port = implicit.map(|(a, _)| a.port());
    req.recipient = Some(to.unwrap_or(cfg.upstream.account.trim()).to_string());
    req.surface = crate::smtp::Surface::CommandLine;
    req.timeout = std::time::Duration::from_secs(60);
    req.profile_name = Some("the relay's test".into());
    // The relay's own certificate, when ScanMail made it.
    let cert = match &cfg.certificate {
        Some(c) => relay::config_dir(path).join(c),
        None => relay::state_dir(cfg, path).join("relay-cert.pem"),
    };
    req.extra_ca_pem = std::fs::read(cert).ok();
    req.validate().map_err(|e| BadInput(e.to_string()))?;
    runtime()?
        .block_on(crate::smtp::test_send(&req))
        .map_err(|e| BadInput(e.to_string()))
}
