//! Microsoft 365 from nothing, on loopback: `relay init` with the Microsoft 365 preset that ships,
//! `relay microsoft-app` (the certificate and the setup script), the certificate "uploaded" to
//! the local identity provider, `relay sign-in --client-id`, and a copier's scan sent with the
//! app-only token (no refresh token anywhere). Then each of Microsoft's refusals reaching
//! `relay test` and `relay status` with its fix, the certificate's end date, and assertions the
//! identity provider must refuse (wrong audience, expired, replayed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use support::copier::Copier;
use support::idp::{self, Idp, Outcome};
use support::rig::{BIN, Rig, scan};
use support::{Script, USER};

const PRESET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/resources/presets/microsoft-365.toml"
);

fn run(args: &[&str], config: &Path) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("SCANMAIL_ORG", PRESET)
        .env("SCANMAIL_NO_BROWSER", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A relay made from nothing for app-only: `relay init` with the shipped preset, then pointed at
/// the scripted Microsoft 365 (which takes the app's token) and with its secret in a file.
async fn app_rig(script: Script) -> Rig {
    let mut script = script;
    script.token = idp::APP_TOKEN.into();
    let (rig, _) = Rig::prepare(script, "", &[]).await;
    let config = rig.config.clone();
    std::fs::remove_file(&config).unwrap();
    std::fs::remove_file(rig.dir.path().join("relay-secret")).unwrap();
    let authority = rig.idp.base();
    let (code, out, err) = run(
        &[
            "relay",
            "init",
            "--account",
            USER,
            "--authority",
            &authority,
        ],
        &config,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let ca = rig.dir.path().join("test-ca.pem");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "# server = \"smtp.office365.com\"",
            "server = \"127.0.0.1\"",
        )
        .replace(
            "port = 587",
            &format!(
                "port = {}\nca_file = \"{}\"\nsecrets = \"file\"",
                rig.peer.port,
                ca.display()
            ),
        )
        .replace("listen = [\"0.0.0.0:2525\"]", "listen = [\"127.0.0.1:0\"]")
        .replace("listen_tls = []", "listen_tls = [\"127.0.0.1:0\"]");
    std::fs::write(&config, text).unwrap();
    rig
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Makes the certificate, uploads it to the identity provider, signs in.
fn make_and_sign_in(rig: &Rig) -> serde_json::Value {
    let (code, out, err) = run(&["relay", "microsoft-app", "--json"], &rig.config);
    assert_eq!(code, Some(0), "{out}{err}");
    let made = json(&out);
    let der = std::fs::read(made["certificate"].as_str().unwrap()).unwrap();
    rig.idp.app.lock().unwrap().certificates.push(der);
    let (code, out, err) = run(
        &["relay", "sign-in", "--client-id", idp::APP_CLIENT_ID],
        &rig.config,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("The app's token: ok"), "{out}");
    assert!(
        out.contains(&format!("The SMTP sign-in as {USER}: ok")),
        "{out}"
    );
    assert!(out.contains("Signed in"), "{out}");
    made
}

fn files_in(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let p = e.path();
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
            (p, text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_with_the_shipped_microsoft_preset_chooses_the_app_only_sign_in() {
    let idp = Idp::start(Outcome::ApproveAfter(0)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    let (code, out, err) = run(
        &[
            "relay",
            "init",
            "--account",
            USER,
            "--authority",
            &idp.base(),
        ],
        &config,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Made from: the Microsoft 365 preset"), "{out}");
    assert!(out.contains("Sign-in: app-only"), "{out}");
    assert!(
        out.contains(&format!("Tenant: example.edu is {}", idp::TENANT_ID)),
        "{out}"
    );
    assert!(out.contains("scanmail relay microsoft-app"), "{out}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("auth = \"app\""), "{text}");
    assert!(
        text.contains(&format!("tenant = \"{}\"", idp::TENANT_ID)),
        "{text}"
    );
    // A password only when asked for, and then said plainly.
    let other = dir.path().join("password.toml");
    let (code, out, _) = run(&["relay", "init", "--auth", "password"], &other);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("Careful: Microsoft 365 turns password sending off"),
        "{out}"
    );
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("auth = \"password\"")
    );
    // A domain Microsoft does not know: said, with what to do at sign-in.
    let unknown = dir.path().join("unknown.toml");
    let (code, out, _) = run(
        &[
            "relay",
            "init",
            "--account",
            "scan@nowhere.example",
            "--authority",
            &idp.base(),
        ],
        &unknown,
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("AADSTS90002"), "{out}");
}

/// From nothing to a copier's scan through an app-only relay, with no refresh token anywhere
/// and the private key only in the relay's secret store.
#[tokio::test(flavor = "multi_thread")]
async fn from_nothing_to_a_scan_sent_with_the_app_only_sign_in() {
    let mut rig = app_rig(Script::microsoft()).await;
    let made = make_and_sign_in(&rig);
    // The certificate, its thumbprint as Entra shows it, and the script for IT.
    let der = std::fs::read(made["certificate"].as_str().unwrap()).unwrap();
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    let hex: String = sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(made["thumbprint"], hex.as_str());
    let script = std::fs::read_to_string(made["script"].as_str().unwrap()).unwrap();
    assert!(
        script.contains(&format!("$Account    = '{USER}'")),
        "the mailbox"
    );
    assert!(script.contains(&hex), "the thumbprint");
    assert!(script.contains("SMTP.SendAsApp") && script.contains("Add-MailboxPermission"));
    assert!(script.contains("Set-CASMailbox"));
    // The key is only in the secret store; nothing keeps a refresh token.
    for (path, text) in files_in(rig.dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(
            text.contains("PRIVATE KEY"),
            name == "relay-secret",
            "{name}"
        );
        assert!(
            !text.contains(idp::REFRESH) && !text.contains("refresh_token"),
            "{name}"
        );
        assert!(
            !text.contains(idp::APP_TOKEN),
            "{name}: the access token stays in memory"
        );
    }
    let toml = std::fs::read_to_string(&rig.config).unwrap();
    assert!(
        toml.contains(&format!("client_id = \"{}\"", idp::APP_CLIENT_ID)),
        "{toml}"
    );
    // A copier's scan goes through with the app's token.
    let (code, out, err) = run(&["relay", "add-device", "copier", "--json"], &rig.config);
    assert_eq!(code, Some(0), "{err}");
    let password = json(&out)["password"].as_str().unwrap().to_string();
    rig.run().await;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 40), rig.port, &rig.cert()).await;
    assert!(c.login("copier", &password).await.starts_with("235"));
    let replies = c.send("me@lab.example", &scan("c@lab.example")).await;
    assert!(replies.last().unwrap().starts_with("250"), "{replies:?}");
    let log = rig.peer.log();
    assert_eq!(log.messages.len(), 1);
    assert!(
        log.tokens
            .iter()
            .any(|(tls, user, token)| *tls && user == USER && token == idp::APP_TOKEN)
    );
    let status = rig.status();
    assert_eq!(status["upstream"]["auth"], "app");
    assert_eq!(status["upstream"]["signed_in"], true);
    assert!(
        status["upstream"]["credential_expires"].is_string(),
        "{status}"
    );
    assert!(status["upstream"]["token_expires"].is_null(), "{status}");
    // relay test walks every link.
    let config = rig.config.clone();
    let (code, out, err) =
        tokio::task::spawn_blocking(move || run(&["relay", "test", "--json"], &config))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    let links = json(&out);
    let names: Vec<&str> = links["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["settings", "tenant", "sign-in", "mailbox", "message"]
    );
    assert!(
        links["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["ok"] == true)
    );
    rig.stop().await.unwrap();
}

/// Each of Microsoft's sign-in refusals reaches `relay test` and `relay status` with its own
/// fix, filled in with this relay's app and mailbox; so do Exchange's SMTP refusals.
#[tokio::test(flavor = "multi_thread")]
async fn microsofts_refusals_reach_relay_test_and_status_with_their_fix() {
    let rig = app_rig(Script::microsoft()).await;
    make_and_sign_in(&rig);
    for code in [
        700016, 7000218, 65001, 700027, 7000222, 700082, 50173, 53003, 90002,
    ] {
        rig.idp.app.lock().unwrap().force = Some((code, "words".into()));
        let (exit, out, _) = run(&["relay", "test", "--json"], &rig.config);
        assert_eq!(exit, Some(1), "{code}: {out}");
        let v = json(&out);
        let last = v["links"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["name"], "sign-in", "{code}: {v}");
        let fix = last["fix"].as_str().unwrap();
        assert!(fix.contains(&format!("AADSTS{code}")), "{code}: {fix}");
        let status = rig.status();
        let error = status["upstream"]["last_error"]
            .as_str()
            .unwrap_or_default();
        assert!(error.contains(&format!("AADSTS{code}")), "{code}: {status}");
        assert!(
            !status["warnings"].to_string().contains("relay sign-in\""),
            "no device-code sign-in offered for the app: {status}"
        );
    }
    rig.idp.app.lock().unwrap().force = None;
    for (reply, words) in [
        (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.",
            format!("Set-CASMailbox -Identity {USER} -SmtpClientAuthenticationDisabled $false"),
        ),
        (
            "535 5.7.3 Authentication unsuccessful [AM0PR01CA0001]",
            format!("New-ServicePrincipal -AppId {}", idp::APP_CLIENT_ID),
        ),
    ] {
        let mut script = Script::microsoft();
        script.auth_always = Some(vec![reply.to_string()]);
        let other = app_rig(script).await;
        let (code, out, err) = run(&["relay", "microsoft-app"], &other.config);
        assert_eq!(code, Some(0), "{out}{err}");
        let der = std::fs::read(other.dir.path().join("relay-app.cer")).unwrap();
        other.idp.app.lock().unwrap().certificates.push(der);
        // Sign-in itself says it and keeps nothing.
        let (code, _, err) = run(
            &["relay", "sign-in", "--client-id", idp::APP_CLIENT_ID],
            &other.config,
        );
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(&words) && err.contains("Nothing was kept"),
            "{err}"
        );
    }
}

/// Exchange refuses a message as sent by someone else: the copier hears the provider's code, and
/// the status says the exact fix.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_as_refusal_reaches_the_status_with_its_fix() {
    let mut script = Script::microsoft();
    script.data_end =
        vec!["550 5.7.60 SMTP; Client does not have permissions to send as this sender".into()];
    let mut rig = app_rig(script).await;
    make_and_sign_in(&rig);
    let (_, out, _) = run(&["relay", "add-device", "copier", "--json"], &rig.config);
    let password = json(&out)["password"].as_str().unwrap().to_string();
    rig.run().await;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 41), rig.port, &rig.cert()).await;
    assert!(c.login("copier", &password).await.starts_with("235"));
    let replies = c.send("me@lab.example", &scan("c@lab.example")).await;
    assert!(
        replies.last().unwrap().starts_with("550 5.7.60"),
        "{replies:?}"
    );
    let s = rig.status();
    let error = s["devices"][0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Add-RecipientPermission") && error.contains("550 5.7.60"),
        "{s}"
    );
    rig.stop().await.unwrap();
}

