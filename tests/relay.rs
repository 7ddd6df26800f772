//! The relay ("the bridge") end to end, on loopback: a scripted Microsoft 365 upstream with
//! XOAUTH2, the local identity provider for sign-in and refresh, and real copier clients (a
//! small client here, ScanMail's own engine through `relay test`, Python's smtplib, curl). Each
//! copier comes from its own loopback address (127.0.0.x) as copiers on a network would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use scanmail::relay;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::copier::Copier;
use support::idp::{self, Idp, Outcome};
use support::{Cert, Fault, Mode, Peer, Pki, Script, TOKEN, USER};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use support::rig::{BIN, PATIENCE, Rig, scan, scanmail};

// ---- The tests ------------------------------------------------------------------------------

/// A copier signs in over TLS and sends: the provider gets it from the relay's account, with
/// the From rewritten and the copier's own From kept as Reply-To; the copier hears the
/// provider's own 250; the counts show in `relay status`.
#[tokio::test(flavor = "multi_thread")]
async fn a_copier_sends_through_the_relay_as_the_account() {
    let (mut rig, devices) = Rig::start(Script::microsoft(), "", &[("copier-3f", &[])]).await;
    let (name, pw) = &devices[0];
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 5), rig.port, &rig.cert()).await;
    assert!(c.login(name, pw).await.starts_with("235"));
    let replies = c.send("me@lab.example", &scan("copier@lab.example")).await;
    assert!(replies[3].starts_with("250"), "{replies:?}");
    let log = rig.peer.log();
    assert!(
        log.commands
            .iter()
            .any(|(tls, l)| *tls && l == &format!("MAIL FROM:<{USER}>")),
        "the envelope sender is the account: {:?}",
        log.commands
    );
    assert_eq!(log.tokens.last().map(|t| t.2.as_str()), Some(TOKEN));
    let msg = &log.messages[0];
    assert!(
        msg.starts_with(&format!(
            "From: {USER}\r\nReply-To: \"Copier 3F\" <copier@lab.example>\r\n"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("\r\n..leading dot (stuffed by the copier)\r\n"),
        "unstuffed by the relay, stuffed again for the provider: {msg}"
    );
    let s = rig.status();
    assert_eq!(s["upstream"]["signed_in"], true);
    assert_eq!(s["devices"][0]["name"], "copier-3f");
    assert_eq!(s["devices"][0]["messages"], 1);
    assert!(
        s["devices"][0]["last_message"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(s["upstream"]["provider"], "microsoft");
    rig.stop().await.unwrap();
    // The counts survive a restart.
    rig.run().await;
    assert_eq!(rig.status()["devices"][0]["messages"], 1);
    rig.stop().await.unwrap();
}

/// Every refusal: mail without signing in, AUTH before TLS, a wrong password, the lock-out
/// after five, a recipient outside the list, a device from another address.
#[tokio::test(flavor = "multi_thread")]
async fn no_stranger_gets_in_and_the_relay_is_never_open() {
    let (mut rig, devices) = Rig::start(
        Script::microsoft(),
        "",
        &[
            ("copier-3f", &["--allow-recipient", "*@lab.example"]),
            ("copier-4f", &["--address", "127.0.0.44"]),
        ],
    )
    .await;
    let cert = rig.cert();
    let (a, pa) = (&devices[0].0, &devices[0].1);
    let (b, pb) = (&devices[1].0, &devices[1].1);
    // No sign-in: 530, and nothing reaches the provider.
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 6), rig.port, &cert).await;
    assert!(
        c.cmd("MAIL FROM:<x@y.example>")
            .await
            .starts_with("530 5.7.0")
    );
    // AUTH before TLS: 538.
    let mut plain = Copier::connect(Ipv4Addr::new(127, 0, 0, 6), rig.port).await;
    plain.cmd("EHLO copier").await;
    assert!(plain.login(a, pa).await.starts_with("538 5.7.11"));
    // A recipient outside the list: 550.
    assert!(c.login(a, pa).await.starts_with("235"));
    let r = c
        .send("someone@elsewhere.example", &scan("c@lab.example"))
        .await;
    assert!(r[1].starts_with("550 5.7.1"), "{r:?}");
    // A device from another address than its own: refused like a wrong password.
    let mut d = Copier::secure(Ipv4Addr::new(127, 0, 0, 7), rig.port, &cert).await;
    assert!(d.login(b, pb).await.starts_with("535 5.7.8"));
    let mut own = Copier::secure(Ipv4Addr::new(127, 0, 0, 44), rig.port, &cert).await;
    assert!(own.login(b, pb).await.starts_with("235"));
    // One sign-in per session (RFC 4954): a second AUTH is refused.
    assert!(own.login(a, pa).await.starts_with("503 5.5.1"));
    // Wrong passwords: 535 four more times from .8, then 421 and the address waits.
    let mut w = Copier::secure(Ipv4Addr::new(127, 0, 0, 8), rig.port, &cert).await;
    for _ in 0..4 {
        assert!(
            w.login(a, "wrong-password-00")
                .await
                .starts_with("535 5.7.8")
        );
    }
    assert!(
        w.login(a, "wrong-password-00")
            .await
            .starts_with("421 4.7.0")
    );
    // Even the right password waits now, for that login from that address; a copier behind
    // the same address (a NAT) with its own login is not locked out with it.
    let mut w = Copier::secure(Ipv4Addr::new(127, 0, 0, 8), rig.port, &cert).await;
    assert!(w.login(a, pa).await.starts_with("421 4.7.0"));
    // A stranger guessing many logins from one address locks out that address (20 failures
    // in a minute): then a new connection is turned away at the door.
    let mut w = Copier::secure(Ipv4Addr::new(127, 0, 0, 8), rig.port, &cert).await;
    let mut last = String::new();
    for i in 0..15 {
        last = w.login(&format!("guess-{i}"), "wrong-password-00").await;
        if !last.starts_with("535") {
            break;
        }
    }
    assert!(last.starts_with("421 4.7.0"), "{last}");
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind("127.0.0.8:0".parse().unwrap()).unwrap();
    let tcp = s
        .connect(SocketAddr::from(([127, 0, 0, 1], rig.port)))
        .await
        .unwrap();
    let mut r = BufReader::new(tcp);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("421 4.7.0"), "{line}");
    assert!(rig.peer.log().messages.is_empty(), "nothing was sent");
    // The log names devices and addresses, never a password.
    rig.stop().await.unwrap();
    for (_, p) in &devices {
        assert!(
            !std::fs::read_to_string(&rig.config)
                .unwrap()
                .contains(p.as_str())
        );
    }
}

