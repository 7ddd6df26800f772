//! Step 3, Test send: server, recipient, warnings, both ports live, and a verdict.

use super::style;
use crate::catalog::{self, warnings};
use crate::org::Preset;
use crate::secrets::AppPassword;
use crate::smtp::{self, Event, InputError, PortResult, Report, Request, Security, Stage};
use iced::widget::{Column, button, checkbox, column, container, row, text, text_input};
use iced::{Element, Length};
use std::path::PathBuf;
use std::time::Duration;

pub const SERVER_ID: &str = "test-server";
pub const RECIPIENT_ID: &str = "test-recipient";
pub const SSL_PORT_ID: &str = "test-ssl-port";
pub const STARTTLS_PORT_ID: &str = "test-starttls-port";
pub const TIMEOUT_ID: &str = "test-timeout";

/// One port's live row.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRow {
    pub port: u16,
    pub security: Security,
    pub stage: Option<Stage>,
    pub elapsed_ms: u64,
    pub result: Option<PortResult>,
    pub details_open: bool,
}

#[derive(Debug)]
pub struct State {
    pub server: String,
    pub recipient: String,
    pub advanced_open: bool,
    pub ssl_on: bool,
    pub starttls_on: bool,
    pub ssl_port: String,
    pub starttls_port: String,
    pub timeout: String,
    pub ca_file: Option<PathBuf>,
    ca_pem: Option<Vec<u8>>,
    pub ca_error: Option<String>,
    /// Server and ports come from the organization and may not be changed.
    pub locked: bool,
    pub running: bool,
    pub cancelled: bool,
    pub rows: Vec<PortRow>,
    pub report: Option<Report>,
    /// Why the test could not start (bad input), in plain words.
    pub input_error: Option<String>,
    /// The saved device's last test, shown until a new one runs.
    pub last: Option<crate::profile::LastTest>,
}

#[derive(Debug, Clone)]
pub enum Message {
    ServerChanged(String),
    RecipientChanged(String),
    ToggleAdvanced,
    SslToggled(bool),
    StarttlsToggled(bool),
    SslPortChanged(String),
    StarttlsPortChanged(String),
    TimeoutChanged(String),
    PickCaFile,
    ClearCaFile,
    CaFileLoaded(Option<(PathBuf, Result<Vec<u8>, String>)>),
    Start,
    Cancel,
    Progress(Event),
    Finished(Result<Report, InputError>),
    ToggleDetails(usize),
    ShowCard,
}

#[derive(Debug, Clone)]
pub enum Action {
    None,
    Start(Box<Request>),
    Cancel,
    PickCaFile,
    ShowCard,
    /// A test send ended with a report.
    Finished,
}

/// What the step needs from the others.
pub struct Context<'a> {
    pub account: &'a str,
    pub password: AppPassword,
    pub device: &'a str,
}

impl State {
    pub fn new(preset: &Preset) -> Self {
        Self {
            server: preset.server.clone(),
            recipient: String::new(),
            advanced_open: false,
            ssl_on: preset.ssl_port.is_some(),
            starttls_on: preset.starttls_port.is_some(),
            ssl_port: preset
                .ssl_port
                .unwrap_or(smtp::DEFAULT_SSL_PORT)
                .to_string(),
            starttls_port: preset
                .starttls_port
                .unwrap_or(smtp::DEFAULT_STARTTLS_PORT)
                .to_string(),
            timeout: smtp::DEFAULT_TIMEOUT.as_secs().to_string(),
            ca_file: None,
            ca_pem: None,
            ca_error: None,
            locked: preset.locked,
            running: false,
            cancelled: false,
            rows: Vec::new(),
            report: None,
            input_error: None,
            last: None,
        }
    }

    fn port(text: &str, name: &str) -> Result<u16, String> {
        smtp::parse_port(text)
            .ok_or_else(|| format!("The {name} port must be a number from 1 to 65535."))
    }

