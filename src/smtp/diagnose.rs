//! From what went wrong to what to do: problem ids and plain-words advice.
//!
//! The ids are a contract (README, "Problem ids"): scripts match on them. Never rename one; add new ones.

use super::reply::Reply;
use super::{Security, Stage};
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
    LoginRequired => "login-required",
    SenderNotAllowed => "sender-not-allowed",
    SenderRejected => "sender-rejected",
    RecipientRejected => "recipient-rejected",
    RelayDenied => "relay-denied",
    MessageRejected => "message-rejected",
    SendingLimitReached => "sending-limit-reached",
    ServerBusy => "server-busy",
    ServerClosed => "server-closed",
    ProtocolError => "protocol-error",
    UnexpectedReply => "unexpected-reply",
    Timeout => "timeout",
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
    if has("SmtpClientAuthentication is disabled")
        || has("basic authentication is disabled")
        || has("basic authentication is not supported")
        || has("security defaults")
        || e == "5.7.139"
        || e == "5.7.30"
    {
        return Problem::SmtpAuthDisabled;
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

/// Plain-words advice for one problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    pub title: String,
    pub what_happened: String,
    pub what_to_do: String,
}

/// What the advice may mention.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub server: &'a str,
    pub port: u16,
    pub security: Security,
    pub account: &'a str,
    /// Expiry of the certificate the server showed, when known.
    pub not_after: Option<&'a str>,
}

