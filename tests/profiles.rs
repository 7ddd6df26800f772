//! Devices that last: profiles saved as the user goes, the keychain (through keyring-core's
//! in-memory store), the organization preset, import and export, and a canary password that
//! must never reach a file or an output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use scanmail::gui::{App, Effect, Message, account, device, device_list, test_send};
use scanmail::org::{self, Preset};
use scanmail::profile::{Profile, ProfileFile, Store};
use scanmail::secrets::{self, AppPassword, Key};

/// The built-in preset's server.
const GMAIL: &str = "smtp.gmail.com";
use scanmail::smtp::{self, Options};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::Script;

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scanmail-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mock_keychain() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap()));
}

fn built_in() -> org::Found {
    org::Found {
        preset: Preset::built_in(),
        source: org::Source::BuiltIn,
        problem: None,
    }
}

fn window(store: &Store) -> App {
    let mut app = App::with_store(built_in(), Some(store.clone()));
    app.keychain = secrets::keychain_available();
    app
}

/// Applies a message and carries out the keychain effects the way the window's tasks do.
fn act(app: &mut App, m: Message) -> Effect {
    let effect = app.handle(m);
    match &effect {
        Effect::Remember(account, password) => {
            let r = secrets::remember(account, password);
            app.handle(Message::Keychain(r));
        }
        Effect::Recall(account) => {
            let r = secrets::recall(account);
            app.handle(Message::Recalled(account.clone(), r));
        }
        Effect::Forget(account) => {
            let r = secrets::forget(account);
            app.handle(Message::Keychain(r));
        }
        _ => {}
    }
    effect
}

fn fill(app: &mut App, address: &str, password: &str, maker: &str, model: &str) {
    act(
        app,
        Message::Account(account::Message::AddressChanged(address.into())),
    );
    act(
        app,
        Message::Account(account::Message::PasswordChanged(
            scanmail::secrets::AppPassword::new(password),
        )),
    );
    act(
        app,
        Message::Device(device::Message::ManufacturerChanged(maker.into())),
    );
    act(
        app,
        Message::Device(device::Message::ModelChanged(model.into())),
    );
}

