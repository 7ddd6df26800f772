//! Why the relay is not running here, and the fix for that cause: it could not start (a port
//! another program holds), its service is installed but stopped, or there is no service yet.

use super::Message;
use crate::relay::service_state::ServiceState;

/// What the page says about a relay that is not running, and what it offers.
#[derive(Debug, Clone)]
pub struct Down {
    pub said: String,
    /// The button that fixes it (its label and message), when this computer can.
    pub button: Option<(&'static str, Message)>,
    /// The message for IT, when only IT can fix it.
    pub for_it: Option<String>,
}

/// The cause, from the state file's start problem and the service manager. Staff read plain
/// words; the system's own error is in the message for IT.
pub fn down(start_problem: Option<&str>, service: &ServiceState, config: &str) -> Down {
    if let Some(p) = start_problem {
        return Down {
            said: "The relay could not start: another program may use its port. Send IT the message below.".into(),
            button: None,
            for_it: Some(format!(
                "ScanMail's relay on this computer could not start: {p}. Please free that port, or give the relay another one (listen in {config}). The service tries again by itself within a minute."
            )),
        };
    }
    match service {
        ServiceState::NotInstalled => Down {
            said: "The relay is not running on this computer. Install it as a service: it then starts with the computer.".into(),
            button: Some(("Install it as a service", Message::InstallService)),
            for_it: None,
        },
        ServiceState::Starting => Down {
            said: "The relay's service is starting. This page shows it running in a moment. If it still says this after 2 minutes, send IT the message below.".into(),
            button: None,
            for_it: Some(format!(
                "ScanMail's relay service on this computer has said it is starting for a while. {}",
                service.stuck_words()
            )),
        },
        // The service manager says it runs, but the relay in it has not written its state for
        // 3 minutes: it did not start (a certificate file missing, settings it refused).
        ServiceState::Running => Down {
            said: "The relay's service runs, but the relay in it did not start. Send IT the message below.".into(),
            button: None,
            for_it: Some(crate::typed::typed(&format!(
                "ScanMail's relay service on this computer runs, but the relay in it has not reported that it started. {}. To see what its settings lack, run: scanmail relay test",
                service.restart_words()
            ))),
        },
        ServiceState::Unknown(e) => Down {
            said: "The relay is not running, and this computer could not say why. Send IT the message below.".into(),
            button: None,
            for_it: Some(format!(
                "ScanMail's relay is not running on this computer, and the service manager could not say why ({e}). {}",
                service.stuck_words()
            )),
        },
        // Installed but not running (stopped, failed, not loaded, stopping).
        other => Down {
            said: format!(
                "The relay's service is installed, but it is not running{}. Start it again (an administrator's step). If it stops again, send IT the message below.",
                if *other == ServiceState::Failed {
                    ": it stopped after a problem"
                } else {
                    ""
                }
            ),
            button: Some(("Start the relay", Message::InstallService)),
            for_it: Some(other.words()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_that_runs_without_its_relay_goes_to_it_not_round_in_a_circle() {
        let d = down(
            None,
            &ServiceState::Running,
            "/etc/scanmail/relay/relay.toml",
        );
        assert!(d.said.contains("did not start"), "{}", d.said);
        assert!(d.button.is_none(), "a restart would fail the same way");
        let it = d.for_it.unwrap();
        assert!(
            it.contains("runs, but the relay in it has not reported that it started")
                && it.contains("relay test")
                && !it.contains("installed and running"),
            "{it}"
        );
    }
}
