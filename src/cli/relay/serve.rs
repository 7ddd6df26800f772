//! `relay run`: the relay in the foreground, or (`--service`) under the service manager.

use super::super::BadInput;
use super::*;

pub(super) fn run(path: &Path, out: &mut dyn Write) -> Result<i32, BadInput> {
    let rt = runtime()?;
    let result = rt.block_on(relay::run(path, stop_signal(), |listening| {
        let _ = writeln!(
            out,
            "The relay is running on {}. Ctrl-C stops it.",
            listening.join(", ")
        );
        let _ = out.flush();
    }));
    match result {
        Ok(()) => Ok(0),
        Err(e) => Err(BadInput(e)),
    }
}

/// The service's way to run: supervised (a failure waits and tries again), stopped by the
/// service manager. On Windows the service control manager's dispatcher takes over.
pub(super) fn run_service(path: &Path) -> Result<i32, BadInput> {
    #[cfg(windows)]
    {
        relay::winsvc::dispatch(path).map_err(BadInput)?;
        Ok(0)
    }
    #[cfg(not(windows))]
    {
        let rt = runtime()?;
        rt.block_on(async {
            let (stop_tx, stop) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                stop_signal().await;
                let _ = stop_tx.send(true);
            });
            let mut repeats = relay::service::Repeats::default();
            let mut report = |phase: relay::service::Phase, why: Option<&str>| {
                let words = match (phase, why) {
                    (relay::service::Phase::Waiting(w), Some(why)) => {
                        if !repeats.worth_saying(why) {
                            return;
                        }
                        format!("could not run ({why}); trying again in {} s", w.as_secs())
                    }
                    (p, _) => format!("{p:?}").to_lowercase(),
                };
                relay::bridge::log(&format!("service: {words}"));
            };
            let path = path.to_path_buf();
            relay::service::supervise(
                |mut s: tokio::sync::watch::Receiver<bool>,
                 ready: tokio::sync::oneshot::Sender<()>| {
                    let path = path.clone();
                    async move {
                        relay::run(
                            &path,
                            async move {
                                let _ = s.wait_for(|v| *v).await;
                            },
                            move |listening| {
                                relay::bridge::log(&format!(
                                    "service: listening on {}",
                                    listening.join(", ")
                                ));
                                let _ = ready.send(());
                            },
                        )
                        .await
                    }
                },
                stop,
                &mut report,
            )
            .await;
        });
        Ok(0)
    }
}

/// Ctrl-C, or SIGTERM (how services are stopped).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