#[test]
fn closing_the_window_mid_way_loses_nothing() {
    let dir = temp_dir("reopen");
    let store = Store::new(dir.clone());
    let mut app = window(&store);
    fill(
        &mut app,
        "warren-scanner@example.edu",
        "abcdefghijklmnop",
        "Xerox",
        "AltaLink C8030",
    );
    act(
        &mut app,
        Message::Account(account::Message::BuildingChanged("Warren".into())),
    );
    act(
        &mut app,
        Message::Account(account::Message::FloorChanged("2".into())),
    );
    act(
        &mut app,
        Message::Device(device::Message::AddressChanged("10.1.2.3".into())),
    );
    act(
        &mut app,
        Message::Test(test_send::Message::RecipientChanged(
            "it@example.edu".into(),
        )),
    );
    act(
        &mut app,
        Message::DeviceList(device_list::Message::StartRename),
    );
    act(
        &mut app,
        Message::DeviceList(device_list::Message::RenameChanged(
            "Warren 2nd floor".into(),
        )),
    );
    act(
        &mut app,
        Message::DeviceList(device_list::Message::FinishRename),
    );
    app.save_now().unwrap();
    drop(app);

    let again = window(&store);
    assert_eq!(again.profiles.profiles.len(), 1);
    assert_eq!(again.profiles.profiles[0].name, "Warren 2nd floor");
    assert_eq!(again.account.address, "warren-scanner@example.edu");
    assert_eq!(
        (
            again.account.building.as_str(),
            again.account.floor.as_str()
        ),
        ("Warren", "2")
    );
    assert_eq!(again.device.manufacturer, "Xerox");
    assert_eq!(again.device.model, "AltaLink C8030");
    assert_eq!(again.device.address, "10.1.2.3");
    assert_eq!(again.test.recipient, "it@example.edu");
    assert!(
        again.account.password().is_empty(),
        "the password was not remembered, so it is gone"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn two_devices_keep_two_passwords_in_the_keychain() {
    mock_keychain();
    let dir = temp_dir("two");
    let store = Store::new(dir.clone());
    let mut app = window(&store);
    assert!(app.keychain);
    fill(
        &mut app,
        "copier-a@example.edu",
        "aaaaaaaaaaaaaaaa",
        "Canon",
        "iR-ADV C5535",
    );
    let e = act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    assert_eq!(
        e,
        Effect::Remember(
            Key::new(GMAIL, "copier-a@example.edu"),
            AppPassword::new("aaaaaaaaaaaaaaaa")
        )
    );
    act(&mut app, Message::DeviceList(device_list::Message::New));
    assert_eq!(app.current, 1);
    assert!(app.account.address.is_empty() && app.account.password().is_empty());
    fill(
        &mut app,
        "copier-b@example.edu",
        "bbbbbbbbbbbbbbbb",
        "Ricoh",
        "IM C3000",
    );
    act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    app.save_now().unwrap();
    drop(app);

    let mut app = window(&store);
    assert_eq!(app.current, 1, "the last device is open again");
    assert_eq!(
        app.profiles
            .profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["New device", "New device (2)"]
    );
    let e = app.handle(Message::DeviceList(device_list::Message::Open(0)));
    assert_eq!(e, Effect::Recall(Key::new(GMAIL, "copier-a@example.edu")));
    app.handle(Message::Recalled(
        Key::new(GMAIL, "copier-a@example.edu"),
        secrets::recall(&Key::new(GMAIL, "copier-a@example.edu")),
    ));
    assert_eq!(app.account.password().expose(), "aaaaaaaaaaaaaaaa");
    act(&mut app, Message::DeviceList(device_list::Message::Open(1)));
    assert_eq!(app.account.password().expose(), "bbbbbbbbbbbbbbbb");

    // Deleting offers to delete the password too.
    act(
        &mut app,
        Message::DeviceList(device_list::Message::AskDelete),
    );
    act(
        &mut app,
        Message::DeviceList(device_list::Message::ForgetPasswordToo(true)),
    );
    let e = act(
        &mut app,
        Message::DeviceList(device_list::Message::ConfirmDelete),
    );
    assert_eq!(e, Effect::Forget(Key::new(GMAIL, "copier-b@example.edu")));
    assert_eq!(
        secrets::recall(&Key::new(GMAIL, "copier-b@example.edu")).unwrap(),
        None
    );
    assert_eq!(
        secrets::recall(&Key::new(GMAIL, "copier-a@example.edu"))
            .unwrap()
            .unwrap()
            .expose(),
        "aaaaaaaaaaaaaaaa"
    );
    assert_eq!(app.profiles.profiles.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_keychain_the_window_says_so() {
    let mut app = App::new(Preset::built_in());
    app.keychain = false;
    fill(&mut app, "x@example.edu", "abcdefghijklmnop", "", "");
    let e = app.handle(Message::Account(account::Message::RememberToggled(true)));
    assert_eq!(e, Effect::None);
    assert!(!app.account.remember);
    assert!(app.notice.as_deref().unwrap().contains("no keychain"));
    assert_eq!(
        app.account.password().expose(),
        "abcdefghijklmnop",
        "kept for this run"
    );
}

#[test]
fn a_broken_devices_file_is_reported_in_the_window_and_kept() {
    let dir = temp_dir("broken");
    std::fs::write(dir.join("profiles.toml"), "schema = 1\n[[profile]\n").unwrap();
    let app = window(&Store::new(dir.clone()));
    let notice = app.notice.clone().unwrap();
    assert!(
        notice.contains("Your saved devices file was not used"),
        "{notice}"
    );
    assert!(std::fs::read_dir(&dir).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("profiles.toml.unreadable-")
    }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unwritable_settings_folder_is_reported_and_nothing_typed_is_lost() {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("not-a-folder");
    std::fs::write(&blocker, "a file where the folder should be").unwrap();
    let mut app = window(&Store::new(blocker.join("scanmail")));
    fill(&mut app, "x@example.edu", "abcdefghijklmnop", "HP", "M528");
    let err = app.save_now().unwrap_err();
    assert!(
        err.contains("could not save your devices") && err.contains("still in the window"),
        "{err}"
    );
    app.handle(Message::DevicesOnDisk(Err(err)));
    assert!(app.notice.is_some());
    assert_eq!(app.device.model, "M528");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_full_disk_keeps_the_last_good_file() {
    let dir = temp_dir("full");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "tmpfs"])
        .arg(&dir)
        .status();
    if !matches!(mounted, Ok(s) if s.success()) {
        println!(
            "skipping a_full_disk_keeps_the_last_good_file: cannot mount a small tmpfs here (needs root)"
        );
        return;
    }
    let store = Store::new(dir.clone());
    let mut file = ProfileFile::default();
    file.profiles.push(Profile {
        name: "Copier".into(),
        ..Profile::default()
    });
    store.save(&file).unwrap();
    let good = std::fs::read(store.path()).unwrap();
    // Fill the disk, then try to save a bigger file.
    let _ = std::fs::write(dir.join("filler"), vec![0u8; 64 * 1024]);
    file.profiles[0].building = "x".repeat(16 * 1024);
    let err = store.save(&file).unwrap_err().to_string();
    assert!(err.contains("could not save"), "{err}");
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        good,
        "the last good file is intact"
    );
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_and_import_hand_a_device_over_without_its_password() {
    mock_keychain();
    let mut app = App::new(Preset::built_in());
    app.keychain = true;
    fill(
        &mut app,
        "lab@example.edu",
        "cccccccccccccccc",
        "Brother",
        "MFC-L8900CDW",
    );
    act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    let Effect::ExportProfile { name, text } =
        app.handle(Message::DeviceList(device_list::Message::Export))
    else {
        panic!()
    };
    assert_eq!(name, "New device");
    assert!(!text.contains("cccccccccccccccc"));
    assert!(text.contains("remember_password = false"));

    let mut other = App::new(Preset::built_in());
    other.handle(Message::Imported(Some(scanmail::profile::import(&text))));
    assert_eq!(other.profiles.profiles.len(), 2);
    assert_eq!(other.device.model, "MFC-L8900CDW");
    assert_eq!(other.account.address, "lab@example.edu");
    assert!(other.account.password().is_empty());
    assert!(
        other
            .notice
            .as_deref()
            .unwrap()
            .contains("Type its app password")
    );
    other.handle(Message::Imported(Some(Err(
        "The file is not a ScanMail device file: line 1.".into(),
    ))));
    assert!(
        other
            .notice
            .as_deref()
            .unwrap()
            .contains("not a ScanMail device file")
    );
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn canary_password_never_reaches_a_file_or_an_output() {
    const CANARY: &str = "zqcanaryxwvutsrq";
    mock_keychain();
    let dir = temp_dir("canary");
    let config = dir.join("config");
    let store = Store::new(config.clone());

    // A peer that accepts the canary.
    let mut script = Script::gmail();
    script.password = CANARY.into();
    let (pki, ssl, st) = support::start_pair(script).await;
    let preset = Preset {
        server: "127.0.0.1".into(),
        ssl_port: Some(ssl.port),
        starttls_port: Some(st.port),
        ..Preset::built_in()
    };
    let found = org::Found {
        preset,
        source: org::Source::BuiltIn,
        problem: None,
    };

    // The window: type, remember, test, card, export.
    let mut app = App::with_store(found, Some(store.clone()));
    app.keychain = true;
    fill(
        &mut app,
        "canary@example.edu",
        CANARY,
        "Konica Minolta",
        "bizhub C300i",
    );
    act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    app.handle(Message::Test(test_send::Message::CaFileLoaded(Some((
        PathBuf::from("ca.pem"),
        Ok(pki.ca_pem.as_bytes().to_vec()),
    )))));
    let Effect::StartTest(request) = app.handle(Message::Test(test_send::Message::Start)) else {
        panic!("no test")
    };
    let report = smtp::test_send_with(&request, Options::default()).await;
    act(
        &mut app,
        Message::Test(test_send::Message::Finished(report)),
    );
    assert!(app.test.works());
    let mut outputs: Vec<String> = Vec::new();
    for m in [
        scanmail::gui::settings_card::Message::Copy,
        scanmail::gui::settings_card::Message::SaveAs,
        scanmail::gui::settings_card::Message::Print,
    ] {
        outputs.push(format!("{:?}", app.handle(Message::Card(m))));
    }
    if let Effect::ExportProfile { text, .. } =
        app.handle(Message::DeviceList(device_list::Message::Export))
    {
        outputs.push(text);
    }
    outputs.push(format!("{:?}", app.test.report));
    let (report_text, report_html) = app.report_text().expect("a report");
    assert!(
        report_text.contains("C: AUTH PLAIN <hidden>"),
        "{report_text}"
    );
    outputs.push(report_text);
    outputs.push(report_html);
    outputs.push(format!(
        "{:?}",
        app.handle(Message::Test(test_send::Message::CopyReport))
    ));
    app.save_now().unwrap();
    assert_eq!(
        secrets::recall(&Key::new("127.0.0.1", "canary@example.edu"))
            .unwrap()
            .unwrap()
            .expose(),
        CANARY,
        "the keychain has it"
    );

    // The command line, on the same saved device, with the password from the environment.
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("SCANMAIL_CONFIG_DIR", &config)
            .env("SM_CANARY", CANARY)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let name = app.profiles.profiles[0].name.clone();
    let ca_s = ca.to_string_lossy().into_owned();
    let (code, text) = run(&[
        "check",
        "--profile",
        &name,
        "--password-env",
        "SM_CANARY",
        "--ca-file",
        &ca_s,
        "--json",
    ]);
    assert_eq!(code, Some(0), "{text}");
    outputs.push(text);
    let report_file = dir.join("report.html").to_string_lossy().into_owned();
    let (code, text) = run(&[
        "check",
        "--profile",
        &name,
        "--password-env",
        "SM_CANARY",
        "--ca-file",
        &ca_s,
        "--report",
        &report_file,
    ]);
    assert_eq!(code, Some(0), "{text}");
    outputs.push(text);
    let saved_report = std::fs::read_to_string(&report_file).unwrap();
    assert!(
        saved_report.contains("with SSL/TLS: works")
            && saved_report.contains("with STARTTLS: works"),
        "--report writes both ports: {saved_report}"
    );
    let (code, text) = run(&["profiles", "list", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("\"works\": true"),
        "the CLI kept the verdict: {text}"
    );
    outputs.push(text);
    for args in [
        vec!["card", "--profile", name.as_str()],
        vec!["card", "--profile", name.as_str(), "--html"],
    ] {
        let (code, text) = run(&args);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("SMTP over SSL"), "{text}");
        outputs.push(text);
    }

    for o in &outputs {
        assert!(
            !o.contains(CANARY),
            "the password leaked into an output: {o}"
        );
    }
    let files = files_under(&dir);
    assert!(files.iter().any(|(p, _)| p.ends_with("profiles.toml")));
    for (p, bytes) in files {
        assert!(
            !contains(&bytes, CANARY),
            "the password leaked into {}",
            p.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn org_show_and_check_for_it() {
    let dir = temp_dir("org");
    let good = dir.join("org.toml");
    std::fs::write(
        &good,
        include_str!("../resources/presets/university-special-purpose.toml"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--org"])
        .arg(&good)
        .args(["org", "show", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["preset"]["organization"], "Example University");
    assert_eq!(v["source"]["kind"], "file");
    assert!(v["problem"].is_null());

    // The environment variable is the second place looked at.
    let out = Command::new(BIN)
        .args(["org", "show"])
        .env("SCANMAIL_ORG", &good)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Organization: Example University"));

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "organization = \"X\"\nserver = \"smtp.x.edu\"\nssl_port = \"465\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["org", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml: line 3"), "{err}");
    let out = Command::new(BIN)
        .args(["org", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // A broken preset falls back to the built-in one and says where the mistake is.
    let out = Command::new(BIN)
        .arg("--org")
        .arg(&bad)
        .args(["org", "show"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Organization: Google Workspace") && text.contains("bad.toml: line 3"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cli_says_when_the_keychain_has_no_password() {
    let dir = temp_dir("nokey");
    let store = Store::new(dir.clone());
    let mut file = ProfileFile::default();
    file.profiles.push(Profile {
        name: "Copier".into(),
        account: "copier@example.edu".into(),
        server: "127.0.0.1".into(),
        remember_password: true,
        ..Profile::default()
    });
    store.save(&file).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--profile", "copier"])
        .env("SCANMAIL_CONFIG_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Either no keychain on this machine, or no password saved in it: both say what to do.
    assert!(
        err.contains("keychain") || err.contains("No app password"),
        "{err}"
    );
    assert!(err.contains("--password-env"), "{err}");
    let out = Command::new(BIN)
        .args(["check", "--profile", "nope"])
        .env("SCANMAIL_CONFIG_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No saved device is called \"nope\""));
    let out = Command::new(BIN)
        .args(["card", "--profile", "copier"])
        .env("SCANMAIL_CONFIG_DIR", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no working test yet"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_preset_next_to_the_executable_is_found() {
    let dir = temp_dir("nextto");
    let exe = dir.join("scanmail");
    std::fs::copy(BIN, &exe).unwrap();
    std::fs::write(
        dir.join("org.toml"),
        include_str!("../resources/presets/microsoft-365.toml"),
    )
    .unwrap();
    let out = Command::new(&exe)
        .args(["org", "show"])
        .env_remove("SCANMAIL_ORG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Organization: Microsoft 365"), "{text}");
    assert!(
        text.contains(&format!("From: {}", dir.join("org.toml").display())),
        "{text}"
    );
    // --org wins over the file next to the executable.
    let uni = dir.join("uni.toml");
    std::fs::write(
        &uni,
        include_str!("../resources/presets/university-special-purpose.toml"),
    )
    .unwrap();
    let out = Command::new(&exe)
        .arg("--org")
        .arg(&uni)
        .args(["org", "show"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Organization: Example University"));
    // And the window starts with that organization's steps.
    let found = org::locate(Some(&uni));
    let app = App::with_store(found, None);
    assert_eq!(app.preset.organization, "Example University");
    assert_eq!(
        app.preset.steps[0].title,
        "Request a Special Purpose Account for the device"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The window's card, `check`'s "Type this into the device", `card --profile` and Save show the
/// same rows and the same device label for the same device.
#[tokio::test(flavor = "multi_thread")]
async fn one_card_everywhere() {
    mock_keychain();
    let dir = temp_dir("one-card");
    let config = dir.join("config");
    let store = Store::new(config.clone());
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let preset = Preset {
        server: "127.0.0.1".into(),
        ssl_port: Some(ssl.port),
        starttls_port: Some(st.port),
        ..Preset::built_in()
    };
    let found = org::Found {
        preset,
        source: org::Source::BuiltIn,
        problem: None,
    };
    let mut app = App::with_store(found, Some(store.clone()));
    fill(
        &mut app,
        "warren@example.edu",
        support::PASSWORD,
        "konica",
        "bizhub C300i",
    );
    let name = "Warren 2nd floor scanner";
    for m in [
        device_list::Message::StartRename,
        device_list::Message::RenameChanged(name.into()),
        device_list::Message::FinishRename,
    ] {
        act(&mut app, Message::DeviceList(m));
    }
    app.handle(Message::Test(test_send::Message::CaFileLoaded(Some((
        PathBuf::from("ca.pem"),
        Ok(pki.ca_pem.as_bytes().to_vec()),
    )))));
    let Effect::StartTest(request) = app.handle(Message::Test(test_send::Message::Start)) else {
        panic!("no test")
    };
    let report = smtp::test_send_with(&request, Options::default()).await;
    act(
        &mut app,
        Message::Test(test_send::Message::Finished(report)),
    );
    app.save_now().unwrap();
    let card = app.settings_card().expect("a card").clone();
    let label = "Warren 2nd floor scanner (Konica Minolta bizhub C300i)";
    assert_eq!(card.title(), format!("Scan-to-email settings for {label}"));
    let rows = card.rows_text("");
    assert!(
        rows.contains("Turn on SMTP over SSL (this is SSL/TLS)"),
        "{rows}"
    );

    let Effect::SaveCard { text: saved, .. } =
        app.handle(Message::Card(scanmail::gui::settings_card::Message::SaveAs))
    else {
        panic!("no save")
    };

    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("SCANMAIL_CONFIG_DIR", &config)
            .env("SM_PW", support::PASSWORD)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let checked = run(&[
        "check",
        "--profile",
        name,
        "--password-env",
        "SM_PW",
        "--ca-file",
        &ca.to_string_lossy(),
    ]);
    let printed = run(&["card", "--profile", name]);
    let listed = run(&["profiles", "list"]);

    let unindented = |text: &str| {
        text.lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (what, text) in [("check", &checked), ("card", &printed), ("save", &saved)] {
        assert!(
            unindented(text).contains(rows.trim_end()),
            "{what} shows other rows:\n{text}\nwanted:\n{rows}"
        );
    }
    for (what, text) in [("card", &printed), ("save", &saved), ("list", &listed)] {
        assert!(text.contains(label), "{what} lacks the label:\n{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn read_only_commands_leave_a_broken_devices_file_alone() {
    let dir = temp_dir("read-only");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("profiles.toml"), "schema = 2\n[[profile]\n").unwrap();
    for args in [vec!["profiles", "list"], vec!["card", "--profile", "x"]] {
        let out = Command::new(BIN)
            .args(&args)
            .env("SCANMAIL_CONFIG_DIR", &dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("left as it is"));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["profiles.toml"], "{args:?} moved the file");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_with_overrides_records_nothing_and_the_keychain_needs_remember() {
    mock_keychain();
    let dir = temp_dir("overrides");
    let (pki, ssl, _st) = support::start_pair(Script::gmail()).await;
    let earlier = scanmail::profile::LastTest {
        at: "2026-11-27T10:00:00Z".into(),
        works: true,
        recommended: None,
        summary: "465 SSL/TLS works".into(),
        server: "127.0.0.1".into(),
        account: support::USER.into(),
        auth: None,
    };
    let mut file = scanmail::profile::ProfileFile::default();
    file.profiles.push(scanmail::profile::Profile {
        name: "Lab copier".into(),
        account: support::USER.into(),
        server: "127.0.0.1".into(),
        ssl_port: Some(ssl.port),
        last_test: Some(earlier.clone()),
        ..scanmail::profile::Profile::default()
    });
    let store = Store::new(dir.clone());
    store.save(&file).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca = ca.to_string_lossy().into_owned();
    let run = |args: Vec<String>| {
        let dir = dir.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new(BIN)
                    .args(&args)
                    .env("SCANMAIL_CONFIG_DIR", &dir)
                    .env("SM_PW", support::PASSWORD)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let args = |more: &[&str]| {
        ["check", "--profile", "Lab copier", "--ca-file", ca.as_str()]
            .iter()
            .chain(more)
            .map(|s| (*s).to_string())
            .collect::<Vec<_>>()
    };
    // No password given, and the device does not keep one: the keychain is not read.
    let out = run(args(&["--skip-starttls"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not keep its app password"));
    // An override: the result is said, not recorded.
    let out = run(args(&["--skip-starttls", "--password-env", "SM_PW"])).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Note: not recorded with \"Lab copier\", because --skip-starttls"),
        "{stdout}"
    );
    assert_eq!(store.load().file.profiles[0].last_test, Some(earlier));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_server_forgets_the_old_verdict() {
    mock_keychain();
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let preset = Preset {
        server: "127.0.0.1".into(),
        ssl_port: Some(ssl.port),
        starttls_port: Some(st.port),
        ..Preset::built_in()
    };
    let mut app = App::new(preset);
    fill(
        &mut app,
        support::USER,
        support::PASSWORD,
        "Xerox",
        "VersaLink C405",
    );
    app.handle(Message::Test(test_send::Message::CaFileLoaded(Some((
        PathBuf::from("ca.pem"),
        Ok(pki.ca_pem.as_bytes().to_vec()),
    )))));
    let Effect::StartTest(request) = app.handle(Message::Test(test_send::Message::Start)) else {
        panic!("no test")
    };
    let report = smtp::test_send_with(&request, Options::default()).await;
    act(
        &mut app,
        Message::Test(test_send::Message::Finished(report)),
    );
    assert!(
        app.profiles.profiles[0]
            .last_test
            .as_ref()
            .is_some_and(|t| t.works)
    );
    act(
        &mut app,
        Message::Test(test_send::Message::ServerChanged("smtp.example.edu".into())),
    );
    assert_eq!(
        app.profiles.profiles[0].last_test, None,
        "a verdict for 127.0.0.1 is not one for smtp.example.edu"
    );
}

#[test]
fn deleting_a_device_keeps_a_password_another_device_uses() {
    mock_keychain();
    let dir = temp_dir("shared-key");
    let store = Store::new(dir.clone());
    let mut app = window(&store);
    app.keychain = true;
    let same = "shared-copier@example.edu";
    fill(&mut app, same, "ssssssssssssssss", "Canon", "iR-ADV C5535");
    act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    act(&mut app, Message::DeviceList(device_list::Message::New));
    fill(&mut app, same, "ssssssssssssssss", "Canon", "iR-ADV C5535");
    act(
        &mut app,
        Message::Account(account::Message::RememberToggled(true)),
    );
    for m in [
        device_list::Message::AskDelete,
        device_list::Message::ForgetPasswordToo(true),
    ] {
        act(&mut app, Message::DeviceList(m));
    }
    let e = act(
        &mut app,
        Message::DeviceList(device_list::Message::ConfirmDelete),
    );
    assert!(!matches!(e, Effect::Forget(_)), "{e:?}");
    assert_eq!(
        secrets::recall(&Key::new(GMAIL, same))
            .unwrap()
            .map(|p| p.expose().to_string()),
        Some("ssssssssssssssss".to_string()),
        "the other device still has its password"
    );
    secrets::forget(&Key::new(GMAIL, same)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command line records a result while the window holds the devices and saves its own
/// change: neither is lost, and the window takes the command line's result in.
#[tokio::test(flavor = "multi_thread")]
async fn the_window_and_the_command_line_saving_at_once_lose_nothing() {
    mock_keychain();
    let dir = temp_dir("merge");
    let (pki, ssl, _st) = support::start_pair(Script::gmail()).await;
    let store = Store::new(dir.clone());
    let mut file = ProfileFile::default();
    for name in ["Copier A", "Copier B"] {
        file.profiles.push(Profile {
            name: name.into(),
            account: support::USER.into(),
            server: "127.0.0.1".into(),
            ssl_port: Some(ssl.port),
            ..Profile::default()
        });
    }
    store.save(&file).unwrap();
    let mut app = window(&store);
    assert_eq!(app.profiles.profiles.len(), 2);

    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let (dir2, ca2) = (dir.clone(), ca.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["check", "--profile", "Copier B", "--password-env", "SM_PW"])
            .arg("--ca-file")
            .arg(&ca2)
            .env("SCANMAIL_CONFIG_DIR", &dir2)
            .env("SM_PW", support::PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The window's look at the file (every two seconds) takes the result in before it saves.
    assert!(matches!(app.handle(Message::DiskTick), Effect::CheckDisk));
    let changed = store.changed_on_disk().map(Box::new);
    assert!(changed.is_some(), "the command line's save is noticed");
    app.handle(Message::DevicesOnDisk(Ok(changed)));
    assert!(
        app.profiles.profiles[1].last_test.is_some(),
        "noticed before the window saved"
    );
    assert_eq!(store.changed_on_disk(), None, "nothing new since");

    // Meanwhile the window changed Copier A (the open device) and saves.
    app.handle(Message::DeviceList(device_list::Message::Open(0)));
    act(
        &mut app,
        Message::Device(device::Message::ModelChanged("VersaLink C405".into())),
    );
    app.save_now().unwrap();

    let disk = store.load().file;
    assert_eq!(
        disk.profiles[0].model, "VersaLink C405",
        "the window's change"
    );
    assert!(
        disk.profiles[1].last_test.as_ref().is_some_and(|t| t.works),
        "the command line's result"
    );
    assert!(
        app.profiles.profiles[1].last_test.is_some(),
        "the window took the command line's result in"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Another program changes the open device and adds one while the window is open: the window
/// shows the change in its steps, keeps the typed password and its own edits, and its next save
/// keeps everything.
#[test]
fn the_window_notices_another_program_changing_the_devices_file() {
    mock_keychain();
    let dir = temp_dir("notice");
    let store = Store::new(dir.clone());
    let mut file = ProfileFile::default();
    file.profiles.push(Profile {
        name: "Copier A".into(),
        account: "scan-a@example.edu".into(),
        server: GMAIL.into(),
        ..Profile::default()
    });
    store.save(&file).unwrap();
    let mut app = window(&store);
    assert_eq!(
        store.changed_on_disk(),
        None,
        "the window's own read is not news"
    );
    act(
        &mut app,
        Message::Account(account::Message::PasswordChanged(AppPassword::new(
            "abcdefghijklmnop",
        ))),
    );
    act(
        &mut app,
        Message::Device(device::Message::ModelChanged("bizhub C300i".into())),
    );
    app.save_now().unwrap();

    // Another program (its own store: nothing shared with the window's).
    Store::new(dir.clone())
        .update(|f| {
            f.profiles[0].floor = "3".into();
            f.profiles.push(Profile {
                name: "Copier C".into(),
                ..Profile::default()
            });
        })
        .unwrap();
    let changed = store.changed_on_disk().map(Box::new);
    assert!(changed.is_some());
    app.handle(Message::DevicesOnDisk(Ok(changed)));
    assert_eq!(
        app.account.floor, "3",
        "the steps show the other program's change"
    );
    assert_eq!(
        app.device.model, "bizhub C300i",
        "the window's own edit stays"
    );
    assert_eq!(app.account.password().expose(), "abcdefghijklmnop");
    assert_eq!(app.profiles.profiles.len(), 2);

    act(
        &mut app,
        Message::Account(account::Message::BuildingChanged("Warren".into())),
    );
    app.save_now().unwrap();
    let disk = store.load_read_only().file;
    let names: Vec<_> = disk.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Copier A", "Copier C"]);
    assert_eq!(
        (
            disk.profiles[0].floor.as_str(),
            disk.profiles[0].building.as_str()
        ),
        ("3", "Warren")
    );
    assert_eq!(disk.profiles[0].model, "bizhub C300i");
    std::fs::remove_dir_all(&dir).unwrap();
}
