//! The card for a copier that sends through the relay: this computer's address, the port, the
//! security (STARTTLS, or none where IT allows old copiers in the clear), the device's login and
//! password (shown once, when the copier is added), and the From address.

use super::config::{Device, RelayConfig};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayCard {
    pub server: String,
    pub port: u16,
    pub security: String,
    pub login: String,
    /// Only right after `add-device`; otherwise where to find it.
    pub password: String,
    pub from: String,
}

impl RelayCard {
    /// The card for `device`: `address` is this computer's address on the copier's network.
    pub fn new(cfg: &RelayConfig, device: &Device, address: &str, password: Option<&str>) -> Self {
        let listen = cfg.listen_addrs().unwrap_or_default();
        let (port, implicit) = listen
            .iter()
            .find(|(_, implicit)| !implicit)
            .or_else(|| listen.first())
            .map_or((2525, false), |(a, i)| (a.port(), *i));
        // A copier whose every address IT lets in without TLS (TLS 1.0 only) gets "None".
        let plain = !device.addresses.is_empty()
            && device.addresses.iter().all(|a| {
                super::config::parse_net(a)
                    .is_ok_and(|n| super::config::allowed(&cfg.allow_plain_from, n.addr()))
            });
        let security = if plain {
            "None (no encryption: allowed for this copier on this network only)".to_string()
        } else if implicit {
            "SSL/TLS".to_string()
        } else {
            "STARTTLS".to_string()
        };
        Self {
            server: address.to_string(),
            port,
            security,
            login: device.name.clone(),
            password: password.map_or_else(
                || "The password shown when the copier was added (scanmail relay add-device). Lost? Remove the copier and add it again.".to_string(),
                str::to_string,
            ),
            from: cfg.upstream.account.trim().to_string(),
        }
    }

    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMTP server", self.server.clone()),
            ("Port", self.port.to_string()),
            ("Security", self.security.clone()),
            ("Authentication", "On (SMTP authentication)".into()),
            ("Login name", self.login.clone()),
            ("Password", self.password.clone()),
            ("From address", self.from.clone()),
        ]
    }

    pub fn text(&self) -> String {
        let mut s = String::from("Type these into the copier (it sends through the relay):\n");
        for (k, v) in self.rows() {
            s += &format!("  {:<16}{v}\n", format!("{k}:"));
        }
        s += "The computer with the relay must stay on, on the copier's network.\n";
        s
    }
}

/// This computer's address for the card: the listen address when it names one, else the
/// address the system would send from.
pub fn this_address(cfg: &RelayConfig) -> String {
    cfg.listen_addrs()
        .ok()
        .and_then(|l| l.first().map(|(a, _)| a.ip()))
        .filter(|ip| !ip.is_unspecified())
        .or_else(crate::listen::this_computer)
        .map_or_else(
            || "this computer's address".to_string(),
            |ip| ip.to_string(),
        )
}
