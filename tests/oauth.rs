//! OAuth 2.0: the test send signing in with an access token (SASL XOAUTH2) against the scripted
//! peer playing Gmail and Microsoft 365, and the token kept out of every output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use scanmail::secrets::{AccessToken, AppPassword};
use scanmail::smtp::diagnose::Problem;
use scanmail::smtp::{Request, Stage, test_send};
use std::time::Duration;
use support::{Script, TOKEN, USER};

fn request(pki: &support::Pki, ssl: u16, starttls: u16, token: &str) -> Request {
    let mut r = Request::new("127.0.0.1", USER, AppPassword::default());
    r.token = Some(AccessToken::new(token));
    r.ssl_port = Some(ssl);
    r.starttls_port = Some(starttls);
    r.extra_ca_pem = Some(pki.ca_pem.as_bytes().to_vec());
    r.timeout = Duration::from_secs(5);
    r
}

/// Everything a person or a script could see of a report.
fn everything_shown(report: &scanmail::smtp::Report) -> String {
    format!(
        "{}\n{report:?}\n{}",
        serde_json::to_string(report).unwrap(),
        scanmail::report::text(
            report,
            &scanmail::report::About {
                organization: "Lab".into(),
                device: "Copier".into(),
            }
        )
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_token_works_on_both_ports_for_gmail_and_microsoft() {
    for script in [Script::gmail(), Script::microsoft()] {
        let (pki, ssl, st) = support::start_pair(script).await;
        let report = test_send(&request(&pki, ssl.port, st.port, TOKEN))
            .await
            .unwrap();
        for r in &report.results {
            assert!(r.works, "{r:#?}");
            assert!(
                r.transcript.iter().any(|l| l == "C: AUTH XOAUTH2 <hidden>"),
                "{:#?}",
                r.transcript
            );
        }
        for peer in [&ssl, &st] {
            let log = peer.log();
            assert_eq!(
                log.tokens,
                vec![(true, USER.to_string(), TOKEN.to_string())],
                "one sign-in, over TLS, with the account and the token"
            );
            assert!(log.passwords.is_empty(), "no password sign-in was tried");
            assert_eq!(log.messages.len(), 1, "the test message arrived");
        }
        assert!(!everything_shown(&report).contains(TOKEN));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_is_oauth_rejected_after_gmails_challenge_and_microsofts_535() {
    let canary = "ya29.EXPIRED-canary-51c2";
    // Gmail: 334 with base64 JSON, answered with an empty line, then 535.
    let (pki, ssl, st) = support::start_pair(Script::gmail()).await;
    let report = test_send(&request(&pki, ssl.port, st.port, canary))
        .await
        .unwrap();
    for r in &report.results {
        assert_eq!(r.problem, Some(Problem::OAuthRejected), "{r:#?}");
        assert_eq!(r.stage, Stage::Auth);
        let detail = r.detail.as_deref().unwrap_or_default();
        assert!(detail.contains("status 400"), "{detail}");
        assert!(detail.contains("https://mail.google.com/"), "{detail}");
        assert!(r.reply.as_ref().unwrap().code == 535, "{r:#?}");
        let advice = r.advice.as_ref().unwrap();
        assert_eq!(advice.title, "The sign-in was not accepted");
        assert!(advice.for_it.as_deref().unwrap().contains("XOAUTH2"));
    }
    for peer in [&ssl, &st] {
        assert_eq!(peer.log().challenge_answers, vec!["\r\n".to_string()]);
    }
    assert!(!everything_shown(&report).contains(canary));

    // Microsoft: 535 5.7.3 at once.
    let (pki, ssl, st) = support::start_pair(Script::microsoft()).await;
    let report = test_send(&request(&pki, ssl.port, st.port, canary))
        .await
        .unwrap();
    for r in &report.results {
        assert_eq!(r.problem, Some(Problem::OAuthRejected), "{r:#?}");
        assert_eq!(r.reply.as_ref().unwrap().enhanced.as_deref(), Some("5.7.3"));
    }
    assert!(ssl.log().challenge_answers.is_empty());
    assert!(!everything_shown(&report).contains(canary));
}

#[test]
fn a_token_replaces_the_password_but_must_not_be_empty() {
    let mut r = Request::new("smtp.gmail.com", USER, AppPassword::default());
    assert_eq!(r.validate(), Err(scanmail::smtp::InputError::EmptyPassword));
    r.token = Some(AccessToken::new(TOKEN));
    assert_eq!(r.validate(), Ok(()));
    r.token = Some(AccessToken::new("  \n"));
    assert_eq!(r.validate(), Err(scanmail::smtp::InputError::EmptyToken));
    assert_eq!(
        format!("{:?}", AccessToken::new(TOKEN)),
        "AccessToken(<hidden>)"
    );
}
