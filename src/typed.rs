//! Commands as people type them on their own system. ScanMail's sentences name commands the
//! Linux way (`scanmail relay status`); on the way out they become this system's:
//! - Windows: the console program is not on PATH, so PowerShell's call operator and its full
//!   path: `& "C:\Program Files\ScanMail\scanmail-cli.exe" relay status`;
//! - macOS: the app's own program, `/Applications/ScanMail.app/Contents/MacOS/ScanMail`;
//! - macOS and Linux: `sudo` before a relay command that changes the machine-wide settings (one
//!   without `--config`), since only root may change them.
//!
//! The change is the same each time it is made (text already changed stays as it is), so a
//! sentence may pass through twice.

/// The system whose commands are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Windows,
    MacOs,
    Linux,
}

impl System {
    pub fn this() -> Self {
        if cfg!(windows) {
            System::Windows
        } else if cfg!(target_os = "macos") {
            System::MacOs
        } else {
            System::Linux
        }
    }
}

/// ScanMail's command-line verbs: `scanmail` followed by one of these is a command.
const VERBS: [&str; 9] = [
    "relay ",
    "check ",
    "card ",
    "listen ",
    "profiles ",
    "org ",
    "discover ",
    "lookup ",
    "--help",
];

/// Relay verbs that change the machine-wide settings or the service: root's on macOS and Linux.
const ADMIN: [&str; 8] = [
    "init",
    "test",
    "sign-in",
    "add-device",
    "remove-device",
    "microsoft-app",
    "install-service",
    "uninstall-service",
];

/// The Mac app's own program.
pub const MAC_PROGRAM: &str = "/Applications/ScanMail.app/Contents/MacOS/ScanMail";

/// The Windows console program, as installed.
pub fn windows_program() -> String {
    #[cfg(windows)]
    let pf = crate::winfolders::program_files().map_or_else(
        || r"C:\Program Files".to_string(),
        |p| p.display().to_string(),
    );
    #[cfg(not(windows))]
    let pf = r"C:\Program Files".to_string();
    format!(r"{pf}\ScanMail\scanmail-cli.exe")
}

/// `text` with its commands as typed on this system.
pub fn typed(text: &str) -> String {
    typed_for(System::this(), text)
}

/// `text` with its commands as typed on `system`.
pub fn typed_for(system: System, text: &str) -> String {
    Typing::new(system).apply(text)
}

/// How commands are written out.
#[derive(Debug, Clone)]
pub struct Typing {
    system: System,
    /// The text is JSON: what is put in is escaped as in a JSON string.
    json: bool,
    /// The relay's settings file in use when it is not the machine-wide one: relay commands
    /// that take `--config` get it.
    config: Option<String>,
}

/// Relay verbs that take `--config`.
const TAKES_CONFIG: [&str; 9] = [
    "init",
    "sign-in",
    "add-device",
    "remove-device",
    "microsoft-app",
    "run",
    "install-service",
    "status",
    "test",
];

impl Typing {
    pub fn new(system: System) -> Self {
        Self {
            system,
            json: false,
            config: None,
        }
    }

    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }

    /// Relay commands name this settings file (one that is not the machine-wide one).
    pub fn config(mut self, path: Option<&std::path::Path>) -> Self {
        self.config = path.map(|p| p.display().to_string());
        self
    }

    fn put(&self, out: &mut String, s: &str) {
        if self.json {
            out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
        } else {
            out.push_str(s);
        }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 64);
        let mut rest = text;
        while let Some(at) = find_command(rest) {
            let (before, from) = rest.split_at(at);
            out.push_str(before);
            let after = &from["scanmail ".len()..];
            let end = command_end(after, self.json);
            let command = &after[..end];
            let add_config = self.config.as_ref().filter(|_| {
                !command.contains("--config")
                    && (verb_in(command, &TAKES_CONFIG) || command.starts_with("card --relay"))
            });
            let has_config = command.contains("--config") || add_config.is_some();
            let admin =
                (verb_in(command, &ADMIN) && !has_config) || command.starts_with("org install");
            let had_sudo = out.ends_with("sudo ");
            match self.system {
                System::Windows => {
                    if had_sudo {
                        out.truncate(out.len() - "sudo ".len());
                    }
                    self.put(&mut out, &format!("& \"{}\" ", windows_program()));
                }
                System::MacOs | System::Linux => {
                    if admin && !had_sudo {
                        out.push_str("sudo ");
                    }
                    out.push_str(if self.system == System::MacOs {
                        MAC_PROGRAM
                    } else {
                        "scanmail"
                    });
                    out.push(' ');
                }
            }
            out.push_str(command);
            if let Some(c) = add_config {
                self.put(&mut out, &format!(" --config \"{c}\""));
            }
            rest = &after[end..];
        }
        out.push_str(rest);
        out
    }
}

/// Where the next command (`scanmail ` then a verb, at the start of a word) begins.
fn find_command(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find("scanmail ") {
        let at = from + i;
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, ':' | '(' | '"' | '`' | '\''));
        let after = &text[at + "scanmail ".len()..];
        if starts_word && VERBS.iter().any(|v| after.starts_with(v)) {
            return Some(at);
        }
        from = at + "scanmail ".len();
    }
    None
}

