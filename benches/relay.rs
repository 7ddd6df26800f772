//! The relay under load, through the latency proxy (25 ms each way between the relay and a
//! scripted Microsoft 365 with XOAUTH2; copiers are local, as on a lab's network):
//! - a 10 MB scan through the relay, time from the copier's connect to its final reply, next to
//!   the same scan sent straight to the provider with the engine's conversation (pipelined
//!   MAIL/RCPT/DATA); the relay's overhead against one upstream round trip plus 5 %;
//! - the relay process's peak memory with 20 copiers sending 10 MB each at once;
//! - small messages per second (20 copiers, 10 messages each on one connection).
//!
//!     cargo bench --bench relay

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use base64::Engine;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::copier::{Copier, read_reply, tls_client};
use support::idp::{self, Idp, Outcome};
use support::proxy::LatencyProxy;
use support::{Cert, Mode, Peer, Pki, Script, TOKEN, USER};
use tokio::io::{AsyncWriteExt, BufReader};

const ONE_WAY: Duration = Duration::from_millis(25);
const RUNS: usize = 5;

fn scan(mb: usize) -> Vec<u8> {
    let mut b =
        b"From: copier@lab.example\r\nTo: me@lab.example\r\nSubject: Scan\r\nContent-Type: application/pdf\r\n\r\n"
            .to_vec();
    let line = [b'A'; 76];
    for _ in 0..(mb * 1024 * 1024 / 78) {
        b.extend_from_slice(&line);
        b.extend_from_slice(b"\r\n");
    }
    b
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The engine's conversation straight to the provider (through the proxy): greeting, EHLO,
/// STARTTLS, EHLO, AUTH XOAUTH2, MAIL+RCPT+DATA in one write, the message. Milliseconds.
async fn direct(port: u16, ca: &[u8], body: &[u8]) -> f64 {
    let t = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut r = BufReader::new(tcp);
    read_reply(&mut r).await;
    r.get_mut().write_all(b"EHLO bench\r\n").await.unwrap();
    read_reply(&mut r).await;
    r.get_mut().write_all(b"STARTTLS\r\n").await.unwrap();
    read_reply(&mut r).await;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tls_client(ca).connect(name, r.into_inner()).await.unwrap();
    let mut c = BufReader::new(tls);
    c.get_mut().write_all(b"EHLO bench\r\n").await.unwrap();
    read_reply(&mut c).await;
    let blob = base64::engine::general_purpose::STANDARD
        .encode(format!("user={USER}\x01auth=Bearer {TOKEN}\x01\x01"));
    c.get_mut()
        .write_all(format!("AUTH XOAUTH2 {blob}\r\n").as_bytes())
        .await
        .unwrap();
    assert!(read_reply(&mut c).await.starts_with("235"));
    c.get_mut()
        .write_all(format!("MAIL FROM:<{USER}>\r\nRCPT TO:<me@lab.example>\r\nDATA\r\n").as_bytes())
        .await
        .unwrap();
    for _ in 0..3 {
        read_reply(&mut c).await;
    }
    c.get_mut().write_all(body).await.unwrap();
    c.get_mut().write_all(b".\r\n").await.unwrap();
    c.get_mut().flush().await.unwrap();
    assert!(read_reply(&mut c).await.starts_with("250"));
    t.elapsed().as_secs_f64() * 1000.0
}

/// The same scan from a copier through the relay. Milliseconds.
async fn through(
    from: Ipv4Addr,
    port: u16,
    cert: &[u8],
    login: &(String, String),
    body: &[u8],
) -> f64 {
    let t = Instant::now();
    let mut c = Copier::secure(from, port, cert).await;
    assert!(c.login(&login.0, &login.1).await.starts_with("235"));
    let signed_in = t.elapsed().as_secs_f64() * 1000.0;
    let r = c.send("me@lab.example", body).await;
    assert!(r[3].starts_with("250"), "{r:?}");
    if std::env::var_os("BENCH_STEPS").is_some() {
        eprintln!("copier signed in to the relay after {signed_in:.1} ms");
    }
    t.elapsed().as_secs_f64() * 1000.0
}

fn peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pki = Pki::new();
        let peer = Peer::start(Mode::Plain, Script::microsoft(), pki.server_config(Cert::Good)).await;
        let proxy = LatencyProxy::start(
            std::net::SocketAddr::from(([127, 0, 0, 1], peer.port)),
            ONE_WAY,
        )
        .await;
        let idp = Idp::start(Outcome::ApproveAfter(0)).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = pki.ca_file(dir.path());
        let config = dir.path().join("relay.toml");
        std::fs::write(
            &config,
            format!(
                "listen = [\"127.0.0.1:0\"]\nmax_connections = 64\n[upstream]\nprovider = \"microsoft\"\naccount = \"{USER}\"\nauth = \"oauth\"\nserver = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{}\"\nsecrets = \"file\"\n[upstream.oauth.microsoft]\nclient_id = \"{}\"\ntenant = \"test.example.edu\"\nauthority = \"{}\"\n",
                proxy.port,
                ca.display(),
                idp::CLIENT_ID,
                idp.base()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("relay-secret"), idp::REFRESH).unwrap();
        let bin = env!("CARGO_BIN_EXE_scanmail");
        let mut logins = Vec::new();
        for i in 0..20 {
            let out = std::process::Command::new(bin)
                .args(["relay", "add-device", &format!("copier-{i}"), "--json", "--config"])
                .arg(&config)
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            logins.push((
                v["login"].as_str().unwrap().to_string(),
                v["password"].as_str().unwrap().to_string(),
            ));
        }
        let (mut relay, port) = support::rig::relay_process(bin, &config);
        let cert = std::fs::read(dir.path().join("relay-cert.pem")).unwrap();
        let ca_pem = pki.ca_pem.as_bytes().to_vec();
        let ten = Arc::new(scan(10));
        // Warm up: the first message refreshes the token.
        through(Ipv4Addr::new(127, 0, 2, 1), port, &cert, &logins[0], &scan(0)).await;
        let mut via = Vec::new();
        let mut straight = Vec::new();
        for _ in 0..RUNS {
            straight.push(direct(proxy.port, &ca_pem, &ten).await);
            via.push(through(Ipv4Addr::new(127, 0, 2, 1), port, &cert, &logins[0], &ten).await);
        }
        let (d, v) = (median(straight), median(via));
        let goal = 2.0 * ONE_WAY.as_secs_f64() * 1000.0 + 0.05 * d;
        eprintln!(
            "10 MB: straight {d:.0} ms, through the relay {v:.0} ms; peak so far {} KB; now 20 at once",
            peak_kb(relay.id())
        );
        // 20 copiers, 10 MB each, at once.
        let t = Instant::now();
        let mut all = Vec::new();
        for (i, login) in logins.iter().enumerate() {
            let (login, cert, ten) = (login.clone(), cert.clone(), ten.clone());
            all.push(tokio::spawn(async move {
                through(Ipv4Addr::new(127, 0, 3, u8::try_from(i + 1).unwrap()), port, &cert, &login, &ten).await
            }));
        }
        for a in all {
            a.await.unwrap();
        }
        let twenty = t.elapsed().as_secs_f64();
        let peak = peak_kb(relay.id());
        // Small messages: 20 copiers, 10 each on one connection.
        let small = Arc::new(scan(0));
        let t = Instant::now();
        let mut all = Vec::new();
        for (i, login) in logins.iter().enumerate() {
            let (login, cert, small) = (login.clone(), cert.clone(), small.clone());
            all.push(tokio::spawn(async move {
                let mut c = Copier::secure(Ipv4Addr::new(127, 0, 4, u8::try_from(i + 1).unwrap()), port, &cert).await;
                assert!(c.login(&login.0, &login.1).await.starts_with("235"));
                for _ in 0..10 {
                    let r = c.send("me@lab.example", &small).await;
                    assert!(r[3].starts_with("250"), "{r:?}");
                }
            }));
        }
        for a in all {
            a.await.unwrap();
        }
        let per_second = 200.0 / t.elapsed().as_secs_f64();
        let _ = relay.kill();
        let _ = relay.wait();
        println!("relay through the latency proxy (25 ms each way), {RUNS} runs, median");
        println!("| what | result | goal |");
        println!("| --- | --- | --- |");
        println!("| 10 MB scan, straight to the provider (engine's conversation) | {d:.0} ms | |");
        println!("| 10 MB scan through the relay | {v:.0} ms | at most {:.0} ms |", d + goal);
        println!("| relay overhead | {:.0} ms ({:.2} round trips) | at most 1 round trip + 5 % ({goal:.0} ms) |", v - d, (v - d) / 50.0);
        println!("| 20 copiers x 10 MB at once | {twenty:.1} s | |");
        println!("| relay peak memory (VmHWM) | {:.1} MB | at most 100 MB |", peak as f64 / 1024.0);
        println!("| small messages, 20 copiers x 10 | {per_second:.0} per second | |");
    });
}
