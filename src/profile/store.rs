//! Where the devices file lives, reading it (moving a broken one aside only when asked) and
//! writing it atomically, with the newest of several background saves winning.

use super::{FILE_NAME, ParseProblem, ProfileFile};

/// The lock file beside the devices file.
const LOCK_NAME: &str = "profiles.lock";
use std::path::{Path, PathBuf};

/// Where profiles live, and how they are read and written.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    /// The newest snapshot written by [`Store::save_merged`], shared by clones of this store.
    written: std::sync::Arc<std::sync::Mutex<u64>>,
    /// When the devices file was last changed and its size, as last read or written here.
    seen: std::sync::Arc<std::sync::Mutex<Option<Stamp>>>,
}

/// A file's last change time and size: a cheap "did someone else write it?".
type Stamp = (std::time::SystemTime, u64);

/// What loading found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub file: ProfileFile,
    /// Something the user must be told (a file moved aside).
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error(
        "ScanMail could not save your devices in {dir}: {reason}. What you entered is still in the window; free some space or check the folder's permissions, then make any change to save again."
    )]
    Write { dir: String, reason: String },
}

impl Store {
    /// The OS config directory (`~/.config/scanmail`, `%APPDATA%\ScanMail\config`,
    /// `~/Library/Application Support/org.ScanMail.ScanMail`). `SCANMAIL_CONFIG_DIR` overrides
    /// it (tests, portable use).
    pub fn default_location() -> Option<Store> {
        if let Some(dir) = std::env::var_os("SCANMAIL_CONFIG_DIR").filter(|d| !d.is_empty()) {
            return Some(Store::new(dir));
        }
        directories::ProjectDirs::from("org", "ScanMail", "ScanMail")
            .map(|p| Store::new(p.config_dir()))
    }

    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store {
            dir: dir.into(),
            written: std::sync::Arc::default(),
            seen: std::sync::Arc::default(),
        }
    }

    /// Saves the window's devices, number `generation` in the order they were taken, merged
    /// with what another program saved since `base` (what the window last read or wrote), under
    /// the lock. Background saves can finish in any order; an older one is skipped. Returns what
    /// was written (`None` when skipped).
    pub fn save_merged(
        &self,
        base: &ProfileFile,
        mine: &ProfileFile,
        generation: u64,
    ) -> Result<Option<ProfileFile>, SaveError> {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if generation < *written {
            return Ok(None);
        }
        let _lock = self.lock()?;
        let disk = self.load_read_only();
        let merged = match disk.notice {
            // An unreadable file on disk: the window's notice already told the person.
            Some(_) => mine.clone(),
            None => super::merge(base, mine, &disk.file),
        };
        self.save(&merged)?;
        *written = generation;
        Ok(Some(merged))
    }

    /// The lock that lets one program at a time load, change and save the devices file
    /// (`profiles.lock` beside it; std's advisory file lock). Released when dropped.
    pub fn lock(&self) -> Result<std::fs::File, SaveError> {
        let err = |e: std::io::Error| SaveError::Write {
            dir: self.dir.display().to_string(),
            reason: crate::fsutil::plain_io(&e),
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK_NAME))
            .map_err(err)?;
        file.lock().map_err(err)?;
        Ok(file)
    }

    /// Loads, changes and saves under the lock, so a save another program makes meanwhile is
    /// never overwritten: `change` gets the file as it is on disk now.
    pub fn update(&self, change: impl FnOnce(&mut ProfileFile)) -> Result<(), String> {
        let _lock = self.lock().map_err(|e| e.to_string())?;
        let loaded = self.load_read_only();
        if let Some(n) = loaded.notice {
            return Err(n);
        }
        let mut file = loaded.file;
        change(&mut file);
        self.save(&file).map_err(|e| e.to_string())
    }

    /// The devices as another program left them, when the file changed since this store last
    /// read or wrote it (`None`: unchanged, missing, or unreadable, which the next save reports).
    /// Reading costs one metadata call while nothing changed.
    pub fn changed_on_disk(&self) -> Option<ProfileFile> {
        let stamp = self.stamp()?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *seen == Some(stamp) {
            return None;
        }
        *seen = Some(stamp);
        drop(seen);
        let loaded = self.load_read_only();
        loaded.notice.is_none().then_some(loaded.file)
    }

    fn stamp(&self) -> Option<Stamp> {
        let m = std::fs::metadata(self.path()).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Loads the devices; a file that cannot be used is moved aside (the window, which then
    /// starts a new list).
    pub fn load(&self) -> Loaded {
        self.load_with(true)
    }

    /// Loads the devices and never moves, renames or rewrites the file: for commands that only
    /// read (`profiles list`, `card`) or that must not lose what the window may still fix.
    pub fn load_read_only(&self) -> Loaded {
        self.load_with(false)
    }

    fn load_with(&self, move_aside: bool) -> Loaded {
        let path = self.path();
        let text = match crate::fsutil::read_capped(&path, crate::fsutil::DEVICE_FILE_CAP) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| ParseProblem::Unreadable("it is not text".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    file: ProfileFile::default(),
                    notice: None,
                };
            }
            Err(e) => {
                return Loaded {
                    file: ProfileFile::default(),
                    notice: Some(format!(
                        "ScanMail could not read your saved devices ({}): {}. Nothing was changed.",
                        path.display(),
                        crate::fsutil::plain_io(&e)
                    )),
                };
            }
        };
        match text.and_then(|t| ProfileFile::parse(&t)) {
            Ok(file) => Loaded { file, notice: None },
            Err(problem) => {
                let why = match problem {
                    ParseProblem::Unreadable(why) => format!("it could not be read ({why})"),
                    ParseProblem::Newer(v) => format!("a newer ScanMail wrote it (version {v})"),
                };
                if !move_aside {
                    return Loaded {
                        file: ProfileFile::default(),
                        notice: Some(format!(
                            "Your saved devices file ({}) cannot be used: {why}. It was left as it is; open ScanMail's window to deal with it.",
                            path.display()
                        )),
                    };
                }
                let kept = match self.move_aside(&path) {
                    Ok(p) => format!("It was kept as {}.", p.display()),
                    Err(e) => {
                        format!("It could not be moved aside ({e}), so it was left as it is.")
                    }
                };
                Loaded {
                    file: ProfileFile::default(),
                    notice: Some(format!(
                        "Your saved devices file was not used: {why}. {kept} ScanMail starts with an empty list."
                    )),
                }
            }
        }
    }

    fn move_aside(&self, path: &Path) -> std::io::Result<PathBuf> {
        let stamp = crate::time::utc_rfc3339(crate::time::now_unix()).replace([':', '-'], "");
        let aside = path.with_file_name(format!("{FILE_NAME}.unreadable-{stamp}"));
        std::fs::rename(path, &aside)?;
        Ok(aside)
    }

    pub fn save(&self, file: &ProfileFile) -> Result<(), SaveError> {
        let err = |e: std::io::Error| SaveError::Write {
            dir: self.dir.display().to_string(),
            reason: crate::fsutil::plain_io(&e),
        };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        crate::fsutil::write_atomic(&self.path(), file.to_toml().as_bytes()).map_err(err)?;
        // What this store wrote is not news to it.
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = self.stamp();
        Ok(())
    }
}
