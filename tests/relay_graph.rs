//! The relay through Microsoft Graph, against a Graph look-alike and the local identity provider
//! on loopback: small and large messages (1 KB in one sendMail; 3 MB and 30 MB through a draft
//! and upload sessions; 120 MB refused with its size), Bcc-only and envelope-only recipients,
//! several attachments compared byte for byte, throttling, an outage, a token refused and one
//! that expires mid-upload, 403, 413, a refused recipient, and the relay stopped mid-upload.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// The look-alike's state is read under its lock and the guard dropped before the next await.
#![allow(clippy::await_holding_lock)]

mod support;

use base64::Engine;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;
use support::copier::Copier;
use support::graph::{GraphPeer, recipients_of};
use support::idp::{self, Idp, Outcome};
use support::rig::{BIN, PATIENCE, add_device};

struct GraphRig {
    dir: tempfile::TempDir,
    config: PathBuf,
    graph: GraphPeer,
    idp: Idp,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

impl GraphRig {
    async fn start(extra: &str) -> (GraphRig, String) {
        let graph = GraphPeer::start().await;
        let idp = Idp::start(Outcome::ApproveAfter(0)).await;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("relay.toml");
        let (key, cert) = scanmail::oauth::app::make("ScanMail relay (test)", 365).unwrap();
        std::fs::write(dir.path().join("relay-secret"), key.expose()).unwrap();
        std::fs::write(dir.path().join("relay-app.cer"), &cert.der).unwrap();
        idp.app.lock().unwrap().certificates.push(cert.der.clone());
        std::fs::write(
            &config,
            format!(
                r#"listen = ["127.0.0.1:0"]
max_connections = 64
max_connections_per_address = 8
{extra}
[upstream]
provider = "microsoft"
account = "{user}"
auth = "app"
api = "graph"
graph_url = "{graph}"
secrets = "file"

[upstream.oauth.microsoft]
client_id = "{client}"
tenant = "{tenant}"
authority = "{authority}"
certificate = "relay-app.cer"
"#,
                user = support::USER,
                graph = graph.url(),
                client = idp::APP_CLIENT_ID,
                tenant = idp::TENANT_ID,
                authority = idp.base(),
            ),
        )
        .unwrap();
        let password = add_device(&config, "copier", &[]);
        let mut rig = GraphRig {
            dir,
            config,
            graph,
            idp,
            port: 0,
            stop: None,
            task: None,
        };
        rig.run().await;
        (rig, password)
    }

    async fn run(&mut self) {
        let (task, stop, listening) = support::rig::spawn_relay(&self.config).await;
        (self.task, self.stop) = (Some(task), Some(stop));
        self.port = support::rig::port_of(&listening, "STARTTLS");
    }

    async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(PATIENCE, t).await;
        }
    }

    fn cert(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("relay-cert.pem")).unwrap()
    }

    async fn copier(&self, password: &str) -> Copier {
        let mut c = Copier::secure(Ipv4Addr::new(127, 0, 0, 50), self.port, &self.cert()).await;
        assert!(c.login("copier", password).await.starts_with("235"));
        c
    }

    fn status(&self) -> serde_json::Value {
        let out = std::process::Command::new(BIN)
            .args(["relay", "status", "--json", "--config"])
            .arg(&self.config)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A scan: a text body and these attachments (name, type, bytes).
fn scan_with(to_header: &str, attachments: &[(&str, &str, Vec<u8>)]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut m = format!(
        "From: \"Copier 3F\" <copier@lab.example>\r\nTo: {to_header}\r\nSubject: Scan from 3F\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nScanned on floor 3.\r\n"
    );
    for (name, ctype, bytes) in attachments {
        m += &format!(
            "--sep\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        );
        for line in b64.encode(bytes).as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(line).unwrap());
            m.push_str("\r\n");
        }
    }
    m += "--sep--\r\n";
    m.into_bytes()
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Sends `message` to `rcpts` (the envelope); the final reply.
async fn send(c: &mut Copier, rcpts: &[&str], message: &[u8]) -> String {
    assert!(
        c.cmd("MAIL FROM:<copier@lab.example>")
            .await
            .starts_with("250")
    );
    for r in rcpts {
        let said = c.cmd(&format!("RCPT TO:<{r}>")).await;
        assert!(said.starts_with("250"), "{said}");
    }
    assert!(c.cmd("DATA").await.starts_with("354"));
    use tokio::io::AsyncWriteExt;
    let mut stuffed = Vec::with_capacity(message.len() + 64);
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            stuffed.push(b'.');
        }
        stuffed.extend_from_slice(line);
    }
    c.io.get_mut().write_all(&stuffed).await.unwrap();
    c.io.get_mut().write_all(b".\r\n").await.unwrap();
    c.io.get_mut().flush().await.unwrap();
    c.reply().await
}

