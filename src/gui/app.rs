//! The window's state, its top-level `Message`, `update` and `view`.

use super::{account, desktop, device, settings_card, style, test_send};
use crate::card::Card;
use crate::org::Preset;
use crate::smtp::{self, Request};
use iced::widget::{Column, button, column, container, row, scrollable, text};
use iced::{Element, Length, Subscription, Task, Theme};
use std::path::PathBuf;

/// The four steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Account,
    Device,
    TestSend,
    Card,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Account, Step::Device, Step::TestSend, Step::Card];

    pub fn label(self) -> &'static str {
        match self {
            Step::Account => "1  Account",
            Step::Device => "2  Device",
            Step::TestSend => "3  Test send",
            Step::Card => "4  Settings card",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Goto(Step),
    Account(account::Message),
    Device(device::Message),
    Test(test_send::Message),
    Card(settings_card::Message),
    FocusNext,
    FocusPrevious,
    /// A browser, dialog or file operation finished; `Err` carries what to tell the user.
    Done(Result<(), String>),
    /// Copies the address from a notice (a browser that would not open).
    CopyNoticeAddress,
    DismissNotice,
    Saved(Result<Option<PathBuf>, String>),
}

/// A side effect the window wants. `update` turns each into an iced `Task`; tests call
/// [`App::handle`] and look at the effect instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    OpenUrl(String),
    StartTest(Box<Request>),
    CancelTest,
    PickCaFile,
    Copy(String),
    SaveCard { text: String, html: String },
    PrintCard(String),
    FocusNext,
    FocusPrevious,
}

pub struct App {
    pub step: Step,
    pub preset: Preset,
    pub account: account::State,
    pub device: device::State,
    pub test: test_send::State,
    pub card: settings_card::State,
    /// A message for the bottom of the window (a browser that would not open, a saved file).
    pub notice: Option<String>,
    running: Option<iced::task::Handle>,
    theme_override: Option<Theme>,
    /// The settings card for the current report and device, rebuilt after every message.
    card_cache: Option<Card>,
}

impl App {
    pub fn new(preset: Preset) -> Self {
        let test = test_send::State::new(&preset);
        let theme_override = match std::env::var("SCANMAIL_THEME").as_deref() {
            Ok("dark") => Some(Theme::Dark),
            Ok("light") => Some(Theme::Light),
            _ => None,
        };
        Self {
            step: Step::Account,
            preset,
            account: account::State::default(),
            device: device::State::default(),
            test,
            card: settings_card::State::default(),
            notice: None,
            running: None,
            theme_override,
            card_cache: None,
        }
    }

    pub fn boot() -> (Self, Task<Message>) {
        (
            Self::new(Preset::built_in()),
            iced::widget::operation::focus(account::ADDRESS_ID),
        )
    }

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

    pub fn subscription(&self) -> Subscription<Message> {
        iced::keyboard::listen().filter_map(|event| match event {
            iced::keyboard::Event::KeyPressed {
                key: iced::keyboard::Key::Named(iced::keyboard::key::Named::Tab),
                modifiers,
                ..
            } => Some(if modifiers.shift() {
                Message::FocusPrevious
            } else {
                Message::FocusNext
            }),
            _ => None,
        })
    }

    /// Whether a step is complete, for the marks in the step list.
    pub fn is_done(&self, step: Step) -> bool {
        match step {
            Step::Account => self.account.is_done(&self.preset),
            Step::Device => self.device.is_done(),
            Step::TestSend => self.test.works(),
            Step::Card => self.test.works() && self.card.used,
        }
    }

    /// The settings card, once a port works.
    pub fn settings_card(&self) -> Option<&Card> {
        self.card_cache.as_ref()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let effect = self.handle(message);
        self.perform(effect)
    }

    /// Applies a message to the state and says which side effect it asks for.
    pub fn handle(&mut self, message: Message) -> Effect {
        let effect = self.apply(message);
        self.card_cache =
            self.test.report.as_ref().and_then(|r| {
                Card::from_report(r, self.device.known(), &self.device.device_name())
            });
        effect
    }

    fn apply(&mut self, message: Message) -> Effect {
        match message {
            Message::Goto(step) => {
                self.step = step;
                Effect::None
            }
            Message::Account(m) => match self.account.update(m, &self.preset) {
                account::Action::None => Effect::None,
                account::Action::OpenUrl(url) => Effect::OpenUrl(url),
                account::Action::Next => self.goto(Step::Device),
            },
            Message::Device(m) => match self.device.update(m, &self.preset.engine()) {
                device::Action::None => Effect::None,
                device::Action::OpenUrl(url) => Effect::OpenUrl(url),
                device::Action::Next => self.goto(Step::TestSend),
            },
            Message::Test(m) => {
                let device = self.device.device_name();
                let cx = test_send::Context {
                    account: &self.account.address,
                    password: self.account.password(),
                    device: &device,
                };
                match self.test.update(m, &cx) {
                    test_send::Action::None => Effect::None,
                    test_send::Action::Start(request) => Effect::StartTest(request),
                    test_send::Action::Cancel => Effect::CancelTest,
                    test_send::Action::PickCaFile => Effect::PickCaFile,
                    test_send::Action::ShowCard => self.goto(Step::Card),
                }
            }
            Message::Card(m) => match self.card.update(m, self.card_cache.as_ref()) {
                settings_card::Action::None => Effect::None,
                settings_card::Action::Copy(text) => Effect::Copy(text),
                settings_card::Action::Save { text, html } => Effect::SaveCard { text, html },
                settings_card::Action::Print(html) => Effect::PrintCard(html),
                settings_card::Action::GoToTest => self.goto(Step::TestSend),
            },
            Message::FocusNext => Effect::FocusNext,
            Message::FocusPrevious => Effect::FocusPrevious,
            Message::Done(Ok(())) => Effect::None,
            Message::CopyNoticeAddress => match self.notice_address() {
                Some(url) => Effect::Copy(url),
                None => Effect::None,
            },
            Message::DismissNotice => {
                self.notice = None;
                Effect::None
            }
            Message::Done(Err(e)) => {
                self.notice = Some(e);
                Effect::None
            }
            Message::Saved(Ok(Some(path))) => {
                self.card.used = true;
                self.card.notice = Some(format!(
                    "Saved to {}. The password is not in the file.",
                    path.display()
                ));
                Effect::None
            }
            Message::Saved(Ok(None)) => Effect::None,
            Message::Saved(Err(e)) => {
                self.card.notice = Some(e);
                Effect::None
            }
        }
    }

