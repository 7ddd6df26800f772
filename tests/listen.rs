//! The copier check against real clients on loopback: ScanMail's own engine (TLS 1.3 and, with a
//! client held to it, TLS 1.2), Python's smtplib with STARTTLS and an attachment, a hand-built
//! TLS 1.0-only hello, a client that never starts TLS, one that sends a password before TLS,
//! one that sends 50 MB, one that stays silent; and the port closing when the check ends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use scanmail::listen::{self, Connection, Event, Options, Running, hello};
use scanmail::secrets::AppPassword;
use scanmail::smtp::{self, Request};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;
use support::{PASSWORD, USER};

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

async fn start(tls_port: bool, idle: u64) -> Running {
    listen::start(Options {
        address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        port: 0,
        tls_port: tls_port.then_some(0),
        seconds: 60,
        limits: scanmail::receive::Limits {
            idle: Duration::from_secs(idle),
            data_idle: Duration::from_secs(idle),
            ..Default::default()
        },
        password: Some(AppPassword::new(PASSWORD)),
        ..Options::default()
    })
    .await
    .unwrap()
}

/// The next finished connection.
async fn next(r: &mut Running) -> Connection {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), r.events.recv()).await {
            Ok(Some(Event::Finished(c))) => return *c,
            Ok(Some(_)) => {}
            other => panic!("no connection: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scanmails_own_engine_on_starttls_and_implicit_tls() {
    let mut r = start(true, 10).await;
    let mut req = Request::new("127.0.0.1", USER, AppPassword::new(PASSWORD));
    req.starttls_port = Some(r.port);
    req.ssl_port = r.tls_port;
    req.extra_ca_pem = Some(r.ca_pem.as_bytes().to_vec());
    let report = smtp::test_send(&req).await.unwrap();
    assert!(report.results.iter().all(|p| p.works), "{report:#?}");
    let mut seen = vec![next(&mut r).await, next(&mut r).await];
    seen.sort_by(|a, b| a.tls.mode.cmp(&b.tls.mode));
    let modes: Vec<_> = seen.iter().map(|c| c.tls.mode.as_str()).collect();
    assert_eq!(modes, ["implicit", "starttls"]);
    for c in &seen {
        assert_eq!(c.tls.handshake, "ok");
        assert_eq!(c.tls.highest_version.as_deref(), Some("TLS1.3"), "{c:#?}");
        assert!(c.tls.offered_versions.contains(&"TLS1.2".to_string()));
        assert_eq!(c.tls.modern_cipher, Some(true));
        let auth = c.auth.as_ref().unwrap();
        assert_eq!(
            (auth.mechanism.as_str(), auth.user.as_str()),
            ("PLAIN", USER)
        );
        assert_eq!(auth.password_matches, Some(true));
        assert_eq!(c.mail_from.as_deref(), Some(USER));
        assert!(c.size_bytes.unwrap() > 200);
        assert_eq!(c.verdicts.len(), 2);
        assert_eq!(c.verdicts[0].ok, Some(true), "{:?}", c.verdicts);
        let json = serde_json::to_string(c).unwrap();
        assert!(!json.contains(PASSWORD));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_held_to_tls_1_2_is_seen_as_such() {
    let mut r = start(true, 10).await;
    let port = r.tls_port.unwrap();
    let ca = r.ca_pem.clone();
    tokio::task::spawn_blocking(move || {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut line = String::new();
        BufReader::new(&mut tls).read_line(&mut line).unwrap();
        tls.write_all(b"EHLO old-copier\r\nQUIT\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = tls.read_to_end(&mut rest);
    })
    .await
    .unwrap();
    let c = next(&mut r).await;
    assert_eq!(c.tls.highest_version.as_deref(), Some("TLS1.2"));
    assert_eq!(c.tls.sni.as_deref(), Some("localhost"));
    assert_eq!(c.ehlo.as_deref(), Some("old-copier"));
}

/// A plain SMTP client on std's TcpStream: writes `lines`, returns everything the server said.
fn talk(port: u16, lines: &[&[u8]]) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut said = String::new();
    let mut reader = BufReader::new(tcp.try_clone().unwrap());
    reader.read_line(&mut said).unwrap();
    for l in lines {
        tcp.write_all(l).unwrap();
        // Read the reply lines for this command (multi-line replies end with "NNN ").
        loop {
            let mut one = String::new();
            if reader.read_line(&mut one).unwrap_or(0) == 0 {
                return said;
            }
            said += &one;
            if one.len() < 4 || one.as_bytes()[3] == b' ' {
                break;
            }
        }
    }
    said
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_1_0_only_hello_is_described_though_the_handshake_fails() {
    let mut r = start(false, 5).await;
    let port = r.port;
    tokio::task::spawn_blocking(move || {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut reader = BufReader::new(tcp.try_clone().unwrap());
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        tcp.write_all(b"EHLO KM_bizhub\r\n").unwrap();
        loop {
            l.clear();
            reader.read_line(&mut l).unwrap();
            if l.as_bytes()[3] == b' ' {
                break;
            }
        }
        tcp.write_all(b"STARTTLS\r\n").unwrap();
        l.clear();
        reader.read_line(&mut l).unwrap();
        assert!(l.starts_with("220"), "{l}");
        tcp.write_all(&hello::tls10_only_hello("smtp.office365.com"))
            .unwrap();
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
    })
    .await
    .unwrap();
    let c = next(&mut r).await;
    assert_eq!(c.tls.mode, "starttls");
    assert_eq!(c.tls.offered_versions, ["TLS1.0"]);
    assert_eq!(c.tls.handshake, "failed");
    assert_eq!(c.tls.sni.as_deref(), Some("smtp.office365.com"));
    let ms = c
        .verdicts
        .iter()
        .find(|v| v.provider == "Microsoft 365")
        .unwrap();
    assert_eq!(ms.ok, Some(false));
    assert!(
        ms.why
            .contains("too old (TLS 1.0): Microsoft 365 will refuse it"),
        "{ms:?}"
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("encryption did not start")),
        "{:?}",
        c.notes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_encryption_and_a_password_before_tls_are_refused_and_nothing_is_kept() {
    let mut r = start(false, 5).await;
    let port = r.port;
    let canary = "CANARY-pw-7731";
    let plain = base64_plain(USER, canary);
    let said = tokio::task::spawn_blocking(move || {
        let auth = format!("AUTH PLAIN {plain}\r\n");
        talk(
            port,
            &[
                b"EHLO plain-copier\r\n",
                auth.as_bytes(),
                b"MAIL FROM:<scanner@lab.example>\r\n",
                b"RCPT TO:<me@lab.example>\r\n",
                b"DATA\r\n",
                b"Subject: scan\r\n\r\nhello\r\n.\r\n",
                b"QUIT\r\n",
            ],
        )
    })
    .await
    .unwrap();
    assert!(said.contains("538 5.7.11 Encryption required"), "{said}");
    assert!(
        !said.contains("AUTH PLAIN LOGIN"),
        "no sign-in offered before TLS: {said}"
    );
    let c = next(&mut r).await;
    assert_eq!(c.tls.mode, "none");
    assert_eq!(c.auth, None, "a password before TLS is not recorded");
    assert_eq!(c.rcpt_to, ["me@lab.example"]);
    assert!(c.verdicts.iter().all(|v| v.ok == Some(false)));
    assert!(c.verdicts[0].why.contains("without encryption"));
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains(canary) && !json.contains(&base64_plain(USER, canary)));
}

fn base64_plain(user: &str, pw: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_megabytes_are_measured_and_a_silent_client_times_out() {
    let mut r = start(false, 1).await;
    let port = r.port;
    tokio::task::spawn_blocking(move || {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut reader = BufReader::new(tcp.try_clone().unwrap());
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        tcp.write_all(b"MAIL FROM:<a@lab.example>\r\n").unwrap();
        reader.read_line(&mut l).unwrap();
        tcp.write_all(b"RCPT TO:<me@lab.example>\r\n").unwrap();
        reader.read_line(&mut l).unwrap();
        tcp.write_all(b"DATA\r\n").unwrap();
        reader.read_line(&mut l).unwrap();
        let line = [b'A'; 998];
        let mut chunk = Vec::new();
        for _ in 0..1000 {
            chunk.extend_from_slice(&line);
            chunk.extend_from_slice(b"\r\n");
        }
        for _ in 0..50 {
            tcp.write_all(&chunk).unwrap(); // 50 x 1,000,000 bytes
        }
        tcp.write_all(b".\r\nQUIT\r\n").unwrap();
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
    })
    .await
    .unwrap();
    let c = next(&mut r).await;
    assert_eq!(c.size_bytes, Some(50_000_000));
    assert!(
        c.notes.iter().any(|n| n.contains("threw it away")),
        "{:?}",
        c.notes
    );
    // Silent: the greeting, then nothing. The check ends it after the idle time.
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let c = next(&mut r).await;
    assert!(
        c.notes.iter().any(|n| n.contains("stopped talking")),
        "{:?}",
        c.notes
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pythons_smtplib_with_starttls_and_a_pdf() {
    let mut r = start(false, 10).await;
    let dir = std::env::temp_dir().join(format!("scanmail-listen-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &r.ca_pem).unwrap();
    let script = format!(
        r#"
import smtplib, ssl
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "printer@lab.example"
m["To"] = "me@lab.example"
m["Subject"] = "Scan"
m.set_content("scan attached")
m.add_attachment(b"%PDF-1.4 " + b"x" * 99991, maintype="application", subtype="pdf", filename="scan.pdf")
s = smtplib.SMTP("127.0.0.1", {port}, local_hostname="KM-C300i")
s.starttls(context=ssl.create_default_context(cafile={ca:?}))
s.login("{USER}", "wrong-password")
s.send_message(m)
s.quit()
"#,
        port = r.port,
        ca = ca.display().to_string()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = next(&mut r).await;
    assert_eq!(c.ehlo.as_deref(), Some("KM-C300i"));
    assert_eq!(c.tls.mode, "starttls");
    assert_eq!(c.tls.handshake, "ok");
    let auth = c.auth.as_ref().unwrap();
    assert_eq!(
        auth.password_matches,
        Some(false),
        "the copier's password differs"
    );
    assert_eq!(c.attachments.len(), 1, "{c:#?}");
    assert_eq!(c.attachments[0].kind, "application/pdf");
    assert_eq!(c.attachments[0].bytes, 100_000);
    let ms = c
        .verdicts
        .iter()
        .find(|v| v.provider == "Microsoft 365")
        .unwrap();
    assert!(
        ms.why
            .contains("sends as printer@lab.example but signs in as"),
        "{ms:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_port_closes_when_the_check_ends_and_a_taken_port_is_said_plainly() {
    let r = start(false, 5).await;
    let port = r.port;
    let taken = listen::start(Options {
        address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        port,
        ..Options::default()
    })
    .await;
    let Err(e) = taken else { panic!("bound twice") };
    assert!(
        e.to_string()
            .starts_with(&format!("Port {port} is already in use")),
        "{e}"
    );
    drop(r); // Cancel.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "closed on cancel"
    );
    // The time running out closes it too.
    let mut r = listen::start(Options {
        address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        port: 0,
        seconds: 1,
        ..Options::default()
    })
    .await
    .unwrap();
    let port = r.port;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Event::Ended(why)) = r.events.recv().await {
                return why;
            }
        }
    })
    .await
    .unwrap();
    assert!(ended.contains("time for the check ran out"), "{ended}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "closed when the time ran out"
    );
}

#[test]
fn the_command_line_prints_one_json_line_per_connection() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = std::process::Command::new(BIN)
        .args([
            "listen",
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args([
            "--once",
            "--json",
            "--seconds",
            "30",
            "--provider",
            "microsoft",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut tries = 0;
    let said = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() || tries > 50 {
            // The probe above was a connection too; --once ends after the first one.
            break String::new();
        }
        tries += 1;
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert!(said.is_empty());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    for key in [
        "peer",
        "ehlo",
        "tls",
        "auth",
        "mail_from",
        "rcpt_to",
        "size_bytes",
        "attachments",
        "verdicts",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {line}");
    }
    assert_eq!(v["tls"]["mode"], "none");
    assert_eq!(v["verdicts"][0]["provider"], "Microsoft 365");
    assert_eq!(v["peer"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_throwaway_ca_vouches_only_for_this_check_and_for_one_day() {
    use rustls::pki_types::pem::PemObject;
    let r = start(false, 5).await;
    let der = rustls::pki_types::CertificateDer::pem_slice_iter(r.ca_pem.as_bytes())
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    let v = cert.validity();
    let life = v.not_after.timestamp() - v.not_before.timestamp();
    assert!(life <= 86_400 + 600, "valid for {life} s");
    let nc = cert
        .name_constraints()
        .unwrap()
        .expect("a name-constrained CA");
    assert!(nc.critical);
    let permitted = nc.value.permitted_subtrees.as_ref().unwrap();
    let names: Vec<String> = permitted.iter().map(|s| format!("{:?}", s.base)).collect();
    assert!(names.iter().any(|n| n.contains("localhost")), "{names:?}");
    assert!(names.len() <= 4, "only this check's names: {names:?}");
}
