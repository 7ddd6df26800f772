//! The bridge: a relay on a computer that stays on. Copiers sign in to it on the local network
//! (each with its own login, over TLS, or in the clear only from addresses IT allows), and it
//! sends their mail on to the provider signed in with OAuth 2.0 (or a password). It stands on the
//! receiving core ([`crate::receive`]); its own rules sit in [`bridge`]. It never writes a message
//! to disk, and a copier hears `250` only after the provider took the message.
//!
//! - [`config`]: the relay's settings file.
//! - [`device`]: copiers' generated passwords and their Argon2id hashes.
//! - [`secret`]: the refresh token or password, in the keychain (or a service's private file).
//! - [`tokens`]: access tokens, refreshed ahead, one refresh at a time, rotation kept.
//! - [`upstream`]: one session with the provider.
//! - [`headers`]: the From header rewritten to the account.
//! - [`guard`]: lock-out after failed sign-ins, a per-copier rate.
//! - [`status`]: the state file and `relay status`.

pub mod app_setup;
pub mod app_token;
pub mod bridge;
pub mod card;
pub mod config;
mod config_check;
pub mod device;
#[cfg(windows)]
pub mod dpapi;
pub mod edit;
#[cfg(windows)]
pub mod eventlog;
pub mod graph;
pub mod guard;
pub mod headers;
pub mod health;
pub mod links;
pub mod log;
pub mod microsoft;
pub mod program;
pub mod refusal;
pub mod report;
pub mod secret;
pub mod service;
pub mod service_state;
pub mod status;
pub mod template;
pub mod tokens;
pub mod units;
pub mod upstream;
pub mod warnings;
#[cfg(windows)]
pub mod winsvc;

use crate::receive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How often the running relay looks for a sign-in kept by `relay sign-in`.
const SIGN_IN_LOOK: Duration = Duration::from_secs(5);

/// How long a stop lets messages being received finish.
pub const GRACE: Duration = Duration::from_secs(60);

/// Where a relay service keeps its state: systemd's state folder, else the machine-wide
/// relay folder's `state`.
pub fn service_state_dir() -> PathBuf {
    if cfg!(all(unix, not(target_os = "macos"))) {
        PathBuf::from("/var/lib/scanmail-relay")
    } else {
        config::system_dir().join("state")
    }
}

/// The folder that holds the relay's config.
pub fn config_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The folder that holds the relay's state, its own certificate and its secret file:
/// `state_dir` in relay.toml (relative to the config's folder), else beside the config.
pub fn state_dir(cfg: &config::RelayConfig, config_path: &Path) -> PathBuf {
    let dir = config_dir(config_path);
    cfg.state_dir.as_ref().map_or(dir.clone(), |s| dir.join(s))
}

