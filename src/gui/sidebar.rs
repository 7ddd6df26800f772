//! The window's look: the title, the theme, the page of the current step, and the list on the
//! left (the organization, the saved devices, the four steps with their marks, the help desk).

use super::app::{App, MAIN_SCROLL_ID, Message, Step};
use super::style;
use iced::widget::{Column, button, column, container, row, scrollable, text};
use iced::{Element, Length, Theme};

impl App {
    pub fn title(&self) -> String {
        format!(
            "ScanMail - {}",
            self.step
                .label()
                .trim_start_matches(char::is_numeric)
                .trim()
        )
    }

    /// `None` follows the system's light or dark setting.
    pub fn theme(&self) -> Option<Theme> {
        self.theme_override.clone()
    }

    /// Whether a step is complete, for the marks in the step list.
    pub fn is_done(&self, step: Step) -> bool {
        match step {
            Step::Account => self.account.is_done(&self.preset),
            Step::Device => self.device.is_done(),
            Step::TestSend => self.test.works(),
            Step::Card => self.test.works() && self.card.used,
            Step::Relay => false,
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let steps = self.sidebar();
        let password = self.account.password();
        let body: Element<'_, Message> = match self.step {
            Step::Account => self
                .account
                .view(&self.preset, self.keychain)
                .map(Message::Account),
            Step::Device => self.device.view().map(Message::Device),
            Step::TestSend => {
                let relay = self.relay.offered(self.preset.relay);
                let cx = super::test_actions::test_context(&self.account, &self.preset, "", relay);
                self.test.view(&cx).map(Message::Test)
            }
            Step::Card => iced::widget::column![
                self.card
                    .view(self.card_cache.as_ref(), &password)
                    .map(Message::Card),
                self.copier
                    .view(
                        &self.account.address,
                        &self.provider_name(),
                        self.relay.offered(self.preset.relay),
                    )
                    .map(Message::Copier),
            ]
            .spacing(super::style::GAP)
            .into(),
            Step::Relay => self.relay.view().map(Message::Relay),
        };
        self.with_sidebar(steps, body)
    }

    pub(super) fn sidebar(&self) -> Column<'_, Message> {
        let mut steps = Column::new().spacing(6).padding(12).width(230);
        steps = steps.push(text("ScanMail").size(22));
        steps = steps.push(
            text(&self.preset.organization)
                .size(style::SMALL)
                .style(style::hint),
        );
        steps = steps.push(iced::widget::space::vertical().height(6));
        let names: Vec<&str> = self
            .profiles
            .profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let remembers = self
            .profiles
            .profiles
            .get(self.current)
            .is_some_and(|p| p.remember_password);
        steps = steps.push(
            self.device_list
                .view(&names, self.current, remembers)
                .map(Message::DeviceList),
        );
        steps = steps.push(iced::widget::space::vertical().height(10));
        for step in Step::ALL {
            let mark = if self.is_done(step) { "  ✓" } else { "" };
            let b = button(text(format!("{}{mark}", step.label())).size(style::BODY))
                .on_press(Message::Goto(step))
                .width(Length::Fill)
                .padding([8, 10])
                .style(if step == self.step {
                    button::primary
                } else {
                    button::text
                });
            steps = steps.push(b);
        }
        if self.relay.offered(self.preset.relay) {
            steps = steps.push(iced::widget::space::vertical().height(10));
            steps = steps.push(
                button(text("Relay").size(style::BODY))
                    .on_press(Message::Goto(Step::Relay))
                    .width(Length::Fill)
                    .padding([8, 10])
                    .style(if self.step == Step::Relay {
                        button::primary
                    } else {
                        button::text
                    }),
            );
        }
        if !self.preset.help_desk.is_empty() {
            steps = steps.push(iced::widget::space::vertical().height(Length::Fill));
            let help = text(format!("Help: {}", self.preset.help_desk)).size(style::SMALL);
            steps = steps.push(if self.preset.help_link().is_some() {
                Element::from(
                    button(help)
                        .on_press(Message::OpenHelp)
                        .style(button::text)
                        .padding(0),
                )
            } else {
                help.style(style::hint).into()
            });
        }
        steps
    }

    pub(super) fn with_sidebar<'a>(
        &'a self,
        steps: Column<'a, Message>,
        body: Element<'a, Message>,
    ) -> Element<'a, Message> {
        let mut main = column![body].spacing(style::GAP).padding(24).max_width(860);
        if let Some(notice) = self.notice_view() {
            main = main.push(notice);
        }
        row![
            container(steps).height(Length::Fill).style(style::sidebar),
            scrollable(container(main).width(Length::Fill).center_x(Length::Fill))
                .id(MAIN_SCROLL_ID)
                .height(Length::Fill),
        ]
        .into()
    }
}
