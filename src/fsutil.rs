//! Files: writing them so that a crash or a full disk never leaves half a file behind, and
//! saying in plain words why a file or a TOML text could not be used. Every file error a person
//! sees goes through [`plain_io`] and [`plain_toml`].

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to a temporary file next to `path`, flushes it to disk, then renames it over
/// `path`. Either the old file or the complete new one is there, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write, so two saves at once never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
