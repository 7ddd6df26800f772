//! The receiving core: the only code that reads SMTP from a stranger on the network. The copier
//! check (`listen`) and the relay (`relay`) both stand on it and differ only in their
//! [`Handler`]: what to answer at sign-in, MAIL, RCPT and the end of DATA, and where the bytes
//! of DATA go. Every bound lives here, as a named setting in [`Limits`] with its default:
//!
//! | limit | default | what a client that passes it gets |
//! |---|---|---|
//! | connections at once | 16 | `421 4.3.2`, closed |
//! | connections from one address (IPv4) or /64 (IPv6) | 4 | `421 4.3.2`, closed |
//! | when every place is taken | | the oldest connection that has not signed in, from the group holding the most, gives way (only while that group holds more than the newcomer's) |
//! | command line | 2048 bytes | `500 5.5.2`, closed |
//! | line in DATA | 1000 bytes with CR LF | `500 5.5.2` after the end of DATA |
//! | message size | [`Limits::max_message_bytes`] | `552 5.3.4` at MAIL (SIZE=) or after DATA |
//! | recipients | 100 | `452 4.5.3` |
//! | errors (bad commands, refusals) | 20 | `421 4.7.0`, closed |
//! | silence between commands | 60 s | `421 4.4.2`, closed |
//! | silence inside DATA or sign-in | 60 s | closed |
//! | a whole command line | the silence limit | `421 4.4.2`, closed |
//! | a whole TLS handshake (hello included) | 15 s, never past the time to sign in | closed |
//! | time to sign in ([`Limits::sign_in_within`]) | none (the relay: 60 s) | `421 4.4.2`, closed, checked before every command |
//! | a write the client does not read | 30 s | closed |
//! | one connection in all | 30 min | `421 4.4.2`, closed, checked before every command and read |
//! | message bytes held in memory, all connections | 256 MB | `452 4.3.1` for new messages |
//!
//! Accept errors (out of file handles) wait and try again, never spin. Nothing received is
//! written to disk.
//!
//! - [`handler`]: what a feature decides ([`Handler`]) and the words between it and the core.
//! - [`command`]: a command line parsed from bytes, never from a sliced string.
//! - [`session`]: one connection's SMTP conversation; [`tls`] its handshake within one
//!   deadline; `auth` its sign-in exchange.
//! - [`data`]: the end of DATA and dot-unstuffing, one pass, no line kept.
//! - [`wire`]: reads and writes with time limits and the stop signal.
//! - [`server`]: listening, the stop, the counts; [`slots`] the places (in all, per address
//!   group), each given back by its own guard; `contain` keeps a panic in its connection.
//! - [`hello`]: the TLS ClientHello from the raw bytes.

mod auth;
pub mod command;
pub mod contain;
pub mod data;
pub mod handler;
pub mod hello;
mod message;
pub mod server;
pub mod session;
pub mod slots;
pub mod tls;
pub mod wire;

pub use handler::{DataEnd, End, Handler, Login, Reply, TlsOutcome};
pub use server::{Listener, Running, Served, start};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How far the server is in stopping. Connections waiting for a command give way at `Drain`;
/// every read and write gives way at `Cut`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Stop {
    #[default]
    Run,
    /// No new connections; a message being received may finish.
    Drain,
    /// Everything ends now.
    Cut,
}

/// Every bound of the receiving core.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_address: usize,
    /// Longest command line, without its CR LF.
    pub command_line: usize,
    /// Longest line inside DATA, with its CR LF (RFC 5321: 1000).
    pub data_line: usize,
    /// Largest message (advertised as SIZE).
    pub max_message_bytes: u64,
    pub max_recipients: usize,
    /// Bad commands and refusals before the connection is closed.
    pub max_errors: usize,
    /// Silence allowed between commands.
    pub idle: Duration,
    /// Silence allowed inside DATA and the sign-in exchange.
    pub data_idle: Duration,
    /// Time allowed for one write the client must read.
    pub write: Duration,
    /// One connection's whole life.
    pub session: Duration,
    /// Message bytes held in memory by all connections together.
    pub memory_budget: usize,
    /// How long stopping waits for messages being received, before it cuts them.
    pub grace: Duration,
    /// A client must sign in within this long, or it is closed (the relay: a stranger who
    /// never signs in must not hold a place for long). `None`: no such rule (the copier check).
    pub sign_in_within: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            max_per_address: 4,
            command_line: 2048,
            data_line: 1000,
            max_message_bytes: 150 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 20,
            idle: Duration::from_secs(60),
            data_idle: Duration::from_secs(60),
            write: Duration::from_secs(30),
            session: Duration::from_secs(30 * 60),
            memory_budget: 256 * 1024 * 1024,
            grace: Duration::from_secs(5),
            sign_in_within: None,
        }
    }
}

/// Message bytes held in memory by all connections: a connection reserves before it keeps, and
/// gives back when the message is done. New messages are refused while it is spent.
#[derive(Debug, Clone)]
pub struct Budget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Self {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Takes `n` bytes from the budget; false (and nothing taken) when they are not there.
    pub fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&t| t <= self.limit)
            })
            .is_ok()
    }

    pub fn give_back(&self, n: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(n))
            });
    }

    pub fn spent(&self) -> bool {
        self.used.load(Ordering::Acquire) >= self.limit
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes a connection holds from the [`Budget`]; given back when dropped.
#[derive(Debug)]
pub struct Held {
    budget: Budget,
    bytes: usize,
}

impl Held {
    pub fn new(budget: Budget) -> Self {
        Self { budget, bytes: 0 }
    }

    /// Takes `n` more bytes; false when the budget does not have them.
    pub fn take(&mut self, n: usize) -> bool {
        let ok = self.budget.try_take(n);
        if ok {
            self.bytes += n;
        }
        ok
    }

    pub fn release(&mut self) {
        self.budget.give_back(self.bytes);
        self.bytes = 0;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release();
    }
}

/// What the server counted, for `status`, the window and the tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    /// Refused because too many connections were open.
    pub refused_busy: AtomicU64,
    /// Refused because too many came from one address.
    pub refused_address: AtomicU64,
    /// Refused by the feature's own rule (an address waiting after failed sign-ins).
    pub refused_rule: AtomicU64,
    /// `accept` failed (out of file handles, for example) and the server waited.
    pub accept_errors: AtomicU64,
    /// Connections closed for silence, too many errors, a too-long line or a too-long life.
    pub closed_for_limits: AtomicU64,
    /// Connections still open when the server stopped.
    pub cut_at_stop: AtomicU64,
    /// Connections that gave their place to a newcomer (they had not signed in).
    pub gave_way: AtomicU64,
    /// Connections ended by an internal error (a panic); the server went on.
    pub task_failures: AtomicU64,
}

impl Stats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything refused at the door.
    pub fn refused(&self) -> u64 {
        Self::get(&self.refused_busy)
            + Self::get(&self.refused_address)
            + Self::get(&self.refused_rule)
    }
}

/// Text from the network made safe to show: control characters (C0, DEL, C1) out, at most
/// `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}
