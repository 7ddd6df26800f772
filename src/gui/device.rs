//! Step 2, Device: manufacturer (searchable, or free text), model, the manual search, and the
//! device's own settings page.

use super::style;
use crate::catalog::search::{self, Engine};
use crate::catalog::{self, Manufacturer};
use crate::profile::Profile;
use iced::widget::{Column, button, column, container, row, text, text_input};
use iced::{Element, Length};

pub const MAKER_ID: &str = "device-manufacturer";
pub const MODEL_ID: &str = "device-model";
pub const ADDRESS_ID: &str = "device-address";

#[derive(Debug, Default)]
pub struct State {
    pub manufacturer: String,
    pub model: String,
    pub address: String,
    /// A problem with the device address, shown under the field.
    pub address_error: Option<String>,
    /// "Find copiers on this network".
    pub finder: super::device_finder::State,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    ManufacturerChanged(String),
    ManufacturerPicked(String),
    ModelChanged(String),
    AddressChanged(String),
    FindManual,
    SearchSupportSite,
    OpenDevicePage,
    Next,
    Finder(super::device_finder::Message),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    None,
    OpenUrl(String),
    Next,
    /// Browse the network for copiers, or stop.
    Find,
    CancelFind,
}

impl State {
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            manufacturer: p.manufacturer.clone(),
            model: p.model.clone(),
            address: p.device_address.clone(),
            address_error: None,
            finder: super::device_finder::State::default(),
        }
    }

    /// Takes the saved fields another program changed.
    pub fn take_saved(&mut self, p: &Profile) {
        let finder = std::mem::take(&mut self.finder);
        *self = Self {
            finder,
            ..Self::from_profile(p)
        };
    }

    /// Keeps what this step holds in the saved device.
    pub fn write_to(&self, p: &mut Profile) {
        p.manufacturer.clone_from(&self.manufacturer);
        p.model.clone_from(&self.model);
        p.device_address.clone_from(&self.address);
    }

    /// The catalog's entry for what was typed, if any.
    pub fn known(&self) -> Option<&'static Manufacturer> {
        catalog::catalog().find_manufacturer(&self.manufacturer, &self.model)
    }

    /// Catalog names matching what is typed, for the list under the field.
    pub fn suggestions(&self) -> Vec<&'static str> {
        let typed = self.manufacturer.trim().to_lowercase();
        let all = &catalog::catalog().manufacturers;
        if all.iter().any(|m| m.name.to_lowercase() == typed) {
            return Vec::new();
        }
        all.iter()
            .filter(|m| {
                typed.is_empty()
                    || m.name.to_lowercase().contains(&typed)
                    || m.aliases
                        .iter()
                        .any(|a| a.to_lowercase().starts_with(&typed))
            })
            .map(|m| m.name.as_str())
            .take(if typed.is_empty() { 13 } else { 6 })
            .collect()
    }

    /// The make and model as typed, in the catalog's words (see [`crate::profile::model_label`]).
    pub fn model_label(&self) -> String {
        crate::profile::model_label(&self.manufacturer, &self.model)
    }

    pub fn is_done(&self) -> bool {
        !self.manufacturer.trim().is_empty() && !self.model.trim().is_empty()
    }

    pub fn update(&mut self, message: Message, engine: &Engine) -> Action {
        match message {
            Message::ManufacturerChanged(s) | Message::ManufacturerPicked(s) => {
                self.manufacturer = s;
            }
            Message::ModelChanged(s) => self.model = s,
            Message::AddressChanged(s) => {
                self.address = s;
                self.address_error = None;
            }
            Message::FindManual | Message::SearchSupportSite => {
                let links =
                    search::manual_links(engine, &self.manufacturer, &self.model, self.known());
                let index = usize::from(message == Message::SearchSupportSite);
                if let Some(link) = links.into_iter().nth(index) {
                    return Action::OpenUrl(link.url);
                }
            }
            Message::OpenDevicePage => match search::device_page_url(&self.address) {
                Ok(url) => return Action::OpenUrl(url),
                Err(e) => self.address_error = Some(e),
            },
            Message::Next => return Action::Next,
            Message::Finder(m) => return self.finder_update(m),
        }
        Action::None
    }

    fn finder_update(&mut self, m: super::device_finder::Message) -> Action {
        use super::device_finder::Message as F;
        match m {
            F::Find if !self.finder.finding => {
                self.finder.finding = true;
                self.finder.found = None;
                return Action::Find;
            }
            F::Find => {}
            F::Cancel => {
                self.finder.finding = false;
                return Action::CancelFind;
            }
            F::Found(r) => {
                self.finder.finding = false;
                self.finder.found = Some(r);
            }
            F::Use(i) => {
                if let Some(d) = self.finder.device(i).cloned() {
                    self.manufacturer = d.catalog_match.or(d.manufacturer).unwrap_or_default();
                    self.model = d.model.unwrap_or_default();
                    self.address = d.address.unwrap_or_default();
                    self.address_error = None;
                }
            }
            F::OpenPage(i) => {
                if let Some(url) = self.finder.device(i).and_then(|d| d.admin_url.clone()) {
                    return Action::OpenUrl(url);
                }
            }
        }
        Action::None
    }

    pub fn view(&self) -> Element<'_, Message> {
        let known = self.known();
        let mut maker = column![
            text("Manufacturer").size(style::BODY),
            text_input("For example Konica Minolta, Xerox, HP", &self.manufacturer)
                .id(MAKER_ID)
                .on_input(Message::ManufacturerChanged)
                .on_submit(Message::Next)
                .padding(8),
        ]
        .spacing(6);
        let suggestions = self.suggestions();
        if !suggestions.is_empty() {
            let mut list = iced::widget::Row::new().spacing(6);
            for name in suggestions {
                list = list.push(
                    button(text(name).size(style::SMALL))
                        .on_press(Message::ManufacturerPicked(name.to_string()))
                        .style(button::secondary),
                );
            }
            maker = maker.push(list.wrap());
        }
        let fields = column![
            maker,
            text("Model").size(style::BODY),
            text_input(
                "For example bizhub C300i (on the front or the back of the device)",
                &self.model
            )
            .id(MODEL_ID)
            .on_input(Message::ModelChanged)
            .on_submit(Message::Next)
            .padding(8),
        ]
        .spacing(6);

        let can_search = !self.manufacturer.trim().is_empty() || !self.model.trim().is_empty();
        let mut manual = row![
            button(text("Find the email (SMTP) section of the manual"))
                .on_press_maybe(can_search.then_some(Message::FindManual))
                .style(button::primary),
        ]
        .spacing(8);
        if let Some(m) = known.filter(|m| m.support_site.is_some()) {
            manual = manual.push(
                button(text(format!("Search {}'s support site", m.name)))
                    .on_press_maybe(can_search.then_some(Message::SearchSupportSite))
                    .style(button::secondary),
            );
        }

        let mut page = column![
            text("Device address (optional)").size(style::BODY),
            row![
                text_input("For example 192.168.1.20", &self.address)
                    .id(ADDRESS_ID)
                    .on_input(Message::AddressChanged)
                    .on_submit(Message::OpenDevicePage)
                    .padding(8)
                    .width(Length::Fill),
                button(text("Open the device's settings page"))
                    .on_press(Message::OpenDevicePage)
                    .style(button::secondary),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
            text("The address is on the device's network settings page or its control panel.")
                .size(style::SMALL)
                .style(style::hint),
        ]
        .spacing(6);
        if let Some(e) = &self.address_error {
            page = page.push(text(e).size(style::SMALL).style(style::error));
        }

        let mut content = column![
            text("2. The device").size(style::TITLE),
            text("Which copier or scanner will send the scans? Its manual says where its email settings are.")
                .size(style::BODY),
            self.finder.view().map(Message::Finder),
            container(fields).padding(14).width(Length::Fill).style(style::panel),
            manual,
        ]
        .spacing(style::GAP);
        if let Some(m) = known {
            content = content.push(
                container(known_facts(m))
                    .padding(14)
                    .width(Length::Fill)
                    .style(style::panel),
            );
        } else if !self.manufacturer.trim().is_empty() {
            content = content.push(
                text(
                    "ScanMail does not know this manufacturer yet. The manual search still works.",
                )
                .size(style::SMALL)
                .style(style::hint),
            );
        }
        content
            .push(
                container(page)
                    .padding(14)
                    .width(Length::Fill)
                    .style(style::panel),
            )
            .push(row![
                iced::widget::space::horizontal(),
                button(text("Next: test send"))
                    .on_press(Message::Next)
                    .style(button::primary)
                    .padding([8, 16]),
            ])
            .into()
    }
}

