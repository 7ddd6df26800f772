//! The program a relay service runs: one only administrators can change. A service runs as a
//! system account at every start, so a program a standard user could replace (one in Downloads,
//! on a mounted disk image, in a temporary folder) would be theirs to run with the service's
//! rights. So `install-service`:
//!
//! - Linux: uses the program installed in `/usr/bin`, `/usr/local/bin` or `/usr/lib/scanmail`
//!   (root's: checked below), else copies the running one to [`LINUX_PLACE`] (root's, 0755);
//! - macOS: copies the app's program to [`MAC_PLACE`] (root's): `/Applications` lets every
//!   administrator account write, and a dragged-in app belongs to that account, so the daemon
//!   (root) must not run it in place;
//! - Windows: uses only the program the installer put in Program Files;
//!
//! and refuses a program that is, or sits below, a folder someone other than an administrator
//! can change, and one in a temporary, removable or downloaded place, with the next step.

use std::path::{Path, PathBuf};

/// Where `install-service` keeps the Linux service's program.
pub const LINUX_PLACE: &str = "/usr/local/lib/scanmail/scanmail";
/// Where `install-service` keeps the macOS daemon's program.
pub const MAC_PLACE: &str = "/Library/Application Support/ScanMail/bin/ScanMail";

/// A path without Windows' `\\?\` prefix (`canonicalize` adds it; the known folders lack it).
fn simplified(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if !rest.starts_with("UNC\\") => PathBuf::from(rest),
        _ => p,
    }
}

/// Places a service's program must never come from, by what their path holds.
const RISKY: [(&str, &str); 12] = [
    ("/Volumes/", "a mounted disk image or drive"),
    (
        "/AppTranslocation/",
        "a copy macOS made to run it from where it was downloaded",
    ),
    ("/Downloads/", "the Downloads folder"),
    ("/tmp/", "a temporary folder"),
    ("/var/tmp/", "a temporary folder"),
    ("/private/var/folders/", "a temporary folder"),
    ("/dev/shm/", "a temporary folder"),
    ("/media/", "a removable drive"),
    ("/mnt/", "a mounted drive"),
    ("/run/media/", "a removable drive"),
    ("/AppData/Local/Temp/", "a temporary folder"),
    ("/Windows/Temp/", "a temporary folder"),
];

/// Why a program at `path` must not be run by a service because of where it is, if so.
pub fn risky_place(path: &Path) -> Option<&'static str> {
    let p = path.to_string_lossy().replace('\\', "/");
    RISKY
        .iter()
        .find(|(part, _)| p.to_ascii_lowercase().contains(&part.to_ascii_lowercase()))
        .map(|(_, why)| *why)
}

/// Why someone other than an administrator could change the file at `path` (the program, or
/// the relay's settings), if so: the file and its own folder must be closed to others; no
/// folder above may let others delete, rename or re-permission what is in it (adding files is
/// allowed: every user may add to C:\ and C:\ProgramData).
pub fn changeable_by_others(path: &Path) -> Option<String> {
    let own = path.parent().filter(|p| !p.as_os_str().is_empty());
    for p in std::iter::once(path).chain(own) {
        if let Some(why) = crate::trust::untrusted_reason_of(p) {
            return Some(format!("{why}: {}", p.display()));
        }
    }
    let mut at = own.and_then(Path::parent);
    while let Some(p) = at {
        if p.as_os_str().is_empty() {
            break;
        }
        if let Some(why) = crate::trust::swap_reason_of(p) {
            return Some(format!("{why}: {}", p.display()));
        }
        at = p.parent();
    }
    None
}

/// The line that installs the service the way this system's docs give it.
pub fn install_command() -> String {
    if cfg!(unix) && !cfg!(target_os = "macos") {
        // Linux: the program as it is reached from here (a build folder is not on PATH).
        let exe = std::env::current_exe().ok().map(simplified);
        let on_path = exe.as_deref().is_some_and(|e| {
            [Path::new("/usr/bin"), Path::new("/usr/local/bin")]
                .iter()
                .any(|d| e.parent() == Some(d))
        });
        if let Some(exe) = exe.filter(|_| !on_path) {
            return format!("sudo \"{}\" relay install-service", exe.display());
        }
    }
    crate::typed::typed("sudo scanmail relay install-service")
}

/// The program the service will run, checked before anything is changed: `Err` says why not
/// and what to do first. On Linux it is then copied into place by [`place`].
pub fn check() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map(simplified)
        .map_err(|e| {
            format!(
                "ScanMail could not tell where it runs from ({})",
                crate::fsutil::plain_io(&e)
            )
        })?;
    if let Some(why) = risky_place(&exe) {
        return Err(format!(
            "ScanMail runs from {} ({why}). A service must not run a program from there. {}",
            exe.display(),
            install_first()
        ));
    }
    if cfg!(unix) {
        // Copied into a place of root's own by `place`.
        return Ok(exe);
    }
    if !in_program_files(&exe) {
        return Err(format!(
            "ScanMail runs from {}, not from where it is installed for the whole computer. {}",
            exe.display(),
            install_first()
        ));
    }
    if let Some(why) = changeable_by_others(&exe) {
        return Err(format!(
            "A service must run a program only administrators can change, and {why}. {}",
            install_first()
        ));
    }
    Ok(exe)
}

