//! From what went wrong to what to do: problem ids and plain-words advice.
//!
//! The ids are a contract (README, "Problem ids"): scripts match on them. Never rename one; add new ones.

use super::Stage;
use super::reply::Reply;
use serde::{Deserialize, Serialize};

macro_rules! problems {
    ($($variant:ident => $id:literal,)*) => {
        /// What went wrong on one port, as a stable kebab-case id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Problem {
            $(#[serde(rename = $id)] $variant,)*
        }

        impl Problem {
            /// Every problem, in the table's order.
            pub const ALL: &'static [Problem] = &[$(Problem::$variant,)*];

            /// The stable id, such as `auth-rejected`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Problem::$variant => $id,)*
                }
            }
        }
    };
}

// The one table of problems and their ids.
problems! {
    DnsFailed => "dns-failed",
    ConnectionRefused => "connection-refused",
    ConnectFailed => "connect-failed",
    ConnectTimeout => "connect-timeout",
    NoGreeting => "no-greeting",
    TlsHandshakeFailed => "tls-handshake-failed",
    TlsCertificateUntrusted => "tls-certificate-untrusted",
    TlsCertificateWrongHost => "tls-certificate-wrong-host",
    TlsCertificateExpired => "tls-certificate-expired",
    TrustStoreUnavailable => "trust-store-unavailable",
    StarttlsNotOffered => "starttls-not-offered",
    EncryptionRequired => "encryption-required",
    AuthNotOffered => "auth-not-offered",
    AuthRejected => "auth-rejected",
    AppPasswordRequired => "app-password-required",
    WebLoginRequired => "web-login-required",
    SmtpAuthDisabled => "smtp-auth-disabled",
    BasicAuthDisabled => "basic-auth-disabled",
    LoginRequired => "login-required",
    SenderNotAllowed => "sender-not-allowed",
    SenderRejected => "sender-rejected",
    RecipientRejected => "recipient-rejected",
    RelayDenied => "relay-denied",
    MessageRejected => "message-rejected",
    MessageTooBig => "message-too-big",
    SendingLimitReached => "sending-limit-reached",
    ServerBusy => "server-busy",
    ServerClosed => "server-closed",
    ProtocolError => "protocol-error",
    UnexpectedReply => "unexpected-reply",
    Timeout => "timeout",
    OAuthRejected => "oauth-rejected",
    OAuthNotOffered => "oauth-not-offered",
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// Which command of the sending stage a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStep {
    MailFrom,
    RcptTo,
    Data,
    Body,
}

/// Turns a negative reply into a problem. Provider-specific wording is checked first, then the
/// code and the stage decide.
pub fn classify_reply(stage: Stage, step: Option<SendStep>, reply: &Reply) -> Problem {
    let e = reply.enhanced.as_deref().unwrap_or("");
    let has = |s: &str| reply.mentions(s);

    if has("sending limit")
        || has("sending quota")
        || has("daily limit")
        || e == "5.4.5"
        || e == "5.1.90"
    {
        return Problem::SendingLimitReached;
    }
    if has("application-specific password") || has("InvalidSecondFactor") {
        return Problem::AppPasswordRequired;
    }
    if has("web browser") || has("WebLoginRequired") || e == "5.7.14" {
        return Problem::WebLoginRequired;
    }
    if has("SmtpClientAuthentication is disabled") {
        return Problem::SmtpAuthDisabled;
    }
    if has("basic authentication is disabled")
        || has("basic authentication is not supported")
        || has("security defaults")
        || e == "5.7.30"
    {
        return Problem::BasicAuthDisabled;
    }
    if e == "5.7.139" {
        return Problem::SmtpAuthDisabled;
    }
    if e == "5.3.4"
        || e == "5.2.3"
        || has("size exceeds")
        || has("message too big")
        || has("message too large")
        || has("exceeds the maximum")
    {
        return Problem::MessageTooBig;
    }
    if has("STARTTLS command first") || has("must issue a starttls") {
        return Problem::EncryptionRequired;
    }
    if e == "5.7.57" || has("not authenticated") || has("authentication required") {
        return Problem::LoginRequired;
    }
    if e == "5.7.60" || has("send as this sender") || has("permissions to send as") {
        return Problem::SenderNotAllowed;
    }
    if has("relay denied") || has("relaying denied") || has("relay access denied") {
        return Problem::RelayDenied;
    }
    if reply.code == 421 {
        return Problem::ServerBusy;
    }
    match stage {
        Stage::Auth => match reply.code {
            504 => Problem::AuthNotOffered,
            400..=499 => Problem::ServerBusy,
            _ => Problem::AuthRejected,
        },
        Stage::Starttls if reply.is_transient() => Problem::ServerBusy,
        Stage::Starttls => Problem::StarttlsNotOffered,
        Stage::Greeting | Stage::Ehlo if reply.is_transient() => Problem::ServerBusy,
        Stage::Ehlo if reply.code == 501 => Problem::ProtocolError,
        Stage::Send if reply.is_transient() => Problem::ServerBusy,
        Stage::Send => match step {
            Some(SendStep::MailFrom) => Problem::SenderRejected,
            Some(SendStep::RcptTo) => Problem::RecipientRejected,
            _ => Problem::MessageRejected,
        },
        _ if reply.is_transient() => Problem::ServerBusy,
        _ => Problem::UnexpectedReply,
    }
}