/// The provider's refusals reach the copier as the provider said them; an upstream that cannot
/// take the message gives 4xx, never 250.
#[tokio::test(flavor = "multi_thread")]
async fn upstream_refusals_pass_through_and_failures_never_say_250() {
    let cases: Vec<(Script, &str)> = {
        let mut send_as = Script::microsoft();
        send_as.data_end =
            vec!["550 5.7.60 SMTP; Client does not have permissions to send as this sender".into()];
        let mut too_big = Script::microsoft();
        too_big.mail_from =
            vec!["552 5.3.4 Message size exceeds fixed maximum message size".into()];
        let mut unknown = Script::microsoft();
        unknown.rcpt_to =
            vec!["550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient me@lab.example not found by SMTP address lookup".into()];
        vec![
            (send_as, "550 5.7.60"),
            (too_big, "552 5.3.4"),
            // MAIL, RCPT and DATA go to the provider together: its refusal of a recipient
            // comes back at the end of the message, and nothing is sent.
            (unknown, "550 5.1.10"),
            (
                Script::microsoft().with_fault(Fault::SilentOn("DATA")),
                "451 4.4",
            ),
            (
                Script::microsoft().with_fault(Fault::HangUpInData(2000)),
                "451 4.4",
            ),
        ]
    };
    for (script, want) in cases {
        let (mut rig, devices) = Rig::start(script, "", &[("copier", &[])]).await;
        let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 9), rig.port, &rig.cert()).await;
        assert!(
            c.login(&devices[0].0, &devices[0].1)
                .await
                .starts_with("235")
        );
        let mut body = scan("c@lab.example");
        body.extend(
            std::iter::repeat_n(b'x', 70)
                .chain(*b"\r\n")
                .cycle()
                .take(72 * 200),
        );
        let replies = c.send("me@lab.example", &body).await;
        let last = replies.last().unwrap();
        assert!(last.starts_with(want), "{want}: {replies:?}");
        assert!(
            !replies.iter().skip(1).any(|r| r.starts_with("250 2.0.0")),
            "{replies:?}"
        );
        if want.starts_with("550 5.1.10") {
            assert!(rig.peer.log().messages.is_empty(), "nothing went out");
        }
        let s = rig.status();
        assert!(s["devices"][0]["last_error"].is_string(), "{s}");
        // The status file holds counts and codes, never a recipient the provider named.
        assert!(!s.to_string().contains("me@lab.example"), "{s}");
        rig.stop().await.unwrap();
    }
}

