//! What the window listens to besides clicks and typing: Tab and Enter that no field took, and a
//! clock tick while a test runs (so the rows' time moves).

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
        if self.test.running {
            // The rows' time moves while a port waits.
            let ticks = iced::time::every(std::time::Duration::from_millis(250))
                .map(|now| Message::Test(test_send::Message::Tick(now)));
            Subscription::batch([keys, ticks])
        } else {
            keys
        }
    }
}
