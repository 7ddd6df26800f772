//! Device profiles: one per copier, kept as TOML in the OS config directory.
//!
//! Saves are atomic (temporary file, fsync, rename). A file that cannot be read, or that a newer
//! ScanMail wrote, is moved aside with a timestamp and the caller gets a plain-words notice:
//! nothing is silently dropped. A bad field costs only that field, not the profile.

use crate::smtp::{Recommended, Security};
use serde::{Deserialize, Deserializer, Serialize};

/// 2: `building` and `floor` replace schema 1's `location` ("building / floor"), which still loads.
pub const SCHEMA: u32 = 2;

mod merge;
mod store;
pub use merge::merge;
pub use store::{Loaded, SaveError, Store};
pub const FILE_NAME: &str = "profiles.toml";

/// The outcome of the last test send, kept with the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LastTest {
    /// UTC, `2026-11-27T10:00:00Z`.
    pub at: String,
    pub works: bool,
    #[serde(deserialize_with = "lenient")]
    pub recommended: Option<Recommended>,
    /// One line in plain words, e.g. "465 SSL/TLS works; 587 STARTTLS: the login was not accepted".
    pub summary: String,
    /// What was tested: the result counts only while the device still names these (empty in
    /// files from ScanMail 0.1, whose results are therefore not shown as proof).
    pub server: String,
    pub account: String,
    /// How it signed in (a password result says nothing about an OAuth sign-in, and back).
    #[serde(deserialize_with = "lenient")]
    pub auth: Option<crate::smtp::Auth>,
}

impl LastTest {
    /// True while `device` still names the server, account and port this result was for.
    pub fn matches(&self, device: &Profile) -> bool {
        let port_kept = self
            .recommended
            .is_none_or(|r| [device.ssl_port, device.starttls_port].contains(&Some(r.port)));
        !self.server.is_empty()
            && self.server.eq_ignore_ascii_case(device.server.trim())
            && self.account.eq_ignore_ascii_case(device.account.trim())
            && port_kept
            && self.auth.unwrap_or_default() == device.auth()
    }
}

/// Everything about one device. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Profile {
    pub name: String,
    pub building: String,
    pub floor: String,
    pub manufacturer: String,
    pub model: String,
    pub device_address: String,
    pub account: String,
    pub server: String,
    #[serde(deserialize_with = "lenient")]
    pub ssl_port: Option<u16>,
    #[serde(deserialize_with = "lenient")]
    pub starttls_port: Option<u16>,
    /// The security chosen for the device (from the last test that worked).
    #[serde(deserialize_with = "lenient")]
    pub security: Option<Security>,
    pub recipient: String,
    /// The user asked to keep the app password in the OS keychain.
    pub remember_password: bool,
    #[serde(deserialize_with = "lenient")]
    pub last_test: Option<LastTest>,
    /// Signs in with Microsoft 365 or Google (OAuth 2.0) instead of an app password.
    #[serde(deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<crate::oauth::Provider>,
}

impl Profile {
    /// How this device signs in.
    pub fn auth(&self) -> crate::smtp::Auth {
        if self.sign_in.is_some() {
            crate::smtp::Auth::OAuth
        } else {
            crate::smtp::Auth::Password
        }
    }

    /// The one name this device goes by on the card, in the test message and in lists.
    pub fn label(&self) -> String {
        device_label(&self.name, &self.manufacturer, &self.model)
    }
}

