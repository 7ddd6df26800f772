//! Who may knock, and how often. Failed sign-ins are counted by the same address group the
//! receiving core caps connections by (an IPv4 address, an IPv6 /64):
//!
//! | what | limit | then |
//! |---|---|---|
//! | one login from one group | 5 failures a minute | that login waits 5 minutes there (`421 4.7.0`) |
//! | any logins from one group | 20 failures a minute | the whole group waits 5 minutes |
//! | the whole relay | 60 failures a minute | for 5 minutes only copiers' own addresses (relay.toml) and groups where a copier signed in within 30 days may try |
//!
//! So a copier with an old password behind a shared address (NAT) locks out only its own login,
//! a stranger guessing many logins from one address locks out that address, and strangers from
//! many addresses cannot lock out the copiers that already work. Each copier also sends at most
//! a set number of messages a minute, below the provider's own limit (Microsoft 365: 30).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FAILURES: usize = 5;
pub const GROUP_FAILURES: usize = 20;
pub const ALL_FAILURES: usize = 60;
pub const WINDOW: Duration = Duration::from_secs(60);
pub const LOCKED_FOR: Duration = Duration::from_secs(5 * 60);
/// How long a group where a copier signed in stays known.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 86_400);
/// Entries remembered per table at most (older ones are forgotten first).
const REMEMBERED: usize = 10_000;

/// What a refused sign-in says to the copier.
pub const LOCKED_REPLY: &str =
    "4.7.0 Too many failed sign-ins from your address: try again in 5 minutes";

#[derive(Default)]
struct Counts {
    failures: HashMap<(IpAddr, String), VecDeque<Instant>>,
    group_failures: HashMap<IpAddr, VecDeque<Instant>>,
    all_failures: VecDeque<Instant>,
    locked_logins: HashMap<(IpAddr, String), Instant>,
    locked_groups: HashMap<IpAddr, Instant>,
    /// Until when only known groups may try.
    siege_until: Option<Instant>,
    known: HashMap<IpAddr, Instant>,
    sent: HashMap<String, VecDeque<Instant>>,
}

#[derive(Default)]
pub struct Guard {
    state: Mutex<Counts>,
    /// The copiers' own addresses from relay.toml: known from the start (a relay just
    /// restarted, a new copier), so strangers cannot lock them out.
    copiers: Mutex<Vec<ipnet::IpNet>>,
}

fn group(ip: IpAddr) -> IpAddr {
    crate::receive::server::address_group(ip)
}

/// Counts one event now in `q`, dropping those older than the window; the count.
fn count(q: &mut VecDeque<Instant>, now: Instant) -> usize {
    q.push_back(now);
    while q.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
        q.pop_front();
    }
    q.len()
}

fn still<K: std::hash::Hash + Eq>(m: &mut HashMap<K, Instant>, k: &K, now: Instant) -> bool {
    match m.get(k) {
        Some(until) if *until > now => true,
        Some(_) => {
            m.remove(k);
            false
        }
        None => false,
    }
}

fn bounded<K, V>(m: &mut HashMap<K, V>, keep: impl FnMut(&K, &mut V) -> bool) {
    if m.len() >= REMEMBERED {
        m.retain(keep);
        if m.len() >= REMEMBERED {
            m.clear();
        }
    }
}

impl Guard {
    /// The copiers' addresses (each device's `addresses` in relay.toml).
    pub fn set_copiers(&self, nets: Vec<ipnet::IpNet>) {
        if let Ok(mut c) = self.copiers.lock() {
            *c = nets;
        }
    }

    fn is_copier(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.copiers
            .lock()
            .is_ok_and(|c| c.iter().any(|n| n.contains(&ip)))
    }

    /// True while nobody from `ip`'s group may sign in (checked at the door, too).
    pub fn locked(&self, ip: IpAddr) -> bool {
        let (g, now) = (group(ip), Instant::now());
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        if still(&mut s.locked_groups, &g, now) {
            return true;
        }
        let siege = s.siege_until.is_some_and(|u| u > now);
        let known = s
            .known
            .get(&g)
            .is_some_and(|t| now.duration_since(*t) < KNOWN_FOR);
        drop(s);
        siege && !known && !self.is_copier(ip)
    }

    /// True while `login` may not sign in from `ip`'s group.
    pub fn login_locked(&self, ip: IpAddr, login: &str) -> bool {
        let key = (group(ip), login.to_ascii_lowercase());
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        still(&mut s.locked_logins, &key, Instant::now())
    }

