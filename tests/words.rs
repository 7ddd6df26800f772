//! The words people read, checked by a test that can fail. Every advice, verdict, warning, way
//! forward, copier-check line, discovery message, card line and preset text is produced with
//! sample inputs, split into sentences, and held to four rules:
//! - no jargon in the main view (a term may stay with its plain clause, or inside a copier's
//!   own menu path "A > B > C"; messages for IT and Details may use it);
//! - no sentence above grade 9 in the main view (Flesch-Kincaid, counted below);
//! - every advice ends in a step the person can take or a message for IT;
//! - no advice suggests port 465 where the provider or the preset rules it out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use scanmail::catalog::{self, microsoft, warnings};
use scanmail::listen::{self, AuthFacts, Connection, TlsFacts, ready};
use scanmail::smtp::advice::{Context, advice};
use scanmail::smtp::diagnose::Problem;
use scanmail::smtp::verdict::{Outcome, Summary};
use scanmail::smtp::{
    Auth, PortResult, Recommended, Report, Security, Stage, Surface, reply::Reply,
};

/// Terms that stay out of the main view, each with the words that explain it in place (a
/// sentence holding one of them keeps the term).
const JARGON: &[(&str, &[&str])] = &[
    ("OAuth", &["sign-in", "sign in"]),
    ("SMTP AUTH", &[]),
    ("Authenticated SMTP", &[]),
    ("firmware", &[]),
    ("relay", &["passes", "pass it on", "passing"]),
    ("connector", &[]),
    ("High Volume Email", &[]),
    ("Azure", &[]),
    ("MX", &[]),
    ("SRV", &[]),
    ("DNS", &[]),
    ("VLAN", &[]),
    ("Bonjour", &[]),
    ("AirPrint", &[]),
    ("TLS 1.", &["encryption"]),
    ("cipher", &[]),
    ("handshake", &[]),
    ("client_id", &[]),
    ("tenant", &[]),
    ("admin consent", &[]),
    ("Security Defaults", &[]),
    ("multi-factor", &[]),
    ("XOAUTH2", &[]),
    ("EHLO", &[]),
];

const MAX_GRADE: f64 = 9.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Main,
    ForIt,
}

struct Words {
    all: Vec<(Seen, String, String)>,
    /// The relay's messages, whole (each must name a step).
    relay: Vec<(Seen, String, String)>,
}

impl Words {
    fn add(&mut self, seen: Seen, where_: &str, text: &str) {
        if !text.trim().is_empty() {
            self.all.push((seen, where_.to_string(), text.to_string()));
        }
    }
    fn main(&mut self, where_: &str, text: &str) {
        self.add(Seen::Main, where_, text);
    }
    /// A relay message: checked as the others (the Relay page explains "relay" at its top, so
    /// the word itself is not jargon there), and kept whole for the dead-end check.
    fn relay(&mut self, seen: Seen, where_: &str, text: &str) {
        self.add(seen, &format!("relay: {where_}"), text);
        self.relay
            .push((seen, where_.to_string(), text.to_string()));
    }
}

// ---- A small Flesch-Kincaid counter ---------------------------------------------------------

fn syllables(word: &str) -> usize {
    let w = word.to_lowercase();
    let w = w.trim_matches('\'');
    if w.contains('-') {
        return w.split('-').filter(|p| !p.is_empty()).map(syllables).sum();
    }
    let w: String = w.chars().filter(|c| *c != '\'').collect();
    let vowel = |c: char| "aeiouy".contains(c);
    let chars: Vec<char> = w.chars().collect();
    let mut n = 0;
    let mut prev = false;
    for &c in &chars {
        let v = vowel(c);
        if v && !prev {
            n += 1;
        }
        prev = v;
    }
    let len = chars.len();
    if n > 1 {
        let before = |k: usize| chars.get(len.wrapping_sub(k)).copied().unwrap_or('a');
        // Silent endings: "make", "signed", "types" (not "simple", "wanted", "uses").
        let silent_e = w.ends_with('e') && !(w.ends_with("le") && len > 2 && !vowel(before(3)));
        let silent_ed = w.ends_with("ed") && len > 3 && !"aeiouytd".contains(before(3));
        let silent_es = w.ends_with("es")
            && len > 3
            && !"aeiouyszxgc".contains(before(3))
            && !w.ends_with("hes");
        if silent_e || silent_ed || silent_es {
            n -= 1;
        }
    }
    n.max(1)
}

