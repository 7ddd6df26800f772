//! `scanmail lookup`: what ScanMail knows before any test, without touching the network.

use super::BadInput;
use crate::catalog::search::{self, Engine};
use crate::catalog::warnings::{self, Warning};
use crate::catalog::{self, Manufacturer, Provider};
use crate::smtp::{self, Security};
use clap::Args;
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The device's manufacturer, for example "Konica Minolta", "KM" or "Fuji Xerox".
    #[arg(long, value_name = "NAME")]
    pub manufacturer: Option<String>,
    /// The device's model, for example "bizhub C300i".
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Mail server name, for example smtp.gmail.com.
    #[arg(long, value_name = "HOST")]
    pub server: Option<String>,
    /// The device account's address.
    #[arg(long, value_name = "ADDRESS")]
    pub user: Option<String>,
    /// The From address the device is set to, when it is not the account.
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// Search engine for the manual: web, duckduckgo, bing, or an https:// address with {query}.
    #[arg(long, value_name = "ENGINE", default_value = "web")]
    pub engine: String,
    /// Print one JSON object instead of plain words.
    #[arg(long)]
    pub json: bool,
}

/// The provider as `lookup` reports it.
#[derive(Debug, Serialize)]
pub struct ProviderInfo<'a> {
    /// `provider` (one the catalog knows) or `own server` (an SRV record inside the domain).
    pub kind: &'static str,
    pub id: &'a str,
    pub name: &'a str,
    pub server: Option<String>,
    pub ssl_port: Option<u16>,
    pub starttls_port: Option<u16>,
    pub recommended: Security,
    pub app_password_page: Option<&'a str>,
    pub rules: &'a [catalog::Fact],
    /// `server`, `domain`, `mx` or `srv`: what said who the provider is.
    pub detected_by: &'static str,
    /// The domain's MX host names, when they were looked up.
    pub mx: Vec<String>,
}

impl<'a> From<&'a Provider> for ProviderInfo<'a> {
    fn from(p: &'a Provider) -> Self {
        Self {
            kind: "provider",
            id: &p.id,
            name: &p.name,
            server: p.default_server().map(str::to_string),
            ssl_port: p.ssl_port,
            starttls_port: p.starttls_port,
            recommended: p.preferred(),
            app_password_page: p.app_password_page.as_deref(),
            rules: &p.rules,
            detected_by: "server",
            mx: Vec::new(),
        }
    }
}

/// The JSON object `lookup --json` prints.
#[derive(Debug, Serialize)]
pub struct LookupOutput<'a> {
    pub manufacturer: Option<&'a Manufacturer>,
    pub manual_search: Vec<String>,
    pub provider: Option<ProviderInfo<'a>>,
    pub warnings: Vec<Warning>,
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The provider: from the server's name, the account's known domain, or the domain's DNS records
/// (only for a domain the catalog does not know). Warns when the preset that locks or suggests
/// the server disagrees with the domain's provider.
fn provider_found<'a>(
    server: Option<&str>,
    user: Option<&str>,
    org: Option<&std::path::Path>,
) -> (Option<ProviderInfo<'a>>, Vec<Warning>) {
    let cat = catalog::catalog();
    let mut warnings = Vec::new();
    if let Some(p) = server.and_then(|s| cat.provider_for(s, "")) {
        return (Some(ProviderInfo::from(p)), warnings);
    }
    let Some(domain) = user
        .and_then(|u| u.rsplit_once('@'))
        .map(|(_, d)| d.to_string())
    else {
        return (None, warnings);
    };
    if let Some(p) = cat.provider_for("", user.unwrap_or("")) {
        let mut info = ProviderInfo::from(p);
        info.detected_by = "domain";
        return (Some(info), warnings);
    }
    let facts = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(crate::discover::dns::look_up(&domain)))
        .unwrap_or_default();
    if let Some(w) = &facts.warning {
        warnings.push(Warning {
            id: "domain-lookup-failed",
            title: "Who handles this domain's mail is not known".into(),
            advice: w.clone(),
        });
    }
    let found = facts.provider.as_deref().and_then(|id| cat.provider(id));
    let preset = crate::org::locate(org).preset;
    if let (Some(p), Some(preset_p)) = (found, cat.provider_for(&preset.server, ""))
        && p.id != preset_p.id
    {
        {
            warnings.push(Warning {
                id: "preset-provider-differs",
                title: "The organization's server and this domain's mail provider differ".into(),
                advice: format!(
                    "The preset ({}) sends through {} ({}), but {domain}'s mail is handled by {}. Before you set up the copier, send IT this: \"The MX records of {domain} point to {}, but ScanMail's preset sends through {} ({}). Which SMTP server should the device account on {domain} use?\"",
                    preset.organization, preset.server, preset_p.name, p.name, p.name, preset.server, preset_p.name
                ),
            });
        }
    }
    let mut info = found.map(|p| {
        let mut info = ProviderInfo::from(p);
        info.detected_by = facts.detected_by.unwrap_or("mx");
        info.mx = facts.mx.clone();
        info
    });
    if let (None, Some((host, port, implicit))) = (&info, &facts.srv) {
        if facts.srv_trusted {
            // The domain names its own sending server (RFC 6186): worth testing as it is.
            info = Some(ProviderInfo {
                kind: "own server",
                id: "own-server",
                name: "The domain's own mail server",
                server: Some(host.clone()),
                ssl_port: implicit.then_some(*port),
                starttls_port: (!implicit).then_some(*port),
                recommended: if *implicit {
                    Security::Ssl
                } else {
                    Security::Starttls
                },
                app_password_page: None,
                rules: &[],
                detected_by: "srv",
                mx: facts.mx.clone(),
            });
        } else {
            warnings.push(Warning {
                id: "srv-outside-domain",
                title: "The domain points to a server outside it".into(),
                advice: format!(
                    "{domain}'s records name {host} as its sending server, which is outside {domain}. ScanMail does not use it on its own. Send IT this: \"The DNS SRV record _submission._tcp.{domain} names {host} (port {port}), which is outside {domain}. Is {host} the right SMTP server for the device account on {domain}?\""
                ),
            });
        }
    }
    (info, warnings)
}