    /// Counts a failed sign-in of `login` from `ip`; true when that login (or the whole group)
    /// must now wait.
    pub fn failed(&self, ip: IpAddr, login: &str) -> bool {
        let (g, now) = (group(ip), Instant::now());
        let key = (g, login.to_ascii_lowercase());
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        let recent =
            |q: &VecDeque<Instant>| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW);
        bounded(&mut s.failures, |_, q| recent(q));
        bounded(&mut s.group_failures, |_, q| recent(q));
        bounded(&mut s.locked_logins, |_, u| *u > now);
        bounded(&mut s.locked_groups, |_, u| *u > now);
        let mut locked = false;
        let n = count(s.failures.entry(key.clone()).or_default(), now);
        if n >= FAILURES {
            s.failures.remove(&key);
            s.locked_logins.insert(key, now + LOCKED_FOR);
            locked = true;
        }
        if count(s.group_failures.entry(g).or_default(), now) >= GROUP_FAILURES {
            s.group_failures.remove(&g);
            s.locked_groups.insert(g, now + LOCKED_FOR);
            locked = true;
        }
        if count(&mut s.all_failures, now) >= ALL_FAILURES {
            s.all_failures.clear();
            s.siege_until = Some(now + LOCKED_FOR);
        }
        locked
    }

    /// A good sign-in clears the login's count and makes the group known.
    pub fn succeeded(&self, ip: IpAddr, login: &str) {
        let (g, now) = (group(ip), Instant::now());
        if let Ok(mut s) = self.state.lock() {
            s.failures.remove(&(g, login.to_ascii_lowercase()));
            bounded(&mut s.known, |_, t| now.duration_since(*t) < KNOWN_FOR);
            s.known.insert(g, now);
        }
    }

    /// Counts a message from `device`; false when it has sent `per_minute` in the last minute.
    pub fn may_send(&self, device: &str, per_minute: u32) -> bool {
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        if s.sent.len() >= REMEMBERED {
            s.sent.clear();
        }
        let q = s.sent.entry(device.to_ascii_lowercase()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
            q.pop_front();
        }
        if q.len() >= per_minute as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn five_failures_lock_the_login_and_twenty_the_address() {
        let g = Guard::default();
        let nat = ip("10.0.0.5");
        for _ in 0..4 {
            assert!(!g.failed(nat, "copier-a"));
        }
        assert!(!g.login_locked(nat, "copier-a"));
        assert!(g.failed(nat, "copier-a"));
        assert!(g.login_locked(nat, "COPIER-A"));
        assert!(
            g.login_locked(ip("::ffff:10.0.0.5"), "copier-a"),
            "the same address via IPv6"
        );
        // Another copier behind the same address still signs in.
        assert!(!g.login_locked(nat, "copier-b"));
        assert!(!g.locked(nat));
        // A stranger guessing many logins locks the whole address.
        for i in 0..15 {
            g.failed(nat, &format!("guess-{i}"));
        }
        assert!(g.locked(nat));
        assert!(!g.locked(ip("10.0.0.6")));
        // IPv6: the whole /64 is one group.
        let a = ip("2001:db8::1");
        for _ in 0..5 {
            g.failed(a, "x");
        }
        assert!(g.login_locked(ip("2001:db8::ffff"), "x"));
    }

    #[test]
    fn many_strangers_do_not_lock_out_copiers_that_work() {
        let g = Guard::default();
        let copier = ip("192.0.2.10");
        g.succeeded(copier, "copier");
        for i in 0..ALL_FAILURES {
            g.failed(ip(&format!("198.51.100.{}", i % 250)), "guess");
        }
        assert!(g.locked(ip("203.0.113.7")), "a stranger waits");
        assert!(!g.locked(copier), "a known copier's address may still try");
        // A copier's address in relay.toml counts from the start (after a restart, say).
        assert!(g.locked(ip("192.0.2.77")));
        g.set_copiers(vec!["192.0.2.64/27".parse().unwrap()]);
        assert!(!g.locked(ip("192.0.2.77")));
    }

    #[test]
    fn sends_are_counted_per_copier() {
        let g = Guard::default();
        for _ in 0..3 {
            assert!(g.may_send("copier", 3));
        }
        assert!(!g.may_send("Copier", 3));
        assert!(g.may_send("other", 3));
    }
}