/// Runs the relay until `stop` completes, then lets messages in flight finish (up to
/// [`GRACE`]). `ready` is told where it listens once the ports are open.
pub async fn run(
    config_path: &Path,
    stop: impl std::future::Future<Output = ()>,
    ready: impl FnOnce(&[String]),
) -> Result<(), String> {
    let cfg = config::load(config_path)?;
    let dir = state_dir(&cfg, config_path);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("{}: {}", dir.display(), crate::fsutil::plain_io(&e)))?;
    let status = Arc::new(status::Shared::open(status::path_for(&dir)));
    let store = secret::Store::for_config(&cfg, &dir);
    let creds = Arc::new(tokens::Credentials::new(
        cfg.upstream.clone(),
        store,
        status.clone(),
    ));
    let route = upstream::Route::new(cfg.upstream.clone())?;
    let tls = server_tls(&cfg, config_path)?;
    let mut listeners = Vec::new();
    for (addr, implicit) in cfg.listen_addrs()? {
        let tcp = match crate::listen::bind(addr.ip(), addr.port()).await {
            Ok(t) => t,
            Err(e) => {
                // Kept for `relay status` and the Relay page: why the relay is not running.
                let why = format!("The relay could not open {addr}: {e}");
                status.update(|s| s.start_problem = Some(why.clone()));
                return Err(why);
            }
        };
        listeners.push(receive::Listener { tcp, implicit });
    }
    let limits = receive::Limits {
        max_connections: cfg.max_connections.unwrap_or(32),
        max_per_address: cfg.max_connections_per_address.unwrap_or(4),
        max_message_bytes: cfg.max_message_bytes(),
        idle: Duration::from_secs(120),
        data_idle: Duration::from_secs(120),
        grace: cfg.stop_grace_seconds.map_or(GRACE, Duration::from_secs),
        sign_in_within: Some(Duration::from_secs(60)),
        ..receive::Limits::default()
    };
    let setup = receive::session::Setup {
        budget: receive::Budget::new(limits.memory_budget),
        limits,
        tls,
    };
    let shared = Arc::new(bridge::Shared::new(
        cfg,
        config_path.to_path_buf(),
        route,
        creds.clone(),
        status.clone(),
    ));
    let door_shared = shared.clone();
    let mut running = receive::start(listeners, setup, move |peer: &receive::server::Peer| {
        let ip = peer.addr.ip();
        if door_shared.guard.locked(ip) {
            return Err(format!("421 {}", guard::LOCKED_REPLY));
        }
        Ok(bridge::Bridge::new(door_shared.clone(), ip))
    });
    let listening: Vec<String> = running
        .local
        .iter()
        .map(|(a, implicit)| {
            if *implicit {
                format!("{a} (SSL/TLS)")
            } else {
                format!("{a} (STARTTLS)")
            }
        })
        .collect();
    status.update(|s| s.listening.clone_from(&listening));
    status.update(|s| s.start_problem = None);
    status.heartbeat(true);
    bridge::log(&format!("listening on {}", listening.join(", ")));
    ready(&listening);
    let fresh = tokio::spawn(tokens::keep_fresh(creds.clone()));
    let health = tokio::spawn(health::watch(shared.clone()));
    let beat_status = status.clone();
    let beat_creds = creds.clone();
    let beat = tokio::spawn(async move {
        // Every few seconds: a sign-in `relay sign-in` kept since is taken at once; every
        // minute: the heartbeat.
        let mut ticks = 0u32;
        loop {
            tokio::time::sleep(SIGN_IN_LOOK).await;
            if beat_status.pick_up_sign_in() {
                bridge::log("a new sign-in was kept (relay sign-in): the relay uses it now");
                beat_creds.new_sign_in().await;
            }
            ticks += 1;
            if u64::from(ticks) * SIGN_IN_LOOK.as_secs() >= 60 {
                ticks = 0;
                beat_status.heartbeat(true);
            }
        }
    });
    tokio::pin!(stop);
    let mut stopping = false;
    loop {
        tokio::select! {
            () = &mut stop, if !stopping => {
                stopping = true;
                bridge::log("stopping: no new connections; messages being received may finish");
                running.stop();
            }
            e = running.events.recv() => match e {
                Some(receive::Served::Stopped) | None => break,
                Some(_) => {}
            }
        }
    }
    fresh.abort();
    beat.abort();
    health.abort();
    // Drafts left in Microsoft Graph by messages cut off at the stop are deleted first.
    graph::cleaned_up(Duration::from_secs(10)).await;
    status.update(|s| s.listening.clear());
    status.heartbeat(false);
    bridge::log("stopped");
    Ok(())
}

/// The relay's certificate: the config's, else one made once and kept beside the config (its
/// key readable by the owner only).
fn server_tls(
    cfg: &config::RelayConfig,
    config_path: &Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = state_dir(cfg, config_path);
    let (cert, key) = match (&cfg.certificate, &cfg.key) {
        (Some(c), Some(k)) => (
            config_dir(config_path).join(c),
            config_dir(config_path).join(k),
        ),
        (None, None) => {
            let (c, k) = (dir.join("relay-cert.pem"), dir.join("relay-key.pem"));
            if !c.exists() || !k.exists() {
                make_certificate(&c, &k)?;
            }
            (c, k)
        }
        _ => return Err("give both certificate and key in relay.toml, or neither".into()),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(Iterator::collect)
        .map_err(|e| {
            format!(
                "{}: the certificate could not be read ({e})",
                cert.display()
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("{}: the key could not be read ({e})", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the relay's certificate and key do not fit together ({e})"))?;
    Ok(Arc::new(config))
}

/// A self-signed certificate for this computer's names and addresses, valid ten years.
pub fn make_certificate(cert: &Path, key: &Path) -> Result<(), String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let host = crate::smtp::connect::hello_name();
    if !host.is_empty() {
        names.push(host);
    }
    if let Some(ip) = crate::listen::this_computer() {
        names.push(ip.to_string());
    }
    let err = |e: rcgen::Error| format!("the relay's certificate could not be made ({e})");
    let key_pair = rcgen::KeyPair::generate().map_err(err)?;
    let mut params = rcgen::CertificateParams::new(names).map_err(err)?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ScanMail relay");
    let c = params.self_signed(&key_pair).map_err(err)?;
    let write = |p: &Path, bytes: &[u8], mode: u32| {
        crate::fsutil::write_atomic_mode(p, bytes, mode)
            .map_err(|e| format!("{}: {}", p.display(), crate::fsutil::plain_io(&e)))
    };
    write(key, key_pair.serialize_pem().as_bytes(), 0o600)?;
    write(cert, c.pem().as_bytes(), 0o644)?;
    Ok(())
}
