//! The organization preset IT ships (`org.toml`): its name, help desk, server and ports, the
//! steps to create a device account, and the manual search engine. ScanMail has a built-in
//! default for Google Workspace / Gmail.

mod install;
pub use install::install_at;

use crate::catalog::search::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const BUILT_IN_TOML: &str = include_str!("../../resources/presets/google-workspace.toml");

/// One step of Part 1 (the device account), as the organization words it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub organization: String,
    #[serde(default)]
    pub help_desk: String,
    pub server: String,
    #[serde(default)]
    pub ssl_port: Option<u16>,
    #[serde(default)]
    pub starttls_port: Option<u16>,
    /// Staff may not change the server and ports.
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub account_domain: String,
    #[serde(default)]
    pub naming_hint: String,
    #[serde(default)]
    pub manual_search: String,
    #[serde(default)]
    pub why: String,
    /// IT offers the relay page in the window (a relay may run on staff computers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub relay: bool,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// IT's OAuth 2.0 app registrations (`[oauth.microsoft]`, `[oauth.google]`).
    #[serde(default, skip_serializing_if = "crate::oauth::Apps::is_empty")]
    pub oauth: crate::oauth::Apps,
}

impl Preset {
    /// Parses preset text; the error names the line and says what is wrong.
    pub fn parse(text: &str) -> Result<Preset, String> {
        let preset: Preset =
            toml::from_str(text).map_err(|e| crate::fsutil::plain_toml(text, &e))?;
        preset.check()?;
        Ok(preset)
    }

    fn check(&self) -> Result<(), String> {
        crate::smtp::validate_server(&self.server).map_err(|e| format!("server: {e}"))?;
        if self.ssl_port == Some(0) || self.starttls_port == Some(0) {
            return Err("ports go from 1 to 65535".into());
        }
        if self.ssl_port.is_none() && self.starttls_port.is_none() {
            return Err("give ssl_port, starttls_port, or both".into());
        }
        Engine::parse(&self.manual_search)?;
        self.oauth.check()?;
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(link) = &step.link
                && !(link.starts_with("https://") || link.starts_with("http://"))
            {
                return Err(format!(
                    "step {} ({}): the link must start with https://",
                    i + 1,
                    step.title
                ));
            }
        }
        Ok(())
    }

    /// The built-in Google Workspace preset.
    pub fn built_in() -> Preset {
        Preset::parse(BUILT_IN_TOML).unwrap_or_else(|_| Preset {
            organization: "Google Workspace".into(),
            help_desk: String::new(),
            server: "smtp.gmail.com".into(),
            ssl_port: Some(465),
            starttls_port: Some(587),
            locked: false,
            account_domain: String::new(),
            naming_hint: String::new(),
            manual_search: String::new(),
            why: String::new(),
            relay: false,
            steps: Vec::new(),
            oauth: crate::oauth::Apps::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        Engine::parse(&self.manual_search).unwrap_or_default()
    }

    /// A suggested device account name from where the device is, e.g.
    /// The help desk's email address, when `help_desk` holds one.
    pub fn help_email(&self) -> Option<String> {
        self.help_desk
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '<' | '>' | '.' | ':'))
            })
            .map(|w| w.strip_prefix("mailto:").unwrap_or(w))
            .find(|w| w.contains('@') && crate::smtp::validate_address(w).is_ok())
            .map(str::to_string)
    }

    /// Where the help desk can be reached with a click: its web page (https) or an email
    /// (`mailto:`). A phone number stays plain text.
    pub fn help_link(&self) -> Option<String> {
        let web = self
            .help_desk
            .split_whitespace()
            .map(|w| w.trim_end_matches([',', ';', ')', '.']))
            .find(|w| w.starts_with("https://"))
            .map(str::to_string);
        web.or_else(|| self.help_email().map(|e| format!("mailto:{e}")))
    }

    /// `warren-second-floor-scanner`, following the preset's naming hint.
    pub fn suggest_account_name(&self, building: &str, floor: &str, device: &str) -> String {
        let slug = |s: &str| {
            let s: String = s
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            s.split('-')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("-")
        };
        let hint = if self.naming_hint.is_empty() {
            "{building}-{floor}-{device}"
        } else {
            &self.naming_hint
        };
        let name = hint
            .replace("{building}", &slug(building))
            .replace("{floor}", &slug(floor))
            .replace("{device}", &slug(device));
        let name = slug(&name);
        if self.account_domain.is_empty() || name.is_empty() {
            name
        } else {
            format!("{name}@{}", self.account_domain)
        }
    }
}

