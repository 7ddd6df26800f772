//! The receiving core fuzzed: any byte stream a stranger can send, cut into any pieces, goes
//! through a whole session (the copier check's handler, and the relay's with a real copier
//! login among the words) and must end with no panic and only well-formed replies. Time is
//! paused, so every limit passes at once and a case costs microseconds, not minutes.
//!
//! Runs in `cargo test`; the number of cases is in each `proptest_config` (set
//! `PROPTEST_CASES` to run more).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use base64::Engine;
use proptest::prelude::*;
use scanmail::receive::{Budget, End, Handler, Limits, session, slots::Slots};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A copier's login for the relay handler (its hash is made once).
const DEVICE: &str = "copier-1";
const PASSWORD: &str = "Rk7mPq2xWc9dTf4h";

fn words() -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let plain = b64.encode(format!("\0{DEVICE}\0{PASSWORD}"));
    let wrong = b64.encode(format!("\0{DEVICE}\0wrong"));
    [
        "EHLO copier",
        "HELO x",
        "ehlo €€",
        "STARTTLS",
        "AUTH PLAIN",
        "AUTH LOGIN",
        "AUTH CRAM-MD5",
        &format!("AUTH PLAIN {plain}"),
        &format!("AUTH PLAIN {wrong}"),
        &b64.encode(DEVICE),
        &b64.encode(PASSWORD),
        "*",
        "MAIL FROM:<scanner@lab.example>",
        "MAIL FROM:<> SIZE=99999999999999999999",
        "MAIL €€",
        "MAIL FROM:<€@€>",
        "RCPT TO:<me@lab.example>",
        "RCPT TO:<\"a b\"@x>",
        "RCPT €",
        "DATA",
        ".",
        "..",
        "Subject: €\r\nFrom: a@b",
        "RSET",
        "NOOP",
        "QUIT",
        "BDAT 10 LAST",
        "VRFY root",
    ]
    .iter()
    .map(|w| w.as_bytes().to_vec())
    .collect()
}

/// A stream: words and random bytes, each followed by CR LF, LF, CR or nothing, and where to cut
/// it into reads.
fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    let vocab = words();
    let piece = prop_oneof![
        3 => (0..vocab.len()).prop_map(move |i| vocab[i].clone()),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => "\\PC{0,20}".prop_map(String::into_bytes),
    ];
    let ending = prop_oneof![
        6 => Just(&b"\r\n"[..]),
        1 => Just(&b"\n"[..]),
        1 => Just(&b"\r"[..]),
        1 => Just(&b""[..]),
    ];
    (
        proptest::collection::vec((piece, ending), 0..24),
        proptest::collection::vec(1usize..64, 0..8),
    )
        .prop_map(|(pieces, cuts)| {
            let mut bytes = Vec::new();
            for (p, e) in pieces {
                bytes.extend_from_slice(&p);
                bytes.extend_from_slice(e);
            }
            (bytes, cuts)
        })
}

fn limits() -> Limits {
    Limits {
        max_errors: 8,
        sign_in_within: Some(Duration::from_secs(60)),
        ..Limits::default()
    }
}

/// Runs one session over an in-memory pipe and returns what the server wrote and how it ended.
fn run<H: Handler>(setup: &session::Setup, h: H, input: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (mut rd, mut wr) = tokio::io::split(client);
        let input = input.to_vec();
        let cuts = cuts.to_vec();
        let writer = tokio::spawn(async move {
            let mut at = 0;
            for c in cuts.iter().chain(std::iter::repeat(&usize::MAX)) {
                if at >= input.len() {
                    break;
                }
                let end = at.saturating_add(*c).min(input.len());
                if wr.write_all(&input[at..end]).await.is_err() {
                    return;
                }
                at = end;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = wr.shutdown().await;
        });
        let reader = tokio::spawn(async move {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        });
        let slots = Slots::default();
        let slot = slots
            .admit("127.0.0.1".parse().unwrap(), 16, 4)
            .expect("a place");
        // The sender stays alive: a dropped one would read as "the server is stopping".
        let (_stop, stop) = tokio::sync::watch::channel(scanmail::receive::Stop::Run);
        let (_, end) = session::serve(Box::new(server), stop, false, setup, h, Some(&slot)).await;
        writer.abort();
        (reader.await.unwrap(), end)
    })
}

