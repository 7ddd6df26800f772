//! The real OS keychain, end to end: two devices, two app passwords, each tested from its
//! profile by the command line with no password typed. On Linux this needs a Secret Service;
//! `scripts/test.sh` starts one (gnome-keyring in a private D-Bus session) and sets
//! SCANMAIL_KEYCHAIN_TEST=1. Without it the test says why and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use scanmail::profile::{Profile, ProfileFile, Store};
use scanmail::secrets::{self, AppPassword, Key};
use std::process::Command;
use support::{Cert, Mode, Peer, Pki, Script};

#[tokio::test(flavor = "multi_thread")]
async fn two_devices_two_passwords_from_the_keychain() {
    if std::env::var("SCANMAIL_KEYCHAIN_TEST").as_deref() != Ok("1") {
        println!(
            "skipping: SCANMAIL_KEYCHAIN_TEST is not 1 (scripts/test.sh starts a Secret Service and sets it)"
        );
        return;
    }
    secrets::use_platform_keychain().expect("the Secret Service started by scripts/test.sh");
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let dir = std::env::temp_dir().join(format!("scanmail-keychain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();

    let mut file = ProfileFile::default();
    let mut peers = Vec::new();
    for (name, account, password) in [
        (
            "Library copier",
            "library-copier@example.edu",
            "librarylibraryab",
        ),
        ("Lab scanner", "lab-scanner@example.edu", "labscannerlabsca"),
    ] {
        let mut script = Script::gmail();
        script.password = password.into();
        let peer = Peer::start(Mode::Implicit, script, tls.clone()).await;
        file.profiles.push(Profile {
            name: name.into(),
            account: account.into(),
            server: "127.0.0.1".into(),
            ssl_port: Some(peer.port),
            remember_password: true,
            ..Profile::default()
        });
        peers.push(peer);
    }
    // The first device's password is kept the way the window does it; the second's by IT's
    // command `scanmail profiles remember`, with the password on standard input.
    secrets::remember(
        &Key::new("127.0.0.1", "library-copier@example.edu"),
        &AppPassword::new("librarylibraryab"),
    )
    .unwrap();
    file.profiles[1].remember_password = false;
    Store::new(dir.clone()).save(&file).unwrap();
    let mut remember = Command::new(env!("CARGO_BIN_EXE_scanmail"))
        .args(["profiles", "remember", "Lab scanner", "--password-stdin"])
        .env("SCANMAIL_CONFIG_DIR", &dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = remember.stdin.take().unwrap();
        writeln!(input, "labs cann erla bsca").unwrap();
    }
    let out = remember.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Kept the app password"));
    assert!(
        Store::new(dir.clone()).load().file.profiles[1].remember_password,
        "the device now says its password is remembered"
    );

    for (profile, peer) in file.profiles.iter().zip(&peers) {
        let out = Command::new(env!("CARGO_BIN_EXE_scanmail"))
            .args([
                "check",
                "--profile",
                &profile.name,
                "--skip-starttls",
                "--login-only",
                "--json",
                "--ca-file",
            ])
            .arg(&ca)
            .env("SCANMAIL_CONFIG_DIR", &dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["results"][0]["works"], true);
        assert_eq!(
            peer.log().passwords.len(),
            1,
            "each device signed in with its own password"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_scanmail"))
        .args(["profiles", "forget", "Lab scanner"])
        .env("SCANMAIL_CONFIG_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        secrets::recall(&Key::new("127.0.0.1", "lab-scanner@example.edu")).unwrap(),
        None
    );
    assert!(!Store::new(dir.clone()).load().file.profiles[1].remember_password);
    secrets::forget(&Key::new("127.0.0.1", "library-copier@example.edu")).unwrap();
    assert_eq!(
        secrets::recall(&Key::new("127.0.0.1", "library-copier@example.edu")).unwrap(),
        None
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 0.1 entry (keyed by the account alone) goes only to the server the device saved: a
/// `--server` typed over it gets nothing, and the entry stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_override_never_receives_a_0_1_entry() {
    if std::env::var("SCANMAIL_KEYCHAIN_TEST").as_deref() != Ok("1") {
        println!("skipping: SCANMAIL_KEYCHAIN_TEST is not 1");
        return;
    }
    secrets::use_platform_keychain().expect("the Secret Service started by scripts/test.sh");
    let account = "old-entry@example.edu";
    let legacy = keyring_core::Entry::new("scanmail", account).unwrap();
    legacy.set_password("oldentryoldentry").unwrap();
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let mut script = Script::gmail();
    script.password = "oldentryoldentry".into();
    let stranger = Peer::start(Mode::Implicit, script.clone(), tls.clone()).await;
    let own = Peer::start(Mode::Implicit, script, tls).await;
    let dir = std::env::temp_dir().join(format!("scanmail-legacy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let mut file = ProfileFile::default();
    file.profiles.push(Profile {
        name: "Old copier".into(),
        account: account.into(),
        server: "127.0.0.1".into(),
        ssl_port: Some(own.port),
        remember_password: true,
        ..Profile::default()
    });
    Store::new(dir.clone()).save(&file).unwrap();
    let check = |more: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scanmail"))
            .args([
                "check",
                "--profile",
                "Old copier",
                "--skip-starttls",
                "--login-only",
                "--json",
                "--ca-file",
            ])
            .arg(&ca)
            .args(more)
            .env("SCANMAIL_CONFIG_DIR", &dir)
            .output()
            .unwrap()
    };
    let port = stranger.port.to_string();
    let out = check(&["--server", "localhost", "--ssl-port", &port]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No app password"));
    assert!(
        stranger.log().passwords.is_empty(),
        "the typed-over server got nothing"
    );
    assert!(legacy.get_password().is_ok(), "the 0.1 entry stays");
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(own.log().passwords.len(), 1);
    assert!(
        legacy.get_password().is_err(),
        "moved to the device's own server"
    );
    secrets::forget(&Key::new("127.0.0.1", account)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
