//! Files: writing them so that a crash or a full disk never leaves half a file behind, and
//! saying in plain words why a file or a TOML text could not be used. Every file error a person
//! sees goes through [`plain_io`] and [`plain_toml`].

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk, then renames it over
/// `path`. Either the old file or the complete new one is there, never a mix. The file is
/// readable by its owner only (0600 on Unix, whatever the umask): devices, exports, cards.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with an explicit Unix mode (the installed preset is 0644 so every user can
/// read it). The temporary file is created new, with a random name (tempfile), so an existing
/// file or link under a guessable name cannot redirect the write.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".scanmail-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    set_mode(tmp.as_file(), mode)?;
    take_folder_owner(tmp.as_file(), dir);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Size limits for files ScanMail reads: far above any real one, so a mistake (or a planted
/// file) is refused in plain words instead of filling memory.
pub const PRESET_CAP: u64 = 256 * 1024;
pub const CA_CAP: u64 = 1024 * 1024;
pub const DEVICE_FILE_CAP: u64 = 4 * 1024 * 1024;

/// Reads a whole file, refusing one larger than `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {} KB, far more than a real one",
                cap / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// A new file takes its folder's owner (an administrator writing into a service's own state
/// folder must not leave a file the service cannot read). Done on the open temporary file before
/// the rename, so a link planted under the final name can never redirect it. Does nothing where
/// it cannot (not root, or not Unix).
fn take_folder_owner(file: &std::fs::File, dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(d), Ok(f)) = (std::fs::metadata(dir), file.metadata())
            && (d.uid(), d.gid()) != (f.uid(), f.gid())
        {
            let _ = std::os::unix::fs::fchown(file, Some(d.uid()), Some(d.gid()));
        }
    }
    #[cfg(not(unix))]
    let _ = (file, dir);
}

/// Why a file could not be read or written, in a few plain words.
pub fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such file or folder".into(),
        K::PermissionDenied => "permission denied".into(),
        K::StorageFull => "the disk is full".into(),
        K::ReadOnlyFilesystem => "the disk is read-only".into(),
        K::IsADirectory => "it is a folder, not a file".into(),
        K::InvalidData => "it is not a readable file".into(),
        K::FileTooLarge => e.to_string(),
        _ => e.to_string(),
    }
}

/// A TOML error as "line N: what is wrong", counting lines in the text that was parsed.
pub fn plain_toml(text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    match line {
        Some(l) => format!("line {l}: {}", e.message().trim()),
        None => e.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn modes_are_explicit_and_big_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("profiles.toml");
        write_atomic(&private, b"x").unwrap();
        let shared = dir.path().join("org.toml");
        write_atomic_mode(&shared, b"x", 0o644).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&private), mode(&shared)), (0o600, 0o644));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert_eq!(read_capped(&big, 4096).unwrap().len(), 2048);
        let e = read_capped(&big, 1024).unwrap_err();
        assert!(
            plain_io(&e).contains("larger than 1 KB"),
            "{}",
            plain_io(&e)
        );
    }

    #[test]
    fn plain_words_for_files_and_toml() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(plain_io(&e), "no such file or folder");
        let text = "a = 1\nb = = 2\n";
        let err = toml::from_str::<toml::Value>(text).unwrap_err();
        assert!(plain_toml(text, &err).starts_with("line 2: "), "{err}");
    }

    #[test]
    fn writes_and_replaces() {
        let dir = std::env::temp_dir().join(format!("scanmail-fsutil-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(write_atomic(&dir.join("missing/b.txt"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_at_the_same_time_never_fail_or_mix() {
        let dir = std::env::temp_dir().join(format!("scanmail-fsutil-race-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("profiles.toml");
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        write_atomic(&p, &vec![b'a' + t; 4096]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let end = std::fs::read(&p).unwrap();
        assert_eq!(end.len(), 4096);
        assert!(
            end.iter().all(|b| *b == end[0]),
            "one whole version, never a mix"
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
