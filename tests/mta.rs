//! `scanmail check` against real mail software: Debian's Postfix with Dovecot SASL on loopback,
//! started by tests/mta/start.sh (CI always starts it). Without SCANMAIL_MTA_HOST these tests say
//! why and pass, so `cargo test` alone works on a fresh machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Mta {
    host: String,
    ssl_port: String,
    starttls_port: String,
    ca: String,
    user: String,
    password: String,
    maildir: PathBuf,
}

fn mta(test: &str) -> Option<Mta> {
    let Ok(host) = std::env::var("SCANMAIL_MTA_HOST") else {
        println!(
            "skipping {test}: SCANMAIL_MTA_HOST is unset (run tests/mta/start.sh and source its env file)"
        );
        return None;
    };
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| panic!("{k} is unset but SCANMAIL_MTA_HOST is set"))
    };
    let password = std::fs::read_to_string(var("SCANMAIL_MTA_PASSWORD_FILE"))
        .unwrap()
        .trim()
        .to_string();
    Some(Mta {
        host,
        ssl_port: var("SCANMAIL_MTA_SSL_PORT"),
        starttls_port: var("SCANMAIL_MTA_STARTTLS_PORT"),
        ca: var("SCANMAIL_MTA_CA"),
        user: var("SCANMAIL_MTA_USER"),
        password,
        maildir: PathBuf::from(var("SCANMAIL_MTA_MAILDIR")),
    })
}

/// Runs `scanmail check` with the account's flags, `args`, `--json` and the password in the
/// environment; returns the output and the parsed JSON.
fn scanmail(m: &Mta, password: &str, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_scanmail"))
        .args([
            "check",
            "--user",
            &m.user,
            "--password-env",
            "SM_MTA_PW",
            "--json",
        ])
        .args(args)
        .env("SM_MTA_PW", password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!stdout.contains(password), "password in output");
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out, v)
}

#[test]
fn report_writes_both_ports() {
    let Some(m) = mta("report_writes_both_ports") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("scanmail-mta-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["report.txt", "report.html"] {
        let file = dir.join(name).to_string_lossy().into_owned();
        let (out, v) = check_with(&m, &m.password, &["--login-only", "--report", &file]);
        assert_eq!(out.status.code(), Some(0), "{v:#}");
        let report = std::fs::read_to_string(&file).unwrap();
        for want in [
            "Port 465 with SSL/TLS: works",
            "Port 587 with STARTTLS: works",
            "C: AUTH PLAIN &lt;hidden&gt;",
            "Verdict: works",
        ] {
            let want = if name.ends_with(".txt") {
                want.replace("&lt;", "<").replace("&gt;", ">")
            } else {
                want.to_string()
            };
            assert!(
                report.contains(&want),
                "{want} missing in {name}:\n{report}"
            );
        }
        assert!(!report.contains(&m.password));
        assert_eq!(
            name.ends_with(".html"),
            report.starts_with("<!DOCTYPE html>")
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The usual check against the test server: both ports, its CA trusted, plus `more`.
fn check_with(m: &Mta, password: &str, more: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec![
        "--server",
        &m.host,
        "--ca-file",
        &m.ca,
        "--ssl-port",
        &m.ssl_port,
        "--starttls-port",
        &m.starttls_port,
    ];
    args.extend_from_slice(more);
    scanmail(m, password, &args)
}

fn check(m: &Mta, password: &str) -> (Output, serde_json::Value) {
    check_with(m, password, &[])
}

/// Messages in the Maildir whose text contains `token`, waiting up to 10 s for `count` of them.
fn delivered(maildir: &std::path::Path, token: &str, count: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Vec<String> = std::fs::read_dir(maildir.join("new"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter(|t| t.contains(token))
            .collect();
        if found.len() >= count || Instant::now() > until {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn both_ports_work_and_the_messages_land() {
    let Some(m) = mta("both_ports_work_and_the_messages_land") else {
        return;
    };
    let (out, v) = check(&m, &m.password);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["works"], true, "{r:#}");
        assert_eq!(r["sent"], true);
        assert!(
            r["reply"]
                .as_str()
                .unwrap()
                .starts_with("250 2.0.0 Ok: queued"),
            "{r:#}"
        );
        assert!(r["tls"]["version"].as_str().unwrap().starts_with("TLSv1."));
        let t = support::transcript(r);
        for want in [
            "S: 220 ",
            "C: EHLO ",
            "S: 250-",
            "C: AUTH PLAIN <hidden>",
            "S: 235 ",
        ] {
            assert!(t.iter().any(|l| l.starts_with(want)), "{want} in {t:#?}");
        }
        assert!(t.iter().any(|l| l.starts_with("C: <message, ")), "{t:#?}");
        assert!(t.iter().all(|l| !l.contains(&m.password)));
    }
    assert_eq!(v["recommended"]["security"], "ssl");
    assert_eq!(v["summary"]["outcome"], "works");
    assert_eq!(v["summary"]["headline"], "Use port 465 with SSL/TLS.");
    let token = format!("[{}]", v["token"].as_str().unwrap());
    let mails = delivered(&m.maildir, &token, 2);
    assert_eq!(
        mails.len(),
        2,
        "both test messages should land in the mailbox"
    );
    assert!(mails.iter().any(|t| t.contains("with SSL/TLS security")));
    assert!(mails.iter().any(|t| t.contains("with STARTTLS security")));
    for t in &mails {
        assert!(t.contains(&format!("From: {}", m.user)));
        assert!(t.contains("Message-ID: <scanmail."));
    }
}

#[test]
fn a_wrong_password_is_auth_rejected_on_both_ports() {
    let Some(m) = mta("a_wrong_password_is_auth_rejected_on_both_ports") else {
        return;
    };
    let (out, v) = check(&m, "not-the-password-4471");
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["problem"], "auth-rejected", "{r:#}");
        assert_eq!(r["stage"], "auth");
        assert!(
            r["reply"].as_str().unwrap().starts_with("535 5.7.8"),
            "{r:#}"
        );
        assert!(!r["advice"]["what_to_do"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_closed_port_is_connection_refused() {
    let Some(m) = mta("a_closed_port_is_connection_refused") else {
        return;
    };
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let (out, v) = scanmail(
        &m,
        &m.password,
        &[
            "--server",
            "127.0.0.1",
            "--ca-file",
            &m.ca,
            "--ssl-port",
            &closed,
            "--skip-starttls",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["results"][0]["problem"], "connection-refused");
    assert_eq!(v["results"][0]["stage"], "connect");
}

#[test]
fn without_the_ca_the_certificate_is_untrusted_and_no_password_is_sent() {
    let Some(m) = mta("without_the_ca_the_certificate_is_untrusted") else {
        return;
    };
    // No --ca-file: the test CA is not trusted, so neither port may sign in.
    let (out, v) = scanmail(
        &m,
        &m.password,
        &[
            "--server",
            &m.host,
            "--ssl-port",
            &m.ssl_port,
            "--starttls-port",
            &m.starttls_port,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["results"][0]["problem"], "tls-certificate-untrusted");
    assert_eq!(v["results"][0]["stage"], "tls");
    assert_eq!(v["results"][1]["problem"], "tls-certificate-untrusted");
    assert_eq!(v["results"][1]["stage"], "starttls");
}
