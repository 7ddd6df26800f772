//! One line at the top of each connection: "Ready: the copier will work with the card's
//! settings", or "Not ready: <the one thing to fix>". It counts everything the copier did against
//! what the card and step 1 say: where it connected from, its encryption (the card's security,
//! not always STARTTLS), its login and password, its sender (the envelope and the From header),
//! whether it finished, and the provider's own rules.

use super::{Connection, hello};
use crate::smtp::Security;
use serde::Serialize;
use std::net::IpAddr;

/// What the card and step 1 say the copier should do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The card's login (the device account).
    pub login: Option<String>,
    /// The card's security: SSL/TLS (the check listens with TLS at once) or STARTTLS.
    pub security: Option<Security>,
    /// The copier's address, when step 2 has one.
    pub copier: Option<IpAddr>,
    /// Said on the command line (`--copier`, `--password-env`), not in the window's steps.
    pub command_line: bool,
}

/// The line at the top of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ready {
    pub ok: bool,
    pub line: String,
}

/// True when the handshake failed because the copier refused ScanMail's temporary certificate
/// (it checks certificates: good, but this check cannot pass it).
pub fn refused_our_certificate(c: &Connection) -> bool {
    c.tls.failure.as_deref().is_some_and(|f| {
        [
            "UnknownCA",
            "BadCertificate",
            "CertificateUnknown",
            "UnsupportedCertificate",
        ]
        .iter()
        .any(|a| f.contains(a))
    })
}