/// Where the command (the text after `scanmail `) ends: at the end of its line, a closing
/// backquote or bracket, the end of its sentence or clause (". ", ", ", "; "); in JSON also at
/// the end of its string.
fn command_end(after: &str, json: bool) -> usize {
    // A closing bracket ends it, unless it is inside a placeholder (`<Directory (tenant) ID>`).
    let mut depth = 0usize;
    let closing = after.char_indices().find_map(|(i, c)| match c {
        '<' => {
            depth += 1;
            None
        }
        '>' => {
            depth = depth.saturating_sub(1);
            None
        }
        '\n' | '`' => Some(i),
        ')' if depth == 0 => Some(i),
        _ => None,
    });
    let mut ends = vec![
        closing,
        after.find(". "),
        after.find(", "),
        after.find("; "),
    ];
    if json {
        ends.push(after.find("\\n"));
        let b = after.as_bytes();
        ends.push((0..b.len()).find(|&i| b[i] == b'"' && (i == 0 || b[i - 1] != b'\\')));
    }
    let mut end = ends.into_iter().flatten().min().unwrap_or(after.len());
    // The full stop closing a sentence is not part of the command.
    if after[..end].ends_with('.') {
        end -= 1;
    }
    end
}

/// True when `command` is `relay VERB ...` with one of `verbs`.
fn verb_in(command: &str, verbs: &[&str]) -> bool {
    command.strip_prefix("relay ").is_some_and(|r| {
        verbs
            .iter()
            .any(|v| r.starts_with(v) && r[v.len()..].chars().next().is_none_or(|c| c == ' '))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_become_this_systems() {
        let t =
            "Set one up first: scanmail relay init --account ADDRESS. Then: scanmail relay status";
        assert_eq!(
            typed_for(System::Linux, t),
            "Set one up first: sudo scanmail relay init --account ADDRESS. Then: scanmail relay status"
        );
        assert_eq!(
            typed_for(System::MacOs, t),
            "Set one up first: sudo /Applications/ScanMail.app/Contents/MacOS/ScanMail relay init --account ADDRESS. Then: /Applications/ScanMail.app/Contents/MacOS/ScanMail relay status"
        );
        assert_eq!(
            typed_for(System::Windows, t),
            r#"Set one up first: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay init --account ADDRESS. Then: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay status"#
        );
    }

    #[test]
    fn sudo_only_for_the_machine_wide_settings_and_never_twice() {
        assert_eq!(
            typed_for(
                System::Linux,
                "Run: scanmail relay sign-in --config ./relay.toml"
            ),
            "Run: scanmail relay sign-in --config ./relay.toml"
        );
        assert_eq!(
            typed_for(System::Linux, "Run: sudo scanmail relay install-service"),
            "Run: sudo scanmail relay install-service"
        );
        assert_eq!(
            typed_for(System::Windows, "Run: sudo scanmail relay install-service"),
            r#"Run: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay install-service"#
        );
        // "init" is not "initial"; a word merely ending in scanmail is no command.
        assert_eq!(
            typed_for(
                System::Linux,
                "see scanmail relay initial and myscanmail relay init"
            ),
            "see scanmail relay initial and myscanmail relay init"
        );
        // Twice is once.
        for s in [System::Windows, System::MacOs, System::Linux] {
            let once = typed_for(
                s,
                "Fix it: scanmail relay add-device copier. Or scanmail card --relay copier",
            );
            assert_eq!(typed_for(s, &once), once, "{s:?}");
        }
        // In JSON, what is put in is escaped.
        let json = r#"{"next":"Run: scanmail relay status"}"#;
        let v: serde_json::Value =
            serde_json::from_str(&Typing::new(System::Windows).json().apply(json)).unwrap();
        assert_eq!(
            v["next"],
            r#"Run: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay status"#
        );
        // Not a command: the keychain's name, a path.
        let t = "kept in the keychain (\"scanmail-relay\") and /usr/local/lib/scanmail/scanmail";
        assert_eq!(typed_for(System::Windows, t), t);
    }

    #[test]
    fn relay_commands_name_the_settings_file_in_use() {
        let t =
            Typing::new(System::Linux).config(Some(std::path::Path::new("/home/it/relay.toml")));
        assert_eq!(
            t.apply(
                "Sign the relay in again: scanmail relay sign-in. Or: scanmail relay service-status"
            ),
            "Sign the relay in again: scanmail relay sign-in --config \"/home/it/relay.toml\". Or: scanmail relay service-status"
        );
        assert_eq!(
            t.apply("Renew it: scanmail relay microsoft-app --renew, then scanmail relay test"),
            "Renew it: scanmail relay microsoft-app --renew --config \"/home/it/relay.toml\", then scanmail relay test --config \"/home/it/relay.toml\""
        );
        // A placeholder's brackets stay inside the command; a clause's "; " ends it.
        assert_eq!(
            t.apply("Use: scanmail relay sign-in --client-id X --tenant <Directory (tenant) ID>; then scanmail relay test"),
            "Use: scanmail relay sign-in --client-id X --tenant <Directory (tenant) ID> --config \"/home/it/relay.toml\"; then scanmail relay test --config \"/home/it/relay.toml\""
        );
        // Given already: left as it is.
        let given = "Run: scanmail relay init --config \"/x/relay.toml\" --account ADDRESS";
        assert_eq!(t.apply(given), given);
        // JSON: escaped.
        let j = Typing::new(System::Windows)
            .json()
            .config(Some(std::path::Path::new(r"C:\Users\it\relay.toml")));
        let v: serde_json::Value =
            serde_json::from_str(&j.apply(r#"{"fix":"Run: scanmail relay status"}"#)).unwrap();
        assert_eq!(
            v["fix"],
            r#"Run: & "C:\Program Files\ScanMail\scanmail-cli.exe" relay status --config "C:\Users\it\relay.toml""#
        );
    }
}