/// Proper names: makers, providers, products. A reader knows them as names, so each counts as
/// one short word, like an address or a number.
fn names() -> Vec<String> {
    let cat = catalog::catalog();
    let mut n: Vec<String> = [
        "Microsoft",
        "Google",
        "Windows",
        "Gmail",
        "ScanMail",
        "Chrome",
        "Edge",
        "Firefox",
        "Safari",
        "Konica",
        "Minolta",
        "Fujifilm",
        "Xerox",
        "Outlook",
        "Workspace",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    for m in &cat.manufacturers {
        n.extend(m.name.split_whitespace().map(str::to_string));
        n.extend(
            m.aliases
                .iter()
                .flat_map(|a| a.split_whitespace().map(str::to_string)),
        );
    }
    for p in &cat.providers {
        n.extend(p.name.split_whitespace().map(str::to_string));
    }
    n
}

/// (words, syllables) of one sentence. Names, addresses, numbers, paths, words in CamelCase or
/// capitals, and the copier's own words in quotes count as one short word each.
fn count(sentence: &str) -> (usize, usize) {
    let names = names();
    // "Modern authentication" is the copier's menu word: one name.
    let mut text = String::new();
    for (i, part) in sentence.split('"').enumerate() {
        text += if i % 2 == 1 { " Q " } else { part };
    }
    let mut words = 0;
    let mut syl = 0;
    for raw in text.split_whitespace() {
        let t = raw.trim_matches(|c: char| ".,;:!?()[]\"'`<>*•—–".contains(c));
        if !t.chars().any(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        words += 1;
        let bare = t.trim_end_matches("'s");
        let name = t.chars().any(|c| "0123456789@./:{}_\\".contains(c))
            || t.chars().skip(1).any(|c| c.is_ascii_uppercase())
            || names.iter().any(|n| n == bare);
        syl += if name { 1 } else { syllables(t) };
    }
    (words, syl)
}

/// FK says little about very short sentences (one long word swings them by grades), so the
/// grade rule applies from this many words on.
const GRADED_FROM: usize = 8;

#[allow(clippy::cast_precision_loss)]
fn grade(sentence: &str) -> f64 {
    let (w, s) = count(sentence);
    if w == 0 {
        return 0.0;
    }
    0.39 * w as f64 + 11.8 * s as f64 / w as f64 - 15.59
}

/// Sentences: split at line breaks and at ". ", "! ", "? " before a capital, a digit or a quote.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut cur = String::new();
        let chars: Vec<char> = line.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            cur.push(c);
            let end = matches!(c, '.' | '!' | '?')
                && chars.get(i + 1) == Some(&' ')
                && chars
                    .get(i + 2)
                    .is_some_and(|n| n.is_uppercase() || n.is_ascii_digit() || *n == '"');
            if end {
                out.push(cur.trim().to_string());
                cur.clear();
            }
        }
        if !cur.trim().is_empty() {
            out.push(cur.trim().to_string());
        }
    }
    out
}

#[test]
fn the_counter_counts() {
    assert_eq!(syllables("device"), 2);
    assert_eq!(syllables("signed"), 1);
    assert_eq!(syllables("simple"), 2);
    assert_eq!(syllables("organization"), 5);
    assert!(grade("Use port 587 with STARTTLS.") < 3.0);
    assert!(
        grade(
            "Please choose how this copier should send: OAuth 2.0 sign-in on the copier (if its firmware has it), a relay (connector or High Volume Email), or turning Basic authentication for SMTP AUTH back on for this mailbox while Microsoft still allows it."
        ) > 12.0
    );
    assert_eq!(sentences("One. Two words here.\nThree").len(), 3);
    assert_eq!(sentences("Use smtp.gmail.com. Then test.").len(), 2);
}

// ---- What people read, with sample inputs ---------------------------------------------------

