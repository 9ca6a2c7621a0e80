//! Folders a command writes into (issue 15, item 2): a lock held for as long as the command
//! writes, so that a second process writing into the same folder is refused instead of mixing
//! its files with the first one's; and the temporary files a killed process left behind,
//! removed by the next process that holds the folder's lock.
//!
//! The lock is advisory and belongs to the open file description (`flock(2)` on Unix, through
//! std's [`File::try_lock`]): the operating system drops it when the process ends, however it
//! ends, so a crash or a `kill -9` never leaves a folder locked. On Unix the folder itself is
//! locked and nothing is added to it; elsewhere a hidden `.tariffsim.lock` file in it is.
//!
//! Every result file is written to a temporary `.tariffsim-XXXXXX` file in its folder and
//! renamed into place ([`crate::report::write_atomic`]); a process killed between the two
//! leaves the temporary behind (a `--save-draws` run can leave hundreds of MB). Whoever holds
//! the lock knows no other process is writing there, so such files are stale and removed.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The prefix of every temporary result file ([`crate::report::write_atomic`]).
pub const TEMP_PREFIX: &str = ".tariffsim-";

/// Random characters `tempfile` appends to [`TEMP_PREFIX`].
const TEMP_RANDOM_LEN: usize = 6;

/// The lock file where a folder itself cannot be locked (not Unix).
#[cfg(not(unix))]
const LOCK_FILE: &str = ".tariffsim.lock";

