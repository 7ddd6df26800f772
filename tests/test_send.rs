//! The test send against the scripted peer: success paths, every problem id, and the rules
//! that keep the password safe.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use scanmail::secrets::AppPassword;
use scanmail::smtp::diagnose::Problem;
use scanmail::smtp::verdict;
use scanmail::smtp::{
    self, Event, Options, PortResult, Request, Resolve, Security, Stage, test_send, test_send_with,
};
use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::proxy::LatencyProxy;
use support::{Cert, Fault, Mode, PASSWORD, Peer, Pki, Script, USER};

fn request(pki: &Pki, ssl: Option<u16>, starttls: Option<u16>) -> Request {
    let mut r = Request::new("127.0.0.1", USER, AppPassword::new(PASSWORD));
    r.ssl_port = ssl;
    r.starttls_port = starttls;
    r.extra_ca_pem = Some(pki.ca_pem.as_bytes().to_vec());
    r.timeout = Duration::from_secs(5);
    r
}

/// Resolves every name to fixed addresses (with the requested port).
struct FixedResolver(Vec<&'static str>);

impl Resolve for FixedResolver {
    fn resolve<'a>(
        &'a self,
        _host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let addrs = self
            .0
            .iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), port))
            .collect();
        Box::pin(async move { Ok(addrs) })
    }
}

/// Fails every lookup the way a missing name does.
struct FailingResolver;

impl Resolve for FailingResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        let msg =
            format!("failed to lookup address information: Name or service not known ({host})");
        Box::pin(async move { Err(io::Error::other(msg)) })
    }
}

fn assert_problem(r: &PortResult, problem: Problem, stage: Stage) {
    assert!(!r.works, "{r:#?}");
    assert_eq!(r.problem, Some(problem), "{r:#?}");
    assert_eq!(r.stage, stage, "{r:#?}");
    let advice = r.advice.as_ref().expect("failures carry advice");
    let facts = |other_tested| verdict::Facts {
        server: "127.0.0.1",
        account: USER,
        app_password_shaped: true,
        other_tested,
        other_port_allowed: true,
        ports_locked: false,
        app_passwords: true,
        surface: scanmail::smtp::Surface::Window,
        now_unix: scanmail::time::now_unix(),
    };
    let settled = advice.what_to_do.starts_with("Nothing to do");
    assert!(
        settled
            || [false, true]
                .iter()
                .any(|&o| verdict::advise(r, &facts(o)).as_ref() == Some(advice)),
        "{advice:#?}"
    );
    assert!(!advice.what_to_do.is_empty());
    assert!(
        settled || advice.next.is_some() || advice.for_it.is_some(),
        "{problem} dead-ends: {advice:#?}"
    );
}

#[tokio::test]
async fn both_ports_work_and_both_messages_arrive() {
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let ssl = Peer::start(Mode::Implicit, Script::gmail(), tls.clone()).await;
    let st = Peer::start(Mode::Plain, Script::gmail(), tls).await;
    let mut req = request(&pki, Some(ssl.port), Some(st.port));
    req.profile_name = Some("Warren 2nd floor scanner".into());
    let report = test_send(&req).await.unwrap();

    assert_eq!(report.results.len(), 2);
    for (r, security) in report
        .results
        .iter()
        .zip([Security::Ssl, Security::Starttls])
    {
        assert!(r.works && r.sent, "{r:#?}");
        assert_eq!(r.security, security);
        assert_eq!(r.stage, Stage::Done);
        assert_eq!(r.problem, None);
        assert!(
            r.reply
                .as_ref()
                .unwrap()
                .to_string()
                .starts_with("250 2.0.0 OK")
        );
        let tls = r.tls.as_ref().unwrap();
        assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
        assert!(tls.subject.contains("scripted peer"), "{tls:?}");
        assert!(tls.issuer.contains("ScanMail Test CA"), "{tls:?}");
    }
    let rec = report.recommended.unwrap();
    assert_eq!((rec.port, rec.security), (ssl.port, Security::Ssl));

    for (peer, label) in [(&ssl, "SSL/TLS"), (&st, "STARTTLS")] {
        let log = peer.log();
        assert_eq!(log.messages.len(), 1);
        let m = &log.messages[0];
        for needle in [
            format!("From: {USER}"),
            format!("To: {USER}"),
            "Date: ".to_string(),
            "Message-ID: <scanmail.".to_string(),
            format!("port {} with {label}", peer.port),
            format!("[{}]", report.token),
            "Warren 2nd floor scanner".to_string(),
        ] {
            assert!(m.contains(&needle), "missing {needle:?} in\n{m}");
        }
        // The password only ever travelled inside TLS.
        assert_eq!(log.passwords, vec![(true, PASSWORD.to_string())]);
        let ehlo = &log
            .commands
            .iter()
            .find(|(_, c)| c.starts_with("EHLO "))
            .unwrap()
            .1;
        let name = &ehlo[5..];
        assert!(
            name.is_ascii() && (name.contains('.') || name == "[127.0.0.1]"),
            "{ehlo}"
        );
    }
}

