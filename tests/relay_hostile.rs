//! The relay against what a security read and a stranger on the network found (issue "hold the
//! line"), each finding as it was reproduced, then the proof that the relay still serves a good
//! copier: lines that once panicked a session and kept its place, TLS handshakes trickled a byte
//! at a time, a provider that answers DATA with 250, a provider's refusal that names a
//! recipient, and a sign-in made while the relay runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::copier::{Copier, tcp_from};
use support::rig::{BIN, PATIENCE, Rig, scan, scanmail};
use support::{Fault, Script};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Signs in as `devices[0]` from `from` and sends a scan; the provider's final reply.
async fn good_copier(rig: &Rig, from: Ipv4Addr, devices: &[(String, String)]) -> String {
    let mut c = Copier::secure(from, rig.port, &rig.cert()).await;
    let signed = c.login(&devices[0].0, &devices[0].1).await;
    assert!(signed.starts_with("235"), "{signed}");
    let replies = c.send("me@lab.example", &scan("c@lab.example")).await;
    replies.last().cloned().unwrap_or_default()
}

/// `MAIL €€` (a character across a byte offset) once panicked the session and never gave its
/// place back: four from one address locked that address out until a restart. Now they are
/// plain refusals, and random lines too; the same address is then served.
#[tokio::test(flavor = "multi_thread")]
async fn lines_that_once_panicked_leave_no_place_taken() {
    let (mut rig, devices) = Rig::start(Script::microsoft(), "", &[("copier", &[])]).await;
    let from = Ipv4Addr::new(127, 0, 0, 30);
    for round in 0..20 {
        let mut c = Copier::connect(from, rig.port).await;
        let r = c.cmd("MAIL €€").await;
        assert!(r.starts_with("501") || r.starts_with("530"), "{r}");
        let r = c.cmd("RCPT €").await;
        assert!(r.starts_with('5'), "{r}");
        // Random bytes as command lines (no line end inside), ending with a line end.
        let mut junk: Vec<u8> = (0..64).map(|_| fastrand::u8(..)).collect();
        junk.retain(|&b| b != b'\n' && b != b'\r');
        junk.extend_from_slice(b"\r\n");
        c.io.get_mut().write_all(&junk).await.unwrap();
        let r = c.reply().await;
        assert!(
            r.len() >= 3 && r.as_bytes()[..3].iter().all(u8::is_ascii_digit),
            "{round}: {r:?}"
        );
        // Closed without QUIT, as a stranger would.
        drop(c);
    }
    // The same address signs in and sends: its places all came back.
    let last = good_copier(&rig, from, &devices).await;
    assert!(last.starts_with("250"), "{last}");
    rig.stop().await.unwrap();
}

/// A TLS handshake trickled a byte at a time once held a place for months (the limit restarted
/// with each byte). Now the whole handshake has 15 seconds, and while tricklers from ten
/// addresses fill every place, a copier from another address still gets in at once: a place
/// held by the biggest crowd that has not signed in gives way to it.
#[tokio::test(flavor = "multi_thread")]
async fn trickled_handshakes_from_ten_addresses_then_a_copier() {
    let (mut rig, devices) = Rig::start(Script::microsoft(), "", &[("copier", &[])]).await;
    let (port, tls_port) = (rig.port, rig.tls_port);
    let mut tricklers = Vec::new();
    for a in 0..10u8 {
        for k in 0..8u8 {
            let from = Ipv4Addr::new(127, 0, 1, 10 + a);
            tricklers.push(tokio::spawn(async move {
                let mut tcp = if k % 2 == 0 {
                    // SSL/TLS port: a record header, then one byte at a time.
                    tcp_from(from, tls_port).await
                } else {
                    // STARTTLS, then the same.
                    let mut r = BufReader::new(tcp_from(from, port).await);
                    let mut l = String::new();
                    r.read_line(&mut l).await.unwrap();
                    r.get_mut().write_all(b"STARTTLS\r\n").await.unwrap();
                    l.clear();
                    let _ = r.read_line(&mut l).await;
                    r.into_inner()
                };
                let start = tokio::time::Instant::now();
                let _ = tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await;
                let mut buf = [0u8; 64];
                loop {
                    // A byte every 2 s: well inside any per-read limit.
                    match tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await {
                        Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
                        Ok(Ok(_)) => {}
                        Err(_) => {
                            if tcp.write_all(&[0x01]).await.is_err() {
                                return Some(start.elapsed());
                            }
                        }
                    }
                    if start.elapsed() > Duration::from_secs(90) {
                        return None;
                    }
                }
            }));
        }
    }
    // Let them take every place the relay has (64 here, 8 an address).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let served = tokio::time::timeout(
        Duration::from_secs(10),
        good_copier(&rig, Ipv4Addr::new(127, 0, 0, 31), &devices),
    )
    .await
    .expect("a good copier was not served within 10 s while handshakes trickled");
    assert!(served.starts_with("250"), "{served}");
    // Every trickler was cut (at the handshake's deadline, or to make room), none held on.
    for t in tricklers {
        let held = t.await.unwrap();
        assert!(held.is_some(), "a trickled handshake was never cut");
    }
    rig.stop().await.unwrap();
}

