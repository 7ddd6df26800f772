//! Finding the provider behind a domain against a local DNS server (`SCANMAIL_DNS`), and finding
//! copiers with mDNS inside a network namespace this test makes (never the machine's network).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::dns::Dns;

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

fn lookup(dns: &str, user: &str, org: Option<&std::path::Path>) -> serde_json::Value {
    let mut c = Command::new(BIN);
    c.args(["lookup", "--user", user, "--json"])
        .env("SCANMAIL_DNS", dns)
        .env_remove("SCANMAIL_ORG");
    if let Some(o) = org {
        c.env("SCANMAIL_ORG", o);
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_provider_is_found_from_mx_and_srv_records() {
    let dns = Dns::start(false).await;
    let addr = dns.address();
    let (a1, a2, a3, a4, a5) = (
        addr.clone(),
        addr.clone(),
        addr.clone(),
        addr.clone(),
        addr.clone(),
    );
    let g = tokio::task::spawn_blocking(move || lookup(&a1, "scanner@gworkspace.test", None))
        .await
        .unwrap();
    assert_eq!(g["provider"]["id"], "google", "{g:#}");
    assert_eq!(g["provider"]["detected_by"], "mx");
    assert_eq!(g["provider"]["mx"][0], "aspmx.l.google.com", "best first");
    let m = tokio::task::spawn_blocking(move || lookup(&a2, "scanner@contoso.test", None))
        .await
        .unwrap();
    assert_eq!(m["provider"]["id"], "microsoft365", "{m:#}");
    let s = tokio::task::spawn_blocking(move || lookup(&a3, "scanner@googlesrv.test", None))
        .await
        .unwrap();
    assert_eq!(s["provider"]["id"], "google");
    assert_eq!(s["provider"]["detected_by"], "srv");
    let nx = tokio::task::spawn_blocking(move || lookup(&a4, "scanner@nowhere.test", None))
        .await
        .unwrap();
    assert!(nx["provider"].is_null());
    let w = nx["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w["id"] == "domain-lookup-failed"),
        "{nx:#}"
    );
    // A known provider's domain needs no DNS question.
    let before = dns.asked.lock().unwrap().len();
    let k = tokio::task::spawn_blocking(move || lookup(&a5, "scanner@gmail.com", None))
        .await
        .unwrap();
    assert_eq!(k["provider"]["detected_by"], "domain");
    assert_eq!(dns.asked.lock().unwrap().len(), before);
    // A Google preset for a Microsoft 365 domain is called out.
    let dir = std::env::temp_dir().join(format!("scanmail-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let preset = dir.join("org.toml");
    std::fs::write(
        &preset,
        "organization = \"Lab\"\nserver = \"smtp.gmail.com\"\nssl_port = 465\n",
    )
    .unwrap();
    let p = preset.clone();
    let a6 = addr.clone();
    let d = tokio::task::spawn_blocking(move || lookup(&a6, "scanner@contoso.test", Some(&p)))
        .await
        .unwrap();
    let w = d["warnings"].as_array().unwrap();
    let differs = w
        .iter()
        .find(|w| w["id"] == "preset-provider-differs")
        .unwrap_or_else(|| panic!("{d:#}"));
    assert!(
        differs["advice"]
            .as_str()
            .unwrap()
            .contains("send IT this: \"The MX records of contoso.test point to"),
        "{differs:#}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_srv_record_names_the_domains_own_server_but_never_a_stranger() {
    let dns = Dns::start(false).await;
    let (a1, a2) = (dns.address(), dns.address());
    let own = tokio::task::spawn_blocking(move || lookup(&a1, "scanner@srvonly.test", None))
        .await
        .unwrap();
    let p = &own["provider"];
    assert_eq!(p["kind"], "own server", "{own:#}");
    assert_eq!(p["detected_by"], "srv");
    assert_eq!(p["server"], "mail.srvonly.test");
    assert_eq!(p["starttls_port"], 587);
    let planted = tokio::task::spawn_blocking(move || lookup(&a2, "scanner@planted.test", None))
        .await
        .unwrap();
    assert!(planted["provider"].is_null(), "{planted:#}");
    let w = planted["warnings"].as_array().unwrap();
    let w = w.iter().find(|w| w["id"] == "srv-outside-domain").unwrap();
    assert!(
        w["advice"]
            .as_str()
            .unwrap()
            .contains("smtp.attacker.example")
    );
    // Not a dead end: the exact question for IT.
    assert!(
        w["advice"]
            .as_str()
            .unwrap()
            .contains("Send IT this: \"The DNS SRV record _submission._tcp.planted.test names smtp.attacker.example"),
        "{w:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_dns_server_costs_a_few_seconds_and_a_warning() {
    let dns = Dns::start(true).await;
    let addr = dns.address();
    let started = Instant::now();
    let v = tokio::task::spawn_blocking(move || lookup(&addr, "scanner@quiet.test", None))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded: {:?}",
        started.elapsed()
    );
    assert!(v["provider"].is_null());
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == "domain-lookup-failed"),
        "{v:#}"
    );
    assert!(
        !dns.asked.lock().unwrap().is_empty(),
        "it did ask the test's server"
    );
}

// ---- mDNS, inside a network namespace ----

/// Runs as a responder inside the namespace when SCANMAIL_TEST_RESPONDER is set (the test below
/// starts this test binary again with `ip netns exec`); otherwise does nothing.
#[test]
fn responder() {
    if std::env::var_os("SCANMAIL_TEST_RESPONDER").is_none() {
        return;
    }
    let daemon = mdns_sd::ServiceDaemon::new().unwrap();
    let canon = [
        ("usb_MFG", "Canon"),
        ("usb_MDL", "iR-ADV C3520 UFR II"),
        ("ty", "Canon iR-ADV C3520 UFR II"),
        ("adminurl", "http://127.0.0.2/"),
        ("UUID", "6d4ff0ce-6b11-11d8-8020-000085c9a5e0"),
    ];
    for ty in ["_ipp._tcp.local.", "_uscan._tcp.local."] {
        let info = mdns_sd::ServiceInfo::new(
            ty,
            "Canon iR-ADV C3520",
            "canon-c3520.local.",
            "127.0.0.2",
            631,
            &canon[..],
        )
        .unwrap();
        daemon.register(info).unwrap();
    }
    let brother = mdns_sd::ServiceInfo::new(
        "_uscan._tcp.local.",
        "Brother MFC-L2750DW",
        "brn3c2af4.local.",
        "127.0.0.3",
        80,
        &[("ty", "Brother")][..],
    )
    .unwrap();
    daemon.register(brother).unwrap();
    let junk = mdns_sd::ServiceInfo::new(
        "_printer._tcp.local.",
        "junk",
        "junk.local.",
        "127.0.0.4",
        515,
        &[
            ("adminurl", "javascript:alert(1)"),
            ("product", "\u{1b}[2J(???)"),
        ][..],
    )
    .unwrap();
    daemon.register(junk).unwrap();
    std::thread::sleep(Duration::from_secs(12));
}

fn can_make_namespaces() -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        return Err("not root".into());
    }
    Command::new("ip")
        .arg("-V")
        .output()
        .map_err(|_| "no ip command (iproute2)".to_string())?;
    Ok(())
}

#[test]
fn copiers_announced_in_a_namespace_are_listed_once_each() {
    if let Err(why) = can_make_namespaces() {
        println!("skipped: mDNS needs a network namespace of the test's own ({why})");
        return;
    }
    let ns = format!("scanmail-mdns-{}", std::process::id());
    let ip = |args: &[&str]| Command::new("ip").args(args).status().unwrap().success();
    assert!(ip(&["netns", "add", &ns]), "ip netns add");
    let in_ns = |cmd: &[&str]| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns]).args(cmd);
        c
    };
    assert!(
        in_ns(&["ip", "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        in_ns(&["ip", "link", "set", "lo", "multicast", "on"])
            .status()
            .unwrap()
            .success()
    );
    for a in ["127.0.0.2/8", "127.0.0.3/8", "127.0.0.4/8"] {
        let _ = in_ns(&["ip", "addr", "add", a, "dev", "lo"]).status();
    }
    let me = std::env::current_exe().unwrap();
    let mut responder = in_ns(&[me.to_str().unwrap(), "--exact", "responder", "--nocapture"])
        .env("SCANMAIL_TEST_RESPONDER", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let started = Instant::now();
    let out = in_ns(&[BIN, "discover", "--json", "--seconds", "4"])
        .output()
        .unwrap();
    let took = started.elapsed();
    let _ = responder.kill();
    let _ = responder.wait();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        took < Duration::from_secs(6),
        "returns within its seconds plus a second: {took:?}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = v["devices"].as_array().unwrap();
    let canon: Vec<_> = devices
        .iter()
        .filter(|d| d["manufacturer"] == "Canon")
        .collect();
    assert_eq!(
        canon.len(),
        1,
        "one device though it announced two services: {v:#}"
    );
    let c = canon[0];
    assert_eq!(c["model"], "iR-ADV C3520 UFR II");
    assert_eq!(c["address"], "127.0.0.2");
    assert_eq!(c["admin_url"], "http://127.0.0.2/");
    assert_eq!(c["catalog_match"], "Canon");
    assert_eq!(
        c["services"],
        serde_json::json!(["_ipp._tcp", "_uscan._tcp"])
    );
    let b = devices
        .iter()
        .find(|d| d["manufacturer"] == "Brother")
        .unwrap();
    assert_eq!(b["catalog_match"], "Brother");
    let j = devices.iter().find(|d| d["name"] == "junk").unwrap();
    assert!(j["admin_url"].is_null(), "only http and https: {j:#}");
}
