//! `scanmail check` in plain words: warnings, the verdict first, each port, the settings card.

use crate::catalog::warnings::Warning;
use crate::smtp::{PortResult, Report};

/// Warnings in plain words, with a blank line after them (nothing when there are none).
pub fn warnings_text(warnings: &[Warning]) -> String {
    let mut s = String::new();
    for w in warnings {
        s += &format!("Warning: {}\n  {}\n  ({})\n", w.title, w.advice, w.id);
    }
    if !s.is_empty() {
        s += "\n";
    }
    s
}

/// The report in plain words: the verdict first, then each port, then the settings card when
/// a port works.
pub fn human(report: &Report, card: Option<&crate::card::Card>) -> String {
    let mut s = String::new();
    let action = if report.login_only {
        "Sign-in test"
    } else {
        "Test send"
    };
    s += &format!("{action}: {} as {}\n", report.server, report.account);
    if !report.login_only {
        s += &format!(
            "Test message to {} (look for [{}] in the subject)\n",
            report.recipient, report.token
        );
    }
    let v = &report.summary;
    let outcome = match v.outcome {
        crate::smtp::verdict::Outcome::Works => "works",
        crate::smtp::verdict::Outcome::Fails => "fails",
    };
    s += &format!("\nVerdict: {outcome}. {}\n", v.headline);
    s += &format!("Next step: {}\n", v.next_step);
    if let Some(n) = &v.notice {
        s += &format!("Note: {n}\n");
    }
    if let Some(w) = &v.ways
        && v.outcome == crate::smtp::verdict::Outcome::Fails
    {
        s += &crate::catalog::microsoft::ways_text(w);
    }
    if let Some(m) = &v.message_for_it {
        s += &format!("Message for IT:\n{}\n", indent(m));
    }
    s += "\n";
    for r in &report.results {
        s += &port_lines(r, report.any_works());
    }
    s += "\n";
    if let Some(card) = card {
        s += "Type this into the device:\n";
        s += &card.rows_text("  ");
    }
    s
}

/// One port: a line when it works, or when another port works (nothing to fix there); what
/// happened and the server's words when it failed and none works.
fn port_lines(r: &PortResult, any_works: bool) -> String {
    let secs = r.elapsed_ms as f64 / 1000.0;
    let head = format!("Port {} with {}", r.port, r.security.label());
    if r.works {
        let tls = r
            .tls
            .as_ref()
            .and_then(|t| t.version.clone())
            .map(|v| format!(", {v}"))
            .unwrap_or_default();
        let what = if r.sent {
            "works: the test message was accepted"
        } else {
            "works: signed in"
        };
        return format!("  {head:<26}{what} ({secs:.2} s{tls})\n");
    }
    let mut s = format!(
        "  {head:<26}failed while {} ({secs:.2} s)\n",
        r.stage.doing().to_lowercase()
    );
    if let Some(a) = &r.advice {
        s += &format!("      {}\n", a.title);
        s += &format!("      What happened: {}\n", a.what_happened);
        if any_works {
            return s;
        }
    }
    if let Some(reply) = &r.reply {
        s += &format!("      The server said: {reply}\n");
    }
    if let Some(d) = &r.detail {
        s += &format!("      Detail: {d}\n");
    }
    if let Some(p) = r.problem {
        s += &format!("      Problem id: {p}\n");
    }
    s
}

/// A message for IT, each line indented under its heading.
fn indent(m: &str) -> String {
    m.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
