//! The settings card: exactly what to type into the device, as text and as printable HTML.
//! It never holds the password: the card says where the password goes, not what it is.

use crate::catalog::Manufacturer;
use crate::smtp::{Report, Security};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub server: String,
    pub port: u16,
    pub security: Security,
    /// What this device's menus call that security, when the catalog knows.
    pub device_words: Option<String>,
    /// What this device's menus call the other security (to be turned off), when known.
    pub device_words_off: Option<String>,
    /// What the password row says, following the provider ("16 letters" only where true).
    pub password_hint: String,
    pub login: String,
    pub from: String,
    pub device: Option<String>,
    /// Where the SMTP settings are on this device, when the catalog knows.
    pub menu_path: Option<String>,
    /// What the device's settings web page is called, when known.
    pub web_ui: Option<String>,
    /// When the settings were proven, and the test message's token.
    pub tested: Option<(String, String)>,
    /// The device signs in with OAuth 2.0 (no password row).
    pub sign_in: Option<crate::oauth::Provider>,
    /// Where on this copier the sign-in happens, when the catalog knows (its panel, its web
    /// page).
    pub sign_in_where: Option<String>,
    /// What is coming for these settings (Microsoft 365 before it turns passwords off), in the
    /// same words as the verdict, and the message for IT that goes with it.
    pub notice: Option<(String, String)>,
}

/// What a line of the card is about. Code that treats a row specially (the window shows the
/// password row masked, with Show) matches on this, never on the row's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowKind {
    Server,
    Port,
    Security,
    Authentication,
    Login,
    Password,
    From,
    MenuPath,
}

impl RowKind {
    /// The row's label, in the words most devices' menus use.
    pub fn label(self) -> &'static str {
        match self {
            RowKind::Server => "SMTP server",
            RowKind::Port => "Port",
            RowKind::Security => "Security",
            RowKind::Authentication => "Authentication",
            RowKind::Login => "Login name",
            RowKind::Password => "Password",
            RowKind::From => "From address",
            RowKind::MenuPath => "Where on the device",
        }
    }
}

/// One line of the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub value: String,
}

impl Row {
    pub fn label(&self) -> &'static str {
        self.kind.label()
    }
}

/// The other security setting (the one to turn off).
fn other(security: Security) -> Security {
    match security {
        Security::Ssl => Security::Starttls,
        Security::Starttls => Security::Ssl,
    }
}

/// What the password row says: where the password comes from, never the password. "16 letters"
/// only for providers whose app passwords are 16 letters; the mailbox's own password where the
/// provider gives devices no app passwords (Microsoft 365).
pub fn password_hint(server: &str, account: &str) -> String {
    let provider = crate::catalog::catalog().provider_for(server, account);
    if provider.is_some_and(|p| p.app_password_page.is_none() && p.app_password_length.is_none()) {
        return "The mailbox's password, as in step 1 (no spaces)".to_string();
    }
    match provider.and_then(|p| {
        p.app_password_length
            .map(|n| (n, p.app_password_letters_only))
    }) {
        Some((n, true)) => format!("The app password ({n} letters, no spaces)"),
        Some((n, false)) => format!("The app password ({n} characters, no spaces)"),
        None => "The app password (no spaces)".to_string(),
    }
}

/// What the Authentication row says for a device that signs in with the provider: where the
/// sign-in happens on this copier, when the catalog knows.
pub fn oauth_text(provider: crate::oauth::Provider, place: Option<&str>) -> String {
    let name = match provider {
        crate::oauth::Provider::Microsoft => "Microsoft",
        crate::oauth::Provider::Google => "Google",
    };
    let place = place.map_or_else(
        || "Choose it, then sign in on the copier as the login name below.".to_string(),
        |p| format!("Choose it, then sign in as the login name below. On this copier: {p}."),
    );
    format!(
        "{name} sign-in (the copier may call it OAuth 2.0 or Modern authentication). {place} Some copiers need IT's approval first."
    )
}

/// What to check at the copier, after typing the card in.
pub const AT_THE_COPIER: [&str; 4] = [
    "Type each setting exactly as shown, then save the settings on the copier.",
    "Send a one-page scan to yourself.",
    "If the copier has a \"test connection\" or \"send test\" button, use it too.",
    "Check that the scan arrives within a few minutes (look in Spam too).",
];

