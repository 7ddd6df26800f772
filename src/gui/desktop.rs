//! The real side effects: the browser, file dialogs and files. Only `effects.rs` calls these,
//! from Tasks; tests never reach them.

use std::path::PathBuf;

/// Opens a web address (or a file) with the system's default program.
pub fn open(target: &str) -> Result<(), String> {
    open::that_detached(target).map_err(|_| {
        format!("ScanMail could not open a browser. Copy this address into one: {target}")
    })
}

/// Asks for a PEM certificate file and reads it.
pub async fn pick_ca_file() -> Option<(PathBuf, Result<Vec<u8>, String>)> {
    let handle = rfd::AsyncFileDialog::new()
        .set_title("Choose the mail server's certificate file")
        .add_filter("Certificate (PEM)", &["pem", "crt", "cer"])
        .add_filter("All files", &["*"])
        .pick_file()
        .await?;
    let path = handle.path().to_path_buf();
    let bytes = crate::fsutil::read_capped(&path, crate::fsutil::CA_CAP).map_err(|e| {
        format!(
            "The file could not be read: {}.",
            crate::fsutil::plain_io(&e)
        )
    });
    Some((path, bytes))
}

/// What a Save as... dialog offers: its title, the suggested name, and what the thing is called
/// in an error.
pub struct SaveAs {
    pub title: &'static str,
    pub file_name: &'static str,
    pub what: &'static str,
}

/// The settings card's Save as...
pub const CARD: SaveAs = SaveAs {
    title: "Save the settings card",
    file_name: "scan-to-email-settings.html",
    what: "card",
};

/// The report for IT's Save report...
pub const REPORT: SaveAs = SaveAs {
    title: "Save the report for IT",
    file_name: "scanmail-report.html",
    what: "report",
};

/// Asks where to save and writes `html`, or `text` when the name ends in .txt.
pub async fn save_as(what: &SaveAs, text: String, html: String) -> Result<Option<PathBuf>, String> {
    let Some(handle) = rfd::AsyncFileDialog::new()
        .set_title(what.title)
        .set_file_name(what.file_name)
        .add_filter("Web page (HTML)", &["html", "htm"])
        .add_filter("Plain text", &["txt"])
        .save_file()
        .await
    else {
        return Ok(None);
    };
    let path = handle.path().to_path_buf();
    let is_text = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    let body = if is_text { text } else { html };
    crate::fsutil::write_atomic(&path, body.as_bytes()).map_err(|e| {
        format!(
            "The {} could not be saved to {}: {}. Try another folder.",
            what.what,
            path.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    Ok(Some(path))
}

/// How long a page for printing stays: enough for the browser to open and print it. A relay
/// card holds a copier's password, so the page never stays for good.
const PRINT_PAGE_LIFE: std::time::Duration = std::time::Duration::from_secs(120);

/// Writes the card to a temporary page and opens it, so the browser can print it; the page is
/// deleted two minutes later (and any left by an earlier run, when the next card is printed).
pub fn print_card(html: &str) -> Result<(), String> {
    let path = print_file(html).map_err(|e| {
        format!(
            "The card could not be prepared for printing: {}.",
            crate::fsutil::plain_io(&e)
        )
    })?;
    let opened = open(&path.to_string_lossy());
    let doomed = path.clone();
    std::thread::spawn(move || {
        std::thread::sleep(PRINT_PAGE_LIFE);
        let _ = std::fs::remove_file(doomed);
    });
    opened
}

/// A private file for the browser to print: created new with a random name, owner-only, and
/// kept (the browser opens it after this returns) until [`print_card`] deletes it. Pages older
/// than [`PRINT_PAGE_LIFE`] from an earlier run go first.
pub fn print_file(html: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    sweep_print_pages(&std::env::temp_dir(), PRINT_PAGE_LIFE);
    let mut file = tempfile::Builder::new()
        .prefix("scanmail-card-")
        .suffix(".html")
        .tempfile()?;
    file.write_all(html.as_bytes())?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    Ok(path)
}

/// Deletes pages for printing in `dir` older than `age` (ScanMail's own, by their name).
pub fn sweep_print_pages(dir: &std::path::Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with("scanmail-card-") && name.ends_with(".html");
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a > age);
        if ours && old && e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Asks for an exported device file and reads it.
pub async fn import_profile() -> Option<Result<crate::profile::Profile, String>> {
    let handle = rfd::AsyncFileDialog::new()
        .set_title("Import a device")
        .add_filter("ScanMail device", &["toml"])
        .add_filter("All files", &["*"])
        .pick_file()
        .await?;
    let path = handle.path().to_path_buf();
    let bytes = crate::fsutil::read_capped(&path, crate::fsutil::PRESET_CAP);
    Some(match bytes.map(String::from_utf8) {
        Ok(Ok(text)) => crate::profile::import(&text),
        Ok(Err(_)) => Err(format!("{} is not a ScanMail device file.", path.display())),
        Err(e) => Err(format!(
            "{} could not be read: {}.",
            path.display(),
            crate::fsutil::plain_io(&e)
        )),
    })
}

/// Asks where to export a device and writes it (never with its password).
pub async fn export_profile(name: String, text: String) -> Result<Option<PathBuf>, String> {
    let file_name: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let Some(handle) = rfd::AsyncFileDialog::new()
        .set_title("Export this device")
        .set_file_name(format!("{file_name}.scanmail.toml"))
        .add_filter("ScanMail device", &["toml"])
        .save_file()
        .await
    else {
        return Ok(None);
    };
    let path = handle.path().to_path_buf();
    crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| {
        format!(
            "The device could not be exported to {}: {e}.",
            path.display()
        )
    })?;
    Ok(Some(path))
}

/// Text for inside a PowerShell single-quoted string: every kind of single quote PowerShell
/// accepts (' and the curly ones) doubled.
fn ps_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out
}

/// The installed program an administrator's step runs: never this window's own file, which
/// the person at this desk may be able to replace (the administrator would then approve their
/// program). `Err`: the exact command for IT instead.
pub fn installed_program(args: &[String]) -> Result<PathBuf, String> {
    let places: Vec<PathBuf> = if cfg!(windows) {
        #[cfg(windows)]
        let pf = crate::winfolders::program_files();
        #[cfg(not(windows))]
        let pf: Option<PathBuf> = None;
        pf.map(|p| p.join("ScanMail").join("scanmail-cli.exe"))
            .into_iter()
            .collect()
    } else if cfg!(target_os = "macos") {
        vec![PathBuf::from(
            "/Applications/ScanMail.app/Contents/MacOS/ScanMail",
        )]
    } else {
        vec![
            PathBuf::from("/usr/local/bin/scanmail"),
            PathBuf::from("/usr/bin/scanmail"),
        ]
    };
    let safe = |p: &PathBuf| {
        p.is_file()
            && (cfg!(target_os = "macos")
                || crate::relay::program::changeable_by_others(p).is_none())
    };
    places.into_iter().find(safe).ok_or_else(|| {
        let _ = args;
        "ScanMail is not installed for the whole computer here, so it cannot ask for an administrator. Ask IT to install it, or to run this as an administrator:".to_string()
    })
}

/// The command an administrator types for `args`, on this system.
pub fn command_for_it(args: &[String]) -> String {
    let line = std::iter::once("sudo scanmail".to_string())
        .chain(args.iter().map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._@=:/".contains(c))
            {
                a.clone()
            } else {
                format!("\"{a}\"")
            }
        }))
        .collect::<Vec<_>>()
        .join(" ");
    crate::typed::typed(&line)
}