fn all_advice(w: &mut Words) {
    for &p in Problem::ALL {
        for surface in [Surface::Window, Surface::CommandLine] {
            for (locked, other_allowed, other_tested, shaped, app_pw) in [
                (false, true, false, false, true),
                (false, true, true, true, true),
                (true, true, false, false, true),
                (false, false, false, false, false),
            ] {
                for security in [Security::Ssl, Security::Starttls] {
                    let cx = Context {
                        other_tested,
                        other_port_allowed: other_allowed,
                        ports_locked: locked,
                        app_password_shaped: shaped,
                        app_passwords: app_pw,
                        surface,
                        reply: Some("535 5.7.8 Username and Password not accepted"),
                        not_after: Some("2026-01-01"),
                        ..Context::new("smtp.office365.com", 587, security, "lab@example.edu")
                    };
                    let a = advice(p, &cx);
                    let at = format!("advice {p} {surface:?} locked={locked}");
                    w.main(&at, &a.title);
                    w.main(&at, &a.what_happened);
                    w.main(&at, &a.what_to_do);
                    if let Some(m) = &a.for_it {
                        w.add(Seen::ForIt, &at, m);
                    }
                }
            }
        }
    }
}

fn all_warnings(w: &mut Words) {
    let cat = catalog::catalog();
    let inputs = [
        (
            "smtp-relay.gmail.com",
            "lab@example.edu",
            Some(465),
            None,
            Some("abcd efgh ijkl mnop"),
            Some("other@example.edu"),
        ),
        (
            "smtp.office365.com",
            "lab@contoso.example",
            Some(465),
            Some(25),
            Some("Winter2026!"),
            None,
        ),
        (
            "smtp-mail.outlook.com",
            "me@outlook.com",
            None,
            Some(587),
            None,
            None,
        ),
        (
            "smtp.gmail.com",
            "lab@gmail.com",
            Some(465),
            Some(587),
            Some("password1"),
            None,
        ),
    ];
    for now in [
        microsoft::PASSWORD_OFF_BY_DEFAULT - 86_400,
        microsoft::PASSWORD_OFF_BY_DEFAULT + 86_400,
    ] {
        for (server, account, ssl, st, pw, from) in inputs {
            let input = warnings::Input {
                server,
                account,
                from,
                password_as_typed: pw,
                ssl_port: ssl,
                starttls_port: st,
            };
            for x in warnings::warnings_at(cat, &input, now) {
                w.main(&format!("warning {}", x.id), &x.title);
                w.main(&format!("warning {}", x.id), &x.advice);
            }
        }
    }
}

fn result(works: bool, problem: Option<Problem>) -> PortResult {
    PortResult {
        port: 587,
        security: Security::Starttls,
        works,
        stage: if works { Stage::Done } else { Stage::Auth },
        sent: works,
        elapsed_ms: 300,
        problem,
        reply: problem.map(|_| Reply {
            code: 535,
            enhanced: Some("5.7.139".into()),
            lines: vec!["Authentication unsuccessful, basic authentication is disabled.".into()],
        }),
        advice: None,
        tls: None,
        address: None,
        detail: None,
        transcript: Vec::new(),
    }
}

fn m365_report(works: bool) -> Report {
    let problem = (!works).then_some(Problem::BasicAuthDisabled);
    Report {
        server: "smtp.office365.com".into(),
        account: "lab@contoso.example".into(),
        recipient: "lab@contoso.example".into(),
        login_only: false,
        auth: Auth::Password,
        token: "K7QX2M".into(),
        started_at: "2026-12-06T10:00:00Z".into(),
        results: vec![result(works, problem)],
        recommended: works.then_some(Recommended {
            port: 587,
            security: Security::Starttls,
        }),
        summary: Summary {
            outcome: if works {
                Outcome::Works
            } else {
                Outcome::Fails
            },
            headline: "headline".into(),
            next_step: "next".into(),
            problem,
            ..Summary::default()
        },
    }
}

