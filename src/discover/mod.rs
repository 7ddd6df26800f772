//! Finding things people are asked to type: copiers on the local network (DNS-SD over multicast
//! DNS, with `mdns-sd`: pure Rust, so Windows needs no Bonjour install), and the mail provider
//! behind a domain ([`dns`]).
//!
//! Copiers announce `_ipp._tcp`, `_ipps._tcp`, `_uscan._tcp`, `_printer._tcp` and
//! `_pdl-datastream._tcp`; their TXT records carry the model (`ty`, `product`, `usb_MFG`,
//! `usb_MDL`) and the settings page (`adminurl`). Only standard mDNS queries are sent, for the
//! few seconds asked, and the browser stops when done.

pub mod dns;

use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// The printer and scanner service types browsed.
pub const SERVICES: [&str; 5] = [
    "_ipp._tcp.local.",
    "_ipps._tcp.local.",
    "_uscan._tcp.local.",
    "_printer._tcp.local.",
    "_pdl-datastream._tcp.local.",
];

/// One device, merged from all it announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    /// Its IPv4 address when it has one, else IPv6.
    pub address: Option<String>,
    /// Its settings page: an `http` or `https` address only.
    pub admin_url: Option<String>,
    /// The DNS-SD types it announced, such as `_ipp._tcp`.
    pub services: Vec<String>,
    /// The catalog's manufacturer name, exactly as `lookup` prints it.
    pub catalog_match: Option<String>,
}

/// What one announcement said (the part discovery uses).
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub service: String,
    pub instance: String,
    pub host: String,
    pub addresses: Vec<IpAddr>,
    pub txt: BTreeMap<String, String>,
}

