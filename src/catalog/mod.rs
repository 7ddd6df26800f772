//! What ScanMail knows before any test: manufacturers (where their SMTP settings are and what
//! they call things) and mail providers (servers, ports, app-password rules). The data is
//! compiled in from `resources/catalog/*.toml`; every fact carries its source.

pub mod microsoft;
pub mod search;
pub mod warnings;

use crate::smtp::Security;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One fact and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    pub value: String,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manufacturer {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The name of the device's own settings web page.
    pub web_ui: Option<Fact>,
    /// Where the SMTP (email server) settings are.
    pub smtp_menu: Option<Fact>,
    /// What the device calls SSL-on-connect (port 465).
    pub ssl_label: Option<Fact>,
    /// What the device calls STARTTLS (port 587).
    pub starttls_label: Option<Fact>,
    #[serde(default)]
    pub limits: Vec<Fact>,
    /// The manufacturer's support or manual site, for a site-restricted search.
    pub support_site: Option<Fact>,
    /// Whether its copiers sign in with OAuth 2.0 (Microsoft 365, Google), and how.
    #[serde(default)]
    pub oauth: OAuthFacts,
}

/// What a provider requires of a sending device; `None` where no source says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRules {
    /// The lowest TLS version it accepts (`TLS1.0` ... `TLS1.3`).
    pub min_tls: Option<Fact>,
    /// The largest message, in bytes, as its server announces (SIZE).
    pub max_message_bytes: Option<Fact>,
    /// `yes` when the message's From must be the login address.
    pub from_must_match: Option<Fact>,
    /// `yes` when it refuses TLS without a current cipher suite (ECDHE with AES-GCM, or 1.3).
    pub modern_cipher: Option<Fact>,
}

/// What a maker's copiers do about OAuth 2.0 sign-in; `None` where no source says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthFacts {
    pub microsoft: Option<Fact>,
    pub google: Option<Fact>,
    /// How the copier signs in: a code on its web page, a browser on its panel, an app IT
    /// registers, or IT's consent to the maker's app.
    pub pattern: Option<Fact>,
}

impl Manufacturer {
    /// The device's own word for a kind of security, when known.
    pub fn label_for(&self, security: Security) -> Option<&str> {
        match security {
            Security::Ssl => self.ssl_label.as_ref(),
            Security::Starttls => self.starttls_label.as_ref(),
        }
        .map(|f| f.value.as_str())
    }

    /// What is known about the copier signing in to the provider itself (OAuth 2.0), in short
    /// sentences: who can, how the sign-in happens, and where.
    pub fn oauth_line(&self) -> Option<String> {
        let o = &self.oauth;
        let with = match (&o.microsoft, &o.google) {
            (Some(_), Some(_)) => "Microsoft 365 and Google",
            (Some(_), None) => "Microsoft 365",
            (None, Some(_)) => "Google",
            (None, None) => return None,
        };
        let mut line = format!(
            "{} copiers can sign in to {with} themselves, with the provider's own sign-in (OAuth 2.0).",
            self.name
        );
        if let Some(p) = &o.pattern {
            line += &format!(" How: {}.", p.value.trim_end_matches('.'));
        }
        if let Some(d) = o.microsoft.as_ref().or(o.google.as_ref()) {
            line += &format!(" Where: {}.", d.value.trim_end_matches('.'));
        }
        Some(line)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        [self.id.as_str(), self.name.as_str()]
            .into_iter()
            .chain(self.aliases.iter().map(String::as_str))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub servers: Vec<String>,
    /// Address domains that belong to this provider (personal accounts).
    #[serde(default)]
    pub domains: Vec<String>,
    pub ssl_port: Option<u16>,
    pub starttls_port: Option<u16>,
    pub ports_source: String,
    /// The security to recommend when both work; SSL/TLS when not set.
    pub prefer: Option<Security>,
    pub app_password_length: Option<usize>,
    #[serde(default)]
    pub app_password_letters_only: bool,
    pub app_password_source: Option<String>,
    pub app_password_page: Option<String>,
    #[serde(default)]
    pub rules: Vec<Fact>,
    /// What the provider's server requires of a device (the copier check judges by these).
    #[serde(default)]
    pub device_rules: DeviceRules,
}

impl Provider {
    pub fn default_server(&self) -> Option<&str> {
        self.servers.first().map(String::as_str)
    }

