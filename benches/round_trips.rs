//! Round trips: a two-port test send through a proxy that adds 25 ms each way (one round trip
//! = 50 ms), against the real Postfix of the test suite when it runs (`source $MTA_DIR/env`
//! after `tests/mta/start.sh`), else against the scripted peer. Prints each port's time in
//! round trips next to the floor for its conversation, and the time a port takes when the
//! server's name gives a silent IPv6 address before a working IPv4 one.
//!
//!     cargo bench --bench round_trips

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use scanmail::secrets::AppPassword;
use scanmail::smtp::{Options, PortResult, Request, Resolve, Security, test_send_with};
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use support::proxy::LatencyProxy;

const ONE_WAY: Duration = Duration::from_millis(25);
const RUNS: usize = 9;

/// The fewest round trips each conversation needs, counted from the open TCP connection:
/// 465: TLS 1.3 handshake and the greeting after it (2), EHLO (1), AUTH PLAIN with its initial
/// response (1), MAIL+RCPT+DATA pipelined (1), the message (1).
/// 587: greeting (1), EHLO (1), STARTTLS (1), TLS 1.3 handshake (1), EHLO (1), AUTH (1),
/// MAIL+RCPT+DATA pipelined (1), the message (1).
fn floor(security: Security) -> f64 {
    match security {
        Security::Ssl => 6.0,
        Security::Starttls => 8.0,
    }
}

struct Target {
    name: &'static str,
    ssl: SocketAddr,
    starttls: SocketAddr,
    user: String,
    password: String,
    ca_pem: Vec<u8>,
    _peers: Option<(support::Peer, support::Peer)>,
}

async fn target() -> Target {
    if let Ok(host) = std::env::var("SCANMAIL_MTA_HOST") {
        let var = |k: &str| std::env::var(k).unwrap();
        let addr = |port: String| {
            (host.as_str(), port.parse::<u16>().unwrap())
                .to_socket_addrs()
                .unwrap()
                .find(SocketAddr::is_ipv4)
                .unwrap()
        };
        return Target {
            name: "Postfix + Dovecot (tests/mta)",
            ssl: addr(var("SCANMAIL_MTA_SSL_PORT")),
            starttls: addr(var("SCANMAIL_MTA_STARTTLS_PORT")),
            user: var("SCANMAIL_MTA_USER"),
            password: std::fs::read_to_string(var("SCANMAIL_MTA_PASSWORD_FILE"))
                .unwrap()
                .trim()
                .to_string(),
            ca_pem: std::fs::read(var("SCANMAIL_MTA_CA")).unwrap(),
            _peers: None,
        };
    }
    let (pki, ssl, st) = support::start_pair(support::Script::gmail()).await;
    Target {
        name: "scripted peer (Gmail's words; no SCANMAIL_MTA_HOST)",
        ssl: SocketAddr::from(([127, 0, 0, 1], ssl.port)),
        starttls: SocketAddr::from(([127, 0, 0, 1], st.port)),
        user: support::USER.into(),
        password: support::PASSWORD.into(),
        ca_pem: pki.ca_pem.into_bytes(),
        _peers: Some((ssl, st)),
    }
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Resolves every name to fixed addresses.
struct Fixed(Vec<SocketAddr>);

impl Resolve for Fixed {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let addrs = self.0.clone();
        Box::pin(async move { Ok(addrs) })
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let t = target().await;
        let ssl = LatencyProxy::start(t.ssl, ONE_WAY).await;
        let st = LatencyProxy::start(t.starttls, ONE_WAY).await;
        let mut req = Request::new("127.0.0.1", &t.user, AppPassword::new(t.password.clone()));
        req.ssl_port = Some(ssl.port);
        req.starttls_port = Some(st.port);
        req.extra_ca_pem = Some(t.ca_pem.clone());
        let mut times: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..RUNS {
            let report = test_send_with(&req, Options::default()).await.unwrap();
            for r in &report.results {
                assert!(r.works, "{r:#?}");
                times[usize::from(r.security == Security::Starttls)].push(r.elapsed_ms);
            }
        }
        let rtt = (ONE_WAY * 2).as_secs_f64() * 1000.0;
        println!("Round trips through a {} ms-each-way proxy, {RUNS} runs, against {}", ONE_WAY.as_millis(), t.name);
        println!();
        println!("| port | security | median | round trips | floor |");
        println!("|---|---|---|---|---|");
        for (security, v) in [Security::Ssl, Security::Starttls].into_iter().zip(times) {
            let ms = median(v);
            println!(
                "| {} | {} | {ms} ms | {:.1} | {:.0} |",
                if security == Security::Ssl { 465 } else { 587 },
                security.label(),
                ms as f64 / rtt,
                floor(security)
            );
        }

        // A silent IPv6 address before a working IPv4 one (no proxy).
        let pki = support::Pki::new();
        let peer = support::Peer::start(
            support::Mode::Implicit,
            support::Script::gmail(),
            pki.server_config(support::Cert::Good),
        )
        .await;
        let mut v = Vec::new();
        if let Some(_hole) = support::ipv6_black_hole(peer.port) {
            let mut req = Request::new(
                "127.0.0.1",
                support::USER,
                AppPassword::new(support::PASSWORD),
            );
            req.ssl_port = Some(peer.port);
            req.starttls_port = None;
            req.extra_ca_pem = Some(pki.ca_pem.as_bytes().to_vec());
            let options = Options {
                resolver: Arc::new(Fixed(vec![
                    SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, peer.port)),
                    SocketAddr::from(([127, 0, 0, 1], peer.port)),
                ])),
                events: None,
            };
            for _ in 0..RUNS {
                let report = test_send_with(&req, options.clone()).await.unwrap();
                let r: &PortResult = &report.results[0];
                assert!(r.works, "{r:#?}");
                v.push(r.elapsed_ms);
            }
        }
        println!();
        if v.is_empty() {
            println!("Silent IPv6 before IPv4: skipped (no IPv6 loopback here)");
        } else {
            println!(
                "Silent IPv6 before IPv4 (time limit 10 s): the port works in {} ms (median of {RUNS})",
                median(v)
            );
        }
    });
}
