//! The Relay page in each state, driven like a person in iced's headless simulator: each one
//! ends in a step or a message for IT. The copier check through the relay (a message taken, a
//! refusal with its fix, a refusal of an unknown address, nothing in 3 minutes); a state only IT
//! can read; a relay that could not start, or has no service; a copier too old for encryption;
//! "Sign in" only when the sign-in needs it; fields kept through an administrator's step that
//! did not run, with the command to type instead; a duplicate name caught first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "ui/mod.rs"]
mod ui;

use scanmail::gui::relay::{Message as Page, NAME_ID};
use scanmail::gui::{App, Effect, Message, Step};
use scanmail::org::Preset;
use std::path::{Path, PathBuf};
use ui::{click, screenshot, shows, type_into};

/// relay.toml with one copier, copier-3f.
fn config_text() -> String {
    let hash =
        scanmail::relay::device::hash(&scanmail::secrets::AppPassword::new("abcdabcdabcdabcd"))
            .unwrap();
    format!(
        "listen = [\"0.0.0.0:2525\"]\n[upstream]\nprovider = \"microsoft\"\naccount = \"scanner@contoso.example\"\nauth = \"password\"\nsecrets = \"file\"\n\n[[device]]\nname = \"copier-3f\"\npassword_hash = \"{hash}\"\n"
    )
}

/// A relay folder with relay.toml and a state file (JSON) as a running relay writes it.
fn relay(state: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, config_text()).unwrap();
    write_state(dir.path(), state);
    (dir, config)
}

fn write_state(dir: &Path, state: &str) {
    std::fs::write(dir.join("relay-state.json"), state).unwrap();
}

/// A running relay, signed in for weeks, with `devices` and `strangers` (JSON objects).
fn running(devices: &str, strangers: &str) -> String {
    let now = scanmail::time::now_unix();
    format!(
        r#"{{"listening":["0.0.0.0:2525 (STARTTLS)"],"alive":"{}","upstream":{{"signed_in":true,"token_expires":"{}"}},"devices":{devices},"strangers":{strangers}}}"#,
        scanmail::time::utc_rfc3339(now),
        scanmail::time::utc_rfc3339(now + 80 * 86_400)
    )
}

fn page(config: &Path) -> App {
    let mut app = App::new(Preset {
        relay: true,
        ..Preset::built_in()
    });
    app.relay.config_path = config.to_path_buf();
    app
}

fn refresh(app: &mut App) {
    app.handle(Message::Relay(Page::Refresh));
}

fn copied(effects: &[Effect]) -> String {
    match effects {
        [Effect::Copy(t)] => t.clone(),
        other => panic!("not a copy: {other:?}"),
    }
}

