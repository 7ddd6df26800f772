//! The commented relay.toml `relay init` writes, from the organization preset.

/// The commented relay.toml `relay init` writes, from the organization preset.
pub fn initial_text(preset: &crate::org::Preset) -> String {
    let cat = crate::catalog::catalog();
    let provider = cat.provider_for(&preset.server, "");
    let (kind, server_line) = match provider.map(|p| p.id.as_str()) {
        Some("microsoft365") => ("microsoft", "# server = \"smtp.office365.com\"".to_string()),
        Some("google") => ("google", "# server = \"smtp.gmail.com\"".to_string()),
        _ => ("server", format!("server = \"{}\"", preset.server)),
    };
    let (security, port) = match (kind, preset.ssl_port, preset.starttls_port) {
        ("microsoft", _, p) => ("starttls", p.unwrap_or(587)),
        (_, Some(p), _) => ("ssl", p),
        (_, None, Some(p)) => ("starttls", p),
        _ => ("starttls", 587),
    };
    let has_app = match kind {
        "microsoft" => preset.oauth.microsoft.is_some(),
        "google" => preset.oauth.google.is_some(),
        _ => false,
    };
    let auth = if has_app { "oauth" } else { "password" };
    let mut oauth = String::new();
    if let Ok(t) = toml::to_string(&preset.oauth)
        && !preset.oauth.is_empty()
    {
        for line in t.lines() {
            let line = if let Some(rest) = line.strip_prefix('[') {
                format!("[upstream.oauth.{rest}")
            } else {
                line.to_string()
            };
            oauth += &line;
            oauth.push('\n');
        }
    }
    format!(
        r#"# ScanMail relay ("the bridge"): copiers sign in here on the local network, and the relay
# sends their mail on to the provider, signed in with OAuth 2.0 (or a password). Made by
# `scanmail relay init` from the organization preset ({org}). See the README, "Relay (for IT)".

# Where copiers connect: STARTTLS on these addresses (0.0.0.0 = every address of this computer).
listen = ["0.0.0.0:2525"]
# Also TLS from the first byte (the copier's "SSL/TLS"), for example ["0.0.0.0:2465"].
listen_tls = []
# Copiers that speak only old TLS 1.0 may connect and sign in WITHOUT encryption from these
# addresses or ranges only (keep it to the copier's own address), for example ["10.1.2.3"].
allow_plain_from = []
# certificate = "relay-cert.pem"   # else one is made once and kept next to this file
# key = "relay-key.pem"
# max_message_bytes = 36700160     # default: the provider's own limit
{help}

[upstream]
provider = "{kind}"                 # microsoft | google | server
account = "scanner@example.edu"     # the mailbox the relay sends as: change this
auth = "{auth}"                     # oauth | password
{server_line}
port = {port}
security = "{security}"             # starttls | ssl
# ca_file = "our-ca.pem"           # an organization's own server's CA
# secrets = "keychain"             # where the refresh token (or password) is kept: keychain | file | system-keychain (macOS service)

{oauth}
# Copiers are added with: scanmail relay add-device NAME [--address IP]
"#,
        org = preset.organization,
        help = preset.help_email().map_or_else(
            || "# help_desk_email = \"help@example.edu\" # one message a day while something needs a look".to_string(),
            |e| format!("help_desk_email = \"{e}\"        # one message a day while something needs a look"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::config::{ProviderKind, RelayConfig, UpSecurity};

    #[test]
    fn the_initial_file_reads_back_and_names_the_provider() {
        let preset =
            crate::org::Preset::parse(include_str!("../../resources/presets/microsoft-365.toml"))
                .unwrap();
        let text = initial_text(&preset).replace("scanner@example.edu", "scan@contoso.example");
        let cfg: RelayConfig = toml::from_str(&text).unwrap();
        assert_eq!(cfg.upstream.provider, ProviderKind::Microsoft);
        assert_eq!(cfg.upstream.server(), "smtp.office365.com");
        assert_eq!(
            (cfg.upstream.port(), cfg.upstream.security()),
            (587, UpSecurity::Starttls)
        );
        assert_eq!(cfg.listen, ["0.0.0.0:2525"]);
    }
}
