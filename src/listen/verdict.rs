//! What the real provider would do with what the copier sent, from the catalog's sourced
//! device rules (minimum TLS version, message size, From = login, current ciphers). A rule the
//! catalog does not know is said to be unknown, never guessed.

use super::{Connection, Verdict, hello};
use crate::catalog::{self, DeviceRules};

/// One provider's name and rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// `google` or `microsoft`.
    pub id: &'static str,
    pub name: String,
    pub rules: DeviceRules,
}

impl Rules {
    /// Google (Gmail, Workspace) and Microsoft 365, as the catalog has them.
    pub fn all() -> Vec<Rules> {
        [("google", "google"), ("microsoft", "microsoft365")]
            .into_iter()
            .filter_map(|(id, catalog_id)| Self::from_catalog(id, catalog_id))
            .collect()
    }

    /// One provider by its short name (`google`, `microsoft`).
    pub fn named(id: &str) -> Option<Rules> {
        Self::all().into_iter().find(|r| r.id == id)
    }

    /// The provider behind a server name (the preset's), when it is Google or Microsoft 365.
    pub fn for_server(server: &str) -> Option<Rules> {
        let p = catalog::catalog().provider_for(server, "")?;
        Self::all().into_iter().find(|r| {
            (r.id == "google" && p.id == "google")
                || (r.id == "microsoft" && p.id == "microsoft365")
        })
    }

    fn from_catalog(id: &'static str, catalog_id: &str) -> Option<Rules> {
        let p = catalog::catalog()
            .providers
            .iter()
            .find(|p| p.id == catalog_id)?;
        Some(Rules {
            id,
            name: p.name.clone(),
            rules: p.device_rules.clone(),
        })
    }
}

/// Adds one verdict per provider to the connection.
pub fn judge(c: &mut Connection, providers: &[Rules]) {
    c.verdicts = providers.iter().map(|p| one(c, p)).collect();
}

/// The words for asking IT or the copier's dealer for newer copier software.
pub const UPDATE: &str =
    "Ask IT or the copier's dealer for a software update for the copier (one that speaks TLS 1.2).";

/// What to do when the copier's encryption is older than this check speaks, but the provider
/// still takes it.
pub const OLDER_THAN_THE_CHECK: &str = "This check speaks only TLS 1.2 and newer, so it could not finish. Put the copier's real settings back and send a scan to yourself to see if it arrives.";

fn one(c: &Connection, p: &Rules) -> Verdict {
    let name = &p.name;
    let r = &p.rules;
    let mut bad: Vec<String> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    let mut good: Vec<String> = Vec::new();
    let highest = c.tls.highest_version.clone();
    let ports = if p.id == "microsoft" {
        "STARTTLS (Port 587)".to_string()
    } else {
        "STARTTLS (Port 587) or SSL/TLS (Port 465)".to_string()
    };
    // Encryption and its version.
    if c.tls.mode == "none" {
        bad.push(format!(
            "The copier sent without encryption: {name} will refuse its sign-in. Set the copier's security to {ports}."
        ));
    } else if let Some(min) = &r.min_tls {
        match &highest {
            Some(h) if hello::rank(h) >= hello::rank(&min.value) => good.push(format!(
                "Its encryption ({}) is new enough for {name}.",
                words(h)
            )),
            Some(h) => bad.push(format!(
                "The copier's encryption is too old ({}): {name} will refuse it. {UPDATE} Or ask IT to run ScanMail's relay: a computer that passes the copier's mail on with new encryption.",
                words(h)
            )),
            None => unknown.push("which encryption the copier offers"),
        }
    } else {
        unknown.push("which encryption this provider accepts");
    }
    if c.tls.mode != "none" {
        if let (Some(_), Some(false), true) =
            (&r.modern_cipher, c.tls.modern_cipher, bad.is_empty())
        {
            bad.push(format!(
                "The copier's encryption lacks the kind {name} now requires. {UPDATE}"
            ));
        }
        let older_than_this_check = highest.as_deref().is_some_and(|h| hello::rank(h) < 3);
        if c.tls.handshake == "failed"
            && bad.is_empty()
            && !super::ready::refused_our_certificate(c)
        {
            if older_than_this_check && r.min_tls.is_some() {
                // The provider takes it; only this check (TLS 1.2 and newer) could not.
                return Verdict {
                    provider: name.clone(),
                    ok: None,
                    why: format!(
                        "{name} still takes {}, but this check speaks only TLS 1.2 and newer, so it could not finish.",
                        words(highest.as_deref().unwrap_or(""))
                    ),
                };
            }
            bad.push(format!(
                "The encryption did not start, so no message came through. {UPDATE}"
            ));
        }
    }
    // Signing in.
    match &c.auth {
        None if c.mail_from.is_some() => bad.push(format!(
            "The copier did not sign in: {name} needs the login. Turn on SMTP authentication on the copier and enter the login."
        )),
        Some(a) if p.id == "microsoft" => good.push(format!(
            "It signs in as {} with a password. Microsoft turns password sending off at the end of December 2026. Ask IT how this copier will keep sending after that.",
            a.user
        )),
        _ => {}
    }
    // The sender: both the envelope (MAIL FROM) and the From header must be the login for
    // Microsoft 365.
    if let Some(auth) = &c.auth {
        let senders = [c.mail_from.as_ref(), c.from_header.as_ref()];
        if let Some(from) = senders
            .into_iter()
            .flatten()
            .find(|f| !f.eq_ignore_ascii_case(&auth.user))
        {
            match &r.from_must_match {
                Some(_) => bad.push(format!(
                    "The copier sends as {from} but signs in as {}: {name} refuses this. Set the copier's From (sender) address to {}.",
                    auth.user, auth.user
                )),
                None => unknown.push("whether the sender may differ from the login"),
            }
        }
    }
    // Size.
    if let Some(size) = c.size_bytes {
        match r.max_message_bytes.as_ref().and_then(|f| f.value.parse::<u64>().ok()) {
            Some(max) if size > max => bad.push(format!(
                "Your scan was {}. {name} takes at most {} per message. On the copier, scan at a lower resolution, or set a maximum email size so large scans are split.",
                mb(size),
                mb(max)
            )),
            Some(_) => {}
            None => unknown.push("the largest message this provider takes"),
        }
    }
    let ok = if !bad.is_empty() {
        Some(false)
    } else if unknown.is_empty() && c.tls.handshake == "ok" {
        Some(true)
    } else {
        None
    };
    let mut why = if bad.is_empty() { good } else { bad };
    if ok.is_none() && !unknown.is_empty() {
        why.push(format!(
            "ScanMail does not know {} for {name}. If scans do not arrive, copy this connection for IT.",
            unknown.join(", or ")
        ));
    }
    Verdict {
        provider: name.clone(),
        ok,
        why: why.join(" "),
    }
}

