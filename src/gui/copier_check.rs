//! After the settings card: "Check the copier (optional)". ScanMail stands in for the mail
//! server for a few minutes (`listen`), with the card's security (SSL/TLS or STARTTLS): it shows
//! the settings to type into the copier, a countdown and Cancel, and for each connection one line
//! first ("Ready", or "Not ready" and the one thing to fix), what the copier did in plain words,
//! the details behind a button, and a way to copy it all for IT. Then it reminds the person to
//! put the real settings back.

use super::style;
use crate::listen::{self, Connection, Event};
use iced::widget::{Column, button, column, container, row, text};
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
    /// The port speaks TLS at once (the card says SSL/TLS).
    pub implicit: bool,
    pub seconds_left: u64,
    pub connections: Vec<Connection>,
    /// Connections whose details are open (by index).
    pub open: Vec<bool>,
    /// Why it could not start, or how it ended.
    pub said: Option<String>,
    /// The message for IT that goes with `said`, when IT has to act.
    pub for_it: Option<String>,
    pub(super) handle: Option<iced::task::Handle>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Start,
    Cancel,
    /// Listening: the address (if this computer has one on a network), the port, and whether
    /// it speaks TLS at once.
    Started(Option<String>, u16, bool),
    /// Why it could not start, and the message for IT when IT has to act.
    Failed(String, Option<String>),
    /// Copy the message for IT that goes with why the check stopped.
    CopySaid,
    Seen(Event),
    Tick,
    ToggleDetails(usize),
    /// Copy one connection, details included, for IT.
    CopyForIt(usize),
    /// "This computer can keep the copier sending": the Relay page.
    OpenRelay,
}

/// What the window must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    Start,
    Cancel,
    Copy(String),
    /// The Relay page, for the copier whose encryption is too old (when one was seen).
    OpenRelay(Option<OldCopier>),
}

/// A copier seen by the check whose encryption is too old: its address and newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldCopier {
    pub address: String,
    pub version: String,
}

impl State {
    /// The first copier seen whose encryption is too old.
    pub fn old_copier(&self) -> Option<OldCopier> {
        self.connections.iter().find_map(|c| {
            let old = c
                .ready
                .as_ref()
                .is_some_and(|r| r.line.contains("encryption is too old"));
            let address = c
                .peer
                .parse::<std::net::SocketAddr>()
                .map_or_else(|_| c.peer.clone(), |a| a.ip().to_string());
            old.then(|| OldCopier {
                address,
                version: c
                    .tls
                    .highest_version
                    .clone()
                    .unwrap_or_else(|| "TLS1.0".into())
                    .replace("TLS1", "TLS 1"),
            })
        })
    }

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
                    "Stopped. Now put the copier's real settings back, exactly as on the card above (server, port, security and login)."
                        .into(),
                );
                return Action::Cancel;
            }
            Message::Cancel => {}
            Message::Started(address, port, implicit) => {
                if address.is_none() {
                    self.said = Some("This computer has no network address the copier can reach. Connect it to the copier's network (not a guest network), then start again.".into());
                }
                self.address = address;
                self.port = Some(port);
                self.implicit = implicit;
            }
            Message::Failed(why, for_it) => {
                self.running = false;
                self.said = Some(why);
                self.for_it = for_it;
            }
            Message::CopySaid => {
                if let Some(t) = &self.for_it {
                    return Action::Copy(t.clone());
                }
            }
            Message::Seen(Event::Finished(c)) => {
                // The last 50 connections: a flood cannot grow the window without end.
                if self.connections.len() >= KEEP {
                    self.connections.remove(0);
                    self.open.remove(0);
                }
                self.connections.push(*c);
                self.open.push(false);
            }
            Message::Seen(Event::Connected(_)) => {}
            Message::Seen(Event::Ended(why)) => {
                self.running = false;
                self.said = Some(format!(
                    "{why} Now put the copier's real settings back, exactly as on the card above (server, port, security and login)."
                ));
            }
            Message::Tick => self.seconds_left = self.seconds_left.saturating_sub(1),
            Message::ToggleDetails(i) => {
                if let Some(o) = self.open.get_mut(i) {
                    *o = !*o;
                }
            }
            Message::OpenRelay => return Action::OpenRelay(self.old_copier()),
            Message::CopyForIt(i) => {
                if let Some(c) = self.connections.get(i) {
                    return Action::Copy(format!(
                        "ScanMail's copier check saw this connection:\n{}",
                        listen::describe(c)
                    ));
                }
            }
        }
        Action::None
    }

    pub fn view(&self, account: &str, provider: &str, relay: bool) -> Element<'_, Message> {
        let mut c = column![
            text("Check the copier (optional)").size(style::BODY),
            text(format!("ScanMail can stand in for the mail server for a few minutes. Set the copier to send to it, then send a scan. ScanMail shows what the copier sent, and whether {provider} will take it. Nothing sent here is delivered."))
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
                let security = if self.implicit { "SSL/TLS" } else { "STARTTLS" };
                c = c.push(
                    text(format!(
                        "Type these into the copier for now:\n  SMTP server: {address}\n  Port: {port}\n  Security: {security}\n  Login: {login}, as on the card\nThen send a scan to yourself."
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
        for (i, conn) in self.connections.iter().enumerate() {
            c = c.push(self.connection_view(i, conn));
        }
        // A copier whose encryption is too old can still send through a relay.
        let old = self.connections.iter().any(|c| {
            c.ready
                .as_ref()
                .is_some_and(|r| r.line.contains("encryption is too old"))
        });
        if old && relay {
            c = c.push(
                button(text("This computer can keep the copier sending"))
                    .on_press(Message::OpenRelay)
                    .style(button::secondary),
            );
        }
        if let Some(s) = &self.said {
            c = c.push(text(s.as_str()).size(style::BODY));
        }
        if self.for_it.is_some() {
            c = c.push(
                button(text("Copy the message for IT"))
                    .on_press(Message::CopySaid)
                    .style(button::secondary),
            );
        }
        container(c)
            .padding(14)
            .width(Length::Fill)
            .style(style::panel)
            .into()
    }

    fn connection_view<'a>(&'a self, i: usize, conn: &'a Connection) -> Element<'a, Message> {
        let ok = conn.ready.as_ref().is_some_and(|r| r.ok);
        let mut col = Column::new()
            .spacing(6)
            .push(text(listen::summary(conn).trim_end().to_string()).size(style::SMALL));
        let open = self.open.get(i).copied().unwrap_or(false);
        col = col.push(
            row![
                button(text(if open { "Details ▾" } else { "Details ▸" }).size(style::SMALL))
                    .on_press(Message::ToggleDetails(i))
                    .style(button::text),
                button(text("Copy for IT").size(style::SMALL))
                    .on_press(Message::CopyForIt(i))
                    .style(button::secondary),
            ]
            .spacing(8),
        );
        if open {
            col = col.push(
                text(listen::details(conn).trim_end().to_string())
                    .size(style::SMALL)
                    .font(iced::Font::MONOSPACE),
            );
        }
        container(col)
            .padding(8)
            .width(Length::Fill)
            .style(if ok { style::good } else { style::caution })
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
                    let _ = out.send(Message::Failed(e.to_string(), e.for_it())).await;
                    return;
                }
            };
            let _ = out
                .send(Message::Started(
                    running.address.map(|a| a.to_string()),
                    running.port,
                    running.implicit,
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