#[test]
fn the_check_through_the_relay_ends_in_what_it_saw() {
    let (dir, config) = relay(&running("{}", "{}"));
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    // Signed in for weeks, running: no "Sign in" button.
    assert!(
        shows(app, "The relay runs on this computer"),
        "{:?} {:?} {:?}",
        app.step,
        app.relay.config,
        app.relay.state
    );
    assert!(!shows(app, "Sign in again"));
    assert!(click_maybe(app, "Sign in").is_none(), "no sign-in needed");

    // 1. The copier's message goes through.
    click(app, "Check this copier through the relay");
    assert!(shows(app, "Send a scan from copier-3f now"));
    let now = scanmail::time::utc_rfc3339(scanmail::time::now_unix());
    write_state(
        dir.path(),
        &running(
            &format!(r#"{{"copier-3f":{{"messages":1,"bytes":900,"last_message":"{now}"}}}}"#),
            "{}",
        ),
    );
    refresh(app);
    assert!(shows(
        app,
        "It works: the provider took a message from copier-3f"
    ));

    // 2. A wrong password: what happened, and what to do.
    click(app, "Check this copier through the relay");
    write_state(
        dir.path(),
        &running(
            &format!(
                r#"{{"copier-3f":{{"messages":1,"bytes":900,"last_message":"{now}","last_error":"It signed in from 10.1.2.3 with a wrong password.","last_refused":"{now}","refusal":"wrong-password","refused_from":"10.1.2.3"}}}}"#
            ),
            "{}",
        ),
    );
    refresh(app);
    assert!(shows(
        app,
        "The relay turned copier-3f away. It signed in from 10.1.2.3 with a wrong password. What to do: Type the password from the copier's card"
    ));
    assert!(shows(
        app,
        "What to do: Type the password from the copier's card"
    ));
    // Staff can fix this at the copier; only a lost card needs IT, and the message is there.
    assert!(!shows(app, "IT must change something"));
    assert!(!shows(app, "Something here needs IT"));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains("scanmail relay remove-device copier-3f"),
        "{it}"
    );
    // Once the check's own message is gone, the row's message for IT stays, as a maybe.
    app.relay.for_it = None;
    assert!(shows(
        app,
        "If the steps above do not help, send IT the message below."
    ));
    assert!(!shows(app, "Something here needs IT"));

    // 3. Something at an unknown address with old encryption.
    click(app, "Check this copier through the relay");
    write_state(
        dir.path(),
        &running(
            &format!(
                r#"{{"copier-3f":{{"messages":1,"bytes":900,"last_message":"{now}","last_error":"It signed in from 10.1.2.3 with a wrong password.","last_refused":"{now}","refusal":"wrong-password","refused_from":"10.1.2.3"}}}}"#
            ),
            &format!(
                r#"{{"10.9.9.9":{{"messages":0,"bytes":0,"last_error":"The copier at 10.9.9.9 knows only old encryption (TLS 1.0), which the relay does not take.","last_refused":"{now}","refusal":"old-tls","refused_from":"10.9.9.9"}}}}"#
            ),
        ),
    );
    refresh(app);
    assert!(shows(app, "The relay turned away a copier at 10.9.9.9."));
    assert!(shows(app, "allow_plain_from = [\"10.9.9.9\"]"));
    assert!(shows(app, "Turned away at 10.9.9.9"));
    screenshot(app, "light-12-relay-turned-away", 1100.0);

    // 4. Nothing at all in 3 minutes: what to check on the copier, then the message for IT.
    click(app, "Check this copier through the relay");
    let started = scanmail::time::now_unix();
    scanmail::time::pretend_now(Some(started + 60));
    refresh(app);
    assert!(
        shows(app, "Send a scan from copier-3f now"),
        "still watching"
    );
    scanmail::time::pretend_now(Some(
        started + scanmail::gui::relay::watch::WATCH_SECONDS + 1,
    ));
    // The running relay wrote its state a moment ago, as it does every minute.
    let file = dir.path().join("relay-state.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    v["alive"] = scanmail::time::utc_rfc3339(scanmail::time::now_unix()).into();
    write_state(dir.path(), &v.to_string());
    refresh(app);
    scanmail::time::pretend_now(None);
    assert!(shows(
        app,
        "Nothing reached the relay from copier-3f in 3 minutes."
    ));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains("TCP port 2525") && it.contains("firewall"),
        "{it}"
    );
}

/// Only IT can read the service's state: the copiers by name, the form to add one, and the
/// message for IT with the exact command.
#[test]
fn where_only_it_reads_the_state_staff_still_add_a_copier() {
    let (dir, config) = relay("{}");
    std::fs::remove_file(dir.path().join("relay-state.json")).unwrap();
    std::fs::create_dir(dir.path().join("relay-state.json")).unwrap();
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    // A state file that cannot be read now (here a folder in its place): look again, else IT.
    assert!(shows(
        app,
        "ScanMail cannot read how the relay is doing right now"
    ));
    assert!(shows(app, "Add a copier"));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(it.contains("it is a folder, not a file"), "{it}");
    // Where the service's state is IT's alone (Windows after install-service): the copiers by
    // name, the form, and the exact command for IT. (Root reads every file, so the refusal is
    // set here in read_checked's words.)
    app.relay.unreadable = Some(
        "Only an administrator can see how the relay's service stands. Run as an administrator: scanmail relay status".into(),
    );
    assert!(shows(
        app,
        "Only IT can see how the relay is doing on this computer"
    ));
    assert!(shows(app, "copier-3f"));
    assert!(shows(app, "Add a copier"));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(it.contains("scanmail relay status"), "{it}");
    screenshot(app, "light-13-relay-only-it", 900.0);
}