/// The device's make and model as people say them: the catalog's name for the manufacturer
/// ("Konica Minolta", not "konica"), then the model, without saying the maker twice.
pub fn model_label(manufacturer: &str, model: &str) -> String {
    let known = crate::catalog::catalog().find_manufacturer(manufacturer, model);
    let maker = known.map_or(manufacturer.trim(), |m| {
        m.name.split(" (").next().unwrap_or(&m.name)
    });
    let model = model.trim();
    let label = if model.to_lowercase().starts_with(&maker.to_lowercase()) {
        model.to_string()
    } else {
        format!("{maker} {model}")
    };
    label.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The device's label: its saved name with its make and model, "Warren 2nd floor scanner
/// (Konica Minolta bizhub C300i)". A name ScanMail made up ("New device (2)") is left out.
pub fn device_label(name: &str, manufacturer: &str, model: &str) -> String {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let placeholder = name == NEW_DEVICE
        || name
            .strip_prefix(NEW_DEVICE)
            .and_then(|rest| rest.strip_prefix(" ("))
            .and_then(|rest| rest.strip_suffix(')'))
            .is_some_and(|n| n.parse::<u32>().is_ok());
    let name = if placeholder { "" } else { name.as_str() };
    let what = model_label(manufacturer, model);
    match (name, what.as_str()) {
        ("", w) => w.to_string(),
        (n, "") => n.to_string(),
        (n, w) if n.eq_ignore_ascii_case(w) => n.to_string(),
        (n, w) => format!("{n} ({w})"),
    }
}

/// The name a device gets before anyone names it.
pub const NEW_DEVICE: &str = "New device";

/// A field that does not parse becomes `None` instead of failing the whole file.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = toml::Value::deserialize(d)?;
    Ok(T::deserialize(value).ok())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFile {
    pub schema: u32,
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default, rename = "profile")]
    pub profiles: Vec<Profile>,
}

impl Default for ProfileFile {
    fn default() -> Self {
        Self {
            schema: SCHEMA,
            current: None,
            profiles: Vec::new(),
        }
    }
}

impl ProfileFile {
    pub fn find(&self, name: &str) -> Option<&Profile> {
        let n = name.trim().to_lowercase();
        self.profiles
            .iter()
            .find(|p| p.name.trim().to_lowercase() == n)
    }

    /// A name not used yet, based on `base` ("Copier", "Copier (2)", ...).
    pub fn unique_name(&self, base: &str) -> String {
        let base = if base.trim().is_empty() {
            NEW_DEVICE
        } else {
            base.trim()
        };
        if self.find(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base} ({i})"))
            .find(|n| self.find(n).is_none())
            .unwrap_or_else(|| base.to_string())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a file's text. `Err` says why in plain words.
    pub fn parse(text: &str) -> Result<ProfileFile, ParseProblem> {
        #[derive(Deserialize)]
        struct Version {
            schema: Option<u32>,
        }
        let version: Version = toml::from_str(text)
            .map_err(|e| ParseProblem::Unreadable(crate::fsutil::plain_toml(text, &e)))?;
        match version.schema {
            Some(v) if v > SCHEMA => return Err(ParseProblem::Newer(v)),
            None => return Err(ParseProblem::Unreadable("it has no schema version".into())),
            _ => {}
        }
        let mut value: toml::Table = toml::from_str(text)
            .map_err(|e| ParseProblem::Unreadable(crate::fsutil::plain_toml(text, &e)))?;
        if version.schema == Some(1) {
            migrate_v1(&mut value);
        }
        let mut file: ProfileFile = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ParseProblem::Unreadable(e.message().trim().into()))?;
        file.schema = SCHEMA;
        file.profiles.retain(|p| !p.name.trim().is_empty());
        Ok(file)
    }
}

/// Schema 1 kept "building / floor" in one `location` field; schema 2 keeps them apart.
fn migrate_v1(file: &mut toml::Table) {
    let Some(toml::Value::Array(profiles)) = file.get_mut("profile") else {
        return;
    };
    for p in profiles.iter_mut().filter_map(toml::Value::as_table_mut) {
        let Some(toml::Value::String(location)) = p.remove("location") else {
            continue;
        };
        let (building, floor) = location
            .split_once(" / ")
            .unwrap_or((location.as_str(), ""));
        p.insert("building".into(), building.trim().into());
        p.insert("floor".into(), floor.trim().into());
    }
}

/// Why a profile file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseProblem {
    Unreadable(String),
    Newer(u32),
}

/// Keeps a test's verdict with the profile: when, whether it worked, the recommended port, and
/// a one-line summary. A working recommendation also becomes the profile's chosen security.
pub fn record_test(profile: &mut Profile, report: &crate::smtp::Report) {
    let summary = report
        .results
        .iter()
        .map(|r| match (&r.advice, r.works) {
            (_, true) => format!("{} {} works", r.port, r.security.label()),
            (Some(a), false) => format!(
                "{} {}: {}",
                r.port,
                r.security.label(),
                a.title.to_lowercase()
            ),
            (None, false) => format!("{} {} failed", r.port, r.security.label()),
        })
        .collect::<Vec<_>>()
        .join("; ");
    profile.last_test = Some(LastTest {
        at: report.started_at.clone(),
        works: report.recommended.is_some(),
        recommended: report.recommended,
        summary,
        server: report.server.clone(),
        account: report.account.clone(),
        auth: Some(report.auth),
    });
    if let Some(rec) = report.recommended {
        profile.security = Some(rec.security);
    }
}

