//! Result files of MODEL.md §9: `summary.json`, `quantiles.csv`, `draws.csv`, `report.html`.
//!
//! Every file is written to a temporary file in the output folder and renamed into place, so
//! a crash or an error never leaves a half-written result.

pub(crate) mod charts;
pub mod compare;
mod draws_csv;
mod html;
mod run_files;
mod summary;

pub use crate::summary::distribution_grid;
pub use crate::summary::{run_warnings, RunInfo};
pub use compare::{compare_summaries, render_compare, write_compare, Comparison};
pub use draws_csv::{column_map_csv, stata_names, DrawsColumns, DrawsCsv, COLUMN_MAP_FILE};
pub use html::{
    format_number, read_run, read_sensitivity, render_report, render_report_with, write_report,
    write_report_with, ReportFiles,
};
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
pub struct CsvRows {
    writer: csv::Writer<Vec<u8>>,
    number: Vec<u8>,
}

impl CsvRows {
    /// A file whose first row is `header`.
    pub fn new<I>(header: I) -> Result<Self, ReportError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut rows = CsvRows {
            writer: csv::WriterBuilder::new().from_writer(Vec::new()),
            number: Vec::new(),
        };
        rows.writer
            .write_record(
                header
                    .into_iter()
                    .map(|h| csv_text_bytes(h.as_ref()).into_owned()),
            )
            .map_err(csv_error)?;
        Ok(rows)
    }

    /// One row: `texts`, then `numbers`.
    pub fn row<T, N>(&mut self, texts: T, numbers: N) -> Result<(), ReportError>
    where
        T: IntoIterator,
        T::Item: AsRef<[u8]>,
        N: IntoIterator<Item = f64>,
    {
        for t in texts {
            self.writer
                .write_field(csv_text_bytes(t.as_ref()))
                .map_err(csv_error)?;
        }
        for x in numbers {
            self.number.clear();
            format_float(&mut self.number, x);
            self.writer.write_field(&self.number).map_err(csv_error)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(csv_error)
    }

    /// [`CsvRows::row`] for tidy files: an undefined number (NaN) is an empty cell, which
    /// pandas, R and Stata all read as missing (Stata would read `NaN` as text).
    pub fn row_or_empty<T, N>(&mut self, texts: T, numbers: N) -> Result<(), ReportError>
    where
        T: IntoIterator,
        T::Item: AsRef<[u8]>,
        N: IntoIterator<Item = f64>,
    {
        for t in texts {
            self.writer
                .write_field(csv_text_bytes(t.as_ref()))
                .map_err(csv_error)?;
        }
        for x in numbers {
            self.number.clear();
            if !x.is_nan() {
                format_float(&mut self.number, x);
            }
            self.writer.write_field(&self.number).map_err(csv_error)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(csv_error)
    }

    /// The bytes of the file.
    pub fn finish(self) -> Result<Vec<u8>, ReportError> {
        self.writer
            .into_inner()
            .map_err(|e| csv_error(e.into_error().into()))
    }
}

/// The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
/// Injection"): `=`, `+`, `-`, `@`, and tab and carriage return, which some spreadsheets
/// skip before looking at the next character.
const FORMULA_STARTS: [u8; 6] = [b'=', b'+', b'-', b'@', b'\t', b'\r'];

/// A text cell of a CSV file, safe to open in a spreadsheet: a text that a spreadsheet would
/// read as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading single quote, as OWASP recommends and spreadsheet-safe exporters do; a plain
/// number (`-0.3`, `+1e-5`, e.g. a sweep's grid value) is left alone, since a spreadsheet
/// reads it as the number it is. Every CSV writer of the crate passes its text cells and
/// header names through here (issue 15, item 4); numbers written by [`format_float`] never
/// need it.
pub fn csv_text(text: &str) -> std::borrow::Cow<'_, str> {
    match text.as_bytes().first() {
        Some(c) if FORMULA_STARTS.contains(c) && !is_plain_number(text) => {
            std::borrow::Cow::Owned(format!("'{text}"))
        }
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// [`csv_text`] for the bytes the `csv` crate takes (non-UTF-8 text is quoted just the same).
fn csv_text_bytes(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match text.first() {
        Some(c)
            if FORMULA_STARTS.contains(c)
                && !std::str::from_utf8(text).is_ok_and(is_plain_number) =>
        {
            let mut quoted = Vec::with_capacity(text.len() + 1);
            quoted.push(b'\'');
            quoted.extend_from_slice(text);
            std::borrow::Cow::Owned(quoted)
        }
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// A decimal number as a spreadsheet reads it: an optional sign, digits with an optional
/// point, an optional exponent (not `inf` or `NaN`, which Rust parses but a spreadsheet does
/// not).
fn is_plain_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
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

#[cfg(test)]
mod csv_tests {
    use super::{csv_text, CsvRows};

    /// Issue 15, item 4: a name starting with a formula character is executed by a spreadsheet.
    #[test]
    fn formula_cells_get_a_quote_and_numbers_do_not() {
        for hostile in [
            "=HYPERLINK(\"http://x\")",
            "+1+cmd",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\r=1",
            "-",
            "-inf",
            "+NaN",
            "-1e",
            "-.",
        ] {
            assert_eq!(csv_text(hostile), format!("'{hostile}"), "{hostile:?}");
        }
        for safe in [
            "-0.3", "+1", "-1e-5", "-.5", "2E+10", "0.0", "autos", "'=x", " =x", "",
        ] {
            assert_eq!(csv_text(safe), safe, "{safe:?}");
        }
    }

    #[test]
    fn csv_rows_neutralise_header_and_text_cells_but_not_numbers() {
        let mut rows = CsvRows::new(["=h", "n"]).unwrap();
        rows.row(["@x"], [-1.5]).unwrap();
        rows.row(["-0.25"], [f64::NEG_INFINITY]).unwrap();
        let text = String::from_utf8(rows.finish().unwrap()).unwrap();
        assert_eq!(text, "'=h,n\n'@x,-1.5\n-0.25,-inf\n");
    }
}
