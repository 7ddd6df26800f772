//! Step 2's "Find copiers on this network": a few seconds of mDNS browsing (`discover`), with
//! progress and Cancel; choosing a device fills the manufacturer, model and address, and its
//! settings page can be opened. Nothing found is explained, and typing stays possible.

use super::style;
use crate::discover::{self, Device};
use iced::widget::{Column, button, column, container, row, text};
use iced::{Element, Length};

/// How long the window listens for answers.
pub const SECONDS: u64 = 4;

#[derive(Debug, Default)]
pub struct State {
    pub finding: bool,
    pub found: Option<Result<Vec<Device>, String>>,
    pub(super) handle: Option<iced::task::Handle>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Find,
    Cancel,
    Found(Result<Vec<Device>, String>),
    /// Fill the step from this device.
    Use(usize),
    OpenPage(usize),
}

impl State {
    pub fn view(&self) -> Element<'_, Message> {
        let mut c: Column<'_, Message> = column![].spacing(8);
        if self.finding {
            c = c.push(
                row![
                    text(format!(
                        "Looking for copiers on this network ({SECONDS} seconds)..."
                    ))
                    .size(style::BODY),
                    button(text("Cancel"))
                        .on_press(Message::Cancel)
                        .style(button::secondary),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            );
        } else {
            c = c.push(
                button(text("Find copiers on this network"))
                    .on_press(Message::Find)
                    .style(button::secondary),
            );
        }
        match &self.found {
            Some(Ok(devices)) if devices.is_empty() => {
                c = c.push(
                    text(discover::NOTHING_FOUND)
                        .size(style::SMALL)
                        .style(style::hint),
                );
            }
            Some(Ok(devices)) => {
                for (i, d) in devices.iter().enumerate() {
                    let what = [d.manufacturer.as_deref(), d.model.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    let mut line = row![
                        column![
                            text(d.name.as_str()).size(style::BODY),
                            text(format!(
                                "{}{}",
                                if what.is_empty() {
                                    "Unknown make"
                                } else {
                                    what.as_str()
                                },
                                d.address
                                    .as_deref()
                                    .map(|a| format!(", at {a}"))
                                    .unwrap_or_default()
                            ))
                            .size(style::SMALL)
                            .style(style::hint),
                        ]
                        .width(Length::Fill),
                        button(text("Use this one")).on_press(Message::Use(i)),
                    ]
                    .spacing(8)
                    .align_y(iced::Alignment::Center);
                    if d.admin_url.is_some() {
                        line = line.push(
                            button(text("Open its settings page"))
                                .on_press(Message::OpenPage(i))
                                .style(button::secondary),
                        );
                    }
                    c = c.push(line);
                }
            }
            Some(Err(e)) => c = c.push(text(e.as_str()).size(style::SMALL).style(style::error)),
            None => {}
        }
        container(c)
            .padding(14)
            .width(Length::Fill)
            .style(style::panel)
            .into()
    }

    pub fn device(&self, i: usize) -> Option<&Device> {
        self.found.as_ref()?.as_ref().ok()?.get(i)
    }
}

/// The browse, as the window runs it.
pub async fn find() -> Result<Vec<Device>, String> {
    discover::discover(std::time::Duration::from_secs(SECONDS)).await
}