/// Browses for `duration` and returns the devices found, each once.
pub async fn discover(duration: Duration) -> Result<Vec<Device>, String> {
    let daemon = mdns_sd::ServiceDaemon::new()
        .map_err(|e| {
            format!(
                "ScanMail could not look for copiers on this network ({e}). Type the manufacturer and model instead. The copier's panel shows its address."
            )
        })?;
    let receivers: Vec<_> = SERVICES
        .iter()
        .filter_map(|s| daemon.browse(s).ok())
        .collect();
    let deadline = tokio::time::Instant::now() + duration;
    let mut seen = Vec::new();
    while tokio::time::Instant::now() < deadline {
        let mut any = false;
        for r in &receivers {
            while let Ok(event) = r.try_recv() {
                any = true;
                if let mdns_sd::ServiceEvent::ServiceResolved(s) = event {
                    seen.push(from_resolved(&s));
                }
            }
        }
        if !any {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for s in SERVICES {
        let _ = daemon.stop_browse(s);
    }
    let _ = daemon.shutdown();
    Ok(merge(&seen))
}

fn from_resolved(s: &mdns_sd::ResolvedService) -> Seen {
    let service = s
        .ty_domain
        .trim_end_matches('.')
        .trim_end_matches(".local")
        .to_string();
    let instance = s
        .fullname
        .strip_suffix(&format!(".{}", s.ty_domain))
        .unwrap_or(&s.fullname)
        .to_string();
    Seen {
        service,
        instance,
        host: s.host.trim_end_matches('.').to_string(),
        addresses: s
            .addresses
            .iter()
            .map(mdns_sd::ScopedIp::to_ip_addr)
            .collect(),
        txt: s
            .txt_properties
            .iter()
            .map(|p| (p.key().to_ascii_lowercase(), p.val_str().to_string()))
            .collect(),
    }
}

/// One device per UUID, else per host name, else per address: a copier that announces
/// `_ipp`, `_ipps`, `_printer` and `_http` (with slightly different model strings, and a UUID
/// in only some of them) is one device.
pub fn merge(seen: &[Seen]) -> Vec<Device> {
    let uuid = |s: &Seen| {
        s.txt
            .get("uuid")
            .map(|u| u.trim().to_ascii_lowercase())
            .filter(|u| !u.is_empty())
    };
    let mut groups: Vec<Vec<&Seen>> = Vec::new();
    // Announcements with a UUID first: they name their device for sure.
    let (with, without): (Vec<&Seen>, Vec<&Seen>) = seen.iter().partition(|s| uuid(s).is_some());
    for s in with {
        match groups
            .iter_mut()
            .find(|g| g.iter().any(|o| uuid(o) == uuid(s)))
        {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    for s in without {
        let host = s.host.to_ascii_lowercase();
        let same_host = |g: &&mut Vec<&Seen>| {
            !host.is_empty() && g.iter().any(|o| o.host.eq_ignore_ascii_case(&host))
        };
        let same_address = |g: &&mut Vec<&Seen>| {
            g.iter()
                .any(|o| o.addresses.iter().any(|a| s.addresses.contains(a)))
        };
        let found = match groups.iter_mut().find(same_host) {
            Some(g) => Some(g),
            None => groups.iter_mut().find(same_address),
        };
        match found {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    let mut devices: Vec<Device> = groups.iter().map(|g| device(g)).collect();
    devices.sort_by(|a, b| a.name.cmp(&b.name));
    devices
}

/// A settings page is offered only when its host is the device itself: one of the addresses
/// it announced, or its `.local` name. (A TXT record can name any page at all.)
fn own_page(url: &url::Url, group: &[&Seen], addresses: &[IpAddr]) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => addresses.contains(&IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => addresses.contains(&IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            group.iter().any(|s| {
                !s.host.is_empty() && s.host.trim_end_matches('.').eq_ignore_ascii_case(name)
            })
        }
        None => false,
    }
}

fn device(group: &[&Seen]) -> Device {
    let txt = |key: &str| {
        group
            .iter()
            .find_map(|s| s.txt.get(key).map(|v| clean(v)).filter(|v| !v.is_empty()))
    };
    let ty = txt("ty");
    let product = txt("product").map(|p| p.trim_matches(['(', ')']).trim().to_string());
    let manufacturer = txt("usb_mfg").or_else(|| {
        ty.as_deref()
            .or(product.as_deref())
            .and_then(|t| t.split_whitespace().next())
            .map(str::to_string)
    });
    let model = txt("usb_mdl").or_else(|| {
        let full = product.clone().or_else(|| ty.clone())?;
        let rest = match &manufacturer {
            Some(m) => full
                .strip_prefix(m.as_str())
                .unwrap_or(&full)
                .trim()
                .to_string(),
            None => full,
        };
        Some(rest).filter(|r| !r.is_empty())
    });
    let mut addresses: Vec<IpAddr> = group.iter().flat_map(|s| s.addresses.clone()).collect();
    addresses.sort_by_key(|a| (!a.is_ipv4(), *a));
    addresses.dedup();
    let admin_url = txt("adminurl")
        .and_then(|u| url::Url::parse(&u).ok())
        .filter(|p| matches!(p.scheme(), "http" | "https") && own_page(p, group, &addresses))
        .map(|p| p.to_string());
    let mut services: Vec<String> = group.iter().map(|s| s.service.clone()).collect();
    services.sort();
    services.dedup();
    let catalog_match = crate::catalog::catalog()
        .find_manufacturer(
            manufacturer.as_deref().unwrap_or(""),
            model.as_deref().unwrap_or(""),
        )
        .map(|m| m.name.clone());
    Device {
        name: group
            .iter()
            .map(|s| clean(&s.instance))
            .find(|n| !n.is_empty())
            .or_else(|| ty.clone())
            .unwrap_or_else(|| "A device".into()),
        manufacturer,
        model,
        address: addresses.first().map(ToString::to_string),
        admin_url,
        services,
        catalog_match,
    }
}

/// Control characters out, 200 characters at most (names reach a terminal and a window).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Why nothing was found, in plain words (the manual path stays).
pub const NOTHING_FOUND: &str = "No copiers answered. The copier may be on another network, Windows may treat this network as \"Public\", or the copier may not announce itself. Type the manufacturer and model instead. The copier's panel shows its address.";

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(service: &str, host: &str, addr: &str, txt: &[(&str, &str)]) -> Seen {
        Seen {
            service: service.into(),
            instance: format!("{host} printer"),
            host: host.into(),
            addresses: vec![addr.parse().unwrap()],
            txt: txt
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn one_device_per_uuid_with_its_make_model_and_page() {
        let canon = [
            ("usb_MFG", "Canon"),
            ("usb_MDL", "iR-ADV C3520 UFR II"),
            ("adminurl", "http://10.0.0.7/"),
            ("UUID", "6d4ff0ce-6b11-11d8-8020-000085c9a5e0"),
        ];
        let canon: Vec<(&str, &str)> = canon.iter().map(|(k, v)| (*k, *v)).collect();
        let lower: Vec<(String, String)> = canon
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let lower: Vec<(&str, &str)> = lower
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let devices = merge(&[
            seen("_ipp._tcp", "canon1", "fe80::1", &lower),
            seen("_uscan._tcp", "canon1", "10.0.0.7", &lower),
            seen("_uscan._tcp", "brn3c2af4", "10.0.0.9", &[("ty", "Brother")]),
            seen(
                "_ipp._tcp",
                "junk",
                "10.0.0.10",
                &[("adminurl", "javascript:alert(1)"), ("ty", "\u{1b}[2JJunk")],
            ),
        ]);
        assert_eq!(devices.len(), 3);
        let c = devices
            .iter()
            .find(|d| d.manufacturer.as_deref() == Some("Canon"))
            .unwrap();
        assert_eq!(c.model.as_deref(), Some("iR-ADV C3520 UFR II"));
        assert_eq!(c.address.as_deref(), Some("10.0.0.7"), "IPv4 first");
        assert_eq!(c.admin_url.as_deref(), Some("http://10.0.0.7/"));
        assert_eq!(c.services, ["_ipp._tcp", "_uscan._tcp"]);
        assert_eq!(c.catalog_match.as_deref(), Some("Canon"));
        let b = devices
            .iter()
            .find(|d| d.manufacturer.as_deref() == Some("Brother"))
            .unwrap();
        assert_eq!(b.model, None);
        assert_eq!(b.catalog_match.as_deref(), Some("Brother"));
        let j = devices.iter().find(|d| d.name.starts_with("junk")).unwrap();
        assert_eq!(j.admin_url, None, "only http and https");
        assert!(
            !j.manufacturer
                .clone()
                .unwrap_or_default()
                .contains('\u{1b}')
        );
    }

    #[test]
    fn a_canon_announcing_four_ways_is_one_device_and_foreign_pages_are_not_offered() {
        let ipp = [
            ("ty", "Canon iR-ADV C3520 UFR II"),
            ("adminurl", "http://canon-3f.local/"),
        ];
        let ipps = [("ty", "Canon iR-ADV C3520"), ("uuid", "6d4ff0ce-0001")];
        let printer = [("product", "(Canon iR-ADV C3520 III)")];
        let http: [(&str, &str); 0] = [];
        let mut announced = vec![
            seen("_ipp._tcp", "canon-3f.local", "10.0.0.7", &ipp),
            seen("_ipps._tcp", "canon-3f.local", "10.0.0.7", &ipps),
            seen("_printer._tcp", "", "10.0.0.7", &printer),
            seen("_http._tcp", "CANON-3F.local.", "fe80::7", &http),
        ];
        announced[3].addresses.push("10.0.0.7".parse().unwrap());
        let devices = merge(&announced);
        assert_eq!(devices.len(), 1, "{devices:#?}");
        let d = &devices[0];
        assert_eq!(d.services.len(), 4);
        assert_eq!(d.admin_url.as_deref(), Some("http://canon-3f.local/"));
        // A page on another host, or a script, is never offered.
        for page in [
            "http://10.0.0.99/login",
            "https://evil.example/canon",
            "javascript:alert(1)",
            "http://canon-3f.local.evil.example/",
        ] {
            let d = merge(&[seen(
                "_ipp._tcp",
                "canon-3f.local",
                "10.0.0.7",
                &[("adminurl", page)],
            )]);
            assert_eq!(d[0].admin_url, None, "{page}");
        }
    }
}
