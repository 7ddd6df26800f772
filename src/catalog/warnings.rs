//! Warnings before a test: things the catalog knows will likely fail, each with a fix.

use super::Catalog;
use serde::Serialize;

/// One warning. `id` is stable kebab-case for scripts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub id: &'static str,
    pub title: String,
    pub advice: String,
}

/// What the warnings look at. Nothing here is kept or shown except as the warnings' words.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    pub server: &'a str,
    pub account: &'a str,
    /// The From address typed into the device, if different from the account.
    pub from: Option<&'a str>,
    /// The password exactly as pasted (only its shape is looked at).
    pub password_as_typed: Option<&'a str>,
    pub ssl_port: Option<u16>,
    pub starttls_port: Option<u16>,
}

/// True for a warning that only matters when the device signs in with a password.
pub fn about_passwords(w: &Warning) -> bool {
    matches!(
        w.id,
        "microsoft-password-sign-in-retiring" | "password-spaces" | "not-an-app-password"
    )
}

pub fn warnings(catalog: &Catalog, input: &Input<'_>) -> Vec<Warning> {
    warnings_at(catalog, input, crate::time::now_unix())
}

/// [`warnings`] as of `now_unix` (some words follow Microsoft's dates).
pub fn warnings_at(catalog: &Catalog, input: &Input<'_>, now_unix: i64) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |id, title: &str, advice: String| {
        out.push(Warning {
            id,
            title: title.to_string(),
            advice,
        });
    };
    let server = input.server.trim().to_ascii_lowercase();
    let provider = catalog.provider_for(&server, input.account);
    let provider_id = provider.map(|p| p.id.as_str());

    if server == "smtp-relay.gmail.com" {
        warn(
            "smtp-relay-gmail",
            "smtp-relay.gmail.com will likely not work",
            "smtp-relay.gmail.com is for whole organizations, set up by their Google admin. It does not take a device account's app password. Use smtp.gmail.com instead.".into(),
        );
    }
    if input.ssl_port == Some(25) || input.starttls_port == Some(25) {
        warn(
            "port-25",
            "Port 25 is not for devices",
            "Port 25 is for mail servers passing mail to each other. Many networks block it, and providers refuse signed-in sending there. Use 465 with SSL/TLS or 587 with STARTTLS.".into(),
        );
    }
    if matches!(provider_id, Some("microsoft365" | "outlook")) && input.ssl_port.is_some() {
        warn(
            "microsoft-no-465",
            "Microsoft does not take port 465",
            "Microsoft takes signed-in sending only on port 587 with STARTTLS. So the SSL/TLS test will fail. Set the device to 587 with STARTTLS.".into(),
        );
    }
    if provider_id == Some("microsoft365") {
        warn(
            "microsoft-password-sign-in-retiring",
            "Microsoft is switching off password sign-in for sending",
            super::microsoft::retiring_words(now_unix),
        );
    }
    if provider_id == Some("outlook") {
        warn(
            "outlook-modern-sign-in",
            "Outlook.com may refuse password sign-in",
            "Personal Outlook.com accounts want Microsoft's own sign-in, which most copiers cannot do. Use a Google Workspace account or your organization's account instead.".into(),
        );
    }
    if let Some(from) = input.from.map(str::trim).filter(|f| !f.is_empty())
        && !from.eq_ignore_ascii_case(input.account.trim())
    {
        warn(
            "from-not-login",
            "The From address is not the login",
            format!(
                "Gmail and Microsoft 365 refuse or change mail whose From address is not the login. Set the device's From (sender) address to {}.",
                input.account.trim()
            ),
        );
    }
    if let Some(raw) = input.password_as_typed {
        if raw.trim() != raw || raw.contains(char::is_whitespace) {
            warn(
                "password-spaces",
                "Spaces were removed from the app password",
                "App passwords are shown in groups with spaces, but they are typed without them. ScanMail removed the spaces. Type it into the device without spaces too.".into(),
            );
        }
        let bare: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(p) = provider
            && let Some(len) = p.app_password_length
        {
            let letters_ok =
                !p.app_password_letters_only || bare.chars().all(|c| c.is_ascii_alphabetic());
            if !bare.is_empty() && (bare.chars().count() != len || !letters_ok) {
                let shape = if p.app_password_letters_only {
                    format!("{len} letters")
                } else {
                    format!("{len} characters")
                };
                warn(
                    "not-an-app-password",
                    "This does not look like an app password",
                    format!(
                        "{} app passwords are {shape}. This looks like a normal password, which devices cannot use. Make an app password for this device and paste it here.",
                        p.name
                    ),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;

    fn ids(input: Input<'_>) -> Vec<&'static str> {
        warnings(catalog(), &input)
            .into_iter()
            .map(|w| w.id)
            .collect()
    }

    fn gmail() -> Input<'static> {
        Input {
            server: "smtp.gmail.com",
            account: "lab-scanner@example.edu",
            from: None,
            password_as_typed: Some("abcdefghijklmnop"),
            ssl_port: Some(465),
            starttls_port: Some(587),
        }
    }

    #[test]
    fn a_good_gmail_setup_has_no_warnings() {
        assert!(ids(gmail()).is_empty());
    }

    #[test]
    fn each_warning_fires_when_it_should() {
        assert_eq!(
            ids(Input {
                server: "smtp-relay.gmail.com",
                ..gmail()
            }),
            ["smtp-relay-gmail"]
        );
        assert_eq!(
            ids(Input {
                starttls_port: Some(25),
                ..gmail()
            }),
            ["port-25"]
        );
        assert_eq!(
            ids(Input {
                server: "smtp.office365.com",
                password_as_typed: Some("Winter2026!"),
                ..gmail()
            }),
            ["microsoft-no-465", "microsoft-password-sign-in-retiring"]
        );
        assert_eq!(
            ids(Input {
                server: "smtp.office365.com",
                ssl_port: None,
                password_as_typed: None,
                ..gmail()
            }),
            ["microsoft-password-sign-in-retiring"]
        );
        assert_eq!(
            ids(Input {
                server: "smtp-mail.outlook.com",
                ssl_port: None,
                ..gmail()
            }),
            ["outlook-modern-sign-in"]
        );
        assert_eq!(
            ids(Input {
                from: Some("scans@example.edu"),
                ..gmail()
            }),
            ["from-not-login"]
        );
        assert!(
            ids(Input {
                from: Some("LAB-SCANNER@example.edu"),
                ..gmail()
            })
            .is_empty()
        );
        assert_eq!(
            ids(Input {
                password_as_typed: Some("abcd efgh ijkl mnop"),
                ..gmail()
            }),
            ["password-spaces"]
        );
        assert_eq!(
            ids(Input {
                password_as_typed: Some("Winter2026!"),
                ..gmail()
            }),
            ["not-an-app-password"]
        );
        assert_eq!(
            ids(Input {
                password_as_typed: Some("abcdefghijklmno"),
                ..gmail()
            }),
            ["not-an-app-password"]
        );
        // Providers without a known app-password shape never get that warning.
        assert!(
            ids(Input {
                server: "mail.uni.edu",
                password_as_typed: Some("x"),
                ..gmail()
            })
            .is_empty()
        );
    }

    #[test]
    fn advice_is_plain_and_complete() {
        let all = warnings(
            catalog(),
            &Input {
                server: "smtp.office365.com",
                account: "a@b.edu",
                from: Some("c@b.edu"),
                password_as_typed: Some(" x y "),
                ssl_port: Some(25),
                starttls_port: Some(587),
            },
        );
        assert!(all.len() >= 4);
        for w in all {
            assert!(
                w.id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
            );
            assert!(!w.title.is_empty() && w.advice.ends_with('.'), "{w:?}");
        }
    }
}
