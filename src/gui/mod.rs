//! The window: four steps (Account, Device, Test send, Settings card) on iced.
//!
//! `app.rs` holds the state, the top `Message`, `update` and `view`. Each step is its own file
//! with its own `Message` and `Action`; `app.rs` turns actions into [`Effect`]s and effects into
//! iced `Task`s, so tests can drive `update` without a browser, dialog or network.

pub mod account;
mod account_secret;
pub mod app;
pub mod copier_check;
pub mod device;
pub mod device_finder;
pub mod device_list;
pub mod relay;
pub mod settings_card;
pub mod style;
pub mod test_send;

pub(crate) mod desktop;
mod effects;
mod icon;
mod notice;
mod profile_sync;
mod sidebar;
mod subscriptions;
mod test_actions;

pub use app::{App, Message, Step};
pub use effects::Effect;

/// Opens the window and runs until it is closed. `org` is the `--org FILE` preset, if given.
pub fn run(org: Option<&std::path::Path>) -> iced::Result {
    let org = org.map(std::path::Path::to_path_buf);
    iced::application(
        move || App::boot_with(org.as_deref()),
        App::update,
        App::view,
    )
    .title(App::title)
    .subscription(App::subscription)
    .theme(App::theme)
    // Embedded fonts: the words render even where the system has no Arial or Courier New.
    .default_font(style::SANS)
    .font(style::MONO_BYTES)
    .window(iced::window::Settings {
        size: iced::Size::new(1000.0, 760.0),
        min_size: Some(iced::Size::new(760.0, 560.0)),
        icon: icon::window_icon(),
        ..iced::window::Settings::default()
    })
    .run()
}