/// A relay that is not running says why, with the fix for that cause.
#[test]
fn a_relay_that_is_not_running_says_why_and_offers_the_fix() {
    let (dir, config) = relay(
        r#"{"start_problem":"The relay could not open 0.0.0.0:2525: port 2525 is in use by another program"}"#,
    );
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    // Staff read plain words; the system's own error goes to IT.
    assert!(shows(
        app,
        "The relay could not start: another program may use its port."
    ));
    assert!(!shows(app, "could not open 0.0.0.0:2525"));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains("could not open 0.0.0.0:2525")
            && it.contains("free that port")
            && it.contains("listen in"),
        "{it}"
    );
    // No start problem, and (on this test machine) no service: install it.
    write_state(dir.path(), "{}");
    if !Path::new("/etc/systemd/system/scanmail-relay.service").exists() {
        click(app, "Relay");
        assert!(shows(app, "The relay is not running on this computer."));
        let effects = click(app, "Install it as a service");
        assert!(
            matches!(effects.as_slice(), [Effect::Elevated(a)] if a == &["relay", "install-service"]),
            "{effects:?}"
        );
    }
}

/// The copier check found a copier too old for encryption: the page says what IT must allow,
/// with that copier's address, and keeps the address for adding it.
#[test]
fn a_copier_too_old_for_encryption_gets_what_it_must_allow() {
    let (_dir, config) = relay(&running("{}", "{}"));
    let mut app = page(&config);
    let app = &mut app;
    app.relay.old_copier = Some(scanmail::gui::copier_check::OldCopier {
        address: "10.1.2.40".into(),
        version: "TLS 1.0".into(),
    });
    app.relay.address = "10.1.2.40".into();
    click(app, "Relay");
    assert!(shows(
        app,
        "The copier at 10.1.2.40 knows only old encryption (TLS 1.0)."
    ));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains("allow_plain_from = [\"10.1.2.40\"]")
            && it.contains("Staff then add the copier on ScanMail's Relay page with this address"),
        "{it}"
    );
    screenshot(app, "light-14-relay-old-copier", 1000.0);
}

/// A copier whose message the provider refused: its row says so in plain words and the
/// provider's words go to IT. A check while the relay is not running says to start it first.
#[test]
fn the_providers_refusal_goes_to_it_and_a_check_needs_a_running_relay() {
    let now = scanmail::time::utc_rfc3339(scanmail::time::now_unix());
    let (dir, config) = relay(&running(
        &format!(
            r#"{{"copier-3f":{{"messages":1,"bytes":900,"last_message":"{now}","last_error":"The mail provider refused a message: 550 5.7.60 Client does not have permissions to send as this sender"}}}}"#
        ),
        "{}",
    ));
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    assert!(shows(
        app,
        "Last problem: Its last message did not go through."
    ));
    // One failed message may pass (three in a row are a warning): a maybe for IT.
    assert!(shows(
        app,
        "If the steps above do not help, send IT the message below."
    ));
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains(
            "Copier copier-3f, its last message: The mail provider refused a message: 550 5.7.60"
        ),
        "{it}"
    );
    // The relay stops: a check cannot see anything, and says why at once.
    write_state(
        dir.path(),
        r#"{"listening":[],"upstream":{"signed_in":true},"devices":{}}"#,
    );
    refresh(app);
    click(app, "Check this copier through the relay");
    assert!(shows(
        app,
        "Nothing reached the relay from copier-3f, because the relay is not running."
    ));
    assert!(app.relay.watch.is_none());
}

