//! Result folders of runs: `summary.json` with `quantiles.csv`, `comparison.csv` of several
//! runs, and partial results (`partial.tariffsim` of shards and checkpoints).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{ensure_dir, write_atomic, CsvRows, ReportError, RunInfo};
use crate::model::Model;
use crate::outputs::HEADLINE;
use crate::run::{Checkpoint, PartialError, PartialResult, RunError};
use crate::stats::RunStats;

/// Name of the partial-result file inside a shard's or checkpoint's folder.
pub const PARTIAL_FILE: &str = "partial.tariffsim";

/// Writes `summary.json` and `quantiles.csv` of a finished run into `out`, with the run's
/// `deal_costs` (from [`crate::deal`]) when the caller computed them.
pub fn write_results(
    model: &Model,
    info: &RunInfo,
    stats: &RunStats,
    deal_costs: Option<crate::summary::DealCosts>,
    out: &Path,
) -> Result<(), ReportError> {
    let mut summary = crate::summary::Summary::new(model, info, stats);
    summary.deal_costs = deal_costs;
    super::write_summary(out, &summary)?;
    // MODEL.md §14: per-line results where the run kept them (`--line-outputs`).
    if let Some(sketches) = stats.line_sketches() {
        let path = out.join(crate::lines::LINES_CSV);
        let bytes =
            crate::lines::lines_csv(model, sketches).map_err(|e| ReportError::io(&path, e))?;
        write_atomic(&path, &bytes)?;
    }
    Ok(())
}

/// `comparison.csv`: headline statistics of several runs side by side, one row per model and output.
pub fn comparison_csv(runs: &[(String, &Model, &RunStats)]) -> Result<Vec<u8>, ReportError> {
    let mut csv = CsvRows::new([
        "model", "name", "output", "mean", "sd", "p5", "p50", "p95", "es95",
    ])?;
    for (label, model, stats) in runs {
        for (o, name) in HEADLINE.iter().enumerate() {
            let s = stats.output_summary(o);
            csv.row(
                [label.as_str(), model.name.as_str(), name],
                [
                    s.mean,
                    s.sd,
                    s.quantiles[1],
                    s.quantiles[4],
                    s.quantiles[7],
                    s.es[0],
                ],
            )?;
        }
    }
    csv.finish()
}

/// Reads `DIR/partial.tariffsim` (or the file itself when given a file).
pub fn read_partial(path: &Path) -> Result<PartialResult, PartialError> {
    let accepted = "accepted: the --out folder of a `run --shard K/N`, a --checkpoint folder, or a partial.tariffsim file";
    let file = if path.is_dir() {
        let file = path.join(PARTIAL_FILE);
        if !file.exists() {
            return Err(PartialError::Unreadable {
                path: path.display().to_string(),
                message: format!("the folder holds no {PARTIAL_FILE}; {accepted}"),
            });
        }
        file
    } else {
        path.to_path_buf()
    };
    let name = file.display().to_string();
    let bytes = std::fs::read(&file).map_err(|e| PartialError::Unreadable {
        path: name.clone(),
        message: format!("cannot read: {e}; {accepted}"),
    })?;
    PartialResult::from_bytes(&bytes, &name)
}

/// Writes a partial result atomically into `dir` (as `partial.tariffsim`).
pub fn write_partial(dir: &Path, partial: &PartialResult) -> Result<(), PartialError> {
    let path = dir.join(PARTIAL_FILE);
    let failed = |message: String| PartialError::File {
        path: path.display().to_string(),
        message,
    };
    // Atomically, as `write_atomic` does, but encoded straight into the temporary file.
    let mut tmp = super::new_temp_file(dir).map_err(|e| failed(e.to_string()))?;
    partial
        .write_to(tmp.as_file_mut())
        .map_err(|e| failed(e.to_string()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| failed(e.to_string()))?;
    tmp.persist(&path)
        .map_err(|e| failed(e.error.to_string()))?;
    Ok(())
}

/// Minimum seconds between two checkpoint saves (a save writes the histograms, a few MB).
const CHECKPOINT_INTERVAL_S: f64 = 1.0;

/// A save is due only after this many times the last save's duration has passed: a large state
/// (a backtest's observed draws, 8 bytes per draw and observation) is then saved less often,
/// so that saving costs at most about a tenth of the run's time.
const CHECKPOINT_COST_FACTOR: f64 = 10.0;

/// A checkpoint folder: the run's state is saved there as `partial.tariffsim` at most once a
/// second (less often when a save takes longer than a tenth of a second), and at the end.
pub struct CheckpointDir {
    dir: PathBuf,
    last_save: Cell<Instant>,
    /// Seconds the last save took.
    last_cost: Cell<f64>,
}

impl CheckpointDir {
    /// Checkpoints into `dir` (created if needed).
    pub fn create(dir: &Path) -> Result<Self, ReportError> {
        ensure_dir(dir)?;
        Ok(CheckpointDir {
            dir: dir.to_path_buf(),
            last_save: Cell::new(Instant::now()),
            last_cost: Cell::new(0.0),
        })
    }

    /// The state saved in this folder, if any (for resuming).
    pub fn saved(&self) -> Result<PartialResult, PartialError> {
        read_partial(&self.dir)
    }
}

impl Checkpoint for CheckpointDir {
    fn due(&self) -> bool {
        let wait = CHECKPOINT_INTERVAL_S.max(CHECKPOINT_COST_FACTOR * self.last_cost.get());
        self.last_save.get().elapsed().as_secs_f64() >= wait
    }

    fn save(&self, state: &PartialResult) -> Result<(), RunError> {
        let started = Instant::now();
        write_partial(&self.dir, state)?;
        self.last_cost.set(started.elapsed().as_secs_f64());
        self.last_save.set(Instant::now());
        Ok(())
    }
}
