//! The relay as a service, started at boot, restarted on failure, stopped cleanly (messages in
//! flight finish): a systemd unit (Linux), a LaunchDaemon (macOS), a Windows service (`winsvc`).
//! [`supervise`] is what a service manager's start and stop mean for the relay, the same on every
//! system: run it, say when it listens, and when it fails (no config yet, the port still taken
//! at boot) wait and try again, longer each time, until told to stop.

use std::future::Future;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// Says a failure again only when its reason changed or an hour passed (a relay that waits for
/// its sign-in must not write a line a minute, all day).
#[derive(Debug, Default)]
pub struct Repeats {
    last: Option<(String, std::time::Instant)>,
}

impl Repeats {
    pub fn worth_saying(&mut self, why: &str) -> bool {
        let now = std::time::Instant::now();
        let say = match &self.last {
            Some((w, at)) => w != why || now.duration_since(*at) >= Duration::from_secs(3600),
            None => true,
        };
        if say {
            self.last = Some((why.to_string(), now));
        }
        say
    }
}

/// The systemd unit's name.
pub const UNIT: &str = "scanmail-relay";
/// The launchd label.
pub const LABEL: &str = "org.scanmail.relay";
/// The Windows service's name.
pub const WINDOWS_NAME: &str = "ScanMailRelay";

/// Where the service stands, for the service manager and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    /// Listening.
    Running,
    /// Stopping: messages in flight finish.
    Stopping,
    /// The relay failed; the next try comes after this wait.
    Waiting(Duration),
    Stopped,
}

/// The first wait after a failure, and the longest.
pub const FIRST_WAIT: Duration = Duration::from_secs(5);
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// Runs `start` until `stop` turns true. `start` gets the stop signal and a sender to call when
/// it listens; `Err` from it (with its reason) means: wait, then start again.
pub async fn supervise<S, Fut>(
    mut start: S,
    mut stop: watch::Receiver<bool>,
    report: &mut (dyn FnMut(Phase, Option<&str>) + Send),
) where
    S: FnMut(watch::Receiver<bool>, oneshot::Sender<()>) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut wait = FIRST_WAIT;
    loop {
        if *stop.borrow() {
            report(Phase::Stopped, None);
            return;
        }
        report(Phase::Starting, None);
        let (ready_tx, mut ready_rx) = oneshot::channel();
        let run = start(stop.clone(), ready_tx);
        tokio::pin!(run);
        let mut ready_seen = false;
        let mut stopping = false;
        let result = loop {
            tokio::select! {
                r = &mut run => break r,
                said = &mut ready_rx, if !ready_seen => {
                    ready_seen = true;
                    if said.is_ok() {
                        wait = FIRST_WAIT;
                        report(Phase::Running, None);
                    }
                }
                Ok(_) = stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    report(Phase::Stopping, None);
                }
            }
        };
        match result {
            Ok(()) => {
                report(Phase::Stopped, None);
                return;
            }
            Err(why) => {
                report(Phase::Waiting(wait), Some(&why));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => {
                        report(Phase::Stopped, None);
                        return;
                    }
                }
                wait = (wait * 2).min(LONGEST_WAIT);
            }
        }
    }
}

/// The Linux service's own system account (made by `install-service`).
pub const SYSTEM_USER: &str = "scanmail-relay";

pub use super::units::{launchd_plist, systemd_unit};

/// Where this system keeps the service's definition.
pub fn definition_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from(format!("/Library/LaunchDaemons/{LABEL}.plist"))
    } else {
        PathBuf::from(format!("/etc/systemd/system/{UNIT}.service"))
    }
}

#[cfg(unix)]
fn command(program: &str, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program} could not run ({})", crate::fsutil::plain_io(&e)))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "{program} {} said: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether this process may install a service (it can write where the definition goes).
#[cfg(unix)]
pub fn may_install() -> bool {
    definition_path()
        .parent()
        .is_some_and(|d| tempfile::tempfile_in(d).is_ok())
}