/// The access token is refreshed before it runs out (here: it lives 300 s, within the relay's
/// five minutes ahead), the rotated refresh token replaces the old one, and a withdrawn sign-in
/// gives 454 (the copier retries) and `relay status` says to sign in again.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_are_refreshed_ahead_rotated_and_a_withdrawn_sign_in_is_said_plainly() {
    // Short-lived tokens from the first one on: the relay fetches one as soon as it starts.
    let (mut rig, devices) = Rig::prepare(Script::microsoft(), "", &[("copier", &[])]).await;
    rig.idp.refresh.lock().unwrap().expires_in = 300;
    rig.run().await;
    let cert = rig.cert();
    let (name, pw) = (&devices[0].0, &devices[0].1);
    for n in 0..3 {
        let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 10), rig.port, &cert).await;
        assert!(c.login(name, pw).await.starts_with("235"));
        let r = c.send("me@lab.example", &scan("c@lab.example")).await;
        assert!(r[3].starts_with("250"), "message {n}: {r:?}");
    }
    let used = rig.idp.refresh.lock().unwrap().used.clone();
    assert!(used.len() >= 3, "refreshed before each send: {used:?}");
    assert_eq!(used[0], idp::REFRESH);
    assert_eq!(
        used[1], "rt-rotated-1",
        "the rotated token was kept and used"
    );
    let kept = std::fs::read_to_string(rig.dir.path().join("relay-secret")).unwrap();
    assert_eq!(
        kept,
        rig.idp.refresh.lock().unwrap().current,
        "the newest refresh token is kept"
    );
    // IT withdraws the sign-in.
    rig.idp.refresh.lock().unwrap().revoked = true;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 10), rig.port, &cert).await;
    assert!(
        c.login(name, pw).await.starts_with("235"),
        "a copier's login does not depend on the token"
    );
    let r = c.cmd("MAIL FROM:<c@lab.example>").await;
    assert!(r.starts_with("454 4.7.0"), "{r}");
    let s = rig.status();
    assert_eq!(s["upstream"]["signed_in"], false);
    assert!(
        s["upstream"]["last_error"]
            .as_str()
            .unwrap()
            .contains("scanmail relay sign-in"),
        "{s}"
    );
    let out = scanmail(&["relay", "status"], &rig.config);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Sign the relay in again: scanmail relay sign-in")
    );
    // A wrong copier password never touches the token.
    let before = rig.idp.refresh.lock().unwrap().used.len();
    let mut w = Copier::secure(Ipv4Addr::new(127, 0, 0, 11), rig.port, &cert).await;
    assert!(w.login(name, "wrong-wrong-wrong").await.starts_with("535"));
    assert_eq!(rig.idp.refresh.lock().unwrap().used.len(), before);
    rig.stop().await.unwrap();
}

