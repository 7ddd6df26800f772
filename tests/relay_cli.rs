//! Every relay command that cannot go on names the next command, as typed on this system:
//! before `relay init`, a sign-in with no keychain (told before anything is asked), each
//! `service-status` state, installing a service without root, and a relay test against a relay
//! that is not signed in (454).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use support::rig::BIN;

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut c = std::process::Command::new(BIN);
    c.args(args)
        .env("SCANMAIL_NO_BROWSER", "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn before_init_every_verb_names_relay_init_for_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    let c = config.to_str().unwrap();
    let init = format!("scanmail relay init --config \"{c}\" --account ADDRESS");
    for args in [
        vec!["relay", "status", "--config", c],
        vec!["relay", "sign-in", "--config", c, "--password-env", "X"],
        vec!["relay", "add-device", "copier", "--config", c],
        vec!["card", "--relay", "copier", "--config", c],
    ] {
        let (code, _, err) = run(&args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains("There is no relay here yet") && err.contains(&init),
            "{args:?}: {err}"
        );
    }
    // relay test walks its links: the first one says the same, on stdout, and the test fails.
    let (code, out, _) = run(&["relay", "test", "--config", c], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("There is no relay here yet") && out.contains(&init),
        "{out}"
    );
    assert!(!config.exists(), "nothing was made by asking");
}

#[test]
fn a_sign_in_with_no_keychain_says_so_before_asking_anything() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        // The sign-in app points at a closed loopback port: nothing real is ever asked.
        "listen = [\"127.0.0.1:0\"]\n\n[upstream]\nprovider = \"google\"\naccount = \"scans@example.edu\"\nauth = \"oauth\"\n\n[upstream.oauth.google]\nclient_id = \"test.apps.googleusercontent.com\"\nauth_url = \"http://127.0.0.1:9/auth\"\ntoken_url = \"http://127.0.0.1:9/token\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let (code, out, err) = run(&["relay", "sign-in", "--config", c], &[]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("The sign-in could not be kept")
            && err.contains("Nothing was asked yet")
            && err.contains("secrets = \"file\"")
            && err.contains(&format!("scanmail relay sign-in --config \"{c}\"")),
        "{err}"
    );
    // No device code was asked for or shown.
    assert!(
        !out.contains("code") && !err.contains("enter the code"),
        "{out}{err}"
    );
}

#[test]
fn service_status_says_what_next_and_its_exit_status_follows() {
    let (code, out, _) = run(&["relay", "service-status"], &[]);
    match code {
        Some(3) if out.contains("not installed") => {
            assert!(
                out.trim_end()
                    .ends_with("Run: sudo scanmail relay install-service"),
                "{out}"
            );
        }
        Some(3) => assert!(
            out.contains("sudo systemctl restart scanmail-relay"),
            "{out}"
        ),
        Some(0) => assert!(out.contains("scanmail relay status"), "{out}"),
        Some(4) => assert!(out.contains("systemctl status scanmail-relay"), "{out}"),
        other => panic!("exit {other:?}: {out}"),
    }
}

/// Installing the service as someone who is not root: the exact command, with this program's
/// own path (a build folder is not on PATH) and the settings given.
#[test]
fn installing_the_service_without_root_gives_the_command_with_sudo() {
    if !Path::new("/usr/bin/setpriv").exists() || !nix_root() {
        eprintln!("skipped: needs root and setpriv to run as another account");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(["relay", "install-service", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let exe = std::fs::canonicalize(BIN).unwrap();
    assert!(
        err.contains(&format!(
            "Installing a service needs an administrator. Run: sudo \"{}\" relay install-service --config \"{}\"",
            exe.display(),
            config.display()
        )),
        "{err}"
    );
}

fn nix_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