    /// The web address inside the current notice, if any.
    pub fn notice_address(&self) -> Option<String> {
        let n = self.notice.as_deref()?;
        let start = n.find("https://").or_else(|| n.find("http://"))?;
        Some(
            n[start..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    }

    fn goto(&mut self, step: Step) -> Effect {
        self.step = step;
        Effect::None
    }

    /// Turns an effect into an iced task. The only place side effects start.
    fn perform(&mut self, effect: Effect) -> Task<Message> {
        match effect {
            Effect::None => Task::none(),
            Effect::OpenUrl(url) => Task::perform(desktop::open(url), Message::Done),
            Effect::StartTest(request) => {
                let (task, handle) = Task::run(run_test(*request), Message::Test).abortable();
                if let Some(old) = self.running.replace(handle) {
                    old.abort();
                }
                task
            }
            Effect::CancelTest => {
                if let Some(handle) = self.running.take() {
                    handle.abort();
                }
                Task::none()
            }
            Effect::PickCaFile => Task::perform(desktop::pick_ca_file(), |r| {
                Message::Test(test_send::Message::CaFileLoaded(r))
            }),
            Effect::Copy(text) => iced::clipboard::write(text),
            Effect::SaveCard { text, html } => {
                Task::perform(desktop::save_card(text, html), Message::Saved)
            }
            Effect::PrintCard(html) => {
                self.card.used = true;
                Task::perform(desktop::print_card(html), Message::Done)
            }
            Effect::FocusNext => iced::widget::operation::focus_next(),
            Effect::FocusPrevious => iced::widget::operation::focus_previous(),
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut steps = Column::new().spacing(6).padding(12).width(210);
        steps = steps.push(text("ScanMail").size(22));
        steps = steps.push(
            text(&self.preset.organization)
                .size(style::SMALL)
                .style(style::hint),
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
        if !self.preset.help_desk.is_empty() {
            steps = steps.push(iced::widget::space::vertical().height(Length::Fill));
            steps = steps.push(
                text(format!("Help: {}", self.preset.help_desk))
                    .size(style::SMALL)
                    .style(style::hint),
            );
        }

        let password = self.account.password();
        let body: Element<'_, Message> = match self.step {
            Step::Account => self.account.view(&self.preset).map(Message::Account),
            Step::Device => self.device.view().map(Message::Device),
            Step::TestSend => {
                let cx = test_send::Context {
                    account: &self.account.address,
                    password: password.clone(),
                    device: "",
                };
                self.test.view(&cx).map(Message::Test)
            }
            Step::Card => self
                .card
                .view(self.card_cache.as_ref(), &password)
                .map(Message::Card),
        };
        self.with_sidebar(steps, body)
    }

    fn with_sidebar<'a>(
        &'a self,
        steps: Column<'a, Message>,
        body: Element<'a, Message>,
    ) -> Element<'a, Message> {
        let mut main = column![body].spacing(style::GAP).padding(24).max_width(860);
        if let Some(n) = &self.notice {
            let mut actions = row![].spacing(8);
            if self.notice_address().is_some() {
                actions = actions.push(
                    button(text("Copy address").size(style::SMALL))
                        .on_press(Message::CopyNoticeAddress)
                        .style(button::secondary),
                );
            }
            actions = actions.push(
                button(text("OK").size(style::SMALL))
                    .on_press(Message::DismissNotice)
                    .style(button::secondary),
            );
            main = main.push(
                container(column![text(n).size(style::SMALL), actions].spacing(8))
                    .padding(10)
                    .width(Length::Fill)
                    .style(style::caution),
            );
        }
        row![
            container(steps).height(Length::Fill).style(style::sidebar),
            scrollable(container(main).width(Length::Fill).center_x(Length::Fill))
                .height(Length::Fill),
        ]
        .into()
    }
}

/// Runs the test send, turning its progress into messages. Dropping the stream (Cancel) drops
/// the engine's future, which closes both connections.
fn run_test(request: Request) -> impl iced::futures::Stream<Item = test_send::Message> {
    use iced::futures::SinkExt;
    iced::stream::channel(
        64,
        async move |mut output: iced::futures::channel::mpsc::Sender<test_send::Message>| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let options = smtp::Options {
                events: Some(tx),
                ..smtp::Options::default()
            };
            let run = smtp::test_send_with(&request, options);
            tokio::pin!(run);
            let result = loop {
                tokio::select! {
                    Some(event) = rx.recv() => {
                        let _ = output.send(test_send::Message::Progress(event)).await;
                    }
                    result = &mut run => break result,
                }
            };
            while let Ok(event) = rx.try_recv() {
                let _ = output.send(test_send::Message::Progress(event)).await;
            }
            let _ = output.send(test_send::Message::Finished(result)).await;
        },
    )
}