/// A sign-in Microsoft will not renew for a reason a new sign-in meets too (a Conditional
/// Access rule): copiers hear 454, and `relay status` gives IT's fix first, not a bare "sign in
/// again" that would be refused the same way.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_blocked_by_conditional_access_is_said_with_its_fix() {
    let (mut rig, devices) = Rig::prepare(Script::microsoft(), "", &[("copier", &[])]).await;
    rig.idp.refresh.lock().unwrap().refusal = Some(
        "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.\r\nTrace ID: 1".into(),
    );
    rig.run().await;
    let cert = rig.cert();
    let (name, pw) = (&devices[0].0, &devices[0].1);
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 10), rig.port, &cert).await;
    assert!(c.login(name, pw).await.starts_with("235"));
    let r = c.cmd("MAIL FROM:<c@lab.example>").await;
    assert!(r.starts_with("454 4.7.0"), "{r}");
    let s = rig.status();
    assert_eq!(s["upstream"]["signed_in"], false);
    let e = s["upstream"]["last_error"].as_str().unwrap();
    assert!(
        e.contains("(AADSTS53003)")
            && e.contains("Conditional Access policy")
            && e.contains("scanmail relay microsoft-app")
            && e.contains("Sign-in logs")
            && e.contains("A new sign-in is refused the same way"),
        "{e}"
    );
    let out = scanmail(&["relay", "status"], &rig.config);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Microsoft refused to renew the relay's sign-in (AADSTS53003)")
            && !text.contains("later. Sign the relay in again"),
        "{text}"
    );
    rig.stop().await.unwrap();
}

/// A 50 MB scan streams through, and 20 copiers send 10 MB each at once.
#[tokio::test(flavor = "multi_thread")]
async fn big_scans_stream_through_and_twenty_copiers_send_at_once() {
    let names: Vec<String> = (0..20).map(|i| format!("copier-{i}")).collect();
    let specs: Vec<(&str, &[&str])> = names.iter().map(|n| (n.as_str(), &[][..])).collect();
    let (mut rig, devices) = Rig::start(Script::microsoft(), "", &specs).await;
    let cert = rig.cert();
    let body = |mb: usize| {
        let mut b = scan("c@lab.example");
        let line = [b'A'; 76];
        for _ in 0..(mb * 1024 * 1024 / 78) {
            b.extend_from_slice(&line);
            b.extend_from_slice(b"\r\n");
        }
        b
    };
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 12), rig.port, &cert).await;
    assert!(
        c.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    let big = body(50);
    let r = c.send("me@lab.example", &big).await;
    assert!(r[3].starts_with("250"), "{r:?}");
    assert!(rig.peer.log().messages[0].len() > 50_000_000);
    let ten = Arc::new(body(10));
    let mut all = Vec::new();
    for (i, (name, pw)) in devices.iter().enumerate() {
        let (name, pw, cert, ten, port) = (
            name.clone(),
            pw.clone(),
            cert.clone(),
            ten.clone(),
            rig.port,
        );
        all.push(tokio::spawn(async move {
            let from = Ipv4Addr::new(127, 0, 1, u8::try_from(i + 1).unwrap());
            let mut c = Copier::secure(from, port, &cert).await;
            assert!(c.login(&name, &pw).await.starts_with("235"));
            c.send("me@lab.example", &ten).await
        }));
    }
    for t in all {
        let r = t.await.unwrap();
        assert!(r[3].starts_with("250"), "{r:?}");
    }
    assert_eq!(rig.peer.log().messages.len(), 21);
    rig.stop().await.unwrap();
}