/// Puts the checked program where the service runs it (Linux: a copy of root's own), and
/// checks that place once more.
pub fn place(exe: &Path) -> Result<PathBuf, String> {
    let program = if cfg!(target_os = "macos") {
        copy_to(exe, Path::new(MAC_PLACE))?
    } else if cfg!(unix) {
        linux_program(exe)?
    } else {
        exe.to_path_buf()
    };
    if let Some(why) = changeable_by_others(&program) {
        return Err(format!(
            "A service must run a program only administrators can change, and {why}. {}",
            install_first()
        ));
    }
    Ok(program)
}

/// What to do first, on this system.
pub fn install_first() -> String {
    let install = crate::typed::typed("sudo scanmail relay install-service");
    if cfg!(windows) {
        format!(
            "Install ScanMail with its installer (ScanMail-...msi) first. Then, in PowerShell opened as an administrator, run: {install}"
        )
    } else if cfg!(target_os = "macos") {
        format!(
            "Drag ScanMail to the Applications folder and open it once from there. Then, in Terminal, run: {install}"
        )
    } else {
        format!(
            "Install ScanMail for the whole computer first: in ScanMail's source folder, run: sudo bash scripts/install-linux.sh. Then run: {install}"
        )
    }
}

/// Linux: a program a package installed is used where it is; any other is copied to
/// [`LINUX_PLACE`] (a new copy each time, so a reinstall also updates it).
fn linux_program(exe: &Path) -> Result<PathBuf, String> {
    let packaged = ["/usr/bin/", "/usr/local/bin/", "/usr/lib/scanmail/"];
    if packaged.iter().any(|p| exe.starts_with(p)) {
        return Ok(exe.to_path_buf());
    }
    copy_to(exe, Path::new(LINUX_PLACE))
}

/// Copies the running program to `to` (root's, 0755), from the running image itself where the
/// system offers it (`/proc/self/exe`), so a file swapped in after the check is never what is
/// copied.
fn copy_to(exe: &Path, to: &Path) -> Result<PathBuf, String> {
    if exe == to {
        return Ok(to.to_path_buf());
    }
    let running = Path::new("/proc/self/exe");
    let source = if running.exists() { running } else { exe };
    let bytes = std::fs::read(source).map_err(|e| {
        format!(
            "{} could not be read to copy it ({})",
            exe.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "{} could not be made ({}). Run this as an administrator (sudo)",
                dir.display(),
                crate::fsutil::plain_io(&e)
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
    crate::fsutil::write_atomic_mode(to, &bytes, 0o755).map_err(|e| {
        format!(
            "{} could not be written ({}). Run this as an administrator (sudo)",
            to.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    Ok(to.to_path_buf())
}

#[cfg(windows)]
fn in_program_files(exe: &Path) -> bool {
    crate::winfolders::program_files().is_some_and(|pf| exe.starts_with(pf))
}

#[cfg(not(windows))]
fn in_program_files(_exe: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloaded_temporary_and_mounted_places_are_refused() {
        for p in [
            "/Volumes/ScanMail/ScanMail.app/Contents/MacOS/ScanMail",
            "/private/var/folders/x/T/AppTranslocation/ABC/d/ScanMail.app/Contents/MacOS/ScanMail",
            "/Users/pat/Downloads/ScanMail.app/Contents/MacOS/ScanMail",
            "/tmp/scanmail",
            "/var/tmp/scanmail",
            "/dev/shm/scanmail",
            "/media/usb/scanmail",
            r"C:\Users\pat\AppData\Local\Temp\scanmail.exe",
            r"C:\Users\pat\Downloads\scanmail.exe",
        ] {
            assert!(risky_place(Path::new(p)).is_some(), "{p}");
        }
        for p in [
            "/Applications/ScanMail.app/Contents/MacOS/ScanMail",
            "/usr/local/lib/scanmail/scanmail",
            r"C:\Program Files\ScanMail\scanmail.exe",
        ] {
            assert!(risky_place(Path::new(p)).is_none(), "{p}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_change_anywhere_above_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let inner = open.join("bin");
        std::fs::create_dir(&inner).unwrap();
        let exe = inner.join("scanmail");
        std::fs::write(&exe, b"x").unwrap();
        let why = changeable_by_others(&exe).unwrap();
        assert!(why.contains("other users can change"), "{why}");
        // /usr/bin, root's own, passes (when this machine has it as usual).
        if let Ok(m) = std::fs::metadata("/usr/bin/env")
            && std::os::unix::fs::MetadataExt::uid(&m) == 0
        {
            assert_eq!(changeable_by_others(Path::new("/usr/bin/env")), None);
        }
    }
}
