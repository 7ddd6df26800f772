//! May the machine-wide preset be trusted? Only while no one but an administrator can change it
//! (a standard user who could plant it could send everyone's app password to a server of their
//! choosing). macOS and Linux: owner root and no group/other write, on the file and its folder.
//! Windows: owner Administrators, SYSTEM or TrustedInstaller, and no one else allowed to write,
//! delete or change the permissions, on the file and its folder. The Windows decision reads the
//! security descriptor as SDDL text (the one Win32 call is in `winacl`), so it is tested here on
//! any machine through [`SecurityText`].

use std::path::Path;

/// A file's owner and access list as SDDL text (`O:BAG:SYD:PAI(A;OICI;FA;;;BA)...`).
pub trait SecurityText {
    fn sddl(&self, path: &Path) -> Result<String, String>;
}

/// SDDL for the preset's folder (and, without inheritance flags, its file): owned by
/// Administrators, full control for Administrators and SYSTEM, read and run for Users, nothing
/// inherited from above.
pub const FOLDER_SDDL: &str = "O:BAD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)";
pub const FILE_SDDL: &str = "O:BAD:PAI(A;;FA;;;BA)(A;;FA;;;SY)(A;;0x1200a9;;;BU)";

/// Administrators, SYSTEM and TrustedInstaller, as SDDL aliases and as SID strings.
const ADMINS: [&str; 5] = [
    "BA",
    "SY",
    "S-1-5-32-544",
    "S-1-5-18",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

/// Rights that let someone replace or change the file: write or append data (add a file to a
/// folder), delete it or a child, change its permissions or owner, generic write or all.
const WRITE_RIGHTS: u32 =
    0x2 | 0x4 | 0x40 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x1000_0000 | 0x4000_0000;

/// Rights on a folder higher up that let someone swap what lies below it: delete a child,
/// delete (rename) the folder itself, change its permissions or owner, or all rights. Adding a
/// file or a folder does not: every user may do that in C:\ and C:\ProgramData.
const SWAP_RIGHTS: u32 = 0x40 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x1000_0000;

/// Windows: why the preset at `path` cannot be trusted, judged on the file and its folder.
pub fn windows_reason(source: &impl SecurityText, path: &Path) -> Option<String> {
    if wine_test_trust() {
        return None;
    }
    let folder = path.parent().unwrap_or(Path::new(""));
    for (what, p) in [("the file", path), ("its folder", folder)] {
        let why = match source.sddl(p) {
            Ok(text) => sddl_reason(&text),
            Err(e) => Some(format!("its permissions could not be read ({e})")),
        };
        if let Some(why) = why {
            return Some(format!("{why} ({what})"));
        }
    }
    None
}

/// Why a security descriptor (SDDL text) lets a non-administrator change the object, if it does.
pub fn sddl_reason(sddl: &str) -> Option<String> {
    sddl_reason_for(sddl, WRITE_RIGHTS)
}

/// Why a folder higher up (SDDL text) lets a non-administrator swap what lies below it, if it
/// does. `root`: the top of a drive, which cannot be deleted or renamed.
pub fn sddl_swap_reason(sddl: &str, root: bool) -> Option<String> {
    let mask = if root {
        SWAP_RIGHTS & !0x1_0000
    } else {
        SWAP_RIGHTS
    };
    sddl_reason_for(sddl, mask)
}

fn sddl_reason_for(sddl: &str, rights_that_count: u32) -> Option<String> {
    let owner = part(sddl, 'O').unwrap_or("");
    if !ADMINS.contains(&owner) {
        return Some("it belongs to a user, not to the administrators".into());
    }
    let Some(dacl) = part(sddl, 'D') else {
        return Some("everyone may change it (it has no access list)".into());
    };
    if dacl.starts_with("NO_ACCESS_CONTROL") {
        return Some("everyone may change it (it has no access list)".into());
    }
    for ace in dacl.split('(').skip(1) {
        let fields: Vec<&str> = ace.trim_end_matches(')').split(';').collect();
        let [kind, flags, rights, _, _, who, ..] = fields[..] else {
            return Some("its access list could not be read".into());
        };
        let allows = matches!(kind, "A" | "OA" | "XA" | "ZA");
        let inherit_only = flags.as_bytes().chunks(2).any(|f| f == b"IO");
        if !allows || inherit_only || ADMINS.contains(&who) {
            continue;
        }
        if rights_mask(rights).is_none_or(|m| m & rights_that_count != 0) {
            return Some(format!("{} may change it", who_words(who)));
        }
    }
    None
}

/// The text of one part (`O:`, `G:`, `D:`, `S:`) of an SDDL string.
fn part(sddl: &str, tag: char) -> Option<&str> {
    let mut depth = 0;
    let bytes = sddl.as_bytes();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b':' if depth == 0 && i > 0 => {
                let t = bytes[i - 1] as char;
                if let Some(s) = start {
                    // The next part begins one character before this colon.
                    return Some(&sddl[s..i - 1]);
                }
                if t == tag {
                    start = Some(i + 1);
                }
            }
            _ => {}
        }
    }
    start.map(|s| &sddl[s..])
}

