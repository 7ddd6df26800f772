//! The window in iced's headless simulator, driven like a person: clicking labels, typing into
//! fields, reading what is on screen, and screenshots for the docs.

#![allow(dead_code)]

use iced_test::selector::{self, Candidate};
use iced_test::simulator::Simulator;
use scanmail::gui::{App, Effect, Message};

/// Builds the view, lets `act` click and type, then feeds the resulting messages to the app.
pub fn interact(app: &mut App, act: impl FnOnce(&mut Simulator<'_, Message>)) -> Vec<Effect> {
    let messages: Vec<Message> = {
        let mut ui = Simulator::with_size(iced::Settings::default(), (1100.0, 2600.0), app.view());
        act(&mut ui);
        ui.into_messages().collect()
    };
    messages
        .into_iter()
        .map(|m| app.handle(m))
        .filter(|e| *e != Effect::None)
        .collect()
}

/// With SCANMAIL_SCREENSHOTS=1: the window as a person sees it at 1000 x `height` (the top of
/// the page, nothing scrolled), saved to resources/screenshots/NAME.png for the README.
pub fn screenshot(app: &App, name: &str, height: f32) {
    if std::env::var("SCANMAIL_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let mut ui = Simulator::with_size(iced::Settings::default(), (1000.0, height), app.view());
    let snap = ui.snapshot(&iced::Theme::Light).unwrap();
    let path = format!("resources/screenshots/{name}");
    let written = format!("{path}-tiny-skia.png");
    let _ = std::fs::remove_file(&written);
    assert!(snap.matches_image(&path).unwrap());
    std::fs::rename(&written, format!("{path}.png")).unwrap();
}

/// True when some text on screen contains `needle`.
pub fn shows(app: &App, needle: &str) -> bool {
    let mut ui = Simulator::with_size(iced::Settings::default(), (1100.0, 2600.0), app.view());
    let needle = needle.to_string();
    ui.find(move |c: Candidate<'_>| match c {
        Candidate::Text { content, .. } if content.contains(needle.as_str()) => Some(()),
        _ => None,
    })
    .is_ok()
}

pub fn type_into(app: &mut App, id: &'static str, text: &str) -> Vec<Effect> {
    interact(app, |ui| {
        ui.click(selector::id(id)).expect("field on screen");
        ui.typewrite(text);
    })
}

pub fn click(app: &mut App, label: &str) -> Vec<Effect> {
    let label = label.to_string();
    interact(app, move |ui| {
        ui.click(label.as_str())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    })
}