    pub fn preferred(&self) -> Security {
        self.prefer.unwrap_or(Security::Ssl)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManufacturerFile {
    manufacturer: Vec<Manufacturer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    provider: Vec<Provider>,
}

pub const MANUFACTURERS_TOML: &str = include_str!("../../resources/catalog/manufacturers.toml");
pub const PROVIDERS_TOML: &str = include_str!("../../resources/catalog/providers.toml");

#[derive(Debug, Default)]
pub struct Catalog {
    pub manufacturers: Vec<Manufacturer>,
    pub providers: Vec<Provider>,
}

/// The compiled-in catalog. Its files are checked by tests, so a parse error cannot ship; if it
/// ever did, the catalog is empty and everything still works, with less advice.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::parse(MANUFACTURERS_TOML, PROVIDERS_TOML).unwrap_or_default())
}

/// Lower-case letters and digits only, so "Konica-Minolta" and "konica minolta" match.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Catalog {
    pub fn parse(manufacturers: &str, providers: &str) -> Result<Self, String> {
        let m: ManufacturerFile =
            toml::from_str(manufacturers).map_err(|e| format!("manufacturers.toml: {e}"))?;
        let p: ProviderFile =
            toml::from_str(providers).map_err(|e| format!("providers.toml: {e}"))?;
        Ok(Self {
            manufacturers: m.manufacturer,
            providers: p.provider,
        })
    }

    /// The manufacturer a person means by `text`: its name, id or an alias ("KM", "Fuji Xerox",
    /// "bizhub"), ignoring case, spaces and punctuation; or text that starts with one of them
    /// ("Konica Minolta bizhub").
    pub fn manufacturer(&self, text: &str) -> Option<&Manufacturer> {
        let t = norm(text);
        if t.is_empty() {
            return None;
        }
        if let Some(m) = self
            .manufacturers
            .iter()
            .find(|m| m.names().any(|n| norm(n) == t))
        {
            return Some(m);
        }
        // Longest name that starts the text, so "Fuji Xerox" beats "Xerox". Short aliases
        // ("KM", "HP") only match whole.
        self.manufacturers
            .iter()
            .flat_map(|m| m.names().map(move |n| (m, norm(n))))
            .filter(|(_, n)| n.len() >= 4 && t.starts_with(n.as_str()))
            .max_by_key(|(_, n)| n.len())
            .map(|(m, _)| m)
    }

    /// The manufacturer from what was typed in both fields: the manufacturer field first, then
    /// the model (people type "bizhub C300i" as the model and leave the maker empty).
    pub fn find_manufacturer(&self, manufacturer: &str, model: &str) -> Option<&Manufacturer> {
        self.manufacturer(manufacturer).or_else(|| {
            if manufacturer.trim().is_empty() {
                self.manufacturer(model)
            } else {
                None
            }
        })
    }

    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// The security to recommend when both ports work on `server` (see `smtp::recommend`).
    pub fn preferred_security(&self, server: &str) -> Security {
        self.provider_for(server, "")
            .map_or(Security::Ssl, Provider::preferred)
    }

    /// What a test's advice may suggest for `server`: the request with the provider's facts
    /// (both usual ports or one; app passwords or the mailbox's own). Unknown servers: both.
    pub fn shape_advice(&self, request: &mut crate::smtp::Request) {
        let provider = self.provider_for(&request.server, &request.account);
        request.prefer = provider.map_or(Security::Ssl, Provider::preferred);
        if let Some(p) = provider {
            request.other_port_allowed = p.ssl_port.is_some() && p.starttls_port.is_some();
            request.app_passwords =
                p.app_password_page.is_some() || p.app_password_length.is_some();
        }
    }