pub use super::advice::{Advice, Context, NextStep, advice};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::Security;
    use crate::smtp::reply::{Line, assemble, parse_line};

    fn r(lines: &[&str]) -> Reply {
        let parts = lines
            .iter()
            .filter_map(|l| match parse_line(l.as_bytes()) {
                Line::Part { code, text, .. } => Some((code, text)),
                Line::Garbage(_) => None,
            })
            .collect();
        assemble(parts).unwrap()
    }

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for &p in Problem::ALL {
            assert!(seen.insert(p.id()), "duplicate {p}");
            assert!(p.id().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.id()));
        }
    }

    #[test]
    fn every_advice_is_filled_in() {
        let cx = Context::new(
            "smtp.example.test",
            465,
            Security::Ssl,
            "scanner@example.test",
        );
        for &p in Problem::ALL {
            let a = advice(p, &cx);
            assert!(!a.title.is_empty() && !a.what_happened.is_empty() && !a.what_to_do.is_empty());
            assert!(a.what_to_do.ends_with('.'), "{p}: {}", a.what_to_do);
        }
    }

    #[test]
    fn gmail_replies() {
        use Problem::*;
        let cases: &[(&[&str], Stage, Option<SendStep>, Problem)] = &[
            (
                &[
                    "535-5.7.8 Username and Password not accepted. For more information, go to",
                    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials x - gsmtp",
                ],
                Stage::Auth,
                None,
                AuthRejected,
            ),
            (
                &[
                    "534-5.7.9 Application-specific password required. For more information, go to",
                    "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor x - gsmtp",
                ],
                Stage::Auth,
                None,
                AppPasswordRequired,
            ),
            (
                &[
                    "534-5.7.14 <https://accounts.google.com/signin/continue?sarp=1> Please log in via your web browser and",
                    "534-5.7.14 then try again.",
                    "534 5.7.14  Learn more at https://support.google.com/mail/answer/78754 x - gsmtp",
                ],
                Stage::Auth,
                None,
                WebLoginRequired,
            ),
            (
                &["530 5.7.0 Must issue a STARTTLS command first. x - gsmtp"],
                Stage::Auth,
                None,
                EncryptionRequired,
            ),
            (
                &[
                    "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail",
                    "550 5.4.5 sending limits go to https://support.google.com/a/answer/166852 x - gsmtp",
                ],
                Stage::Send,
                Some(SendStep::MailFrom),
                SendingLimitReached,
            ),
            (
                &["421 4.7.0 Try again later, closing connection. (EHLO) x - gsmtp"],
                Stage::Ehlo,
                None,
                ServerBusy,
            ),
        ];
        for (lines, stage, step, want) in cases {
            assert_eq!(classify_reply(*stage, *step, &r(lines)), *want, "{lines:?}");
        }
    }

    #[test]
    fn microsoft_replies() {
        use Problem::*;
        let cases: &[(&str, Stage, Option<SendStep>, Problem)] = &[
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
                Stage::Auth,
                None,
                SmtpAuthDisabled,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
                Stage::Auth,
                None,
                BasicAuthDisabled,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.",
                Stage::Auth,
                None,
                BasicAuthDisabled,
            ),
            (
                "535 5.7.3 Authentication unsuccessful [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]",
                Stage::Auth,
                None,
                AuthRejected,
            ),
            (
                "530 5.7.57 Client not authenticated to send mail. [X]",
                Stage::Send,
                Some(SendStep::MailFrom),
                LoginRequired,
            ),
            (
                "550 5.7.60 SMTP; Client does not have permissions to send as this sender [X]",
                Stage::Send,
                Some(SendStep::MailFrom),
                SenderNotAllowed,
            ),
            (
                "550 5.7.30 Basic authentication is not supported for Client Submission.",
                Stage::Auth,
                None,
                BasicAuthDisabled,
            ),
            (
                "504 5.7.4 Unrecognized authentication type [X]",
                Stage::Auth,
                None,
                AuthNotOffered,
            ),
            (
                "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients.",
                Stage::Send,
                Some(SendStep::RcptTo),
                SendingLimitReached,
            ),
        ];
        for (line, stage, step, want) in cases {
            assert_eq!(classify_reply(*stage, *step, &r(&[line])), *want, "{line}");
        }
    }

    #[test]
    fn too_big_messages() {
        for text in [
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "552 5.2.3 Your message exceeded Google's message size limits.",
        ] {
            assert_eq!(
                classify_reply(Stage::Send, Some(SendStep::Body), &r(&[text])),
                Problem::MessageTooBig,
                "{text}"
            );
        }
    }

    #[test]
    fn generic_replies_follow_the_stage() {
        use Problem::*;
        let rc = |l: &str, s, st| classify_reply(s, st, &r(&[l]));
        assert_eq!(
            rc(
                "550 5.1.1 no such user",
                Stage::Send,
                Some(SendStep::RcptTo)
            ),
            RecipientRejected
        );
        assert_eq!(
            rc(
                "553 5.1.8 bad sender",
                Stage::Send,
                Some(SendStep::MailFrom)
            ),
            SenderRejected
        );
        assert_eq!(
            rc("554 5.7.1 spam", Stage::Send, Some(SendStep::Body)),
            MessageRejected
        );
        assert_eq!(
            rc("451 4.3.0 later", Stage::Send, Some(SendStep::Body)),
            ServerBusy
        );
        assert_eq!(
            rc(
                "554 5.7.1 Relay access denied",
                Stage::Send,
                Some(SendStep::RcptTo)
            ),
            RelayDenied
        );
        assert_eq!(
            rc("501 5.5.4 HELO/EHLO argument invalid", Stage::Ehlo, None),
            ProtocolError
        );
        assert_eq!(rc("554 no service", Stage::Greeting, None), UnexpectedReply);
        assert_eq!(
            rc("454 4.7.0 TLS not available", Stage::Starttls, None),
            ServerBusy
        );
        assert_eq!(
            rc("502 5.5.1 no", Stage::Starttls, None),
            StarttlsNotOffered
        );
    }
}
