//! Result files of MODEL.md §9: `summary.json`, `quantiles.csv`, `draws.csv`, `report.html`.
//!
//! Every file is written to a temporary file in the output folder and renamed into place, so
//! a crash or an error never leaves a half-written result.

mod charts;
mod draws_csv;
mod html;
mod run_files;
mod summary;

pub use crate::summary::distribution_grid;
pub use crate::summary::{run_warnings, RunInfo};
pub use draws_csv::DrawsCsv;
pub use html::{format_number, render_report, write_report, ReportFiles};
pub use run_files::{
    comparison_csv, read_partial, write_partial, write_results, CheckpointDir, PARTIAL_FILE,
};
pub use summary::{json_number, quantiles_csv, summary_json, write_summary};

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why result files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A result file that should be read back is malformed.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ReportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Creates `dir` (and parents) if needed.
pub fn ensure_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = new_temp_file(dir)?;
    tmp.write_all(bytes).map_err(|e| ReportError::io(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| ReportError::io(path, e))?;
    tmp.persist(path)
        .map_err(|e| ReportError::io(path, e.error))?;
    Ok(())
}

/// A temporary file in `dir` that becomes a result file: readable by others (0644), like
/// any file a program writes, not private as temporary files are by default.
pub(crate) fn new_temp_file(dir: &Path) -> Result<tempfile::NamedTempFile, ReportError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tariffsim-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(dir)
        .map_err(|e| ReportError::io(dir, e))
}

/// Rows of a CSV file held in memory, written with the `csv` crate (which quotes a field only
/// when it must): text fields first, then numbers formatted by [`format_float`].
pub(crate) struct CsvRows {
    writer: csv::Writer<Vec<u8>>,
    number: Vec<u8>,
}

impl CsvRows {
    /// A file whose first row is `header`.
    pub(crate) fn new<I>(header: I) -> Result<Self, ReportError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut rows = CsvRows {
            writer: csv::WriterBuilder::new().from_writer(Vec::new()),
            number: Vec::new(),
        };
        rows.writer.write_record(header).map_err(csv_error)?;
        Ok(rows)
    }

    /// One row: `texts`, then `numbers`.
    pub(crate) fn row<T, N>(&mut self, texts: T, numbers: N) -> Result<(), ReportError>
    where
        T: IntoIterator,
        T::Item: AsRef<[u8]>,
        N: IntoIterator<Item = f64>,
    {
        for t in texts {
            self.writer.write_field(t).map_err(csv_error)?;
        }
        for x in numbers {
            self.number.clear();
            format_float(&mut self.number, x);
            self.writer.write_field(&self.number).map_err(csv_error)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(csv_error)
    }

    /// The bytes of the file.
    pub(crate) fn finish(self) -> Result<Vec<u8>, ReportError> {
        self.writer
            .into_inner()
            .map_err(|e| csv_error(e.into_error().into()))
    }
}

/// Writing CSV into memory fails only if the csv crate breaks its own invariants.
fn csv_error(e: csv::Error) -> ReportError {
    ReportError::Malformed {
        path: PathBuf::from("<csv>"),
        message: format!("cannot encode CSV: {e}"),
    }
}

/// Formats a float so that it parses back to the same f64: the shortest round-trip digits,
/// in plain notation for ordinary magnitudes and scientific notation otherwise.
pub fn format_float(out: &mut Vec<u8>, x: f64) {
    let a = x.abs();
    let _ = if a == 0.0 || (1e-5..1e16).contains(&a) || !x.is_finite() {
        write!(out, "{x}")
    } else {
        write!(out, "{x:e}")
    };
}
