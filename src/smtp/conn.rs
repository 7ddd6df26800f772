//! One SMTP connection: bounded reply reading, command writing and the TLS upgrade.

use super::reply::{self, Line, Reply};
use rustls::pki_types::ServerName;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

/// Why reading a reply failed.
#[derive(Debug)]
pub enum ConnError {
    Io(io::Error),
    /// The server closed the connection.
    Closed,
    /// Something that is not an SMTP reply (the text, made printable).
    Garbage(String),
    /// A line or reply far longer than any real server sends.
    TooLong,
    /// A malformed multi-line reply.
    Malformed(String),
}

/// The conversation as lines (`S: 220 ...`, `C: EHLO ...`), shared with the port's state so it
/// survives a connection that is dropped on a failure or at the time limit.
pub type Transcript = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// The most lines a transcript keeps (a server can talk for a long time).
const MAX_TRANSCRIPT: usize = 400;

/// Adds a line to a transcript.
pub fn note(transcript: &Transcript, line: String) {
    if let Ok(mut t) = transcript.lock()
        && t.len() < MAX_TRANSCRIPT
    {
        t.push(line);
    }
}

pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    transcript: Transcript,
}

impl Conn {
    pub fn plain(tcp: TcpStream, transcript: Transcript) -> Self {
        Self {
            stream: Stream::Plain(tcp),
            buf: Vec::new(),
            transcript,
        }
    }

    pub fn tls(tls: TlsStream<TcpStream>, transcript: Transcript) -> Self {
        quick_ack(tls.get_ref().0);
        Self {
            stream: Stream::Tls(Box::new(tls)),
            buf: Vec::new(),
            transcript,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    pub fn tls_session(&self) -> Option<&rustls::ClientConnection> {
        match &self.stream {
            Stream::Tls(t) => Some(t.get_ref().1),
            _ => None,
        }
    }

    async fn read_some(&mut self, tmp: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Plain(s) => s.read(tmp).await,
            Stream::Tls(s) => {
                quick_ack(s.get_ref().0);
                s.read(tmp).await
            }
            Stream::Gone => Ok(0),
        }
    }

    /// Reads one line (without CR LF), waiting as long as the caller's deadline allows.
    async fn read_line(&mut self) -> Result<Vec<u8>, ConnError> {
        let mut tmp = [0u8; 4096];
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                // A line that arrived whole in one read is held to the same limit.
                if pos > reply::MAX_LINE {
                    return Err(ConnError::TooLong);
                }
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > reply::MAX_LINE {
                return Err(ConnError::TooLong);
            }
            let n = self.read_some(&mut tmp).await.map_err(ConnError::Io)?;
            if n == 0 {
                return Err(ConnError::Closed);
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// Reads one complete reply.
    pub async fn read_reply(&mut self) -> Result<Reply, ConnError> {
        let mut parts = Vec::new();
        loop {
            let raw = self.read_line().await?;
            match reply::parse_line(&raw) {
                Line::Garbage(text) => return Err(ConnError::Garbage(text)),
                Line::Part { code, last, text } => {
                    note(
                        &self.transcript,
                        format!(
                            "S: {}",
                            reply::controls_hidden(&String::from_utf8_lossy(&raw))
                        ),
                    );
                    parts.push((code, text));
                    if last {
                        return reply::assemble(parts).map_err(ConnError::Malformed);
                    }
                    if parts.len() > reply::MAX_LINES {
                        return Err(ConnError::TooLong);
                    }
                }
            }
        }
    }

    /// Writes command lines (each ending in CR LF), noting each in the transcript.
    pub async fn write(&mut self, lines: &str) -> Result<(), ConnError> {
        for line in lines.split_terminator("\r\n") {
            note(
                &self.transcript,
                format!("C: {}", reply::controls_hidden(line)),
            );
        }
        self.write_raw(lines.as_bytes()).await
    }

    /// Writes a secret (a sign-in line); the transcript shows `shown` instead.
    pub async fn write_hidden(&mut self, secret: &str, shown: &str) -> Result<(), ConnError> {
        note(&self.transcript, format!("C: {shown}"));
        self.write_raw(secret.as_bytes()).await
    }

    /// Writes a message body; the transcript shows only its size.
    pub async fn write_message(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        note(
            &self.transcript,
            format!("C: <message, {} bytes>", bytes.len()),
        );
        self.write_raw(bytes).await
    }

    async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        let r = match &mut self.stream {
            Stream::Plain(s) => s.write_all(bytes).await.and(s.flush().await),
            Stream::Tls(s) => s.write_all(bytes).await.and(s.flush().await),
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        };
        r.map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => ConnError::Closed,
            _ => ConnError::Io(e),
        })
    }

    pub async fn command(&mut self, line: &str) -> Result<Reply, ConnError> {
        self.write(line).await?;
        self.read_reply().await
    }

    /// True when the server sent bytes we have not read yet (never allowed before a TLS
    /// upgrade: such bytes could be injected by someone on the network).
    pub fn has_unread(&self) -> bool {
        !self.buf.is_empty()
    }

    /// True when the server has sent nothing unasked and has not closed: a kept-open session
    /// with a stray reply waiting (or a close) would answer every later command one step out.
    /// Looks without waiting.
    pub async fn idle_and_open(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut tmp = [0u8; 512];
        match tokio::time::timeout(std::time::Duration::ZERO, self.read_some(&mut tmp)).await {
            Err(_) => true,
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&tmp[..n]);
                false
            }
            Ok(_) => false,
        }
    }

    /// Upgrades a plain connection to TLS (after a 220 reply to STARTTLS).
    pub async fn upgrade(
        &mut self,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<()> {
        match std::mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(tcp) => {
                let tls = connector.connect(name, tcp).await?;
                quick_ack(tls.get_ref().0);
                self.stream = Stream::Tls(Box::new(tls));
                self.buf.clear();
                Ok(())
            }
            other => {
                self.stream = other;
                Err(io::Error::other("the connection is already secured"))
            }
        }
    }
}

/// Right after a TLS handshake the server sends session tickets and then its next line. Many
/// servers (Postfix among them) leave Nagle's algorithm on, so that line waits until the tickets
/// are acknowledged, and the client's delayed ACK makes that about 40 ms. Asking the kernel to
/// acknowledge at once removes the wait. Linux only; elsewhere this does nothing.
#[cfg(target_os = "linux")]
fn quick_ack(tcp: &TcpStream) {
    let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_tcp: &TcpStream) {}
