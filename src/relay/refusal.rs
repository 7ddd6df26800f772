//! Why the relay turned a copier away, recorded against the copier (its name when known, else
//! its address) so the Relay page and `relay status` can say what happened and what to do.

use serde::{Deserialize, Serialize};

/// What the relay refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    WrongPassword,
    /// A copier's login from an address not in its list.
    AddressNotAllowed,
    UnknownLogin,
    /// The copier ended the handshake over the relay's certificate.
    CertificateRefused,
    /// The copier offered only TLS 1.0 or 1.1.
    OldTls,
    /// Any other failed handshake.
    TlsFailed,
    /// A sign-in before encryption.
    SignInWithoutTls,
    /// TLS at once on the STARTTLS port (the copier is set to SSL/TLS).
    SslOnStarttls,
}

impl Refusal {
    /// What happened, in the words a person at the copier reads.
    pub fn what(self, from: &str, detail: &str) -> String {
        match self {
            Refusal::WrongPassword => {
                format!("It signed in from {from} with a wrong password.")
            }
            Refusal::AddressNotAllowed => {
                format!("It signed in from {from}, which is not in its list of addresses.")
            }
            Refusal::UnknownLogin => {
                format!("A copier at {from} signed in with a login name the relay does not know.")
            }
            Refusal::CertificateRefused => {
                format!("The copier at {from} did not trust the relay's certificate.")
            }
            Refusal::OldTls => format!(
                "The copier at {from} knows only old encryption ({detail}), which the relay does not take."
            ),
            Refusal::TlsFailed => {
                let _ = detail; // in the relay's log, for IT
                format!("The copier at {from} could not start encryption with the relay.")
            }
            Refusal::SignInWithoutTls => {
                format!("The copier at {from} tried to sign in without encryption.")
            }
            Refusal::SslOnStarttls => {
                format!("The copier at {from} is set to SSL/TLS, but this port uses STARTTLS.")
            }
        }
    }

    /// What to do about it: a step at the copier, or what IT must change (with the command).
    /// `name`: the copier's name in relay.toml, when the relay knows which copier it was;
    /// `detail`: the encryption's error for a failed handshake.
    pub fn fix(self, name: Option<&str>, from: &str, detail: &str) -> String {
        let from = from
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or(from);
        // A copier known only by its address: the commands say NAME, and what NAME is.
        let (name, unnamed) = match name {
            Some(n) => (n, ""),
            None => (
                "NAME",
                " (NAME: the copier's Login name on its card, as in relay.toml.)",
            ),
        };
        match self {
            Refusal::WrongPassword => format!(
                "Staff type the password from the copier's card into the copier again. If the card is lost, remove the copier so staff can add it again for a new password: scanmail relay remove-device {name}{unnamed}"
            ),
            Refusal::AddressNotAllowed => format!(
                "If {from} is the copier's new address, add the copier again with it: scanmail relay remove-device {name}, then scanmail relay add-device {name} --address {from}. The copier then needs its new card.{unnamed}"
            ),
            Refusal::UnknownLogin => "Staff type the Login name from the copier's card into the copier exactly as it is written.".into(),
            Refusal::CertificateRefused => "Turn off the copier's certificate check for this server. Or load the relay's certificate onto the copier: the file on relay.toml's certificate line, else relay-cert.pem beside relay.toml or in the relay's state folder.".into(),
            Refusal::OldTls => format!(
                "Let this copier in without encryption, on this network only: add allow_plain_from = [\"{from}\"] to relay.toml (the relay reads it at the next connection). If the copier was added without this address, add it again with it (scanmail relay remove-device {name}, then scanmail relay add-device {name} --address {from}): its new card says Security: None.{unnamed}"
            ),
            Refusal::TlsFailed => {
                let error = if detail.trim().is_empty() {
                    String::new()
                } else {
                    format!(" The copier's encryption failed with: {}.", detail.trim().trim_end_matches('.'))
                };
                format!(
                    "Check the copier's Security and Port against its card (scanmail card --relay {name}).{error} If they match, turn off the copier's certificate check for this server, or update the copier's firmware.{unnamed}"
                )
            }
            Refusal::SignInWithoutTls | Refusal::SslOnStarttls => {
                "Staff set the copier's Security and Port exactly as on its card.".into()
            }
        }
    }

