//! Why Graph did not take a message: what the copier hears, what IT reads, and how Graph's
//! answer is read.

use super::http::Answer;
use crate::receive::Reply;

/// Why Graph did not take the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    Network(String),
    /// Throttled (429) or busy (503) longer than the copier would wait.
    Busy(u16),
    /// The token was refused even after a new one (401).
    Unauthorized,
    /// 403: Graph's code (ErrorAccessDenied, ErrorSendAsDenied) and words.
    Forbidden(String, String),
    /// The message is larger than the mailbox takes (413, ErrorMessageSizeExceeded).
    TooBig(usize),
    /// A recipient refused (ErrorInvalidRecipients), with Graph's words.
    Recipient(String),
    /// Any other refusal: status, code, words.
    Refused(u16, String, String),
}

impl GraphError {
    /// What the copier hears.
    pub fn reply(&self) -> Reply {
        match self {
            GraphError::Network(why) => Reply::new(
                451,
                format!("4.4.1 The relay could not reach Microsoft Graph ({why}): try again later"),
            ),
            GraphError::Busy(status) => Reply::new(
                451,
                format!("4.4.2 Microsoft Graph is busy ({status}): try again shortly"),
            ),
            GraphError::Unauthorized => Reply::new(
                454,
                "4.7.0 Microsoft Graph did not accept the relay's sign-in: try again later",
            ),
            GraphError::Forbidden(code, _) => Reply::new(
                451,
                format!(
                    "4.7.0 Microsoft Graph refused the relay ({code}): IT must fix its permission; try again later"
                ),
            ),
            GraphError::TooBig(size) => Reply::new(
                552,
                format!(
                    "5.3.4 The message is {} MB, bigger than the mailbox takes (ErrorMessageSizeExceeded)",
                    size.div_ceil(1_000_000)
                ),
            ),
            GraphError::Recipient(words) => Reply::new(
                550,
                format!("5.1.1 Microsoft Graph refused a recipient: {words}"),
            ),
            GraphError::Refused(status, code, _) if *status >= 500 => Reply::new(
                451,
                format!("4.4.0 Microsoft Graph failed ({status} {code}): try again later"),
            ),
            GraphError::Refused(status, code, _) => Reply::new(
                550,
                format!("5.6.0 Microsoft Graph refused the message ({status} {code})"),
            ),
        }
    }

    /// In words for IT, with the fix, for the status and the log.
    pub fn words(&self, account: &str) -> String {
        match self {
            GraphError::Forbidden(code, _) if code == "ErrorSendAsDenied" => format!(
                "Microsoft Graph refused a message whose sender is not {account} (403 {code}). Keep rewrite_from on for the copier in relay.toml, so the relay sends From {account}."
            ),
            GraphError::Forbidden(code, _) => format!(
                "Microsoft Graph refused the relay's app for the mailbox {account} (403 {code}): the app may not send as it. In Exchange Online PowerShell: New-ManagementRoleAssignment -App <Object ID of the app's enterprise application> -Role \"Application Mail.Send\" -CustomResourceScope <a scope with only {account}>, and the same with \"Application Mail.ReadWrite\" for large scans (setup-microsoft-365.ps1 from scanmail relay microsoft-app --graph does both). Changes can take two hours to work."
            ),
            GraphError::Unauthorized => format!(
                "Microsoft Graph did not accept the relay's token for {account} (401), even a new one. Check the app's sign-in: scanmail relay test"
            ),
            GraphError::Refused(status, code, _) if code == "MailboxNotEnabledForRESTAPI" => {
                format!(
                    "Microsoft Graph cannot use the mailbox {account} ({status} {code}): it has no Exchange Online licence, or it is not in Exchange Online. Give it a licence in the Microsoft 365 admin center, or choose another mailbox."
                )
            }
            GraphError::TooBig(size) => format!(
                "The mailbox {account} refused a message of {} MB as too big (ErrorMessageSizeExceeded). Exchange Online takes 35 MB unless IT raised it (Set-Mailbox -MaxSendSize).",
                size.div_ceil(1_000_000)
            ),
            other => format!("Microsoft Graph: {}", other.reply()),
        }
    }
}

pub(super) fn classify(a: &Answer, sent: usize) -> GraphError {
    let (code, words) = a.error();
    match (a.status, code.as_str()) {
        (413, _) | (_, "ErrorMessageSizeExceeded") => GraphError::TooBig(sent),
        (403, _) => GraphError::Forbidden(code, words),
        (400, "ErrorInvalidRecipients") => {
            GraphError::Recipient(crate::relay::log::without_addresses(&words))
        }
        (status, _) => GraphError::Refused(status, code, words),
    }
}
