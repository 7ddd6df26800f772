//! The card for a copier that sends through the relay: this computer's address, the port, the
//! security (STARTTLS, or none where IT allows old copiers in the clear), the device's login and
//! password (shown once, when the copier is added), the From address, and whether the copier
//! should check the relay's certificate. Where the catalog knows the copier's maker, the card
//! gives that maker's own menu words too.

use super::config::{Device, RelayConfig};
use crate::catalog::Manufacturer;
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
    /// Whether the copier can check the relay's certificate, and what to set.
    pub certificate: String,
    /// What this copier's menus call the security, when the catalog knows its maker.
    pub security_words: Option<String>,
    /// Where the email server settings are on this copier, when known.
    pub menu_path: Option<String>,
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
            "None. No encryption: IT allows it for this copier, on this network only.".to_string()
        } else if implicit {
            "SSL/TLS".to_string()
        } else {
            "STARTTLS".to_string()
        };
        let certificate = if plain {
            "Not used (no encryption)".to_string()
        } else if cfg.certificate.is_some() {
            "On: the relay uses IT's certificate. If the copier cannot trust it, ask IT to load its security certificate onto the copier, or turn the check off.".to_string()
        } else {
            "Off. Copiers do not know the relay's own certificate. So turn the copier's certificate check off for this server.".to_string()
        };
        Self {
            server: address.to_string(),
            port,
            security,
            login: device.name.clone(),
            password: password.map_or_else(
                || crate::typed::typed("The password shown when the copier was added (scanmail relay add-device). Lost? Remove the copier and add it again."),
                str::to_string,
            ),
            from: cfg.upstream.account.trim().to_string(),
            certificate,
            security_words: None,
            menu_path: None,
        }
    }

    /// The same card with this maker's own menu words, when the catalog has them.
    pub fn for_maker(mut self, maker: Option<&Manufacturer>) -> Self {
        let Some(m) = maker else { return self };
        let label = match self.security.as_str() {
            "STARTTLS" => m.label_for(crate::smtp::Security::Starttls),
            "SSL/TLS" => m.label_for(crate::smtp::Security::Ssl),
            _ => None,
        };
        self.security_words = label.map(|l| format!("{} calls it: {l}", m.name));
        self.menu_path = m.smtp_menu.as_ref().map(|f| f.value.clone());
        self
    }

    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let security = match &self.security_words {
            Some(w) => format!("{} ({w})", self.security),
            None if self.security == "STARTTLS" => {
                "STARTTLS (some copiers call it TLS, or Use STARTTLS)".into()
            }
            None if self.security == "SSL/TLS" => "SSL/TLS (some copiers call it SSL)".into(),
            None => self.security.clone(),
        };
        let mut rows = vec![
            ("SMTP server", self.server.clone()),
            ("Port", self.port.to_string()),
            ("Security", security),
            ("Certificate check", self.certificate.clone()),
            (
                "Authentication",
                "On. Some copiers call it SMTP authentication, or Login.".into(),
            ),
            ("Login name", self.login.clone()),
            ("Password", self.password.clone()),
            ("From address", self.from.clone()),
        ];
        if let Some(m) = &self.menu_path {
            rows.push(("Where on the copier", m.clone()));
        }
        rows
    }

    pub fn text(&self) -> String {
        let mut s = String::from("Type these into the copier (it sends through the relay):\n");
        for (k, v) in self.rows() {
            s += &format!("  {:<19}{v}\n", format!("{k}:"));
        }
        s += &format!("{STAY_ON}\n");
        s
    }

    /// A printable page: `card --relay NAME --html`, and the window's Print.
    pub fn html(&self) -> String {
        let esc = crate::card::esc;
        let mut rows = String::new();
        for (k, v) in self.rows() {
            rows += &format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(&v));
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Copier settings: {name} (through the relay)</title>\n\
             <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:44em}}\
             table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.5em;border-bottom:1px solid #ccc;vertical-align:top}}\
             th{{width:12em}}td{{font-family:ui-monospace,monospace}}</style>\n\
             </head><body>\n<h1>Type these into the copier {name}</h1>\n<p>It sends through the relay on {server}.</p>\n<table>\n{rows}</table>\n<p>{stay}</p>\n</body></html>\n",
            name = esc(&self.login),
            server = esc(&self.server),
            stay = esc(STAY_ON),
        )
    }
}

const STAY_ON: &str = "The computer with the relay must stay on, on the copier's network.";

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