/// Why a copier can fail although ScanMail's test from this computer worked.
pub const IF_THE_COPIER_FAILS: [&str; 5] = [
    "First use Check the copier (in ScanMail, under the card). It shows what the copier itself sends and the one thing to fix.",
    "Another network: the copier's network may block mail ports. Ask IT to let the copier reach the server on the port above.",
    "Old encryption: some older copiers only speak TLS 1.0, which Microsoft 365 refuses. Ask IT or the copier's dealer for a software update for the copier.",
    "Wrong clock: a copier with the wrong date cannot check certificates. Set its date and time.",
    "From address: the copier's sender (From) address must be the login address above.",
];
impl Card {
    /// The card for a test whose recommended port worked; `None` when no port worked.
    /// `device` is the device's label ([`crate::profile::device_label`]).
    pub fn from_report(
        report: &Report,
        maker: Option<&Manufacturer>,
        device: &str,
        sign_in: Option<crate::oauth::Provider>,
    ) -> Option<Card> {
        let rec = report.recommended?;
        let device = device.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(Card {
            server: report.server.clone(),
            port: rec.port,
            security: rec.security,
            device_words: maker
                .and_then(|m| m.label_for(rec.security))
                .map(String::from),
            device_words_off: maker
                .and_then(|m| m.label_for(other(rec.security)))
                .map(String::from),
            password_hint: password_hint(&report.server, &report.account),
            login: report.account.clone(),
            from: report.account.clone(),
            device: (!device.is_empty()).then_some(device),
            menu_path: maker
                .and_then(|m| m.smtp_menu.as_ref())
                .map(|f| f.value.clone()),
            web_ui: maker
                .and_then(|m| m.web_ui.as_ref())
                .map(|f| f.value.clone()),
            tested: Some((report.started_at.clone(), report.token.clone())),
            sign_in: sign_in.filter(|_| report.auth == crate::smtp::Auth::OAuth),
            sign_in_where: maker
                .and_then(|m| m.oauth.pattern.as_ref())
                .map(|f| f.value.clone()),
            notice: report
                .summary
                .notice
                .clone()
                .zip(report.summary.message_for_it.clone()),
        })
    }

    /// The card for a saved device whose last test worked.
    pub fn from_profile(p: &crate::profile::Profile, maker: Option<&Manufacturer>) -> Option<Card> {
        // Only a result for what the device still names counts as proof.
        let test = p.last_test.as_ref().filter(|t| t.works && t.matches(p))?;
        let rec = test.recommended?;
        let device = p.label();
        Some(Card {
            server: p.server.trim().to_string(),
            port: rec.port,
            security: rec.security,
            device_words: maker
                .and_then(|m| m.label_for(rec.security))
                .map(String::from),
            device_words_off: maker
                .and_then(|m| m.label_for(other(rec.security)))
                .map(String::from),
            password_hint: password_hint(&p.server, &p.account),
            login: p.account.trim().to_string(),
            from: p.account.trim().to_string(),
            device: Some(device).filter(|d| !d.is_empty()),
            menu_path: maker
                .and_then(|m| m.smtp_menu.as_ref())
                .map(|f| f.value.clone()),
            web_ui: maker
                .and_then(|m| m.web_ui.as_ref())
                .map(|f| f.value.clone()),
            tested: Some((test.at.clone(), String::new())).filter(|(at, _)| !at.is_empty()),
            sign_in: p.sign_in,
            sign_in_where: maker
                .and_then(|m| m.oauth.pattern.as_ref())
                .map(|f| f.value.clone()),
            notice: None,
        })
    }

    /// What to turn on and what to turn off, in the device's own words where known:
    /// "Turn on SMTP over SSL (this is SSL/TLS). Turn off Start TLS."
    pub fn security_text(&self) -> String {
        let generic = self.security.label();
        let on = match &self.device_words {
            Some(w) if w != generic => format!("{w} (this is {generic})"),
            _ => generic.to_string(),
        };
        match (&self.device_words, &self.device_words_off) {
            // One switch for both (Sharp's "Enable SSL/TLS"): the port decides which.
            (Some(a), Some(b)) if a == b => format!("Turn on {on}. The port above picks which."),
            // The copier's word for this kind is not known, but its word for the other is:
            // never tell it to turn off what may be its only encryption setting (Canon).
            (None, Some(_)) => format!("Turn on {on}."),
            (_, Some(off)) => format!("Turn on {on}. Turn off {off}."),
            (_, None) => format!("Turn on {on}. Turn off {}.", other(self.security).label()),
        }
    }

    pub fn rows(&self) -> Vec<Row> {
        let row = |kind, value: String| Row { kind, value };
        let mut rows = vec![
            row(RowKind::Server, self.server.clone()),
            row(RowKind::Port, self.port.to_string()),
            row(RowKind::Security, self.security_text()),
            row(RowKind::Authentication, "On (SMTP authentication)".into()),
            row(RowKind::Login, self.login.clone()),
            row(RowKind::Password, self.password_hint.clone()),
            row(RowKind::From, self.from.clone()),
        ];
        if let Some(p) = self.sign_in {
            // No password: the copier signs in itself, as the login, with the provider.
            rows[3].value = oauth_text(p, self.sign_in_where.as_deref());
            rows.remove(5);
        }
        if let Some(m) = &self.menu_path {
            rows.push(row(RowKind::MenuPath, m.clone()));
        }
        rows
    }

