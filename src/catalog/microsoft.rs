//! Microsoft 365 after passwords: the dates, and the ways a copier can keep sending, each with
//! what it needs and what ScanMail can test. Sources: Microsoft's Exchange team blog "Updated
//! Exchange Online SMTP AUTH Basic Authentication Deprecation Timeline" (27 January 2026) and
//! Microsoft Learn "How to set up a multifunction device or application to send email using
//! Microsoft 365" (see resources/catalog/m365-oauth-and-devices.md).

/// 1 January 2027 00:00 UTC: from here on, password sign-in for SMTP is off by default.
pub const PASSWORD_OFF_BY_DEFAULT: i64 = crate::smtp::advice::MICROSOFT_DEFAULT_OFF;

/// One way forward.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Way {
    pub title: &'static str,
    /// What it takes, in plain words.
    pub needs: String,
    /// What ScanMail can test of it.
    pub test: String,
}

/// The ways a copier can keep sending through Microsoft 365, best first. `oauth_ready`: the
/// organization preset has the Microsoft sign-in, so ScanMail can test OAuth now.
pub fn ways_forward(oauth_ready: bool, now_unix: i64) -> Vec<Way> {
    vec![
        Way {
            title: "OAuth 2.0 sign-in on the copier",
            needs: "Copier firmware that signs in to Microsoft 365 itself (step 2 says what is known for your copier), and SMTP AUTH on for the mailbox.".into(),
            test: if oauth_ready {
                "ScanMail can test it now: in step 1 choose \"Microsoft 365 sign-in\", then test again.".into()
            } else {
                "Ask IT to add the Microsoft sign-in to ScanMail's organization preset, then test it here.".into()
            },
        },
        Way {
            title: "High Volume Email (Microsoft's relay for devices)",
            needs: "IT sets it up (paid; mail only inside the organization; 10 MB per message). The copier sends to smtp.hve.mx.microsoft, port 587 with STARTTLS.".into(),
            test: "Test it here: use the server smtp.hve.mx.microsoft and the account IT gives you.".into(),
        },
        Way {
            title: "A relay run by IT (a connector or the organization's own mail server)",
            needs: "IT gives the copier a server to send to; the relay passes the mail to Microsoft 365.".into(),
            test: "Test it here with the relay's server name and port.".into(),
        },
        Way {
            title: "Azure Communication Services SMTP",
            needs: "IT sets it up in Azure; the copier signs in with the user name and secret IT gives it.".into(),
            test: "Test it here with the server and sign-in IT gives you.".into(),
        },
        Way {
            title: "Turn password sign-in back on for this mailbox",
            needs: if now_unix < PASSWORD_OFF_BY_DEFAULT {
                "Works only until Microsoft's final date (to be announced for the second half of 2027), so choose another way as well.".into()
            } else {
                "IT can still turn it back on for this mailbox, but only until Microsoft's final date (to be announced for the second half of 2027). Choose another way as well.".into()
            },
            test: "After IT turns it on, test again with the app password.".into(),
        },
    ]
}

/// The words of the `microsoft-password-sign-in-retiring` warning, before and after the date.
pub fn retiring_words(now_unix: i64) -> String {
    if now_unix < PASSWORD_OFF_BY_DEFAULT {
        "From the end of December 2026, Microsoft 365 turns off password sign-in for SMTP by default in existing organizations; app passwords stop working too. If the test fails with \"sending with a password is switched off\", see the ways forward ScanMail shows, or ask IT to turn it back on for this mailbox for now.".into()
    } else {
        "Since the end of December 2026, Microsoft 365 has password sign-in for SMTP off by default. It works only where IT turned it back on for the mailbox, and only until Microsoft's final date. OAuth 2.0 sign-in on the copier, or a relay, will last.".into()
    }
}

/// True when the Microsoft 365 ways forward belong with this report.
pub fn ways_matter(report: &crate::smtp::Report) -> bool {
    use crate::smtp::diagnose::Problem;
    let refused = report.results.iter().any(|r| {
        matches!(
            r.problem,
            Some(Problem::BasicAuthDisabled | Problem::SmtpAuthDisabled)
        )
    });
    let microsoft = super::catalog()
        .provider_for(&report.server, &report.account)
        .is_some_and(|p| p.id == "microsoft365");
    refused || (microsoft && report.auth == crate::smtp::Auth::Password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_follow_the_date() {
        let before = retiring_words(PASSWORD_OFF_BY_DEFAULT - 86_400);
        let after = retiring_words(PASSWORD_OFF_BY_DEFAULT + 86_400);
        assert!(
            before.starts_with("From the end of December 2026"),
            "{before}"
        );
        assert!(
            after.starts_with("Since the end of December 2026"),
            "{after}"
        );
        let ways = ways_forward(true, PASSWORD_OFF_BY_DEFAULT);
        assert_eq!(ways.len(), 5);
        assert!(ways[0].test.contains("test it now"));
        assert!(ways_forward(false, 0)[0].test.contains("Ask IT"));
        assert!(ways[4].needs.contains("final date"));
    }
}