#[tokio::test(flavor = "multi_thread")]
async fn small_and_large_messages_arrive_whole() {
    // A 30 MB scan is 41 MB as a message: IT raised the limit (Exchange takes up to 150 MB).
    let (mut rig, pw) = GraphRig::start("max_message_bytes = 60000000").await;
    let mut c = rig.copier(&pw).await;
    // 1 KB: one sendMail with the MIME message; From is the account, the copier's kept.
    let small = scan_with(
        "me@lab.example",
        &[("note.txt", "text/plain", bytes(1000, 1))],
    );
    assert!(
        send(&mut c, &["me@lab.example"], &small)
            .await
            .starts_with("250")
    );
    // 3 MB and 30 MB attachments: a draft, upload sessions in pieces, send.
    let three = bytes(3_100_000, 2);
    let thirty = bytes(30_000_000, 3);
    let big = scan_with(
        "me@lab.example",
        &[("scan-3mb.pdf", "application/pdf", three.clone())],
    );
    assert!(
        send(&mut c, &["me@lab.example"], &big)
            .await
            .starts_with("250")
    );
    let bigger = scan_with(
        "me@lab.example",
        &[("scan-30mb.pdf", "application/pdf", thirty.clone())],
    );
    assert!(
        send(&mut c, &["me@lab.example"], &bigger)
            .await
            .starts_with("250")
    );
    // Several attachments: two small and one large, each byte for byte.
    let several = vec![
        ("a.pdf", "application/pdf", bytes(50_000, 4)),
        ("b.jpg", "image/jpeg", bytes(200_000, 5)),
        ("c.pdf", "application/pdf", bytes(4_000_000, 6)),
    ];
    let msg = scan_with("me@lab.example", &several);
    assert!(
        send(&mut c, &["me@lab.example"], &msg)
            .await
            .starts_with("250")
    );
    let side = rig.graph.side.lock().unwrap();
    assert_eq!(side.sent.len(), 4);
    let mime = String::from_utf8(side.sent[0].mime.clone().unwrap()).unwrap();
    assert!(
        mime.starts_with(&format!(
            "From: {}\r\nReply-To: \"Copier 3F\" <copier@lab.example>",
            support::USER
        )),
        "{mime}"
    );
    assert!(mime.contains("Subject: Scan from 3F"));
    assert_eq!(
        side.sent[1].attachments,
        [(
            "scan-3mb.pdf".to_string(),
            "application/pdf".to_string(),
            three
        )]
    );
    assert_eq!(
        side.sent[2].attachments,
        [(
            "scan-30mb.pdf".to_string(),
            "application/pdf".to_string(),
            thirty
        )]
    );
    let got: Vec<_> = side.sent[3]
        .attachments
        .iter()
        .map(|(n, t, b)| (n.as_str(), t.as_str(), b.clone()))
        .collect();
    let want: Vec<_> = several
        .iter()
        .map(|(n, t, b)| (*n, *t, b.clone()))
        .collect();
    assert_eq!(got.len(), 3);
    for w in &want {
        assert!(got.contains(w), "{} missing or changed", w.0);
    }
    let draft = side.sent[2].json.clone().unwrap();
    assert_eq!(draft["subject"], "Scan from 3F");
    assert_eq!(
        draft["body"]["content"].as_str().unwrap().trim_end(),
        "Scanned on floor 3."
    );
    assert!(
        side.pieces
            .iter()
            .all(|&p| p <= support::graph::REQUEST_MAX),
        "pieces within 4 MiB"
    );
    assert_eq!(
        side.uploads_with_token, 0,
        "the upload address never got the token"
    );
    assert!(side.drafts.is_empty(), "no draft left behind");
    drop(side);
    // 120 MB: refused with its size, before anything reaches Graph.
    let huge = scan_with(
        "me@lab.example",
        &[("huge.pdf", "application/pdf", bytes(90_000_000, 7))],
    );
    let said = send(&mut c, &["me@lab.example"], &huge).await;
    assert!(
        said.starts_with("552 5.3.4") && said.contains("at most 60 MB"),
        "{said}"
    );
    assert_eq!(rig.graph.side.lock().unwrap().sent.len(), 4);
    let s = rig.status();
    assert_eq!(s["devices"][0]["messages"], 4, "{s}");
    rig.stop().await;
}

