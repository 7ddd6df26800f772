//! Microsoft 365 after passwords: the dates, and one clear way forward per situation. Sources:
//! Microsoft's Exchange team blog "Updated Exchange Online SMTP AUTH Basic Authentication
//! Deprecation Timeline" (27 January 2026) and Microsoft Learn "How to set up a multifunction
//! device or application to send email using Microsoft 365" (see
//! resources/catalog/m365-oauth-and-devices.md).
//!
//! Two situations get a plan ([`advise`]), which the window, `check`, the report and the card
//! all show in the same words:
//! - the test works with a password: the verdict stays green, one line says what is coming, and
//!   a message for IT names the account, the server, the copier and what the catalog knows of
//!   its Microsoft sign-in;
//! - the password is refused as switched off: the verdict names the one best way for this copier
//!   (Microsoft sign-in on the copier where its maker has it, else "ask IT"), and the other ways
//!   follow for IT, each one sentence on who does it and what it costs.

use super::Manufacturer;
use crate::smtp::advice::NextStep;
use crate::smtp::verdict::{Outcome, Way, Ways};
use crate::smtp::{Auth, Report};

/// 1 January 2027 00:00 UTC: from here on, password sign-in for SMTP is off by default.
pub const PASSWORD_OFF_BY_DEFAULT: i64 = crate::smtp::advice::MICROSOFT_DEFAULT_OFF;

/// What ScanMail knows of the copier the test was for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Copier<'a> {
    /// Its maker, when the catalog knows it.
    pub maker: Option<&'a Manufacturer>,
    /// Its label ("Warren 2nd floor scanner (Canon iR-ADV C3520)"), empty when not named.
    pub label: &'a str,
}

/// The ways a copier can keep sending through Microsoft 365, for IT, in the order IT usually
/// weighs them.
pub fn ways(now_unix: i64) -> Vec<Way> {
    let before = now_unix < PASSWORD_OFF_BY_DEFAULT;
    vec![
        Way {
            id: "copier-sign-in",
            title: "Microsoft sign-in on the copier".into(),
            text: "IT or the copier's dealer turns on Microsoft sign-in (OAuth 2.0) in the copier's settings. It costs nothing, but only newer copiers have it.".into(),
        },
        Way {
            id: "scanmail-relay",
            title: "A ScanMail relay on a computer that is always on".into(),
            text: "IT runs ScanMail's relay on a computer that stays on, on the copier's network. The copier sends to it with its own login, and the relay signs in to Microsoft for it. It costs nothing but that computer.".into(),
        },
        Way {
            id: "relay-by-it",
            title: "A relay run by IT".into(),
            text: "IT lets the copier send through the organization's own mail server, or through a Microsoft 365 connector. It costs IT's time, not money.".into(),
        },
        Way {
            id: "high-volume-email",
            title: "Microsoft's sending service for devices".into(),
            text: "IT sets up High Volume Email. It costs money, and mail can only go to people inside the organization.".into(),
        },
        Way {
            id: "azure-email",
            title: "Azure's email service".into(),
            text: "IT sets up Azure Communication Services. Each message is billed.".into(),
        },
        Way {
            id: "password-back-on",
            title: "Password sending back on for this mailbox".into(),
            text: if before {
                "IT keeps password sending on for this one mailbox. It costs nothing, but it stops at Microsoft's final date (to be announced in the second half of 2027).".into()
            } else {
                "IT turns password sending back on for this one mailbox. It costs nothing, but it stops at Microsoft's final date (to be announced in the second half of 2027).".into()
            },
        },
    ]
}

/// The words of the `microsoft-password-sign-in-retiring` warning, before and after the date.
pub fn retiring_words(now_unix: i64) -> String {
    if now_unix < PASSWORD_OFF_BY_DEFAULT {
        "Microsoft turns off password sending at the end of December 2026. App passwords stop working too. If the test then says \"This mailbox can no longer send with a password\", follow the way ScanMail shows.".into()
    } else {
        "Since the end of December 2026, Microsoft has password sending off. It works only where IT turned it back on, and only until Microsoft's final date. ScanMail shows the way forward after the test.".into()
    }
}

/// True when the Microsoft 365 plan belongs with this report: password sending was refused as
/// switched off, or the server is Microsoft 365 and the test used a password.
pub fn ways_matter(report: &Report) -> bool {
    refused(report) || (is_microsoft(report) && report.auth == Auth::Password)
}

fn refused(report: &Report) -> bool {
    use crate::smtp::diagnose::Problem;
    // Both ids come only from Microsoft 365's own replies (5.7.139).
    report.summary.outcome == Outcome::Fails
        && matches!(
            report.summary.problem,
            Some(Problem::BasicAuthDisabled | Problem::SmtpAuthDisabled)
        )
}

fn is_microsoft(report: &Report) -> bool {
    super::catalog()
        .provider_for(&report.server, &report.account)
        .is_some_and(|p| p.id == "microsoft365")
}

/// What the catalog says of this copier and Microsoft's sign-in, for IT.
fn copier_fact(copier: &Copier<'_>) -> String {
    let named = if copier.label.trim().is_empty() {
        "The copier is not named in ScanMail.".to_string()
    } else {
        format!("Copier: {}.", copier.label.trim())
    };
    let fact = match copier.maker {
        Some(m) => match (&m.oauth.microsoft, m.oauth_line()) {
            (Some(f), Some(line)) => format!("ScanMail's catalog: {line} (source: {})", f.source),
            _ => format!(
                "ScanMail's catalog knows no Microsoft sign-in (OAuth 2.0) for {} copiers.",
                m.name
            ),
        },
        None => "ScanMail does not know this copier's maker.".to_string(),
    };
    format!("{named} {fact}")
}