/// One profile as a file of its own, for handing a set-up to someone else. Never holds the
/// password.
pub fn export(profile: &Profile) -> String {
    let file = ProfileFile {
        schema: SCHEMA,
        current: None,
        profiles: vec![Profile {
            remember_password: false,
            ..profile.clone()
        }],
    };
    file.to_toml()
}

/// Reads an exported profile.
pub fn import(text: &str) -> Result<Profile, String> {
    match ProfileFile::parse(text) {
        Ok(f) => f
            .profiles
            .into_iter()
            .next()
            // A result someone else's file claims was never tested here.
            .map(|p| Profile {
                last_test: None,
                remember_password: false,
                ..p
            })
            .ok_or_else(|| "The file has no device in it.".to_string()),
        Err(ParseProblem::Unreadable(why)) => {
            Err(format!("The file is not a ScanMail device file: {why}."))
        }
        Err(ParseProblem::Newer(v)) => Err(format!(
            "A newer ScanMail made this file (version {v}). Update ScanMail to open it."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile {
            name: "Warren 2nd floor scanner".into(),
            building: "Warren Hall".into(),
            floor: "room 210".into(),
            manufacturer: "Konica Minolta".into(),
            model: "bizhub C300i".into(),
            device_address: "10.1.2.3".into(),
            account: "warren-second-floor-scanner@example.edu".into(),
            server: "smtp.gmail.com".into(),
            ssl_port: Some(465),
            starttls_port: Some(587),
            security: Some(Security::Ssl),
            recipient: String::new(),
            remember_password: true,
            last_test: Some(LastTest {
                at: "2026-11-27T10:00:00Z".into(),
                works: true,
                recommended: Some(Recommended {
                    port: 465,
                    security: Security::Ssl,
                }),
                summary: "465 SSL/TLS works".into(),
                server: "smtp.gmail.com".into(),
                account: "warren-second-floor-scanner@example.edu".into(),
                auth: Some(crate::smtp::Auth::Password),
            }),
            sign_in: None,
        }
    }

    fn temp_store(tag: &str) -> Store {
        let dir =
            std::env::temp_dir().join(format!("scanmail-profile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::new(dir)
    }

    #[test]
    fn round_trip() {
        let store = temp_store("rt");
        let mut file = ProfileFile::default();
        file.profiles.push(sample());
        // A device that signs in with Google; its password result does not count for it.
        let mut google = sample();
        google.name = "B".into();
        google.sign_in = Some(crate::oauth::Provider::Google);
        assert!(!google.last_test.as_ref().unwrap().matches(&google));
        file.profiles.push(google);
        file.current = Some(sample().name);
        store.save(&file).unwrap();
        assert!(
            std::fs::read_to_string(store.path())
                .unwrap()
                .contains("sign_in = \"google\"")
        );
        let loaded = store.load();
        assert_eq!(loaded.notice, None);
        assert_eq!(loaded.file, file);
        std::fs::remove_dir_all(&store.dir).unwrap();
    }

    #[test]
    fn schema_1_files_load_with_building_and_floor_apart() {
        let text = "schema = 1\n[[profile]]\nname = \"A\"\nlocation = \"Warren Hall / 2nd floor\"\n\
                    [[profile]]\nname = \"B\"\nlocation = \"Annex\"\n";
        let f = ProfileFile::parse(text).unwrap();
        assert_eq!(f.schema, SCHEMA);
        assert_eq!(
            (
                f.profiles[0].building.as_str(),
                f.profiles[0].floor.as_str()
            ),
            ("Warren Hall", "2nd floor")
        );
        assert_eq!(
            (
                f.profiles[1].building.as_str(),
                f.profiles[1].floor.as_str()
            ),
            ("Annex", "")
        );
        let saved = f.to_toml();
        assert!(
            saved.contains("schema = 2") && !saved.contains("location"),
            "{saved}"
        );
    }

    #[test]
    fn one_label_for_a_device() {
        let mut p = sample();
        assert_eq!(
            p.label(),
            "Warren 2nd floor scanner (Konica Minolta bizhub C300i)"
        );
        p.manufacturer = "konica".into();
        p.model = "Konica Minolta bizhub C258".into();
        assert_eq!(
            p.label(),
            "Warren 2nd floor scanner (Konica Minolta bizhub C258)"
        );
        p.name = "New device (2)".into();
        assert_eq!(p.label(), "Konica Minolta bizhub C258");
        p.manufacturer.clear();
        p.model.clear();
        p.name = "Lab copier".into();
        assert_eq!(p.label(), "Lab copier");
        p.name = NEW_DEVICE.into();
        assert_eq!(p.label(), "");
    }

    #[test]
    fn an_older_snapshot_never_overwrites_a_newer_one() {
        let store = temp_store("order");
        let mut newer = ProfileFile::default();
        newer.profiles.push(sample());
        let older = ProfileFile::default();
        let base = ProfileFile::default();
        assert_eq!(store.save_merged(&base, &newer, 2), Ok(Some(newer.clone())));
        assert_eq!(store.clone().save_merged(&base, &older, 1), Ok(None));
        assert_eq!(store.load().file, newer);
        // Based on `newer`, the window deleted the device: the newest snapshot wins.
        assert_eq!(
            store.save_merged(&newer, &older, 3),
            Ok(Some(older.clone()))
        );
        assert_eq!(store.load().file, older);
        std::fs::remove_dir_all(&store.dir).unwrap();
    }

    #[test]
    fn a_bad_field_costs_only_that_field() {
        let text = "schema = 1\n[[profile]]\nname = \"Copier\"\nssl_port = 70000\nsecurity = \"carrier-pigeon\"\nmodel = \"X1\"\n";
        let f = ProfileFile::parse(text).unwrap();
        assert_eq!(f.profiles[0].name, "Copier");
        assert_eq!(f.profiles[0].model, "X1");
        assert_eq!(f.profiles[0].ssl_port, None);
        assert_eq!(f.profiles[0].security, None);
    }

    #[test]
    fn broken_and_newer_files_are_moved_aside_and_reported() {
        for (tag, text, says) in [
            (
                "broken",
                "schema = 1\n[[profile]\nname = ",
                "could not be read (line 2",
            ),
            (
                "newer",
                "schema = 9\n[[profile]]\nname = \"X\"\n",
                "a newer ScanMail wrote it (version 9)",
            ),
            ("binary", "\u{0}\u{1}schema", "could not be read"),
        ] {
            let store = temp_store(tag);
            std::fs::create_dir_all(&store.dir).unwrap();
            std::fs::write(store.path(), text).unwrap();
            let loaded = store.load();
            let notice = loaded.notice.unwrap();
            assert!(notice.contains(says), "{tag}: {notice}");
            assert!(loaded.file.profiles.is_empty());
            let names: Vec<String> = std::fs::read_dir(&store.dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 1, "{names:?}");
            assert!(
                names[0].starts_with("profiles.toml.unreadable-"),
                "{names:?}"
            );
            assert_eq!(
                std::fs::read_to_string(store.dir.join(&names[0])).unwrap(),
                text,
                "kept as it was"
            );
            std::fs::remove_dir_all(&store.dir).unwrap();
        }
    }

    #[test]
    fn export_never_carries_secrets_and_imports_back() {
        let text = export(&sample());
        assert!(text.contains("remember_password = false"));
        let back = import(&text).unwrap();
        assert_eq!(back.name, sample().name);
        assert!(!back.remember_password);
        assert!(sample().last_test.is_some());
        assert_eq!(
            back.last_test, None,
            "an import never brings a verdict along"
        );
        assert!(
            import("hello")
                .unwrap_err()
                .contains("not a ScanMail device file")
        );
        assert!(import("schema = 1\n").unwrap_err().contains("no device"));
    }

    #[test]
    fn unique_names() {
        let mut f = ProfileFile::default();
        f.profiles.push(Profile {
            name: "Copier".into(),
            ..Profile::default()
        });
        f.profiles.push(Profile {
            name: "Copier (2)".into(),
            ..Profile::default()
        });
        assert_eq!(f.unique_name("copier"), "copier (3)");
        assert_eq!(f.unique_name("Scanner"), "Scanner");
        assert_eq!(f.unique_name(" "), "New device");
    }
}
