//! Step 3, Test send: server, recipient, warnings, both ports live, and a verdict. This file
//! holds the state and `update`; `view.rs` draws the page.

mod banner;
mod domain;
mod fields;
mod run;
pub mod sign_in;
mod view;

use crate::org::Preset;
use crate::secrets::AppPassword;
use crate::smtp::advice::NextStep;
use crate::smtp::{self, Event, InputError, PortResult, Report, Request, Security, Stage};
use iced::time::Instant;
use std::path::PathBuf;

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
    /// The message for IT that goes with `input_error`, when only IT can fix it.
    pub input_for_it: Option<String>,
    /// The saved device's last test, shown until a new one runs.
    pub last: Option<crate::profile::LastTest>,
    /// When the running test started, and the latest clock tick: the rows' time moves with it.
    pub started: Option<Instant>,
    pub now: Option<Instant>,
    /// What happened after Copy report or Save report, in plain words.
    pub report_notice: Option<String>,
    /// The OAuth sign-in before the test: what to show while it waits.
    pub signing_in: Option<sign_in::Show>,
    /// The test that runs once the sign-in gives a token.
    pending: Option<Request>,
    /// What the account's domain's DNS records say, and the domain last asked about.
    pub domain: Option<(String, crate::discover::dns::DomainFacts)>,
    pub domain_asked: Option<String>,
    /// "Other ways (for IT)" is open.
    pub ways_open: bool,
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
    /// A clock tick while a test runs (a few times a second).
    Tick(Instant),
    /// The verdict's button.
    Next(NextStep),
    CopyReport,
    SaveReport,
    /// Save report... finished: the file written, `None` when the dialog was closed.
    ReportSaved(Result<Option<PathBuf>, String>),
    CopyForIt,
    EmailIt,
    /// The OAuth sign-in before the test.
    SignIn(sign_in::Message),
    /// The account's domain's records, looked up.
    DomainFound(String, crate::discover::dns::DomainFacts),
    UseDomainServer,
    /// Copy this text (a message for IT shown in a panel).
    CopyText(String),
    ToggleWays,
    /// "This computer can keep the copier sending": the Relay page.
    OpenRelay,
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
    GoToAccount,
    NewAppPassword,
    CopyReport,
    SaveReport,
    /// Copy this text (the message for IT).
    Copy(String),
    EmailIt,
    /// Sign in as the account with this provider, then test.
    SignIn(crate::oauth::Provider),
    /// Open this address (the sign-in page).
    Open(String),
    /// The device should sign in with this provider from now on (step 1's choice).
    UseSignIn(crate::oauth::Provider),
    /// Go to the Relay page.
    OpenRelay,
}

