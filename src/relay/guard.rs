//! Who may knock, and how often: after 5 wrong passwords from one address within a minute, that
//! address waits 5 minutes (`421 4.7.0`, at the door and at sign-in); each copier sends at most
//! a set number of messages a minute, below the provider's own limit (Microsoft 365: 30).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(60);
pub const LOCKED_FOR: Duration = Duration::from_secs(5 * 60);
/// Addresses and devices remembered at most (older ones are forgotten first).
const REMEMBERED: usize = 10_000;

#[derive(Default)]
struct State {
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    locked: HashMap<IpAddr, Instant>,
    sent: HashMap<String, VecDeque<Instant>>,
}

#[derive(Default)]
pub struct Guard {
    state: Mutex<State>,
}

impl Guard {
    /// True while `ip` must wait.
    pub fn locked(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        match s.locked.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                s.locked.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Counts a wrong password from `ip`; true when the address is now locked out.
    pub fn failed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let now = Instant::now();
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        if s.failures.len() >= REMEMBERED {
            s.failures
                .retain(|_, q| q.back().is_some_and(|t| now - *t < WINDOW));
        }
        let q = s.failures.entry(ip).or_default();
        q.push_back(now);
        while q.front().is_some_and(|t| now - *t > WINDOW) {
            q.pop_front();
        }
        if q.len() >= FAILURES {
            q.clear();
            if s.locked.len() >= REMEMBERED {
                s.locked.retain(|_, until| *until > now);
            }
            s.locked.insert(ip, now + LOCKED_FOR);
            return true;
        }
        false
    }

    /// A good sign-in clears the address's count.
    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut s) = self.state.lock() {
            s.failures.remove(&ip.to_canonical());
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
        while q.front().is_some_and(|t| now - *t > WINDOW) {
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

    #[test]
    fn five_failures_lock_the_address_and_sends_are_counted() {
        let g = Guard::default();
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        for _ in 0..4 {
            assert!(!g.failed(ip));
        }
        assert!(!g.locked(ip));
        assert!(g.failed(ip));
        assert!(g.locked(ip));
        assert!(
            g.locked("::ffff:10.0.0.5".parse().unwrap()),
            "the same address via IPv6"
        );
        assert!(!g.locked("10.0.0.6".parse().unwrap()));
        for _ in 0..3 {
            assert!(g.may_send("copier", 3));
        }
        assert!(!g.may_send("Copier", 3));
        assert!(g.may_send("other", 3));
    }
}