    /// What staff at the copier can do (the Relay page shows it), when they can; IT's part is
    /// in [`Refusal::fix`], in the message for IT.
    pub fn staff_step(self) -> Option<&'static str> {
        match self {
            Refusal::WrongPassword => Some(
                "Type the password from the copier's card into the copier again. If the card is lost, send IT the message below.",
            ),
            Refusal::UnknownLogin => Some(
                "Type the Login name from the copier's card into the copier exactly as it is written.",
            ),
            Refusal::CertificateRefused => Some(
                "On the copier, turn off the certificate check for this server. Or send IT the message below.",
            ),
            Refusal::TlsFailed => Some(
                "Set the copier's Security and Port exactly as on its card. If they already match, send IT the message below.",
            ),
            Refusal::SignInWithoutTls | Refusal::SslOnStarttls => {
                Some("Set the copier's Security and Port exactly as on its card.")
            }
            Refusal::AddressNotAllowed | Refusal::OldTls => None,
        }
    }

    /// True when IT may have to act (the page offers the message for IT).
    pub fn needs_it(self) -> bool {
        match self {
            Refusal::WrongPassword
            | Refusal::AddressNotAllowed
            | Refusal::CertificateRefused
            | Refusal::OldTls
            | Refusal::TlsFailed => true,
            Refusal::UnknownLogin | Refusal::SignInWithoutTls | Refusal::SslOnStarttls => false,
        }
    }
}

/// How a failed handshake reads: old TLS when the hello offered nothing newer than TLS 1.1, the
/// certificate when the copier's alert says so, else a plain failure.
pub fn of_handshake(highest_offered: Option<&str>, error: &str) -> Refusal {
    if highest_offered.is_some_and(|v| crate::receive::hello::rank(v) < 3) {
        return Refusal::OldTls;
    }
    let e = error.to_ascii_lowercase();
    if [
        "badcertificate",
        "unknownca",
        "certificateunknown",
        "bad certificate",
        "unknown ca",
    ]
    .iter()
    .any(|w| e.contains(w))
    {
        Refusal::CertificateRefused
    } else {
        Refusal::TlsFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshakes_read_as_old_tls_or_the_certificate() {
        assert_eq!(
            of_handshake(Some("TLS1.0"), "peer is incompatible"),
            Refusal::OldTls
        );
        assert_eq!(
            of_handshake(Some("TLS1.3"), "received fatal alert: UnknownCA"),
            Refusal::CertificateRefused
        );
        assert_eq!(
            of_handshake(Some("TLS1.2"), "received fatal alert: BadCertificate"),
            Refusal::CertificateRefused
        );
        assert_eq!(of_handshake(None, "unexpected eof"), Refusal::TlsFailed);
    }

    #[test]
    fn every_refusal_says_what_and_a_step() {
        for r in [
            Refusal::WrongPassword,
            Refusal::AddressNotAllowed,
            Refusal::UnknownLogin,
            Refusal::CertificateRefused,
            Refusal::OldTls,
            Refusal::TlsFailed,
            Refusal::SignInWithoutTls,
            Refusal::SslOnStarttls,
        ] {
            let what = r.what("10.1.2.3", "TLS1.0");
            let fix = r.fix(Some("copier-3f"), "10.1.2.3", "");
            assert!(what.ends_with('.') && what.len() > 20, "{r:?}: {what}");
            assert!(fix.len() > 20 && !fix.contains("send IT"), "{r:?}: {fix}");
            assert!(r.staff_step().is_some() || r.needs_it(), "{r:?}");
            // A step that sends staff to the message for IT comes with that message.
            let step = r.staff_step().unwrap_or_default().to_ascii_lowercase();
            assert_eq!(
                step.contains("send it the message"),
                r.needs_it() && r.staff_step().is_some(),
                "{r:?}"
            );
            // A copier known only by its address: no command names the address as a copier.
            let unnamed = r.fix(None, "10.1.2.3", "");
            assert!(
                !unnamed.contains("device 10.1.2.3") && !unnamed.contains("--relay 10.1.2.3"),
                "{r:?}: {unnamed}"
            );
        }
        assert!(
            Refusal::OldTls
                .fix(Some("old"), "10.1.2.3", "TLS 1.0")
                .contains("allow_plain_from = [\"10.1.2.3\"]")
        );
        assert!(
            Refusal::AddressNotAllowed
                .fix(Some("copier-3f"), "10.9.9.9", "")
                .contains("scanmail relay add-device copier-3f --address 10.9.9.9")
        );
        let tls =
            Refusal::TlsFailed.fix(None, "10.1.2.3", "received fatal alert: HandshakeFailure");
        assert!(
            tls.contains("failed with: received fatal alert: HandshakeFailure. If they match")
                && tls.contains("scanmail card --relay NAME")
                && tls.contains("NAME: the copier's Login name"),
            "{tls}"
        );
    }
}
