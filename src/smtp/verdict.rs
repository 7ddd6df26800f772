//! One verdict for the whole test: from every port's result, one outcome, one headline and one
//! next step. With a port that works there is nothing to fix: the failed ports say what happened
//! and no more. When every port fails, the failure to fix first is the one that got furthest
//! (a port that reached sign-in says more than one a firewall blocked), and its advice is given
//! once, never suggesting a port whose result is on the same screen.

use super::advice::{Advice, Context, NextStep, advice};
use super::diagnose::Problem;
use super::{PortResult, Recommended, Request};
use serde::Serialize;

/// Works or fails, for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Works,
    #[default]
    Fails,
}

/// The verdict, as `scanmail check --json` prints it under `summary`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub outcome: Outcome,
    pub headline: String,
    pub next_step: String,
    pub message_for_it: Option<String>,
    pub problem: Option<Problem>,
    /// The button to offer with the next step, when one helps.
    #[serde(skip)]
    pub next: Option<NextStep>,
    /// One line for a test that works today but will stop working (Microsoft 365 before it
    /// turns password sending off): what is coming, and that the message for IT says more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The ways this copier can keep sending (Microsoft 365 after passwords): the best one for
    /// this copier, then the others, for IT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ways: Option<Ways>,
}

/// The ways forward, best first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ways {
    /// The one recommended for this copier.
    pub best: Way,
    /// The rest, for IT.
    pub others: Vec<Way>,
}

/// One way forward, in plain words: who does it and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Way {
    /// A stable id (`copier-sign-in`, `scanmail-relay`, `relay-by-it`, ...).
    pub id: &'static str,
    pub title: String,
    /// One or two sentences: who does it, and what it costs.
    pub text: String,
}

/// What advice needs to know about the test as a whole.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub server: &'a str,
    pub account: &'a str,
    pub app_password_shaped: bool,
    /// More than one port is on the screen.
    pub other_tested: bool,
    pub other_port_allowed: bool,
    pub ports_locked: bool,
    pub app_passwords: bool,
    pub surface: super::Surface,
    pub now_unix: i64,
}

impl<'a> Facts<'a> {
    pub fn of(request: &'a Request, both_ports: bool) -> Self {
        Self {
            server: request.server.trim(),
            account: request.account.trim(),
            app_password_shaped: request.password.has_app_password_shape(),
            other_tested: both_ports
                && request.ssl_port.is_some()
                && request.starttls_port.is_some(),
            other_port_allowed: request.other_port_allowed,
            ports_locked: request.ports_locked,
            app_passwords: request.app_passwords,
            surface: request.surface,
            now_unix: request.now_unix,
        }
    }
}

/// The advice for a failed port (none for a port that works).
pub fn advise(r: &PortResult, facts: &Facts<'_>) -> Option<Advice> {
    let problem = r.problem?;
    let reply = r.reply.as_ref().map(ToString::to_string);
    let cx = Context {
        other_tested: facts.other_tested,
        other_port_allowed: facts.other_port_allowed,
        ports_locked: facts.ports_locked,
        app_passwords: facts.app_passwords,
        surface: facts.surface,
        now_unix: facts.now_unix,
        app_password_shaped: facts.app_password_shaped,
        not_after: r.tls.as_ref().map(|t| t.not_after.as_str()),
        reply: reply.as_deref(),
        ..Context::new(facts.server, r.port, r.security, facts.account)
    };
    Some(advice(problem, &cx))
}

/// Settles every port's advice for the screen they share, and gives the verdict.
/// `sent` is (login only, the test token, the recipient).
pub fn settle(
    results: &mut [PortResult],
    recommended: Option<Recommended>,
    facts: &Facts<'_>,
    (login_only, token, recipient): (bool, &str, &str),
) -> Summary {
    if let Some(rec) = recommended {
        let use_it = format!("port {} with {}", rec.port, rec.security.label());
        for r in results.iter_mut().filter(|r| !r.works) {
            if let Some(a) = advise(r, facts) {
                r.advice = Some(Advice {
                    what_to_do: format!("Nothing to do: use {use_it}, which works."),
                    next: None,
                    for_it: None,
                    ..a
                });
            }
        }
        return Summary {
            outcome: Outcome::Works,
            headline: format!("Use {use_it}."),
            next_step: if login_only {
                "Signing in works. Type the settings card into the device.".into()
            } else {
                format!(
                    "Look for [{token}] in {recipient}'s inbox, then type the settings card into the device."
                )
            },
            message_for_it: None,
            problem: None,
            next: None,
            notice: None,
            ways: None,
        };
    }
    for r in results.iter_mut() {
        r.advice = advise(r, facts);
    }
    let first = results
        .iter()
        .filter(|r| r.problem.is_some())
        .max_by_key(|r| r.stage);
    match first.and_then(|r| r.advice.clone().zip(r.problem)) {
        Some((a, problem)) => Summary {
            outcome: Outcome::Fails,
            headline: format!("{}.", a.title),
            next_step: a.what_to_do,
            message_for_it: a.for_it,
            problem: Some(problem),
            next: a.next,
            notice: None,
            ways: None,
        },
        None => Summary {
            outcome: Outcome::Fails,
            headline: "Nothing was tested.".into(),
            next_step: match facts.surface {
                super::Surface::Window => {
                    "Choose at least one port under Advanced, then test again."
                }
                super::Surface::CommandLine => {
                    "Leave out --skip-ssl or --skip-starttls, then test again."
                }
            }
            .into(),
            message_for_it: None,
            problem: None,
            next: Some(NextStep::ShowAdvanced),
            notice: None,
            ways: None,
        },
    }
}