/// An access mask from SDDL rights: hex (`0x1200a9`) or two-letter codes (`FA`, `GRGX`).
/// `None` for anything not understood (treated as able to write).
fn rights_mask(rights: &str) -> Option<u32> {
    if let Some(hex) = rights
        .strip_prefix("0x")
        .or_else(|| rights.strip_prefix("0X"))
    {
        return u32::from_str_radix(hex, 16).ok();
    }
    let mut mask = 0;
    for code in rights.as_bytes().chunks(2) {
        mask |= match code {
            b"GA" => 0x1000_0000,
            b"GR" => 0x8000_0000,
            b"GW" => 0x4000_0000,
            b"GX" => 0x2000_0000,
            b"RC" => 0x2_0000,
            b"SD" => 0x1_0000,
            b"WD" => 0x4_0000,
            b"WO" => 0x8_0000,
            b"CC" => 0x1,
            b"DC" => 0x2,
            b"LC" => 0x4,
            b"SW" => 0x8,
            b"RP" => 0x10,
            b"WP" => 0x20,
            b"DT" => 0x40,
            b"LO" => 0x80,
            b"CR" => 0x100,
            b"FA" => 0x1F_01FF,
            b"FR" => 0x12_0089,
            b"FW" => 0x12_0116,
            b"FX" => 0x12_00A0,
            _ => return None,
        };
    }
    Some(mask)
}

fn who_words(sid: &str) -> String {
    match sid {
        "WD" | "S-1-1-0" => "everyone".into(),
        "BU" | "S-1-5-32-545" => "every user of this computer".into(),
        "AU" | "S-1-5-11" => "every signed-in user".into(),
        "CO" | "OW" => "the person who made it".into(),
        other => format!("another account ({other})"),
    }
}

/// macOS and Linux: someone other than root owns the file or its folder, or others may write.
#[cfg(unix)]
pub fn unix_reason(path: &Path) -> Option<String> {
    let folder = path.parent().unwrap_or(Path::new("/"));
    root_only(path, "the file").or_else(|| root_only(folder, "its folder"))
}