fn microsoft_plans(w: &mut Words) {
    let cat = catalog::catalog();
    for maker in [
        None,
        cat.manufacturer("Konica Minolta"),
        cat.manufacturer("Kyocera"),
    ] {
        for works in [true, false] {
            for now in [
                microsoft::PASSWORD_OFF_BY_DEFAULT - 86_400,
                microsoft::PASSWORD_OFF_BY_DEFAULT + 86_400,
            ] {
                for ready in [true, false] {
                    let mut r = m365_report(works);
                    let copier = microsoft::Copier {
                        maker,
                        label: "Warren 2nd floor scanner (Konica Minolta bizhub C300i)",
                    };
                    microsoft::advise(&mut r, &copier, ready, now);
                    let v = &r.summary;
                    let at = format!("microsoft plan works={works}");
                    if !works {
                        w.main(&at, &v.next_step);
                    }
                    if let Some(n) = &v.notice {
                        w.main(&at, n);
                    }
                    let ways = v.ways.as_ref().expect("a plan");
                    w.main(&at, &ways.best.title);
                    w.main(&at, &ways.best.text);
                    for o in &ways.others {
                        w.add(Seen::ForIt, &at, &o.text);
                    }
                    w.add(Seen::ForIt, &at, v.message_for_it.as_deref().unwrap_or(""));
                    assert!(
                        v.next.is_some() || v.message_for_it.is_some(),
                        "{at}: a dead end"
                    );
                }
            }
        }
    }
    for now in [0, microsoft::PASSWORD_OFF_BY_DEFAULT + 1] {
        w.main("retiring", &microsoft::retiring_words(now));
    }
}

fn copier_check(w: &mut Words) {
    let base = Connection {
        peer: "10.0.0.9".into(),
        ehlo: Some("copier".into()),
        tls: TlsFacts {
            mode: "starttls".into(),
            offered_versions: vec!["TLS1.0".into()],
            highest_version: Some("TLS1.0".into()),
            handshake: "failed".into(),
            cipher_suites: Some(12),
            modern_cipher: Some(false),
            ..TlsFacts::default()
        },
        auth: Some(AuthFacts {
            mechanism: "LOGIN".into(),
            user: "scanner@lab.example".into(),
            password_matches: Some(false),
        }),
        mail_from: Some("printer@lab.example".into()),
        size_bytes: Some(200 * 1024 * 1024),
        ..Connection::default()
    };
    let mut variants = vec![base.clone()];
    let mut plain = base.clone();
    plain.tls = TlsFacts::default();
    variants.push(plain);
    let mut good = base.clone();
    good.tls.highest_version = Some("TLS1.3".into());
    good.tls.handshake = "ok".into();
    good.tls.modern_cipher = Some(true);
    variants.push(good.clone());
    let mut unknown = good.clone();
    unknown.from_header = Some("other@lab.example".into());
    variants.push(unknown);
    let mut no_auth = good.clone();
    no_auth.auth = None;
    variants.push(no_auth);
    let mut cut = good.clone();
    cut.size_bytes = None;
    cut.cut = true;
    variants.push(cut);
    let mut cert = good.clone();
    cert.tls.handshake = "failed".into();
    cert.tls.failure = Some("received fatal alert: UnknownCA".into());
    variants.push(cert);
    let expect = ready::Expect {
        login: Some("lab@example.edu".into()),
        security: Some(Security::Ssl),
        copier: Some("10.0.0.7".parse().unwrap()),
        command_line: false,
    };
    let cli = ready::Expect {
        command_line: true,
        ..expect.clone()
    };
    let rules = [
        listen::verdict::Rules::all(),
        vec![listen::verdict::Rules::named("google").unwrap()],
        vec![listen::verdict::Rules::named("microsoft").unwrap()],
    ];
    for c in variants {
        for r in &rules {
            let mut c = c.clone();
            listen::verdict::judge(&mut c, r);
            for e in [expect.clone(), cli.clone(), ready::Expect::default()] {
                c.ready = Some(ready::judge(&c, &e));
                w.main("copier check", &listen::summary(&c));
            }
        }
    }
    for e in [
        listen::ListenError::PortTaken(2525),
        listen::ListenError::PortsTaken(2525, 2535),
        listen::ListenError::PortNeedsAdmin(25),
        listen::ListenError::Certificate("x".into()),
    ] {
        w.main("listen error", &e.to_string());
    }
}

