//! `relay install-service` takes nothing from whoever could change files: it refuses a program
//! in a temporary place, settings in a folder the service cannot reach (and never opens a
//! folder itself), and a relay.toml that names a file outside the relay's own folders. Each
//! refusal comes before anything is changed, with the next step. (As root, as CI runs; as
//! another user each says that it needs an administrator.)

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_scanmail");

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

const CONFIG: &str = r#"listen = ["127.0.0.1:2525"]
[upstream]
provider = "server"
account = "scan@lab.example"
auth = "password"
server = "127.0.0.1"
port = 465
security = "ssl"
secrets = "file"
"#;

fn install(program: &Path, config: &Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(program)
        .args(["relay", "install-service", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout),
    )
}

fn folder(mode: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

#[test]
fn a_program_in_a_temporary_folder_is_refused_before_anything_changes() {
    let dir = folder(0o755);
    let copy = dir.path().join("scanmail");
    std::fs::copy(BIN, &copy).unwrap();
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (code, said) = install(&copy, &config);
    assert_eq!(code, Some(2), "{said}");
    if is_root() {
        assert!(said.contains("a temporary folder"), "{said}");
        assert!(
            said.contains("sudo scanmail relay install-service"),
            "{said}"
        );
    } else {
        assert!(said.contains("needs an administrator"), "{said}");
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
}

#[test]
fn settings_the_service_cannot_reach_are_named_and_no_folder_is_opened() {
    let dir = folder(0o700);
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (code, said) = install(Path::new(BIN), &config);
    assert_eq!(code, Some(2), "{said}");
    if is_root() {
        assert!(said.contains("is closed to other accounts"), "{said}");
        assert!(said.contains("sudo chmod o+x"), "{said}");
    }
    let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the folder was left as it was");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
}

#[test]
fn a_file_named_outside_the_relays_folders_is_refused() {
    let dir = folder(0o755);
    let config = dir.path().join("relay.toml");
    for (line, name) in [
        ("ca_file = \"/home/pat/our-ca.pem\"", "ca_file"),
        ("secrets_file = \"../relay-secret\"", "secrets_file"),
    ] {
        let text = CONFIG.replace("secrets = \"file\"", &format!("secrets = \"file\"\n{line}"));
        std::fs::write(&config, &text).unwrap();
        let (code, said) = install(Path::new(BIN), &config);
        assert_eq!(code, Some(2), "{said}");
        if is_root() {
            assert!(
                said.contains(name) && said.contains("outside the relay's own folders"),
                "{said}"
            );
        }
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    }
}

/// Settings whose folder sits below one anyone may write (here /tmp): someone could swap the
/// whole folder after the check, so the service is not installed from them.
#[test]
fn settings_below_a_folder_others_can_change_are_refused() {
    let dir = folder(0o755);
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (code, said) = install(Path::new(BIN), &config);
    assert_eq!(code, Some(2), "{said}");
    if is_root() {
        assert!(said.contains("is not used for a service"), "{said}");
        assert!(said.contains("other users can change it"), "{said}");
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), CONFIG);
}
