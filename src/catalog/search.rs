//! Web searches for a device's manual, and the address of its own settings page.

use super::Manufacturer;
use serde::{Deserialize, Serialize};

/// Which search engine builds the manual search.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// A general web search (Google).
    #[default]
    Web,
    Duckduckgo,
    Bing,
    /// An organization's own search page: a URL with `{query}` where the words go.
    Custom(String),
}

impl Engine {
    /// Reads an engine name or a `{query}` URL as written in an org preset.
    pub fn parse(text: &str) -> Result<Engine, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "web" | "google" => Ok(Engine::Web),
            "duckduckgo" | "ddg" => Ok(Engine::Duckduckgo),
            "bing" => Ok(Engine::Bing),
            _ if (text.starts_with("https://") || text.starts_with("http://"))
                && text.contains("{query}") =>
            {
                Ok(Engine::Custom(text.trim().to_string()))
            }
            _ => Err(format!(
                "\"{text}\" is not a search engine: use web, duckduckgo, bing, or an https:// address with {{query}} in it."
            )),
        }
    }

    /// The address that searches for `query`.
    pub fn url(&self, query: &str) -> String {
        let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        match self {
            Engine::Web => format!("https://www.google.com/search?q={q}"),
            Engine::Duckduckgo => format!("https://duckduckgo.com/?q={q}"),
            Engine::Bing => format!("https://www.bing.com/search?q={q}"),
            Engine::Custom(template) => template.replace("{query}", &q),
        }
    }
}