fn card_and_catalog(w: &mut Words) {
    let cat = catalog::catalog();
    for m in &cat.manufacturers {
        if let Some(l) = m.oauth_line() {
            w.main(&format!("oauth line {}", m.id), &l);
        }
        for f in &m.limits {
            w.main(&format!("limit {}", m.id), &f.value);
        }
    }
    for l in scanmail::card::AT_THE_COPIER
        .iter()
        .chain(&scanmail::card::IF_THE_COPIER_FAILS)
    {
        w.main("card", l);
    }
    for p in [
        scanmail::oauth::Provider::Microsoft,
        scanmail::oauth::Provider::Google,
    ] {
        w.main(
            "card sign-in",
            &scanmail::card::oauth_text(p, Some("a code shown on its web page")),
        );
    }
    w.main("discover", scanmail::discover::NOTHING_FOUND);
}

fn presets(w: &mut Words) {
    for name in [
        "google-workspace",
        "microsoft-365",
        "university-special-purpose",
    ] {
        let text = std::fs::read_to_string(format!("resources/presets/{name}.toml")).unwrap();
        let p = scanmail::org::Preset::parse(&text).unwrap();
        // The preset's own line breaks are wrapping, not sentence ends.
        w.main(&format!("preset {name}"), &p.why.replace('\n', " "));
        for s in &p.steps {
            w.main(&format!("preset {name} step"), &s.title);
            // "(For IT: ...)" in a step is a message for IT.
            match s.text.split_once("(For IT:") {
                Some((main, it)) => {
                    w.main(&format!("preset {name} step"), main);
                    w.add(Seen::ForIt, &format!("preset {name} step"), it);
                }
                None => w.main(&format!("preset {name} step"), &s.text),
            }
        }
    }
    w.main("account", scanmail::gui::account::BEFORE_YOU_START);
    w.main("account", scanmail::gui::account::PRIVATE_WINDOW);
    w.main("relay page", scanmail::gui::relay::WHY_ADMIN);
    w.main(
        "sign-in",
        scanmail::gui::test_send::sign_in::OTHER_ACCOUNT_MICROSOFT,
    );
    w.main(
        "sign-in",
        scanmail::gui::test_send::sign_in::OTHER_ACCOUNT_GOOGLE,
    );
}