/// Stopping with a message in flight: the message finishes and is answered by the provider;
/// new connections are refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_stop_lets_the_message_in_flight_finish() {
    let (mut rig, devices) = Rig::start(Script::microsoft(), "", &[("copier", &[])]).await;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 13), rig.port, &rig.cert()).await;
    assert!(
        c.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    assert!(c.cmd("MAIL FROM:<c@lab.example>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<me@lab.example>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.io.get_mut()
        .write_all(&scan("c@lab.example"))
        .await
        .unwrap();
    let stop = rig.stop.take().unwrap();
    let _ = stop.send(());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", rig.port)).await;
    assert!(refused.is_err(), "no new connections while stopping");
    c.io.get_mut()
        .write_all(b"more of the scan\r\n.\r\n")
        .await
        .unwrap();
    c.io.get_mut().flush().await.unwrap();
    let last = c.reply().await;
    assert!(last.starts_with("250"), "{last}");
    assert!(rig.peer.log().messages[0].contains("more of the scan"));
    rig.task.take().unwrap().await.unwrap().unwrap();
}

/// The way a service manager runs it: `relay run --service` as its own process, stopped with
/// SIGTERM while a copier is in the middle of a scan. The copier still hears 250, the provider
/// has the whole scan, and the process exits 0 having said so in its log.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_service_stops_on_sigterm_after_the_scan_in_flight() {
    let (rig, devices) = Rig::prepare(Script::microsoft(), "", &[("copier", &[])]).await;
    let mut child = tokio::process::Command::new(BIN)
        .args(["relay", "run", "--service", "--config"])
        .arg(&rig.config)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let listening = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = log.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Some(l) = line.split("listening on ").nth(1) {
                return l.to_string();
            }
        }
        panic!("the service ended before it listened: {seen:#?}");
    })
    .await
    .unwrap();
    let port: u16 = listening
        .split(", ")
        .find(|l| l.contains("STARTTLS"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .map_or_else(|| panic!("{listening}"), |a| a.port());
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 14), port, &rig.cert()).await;
    assert!(
        c.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    assert!(c.cmd("MAIL FROM:<c@lab.example>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<me@lab.example>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.io.get_mut()
        .write_all(&scan("c@lab.example"))
        .await
        .unwrap();
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    // The service says it is stopping; only then does the copier send the rest.
    tokio::time::timeout(PATIENCE, async {
        while let Some(line) = log.next_line().await.unwrap() {
            seen.push(line.clone());
            if line.contains("service: stopping") {
                return;
            }
        }
        panic!("no stopping in the log: {seen:#?}");
    })
    .await
    .unwrap();
    c.io.get_mut()
        .write_all(b"more of the scan\r\n.\r\n")
        .await
        .unwrap();
    c.io.get_mut().flush().await.unwrap();
    let last = c.reply().await;
    assert!(last.starts_with("250"), "{last}");
    let rest: Vec<String> = tokio::time::timeout(PATIENCE, async {
        let mut rest = Vec::new();
        while let Some(line) = log.next_line().await.unwrap() {
            rest.push(line);
        }
        rest
    })
    .await
    .unwrap();
    let code = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(code.code(), Some(0), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("service: stopped")),
        "{rest:#?}"
    );
    assert!(rig.peer.log().messages[0].contains("more of the scan"));
}

/// The systemd unit `install-service` writes passes `systemd-analyze verify` with no warning
/// (an unknown key, a bad value or a missing program all print one).
#[cfg(target_os = "linux")]
#[test]
fn the_systemd_unit_passes_systemd_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("scanmail-relay.service");
    // A path with a space and a % (both need escaping in a unit).
    let text = relay::service::systemd_unit(
        Path::new(BIN),
        Path::new("/etc/scanmail/relay 1/50% relay.toml"),
    )
    .unwrap();
    std::fs::write(&unit, &text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (package systemd; scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // And it can fail: a misspelt key is caught.
    std::fs::write(
        &unit,
        text.replace("Restart=on-failure", "Restart=on-failur"),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).trim().is_empty());
}

/// Real clients: ScanMail's own engine (`relay test`), Python's smtplib over STARTTLS, and a
/// plain client from an address in `allow_plain_from` (an old TLS 1.0-only copier); curl too.
/// A canary password and token appear in no file, log, status or output.
#[tokio::test(flavor = "multi_thread")]
async fn real_clients_and_no_secret_anywhere() {
    let (mut rig, devices) = Rig::start(
        Script::microsoft(),
        "allow_plain_from = [\"127.0.0.20\"]",
        &[
            ("copier-3f", &[]),
            ("old-copier", &["--address", "127.0.0.20"]),
        ],
    )
    .await;
    let (name, pw) = devices[0].clone();
    let (old, old_pw) = devices[1].clone();
    // ScanMail's engine through `relay test`.
    let config = rig.config.clone();
    let out = tokio::task::spawn_blocking(move || scanmail(&["relay", "test"], &config))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Every link holds"), "{text}");
    // Python's smtplib with STARTTLS, checking the relay's certificate.
    let cert = rig.dir.path().join("relay-cert.pem");
    let script = format!(
        r#"
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=r"{cert}")
s = smtplib.SMTP("127.0.0.1", {port}, source_address=("127.0.0.21", 0), timeout=60)
s.starttls(context=ctx)
s.login("{name}", sys.stdin.readline().strip())
s.sendmail("printer@lab.example", ["me@lab.example"], "From: printer@lab.example\r\nSubject: smtplib\r\n\r\nhello\r\n")
s.quit()
# The old copier: no encryption at all, allowed from its own address only.
p = smtplib.SMTP("127.0.0.1", {port}, source_address=("127.0.0.20", 0), timeout=60)
p.ehlo("old-copier")
p.login("{old}", sys.stdin.readline().strip())
p.sendmail("old@lab.example", ["me@lab.example"], "From: old@lab.example\r\nSubject: plain\r\n\r\nhello\r\n")
p.quit()
print("sent")
"#,
        cert = cert.display(),
        port = rig.port
    );
    let mut py = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = py.stdin.take().unwrap();
        writeln!(input, "{pw}\n{old_pw}").unwrap();
    }
    let out = tokio::task::spawn_blocking(move || py.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sent"),
        "{out:?}"
    );
    // curl, over implicit TLS.
    let msg = rig.dir.path().join("scan.eml");
    std::fs::write(
        &msg,
        "From: curl@lab.example\r\nSubject: curl\r\n\r\nhello\r\n",
    )
    .unwrap();
    let url = format!("smtps://127.0.0.1:{}", rig.tls_port);
    let user = format!("{name}:{pw}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--url", &url, "--cacert"])
            .arg(&cert)
            .args(["--interface", "127.0.0.22", "--user", &user])
            .args([
                "--mail-from",
                "curl@lab.example",
                "--mail-rcpt",
                "me@lab.example",
            ])
            .arg("--upload-file")
            .arg(&msg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = rig.peer.log();
    assert_eq!(
        log.messages.len(),
        5,
        "the engine on both ports, smtplib, the plain copier, curl"
    );
    assert!(
        log.messages
            .iter()
            .all(|m| m.starts_with(&format!("From: {USER}")))
    );
    assert!(
        log.messages
            .iter()
            .any(|m| m.contains("Reply-To: old@lab.example"))
    );
    assert!(
        rig.config.exists()
            && !std::fs::read_to_string(&rig.config)
                .unwrap()
                .contains("relay-test@"),
        "the test login is gone"
    );
    // The canaries: the copiers' passwords and the tokens in no file (but the secret store),
    // no status, no output.
    let status = serde_json::to_string(&rig.status()).unwrap();
    let out = scanmail(&["relay", "status"], &rig.config);
    let plain = String::from_utf8_lossy(&out.stdout).to_string();
    rig.stop().await.unwrap();
    let secrets = [
        pw.as_str(),
        old_pw.as_str(),
        TOKEN,
        idp::REFRESH,
        "rt-rotated-",
    ];
    for entry in std::fs::read_dir(rig.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().is_some_and(|n| n == "relay-secret") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
        for s in secrets {
            assert!(!text.contains(s), "{s} in {}", p.display());
        }
    }
    for s in secrets {
        assert!(!status.contains(s) && !plain.contains(s), "{s} in status");
        assert!(!text.contains(s), "{s} in relay test's output");
    }
}