/// Graph takes recipients from the message: a Bcc-only or envelope-only recipient is added, and
/// an address in the header that was not an envelope recipient is taken out.
#[tokio::test(flavor = "multi_thread")]
async fn every_envelope_recipient_and_no_other() {
    let (mut rig, pw) = GraphRig::start("").await;
    let mut c = rig.copier(&pw).await;
    // Small (MIME): To names boss@ (not in the envelope); hidden@ only in the envelope.
    let small = scan_with("me@lab.example, boss@lab.example", &[]);
    assert!(
        send(&mut c, &["me@lab.example", "hidden@lab.example"], &small)
            .await
            .starts_with("250")
    );
    // Large (draft): no To header at all (Bcc-only).
    let big = scan_with(
        "undisclosed-recipients:;",
        &[("s.pdf", "application/pdf", bytes(3_200_000, 9))],
    );
    assert!(
        send(&mut c, &["a@lab.example", "b@lab.example"], &big)
            .await
            .starts_with("250")
    );
    let side = rig.graph.side.lock().unwrap();
    let mime = String::from_utf8(side.sent[0].mime.clone().unwrap()).unwrap();
    assert!(
        mime.contains("To: me@lab.example\r\n") && mime.contains("Bcc: hidden@lab.example\r\n"),
        "{mime}"
    );
    assert!(!mime.contains("boss@"), "{mime}");
    assert!(recipients_of(&side.sent[1], "toRecipients").is_empty());
    assert_eq!(
        recipients_of(&side.sent[1], "bccRecipients"),
        ["a@lab.example", "b@lab.example"]
    );
    drop(side);
    rig.stop().await;
}

/// The copier's 250 means what it means over SMTP: Graph's throttling waited out, an outage
/// ends in 451, a refused token renewed once, 403 with the exact fix, 413 and a refused
/// recipient as refusals.
#[tokio::test(flavor = "multi_thread")]
async fn graphs_answers_reach_the_copier_as_smtp_would_say_them() {
    let (mut rig, pw) = GraphRig::start("").await;
    let mut c = rig.copier(&pw).await;
    let small = scan_with("me@lab.example", &[]);
    // 429 twice, then taken.
    rig.graph.side.lock().unwrap().throttle = 2;
    assert!(
        send(&mut c, &["me@lab.example"], &small)
            .await
            .starts_with("250")
    );
    // The token refused once: a new one, then taken.
    rig.idp.app.lock().unwrap().distinct_tokens = true;
    rig.graph
        .side
        .lock()
        .unwrap()
        .expired
        .push(idp::APP_TOKEN.to_string());
    let said = send(&mut c, &["me@lab.example"], &small).await;
    assert!(
        said.starts_with("250"),
        "{said} {:?} {:?}",
        rig.idp.app.lock().unwrap(),
        rig.graph.side.lock().unwrap().requests
    );
    // 403: 451 for the copier (it keeps its scan), the fix in the status.
    rig.graph.side.lock().unwrap().forbidden = Some("ErrorAccessDenied".into());
    let said = send(&mut c, &["me@lab.example"], &small).await;
    assert!(said.starts_with("451 4.7.0"), "{said}");
    let s = rig.status();
    let e = s["upstream"]["last_error"].as_str().unwrap_or_default();
    assert!(
        e.contains("Application Mail.Send") && e.contains("403 ErrorAccessDenied"),
        "{s}"
    );
    rig.graph.side.lock().unwrap().forbidden = None;
    // A refused recipient: 550 for that message.
    rig.graph.side.lock().unwrap().bad_recipient = Some("nobody@lab.example".into());
    let said = send(&mut c, &["nobody@lab.example"], &small).await;
    assert!(said.starts_with("550 5.1.1"), "{said}");
    rig.graph.side.lock().unwrap().bad_recipient = None;
    // 503 until the copier would give up: 451, never 250.
    rig.graph.side.lock().unwrap().unavailable = true;
    let said = send(&mut c, &["me@lab.example"], &small).await;
    assert!(said.starts_with("451 4.4.2"), "{said}");
    rig.graph.side.lock().unwrap().unavailable = false;
    rig.stop().await;
}