/// Unix: `what` (a file or folder) is not root's, or others may write it.
#[cfg(unix)]
fn root_only(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return Some(format!("{what} could not be checked"));
    };
    if m.uid() != 0 {
        return Some(format!(
            "{what} belongs to a user, not the administrator (root)"
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Some(format!("other users can change {what}"));
    }
    None
}

/// A guarded file (the machine-wide preset, a preset beside the program, the relay's settings)
/// read through one open handle: its owner and permissions are judged on that very handle, and
/// the bytes come through it, so nothing can be swapped in between. Links (and, on Windows,
/// reparse points) are not followed.
#[derive(Debug)]
pub enum Guarded {
    Read(Vec<u8>),
    /// Someone other than an administrator could change it: why.
    Untrusted(String),
    /// It could not be read: why, in plain words.
    Unreadable(String),
}

/// Reads `path` as a guarded file (at most `cap` bytes).
pub fn read_guarded(path: &Path, cap: u64) -> Guarded {
    use std::io::Read;
    let folder = path.parent().unwrap_or(Path::new(""));
    let file = match open_guarded(path) {
        Ok(Ok(f)) => f,
        Ok(Err(why)) => return Guarded::Untrusted(format!("{why} (the file)")),
        Err(e) => return Guarded::Unreadable(crate::fsutil::plain_io(&e)),
    };
    if let Some(why) = folder_reason(folder) {
        return Guarded::Untrusted(format!("{why} (its folder)"));
    }
    let mut bytes = Vec::new();
    if let Err(e) = file.take(cap + 1).read_to_end(&mut bytes) {
        return Guarded::Unreadable(crate::fsutil::plain_io(&e));
    }
    if bytes.len() as u64 > cap {
        return Guarded::Unreadable(format!(
            "it is larger than {} KB, far more than a real one",
            cap / 1024
        ));
    }
    Guarded::Read(bytes)
}

/// Opens without following a link, and judges the open file: `Ok(Err(why))` when it may not be
/// trusted.
#[cfg(unix)]
fn open_guarded(path: &Path) -> std::io::Result<Result<std::fs::File, String>> {
    use std::os::unix::fs::MetadataExt;
    let before = std::fs::symlink_metadata(path)?;
    if before.file_type().is_symlink() {
        return Ok(Err("it is a link to another file".into()));
    }
    let file = std::fs::File::open(path)?;
    let m = file.metadata()?;
    if (m.dev(), m.ino()) != (before.dev(), before.ino()) {
        return Ok(Err("it changed while ScanMail opened it".into()));
    }
    if m.uid() != 0 {
        return Ok(Err(
            "it belongs to a user, not the administrator (root)".into()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Ok(Err("other users can change it".into()));
    }
    Ok(Ok(file))
}

#[cfg(windows)]
fn open_guarded(path: &Path) -> std::io::Result<Result<std::fs::File, String>> {
    use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
    // FILE_FLAG_OPEN_REPARSE_POINT: a junction or link is opened itself, never followed;
    // READ_CONTROL lets the security descriptor be read from this handle.
    let file = std::fs::OpenOptions::new()
        .access_mode(0x8000_0000 | 0x2_0000)
        .custom_flags(0x0020_0000)
        .open(path)?;
    if file.metadata()?.file_attributes() & 0x400 != 0 {
        return Ok(Err("it is a link to another file".into()));
    }
    if wine_test_trust() {
        return Ok(Ok(file));
    }
    Ok(match crate::winacl::sddl_of_file(&file) {
        Ok(text) => match sddl_reason(&text) {
            Some(why) => Err(why),
            None => Ok(file),
        },
        Err(e) => Err(format!("its permissions could not be read ({e})")),
    })
}

#[cfg(not(any(unix, windows)))]
fn open_guarded(path: &Path) -> std::io::Result<Result<std::fs::File, String>> {
    std::fs::File::open(path).map(Ok)
}

fn folder_reason(folder: &Path) -> Option<String> {
    untrusted_reason_of(folder)
}

/// Why someone other than an administrator could change this one file or folder, if so (the
/// file alone: its folder is judged by the caller).
pub fn untrusted_reason_of(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        root_only(path, "it")
    }
    #[cfg(windows)]
    {
        if wine_test_trust() {
            return None;
        }
        match crate::winacl::Win32.sddl(path) {
            Ok(text) => sddl_reason(&text),
            Err(e) => Some(format!("its permissions could not be read ({e})")),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        None
    }
}

/// Why someone other than an administrator could swap what lies below this folder higher up
/// (a folder above a guarded file's own folder), if so. Adding files there is allowed; deleting
/// or renaming what is in it, or changing its permissions, is not.
pub fn swap_reason_of(folder: &Path) -> Option<String> {
    // Even with the sticky bit (as on /tmp), a folder others may write is refused: the places
    // ScanMail's settings and program belong (/etc, /usr, /var/lib, /Library) never are, and a
    // temporary folder may be cleaned out from under a service. So Unix judges it as a file.
    #[cfg(unix)]
    {
        root_only(folder, "it")
    }
    #[cfg(windows)]
    {
        if wine_test_trust() {
            return None;
        }
        match crate::winacl::Win32.sddl(folder) {
            Ok(text) => sddl_swap_reason(&text, folder.parent().is_none()),
            Err(e) => Some(format!("its permissions could not be read ({e})")),
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = folder;
        None
    }
}

/// Only for the installer's checks under Wine, where every file belongs to the one user and no
/// access list is kept: with SCANMAIL_WINE_TRUST=1 and Wine's own ntdll (it exports
/// `wine_get_version`, which Windows' never does), guarded files count as administrators'. On
/// Windows this is always false.
fn wine_test_trust() -> bool {
    #[cfg(windows)]
    return std::env::var_os("SCANMAIL_WINE_TRUST").is_some_and(|v| v == "1")
        && crate::winacl::is_wine();
    #[cfg(not(windows))]
    false
}

/// Why the machine-wide preset at `path` cannot be trusted on this computer, if it cannot.
pub fn untrusted_reason(path: &Path) -> Option<String> {
    #[cfg(unix)]
    return unix_reason(path);
    #[cfg(windows)]
    return windows_reason(&crate::winacl::Win32, path);
    #[cfg(not(any(unix, windows)))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    struct Fake(HashMap<PathBuf, Result<String, String>>);
    impl SecurityText for Fake {
        fn sddl(&self, path: &Path) -> Result<String, String> {
            self.0.get(path).cloned().unwrap_or(Err("not found".into()))
        }
    }

    fn fake(file: &str, folder: &str) -> Fake {
        Fake(HashMap::from([
            (
                PathBuf::from("C:/ProgramData/ScanMail/org.toml"),
                Ok(file.to_string()),
            ),
            (
                PathBuf::from("C:/ProgramData/ScanMail"),
                Ok(folder.to_string()),
            ),
        ]))
    }

    fn judge(file: &str, folder: &str) -> Option<String> {
        windows_reason(
            &fake(file, folder),
            Path::new("C:/ProgramData/ScanMail/org.toml"),
        )
    }

    const FILE_OK: &str = "O:BAG:SYD:AI(A;ID;FA;;;BA)(A;ID;FA;;;SY)(A;ID;0x1200a9;;;BU)";

    #[test]
    fn what_the_installer_makes_is_trusted() {
        assert_eq!(sddl_reason(FOLDER_SDDL), None);
        assert_eq!(sddl_reason(FILE_SDDL), None);
        assert_eq!(judge(FILE_OK, FOLDER_SDDL), None);
        // Owned by SYSTEM (the MSI) or TrustedInstaller, with the SID spelled out.
        let sys = "O:S-1-5-18D:P(A;;FA;;;S-1-5-32-544)(A;;FR;;;S-1-5-32-545)";
        assert_eq!(sddl_reason(sys), None);
        // Read-only rights for users, in letters: generic read and execute.
        assert_eq!(sddl_reason("O:SYD:(A;;GRGX;;;BU)(A;;GA;;;BA)"), None);
    }

    #[test]
    fn a_folder_a_user_made_under_programdata_is_not_trusted() {
        // What Windows gives a folder a standard user creates in C:\ProgramData: the user owns
        // it, and CREATOR OWNER's inherited full control applies to them.
        let planted = "O:S-1-5-21-1-2-3-1001G:S-1-5-21-1-2-3-513D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)(A;ID;FA;;;S-1-5-21-1-2-3-1001)";
        let why = judge(FILE_OK, planted).unwrap_or_default();
        assert!(why.contains("belongs to a user"), "{why}");
        assert!(why.contains("its folder"), "{why}");
    }

    #[test]
    fn write_for_users_everyone_or_a_user_is_not_trusted() {
        for (dacl, who) in [
            ("(A;;FA;;;BA)(A;;FW;;;BU)", "every user"),
            ("(A;;FA;;;BA)(A;;0x1200af;;;BU)", "every user"), // read + append/add a file
            ("(A;;FA;;;BA)(A;;GW;;;WD)", "everyone"),
            ("(A;;FA;;;BA)(A;;SD;;;AU)", "signed-in"), // may delete and replace it
            (
                "(A;;FA;;;BA)(A;;WD;;;S-1-5-21-9-9-9-1001)",
                "another account",
            ),
            ("(A;;FA;;;BA)(A;;XYZ;;;BU)", "every user"), // rights not understood
        ] {
            let sddl = format!("O:BAD:P{dacl}");
            let why = sddl_reason(&sddl).unwrap_or_default();
            assert!(why.contains(who), "{sddl}: {why}");
            let why = judge(FILE_OK, &sddl).unwrap_or_default();
            assert!(why.contains("its folder"), "{why}");
        }
    }

    #[test]
    fn no_access_list_or_an_unreadable_one_is_not_trusted() {
        assert!(sddl_reason("O:BAD:NO_ACCESS_CONTROL").is_some());
        assert!(sddl_reason("O:BAG:SY").is_some());
        assert!(sddl_reason("O:BAD:(A;;FA)").is_some());
        let why = windows_reason(&Fake(HashMap::new()), Path::new("C:/x/org.toml"));
        assert!(why.unwrap_or_default().contains("could not be read"));
    }

    #[test]
    fn inherit_only_and_deny_entries_do_not_count() {
        // CREATOR OWNER full control that only passes to new children, and a deny entry.
        let sddl = "O:BAD:PAI(A;OICIIO;GA;;;CO)(D;;FA;;;WD)(A;;FA;;;BA)(A;;FR;;;BU)";
        assert_eq!(sddl_reason(sddl), None);
    }

    #[test]
    fn the_parts_are_found_whatever_their_order() {
        let s = "O:BAG:SYD:PAI(A;;FA;;;BA)S:(AU;SA;FA;;;WD)";
        assert_eq!(part(s, 'O'), Some("BA"));
        assert_eq!(part(s, 'G'), Some("SY"));
        assert_eq!(part(s, 'D'), Some("PAI(A;;FA;;;BA)"));
        assert_eq!(part(s, 'S'), Some("(AU;SA;FA;;;WD)"));
        assert_eq!(part("D:(A;;FA;;;BA)", 'O'), None);
    }

    #[test]
    fn folders_higher_up_may_let_users_add_but_not_swap() {
        // C:\ as Windows 10 and 11 ship it: signed-in users may add and modify (including
        // DELETE, which means nothing on a drive's top) but not delete what is in it.
        let c = "O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464G:SYD:PAI(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICIIO;GA;;;CO)";
        assert!(sddl_reason(c).is_some(), "the full rule refuses C:\\");
        assert_eq!(sddl_swap_reason(c, true), None);
        // The same entry on a folder that is not a drive's top lets users rename it.
        let why = sddl_swap_reason(c, false).unwrap();
        assert!(why.contains("every signed-in user"), "{why}");
        // C:\ProgramData: users may add files and folders.
        let pd = "O:SYG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;CIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)";
        assert!(sddl_reason(pd).is_some());
        assert_eq!(sddl_swap_reason(pd, false), None);
        // Delete a child, change permissions, all rights, or a user as owner: refused.
        for bad in [
            "O:BAD:(A;;0x40;;;BU)",
            "O:BAD:(A;;WD;;;AU)",
            "O:BAD:(A;;GA;;;WD)",
            "O:S-1-5-21-1-2-3-1001D:(A;;FA;;;BA)",
        ] {
            assert!(sddl_swap_reason(bad, true).is_some(), "{bad}");
        }
    }
}
