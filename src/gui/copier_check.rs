//! After the settings card: "Check the copier (optional)". ScanMail listens for a few minutes
//! (`listen`), shows the temporary settings to type into the copier, a countdown and Cancel,
//! each connection as it happens with what the provider would do, and then reminds the person
//! to put the real settings back.

use super::style;
use crate::listen::{self, Connection, Event};
use iced::widget::{button, column, container, text};
use iced::{Element, Length};

/// How long the window listens.
pub const SECONDS: u64 = 600;
/// Connections the window keeps (the newest).
pub const KEEP: usize = 50;

#[derive(Debug, Default)]
pub struct State {
    pub running: bool,
    /// Where to point the copier: this computer's address and the port.
    pub address: Option<String>,
    pub port: Option<u16>,
    pub seconds_left: u64,
    pub connections: Vec<Connection>,
    /// Why it could not start, or how it ended.
    pub said: Option<String>,
    pub(super) handle: Option<iced::task::Handle>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Start,
    Cancel,
    /// Listening: the address (if this computer has one on a network) and the port.
    Started(Option<String>, u16),
    Failed(String),
    Seen(Event),
    Tick,
}

/// What the window must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Start,
    Cancel,
}

impl State {
    pub fn update(&mut self, m: Message) -> Action {
        match m {
            Message::Start if !self.running => {
                *self = State {
                    running: true,
                    seconds_left: SECONDS,
                    ..State::default()
                };
                return Action::Start;
            }
            Message::Start => {}
            Message::Cancel if self.running => {
                self.running = false;
                self.said = Some(
                    "Stopped. Now put the copier's real settings back (the card above).".into(),
                );
                return Action::Cancel;
            }
            Message::Cancel => {}
            Message::Started(address, port) => {
                if address.is_none() {
                    self.said = Some("This computer has no network address the copier can reach. Connect it to the copier's network (not a guest network), then start again.".into());
                }
                self.address = address;
                self.port = Some(port);
            }
            Message::Failed(why) => {
                self.running = false;
                self.said = Some(why);
            }
            Message::Seen(Event::Finished(c)) => {
                // The last 50 connections: a flood cannot grow the window without end.
                if self.connections.len() >= KEEP {
                    self.connections.remove(0);
                }
                self.connections.push(*c);
            }
            Message::Seen(Event::Connected(_)) => {}
            Message::Seen(Event::Ended(why)) => {
                self.running = false;
                self.said = Some(format!(
                    "{why} Now put the copier's real settings back (the card above)."
                ));
            }
            Message::Tick => self.seconds_left = self.seconds_left.saturating_sub(1),
        }
        Action::None
    }

    pub fn view(&self, account: &str) -> Element<'_, Message> {
        let mut c = column![
            text("Check the copier (optional)").size(style::BODY),
            text("ScanMail can listen for a few minutes and show what the copier itself sends: its encryption, its sign-in, the size of a scan, and whether the provider will take it. Nothing sent here is delivered.")
                .size(style::SMALL),
        ]
        .spacing(8);
        if self.running {
            if let (Some(address), Some(port)) = (&self.address, self.port) {
                let login = if account.trim().is_empty() {
                    "the device account"
                } else {
                    account.trim()
                };
                c = c.push(
                    text(format!(
                        "Type these into the copier for now:\n  SMTP server: {address}\n  Port: {port}\n  Security: STARTTLS\n  Login: {login}, as on the card\nThen send a scan to yourself."
                    ))
                    .size(style::BODY)
                    .font(iced::Font::MONOSPACE),
                );
            } else if self.port.is_none() {
                c = c.push(text("Starting...").size(style::SMALL));
            }
            c = c.push(
                text(format!(
                    "Listening: {}:{:02} left. If Windows asks, allow ScanMail on private networks.",
                    self.seconds_left / 60,
                    self.seconds_left % 60
                ))
                .size(style::SMALL)
                .style(style::hint),
            );
            c = c.push(
                button(text("Cancel"))
                    .on_press(Message::Cancel)
                    .style(button::secondary),
            );
        } else {
            c = c.push(button(text("Start the copier check")).on_press(Message::Start));
        }
        for conn in &self.connections {
            c = c.push(
                container(text(listen::describe(conn).trim_end().to_string()).size(style::SMALL))
                    .padding(8)
                    .width(Length::Fill)
                    .style(style::panel),
            );
        }
        if let Some(s) = &self.said {
            c = c.push(text(s.as_str()).size(style::BODY));
        }
        container(c)
            .padding(14)
            .width(Length::Fill)
            .style(style::panel)
            .into()
    }
}

/// The check as a stream of messages; dropping it (Cancel, a new check) closes the port.
pub fn run(options: listen::Options) -> impl iced::futures::Stream<Item = Message> {
    use iced::futures::SinkExt;
    iced::stream::channel(
        16,
        async move |mut out: iced::futures::channel::mpsc::Sender<Message>| {
            let mut running = match listen::start(options).await {
                Ok(r) => r,
                Err(e) => {
                    let _ = out.send(Message::Failed(e.to_string())).await;
                    return;
                }
            };
            let _ = out
                .send(Message::Started(
                    running.address.map(|a| a.to_string()),
                    running.port,
                ))
                .await;
            while let Some(event) = running.events.recv().await {
                let end = matches!(event, Event::Ended(_));
                let _ = out.send(Message::Seen(event)).await;
                if end {
                    break;
                }
            }
        },
    )
}
