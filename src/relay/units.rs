//! The service definitions `install-service` writes: the systemd unit and the LaunchDaemon.

use super::service::{LABEL, SYSTEM_USER, UNIT};
use std::path::Path;

/// One argument on a systemd command line: in double quotes, with `\`, `"` and `%` escaped.
/// `None` for a path with a control character (it could start a new line of the unit).
fn unit_arg(p: &Path) -> Option<String> {
    let s = p.to_str()?;
    if s.chars().any(char::is_control) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('%', "%%")
    ))
}

/// The systemd unit: its own system user, its own state folder (others may read the state file;
/// the secret and the key are the user's alone), the system read-only to it, no new privileges,
/// no rights but binding a low port; restarted on failure; 75 s to stop (the relay lets messages
/// finish within 60 s). `None` when a path cannot be written into a unit.
pub fn systemd_unit(exe: &Path, config: &Path) -> Option<String> {
    Some(format!(
        "[Unit]
Description=ScanMail relay: copiers on this network send through it to the mail provider
Documentation=https://github.com/scanmail/scanmail/blob/main/docs/service.md
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
ExecStart={exe} relay run --service --config {config}
Restart=on-failure
RestartSec=5
TimeoutStopSec=75
KillSignal=SIGTERM
User={SYSTEM_USER}
Group={SYSTEM_USER}
StateDirectory={UNIT}
StateDirectoryMode=0755
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
RemoveIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
# Copiers often allow only port 25 or 587: binding a low port is the one right it keeps.
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
UMask=0077

[Install]
WantedBy=multi-user.target
",
        exe = unit_arg(exe)?,
        config = unit_arg(config)?,
    ))
}

/// The LaunchDaemon: started at boot, kept alive, its log in /Library/Logs.
pub fn launchd_plist(exe: &Path, config: &Path) -> String {
    let esc = |s: String| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>{LABEL}</string>
  <key>ProgramArguments</key>
  <array>
    <string>{exe}</string><string>relay</string><string>run</string><string>--service</string>
    <string>--config</string><string>{config}</string>
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <key>ExitTimeOut</key><integer>75</integer>
  <key>StandardErrorPath</key><string>/Library/Logs/scanmail-relay.log</string>
</dict>
</plist>
"#,
        exe = esc(exe.display().to_string()),
        config = esc(config.display().to_string()),
    )
}