/// One line for a port, for lists under the verdict: "Port 587 with STARTTLS: the login was not
/// accepted".
pub fn port_line(r: &PortResult) -> String {
    let head = format!("Port {} with {}", r.port, r.security.label());
    match (&r.advice, r.works) {
        (_, true) if r.sent => format!("{head}: works, the test message was accepted"),
        (_, true) => format!("{head}: works, signed in"),
        (Some(a), false) => format!("{head}: {}", lower_first(&a.title)),
        (None, false) => format!("{head}: failed"),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{Security, Stage};

    fn failed(port: u16, security: Security, stage: Stage, problem: Problem) -> PortResult {
        PortResult {
            stage,
            problem: Some(problem),
            ..PortResult::sample(port, security, false)
        }
    }

    fn facts() -> Facts<'static> {
        Facts {
            server: "smtp.example.edu",
            account: "lab@example.edu",
            app_password_shaped: true,
            other_tested: true,
            other_port_allowed: true,
            ports_locked: false,
            app_passwords: true,
            surface: crate::smtp::Surface::Window,
            now_unix: 0,
        }
    }

    fn sent() -> (bool, &'static str, &'static str) {
        (false, "K7QX2M", "lab@example.edu")
    }

    #[test]
    fn one_port_working_means_nothing_to_fix() {
        let mut results = vec![
            PortResult::sample(465, Security::Ssl, true),
            failed(
                587,
                Security::Starttls,
                Stage::Connect,
                Problem::ConnectTimeout,
            ),
        ];
        let rec = Some(Recommended {
            port: 465,
            security: Security::Ssl,
        });
        let s = settle(&mut results, rec, &facts(), sent());
        assert_eq!(s.outcome, Outcome::Works);
        assert_eq!(s.headline, "Use port 465 with SSL/TLS.");
        assert!(s.next_step.contains("[K7QX2M]"));
        let a = results[1].advice.as_ref().unwrap();
        assert!(a.next.is_none() && a.for_it.is_none());
        assert!(
            a.what_to_do.starts_with("Nothing to do"),
            "{}",
            a.what_to_do
        );
    }

    #[test]
    fn the_port_that_got_furthest_decides_and_no_port_on_screen_is_suggested() {
        let mut results = vec![
            failed(465, Security::Ssl, Stage::Connect, Problem::ConnectTimeout),
            failed(587, Security::Starttls, Stage::Auth, Problem::AuthRejected),
        ];
        let s = settle(&mut results, None, &facts(), sent());
        assert_eq!(s.outcome, Outcome::Fails);
        assert_eq!(s.problem, Some(Problem::AuthRejected));
        assert_eq!(s.next, Some(NextStep::GoToAccount));
        for r in &results {
            let a = r.advice.as_ref().unwrap();
            let words = format!("{} {}", a.what_happened, a.what_to_do);
            let other = if r.port == 465 { "587" } else { "465" };
            assert!(!words.contains(other), "{words}");
        }
    }

    #[test]
    fn the_same_problem_twice_is_one_verdict() {
        let mut results = vec![
            failed(465, Security::Ssl, Stage::Auth, Problem::BasicAuthDisabled),
            failed(
                587,
                Security::Starttls,
                Stage::Auth,
                Problem::BasicAuthDisabled,
            ),
        ];
        let s = settle(&mut results, None, &facts(), sent());
        assert_eq!(s.problem, Some(Problem::BasicAuthDisabled));
        let it = s.message_for_it.unwrap();
        assert!(it.contains("lab@example.edu") && it.contains("smtp.example.edu"));
        assert_eq!(
            port_line(&results[0]),
            "Port 465 with SSL/TLS: this mailbox can no longer send with a password"
        );
    }
}
