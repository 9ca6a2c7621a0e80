//! `draws.csv` (MODEL.md §9): one row per draw — `draw`, `scenario` (the id), every parameter
//! path, every output — written in draw order whatever order the blocks finish in.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{format_float, ReportError};
use crate::model::Model;
use crate::outputs::output_names;
use crate::run::{BlockView, Observer, RunError, Setting};

struct Ordered {
    next_block: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    file: BufWriter<tempfile::NamedTempFile>,
}

/// The column names of `draws.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawsColumns {
    /// The full names: parameter paths and output names, as MODEL.md §9 says.
    #[default]
    Full,
    /// Names Stata reads ([`stata_names`]: at most 32 characters, no dots, unique), with
    /// [`COLUMN_MAP_FILE`] beside `draws.csv` mapping each to its full name.
    Stata,
}

/// The file beside `draws.csv` that maps Stata-safe column names to the full names.
pub const COLUMN_MAP_FILE: &str = "draws_columns.csv";

/// Longest variable name Stata accepts.
const STATA_MAX: usize = 32;
/// Names Stata reserves (Stata manual, [U] 11.3 Naming conventions).
const STATA_RESERVED: [&str; 22] = [
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n",
    "_N", "_pi", "_pred", "_rc", "_skip", "strL", "using", "with", "str", "_se",
];

/// Column names that Stata (and R's `make.names`, and SAS) read unchanged, for `names`
/// (issue 15, item 12): every character other than a letter, a digit or `_` becomes `_`
/// (`sectors.autos.sigma` → `sectors_autos_sigma`); a name longer than 32 characters has its
/// `.`-separated segments cut to a common length until it fits, so that each part keeps its
/// start (`scenarios.deal_2025.competitor_tariff.autos` → `scenario_deal_202_competit_autos`);
/// a name that would begin with a digit or is reserved gets a leading `_`; a name already
/// taken gets `_2`, `_3`, … Deterministic: the same names give the same result.
pub fn stata_names(names: &[String]) -> Vec<String> {
    let clean = |t: &str| -> String {
        t.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let segments: Vec<String> = name.split('.').map(clean).collect();
        let mut short = segments.join("_");
        let mut cut = segments.iter().map(String::len).max().unwrap_or(0);
        while short.len() > STATA_MAX && cut > 1 {
            cut -= 1;
            short = segments
                .iter()
                .map(|s| &s[..s.len().min(cut)])
                .collect::<Vec<_>>()
                .join("_");
        }
        short.truncate(STATA_MAX);
        if short.is_empty()
            || short.starts_with(|c: char| c.is_ascii_digit())
            || STATA_RESERVED.contains(&short.as_str())
        {
            short.insert(0, '_');
            short.truncate(STATA_MAX);
        }
        let mut unique = short.clone();
        let mut k = 2;
        while !taken.insert(unique.clone()) {
            let suffix = format!("_{k}");
            let keep = short.len().min(STATA_MAX - suffix.len());
            unique = format!("{}{suffix}", &short[..keep]);
            k += 1;
        }
        out.push(unique);
    }
    out
}

/// The mapping file of [`DrawsColumns::Stata`]: `short,full`, one row per column.
pub fn column_map_csv(short: &[String], full: &[String]) -> Result<Vec<u8>, ReportError> {
    let mut csv = super::CsvRows::new(["short", "full"])?;
    for (s, f) in short.iter().zip(full) {
        csv.row([s, f], [])?;
    }
    csv.finish()
}

/// Streams draws to a temporary file next to the target; [`DrawsCsv::finish`] moves it into place.
pub struct DrawsCsv {
    path: PathBuf,
    /// With Stata names: the mapping file's path and bytes, written by `finish`.
    column_map: Option<(PathBuf, Vec<u8>)>,
    n_params: usize,
    scenario_ids: Vec<String>,
    state: Mutex<Ordered>,
}

impl DrawsCsv {
    /// Starts `path` (the header is written now); blocks are expected from `first_block` on.
    pub fn create(path: &Path, model: &Model, first_block: u64) -> Result<Self, ReportError> {
        Self::create_with(path, model, first_block, DrawsColumns::Full)
    }

