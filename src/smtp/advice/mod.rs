//! What to do about each problem, in plain words: a title, what happened, what to do, a next
//! step the window can offer as a button, and, where only IT can fix it, an exact message for
//! IT that names the account, the server and the port.
//!
//! Rules every advice follows (tests hold them to it): it never sends the person to the copier
//! for a failure of ScanMail's own test; it never suggests trying a port whose result is on the
//! same screen (`other_tested`); every problem ends in a step the person can take or a message
//! for IT.

mod context;

pub use context::{Advice, Context, NextStep};

use super::Security;
use super::diagnose::Problem;

/// 2027-01-01T00:00:00Z: Microsoft turns password sending off by default for existing
/// organizations at the end of December 2026 (Exchange team blog, 27 January 2026).
pub const MICROSOFT_DEFAULT_OFF: i64 = 1_798_761_600;

#[allow(clippy::too_many_lines)]
pub fn advice(problem: Problem, cx: &Context<'_>) -> Advice {
    use NextStep::{GoToAccount, NewAppPassword, ShowAdvanced, TestAgain};
    let (server, port, account) = (cx.server, cx.port, cx.account);
    let label = cx.security.label();
    let (other, other_flag) = match cx.security {
        Security::Ssl => ("port 587 with STARTTLS", "leave out --skip-starttls"),
        Security::Starttls => ("port 465 with SSL/TLS", "leave out --skip-ssl"),
    };
    // "Try the other port" only when its result is not on the screen and it may work at all.
    let or_other = |then: &str| {
        if cx.other_tested || !cx.other_port_allowed || cx.ports_locked {
            then.to_string()
        } else {
            let how = cx.say("under Advanced", other_flag);
            format!("Test {other} too ({how}). {then}")
        }
    };
    // Checking the port is a step only where the person may change it.
    let check_port = |then: &str| {
        if cx.ports_locked {
            "Send IT the message below.".to_string()
        } else {
            let how = cx.say("under Advanced", "--ssl-port or --starttls-port");
            format!("Check the port number ({how}). {then}")
        }
    };
    let show_advanced = (!cx.ports_locked).then_some(ShowAdvanced);
    let step1 = cx.say("in step 1", "you gave");
    let certificate_file = cx.say("add it under Advanced", "give it with --ca-file");
    let it = |ask: String| Some(ask);
    let on = format!("{server}, port {port} with {label}");
    let (title, happened, todo, next, for_it): (&str, String, String, Option<NextStep>, Option<String>) = match problem {
        Problem::DnsFailed => (
            "The server name was not found",
            format!("This computer could not find a mail server called \"{server}\"."),
            "Check the server name for typing mistakes (for Google it is smtp.gmail.com). Check that this computer is online, then test again. If the name is right, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("ScanMail could not look up the mail server name {server} (port {port}) from this computer. Is the name right for sending mail from {account}, and can this network look it up?")),
        ),
        Problem::ConnectionRefused => (
            "Nothing answers on this port",
            format!("{server} refused the connection on port {port}."),
            or_other(&check_port("If it is right, send IT the message below.")),
            show_advanced,
            it(format!("{server} refuses connections on port {port} from this computer. Which port should {account} use to send mail with a login, and does our network block port {port}?")),
        ),
        Problem::ConnectFailed => (
            "The server could not be reached",
            format!("This computer could not open a connection to {server} on port {port}."),
            "Check that this computer is online, then test again. If it keeps failing, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("ScanMail cannot connect from this computer to {server} on port {port}. Does our network allow outgoing mail on port {port}?")),
        ),
        Problem::ConnectTimeout => (
            "No answer from the server",
            format!("{server} did not answer on port {port} in time. A firewall often blocks mail ports without saying so."),
            or_other("Send IT the message below."),
            None,
            it(format!("Connections from this computer to {server} on port {port} get no answer. Does a firewall block outgoing port {port}? (ScanMail was testing {account}.)")),
        ),
        Problem::NoGreeting => (
            "The server did not say hello",
            format!("A connection to {server} on port {port} opened, but no mail server answered on it."),
            if cx.ports_locked {
                "Send IT the message below.".into()
            } else {
                check_port("Check the server name too. If both are right, send IT the message below.")
            },
            show_advanced,
            it(format!("{server} accepts connections on port {port}, but no mail server answers there. Is port {port} with {label} right for sending mail from {account}?")),
        ),
        Problem::TlsHandshakeFailed => (
            "The secure connection could not be set up",
            format!("{server} and this computer could not agree on a secure connection on port {port}."),
            or_other("Check the server name. If it is right, send IT the message below."),
            None,
            it(format!("A secure connection ({label}) from ScanMail to {on} fails. Which ports and TLS versions does the server accept for sending from {account}?")),
        ),
        Problem::TrustStoreUnavailable => (
            "This computer's trusted certificates could not be read",
            "ScanMail checks each server's certificate with a list on this computer. That list could not be opened, so nothing was sent.".into(),
            format!("Restart the computer and test again. If it still fails, send IT the message below. IT can also give you the server's certificate file: {certificate_file}."),
            Some(TestAgain),
            it(format!("ScanMail cannot open the certificate store on this computer, so it cannot check the certificate of {server}. Can you repair the store? Or send me the server's CA certificate file (PEM) for ScanMail's Advanced settings.")),
        ),
        Problem::TlsCertificateUntrusted => (
            "The server's certificate is not trusted",
            format!("{server} showed a certificate that this computer does not trust. The password was not sent."),
            format!("Check the server name. Is it your organization's own mail server? Then ask IT for its certificate file (send the message below), and {certificate_file}."),
            show_advanced,
            it(format!("The certificate of {on} is not trusted on this computer. Please send me the CA certificate file (PEM) to add in ScanMail's Advanced settings. Or give the server a certificate from a public authority.")),
        ),
        Problem::TlsCertificateWrongHost => (
            "The certificate is for a different server",
            format!("The server at \"{server}\" showed a certificate made out to another name. The password was not sent."),
            "Type the server name your provider or IT gives (for Google: smtp.gmail.com), not an address or a nickname. Then test again. If you are not sure of the name, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("The mail server at {server} (port {port}) shows a certificate made out to another name. What exact server name should {account} use?")),
        ),
        Problem::TlsCertificateExpired => (
            "The server's certificate is out of date",
            match cx.not_after {
                Some(d) => format!("{server} showed a certificate valid until {d}, which does not match today's date. The password was not sent."),
                None => format!("{server} showed a certificate that is not valid today. The password was not sent."),
            },
            "Check that this computer's date and time are right. If they are, send IT the message below.".into(),
            None,
            it(format!("The certificate of {on} is not valid today{}. Please renew it.", cx.not_after.map_or(String::new(), |d| format!(" (valid until {d})")))),
        ),
        Problem::StarttlsNotOffered => (
            "The server does not offer encryption here",
            format!("{server} did not offer STARTTLS on port {port}, so ScanMail stopped before sending the password."),
            or_other("Never set the device to send the password without encryption. Send IT the message below."),
            None,
            it(format!("{server} does not offer STARTTLS on port {port}. Which port takes encrypted, signed-in mail from {account}?")),
        ),
        Problem::EncryptionRequired => (
            "The server asked for encryption again",
            format!("{server} asked for encryption, but ScanMail had already turned it on."),
            "Test again. If it happens again, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("{on} asks ScanMail for STARTTLS although encryption is already on, while signing in as {account}.")),
        ),
        Problem::AuthNotOffered => (
            "The server does not offer sign-in here",
            format!("{server} did not offer a way to sign in with a password on port {port}."),
            or_other("Send IT the message below."),
            None,
            it(format!("{on} offers no password sign-in (SMTP AUTH) for {account}. Which port accepts signed-in mail, or is SMTP AUTH switched off?")),
        ),
        Problem::AuthRejected if cx.app_password_shaped => (
            "The app password was not accepted",
            format!("{server} rejected the address and app password for {account}."),
            format!("Check the address {step1}. The app password may be typed wrong, revoked, or made for another account. Make a new one for {account} and paste it {step1}. If a new one is refused too, send IT the message below."),
            Some(GoToAccount),
            it(format!("{server} refuses the app password for {account}, even a new one. May this account use app passwords (2-Step Verification on, app passwords allowed by the organization)?")),
        ),
        Problem::AuthRejected if !cx.app_passwords => (
            "The password was not accepted",
            format!("{server} rejected the address and password for {account}."),
            format!("Check the address and the password {step1}: use the mailbox's password that IT gave you. If both are right, send IT the message below."),
            Some(GoToAccount),
            it(format!("{server} refuses the password for the mailbox {account}. Is the password right, and is Authenticated SMTP (SMTP AUTH) on for this mailbox?")),
        ),
        Problem::AuthRejected => (
            "The login was not accepted",
            format!("{server} rejected the address and password for {account}."),
            format!("Devices need an app password, not the account's normal password. Make an app password for {account} and paste it {step1}. If it is refused too, send IT the message below."),
            Some(GoToAccount),
            it(format!("{server} refuses the login for {account}. May this account use app passwords, or what should a device use to sign in?")),
        ),
        Problem::AppPasswordRequired => (
            "An app password is needed",
            "The account has 2-Step Verification on. So devices cannot use its normal password.".into(),
            format!("Make an app password for {account} and paste it {step1} instead of the normal password."),
            Some(NewAppPassword),
            None,
        ),
        Problem::WebLoginRequired => (
            "The provider wants a sign-in in a browser first",
            "The provider blocked this sign-in as unusual. Someone must sign in to the account in a web browser first.".into(),
            format!("Sign in to {account} in a web browser on this computer. Confirm any security prompt, then test again."),
            Some(TestAgain),
            None,
        ),
        Problem::SmtpAuthDisabled => (
            "Sending with a password is switched off",
            "The organization's mail settings do not let devices sign in to send. A new app password will not help.".into(),
            "Send IT the message below.".into(),
            None,
            it(format!("Please turn on Authenticated SMTP (SMTP AUTH) for the mailbox {account}. ScanMail's test on {on} was refused: SMTP client authentication is disabled.")),
        ),
        Problem::BasicAuthDisabled => (
            "This mailbox can no longer send with a password",
            if cx.now_unix < MICROSOFT_DEFAULT_OFF {
                format!("{server} refuses passwords for sending, app passwords too. Your organization has turned this off. Microsoft turns it off for everyone at the end of December 2026.")
            } else {
                format!("{server} refuses passwords for sending, app passwords too. Microsoft turned this off for everyone at the end of December 2026.")
            },
            "A new app password will not help. IT has to choose another way for the copier to send. Send IT the message below.".into(),
            None,
            it(format!("Microsoft 365 will not let {account} send with a password (Basic authentication) on {on}.\nPlease choose how this copier should send:\n- OAuth 2.0 (Microsoft sign-in) on the copier, if the copier has it.\n- A relay: a connector, High Volume Email, or a ScanMail relay on a computer that stays on.\n- Basic authentication for SMTP AUTH back on for this mailbox. This lasts only until Microsoft's final date.")),
        ),
        Problem::LoginRequired => (
            "The server wants a signed-in sender",
            format!("{server} said the sender is not signed in, right after ScanMail signed in as {account}."),
            "Send IT the message below.".into(),
            None,
            it(format!("{on} says {account} is not signed in, right after a successful sign-in. Is this mailbox allowed to send by SMTP?")),
        ),
        Problem::SenderNotAllowed => (
            "This account may not send as itself",
            format!("{server} refused to send mail from {account} with this login."),
            "Send IT the message below.".into(),
            None,
            it(format!("{on} does not let {account} send mail from its own address. Please check that the mailbox may send (licence, Send As).")),
        ),
        Problem::SenderRejected => (
            "The sender address was refused",
            format!("{server} refused {account} as the sender."),
            format!("Check the address {step1}. If it is right, send IT the message below."),
            Some(GoToAccount),
            it(format!("{on} refuses {account} as a sender. Is the mailbox blocked or without a licence?")),
        ),
        Problem::RecipientRejected => (
            "The recipient address was refused",
            "The server would not take the test message's recipient.".into(),
            cx.say(
                "Check the spelling under \"Send the test message to\", or leave it empty to send the test to the device account itself. Then test again.",
                "Check the address given with --to, or leave --to out to send the test to the device account itself. Then test again.",
            ),
            Some(TestAgain),
            None,
        ),
        Problem::RelayDenied => (
            "The server would not pass the mail on",
            format!("{server} does not pass on mail for this sender or recipient."),
            "Use your provider's sign-in server (for Google: smtp.gmail.com, not smtp-relay.gmail.com). If you already do, send IT the message below.".into(),
            None,
            it(format!("{on} refuses to relay mail from {account} after it signed in. Which server should this device account use?")),
        ),
        Problem::MessageRejected => (
            "The message was refused",
            format!("{server} accepted the login but refused the test message itself."),
            "Send IT the message below. The server's words say why.".into(),
            None,
            it(format!("{on} accepted the login for {account} but refused ScanMail's small test message.")),
        ),
        Problem::MessageTooBig => (
            "The message is too big for the server",
            format!("{server} said the message is too big."),
            "ScanMail's test message is small, so this server's size limit is very low. Send IT the message below. At the copier, scan at a lower resolution or in parts.".into(),
            None,
            it(format!("{on} refuses messages from {account} as too big, even ScanMail's small test. What is the size limit for this mailbox?")),
        ),
        Problem::SendingLimitReached => (
            "The account has sent too much today",
            "The provider's daily sending limit for this account has been reached.".into(),
            "Wait up to 24 hours and test again. A busy copier may need its own account.".into(),
            Some(TestAgain),
            None,
        ),
        Problem::ServerBusy => (
            "The server said try again later",
            format!("{server} refused for now with a temporary error."),
            "Wait a few minutes and test again. If it keeps happening, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("{on} keeps answering ScanMail's test for {account} with a temporary error.")),
        ),
        Problem::ServerClosed => (
            "The server hung up",
            format!("{server} closed the connection on port {port} in the middle of the conversation."),
            "Test again. If it keeps happening, send IT the message below.".into(),
            Some(TestAgain),
            it(format!("{on} closes the connection in the middle of ScanMail's test for {account}.")),
        ),
        Problem::ProtocolError => (
            "The server's answer could not be understood",
            format!("What came back on port {port} does not look like a mail server's answer."),
            if cx.ports_locked {
                "Send IT the message below.".into()
            } else {
                check_port("Check the server name too. If both are right, send IT the message below.")
            },
            show_advanced,
            it(format!("What answers on {on} does not speak SMTP the way ScanMail expects. Is this the right server and port for {account}?")),
        ),
        Problem::UnexpectedReply => (
            "The server refused",
            format!("{server} answered with an error ScanMail does not know."),
            "Send IT the message below. The server's words usually say why.".into(),
            None,
            it(format!("{on} refused ScanMail's test for {account} with a reply ScanMail does not know.")),
        ),
        Problem::OAuthRejected => (
            "The sign-in was not accepted",
            format!("{server} refused the sign-in for {account}."),
            format!("The sign-in may have run out, or been made as another account. Test again and sign in as {account}. If it fails again, send IT the message below."),
            Some(TestAgain),
            it(format!("{on} refused the OAuth 2.0 access token for {account} (XOAUTH2). Is SMTP AUTH on for this mailbox, and may the app send mail (SMTP.Send for Microsoft 365, https://mail.google.com/ for Google)?")),
        ),
        Problem::OAuthNotOffered => (
            "The server does not offer this sign-in",
            format!("{server} did not offer the Microsoft or Google sign-in on port {port}."),
            or_other("Send IT the message below."),
            None,
            it(format!("{on} does not offer OAuth 2.0 sign-in (SASL XOAUTH2) for {account}. Which server and port accept OAuth sign-in for sending?")),
        ),
        Problem::Timeout => (
            "The server stopped answering",
            format!("{server} started answering on port {port}, then took too long."),
            cx.say(
                "Test again. If it happens again, set a longer time limit under Advanced, or send IT the message below.",
                "Test again. If it happens again, give a longer --timeout, or send IT the message below.",
            ),
            Some(TestAgain),
            it(format!("{on} starts answering ScanMail's test for {account}, then goes silent.")),
        ),
    };
    // Every message for IT ends with the facts IT needs to look the account up.
    let for_it = for_it.map(|m| {
        let said = match cx.reply {
            Some(r) if !r.is_empty() => format!(" The server said: \"{r}\""),
            _ => String::new(),
        };
        format!(
            "{m}{said} (Device account: {account}. Server: {server}, port {port} with {label}.)"
        )
    });
    Advice {
        title: title.into(),
        what_happened: happened,
        what_to_do: todo,
        next,
        for_it,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(security: Security, other_tested: bool) -> Context<'static> {
        Context {
            other_tested,
            reply: Some("535 5.7.8 no"),
            ..Context::new("smtp.example.edu", 465, security, "lab@example.edu")
        }
    }

    #[test]
    fn every_problem_ends_in_a_step_or_a_message_for_it() {
        for &p in Problem::ALL {
            for other_tested in [false, true] {
                let a = advice(p, &cx(Security::Ssl, other_tested));
                assert!(!a.title.is_empty() && !a.what_happened.is_empty(), "{p}");
                assert!(a.next.is_some() || a.for_it.is_some(), "{p} dead-ends");
                if let Some(m) = &a.for_it {
                    for needle in ["lab@example.edu", "smtp.example.edu", "465"] {
                        assert!(m.contains(needle), "{p}: IT's message lacks {needle}: {m}");
                    }
                    assert!(m.contains("535 5.7.8 no"), "{p}: the server's words");
                    assert!(
                        a.what_to_do.contains("message below"),
                        "{p}: {}",
                        a.what_to_do
                    );
                }
                let words = format!("{} {} {}", a.what_happened, a.what_to_do, a.title);
                assert!(!words.contains("the device's host name"), "{p}: {words}");
                if other_tested {
                    assert!(
                        !words.contains("587"),
                        "{p} suggests a port on the screen: {words}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_app_password_that_fails_names_the_likely_causes() {
        let mut c = cx(Security::Ssl, true);
        c.app_password_shaped = true;
        let a = advice(Problem::AuthRejected, &c);
        for cause in ["typed wrong", "revoked", "another account"] {
            assert!(a.what_to_do.contains(cause), "{}", a.what_to_do);
        }
        assert!(!a.what_to_do.contains("not the account's normal password"));
        assert_eq!(a.next, Some(NextStep::GoToAccount));
    }

    #[test]
    fn basic_auth_advice_follows_the_clock() {
        let mut c = cx(Security::Starttls, true);
        c.now_unix = MICROSOFT_DEFAULT_OFF - 86_400;
        let before = advice(Problem::BasicAuthDisabled, &c);
        assert!(
            before.what_happened.contains("turns it off"),
            "{}",
            before.what_happened
        );
        c.now_unix = MICROSOFT_DEFAULT_OFF + 40 * 86_400;
        let after = advice(Problem::BasicAuthDisabled, &c);
        assert!(
            after.what_happened.contains("turned this off"),
            "{}",
            after.what_happened
        );
        assert!(after.what_to_do.contains("will not help"));
        assert!(after.for_it.unwrap_or_default().contains("OAuth"));
    }
}