pub(super) fn lookup(
    args: &LookupArgs,
    org: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<i32, BadInput> {
    let (maker, model, server, user, from) = (
        nonempty(&args.manufacturer),
        nonempty(&args.model),
        nonempty(&args.server),
        nonempty(&args.user),
        nonempty(&args.from),
    );
    if [maker, model, server, user].iter().all(Option::is_none) {
        return Err(BadInput(
            "Give at least one of --manufacturer, --model, --server or --user.".into(),
        ));
    }
    let engine = Engine::parse(&args.engine)?;
    if let Some(s) = server {
        smtp::validate_server(s)?;
    }
    for a in [user, from].into_iter().flatten() {
        smtp::validate_address(a)
            .map_err(|a| BadInput(format!("\"{a}\" is not a complete email address.")))?;
    }
    let cat = catalog::catalog();
    let manufacturer = cat.find_manufacturer(maker.unwrap_or(""), model.unwrap_or(""));
    let manual_search = if maker.is_some() || model.is_some() {
        search::manual_links(
            &engine,
            maker.unwrap_or(""),
            model.unwrap_or(""),
            manufacturer,
        )
        .into_iter()
        .map(|l| l.url)
        .collect()
    } else {
        Vec::new()
    };
    let (provider, mut domain_warnings) = provider_found(server, user, org);
    let warnings = warnings::warnings(
        cat,
        &warnings::Input {
            server: server.unwrap_or(""),
            account: user.unwrap_or(""),
            from,
            password_as_typed: None,
            ssl_port: None,
            starttls_port: None,
        },
    );
    let mut warnings = warnings;
    warnings.append(&mut domain_warnings);
    let output = LookupOutput {
        manufacturer,
        manual_search,
        provider,
        warnings,
    };
    if args.json {
        let text = super::json_text(&output, true)?;
        let _ = writeln!(out, "{text}");
    } else {
        let _ = write!(out, "{}", human(&output, maker));
    }
    Ok(0)
}

fn human(o: &LookupOutput<'_>, typed: Option<&str>) -> String {
    let mut s = String::new();
    match (o.manufacturer, typed) {
        (Some(m), _) => {
            s += &format!("Device: {}\n", m.name);
            if let Some(f) = &m.web_ui {
                s += &format!("  Its settings web page is called: {}\n", f.value);
            }
            if let Some(f) = &m.smtp_menu {
                s += &format!("  SMTP settings are under: {}\n", f.value);
            }
            for sec in [Security::Ssl, Security::Starttls] {
                if let Some(word) = m.label_for(sec) {
                    s += &format!("  It calls {}: \"{word}\"\n", sec.label());
                }
            }
            if let Some(line) = m.oauth_line() {
                s += &format!("  Sign-in: {line}\n");
            }
            for f in &m.limits {
                s += &format!("  Good to know: {}\n", f.value);
            }
        }
        (None, Some(t)) => {
            s += &format!(
                "Device: \"{t}\" is not in ScanMail's list yet; the manual search below still works.\n"
            );
        }
        (None, None) => {}
    }
    if !o.manual_search.is_empty() {
        s += "Manual search:\n";
        for url in &o.manual_search {
            s += &format!("  {url}\n");
        }
    }
    if let Some(p) = &o.provider {
        s += &format!("Provider: {}\n", p.name);
        match p.detected_by {
            "mx" => {
                s += &format!(
                    "  Found from the domain's mail records (MX: {})\n",
                    p.mx.join(", ")
                );
            }
            "srv" => s += "  Found from the domain's submission record (SRV)\n",
            "domain" => s += "  Known from the address's domain\n",
            _ => {}
        }
        if let Some(server) = &p.server {
            let ports: Vec<String> = [
                (p.ssl_port, Security::Ssl),
                (p.starttls_port, Security::Starttls),
            ]
            .iter()
            .filter_map(|(port, sec)| port.map(|n| format!("{n} with {}", sec.label())))
            .collect();
            s += &format!("  Server {server}, port {}\n", ports.join(" or "));
        }
        for r in p.rules {
            s += &format!("  - {}\n", r.value);
        }
        if let Some(page) = p.app_password_page {
            s += &format!("  App passwords are made at {page}\n");
        }
    }
    if !o.warnings.is_empty() {
        s += "\n";
        s += &super::warnings_text(&o.warnings);
    }
    s
}