    /// The rows as aligned plain text, each line starting with `indent`.
    pub fn rows_text(&self, indent: &str) -> String {
        let mut s = String::new();
        for r in self.rows() {
            s += &format!("{indent}{:<22}{}\n", format!("{}:", r.label()), r.value);
        }
        s
    }

    pub fn title(&self) -> String {
        match &self.device {
            Some(d) => format!("Scan-to-email settings for {d}"),
            None => "Scan-to-email settings".to_string(),
        }
    }

    /// Plain text, for the clipboard and for "Save as... .txt".
    pub fn text(&self) -> String {
        let mut s = format!("{}\n\n{}", self.title(), self.rows_text(""));
        if let Some(w) = &self.web_ui {
            s += &format!(
                "\nOpen the device's settings page ({w}) in a browser, or use its control panel.\n"
            );
        }
        if let Some((when, token)) = &self.tested {
            s += &tested_line(when, token);
            s += "\n";
        }
        if let Some((notice, for_it)) = &self.notice {
            s += &format!("\nNote: {notice}\nMessage for IT:\n{for_it}\n");
        }
        s += "\nAt the copier:\n";
        for (i, l) in AT_THE_COPIER.iter().enumerate() {
            s += &format!("  {}. {l}\n", i + 1);
        }
        s += "\nIf the copier fails although ScanMail worked:\n";
        for l in IF_THE_COPIER_FAILS {
            s += &format!("  - {l}\n");
        }
        s
    }

    /// A small printable page, for "Save as... .html" and "Print".
    pub fn html(&self) -> String {
        let mut rows = String::new();
        for r in self.rows() {
            rows += &format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                esc(r.label()),
                esc(&r.value)
            );
        }
        let mut notes = String::new();
        if let Some(w) = &self.web_ui {
            notes += &format!(
                "<p>Open the device's settings page ({}) in a browser, or use its control panel.</p>\n",
                esc(w)
            );
        }
        if let Some((when, token)) = &self.tested {
            notes += &format!(
                "<p class=\"small\">{}</p>\n",
                esc(&tested_line(when, token))
            );
        }
        if let Some((notice, for_it)) = &self.notice {
            notes += &format!(
                "<p><strong>Note:</strong> {}</p>\n<pre class=\"small\">{}</pre>\n",
                esc(notice),
                esc(for_it)
            );
        }
        notes += "<h2>At the copier</h2>\n<ol>\n";
        for l in AT_THE_COPIER {
            notes += &format!("<li>{}</li>\n", esc(l));
        }
        notes += "</ol>\n<h2>If the copier fails although ScanMail worked</h2>\n<ul>\n";
        for l in IF_THE_COPIER_FAILS {
            notes += &format!("<li>{}</li>\n", esc(l));
        }
        notes += "</ul>\n";
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
             <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:44em}}\
             table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.5em;border-bottom:1px solid #ccc;vertical-align:top}}\
             th{{width:12em}}td{{font-family:ui-monospace,monospace;font-size:1.1em}}.small{{color:#555;font-size:.9em}}</style>\n\
             </head><body>\n<h1>{title}</h1>\n<table>\n{rows}</table>\n{notes}</body></html>\n",
            title = esc(&self.title()),
        )
    }
}

