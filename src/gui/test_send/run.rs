//! A test send as it runs: its start (the rows for its ports and the clock) and the times the
//! rows show.

use super::{Action, PortRow, State};
use crate::smtp::{Request, Security};
use iced::time::Instant;

impl State {
    /// Starts the test send of `request`: the rows for its ports, the clock, and the action.
    pub(super) fn begin(&mut self, request: Request) -> Action {
        self.input_error = None;
        self.input_for_it = None;
        self.running = true;
        self.cancelled = false;
        self.report = None;
        self.report_notice = None;
        self.started = Some(Instant::now());
        self.now = self.started;
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
        Action::Start(Box::new(request))
    }

    /// How long the row's port has been running, by the latest clock tick (or its result).
    pub fn row_elapsed_ms(&self, row: &PortRow) -> u64 {
        match (&row.result, self.started, self.now) {
            (Some(r), _, _) => r.elapsed_ms,
            (None, Some(start), Some(now)) if self.running => {
                let live = u64::try_from(now.saturating_duration_since(start).as_millis())
                    .unwrap_or(u64::MAX);
                live.max(row.elapsed_ms)
            }
            _ => row.elapsed_ms,
        }
    }

    /// The time limit for each port, in whole seconds, as typed (10 when unreadable).
    pub fn limit_secs(&self) -> u64 {
        self.timeout.trim().parse().unwrap_or(10)
    }
}