#[tokio::test]
async fn login_mechanism_and_login_only() {
    let pki = Pki::new();
    let peer = Peer::start(
        Mode::Plain,
        Script::microsoft(),
        pki.server_config(Cert::Good),
    )
    .await;
    let mut req = request(&pki, None, Some(peer.port));
    req.login_only = true;
    let report = test_send(&req).await.unwrap();
    let r = &report.results[0];
    assert!(r.works && !r.sent, "{r:#?}");
    assert_eq!(r.stage, Stage::Done);
    let log = peer.log();
    assert!(log.messages.is_empty());
    assert!(
        log.commands
            .iter()
            .any(|(tls, c)| *tls && c == "AUTH LOGIN")
    );
    assert!(!log.commands.iter().any(|(_, c)| c.starts_with("MAIL")));
    assert_eq!(log.passwords, vec![(true, PASSWORD.to_string())]);
}

#[tokio::test]
async fn starttls_missing_means_the_password_is_never_sent() {
    let pki = Pki::new();
    let mut script = Script::gmail();
    script.ehlo_plain = vec![
        "250-legacy.example.test".into(),
        "250-AUTH PLAIN LOGIN".into(),
        "250 8BITMIME".into(),
    ];
    let peer = Peer::start(Mode::Plain, script, pki.server_config(Cert::Good)).await;
    let report = test_send(&request(&pki, None, Some(peer.port)))
        .await
        .unwrap();
    assert_problem(
        &report.results[0],
        Problem::StarttlsNotOffered,
        Stage::Starttls,
    );
    let log = peer.log();
    assert!(log.passwords.is_empty());
    assert!(
        !log.commands
            .iter()
            .any(|(_, c)| c.to_ascii_uppercase().starts_with("AUTH")),
        "{:?}",
        log.commands
    );
    assert!(!log.commands.iter().any(|(_, c)| c.contains(PASSWORD)));
}

