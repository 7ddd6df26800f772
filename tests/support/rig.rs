//! A relay on loopback for the tests: a scripted provider (playing Microsoft 365), the local
//! identity provider, a relay.toml in a temporary folder, copiers added with the command line,
//! and the relay itself running in this process.

use super::idp::{self, Idp, Outcome};
use super::{Cert, Mode, Peer, Pki, Script, USER};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_scanmail");
pub const PATIENCE: Duration = Duration::from_secs(120);

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub peer: Peer,
    pub idp: Idp,
    _pki: Pki,
    pub port: u16,
    pub tls_port: u16,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

/// Copiers' passwords, by name, as `add-device` printed them once.
pub type Devices = Vec<(String, String)>;

pub fn scanmail(args: &[&str], config: &Path) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("SCANMAIL_NO_BROWSER", "1")
        .output()
        .unwrap()
}

pub fn add_device(config: &Path, name: &str, more: &[&str]) -> String {
    let mut args = vec!["relay", "add-device", name, "--json"];
    args.extend_from_slice(more);
    let out = scanmail(&args, config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["login"], name);
    v["password"].as_str().unwrap().to_string()
}

impl Rig {
    /// A relay in front of `script` (playing Microsoft 365), signed in, with `extra` lines in
    /// relay.toml and the devices given (name, extra add-device flags).
    pub async fn start(script: Script, extra: &str, devices: &[(&str, &[&str])]) -> (Rig, Devices) {
        let (mut rig, added) = Rig::prepare(script, extra, devices).await;
        rig.run().await;
        (rig, added)
    }

    /// The same, not yet running.
    pub async fn prepare(
        script: Script,
        extra: &str,
        devices: &[(&str, &[&str])],
    ) -> (Rig, Devices) {
        let pki = Pki::new();
        let peer = Peer::start(Mode::Plain, script, pki.server_config(Cert::Good)).await;
        let idp = Idp::start(Outcome::ApproveAfter(0)).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = pki.ca_file(dir.path());
        let config = dir.path().join("relay.toml");
        std::fs::write(
            &config,
            format!(
                r#"# the relay for the tests
listen = ["127.0.0.1:0"]
listen_tls = ["127.0.0.1:0"]
max_connections = 64
max_connections_per_address = 8
{extra}

[upstream]
provider = "microsoft"
account = "{USER}"
auth = "oauth"
server = "127.0.0.1"
port = {port}
security = "starttls"
ca_file = "{ca}"
secrets = "file"

[upstream.oauth.microsoft]
client_id = "{client}"
tenant = "test.example.edu"
authority = "{base}"
"#,
                port = peer.port,
                ca = ca.display(),
                client = idp::CLIENT_ID,
                base = idp.base(),
            ),
        )
        .unwrap();
        // Signed in as `relay sign-in` leaves it: the refresh token in the relay's secret file.
        std::fs::write(dir.path().join("relay-secret"), idp::REFRESH).unwrap();
        let mut added = Vec::new();
        for (name, more) in devices {
            added.push((name.to_string(), add_device(&config, name, more)));
        }
        let rig = Rig {
            dir,
            config,
            peer,
            idp,
            _pki: pki,
            port: 0,
            tls_port: 0,
            stop: None,
            task: None,
        };
        (rig, added)
    }

    pub async fn run(&mut self) {
        let (task, stop, listening) = spawn_relay(&self.config).await;
        (self.task, self.stop) = (Some(task), Some(stop));
        self.port = port_of(&listening, "STARTTLS");
        self.tls_port = port_of(&listening, "SSL/TLS");
    }

    pub async fn stop(&mut self) -> Result<(), String> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(t) => tokio::time::timeout(PATIENCE, t).await.unwrap().unwrap(),
            None => Ok(()),
        }
    }

    pub fn cert(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("relay-cert.pem")).unwrap()
    }

    pub fn status(&self) -> serde_json::Value {
        let out = scanmail(&["relay", "status", "--json"], &self.config);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

pub fn scan(from: &str) -> Vec<u8> {
    format!(
        "From: \"Copier 3F\" <{from}>\r\nTo: me@lab.example\r\nSubject: Scan\r\n\r\npage 1\r\n..leading dot (stuffed by the copier)\r\n"
    )
    .into_bytes()
}

/// A running relay (in this process) with `config`: its task, what stops it, and its
/// "listening" lines once it is ready.
pub async fn spawn_relay(
    config: &std::path::Path,
) -> (
    tokio::task::JoinHandle<Result<(), String>>,
    tokio::sync::oneshot::Sender<()>,
    Vec<String>,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Vec<String>>();
    let config = config.to_path_buf();
    let task = tokio::spawn(async move {
        scanmail::relay::run(
            &config,
            async move {
                let _ = stop_rx.await;
            },
            move |l| {
                let _ = ready_tx.send(l.to_vec());
            },
        )
        .await
    });
    let listening = tokio::time::timeout(PATIENCE, ready_rx)
        .await
        .unwrap()
        .unwrap();
    (task, stop_tx, listening)
}

/// The port of the listening line that names `kind` ("STARTTLS", "SSL/TLS").
pub fn port_of(listening: &[String], kind: &str) -> u16 {
    let l = listening.iter().find(|l| l.contains(kind)).unwrap();
    l.split_whitespace()
        .next()
        .unwrap()
        .parse::<SocketAddr>()
        .unwrap()
        .port()
}

/// `scanmail relay run` as its own process (for benchmarks: its memory is its own), with the
/// port of its first listening line.
pub fn relay_process(bin: &str, config: &std::path::Path) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(bin)
        .args(["relay", "run", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("the relay's port");
    (child, port)
}