fn words(v: &str) -> String {
    v.replace("TLS", "TLS ")
}

fn mb(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / 1_048_576.0;
    format!("{m:.0} MB")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::{AuthFacts, TlsFacts};

    fn seen(version: &str, modern: bool) -> Connection {
        Connection {
            peer: "10.0.0.9".into(),
            tls: TlsFacts {
                mode: "starttls".into(),
                offered_versions: vec![version.into()],
                highest_version: Some(version.into()),
                handshake: if hello::rank(version) >= 3 {
                    "ok"
                } else {
                    "failed"
                }
                .into(),
                modern_cipher: Some(modern),
                ..TlsFacts::default()
            },
            auth: Some(AuthFacts {
                mechanism: "LOGIN".into(),
                user: "scanner@lab.example".into(),
                password_matches: None,
            }),
            mail_from: Some("scanner@lab.example".into()),
            size_bytes: Some(2_000_000),
            ..Connection::default()
        }
    }

    #[test]
    fn tls_versions_are_judged_by_each_providers_rule() {
        let mut c = seen("TLS1.2", true);
        judge(&mut c, &Rules::all());
        assert_eq!(c.verdicts.len(), 2);
        assert_eq!(c.verdicts[0].ok, Some(true), "{:?}", c.verdicts[0]);
        assert!(
            c.verdicts[0]
                .why
                .contains("(TLS 1.2) is new enough for Google"),
            "{:?}",
            c.verdicts[0]
        );
        assert_eq!(c.verdicts[1].ok, Some(true));
        assert!(c.verdicts[1].why.contains("end of December 2026"));
        let mut old = seen("TLS1.0", false);
        judge(&mut old, &Rules::all());
        let ms = &old.verdicts[1];
        assert_eq!(ms.ok, Some(false));
        assert!(
            ms.why
                .contains("too old (TLS 1.0): Microsoft 365 will refuse it"),
            "{ms:?}"
        );
        assert!(ms.why.contains("copier's dealer"), "says who: {ms:?}");
        // Gmail still takes TLS 1.0: not "too old", but a check that could not finish.
        let g = &old.verdicts[0];
        assert_eq!(g.ok, None, "{g:?}");
        assert!(g.why.contains("Gmail still takes TLS 1.0"), "{g:?}");
        assert!(
            !g.why.contains("too old") && !g.why.contains("update"),
            "{g:?}"
        );
    }

    #[test]
    fn size_from_and_plain_sending_are_explained() {
        let mut c = seen("TLS1.3", true);
        c.size_bytes = Some(40 * 1_048_576);
        c.from_header = Some("printer@lab.example".into());
        judge(&mut c, &Rules::all());
        let g = &c.verdicts[0];
        assert_eq!(g.ok, Some(false));
        assert!(g.why.contains("Your scan was 40 MB"), "{g:?}");
        let ms = &c.verdicts[1];
        assert!(
            ms.why
                .contains("sends as printer@lab.example but signs in as scanner@lab.example"),
            "{ms:?}"
        );
        // Google's From rule is not in the catalog: said to be unknown, not guessed.
        let mut c = seen("TLS1.3", true);
        c.from_header = Some("printer@lab.example".into());
        judge(&mut c, &Rules::all());
        assert_eq!(c.verdicts[0].ok, None);
        assert!(
            c.verdicts[0]
                .why
                .contains("does not know whether the sender may differ")
        );
        // The envelope counts too: a matching From header does not hide another MAIL FROM.
        let mut c = seen("TLS1.3", true);
        c.from_header = Some("scanner@lab.example".into());
        c.mail_from = Some("printer@lab.example".into());
        judge(&mut c, &Rules::all());
        assert_eq!(c.verdicts[1].ok, Some(false), "{:?}", c.verdicts[1]);
        let mut plain = Connection {
            mail_from: Some("a@b.example".into()),
            ..Connection::default()
        };
        judge(&mut plain, &Rules::all());
        assert!(plain.verdicts.iter().all(|v| v.ok == Some(false)));
        assert!(plain.verdicts[0].why.contains("without encryption"));
        assert!(
            !plain.verdicts[1].why.contains("465"),
            "Microsoft 365 has no port 465: {:?}",
            plain.verdicts[1]
        );
    }
}