/// The relay's sentences: the Relay page (the copier card, refusals and their fixes, why it is
/// not running, the check through the relay), and what IT reads (service states, warnings).
fn relay_words(w: &mut Words) {
    use scanmail::relay::refusal::Refusal;
    use scanmail::relay::service_state::ServiceState;
    let cfg: scanmail::relay::config::RelayConfig = toml::from_str(
        "listen = [\"0.0.0.0:2525\"]\nallow_plain_from = [\"10.1.2.40\"]\n[upstream]\nprovider = \"microsoft\"\naccount = \"scanner@contoso.example\"\nauth = \"password\"\n",
    )
    .unwrap();
    for (name, addresses) in [
        ("copier-3f", vec![]),
        ("old", vec!["10.1.2.40".to_string()]),
    ] {
        let d = scanmail::relay::config::Device {
            name: name.into(),
            password_hash: String::new(),
            addresses,
            rewrite_from: true,
            allowed_recipients: vec![],
        };
        let card =
            scanmail::relay::card::RelayCard::new(&cfg, &d, "10.1.2.3", Some("abcdabcdabcdabcd"))
                .for_maker(catalog::catalog().find_manufacturer("Konica Minolta", ""));
        for (k, v) in card.rows() {
            w.relay(Seen::Main, "relay card", &format!("{k}: {v}"));
        }
    }
    for r in [
        Refusal::WrongPassword,
        Refusal::AddressNotAllowed,
        Refusal::UnknownLogin,
        Refusal::CertificateRefused,
        Refusal::OldTls,
        Refusal::TlsFailed,
        Refusal::SignInWithoutTls,
        Refusal::SslOnStarttls,
    ] {
        let at = format!("relay refusal {r:?}");
        // The page shows the fix itself only where staff can act; IT's fixes go in the message.
        let what = r.what("10.1.2.3", "TLS 1.0");
        let fix = r.fix(
            Some("copier-3f"),
            "10.1.2.3",
            "received fatal alert: HandshakeFailure",
        );
        let step = r
            .staff_step()
            .unwrap_or("IT must change something: send IT the message below.");
        w.relay(Seen::Main, &at, &format!("{what} What to do: {step}"));
        w.relay(Seen::ForIt, &at, &fix);
    }
    let down_states = [
        ServiceState::Running,
        ServiceState::NotInstalled,
        ServiceState::Starting,
        ServiceState::Stopped,
        ServiceState::Failed,
        ServiceState::Unknown("it did not answer".into()),
    ];
    for s in &down_states {
        let d = scanmail::gui::relay::running::down(None, s, "/etc/scanmail/relay/relay.toml");
        w.relay(Seen::Main, "relay page: not running", &d.said);
        if let Some(m) = d.for_it {
            w.relay(Seen::ForIt, "relay page: not running", &m);
        }
        w.relay(Seen::ForIt, "relay service-status", &s.words());
    }
    let d = scanmail::gui::relay::running::down(
        Some("The relay could not open 0.0.0.0:2525: port 2525 is in use"),
        &ServiceState::Running,
        "/etc/scanmail/relay/relay.toml",
    );
    w.relay(Seen::Main, "relay page: could not start", &d.said);
    // The check through the relay: each ending.
    let mut state = scanmail::relay::status::State::default();
    let watch = scanmail::gui::relay::watch::Watch::start("copier-3f", &state);
    state
        .devices
        .entry("copier-3f".into())
        .or_default()
        .refused(Refusal::WrongPassword, "10.1.2.3", "");
    let seen = watch.seen(&cfg, &state).unwrap();
    w.relay(Seen::Main, "relay check: refused", &seen.said);
    let now = scanmail::time::now_unix();
    scanmail::time::pretend_now(Some(now + scanmail::gui::relay::watch::WATCH_SECONDS + 1));
    let quiet = scanmail::gui::relay::watch::Watch::start("copier-3f", &state);
    scanmail::time::pretend_now(Some(
        now + 2 * scanmail::gui::relay::watch::WATCH_SECONDS + 2,
    ));
    let down = quiet.seen(&cfg, &state).unwrap();
    state.alive = Some(scanmail::time::utc_rfc3339(
        now + 2 * scanmail::gui::relay::watch::WATCH_SECONDS,
    ));
    let seen = quiet.seen(&cfg, &state).unwrap();
    scanmail::time::pretend_now(None);
    w.relay(Seen::Main, "relay check: relay not running", &down.said);
    w.relay(Seen::Main, "relay check: nothing", &seen.said);
    w.relay(Seen::ForIt, "relay check: nothing", &seen.for_it.unwrap());
    // What IT reads in relay status: the warnings.
    let mut s = scanmail::relay::status::State::default();
    s.upstream.token_expires = Some(scanmail::time::utc_rfc3339(now + 5 * 86_400));
    s.upstream.refused_in_a_row = 3;
    s.upstream.last_error =
        Some("550 5.7.60 Client does not have permissions to send as this sender".into());
    for signed_in in [true, false] {
        s.upstream.signed_in = signed_in;
        for x in scanmail::relay::status::warnings(&cfg, &s, now) {
            w.relay(Seen::ForIt, "relay status warning", &x);
        }
    }
    w.relay(Seen::Main, "relay page", scanmail::gui::relay::WHY_ADMIN);
}

fn collect() -> Words {
    let mut w = Words {
        all: Vec::new(),
        relay: Vec::new(),
    };
    relay_words(&mut w);
    all_advice(&mut w);
    all_warnings(&mut w);
    microsoft_plans(&mut w);
    copier_check(&mut w);
    card_and_catalog(&mut w);
    presets(&mut w);
    w
}

/// A term is fine inside a copier's own menu path ("A > B > C"), inside a server name
/// (smtp-relay.gmail.com), or with its plain clause.
fn jargon_in(sentence: &str) -> Option<&'static str> {
    if sentence.contains(" > ") {
        return None;
    }
    // The copier's own words in quotes ("OAuth 2.0") are its menu, not jargon.
    let unquoted: String = sentence
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, p)| p)
        .collect();
    let words: String = unquoted
        .split_whitespace()
        .filter(|w| !w.trim_end_matches(['.', ',', ')']).contains('.'))
        .collect::<Vec<_>>()
        .join(" ");
    JARGON.iter().find_map(|(term, explained)| {
        let hit = if term.chars().all(|c| c.is_ascii_uppercase()) {
            words
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == *term)
        } else {
            words.contains(term)
        };
        (hit && !explained.iter().any(|e| sentence.contains(e))).then_some(*term)
    })
}