/// A copier's card again, without its password (shown only when it was added); a lost card
/// goes to IT with the command that lets staff add the copier again.
#[test]
fn a_copiers_card_is_shown_again_without_its_password() {
    let (_dir, config) = relay(&running("{}", "{}"));
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    click(app, "Show its card");
    assert!(shows(app, "The card for copier-3f is below."));
    assert!(shows(app, "The one on the copier's first card"));
    assert!(
        !shows(app, "abcdabcdabcdabcd"),
        "the password is never shown again"
    );
    // Looking at the card asks nothing of IT.
    assert!(!shows(app, "remove-device"));
    screenshot(app, "light-15-relay-card-again", 1300.0);
    // The password is lost: the message for IT, and the form ready for adding it again.
    click(app, "Lost the password?");
    let it = copied(&click(app, "Copy the message for IT"));
    assert!(
        it.contains("scanmail relay remove-device copier-3f"),
        "{it}"
    );
    assert_eq!(app.relay.name, "copier-3f");
    assert!(shows(
        app,
        "When IT has removed copier-3f, press Add the copier in Add a copier"
    ));
    assert!(app.relay.card.is_none());
}

/// An administrator's step that could not run: the fields keep their text, and the page gives
/// the command to type instead. A name already in use is caught before anyone is asked.
#[test]
fn fields_survive_an_administrators_step_that_did_not_run() {
    let (dir, config) = relay(&running("{}", "{}"));
    let mut app = page(&config);
    let app = &mut app;
    click(app, "Relay");
    type_into(app, NAME_ID, "copier-3f");
    assert!(click(app, "Add the copier").is_empty());
    assert!(shows(app, "There is already a copier called copier-3f."));
    // A relay.toml this window cannot write (the machine-wide one): the administrator's step.
    // (A folder in its place: even root cannot open it to write.)
    let loaded = app.relay.config.clone();
    app.relay.config_path = dir.path().to_path_buf();
    app.relay.config = loaded;
    app.relay.name = "copier-4f".into();
    let effects = click(app, "Add the copier");
    assert!(
        matches!(effects.as_slice(), [Effect::Elevated(a)] if a[..3] == ["relay", "add-device", "copier-4f"]),
        "{effects:?} {:?}",
        app.relay.said
    );
    app.handle(Message::Relay(Page::AdminDone(Err(
        "The administrator's OK was not given, so nothing changed. Ask IT to do it, or to run this as an administrator:".into(),
    ))));
    assert_eq!(app.relay.name, "copier-4f", "the name stays");
    assert!(shows(app, "The administrator's OK was not given"));
    let command = copied(&click(app, "Copy the command"));
    assert!(
        command.contains("relay add-device copier-4f --password-hash"),
        "{command}"
    );
    assert_eq!(app.step, Step::Relay);
}

/// Clicks `label` if it is on screen.
fn click_maybe(app: &mut App, label: &str) -> Option<Vec<Effect>> {
    let label = label.to_string();
    let mut found = false;
    let effects = ui::interact(app, |ui| {
        found = ui.click(label.as_str()).is_ok();
    });
    found.then_some(effects)
}

/// From the copier check to the Relay page: the copier too old for encryption comes along, its
/// address already in the Add form.
#[test]
fn the_copier_check_brings_the_old_copier_to_the_relay_page() {
    let (_dir, config) = relay(&running("{}", "{}"));
    let mut app = page(&config);
    let app = &mut app;
    let mut old = scanmail::listen::Connection {
        peer: "10.1.2.40:51234".into(),
        ..Default::default()
    };
    old.tls.highest_version = Some("TLS1.0".into());
    old.ready = Some(scanmail::listen::ready::Ready {
        ok: false,
        line: "Not ready: the copier's encryption is too old (TLS1.0). ...".into(),
    });
    app.copier.connections = vec![scanmail::listen::Connection::default(), old];
    app.handle(Message::Copier(
        scanmail::gui::copier_check::Message::OpenRelay,
    ));
    assert_eq!(app.step, Step::Relay);
    assert_eq!(
        app.relay.old_copier,
        Some(scanmail::gui::copier_check::OldCopier {
            address: "10.1.2.40".into(),
            version: "TLS 1.0".into()
        })
    );
    assert_eq!(app.relay.address, "10.1.2.40");
    assert!(shows(
        app,
        "The copier at 10.1.2.40 knows only old encryption (TLS 1.0)."
    ));
}
