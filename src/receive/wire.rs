//! One connection's bytes: plain TCP, or TLS after the upgrade. Every read and every write has a
//! time limit and gives way to the server's stop signal; lines have a length limit; the buffer
//! never holds more than one read beyond the longest line allowed.

use super::Stop;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

/// Any stream a connection talks over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Bytes read at a time.
pub const READ_CHUNK: usize = 16 * 1024;

/// Why a read or write ended without its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The client closed the connection.
    Closed,
    /// Nothing came (or nothing could be written) within the time limit.
    TimedOut,
    /// A line was longer than allowed.
    TooLong,
    /// The server is stopping.
    Stopped,
    /// The connection broke.
    Broken,
}

pub struct Wire {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    /// Unread bytes are `buf[pos..]`.
    pos: usize,
    stop: watch::Receiver<Stop>,
    write_limit: Duration,
}

impl Wire {
    pub fn new(io: Box<dyn Io>, stop: watch::Receiver<Stop>, write_limit: Duration) -> Self {
        Self {
            io,
            buf: Vec::new(),
            pos: 0,
            stop,
            write_limit,
        }
    }

    /// A wire to nothing: stands in while the real one is handed to TLS.
    pub fn closed() -> Self {
        let (stop, rx) = watch::channel(Stop::Cut);
        drop(stop);
        Self::new(
            Box::new(tokio::io::join(tokio::io::empty(), tokio::io::sink())),
            rx,
            Duration::ZERO,
        )
    }

    /// The unread bytes.
    pub fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Marks `n` unread bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// True when the server asks connections to stop at `level` or harder.
    pub fn stopping(&self, level: Stop) -> bool {
        *self.stop.borrow() >= level
    }

    /// Reads once more (at most [`READ_CHUNK`] bytes), waiting at most `limit`; gives way when
    /// the server's stop signal reaches `yield_at`.
    pub async fn fill(&mut self, limit: Duration, yield_at: Stop) -> Result<(), Cut> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let mut stop = self.stop.clone();
        let read = tokio::select! {
            r = tokio::time::timeout(limit, self.io.read(&mut self.buf[old..])) => r,
            _ = stop.wait_for(|s| *s >= yield_at) => {
                self.buf.truncate(old);
                return Err(Cut::Stopped);
            }
        };
        match read {
            Ok(Ok(0)) => {
                self.buf.truncate(old);
                Err(Cut::Closed)
            }
            Ok(Ok(n)) => {
                self.buf.truncate(old + n);
                Ok(())
            }
            Ok(Err(_)) => {
                self.buf.truncate(old);
                Err(Cut::Broken)
            }
            Err(_) => {
                self.buf.truncate(old);
                Err(Cut::TimedOut)
            }
        }
    }

    /// One line without its line end. A line longer than `max` bytes is [`Cut::TooLong`]
    /// (and is not kept). The whole line must come within `limit`: a client that trickles a
    /// byte at a time does not get the limit again with each byte.
    pub async fn line(
        &mut self,
        max: usize,
        limit: Duration,
        yield_at: Stop,
    ) -> Result<Vec<u8>, Cut> {
        let by = Instant::now() + limit;
        let mut scanned = 0;
        loop {
            let unread = &self.buf[self.pos..];
            if let Some(i) = unread[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i;
                let mut line = unread[..end].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(end + 1);
                if line.len() > max {
                    return Err(Cut::TooLong);
                }
                return Ok(line);
            }
            scanned = unread.len();
            if scanned > max + 1 {
                return Err(Cut::TooLong);
            }
            self.fill(by.saturating_duration_since(Instant::now()), yield_at)
                .await?;
        }
    }

    /// Makes sure `n` unread bytes are here by `by` (fewer only when the client stops sending).
    pub async fn want_by(&mut self, n: usize, by: Instant) -> Result<(), Cut> {
        while self.unread().len() < n {
            self.fill(by.saturating_duration_since(Instant::now()), Stop::Cut)
                .await?;
        }
        Ok(())
    }

    /// Writes reply lines ("250 OK", or several as a multi-line reply), within the write limit.
    pub async fn say(&mut self, lines: &[&str]) -> Result<(), Cut> {
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 < lines.len() { '-' } else { ' ' };
            let (code, text) = l.split_at(3.min(l.len()));
            out.push_str(code);
            out.push(sep);
            out.push_str(text.trim_start());
            out.push_str("\r\n");
        }
        self.write_all(out.as_bytes()).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Cut> {
        let mut stop = self.stop.clone();
        let write = async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        };
        tokio::select! {
            r = tokio::time::timeout(self.write_limit, write) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err(Cut::Broken),
                Err(_) => Err(Cut::TimedOut),
            },
            _ = stop.wait_for(|s| *s >= Stop::Cut) => Err(Cut::Stopped),
        }
    }

    /// Closes gently after a goodbye: stops writing, then reads and throws away what the
    /// client is still sending (at most 1 MB, at most a second), so the goodbye is not lost to
    /// a reset.
    pub async fn linger(&mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.io.shutdown()).await;
        let mut sink = [0u8; 8192];
        let mut left: usize = 1024 * 1024;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while left > 0 {
                match self.io.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
    }

    /// Hands over the stream with the unread bytes in front (for the TLS handshake), and what
    /// the new wire needs.
    pub fn into_parts(mut self) -> (Rewind, watch::Receiver<Stop>, Duration) {
        let prefix = self.buf.split_off(self.pos);
        (
            Rewind {
                prefix,
                at: 0,
                inner: self.io,
            },
            self.stop,
            self.write_limit,
        )
    }
}

/// A stream that first yields bytes already read (the ClientHello and anything after it), then
/// the rest: so the TLS acceptor sees the whole hello after ScanMail looked at it.
pub struct Rewind {
    prefix: Vec<u8>,
    at: usize,
    inner: Box<dyn Io>,
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
            if self.at == self.prefix.len() {
                self.prefix = Vec::new();
                self.at = 0;
            }
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
