//! Listening: accepts connections on one or more ports, holds the caps (in all and per address),
//! refuses politely past them, waits after accept errors, and stops in two steps (drain, then
//! cut) so that connections still open at the end are reported, never dropped silently.

use super::session::{self, Setup};
use super::slots::{Full, Slots};
use super::{Budget, Stats, Stop};
use super::{End, Handler};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// A listening port: STARTTLS offered, or TLS from the first byte.
pub struct Listener {
    pub tcp: TcpListener,
    pub implicit: bool,
}

/// Who is at the door.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The port they came in on.
    pub local_port: u16,
    pub implicit: bool,
}

/// What the server reports.
#[derive(Debug)]
pub enum Served<O> {
    /// A connection was let in.
    Connected(SocketAddr),
    /// A connection ended; the handler's output and how it ended.
    Finished(O, End),
    /// The server has stopped; no more events follow.
    Stopped,
}

/// A running server. Dropping it cuts every connection.
pub struct Running<O> {
    pub events: mpsc::Receiver<Served<O>>,
    pub stats: Arc<Stats>,
    pub budget: Budget,
    /// The addresses actually bound (port 0 becomes a real port).
    pub local: Vec<(SocketAddr, bool)>,
    stop: watch::Sender<Stop>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl<O> Running<O> {
    /// Stops taking connections; open ones finish the message they receive, within the grace
    /// time, and are then cut. Events still come until [`Served::Stopped`].
    pub fn stop(&self) {
        let _ = self.stop.send(Stop::Drain);
    }

    /// Waits until the server has stopped completely.
    pub async fn stopped(&mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl<O> Drop for Running<O> {
    fn drop(&mut self) {
        let _ = self.stop.send(Stop::Cut);
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// A feature's decision at the door: a handler for this connection, or the reply line to
/// refuse it with ("421 4.7.0 ...").
pub type Door<H> = Result<H, String>;

/// Events kept for a reader that is behind; the rest are dropped (counted connections are not).
const EVENT_QUEUE: usize = 64;
/// Refusals being written at once; past this a refused connection is closed without a word.
const REFUSALS_AT_ONCE: usize = 64;

/// Starts serving on `listeners`. `door` is asked for every connection the caps let in.
pub fn start<H, F>(listeners: Vec<Listener>, setup: Setup, door: F) -> Running<H::Output>
where
    H: Handler,
    F: Fn(&Peer) -> Door<H> + Send + Sync + 'static,
{
    let (stop, stop_rx) = watch::channel(Stop::Run);
    let (tx, events) = mpsc::channel(EVENT_QUEUE);
    let stats = Arc::new(Stats::default());
    let budget = setup.budget.clone();
    let local = listeners
        .iter()
        .filter_map(|l| l.tcp.local_addr().ok().map(|a| (a, l.implicit)))
        .collect();
    let task = tokio::spawn(run(listeners, setup, door, stop_rx, tx, stats.clone()));
    Running {
        events,
        stats,
        budget,
        local,
        stop,
        task: Some(task),
    }
}

async fn run<H, F>(
    listeners: Vec<Listener>,
    setup: Setup,
    door: F,
    mut stop_rx: watch::Receiver<Stop>,
    tx: mpsc::Sender<Served<H::Output>>,
    stats: Arc<Stats>,
) where
    H: Handler,
    F: Fn(&Peer) -> Door<H> + Send + Sync + 'static,
{
    // One accept task per port feeds one queue; a full queue holds the accepts back.
    let (acc_tx, mut accepted) = mpsc::channel::<(TcpStream, SocketAddr, u16, bool)>(1);
    let mut acceptors = tokio::task::JoinSet::new();
    for l in listeners {
        acceptors.spawn(accept_loop(l, acc_tx.clone(), stats.clone()));
    }
    drop(acc_tx);
    // The sessions get their own stop signal, so the server can drain and then cut them.
    let (session_stop, session_rx) = watch::channel(Stop::Run);
    let mut sessions = tokio::task::JoinSet::new();
    let mut refusals = tokio::task::JoinSet::new();
    let slots = Slots::default();
    let limits = setup.limits.clone();
    let setup = Arc::new(setup);
    super::contain::install_hook();
    loop {
        tokio::select! {
            _ = stop_rx.wait_for(|s| *s >= Stop::Drain) => break,
            Some(done) = sessions.join_next(), if !sessions.is_empty() => {
                finished(done, &tx, &stats);
            }
            Some(_) = refusals.join_next(), if !refusals.is_empty() => {}
            Some((tcp, addr, local_port, implicit)) = accepted.recv() => {
                let group = address_group(addr.ip());
                let peer = Peer { addr, local_port, implicit };
                // The feature's own rule first: a caller it refuses (an address locked out)
                // never takes a place, nor pushes anyone out of one.
                let admitted = match door(&peer) {
                    Err(line) => {
                        Stats::add(&stats.refused_rule);
                        Err(line)
                    }
                    Ok(h) => match slots.admit(group, limits.max_connections, limits.max_per_address) {
                        Err(Full::Busy) => {
                            Stats::add(&stats.refused_busy);
                            Err("421 4.3.2 Too many connections right now, try again later".to_string())
                        }
                        Err(Full::Address) => {
                            Stats::add(&stats.refused_address);
                            Err("421 4.3.2 Too many connections from your address, try again later".to_string())
                        }
                        Ok(slot) => Ok((h, slot)),
                    },
                };
                match admitted {
                    Err(line) => {
                        if refusals.len() < REFUSALS_AT_ONCE && !implicit {
                            refusals.spawn(refuse(tcp, line));
                        }
                    }
                    Ok((h, slot)) => {
                        Stats::add(&stats.accepted);
                        let _ = tx.try_send(Served::Connected(addr));
                        let (setup, stop) = (setup.clone(), session_rx.clone());
                        let id = slot.id();
                        let abort = sessions.spawn(super::contain::Marked::new(async move {
                            let _ = tcp.set_nodelay(true);
                            // The task owns its place: it comes back however the task ends.
                            let slot = slot;
                            session::serve(Box::new(tcp), stop, implicit, &setup, h, Some(&slot))
                                .await
                        }));
                        slots.set_abort(id, abort);
                    }
                }
            }
        }
    }
    // Stopping: no new connections; those waiting for a command are told and closed; a
    // message being received may finish within the grace time; then the rest are cut.
    acceptors.abort_all();
    let _ = session_stop.send(Stop::Drain);
    let grace = tokio::time::sleep(limits.grace);
    tokio::pin!(grace);
    let mut cut = false;
    while !sessions.is_empty() {
        tokio::select! {
            Some(done) = sessions.join_next() => {
                if let Ok((_, End::Stopped)) = &done {
                    Stats::add(&stats.cut_at_stop);
                }
                finished(done, &tx, &stats);
            }
            () = &mut grace => {
                if cut {
                    // A handler that does not give way (it waits on a provider) is abandoned.
                    sessions.abort_all();
                    while sessions.join_next().await.is_some() {
                        Stats::add(&stats.cut_at_stop);
                    }
                } else {
                    cut = true;
                    let _ = session_stop.send(Stop::Cut);
                    grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(2));
                }
            }
        }
    }
    refusals.abort_all();
    let _ = tx.send(Served::Stopped).await;
}

fn finished<O>(
    done: Result<(O, End), tokio::task::JoinError>,
    tx: &mpsc::Sender<Served<O>>,
    stats: &Stats,
) {
    let (out, end) = match done {
        Ok(d) => d,
        Err(e) => {
            // A panic was logged by the hook (where, never what was sent); an abort is a place
            // given to a newcomer. Either way the slot came back with the task.
            if e.is_panic() {
                Stats::add(&stats.task_failures);
            } else {
                Stats::add(&stats.gave_way);
            }
            return;
        }
    };
    if end.by_limit() {
        Stats::add(&stats.closed_for_limits);
    }
    let _ = tx.try_send(Served::Finished(out, end));
}

/// The address a client is counted by: its IPv4 address, or its IPv6 /64 (one network's
/// machines share a /64 and any one of them can take many addresses in it).
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(std::net::Ipv6Addr::from(o))
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// Accepts on one port forever; after an error (out of file handles, for example) it waits,
/// longer each time up to a second, instead of trying again at once.
async fn accept_loop(
    l: Listener,
    out: mpsc::Sender<(TcpStream, SocketAddr, u16, bool)>,
    stats: Arc<Stats>,
) {
    let port = l.tcp.local_addr().map_or(0, |a| a.port());
    let mut wait = Duration::from_millis(5);
    loop {
        match l.tcp.accept().await {
            Ok((tcp, addr)) => {
                wait = Duration::from_millis(5);
                if out.send((tcp, addr, port, l.implicit)).await.is_err() {
                    return;
                }
            }
            Err(_) => {
                Stats::add(&stats.accept_errors);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Says the refusal line and closes, never waiting long on a client that does not read.
async fn refuse(mut tcp: TcpStream, line: String) {
    use tokio::io::AsyncWriteExt;
    let bytes = format!("{line}\r\n");
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        tcp.write_all(bytes.as_bytes()).await?;
        tcp.shutdown().await
    })
    .await;
}
