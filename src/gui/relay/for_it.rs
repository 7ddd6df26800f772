//! The message for IT: what the Relay page cannot do by itself, in one text with the commands
//! as typed on this system.

use super::State;
use crate::relay::{config::RelayConfig, status};

impl State {
    /// What IT needs to hear when this page cannot go on by itself.
    pub fn message_for_it(&self) -> String {
        if let Some(m) = &self.for_it {
            return m.clone();
        }
        let typed = crate::typed::typed;
        match &self.config {
            Some(Err(e)) if e.contains("is not used") => typed(&format!(
                "ScanMail's relay settings on this computer ({}) are not used: {e} Please make the file and its folder changeable by administrators only. {}",
                self.config_path.display(),
                if cfg!(windows) {
                    "Running the ScanMail installer again (Repair) resets them."
                } else {
                    "For example: sudo chown root FILE FOLDER, then sudo chmod go-w FILE FOLDER."
                }
            )),
            Some(Err(e)) => typed(&format!(
                "ScanMail's relay settings on this computer ({}) could not be read: {e}. Please fix the file (see what is wrong: scanmail relay test), or move it away and set the relay up again: scanmail relay init --account ADDRESS",
                self.config_path.display()
            )),
            Some(Ok(cfg)) => {
                // Both at once (an old copier found, and the relay not running): one message.
                let old = self
                    .old_copier
                    .as_ref()
                    .map(|o| old_copier_for_it(o, &self.config_path));
                match (old, self.down_for_it()) {
                    (Some(o), Some(d)) => return format!("{d}\n\n{o}"),
                    (Some(m), None) | (None, Some(m)) => return m,
                    (None, None) => {}
                }
                if let Some(why) = self
                    .unreadable
                    .as_deref()
                    .filter(|w| !w.starts_with("Only an administrator"))
                {
                    return typed(&format!(
                        "ScanMail cannot read how its relay on this computer is doing: {why}"
                    ));
                }
                if let Some(m) = self.needs_it(cfg).filter(|_| self.unreadable.is_none()) {
                    return m;
                }
                if self.unreadable.is_some() {
                    return typed(&format!(
                        "Please look at ScanMail's relay on this computer (it sends as {}): how it runs and its copiers' messages. As an administrator, run: scanmail relay status",
                        cfg.upstream.account.trim()
                    ));
                }
                typed(
                    "Please look at ScanMail's relay on this computer: scanmail relay status, then scanmail relay test.",
                )
            }
            None => typed(
                "Please set up ScanMail's relay on this computer, so our copiers can keep sending when they cannot sign in to the mail provider themselves. The steps are in ScanMail's guide for IT (docs/relay.md). First: scanmail relay init --account ADDRESS. For Microsoft 365: scanmail relay microsoft-app. Run the script it writes, then: scanmail relay sign-in --client-id ID. Other providers instead: scanmail relay sign-in. Last: scanmail relay install-service.",
            ),
        }
    }

    /// What IT must act on in a running relay (its warnings, and refusals only IT can fix), as
    /// one message; `None` when nothing needs IT.
    pub(super) fn needs_it(&self, cfg: &RelayConfig) -> Option<String> {
        let report = status::report(cfg, &self.state, crate::time::now_unix());
        let mut items: Vec<String> = report.warnings.clone();
        for d in &report.devices {
            // Its last message failed: the words (the provider's, the sign-in's), with the fix.
            if let (None, Some(e)) = (d.refusal, &d.last_error) {
                items.push(format!("Copier {}, its last message: {e}", d.name));
            }
        }
        for d in report.devices.iter().chain(&report.strangers) {
            if let (Some(r), Some(fix)) = (d.refusal, &d.fix)
                && r.needs_it()
            {
                items.push(format!(
                    "The relay turned away {}: {} Please: {fix}",
                    d.name,
                    d.last_error.as_deref().unwrap_or_default()
                ));
            }
        }
        (!items.is_empty()).then(|| {
            crate::typed::typed(&format!(
                "ScanMail's relay on this computer (it sends as {}) needs a look:\n- {}",
                cfg.upstream.account.trim(),
                items.join("\n- ")
            ))
        })
    }

    /// True when IT must act (a warning, a refusal staff cannot mend); false when staff's own
    /// step may still do (a wrong password, the certificate check, one message that failed:
    /// three refused in a row are a warning).
    pub(super) fn it_must_act(&self, cfg: &RelayConfig) -> bool {
        let report = status::report(cfg, &self.state, crate::time::now_unix());
        !report.warnings.is_empty()
            || report
                .devices
                .iter()
                .chain(&report.strangers)
                .any(|d| d.refusal.is_some_and(|r| r.staff_step().is_none()))
    }

    /// The message for IT about a relay that is not running, when only IT can fix its cause.
    fn down_for_it(&self) -> Option<String> {
        let cfg = self.config()?;
        let running = status::report(cfg, &self.state, crate::time::now_unix()).running;
        if running || self.unreadable.is_some() {
            return None;
        }
        self.down().for_it
    }
}

/// The message for IT about a copier too old for encryption: let it in without encryption, on
/// this network only.
pub(super) fn old_copier_for_it(
    o: &crate::gui::copier_check::OldCopier,
    config: &std::path::Path,
) -> String {
    crate::typed::typed(&format!(
        "ScanMail's copier check found a copier at {addr} that knows only old encryption ({v}), which the mail provider and ScanMail's relay refuse. Please let it send through the relay without encryption, on our network only: add allow_plain_from = [\"{addr}\"] to {config} (the relay reads it at the next connection). Staff then add the copier on ScanMail's Relay page with this address; its card then says Security: None.",
        addr = o.address,
        v = o.version,
        config = config.display()
    ))
}