/// A message over what the mailbox takes: the copier hears 552 with its size. A token that
/// runs out while a large scan uploads is renewed and the scan still goes.
#[tokio::test(flavor = "multi_thread")]
async fn too_big_for_the_mailbox_and_a_token_that_runs_out_mid_upload() {
    let (mut rig, pw) = GraphRig::start("").await;
    let mut c = rig.copier(&pw).await;
    rig.graph.side.lock().unwrap().mailbox_limit = Some(1_000_000);
    let two = scan_with(
        "me@lab.example",
        &[("s.pdf", "application/pdf", bytes(2_000_000, 11))],
    );
    let said = send(&mut c, &["me@lab.example"], &two).await;
    assert!(
        said.starts_with("552 5.3.4") && said.contains(" MB"),
        "{said}"
    );
    assert!(
        rig.graph.side.lock().unwrap().drafts.is_empty(),
        "the draft was deleted"
    );
    rig.graph.side.lock().unwrap().mailbox_limit = None;
    // The first token serves the draft and the upload session, then runs out before send.
    rig.idp.app.lock().unwrap().distinct_tokens = true;
    rig.graph.side.lock().unwrap().expire_after = Some(2);
    let big = scan_with(
        "me@lab.example",
        &[("s.pdf", "application/pdf", bytes(3_300_000, 12))],
    );
    let said = send(&mut c, &["me@lab.example"], &big).await;
    assert!(said.starts_with("250"), "{said}");
    let side = rig.graph.side.lock().unwrap();
    assert_eq!(side.sent.len(), 1);
    assert!(!side.expired.is_empty(), "a token did run out");
    drop(side);
    rig.stop().await;
}

/// The relay stopped while a scan uploads: the copier hears no 250, and the draft is deleted.
#[tokio::test(flavor = "multi_thread")]
async fn the_relay_stopped_mid_upload_leaves_no_draft() {
    let (mut rig, pw) = GraphRig::start("stop_grace_seconds = 1").await;
    let mut c = rig.copier(&pw).await;
    rig.graph.side.lock().unwrap().hang_uploads = true;
    let big = scan_with(
        "me@lab.example",
        &[("s.pdf", "application/pdf", bytes(3_300_000, 13))],
    );
    let copier = tokio::spawn(async move { send(&mut c, &["me@lab.example"], &big).await });
    tokio::time::timeout(PATIENCE, async {
        while rig.graph.side.lock().unwrap().sessions.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    rig.stop().await;
    let said = tokio::time::timeout(PATIENCE, copier)
        .await
        .unwrap()
        .unwrap();
    assert!(!said.starts_with('2'), "{said}");
    let side = rig.graph.side.lock().unwrap();
    assert!(side.sent.is_empty());
    assert_eq!(
        side.deleted.len(),
        1,
        "the draft was deleted: {:?}",
        side.requests
    );
    assert!(side.drafts.is_empty());
}

/// `relay test` walks Graph's links (token, the mailbox reachable, a real message) and status
/// names the upstream.
#[tokio::test(flavor = "multi_thread")]
async fn relay_test_and_status_name_microsoft_graph() {
    let (mut rig, _) = GraphRig::start("").await;
    let config = rig.config.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["relay", "test", "--json", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["settings", "tenant", "sign-in", "mailbox", "message"],
        "{v}"
    );
    assert!(
        v["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["ok"] == true),
        "{v}"
    );
    assert_eq!(
        rig.graph.side.lock().unwrap().sent.len(),
        1,
        "the real message"
    );
    let out = std::process::Command::new(BIN)
        .args(["relay", "status", "--config"])
        .arg(&rig.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Microsoft Graph as {}", support::USER)),
        "{text}"
    );
    rig.stop().await;
}
