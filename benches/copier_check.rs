//! The copier check: reading a ClientHello from raw bytes, and a 10 MB scan received, measured
//! and parsed (MIME) over loopback. Run with `cargo bench --bench copier_check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use scanmail::listen::{self, Event, Options, hello};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;

fn client_hello(c: &mut Criterion) {
    let record = hello::tls10_only_hello("smtp.office365.com");
    c.bench_function("parse a ClientHello", |b| {
        b.iter(|| hello::parse(std::hint::black_box(&record)).unwrap());
    });
}

/// A scan-to-email message: a PDF of `n` bytes, base64 in 76-character lines.
fn message(n: usize) -> Vec<u8> {
    use base64::Engine;
    let pdf = vec![b'x'; n];
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let mut m = b"From: scanner@lab.example\r\nTo: me@lab.example\r\nSubject: Scan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nscan\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    for line in b64.as_bytes().chunks(76) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b--\r\n.\r\n");
    m
}

fn ten_megabyte_scan(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut running = rt.block_on(async {
        listen::start(Options {
            address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: 0,
            seconds: 600,
            ..Options::default()
        })
        .await
        .unwrap()
    });
    let port = running.port;
    let body = message(10 * 1024 * 1024);
    let mut group = c.benchmark_group("copier check");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("a 10 MB scan received, measured and parsed", |b| {
        b.iter(|| {
            let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
            let mut r = BufReader::new(tcp.try_clone().unwrap());
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            tcp.write_all(
                b"MAIL FROM:<scanner@lab.example>\r\nRCPT TO:<me@lab.example>\r\nDATA\r\n",
            )
            .unwrap();
            for _ in 0..3 {
                l.clear();
                r.read_line(&mut l).unwrap();
            }
            tcp.write_all(&body).unwrap();
            l.clear();
            r.read_line(&mut l).unwrap();
            assert!(l.starts_with("250"), "{l}");
            tcp.write_all(b"QUIT\r\n").unwrap();
            l.clear();
            r.read_line(&mut l).unwrap();
            // The connection's record, with the attachment's decoded size.
            let c = rt.block_on(async {
                loop {
                    if let Some(Event::Finished(c)) = running.events.recv().await {
                        return c;
                    }
                }
            });
            assert_eq!(
                c.attachments.iter().map(|a| a.bytes).max(),
                Some(10 * 1024 * 1024)
            );
        });
    });
    group.finish();
}

criterion_group!(benches, client_hello, ten_megabyte_scan);
criterion_main!(benches);