fn known_facts(m: &Manufacturer) -> Column<'_, Message> {
    let mut c = column![text(format!("On {} devices", m.name)).size(style::BODY)].spacing(4);
    if let Some(f) = &m.smtp_menu {
        c = c.push(
            text(format!(
                "The email (SMTP) settings are usually under: {}",
                f.value
            ))
            .size(style::SMALL),
        );
    }
    if let Some(f) = &m.web_ui {
        c = c
            .push(text(format!("The settings web page is called {}.", f.value)).size(style::SMALL));
    }
    for (label, word) in [
        ("SSL/TLS (port 465)", &m.ssl_label),
        ("STARTTLS (port 587)", &m.starttls_label),
    ] {
        if let Some(f) = word {
            c = c.push(text(format!("{label} is called \"{}\".", f.value)).size(style::SMALL));
        }
    }
    if let Some(line) = m.oauth_line() {
        c = c.push(text(line).size(style::SMALL));
    }
    for f in &m.limits {
        c = c.push(
            text(format!("Good to know: {}", f.value))
                .size(style::SMALL)
                .style(style::hint),
        );
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manual_search_carries_the_encoded_device() {
        let mut s = State::default();
        s.update(
            Message::ManufacturerPicked("Konica Minolta".into()),
            &Engine::Web,
        );
        s.update(
            Message::ModelChanged("bizhub C258 / C308".into()),
            &Engine::Web,
        );
        let Action::OpenUrl(url) = s.update(Message::FindManual, &Engine::Web) else {
            panic!("no URL")
        };
        assert_eq!(
            url,
            "https://www.google.com/search?q=Konica+Minolta+bizhub+C258+%2F+C308+manual+scan+to+email+SMTP"
        );
        assert_eq!(s.model_label(), "Konica Minolta bizhub C258 / C308");
    }

    #[test]
    fn support_site_search_and_device_page() {
        let mut s = State::default();
        s.update(
            Message::ManufacturerChanged("brother".into()),
            &Engine::Bing,
        );
        s.update(Message::ModelChanged("MFC-L8900CDW".into()), &Engine::Bing);
        let Action::OpenUrl(url) = s.update(Message::SearchSupportSite, &Engine::Bing) else {
            panic!("no URL")
        };
        assert!(
            url.starts_with("https://www.bing.com/search?q=site%3Asupport.brother.com"),
            "{url}"
        );
        s.update(Message::AddressChanged("copier 2".into()), &Engine::Web);
        assert_eq!(
            s.update(Message::OpenDevicePage, &Engine::Web),
            Action::None
        );
        assert!(
            s.address_error
                .as_ref()
                .unwrap()
                .contains("not a device address")
        );
        assert_eq!(s.address, "copier 2", "nothing typed is lost");
        s.update(Message::AddressChanged("10.1.2.3".into()), &Engine::Web);
        assert_eq!(s.address_error, None);
        assert_eq!(
            s.update(Message::OpenDevicePage, &Engine::Web),
            Action::OpenUrl("http://10.1.2.3/".into())
        );
    }

    #[test]
    fn suggestions_narrow_as_you_type() {
        let mut s = State::default();
        assert!(s.suggestions().len() >= 12);
        s.manufacturer = "kon".into();
        assert_eq!(s.suggestions(), vec!["Konica Minolta"]);
        s.manufacturer = "Konica Minolta".into();
        assert!(s.suggestions().is_empty());
        s.manufacturer = "Acme".into();
        assert!(s.suggestions().is_empty());
        assert!(s.known().is_none());
    }
}
