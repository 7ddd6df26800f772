//! Step 1, Account: why a device account, the organization's steps, the address and the app
//! password.

use super::style;
use crate::catalog::{self, warnings};
use crate::org::Preset;
use crate::profile::Profile;
use crate::secrets::AppPassword;
use iced::widget::{Column, button, checkbox, column, container, row, text, text_input};
use iced::{Element, Length};

pub const ADDRESS_ID: &str = "account-address";

/// What to have at hand, said before anything else.
pub const BEFORE_YOU_START: &str = "Before you start, have these at hand:\n- a device account (IT can make one)\n- your phone, if the account uses 2-Step Verification\n- the copier's model and its admin password\nIt takes about 15 minutes.";

/// Signing in as the device account without signing out of your own.
pub const PRIVATE_WINDOW: &str = "Tip: sign in as the device account in a private window. Your own account stays signed in in your other windows. Open one with Ctrl+Shift+N (Chrome, Edge), Ctrl+Shift+P (Firefox) or Cmd+Shift+N (Safari).";
pub const PASSWORD_ID: &str = "account-password";

#[derive(Debug, Default)]
pub struct State {
    pub address: String,
    /// The app password as it stands in the field (spaces already removed). In memory only.
    pub(super) password: AppPassword,
    pub show_password: bool,
    /// Set when spaces were removed from a paste, so the window can say so.
    pub spaces_removed: bool,
    pub building: String,
    pub floor: String,
    pub device_kind: String,
    /// Which of the organization's steps are ticked.
    pub ticked: Vec<bool>,
    /// "Remember the app password on this computer" (in the OS keychain).
    pub remember: bool,
    /// Signs in with Microsoft 365 or Google (OAuth 2.0) instead of an app password.
    pub sign_in: Option<crate::oauth::Provider>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    AddressChanged(String),
    /// The password field changed (wrapped at once, so no `Debug` can print it).
    PasswordChanged(AppPassword),
    ToggleShow,
    BuildingChanged(String),
    FloorChanged(String),
    DeviceKindChanged(String),
    UseSuggestion,
    Tick(usize, bool),
    OpenLink(usize),
    RememberToggled(bool),
    /// "How does this device sign in?": `None` is the app password.
    SignInChosen(Option<crate::oauth::Provider>),
    Next,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    OpenUrl(String),
    /// The "remember" box changed: keep or forget the password in the keychain.
    Remember(bool),
    Next,
}