#[test]
fn the_main_view_has_no_jargon_and_no_sentence_above_grade_9() {
    let w = collect();
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut main = 0;
    for (kind, at, text) in &w.all {
        if *kind != Seen::Main {
            continue;
        }
        for s in sentences(text) {
            if !seen.insert(s.clone()) {
                continue;
            }
            main += 1;
            if let Some(term) = jargon_in(&s)
                && !(term == "relay" && at.starts_with("relay: "))
            {
                bad.push(format!("jargon \"{term}\" ({at}): {s}"));
            }
            let g = grade(&s);
            if g > MAX_GRADE && count(&s).0 >= GRADED_FROM && !s.contains(" > ") {
                bad.push(format!("grade {g:.1} ({at}): {s}"));
            }
        }
    }
    println!("{main} main-view sentences checked");
    assert!(main > 300, "the test reads what people read: {main}");
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_advice_ends_in_a_step_or_a_message_and_465_only_where_it_exists() {
    for &p in Problem::ALL {
        for surface in [Surface::Window, Surface::CommandLine] {
            for (locked, allowed) in [(false, true), (true, true), (false, false)] {
                let cx = Context {
                    ports_locked: locked,
                    other_port_allowed: allowed,
                    surface,
                    ..Context::new(
                        "smtp.office365.com",
                        587,
                        Security::Starttls,
                        "lab@example.edu",
                    )
                };
                let a = advice(p, &cx);
                assert!(a.next.is_some() || a.for_it.is_some(), "{p}: a dead end");
                if locked || !allowed {
                    assert!(
                        !a.what_to_do.contains("465"),
                        "{p} ({surface:?}, locked={locked}): {}",
                        a.what_to_do
                    );
                }
                if locked {
                    assert!(
                        !a.what_to_do.contains("port number")
                            && !a.what_to_do.contains("Test port"),
                        "{p}: the preset locks the ports: {}",
                        a.what_to_do
                    );
                }
                if surface == Surface::CommandLine {
                    for window_word in ["under Advanced", "step 1", "Send the test message to"] {
                        assert!(
                            !a.what_to_do.contains(window_word),
                            "{p}: the command line speaks of the window: {}",
                            a.what_to_do
                        );
                    }
                }
            }
        }
    }
}

/// Every relay message ends in a step: something to do at the copier or this computer, a
/// command, or the message for IT; none sends a person back where they came from.
#[test]
fn every_relay_message_names_a_step_and_none_loops() {
    let w = collect();
    let steps = [
        "Send IT",
        "send IT",
        "Staff type",
        "Staff set",
        "What to do:",
        "run:",
        "Run:",
        "Run ",
        "Start it",
        "Install it",
        "Type ",
        "Set the copier",
        "Turn off",
        "turn off",
        "IT lets",
        "IT adds",
        "IT removes",
        "Look again",
        "See why",
        "See how it stands",
        "Sign ",
        "Start the relay",
        "Renew it",
        "Switch to",
        "Fix ",
        "scanmail ",
        "Look:",
        "Please ",
        "check the SMTP server",
        "shows it running",
        "Then press",
    ];
    let mut bad = Vec::new();
    for (kind, at, text) in &w.relay {
        if at.starts_with("relay card") || at == "relay page" {
            continue; // the card's rows and the reason for a prompt are not messages
        }
        if !steps.iter().any(|s| text.contains(s)) {
            bad.push(format!("a dead end ({kind:?}, {at}): {text}"));
        }
        // A loop: the fix is the very thing that failed.
        if text.contains("Sign in again") && at.contains("refusal") {
            bad.push(format!("a loop ({at}): {text}"));
        }
    }
    println!("{} relay messages checked", w.relay.len());
    assert!(w.relay.len() > 25, "{}", w.relay.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