/// `relay init` writes a commented relay.toml from the preset and never overwrites it;
/// `sign-in` runs the device code against the local identity provider and keeps the refresh
/// token only in the secret store; `remove-device` removes a login.
#[tokio::test(flavor = "multi_thread")]
async fn init_sign_in_and_devices_from_the_command_line() {
    let pki = Pki::new();
    let peer = Peer::start(
        Mode::Plain,
        Script::microsoft(),
        pki.server_config(Cert::Good),
    )
    .await;
    let idp = Idp::start(Outcome::ApproveAfter(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("org.toml");
    std::fs::write(
        &preset,
        idp.preset()
            .replace("server = \"127.0.0.1\"", "server = \"smtp.office365.com\""),
    )
    .unwrap();
    let config = dir.path().join("relay.toml");
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("SCANMAIL_ORG", &preset)
            .output()
            .unwrap()
    };
    let out = run(&["relay", "init"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("provider = \"microsoft\"") && text.contains("auth = \"oauth\""),
        "{text}"
    );
    assert!(text.contains("[upstream.oauth.microsoft]"), "{text}");
    assert_eq!(
        run(&["relay", "init"]).status.code(),
        Some(2),
        "never over an existing file"
    );
    // Point the upstream at the scripted peer, keep secrets in a file (no keychain here).
    let ca = pki.ca_file(dir.path());
    let text = text
        .replace(
            "account = \"scanner@example.edu\"",
            &format!("account = \"{USER}\""),
        )
        .replace(
            "# server = \"smtp.office365.com\"",
            "server = \"127.0.0.1\"",
        )
        .replace(
            "port = 587",
            &format!(
                "port = {}\nca_file = \"{}\"\nsecrets = \"file\"",
                peer.port,
                ca.display()
            ),
        );
    std::fs::write(&config, text).unwrap();
    let c2 = config.clone();
    let p2 = preset.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["relay", "sign-in", "--config"])
            .arg(&c2)
            .env("SCANMAIL_ORG", &p2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {stderr}");
    assert!(
        stderr.contains(idp::USER_CODE),
        "the code to type: {stderr}"
    );
    assert!(stdout.contains("Signed in"), "{stdout}");
    assert!(
        !stdout.contains(idp::REFRESH) && !stderr.contains(idp::REFRESH) && !stdout.contains(TOKEN)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("relay-secret")).unwrap(),
        idp::REFRESH
    );
    assert_eq!(
        peer.log().tokens.len(),
        1,
        "the sign-in was proven against the provider"
    );
    let out = run(&["relay", "add-device", "copier-3f", "--address", "10.0.0.7"]);
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    let line = |label: &str| {
        shown
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("Login name:").ends_with(" copier-3f")
            && line("Port:").ends_with(" 2525")
            && line("Security:").contains("STARTTLS")
            && line("Certificate check:")
                .contains("Off. Copiers do not know the relay's own certificate"),
        "{shown}"
    );
    // The card again later, as a page to print, with the maker's own menu words; never the
    // password, which was shown once.
    let page = String::from_utf8_lossy(
        &run(&[
            "card",
            "--relay",
            "copier-3f",
            "--manufacturer",
            "Konica Minolta",
            "--html",
        ])
        .stdout,
    )
    .to_string();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("<th>Certificate check</th>")
            && page.contains("Konica Minolta calls it: Start TLS")
            && page.contains("<th>Port</th><td>2525</td>"),
        "{page}"
    );
    let password = line("Password:");
    let password = password.split_whitespace().last().unwrap_or("?");
    assert!(!page.contains(password), "the password is shown only once");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("# Where copiers connect"),
        "comments kept"
    );
    assert_eq!(
        run(&["relay", "add-device", "copier-3f"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["relay", "remove-device", "copier-3f"]).status.code(),
        Some(0)
    );
    assert!(
        !std::fs::read_to_string(&config)
            .unwrap()
            .contains("copier-3f")
    );
    assert_eq!(
        run(&["relay", "remove-device", "copier-3f"]).status.code(),
        Some(2)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&run(&["relay", "status", "--json"]).stdout).unwrap();
    assert_eq!(v["upstream"]["signed_in"], true);
    assert_eq!(v["running"], false);
    assert!(v["upstream"]["token_expires"].is_string());
}