impl State {
    /// The step as a saved device left it. The password is not in the device: it comes from
    /// the keychain or is typed again.
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            address: p.account.clone(),
            building: p.building.clone(),
            floor: p.floor.clone(),
            remember: p.remember_password,
            sign_in: p.sign_in,
            ..Self::default()
        }
    }

    /// Takes the saved fields another program changed, keeping the password and ticks.
    pub fn take_saved(&mut self, p: &Profile) {
        let mine = Self::from_profile(p);
        for (field, saved) in [
            (&mut self.address, mine.address),
            (&mut self.building, mine.building),
            (&mut self.floor, mine.floor),
        ] {
            if field.trim() != saved {
                *field = saved;
            }
        }
        self.remember = mine.remember;
        self.sign_in = mine.sign_in;
    }

    /// Keeps what this step holds in the saved device.
    pub fn write_to(&self, p: &mut Profile) {
        p.account = self.address.trim().to_string();
        p.building = self.building.trim().to_string();
        p.floor = self.floor.trim().to_string();
        p.remember_password = self.remember;
        p.sign_in = self.sign_in;
    }

    pub fn password(&self) -> AppPassword {
        self.password.clone()
    }

    pub fn set_password(&mut self, password: &AppPassword) {
        self.password = password.clone();
    }

    /// The address problem to show, if any (only once something is typed).
    pub fn address_error(&self, preset: &Preset) -> Option<String> {
        let a = self.address.trim();
        if a.is_empty() {
            return None;
        }
        if crate::smtp::validate_address(a).is_err() {
            return Some(
                "This is not a complete email address yet. It should look like name@example.edu."
                    .into(),
            );
        }
        let domain = &preset.account_domain;
        if !domain.is_empty()
            && !a
                .to_ascii_lowercase()
                .ends_with(&format!("@{}", domain.to_ascii_lowercase()))
        {
            return Some(format!(
                "{} device accounts end in @{domain}. Check the address.",
                preset.organization
            ));
        }
        None
    }

    pub fn is_done(&self, preset: &Preset) -> bool {
        !self.address.trim().is_empty()
            && self.address_error(preset).is_none()
            && (self.sign_in.is_some() || !self.password.is_empty())
    }

    /// The suggested address: the preset's naming hint, at the preset's domain or else at the
    /// domain of the address typed so far. Empty while it could not be a whole address, so
    /// "Use this name" never puts an invalid address in the field.
    pub fn suggestion(&self, preset: &Preset) -> String {
        let name = preset.suggest_account_name(&self.building, &self.floor, &self.device_kind);
        let name = if name.contains('@') {
            name
        } else {
            match self.address.trim().rsplit_once('@') {
                Some((_, domain)) if !name.is_empty() && !domain.is_empty() => {
                    format!("{name}@{domain}")
                }
                _ => return String::new(),
            }
        };
        if crate::smtp::validate_address(&name).is_ok() {
            name
        } else {
            String::new()
        }
    }

    /// The name part alone, to show while no domain is known.
    fn suggested_name(&self, preset: &Preset) -> String {
        preset.suggest_account_name(&self.building, &self.floor, &self.device_kind)
    }

    pub fn update(&mut self, message: Message, preset: &Preset) -> Action {
        match message {
            Message::AddressChanged(a) => self.address = a,
            Message::PasswordChanged(p) => {
                let cleaned = AppPassword::from_pasted(p.expose());
                self.spaces_removed = cleaned.len() != p.len();
                self.password = cleaned;
            }
            Message::ToggleShow => self.show_password = !self.show_password,
            Message::BuildingChanged(s) => self.building = s,
            Message::FloorChanged(s) => self.floor = s,
            Message::DeviceKindChanged(s) => self.device_kind = s,
            Message::UseSuggestion => {
                let name = self.suggestion(preset);
                if !name.is_empty() {
                    self.address = name;
                }
            }
            Message::Tick(i, on) => {
                if self.ticked.len() < preset.steps.len() {
                    self.ticked.resize(preset.steps.len(), false);
                }
                if let Some(t) = self.ticked.get_mut(i) {
                    *t = on;
                }
            }
            Message::OpenLink(i) => {
                if let Some(link) = preset.steps.get(i).and_then(|s| s.link.clone()) {
                    return Action::OpenUrl(link);
                }
            }
            Message::RememberToggled(on) => {
                self.remember = on;
                return Action::Remember(on);
            }
            Message::SignInChosen(choice) => {
                // Only a sign-in IT registered an app for.
                self.sign_in = choice.filter(|p| preset.oauth.providers().contains(p));
            }
            Message::Next => return Action::Next,
        }
        Action::None
    }

    /// A gentle warning about the password's shape (for example a Google app password is 16
    /// letters).
    pub fn password_warning(&self, preset: &Preset) -> Option<String> {
        if self.password.is_empty() {
            return None;
        }
        warnings::warnings(
            catalog::catalog(),
            &warnings::Input {
                server: &preset.server,
                account: &self.address,
                password_as_typed: Some(self.password.expose()),
                ..warnings::Input::default()
            },
        )
        .into_iter()
        .find(|w| w.id == "not-an-app-password")
        .map(|w| w.advice)
    }

    pub fn view<'a>(&'a self, preset: &'a Preset, keychain: bool) -> Element<'a, Message> {
        let mut steps = Column::new().spacing(8);
        for (i, step) in preset.steps.iter().enumerate() {
            let ticked = self.ticked.get(i).copied().unwrap_or(false);
            let mut line = row![
                checkbox(ticked)
                    .label(format!("{}. {}", i + 1, step.title))
                    .on_toggle(move |on| Message::Tick(i, on))
                    .width(Length::Fill),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center);
            if step.link.is_some() {
                line = line.push(
                    button(text("Open").size(style::SMALL))
                        .on_press(Message::OpenLink(i))
                        .style(button::secondary),
                );
            }
            steps = steps.push(
                column![line, text(&step.text).size(style::SMALL).style(style::hint)].spacing(2),
            );
        }

        let suggestion = self.suggestion(preset);
        let naming = column![
            text("Suggested account name").size(style::BODY),
            row![
                text_input("Building", &self.building)
                    .on_input(Message::BuildingChanged)
                    .width(Length::FillPortion(2)),
                text_input("Floor", &self.floor)
                    .on_input(Message::FloorChanged)
                    .width(Length::FillPortion(2)),
                text_input("Device (scanner, copier)", &self.device_kind)
                    .on_input(Message::DeviceKindChanged)
                    .width(Length::FillPortion(3)),
            ]
            .spacing(8),
            row![
                text(match (suggestion.is_empty(), self.suggested_name(preset)) {
                    (false, _) => suggestion.clone(),
                    (true, name) if name.is_empty() => {
                        "Fill in where the device is to get a name.".to_string()
                    }
                    (true, name) => format!(
                        "{name}@... (type your organization's address ending above, for example name@example.edu, to use it)"
                    ),
                })
                .size(style::BODY)
                .width(Length::Fill),
                button(text("Use this name").size(style::SMALL))
                    .on_press_maybe((!suggestion.is_empty()).then_some(Message::UseSuggestion))
                    .style(button::secondary),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
        ]
        .spacing(6);

        let mut fields = column![
            text("Device account address").size(style::BODY),
            text_input("name@example.edu", &self.address)
                .id(ADDRESS_ID)
                .on_input(Message::AddressChanged)
                .on_submit(Message::Next)
                .padding(8),
        ]
        .spacing(6);
        if let Some(e) = self.address_error(preset) {
            fields = fields.push(text(e).size(style::SMALL).style(style::error));
        }
        fields = fields.push(self.secret_view(preset, keychain));

        let next = row![
            iced::widget::space::horizontal(),
            button(text("Next: the device"))
                .on_press(Message::Next)
                .style(button::primary)
                .padding([8, 16]),
        ];
        let mut page = column![
            text("1. The device account").size(style::TITLE),
            text(BEFORE_YOU_START).size(style::SMALL).style(style::hint),
            container(fields)
                .padding(14)
                .width(Length::Fill)
                .style(style::panel),
            next,
            text("How to get the address and the app password").size(style::BODY),
            text(preset.why.trim().replace('\n', " ")).size(style::BODY),
        ]
        .spacing(style::GAP);
        // An organization without steps gets no empty box.
        if !preset.steps.is_empty() {
            page = page.push(
                container(
                    column![
                        text(format!("{}: steps", preset.organization)).size(style::BODY),
                        steps,
                        text(PRIVATE_WINDOW).size(style::SMALL).style(style::hint),
                    ]
                    .spacing(10),
                )
                .padding(14)
                .width(Length::Fill)
                .style(style::panel),
            );
        }
        page.push(
            container(naming)
                .padding(14)
                .width(Length::Fill)
                .style(style::panel),
        )
        .spacing(style::GAP)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_spaces_are_removed_and_said() {
        let preset = Preset::built_in();
        let mut s = State::default();
        s.update(
            Message::PasswordChanged(AppPassword::new("abcd efgh ijkl mnop")),
            &preset,
        );
        assert_eq!(s.password().expose(), "abcdefghijklmnop");
        assert!(s.spaces_removed);
        assert_eq!(s.password_warning(&preset), None);
        s.update(
            Message::PasswordChanged(AppPassword::new("Winter2026!")),
            &preset,
        );
        assert!(!s.spaces_removed);
        assert!(s.password_warning(&preset).unwrap().contains("16 letters"));
    }

    #[test]
    fn the_address_is_checked_but_kept() {
        let preset = Preset::built_in();
        let mut s = State::default();
        assert_eq!(s.address_error(&preset), None);
        s.update(Message::AddressChanged("lab-scanner@".into()), &preset);
        assert!(
            s.address_error(&preset)
                .unwrap()
                .contains("not a complete email address")
        );
        assert_eq!(s.address, "lab-scanner@", "nothing typed is lost");
        assert!(!s.is_done(&preset));
        s.update(
            Message::AddressChanged("lab-scanner@example.edu".into()),
            &preset,
        );
        s.update(
            Message::PasswordChanged(AppPassword::new("abcdefghijklmnop")),
            &preset,
        );
        assert!(s.is_done(&preset));
    }

    #[test]
    fn suggestions_and_links() {
        let preset = Preset::built_in();
        let mut s = State::default();
        s.update(Message::BuildingChanged("Warren".into()), &preset);
        s.update(Message::FloorChanged("Second floor".into()), &preset);
        s.update(Message::DeviceKindChanged("Scanner".into()), &preset);
        s.update(Message::UseSuggestion, &preset);
        assert_eq!(s.address, "", "no domain yet: nothing invalid is filled in");
        s.update(Message::AddressChanged("x@example.edu".into()), &preset);
        s.update(Message::UseSuggestion, &preset);
        assert_eq!(s.address, "warren-second-floor-scanner@example.edu");
        let last = preset.steps.len() - 1;
        assert_eq!(
            s.update(Message::OpenLink(last), &preset),
            Action::OpenUrl("https://myaccount.google.com/apppasswords".into())
        );
        assert_eq!(s.update(Message::Tick(1, true), &preset), Action::None);
        assert_eq!(s.ticked, vec![false, true, false, false, false]);
        assert_eq!(s.update(Message::OpenLink(99), &preset), Action::None);
    }
}
