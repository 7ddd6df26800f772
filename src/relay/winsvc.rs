//! The relay as a Windows service (the `windows-service` crate, Mullvad's, over the same
//! windows-sys as the rest of ScanMail): the service control manager starts
//! `scanmail relay run --service`, which hands the thread to the dispatcher; Stop and Shutdown
//! become the relay's drain; the states follow [`super::service::supervise`]. Installing makes
//! the service (account `NT AUTHORITY\LocalService`, automatic start, restart on failure), locks
//! its state folder to Administrators, SYSTEM and the service, and adds an inbound firewall rule
//! for the relay's ports from the local subnet only; removing takes both away and keeps the
//! settings. Its events go to the Application event log (source `ScanMailRelay`).

#![cfg(windows)]

use super::service::{Phase, WINDOWS_NAME, supervise};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceSidType, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

/// The firewall rule's name.
const RULE: &str = "ScanMail relay";

static CONFIG: OnceLock<PathBuf> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

/// Runs as the service (only when the service control manager started this process).
pub fn dispatch(config: &Path) -> Result<(), String> {
    let _ = CONFIG.set(config.to_path_buf());
    service_dispatcher::start(WINDOWS_NAME, ffi_service_main).map_err(|e| {
        format!("this is for the service control manager only ({e}); use scanmail relay run")
    })
}

fn svc_status(state: ServiceState, accept: ServiceControlAccept, wait: Duration) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: ServiceExitCode::Win32(0),
        checkpoint: 0,
        wait_hint: wait,
        process_id: None,
    }
}

fn service_main(_args: Vec<OsString>) {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            let _ = stop_tx.send(true);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(handle) = service_control_handler::register(WINDOWS_NAME, handler) else {
        return;
    };
    let accept = ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN;
    let _ = handle.set_service_status(svc_status(
        ServiceState::StartPending,
        ServiceControlAccept::empty(),
        Duration::from_secs(30),
    ));
    let Some(config) = CONFIG.get().cloned() else {
        return;
    };
    let mut repeats = super::service::Repeats::default();
    let mut report = move |phase: Phase, why: Option<&str>| {
        use super::bridge::{Level, notice};
        match (phase, why) {
            (Phase::Waiting(w), Some(why)) if repeats.worth_saying(why) => notice(
                Level::Error,
                &format!(
                    "The relay could not run: {}. It tries again in {} s (this is said again only when the reason changes, or after an hour).",
                    why.trim_end_matches('.'),
                    w.as_secs()
                ),
            ),
            (Phase::Running, _) => notice(Level::Info, "The relay is running."),
            (Phase::Stopping, _) => notice(
                Level::Info,
                "The relay is stopping: messages being received finish first.",
            ),
            (Phase::Stopped, _) => notice(Level::Info, "The relay stopped."),
            _ => {}
        }
        let s = match phase {
            Phase::Starting | Phase::Running | Phase::Waiting(_) => {
                svc_status(ServiceState::Running, accept, Duration::ZERO)
            }
            Phase::Stopping => svc_status(
                ServiceState::StopPending,
                ServiceControlAccept::empty(),
                Duration::from_secs(75),
            ),
            Phase::Stopped => svc_status(
                ServiceState::Stopped,
                ServiceControlAccept::empty(),
                Duration::ZERO,
            ),
        };
        let _ = handle.set_service_status(s);
    };
    let Ok(rt) = tokio::runtime::Runtime::new() else {
        report(Phase::Stopped, Some("no runtime"));
        return;
    };
    rt.block_on(supervise(
        |mut s: tokio::sync::watch::Receiver<bool>, ready: tokio::sync::oneshot::Sender<()>| {
            let config = config.clone();
            async move {
                super::run(
                    &config,
                    async move {
                        let _ = s.wait_for(|v| *v).await;
                    },
                    move |_| {
                        let _ = ready.send(());
                    },
                )
                .await
            }
        },
        stop,
        &mut report,
    ));
}

fn manager(access: ServiceManagerAccess) -> Result<ServiceManager, String> {
    ServiceManager::local_computer(None::<&str>, access)
        .map_err(|e| format!("the service manager refused ({e}). Run this as an administrator."))
}

