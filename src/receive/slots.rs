//! Who holds a place: every open connection holds a [`Slot`], a value its task owns, so the place
//! comes back however the task ends (a return, an error, a panic, an abort). Places are capped in
//! all and per address group (an IPv4 address, an IPv6 /64). When every place is taken, a
//! newcomer may take the place of a connection that has not signed in, from the group that holds
//! the most such places, but only while that group holds more than the newcomer's would: a
//! stranger who fills the server with connections that never sign in gives way to a copier, and
//! copiers that signed in are never pushed out. With no crowd (strangers from as many addresses
//! as there are places), a newcomer from an address with no place may take the place of the
//! oldest connection that has not signed in for 10 seconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// A connection that has not signed in this long may give its place to a newcomer from an
/// address with none.
const STALE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every place is taken (and none could be given up).
    Busy,
    /// Its address group holds its share already.
    Address,
}

struct Entry {
    group: IpAddr,
    since: Instant,
    signed_in: Arc<AtomicBool>,
    abort: Option<AbortHandle>,
}

#[derive(Default)]
struct Table {
    next: u64,
    open: HashMap<u64, Entry>,
    per_group: HashMap<IpAddr, usize>,
}

impl Table {
    fn release(&mut self, id: u64) -> Option<Entry> {
        let e = self.open.remove(&id)?;
        if let Some(n) = self.per_group.get_mut(&e.group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_group.remove(&e.group);
            }
        }
        Some(e)
    }

    /// The connection to give up for a newcomer from `group`, if any may be.
    fn victim(&self, group: IpAddr) -> Option<u64> {
        let mut waiting: HashMap<IpAddr, usize> = HashMap::new();
        for e in self.open.values() {
            if !e.signed_in.load(Ordering::Acquire) {
                *waiting.entry(e.group).or_default() += 1;
            }
        }
        let newcomer = self.per_group.get(&group).copied().unwrap_or(0);
        let most = waiting.values().copied().max()?;
        // After the swap the crowd still holds at least as many places as the newcomer's group.
        if most <= newcomer + 1 {
            // No crowd: a newcomer from a group with no place yet may still take the place of
            // a connection that has waited long without signing in (strangers from as many
            // addresses as there are places would otherwise keep every copier out).
            if newcomer > 0 {
                return None;
            }
            return self
                .open
                .iter()
                .filter(|(_, e)| !e.signed_in.load(Ordering::Acquire) && e.since.elapsed() >= STALE)
                .min_by_key(|(_, e)| e.since)
                .map(|(id, _)| *id);
        }
        // The oldest connection among the biggest crowds.
        self.open
            .iter()
            .filter(|(_, e)| {
                !e.signed_in.load(Ordering::Acquire) && waiting.get(&e.group) == Some(&most)
            })
            .min_by_key(|(_, e)| e.since)
            .map(|(id, _)| *id)
    }
}

/// The table of places, shared by the server and every slot.
#[derive(Clone, Default)]
pub struct Slots {
    table: Arc<Mutex<Table>>,
}

/// One connection's place. Dropping it gives the place back.
pub struct Slot {
    id: u64,
    table: Arc<Mutex<Table>>,
    signed_in: Arc<AtomicBool>,
}

impl Slot {
    /// The slot's number, to hand its task's abort handle to [`Slots::set_abort`].
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The connection signed in: its place is no longer one a newcomer may take.
    pub fn signed_in(&self) {
        self.signed_in.store(true, Ordering::Release);
    }

    /// A new TLS session forgets the sign-in (RFC 3207), and so does the place.
    pub fn signed_out(&self) {
        self.signed_in.store(false, Ordering::Release);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut t) = self.table.lock() {
            t.release(self.id);
        }
    }
}

impl Slots {
    /// A place for a connection from `group`, or why not. When every place is taken, the
    /// connection that gives way is ended at once.
    pub fn admit(&self, group: IpAddr, max: usize, per_group: usize) -> Result<Slot, Full> {
        let mut t = self.table.lock().map_err(|_| Full::Busy)?;
        if t.per_group.get(&group).copied().unwrap_or(0) >= per_group {
            return Err(Full::Address);
        }
        if t.open.len() >= max {
            let victim = t.victim(group).ok_or(Full::Busy)?;
            if let Some(e) = t.release(victim)
                && let Some(a) = e.abort
            {
                a.abort();
            }
        }
        t.next += 1;
        let id = t.next;
        let signed_in = Arc::new(AtomicBool::new(false));
        t.open.insert(
            id,
            Entry {
                group,
                since: Instant::now(),
                signed_in: signed_in.clone(),
                abort: None,
            },
        );
        *t.per_group.entry(group).or_default() += 1;
        Ok(Slot {
            id,
            table: self.table.clone(),
            signed_in,
        })
    }

