//! `org install`: the preset put where every account on this computer finds it, readable by all
//! and changeable only by administrators.

use std::path::Path;

/// Writes checked preset bytes to `target` (the system place) so that only administrators can
/// change it: the folder is made (0755; on Windows owned by Administrators, users read-only),
/// a folder or file that is a link or junction is refused, the bytes go through a temporary file
/// created new with a random name, and the file is 0644 (every user reads it, whatever the umask).
pub fn install_at(target: &Path, bytes: &[u8]) -> Result<(), String> {
    let admin = ". Run this as an administrator.";
    let dir = target.parent().unwrap_or(Path::new("."));
    let linked = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| is_link(&m));
    if linked(dir) || linked(target) {
        return Err(format!(
            "{} is a link to somewhere else, so nothing was written. Remove it and try again{admin}",
            if linked(dir) { dir } else { target }.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "{} could not be created: {}{admin}",
            dir.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
            format!(
                "{} could not be locked: {}{admin}",
                dir.display(),
                crate::fsutil::plain_io(&e)
            )
        })?;
    }
    #[cfg(windows)]
    crate::winacl::lock(dir, crate::trust::FOLDER_SDDL)
        .map_err(|e| format!("{} could not be locked: {e}{admin}", dir.display()))?;
    crate::fsutil::write_atomic_mode(target, bytes, 0o644).map_err(|e| {
        format!(
            "{} could not be written: {}{admin}",
            target.display(),
            crate::fsutil::plain_io(&e)
        )
    })?;
    #[cfg(windows)]
    crate::winacl::lock(target, crate::trust::FILE_SDDL)
        .map_err(|e| format!("{} could not be locked: {e}{admin}", target.display()))?;
    Ok(())
}

/// A symbolic link, or on Windows any reparse point (a junction too).
fn is_link(m: &std::fs::Metadata) -> bool {
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
        if m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return true;
        }
    }
    m.file_type().is_symlink()
}