/// What the step needs from the others.
pub struct Context<'a> {
    pub account: &'a str,
    pub password: AppPassword,
    pub device: &'a str,
    /// The organization's help desk has an email address ("Email IT" can open a message).
    pub can_email_it: bool,
    /// The device signs in with OAuth 2.0 instead of the password.
    pub sign_in: Option<crate::oauth::Provider>,
    /// The organization preset has the Microsoft 365 sign-in (the ways forward offer it).
    pub microsoft_ready: bool,
    /// A relay is possible here (the preset allows it, or this computer has one): the ways
    /// forward lead to the Relay page.
    pub relay_offered: bool,
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
            input_for_it: None,
            last: None,
            started: None,
            now: None,
            report_notice: None,
            signing_in: None,
            pending: None,
            domain: None,
            domain_asked: None,
            ways_open: false,
        }
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
                    Ok(request) if cx.sign_in.is_some() => return self.sign_in_first(request, cx),
                    Ok(request) => return self.begin(request),
                    Err(e) => {
                        self.input_for_it = (self.locked && self.server.trim().is_empty()).then(|| {
                            "ScanMail's organization preset (org.toml) has a mistake, so ScanMail locks the mail server to nothing and will not test. Please fix or install the preset again; scanmail org show says what is wrong.".to_string()
                        });
                        self.input_error = Some(e);
                    }
                }
            }
            Message::Cancel => {
                if self.running {
                    self.running = false;
                    self.cancelled = true;
                    self.signing_in = None;
                    self.pending = None;
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
                self.started = None;
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
            Message::Tick(now) => {
                if self.running {
                    self.now = Some(now);
                }
            }
            Message::Next(NextStep::GoToAccount) => return Action::GoToAccount,
            Message::Next(NextStep::NewAppPassword) => return Action::NewAppPassword,
            Message::Next(NextStep::ShowAdvanced) => self.advanced_open = true,
            Message::Next(NextStep::TestAgain) => return self.update(Message::Start, cx),
            Message::Next(NextStep::TestMicrosoftSignIn) => {
                return Action::UseSignIn(crate::oauth::Provider::Microsoft);
            }
            Message::CopyReport if self.report.is_some() => {
                self.report_notice = Some(
                    "Copied the report. Paste it into an email or a ticket for IT. The password is not in it."
                        .into(),
                );
                return Action::CopyReport;
            }
            Message::SaveReport if self.report.is_some() => return Action::SaveReport,
            Message::CopyReport | Message::SaveReport => {}
            Message::ReportSaved(Ok(Some(path))) => {
                self.report_notice = Some(format!(
                    "Saved the report to {}. The password is not in it.",
                    path.display()
                ));
            }
            Message::ReportSaved(Ok(None)) => {}
            Message::ReportSaved(Err(e)) => self.report_notice = Some(e),
            Message::CopyForIt => {
                if let Some(m) = self
                    .report
                    .as_ref()
                    .and_then(|r| r.summary.message_for_it.clone())
                {
                    self.report_notice = Some("Copied the message for IT.".into());
                    return Action::Copy(m);
                }
            }
            Message::EmailIt => return Action::EmailIt,
            Message::SignIn(m) => return self.sign_in_update(m, cx),
            Message::DomainFound(d, f) => self.domain_found(d, f),
            Message::UseDomainServer => self.use_domain_server(),
            Message::CopyText(text) => return Action::Copy(text),
            Message::ToggleWays => self.ways_open = !self.ways_open,
            Message::OpenRelay => return Action::OpenRelay,
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::smtp::Recommended;

    fn cx() -> Context<'static> {
        Context {
            account: "lab@example.edu",
            password: AppPassword::new("abcdabcdabcdabcd"),
            device: "Lab copier",
            can_email_it: false,
            sign_in: None,
            microsoft_ready: false,
            relay_offered: false,
        }
    }

    fn preset() -> Preset {
        Preset::built_in()
    }

    fn result(port: u16, security: Security, works: bool) -> PortResult {
        PortResult::sample(port, security, works)
    }

    #[test]
    fn start_builds_the_request_from_the_fields() {
        let mut s = State::new(&preset());
        s.update(Message::RecipientChanged(" it@example.edu ".into()), &cx());
        s.update(Message::StarttlsPortChanged("2587".into()), &cx());
        let Action::Start(req) = s.update(Message::Start, &cx()) else {
            panic!("did not start")
        };
        assert_eq!(req.server, "smtp.gmail.com");
        assert_eq!(req.recipient.as_deref(), Some("it@example.edu"));
        assert_eq!((req.ssl_port, req.starttls_port), (Some(465), Some(2587)));
        assert_eq!(req.profile_name.as_deref(), Some("Lab copier"));
        assert!(s.running);
        assert_eq!(s.rows.len(), 2);
        assert!(
            matches!(s.update(Message::Start, &cx()), Action::None),
            "one test at a time"
        );
    }

    #[test]
    fn bad_fields_keep_the_text_and_say_why() {
        let mut s = State::new(&preset());
        s.update(Message::ServerChanged("smtp.gmail.com:465".into()), &cx());
        s.update(Message::SslPortChanged("0".into()), &cx());
        assert!(matches!(s.update(Message::Start, &cx()), Action::None));
        assert!(!s.running);
        assert_eq!(s.server, "smtp.gmail.com:465");
        let errors = s.field_errors();
        assert!(
            errors.iter().any(|e| e.contains("without a port")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("SSL/TLS port")),
            "{errors:?}"
        );
        assert!(s.input_error.is_some());

        let no_account = Context {
            account: "",
            ..cx()
        };
        let mut s = State::new(&preset());
        s.update(Message::Start, &no_account);
        assert!(
            s.input_error
                .as_deref()
                .unwrap_or("")
                .contains("(step 1, Account)"),
            "{:?}",
            s.input_error
        );
    }

    #[test]
    fn progress_fills_the_rows_and_the_report_decides() {
        let mut s = State::new(&preset());
        s.update(Message::Start, &cx());
        s.update(
            Message::Progress(Event::Stage {
                port: 587,
                security: Security::Starttls,
                stage: Stage::Auth,
                elapsed_ms: 120,
            }),
            &cx(),
        );
        assert_eq!(s.rows[1].stage, Some(Stage::Auth));
        assert_eq!(s.rows[1].elapsed_ms, 120);
        let report = Report {
            server: "smtp.gmail.com".into(),
            account: "lab@example.edu".into(),
            recipient: "lab@example.edu".into(),
            login_only: false,
            auth: crate::smtp::Auth::Password,
            token: "K7QX2M".into(),
            started_at: "2026-12-01T10:00:00Z".into(),
            results: vec![
                result(465, Security::Ssl, true),
                result(587, Security::Starttls, false),
            ],
            recommended: Some(Recommended {
                port: 465,
                security: Security::Ssl,
            }),
            summary: crate::smtp::verdict::Summary::default(),
        };
        assert!(matches!(
            s.update(Message::Finished(Ok(report)), &cx()),
            Action::Finished
        ));
        assert!(s.works() && !s.running);
        assert_eq!(s.rows[1].result.as_ref().map(|r| r.works), Some(false));
        s.update(Message::ToggleDetails(1), &cx());
        assert!(s.rows[1].details_open);
    }

    #[test]
    fn cancel_ignores_what_arrives_later() {
        let mut s = State::new(&preset());
        s.update(Message::Start, &cx());
        assert!(matches!(s.update(Message::Cancel, &cx()), Action::Cancel));
        assert!(s.cancelled && !s.running);
        s.update(Message::Finished(Err(InputError::EmptyServer)), &cx());
        assert_eq!(s.input_error, None, "a late result is ignored");
        assert!(matches!(s.update(Message::Cancel, &cx()), Action::None));
    }

    #[test]
    fn a_locked_preset_keeps_server_and_ports() {
        let locked = Preset {
            locked: true,
            ..preset()
        };
        let mut s = State::new(&locked);
        s.update(Message::ServerChanged("evil.example".into()), &cx());
        s.update(Message::SslToggled(false), &cx());
        assert_eq!(s.server, "smtp.gmail.com");
        assert!(s.ssl_on);
        let saved = Profile {
            server: "evil.example".into(),
            ssl_port: None,
            ..Profile::default()
        };
        let s = State::from_profile(&locked, &saved);
        assert_eq!(s.server, "smtp.gmail.com");
        assert!(s.ssl_on);
    }

    #[test]
    fn a_broken_locking_preset_refuses_to_test() {
        let broken = Preset {
            server: String::new(),
            locked: true,
            ..preset()
        };
        let mut s = State::new(&broken);
        s.update(Message::ServerChanged("evil.example".into()), &cx());
        assert!(matches!(s.update(Message::Start, &cx()), Action::None));
        assert!(
            s.input_error
                .as_deref()
                .unwrap_or("")
                .contains("message below"),
            "{:?}",
            s.input_error
        );
    }

    #[test]
    fn a_saved_device_round_trips_through_the_step() {
        let saved = Profile {
            server: "smtp.example.edu".into(),
            ssl_port: None,
            starttls_port: Some(2587),
            recipient: "it@example.edu".into(),
            ..Profile::default()
        };
        let s = State::from_profile(&preset(), &saved);
        assert!(!s.ssl_on);
        let mut back = Profile::default();
        s.write_to(&mut back);
        assert_eq!(back, saved);
    }
}