/// Thirty days before the certificate ends, status says so with the one command that renews it;
/// --renew makes a new one that waits, the relay keeps the current one, and sign-in switches
/// once Microsoft takes the new one.
#[tokio::test(flavor = "multi_thread")]
async fn the_certificates_end_is_warned_and_renewed() {
    let rig = app_rig(Script::microsoft()).await;
    make_and_sign_in(&rig);
    // A certificate that ends in 10 days, with its key, in place of the one made.
    let (key, cert) = scanmail::oauth::app::make("ScanMail relay (test)", 10).unwrap();
    std::fs::write(rig.dir.path().join("relay-secret"), key.expose()).unwrap();
    std::fs::write(rig.dir.path().join("relay-app.cer"), &cert.der).unwrap();
    rig.idp
        .app
        .lock()
        .unwrap()
        .certificates
        .push(cert.der.clone());
    let s = rig.status();
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("certificate for Microsoft 365 ends on"),
        "{warnings}"
    );
    assert!(
        warnings.contains("scanmail relay microsoft-app --renew"),
        "{warnings}"
    );
    let (code, out, err) = run(
        &["relay", "microsoft-app", "--renew", "--json"],
        &rig.config,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let new = json(&out);
    assert!(
        new["certificate"]
            .as_str()
            .unwrap()
            .ends_with("relay-app-new.cer")
    );
    // Until IT adds the new one, the relay still signs in with the old one.
    let (code, out, _) = run(&["relay", "test", "--json"], &rig.config);
    assert!(json(&out)["links"][2]["ok"] == true, "{out} {code:?}");
    let (code, _, err) = run(
        &["relay", "sign-in", "--client-id", idp::APP_CLIENT_ID],
        &rig.config,
    );
    assert_eq!(
        code,
        Some(1),
        "the new certificate is not on the app yet: {err}"
    );
    assert!(
        err.contains("AADSTS700027") && err.contains("relay-app.cer"),
        "{err}"
    );
    let der = std::fs::read(new["certificate"].as_str().unwrap()).unwrap();
    rig.idp.app.lock().unwrap().certificates.push(der.clone());
    let (code, out, err) = run(
        &["relay", "sign-in", "--client-id", idp::APP_CLIENT_ID],
        &rig.config,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        std::fs::read(rig.dir.path().join("relay-app.cer")).unwrap(),
        der
    );
    assert!(
        !rig.status()["warnings"]
            .to_string()
            .contains("certificate for Microsoft 365")
    );
}

