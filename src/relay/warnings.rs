//! What needs a person in the relay's state, each with its next step (`relay status`, the
//! Relay page, the help desk's mail).

use super::status::{SIGN_IN_AGAIN, State, credential_expires};

fn ts(t: Option<&str>) -> Option<i64> {
    t.and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
        .map(|d| d.timestamp())
}

/// What needs a person, each with its next step: the relay signed out, its sign-in running out
/// within 14 days, the provider refusing the last 3 messages, a copier that sent on most days
/// and has been quiet for a day and a half.
pub fn warnings(cfg: &super::config::RelayConfig, state: &State, now_unix: i64) -> Vec<String> {
    let mut w = Vec::new();
    let u = &state.upstream;
    let app_only = cfg.upstream.auth == super::config::AuthKind::App;
    if !u.signed_in {
        w.push(if app_only {
            // The app's sign-in is mended by IT's fix (in last_error), not by a person signing in.
            format!(
                "The relay's app is not signed in to Microsoft 365, so copiers keep their scans and try again later. {}",
                u.last_error.as_deref().unwrap_or(
                    "Make its certificate and sign it in: scanmail relay microsoft-app, then scanmail relay sign-in --client-id ID"
                )
            )
        } else {
            let again = if cfg.upstream.auth == super::config::AuthKind::Password {
                "Give it the mailbox's password again: scanmail relay sign-in --password-stdin"
            } else if let Some(e) = u
                .last_error
                .as_deref()
                .filter(|e| super::status::sign_in_blocked(Some(e)))
            {
                // Blocked: IT's fix first; signing in again alone would be refused the same way.
                e
            } else {
                SIGN_IN_AGAIN
            };
            format!(
                "The relay is not signed in to the provider, so copiers keep their scans and try again later. {again}"
            )
        });
    }
    if let Some(end) = credential_expires(cfg)
        && end - now_unix < 30 * 86_400
    {
        let when = crate::time::local_words(end);
        let secret = cfg
            .upstream
            .oauth
            .microsoft
            .as_ref()
            .is_some_and(|m| m.certificate.is_none());
        let (what, ran) = if secret {
            ("client secret", "ran out")
        } else {
            ("certificate", "ran out")
        };
        let renew = if secret {
            "Switch to a certificate, which lasts as long as you choose: scanmail relay microsoft-app, run the script it writes as a Microsoft 365 administrator, then scanmail relay sign-in --client-id ID"
        } else {
            "Renew it: scanmail relay microsoft-app --renew, run the script it writes as a Microsoft 365 administrator, then scanmail relay sign-in --client-id ID"
        };
        w.push(if end <= now_unix {
            format!("The relay's {what} for Microsoft 365 {ran} on {when}. {renew}")
        } else {
            format!("The relay's {what} for Microsoft 365 ends on {when}. {renew}")
        });
    }
    if let Some(exp) = ts(u.token_expires.as_deref())
        && u.signed_in
        && exp - now_unix < 14 * 86_400
    {
        w.push(if exp <= now_unix {
            format!(
                "The relay's sign-in ran out on {}. {SIGN_IN_AGAIN}",
                crate::time::local_words(exp)
            )
        } else {
            format!(
                "The relay's sign-in runs out on {}: the relay renews it only while it runs. Start the relay, or {}",
                crate::time::local_words(exp),
                SIGN_IN_AGAIN.replacen("Sign", "sign", 1)
            )
        });
    }
    if let Some(p) = &state.settings_problem {
        w.push(format!(
            "relay.toml was changed and cannot be read, so the relay goes on with the copiers it read before. What is wrong: {p} Fix the file; the relay reads it again when the next copier connects."
        ));
    }
    if u.refused_in_a_row >= 3 {
        w.push(format!(
            "The provider refused the last {} messages. It said: {} See why and what to fix: scanmail relay test",
            u.refused_in_a_row,
            u.last_error.as_deref().unwrap_or("(no reason given).")
        ));
    }
    for d in &cfg.devices {
        let Some(s) = state.devices.get(&d.name) else {
            continue;
        };
        let recent = s
            .days
            .iter()
            .filter_map(|day| {
                chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .ok()
                    .and_then(|n| n.and_hms_opt(12, 0, 0))
                    .map(|t| t.and_utc().timestamp())
            })
            .filter(|t| now_unix - t < 8 * 86_400)
            .count();
        let quiet = ts(s.last_message.as_deref()).is_some_and(|t| now_unix - t > 36 * 3600);
        if recent >= 4 && quiet {
            w.push(format!(
                "The copier {} sent on most days but nothing since {}. Check that it is on and still set to this relay (scanmail card --relay {}).",
                d.name,
                s.last_message.as_deref().map(crate::time::local_words_from).unwrap_or_default(),
                d.name
            ));
        }
    }
    w
}
