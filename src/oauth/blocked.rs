//! A person's sign-in that the identity provider refuses to renew (`invalid_grant`) for a
//! reason signing in again does not mend by itself: the account is turned off or locked, its
//! password ran out, or a Conditional Access rule blocks it. Microsoft names the reason with an
//! AADSTS number in `error_description`; the numbers and their meanings are from Microsoft's
//! "Microsoft Entra authentication and authorization error codes"
//! (learn.microsoft.com/entra/identity-platform/reference-error-codes).

/// Why the sign-in is blocked: the AADSTS number, what happened in plain words, and what IT
/// does before the sign-in can work again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub code: String,
    pub what: &'static str,
    pub fix: &'static str,
    /// A Conditional Access rule (the relay's app-only sign-in is one way around it).
    pub rule: bool,
}

/// The AADSTS number in Microsoft's words ("AADSTS53003: Access has been blocked ..."), if any.
pub fn aadsts(description: &str) -> Option<String> {
    description.match_indices("AADSTS").find_map(|(at, _)| {
        let digits: String = description[at + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .take(9)
            .collect();
        (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
    })
}

/// The reasons a new sign-in would be refused the same way; `None` for the rest (the sign-in ran
/// out, was withdrawn, or the password changed: signing in again mends those).
pub fn blocked(description: &str) -> Option<Blocked> {
    let code = aadsts(description)?;
    let (what, fix) = match code.trim_start_matches("AADSTS") {
        // BlockedByConditionalAccess, DeviceNotCompliant, DeviceNotDomainJoined,
        // ConditionalAccessFailed.
        "53003" | "53000" | "53001" | "50131" => (
            "a sign-in rule IT set blocks it (Conditional Access)",
            "In the Microsoft Entra admin center, open the mailbox's Sign-in logs to see which Conditional Access policy blocks it, then exclude the mailbox or ScanMail's sign-in app from that policy.",
        ),
        // UserDisabled.
        "50057" => (
            "the mailbox's account is turned off (its sign-in is blocked)",
            "In the Microsoft 365 admin center, open Users > Active users, choose the mailbox, and unblock its sign-in (an account synced from Active Directory is turned on there instead).",
        ),
        // IdsLocked.
        "50053" => (
            "the mailbox's account is locked (too many wrong passwords, or sign-ins from an address Microsoft distrusts)",
            "Find what keeps trying in the mailbox's Sign-in logs (Microsoft Entra admin center) and stop it. A lock after wrong passwords ends by itself after a minute or more (longer after more wrong passwords).",
        ),
        // InvalidPasswordExpiredPassword, InvalidPasswordExpiredOnPremPassword.
        "50055" | "50144" => (
            "the mailbox's password has run out",
            "Give the mailbox a new password (or one that does not run out, for a device mailbox).",
        ),
        _ => return None,
    };
    let rule = what.contains("Conditional Access");
    Some(Blocked {
        code,
        what,
        fix,
        rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_is_read_from_microsofts_words() {
        assert_eq!(
            aadsts(
                "AADSTS53003: Access has been blocked by Conditional Access policies.\r\nTrace ID: x"
            ),
            Some("AADSTS53003".into())
        );
        assert_eq!(aadsts("no number here"), None);
        assert_eq!(aadsts("AADSTS: nothing after"), None);
        // Any bytes: no panic.
        assert_eq!(aadsts("AADSTS€€"), None);
    }

    proptest::proptest! {
        /// Any words from the identity provider: no panic, and a number only after AADSTS.
        #[test]
        fn any_words_read_without_a_panic(words in ".{0,300}", n in 0u32..1_000_000) {
            let _ = blocked(&words);
            let with = format!("{words}AADSTS{n}: x");
            proptest::prop_assert!(aadsts(&with).is_some_and(|c| c.starts_with("AADSTS")));
        }
    }

    #[test]
    fn only_what_a_new_sign_in_cannot_mend_is_blocked() {
        let b = blocked("AADSTS53003: Access has been blocked by Conditional Access policies.")
            .unwrap();
        assert_eq!(b.code, "AADSTS53003");
        assert!(b.rule && b.what.contains("Conditional Access") && b.fix.contains("exclude"));
        // Advice for the relay only (its app-only sign-in) stays out of the shared words.
        assert!(!b.fix.contains("app-only"));
        assert!(blocked("AADSTS50057: The user account is disabled.").is_some());
        // Ran out, withdrawn, a password change: signing in again mends them.
        for mended in [
            "AADSTS700082: The refresh token has expired due to inactivity.",
            "AADSTS70043: The refresh token has expired or is invalid.",
            "AADSTS50173: The provided grant has expired due to it being revoked.",
            "",
        ] {
            assert_eq!(blocked(mended), None, "{mended}");
        }
    }
}