/// Adds the plan to a Microsoft 365 report where it matters (see the module's comment).
/// `oauth_ready`: the preset has the Microsoft sign-in, so ScanMail can test it now.
pub fn advise(report: &mut Report, copier: &Copier<'_>, oauth_ready: bool, now_unix: i64) {
    if !ways_matter(report) {
        return;
    }
    let works = report.summary.outcome == Outcome::Works;
    if !works && !refused(report) {
        return;
    }
    let before = now_unix < PASSWORD_OFF_BY_DEFAULT;
    let (account, server) = (report.account.clone(), report.server.clone());
    let maker_signs_in = copier.maker.is_some_and(|m| m.oauth.microsoft.is_some());
    let all = ways(now_unix);
    let best = if maker_signs_in {
        let maker = copier.maker.map_or("This maker's", |m| m.name.as_str());
        let text = if oauth_ready {
            format!(
                "{maker} copiers can sign in to Microsoft themselves. IT or the dealer turns it on. First test that sign-in here: it checks the account, not the copier."
            )
        } else {
            format!(
                "{maker} copiers can sign in to Microsoft themselves. IT or the dealer turns it on. Send IT the message below, and ask them to add the Microsoft sign-in to ScanMail so you can test it here."
            )
        };
        Way {
            id: "copier-sign-in",
            title: "Microsoft sign-in on the copier".into(),
            text,
        }
    } else {
        Way {
            id: "ask-it",
            title: "Ask IT".into(),
            text: "Send IT the message below. IT chooses how this copier keeps sending.".into(),
        }
    };
    let others: Vec<Way> = all.into_iter().filter(|w| w.id != best.id).collect();
    let status = if works {
        format!(
            "ScanMail's test: {account} sends through {server} with a password (SMTP AUTH, Basic authentication), and it works today. {}",
            if before {
                "Microsoft turns this off by default at the end of December 2026."
            } else {
                "It works because it was turned back on for this mailbox; Microsoft removes it for good at a date to be announced in the second half of 2027."
            }
        )
    } else {
        let said = report
            .results
            .iter()
            .find_map(|r| r.reply.as_ref().map(ToString::to_string))
            .map(|r| format!(" The server said: \"{r}\""))
            .unwrap_or_default();
        format!(
            "ScanMail's test: Microsoft 365 will not let {account} send with a password (Basic authentication is off).{said}"
        )
    };
    let mut it = format!(
        "{status}\n{}\nPlease choose how this copier keeps sending:\n",
        copier_fact(copier)
    );
    // IT reads every way in the same general words (the best one's person-facing text speaks
    // to the person at the copier).
    for w in ways(now_unix) {
        it += &format!("- {}: {}\n", w.title, w.text);
    }
    // The ports and security this test tried, as they were tried.
    let tried: Vec<String> = report
        .results
        .iter()
        .map(|r| format!("port {} with {}", r.port, r.security.label()))
        .collect();
    let tried = if tried.is_empty() {
        "port 587 with STARTTLS".to_string()
    } else {
        tried.join(" and ")
    };
    it += &format!("(Device account: {account}. Server: {server}, tested on {tried}.)");
    let v = &mut report.summary;
    if works {
        v.notice = Some(if before {
            "This works now. Microsoft turns password sending off at the end of December 2026. Send IT the message below, so they can choose how this copier keeps sending.".into()
        } else {
            "This works now, because IT turned password sending back on for this mailbox. It stops at Microsoft's final date. Send IT the message below, so they can choose how this copier keeps sending.".into()
        });
    } else {
        v.next_step = format!("Best way for this copier: {}. {}", best.title, best.text);
        v.next = (best.id == "copier-sign-in" && oauth_ready && report.auth == Auth::Password)
            .then_some(NextStep::TestMicrosoftSignIn);
    }
    v.message_for_it = Some(it);
    v.ways = Some(Ways { best, others });
}

/// The other ways in plain text (the command line, the report), after the next step, which
/// already names the best way.
pub fn ways_text(ways: &Ways) -> String {
    let mut s = String::from("Other ways (for IT):\n");
    for w in &ways.others {
        s += &format!("  - {}: {}\n", w.title, w.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_follow_the_date() {
        let before = retiring_words(PASSWORD_OFF_BY_DEFAULT - 86_400);
        let after = retiring_words(PASSWORD_OFF_BY_DEFAULT + 86_400);
        assert!(before.contains("at the end of December 2026"), "{before}");
        assert!(
            before.contains("This mailbox can no longer send with a password"),
            "the title people see: {before}"
        );
        assert!(
            after.starts_with("Since the end of December 2026"),
            "{after}"
        );
        let w = ways(PASSWORD_OFF_BY_DEFAULT - 1);
        assert_eq!(w.len(), 6);
        assert_eq!(w[1].id, "scanmail-relay");
        assert!(w[5].text.starts_with("IT keeps"));
        assert!(
            ways(PASSWORD_OFF_BY_DEFAULT + 1)[5]
                .text
                .starts_with("IT turns")
        );
        for w in &w {
            assert!(w.text.contains("IT"), "{} says who does it", w.id);
            assert!(
                ["cost", "billed", "money"]
                    .iter()
                    .any(|c| w.text.contains(c)),
                "{} says what it costs",
                w.id
            );
        }
    }
}
