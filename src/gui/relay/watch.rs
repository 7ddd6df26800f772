//! "Check this copier through the relay": the page watches the relay's state for what happens
//! next with this copier (a message taken, a refusal with its fix, a refusal of an address no
//! copier is known by) and ends within [`WATCH_SECONDS`], with what it saw.

use crate::relay::config::RelayConfig;
use crate::relay::status::{DeviceState, State};
use std::collections::BTreeMap;

/// How long the page watches before it says nothing came.
pub const WATCH_SECONDS: i64 = 180;

/// One copier being watched: what its row (and the addresses turned away) said before.
#[derive(Debug, Clone)]
pub struct Watch {
    pub name: String,
    since: i64,
    before: DeviceState,
    strangers: BTreeMap<String, Option<String>>,
}

/// How a watch ended: what to say, and the message for IT when IT has to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub said: String,
    pub for_it: Option<String>,
}

impl Watch {
    pub fn start(name: &str, state: &State) -> Self {
        Self {
            name: name.to_string(),
            since: crate::time::now_unix(),
            before: state.devices.get(name).cloned().unwrap_or_default(),
            strangers: state
                .strangers
                .iter()
                .map(|(a, d)| (a.clone(), d.last_refused.clone()))
                .collect(),
        }
    }

    /// What the state shows now, if anything new: `None` while the watch goes on.
    pub fn seen(&self, cfg: &RelayConfig, state: &State) -> Option<Seen> {
        let name = &self.name;
        let now = state.devices.get(name).cloned().unwrap_or_default();
        if now.last_message != self.before.last_message {
            return Some(Seen {
                said: format!(
                    "It works: the provider took a message from {name} ({}).",
                    now.last_message
                        .as_deref()
                        .map(crate::time::local_words_from)
                        .unwrap_or_default()
                ),
                for_it: None,
            });
        }
        if now.last_refused != self.before.last_refused
            && let Some(r) = now.refusal
        {
            let from = now.refused_from.as_deref().unwrap_or("its address");
            return Some(self.refused(r, &now, from));
        }
        if now.last_error != self.before.last_error
            && let Some(e) = &now.last_error
        {
            return Some(Seen {
                said: format!(
                    "The relay took a message from {name}, but the mail provider refused it. Send IT the message below."
                ),
                for_it: Some(crate::typed::typed(&format!(
                    "ScanMail's relay took a message from the copier {name}, but the mail provider refused it: {e}. Please look at the relay: scanmail relay status, then scanmail relay test."
                ))),
            });
        }
        for (from, d) in &state.strangers {
            if self.strangers.get(from) != Some(&d.last_refused)
                && let Some(r) = d.refusal
            {
                let mut seen = self.refused(r, d, from);
                let what = d.last_error.clone().unwrap_or_else(|| r.what(from, ""));
                let step = r
                    .staff_step()
                    .unwrap_or("IT must change something: send IT the message below.");
                seen.said = format!(
                    "The relay turned away a copier at {from}. {what} If that was {name}: {step}"
                );
                return Some(seen);
            }
        }
        if crate::time::now_unix() - self.since >= WATCH_SECONDS {
            let running = crate::relay::status::report(cfg, state, crate::time::now_unix()).running;
            return Some(if running {
                nothing(name, cfg)
            } else {
                not_running(name)
            });
        }
        None
    }

    fn refused(&self, r: crate::relay::refusal::Refusal, d: &DeviceState, from: &str) -> Seen {
        let name = &self.name;
        let what = d.last_error.clone().unwrap_or_else(|| r.what(from, ""));
        let detail = d.refused_detail.as_deref().unwrap_or_default();
        let fix = crate::typed::typed(&r.fix(Some(name), from, detail));
        let for_it = r.needs_it().then(|| {
            format!("ScanMail's relay turned the copier {name} away. {what} Please: {fix}")
        });
        let step = r
            .staff_step()
            .unwrap_or("IT must change something: send IT the message below.");
        Seen {
            said: format!("The relay turned {name} away. {what} What to do: {step}"),
            for_it,
        }
    }
}

/// The relay is not running: it cannot take a scan, so there is nothing to watch.
pub fn not_running(name: &str) -> Seen {
    Seen {
        said: format!(
            "Nothing reached the relay from {name}, because the relay is not running. Do what the page says above to get it running. Then press Check this copier through the relay again."
        ),
        for_it: None,
    }
}

/// Nothing came in three minutes: what to look at on the copier, then the firewall (IT's).
fn nothing(name: &str, cfg: &RelayConfig) -> Seen {
    let server = crate::relay::card::this_address(cfg);
    let port = cfg
        .listen_addrs()
        .ok()
        .and_then(|l| l.first().map(|(a, _)| a.port()))
        .unwrap_or(2525);
    Seen {
        said: format!(
            "Nothing reached the relay from {name} in 3 minutes. On the copier, check the SMTP server ({server}) and Port ({port}) from its card. Then send a scan again. Still nothing? The copier may not be able to reach this computer. Send IT the message below."
        ),
        for_it: Some(format!(
            "ScanMail's relay heard nothing from the copier {name} in 3 minutes, though it is set to {server} port {port}. Please check that the copier can reach this computer on TCP port {port}: the firewall's rule for ScanMail's relay, and the route from the copier's network (docs/service.md, \"The firewall: copiers on another network\")."
        )),
    }
}
