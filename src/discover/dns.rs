//! The mail provider behind a domain: RFC 6186 SRV records (`_submissions._tcp`,
//! `_submission._tcp`) can name the sending server outright, and MX records say who receives
//! the domain's mail (`aspmx.l.google.com` and `*.google.com` for Google;
//! `*.mail.protection.outlook.com` for Microsoft 365). `hickory-resolver` asks the system's
//! DNS servers, or the one in `SCANMAIL_DNS=IP:PORT` (IT and tests). Every look-up is bounded to a
//! few seconds; a failure is a plain warning, never an error.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use serde::Serialize;
use std::time::Duration;

/// The whole look-up never takes longer than this.
pub const LIMIT: Duration = Duration::from_secs(4);

/// What the domain's records say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DomainFacts {
    /// The catalog provider id (`google`, `microsoft365`), when the records say.
    pub provider: Option<String>,
    /// `srv` or `mx`: which records said it.
    pub detected_by: Option<&'static str>,
    /// The MX host names, best first.
    pub mx: Vec<String>,
    /// The submission server an SRV record names, its port, and whether it is SSL/TLS (465).
    pub srv: Option<(String, u16, bool)>,
    /// The SRV target is inside the domain or a host of a provider in the catalog, so it may be
    /// offered as "Use ..." (RFC 6186 section 6: a record pointing elsewhere could be planted).
    pub srv_trusted: bool,
    /// Why nothing could be found, in plain words.
    pub warning: Option<String>,
}

fn resolver() -> Result<TokioResolver, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_millis(1500);
    opts.attempts = 1;
    let builder = match std::env::var("SCANMAIL_DNS").ok().filter(|v| !v.is_empty()) {
        Some(v) => {
            let addr: std::net::SocketAddr = v.parse().map_err(|_| {
                format!("SCANMAIL_DNS must be IP:PORT, such as 127.0.0.1:5353 (it is \"{v}\").")
            })?;
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        }
        None => TokioResolver::builder_tokio().map_err(|e| {
            format!("this computer's settings for looking up names could not be read ({e})")
        })?,
    };
    let mut builder = builder;
    *builder.options_mut() = opts;
    builder
        .build()
        .map_err(|e| format!("the name look-up could not start ({e})"))
}

/// Which catalog provider an MX or server host name belongs to.
pub fn provider_of_host(host: &str) -> Option<&'static str> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h == "aspmx.l.google.com"
        || h.ends_with(".google.com")
        || h.ends_with(".googlemail.com")
        || h == "smtp.gmail.com"
    {
        Some("google")
    } else if h.ends_with(".mail.protection.outlook.com") || h.ends_with(".office365.com") {
        Some("microsoft365")
    } else {
        None
    }
}

/// Looks up `domain`'s SRV and MX records (bounded by [`LIMIT`]).
pub async fn look_up(domain: &str) -> DomainFacts {
    match tokio::time::timeout(LIMIT, look_up_unbounded(domain)).await {
        Ok(f) => f,
        Err(_) => DomainFacts {
            warning: Some(format!(
                "ScanMail could not find out in time who handles mail for {domain}. Use the server the preset or IT gives you."
            )),
            ..DomainFacts::default()
        },
    }
}

async fn look_up_unbounded(domain: &str) -> DomainFacts {
    let mut facts = DomainFacts::default();
    let resolver = match resolver() {
        Ok(r) => r,
        Err(e) => {
            facts.warning = Some(format!(
                "ScanMail could not find out who handles mail for {domain} ({e}). Use the server the preset or IT gives you."
            ));
            return facts;
        }
    };
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    // The three questions go out at once: a silent server costs one timeout, not three.
    let (implicit_srv, starttls_srv, mx) = tokio::join!(
        resolver.srv_lookup(format!("_submissions._tcp.{domain}.")),
        resolver.srv_lookup(format!("_submission._tcp.{domain}.")),
        resolver.mx_lookup(format!("{domain}.")),
    );
    for (answer, implicit) in [(implicit_srv, true), (starttls_srv, false)] {
        let Ok(srv) = answer else { continue };
        let best = srv
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                hickory_resolver::proto::rr::RData::SRV(s) => Some(s.clone()),
                _ => None,
            })
            .filter(|s| s.target.to_string() != ".")
            .min_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
        if let Some(s) = best {
            let target = s.target.to_string().trim_end_matches('.').to_string();
            facts.srv = Some((target, s.port, implicit));
            break;
        }
    }
    match mx {
        Ok(mx) => {
            let mut hosts: Vec<(u16, String)> = mx
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    hickory_resolver::proto::rr::RData::MX(m) => Some((
                        m.preference,
                        m.exchange.to_string().trim_end_matches('.').to_string(),
                    )),
                    _ => None,
                })
                .collect();
            hosts.sort();
            facts.mx = hosts.into_iter().map(|(_, h)| h).collect();
        }
        Err(e) => {
            let text = e.to_string();
            facts.warning = Some(if text.contains("NXDomain") || text.contains("no record") {
                format!(
                    "ScanMail found no mail server for {domain}. Check the address in step 1, or use the server the preset or IT gives you."
                )
            } else {
                format!(
                    "ScanMail could not find out who handles mail for {domain} ({}). Use the server the preset or IT gives you.",
                    plain(&text)
                )
            });
        }
    }
    facts.srv_trusted = facts
        .srv
        .as_ref()
        .is_some_and(|(t, _, _)| srv_target_trusted(t, &domain));
    if let Some(p) = facts.srv.as_ref().and_then(|(t, _, _)| provider_of_host(t)) {
        facts.provider = Some(p.into());
        facts.detected_by = Some("srv");
    } else if let Some(p) = facts.mx.iter().find_map(|h| provider_of_host(h)) {
        facts.provider = Some(p.into());
        facts.detected_by = Some("mx");
    } else if facts.srv.is_some() {
        facts.detected_by = Some("srv");
    }
    facts
}

/// An SRV target ScanMail may offer: inside the account's domain, or a host of a provider in
/// the catalog. Anything else is shown only as a warning for IT.
pub fn srv_target_trusted(target: &str, domain: &str) -> bool {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || t.is_empty() {
        return false;
    }
    t == d
        || t.ends_with(&format!(".{d}"))
        || provider_of_host(&t).is_some()
        || crate::catalog::catalog()
            .providers
            .iter()
            .any(|p| p.servers.iter().any(|s| s.eq_ignore_ascii_case(&t)))
}

fn plain(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mx_names_are_recognised() {
        assert_eq!(provider_of_host("aspmx.l.google.com."), Some("google"));
        assert_eq!(provider_of_host("alt1.aspmx.l.google.com"), Some("google"));
        assert_eq!(
            provider_of_host("contoso-edu.mail.protection.outlook.com"),
            Some("microsoft365")
        );
        assert_eq!(provider_of_host("mx.example.edu"), None);
        assert_eq!(provider_of_host("google.com.evil.example"), None);
    }

    #[test]
    fn an_srv_target_is_trusted_only_inside_the_domain_or_at_a_known_provider() {
        assert!(srv_target_trusted("mail.example.edu.", "example.edu"));
        assert!(srv_target_trusted("example.edu", "example.edu"));
        assert!(srv_target_trusted("smtp.office365.com", "example.edu"));
        assert!(srv_target_trusted("smtp.gmail.com", "example.edu"));
        assert!(!srv_target_trusted("mail.attacker.example", "example.edu"));
        assert!(!srv_target_trusted("evilexample.edu", "example.edu"));
        assert!(!srv_target_trusted(
            "example.edu.attacker.example",
            "example.edu"
        ));
    }
}