    /// [`DrawsCsv::create`] with the column names `columns` asks for.
    pub fn create_with(
        path: &Path,
        model: &Model,
        first_block: u64,
        columns: DrawsColumns,
    ) -> Result<Self, ReportError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = super::new_temp_file(dir)?;
        let mut file = BufWriter::with_capacity(1 << 20, tmp);
        let mut header: Vec<String> = vec!["draw".into(), "scenario".into()];
        header.extend(model.params.iter().map(|p| p.path.clone()));
        header.extend(output_names(model));
        let column_map = match columns {
            DrawsColumns::Full => None,
            DrawsColumns::Stata => {
                let short = stata_names(&header);
                let map = column_map_csv(&short, &header)?;
                header = short;
                Some((dir.join(COLUMN_MAP_FILE), map))
            }
        };
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(header.iter().map(|h| super::csv_text(h).into_owned()))
            .map_err(|e| ReportError::io(path, e.into()))?;
        let header = csv
            .into_inner()
            .map_err(|e| ReportError::io(path, e.into_error()))?;
        file.write_all(&header)
            .map_err(|e| ReportError::io(path, e))?;
        Ok(DrawsCsv {
            path: path.to_path_buf(),
            column_map,
            n_params: model.params.len(),
            // Ids are the only text cells of the rows; made spreadsheet-safe once here.
            scenario_ids: model
                .scenarios
                .iter()
                .map(|s| super::csv_text(&s.id).into_owned())
                .collect(),
            state: Mutex::new(Ordered {
                next_block: first_block,
                pending: BTreeMap::new(),
                file,
            }),
        })
    }

    /// Flushes and renames the file into place; call only after a successful run.
    pub fn finish(self) -> Result<(), ReportError> {
        let state = self
            .state
            .into_inner()
            .map_err(|_| ReportError::Malformed {
                path: self.path.clone(),
                message: "a writer thread panicked".into(),
            })?;
        if !state.pending.is_empty() {
            return Err(ReportError::Malformed {
                path: self.path,
                message: "blocks missing from the draws file".into(),
            });
        }
        let tmp = state
            .file
            .into_inner()
            .map_err(|e| ReportError::io(&self.path, e.into_error()))?;
        tmp.persist(&self.path)
            .map_err(|e| ReportError::io(&self.path, e.error))?;
        if let Some((path, bytes)) = &self.column_map {
            super::write_atomic(path, bytes)?;
        }
        Ok(())
    }

    fn format(&self, view: &BlockView<'_>) -> Result<Vec<u8>, csv::Error> {
        let buf = Vec::with_capacity(
            view.scenarios.len() * (view.values.ncols() + view.outputs.ncols()) * 12,
        );
        let mut csv = csv::Writer::from_writer(buf);
        let mut field = Vec::with_capacity(32);
        for (d, (values, outputs)) in view
            .values
            .outer_iter()
            .zip(view.outputs.outer_iter())
            .enumerate()
        {
            field.clear();
            let _ = write!(field, "{}", view.first_draw + d as u64);
            csv.write_field(&field)?;
            csv.write_field(&self.scenario_ids[view.scenarios[d] as usize])?;
            for &x in values.iter().take(self.n_params).chain(outputs.iter()) {
                field.clear();
                format_float(&mut field, x);
                csv.write_field(&field)?;
            }
            csv.write_record(None::<&[u8]>)?;
        }
        csv.into_inner().map_err(|e| e.into_error().into())
    }
}

impl Observer for DrawsCsv {
    fn needs_every_block(&self) -> Option<Setting> {
        Some(Setting::SaveDraws)
    }

    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        let sink_error = |e: String| RunError::Observer(format!("{}: {e}", self.path.display()));
        let text = self.format(view).map_err(|e| sink_error(e.to_string()))?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| sink_error("draws.csv writer poisoned".into()))?;
        state.pending.insert(view.block, text);
        // Write every block that is now next in line; hold the rest until their turn.
        loop {
            let next = state.next_block;
            let Some(text) = state.pending.remove(&next) else {
                break;
            };
            state
                .file
                .write_all(&text)
                .map_err(|e| sink_error(e.to_string()))?;
            state.next_block += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::stata_names;

    /// Issue 15, item 12: Stata refuses dots and names over 32 characters.
    #[test]
    fn stata_names_are_short_dotless_unique_identifiers() {
        let model = crate::model::compile_model(
            crate::model::DEFAULT_MODEL_TEXT,
            crate::model::DEFAULT_MODEL_FILE,
        )
        .unwrap()
        .with_monthly(true)
        .unwrap();
        let mut names = vec!["draw".to_string(), "scenario".to_string()];
        names.extend(model.params.iter().map(|p| p.path.clone()));
        names.extend(crate::outputs::output_names(&model));
        // Hostile and colliding names too.
        names.extend(
            [
                "a.b",
                "a_b",
                "a_b",
                "1st.x",
                "in",
                "",
                "x".repeat(40).as_str(),
                "x".repeat(41).as_str(),
                "scenarios.deal_2025.competitor_tariff.autos",
            ]
            .map(String::from),
        );
        let short = stata_names(&names);
        assert_eq!(short.len(), names.len());
        let mut seen = std::collections::HashSet::new();
        for (s, full) in short.iter().zip(&names) {
            assert!(!s.is_empty() && s.len() <= 32, "{full} -> {s}");
            assert!(
                s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{full} -> {s}"
            );
            assert!(
                !s.starts_with(|c: char| c.is_ascii_digit()),
                "{full} -> {s}"
            );
            assert!(seen.insert(s.clone()), "{s} twice");
        }
        assert_eq!(short[0], "draw");
        assert_eq!(
            stata_names(&["sectors.autos.sigma".into()]),
            ["sectors_autos_sigma"]
        );
        assert_eq!(
            stata_names(&["scenarios.deal_2025.competitor_tariff.autos".into()]),
            ["scenario_deal_202_competit_autos"]
        );
        assert_eq!(stata_names(&["in".into(), "1x".into()]), ["_in", "_1x"]);
    }
}