/// Why a folder could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// Another process holds the folder's lock.
    #[error("{}: another tariffsim process is writing into this folder (it holds the folder's lock); accepted: a folder no other run is writing into (wait for that run to finish, or choose another folder)", dir.display())]
    Busy {
        /// The folder.
        dir: PathBuf,
    },
    /// A file (not a folder) of that name exists: invalid input.
    #[error("{}: a file of this name exists, so it cannot be the folder of results; accepted: a folder, or a name not taken yet", dir.display())]
    NotAFolder {
        /// The path given as a folder.
        dir: PathBuf,
    },
    /// The folder cannot be created, opened or locked.
    #[error("{}: {message}: {source}", dir.display())]
    Io {
        /// The folder.
        dir: PathBuf,
        /// What was being done.
        message: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A temporary file left by a process that was killed while writing, removed by [`lock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    /// The file (it no longer exists).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for StaleFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = self.bytes as f64 / 1e6;
        if mb >= 0.1 {
            write!(f, "{} ({mb:.1} MB)", self.path.display())
        } else {
            write!(f, "{} ({} bytes)", self.path.display(), self.bytes)
        }
    }
}

/// A folder locked for writing; the lock is released when this is dropped (or the process ends).
#[derive(Debug)]
pub struct FolderLock {
    dir: PathBuf,
    // Held for its lock; closing the file releases it.
    _file: File,
    /// Stale temporary files removed when the lock was taken.
    pub removed: Vec<StaleFile>,
}

impl FolderLock {
    /// The locked folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Creates `dir` if needed, locks it, and removes the stale temporary files in it. Refuses
/// with [`FolderError::Busy`] when another process (or another [`FolderLock`] of this one)
/// holds the lock.
pub fn lock(dir: &Path) -> Result<FolderLock, FolderError> {
    let io = |message: &'static str| {
        move |source| FolderError::Io {
            dir: dir.to_path_buf(),
            message,
            source,
        }
    };
    if dir.exists() && !dir.is_dir() {
        return Err(FolderError::NotAFolder {
            dir: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(io("cannot create the folder"))?;
    #[cfg(unix)]
    let file = File::open(dir).map_err(io("cannot open the folder to lock it"))?;
    #[cfg(not(unix))]
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(io("cannot create the lock file"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(FolderError::Busy {
                dir: dir.to_path_buf(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io("cannot lock the folder")(e)),
    }
    let removed = remove_stale(dir).map_err(io("cannot remove stale temporary files"))?;
    Ok(FolderLock {
        dir: dir.to_path_buf(),
        _file: file,
        removed,
    })
}

/// Locks every folder of `dirs` once (a folder named twice, under any spelling, is locked
/// once), in the order given. On a refusal the locks already taken are released.
pub fn lock_all<'a>(
    dirs: impl IntoIterator<Item = &'a Path>,
) -> Result<Vec<FolderLock>, FolderError> {
    let mut locks: Vec<(Option<PathBuf>, FolderLock)> = Vec::new();
    for dir in dirs {
        // Canonical names compare two spellings of one folder; a folder that does not exist
        // yet cannot have been locked under another name.
        let canonical = std::fs::canonicalize(dir).ok();
        if canonical.is_some() && locks.iter().any(|(c, _)| *c == canonical) {
            continue;
        }
        let lock = lock(dir)?;
        locks.push((std::fs::canonicalize(dir).ok(), lock));
    }
    Ok(locks.into_iter().map(|(_, l)| l).collect())
}

/// Whether `name` is a temporary result file: [`TEMP_PREFIX`] and `tempfile`'s random suffix.
pub fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX).is_some_and(|rest| {
        rest.len() == TEMP_RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Removes the temporary result files in `dir` (not in sub-folders). Call only while holding
/// the folder's lock: then no live process is writing them.
pub fn remove_stale(dir: &Path) -> std::io::Result<Vec<StaleFile>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        std::fs::remove_file(entry.path())?;
        removed.push(StaleFile {
            path: entry.path(),
            bytes: meta.len(),
        });
    }
    removed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_folder_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let first = lock(&dir).unwrap();
        assert!(matches!(lock(&dir), Err(FolderError::Busy { .. })));
        // Another spelling of the same folder is the same folder.
        let other_spelling = tmp.path().join("out/../out");
        assert!(matches!(
            lock(&other_spelling),
            Err(FolderError::Busy { .. })
        ));
        drop(first);
        let again = lock(&dir).unwrap();
        assert_eq!(again.dir(), dir.as_path());
        // Nothing is added to the folder on Unix.
        #[cfg(unix)]
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn lock_all_locks_each_folder_once() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::fs::create_dir(&a).unwrap();
        let a2 = tmp.path().join("b/../a");
        std::fs::create_dir(&b).unwrap();
        let locks = lock_all([a.as_path(), b.as_path(), a2.as_path()]).unwrap();
        assert_eq!(locks.len(), 2);
        assert!(matches!(lock(&b), Err(FolderError::Busy { .. })));
        drop(locks);
        lock(&b).unwrap();
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join(".tariffsim-Ab3xYz"), vec![0u8; 1000]).unwrap();
        std::fs::write(dir.join(".tariffsim-short"), b"kept").unwrap();
        std::fs::write(dir.join(".tariffsim-toolong1"), b"kept").unwrap();
        std::fs::write(dir.join("summary.json"), b"{}").unwrap();
        std::fs::write(dir.join(".tariffsim-ab-cd"), b"kept: not alphanumeric").unwrap();
        std::fs::create_dir(dir.join(".tariffsim-dir123")).unwrap();
        let lock = lock(dir).unwrap();
        assert_eq!(
            lock.removed,
            vec![StaleFile {
                path: dir.join(".tariffsim-Ab3xYz"),
                bytes: 1000
            }]
        );
        assert!(!dir.join(".tariffsim-Ab3xYz").exists());
        for kept in [
            ".tariffsim-short",
            ".tariffsim-toolong1",
            "summary.json",
            ".tariffsim-ab-cd",
            ".tariffsim-dir123",
        ] {
            assert!(dir.join(kept).exists(), "{kept}");
        }
        assert_eq!(
            lock.removed[0].to_string(),
            format!("{} (1000 bytes)", dir.join(".tariffsim-Ab3xYz").display())
        );
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".tariffsim-a1B2c3"));
        assert!(!is_temp_name(".tariffsim-a1B2c"));
        assert!(!is_temp_name("tariffsim-a1B2c3"));
        assert!(!is_temp_name(".tariffsim-a1B2c3.csv"));
    }
}
