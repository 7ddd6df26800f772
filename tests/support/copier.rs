//! A copier: a small SMTP client from its own loopback address (127.0.0.x, as copiers on a
//! network each have their own), with STARTTLS and AUTH PLAIN, for the relay's tests and
//! benchmark.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PATIENCE: Duration = Duration::from_secs(120);

pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

pub struct Copier {
    pub io: BufReader<Box<dyn Io>>,
}

pub fn tls_client(cert_pem: &[u8]) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

pub async fn tcp_from(from: Ipv4Addr, port: u16) -> tokio::net::TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    let tcp = s
        .connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
        .await
        .unwrap();
    // Each command goes out at once (without this, Nagle's algorithm and the relay's delayed
    // ACK held a command 40 ms now and then: a client's own stall, not the relay's).
    tcp.set_nodelay(true).unwrap();
    tcp
}

/// One whole reply's last line ("" at the end of the stream).
pub async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(PATIENCE, r.read_line(&mut line))
            .await
            .unwrap()
            .unwrap_or(0);
        if n == 0 {
            return String::new();
        }
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return line.trim_end().to_string();
        }
    }
}

impl Copier {
    pub async fn connect(from: Ipv4Addr, port: u16) -> Copier {
        let tcp = tcp_from(from, port).await;
        let mut c = Copier {
            io: BufReader::new(Box::new(tcp)),
        };
        let hi = c.reply().await;
        assert!(hi.starts_with("220"), "{hi}");
        c
    }

    /// Connects, says EHLO and starts TLS, as a copier set to STARTTLS does.
    pub async fn secure(from: Ipv4Addr, port: u16, cert: &[u8]) -> Copier {
        let mut r = BufReader::new(tcp_from(from, port).await);
        assert!(read_reply(&mut r).await.starts_with("220"));
        r.get_mut().write_all(b"EHLO copier\r\n").await.unwrap();
        read_reply(&mut r).await;
        r.get_mut().write_all(b"STARTTLS\r\n").await.unwrap();
        let go = read_reply(&mut r).await;
        assert!(go.starts_with("220"), "{go}");
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tls_client(cert)
            .connect(name, r.into_inner())
            .await
            .unwrap();
        let mut c = Copier {
            io: BufReader::new(Box::new(tls)),
        };
        c.cmd("EHLO copier").await;
        c
    }

    pub async fn reply(&mut self) -> String {
        read_reply(&mut self.io).await
    }

    pub async fn cmd(&mut self, line: &str) -> String {
        self.io
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        self.io.get_mut().flush().await.unwrap();
        self.reply().await
    }

    pub async fn login(&mut self, user: &str, password: &str) -> String {
        use base64::Engine;
        let blob =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        self.cmd(&format!("AUTH PLAIN {blob}")).await
    }

    /// MAIL, RCPT, DATA and a message; returns each reply, the last being the answer to ".".
    pub async fn send(&mut self, to: &str, body: &[u8]) -> Vec<String> {
        let mut replies = vec![self.cmd("MAIL FROM:<copier@lab.example>").await];
        if !replies[0].starts_with("250") {
            return replies;
        }
        replies.push(self.cmd(&format!("RCPT TO:<{to}>")).await);
        if !replies[1].starts_with("250") {
            return replies;
        }
        replies.push(self.cmd("DATA").await);
        if !replies[2].starts_with("354") {
            return replies;
        }
        self.io.get_mut().write_all(body).await.unwrap();
        self.io.get_mut().write_all(b".\r\n").await.unwrap();
        // tokio-rustls may keep the last record when the socket was full: send it now.
        self.io.get_mut().flush().await.unwrap();
        replies.push(self.reply().await);
        replies
    }
}