/// The words to search for: manufacturer and model, plus what the manual section is called.
/// The manufacturer is left out when the model already starts with it.
pub fn manual_query(manufacturer: &str, model: &str) -> String {
    let manufacturer = collapse(manufacturer);
    let model = collapse(model);
    let mut words = Vec::new();
    if !manufacturer.is_empty()
        && !model
            .to_lowercase()
            .starts_with(&manufacturer.to_lowercase())
    {
        words.push(manufacturer);
    }
    if !model.is_empty() {
        words.push(model);
    }
    words.push("manual scan to email SMTP".to_string());
    words.join(" ")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A labelled search link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchLink {
    pub label: String,
    pub url: String,
}

/// The manual searches for a device: a general one, and one limited to the manufacturer's own
/// support site when the catalog knows it.
pub fn manual_links(
    engine: &Engine,
    manufacturer: &str,
    model: &str,
    known: Option<&Manufacturer>,
) -> Vec<SearchLink> {
    // Short aliases ("KM") make poor searches: use the catalog's name for them.
    let typed = manufacturer.trim();
    let maker = match known {
        Some(m)
            if typed.chars().count() < 4
                && !model.to_lowercase().contains(&m.name.to_lowercase()) =>
        {
            m.name.split(" (").next().unwrap_or(&m.name)
        }
        _ => typed,
    };
    let query = manual_query(maker, model);
    let mut links = vec![SearchLink {
        label: "Find the email (SMTP) section of the manual".into(),
        url: engine.url(&query),
    }];
    if let Some(site) = known.and_then(|m| m.support_site.as_ref().map(|s| (m, s))) {
        let (m, site) = site;
        links.push(SearchLink {
            label: format!("Search {}'s own support site", m.name),
            url: engine.url(&format!("site:{} {}", site.value, query)),
        });
    }
    links
}

/// The address of a device's settings web page from what was typed: an IPv4 or IPv6 address or
/// a host name, optionally with http(s):// already in front.
pub fn device_page_url(address: &str) -> Result<String, String> {
    let a = address.trim().trim_end_matches('/');
    if a.is_empty() {
        return Err("Enter the device's address first. It is usually on a network settings page printed from the device.".into());
    }
    let (scheme, rest) = match a.split_once("://") {
        Some((s, r)) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            (s.to_ascii_lowercase(), r)
        }
        Some(_) => {
            return Err(format!(
                "\"{a}\" is not a device address. Enter something like 192.168.1.20."
            ));
        }
        None => ("http".to_string(), a),
    };
    let host = rest.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(match ip {
            std::net::IpAddr::V6(v6) => format!("{scheme}://[{v6}]/"),
            std::net::IpAddr::V4(v4) => format!("{scheme}://{v4}/"),
        });
    }
    let valid = !rest.is_empty()
        && rest.len() <= 253
        && rest.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        });
    if valid {
        Ok(format!("{scheme}://{rest}/"))
    } else {
        Err(format!(
            "\"{a}\" is not a device address. Enter something like 192.168.1.20 or copier-2.example.edu."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    #[test]
    fn odd_model_names_are_encoded() {
        let url = Engine::Web.url(&manual_query("Konica Minolta", "bizhub C258 / C308"));
        assert_eq!(
            url,
            "https://www.google.com/search?q=Konica+Minolta+bizhub+C258+%2F+C308+manual+scan+to+email+SMTP"
        );
        let url = Engine::Duckduckgo.url(&manual_query("Xerox", "WorkCentre® 6605DN"));
        assert_eq!(
            url,
            "https://duckduckgo.com/?q=Xerox+WorkCentre%C2%AE+6605DN+manual+scan+to+email+SMTP"
        );
        let url = Engine::Bing.url(&manual_query("Kyocera", "TASKalfa 2554ci & ü?#"));
        assert_eq!(
            url,
            "https://www.bing.com/search?q=Kyocera+TASKalfa+2554ci+%26+%C3%BC%3F%23+manual+scan+to+email+SMTP"
        );
    }

    #[test]
    fn manufacturer_is_not_repeated() {
        assert_eq!(
            manual_query("Xerox", "Xerox AltaLink C8030"),
            "Xerox AltaLink C8030 manual scan to email SMTP"
        );
        assert_eq!(
            manual_query("  HP ", "  LaserJet   M528 "),
            "HP LaserJet M528 manual scan to email SMTP"
        );
    }

    #[test]
    fn the_second_link_searches_the_support_site() {
        let brother = catalog().manufacturer("Brother");
        let links = manual_links(&Engine::Web, "Brother", "MFC-L8900CDW", brother);
        assert_eq!(links.len(), 2);
        assert!(
            links[1]
                .url
                .contains("site%3Asupport.brother.com+Brother+MFC-L8900CDW"),
            "{}",
            links[1].url
        );
        let km = catalog().manufacturer("KM");
        let links = manual_links(&Engine::Web, "KM", "bizhub C300i", km);
        assert_eq!(links.len(), 1);
        assert!(
            links[0]
                .url
                .contains("q=Konica+Minolta+bizhub+C300i+manual"),
            "{}",
            links[0].url
        );
        let fx = catalog().manufacturer("");
        assert!(fx.is_none());
        let links = manual_links(
            &Engine::Web,
            "",
            "bizhub C300i",
            catalog().manufacturer("bizhub"),
        );
        assert!(
            links[0].url.contains("q=Konica+Minolta+bizhub+C300i"),
            "{}",
            links[0].url
        );
    }

    #[test]
    fn custom_engines_and_bad_names() {
        let e = Engine::parse("https://search.uni.edu/?q={query}&site=all").unwrap();
        assert_eq!(e.url("a b"), "https://search.uni.edu/?q=a+b&site=all");
        assert_eq!(Engine::parse("DuckDuckGo"), Ok(Engine::Duckduckgo));
        assert!(Engine::parse("altavista").is_err());
        assert!(Engine::parse("https://no-placeholder.example").is_err());
    }

    #[test]
    fn device_addresses() {
        assert_eq!(
            device_page_url("192.168.1.20").unwrap(),
            "http://192.168.1.20/"
        );
        assert_eq!(
            device_page_url(" https://10.0.0.5/ ").unwrap(),
            "https://10.0.0.5/"
        );
        assert_eq!(device_page_url("fe80::1").unwrap(), "http://[fe80::1]/");
        assert_eq!(
            device_page_url("copier-2.example.edu").unwrap(),
            "http://copier-2.example.edu/"
        );
        assert!(device_page_url("").is_err());
        assert!(device_page_url("ftp://x").is_err());
        assert!(device_page_url("my copier").is_err());
        assert!(device_page_url("javascript:alert(1)").is_err());
    }
}
