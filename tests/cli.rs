//! `scanmail check` as IT scripts use it: flags, exit status, JSON, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output, Stdio};
use support::{PASSWORD, Peer, Script, USER};

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

fn scanmail(args: &[&str], password_env: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("SM_TEST_PW").stdin(Stdio::null());
    if let Some(pw) = password_env {
        cmd.env("SM_TEST_PW", pw);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

struct Peers {
    _dir: tempfile::TempDir,
    ca: String,
    ssl: Peer,
    st: Peer,
}

async fn peers(script: Script) -> Peers {
    let (pki, ssl, st) = support::start_pair(script).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path()).to_string_lossy().into_owned();
    Peers {
        _dir: dir,
        ca,
        ssl,
        st,
    }
}

async fn run(p: &Peers, extra: &[&str], password: &str) -> Output {
    let (ssl, st) = (p.ssl.port.to_string(), p.st.port.to_string());
    let mut args: Vec<String> = [
        "check",
        "--server",
        "127.0.0.1",
        "--user",
        USER,
        "--password-env",
        "SM_TEST_PW",
        "--ca-file",
        &p.ca,
        "--ssl-port",
        &ssl,
        "--starttls-port",
        &st,
        "--timeout",
        "5",
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect();
    args.extend(extra.iter().map(std::string::ToString::to_string));
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        scanmail(&refs, Some(&password))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn json_follows_the_contract_when_both_ports_work() {
    let p = peers(Script::gmail()).await;
    let out = run(&p, &["--json"], PASSWORD).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["server"], "127.0.0.1");
    assert_eq!(v["account"], USER);
    assert_eq!(v["recipient"], USER);
    assert_eq!(v["recommended"]["port"], p.ssl.port);
    assert_eq!(v["recommended"]["security"], "ssl");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (r, (port, security)) in results
        .iter()
        .zip([(p.ssl.port, "ssl"), (p.st.port, "starttls")])
    {
        for key in [
            "port",
            "security",
            "works",
            "stage",
            "sent",
            "elapsed_ms",
            "problem",
            "reply",
            "advice",
            "tls",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        assert_eq!(r["port"], port);
        assert_eq!(r["security"], security);
        assert_eq!(r["works"], true);
        assert_eq!(r["sent"], true);
        assert_eq!(r["stage"], "done");
        assert!(r["problem"].is_null() && r["advice"].is_null());
        assert!(r["reply"].as_str().unwrap().starts_with("250 2.0.0 OK"));
        assert_eq!(r["tls"]["version"], "TLSv1.3");
        assert!(r["tls"]["not_after"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(p.ssl.log().messages.len(), 1);
    assert_eq!(p.st.log().messages.len(), 1);
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_exits_1_with_advice_on_both_ports() {
    let p = peers(Script::gmail()).await;
    let wrong = "wrongpassword-canary-7731";
    let out = run(&p, &["--json"], wrong).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["works"], false);
        assert_eq!(r["stage"], "auth");
        assert_eq!(r["problem"], "auth-rejected");
        assert!(
            r["reply"]
                .as_str()
                .unwrap()
                .starts_with("535 5.7.8 Username and Password not accepted")
        );
        assert!(
            r["advice"]["what_to_do"]
                .as_str()
                .unwrap()
                .contains("app password")
        );
    }
    assert!(v["recommended"].is_null());
    assert!(!stdout.contains(wrong) && !stderr.contains(wrong));

    // The same in plain words.
    let out = run(&p, &[], wrong).await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("Verdict: fails. The login was not accepted."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Next step: Devices need an app password"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("What to do:"),
        "the advice is given once, as the next step"
    );
    assert!(!stdout.contains(wrong));

    // JSON: one verdict, and each port's conversation with the sign-in hidden.
    let out = run(&p, &["--json"], wrong).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["outcome"], "fails");
    assert_eq!(v["summary"]["problem"], "auth-rejected");
    assert_eq!(v["summary"]["headline"], "The login was not accepted.");
    // A way out when a new app password is refused too: a message for IT, without the password.
    let it = v["summary"]["message_for_it"].as_str().unwrap();
    assert!(it.contains("app passwords") && !it.contains(wrong), "{it}");
    for r in v["results"].as_array().unwrap() {
        let t = support::transcript(r);
        assert!(t.iter().any(|l| l.starts_with("S: 220 ")), "{t:?}");
        assert!(t.iter().any(|l| l.starts_with("C: EHLO ")), "{t:?}");
        assert!(t.contains(&"C: AUTH PLAIN <hidden>"), "{t:?}");
        assert!(t.iter().any(|l| l.starts_with("S: 535")), "{t:?}");
        assert!(t.iter().all(|l| !l.contains(wrong)), "{t:?}");
        let advice = r["advice"]["what_to_do"].as_str().unwrap();
        assert!(
            !advice.contains("465") && !advice.contains("587"),
            "{advice}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_words_say_what_to_type_into_the_device() {
    let p = peers(Script::gmail()).await;
    let out = run(
        &p,
        &["--skip-starttls", "--to", "it-desk@example.edu"],
        PASSWORD,
    )
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Type this into the device:"), "{stdout}");
    assert!(
        stdout.contains(&format!("Port:                 {}", p.ssl.port)),
        "{stdout}"
    );
    assert!(
        stdout.contains("Security:             Turn on SSL/TLS. Turn off STARTTLS."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Test message to it-desk@example.edu"),
        "{stdout}"
    );
    assert!(p.st.log().connections == 0, "skipped port was contacted");
    let m = &p.ssl.log().messages[0];
    assert!(m.contains("To: it-desk@example.edu"), "{m}");
    assert!(!stdout.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn password_can_come_from_stdin() {
    let p = peers(Script::gmail()).await;
    let (ca, ssl) = (p.ca.clone(), p.ssl.port.to_string());
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new(BIN)
            .args([
                "check",
                "--server",
                "127.0.0.1",
                "--user",
                USER,
                "--password-stdin",
                "--ca-file",
                &ca,
            ])
            .args([
                "--ssl-port",
                &ssl,
                "--skip-starttls",
                "--login-only",
                "--json",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["results"][0]["works"], true);
    assert_eq!(v["results"][0]["sent"], false);
    assert!(p.ssl.log().messages.is_empty());
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let base = [
        "check",
        "--server",
        "smtp.gmail.com",
        "--user",
        USER,
        "--password-env",
        "SM_TEST_PW",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(std::string::ToString::to_string)
            .collect()
    };
    let cases: Vec<(Vec<String>, Option<&str>, &str)> = vec![
        (
            with(&["--ca-file", "/nonexistent/ca.pem"]),
            Some("pw"),
            "could not be read: no such file or folder",
        ),
        (
            vec![
                "check".into(),
                "--server".into(),
                "smtp.gmail.com".into(),
                "--user".into(),
                "not-an-address".into(),
                "--password-env".into(),
                "SM_TEST_PW".into(),
            ],
            Some("pw"),
            "not a complete email address",
        ),
        (
            with(&["--ssl-port", "0"]),
            Some("pw"),
            "Port numbers go from 1 to 65535",
        ),
        (with(&["--ssl-port", "70000"]), Some("pw"), "70000"),
        (with(&[]), None, "SM_TEST_PW is not set"),
        (
            with(&["--skip-ssl", "--skip-starttls"]),
            Some("pw"),
            "at least one port",
        ),
        (with(&["--timeout", "0"]), Some("pw"), "between 1 and 300"),
        (
            vec![
                "check".into(),
                "--server".into(),
                "smtp.gmail.com".into(),
                "--user".into(),
                USER.into(),
            ],
            Some("pw"),
            "password",
        ),
        (
            vec![
                "check".into(),
                "--server".into(),
                "https://smtp.gmail.com".into(),
                "--user".into(),
                USER.into(),
                "--password-env".into(),
                "SM_TEST_PW".into(),
            ],
            Some("pw"),
            "not a server name",
        ),
    ];
    for (args, pw, needle) in cases {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = scanmail(&refs, pw);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout} {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    let dir = tempfile::tempdir().unwrap();
    let bad_pem = dir.path().join("ca.pem");
    std::fs::write(&bad_pem, "hello").unwrap();
    let out = scanmail(
        &with(&["--ca-file", bad_pem.to_str().unwrap()])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        Some("pw"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("no certificate in it"),
        "{}",
        text(&out).1
    );
}

#[test]
fn version_and_help_exit_0() {
    let out = scanmail(&["--version"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).0.contains(env!("CARGO_PKG_VERSION")));
    let out = scanmail(&["check", "--help"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).0.contains("--password-env"));
}

#[test]
fn lookup_knows_the_device_and_the_provider() {
    let out = scanmail(
        &[
            "lookup",
            "--manufacturer",
            "KM",
            "--model",
            "bizhub C300i",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["manufacturer"]["id"], "konica-minolta");
    assert_eq!(v["manufacturer"]["ssl_label"]["value"], "SMTP over SSL");
    assert_eq!(v["manufacturer"]["starttls_label"]["value"], "Start TLS");
    assert!(
        v["manufacturer"]["smtp_menu"]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let urls = v["manual_search"].as_array().unwrap();
    assert_eq!(
        urls[0],
        "https://www.google.com/search?q=Konica+Minolta+bizhub+C300i+manual+scan+to+email+SMTP"
    );
    assert!(v["provider"].is_null());
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);

    let out = scanmail(
        &[
            "lookup",
            "--server",
            "smtp-relay.gmail.com",
            "--user",
            "lab@example.edu",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["provider"]["id"], "google");
    assert_eq!(v["warnings"][0]["id"], "smtp-relay-gmail");
    assert!(
        v["warnings"][0]["advice"]
            .as_str()
            .unwrap()
            .contains("smtp.gmail.com")
    );
    assert!(v["manual_search"].as_array().unwrap().is_empty());

    let out = scanmail(
        &[
            "lookup",
            "--server",
            "smtp.office365.com",
            "--user",
            "a@uni.edu",
            "--from",
            "b@uni.edu",
        ],
        None,
    );
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("Provider: Microsoft 365"), "{stdout}");
    assert!(stdout.contains("(from-not-login)"), "{stdout}");
    assert!(
        stdout.contains("(microsoft-password-sign-in-retiring)"),
        "{stdout}"
    );
}

#[test]
fn lookup_bad_input_exits_2() {
    for (args, needle) in [
        (vec!["lookup"], "at least one"),
        (
            vec!["lookup", "--user", "nobody"],
            "not a complete email address",
        ),
        (
            vec!["lookup", "--model", "x", "--engine", "altavista"],
            "not a search engine",
        ),
        (
            vec!["lookup", "--server", "smtp.gmail.com:587"],
            "without a port",
        ),
    ] {
        let out = scanmail(&args, None);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr.contains(needle) && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
        assert!(stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_password_with_spaces_works_and_is_mentioned() {
    let p = peers(Script::gmail()).await;
    let spaced = "abcd efgh ijkl mnop";
    assert_eq!(spaced.replace(' ', ""), PASSWORD);
    let out = run(&p, &["--json", "--skip-starttls"], spaced).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["results"][0]["works"], true);
    assert_eq!(v["warnings"][0]["id"], "password-spaces");
    assert!(!stdout.contains(PASSWORD) && !stdout.contains(spaced));
}

#[tokio::test(flavor = "multi_thread")]
async fn terminal_escapes_from_a_server_are_shown_not_obeyed() {
    let mut script = Script::gmail();
    script.auth_fail =
        vec!["535 5.7.8 \u{1b}[2J\u{1b}]0;pwned\u{7}Username and Password not accepted".into()];
    let p = peers(script).await;
    let out = run(&p, &["--skip-starttls"], "wrongwrongwrongw").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "raw control bytes reached the terminal"
    );
    let (stdout, _) = text(&out);
    assert!(stdout.contains("\\u{1b}[2J"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_stays_valid_whatever_a_server_says() {
    let mut script = Script::gmail();
    script.auth_fail = vec![
        "535 5.7.8 \u{1b}[2J\u{7f}\u{85}\u{9b}31m\"quoted\\ Username and Password not accepted"
            .into(),
    ];
    let p = peers(script).await;
    let out = run(&p, &["--skip-starttls", "--json"], "wrongwrongwrongw").await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character in the JSON: {stdout:?}"
    );
    assert!(
        !stdout.contains("\\u{"),
        "the terminal filter rewrote the JSON"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let reply = v["results"][0]["reply"].as_str().unwrap();
    assert!(
        reply.contains("\u{7f}") && reply.contains("\u{85}") && reply.contains("\"quoted\\"),
        "{reply:?}"
    );
}

#[test]
fn a_preset_far_too_big_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("org.toml");
    let mut preset =
        String::from("organization = \"Big\"\nserver = \"smtp.gmail.com\"\nssl_port = 465\n");
    preset.push_str(&format!("why = \"{}\"\n", "x".repeat(300 * 1024)));
    std::fs::write(&big, preset).unwrap();
    let out = scanmail(&["org", "check", &big.to_string_lossy()], None);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(stderr.contains("larger than 256 KB"), "{stderr}");
}

/// A preset beside the program counts only where only administrators can change it: a copy of
/// ScanMail in a folder every user may write ignores the org.toml planted beside it, and
/// `org show` says why. The same files in a folder only root may write are used.
#[cfg(unix)]
#[test]
fn a_preset_planted_beside_a_user_writable_program_is_ignored_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    if not_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("scanmail");
    std::fs::copy(BIN, &exe).unwrap();
    std::fs::write(
        dir.path().join("org.toml"),
        "organization = \"Planted\"\nserver = \"smtp.attacker.example\"\nssl_port = 465\n",
    )
    .unwrap();
    let show = |mode: u32| {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Command::new(&exe)
            .args(["org", "show"])
            .env_remove("SCANMAIL_ORG")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let planted = show(0o777);
    assert!(!planted.contains("smtp.attacker.example"), "{planted}");
    assert!(
        planted.contains("beside ScanMail")
            && planted.contains("other users can change it (its folder)"),
        "{planted}"
    );
    let installed = show(0o755);
    assert!(installed.contains("Organization: Planted"), "{installed}");
}

/// The owner check needs root to own the files (CI and scripts/test.sh run as root).
#[cfg(unix)]
fn not_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    if probe.as_file().metadata().unwrap().uid() != 0 {
        eprintln!("skipping: files made by this test are not owned by root");
        return true;
    }
    false
}

/// Microsoft 365 with password sending off, in plain words: the best way is named once (in the
/// next step), the others follow for IT, and the message for IT names the ports and security
/// this test tried, not a fixed "587".
#[tokio::test(flavor = "multi_thread")]
async fn a_microsoft_365_refusal_names_the_best_way_once_and_the_ports_tried() {
    let mut script = Script::microsoft();
    script.auth_always = Some(vec![
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.".into(),
    ]);
    let p = peers(script).await;
    let out = run(&p, &[], "abcdabcdabcdabcd").await;
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches("Best way").count(), 1, "{stdout}");
    assert!(
        stdout.contains("Next step: Best way for this copier:")
            && stdout.contains("Other ways (for IT):"),
        "{stdout}"
    );
    let tried = format!(
        "tested on port {} with SSL/TLS and port {} with STARTTLS",
        p.ssl.port, p.st.port
    );
    let tried_other_way = format!(
        "tested on port {} with STARTTLS and port {} with SSL/TLS",
        p.st.port, p.ssl.port
    );
    assert!(
        stdout.contains(&tried) || stdout.contains(&tried_other_way),
        "{stdout}"
    );
}
