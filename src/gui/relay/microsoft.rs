//! The Relay page's Microsoft 365 part, for IT at this computer: which sign-in the relay uses,
//! when its certificate ends, and "Set up Microsoft 365": the relay's own app certificate and the
//! setup script (an administrator's step), the folder with both, the same steps in the portal,
//! and the sign-in with the app's ID once IT ran the script.

use super::{Message, State, style};
use crate::relay::{
    app_setup,
    config::{AuthKind, ProviderKind, RelayConfig},
    status,
};
use iced::widget::{Column, button, container, row, text, text_input};
use iced::{Element, Length};

pub const CLIENT_ID_ID: &str = "relay-client-id";

/// The portal's steps, short (docs/microsoft-365.md has them whole).
pub const PORTAL_STEPS: &str = "1. Entra admin center, App registrations, New registration: a name, \"Accounts in this organizational directory only\", Register.
2. Copy the Application (client) ID and the Directory (tenant) ID from the Overview.
3. Certificates & secrets, Certificates, Upload certificate: relay-app.cer from the folder above.
4. API permissions, Add a permission, APIs my organization uses, Office 365 Exchange Online, Application permissions, SMTP.SendAsApp. Then Grant admin consent.
5. In Exchange Online PowerShell: New-ServicePrincipal, Add-MailboxPermission and Set-CASMailbox for the mailbox (docs/microsoft-365.md, step C).";

/// Which sign-in the relay uses, in a line.
pub fn sign_in_kind(cfg: &RelayConfig) -> String {
    match cfg.upstream.auth {
        AuthKind::App => {
            let end = status::credential_expires(cfg).map_or_else(String::new, |t| {
                format!(
                    " IT must renew its certificate by {}.",
                    crate::time::local_words(t)
                )
            });
            format!("It signs in to Microsoft 365 by itself, with no person's password.{end}")
        }
        AuthKind::OAuth => {
            "It signs in with a person's sign-in, which it renews by itself.".to_string()
        }
        AuthKind::Password => "It signs in with the mailbox's password.".to_string(),
    }
}

impl State {
    /// The folder with relay.toml, the certificate and the script.
    pub fn folder(&self) -> std::path::PathBuf {
        crate::relay::config_dir(&self.config_path)
    }

    /// The setup script is there (an administrator ran "Set up Microsoft 365").
    pub fn script_made(&self) -> bool {
        self.folder().join(app_setup::SCRIPT_FILE).exists()
            && self.folder().join(app_setup::CERT_FILE).exists()
    }

    pub(super) fn microsoft_view<'a>(
        &'a self,
        cfg: &'a RelayConfig,
    ) -> Option<Element<'a, Message>> {
        if cfg.upstream.provider != ProviderKind::Microsoft {
            return None;
        }
        let signed_in_as_app = cfg.upstream.auth == AuthKind::App && self.state.upstream.signed_in;
        if signed_in_as_app {
            return None;
        }
        let mut c = Column::new()
            .spacing(6)
            .push(text("Set up Microsoft 365 (for IT at this computer)").size(style::BODY));
        if self.script_made() {
            c = c
                .push(
                    text(format!(
                        "The relay's certificate and the setup script are in {}. An administrator of Microsoft 365 runs setup-microsoft-365.ps1 on a Windows PC, or does the same in the portal.",
                        self.folder().display()
                    ))
                    .size(style::SMALL),
                )
                .push(
                    row![
                        button(text("Open the folder")).on_press(Message::OpenFolder),
                        button(text(if self.show_portal {
                            "Hide the portal steps"
                        } else {
                            "Show the portal steps"
                        }))
                        .on_press(Message::TogglePortal)
                        .style(button::secondary),
                    ]
                    .spacing(8),
                );
            if self.show_portal {
                c = c.push(text(PORTAL_STEPS).size(style::SMALL).style(style::hint));
            }
            c = c
                .push(
                    text("Then type the app's Application (client) ID here and sign the relay in:")
                        .size(style::SMALL),
                )
                .push(
                    row![
                        text_input("11111111-2222-3333-4444-555555555555", &self.client_id)
                            .id(CLIENT_ID_ID)
                            .on_input(Message::ClientIdChanged)
                            .on_submit(Message::AppSignIn)
                            .padding(8),
                        button(text("Sign the relay in")).on_press(Message::AppSignIn),
                    ]
                    .spacing(8),
                );
        } else {
            c = c
                .push(
                    text("The relay can sign in as its own app, so no person's password change ends it. This makes the app's certificate and a setup script for Microsoft 365.")
                        .size(style::SMALL),
                )
                .push(button(text("Set up Microsoft 365")).on_press(Message::SetUpMicrosoft));
        }
        Some(
            container(c)
                .padding(12)
                .width(Length::Fill)
                .style(style::panel)
                .into(),
        )
    }
}
