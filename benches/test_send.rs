//! A full two-port test send (TLS, EHLO, STARTTLS, AUTH, message) against the scripted peer on
//! loopback. Run with `cargo bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use scanmail::secrets::AppPassword;
use scanmail::smtp::{Request, test_send};
use std::time::Duration;
use support::{Cert, Mode, PASSWORD, Peer, Pki, Script, USER};

fn two_port_test_send(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let (ssl, st) = rt.block_on(async {
        (
            Peer::start(Mode::Implicit, Script::gmail(), tls.clone()).await,
            Peer::start(Mode::Plain, Script::gmail(), tls).await,
        )
    });
    let mut req = Request::new("127.0.0.1", USER, AppPassword::new(PASSWORD));
    req.ssl_port = Some(ssl.port);
    req.starttls_port = Some(st.port);
    req.extra_ca_pem = Some(pki.ca_pem.as_bytes().to_vec());
    req.timeout = Duration::from_secs(5);

    c.bench_function("two-port test send (scripted peer)", |b| {
        b.iter(|| {
            let report = rt.block_on(test_send(&req)).unwrap();
            assert!(report.results.iter().all(|r| r.works));
        });
    });
    let mut login = req.clone();
    login.login_only = true;
    c.bench_function("two-port login only (scripted peer)", |b| {
        b.iter(|| rt.block_on(test_send(&login)).unwrap());
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(8));
    targets = two_port_test_send
}
criterion_main!(benches);
