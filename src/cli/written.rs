//! Which result files a command completed when a write fails midway (issue 15, item 7): a
//! read-only folder, a full disk, a name taken by a folder. Each file is written atomically
//! (complete or absent), but a command writes several; the user must know which of them are
//! this command's and which are missing or left over from an earlier run in the same folder.
//!
//! The folders are looked at before the command writes and again after the failure: a file
//! that is new or whose modification time changed was completed by this command.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::render::Failure;

/// The state of the folders a command writes into, taken before it writes.
pub(crate) struct Written {
    before: HashMap<PathBuf, Option<SystemTime>>,
    dirs: Vec<PathBuf>,
    expected: Vec<PathBuf>,
}

impl Written {
    /// Remembers the files in `dirs` now; `expected` are the files the command means to write.
    pub fn start(dirs: &[&Path], expected: Vec<PathBuf>) -> Self {
        let dirs: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
        Written {
            before: files(&dirs),
            dirs,
            expected,
        }
    }

    /// Adds to a failure of writing (exit code 1) which files were completed, which were not,
    /// and which are left over from before.
    pub fn explain(&self, mut failure: Failure) -> Failure {
        if failure.code != 1 {
            return failure;
        }
        let now = files(&self.dirs);
        let mut completed: Vec<&PathBuf> = now
            .iter()
            .filter(|(path, time)| match self.before.get(*path) {
                None => true,
                Some(before) => before != *time,
            })
            .map(|(path, _)| path)
            .collect();
        completed.sort();
        let missing: Vec<&PathBuf> = self
            .expected
            .iter()
            .filter(|p| !completed.contains(p))
            .collect();
        let old: Vec<&&PathBuf> = missing.iter().filter(|p| now.contains_key(**p)).collect();
        let list = |paths: &mut dyn Iterator<Item = &PathBuf>| {
            let names: Vec<String> = paths.map(|p| p.display().to_string()).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        failure.message.push_str(&format!(
            "\nfiles completed before the failure: {}\nnot written: {}",
            list(&mut completed.into_iter()),
            list(&mut missing.iter().copied())
        ));
        if !old.is_empty() {
            failure.message.push_str(&format!(
                "\nleft from an earlier run (not this run's results): {}",
                list(&mut old.into_iter().copied())
            ));
        }
        failure
    }
}

/// Every file (not folder, not temporary) directly in `dirs`, with its modification time.
fn files(dirs: &[PathBuf]) -> HashMap<PathBuf, Option<SystemTime>> {
    let mut all = HashMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let temporary = entry
                .file_name()
                .to_str()
                .is_some_and(tariffsim::folder::is_temp_name);
            if meta.is_file() && !temporary {
                all.insert(entry.path(), meta.modified().ok());
            }
        }
    }
    all
}