    /// How to end the task of slot `id`, should its place be given up.
    pub fn set_abort(&self, id: u64, abort: AbortHandle) {
        if let Ok(mut t) = self.table.lock()
            && let Some(e) = t.open.get_mut(&id)
        {
            e.abort = Some(abort);
        }
    }

    /// Places taken now.
    pub fn open(&self) -> usize {
        self.table.lock().map_or(0, |t| t.open.len())
    }

    /// Places taken by `group` now.
    pub fn held_by(&self, group: IpAddr) -> usize {
        self.table
            .lock()
            .map_or(0, |t| t.per_group.get(&group).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn places_come_back_however_a_task_ends() {
        let slots = Slots::default();
        let a = ip("10.0.0.1");
        let mut held: Vec<Slot> = (0..4).map(|_| slots.admit(a, 8, 4).unwrap()).collect();
        assert_eq!(slots.admit(a, 8, 4).err(), Some(Full::Address));
        // A task that panics while holding a place gives it back.
        let slot = held.pop().unwrap();
        let t = tokio::spawn(async move {
            let _slot = slot;
            panic!("a bug in a session");
        });
        assert!(t.await.unwrap_err().is_panic());
        assert_eq!(slots.held_by(a), 3);
        assert!(slots.admit(a, 8, 4).is_ok());
    }

    #[tokio::test]
    async fn a_newcomer_takes_the_place_of_the_biggest_crowd_that_has_not_signed_in() {
        let slots = Slots::default();
        let mut kept = Vec::new();
        // Two strangers hold 3 places each; a copier holds 2 and has signed in.
        for s in ["10.0.0.1", "10.0.0.2"] {
            for _ in 0..3 {
                let slot = slots.admit(ip(s), 8, 4).unwrap();
                let task = tokio::spawn(std::future::pending::<()>());
                slots.set_abort(slot.id(), task.abort_handle());
                kept.push((slot, task));
            }
        }
        for _ in 0..2 {
            let slot = slots.admit(ip("10.0.0.9"), 8, 4).unwrap();
            slot.signed_in();
            kept.push((slot, tokio::spawn(std::future::pending::<()>())));
        }
        assert_eq!(slots.open(), 8);
        // A new copier gets in: the oldest place of a stranger is given up and its task ended.
        let newcomer = slots.admit(ip("10.0.0.50"), 8, 4).unwrap();
        assert_eq!(slots.held_by(ip("10.0.0.1")), 2);
        assert!(
            kept[0].1.is_finished() || {
                tokio::task::yield_now().await;
                kept[0].1.is_finished()
            }
        );
        assert_eq!(slots.open(), 8);
        // Newcomers go on taking places from the crowds until every group that has not
        // signed in holds one place; then the door is shut rather than push out an equal.
        let more: Vec<Slot> = ["10.0.0.51", "10.0.0.52", "10.0.0.53"]
            .iter()
            .map(|s| slots.admit(ip(s), 8, 4).unwrap())
            .collect();
        assert_eq!(slots.held_by(ip("10.0.0.1")), 1);
        assert_eq!(slots.held_by(ip("10.0.0.2")), 1);
        assert_eq!(slots.admit(ip("10.0.0.54"), 8, 4).err(), Some(Full::Busy));
        // Ten seconds on, the oldest place that has not signed in gives way to a newcomer from
        // an address with no place (no crowd needed); signed-in places still never do.
        tokio::time::pause();
        tokio::time::advance(std::time::Duration::from_secs(11)).await;
        let late = slots.admit(ip("10.0.0.54"), 8, 4).unwrap();
        assert_eq!(slots.held_by(ip("10.0.0.9")), 2);
        drop(late);
        assert_eq!(more.len(), 3);
        // Signed-in places are never taken.
        assert_eq!(slots.held_by(ip("10.0.0.9")), 2);
        drop(newcomer);
        assert_eq!(slots.open(), 6, "one given up, two dropped");
    }
}
