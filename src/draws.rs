//! Every draw of a run as columns in draw order, collected in memory by an [`Observer`]: the
//! content of `draws.csv` without the CSV (for Python's `Result.draws` and other callers that
//! want the numbers).

use std::sync::Mutex;

use indexmap::IndexMap;

use crate::model::Model;
use crate::outputs::output_names;
use crate::run::{BlockView, Observer, RunError, Setting};

/// The draws of a run, column by column, in draw order: the columns of `draws.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// The scenario ids of the model, indexed by [`Draws::scenario`].
    pub scenario_ids: Vec<String>,
    /// Per draw, the index of the scenario it picked.
    pub scenario: Vec<u32>,
    /// Per parameter path (MODEL.md §7, model order), its value in every draw.
    pub parameters: IndexMap<String, Vec<f64>>,
    /// Per output name (MODEL.md §5), its value in every draw.
    pub outputs: IndexMap<String, Vec<f64>>,
}

impl Draws {
    /// Number of draws.
    pub fn len(&self) -> usize {
        self.scenario.len()
    }

    /// Whether there are no draws.
    pub fn is_empty(&self) -> bool {
        self.scenario.is_empty()
    }

    /// `draws.csv` (MODEL.md §9), byte for byte what `tariffsim run --save-draws` writes.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write_csv(&mut out);
        out
    }

    /// Writes `draws.csv` to `path` atomically (a temporary file, then a rename).
    pub fn write_csv_file(&self, path: &std::path::Path) -> Result<(), crate::report::ReportError> {
        use crate::report::ReportError;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut file =
            std::io::BufWriter::with_capacity(1 << 20, crate::report::new_temp_file(dir)?);
        self.write_csv(&mut file)
            .map_err(|e| ReportError::io(path, e))?;
        let tmp = file
            .into_inner()
            .map_err(|e| ReportError::io(path, e.into_error()))?;
        tmp.persist(path)
            .map_err(|e| ReportError::io(path, e.error))?;
        Ok(())
    }

    /// The rows of `draws.csv`, header first.
    fn write_csv(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let columns: Vec<&Vec<f64>> = self
            .parameters
            .values()
            .chain(self.outputs.values())
            .collect();
        use crate::report::csv_text;
        let mut header: Vec<&str> = vec!["draw", "scenario"];
        header.extend(self.parameters.keys().map(String::as_str));
        header.extend(self.outputs.keys().map(String::as_str));
        let header: Vec<_> = header.into_iter().map(csv_text).collect();
        writeln!(out, "{}", header.join(","))?;
        // Ids and paths are letters, digits, `_`, `-` and `.` (model/compile.rs), so no cell
        // needs CSV quoting; an id may start with `-`, hence csv_text.
        let ids: Vec<_> = self.scenario_ids.iter().map(|id| csv_text(id)).collect();
        let mut row = Vec::new();
        for (d, &k) in self.scenario.iter().enumerate() {
            row.clear();
            row.extend_from_slice(d.to_string().as_bytes());
            row.push(b',');
            row.extend_from_slice(ids[k as usize].as_bytes());
            for column in &columns {
                row.push(b',');
                crate::report::format_float(&mut row, column[d]);
            }
            row.push(b'\n');
            out.write_all(&row)?;
        }
        Ok(())
    }
}

/// An [`Observer`] that keeps every draw of a run of `draws` draws; blocks may arrive from
/// any thread in any order, each is copied to its place.
pub struct DrawCollector {
    n_params: usize,
    names: (Vec<String>, Vec<String>),
    scenario_ids: Vec<String>,
    columns: Mutex<(Vec<u32>, Vec<Vec<f64>>)>,
}

impl DrawCollector {
    /// Room for the `draws` draws of a run of `model` (memory: 8 bytes per draw and column).
    pub fn new(model: &Model, draws: u64) -> DrawCollector {
        let n = draws as usize;
        let params: Vec<String> = model.params.iter().map(|p| p.path.clone()).collect();
        let outputs = output_names(model);
        let columns = (0..params.len() + outputs.len())
            .map(|_| vec![f64::NAN; n])
            .collect();
        DrawCollector {
            n_params: params.len(),
            names: (params, outputs),
            scenario_ids: model.scenarios.iter().map(|s| s.id.clone()).collect(),
            columns: Mutex::new((vec![0; n], columns)),
        }
    }

    /// The collected draws.
    pub fn into_draws(self) -> Draws {
        let (scenario, columns) = self
            .columns
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut columns = columns.into_iter();
        let (params, outputs) = self.names;
        Draws {
            scenario_ids: self.scenario_ids,
            scenario,
            parameters: params.into_iter().zip(columns.by_ref()).collect(),
            outputs: outputs.into_iter().zip(columns).collect(),
        }
    }
}

impl Observer for DrawCollector {
    fn needs_every_block(&self) -> Option<Setting> {
        Some(Setting::SaveDraws)
    }

    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        let first = view.first_draw as usize;
        let n = view.scenarios.len();
        let mut guard = self
            .columns
            .lock()
            .map_err(|_| RunError::Observer("draw collector poisoned".into()))?;
        let (scenario, columns) = &mut *guard;
        let Some(slot) = scenario.get_mut(first..first + n) else {
            return Err(RunError::Observer(format!(
                "draws {first}..{} lie outside the run the collector was made for",
                first + n
            )));
        };
        slot.copy_from_slice(view.scenarios);
        let (params, outputs) = columns.split_at_mut(self.n_params);
        for (j, column) in params.iter_mut().enumerate() {
            for (x, &v) in column[first..first + n]
                .iter_mut()
                .zip(view.values.column(j))
            {
                *x = v;
            }
        }
        for (o, column) in outputs.iter_mut().enumerate() {
            for (x, &v) in column[first..first + n]
                .iter_mut()
                .zip(view.outputs.column(o))
            {
                *x = v;
            }
        }
        Ok(())
    }
}

/// An [`Observer`] that stops a run between two blocks once [`Cancel::cancel`] was called
/// (from any thread, e.g. on Ctrl-C): the run then fails with [`RunError::Observer`].
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Cancel {
    /// A token not yet cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the run to stop at its next block.
    pub fn cancel(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Observer for Cancel {
    fn block(&self, _view: &BlockView<'_>) -> Result<(), RunError> {
        if self.is_cancelled() {
            Err(RunError::Observer("the run was cancelled".into()))
        } else {
            Ok(())
        }
    }
}