/// Every line the server wrote is a reply: three digits, a space or a dash, CR LF.
fn well_formed(out: &[u8]) -> Result<(), String> {
    if out.is_empty() {
        return Ok(());
    }
    if !out.ends_with(b"\r\n") {
        return Err(format!(
            "not ended by CR LF: {:?}",
            String::from_utf8_lossy(out)
        ));
    }
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let ok = line.len() >= 5
            && line[..3].iter().all(u8::is_ascii_digit)
            && (line[3] == b' ' || line[3] == b'-')
            && line.ends_with(b"\r")
            && !line[..line.len() - 1]
                .iter()
                .any(|&b| b < 0x20 || b == 0x7f);
        if !ok {
            return Err(format!("not a reply: {:?}", String::from_utf8_lossy(line)));
        }
    }
    Ok(())
}

fn setup() -> session::Setup {
    let pki = support::Pki::new();
    let limits = limits();
    session::Setup {
        budget: Budget::new(limits.memory_budget),
        tls: pki.server_config(support::Cert::Good),
        limits,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// The copier check's side: any stream, no panic, replies only.
    #[test]
    fn any_stream_to_the_copier_check((input, cuts) in stream()) {
        static SETUP: std::sync::LazyLock<session::Setup> = std::sync::LazyLock::new(setup);
        let check = scanmail::listen::session::Check::new(
            "127.0.0.1".into(),
            false,
            Some(scanmail::secrets::AppPassword::new(PASSWORD)),
            1024 * 1024,
            SETUP.budget.clone(),
        );
        let (out, _) = run(&SETUP, check, &input, &cuts);
        prop_assert!(well_formed(&out).is_ok(), "{:?}", well_formed(&out));
    }
}

/// The relay's side, with a real device: sign-ins succeed and fail, MAIL tries a provider that
/// cannot be signed in to (no secret kept: 454), and nothing panics.
mod relay {
    use super::*;
    use scanmail::relay::{bridge, config, secret, status, tokens, upstream};

    struct Relay {
        shared: Arc<bridge::Shared>,
        _dir: tempfile::TempDir,
    }

    fn relay() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let hash =
            scanmail::relay::device::hash(&scanmail::secrets::AppPassword::new(PASSWORD)).unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            format!(
                "listen = [\"127.0.0.1:0\"]\nallow_plain_from = [\"127.0.0.1\"]\n[upstream]\nprovider = \"server\"\naccount = \"scan@lab.example\"\nauth = \"password\"\nserver = \"127.0.0.1\"\nport = 9\nsecurity = \"ssl\"\nsecrets = \"file\"\n[[device]]\nname = \"{DEVICE}\"\npassword_hash = \"{hash}\"\n"
            ),
        )
        .unwrap();
        let cfg = config::load(&path).unwrap();
        let st = Arc::new(status::Shared::open(status::path_for(dir.path())));
        let store = secret::Store::for_config(&cfg, dir.path());
        let creds = Arc::new(tokens::Credentials::new(
            cfg.upstream.clone(),
            store,
            st.clone(),
        ));
        let route = upstream::Route::new(cfg.upstream.clone()).unwrap();
        let shared = Arc::new(bridge::Shared::new(cfg, path, route, creds, st));
        Relay { shared, _dir: dir }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_500))]

        #[test]
        fn any_stream_to_the_relay((input, cuts) in stream()) {
            static SETUP: std::sync::LazyLock<session::Setup> = std::sync::LazyLock::new(setup);
            static RELAY: std::sync::LazyLock<Relay> = std::sync::LazyLock::new(relay);
            let peer = "127.0.0.1".parse().unwrap();
            // allow_plain_from lets this address sign in without TLS, so the words reach the
            // sign-in, MAIL, RCPT and DATA of the relay's own rules.
            let bridge = bridge::Bridge::new(RELAY.shared.clone(), peer);
            let (out, _) = run(&SETUP, bridge, &input, &cuts);
            prop_assert!(well_formed(&out).is_ok(), "{:?}", well_formed(&out));
        }
    }
}
