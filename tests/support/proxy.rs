//! A TCP proxy on loopback that holds every chunk for a fixed time each way: a slow network
//! made on this machine (no netem here), for counting round trips.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct LatencyProxy {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LatencyProxy {
    /// Listens on 127.0.0.1 and forwards to `target`, adding `one_way` to each direction. The
    /// connection to `target` itself is opened `one_way` after the client's, as a SYN would
    /// arrive.
    pub async fn start(target: SocketAddr, one_way: Duration) -> LatencyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(one_way).await;
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, one_way), pump(sr, cw, one_way));
                });
            }
        });
        LatencyProxy { port, task }
    }
}

/// Copies one direction, delivering each chunk `delay` after it was read, in order.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            quick_ack(&from);
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        // Dropping tx ends the writer after the last chunk is delivered.
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

/// Acknowledge at once, as the far end's own stack would (ScanMail does the same, see
/// `smtp/conn.rs`): otherwise the proxy's delayed ACKs would add up to 40 ms that no real client
/// pays.
#[cfg(target_os = "linux")]
fn quick_ack(socket: &tokio::net::tcp::OwnedReadHalf) {
    let _ = socket2::SockRef::from(socket.as_ref()).set_tcp_quickack(true);
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_socket: &tokio::net::tcp::OwnedReadHalf) {}
