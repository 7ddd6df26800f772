//! The commented relay.toml `relay init` writes, from the organization preset.

/// How `relay init` was asked to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthChoice {
    /// The preset's app where it has one, else (Microsoft) the app-only sign-in.
    Best,
    /// A password, on purpose.
    Password,
}

/// The sign-in `relay init` chooses for `preset`: for Microsoft, the preset's delegated app
/// (`oauth`) where it has one, else the app-only sign-in (`app`), never a password by surprise;
/// for Google, the preset's app, else a password (Google has no app-only sign-in for Gmail).
pub fn auth_for(preset: &crate::org::Preset, choice: AuthChoice) -> &'static str {
    let kind = kind_of(preset);
    if choice == AuthChoice::Password {
        return "password";
    }
    match kind {
        "microsoft" if preset.oauth.microsoft.is_some() => "oauth",
        "microsoft" => "app",
        "google" if preset.oauth.google.is_some() => "oauth",
        _ => "password",
    }
}

/// "microsoft", "google" or "server", from the preset's server.
pub fn kind_of(preset: &crate::org::Preset) -> &'static str {
    match crate::catalog::catalog()
        .provider_for(&preset.server, "")
        .map(|p| p.id.as_str())
    {
        Some("microsoft365") => "microsoft",
        Some("google") => "google",
        _ => "server",
    }
}

/// The commented relay.toml `relay init` writes, from the organization preset. `app`: the
/// app-only section (`authority`, `tenant`) when `auth` is "app".
pub fn initial_text(preset: &crate::org::Preset, auth: &str, app: Option<(&str, &str)>) -> String {
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
    let mut oauth = String::new();
    if let Some((authority, tenant)) = app.filter(|_| auth == "app") {
        let authority = if authority.is_empty() {
            String::new()
        } else {
            format!("authority = \"{authority}\"\n")
        };
        oauth = format!(
            "# The relay's own app for the app-only sign-in: scanmail relay microsoft-app makes its\n# certificate; scanmail relay sign-in --client-id ID fills in client_id.\n[upstream.oauth.microsoft]\nclient_id = \"\"\ntenant = \"{tenant}\"\n{authority}"
        );
    } else if let Ok(t) = toml::to_string(&preset.oauth)
        && auth == "oauth"
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
auth = "{auth}"                       # app (Microsoft 365, no person) | oauth (a person signs in) | password
{server_line}
port = {port}
security = "{security}"             # starttls | ssl
# ca_file = "our-ca.pem"           # an organization's own server's CA
# secrets = "keychain"             # where the app's key, refresh token or password is kept: keychain | file | system-keychain (macOS service)

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
        let text = initial_text(&preset, "oauth", None)
            .replace("scanner@example.edu", "scan@contoso.example");
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