fn tested_line(when: &str, token: &str) -> String {
    let when = crate::time::local_words_from(when);
    if token.is_empty() {
        format!("Tested by ScanMail on {when}.")
    } else {
        format!("Tested by ScanMail on {when} (test message [{token}]).")
    }
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::catalog;
    use crate::smtp::{PortResult, Recommended};

    fn report(security: Security, port: u16) -> Report {
        Report {
            server: "smtp.gmail.com".into(),
            account: "lab-scanner@example.edu".into(),
            recipient: "lab-scanner@example.edu".into(),
            login_only: false,
            auth: crate::smtp::Auth::Password,
            token: "K7QX2M".into(),
            started_at: "2026-11-27T10:00:00Z".into(),
            results: vec![PortResult::sample(port, security, true)],
            recommended: Some(Recommended { port, security }),
            summary: crate::smtp::verdict::Summary::default(),
        }
    }

    #[test]
    fn the_card_uses_the_device_words() {
        let km = catalog().manufacturer("Konica Minolta");
        let card = Card::from_report(
            &report(Security::Ssl, 465),
            km,
            "Konica Minolta bizhub C300i",
            None,
        )
        .unwrap();
        let text = card.text();
        assert!(
            text.contains("SMTP server:          smtp.gmail.com"),
            "{text}"
        );
        assert!(text.contains("Port:                 465"), "{text}");
        assert!(
            text.contains("Turn on SMTP over SSL (this is SSL/TLS). Turn off Start TLS."),
            "{text}"
        );
        assert!(
            text.contains("The app password (16 letters, no spaces)"),
            "{text}"
        );
        assert!(
            text.contains("Utility > Administrator > Network > E-mail Setting > E-mail TX (SMTP)"),
            "{text}"
        );
        assert!(
            text.contains("From address:         lab-scanner@example.edu"),
            "{text}"
        );
        let card = Card::from_report(&report(Security::Starttls, 587), km, "", None).unwrap();
        assert!(
            card.text()
                .contains("Turn on Start TLS (this is STARTTLS). Turn off SMTP over SSL.")
        );
        assert_eq!(card.title(), "Scan-to-email settings");
    }

    #[test]
    fn a_saved_device_gives_the_same_card_once_tested() {
        use crate::profile::{LastTest, Profile};
        let mut p = Profile {
            name: "Warren 2nd floor scanner".into(),
            manufacturer: "Konica Minolta".into(),
            model: "bizhub C300i".into(),
            account: "lab-scanner@example.edu".into(),
            server: "smtp.gmail.com".into(),
            ssl_port: Some(465),
            starttls_port: Some(587),
            ..Profile::default()
        };
        let km = catalog().manufacturer("Konica Minolta");
        assert!(Card::from_profile(&p, km).is_none(), "never tested");
        p.last_test = Some(LastTest {
            at: "2026-11-27T10:00:00Z".into(),
            works: true,
            recommended: Some(Recommended {
                port: 587,
                security: Security::Starttls,
            }),
            summary: String::new(),
            server: "smtp.gmail.com".into(),
            account: "lab-scanner@example.edu".into(),
            auth: None,
        });
        // A result for another server (a file edited by hand, or from 0.1) proves nothing here.
        let mut elsewhere = p.clone();
        elsewhere.server = "smtp.attacker.example".into();
        assert!(Card::from_profile(&elsewhere, km).is_none());
        let mut old = p.clone();
        if let Some(t) = old.last_test.as_mut() {
            t.server.clear();
        }
        assert!(
            Card::from_profile(&old, km).is_none(),
            "0.1 results name no server"
        );
        let card = Card::from_profile(&p, km).unwrap();
        assert_eq!((card.port, card.security), (587, Security::Starttls));
        assert_eq!(
            card.title(),
            "Scan-to-email settings for Warren 2nd floor scanner (Konica Minolta bizhub C300i)"
        );
        assert!(
            card.text()
                .contains("Turn on Start TLS (this is STARTTLS). Turn off SMTP over SSL.")
        );
        assert!(card.text().contains(&format!(
            "Tested by ScanMail on {}.",
            crate::time::local_words_from("2026-11-27T10:00:00Z")
        )));
        if let Some(t) = p.last_test.as_mut() {
            t.works = false;
        }
        assert!(Card::from_profile(&p, km).is_none(), "the last test failed");
    }

    #[test]
    fn no_card_without_a_working_port() {
        let mut r = report(Security::Ssl, 465);
        r.recommended = None;
        assert!(Card::from_report(&r, None, "x", None).is_none());
    }

    #[test]
    fn html_is_escaped() {
        let card = Card::from_report(
            &report(Security::Ssl, 465),
            None,
            "<script>alert(1)</script> & co",
            None,
        )
        .unwrap();
        let html = card.html();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(html.contains("<th>Port</th><td>465</td>"));
    }

    #[test]
    fn an_oauth_device_has_no_password_row() {
        let mut r = report(Security::Starttls, 587);
        r.auth = crate::smtp::Auth::OAuth;
        let card =
            Card::from_report(&r, None, "Lab", Some(crate::oauth::Provider::Microsoft)).unwrap();
        let rows = card.rows();
        assert!(rows.iter().all(|r| r.kind != RowKind::Password));
        let auth = rows
            .iter()
            .find(|r| r.kind == RowKind::Authentication)
            .unwrap();
        assert!(
            auth.value
                .starts_with("Microsoft sign-in (the copier may call it OAuth 2.0"),
            "{}",
            auth.value
        );
        assert!(auth.value.contains("IT's approval"), "{}", auth.value);
        // Where on the copier, from the catalog.
        let canon = crate::catalog::catalog().find_manufacturer("Canon", "");
        let card =
            Card::from_report(&r, canon, "Lab", Some(crate::oauth::Provider::Microsoft)).unwrap();
        let auth = card.rows()[3].value.clone();
        assert!(
            auth.contains("On this copier: a code shown on its web page (Remote UI)"),
            "{auth}"
        );
        // A password test proves nothing about an OAuth sign-in: the password row stays.
        let card = Card::from_report(
            &report(Security::Starttls, 587),
            None,
            "Lab",
            Some(crate::oauth::Provider::Microsoft),
        )
        .unwrap();
        assert!(card.rows().iter().any(|r| r.kind == RowKind::Password));
    }
}
