//! How the relay's service stands, and the next step for each state, on each system
//! (`relay service-status`, the Relay page).

use super::service::{LABEL, UNIT, WINDOWS_NAME};
use crate::typed::System;

/// The service as its system's service manager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    NotInstalled,
    Running,
    Starting,
    Stopping,
    /// Installed, not running (stopped by someone, or never started).
    Stopped,
    /// Stopped after a failure (systemd's "failed").
    Failed,
    /// macOS: the daemon's file is there, but launchd has not loaded it.
    NotLoaded,
    /// The service manager could not be asked: why.
    Unknown(String),
}

impl ServiceState {
    /// `relay service-status`'s exit status: 0 running (or starting), 3 not running or not
    /// installed, 4 unknown (as the LSB init scripts' status).
    pub fn exit_code(&self) -> i32 {
        match self {
            ServiceState::Running | ServiceState::Starting => 0,
            ServiceState::Unknown(_) => 4,
            _ => 3,
        }
    }

    /// For a service that seems stuck: where to see why, and how to start it again.
    pub fn stuck_words(&self) -> String {
        let (why, start) = Self::why_and_start(System::this());
        format!("Please see why: {why}. Then start it again: {start}")
    }

    /// For a service that runs but does not work: why, then a restart.
    pub fn restart_words(&self) -> String {
        let (why, start) = Self::why_and_start(System::this());
        format!("Please see why: {why}. When that is mended, restart it: {start}")
    }

    fn why_and_start(system: System) -> (String, String) {
        let why = match system {
            System::Windows => {
                format!("Get-WinEvent -ProviderName {WINDOWS_NAME} -MaxEvents 20 | Format-List")
            }
            System::MacOs => "tail -n 50 /Library/Logs/scanmail-relay.log".to_string(),
            System::Linux => format!("journalctl -u {UNIT} -n 50"),
        };
        let start = match system {
            System::Windows => format!("Start-Service {WINDOWS_NAME}"),
            System::MacOs => format!("sudo launchctl kickstart -k system/{LABEL}"),
            System::Linux => format!("sudo systemctl restart {UNIT}"),
        };
        (why, start)
    }

    /// In words, with the next step, on this system.
    pub fn words(&self) -> String {
        self.words_for(System::this())
    }

    pub fn words_for(&self, system: System) -> String {
        let admin = match system {
            System::Windows => "In PowerShell opened as an administrator, run",
            System::MacOs => "In Terminal, run",
            System::Linux => "Run",
        };
        let (why, start) = Self::why_and_start(system);
        let typed = |s: &str| crate::typed::typed_for(system, s);
        match self {
            ServiceState::NotInstalled => typed(&format!(
                "The relay service is not installed. {admin}: scanmail relay install-service"
            )),
            ServiceState::Running => typed(
                "The relay service is installed and running. See how it stands: scanmail relay status",
            ),
            ServiceState::Starting | ServiceState::Stopping => {
                let what = if *self == ServiceState::Starting {
                    "starting"
                } else {
                    "stopping"
                };
                typed(&format!(
                    "The relay service is {what}. Look again in a minute: scanmail relay service-status"
                ))
            }
            ServiceState::Stopped => format!(
                "The relay service is installed, but it is not running. Start it. {admin}: {start}. If it stops again, see why: {why}"
            ),
            ServiceState::Failed => format!(
                "The relay service stopped after a failure. See why: {why}. Then start it again: {start}"
            ),
            ServiceState::NotLoaded => format!(
                "The relay service is installed, but macOS has not loaded it. {admin}: sudo launchctl bootstrap system /Library/LaunchDaemons/{LABEL}.plist"
            ),
            ServiceState::Unknown(e) => match system {
                System::Windows => format!(
                    "Windows could not say how the relay service stands ({e}). In PowerShell, run: Get-Service {WINDOWS_NAME}"
                ),
                System::MacOs => format!(
                    "macOS could not say how the relay service stands ({e}). In Terminal, run: sudo launchctl print system/{LABEL}"
                ),
                System::Linux => format!(
                    "The system could not say how the relay service stands ({e}). Run: systemctl status {UNIT}"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_names_a_next_step_on_every_system() {
        let states = [
            ServiceState::NotInstalled,
            ServiceState::Running,
            ServiceState::Starting,
            ServiceState::Stopping,
            ServiceState::Stopped,
            ServiceState::Failed,
            ServiceState::NotLoaded,
            ServiceState::Unknown("it did not answer".into()),
        ];
        for system in [System::Windows, System::MacOs, System::Linux] {
            for s in &states {
                if *s == ServiceState::NotLoaded && system != System::MacOs {
                    continue; // launchd's own state
                }
                let w = s.words_for(system);
                // A command to type comes after a colon.
                let markers: &[&str] = match system {
                    System::Windows => &[": & \"", ": Start-Service", ": Get-"],
                    System::MacOs => &[": sudo ", ": /Applications/", ": tail "],
                    System::Linux => &[": sudo ", ": scanmail ", ": journalctl", ": systemctl"],
                };
                assert!(
                    markers.iter().any(|m| w.contains(m)),
                    "{system:?} {s:?}: {w}"
                );
                // Each system's own commands, never another's.
                match system {
                    System::Windows => {
                        assert!(!w.contains("sudo") && !w.contains("systemctl"), "{w}");
                    }
                    System::MacOs => {
                        assert!(!w.contains("systemctl") && !w.contains("PowerShell"), "{w}");
                    }
                    System::Linux => {
                        assert!(!w.contains("launchctl") && !w.contains("PowerShell"), "{w}");
                    }
                }
            }
        }
        assert_eq!(
            ServiceState::NotInstalled.words_for(System::Windows),
            r#"The relay service is not installed. In PowerShell opened as an administrator, run: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay install-service"#
        );
        assert_eq!(
            ServiceState::NotInstalled.words_for(System::Linux),
            "The relay service is not installed. Run: sudo scanmail relay install-service"
        );
        assert!(
            ServiceState::Stopped
                .words_for(System::Windows)
                .contains("Start-Service ScanMailRelay")
        );
        assert_eq!(ServiceState::Running.exit_code(), 0);
        assert_eq!(ServiceState::Stopped.exit_code(), 3);
        assert_eq!(ServiceState::NotInstalled.exit_code(), 3);
        assert_eq!(ServiceState::Unknown(String::new()).exit_code(), 4);
    }
}
