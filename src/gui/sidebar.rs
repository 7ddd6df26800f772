//! The list on the left: the organization, the saved devices, the four steps with their
//! marks, and the help desk.

use super::app::{App, MAIN_SCROLL_ID, Message, Step};
use super::style;
use iced::widget::{Column, button, column, container, row, scrollable, text};
use iced::{Element, Length};

impl App {
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