/// A provider that answers DATA with 250 (not 354) once got the copier a 250 for a message it
/// never took. Now the copier hears 451 and keeps its scan.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_answers_data_with_250_gets_the_copier_no_250() {
    let script = Script::microsoft().with_fault(Fault::DataAnswer("250 2.0.0 OK"));
    let (mut rig, devices) = Rig::start(script, "", &[("copier", &[])]).await;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 32), rig.port, &rig.cert()).await;
    assert!(
        c.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    for _ in 0..2 {
        let replies = c.send("me@lab.example", &scan("c@lab.example")).await;
        let last = replies.last().unwrap();
        assert!(last.starts_with("451 4.4.2"), "{replies:?}");
        assert!(
            !replies.iter().skip(3).any(|r| r.starts_with('2')),
            "{replies:?}"
        );
    }
    assert!(rig.peer.log().messages.is_empty(), "nothing was taken");
    rig.stop().await.unwrap();
}

/// Runs `scanmail relay run` as its own process (its log is its standard error); the port for
/// STARTTLS and the child.
async fn relay_process(rig: &Rig) -> (tokio::process::Child, u16, tokio::task::JoinHandle<String>) {
    let mut child = tokio::process::Command::new(BIN)
        .args(["relay", "run", "--config"])
        .arg(&rig.config)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(l) = line.split("listening on ").nth(1) {
                return l.to_string();
            }
        }
        panic!("the relay ended before it listened");
    })
    .await
    .unwrap();
    let port = listening
        .split(", ")
        .find(|l| l.contains("STARTTLS"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|a| a.parse::<SocketAddr>().ok())
        .unwrap()
        .port();
    let log = tokio::spawn(async move {
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (child, port, log)
}

/// The provider refuses a recipient and names it: the copier hears the refusal, and the address
/// reaches no file, no status and no log line.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_naming_a_recipient_reaches_no_file_status_or_log() {
    let mut script = Script::microsoft();
    script.rcpt_to = vec![
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient boss.secret@lab.example not found by SMTP address lookup".into(),
    ];
    let (mut rig, devices) = Rig::prepare(script, "", &[("copier", &[])]).await;
    let (mut child, port, log) = relay_process(&rig).await;
    rig.port = port;
    let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 33), port, &rig.cert()).await;
    assert!(
        c.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    for _ in 0..3 {
        let replies = c
            .send("boss.secret@lab.example", &scan("c@lab.example"))
            .await;
        assert!(
            replies.last().unwrap().starts_with("550 5.1.10"),
            "{replies:?}"
        );
    }
    let status = scanmail(&["relay", "status", "--json"], &rig.config);
    let status_text = String::from_utf8_lossy(&status.stdout).to_string();
    let plain = scanmail(&["relay", "status"], &rig.config);
    child.kill().await.unwrap();
    let log = log.await.unwrap();
    assert!(
        status_text.contains("550 5.1.10"),
        "the code stays for IT: {status_text}"
    );
    let mut places = vec![
        ("status --json", status_text),
        ("status", String::from_utf8_lossy(&plain.stdout).to_string()),
        ("the log", log),
    ];
    for e in std::fs::read_dir(rig.dir.path()).unwrap().flatten() {
        if e.path().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).to_string();
            places.push(("a file", format!("{}: {text}", e.path().display())));
        }
    }
    for (place, text) in places {
        assert!(!text.contains("boss.secret"), "{place}: {text}");
    }
}