/// A warning reaches the help desk by mail, sent through the relay itself, once a day.
#[tokio::test(flavor = "multi_thread")]
async fn the_help_desk_hears_of_warnings_once_a_day() {
    let (mut rig, _devices) = Rig::prepare(
        Script::microsoft(),
        "help_desk_email = \"help@lab.example\"",
        &[("copier", &[])],
    )
    .await;
    // Signed in, then three refusals in a row, as the state file keeps them across a restart.
    let state = rig.dir.path().join("relay-state.json");
    let v = serde_json::json!({
        "upstream": {
            "signed_in": true,
            "refused_in_a_row": 3,
            "last_error": "The mail provider refused a message: 550 5.7.60"
        }
    });
    std::fs::write(&state, serde_json::to_vec(&v).unwrap()).unwrap();
    rig.run().await;
    let mail = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(m) = rig
                .peer
                .log()
                .messages
                .iter()
                .find(|m| m.contains("needs a look"))
            {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    assert!(
        mail.contains("To: help@lab.example") && mail.contains("refused the last 3"),
        "{mail}"
    );
    assert!(
        rig.peer
            .log()
            .commands
            .iter()
            .any(|(_, c)| c == "RCPT TO:<help@lab.example>")
    );
    let s = rig.status();
    assert!(
        s["warnings"][0]
            .as_str()
            .unwrap()
            .contains("refused the last 3"),
        "{s}"
    );
    // Once a day: a restart the same day sends nothing more.
    rig.stop().await.unwrap();
    rig.run().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let count = rig
        .peer
        .log()
        .messages
        .iter()
        .filter(|m| m.contains("needs a look"))
        .count();
    assert_eq!(count, 1);
    rig.stop().await.unwrap();
}

/// Each refusal is kept against the copier (its name when its login or address says it, else
/// the address), with what happened and what to do, for `relay status` and the Relay page.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_kept_against_the_copier_with_the_fix() {
    let (rig, devices) = Rig::start(
        Script::microsoft(),
        "",
        &[
            ("copier-3f", &[]),
            ("copier-4f", &["--address", "127.0.0.44"]),
        ],
    )
    .await;
    let cert = rig.cert();
    let (a, b, pb) = (&devices[0].0, &devices[1].0, &devices[1].1);
    // A wrong password, a copier from another address, an unknown login.
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 5), rig.port, &cert).await;
    assert!(c.login(a, "wrongwrongwrongw").await.starts_with("535"));
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 7), rig.port, &cert).await;
    assert!(c.login(b, pb).await.starts_with("535"));
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 8), rig.port, &cert).await;
    assert!(
        c.login("nobody", "wrongwrongwrongw")
            .await
            .starts_with("535")
    );
    // From copier-4f's own address: a sign-in before encryption.
    let mut plain = Copier::connect(Ipv4Addr::new(127, 0, 0, 44), rig.port).await;
    plain.cmd("EHLO copier").await;
    assert!(plain.login(b, pb).await.starts_with("538"));
    // An old copier: STARTTLS, then a hello offering only TLS 1.0.
    let mut r =
        BufReader::new(support::copier::tcp_from(Ipv4Addr::new(127, 0, 0, 9), rig.port).await);
    support::copier::read_reply(&mut r).await;
    r.get_mut()
        .write_all(b"EHLO old\r\nSTARTTLS\r\n")
        .await
        .unwrap();
    support::copier::read_reply(&mut r).await;
    assert!(support::copier::read_reply(&mut r).await.starts_with("220"));
    r.get_mut()
        .write_all(&scanmail::receive::hello::tls10_only_hello("relay"))
        .await
        .unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut r, &mut rest),
    )
    .await;

    let state_file = rig.dir.path().join("relay-state.json");
    let state = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap()
    };
    let mut v = state();
    for _ in 0..50 {
        if v["strangers"]["127.0.0.9"]["refusal"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        v = state();
    }
    assert_eq!(
        v["devices"]["copier-3f"]["refusal"], "wrong-password",
        "{v:#}"
    );
    assert_eq!(v["devices"]["copier-3f"]["refused_from"], "127.0.0.5");
    assert_eq!(
        v["devices"]["copier-4f"]["refusal"], "sign-in-without-tls",
        "{v:#}"
    );
    assert_eq!(
        v["strangers"]["127.0.0.8"]["refusal"], "unknown-login",
        "{v:#}"
    );
    assert_eq!(v["strangers"]["127.0.0.9"]["refusal"], "old-tls", "{v:#}");
    assert!(
        v["strangers"]["127.0.0.9"]["last_error"]
            .as_str()
            .unwrap()
            .contains("old encryption (TLS 1.0)"),
        "{v:#}"
    );
    // What relay status says: each with what to do.
    let config = rig.config.clone();
    let out = tokio::task::spawn_blocking(move || scanmail(&["relay", "status"], &config))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Last problem: It signed in from 127.0.0.5 with a wrong password.")
            && text.contains("What to do: Staff type the password from the copier's card")
            && text.contains("Refused from 127.0.0.9")
            && text.contains("allow_plain_from = [\"127.0.0.9\"]")
            // Known only by its address: the commands name NAME and say what it is.
            && text.contains("scanmail relay remove-device NAME")
            && !text.contains("remove-device 127.0.0.9"),
        "{text}"
    );
    let config = rig.config.clone();
    let out =
        tokio::task::spawn_blocking(move || scanmail(&["relay", "status", "--json"], &config))
            .await
            .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "copier-3f")
        .unwrap();
    assert!(
        d["fix"]
            .as_str()
            .unwrap()
            .contains("scanmail relay remove-device copier-3f"),
        "{d:#}"
    );
}