fn netsh(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("netsh")
        .args(args)
        .output()
        .map_err(|e| crate::fsutil::plain_io(&e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Makes and starts the service, its locked state folder and its firewall rule.
pub fn install(exe: &Path, config: &Path, state: &Path) -> Result<String, String> {
    // A program only administrators can change (on Linux, copied into place first).
    let exe = super::program::place(exe)?;
    let cfg = super::config::load_unguarded(config)?;
    std::fs::create_dir_all(state).map_err(|e| crate::fsutil::plain_io(&e))?;
    // Administrators and SYSTEM: everything; users: nothing; the service's own identity
    // (NT SERVICE\ScanMailRelay, not every LocalService): change, added below by name.
    crate::winacl::lock(state, "O:BAD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)")?;
    let m = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let info = ServiceInfo {
        name: OsString::from(WINDOWS_NAME),
        display_name: OsString::from("ScanMail relay"),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe.clone(),
        launch_arguments: vec![
            "relay".into(),
            "run".into(),
            "--service".into(),
            "--config".into(),
            config.as_os_str().to_owned(),
        ],
        dependencies: vec![],
        account_name: Some(OsString::from(r"NT AUTHORITY\LocalService")),
        account_password: None,
    };
    let access = ServiceAccess::CHANGE_CONFIG
        | ServiceAccess::START
        | ServiceAccess::STOP
        | ServiceAccess::QUERY_STATUS;
    // Installed again (a repair, a new version): the same service, stopped and changed. One
    // just removed (an upgrade removes the old one first) may still be going: wait for it.
    let mut tries = 0;
    let service = loop {
        let attempt = match m.open_service(WINDOWS_NAME, access) {
            Ok(existing) => {
                stop_and_wait(&existing);
                existing.change_config(&info).map(|()| existing)
            }
            Err(_) => m.create_service(&info, access),
        };
        match attempt {
            Ok(s) => break s,
            Err(_) if tries < 30 => {
                tries += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => {
                return Err(format!(
                    "the service could not be made ({e}). Wait a minute, then try again as an administrator"
                ));
            }
        }
    };
    // Its own identity in its token, so the state folder can name it alone.
    let _ = service.set_config_service_sid_info(ServiceSidType::Unrestricted);
    let _ = std::process::Command::new("icacls")
        .arg(state)
        .args(["/grant", &format!("NT SERVICE\\{WINDOWS_NAME}:(OI)(CI)M")])
        .output();
    let _ = service.set_description(
        "Copiers on this network send scans through it to the mail provider (ScanMail).",
    );
    let restart = ServiceAction {
        action_type: ServiceActionType::Restart,
        delay: Duration::from_secs(5),
    };
    let _ = service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(86_400)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![restart.clone(), restart.clone(), restart]),
    });
    // The event log source, so its events read as written (see eventlog.rs).
    let reg = |args: &[&str]| {
        let _ = std::process::Command::new("reg").args(args).output();
    };
    reg(&[
        "add",
        super::eventlog::SOURCE_KEY,
        "/v",
        "EventMessageFile",
        "/t",
        "REG_EXPAND_SZ",
        "/d",
        super::eventlog::MESSAGE_FILE,
        "/f",
    ]);
    reg(&[
        "add",
        super::eventlog::SOURCE_KEY,
        "/v",
        "TypesSupported",
        "/t",
        "REG_DWORD",
        "/d",
        "7",
        "/f",
    ]);
    let ports: Vec<String> = cfg
        .listen_addrs()?
        .iter()
        .map(|(a, _)| a.port().to_string())
        .collect();
    // One rule, for today's ports (an old one goes first).
    let _ = netsh(&[
        "advfirewall",
        "firewall",
        "delete",
        "rule",
        &format!("name={RULE}"),
    ]);
    let rule = netsh(&[
        "advfirewall",
        "firewall",
        "add",
        "rule",
        &format!("name={RULE}"),
        "dir=in",
        "action=allow",
        "protocol=TCP",
        &format!("localport={}", ports.join(",")),
        "remoteip=localsubnet",
        // Only the service's own program gets through (a program a user starts on the same
        // port while the service is stopped does not), and only on a workplace network.
        &format!("program={}", exe.display()),
        &format!("service={WINDOWS_NAME}"),
        "profile=domain,private",
    ]);
    let started = service.start::<&str>(&[]);
    Ok(format!(
        "Installed the relay service ({WINDOWS_NAME}, as LocalService, starts with Windows){}{}",
        match started {
            Ok(()) => ", and started it.".to_string(),
            Err(e) => format!(", but it did not start ({e})."),
        },
        match rule {
            Ok(()) => format!(
                " The firewall now lets copiers on a work network (not a public one) reach {} {}.",
                if ports.len() == 1 { "port" } else { "ports" },
                ports.join(", ")
            ),
            Err(e) => format!(
                " The firewall rule could not be added ({e}): add one for the relay's ports."
            ),
        }
    ))
}

/// Asks the service to stop and waits until it has (messages being received finish: up to 90 s).
fn stop_and_wait(service: &windows_service::service::Service) {
    let stopped = |s: &windows_service::service::Service| {
        s.query_status()
            .map_or(true, |st| st.current_state == ServiceState::Stopped)
    };
    if stopped(service) {
        return;
    }
    let _ = service.stop();
    for _ in 0..180 {
        if stopped(service) {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Stops and removes the service and its firewall rule; the settings stay.
pub fn uninstall() -> Result<String, String> {
    let m = manager(ServiceManagerAccess::CONNECT)?;
    let Ok(service) = m.open_service(
        WINDOWS_NAME,
        ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
    ) else {
        return Ok("The relay service was not installed.".into());
    };
    stop_and_wait(&service);
    service
        .delete()
        .map_err(|e| format!("the service could not be removed ({e})"))?;
    let _ = netsh(&[
        "advfirewall",
        "firewall",
        "delete",
        "rule",
        &format!("name={RULE}"),
    ]);
    let _ = std::process::Command::new("reg")
        .args(["delete", super::eventlog::SOURCE_KEY, "/f"])
        .output();
    Ok("Removed the relay service and its firewall rule. Its settings and state stay.".into())
}

/// How the service stands.
pub fn status() -> super::service_state::ServiceState {
    use super::service_state::ServiceState as S;
    let m = match manager(ServiceManagerAccess::CONNECT) {
        Ok(m) => m,
        Err(e) => return S::Unknown(e.clone()),
    };
    match m
        .open_service(WINDOWS_NAME, ServiceAccess::QUERY_STATUS)
        .and_then(|s| s.query_status())
    {
        Ok(s) => match s.current_state {
            ServiceState::Running => S::Running,
            ServiceState::StartPending | ServiceState::ContinuePending => S::Starting,
            ServiceState::StopPending | ServiceState::PausePending => S::Stopping,
            _ => S::Stopped,
        },
        Err(_) => S::NotInstalled,
    }
}
