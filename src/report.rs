//! The report for IT: everything a help desk needs about one test send, as text (to paste into
//! a ticket or an email) and as a small HTML page. Never the password: the report is built from
//! a [`Report`], which never holds it, and transcripts show sign-in lines as `<hidden>`.

use crate::smtp::Report;
use crate::smtp::verdict::{Outcome, port_line};

/// Who ran the test, for the report's head.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// The organization preset in effect ("Example University (from C:\ProgramData\...)").
    pub organization: String,
    /// The saved device's label, if any.
    pub device: String,
}

/// Writes the report to `path`: HTML when it ends in `.html` or `.htm`, else text; owner-only,
/// through a new temporary file.
pub fn write_file(path: &std::path::Path, report: &Report, about: &About) -> Result<(), String> {
    let html = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let body = if html {
        self::html(report, about)
    } else {
        text(report, about)
    };
    crate::fsutil::write_atomic(path, body.as_bytes()).map_err(|e| {
        format!(
            "The report could not be written to {}: {}.",
            path.display(),
            crate::fsutil::plain_io(&e)
        )
    })
}

/// A short summary for an email subject line or a first paragraph.
pub fn summary_line(report: &Report) -> String {
    format!(
        "ScanMail test send for {} on {}: {}",
        report.account, report.server, report.summary.headline
    )
}

/// The report as plain text.
pub fn text(report: &Report, about: &About) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| {
        if !v.is_empty() {
            s += &format!("{k:<14}{v}\n");
        }
    };
    line("ScanMail", env!("CARGO_PKG_VERSION"));
    line("When", &crate::time::local_words_from(&report.started_at));
    line("Organization", &about.organization);
    line("Device", &about.device);
    line("Server", &report.server);
    line("Account", &report.account);
    line(
        "Recipient",
        if report.login_only {
            ""
        } else {
            &report.recipient
        },
    );
    line(
        "Test",
        &if report.login_only {
            "sign-in only".to_string()
        } else {
            format!("sign-in and a test message [{}]", report.token)
        },
    );
    let v = &report.summary;
    s += &format!(
        "\nVerdict: {}\n{}\n",
        if v.outcome == Outcome::Works {
            "works"
        } else {
            "fails"
        },
        v.headline
    );
    s += &format!("Next step: {}\n", v.next_step);
    if let Some(n) = &v.notice {
        s += &format!("Note: {n}\n");
    }
    if let Some(w) = &v.ways
        && v.outcome == Outcome::Fails
    {
        s += &crate::catalog::microsoft::ways_text(w);
    }
    if let Some(m) = &v.message_for_it {
        s += &format!("Message for IT:\n{m}\n");
    }
    for r in &report.results {
        s += &format!("\n{}\n", port_line(r));
        s += &format!("  stage reached: {}, {} ms\n", r.stage.id(), r.elapsed_ms);
        if let Some(p) = r.problem {
            s += &format!("  problem id: {p}\n");
        }
        if let Some(a) = &r.advice {
            s += &format!(
                "  what happened: {}\n  what to do: {}\n",
                a.what_happened, a.what_to_do
            );
        }
        if let Some(reply) = &r.reply {
            s += &format!("  the server said: {reply}\n");
        }
        if let Some(d) = &r.detail {
            s += &format!("  detail: {d}\n");
        }
        if let Some(t) = &r.tls {
            s += &format!(
                "  TLS: {}, certificate for {} issued by {}, valid until {}\n",
                t.version.as_deref().unwrap_or("not finished"),
                t.subject,
                t.issuer,
                t.not_after
            );
        }
        if let Some(a) = &r.address {
            s += &format!("  address: {a}\n");
        }
        if !r.transcript.is_empty() {
            s += "  conversation:\n";
            for l in &r.transcript {
                s += &format!("    {l}\n");
            }
        }
    }
    // A server's words may hold terminal escapes: shown as text, never obeyed by a terminal.
    crate::cli::escape_controls(&s).into_owned()
}

/// The report as an HTML page (for "Save report..." as .html).
pub fn html(report: &Report, about: &About) -> String {
    let body = esc(&text(report, about));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}}\
         pre{{white-space:pre-wrap;font-family:ui-monospace,monospace}}</style>\n\
         </head><body>\n<h1>{title}</h1>\n<pre>{body}</pre>\n</body></html>\n",
        title = esc(&summary_line(report)),
    )
}

fn esc(s: &str) -> String {
    crate::cli::escape_controls(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
