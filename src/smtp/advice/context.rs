//! What an advice is (its title, what happened, what to do, a button, the message for IT) and
//! what it is made from (the server, the port, the account, the screen it is said on).

use crate::smtp::{Security, Surface};
use serde::Serialize;

/// A step the window can offer as a button next to the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextStep {
    /// Back to step 1, Account (the address or the app password).
    GoToAccount,
    /// Make a new app password (the window opens the provider's page for it).
    NewAppPassword,
    /// Run the test send again.
    TestAgain,
    /// Open Advanced on the Test send step (ports, time limit, certificate file).
    ShowAdvanced,
    /// Switch this device to the Microsoft sign-in and test it.
    TestMicrosoftSignIn,
}

impl NextStep {
    /// The button's words.
    pub fn label(self) -> &'static str {
        match self {
            NextStep::GoToAccount => "Go to step 1",
            NextStep::NewAppPassword => "Make a new app password",
            NextStep::TestAgain => "Test again",
            NextStep::ShowAdvanced => "Show Advanced",
            NextStep::TestMicrosoftSignIn => "Test the Microsoft sign-in",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    pub title: String,
    pub what_happened: String,
    pub what_to_do: String,
    /// A step to offer as a button, when one helps.
    pub next: Option<NextStep>,
    /// A message to send IT, ready to copy, when only IT can fix it.
    pub for_it: Option<String>,
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
    /// The other usual port was tested too, so its result is on the same screen.
    pub other_tested: bool,
    /// The other usual port may be suggested (Microsoft 365 has no 465).
    pub other_port_allowed: bool,
    /// The preset fixes the server and ports: never send anyone to change them.
    pub ports_locked: bool,
    /// The password has an app password's shape (16 letters), so "use an app password" would
    /// not help.
    pub app_password_shaped: bool,
    /// The provider gives devices app passwords (false: the mailbox's own password).
    pub app_passwords: bool,
    /// Who reads it: the window (buttons, "under Advanced") or the command line (flags).
    pub surface: Surface,
    /// The server's words, for the message to IT.
    pub reply: Option<&'a str>,
    /// Now, in seconds since 1970 (advice about dated changes follows the clock).
    pub now_unix: i64,
}

impl<'a> Context<'a> {
    /// A context with nothing known beyond the server, port and account.
    pub fn new(server: &'a str, port: u16, security: Security, account: &'a str) -> Self {
        Self {
            server,
            port,
            security,
            account,
            not_after: None,
            other_tested: false,
            other_port_allowed: true,
            ports_locked: false,
            app_password_shaped: false,
            app_passwords: true,
            surface: Surface::Window,
            reply: None,
            now_unix: crate::time::now_unix(),
        }
    }

    /// The window's words or the command line's.
    pub(super) fn say(&self, window: &str, command_line: &str) -> String {
        match self.surface {
            Surface::Window => window.to_string(),
            Surface::CommandLine => command_line.to_string(),
        }
    }
}