/// Judges one connection; the first thing to fix wins.
pub fn judge(c: &Connection, expect: &Expect) -> Ready {
    let not = |line: String| Ready {
        ok: false,
        line: format!("Not ready: {line}"),
    };
    if let (Some(copier), Ok(peer)) = (expect.copier, c.peer.parse::<IpAddr>())
        && copier != peer
    {
        return not(if expect.command_line {
            format!(
                "this came from {peer}, not from the copier's address you gave ({copier}, --copier). Is that your copier? If it is, start the check again with --copier {peer}."
            )
        } else {
            format!(
                "this came from {peer}, not from the copier's address in step 2 ({copier}). Is that your copier? If it is, fix its address in step 2."
            )
        });
    }
    let card = expect.security.map(Security::label);
    if c.tls.at_once {
        return not(
            "the copier started encryption at once (SSL/TLS), but the card says STARTTLS. Set the copier's security to STARTTLS.".into(),
        );
    }
    if c.tls.mode == "none" {
        let set = card.unwrap_or("STARTTLS");
        return not(format!(
            "the copier sent without encryption. Set its security to {set}, as on the card."
        ));
    }
    if c.tls.handshake != "ok" {
        if refused_our_certificate(c) {
            return not("the copier did not trust ScanMail's test certificate. It checks certificates, which is good, but this check cannot pass that. Turn off the copier's certificate check only for this check, or skip the check.".into());
        }
        let old = c
            .tls
            .highest_version
            .as_deref()
            .is_some_and(|v| hello::rank(v) < 3);
        // Every provider judged here still takes it (Gmail keeps TLS 1.0): not known, and
        // the way to find out.
        let version = c
            .tls
            .highest_version
            .as_deref()
            .unwrap_or("")
            .replace("TLS", "TLS ");
        if old && !c.verdicts.is_empty() && c.verdicts.iter().all(|v| v.ok != Some(false)) {
            return Ready {
                ok: false,
                line: format!(
                    "Not known: the copier's encryption is old ({version}), but {} still takes it. {}",
                    c.verdicts
                        .iter()
                        .map(|v| v.provider.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    super::verdict::OLDER_THAN_THE_CHECK
                ),
            };
        }
        return not(if old {
            format!(
                "the copier's encryption is too old ({version}). {}",
                super::verdict::UPDATE
            )
        } else {
            format!(
                "the encryption did not start. Check that the copier's security is {}, as on the card.",
                card.unwrap_or("STARTTLS")
            )
        });
    }
    let Some(auth) = &c.auth else {
        return not(if c.cut {
            "the check ended before the copier signed in. Start the check again, then send a scan."
                .into()
        } else {
            "the copier did not sign in. Turn on SMTP authentication on the copier and enter the login from the card.".into()
        });
    };
    if let Some(login) = &expect.login
        && !auth.user.eq_ignore_ascii_case(login.trim())
    {
        return not(format!(
            "the copier signs in as {}, but the card's login is {}. Type the login from the card.",
            auth.user,
            login.trim()
        ));
    }
    if auth.password_matches == Some(false) {
        return not(if expect.command_line {
            "the copier's password is not the one you gave (--password-env). Type the password again on the copier.".into()
        } else {
            "the copier's password is not the one in step 1. Type the password again on the copier."
                .into()
        });
    }
    for from in [c.mail_from.as_ref(), c.from_header.as_ref()]
        .into_iter()
        .flatten()
    {
        if !from.eq_ignore_ascii_case(&auth.user) {
            return not(format!(
                "the copier sends as {from}, but signs in as {}. Set the copier's From (sender) address to {}.",
                auth.user, auth.user
            ));
        }
    }
    if c.size_bytes.is_none() {
        return not(if c.cut {
            "the check ended before the scan arrived. Start the check again, then send a scan."
                .into()
        } else {
            "the copier signed in but sent no scan. Send a scan to yourself from the copier.".into()
        });
    }
    if let Some(v) = c.verdicts.iter().find(|v| v.ok == Some(false)) {
        return not(lower_first(&v.why));
    }
    Ready {
        ok: true,
        line: "Ready: the copier will work with the card's settings.".into(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_lowercase().chain(c).collect::<String>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listen::{AuthFacts, TlsFacts};

    fn good() -> Connection {
        Connection {
            peer: "10.0.0.9".into(),
            tls: TlsFacts {
                mode: "starttls".into(),
                highest_version: Some("TLS1.2".into()),
                handshake: "ok".into(),
                ..TlsFacts::default()
            },
            auth: Some(AuthFacts {
                mechanism: "LOGIN".into(),
                user: "scanner@lab.example".into(),
                password_matches: Some(true),
            }),
            mail_from: Some("scanner@lab.example".into()),
            from_header: Some("scanner@lab.example".into()),
            size_bytes: Some(1000),
            ..Connection::default()
        }
    }

    fn expect() -> Expect {
        Expect {
            login: Some("scanner@lab.example".into()),
            security: Some(Security::Starttls),
            copier: Some("10.0.0.9".parse().unwrap()),
            command_line: false,
        }
    }

    #[test]
    fn each_thing_the_copier_did_counts() {
        assert!(judge(&good(), &expect()).ok);
        let mut c = good();
        c.peer = "10.0.0.7".into();
        assert!(judge(&c, &expect()).line.contains("came from 10.0.0.7"));
        let mut c = good();
        c.auth.as_mut().unwrap().password_matches = Some(false);
        assert!(
            judge(&c, &expect())
                .line
                .contains("password is not the one in step 1")
        );
        // The command line speaks of its flags, never of the window's steps.
        let cli = Expect {
            command_line: true,
            ..expect()
        };
        assert!(
            judge(&c, &cli)
                .line
                .contains("the one you gave (--password-env)")
        );
        let mut far = good();
        far.peer = "10.0.0.7".into();
        let line = judge(&far, &cli).line;
        assert!(
            line.contains("start the check again with --copier 10.0.0.7"),
            "{line}"
        );
        assert!(!line.contains("step"), "{line}");
        let mut c = good();
        c.mail_from = Some("printer@lab.example".into());
        let r = judge(&c, &expect());
        assert!(
            !r.ok && r.line.contains("sends as printer@lab.example"),
            "{r:?}"
        );
        let mut c = good();
        c.tls.at_once = true;
        assert!(
            judge(&c, &expect())
                .line
                .contains("Set the copier's security to STARTTLS")
        );
        let mut c = good();
        c.tls.mode = "none".into();
        let ssl = Expect {
            security: Some(Security::Ssl),
            ..expect()
        };
        assert!(judge(&c, &ssl).line.contains("Set its security to SSL/TLS"));
        let mut c = good();
        c.size_bytes = None;
        c.cut = true;
        assert!(
            judge(&c, &expect())
                .line
                .contains("ended before the scan arrived")
        );
        let mut c = good();
        c.tls.handshake = "failed".into();
        c.tls.failure = Some("received fatal alert: UnknownCA".into());
        assert!(judge(&c, &expect()).line.contains("test certificate"));
        // TLS 1.0 only: too old for Microsoft 365, but Gmail still takes it (the check itself
        // speaks TLS 1.2 and newer, so it cannot tell).
        let mut c = good();
        c.tls.handshake = "failed".into();
        c.tls.offered_versions = vec!["TLS1.0".into()];
        c.tls.highest_version = Some("TLS1.0".into());
        let mut ms = c.clone();
        super::super::verdict::judge(&mut ms, &super::super::verdict::Rules::all());
        let line = judge(&ms, &expect()).line;
        assert!(
            line.starts_with("Not ready: the copier's encryption is too old (TLS 1.0)"),
            "{line}"
        );
        let mut g = c;
        let gmail = super::super::verdict::Rules::named("google").unwrap();
        super::super::verdict::judge(&mut g, &[gmail]);
        let line = judge(&g, &expect()).line;
        assert!(
            line.starts_with(
                "Not known: the copier's encryption is old (TLS 1.0), but Google Workspace / Gmail still takes it."
            ),
            "{line}"
        );
        assert!(line.contains("send a scan to yourself"), "{line}");
    }
}