/// Where the preset in effect came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum Source {
    BuiltIn,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn => f.write_str("the built-in Google Workspace preset"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The preset in effect, where it came from, and any problem the user must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub preset: Preset,
    pub source: Source,
    pub problem: Option<String>,
}

/// `C:\ProgramData`, from Windows itself (the known-folder API), never from the environment
/// the caller set.
fn program_data() -> PathBuf {
    #[cfg(windows)]
    if let Some(p) = crate::winfolders::program_data() {
        return p;
    }
    PathBuf::from(r"C:\ProgramData")
}

/// The system-wide preset location for this OS.
pub fn system_path() -> PathBuf {
    if cfg!(windows) {
        program_data().join("ScanMail").join("org.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ScanMail/org.toml")
    } else {
        PathBuf::from("/etc/scanmail/org.toml")
    }
}

/// Where a preset was looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `--org FILE` or `SCANMAIL_ORG`: named by the person, so a missing one is a problem.
    Named,
    /// Beside the program (an installer's folder, such as Program Files).
    BesideProgram,
    /// The system location.
    System,
}

/// The places a preset is looked for, in order: `--org FILE`, `SCANMAIL_ORG`, next to the
/// executable, the system location. The first that exists wins; the built-in default is used
/// when none does. The last two count only while only administrators can change them.
pub fn candidates(explicit: Option<&Path>) -> Vec<(PathBuf, Place)> {
    let mut c = Vec::new();
    if let Some(p) = explicit {
        c.push((p.to_path_buf(), Place::Named));
    }
    // An elevated process on Windows takes no preset from its environment, which the person
    // (or a program) at a standard user's desk can set for it.
    #[cfg(windows)]
    let from_env = !crate::winacl::is_elevated();
    #[cfg(not(windows))]
    let from_env = true;
    if let Some(p) = std::env::var_os("SCANMAIL_ORG").filter(|v| from_env && !v.is_empty()) {
        c.push((PathBuf::from(p), Place::Named));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        c.push((dir.join("org.toml"), Place::BesideProgram));
    }
    c.push((system_path(), Place::System));
    c
}

/// Reads one preset file, with a message naming the file and line when it is broken.
pub fn load_file(path: &Path) -> Result<Preset, String> {
    load_bytes(path).map(|(p, _)| p)
}

/// Reads a preset once (size-capped) and checks those very bytes: the preset and the bytes that
/// were checked, so `org install` writes exactly what it validated.
pub fn load_bytes(path: &Path) -> Result<(Preset, Vec<u8>), String> {
    let bytes = crate::fsutil::read_capped(path, crate::fsutil::PRESET_CAP)
        .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::plain_io(&e)))?;
    parse_bytes(path, &bytes).map(|p| (p, bytes))
}

fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Preset, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("{}: it is not text (UTF-8)", path.display()))?;
    Preset::parse(text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the preset in effect.
pub fn locate(explicit: Option<&Path>) -> Found {
    let mut distrusted = None;
    for (path, place) in candidates(explicit) {
        if std::fs::symlink_metadata(&path).is_err() {
            if place == Place::Named {
                return Found {
                    preset: Preset::built_in(),
                    source: Source::BuiltIn,
                    problem: Some(format!(
                        "The organization preset {} was not found, so the built-in Google Workspace settings are used.",
                        path.display()
                    )),
                };
            }
            continue;
        }
        let parsed = if place == Place::Named {
            load_file(&path)
        } else {
            // Beside the program and at the system place, a preset counts only while only
            // administrators can change it: judged on the open file, read through it.
            match crate::trust::read_guarded(&path, crate::fsutil::PRESET_CAP) {
                crate::trust::Guarded::Read(bytes) => parse_bytes(&path, &bytes),
                crate::trust::Guarded::Untrusted(why) => {
                    if distrusted.is_none() {
                        distrusted = Some(distrust_words(&path, place, &why));
                    }
                    continue;
                }
                crate::trust::Guarded::Unreadable(why) => Err(format!("{}: {why}", path.display())),
            }
        };
        return match parsed {
            Ok(preset) => Found {
                preset,
                source: Source::File(path),
                problem: None,
            },
            // A broken preset that meant to lock the server must not silently unlock it: the
            // server stays locked, to nothing, so no password goes anywhere until IT fixes it.
            Err(e) if meant_to_lock(&path) => Found {
                preset: Preset {
                    server: String::new(),
                    locked: true,
                    ..Preset::built_in()
                },
                source: Source::File(path),
                problem: Some(format!(
                    "The organization preset has a mistake, and it sets the mail server for everyone. So ScanMail will not test until IT fixes it. Send IT this: \"ScanMail's organization preset has a mistake: {e}\""
                )),
            },
            Err(e) => Found {
                preset: Preset::built_in(),
                source: Source::BuiltIn,
                problem: Some(format!(
                    "The organization preset has a mistake, so the built-in Google Workspace settings are used. Send IT this: \"ScanMail's organization preset has a mistake: {e}\""
                )),
            },
        };
    }
    Found {
        preset: Preset::built_in(),
        source: Source::BuiltIn,
        problem: distrusted,
    }
}

fn distrust_words(path: &Path, place: Place, why: &str) -> String {
    match place {
        Place::BesideProgram => format!(
            "The organization preset beside ScanMail ({}) was not used: {why}. A preset there counts only if only administrators can change it, as in Program Files. The built-in Google Workspace settings are used. Send IT this: \"ScanMail's preset beside the program ({}) was not used: {why}. Please install ScanMail with its preset, or run scanmail org install FILE as an administrator.\"",
            path.display(),
            path.display()
        ),
        _ => format!(
            "The organization preset {} was not used: {why}. The built-in Google Workspace settings are used. Send IT this: \"ScanMail's organization preset {} was not used: {why}. Please install it again: scanmail org install FILE, as an administrator.\"",
            path.display(),
            path.display()
        ),
    }
}

/// True when a preset's text says `locked = true`, even if the rest cannot be read.
fn meant_to_lock(path: &Path) -> bool {
    let Ok(bytes) = crate::fsutil::read_capped(path, crate::fsutil::PRESET_CAP) else {
        return false;
    };
    String::from_utf8_lossy(&bytes).lines().any(|l| {
        let l = l.split('#').next().unwrap_or("").replace(' ', "");
        l == "locked=true"
    })
}

pub use crate::trust::untrusted_reason;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_planted_system_preset_is_not_trusted() {
        use std::os::unix::fs::{PermissionsExt, chown};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("org.toml");
        std::fs::write(&file, "x").unwrap();
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        };
        mode(dir.path(), 0o755);
        mode(&file, 0o644);
        let root = made_by_root(dir.path());
        if root {
            assert_eq!(untrusted_reason(&file), None, "root-owned, 0644 in 0755");
        }
        mode(&file, 0o666);
        assert!(
            untrusted_reason(&file)
                .unwrap_or_default()
                .contains("other users can change the file")
        );
        mode(&file, 0o644);
        mode(dir.path(), 0o777);
        let why = untrusted_reason(&file).unwrap_or_default();
        assert!(why.contains("its folder"), "{why}");
        mode(dir.path(), 0o755);
        if root {
            chown(&file, Some(65534), None).unwrap();
            assert!(
                untrusted_reason(&file)
                    .unwrap_or_default()
                    .contains("belongs to a user")
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn install_writes_what_was_checked_for_everyone_to_read_and_refuses_links() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        let target = base.path().join("scanmail").join("org.toml");
        install_at(&target, b"organization = \"Lab\"\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o644);
        assert_eq!(mode(target.parent().unwrap()), 0o755);
        assert_eq!(std::fs::read(&target).unwrap(), b"organization = \"Lab\"\n");
        if made_by_root(base.path()) {
            assert_eq!(untrusted_reason(&target), None);
        }
        // A folder that is a link elsewhere (a planted redirect) is refused; nothing is written.
        let elsewhere = base.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let linked = base.path().join("linked");
        std::os::unix::fs::symlink(&elsewhere, &linked).unwrap();
        let err = install_at(&linked.join("org.toml"), b"x").unwrap_err();
        assert!(err.contains("is a link"), "{err}");
        assert!(!elsewhere.join("org.toml").exists());
        // So is a file that is a link.
        let victim = base.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::fs::remove_file(&target).unwrap();
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        assert!(install_at(&target, b"x").unwrap_err().contains("is a link"));
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    /// True when files made here are owned by root (tests run as root in CI).
    #[cfg(unix)]
    fn made_by_root(dir: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0)
    }

    #[test]
    fn a_broken_preset_that_locks_keeps_the_server_locked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("org.toml");
        std::fs::write(
            &file,
            "organization = \"X\"\nserver = \"smtp.x.edu:465\"\nlocked = true\n",
        )
        .unwrap();
        let found = locate(Some(&file));
        assert!(
            found.preset.locked && found.preset.server.is_empty(),
            "{found:?}"
        );
        assert!(
            found
                .problem
                .unwrap_or_default()
                .contains("will not test until IT fixes it")
        );
        std::fs::write(&file, "organization = \"X\"\nserver = \"smtp.x.edu:465\"\n").unwrap();
        let found = locate(Some(&file));
        assert_eq!(
            found.preset,
            Preset::built_in(),
            "not meant to lock: the built-in is used"
        );
    }

    #[test]
    fn help_desk_links() {
        let mut p = Preset::built_in();
        p.help_desk = "IT help desk, extension 4-4357".into();
        assert_eq!((p.help_link(), p.help_email()), (None, None));
        p.help_desk = "Email scanners@it.example.edu (or call 4-4357).".into();
        assert_eq!(p.help_email().as_deref(), Some("scanners@it.example.edu"));
        assert_eq!(
            p.help_link().as_deref(),
            Some("mailto:scanners@it.example.edu")
        );
        p.help_desk = "https://it.example.edu/help, or it@example.edu".into();
        assert_eq!(
            p.help_link().as_deref(),
            Some("https://it.example.edu/help")
        );
    }

    #[test]
    fn the_built_in_preset_parses() {
        let p = Preset::parse(BUILT_IN_TOML).unwrap();
        assert_eq!(p.server, "smtp.gmail.com");
        assert_eq!((p.ssl_port, p.starttls_port), (Some(465), Some(587)));
        assert_eq!(p.steps.len(), 5);
        assert!(
            p.steps
                .iter()
                .any(|s| s.link.as_deref() == Some("https://myaccount.google.com/apppasswords"))
        );
        assert_eq!(Preset::built_in(), p);
    }

    #[test]
    fn the_shipped_examples_parse() {
        for (file, org) in [
            (
                include_str!("../../resources/presets/microsoft-365.toml"),
                "Microsoft 365",
            ),
            (
                include_str!("../../resources/presets/university-special-purpose.toml"),
                "Example University",
            ),
        ] {
            let p = Preset::parse(file).unwrap();
            assert_eq!(p.organization, org);
            assert!(p.locked && !p.steps.is_empty());
        }
    }

    #[test]
    fn account_names_are_suggested() {
        let p = Preset::built_in();
        assert_eq!(
            p.suggest_account_name("Warren", "Second floor", "Scanner"),
            "warren-second-floor-scanner"
        );
        assert_eq!(
            p.suggest_account_name(" Hall 7 ", "2nd", "Copier (color)"),
            "hall-7-2nd-copier-color"
        );
        assert_eq!(p.suggest_account_name("", "", ""), "");
        let uni = Preset {
            account_domain: "uni.edu".into(),
            naming_hint: "spa-{building}-{device}".into(),
            ..p
        };
        assert_eq!(
            uni.suggest_account_name("Warren", "2", "scanner"),
            "spa-warren-scanner@uni.edu"
        );
    }

    #[test]
    fn the_first_place_that_exists_wins_and_mistakes_are_reported() {
        let dir = std::env::temp_dir().join(format!("scanmail-org-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            BUILT_IN_TOML.replace("Google Workspace\"", "Example University\""),
        )
        .unwrap();
        let found = locate(Some(&good));
        assert_eq!(found.preset.organization, "Example University");
        assert_eq!(found.source, Source::File(good.clone()));
        assert_eq!(found.problem, None);

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "organization = \"X\"\nserver = 5\n").unwrap();
        let found = locate(Some(&bad));
        assert_eq!(found.source, Source::BuiltIn);
        let problem = found.problem.unwrap();
        assert!(problem.contains("bad.toml: line 2"), "{problem}");

        let found = locate(Some(&dir.join("missing.toml")));
        assert!(found.problem.unwrap().contains("was not found"));
        assert_eq!(found.preset, Preset::built_in());

        let order = candidates(Some(&good));
        assert_eq!(order[0], (good.clone(), Place::Named));
        assert_eq!(order.last().unwrap().0, system_path());
        assert!(
            order
                .iter()
                .any(|(p, place)| p.ends_with("org.toml") && *place == Place::BesideProgram)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn broken_presets_say_which_line() {
        let e =
            Preset::parse("organization = \"X\"\nserver = \"smtp.x.edu\"\nssl_port = \"465\"\n")
                .unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = Preset::parse("organization = \"X\"\nserver = \"https://smtp\"\nssl_port = 465\n")
            .unwrap_err();
        assert!(e.contains("server"), "{e}");
        let e = Preset::parse("organization = \"X\"\nserver = \"smtp.x.edu\"\nssl_port = 465\nmanual_search = \"altavista\"\n").unwrap_err();
        assert!(e.contains("search engine"), "{e}");
        let e = Preset::parse(
            "organization = \"X\"\nserver = \"smtp.x.edu\"\nssl_port = 465\nsurprise = 1\n",
        )
        .unwrap_err();
        assert!(e.contains("line 4") && e.contains("surprise"), "{e}");
    }
}
