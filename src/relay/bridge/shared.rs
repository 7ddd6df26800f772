//! What every copier's connection shares: the settings (read again when relay.toml changes), the
//! way to the provider, the relay's own sign-in, the lock-outs and the state file.

use super::super::config::{self, RelayConfig};
use super::super::guard::Guard;
use super::super::log::log;
use super::super::status;
use super::super::tokens::Credentials;
use super::super::upstream::Route;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

pub struct Shared {
    pub config: RwLock<Arc<RelayConfig>>,
    pub config_path: PathBuf,
    stamp: Mutex<Option<(SystemTime, u64)>>,
    pub route: Route,
    pub creds: Arc<Credentials>,
    pub guard: Guard,
    pub status: Arc<status::Shared>,
    /// Logins that passed Argon2 within the hour.
    pub known: super::super::device::Known,
    /// Microsoft Graph, when the relay sends through it.
    pub graph: Option<super::super::graph::Graph>,
    /// Message bytes held for Graph by all copiers together.
    pub graph_budget: crate::receive::Budget,
    /// Turns for messages held in memory for Graph.
    pub graph_slots: Arc<tokio::sync::Semaphore>,
}

/// Every device's addresses, as ranges.
fn copier_nets(cfg: &RelayConfig) -> Vec<ipnet::IpNet> {
    cfg.devices
        .iter()
        .flat_map(|d| d.addresses.iter())
        .filter_map(|a| config::parse_net(a).ok())
        .collect()
}

fn stamp_of(p: &std::path::Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(p)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

impl Shared {
    pub fn new(
        config: RelayConfig,
        config_path: PathBuf,
        route: Route,
        creds: Arc<Credentials>,
        status: Arc<status::Shared>,
    ) -> Self {
        let stamp = stamp_of(&config_path);
        let u = &config.upstream;
        let graph = u.graph().then(|| {
            super::super::graph::Graph::new(
                u.graph_url(),
                &u.account,
                u.save_to_sent_items.unwrap_or(true),
            )
        });
        let graph_budget = crate::receive::Budget::new(
            usize::try_from(config.max_message_bytes())
                .unwrap_or(usize::MAX / 8)
                .saturating_mul(super::GRAPH_AT_ONCE),
        );
        let guard = Guard::default();
        guard.set_copiers(copier_nets(&config));
        Self {
            config: RwLock::new(Arc::new(config)),
            config_path,
            stamp: Mutex::new(stamp),
            route,
            creds,
            guard,
            status,
            known: super::super::device::Known::default(),
            graph,
            graph_budget,
            graph_slots: Arc::new(tokio::sync::Semaphore::new(super::GRAPH_AT_ONCE)),
        }
    }

    /// The settings, read again when the file changed: a copier added or removed counts at its
    /// next command (the upstream's settings need a restart). A file that changed and cannot be
    /// read keeps the copiers read before, and says so in the log and in `relay status`.
    pub fn current(&self) -> Arc<RelayConfig> {
        let now = stamp_of(&self.config_path);
        let changed = self.stamp.lock().is_ok_and(|s| *s != now);
        if changed {
            match config::load(&self.config_path) {
                Ok(mut fresh) => {
                    let mut c = self.config.write().unwrap_or_else(PoisonError::into_inner);
                    fresh.upstream = c.upstream.clone();
                    self.guard.set_copiers(copier_nets(&fresh));
                    *c = Arc::new(fresh);
                    drop(c);
                    log("the settings changed on disk: copiers read again");
                    self.status.update(|s| s.settings_problem = None);
                }
                Err(e) => {
                    log(&format!(
                        "the settings changed but could not be read, the copiers read before stay: {e}"
                    ));
                    self.status.update(|s| s.settings_problem = Some(e));
                }
            }
            if let Ok(mut s) = self.stamp.lock() {
                *s = now;
            }
        }
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
