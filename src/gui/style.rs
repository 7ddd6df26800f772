//! A few style helpers on top of iced's built-in theme.

use iced::widget::{container, text};
use iced::{Border, Theme};

pub const GAP: u32 = 12;
pub const TITLE: u32 = 26;
pub const BODY: u32 = 16;
pub const SMALL: u32 = 14;

/// The window's words: Fira Sans, embedded by iced (see resources/fonts/README.md).
pub const SANS: iced::Font = iced::Font::with_name("Fira Sans");
/// The settings card's values: DejaVu Sans Mono, embedded from resources/fonts.
pub const MONO: iced::Font = iced::Font::with_name("DejaVu Sans Mono");
/// The bytes of [`MONO`], loaded when the window opens.
pub const MONO_BYTES: &[u8] = include_bytes!("../../resources/fonts/DejaVuSansMono.ttf");

/// A card-like box for a group of fields.
pub fn panel(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(p.background.weak.color.into()),
        border: Border {
            radius: 8.0.into(),
            width: 1.0,
            color: p.background.strong.color,
        },
        ..container::Style::default()
    }
}

/// The step list on the left.
pub fn sidebar(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(p.background.weak.color.into()),
        ..container::Style::default()
    }
}

/// A box that tells good news.
pub fn good(theme: &Theme) -> container::Style {
    tinted(theme, theme.extended_palette().success.weak.color)
}

/// A box that tells something went wrong.
pub fn bad(theme: &Theme) -> container::Style {
    tinted(theme, theme.extended_palette().danger.weak.color)
}

/// A box for a warning before testing.
pub fn caution(theme: &Theme) -> container::Style {
    tinted(theme, theme.extended_palette().warning.weak.color)
}

fn tinted(theme: &Theme, color: iced::Color) -> container::Style {
    container::Style {
        background: Some(color.scale_alpha(0.35).into()),
        border: Border {
            radius: 6.0.into(),
            width: 1.0,
            color,
        },
        text_color: Some(theme.extended_palette().background.base.text),
        ..container::Style::default()
    }
}

/// Small grey text for hints.
pub fn hint(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(
            theme
                .extended_palette()
                .background
                .strong
                .text
                .scale_alpha(0.8),
        ),
    }
}

/// Text for inline validation.
pub fn error(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.extended_palette().danger.base.color),
    }
}
