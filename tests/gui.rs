//! The window, driven like a person would: clicking labels and typing into fields in iced's
//! headless simulator, with side effects checked as `Effect`s and the test send run for real
//! against the scripted SMTP peer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
#[path = "ui/mod.rs"]
mod ui;

use iced_test::selector;
use iced_test::simulator::Simulator;
use scanmail::gui::{App, Effect, Message, Step, account, device, test_send};
use scanmail::org::Preset;
use scanmail::smtp::{self, Options};
use std::path::PathBuf;
use support::{Fault, PASSWORD, Peer, Pki, Script, USER};
use ui::{click, interact, screenshot, shows, type_into};

/// Runs a started test send for real and feeds its progress and result back to the window.
async fn run_effects(app: &mut App, effects: Vec<Effect>) {
    for effect in effects {
        let Effect::StartTest(request) = effect else {
            continue;
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let options = Options {
            events: Some(tx),
            ..Options::default()
        };
        let result = smtp::test_send_with(&request, options).await;
        while let Ok(ev) = rx.try_recv() {
            app.handle(Message::Test(test_send::Message::Progress(ev)));
        }
        app.handle(Message::Test(test_send::Message::Finished(result)));
    }
}

struct Setup {
    _pki: Pki,
    ssl_peer: Peer,
    _st: Peer,
    app: App,
}

async fn setup(script: Script) -> Setup {
    setup_with(script, Preset::built_in()).await
}

/// The window with `base`'s preset pointed at a fresh scripted pair, trusting its CA.
async fn setup_with(script: Script, base: Preset) -> Setup {
    let (pki, ssl, st) = support::start_pair(script).await;
    let preset = Preset {
        server: "127.0.0.1".into(),
        ssl_port: Some(ssl.port),
        starttls_port: Some(st.port),
        ..base
    };
    let mut app = App::new(preset);
    // The organization's own CA, as the Advanced file dialog would load it.
    app.handle(Message::Test(test_send::Message::CaFileLoaded(Some((
        PathBuf::from("test-ca.pem"),
        Ok(pki.ca_pem.as_bytes().to_vec()),
    )))));
    Setup {
        _pki: pki,
        ssl_peer: ssl,
        _st: st,
        app,
    }
}

fn fill_account(app: &mut App, password: &str) {
    type_into(app, account::ADDRESS_ID, USER);
    type_into(app, account::PASSWORD_ID, password);
    click(app, "Next: the device");
    assert_eq!(app.step, Step::Device);
}

fn fill_device(app: &mut App) {
    type_into(app, device::MAKER_ID, "Konica Minolta");
    type_into(app, device::MODEL_ID, "bizhub C300i");
    assert!(shows(
        app,
        "The email (SMTP) settings are usually under: Utility > Administrator"
    ));
    assert!(shows(
        app,
        "SSL/TLS (port 465) is called \"SMTP over SSL\"."
    ));
    click(app, "Next: test send");
    assert_eq!(app.step, Step::TestSend);
}

/// Steps 1 to 3 with a wrong app password, the test send run to its verdict.
async fn test_with_a_wrong_password(app: &mut App) {
    fill_account(app, "wrongpasswordxyz");
    fill_device(app);
    let effects = click(app, "Test send");
    run_effects(app, effects).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn happy_path_ends_with_a_settings_card() {
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    assert!(shows(app, "The device account"));
    fill_account(app, PASSWORD);
    assert!(app.is_done(Step::Account));
    fill_device(app);
    assert!(app.is_done(Step::Device));

    let effects = click(app, "Test send");
    assert!(
        matches!(effects.as_slice(), [Effect::StartTest(_)]),
        "{effects:?}"
    );
    assert!(app.test.running);
    assert!(shows(app, "Cancel"));
    run_effects(app, effects).await;

    assert!(!app.test.running);
    assert!(shows(app, "Works: the test message was accepted"));
    let message = s.ssl_peer.log().messages[0].clone();
    assert!(
        message.contains("Device profile: Konica Minolta bizhub C300i\r\n"),
        "{message}"
    );
    let port = app.preset.ssl_port.unwrap();
    assert!(shows(app, &format!("Use port {port} with SSL/TLS.")));
    assert!(app.is_done(Step::TestSend));

    click(app, "Show the settings card");
    assert_eq!(app.step, Step::Card);
    assert!(shows(
        app,
        "Scan-to-email settings for Konica Minolta bizhub C300i"
    ));
    assert!(shows(
        app,
        "Turn on SMTP over SSL (this is SSL/TLS). Turn off Start TLS."
    ));
    assert!(shows(
        app,
        "Utility > Administrator > Network > E-mail Setting > E-mail TX (SMTP)"
    ));
    assert!(
        !shows(app, PASSWORD),
        "the password is hidden until asked for"
    );
    click(app, "Show");
    assert!(shows(app, PASSWORD));

    let effects = click(app, "Copy");
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("SMTP server:          127.0.0.1"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the copy never holds the password"
    );
    assert!(app.is_done(Step::Card));
    let effects = click(app, "Save as...");
    let [Effect::SaveCard { text, html }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(!text.contains(PASSWORD) && !html.contains(PASSWORD));
    assert!(matches!(
        click(app, "Print").as_slice(),
        [Effect::PrintCard(_)]
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_shows_what_to_do() {
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    test_with_a_wrong_password(app).await;
    assert!(shows(app, "Failed: The app password was not accepted"));
    assert!(shows(
        app,
        &format!(
            "What to do: Check the address in step 1. The app password may be typed wrong, revoked, or made for another account. Make a new one for {USER} and paste it in step 1. If a new one is refused too, send IT the message below."
        )
    ));
    assert!(
        shows(app, "Copy message for IT"),
        "a way out besides another new one"
    );
    assert!(shows(app, "The app password was not accepted."));
    assert!(shows(app, "Go to step 1"));
    assert!(!shows(app, "The server said: 535"), "details stay closed");
    interact(app, |ui| {
        ui.click("Details").unwrap();
    });
    assert!(shows(
        app,
        "The server said: 535 5.7.8 Username and Password not accepted."
    ));
    assert!(shows(app, "Problem id: auth-rejected (stage: auth)"));
    assert!(app.settings_card().is_none());
    click(app, "4  Settings card");
    assert!(shows(app, "run the test send first"));
}

#[tokio::test(flavor = "multi_thread")]
async fn validation_speaks_plainly_and_keeps_what_was_typed() {
    let mut built_in = App::new(Preset::built_in());
    let app = &mut built_in;
    type_into(app, account::ADDRESS_ID, "lab-scanner@");
    assert!(shows(app, "This is not a complete email address yet."));
    assert_eq!(app.account.address, "lab-scanner@");
    type_into(app, account::PASSWORD_ID, "Winter2026!");
    assert!(shows(app, "This looks like a normal password"));

    click(app, "3  Test send");
    let effects = click(app, "Test send");
    assert!(effects.is_empty(), "bad input never starts a test");
    assert!(
        shows(app, "is not a complete email address"),
        "the account problem is named"
    );
    assert!(shows(app, "(step 1, Account)"));

    interact(app, |ui| {
        ui.click("Advanced ▸").unwrap();
    });
    type_into(app, test_send::SSL_PORT_ID, "x");
    assert!(shows(
        app,
        "The SSL/TLS port must be a number from 1 to 65535."
    ));
    assert_eq!(app.test.ssl_port, "465x", "typed text is kept");

    // Warnings before testing.
    let server = app.test.server.clone();
    app.handle(Message::Test(test_send::Message::ServerChanged(
        "smtp-relay.gmail.com".into(),
    )));
    assert!(shows(app, "smtp-relay.gmail.com will likely not work"));
    app.handle(Message::Test(test_send::Message::ServerChanged(
        String::new(),
    )));
    assert!(shows(app, "Enter the mail server's name"));
    app.handle(Message::Test(test_send::Message::ServerChanged(server)));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_both_ports() {
    let mut s = setup(Script::gmail().with_fault(Fault::Tarpit)).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    let effects = click(app, "3  Test send");
    assert!(effects.is_empty());
    let effects = click(app, "Test send");
    let [Effect::StartTest(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    app.handle(Message::Test(test_send::Message::Progress(
        smtp::Event::Stage {
            port: request.ssl_port.unwrap(),
            security: smtp::Security::Ssl,
            stage: smtp::Stage::Tls,
            elapsed_ms: 12,
        },
    )));
    assert!(shows(
        app,
        "Securing the connection: waiting for the secure connection..."
    ));
    let effects = click(app, "Cancel");
    assert_eq!(effects, vec![Effect::CancelTest]);
    assert!(!app.test.running);
    assert!(shows(app, "Cancelled"));
    // A late result from the cancelled run changes nothing.
    app.handle(Message::Test(test_send::Message::Finished(Err(
        smtp::InputError::NoPorts,
    ))));
    assert!(app.test.report.is_none() && app.test.input_error.is_none());
    assert!(shows(app, "Test send"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_search_opens_an_encoded_url() {
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    click(app, "2  Device");
    type_into(app, device::MAKER_ID, "kon");
    assert!(
        shows(app, "Konica Minolta"),
        "the list narrows to the match"
    );
    click(app, "Konica Minolta");
    assert_eq!(app.device.manufacturer, "Konica Minolta");
    type_into(app, device::MODEL_ID, "bizhub C258 / C308");
    let effects = click(app, "Find the email (SMTP) section of the manual");
    assert_eq!(
        effects,
        vec![Effect::OpenUrl(
            "https://www.google.com/search?q=Konica+Minolta+bizhub+C258+%2F+C308+manual+scan+to+email+SMTP".into()
        )]
    );
    type_into(app, device::ADDRESS_ID, "10.20.30.40");
    let effects = click(app, "Open the device's settings page");
    assert_eq!(effects, vec![Effect::OpenUrl("http://10.20.30.40/".into())]);
}

#[test]
fn the_organizations_steps_have_open_buttons() {
    let mut app = App::new(Preset::built_in());
    let app = &mut app;
    // The first "Open" belongs to the first step: creating the account.
    let effects = interact(app, |ui| {
        ui.click("Open").unwrap();
    });
    assert_eq!(
        effects,
        vec![Effect::OpenUrl("https://admin.google.com/ac/users".into())]
    );
    assert!(shows(app, "Create one app password for this device"));
}

#[test]
fn a_browser_that_will_not_open_leaves_the_address_to_copy() {
    let mut app = App::new(Preset::built_in());
    let app = &mut app;
    app.handle(Message::Done(Err(
        "ScanMail could not open a browser. Copy this address into one: https://example.test/a?b=c"
            .into(),
    )));
    assert!(shows(app, "ScanMail could not open a browser."));
    let effects = click(app, "Copy address");
    assert_eq!(
        effects,
        vec![Effect::Copy("https://example.test/a?b=c".into())]
    );
    click(app, "OK");
    assert!(app.notice.is_none());
}

/// Clears a field and types new text into it.
fn retype(app: &mut App, id: &'static str, text: &str) {
    interact(app, |ui| {
        ui.click(selector::id(id)).expect("field on screen");
        ui.tap_key(iced::keyboard::key::Named::End);
        for _ in 0..40 {
            ui.tap_key(iced::keyboard::key::Named::Backspace);
        }
        ui.typewrite(text);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_leads_back_to_step_1_and_then_to_a_working_test() {
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    test_with_a_wrong_password(app).await;
    assert!(shows(app, "The app password was not accepted."));
    let effects = click(app, "Go to step 1");
    assert_eq!(app.step, Step::Account);
    assert_eq!(effects, [Effect::Focus(account::PASSWORD_ID)]);
    retype(app, account::PASSWORD_ID, PASSWORD);
    assert_eq!(app.account.password().expose(), PASSWORD);
    click(app, "3  Test send");
    let effects = click(app, "Test send");
    run_effects(app, effects).await;
    assert!(shows(app, "Use port"), "the test works now");
    assert!(app.test.works());
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_report_puts_the_report_on_the_clipboard_without_the_password() {
    let mut s = setup(Script::microsoft()).await;
    let app = &mut s.app;
    test_with_a_wrong_password(app).await;
    let effects = click(app, "Copy report");
    let [Effect::Copy(report)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    for needle in [
        "Verdict: fails",
        "problem id: auth-rejected",
        "S: 535 5.7.3 Authentication unsuccessful",
        "C: AUTH LOGIN",
        "C: <hidden>",
        USER,
    ] {
        assert!(report.contains(needle), "{needle} missing in\n{report}");
    }
    assert!(!report.contains("wrongpasswordxyz"));
    assert!(shows(app, "Copied the report."));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_time_moves_while_a_silent_server_is_tested() {
    let mut s = setup(Script::gmail().with_fault(Fault::Tarpit)).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    fill_device(app);
    app.handle(Message::Test(test_send::Message::TimeoutChanged(
        "2".into(),
    )));
    let effects = click(app, "Test send");
    assert!(shows(app, "This takes up to 2 seconds."));
    let started = app.test.started.expect("a start time");
    app.handle(Message::Test(test_send::Message::Progress(
        smtp::Event::Stage {
            port: 465,
            security: smtp::Security::Ssl,
            stage: smtp::Stage::Tls,
            elapsed_ms: 3,
        },
    )));
    for (ms, shown) in [(400, "400 ms"), (1300, "1.3 s")] {
        app.handle(Message::Test(test_send::Message::Tick(
            started + std::time::Duration::from_millis(ms),
        )));
        assert!(shows(app, shown), "{shown}");
    }
    assert!(shows(
        app,
        "Securing the connection: waiting for the secure connection..."
    ));
    run_effects(app, effects).await;
    assert!(shows(app, "The server did not say hello."));
}

#[tokio::test(flavor = "multi_thread")]
async fn enter_starts_the_step_chosen_in_the_list() {
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    fill_device(app);
    app.handle(Message::Goto(Step::Account));
    app.handle(Message::Enter);
    assert_eq!(app.step, Step::Device, "Enter is Next on the Account step");
    app.handle(Message::Goto(Step::TestSend));
    let effect = app.handle(Message::Enter);
    assert!(matches!(effect, Effect::StartTest(_)), "{effect:?}");
    assert_eq!(
        app.handle(Message::Enter),
        Effect::None,
        "one test at a time"
    );
}

#[test]
fn the_account_page_puts_the_address_and_password_first() {
    let app = App::new(Preset::built_in());
    let mut ui = Simulator::with_size(iced::Settings::default(), (1000.0, 760.0), app.view());
    for id in [account::ADDRESS_ID, account::PASSWORD_ID] {
        let target = ui.find(selector::id(id)).expect("on the page");
        let b = target.bounds();
        assert!(
            b.y + b.height <= 760.0,
            "{id} is below the fold of a 1000x760 window: {b:?}"
        );
    }
    drop(ui);
    assert!(shows(&app, "Before you start"));
    assert!(shows(&app, "Ctrl+Shift+N"));
}

/// Feeds a sign-in stream's messages to the window; `on_show` looks at the screen while the
/// sign-in waits. Returns the effects the last message produced.
async fn run_sign_in(
    app: &mut App,
    provider: scanmail::oauth::Provider,
    mut on_show: impl FnMut(&mut App),
) -> Vec<Effect> {
    use iced::futures::StreamExt;
    let stream = test_send::sign_in::run(
        provider,
        app.preset.oauth.clone(),
        app.account.address.clone(),
    );
    let mut stream = std::pin::pin!(stream);
    let mut effects = Vec::new();
    while let Some(m) = stream.next().await {
        let shown = matches!(m, test_send::sign_in::Message::Show(_));
        let e = app.handle(Message::Test(test_send::Message::SignIn(m)));
        if shown {
            on_show(app);
        }
        effects = vec![e];
    }
    effects
}

#[tokio::test(flavor = "multi_thread")]
async fn a_microsoft_365_device_signs_in_with_a_code_and_gets_a_card_without_a_password() {
    use scanmail::oauth::Provider;
    use support::idp::{self, Idp, Outcome};
    let idp = Idp::start(Outcome::ApproveAfter(1)).await;
    let mut s = setup_with(Script::microsoft(), Preset::parse(&idp.preset()).unwrap()).await;
    let ssl = &s.ssl_peer;
    let app = &mut s.app;
    assert!(shows(app, "How does this device sign in?"));
    type_into(app, account::ADDRESS_ID, USER);
    click(app, "Microsoft 365 sign-in (OAuth 2.0)");
    assert_eq!(app.account.sign_in, Some(Provider::Microsoft));
    assert!(shows(app, "no app password is needed"));
    assert!(!shows(app, "Paste the app password here"));
    click(app, "Next: the device");
    fill_device(app);

    let effects = click(app, "Test send");
    assert_eq!(effects, vec![Effect::StartSignIn(Provider::Microsoft)]);
    let effects = run_sign_in(app, Provider::Microsoft, |app| {
        assert!(shows(app, idp::USER_CODE), "the code, shown big");
        assert!(shows(
            app,
            &format!("http://127.0.0.1:{}/devicelogin", idp.port)
        ));
        assert_eq!(
            click(app, "Copy the code"),
            vec![Effect::Copy(idp::USER_CODE.into())]
        );
        assert!(shows(app, "pick \"Use another account\""));
        assert!(matches!(
            click(app, "Open the sign-in page").as_slice(),
            [Effect::OpenUrl(u)] if u.ends_with("/devicelogin")
        ));
    })
    .await;
    let [Effect::StartTest(request)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(request.token.is_some() && request.password.is_empty());
    run_effects(app, effects).await;
    assert!(shows(app, "Works: the test message was accepted"));
    assert_eq!(ssl.log().tokens[0].2, support::TOKEN);

    click(app, "Show the settings card");
    assert!(shows(
        app,
        "Microsoft sign-in (the copier may call it OAuth 2.0"
    ));
    assert!(!shows(app, "The app password"));
    let effects = click(app, "Copy");
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(!text.contains("Password:"), "{text}");
    assert!(!text.contains(support::TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_sign_in_leaves_the_step_ready_to_try_again() {
    use scanmail::oauth::Provider;
    use support::idp::{Idp, Outcome};
    let idp = Idp::start(Outcome::Deny).await;
    let preset = Preset::parse(&idp.preset()).unwrap();
    let mut app = App::new(preset);
    let app = &mut app;
    type_into(app, account::ADDRESS_ID, USER);
    click(app, "Google sign-in (OAuth 2.0)");
    app.step = Step::TestSend;
    assert_eq!(
        click(app, "Test send"),
        vec![Effect::StartSignIn(Provider::Google)]
    );
    assert!(shows(app, "Starting the Google sign-in"));
    assert_eq!(click(app, "Cancel"), vec![Effect::CancelTest]);
    assert!(!app.test.running && app.test.signing_in.is_none());
    assert!(shows(app, "Test send"));
    // Microsoft refused at the sign-in page: the reason, in plain words, and no test.
    app.account.sign_in = Some(Provider::Microsoft);
    click(app, "Test send");
    let effects = run_sign_in(app, Provider::Microsoft, |_| {}).await;
    assert!(effects.iter().all(|e| *e == Effect::None), "{effects:?}");
    assert!(shows(
        app,
        "The Microsoft 365 sign-in did not work: The sign-in was refused or cancelled"
    ));
}

/// After the end of December 2026 (the clock held there), Microsoft 365 refuses the password:
/// the verdict names the one best way for this copier (a Konica Minolta can sign in itself),
/// with the button to test that sign-in, and the other ways wait behind "Other ways (for IT)".
#[tokio::test(flavor = "multi_thread")]
async fn microsoft_365_after_the_date_names_the_best_way_first_and_the_others_for_it() {
    use scanmail::oauth::Provider;
    use support::idp::{Idp, Outcome};
    scanmail::time::pretend_now(Some(
        scanmail::catalog::microsoft::PASSWORD_OFF_BY_DEFAULT + 40 * 86_400,
    ));
    let idp = Idp::start(Outcome::ApproveAfter(0)).await;
    let mut script = Script::microsoft();
    script.auth_always = Some(vec![
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.".into(),
    ]);
    let mut s = setup_with(script, Preset::parse(&idp.preset()).unwrap()).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    fill_device(app);
    let effects = click(app, "Test send");
    run_effects(app, effects).await;
    assert!(shows(
        app,
        "This mailbox can no longer send with a password"
    ));
    assert!(shows(
        app,
        "Microsoft turned this off for everyone at the end of December 2026"
    ));
    assert!(shows(
        app,
        "What to do: Best way for this copier: Microsoft sign-in on the copier. Konica Minolta copiers can sign in to Microsoft themselves."
    ));
    let it = app
        .test
        .report
        .as_ref()
        .unwrap()
        .summary
        .message_for_it
        .clone()
        .unwrap();
    assert!(
        it.contains("Konica Minolta bizhub C300i") && it.contains("ScanMail's catalog:"),
        "{it}"
    );
    assert_eq!(click(app, "Copy message for IT"), vec![Effect::Copy(it)]);
    assert!(shows(app, "Other ways (for IT) ▸"));
    assert!(!shows(
        app,
        "• Microsoft's sending service for devices: IT sets up High Volume Email"
    ));
    click(app, "Other ways (for IT) ▸");
    screenshot(app, "light-9-microsoft-after-the-date", 760.0);
    assert!(shows(
        app,
        "• Microsoft's sending service for devices: IT sets up High Volume Email"
    ));
    assert!(shows(
        app,
        "• Password sending back on for this mailbox: IT turns"
    ));
    click(app, "Test the Microsoft sign-in");
    assert_eq!(app.account.sign_in, Some(Provider::Microsoft));
    assert_eq!(
        click(app, "Test send"),
        vec![Effect::StartSignIn(Provider::Microsoft)]
    );
    scanmail::time::pretend_now(None);
}

/// Before the end of December 2026, a password test on Microsoft 365 that works: the verdict
/// stays green, one line says what is coming, and the message for IT (Copy, Email IT) names
/// the account, the server and the copier. The person is done with the copier today.
#[tokio::test(flavor = "multi_thread")]
async fn microsoft_365_working_before_the_date_stays_green_with_one_line_and_a_message_for_it() {
    scanmail::time::pretend_now(Some(
        scanmail::catalog::microsoft::PASSWORD_OFF_BY_DEFAULT - 25 * 86_400,
    ));
    let base = Preset {
        help_desk: "it-help@example.edu".into(),
        ..Preset::built_in()
    };
    let mut s = setup_with(Script::microsoft(), base).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    fill_device(app);
    let effects = click(app, "Test send");
    // The scripted peer plays Microsoft 365 on loopback; the report names Microsoft's server.
    for effect in effects {
        let Effect::StartTest(request) = effect else {
            continue;
        };
        let mut result = smtp::test_send_with(&request, Options::default()).await;
        if let Ok(r) = result.as_mut() {
            // Microsoft 365's server and port, as the real test would show them.
            r.server = "smtp.office365.com".into();
            r.results
                .retain(|p| p.security == scanmail::smtp::Security::Starttls);
            r.results[0].port = 587;
            r.recommended = Some(scanmail::smtp::Recommended {
                port: 587,
                security: scanmail::smtp::Security::Starttls,
            });
            r.summary.headline = "Use port 587 with STARTTLS.".into();
        }
        app.handle(Message::Test(test_send::Message::Finished(result)));
    }
    let headline = app.test.report.as_ref().map(|r| r.summary.headline.clone());
    assert!(
        headline
            .as_deref()
            .is_some_and(|h| h.starts_with("Use port")),
        "{headline:?}"
    );
    let line = "This works now. Microsoft turns password sending off at the end of December 2026. Send IT the message below, so they can choose how this copier keeps sending.";
    assert!(shows(app, line));
    let it = app
        .test
        .report
        .as_ref()
        .unwrap()
        .summary
        .message_for_it
        .clone()
        .unwrap();
    for needle in [
        USER,
        "smtp.office365.com",
        "Konica Minolta bizhub C300i",
        "works today",
    ] {
        assert!(it.contains(needle), "{needle}: {it}");
    }
    screenshot(app, "light-9-microsoft-works-before-the-date", 760.0);
    assert_eq!(click(app, "Copy message for IT"), vec![Effect::Copy(it)]);
    assert!(
        matches!(click(app, "Email IT").as_slice(), [Effect::OpenUrl(u)] if u.starts_with("mailto:it-help@example.edu"))
    );
    assert!(!shows(app, "What to do:"), "nothing to fix today");
    // The card and the report say the same.
    click(app, "Show the settings card");
    assert!(shows(app, line));
    let (text, _) = app.report_text().unwrap();
    assert!(text.contains(line), "{text}");
    scanmail::time::pretend_now(None);
}

/// A preset with a mistake: the window says so, and the message for IT is one Copy away.
#[test]
fn a_broken_preset_gives_the_message_for_it_with_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("org.toml");
    std::fs::write(&path, "organization = \"Lab\"\nserver = 5\n").unwrap();
    let found = scanmail::org::locate(Some(&path));
    let mut app = App::with_store(found, None);
    let app = &mut app;
    assert!(shows(app, "The organization preset has a mistake"));
    let copied = click(app, "Copy the message for IT");
    let [Effect::Copy(m)] = copied.as_slice() else {
        panic!("{copied:?}")
    };
    assert!(
        m.starts_with("ScanMail's organization preset has a mistake: ") && !m.ends_with('"'),
        "{m}"
    );
    click(app, "OK");
    assert!(!shows(app, "Copy the message for IT"));
}

/// A check that cannot start because only IT can fix it gives the message for IT with Copy;
/// one the person can fix (ports in use) says what to close and has no message for IT.
#[test]
fn a_copier_check_that_cannot_start_gives_the_message_for_it() {
    use scanmail::gui::copier_check;
    use scanmail::listen::ListenError;
    let mut app = App::new(Preset::built_in());
    let app = &mut app;
    app.step = Step::Card;
    click(app, "Start the copier check");
    let e = ListenError::Certificate("no random numbers".into());
    app.handle(Message::Copier(copier_check::Message::Failed(
        e.to_string(),
        e.for_it(),
    )));
    assert!(!app.copier.running);
    assert!(shows(app, "Start the check again"));
    assert_eq!(
        click(app, "Copy the message for IT"),
        vec![Effect::Copy(
            "ScanMail's copier check could not make its certificate: no random numbers".into()
        )]
    );
    click(app, "Start the copier check");
    let e = ListenError::PortsTaken(2525, 2535);
    app.handle(Message::Copier(copier_check::Message::Failed(
        e.to_string(),
        e.for_it(),
    )));
    assert!(shows(app, "Close other programs"));
    assert!(!shows(app, "Copy the message for IT"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_copier_check_shows_the_settings_each_connection_and_the_way_back() {
    use iced::futures::StreamExt;
    use scanmail::gui::copier_check;
    use std::io::{BufRead, Write};
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    app.step = Step::Card;
    assert!(shows(app, "Check the copier (optional)"));
    assert_eq!(
        click(app, "Start the copier check"),
        vec![Effect::StartCopierCheck]
    );
    assert!(app.copier.running);
    // What the effect runs, on loopback (the window itself listens on all addresses).
    let options = scanmail::listen::Options {
        address: Some("127.0.0.1".parse().unwrap()),
        port: 0,
        limits: scanmail::receive::Limits {
            idle: std::time::Duration::from_secs(5),
            ..Default::default()
        },
        ..scanmail::listen::Options::default()
    };
    let mut stream = std::pin::pin!(copier_check::run(options));
    let first = stream.next().await.unwrap();
    let copier_check::Message::Started(_, port, _) = first.clone() else {
        panic!("{first:?}")
    };
    app.handle(Message::Copier(first));
    assert!(shows(app, &format!("Port: {port}")));
    assert!(shows(app, "SMTP server: 127.0.0.1"));
    assert!(shows(app, "Security: STARTTLS"));
    // A copier that sends without encryption.
    tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut r = std::io::BufReader::new(tcp.try_clone().unwrap());
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        tcp.write_all(b"HELO old-copier\r\n").unwrap();
        r.read_line(&mut l).unwrap();
        tcp.write_all(b"QUIT\r\n").unwrap();
        r.read_line(&mut l).unwrap();
    })
    .await
    .unwrap();
    loop {
        let m = stream.next().await.unwrap();
        let done = matches!(
            m,
            copier_check::Message::Seen(scanmail::listen::Event::Finished(_))
        );
        app.handle(Message::Copier(m));
        if done {
            break;
        }
    }
    assert!(shows(app, "Not ready: the copier sent without encryption."));
    assert!(shows(app, "Encryption: no"));
    assert!(
        !shows(app, "old-copier"),
        "the EHLO name waits behind Details"
    );
    click(app, "Details ▸");
    assert!(shows(app, "It calls itself (EHLO): old-copier"));
    assert_eq!(click(app, "Cancel"), vec![Effect::StopCopierCheck]);
    assert!(shows(app, "put the copier's real settings back"));
}

/// A real copier client (curl) with another password and another sender: the check counts
/// both, and says "Not ready" with the one thing to fix first.
#[tokio::test(flavor = "multi_thread")]
async fn a_copier_with_another_password_and_sender_is_not_ready() {
    use iced::futures::StreamExt;
    use scanmail::gui::copier_check;
    let mut s = setup(Script::gmail()).await;
    let app = &mut s.app;
    fill_account(app, PASSWORD);
    fill_device(app);
    let effects = click(app, "Test send");
    run_effects(app, effects).await;
    click(app, "Show the settings card");
    click(app, "Start the copier check");
    let options = scanmail::listen::Options {
        address: Some("127.0.0.1".parse().unwrap()),
        port: 0,
        next_free_port: false,
        ..app.copier_options()
    };
    assert_eq!(options.expect.login.as_deref(), Some(USER));
    let mut stream = std::pin::pin!(copier_check::run(options));
    let first = stream.next().await.unwrap();
    let copier_check::Message::Started(_, port, implicit) = first.clone() else {
        panic!("{first:?}")
    };
    app.handle(Message::Copier(first));
    let security = if implicit { "SSL/TLS" } else { "STARTTLS" };
    assert!(
        shows(app, &format!("Security: {security}")),
        "the card's security"
    );
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("scan.eml");
    std::fs::write(
        &msg,
        "From: printer@lab.example\r\nTo: me@lab.example\r\nSubject: Scan\r\n\r\npage 1\r\n",
    )
    .unwrap();
    let scheme = if implicit { "smtps" } else { "smtp" };
    let url = format!("{scheme}://127.0.0.1:{port}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--url", &url, "--ssl-reqd", "-k"])
            .args(["--user", &format!("{USER}:another-password-123")])
            .args([
                "--mail-from",
                "printer@lab.example",
                "--mail-rcpt",
                "me@lab.example",
            ])
            .arg("--upload-file")
            .arg(&msg)
            .output()
            .expect("curl (scripts/test.sh installs it)")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    loop {
        let m = stream.next().await.unwrap();
        let done = matches!(
            m,
            copier_check::Message::Seen(scanmail::listen::Event::Finished(_))
        );
        app.handle(Message::Copier(m));
        if done {
            break;
        }
    }
    assert!(shows(
        app,
        "Not ready: the copier's password is not the one in step 1. Type the password again on the copier."
    ));
    assert!(shows(app, &format!("Encryption: yes ({security})")));
    assert!(shows(
        app,
        &format!("Signed in as {USER} with a password (NOT the one you gave ScanMail)")
    ));
    assert!(shows(app, "Sender: printer@lab.example"));
    let c = &app.copier.connections[0];
    assert!(!c.ready.as_ref().unwrap().ok);
    screenshot(app, "light-10-copier-check-not-ready", 1500.0);
    // The other sender is counted too: with the password right, it is the thing to fix.
    let mut fixed = c.clone();
    fixed.auth.as_mut().unwrap().password_matches = Some(true);
    let r = scanmail::listen::ready::judge(
        &fixed,
        &scanmail::listen::ready::Expect {
            login: Some(USER.into()),
            ..Default::default()
        },
    );
    assert!(r.line.contains("sends as printer@lab.example"), "{r:?}");
    let copied = click(app, "Copy for IT");
    assert!(
        matches!(copied.as_slice(), [Effect::Copy(t)] if t.contains("Sign-in method: PLAIN") && !t.contains("another-password"))
    );
}

#[test]
fn found_copiers_fill_the_device_step_in_one_click() {
    use scanmail::discover::Device;
    use scanmail::gui::device_finder;
    let mut app = App::new(Preset::built_in());
    let app = &mut app;
    app.step = Step::Device;
    assert_eq!(
        click(app, "Find copiers on this network"),
        vec![Effect::FindDevices]
    );
    assert!(shows(app, "Looking for copiers on this network"));
    let found = |r| Message::Device(device::Message::Finder(device_finder::Message::Found(r)));
    app.handle(found(Ok(Vec::new())));
    assert!(
        shows(app, "may be on another network"),
        "nothing found is explained"
    );
    click(app, "Find copiers on this network");
    app.handle(found(Ok(vec![Device {
        name: "Canon iR-ADV C3520".into(),
        manufacturer: Some("Canon".into()),
        model: Some("iR-ADV C3520 UFR II".into()),
        address: Some("10.0.0.7".into()),
        admin_url: Some("http://10.0.0.7/".into()),
        services: vec!["_ipp._tcp".into()],
        catalog_match: Some("Canon".into()),
    }])));
    assert!(shows(app, "iR-ADV C3520 UFR II, at 10.0.0.7"));
    click(app, "Use this one");
    assert_eq!(
        (
            app.device.manufacturer.as_str(),
            app.device.model.as_str(),
            app.device.address.as_str()
        ),
        ("Canon", "iR-ADV C3520 UFR II", "10.0.0.7")
    );
    assert_eq!(
        click(app, "Open its settings page"),
        vec![Effect::OpenUrl("http://10.0.0.7/".into())]
    );
}

#[test]
fn the_accounts_domain_suggests_its_provider_and_warns_when_the_preset_differs() {
    use scanmail::discover::dns::DomainFacts;
    let mut app = App::new(Preset::built_in());
    let app = &mut app;
    type_into(app, account::ADDRESS_ID, "scanner@contoso.test");
    type_into(app, account::PASSWORD_ID, PASSWORD);
    click(app, "Next: the device");
    let effects = click(app, "Next: test send");
    assert_eq!(effects, vec![Effect::LookupDomain("contoso.test".into())]);
    app.handle(Message::Test(test_send::Message::DomainFound(
        "contoso.test".into(),
        DomainFacts {
            provider: Some("microsoft365".into()),
            detected_by: Some("mx"),
            mx: vec!["contoso-test.mail.protection.outlook.com".into()],
            ..DomainFacts::default()
        },
    )));
    assert!(shows(
        app,
        "Mail for contoso.test goes through Microsoft 365"
    ));
    assert!(
        shows(app, "Send IT the message below"),
        "the preset's Gmail server differs"
    );
    let it = app.test.domain_message_for_it().unwrap();
    assert!(
        it.contains("smtp.gmail.com") && it.contains("contoso.test"),
        "{it}"
    );
    assert_eq!(
        click(app, "Copy the message for IT"),
        vec![Effect::Copy(it)]
    );
    click(app, "Use smtp.office365.com");
    assert_eq!(app.test.server, "smtp.office365.com");
    assert!(!app.test.ssl_on && app.test.starttls_on);
    // Asked once per domain.
    app.step = Step::Device;
    assert!(click(app, "Next: test send").is_empty());
    // A record that points outside the domain is never offered, only reported to IT.
    app.handle(Message::Test(test_send::Message::DomainFound(
        "contoso.test".into(),
        DomainFacts {
            srv: Some(("smtp.attacker.example".into(), 587, false)),
            srv_trusted: false,
            ..DomainFacts::default()
        },
    )));
    assert!(shows(app, "points to a sending server outside it"));
    assert!(!shows(app, "Use smtp.attacker.example"));
    assert!(
        app.test
            .domain_message_for_it()
            .unwrap()
            .contains("smtp.attacker.example")
    );
}

/// A browser: follows the identity provider's redirect to ScanMail's loopback address.
fn browse(url: &str) -> String {
    let get = |url: &str| -> String {
        use std::io::{Read, Write};
        let u = url::Url::parse(url).unwrap();
        let mut tcp =
            std::net::TcpStream::connect((u.host_str().unwrap(), u.port().unwrap())).unwrap();
        let target = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        write!(
            tcp,
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).unwrap();
        text
    };
    let first = get(url);
    let location = first
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap()
        .to_string();
    get(&location)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_google_device_signs_in_in_the_browser_and_both_ports_work() {
    use iced::futures::StreamExt;
    use scanmail::oauth::Provider;
    use support::idp::{Idp, Outcome};
    let idp = Idp::start(Outcome::ApproveAfter(0)).await;
    let mut s = setup_with(Script::gmail(), Preset::parse(&idp.preset()).unwrap()).await;
    let ssl = &s.ssl_peer;
    let app = &mut s.app;
    type_into(app, account::ADDRESS_ID, USER);
    click(app, "Google sign-in (OAuth 2.0)");
    app.step = Step::TestSend;
    assert_eq!(
        click(app, "Test send"),
        vec![Effect::StartSignIn(Provider::Google)]
    );
    let stream = test_send::sign_in::run(Provider::Google, app.preset.oauth.clone(), USER.into());
    let mut stream = std::pin::pin!(stream);
    let mut last = Vec::new();
    let mut browser = None;
    while let Some(m) = stream.next().await {
        if let test_send::sign_in::Message::Show(test_send::sign_in::Show::Browser { url }) = &m {
            let url = url.clone();
            // The window asks for the browser; the test is the browser instead (in the
            // background: the sign-in must keep running to answer it).
            let e = app.handle(Message::Test(test_send::Message::SignIn(m)));
            assert_eq!(e, Effect::OpenUrl(url.clone()));
            assert!(shows(app, "Your browser opened Google's sign-in page"));
            // Signed in as someone else in that browser: another account, or a private window.
            assert!(shows(app, "pick \"Use another account\""));
            assert_eq!(
                click(app, "Copy the page's address"),
                vec![Effect::Copy(url.clone())]
            );
            browser = Some(tokio::task::spawn_blocking(move || browse(&url)));
            continue;
        }
        last = vec![app.handle(Message::Test(test_send::Message::SignIn(m)))];
    }
    let page = browser.expect("the browser was asked for").await.unwrap();
    assert!(page.contains("Signed in"), "{page}");
    run_effects(app, last).await;
    assert!(shows(app, "Works: the test message was accepted"));
    assert_eq!(ssl.log().tokens[0].2, support::TOKEN);
}

/// The Relay page before IT set one up, and with settings it cannot read: each time the message
/// for IT with Copy, never a dead end.
#[test]
fn the_relay_page_without_a_relay_gives_the_message_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(Preset {
        relay: true,
        ..Preset::built_in()
    });
    let app = &mut app;
    app.relay.config_path = dir.path().join("relay.toml");
    click(app, "Relay");
    assert!(shows(app, "This computer has no relay yet"));
    let copied = click(app, "Copy the message for IT");
    assert!(
        matches!(copied.as_slice(), [Effect::Copy(m)] if m.contains("scanmail relay init --account")),
        "{copied:?}"
    );
    std::fs::write(dir.path().join("relay.toml"), "listen = 5\n").unwrap();
    click(app, "Relay");
    click(app, "Try again");
    assert!(
        shows(app, "The relay's settings on this computer cannot be used."),
        "{:?}",
        app.relay.config
    );
    let copied = click(app, "Copy the message for IT");
    assert!(
        matches!(copied.as_slice(), [Effect::Copy(m)] if m.contains("could not be read")),
        "{copied:?}"
    );
}

/// The Relay page: the sign-in ran out ("Sign in again" asks for an administrator), and a
/// copier added from the window gets its card with its password, once.
#[test]
fn the_relay_page_adds_a_copier_and_asks_to_sign_in_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "listen = [\"0.0.0.0:2525\"]\n[upstream]\nprovider = \"microsoft\"\naccount = \"scanner@contoso.example\"\nauth = \"oauth\"\nsecrets = \"file\"\n[upstream.oauth.microsoft]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n",
    )
    .unwrap();
    let now = scanmail::time::now_unix();
    std::fs::write(
        dir.path().join("relay-state.json"),
        format!(
            r#"{{"listening":["0.0.0.0:2525 (STARTTLS)"],"alive":"{}","upstream":{{"signed_in":true,"token_expires":"{}"}}}}"#,
            scanmail::time::utc_rfc3339(now),
            scanmail::time::utc_rfc3339(now - 86_400)
        ),
    )
    .unwrap();
    let mut app = App::new(Preset {
        relay: true,
        ..Preset::built_in()
    });
    let app = &mut app;
    app.relay.config_path = config.clone();
    click(app, "Relay");
    assert_eq!(app.step, Step::Relay);
    assert!(
        shows(app, "The relay runs on this computer. Copiers send to ")
            && shows(app, "Port 2525 (STARTTLS)."),
        "{:?} {:?}",
        app.relay.state,
        app.relay.config
    );
    assert!(shows(app, "The relay's sign-in ran out on"));
    assert!(shows(
        app,
        "The relay's sign-in as scanner@contoso.example has run out."
    ));
    assert!(!shows(app, "Signed in as scanner@contoso.example, until"));
    let effects = click(app, "Sign in");
    assert!(
        matches!(effects.as_slice(), [Effect::Elevated(a)] if a.contains(&"sign-in".to_string()) && !a.contains(&"--config".to_string())),
        "{effects:?}"
    );
    assert!(shows(app, "asks for an administrator's OK first"));
    type_into(app, scanmail::gui::relay::NAME_ID, "copier-3f");
    type_into(app, scanmail::gui::relay::ADDRESS_ID, "10.1.2.3");
    click(app, "Add the copier");
    assert!(
        shows(app, "Added copier-3f."),
        "the file is writable here: no administrator needed"
    );
    let card = app.relay.card.clone().unwrap();
    assert_eq!(card.login, "copier-3f");
    assert_eq!(card.port, 2525);
    assert_eq!(card.security, "STARTTLS");
    assert_eq!(card.password.len(), 16);
    assert!(shows(app, &card.password), "shown this once");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.contains("name = \"copier-3f\"") && !saved.contains(&card.password));
    assert!(shows(app, "copier-3f: 0 message(s), no message yet"));
    screenshot(app, "light-11-relay", 1400.0);
    let copied = click(app, "Copy");
    assert!(matches!(copied.as_slice(), [Effect::Copy(t)] if t.contains(&card.password)));
    // Watching a copier's next message through the relay.
    click(app, "Check this copier through the relay");
    assert!(shows(app, "Send a scan from copier-3f now"));
}

/// Microsoft 365 on the Relay page: which sign-in the relay uses, "Set up Microsoft 365" (an
/// administrator's step), then the folder with the certificate and the script, the portal's
/// steps, and the sign-in with the app's ID; once signed in as its app, the certificate's end.
#[test]
fn the_relay_page_sets_up_microsoft_365() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(
        &config,
        "listen = [\"0.0.0.0:2525\"]\n[upstream]\nprovider = \"microsoft\"\naccount = \"scanner@contoso.example\"\nauth = \"password\"\nsecrets = \"file\"\n",
    )
    .unwrap();
    let mut app = App::new(Preset {
        relay: true,
        ..Preset::built_in()
    });
    let app = &mut app;
    app.relay.config_path = config.clone();
    click(app, "Relay");
    assert!(shows(app, "It signs in with the mailbox's password."));
    let effects = click(app, "Set up Microsoft 365");
    assert!(
        matches!(effects.as_slice(), [Effect::Elevated(a)] if a == &["relay", "microsoft-app"]),
        "{effects:?}"
    );
    // What the administrator's step leaves: the certificate, the script, auth = "app".
    let (_, cert) = scanmail::oauth::app::make("ScanMail relay (test)", 730).unwrap();
    std::fs::write(dir.path().join("relay-app.cer"), &cert.der).unwrap();
    std::fs::write(dir.path().join("setup-microsoft-365.ps1"), "# script").unwrap();
    std::fs::write(
        &config,
        "listen = [\"0.0.0.0:2525\"]\n[upstream]\nprovider = \"microsoft\"\naccount = \"scanner@contoso.example\"\nauth = \"app\"\nsecrets = \"file\"\n[upstream.oauth.microsoft]\nclient_id = \"\"\ntenant = \"contoso.example\"\ncertificate = \"relay-app.cer\"\n",
    )
    .unwrap();
    click(app, "Relay");
    assert!(shows(
        app,
        "The relay's certificate and the setup script are in"
    ));
    let opened = click(app, "Open the folder");
    assert!(
        matches!(opened.as_slice(), [Effect::OpenUrl(p)] if p == &dir.path().display().to_string()),
        "{opened:?}"
    );
    click(app, "Show the portal steps");
    assert!(shows(app, scanmail::gui::relay::PORTAL_STEPS));
    type_into(app, scanmail::gui::relay::CLIENT_ID_ID, "not an id");
    assert!(click(app, "Sign the relay in").is_empty());
    assert!(shows(app, "The Application (client) ID looks like"));
    let id = "7d1c2b3a-0000-4000-8000-0000000000a1";
    app.relay.client_id.clear();
    type_into(app, scanmail::gui::relay::CLIENT_ID_ID, id);
    let effects = click(app, "Sign the relay in");
    assert!(
        matches!(effects.as_slice(), [Effect::Elevated(a)] if a == &["relay", "sign-in", "--client-id", id]),
        "{effects:?}"
    );
    // Signed in as its app: the certificate's end, and no more setting up.
    let now = scanmail::time::now_unix();
    std::fs::write(
        dir.path().join("relay-state.json"),
        format!(
            r#"{{"listening":["0.0.0.0:2525 (STARTTLS)"],"alive":"{}","upstream":{{"signed_in":true}}}}"#,
            scanmail::time::utc_rfc3339(now)
        ),
    )
    .unwrap();
    click(app, "Relay");
    assert!(shows(
        app,
        "It signs in to Microsoft 365 by itself, with no person's password. IT must renew its certificate by"
    ));
    assert!(!shows(
        app,
        "Set up Microsoft 365 (for IT at this computer)"
    ));
}