    /// The provider behind a server name, else behind the account's domain.
    pub fn provider_for(&self, server: &str, account: &str) -> Option<&Provider> {
        let server = server.trim().to_ascii_lowercase();
        if !server.is_empty() {
            if let Some(p) = self.providers.iter().find(|p| p.servers.contains(&server)) {
                return Some(p);
            }
            if server.ends_with(".office365.com") {
                return self.provider("microsoft365");
            }
            if server.ends_with(".gmail.com") || server.ends_with(".google.com") {
                return self.provider("google");
            }
        }
        let domain = account
            .trim()
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())?;
        self.providers.iter().find(|p| p.domains.contains(&domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_files_parse_and_every_fact_has_a_source() {
        let c = Catalog::parse(MANUFACTURERS_TOML, PROVIDERS_TOML).unwrap();
        assert!(c.manufacturers.len() >= 12);
        let mut ids = std::collections::HashSet::new();
        for m in &c.manufacturers {
            assert!(ids.insert(m.id.clone()), "duplicate id {}", m.id);
            assert!(!m.name.is_empty());
            let facts = [
                &m.web_ui,
                &m.smtp_menu,
                &m.ssl_label,
                &m.starttls_label,
                &m.support_site,
                &m.oauth.microsoft,
                &m.oauth.google,
                &m.oauth.pattern,
            ];
            for f in facts.into_iter().flatten().chain(m.limits.iter()) {
                assert!(!f.value.trim().is_empty(), "{}: empty fact", m.id);
                assert!(
                    f.source.starts_with("https://") || f.source.starts_with("http://"),
                    "{}: {}",
                    m.id,
                    f.source
                );
                assert!(
                    !f.source.trim().is_empty(),
                    "{}: fact without source: {}",
                    m.id,
                    f.value
                );
            }
            if let Some(site) = &m.support_site {
                assert!(
                    !site.value.contains('/') && site.value.contains('.'),
                    "{}: support_site is a host name",
                    m.id
                );
            }
        }
        for p in &c.providers {
            assert!(ids.insert(p.id.clone()), "duplicate id {}", p.id);
            assert!(
                p.ssl_port.is_some() || p.starttls_port.is_some(),
                "{}: no port",
                p.id
            );
            assert!(!p.ports_source.is_empty());
            if p.app_password_length.is_some() {
                assert!(
                    p.app_password_source.is_some(),
                    "{}: app password rule without source",
                    p.id
                );
            }
            for f in &p.rules {
                assert!(!f.source.trim().is_empty(), "{}: rule without source", p.id);
            }
        }
        for required in [
            "hp",
            "xerox",
            "canon",
            "ricoh",
            "konica-minolta",
            "kyocera",
            "sharp",
            "brother",
            "lexmark",
            "epson",
            "toshiba",
            "fujifilm",
        ] {
            assert!(
                c.manufacturers.iter().any(|m| m.id == required),
                "missing {required}"
            );
        }
        for required in [
            "google",
            "microsoft365",
            "outlook",
            "icloud",
            "yahoo",
            "zoho",
            "fastmail",
            "own",
        ] {
            assert!(c.provider(required).is_some(), "missing {required}");
        }
    }

    #[test]
    fn oauth_facts_cover_eight_makers_and_read_as_one_line() {
        let c = catalog();
        let with: Vec<_> = c
            .manufacturers
            .iter()
            .filter(|m| m.oauth.microsoft.is_some() || m.oauth.google.is_some())
            .map(|m| m.id.as_str())
            .collect();
        assert!(with.len() >= 8, "{with:?}");
        let line = c.manufacturer("Canon").unwrap().oauth_line().unwrap();
        assert!(
            line.starts_with("Canon copiers can sign in to Microsoft 365 and Google themselves, with the provider's own sign-in (OAuth 2.0). How: a code shown on its web page"),
            "{line}"
        );
        assert!(!line.contains(".."), "{line}");
        // Every maker's line reads as sentences, whatever its pattern says.
        let fuji = c.manufacturer("Fujifilm").unwrap().oauth_line().unwrap();
        assert!(
            fuji.contains(" How: IT approves the maker's app for the organization first."),
            "{fuji}"
        );
        // A pattern without a source is never made up: a pattern needs a sign-in fact.
        assert_eq!(c.manufacturer("Kyocera").unwrap().oauth_line(), None);
    }

    #[test]
    fn aliases_find_the_right_manufacturer() {
        let c = catalog();
        let id = |t: &str| c.manufacturer(t).map(|m| m.id.as_str());
        assert_eq!(id("KM"), Some("konica-minolta"));
        assert_eq!(id("konica minolta"), Some("konica-minolta"));
        assert_eq!(id("Konica-Minolta"), Some("konica-minolta"));
        assert_eq!(id("bizhub"), Some("konica-minolta"));
        assert_eq!(id("Fuji Xerox"), Some("fujifilm"));
        assert_eq!(id("Fuji Xerox DocuCentre"), Some("fujifilm"));
        assert_eq!(id("Xerox"), Some("xerox"));
        assert_eq!(id("xerox altalink c8030"), Some("xerox"));
        assert_eq!(id("hewlett packard"), Some("hp"));
        assert_eq!(id("TASKalfa"), Some("kyocera"));
        assert_eq!(id("Acme Copiers"), None);
        assert_eq!(id(""), None);
        assert_eq!(id("hpx"), None);
        assert_eq!(
            c.find_manufacturer("", "bizhub C300i")
                .map(|m| m.id.as_str()),
            Some("konica-minolta")
        );
        assert_eq!(c.find_manufacturer("Acme", "bizhub C300i"), None);
    }

    #[test]
    fn providers_are_found_by_server_or_domain() {
        let c = catalog();
        let id = |s: &str, a: &str| c.provider_for(s, a).map(|p| p.id.as_str());
        assert_eq!(id("smtp.gmail.com", ""), Some("google"));
        assert_eq!(id("SMTP.Gmail.com ", ""), Some("google"));
        assert_eq!(id("smtp-relay.gmail.com", ""), Some("google"));
        assert_eq!(id("smtp.office365.com", "x@uni.edu"), Some("microsoft365"));
        assert_eq!(id("", "someone@icloud.com"), Some("icloud"));
        assert_eq!(id("mail.uni.edu", "lab@hotmail.com"), Some("outlook"));
        assert_eq!(id("mail.uni.edu", "lab@uni.edu"), None);
        assert_eq!(
            c.provider("microsoft365").unwrap().preferred(),
            Security::Starttls
        );
        assert_eq!(c.provider("google").unwrap().preferred(), Security::Ssl);
    }

    #[test]
    fn konica_minolta_knows_its_words() {
        let km = catalog().manufacturer("Konica Minolta").unwrap();
        assert_eq!(km.label_for(Security::Ssl), Some("SMTP over SSL"));
        assert_eq!(km.label_for(Security::Starttls), Some("Start TLS"));
        assert!(
            km.smtp_menu
                .as_ref()
                .unwrap()
                .value
                .contains("E-mail TX (SMTP)")
        );
    }
}