/// Runs ScanMail's command line with `args` as an administrator, the system's way, in a window
/// the person can read (the relay's sign-in shows a code there), which waits for Enter at the
/// end so its result is read. Windows asks through UAC and waits for the step to end:
/// `Ok(true)` when it worked. macOS (Terminal with `sudo`) and Linux (`pkexec` in a terminal)
/// run it in their own window: `Ok(false)`. `Err` says why it could not run, or did not work
/// (the page then shows the command to type).
pub fn run_elevated(args: &[String]) -> Result<bool, String> {
    let exe = installed_program(args)?.display().to_string();
    let mut args = args.to_vec();
    args.push("--pause-at-end".into());
    let cannot = |e: std::io::Error| {
        format!(
            "ScanMail could not ask for administrator rights ({}). Ask IT, or run this as an administrator:",
            crate::fsutil::plain_io(&e)
        )
    };
    if cfg!(windows) {
        let quoted: Vec<String> = args
            .iter()
            .map(|a| format!("'\"{}\"'", ps_quote(a)))
            .collect();
        // 1223 (ERROR_CANCELLED): the administrator's OK was not given.
        let script = format!(
            "try {{ $p = Start-Process -Verb RunAs -Wait -PassThru -FilePath '{}' -ArgumentList {} -ErrorAction Stop; exit $p.ExitCode }} catch {{ exit 1223 }}",
            ps_quote(&exe),
            quoted.join(",")
        );
        let status = std::process::Command::new("powershell")
            .args(["-NoProfile", "-Command", &script])
            .status()
            .map_err(cannot)?;
        return match status.code() {
            Some(0) => Ok(true),
            Some(1223) => Err(
                "The administrator's OK was not given, so nothing changed. Ask IT to do it, or to run this as an administrator:".into(),
            ),
            code => Err(format!(
                "The administrator's step did not work{}. Its window said why. Press the button again, or ask IT to run this as an administrator:",
                code.map(|c| format!(" (it ended with code {c})")).unwrap_or_default()
            )),
        };
    }
    if cfg!(target_os = "macos") {
        let line = std::iter::once(&exe)
            .chain(&args)
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!(
            "tell application \"Terminal\" to do script \"sudo {}\"",
            line.replace('\\', "\\\\").replace('"', "\\\"")
        );
        std::process::Command::new("osascript")
            .args(["-e", &script])
            .spawn()
            .map_err(cannot)?;
        return Ok(false);
    }
    // Linux: the first terminal this desktop has, with pkexec inside it. Without a terminal the
    // step's output (a sign-in's code) could not be read, so the command is given instead.
    for (term, flag) in [
        ("x-terminal-emulator", "-e"),
        ("gnome-terminal", "--"),
        ("konsole", "-e"),
        ("xfce4-terminal", "-x"),
        ("xterm", "-e"),
    ] {
        let spawned = std::process::Command::new(term)
            .arg(flag)
            .arg("pkexec")
            .arg(&exe)
            .args(&args)
            .spawn();
        if spawned.is_ok() {
            return Ok(false);
        }
    }
    Err("No terminal window could be opened here for the administrator's step. Run this in a terminal:".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_for_printing_do_not_stay() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("scanmail-card-old.html");
        let new = dir.path().join("scanmail-card-new.html");
        let other = dir.path().join("notes.html");
        for p in [&old, &new, &other] {
            std::fs::write(p, "password inside").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(&new, "just printed").unwrap();
        sweep_print_pages(dir.path(), std::time::Duration::from_secs(1));
        assert!(!old.exists(), "an old page is deleted");
        assert!(new.exists(), "a page being printed stays");
        assert!(other.exists(), "only ScanMail's own pages");
    }
}