/// Linux: the service's system account, made when missing; its user and group ids.
#[cfg(unix)]
fn system_user() -> Result<(u32, u32), String> {
    if command("id", &["-u", SYSTEM_USER]).is_err() {
        command(
            "useradd",
            &[
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/var/lib/scanmail-relay",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "ScanMail relay",
                SYSTEM_USER,
            ],
        )?;
    }
    let id = |flag: &str| {
        command("id", &[flag, SYSTEM_USER])
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
            .ok_or_else(|| format!("the account {SYSTEM_USER} could not be found"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// Installs (or installs again) and starts the service, as an administrator. `state` is the
/// service's state folder. Returns what was done, in words.
#[cfg(unix)]
pub fn install(exe: &Path, config: &Path, state: &Path) -> Result<String, String> {
    // A program only administrators can change (on Linux, copied into place first).
    let exe = super::program::place(exe)?;
    let path = definition_path();
    let text = if cfg!(target_os = "macos") {
        launchd_plist(&exe, config)
    } else {
        let (uid, gid) = system_user()?;
        // The state folder and what is in it belong to the service's account.
        let _ = std::os::unix::fs::chown(state, Some(uid), Some(gid));
        if let Ok(entries) = std::fs::read_dir(state) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = std::os::unix::fs::lchown(e.path(), Some(uid), Some(gid));
                }
            }
        }
        systemd_unit(&exe, config).ok_or_else(|| {
            "the settings' path has characters a service cannot use. Move relay.toml to a plain path".to_string()
        })?
    };
    crate::fsutil::write_atomic_mode(&path, text.as_bytes(), 0o644).map_err(|e| {
        format!(
            "{} could not be written ({}). Run this as an administrator (sudo)",
            path.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    let started = if cfg!(target_os = "macos") {
        // A second install: the old job goes first, or bootstrap refuses.
        let _ = command("launchctl", &["bootout", &format!("system/{LABEL}")]);
        command(
            "launchctl",
            &["bootstrap", "system", &path.display().to_string()],
        )
    } else {
        let unit = format!("{UNIT}.service");
        command("systemctl", &["daemon-reload"])
            .and_then(|_| command("systemctl", &["enable", &unit]))
            .and_then(|_| command("systemctl", &["restart", &unit]))
    };
    Ok(match started {
        Ok(_) => format!(
            "Installed and started the relay service ({}).",
            path.display()
        ),
        Err(e) => format!(
            "Wrote {}, but the service manager could not start it: {e}. See why: {}",
            path.display(),
            log_hint()
        ),
    })
}

/// Where to read the service's own log.
pub fn log_hint() -> &'static str {
    if cfg!(target_os = "macos") {
        "sudo launchctl print system/org.scanmail.relay, and /Library/Logs/scanmail-relay.log"
    } else if cfg!(windows) {
        "Event Viewer, Windows Logs, Application, source ScanMailRelay"
    } else {
        "journalctl -u scanmail-relay -e"
    }
}

/// Stops and removes the service; the config, its state and its secret stay.
#[cfg(unix)]
pub fn uninstall() -> Result<String, String> {
    let path = definition_path();
    if cfg!(target_os = "macos") {
        let _ = command("launchctl", &["bootout", &format!("system/{LABEL}")]);
    } else {
        let _ = command(
            "systemctl",
            &["disable", "--now", &format!("{UNIT}.service")],
        );
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok("The relay service was not installed.".into());
        }
        Err(e) => {
            return Err(format!(
                "{} could not be removed ({}). Run this as an administrator (sudo).",
                path.display(),
                crate::fsutil::plain_io(&e)
            ));
        }
    }
    if !cfg!(target_os = "macos") {
        let _ = command("systemctl", &["daemon-reload"]);
    }
    Ok("Removed the relay service. Its settings and state stay.".into())
}

/// How the service stands ([`super::service_state::ServiceState::words`] for the words).
#[cfg(unix)]
pub fn status() -> super::service_state::ServiceState {
    use super::service_state::ServiceState;
    if !definition_path().exists() {
        return ServiceState::NotInstalled;
    }
    if cfg!(target_os = "macos") {
        return match command("launchctl", &["print", &format!("system/{LABEL}")]) {
            Ok(t) if t.contains("state = running") => ServiceState::Running,
            Ok(_) => ServiceState::Stopped,
            Err(_) => ServiceState::NotLoaded,
        };
    }
    let said = std::process::Command::new("systemctl")
        .args(["is-active", &format!("{UNIT}.service")])
        .output();
    match said {
        Err(e) => ServiceState::Unknown(crate::fsutil::plain_io(&e)),
        Ok(o) => match String::from_utf8_lossy(&o.stdout).trim() {
            "active" => ServiceState::Running,
            "activating" | "reloading" => ServiceState::Starting,
            "deactivating" => ServiceState::Stopping,
            "failed" => ServiceState::Failed,
            _ => ServiceState::Stopped,
        },
    }
}

#[cfg(windows)]
pub use super::winsvc::{install, status, uninstall};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<Phase>>>;

    fn recorder(log: &Log) -> impl FnMut(Phase, Option<&str>) + Send + use<> {
        let log = log.clone();
        move |p, _| log.lock().unwrap().push(p)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_lets_the_relay_finish_and_then_it_is_stopped() {
        let (stop_tx, stop) = watch::channel(false);
        let log = Log::default();
        let mut report = recorder(&log);
        let run = supervise(
            |mut s: watch::Receiver<bool>, ready: oneshot::Sender<()>| async move {
                let _ = ready.send(());
                let _ = s.wait_for(|v| *v).await;
                // Messages in flight finish before it returns.
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok(())
            },
            stop,
            &mut report,
        );
        let stopper = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = stop_tx.send(true);
        };
        tokio::join!(run, stopper);
        assert_eq!(
            *log.lock().unwrap(),
            [
                Phase::Starting,
                Phase::Running,
                Phase::Stopping,
                Phase::Stopped
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_tried_again_later_each_time_and_a_stop_ends_the_wait() {
        let (stop_tx, stop) = watch::channel(false);
        let log = Log::default();
        let mut report = recorder(&log);
        let tries = Arc::new(Mutex::new(0));
        let t = tries.clone();
        let run = supervise(
            move |_s, _ready| {
                let t = t.clone();
                async move {
                    *t.lock().unwrap() += 1;
                    Err("port 2525 is taken".to_string())
                }
            },
            stop,
            &mut report,
        );
        let stopper = async {
            tokio::time::sleep(Duration::from_secs(16)).await;
            let _ = stop_tx.send(true);
        };
        tokio::join!(run, stopper);
        assert_eq!(*tries.lock().unwrap(), 3, "at 0 s, 5 s and 15 s");
        assert_eq!(
            *log.lock().unwrap(),
            [
                Phase::Starting,
                Phase::Waiting(Duration::from_secs(5)),
                Phase::Starting,
                Phase::Waiting(Duration::from_secs(10)),
                Phase::Starting,
                Phase::Waiting(Duration::from_secs(20)),
                Phase::Stopped
            ]
        );
    }

    #[test]
    fn the_unit_and_the_plist_name_the_program_and_the_settings() {
        let unit = systemd_unit(
            Path::new("/usr/bin/scanmail"),
            Path::new("/etc/scanmail/relay 1/50% relay.toml"),
        )
        .unwrap();
        assert!(unit.contains(
            "ExecStart=\"/usr/bin/scanmail\" relay run --service --config \"/etc/scanmail/relay 1/50%% relay.toml\"\n"
        ));
        assert!(
            systemd_unit(
                Path::new("/usr/bin/scanmail"),
                Path::new("/etc/a\nUser=root")
            )
            .is_none()
        );
        for key in [
            "User=scanmail-relay",
            "StateDirectory=scanmail-relay",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "Restart=on-failure",
        ] {
            assert!(unit.contains(key), "{key}");
        }
        let plist = launchd_plist(
            Path::new("/Applications/ScanMail.app/Contents/MacOS/ScanMail"),
            Path::new("/Library/Application Support/ScanMail/relay/relay.toml"),
        );
        assert!(
            plist.contains("<key>KeepAlive</key><true/>")
                && plist.contains("<string>--service</string>")
        );
    }
}