/// A relay started before its sign-in: once `relay sign-in` kept one, the running relay takes
/// it within seconds, says it is signed in, and still says so a minute later (its heartbeat
/// once wrote its old "not signed in" over the new sign-in), with no "sign in again".
#[tokio::test(flavor = "multi_thread")]
async fn a_relay_started_before_its_sign_in_says_signed_in_a_minute_later() {
    let (mut rig, devices) = Rig::prepare(Script::microsoft(), "", &[("copier", &[])]).await;
    std::fs::remove_file(rig.dir.path().join("relay-secret")).unwrap();
    rig.run().await;
    let wait_for = |want: bool| {
        let rig = &rig;
        async move {
            for _ in 0..60 {
                let s = rig.status();
                if s["upstream"]["signed_in"] == want {
                    return s;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            panic!("signed_in never became {want}: {}", rig.status());
        }
    };
    wait_for(false).await;
    // `relay sign-in` in another process (the device code, approved by the local identity
    // provider at once).
    let config = rig.config.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["relay", "sign-in", "--config"])
            .arg(&config)
            .env("SCANMAIL_NO_BROWSER", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    wait_for(true).await;
    // Past the running relay's next heartbeat.
    tokio::time::sleep(Duration::from_secs(65)).await;
    let s = rig.status();
    assert_eq!(s["upstream"]["signed_in"], true, "{s}");
    let warnings = s["warnings"].to_string();
    assert!(!warnings.contains("sign-in"), "{warnings}");
    let last = good_copier(&rig, Ipv4Addr::new(127, 0, 0, 34), &devices).await;
    assert!(last.starts_with("250"), "{last}");
    rig.stop().await.unwrap();
}

/// A copier removed while its connection is open goes at its next message (it once went on for
/// up to 30 minutes); a relay.toml changed into something unreadable keeps the copiers read
/// before, and says so in `relay status` (it once kept them silently).
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_copier_goes_at_once_and_a_broken_reload_is_said() {
    let (mut rig, devices) = Rig::start(
        Script::microsoft(),
        "",
        &[("copier-a", &[]), ("copier-b", &[])],
    )
    .await;
    let mut a = Copier::secure(Ipv4Addr::new(127, 0, 0, 35), rig.port, &rig.cert()).await;
    assert!(
        a.login(&devices[0].0, &devices[0].1)
            .await
            .starts_with("235")
    );
    let first = a.send("me@lab.example", &scan("c@lab.example")).await;
    assert!(first.last().unwrap().starts_with("250"), "{first:?}");
    let out = scanmail(&["relay", "remove-device", "copier-a"], &rig.config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let after = a.cmd("MAIL FROM:<c@lab.example>").await;
    assert!(after.starts_with("421 4.7.0"), "{after}");
    // relay.toml broken by hand: the relay goes on with copier-b and says what is wrong.
    let good = std::fs::read_to_string(&rig.config).unwrap();
    std::fs::write(&rig.config, format!("{good}\n[[device]\nname = broken\n")).unwrap();
    let b = good_copier_as(&rig, Ipv4Addr::new(127, 0, 0, 36), &devices[1]).await;
    assert!(b.starts_with("250"), "{b}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rig.dir.path().join("relay-state.json")).unwrap())
            .unwrap();
    assert!(state["settings_problem"].is_string(), "{state}");
    // Mended: read again at the next connection, and the warning goes.
    std::fs::write(&rig.config, &good).unwrap();
    let b = good_copier_as(&rig, Ipv4Addr::new(127, 0, 0, 36), &devices[1]).await;
    assert!(b.starts_with("250"), "{b}");
    let s = rig.status();
    assert!(!s["warnings"].to_string().contains("relay.toml"), "{s}");
    rig.stop().await.unwrap();
}

async fn good_copier_as(rig: &Rig, from: Ipv4Addr, device: &(String, String)) -> String {
    good_copier(rig, from, std::slice::from_ref(device)).await
}