    /// Problems with the fields of this step, in plain words (empty when all is well).
    pub fn field_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Err(e) = smtp::validate_server(&self.server) {
            errors.push(e.to_string());
        }
        if !self.recipient.trim().is_empty() && smtp::validate_address(&self.recipient).is_err() {
            errors.push(InputError::BadRecipient(self.recipient.trim().to_string()).to_string());
        }
        if self.ssl_on
            && let Err(e) = Self::port(&self.ssl_port, "SSL/TLS")
        {
            errors.push(e);
        }
        if self.starttls_on
            && let Err(e) = Self::port(&self.starttls_port, "STARTTLS")
        {
            errors.push(e);
        }
        if !matches!(self.timeout.trim().parse::<u64>(), Ok(1..=300)) {
            errors.push("The time limit must be a whole number of seconds from 1 to 300.".into());
        }
        errors
    }

    /// The request for a test send, or the first reason it cannot start.
    pub fn request(&self, cx: &Context<'_>) -> Result<Request, String> {
        if let Some(e) = self.field_errors().into_iter().next() {
            return Err(e);
        }
        let mut r = Request::new(self.server.trim(), cx.account.trim(), cx.password.clone());
        r.recipient = Some(self.recipient.trim().to_string()).filter(|s| !s.is_empty());
        r.ssl_port = if self.ssl_on {
            Self::port(&self.ssl_port, "SSL/TLS").ok()
        } else {
            None
        };
        r.starttls_port = if self.starttls_on {
            Self::port(&self.starttls_port, "STARTTLS").ok()
        } else {
            None
        };
        r.timeout = Duration::from_secs(self.timeout.trim().parse().unwrap_or(10));
        r.extra_ca_pem = self.ca_pem.clone();
        r.profile_name = Some(cx.device.to_string()).filter(|d| !d.is_empty());
        r.prefer = catalog::catalog().preferred_security(&self.server);
        r.validate().map_err(|e| match e {
            InputError::EmptyAccount | InputError::BadAccount(_) | InputError::EmptyPassword => {
                format!("{e} (step 1, Account)")
            }
            e => e.to_string(),
        })?;
        Ok(r)
    }

    /// Warnings before testing, from the catalog.
    pub fn warnings(&self, cx: &Context<'_>) -> Vec<warnings::Warning> {
        warnings::warnings(
            catalog::catalog(),
            &warnings::Input {
                server: &self.server,
                account: cx.account,
                from: None,
                password_as_typed: Some(cx.password.expose()),
                ssl_port: self
                    .ssl_on
                    .then(|| smtp::parse_port(&self.ssl_port))
                    .flatten(),
                starttls_port: self
                    .starttls_on
                    .then(|| smtp::parse_port(&self.starttls_port))
                    .flatten(),
            },
        )
    }

    pub fn works(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| r.recommended.is_some())
    }

    pub fn update(&mut self, message: Message, cx: &Context<'_>) -> Action {
        match message {
            Message::ServerChanged(s) if !self.locked => self.server = s,
            Message::ServerChanged(_) => {}
            Message::RecipientChanged(s) => self.recipient = s,
            Message::ToggleAdvanced => self.advanced_open = !self.advanced_open,
            Message::SslToggled(on) if !self.locked => self.ssl_on = on,
            Message::StarttlsToggled(on) if !self.locked => self.starttls_on = on,
            Message::SslPortChanged(s) if !self.locked => self.ssl_port = s,
            Message::StarttlsPortChanged(s) if !self.locked => self.starttls_port = s,
            Message::SslToggled(_)
            | Message::StarttlsToggled(_)
            | Message::SslPortChanged(_)
            | Message::StarttlsPortChanged(_) => {}
            Message::TimeoutChanged(s) => self.timeout = s,
            Message::PickCaFile => return Action::PickCaFile,
            Message::ClearCaFile => {
                self.ca_file = None;
                self.ca_pem = None;
                self.ca_error = None;
            }
            Message::CaFileLoaded(None) => {}
            Message::CaFileLoaded(Some((path, bytes))) => {
                match bytes.and_then(|b| smtp::certs::parse_pem_certs(&b).map(|_| b)) {
                    Ok(b) => {
                        self.ca_file = Some(path);
                        self.ca_pem = Some(b);
                        self.ca_error = None;
                    }
                    Err(e) => self.ca_error = Some(format!("{}: {e}", path.display())),
                }
            }
            Message::Start => {
                if self.running {
                    return Action::None;
                }
                match self.request(cx) {
                    Ok(request) => {
                        self.input_error = None;
                        self.running = true;
                        self.cancelled = false;
                        self.report = None;
                        self.rows = [
                            (request.ssl_port, Security::Ssl),
                            (request.starttls_port, Security::Starttls),
                        ]
                        .into_iter()
                        .filter_map(|(p, security)| {
                            p.map(|port| PortRow {
                                port,
                                security,
                                stage: None,
                                elapsed_ms: 0,
                                result: None,
                                details_open: false,
                            })
                        })
                        .collect();
                        return Action::Start(Box::new(request));
                    }
                    Err(e) => self.input_error = Some(e),
                }
            }
            Message::Cancel => {
                if self.running {
                    self.running = false;
                    self.cancelled = true;
                    return Action::Cancel;
                }
            }
            Message::Progress(event) => {
                if !self.running {
                    return Action::None;
                }
                match event {
                    Event::Stage {
                        security,
                        stage,
                        elapsed_ms,
                        ..
                    } => {
                        if let Some(row) = self.rows.iter_mut().find(|r| r.security == security) {
                            row.stage = Some(stage);
                            row.elapsed_ms = elapsed_ms;
                        }
                    }
                    Event::Finished(result) => {
                        if let Some(row) =
                            self.rows.iter_mut().find(|r| r.security == result.security)
                        {
                            row.elapsed_ms = result.elapsed_ms;
                            row.stage = Some(result.stage);
                            row.result = Some(*result);
                        }
                    }
                }
            }
            Message::Finished(result) => {
                if !self.running {
                    return Action::None;
                }
                self.running = false;
                match result {
                    Ok(report) => {
                        for r in &report.results {
                            if let Some(row) =
                                self.rows.iter_mut().find(|row| row.security == r.security)
                            {
                                row.result = Some(r.clone());
                                row.stage = Some(r.stage);
                                row.elapsed_ms = r.elapsed_ms;
                            }
                        }
                        self.report = Some(report);
                        return Action::Finished;
                    }
                    Err(e) => self.input_error = Some(e.to_string()),
                }
            }
            Message::ToggleDetails(i) => {
                if let Some(row) = self.rows.get_mut(i) {
                    row.details_open = !row.details_open;
                }
            }
            Message::ShowCard => return Action::ShowCard,
        }
        Action::None
    }

    pub fn view<'a>(&'a self, cx: &Context<'a>) -> Element<'a, Message> {
        let server_input = text_input("smtp.gmail.com", &self.server)
            .id(SERVER_ID)
            .on_input_maybe((!self.locked).then_some(Message::ServerChanged))
            .on_submit(Message::Start)
            .padding(8);
        let mut fields = column![
            text("Mail server").size(style::BODY),
            server_input,
            text("Send the test message to").size(style::BODY),
            text_input(
                &format!(
                    "{} (the device account)",
                    if cx.account.is_empty() {
                        "the account"
                    } else {
                        cx.account
                    }
                ),
                &self.recipient
            )
            .id(RECIPIENT_ID)
            .on_input(Message::RecipientChanged)
            .on_submit(Message::Start)
            .padding(8),
        ]
        .spacing(6);
        if self.locked {
            fields = fields.push(
                text("The server and ports are set by your organization.")
                    .size(style::SMALL)
                    .style(style::hint),
            );
        }
        for e in self.field_errors() {
            fields = fields.push(text(e).size(style::SMALL).style(style::error));
        }

        let mut advanced = column![
            button(
                text(if self.advanced_open {
                    "Advanced ▾"
                } else {
                    "Advanced ▸"
                })
                .size(style::SMALL)
            )
            .on_press(Message::ToggleAdvanced)
            .style(button::text),
        ]
        .spacing(6);
        if self.advanced_open {
            advanced = advanced.push(self.advanced_view());
        }

        let mut warn_col = Column::new().spacing(6);
        for w in self.warnings(cx) {
            warn_col = warn_col.push(
                container(
                    column![
                        text(w.title).size(style::BODY),
                        text(w.advice).size(style::SMALL)
                    ]
                    .spacing(2),
                )
                .padding(10)
                .width(Length::Fill)
                .style(style::caution),
            );
        }

        let start = if self.running {
            row![
                button(text("Testing..."))
                    .style(button::primary)
                    .padding([8, 16]),
                button(text("Cancel"))
                    .on_press(Message::Cancel)
                    .style(button::danger)
                    .padding([8, 16]),
            ]
        } else {
            row![
                button(text("Test send"))
                    .on_press(Message::Start)
                    .style(button::primary)
                    .padding([8, 16])
            ]
        }
        .spacing(8);

        let mut content = column![
            text("3. Test send").size(style::TITLE),
            text("ScanMail signs in on both usual ports at once and sends a real test message, so you know what works before you go to the device.")
                .size(style::BODY),
            container(column![fields, advanced].spacing(8)).padding(14).width(Length::Fill).style(style::panel),
            warn_col,
            start,
        ]
        .spacing(style::GAP);
        if let Some(e) = &self.input_error {
            content = content.push(
                container(text(e).size(style::BODY))
                    .padding(10)
                    .width(Length::Fill)
                    .style(style::bad),
            );
        }
        if let (None, true, Some(last)) = (&self.report, self.rows.is_empty(), &self.last) {
            content = content.push(
                text(format!("Last test, {}: {}.", last.at, last.summary))
                    .size(style::SMALL)
                    .style(style::hint),
            );
        }
        for (i, r) in self.rows.iter().enumerate() {
            content = content.push(self.row_view(i, r));
        }
        if let Some(banner) = self.banner() {
            content = content.push(banner);
        }
        content.into()
    }

    fn advanced_view(&self) -> Element<'_, Message> {
        let ports = row![
            checkbox(self.ssl_on)
                .label("SSL/TLS on port")
                .on_toggle_maybe((!self.locked).then_some(Message::SslToggled)),
            text_input("465", &self.ssl_port)
                .id(SSL_PORT_ID)
                .on_input_maybe((!self.locked).then_some(Message::SslPortChanged))
                .width(80),
            checkbox(self.starttls_on)
                .label("STARTTLS on port")
                .on_toggle_maybe((!self.locked).then_some(Message::StarttlsToggled)),
            text_input("587", &self.starttls_port)
                .id(STARTTLS_PORT_ID)
                .on_input_maybe((!self.locked).then_some(Message::StarttlsPortChanged))
                .width(80),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let timeout = row![
            text("Time limit for each port (seconds)").size(style::SMALL),
            text_input("10", &self.timeout)
                .id(TIMEOUT_ID)
                .on_input(Message::TimeoutChanged)
                .width(80),
        ]
        .spacing(10)
        .align_y(iced::Alignment::Center);
        let mut ca = column![
            text("Extra trusted certificate (only for an organization's own mail server)")
                .size(style::SMALL),
            row![
                text(
                    self.ca_file
                        .as_ref()
                        .map_or("None".to_string(), |p| p.display().to_string())
                )
                .size(style::SMALL)
                .width(Length::Fill),
                button(text("Choose file...").size(style::SMALL))
                    .on_press(Message::PickCaFile)
                    .style(button::secondary),
                button(text("Remove").size(style::SMALL))
                    .on_press_maybe(self.ca_file.is_some().then_some(Message::ClearCaFile))
                    .style(button::secondary),
            ]
            .spacing(8)
            .align_y(iced::Alignment::Center),
        ]
        .spacing(4);
        if let Some(e) = &self.ca_error {
            ca = ca.push(text(e).size(style::SMALL).style(style::error));
        }
        column![ports, timeout, ca].spacing(10).into()
    }

    fn row_view<'a>(&'a self, i: usize, r: &'a PortRow) -> Element<'a, Message> {
        let head = format!("Port {} with {}", r.port, r.security.label());
        let secs = if r.elapsed_ms < 1000 {
            format!("{} ms", r.elapsed_ms)
        } else {
            format!("{:.1} s", r.elapsed_ms as f64 / 1000.0)
        };
        let status: String = match (&r.result, r.stage) {
            (Some(res), _) if res.works && res.sent => {
                "✓ Works: the test message was accepted".into()
            }
            (Some(res), _) if res.works => "✓ Works: signed in".into(),
            (Some(res), _) => format!(
                "✗ Failed: {}",
                res.advice
                    .as_ref()
                    .map_or("see details", |a| a.title.as_str())
            ),
            (None, _) if self.cancelled => "Cancelled".into(),
            (None, None) => "Waiting".into(),
            (None, Some(stage)) => format!("{}...", stage.doing()),
        };
        let mut col = column![
            row![
                text(head).size(style::BODY).width(Length::FillPortion(2)),
                text(status).size(style::BODY).width(Length::FillPortion(4)),
                text(secs).size(style::SMALL),
            ]
            .spacing(10)
            .align_y(iced::Alignment::Center)
        ]
        .spacing(6);
        let style_fn: fn(&iced::Theme) -> container::Style = match &r.result {
            Some(res) if res.works => style::good,
            Some(_) => style::bad,
            None => style::panel,
        };
        if let Some(res) = r.result.as_ref().filter(|res| !res.works) {
            if let Some(a) = &res.advice {
                col = col
                    .push(text(format!("What happened: {}", a.what_happened)).size(style::SMALL))
                    .push(text(format!("What to do: {}", a.what_to_do)).size(style::SMALL));
            }
            col = col.push(
                button(
                    text(if r.details_open {
                        "Hide details"
                    } else {
                        "Details"
                    })
                    .size(style::SMALL),
                )
                .on_press(Message::ToggleDetails(i))
                .style(button::text),
            );
            if r.details_open {
                if let Some(reply) = &res.reply {
                    col = col.push(text(format!("The server said: {reply}")).size(style::SMALL));
                }
                if let Some(d) = &res.detail {
                    col = col.push(text(format!("Detail: {d}")).size(style::SMALL));
                }
                if let Some(p) = res.problem {
                    col = col.push(
                        text(format!("Problem id: {p} (stage: {})", res.stage.id()))
                            .size(style::SMALL)
                            .style(style::hint),
                    );
                }
            }
        }
        container(col)
            .padding(12)
            .width(Length::Fill)
            .style(style_fn)
            .into()
    }

    fn banner(&self) -> Option<Element<'_, Message>> {
        let report = self.report.as_ref()?;
        Some(match report.recommended {
            Some(rec) => container(
                row![
                    column![
                        text(format!(
                            "Use port {} with {}.",
                            rec.port,
                            rec.security.label()
                        ))
                        .size(20),
                        text(if report.login_only {
                            "Signing in works.".to_string()
                        } else {
                            format!(
                                "Look for [{}] in {}'s inbox to see the test message.",
                                report.token, report.recipient
                            )
                        })
                        .size(style::SMALL),
                    ]
                    .spacing(4)
                    .width(Length::Fill),
                    button(text("Show the settings card"))
                        .on_press(Message::ShowCard)
                        .style(button::success)
                        .padding([8, 16]),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            )
            .padding(14)
            .width(Length::Fill)
            .style(style::good)
            .into(),
            None => container(
                text("Neither port works yet. Follow \"What to do\" above, then test again.")
                    .size(style::BODY),
            )
            .padding(14)
            .width(Length::Fill)
            .style(style::bad)
            .into(),
        })
    }
}