#[tokio::test]
async fn every_resolved_address_is_tried() {
    let pki = Pki::new();
    let peer = Peer::start(
        Mode::Implicit,
        Script::gmail(),
        pki.server_config(Cert::Good),
    )
    .await;
    let req = request(&pki, Some(peer.port), None);
    let options = Options {
        resolver: Arc::new(FixedResolver(vec!["::1", "127.0.0.1"])),
        events: None,
    };
    let report = test_send_with(&req, options).await.unwrap();
    let r = &report.results[0];
    assert!(r.works, "{r:#?}");
    assert_eq!(
        r.address.as_deref(),
        Some(format!("127.0.0.1:{}", peer.port).as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_ipv6_address_does_not_hold_up_ipv4() {
    let pki = Pki::new();
    let peer = Peer::start(
        Mode::Implicit,
        Script::gmail(),
        pki.server_config(Cert::Good),
    )
    .await;
    let Some(_hole) = support::ipv6_black_hole(peer.port) else {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    };
    let req = request(&pki, Some(peer.port), None);
    let options = Options {
        resolver: Arc::new(FixedResolver(vec!["::1", "127.0.0.1"])),
        events: None,
    };
    let report = test_send_with(&req, options).await.unwrap();
    let r = &report.results[0];
    assert!(r.works, "{r:#?}");
    assert_eq!(
        r.address.as_deref(),
        Some(format!("127.0.0.1:{}", peer.port).as_str())
    );
}

#[tokio::test]
async fn mail_rcpt_and_data_are_pipelined_when_offered() {
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let report = test_send(&request(&pki, Some(ssl.port), Some(st.port)))
        .await
        .unwrap();
    assert!(report.results.iter().all(|r| r.works), "{report:#?}");
    for peer in [&ssl, &st] {
        let log = peer.log();
        assert_eq!(log.pipelined, ["MAIL", "RCPT"], "{:?}", log.commands);
        assert_eq!(log.messages.len(), 1);
    }

    // Without PIPELINING, one command at a time.
    let mut script = Script::gmail();
    script.ehlo_tls.retain(|l| !l.contains("PIPELINING"));
    let (pki, ssl, _st) = support::start_pair(script).await;
    let report = test_send(&request(&pki, Some(ssl.port), None))
        .await
        .unwrap();
    assert!(report.results[0].works, "{report:#?}");
    assert!(ssl.log().pipelined.is_empty(), "{:?}", ssl.log().pipelined);

    // A refused sender is still told apart from a refused recipient.
    let mut script = Script::gmail();
    script.rcpt_to =
        vec!["550 5.1.1 The email account that you tried to reach does not exist.".into()];
    let (pki, ssl, _st) = support::start_pair(script).await;
    let report = test_send(&request(&pki, Some(ssl.port), None))
        .await
        .unwrap();
    assert_problem(&report.results[0], Problem::RecipientRejected, Stage::Send);
}

#[tokio::test]
async fn a_slow_network_changes_nothing_but_the_time() {
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let to = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let slow_ssl = LatencyProxy::start(to(ssl.port), Duration::from_millis(5)).await;
    let slow_st = LatencyProxy::start(to(st.port), Duration::from_millis(5)).await;
    let report = test_send(&request(&pki, Some(slow_ssl.port), Some(slow_st.port)))
        .await
        .unwrap();
    assert!(
        report.results.iter().all(|r| r.works && r.sent),
        "{report:#?}"
    );
    assert_eq!(st.log().messages.len(), 1);
    assert_eq!(st.log().pipelined, ["MAIL", "RCPT"]);
}

#[tokio::test]
async fn bytes_pushed_before_the_tls_upgrade_are_refused() {
    let mut script = Script::gmail();
    script.starttls_reply = vec![
        "220 2.0.0 Ready to start TLS".into(),
        "250-injected by someone on the path".into(),
    ];
    let (pki, _ssl, st) = support::start_pair(script).await;
    let report = test_send(&request(&pki, None, Some(st.port)))
        .await
        .unwrap();
    let r = &report.results[0];
    assert_problem(r, Problem::ProtocolError, Stage::Starttls);
    assert!(
        r.detail
            .as_deref()
            .unwrap_or("")
            .contains("before encryption started"),
        "{r:#?}"
    );
    assert!(st.log().passwords.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn replies_far_too_long_or_too_many_lines_end_the_port() {
    let mut long = Script::gmail();
    long.greeting = vec![format!("220 {}", "x".repeat(5000))];
    let mut many = Script::gmail();
    many.ehlo_plain = (0..300).map(|i| format!("250-LINE{i}")).collect();
    many.ehlo_plain.push("250 SMTPUTF8".into());
    for (script, stage) in [(long, Stage::Greeting), (many, Stage::Ehlo)] {
        let (pki, _ssl, st) = support::start_pair(script).await;
        let report = test_send(&request(&pki, None, Some(st.port)))
            .await
            .unwrap();
        let r = &report.results[0];
        assert_problem(r, Problem::ProtocolError, stage);
        assert_eq!(
            r.detail.as_deref(),
            Some("The server's reply was far too long.")
        );
    }
}

#[tokio::test]
async fn progress_events_follow_the_stages() {
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let ssl = Peer::start(Mode::Implicit, Script::gmail(), tls.clone()).await;
    let st = Peer::start(Mode::Plain, Script::gmail(), tls).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = Options {
        events: Some(tx),
        ..Options::default()
    };
    let report = test_send_with(&request(&pki, Some(ssl.port), Some(st.port)), options)
        .await
        .unwrap();
    let mut stages = std::collections::HashMap::<Security, Vec<Stage>>::new();
    let mut finished = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        match ev {
            Event::Stage {
                security, stage, ..
            } => stages.entry(security).or_default().push(stage),
            Event::Finished(r) => finished.push(*r),
        }
    }
    use Stage::*;
    assert_eq!(
        stages[&Security::Ssl],
        vec![Resolve, Connect, Tls, Greeting, Ehlo, Auth, Send]
    );
    assert_eq!(
        stages[&Security::Starttls],
        vec![Resolve, Connect, Greeting, Ehlo, Starttls, Auth, Send]
    );
    assert_eq!(finished.len(), 2);
    for r in &report.results {
        assert!(finished.contains(r));
    }
}

#[tokio::test]
async fn dropping_the_test_cancels_both_ports() {
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let ssl = Peer::start(
        Mode::Implicit,
        Script::gmail().with_fault(Fault::SilentOn("EHLO")),
        tls.clone(),
    )
    .await;
    let st = Peer::start(
        Mode::Plain,
        Script::gmail().with_fault(Fault::SilentOn("EHLO")),
        tls,
    )
    .await;
    let mut req = request(&pki, Some(ssl.port), Some(st.port));
    req.timeout = Duration::from_secs(60);
    let run = test_send(&req);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), run)
            .await
            .is_err()
    );
    // The connections close as soon as the future is gone, long before the 60 s limit.
    let until = Instant::now() + Duration::from_secs(5);
    while (ssl.log().closed_by_client, st.log().closed_by_client) != (1, 1) {
        assert!(
            Instant::now() < until,
            "the ports were not closed on cancel"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn silent_and_trickling_servers_end_within_the_timeout() {
    let pki = Pki::new();
    let tls = pki.server_config(Cert::Good);
    let ssl = Peer::start(
        Mode::Implicit,
        Script::gmail().with_fault(Fault::Tarpit),
        tls.clone(),
    )
    .await;
    let st = Peer::start(Mode::Plain, Script::gmail().with_fault(Fault::Trickle), tls).await;
    let mut req = request(&pki, Some(ssl.port), Some(st.port));
    req.timeout = Duration::from_secs(2);
    let started = Instant::now();
    let report = test_send(&req).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_problem(&report.results[0], Problem::NoGreeting, Stage::Tls);
    assert_problem(&report.results[1], Problem::NoGreeting, Stage::Greeting);
    assert_eq!(report.recommended, None);
}

#[tokio::test]
async fn an_echoed_password_is_hidden_from_the_report() {
    let pki = Pki::new();
    let mut script = Script::gmail();
    script.auth_always = Some(vec![format!("535 5.7.8 Bad credentials {PASSWORD}")]);
    let peer = Peer::start(Mode::Implicit, script, pki.server_config(Cert::Good)).await;
    let report = test_send(&request(&pki, Some(peer.port), None))
        .await
        .unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("<hidden>"), "{json}");
    assert!(!json.contains(PASSWORD));
    assert!(!format!("{report:?}").contains(PASSWORD));
}

#[tokio::test]
async fn a_refused_certificate_is_still_described() {
    let pki = Pki::new();
    let peer = Peer::start(
        Mode::Implicit,
        Script::gmail(),
        pki.server_config(Cert::Expired),
    )
    .await;
    let report = test_send(&request(&pki, Some(peer.port), None))
        .await
        .unwrap();
    let r = &report.results[0];
    assert_problem(r, Problem::TlsCertificateExpired, Stage::Tls);
    let tls = r.tls.as_ref().unwrap();
    assert_eq!(tls.version, None);
    assert_eq!(tls.not_after, "2020-01-01T00:00:00Z");
    assert!(
        r.advice
            .as_ref()
            .unwrap()
            .what_happened
            .contains("2020-01-01")
    );
    assert!(peer.log().passwords.is_empty());
}

/// Where a case's port comes from.
#[allow(clippy::large_enum_variant)]
enum Source {
    Peer(Mode, Script, Cert),
    /// A listener whose queue is full: connecting hangs.
    Backlogged,
    Closed,
}

struct Case {
    source: Source,
    test_as: Security,
    /// Sign in with this access token (XOAUTH2) instead of the password.
    token: Option<&'static str>,
    resolver: Option<Arc<dyn Resolve>>,
    trust_ca: bool,
    want: Problem,
    stage: Stage,
}

fn case(source: Source, test_as: Security, want: Problem, stage: Stage) -> Case {
    Case {
        source,
        test_as,
        token: None,
        resolver: None,
        trust_ca: true,
        want,
        stage,
    }
}

fn gmail_with(change: impl FnOnce(&mut Script)) -> Script {
    let mut s = Script::gmail();
    change(&mut s);
    s
}

fn v(lines: &[&str]) -> Vec<String> {
    lines.iter().map(std::string::ToString::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_problem_id_is_produced_by_the_peer() {
    use Mode::{Implicit, Plain};
    use Problem as P;
    use Security::*;
    use Stage as S;
    let pki = Pki::new();
    let peer = |mode, script| Source::Peer(mode, script, Cert::Good);
    let cases = vec![
        Case {
            resolver: Some(Arc::new(FailingResolver)),
            ..case(
                peer(Implicit, Script::gmail()),
                Ssl,
                P::DnsFailed,
                S::Resolve,
            )
        },
        case(Source::Closed, Ssl, P::ConnectionRefused, S::Connect),
        Case {
            resolver: Some(Arc::new(FixedResolver(vec!["fe80::1"]))),
            ..case(Source::Closed, Ssl, P::ConnectFailed, S::Connect)
        },
        case(Source::Backlogged, Starttls, P::ConnectTimeout, S::Connect),
        case(
            peer(Plain, Script::gmail().with_fault(Fault::Tarpit)),
            Starttls,
            P::NoGreeting,
            S::Greeting,
        ),
        case(
            peer(Plain, Script::gmail()),
            Ssl,
            P::TlsHandshakeFailed,
            S::Tls,
        ),
        case(
            Source::Peer(Implicit, Script::gmail(), Cert::Untrusted),
            Ssl,
            P::TlsCertificateUntrusted,
            S::Tls,
        ),
        Case {
            trust_ca: false,
            ..case(
                peer(Plain, Script::gmail()),
                Starttls,
                P::TlsCertificateUntrusted,
                S::Starttls,
            )
        },
        case(
            Source::Peer(Implicit, Script::gmail(), Cert::WrongHost),
            Ssl,
            P::TlsCertificateWrongHost,
            S::Tls,
        ),
        case(
            Source::Peer(Plain, Script::gmail(), Cert::Expired),
            Starttls,
            P::TlsCertificateExpired,
            S::Starttls,
        ),
        case(
            peer(
                Plain,
                gmail_with(|s| s.ehlo_plain = v(&["250-x.test", "250 AUTH PLAIN"])),
            ),
            Starttls,
            P::StarttlsNotOffered,
            S::Starttls,
        ),
        case(
            peer(
                Plain,
                gmail_with(|s| {
                    s.auth_always = Some(v(&[
                        "530 5.7.0 Must issue a STARTTLS command first. x - gsmtp",
                    ]));
                }),
            ),
            Starttls,
            P::EncryptionRequired,
            S::Auth,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| s.ehlo_tls = v(&["250-x.test", "250 8BITMIME"])),
            ),
            Ssl,
            P::AuthNotOffered,
            S::Auth,
        ),
        case(
            peer(Implicit, gmail_with(|s| s.password = "another".into())),
            Ssl,
            P::AuthRejected,
            S::Auth,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.auth_always = Some(v(&[
                        "534-5.7.9 Application-specific password required. For more information, go to",
                        "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor x - gsmtp",
                    ]));
                }),
            ),
            Ssl,
            P::AppPasswordRequired,
            S::Auth,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.auth_always = Some(v(&[
                        "534-5.7.14 <https://accounts.google.com/signin/continue> Please log in via your web browser and",
                        "534 5.7.14 then try again. x - gsmtp",
                    ]));
                }),
            ),
            Ssl,
            P::WebLoginRequired,
            S::Auth,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.auth_always = Some(v(&[
                    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
                ]));
                s
            }),
            Starttls,
            P::SmtpAuthDisabled,
            S::Auth,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.auth_always = Some(v(&[
                    "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
                ]));
                s
            }),
            Starttls,
            P::BasicAuthDisabled,
            S::Auth,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.auth_always = Some(v(&[
                    "550 5.7.30 Basic authentication is not supported for Client Submission.",
                ]));
                s
            }),
            Starttls,
            P::BasicAuthDisabled,
            S::Auth,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.data_end = v(&[
                        "552-5.2.3 Your message exceeded Google's message size limits. Please visit",
                        "552 5.2.3  https://support.google.com/mail/?p=MaxSizeError x - gsmtp",
                    ]);
                }),
            ),
            Ssl,
            P::MessageTooBig,
            S::Send,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.mail_from = v(&["530 5.7.57 Client not authenticated to send mail. [AM0PR01]"]);
                s
            }),
            Starttls,
            P::LoginRequired,
            S::Send,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.mail_from = v(&[
                    "550 5.7.60 SMTP; Client does not have permissions to send as this sender [AM0PR01]",
                ]);
                s
            }),
            Starttls,
            P::SenderNotAllowed,
            S::Send,
        ),
        case(
            peer(Plain, {
                let mut s = Script::microsoft();
                s.mail_from = v(&["550 5.1.8 Bad outbound sender"]);
                s
            }),
            Starttls,
            P::SenderRejected,
            S::Send,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.rcpt_to = v(&[
                        "550-5.1.1 The email account that you tried to reach does not exist.",
                        "550 5.1.1 x - gsmtp",
                    ]);
                }),
            ),
            Ssl,
            P::RecipientRejected,
            S::Send,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.rcpt_to = v(&[
                        "550 5.7.0 Mail relay denied [127.0.0.1]. Invalid credentials for relay for one of the domains in: example.edu",
                    ]);
                }),
            ),
            Ssl,
            P::RelayDenied,
            S::Send,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| s.data_end = v(&["554 5.7.1 Message rejected as spam"])),
            ),
            Ssl,
            P::MessageRejected,
            S::Send,
        ),
        case(
            peer(
                Implicit,
                gmail_with(|s| {
                    s.mail_from = v(&[
                        "550-5.4.5 Daily user sending limit exceeded. For more information on Gmail",
                        "550 5.4.5 sending limits go to https://support.google.com/a/answer/166852 x - gsmtp",
                    ]);
                }),
            ),
            Ssl,
            P::SendingLimitReached,
            S::Send,
        ),
        case(
            peer(
                Plain,
                gmail_with(|s| {
                    s.ehlo_plain =
                        v(&["421 4.7.0 Try again later, closing connection. (EHLO) x - gsmtp"]);
                }),
            ),
            Starttls,
            P::ServerBusy,
            S::Ehlo,
        ),
        case(
            peer(
                Implicit,
                Script::gmail().with_fault(Fault::HangUpOn("AUTH")),
            ),
            Ssl,
            P::ServerClosed,
            S::Auth,
        ),
        case(
            peer(Plain, Script::gmail().with_fault(Fault::Garbage)),
            Starttls,
            P::ProtocolError,
            S::Greeting,
        ),
        case(
            peer(
                Plain,
                gmail_with(|s| s.greeting = v(&["554 5.7.1 No SMTP service here"])),
            ),
            Starttls,
            P::UnexpectedReply,
            S::Greeting,
        ),
        case(
            peer(
                Implicit,
                Script::gmail().with_fault(Fault::SilentOn("MAIL")),
            ),
            Ssl,
            P::Timeout,
            S::Send,
        ),
        Case {
            token: Some("ya29.expired"),
            ..case(
                peer(Implicit, Script::gmail()),
                Ssl,
                P::OAuthRejected,
                S::Auth,
            )
        },
        Case {
            token: Some(support::TOKEN),
            ..case(
                peer(
                    Plain,
                    gmail_with(|s| {
                        s.ehlo_tls = v(&["250-smtp.example.edu", "250 AUTH PLAIN LOGIN"]);
                    }),
                ),
                Starttls,
                P::OAuthNotOffered,
                S::Auth,
            )
        },
    ];

    let mut produced = BTreeSet::new();
    for c in cases {
        let mut _keep_peer = None;
        let mut _keep_queue = None;
        let port = match c.source {
            Source::Peer(mode, script, cert) => {
                let p = Peer::start(mode, script, pki.server_config(cert)).await;
                let port = p.port;
                _keep_peer = Some(p);
                port
            }
            Source::Closed => support::closed_port().await,
            Source::Backlogged => {
                let sock = tokio::net::TcpSocket::new_v4().unwrap();
                sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
                let listener = sock.listen(0).unwrap();
                let port = listener.local_addr().unwrap().port();
                let filler = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                _keep_queue = Some((listener, filler));
                port
            }
        };
        let (ssl, st) = match c.test_as {
            Security::Ssl => (Some(port), None),
            Security::Starttls => (None, Some(port)),
        };
        let mut req = request(&pki, ssl, st);
        req.token = c.token.map(scanmail::secrets::AccessToken::new);
        req.timeout = Duration::from_millis(1500);
        if !c.trust_ca {
            req.extra_ca_pem = None;
        }
        let options = Options {
            resolver: c.resolver.unwrap_or_else(|| Arc::new(smtp::SystemResolver)),
            events: None,
        };
        let report = test_send_with(&req, options).await.unwrap();
        assert_problem(&report.results[0], c.want, c.stage);
        produced.insert(c.want.id());
    }
    // A computer whose certificate store cannot be read: the program, with an empty store.
    let peer = Peer::start(
        Mode::Implicit,
        Script::gmail(),
        pki.server_config(Cert::Good),
    )
    .await;
    let r = check_without_a_trust_store(peer.port, &[]);
    assert_eq!(r["problem"], "trust-store-unavailable", "{r:#}");
    assert_eq!(r["stage"], "tls", "{r:#}");
    assert!(
        r["advice"]["for_it"]
            .as_str()
            .unwrap()
            .contains("certificate store"),
        "{r:#}"
    );
    assert_eq!(peer.log().passwords.len(), 0, "nothing was sent");
    produced.insert(Problem::TrustStoreUnavailable.id());
    // --ca-file still works there.
    let ca = std::env::temp_dir().join(format!("scanmail-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let r = check_without_a_trust_store(peer.port, &["--ca-file", &ca.to_string_lossy()]);
    std::fs::remove_file(&ca).unwrap();
    assert_eq!(r["works"], true, "{r:#}");

    let all: BTreeSet<&str> = Problem::ALL.iter().map(|p| p.id()).collect();
    let missing: Vec<_> = all.difference(&produced).collect();
    assert!(missing.is_empty(), "no test produces {missing:?}");
}

/// Runs `scanmail check` on an SSL/TLS port with an empty system certificate store
/// (`SSL_CERT_FILE` and `SSL_CERT_DIR` point at nothing), and returns the port's JSON result.
fn check_without_a_trust_store(port: u16, more: &[&str]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("scanmail-no-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scanmail"))
        .args(["check", "--server", "127.0.0.1", "--user", USER])
        .args(["--password-env", "SM_PW", "--skip-starttls", "--json"])
        .args(["--ssl-port", &port.to_string(), "--timeout", "3"])
        .args(more)
        .env("SM_PW", PASSWORD)
        .env("SSL_CERT_FILE", &empty)
        .env("SSL_CERT_DIR", &dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    v["results"][0].clone()
}
