//! The Test send step's actions that reach beyond it: back to step 1, the provider's app
//! password page, and the report for IT (Copy, Save, Email IT).

use super::app::{App, Step};
use super::effects::Effect;
use super::{account, test_send};

impl App {
    /// What the Test send step asked for, as an effect.
    pub(super) fn test_action(&mut self, action: test_send::Action) -> Effect {
        match action {
            test_send::Action::None => Effect::None,
            test_send::Action::Start(request) => Effect::StartTest(request),
            test_send::Action::Finished => self.test_finished(),
            test_send::Action::Cancel => Effect::CancelTest,
            test_send::Action::PickCaFile => Effect::PickCaFile,
            test_send::Action::ShowCard => self.goto(Step::Card),
            test_send::Action::GoToAccount => {
                self.step = Step::Account;
                Effect::Focus(account::PASSWORD_ID)
            }
            test_send::Action::NewAppPassword => {
                self.step = Step::Account;
                let page = crate::catalog::catalog()
                    .provider_for(&self.test.server, &self.account.address)
                    .and_then(|p| p.app_password_page.clone());
                page.map_or(Effect::Focus(account::PASSWORD_ID), Effect::OpenUrl)
            }
            test_send::Action::Copy(text) => Effect::Copy(text),
            test_send::Action::CopyReport => self
                .report_text()
                .map_or(Effect::None, |(text, _)| Effect::Copy(text)),
            test_send::Action::SaveReport => {
                self.report_text()
                    .map_or(Effect::None, |(text, html)| Effect::SaveReport {
                        text,
                        html,
                    })
            }
            test_send::Action::EmailIt => self.email_it(),
            test_send::Action::SignIn(provider) => Effect::StartSignIn(provider),
            test_send::Action::Open(url) => Effect::OpenUrl(url),
            test_send::Action::OpenRelay => self.goto(super::app::Step::Relay),
            test_send::Action::UseSignIn(provider) => {
                self.account.sign_in = Some(provider);
                self.test.report = None;
                self.test.rows.clear();
                Effect::None
            }
        }
    }

    /// On the way to step 3: look up the account's domain once, when it is not a provider
    /// ScanMail knows and the preset does not fix the server.
    pub(super) fn domain_effect(&mut self) -> Effect {
        let address = self.account.address.trim().to_string();
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Effect::None;
        };
        let known = crate::catalog::catalog()
            .provider_for("", &address)
            .is_some();
        let asked = self.test.domain_asked.as_deref() == Some(domain);
        if self.step != Step::TestSend
            || self.preset.locked
            || known
            || asked
            || !domain.contains('.')
        {
            return Effect::None;
        }
        self.test.domain_asked = Some(domain.to_string());
        Effect::LookupDomain(domain.to_string())
    }

    /// The copier check's action, as an effect.
    pub(super) fn copier_action(&mut self, m: super::copier_check::Message) -> Effect {
        match self.copier.update(m) {
            super::copier_check::Action::None => Effect::None,
            super::copier_check::Action::Start => Effect::StartCopierCheck,
            super::copier_check::Action::Cancel => Effect::StopCopierCheck,
            super::copier_check::Action::Copy(text) => Effect::Copy(text),
            super::copier_check::Action::OpenRelay(old) => {
                if let Some(o) = old {
                    if self.relay.address.trim().is_empty() {
                        self.relay.address.clone_from(&o.address);
                    }
                    self.relay.old_copier = Some(o);
                }
                self.goto(super::app::Step::Relay)
            }
        }
    }

    /// What the copier check listens with: the card's security (SSL/TLS: TLS at once), the
    /// login and password of step 1, the copier's address from step 2, the provider's rules,
    /// and the next free port when the usual one is taken.
    pub fn copier_options(&self) -> crate::listen::Options {
        use crate::listen::{self, ready::Expect};
        let security = self.settings_card().map(|c| c.security);
        let ssl = security == Some(crate::smtp::Security::Ssl);
        listen::Options {
            port: if ssl {
                listen::DEFAULT_TLS_PORT
            } else {
                listen::DEFAULT_PORT
            },
            seconds: super::copier_check::SECONDS,
            password: Some(self.account.password()).filter(|p| !p.is_empty()),
            providers: listen::verdict::Rules::for_server(&self.test.server)
                .map_or_else(listen::verdict::Rules::all, |r| vec![r]),
            expect: Expect {
                login: Some(self.account.address.trim().to_string()).filter(|a| !a.is_empty()),
                security,
                copier: self.device.address.trim().parse().ok(),
                command_line: false,
            },
            next_free_port: true,
            ..listen::Options::default()
        }
    }

    /// The report for IT about the last test, as text and HTML.
    pub fn report_text(&self) -> Option<(String, String)> {
        let report = self.test.report.as_ref()?;
        let about = crate::report::About {
            organization: self.preset.organization.clone(),
            device: self.device_label(),
        };
        Some((
            crate::report::text(report, &about),
            crate::report::html(report, &about),
        ))
    }

    /// A new message to the help desk with the report's summary, when it has an email address.
    fn email_it(&self) -> Effect {
        let (Some(email), Some(report)) = (self.preset.help_email(), self.test.report.as_ref())
        else {
            return Effect::None;
        };
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let v = &report.summary;
        let mut body = format!(
            "{}\n\n{}\n{}\n",
            crate::report::summary_line(report),
            v.headline,
            v.next_step
        );
        if let Some(m) = &v.message_for_it {
            body += &format!("\n{m}\n");
        }
        body += "\nThe full report can be saved from ScanMail (Save report...) and attached.\n";
        Effect::OpenUrl(format!(
            "mailto:{email}?subject={}&body={}",
            enc(&crate::report::summary_line(report)),
            enc(&body)
        ))
    }
}

/// What the Test send step needs from the others; `device` names the saved device.
pub(super) fn test_context<'a>(
    account: &'a account::State,
    preset: &crate::org::Preset,
    device: &'a str,
    relay_offered: bool,
) -> test_send::Context<'a> {
    test_send::Context {
        account: &account.address,
        password: account.password(),
        device,
        can_email_it: preset.help_email().is_some(),
        sign_in: account.sign_in,
        microsoft_ready: preset.oauth.microsoft.is_some(),
        relay_offered,
    }
}
