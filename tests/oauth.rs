//! OAuth 2.0: the test send signing in with an access token (SASL XOAUTH2) against the scripted
//! peer playing Gmail and Microsoft 365, and the token kept out of every output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use scanmail::secrets::{AccessToken, AppPassword};
use scanmail::smtp::diagnose::Problem;
use scanmail::smtp::{Request, Stage, test_send};
use std::time::Duration;
use support::{Script, TOKEN, USER};

fn request(pki: &support::Pki, ssl: u16, starttls: u16, token: &str) -> Request {
    let mut r = Request::new("127.0.0.1", USER, AppPassword::default());
    r.token = Some(AccessToken::new(token));
    r.ssl_port = Some(ssl);
    r.starttls_port = Some(starttls);
    r.extra_ca_pem = Some(pki.ca_pem.as_bytes().to_vec());
    r.timeout = Duration::from_secs(5);
    r
}

/// Everything a person or a script could see of a report.
fn everything_shown(report: &scanmail::smtp::Report) -> String {
    format!(
        "{}\n{report:?}\n{}",
        serde_json::to_string(report).unwrap(),
        scanmail::report::text(
            report,
            &scanmail::report::About {
                organization: "Lab".into(),
                device: "Copier".into(),
            }
        )
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_token_works_on_both_ports_for_gmail_and_microsoft() {
    for script in [Script::gmail(), Script::microsoft()] {
        let (pki, ssl, st) = support::start_pair(script).await;
        let report = test_send(&request(&pki, ssl.port, st.port, TOKEN))
            .await
            .unwrap();
        for r in &report.results {
            assert!(r.works, "{r:#?}");
            assert!(
                r.transcript.iter().any(|l| l == "C: AUTH XOAUTH2 <hidden>"),
                "{:#?}",
                r.transcript
            );
        }
        for peer in [&ssl, &st] {
            let log = peer.log();
            assert_eq!(
                log.tokens,
                vec![(true, USER.to_string(), TOKEN.to_string())],
                "one sign-in, over TLS, with the account and the token"
            );
            assert!(log.passwords.is_empty(), "no password sign-in was tried");
            assert_eq!(log.messages.len(), 1, "the test message arrived");
        }
        assert!(!everything_shown(&report).contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_oauth_rejected_after_gmails_challenge_and_microsofts_535() {
    let canary = "ya29.EXPIRED-canary-51c2";
    // Gmail: 334 with base64 JSON, answered with an empty line, then 535.
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let report = test_send(&request(&pki, ssl.port, st.port, canary))
        .await
        .unwrap();
    for r in &report.results {
        assert_eq!(r.problem, Some(Problem::OAuthRejected), "{r:#?}");
        assert_eq!(r.stage, Stage::Auth);
        let detail = r.detail.as_deref().unwrap_or_default();
        assert!(detail.contains("status 400"), "{detail}");
        assert!(detail.contains("https://mail.google.com/"), "{detail}");
        assert!(r.reply.as_ref().unwrap().code == 535, "{r:#?}");
        let advice = r.advice.as_ref().unwrap();
        assert_eq!(advice.title, "The sign-in was not accepted");
        assert!(advice.for_it.as_deref().unwrap().contains("XOAUTH2"));
    }
    for peer in [&ssl, &st] {
        assert_eq!(peer.log().challenge_answers, vec!["\r\n".to_string()]);
    }
    assert!(!everything_shown(&report).contains(canary));

    // Microsoft: 535 5.7.3 at once.
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let report = test_send(&request(&pki, ssl.port, st.port, canary))
        .await
        .unwrap();
    for r in &report.results {
        assert_eq!(r.problem, Some(Problem::OAuthRejected), "{r:#?}");
        assert_eq!(r.reply.as_ref().unwrap().enhanced.as_deref(), Some("5.7.3"));
    }
    assert!(ssl.log().challenge_answers.is_empty());
    assert!(!everything_shown(&report).contains(canary));
}

#[test]
fn a_token_replaces_the_password_but_must_not_be_empty() {
    let mut r = Request::new("smtp.gmail.com", USER, AppPassword::default());
    assert_eq!(r.validate(), Err(scanmail::smtp::InputError::EmptyPassword));
    r.token = Some(AccessToken::new(TOKEN));
    assert_eq!(r.validate(), Ok(()));
    r.token = Some(AccessToken::new("  \n"));
    assert_eq!(r.validate(), Err(scanmail::smtp::InputError::EmptyToken));
    assert_eq!(
        format!("{:?}", AccessToken::new(TOKEN)),
        "AccessToken(<hidden>)"
    );
}

// ---- Signing in through the command line, against the local identity provider ----

use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use support::idp::{self, Idp, Outcome};

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

struct Setup {
    dir: std::path::PathBuf,
    preset: std::path::PathBuf,
    ca: std::path::PathBuf,
}

fn setup(tag: &str, idp: &Idp, pki: &support::Pki) -> Setup {
    let dir = std::env::temp_dir().join(format!("scanmail-oauth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let preset = dir.join("org.toml");
    std::fs::write(&preset, idp.preset()).unwrap();
    Setup {
        ca: pki.ca_file(&dir),
        preset,
        dir,
    }
}

fn check(s: &Setup, ssl: u16, st: u16, more: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["check", "--server", "127.0.0.1", "--user", USER, "--json"])
        .args([
            "--ssl-port",
            &ssl.to_string(),
            "--starttls-port",
            &st.to_string(),
        ])
        .arg("--ca-file")
        .arg(&s.ca)
        .args(more)
        .env("SCANMAIL_ORG", &s.preset)
        .env("SCANMAIL_CONFIG_DIR", s.dir.join("config"))
        .env("SCANMAIL_NO_BROWSER", "1");
    c
}

async fn run(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn no_secrets(text: &str) {
    for secret in [TOKEN, idp::REFRESH, "dc-secret-1"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn microsoft_device_code_sign_in_then_both_ports_work() {
    let idp = Idp::start(Outcome::ApproveAfter(2)).await;
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let s = setup("ms", &idp, &pki);
    let report = s.dir.join("report.html");
    let mut c = check(&s, ssl.port, st.port, &["--oauth", "microsoft"]);
    c.arg("--report").arg(&report);
    let out = run(c).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains(idp::USER_CODE), "{stderr}");
    assert!(
        stderr.contains(&format!("http://127.0.0.1:{}/devicelogin", idp.port)),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["auth"], "oauth");
    assert_eq!(v["results"][0]["works"], true, "{v:#}");
    assert_eq!(v["results"][1]["works"], true, "{v:#}");
    // Polled three times (two "pending", then the token), never faster than the 1 s interval.
    let polls = idp.seen.lock().unwrap().polls.clone();
    assert_eq!(polls.len(), 3);
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(950),
            "{:?}",
            pair[1] - pair[0]
        );
    }
    no_secrets(&stdout);
    no_secrets(&stderr);
    no_secrets(&std::fs::read_to_string(&report).unwrap());
    // Nor in any file ScanMail wrote (settings folder, report).
    let mut stack = vec![s.dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                no_secrets(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    std::fs::remove_dir_all(&s.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_device_sign_in_exits_1_with_the_reason() {
    let idp = Idp::start(Outcome::Deny).await;
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let s = setup("deny", &idp, &pki);
    let out = run(check(&s, ssl.port, st.port, &["--oauth", "microsoft"])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused or cancelled"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(ssl.log().connections, 0, "no test without a sign-in");
    std::fs::remove_dir_all(&s.dir).unwrap();
}

/// A browser: one GET, returns the status line, the Location header and the body.
fn get(url: &str) -> (String, Option<String>, String) {
    let u = url::Url::parse(url).unwrap();
    let mut tcp = std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    write!(
        tcp,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        u.authority()
    )
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    let status = text.lines().next().unwrap_or("").to_string();
    let location = text
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .map(str::to_string);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, location, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn google_browser_sign_in_with_pkce_and_a_loopback_redirect() {
    let idp = Idp::start(Outcome::ApproveAfter(0)).await;
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let s = setup("google", &idp, &pki);
    let mut c = check(&s, ssl.port, st.port, &["--oauth", "google"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let auth_prefix = format!("{}/auth?", idp.base());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        let url = loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "no address: {said}"
            );
            said.push_str(&line);
            if line.starts_with(&auth_prefix) {
                break line.trim().to_string();
            }
        };
        assert!(said.contains("Open this address to sign in:"), "{said}");
        // The browser: Google's page redirects to ScanMail's loopback address.
        let (status, location, _) = get(&url);
        assert!(status.contains("302"), "{status}");
        let location = location.unwrap();
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        // A redirect with another state (a stale tab, a forged link) is ignored.
        let base = location.split('?').next().unwrap();
        let (status, _, _) = get(&format!("{base}?state=forged&code=evil"));
        assert!(status.contains("404"), "{status}");
        let (status, _, body) = get(&location);
        assert!(status.contains("200"), "{status}");
        assert!(body.contains("Signed in"), "{body}");
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        let out = child.wait_with_output().unwrap();
        (out, said + &rest)
    })
    .await
    .unwrap();
    let (out, stderr) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["auth"], "oauth");
    assert!(
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["works"] == true),
        "{v:#}"
    );
    assert!(idp.seen.lock().unwrap().refused.is_empty());
    assert_eq!(ssl.log().tokens[0].2, TOKEN);
    no_secrets(&stdout);
    no_secrets(&stderr);
    std::fs::remove_dir_all(&s.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_environment_needs_no_sign_in() {
    let idp = Idp::start(Outcome::Deny).await;
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let s = setup("env", &idp, &pki);
    let mut c = check(&s, ssl.port, st.port, &["--token-env", "SM_TOKEN"]);
    c.env("SM_TOKEN", TOKEN);
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["auth"], "oauth");
    no_secrets(&stdout);
    assert!(idp.seen.lock().unwrap().requests.is_empty(), "no sign-in");
    // A wrong one: oauth-rejected, exit 1, the token nowhere.
    let mut c = check(
        &s,
        ssl.port,
        st.port,
        &["--token-env", "SM_TOKEN", "--skip-ssl"],
    );
    c.env("SM_TOKEN", "ya29.WRONG-canary");
    let out = run(c).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["results"][0]["problem"], "oauth-rejected");
    assert!(!stdout.contains("WRONG-canary"));
    // A password and a token at once: refused before anything happens.
    let mut c = check(
        &s,
        ssl.port,
        st.port,
        &["--token-env", "SM_TOKEN", "--password-env", "X"],
    );
    c.env("SM_TOKEN", TOKEN);
    assert_eq!(run(c).await.status.code(), Some(2));
    std::fs::remove_dir_all(&s.dir).unwrap();
}

#[test]
fn a_preset_with_a_plain_http_identity_provider_is_refused() {
    let dir = std::env::temp_dir().join(format!("scanmail-oauth-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let preset = dir.join("org.toml");
    std::fs::write(
        &preset,
        "organization = \"X\"\nserver = \"smtp.gmail.com\"\nssl_port = 465\n[oauth.google]\nclient_id = \"a\"\ntoken_url = \"http://idp.example.edu:80/token\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["org", "check"])
        .arg(&preset)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("must start with https://"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lookup_says_how_a_copier_signs_in() {
    let out = Command::new(BIN)
        .args(["lookup", "--manufacturer", "Canon", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &v["manufacturer"]["oauth"];
    assert!(
        o["microsoft"]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://oip.manual.canon/"),
        "{o:#}"
    );
    assert!(o["pattern"]["value"].as_str().unwrap().contains("code"));
    let out = Command::new(BIN)
        .args(["lookup", "--manufacturer", "Kyocera", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let o = &v["manufacturer"]["oauth"];
    assert!(
        o["microsoft"].is_null() && o["google"].is_null() && o["pattern"].is_null(),
        "{o:#}"
    );
    let out = Command::new(BIN)
        .args(["lookup", "--manufacturer", "Sharp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Sign-in: Sharp copiers can sign in to Microsoft 365 themselves, with the provider's own sign-in"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsafe_sign_in_page_is_not_opened_and_polling_is_held_to_bounds() {
    let idp = Idp::start(Outcome::ApproveAfter(2)).await;
    *idp.device_answer.lock().unwrap() = Some(("file:///etc/passwd".into(), 0, 86_400));
    let app = scanmail::oauth::MicrosoftApp {
        client_id: idp::CLIENT_ID.into(),
        tenant: "test.example.edu".into(),
        authority: Some(idp.base()),
        certificate: None,
        client_secret_expires: None,
    };
    let code = scanmail::oauth::device::start(&app).await.unwrap();
    assert!(!code.openable, "a file:// page is never opened");
    assert_eq!(
        code.interval,
        Duration::from_secs(1),
        "interval 0 is held to 1 s"
    );
    assert_eq!(
        code.expires_in,
        Duration::from_secs(30 * 60),
        "a day is held to 30 min"
    );
    scanmail::oauth::device::finish(&app, &code).await.unwrap();
    let polls = idp.seen.lock().unwrap().polls.clone();
    assert_eq!(polls.len(), 3);
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(900),
            "polled faster than once a second: {:?}",
            pair[1] - pair[0]
        );
    }
    // The same page from the command line: a warning, the code is not shown.
    *idp.device_answer.lock().unwrap() = Some(("javascript:alert(1)".into(), 1, 900));
    let pki = support::Pki::new();
    let s = setup("unsafe-page", &idp, &pki);
    let out = run(check(&s, 1, 2, &["--oauth", "microsoft"])).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an https address"), "{stderr}");
    assert!(!stderr.contains(idp::USER_CODE), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
}
