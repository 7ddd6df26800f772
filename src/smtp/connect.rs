//! Connecting: Happy Eyeballs across a name's addresses (RFC 8305), and the name we give in
//! EHLO.
//!
//! An office with half-working IPv6 hands out an IPv6 address that silently drops packets. Trying
//! addresses one after the other would wait out that address's share of the time limit; racing
//! them, with the next attempt started [`ATTEMPT_DELAY`] after the previous one, costs a few
//! hundred milliseconds at most. The first connection wins; the others are dropped at once.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use tokio::time::Instant;

/// How long an attempt has before the next address is tried too (RFC 8305 recommends 250 ms).
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Alternates address families, starting with the family of the first address (RFC 8305
/// section 4), keeping the resolver's order within each family.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut same, mut other): (Vec<_>, Vec<_>) = addrs
        .iter()
        .copied()
        .partition(|a| a.is_ipv6() == first.is_ipv6());
    same.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    loop {
        match (same.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One attempt that did not connect.
#[derive(Debug)]
pub struct Attempt {
    pub addr: SocketAddr,
    pub error: io::Error,
}

/// Races `connect` over `addrs` (already in the order to try): an attempt starts `delay` after
/// the previous one, or at once when every running attempt has failed. The first success is
/// returned and every other attempt is dropped. `Err` lists every failure when all fail.
pub async fn race<T, F, Fut>(
    addrs: &[SocketAddr],
    delay: Duration,
    connect: F,
) -> Result<(SocketAddr, T), Vec<Attempt>>
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut running: Vec<(SocketAddr, Pin<Box<Fut>>)> = Vec::new();
    let mut failed = Vec::new();
    let mut next = addrs.iter().copied();
    let mut waiting = next.next();
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    enum Step<T> {
        Start,
        Done(usize, io::Result<T>),
    }
    loop {
        if running.is_empty() && waiting.is_none() {
            return Err(failed);
        }
        let step = std::future::poll_fn(|cx| {
            for (i, (_, attempt)) in running.iter_mut().enumerate() {
                if let Poll::Ready(r) = attempt.as_mut().poll(cx) {
                    return Poll::Ready(Step::Done(i, r));
                }
            }
            if waiting.is_some() && (running.is_empty() || timer.as_mut().poll(cx).is_ready()) {
                return Poll::Ready(Step::Start);
            }
            Poll::Pending
        })
        .await;
        match step {
            Step::Start => {
                if let Some(addr) = waiting.take() {
                    running.push((addr, Box::pin(connect(addr))));
                    waiting = next.next();
                    timer.as_mut().reset(Instant::now() + delay);
                }
            }
            Step::Done(i, Ok(conn)) => return Ok((running[i].0, conn)),
            Step::Done(i, Err(error)) => {
                let (addr, _) = running.remove(i);
                failed.push(Attempt { addr, error });
            }
        }
    }
}

/// The EHLO name: this machine's name when it is a valid dotted host name, else empty (an
/// address literal of our own address is used instead).
pub fn hello_name() -> String {
    let name = hostname::get()
        .ok()
        .and_then(|n| n.into_string().ok())
        .unwrap_or_default();
    sanitize_hello(&name)
}

pub(crate) fn sanitize_hello(name: &str) -> String {
    let labels: Vec<String> = name
        .trim()
        .trim_end_matches('.')
        .split('.')
        .map(|l| {
            let l: String = l
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            l.trim_matches('-').to_ascii_lowercase()
        })
        .collect();
    let ok = labels.len() >= 2 && labels.iter().all(|l| !l.is_empty() && l.len() <= 63);
    if ok { labels.join(".") } else { String::new() }
}

/// Our own address as an EHLO address literal, for machines without a dotted host name.
pub fn address_literal(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("[{}]", a.ip()),
        SocketAddr::V6(a) => format!("[IPv6:{}]", a.ip()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate() {
        let got = interleave(&[a("[::1]:1"), a("[::2]:1"), a("1.1.1.1:1"), a("2.2.2.2:1")]);
        assert_eq!(
            got,
            [a("[::1]:1"), a("1.1.1.1:1"), a("[::2]:1"), a("2.2.2.2:1")]
        );
        assert_eq!(interleave(&[a("1.1.1.1:1")]), [a("1.1.1.1:1")]);
        assert!(interleave(&[]).is_empty());
    }

    /// Sets its flag when dropped: proves an attempt was abandoned.
    struct DropFlag(Arc<AtomicBool>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_address_is_abandoned_once_the_next_connects() {
        let dropped = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let (addr, what) = race(&[a("[::1]:1"), a("127.0.0.1:1")], ATTEMPT_DELAY, |addr| {
            let flag = DropFlag(dropped.clone());
            async move {
                let _flag = flag;
                if addr.is_ipv6() {
                    // Drops packets: never answers.
                    std::future::pending::<()>().await;
                }
                Ok(addr.to_string())
            }
        })
        .await
        .unwrap();
        assert_eq!((addr, what.as_str()), (a("127.0.0.1:1"), "127.0.0.1:1"));
        assert!(
            dropped.load(Ordering::SeqCst),
            "the IPv6 attempt was dropped"
        );
        // Paused clock: exactly one attempt delay passed before IPv4 was tried.
        assert_eq!(started.elapsed(), ATTEMPT_DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_address_moves_on_at_once_and_all_failures_are_listed() {
        let tries = AtomicUsize::new(0);
        let started = Instant::now();
        let err = race(&[a("[::1]:1"), a("127.0.0.1:1")], ATTEMPT_DELAY, |_| {
            tries.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionRefused)) }
        })
        .await
        .unwrap_err();
        assert_eq!(tries.load(Ordering::SeqCst), 2);
        assert_eq!(err.len(), 2);
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "no delay after a refusal"
        );
    }

    #[test]
    fn hello_names_are_ascii_fqdns_or_nothing() {
        assert_eq!(sanitize_hello("Lab-PC.Example.EDU."), "lab-pc.example.edu");
        assert_eq!(
            sanitize_hello("Kopierer Büro.example.de"),
            "kopierer-b-ro.example.de"
        );
        assert_eq!(sanitize_hello("DESKTOP-ABC"), "");
        assert_eq!(sanitize_hello(""), "");
        assert_eq!(sanitize_hello("a..b"), "");
    }

    #[test]
    fn address_literals() {
        assert_eq!(address_literal(a("127.0.0.1:5")), "[127.0.0.1]");
        assert_eq!(address_literal(a("[::1]:5")), "[IPv6:::1]");
    }
}
