//! The relay through Microsoft Graph against the relay through SMTP, each provider (the Graph
//! look-alike, a scripted Microsoft 365 SMTP) behind the latency proxy (25 ms each way); copiers
//! are local, as on a lab's network:
//! - a 10 MB scan (a PDF attachment): time from the copier's connect to its final reply, through
//!   Graph and through SMTP (goal: Graph at most 1.5 times SMTP);
//! - the Graph relay process's peak memory with 20 copiers sending 10 MB scans at once (goal: at
//!   most 150 MB).
//!
//!     cargo bench --bench relay_graph

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use base64::Engine;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::copier::Copier;
use support::graph::GraphPeer;
use support::idp::{self, Idp, Outcome};
use support::proxy::LatencyProxy;
use support::{Cert, Mode, Peer, Pki, Script, USER};

const ONE_WAY: Duration = Duration::from_millis(25);
const RUNS: usize = 5;

/// A scan: a line of text and a PDF of `mb` MB.
fn scan(mb: usize) -> Vec<u8> {
    let pdf: Vec<u8> = (0..mb * 1_000_000).map(|i| (i % 251) as u8).collect();
    let mut m = String::from(
        "From: copier@lab.example\r\nTo: me@lab.example\r\nSubject: Scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nScanned.\r\n--s\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    for line in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(line).unwrap());
        m.push_str("\r\n");
    }
    m.push_str("--s--\r\n");
    m.into_bytes()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

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
    let r = c.send("me@lab.example", body).await;
    assert!(r[3].starts_with("250"), "{r:?}");
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

/// Starts `relay run` on `config` with `devices` copiers: the process, its port, the logins.
fn relay(config: &Path, devices: usize) -> (std::process::Child, u16, Vec<(String, String)>) {
    let bin = env!("CARGO_BIN_EXE_scanmail");
    let mut logins = Vec::new();
    for i in 0..devices {
        let out = std::process::Command::new(bin)
            .args([
                "relay",
                "add-device",
                &format!("copier-{i}"),
                "--json",
                "--config",
            ])
            .arg(config)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        logins.push((
            v["login"].as_str().unwrap().to_string(),
            v["password"].as_str().unwrap().to_string(),
        ));
    }
    let (child, port) = support::rig::relay_process(bin, config);
    (child, port, logins)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let idp = Idp::start(Outcome::ApproveAfter(0)).await;
        // Microsoft Graph behind the proxy.
        let graph = GraphPeer::start().await;
        let graph_proxy = LatencyProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], graph.port)), ONE_WAY).await;
        let gdir = tempfile::tempdir().unwrap();
        let gconfig = gdir.path().join("relay.toml");
        let (key, cert) = scanmail::oauth::app::make("ScanMail relay (bench)", 30).unwrap();
        std::fs::write(gdir.path().join("relay-secret"), key.expose()).unwrap();
        std::fs::write(gdir.path().join("relay-app.cer"), &cert.der).unwrap();
        idp.app.lock().unwrap().certificates.push(cert.der.clone());
        std::fs::write(
            &gconfig,
            format!(
                "listen = [\"127.0.0.1:0\"]\nmax_connections = 64\nmax_message_bytes = 20000000\n[upstream]\nprovider = \"microsoft\"\naccount = \"{USER}\"\nauth = \"app\"\napi = \"graph\"\ngraph_url = \"http://127.0.0.1:{}\"\nsecrets = \"file\"\n[upstream.oauth.microsoft]\nclient_id = \"{}\"\ntenant = \"{}\"\nauthority = \"{}\"\ncertificate = \"relay-app.cer\"\n",
                graph_proxy.port,
                idp::APP_CLIENT_ID,
                idp::TENANT_ID,
                idp.base()
            ),
        )
        .unwrap();
        // SMTP behind the proxy.
        let pki = Pki::new();
        let mut script = Script::microsoft();
        script.token = idp::APP_TOKEN.into();
        let peer = Peer::start(Mode::Plain, script, pki.server_config(Cert::Good)).await;
        let smtp_proxy = LatencyProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], peer.port)), ONE_WAY).await;
        let sdir = tempfile::tempdir().unwrap();
        let ca = pki.ca_file(sdir.path());
        let sconfig = sdir.path().join("relay.toml");
        std::fs::write(sdir.path().join("relay-secret"), key.expose()).unwrap();
        std::fs::write(sdir.path().join("relay-app.cer"), &cert.der).unwrap();
        std::fs::write(
            &sconfig,
            format!(
                "listen = [\"127.0.0.1:0\"]\nmax_connections = 64\n[upstream]\nprovider = \"microsoft\"\naccount = \"{USER}\"\nauth = \"app\"\nserver = \"127.0.0.1\"\nport = {}\nsecurity = \"starttls\"\nca_file = \"{}\"\nsecrets = \"file\"\n[upstream.oauth.microsoft]\nclient_id = \"{}\"\ntenant = \"{}\"\nauthority = \"{}\"\ncertificate = \"relay-app.cer\"\n",
                smtp_proxy.port,
                ca.display(),
                idp::APP_CLIENT_ID,
                idp::TENANT_ID,
                idp.base()
            ),
        )
        .unwrap();
        let (mut grelay, gport, glogins) = relay(&gconfig, 20);
        let (mut srelay, sport, slogins) = relay(&sconfig, 1);
        let gcert = std::fs::read(gdir.path().join("relay-cert.pem")).unwrap();
        let scert = std::fs::read(sdir.path().join("relay-cert.pem")).unwrap();
        let ten = Arc::new(scan(10));
        // Warm up both (tokens, connections).
        through(Ipv4Addr::new(127, 0, 5, 1), gport, &gcert, &glogins[0], &scan(0)).await;
        through(Ipv4Addr::new(127, 0, 5, 2), sport, &scert, &slogins[0], &scan(0)).await;
        let (mut via_graph, mut via_smtp) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            via_smtp.push(through(Ipv4Addr::new(127, 0, 5, 2), sport, &scert, &slogins[0], &ten).await);
            via_graph.push(through(Ipv4Addr::new(127, 0, 5, 1), gport, &gcert, &glogins[0], &ten).await);
        }
        let (g, s) = (median(via_graph), median(via_smtp));
        // 20 copiers, 10 MB each, at once, through Graph.
        let t = Instant::now();
        let mut all = Vec::new();
        for (i, login) in glogins.iter().enumerate() {
            let (login, cert, ten) = (login.clone(), gcert.clone(), ten.clone());
            all.push(tokio::spawn(async move {
                through(Ipv4Addr::new(127, 0, 6, u8::try_from(i + 1).unwrap()), gport, &cert, &login, &ten).await
            }));
        }
        for a in all {
            a.await.unwrap();
        }
        let twenty = t.elapsed().as_secs_f64();
        let peak = peak_kb(grelay.id());
        assert_eq!(graph.side.lock().unwrap().sent.len(), 1 + RUNS + 20);
        for r in [&mut grelay, &mut srelay] {
            let _ = r.kill();
            let _ = r.wait();
        }
        println!("relay through Microsoft Graph and through SMTP, each behind the latency proxy (25 ms each way), {RUNS} runs, median");
        println!("| what | result | goal |");
        println!("| --- | --- | --- |");
        println!("| 10 MB scan through the relay to SMTP | {s:.0} ms | |");
        println!("| 10 MB scan through the relay to Graph | {g:.0} ms ({:.2} times SMTP) | at most 1.5 times |", g / s);
        println!("| 20 copiers x 10 MB at once through Graph | {twenty:.1} s | |");
        println!("| relay peak memory (VmHWM) for those 20 | {:.1} MB | at most 150 MB |", peak as f64 / 1024.0);
    });
}
