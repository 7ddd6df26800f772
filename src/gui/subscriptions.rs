//! What the window listens to besides clicks and typing: Tab and Enter that no field took, a
//! clock tick while a test runs (so the rows' time moves), and a look at the devices file every
//! two seconds (another program, such as `scanmail check --profile`, may have changed it).

use super::app::{App, Message};
use super::test_send;
use iced::Subscription;

impl App {
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = iced::keyboard::listen().filter_map(|event| match event {
            iced::keyboard::Event::KeyPressed {
                key: iced::keyboard::Key::Named(iced::keyboard::key::Named::Tab),
                modifiers,
                ..
            } => Some(if modifiers.shift() {
                Message::FocusPrevious
            } else {
                Message::FocusNext
            }),
            // Enter that no field took (for example right after a step was chosen in the list).
            iced::keyboard::Event::KeyPressed {
                key: iced::keyboard::Key::Named(iced::keyboard::key::Named::Enter),
                ..
            } => Some(Message::Enter),
            _ => None,
        });
        let mut all = vec![keys];
        if self.store.is_some() {
            all.push(
                iced::time::every(std::time::Duration::from_secs(2)).map(|_| Message::DiskTick),
            );
        }
        if self.test.running {
            // The rows' time moves while a port waits.
            all.push(
                iced::time::every(std::time::Duration::from_millis(250))
                    .map(|now| Message::Test(test_send::Message::Tick(now))),
            );
        }
        if self.copier.running {
            // The copier check's countdown.
            all.push(
                iced::time::every(std::time::Duration::from_secs(1))
                    .map(|_| Message::Copier(super::copier_check::Message::Tick)),
            );
        }
        Subscription::batch(all)
    }
}
