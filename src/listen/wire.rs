//! The listener's side of one connection: a byte stream (plain TCP, or TLS after the upgrade)
//! with a buffer, read line by line with limits, and able to hand back its unread bytes so the
//! ClientHello can be read raw before the TLS handshake takes the stream.

use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Any stream the listener talks over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub struct Wire {
    pub io: Box<dyn Io>,
    pub buf: Vec<u8>,
}

/// Longest command line accepted (RFC 5321 says 512; copiers stay far below).
pub const MAX_LINE: usize = 4096;

impl Wire {
    pub fn new(io: Box<dyn Io>) -> Self {
        Self {
            io,
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// One line without its CR LF; `None` at end of stream. A line longer than
    /// [`MAX_LINE`] is an error.
    pub async fn line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
            }
            if self.buf.len() > MAX_LINE {
                return Err(std::io::Error::other("a line far too long"));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Makes sure at least `n` bytes are buffered (fewer only at end of stream).
    pub async fn want(&mut self, n: usize) -> std::io::Result<()> {
        while self.buf.len() < n {
            if !self.fill().await? {
                break;
            }
        }
        Ok(())
    }

    /// Reads a message body up to the lone "." line: its size, and its first `keep` bytes (the
    /// rest is counted, not kept). Dot-stuffing is undone.
    pub async fn body(&mut self, keep: usize) -> std::io::Result<(u64, Vec<u8>)> {
        let mut size = 0u64;
        let mut kept = Vec::new();
        loop {
            let Some(i) = self.buf.iter().position(|&b| b == b'\n') else {
                if !self.fill().await? {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                continue;
            };
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            if line == b".\r\n" || line == b".\n" {
                return Ok((size, kept));
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            size += line.len() as u64;
            if kept.len() < keep {
                kept.extend_from_slice(&line[..line.len().min(keep - kept.len())]);
            }
        }
    }

    pub async fn say(&mut self, lines: &[&str]) -> std::io::Result<()> {
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 < lines.len() { '-' } else { ' ' };
            let (code, text) = l.split_at(3.min(l.len()));
            out += &format!("{code}{sep}{}\r\n", text.trim_start());
        }
        self.io.write_all(out.as_bytes()).await?;
        self.io.flush().await
    }
}

/// A stream that first yields bytes already read (the ClientHello and anything after it), then
/// the rest: so the TLS acceptor sees the whole hello after we looked at it.
pub struct Rewind {
    prefix: Vec<u8>,
    at: usize,
    inner: Box<dyn Io>,
}

impl Rewind {
    pub fn new(prefix: Vec<u8>, inner: Box<dyn Io>) -> Self {
        Self {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at < self.prefix.len() {
            let n = out.remaining().min(self.prefix.len() - self.at);
            let at = self.at;
            out.put_slice(&self.prefix[at..at + n]);
            self.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
