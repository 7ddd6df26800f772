//! Step 1's secret: how the device signs in (when IT registered an OAuth app) and, for an app
//! password, the field, its warnings and "Remember".

use super::account::{Message, PASSWORD_ID, State};
use super::style;
use crate::oauth::Provider;
use crate::org::Preset;
use crate::secrets::AppPassword;
use iced::widget::{Column, button, checkbox, container, radio, row, text, text_input};
use iced::{Element, Length};

/// What the account step says when the device signs in with OAuth.
pub fn oauth_words(provider: Provider) -> String {
    format!(
        "The copier will sign in to {} itself (OAuth 2.0), so no app password is needed. ScanMail tests that sign-in: in step 3 you sign in as the device account, and ScanMail keeps nothing afterwards.",
        provider.label()
    )
}

impl State {
    pub(super) fn secret_view<'a>(
        &'a self,
        preset: &'a Preset,
        keychain: bool,
    ) -> Element<'a, Message> {
        let providers = preset.oauth.providers();
        let mut top = Column::new().spacing(6);
        if !providers.is_empty() {
            top = top.push(text("How does this device sign in?").size(style::BODY));
            // The words are a button too: a bigger target, and found by their text.
            let choice = |label: String, value: Option<Provider>| {
                row![
                    radio("", value, Some(self.sign_in), Message::SignInChosen).size(16),
                    button(text(label).size(style::BODY))
                        .on_press(Message::SignInChosen(value))
                        .style(button::text)
                        .padding(0),
                ]
                .spacing(2)
                .align_y(iced::Alignment::Center)
            };
            top = top.push(choice("App password".into(), None));
            for p in providers {
                top = top.push(choice(
                    format!("{} sign-in (OAuth 2.0)", p.label()),
                    Some(p),
                ));
            }
        }
        if let Some(p) = self.sign_in {
            return top
                .push(text(oauth_words(p)).size(style::SMALL).style(style::hint))
                .into();
        }
        let mut fields = Column::new().spacing(6);
        fields = fields.push(text("App password").size(style::BODY)).push(
            row![
                text_input("Paste the app password here", self.password.expose())
                    .id(PASSWORD_ID)
                    .secure(!self.show_password)
                    .on_input(|p| Message::PasswordChanged(AppPassword::new(p)))
                    .on_paste(|p| Message::PasswordChanged(AppPassword::new(p)))
                    .on_submit(Message::Next)
                    .padding(8)
                    .width(Length::Fill),
                button(text(if self.show_password { "Hide" } else { "Show" }).size(style::SMALL))
                    .on_press(Message::ToggleShow)
                    .style(button::secondary),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
        );
        if self.spaces_removed {
            fields = fields.push(
                text("Spaces were removed: app passwords are typed without them.")
                    .size(style::SMALL)
                    .style(style::hint),
            );
        }
        if let Some(w) = self.password_warning(preset) {
            fields = fields.push(
                container(text(w).size(style::SMALL))
                    .padding(8)
                    .style(style::caution),
            );
        }
        fields = fields.push(if keychain {
            checkbox(self.remember)
                .label("Remember the app password on this computer (in its keychain)")
                .on_toggle(Message::RememberToggled)
        } else {
            checkbox(false).label("Remember the app password on this computer")
        });
        fields = fields.push(
            text(if !keychain {
                "This computer has no keychain ScanMail can use, so the password is kept only until ScanMail closes."
            } else if self.remember {
                "The password is kept in this computer's keychain, never in a file."
            } else {
                "The password stays in memory until ScanMail closes."
            })
                .size(style::SMALL)
                .style(style::hint),
        );

        top.push(fields).into()
    }
}