/// The identity provider refuses assertions that are not right, and ScanMail reports each.
#[tokio::test(flavor = "multi_thread")]
async fn bad_assertions_are_refused_and_reported() {
    use scanmail::oauth::app::{self, Alg, Credential};
    let idp = Idp::start(Outcome::ApproveAfter(0)).await;
    let (key, cert) = app::make("ScanMail relay (test)", 30).unwrap();
    idp.app.lock().unwrap().certificates.push(cert.der.clone());
    let url = format!("{}/{}/oauth2/v2.0/token", idp.base(), idp::TENANT_ID);
    let post = |jwt: String| {
        let url = url.clone();
        async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", idp::APP_CLIENT_ID)
                .append_pair("scope", app::SMTP_SCOPE)
                .append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .append_pair("client_assertion", &jwt)
                .finish();
            let r = oauth2::http::Request::post(url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.into_bytes())
                .unwrap();
            let a = scanmail::oauth::http::send(r).await.unwrap();
            (
                a.status().as_u16(),
                String::from_utf8_lossy(a.body()).to_string(),
            )
        }
    };
    // Right: a token.
    let good = app::token(
        &url,
        idp::APP_CLIENT_ID,
        app::SMTP_SCOPE,
        &Credential::Key {
            pem: key.expose(),
            cert: &cert,
        },
        Alg::Ps256,
    )
    .await;
    assert!(good.is_ok());
    // Wrong audience.
    let wrong = app::assertion(
        key.expose(),
        &cert,
        idp::APP_CLIENT_ID,
        "https://elsewhere.example/token",
        Alg::Ps256,
    )
    .unwrap();
    let (status, said) = post(wrong).await;
    assert_eq!(status, 401, "{said}");
    assert!(said.contains("audience"), "{said}");
    // Expired: made an hour ago.
    scanmail::time::pretend_now(Some(scanmail::time::now_unix() - 3600));
    let old = app::assertion(key.expose(), &cert, idp::APP_CLIENT_ID, &url, Alg::Ps256).unwrap();
    scanmail::time::pretend_now(None);
    let (status, said) = post(old).await;
    assert_eq!(status, 401);
    assert!(said.contains("AADSTS700024"), "{said}");
    // Replayed.
    let once = app::assertion(key.expose(), &cert, idp::APP_CLIENT_ID, &url, Alg::Ps256).unwrap();
    assert_eq!(post(once.clone()).await.0, 200);
    let (status, said) = post(once).await;
    assert_eq!(status, 401);
    assert!(said.contains("used before"), "{said}");
    // A certificate not on the app: reported with its code and the fix.
    let (other_key, other) = app::make("not uploaded", 30).unwrap();
    let e = app::token(
        &url,
        idp::APP_CLIENT_ID,
        app::SMTP_SCOPE,
        &Credential::Key {
            pem: other_key.expose(),
            cert: &other,
        },
        Alg::Ps256,
    )
    .await
    .unwrap_err();
    assert_eq!(e.aadsts, Some(700027));
    let f = scanmail::relay::microsoft::sign_in(&e, &scanmail::relay::microsoft::Ctx::default());
    assert!(f.fix.contains("upload relay-app.cer"), "{f:?}");
}