pub fn advice(problem: Problem, cx: &Context<'_>) -> Advice {
    let (server, port) = (cx.server, cx.port);
    let other = match cx.security {
        Security::Ssl => "port 587 with STARTTLS",
        Security::Starttls => "port 465 with SSL/TLS",
    };
    let (title, happened, todo): (&str, String, String) = match problem {
        Problem::DnsFailed => (
            "The server name was not found",
            format!("This computer could not find a mail server called \"{server}\"."),
            "Check the spelling of the server name (for Google it is smtp.gmail.com). If it is right, check that this computer is online.".into(),
        ),
        Problem::ConnectionRefused => (
            "Nothing answers on this port",
            format!("{server} refused the connection on port {port}."),
            format!("Check the port number. If it is right, try {other}, or ask IT whether this network blocks outgoing mail ports."),
        ),
        Problem::ConnectFailed => (
            "The server could not be reached",
            format!("This computer could not open a connection to {server} on port {port}."),
            "Check that this computer is online, then try again. If it keeps failing, ask IT whether this network blocks outgoing mail.".into(),
        ),
        Problem::ConnectTimeout => (
            "No answer from the server",
            format!("{server} did not answer on port {port} in time. Often a firewall silently blocks this port."),
            format!("Try {other}. If both fail, ask IT whether this network lets mail out on ports 465 and 587."),
        ),
        Problem::NoGreeting => (
            "The server did not say hello",
            format!("A connection to {server} on port {port} opened, but no mail server answered on it."),
            format!("This port may need a different kind of security. Try {other}, or check the server name."),
        ),
        Problem::TlsHandshakeFailed => (
            "The secure connection could not be set up",
            format!("{server} and this computer could not agree on a secure connection on port {port}."),
            match cx.security {
                Security::Ssl => "This port may expect STARTTLS instead of SSL/TLS: try port 587 with STARTTLS. Also check the server name.".into(),
                Security::Starttls => "Try port 465 with SSL/TLS. If both fail, the server may only accept old security settings: ask IT.".into(),
            },
        ),
        Problem::TrustStoreUnavailable => (
            "This computer's trusted certificates could not be read",
            "ScanMail checks every mail server's certificate against this computer's list of trusted certificates, and that list could not be opened. Nothing was sent.".into(),
            "Restart the computer and test again. If it still fails, tell IT: \"ScanMail cannot open this computer's certificate store.\" To test meanwhile, IT can give you the mail server's certificate file to add under Advanced (or --ca-file).".into(),
        ),
        Problem::TlsCertificateUntrusted => (
            "The server's certificate is not trusted",
            format!("{server} showed a security certificate that this computer does not trust. The password was not sent."),
            "Check the server name. If it is your organization's own mail server, ask IT for its certificate file and add it under Advanced (or --ca-file).".into(),
        ),
        Problem::TlsCertificateWrongHost => (
            "The certificate is for a different server",
            format!("The server at \"{server}\" showed a certificate made out to another name. The password was not sent."),
            "Use the server name your provider or IT gives (for Google: smtp.gmail.com), not an address or nickname.".into(),
        ),
        Problem::TlsCertificateExpired => (
            "The server's certificate is out of date",
            match cx.not_after {
                Some(d) => format!("{server} showed a certificate valid until {d}, which does not match today's date. The password was not sent."),
                None => format!("{server} showed a certificate that is not valid today. The password was not sent."),
            },
            "Check that this computer's date and time are right. If they are, the server's certificate has expired: tell IT.".into(),
        ),
        Problem::StarttlsNotOffered => (
            "The server does not offer encryption here",
            format!("{server} did not offer STARTTLS on port {port}, so ScanMail stopped before sending the password."),
            "Try port 465 with SSL/TLS. Never set the device to send the password without encryption.".into(),
        ),
        Problem::EncryptionRequired => (
            "Encryption must be turned on first",
            format!("{server} wants an encrypted connection before signing in."),
            "On the device, set security to STARTTLS for port 587, or SSL/TLS for port 465.".into(),
        ),
        Problem::AuthNotOffered => (
            "The server does not offer sign-in here",
            format!("{server} did not offer a way to sign in with a password on port {port}."),
            format!("Try {other}. If the server is your organization's own, ask IT which port accepts signed-in mail."),
        ),
        Problem::AuthRejected => (
            "The login was not accepted",
            format!("{server} rejected the address and password for {}.", cx.account),
            "Check the address. Use an app password, not the account's normal password: create a new one and paste it in.".into(),
        ),
        Problem::AppPasswordRequired => (
            "An app password is needed",
            "The account has 2-Step Verification on, so its normal password cannot be used by devices.".into(),
            "Create an app password for this device (step 1, Account) and paste it in instead of the normal password.".into(),
        ),
        Problem::WebLoginRequired => (
            "The provider wants a sign-in in a browser first",
            "The provider blocked this sign-in as unusual until someone signs in to the account in a web browser.".into(),
            format!("Sign in to {} in a web browser on this network, confirm any security prompt, then test again.", cx.account),
        ),
        Problem::SmtpAuthDisabled => (
            "Sending with a password is switched off",
            "The organization's mail settings do not allow devices to sign in with a password (SMTP AUTH is off). A new app password will not help.".into(),
            "Ask IT to turn on \"Authenticated SMTP\" for this mailbox, or to give you another way to send (a relay).".into(),
        ),
        Problem::LoginRequired => (
            "The server wants a signed-in sender",
            format!("{server} refused to send mail for a sender that has not signed in."),
            "On the device, turn SMTP authentication on and enter the address and app password. If that is already on, ask IT to allow this mailbox to send by SMTP.".into(),
        ),
        Problem::SenderNotAllowed => (
            "This account may not send as that address",
            format!("The server refused to send mail from {} with this login.", cx.account),
            "Make the device's From (sender) address exactly the same as the login address.".into(),
        ),
        Problem::SenderRejected => (
            "The sender address was refused",
            format!("{server} refused {} as the sender.", cx.account),
            "Make the From address the same as the login address. If it already is, the mailbox may be blocked: ask IT.".into(),
        ),
        Problem::RecipientRejected => (
            "The recipient address was refused",
            "The server would not accept the test message's recipient.".into(),
            "Check the recipient's spelling, or send the test to the device account itself.".into(),
        ),
        Problem::RelayDenied => (
            "The server would not pass the mail on",
            format!("{server} does not forward mail for this sender or recipient."),
            "Use your provider's sign-in server (for Google: smtp.gmail.com, not smtp-relay.gmail.com) and turn on authentication.".into(),
        ),
        Problem::MessageRejected => (
            "The message was refused",
            format!("{server} accepted the login but refused the test message itself."),
            "Read the server's words below. If they mention spam or policy, ask IT.".into(),
        ),
        Problem::SendingLimitReached => (
            "The account has sent too much today",
            "The provider's daily sending limit for this account has been reached.".into(),
            "Wait up to 24 hours and test again. A busy copier may need its own account.".into(),
        ),
        Problem::ServerBusy => (
            "The server said try again later",
            format!("{server} refused for now with a temporary error."),
            "Wait a few minutes and test again. If it keeps happening, check the device's host name setting.".into(),
        ),
        Problem::ServerClosed => (
            "The server hung up",
            format!("{server} closed the connection on port {port} in the middle of the conversation."),
            format!("Test again. If it keeps happening, try {other}."),
        ),
        Problem::ProtocolError => (
            "The server's answer could not be understood",
            format!("What came back on port {port} does not look like a mail server's answer."),
            format!("Check the server name and port. Try {other}."),
        ),
        Problem::UnexpectedReply => (
            "The server refused",
            format!("{server} answered with an error ScanMail does not know."),
            "Read the server's words below; they usually say why. Show them to IT if unsure.".into(),
        ),
        Problem::Timeout => (
            "The server stopped answering",
            format!("{server} started answering on port {port}, then took too long."),
            format!("Test again. If it happens again, try {other} or a longer time limit."),
        ),
    };
    Advice {
        title: title.into(),
        what_happened: happened,
        what_to_do: todo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let cx = Context {
            server: "smtp.example.test",
            port: 465,
            security: Security::Ssl,
            account: "scanner@example.test",
            not_after: None,
        };
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
                SmtpAuthDisabled,
            ),
            (
                "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.",
                Stage::Auth,
                None,
                SmtpAuthDisabled,
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
                SmtpAuthDisabled,
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
