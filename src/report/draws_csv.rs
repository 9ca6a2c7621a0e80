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

/// Streams draws to a temporary file next to the target; [`DrawsCsv::finish`] moves it into place.
pub struct DrawsCsv {
    path: PathBuf,
    n_params: usize,
    scenario_ids: Vec<String>,
    state: Mutex<Ordered>,
}

impl DrawsCsv {
    /// Starts `path` (the header is written now); blocks are expected from `first_block` on.
    pub fn create(path: &Path, model: &Model, first_block: u64) -> Result<Self, ReportError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = super::new_temp_file(dir)?;
        let mut file = BufWriter::with_capacity(1 << 20, tmp);
        let mut header: Vec<String> = vec!["draw".into(), "scenario".into()];
        header.extend(model.params.iter().map(|p| p.path.clone()));
        header.extend(output_names(model));
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(&header)
            .map_err(|e| ReportError::io(path, e.into()))?;
        let header = csv
            .into_inner()
            .map_err(|e| ReportError::io(path, e.into_error()))?;
        file.write_all(&header)
            .map_err(|e| ReportError::io(path, e))?;
        Ok(DrawsCsv {
            path: path.to_path_buf(),
            n_params: model.params.len(),
            scenario_ids: model.scenarios.iter().map(|s| s.id.clone()).collect(),
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
