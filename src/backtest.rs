//! Observations: backtest and update (MODEL.md §13).
//!
//! [`parse_observations`] validates an observation file as carefully as a model file (every
//! broken rule with file:line:col and what is accepted). [`run_backtest`] makes one ordinary
//! run of the model and, in the same streaming pass, (1) keeps the draws of every observed
//! output (8 bytes per draw and observation: the exact PIT and CRPS need them sorted) and (2)
//! when observations have an `sd`, accumulates the importance-weighted statistics of every
//! output, each draw weighted by its own outputs. Nothing is saved and re-read, so memory is
//! flat in the number of draws except for those observed columns.
//!
//! Determinism: the observed columns are written at their draw's index; weights are exact
//! integers (see [`crate::stats::WEIGHT_BITS`]); weighted sums are block sums in draw order
//! added into exact sums. So results are the same bits for any thread count.
//!
//! Shards and checkpoints: the sink is a [`Stateful`] observer of the run driver, so a
//! partial result of a backtest carries a [`BacktestState`] (the observations, the observed
//! draws of its blocks in draw order, the weighted statistics). Merging shards concatenates
//! the draws in block order and merges the weighted statistics exactly; resuming restores
//! them. The scores and the update are then computed from the whole as in one process, so
//! they are the same bits ([`backtest_from_partial`]).

use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::model::{Model, YearMonth};
use crate::outputs::{month_output, output_names, MONTH_EXPORT_CHANGE_PCT};
use crate::report::json_number;
use crate::run::{
    BlockRange, BlockView, Checkpoint, Engine, Observer, PartialError, PartialResult, Run,
    RunConfig, RunError, RunOutcome, Stateful,
};
use crate::sampling::BLOCK_SIZE;
use crate::stats::{
    fixed_weight, weight_value, ExactSum, WeightedHistogram, ES_KEYS, ES_LEVELS, QUANTILE_KEYS,
    QUANTILE_LEVELS,
};

/// ESS below this is a warning: the update rests on too few draws (MODEL.md §13).
pub const ESS_WARNING: f64 = 1000.0;
/// The quantiles of each observation's forecast in `backtest.json`.
pub const BACKTEST_LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];
/// Their keys.
pub const BACKTEST_KEYS: [&str; 5] = ["0.05", "0.25", "0.5", "0.75", "0.95"];

/// One observed value of an output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The output's name (a `period` row becomes `months.<t>.export_change_pct`).
    pub output: String,
    /// Its position in the output row.
    pub index: usize,
    /// The observed value y.
    pub value: f64,
    /// Measurement error (same units); observations with an sd condition the update.
    pub sd: Option<f64>,
    /// Free text.
    pub label: String,
    /// Line of the file.
    pub line: usize,
}

/// One broken rule of an observation file.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationDiagnostic {
    /// Line (1-based).
    pub line: usize,
    /// Column (1-based, in characters).
    pub column: usize,
    /// The rule broken and what is accepted.
    pub message: String,
}

/// Why an observation file was rejected: every problem found, in file order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ObservationError {
    /// The file as given.
    pub file: String,
    /// The problems.
    pub diagnostics: Vec<ObservationDiagnostic>,
}

impl ObservationError {
    fn render(&self) -> String {
        self.diagnostics
            .iter()
            .map(|d| format!("{}:{}:{}: {}", self.file, d.line, d.column, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The names nearest to `name` (at most three).
fn nearest<'a>(name: &str, names: &'a [String]) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = names
        .iter()
        .map(|n| (edit_distance(name, n), n.as_str()))
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// 1-based character columns where the fields of a CSV line start (quotes respected).
fn field_columns(line: &str) -> Vec<usize> {
    let mut starts = vec![1];
    let mut quoted = false;
    for (i, c) in line.chars().enumerate() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => starts.push(i + 2),
            _ => {}
        }
    }
    starts
}

/// Reads and validates an observation file against `model` (see [`parse_observations`]).
pub fn read_observations(
    path: &std::path::Path,
    model: &Model,
) -> Result<Vec<Observation>, ObservationError> {
    let file = path.display().to_string();
    let fail = |message: String| ObservationError {
        file: file.clone(),
        diagnostics: vec![ObservationDiagnostic {
            line: 1,
            column: 1,
            message,
        }],
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read the file: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| fail("the file is not valid UTF-8; accepted: a UTF-8 CSV file".into()))?;
    parse_observations(&text, &file, model)
}

/// Validates observation CSV `text` (MODEL.md §13) against the outputs of `model`; `file`
/// names it in messages. Every problem is reported, each with its line and column.
pub fn parse_observations(
    text: &str,
    file: &str,
    model: &Model,
) -> Result<Vec<Observation>, ObservationError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut diagnostics = Vec::new();
    let mut error = |line: usize, column: usize, message: String| {
        diagnostics.push(ObservationDiagnostic {
            line,
            column,
            message,
        })
    };
    let accepted_header = "accepted: a header with `value` and `output` (or `period`), optional `sd` and `label`, then one row per observation";
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            error(1, 1, format!("not a CSV file ({e}); {accepted_header}"));
            Vec::new()
        }
    };
    let find = |name: &str| header.iter().position(|h| h == name);
    let (c_output, c_period, c_value, c_sd, c_label) = (
        find("output"),
        find("period"),
        find("value"),
        find("sd"),
        find("label"),
    );
    let header_columns = lines.first().map(|l| field_columns(l)).unwrap_or_default();
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) && !h.is_empty() {
            error(
                1,
                header_columns.get(i).copied().unwrap_or(1),
                format!("column `{h}` appears twice; accepted: each column once"),
            );
        }
    }
    if !header.is_empty() && header.iter().any(|h| !h.is_empty()) {
        if c_value.is_none() {
            error(1, 1, format!("no `value` column; {accepted_header}"));
        }
        if c_output.is_none() && c_period.is_none() {
            error(
                1,
                1,
                format!("no `output` or `period` column; {accepted_header}"),
            );
        }
    }
    let names = output_names(model);
    let months = if model.monthly { model.months() } else { 0 };
    let mut observations: Vec<Observation> = Vec::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| p.line() as usize);
                error(
                    line,
                    1,
                    format!("unreadable CSV row ({e}); {accepted_header}"),
                );
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let columns = lines
            .get(line.saturating_sub(1))
            .map(|l| field_columns(l))
            .unwrap_or_default();
        let col = |c: Option<usize>| c.and_then(|c| columns.get(c).copied()).unwrap_or(1);
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::trim).unwrap_or("");
        let (output, period) = (field(c_output), field(c_period));
        let (mut name, mut index) = (String::new(), None);
        if !output.is_empty() && !period.is_empty() {
            error(
                line,
                col(c_period),
                format!("both an output (`{output}`) and a period (`{period}`); accepted: one of them per row"),
            );
        } else if !output.is_empty() {
            match names.iter().position(|n| n == output) {
                Some(i) => {
                    name = output.to_string();
                    index = Some(i);
                }
                None => {
                    let hint = if output.starts_with("months.") && months == 0 {
                        " (the model has no monthly outputs: its horizon is not a whole number of months)".to_string()
                    } else if output.starts_with("months.") {
                        format!(" (months run from 1 to {months})")
                    } else {
                        String::new()
                    };
                    error(
                        line,
                        col(c_output),
                        format!(
                            "unknown output `{output}`{hint}; accepted: an output of the model (the README, What the outputs mean; docs/time.md); nearest: {}",
                            nearest(output, &names).join(", ")
                        ),
                    );
                }
            }
        } else if !period.is_empty() {
            match (YearMonth::parse(period), model.start_month) {
                (None, _) => error(
                    line,
                    col(c_period),
                    format!("`{period}` is not a period; accepted: YYYY-MM, e.g. 2025-05"),
                ),
                (Some(_), None) => error(
                    line,
                    col(c_period),
                    "a period needs the model's `[model] start_month`; accepted: an `output` name instead, or a model with start_month".into(),
                ),
                (Some(p), Some(start)) => {
                    let t = p.months_since(start) + 1;
                    let last = start.plus(months as i64 - 1);
                    if t < 1 {
                        error(line, col(c_period), format!("period {p} is before the model's start_month {start}; accepted: {start} to {last}"));
                    } else if t as usize > months {
                        error(line, col(c_period), format!("period {p} is past the horizon ({months} months from {start}); accepted: {start} to {last}"));
                    } else {
                        let t = t as usize;
                        name = month_output(t, MONTH_EXPORT_CHANGE_PCT);
                        index = names.iter().position(|n| *n == name);
                    }
                }
            }
        } else {
            error(
                line,
                col(c_output.or(c_period)),
                "no output and no period; accepted: an output name, or a period YYYY-MM".into(),
            );
        }
        let value_text = field(c_value);
        let value = match value_text.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                error(
                    line,
                    col(c_value),
                    format!("value `{value_text}` is not a number; accepted: a finite number"),
                );
                None
            }
        };
        let sd_text = field(c_sd);
        let sd = if sd_text.is_empty() {
            None
        } else {
            match sd_text.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => Some(s),
                _ => {
                    error(
                        line,
                        col(c_sd),
                        format!("sd `{sd_text}` is not allowed; accepted: a number > 0, or empty for no update"),
                    );
                    None
                }
            }
        };
        if let (Some(i), Some(value)) = (index, value) {
            if let Some(first) = observations.iter().find(|o| o.index == i) {
                error(
                    line,
                    col(c_output.filter(|_| !output.is_empty()).or(c_period)),
                    format!(
                        "`{name}` is observed twice (first on line {}); accepted: each output once",
                        first.line
                    ),
                );
            } else {
                observations.push(Observation {
                    output: name,
                    index: i,
                    value,
                    sd,
                    label: field(c_label).to_string(),
                    line,
                });
            }
        }
    }
    if rows == 0 {
        error(
            1,
            1,
            format!("the file has no observations; {accepted_header}"),
        );
    }
    if diagnostics.is_empty() {
        Ok(observations)
    } else {
        Err(ObservationError {
            file: file.to_string(),
            diagnostics,
        })
    }
}

/// The backtest scores of one observation (MODEL.md §13).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The observation.
    pub observation: Observation,
    /// PIT = (#draws < y + ½·#draws = y)/N.
    pub pit: f64,
    /// CRPS = E|X − y| − ½·E|X − X′|, exact over the draws.
    pub crps: f64,
    /// Forecast mean.
    pub mean: f64,
    /// Forecast quantiles at [`BACKTEST_LEVELS`] (type 1: the ⌈pN⌉-th smallest draw).
    pub quantiles: [f64; 5],
}

/// Scores of a draw column `x` against y: exact PIT, CRPS, mean and quantiles. Sorts `x`.
pub fn score(x: &mut [f64], observation: &Observation) -> Score {
    let y = observation.value;
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let nf = n as f64;
    let below = x.partition_point(|&v| v < y);
    let equal = x[below..].partition_point(|&v| v <= y);
    let pit = (below as f64 + 0.5 * equal as f64) / nf;
    let (mut sum, mut abs_dev, mut gini) = (ExactSum::new(), ExactSum::new(), ExactSum::new());
    for (i, &v) in x.iter().enumerate() {
        sum.add(v);
        abs_dev.add((v - y).abs());
        // E|X − X′| = (2/N²)·Σ_i (2i − N − 1)·x_(i), i = 1..N.
        gini.add((2.0 * (i + 1) as f64 - nf - 1.0) * v);
    }
    let crps = abs_dev.value() / nf - gini.value() / (nf * nf);
    let mut quantiles = [f64::NAN; 5];
    for (q, &p) in quantiles.iter_mut().zip(&BACKTEST_LEVELS) {
        let rank = ((p * nf).ceil() as usize).clamp(1, n);
        *q = x[rank - 1];
    }
    Score {
        observation: observation.clone(),
        pit,
        crps,
        mean: sum.value() / nf,
        quantiles,
    }
}

/// Why a backtest failed.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Every weight underflowed: the observations are outside what the model produces.
    #[error("{0}")]
    Underflow(String),
}

/// Weighted accumulators of one worker, or of the completed blocks in a partial result
/// (exact merges, see the module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WeightedStats {
    histograms: Vec<WeightedHistogram>,
    /// [scenario][output] Σ w·(x − c) and Σ w·(x − c)².
    moments: Vec<(ExactSum, ExactSum)>,
    /// Σ w per scenario (fixed point) and Σ w as f64 per scenario (exact sums of the f64 weights).
    weight: Vec<u128>,
    weight_f64: Vec<ExactSum>,
    /// Σ w² per scenario (f64 weights): the per-scenario ESS needs it.
    weight_sq: Vec<ExactSum>,
    /// Block scratch: fixed and f64 weight per draw.
    #[serde(skip)]
    fixed: Vec<u128>,
    #[serde(skip)]
    value: Vec<f64>,
}

impl WeightedStats {
    fn new(n_outputs: usize, n_scenarios: usize) -> Self {
        WeightedStats {
            histograms: (0..n_outputs).map(|_| WeightedHistogram::new()).collect(),
            moments: vec![(ExactSum::new(), ExactSum::new()); n_outputs * n_scenarios],
            weight: vec![0; n_scenarios],
            weight_f64: vec![ExactSum::new(); n_scenarios],
            weight_sq: vec![ExactSum::new(); n_scenarios],
            fixed: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Checks the shape against a model of `n_outputs` outputs and `n_scenarios` scenarios,
    /// and that the total weight cannot overflow (a file's field, before any merge uses it).
    fn check_shape(&self, n_outputs: usize, n_scenarios: usize) -> Result<(), String> {
        if self.histograms.len() != n_outputs
            || self.moments.len() != n_outputs * n_scenarios
            || self.weight.len() != n_scenarios
            || self.weight_f64.len() != n_scenarios
            || self.weight_sq.len() != n_scenarios
        {
            return Err(format!(
                "weighted statistics of {} outputs and {} scenarios, where the model has {n_outputs} and {n_scenarios}",
                self.histograms.len(),
                self.weight.len()
            ));
        }
        let total = self
            .weight
            .iter()
            .try_fold(0u128, |a, &w| a.checked_add(w))
            .ok_or("the weights overflow")?;
        // At most one full weight (2^WEIGHT_BITS) per draw: far below u128's range.
        if total >> 120 != 0 {
            return Err("implausible total weight".into());
        }
        if self.histograms.iter().any(|h| h.total() > total) {
            return Err("a histogram holds more weight than the draws".into());
        }
        Ok(())
    }

    fn merge(&mut self, other: &WeightedStats) {
        for (a, b) in self.histograms.iter_mut().zip(&other.histograms) {
            a.merge(b);
        }
        for (a, b) in self.moments.iter_mut().zip(&other.moments) {
            a.0.merge(&b.0);
            a.1.merge(&b.1);
        }
        for (a, b) in self.weight.iter_mut().zip(&other.weight) {
            *a += b;
        }
        for (a, b) in self.weight_f64.iter_mut().zip(&other.weight_f64) {
            a.merge(b);
        }
        for (a, b) in self.weight_sq.iter_mut().zip(&other.weight_sq) {
            a.merge(b);
        }
    }
}

/// SHA-256 (hex) of observations: output, value, sd and label of each, in file order (not
/// the file's bytes, so a reformatted file with the same observations still matches).
pub fn observations_sha256(observations: &[Observation]) -> String {
    let mut hash = Sha256::new();
    for o in observations {
        hash.update(o.output.as_bytes());
        hash.update([0]);
        hash.update(o.value.to_bits().to_le_bytes());
        match o.sd {
            Some(sd) => {
                hash.update([1]);
                hash.update(sd.to_bits().to_le_bytes());
            }
            None => hash.update([0]),
        }
        hash.update(o.label.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Draws of blocks `a..b` of a run of `draws` draws.
fn range_draws(a: u64, b: u64, draws: u64) -> u64 {
    b.saturating_mul(BLOCK_SIZE).min(draws) - a.saturating_mul(BLOCK_SIZE).min(draws)
}

/// What a partial result (a shard, a checkpoint) of a backtest carries besides the run's
/// statistics: the observations, so that `merge` needs no observation file and refuses shards
/// of different ones; every draw of each observed output over the completed blocks, in draw
/// order (8 bytes × draws × observations: the exact PIT and CRPS need them); and the weighted
/// statistics of the update, which merge exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BacktestState {
    /// The observation file as given (for messages).
    pub observed_file: String,
    /// [`observations_sha256`] of `observations`.
    pub observations_sha256: String,
    /// The observations, in file order.
    pub observations: Vec<Observation>,
    /// Per observation, the observed output of every draw of the completed blocks, the blocks
    /// in order.
    pub columns: Vec<Vec<f64>>,
    /// The weighted statistics of those draws (when any observation has an sd).
    weighted: Option<WeightedStats>,
}

impl BacktestState {
    /// Checks a decoded state against the run's `model` and the `draws` its partial result
    /// covers: observations of this model's outputs matching their SHA-256, one column of
    /// `draws` values per observation, weighted statistics of the model's shape exactly when
    /// an observation has an sd.
    pub fn validate(&self, model: &Model, draws: u64) -> Result<(), String> {
        if observations_sha256(&self.observations) != self.observations_sha256 {
            return Err("the stored observations do not match their SHA-256".into());
        }
        if self.observations.is_empty() {
            return Err("no observations".into());
        }
        let names = output_names(model);
        for o in &self.observations {
            if names.get(o.index) != Some(&o.output) {
                return Err(format!(
                    "`{}` is not output {} of the model",
                    o.output, o.index
                ));
            }
            if !o.value.is_finite() || o.sd.is_some_and(|sd| !(sd.is_finite() && sd > 0.0)) {
                return Err(format!("observation of `{}` out of range", o.output));
            }
        }
        if self.columns.len() != self.observations.len()
            || self.columns.iter().any(|c| c.len() as u64 != draws)
        {
            return Err(format!(
                "observed draws do not cover the partial result's {draws} draws"
            ));
        }
        let update = self.observations.iter().any(|o| o.sd.is_some());
        match (&self.weighted, update) {
            (Some(w), true) => w.check_shape(names.len(), model.scenarios.len()),
            (None, false) => Ok(()),
            _ => Err(
                "weighted statistics where no observation has an sd, or none where one has".into(),
            ),
        }
    }

    /// Merges the states of partial results of one backtest, each with the blocks it covers
    /// (the blocks are disjoint: checked by the caller): the observed draws in block order,
    /// the weighted statistics exactly. Refuses states of different observations.
    pub(crate) fn merge(
        parts: Vec<(Vec<(u64, u64)>, BacktestState)>,
        draws: u64,
    ) -> Result<BacktestState, String> {
        let first = &parts
            .first()
            .ok_or_else(|| "no backtest states to merge".to_string())?
            .1;
        for (_, p) in &parts[1..] {
            if p.observations_sha256 != first.observations_sha256 {
                return Err(format!(
                    "shards of backtests against different observations: {} (sha256 {}) vs {} (sha256 {}); accepted: the shards of one backtest, all run with the same observation file",
                    first.observed_file,
                    first.observations_sha256.get(..12).unwrap_or_default(),
                    p.observed_file,
                    p.observations_sha256.get(..12).unwrap_or_default()
                ));
            }
        }
        // (first block, part, offset in the part's columns, draws) of every block range.
        let mut segments = Vec::new();
        for (i, (completed, _)) in parts.iter().enumerate() {
            let mut offset = 0;
            for &(a, b) in completed {
                let n = range_draws(a, b, draws) as usize;
                segments.push((a, i, offset, n));
                offset += n;
            }
        }
        segments.sort_unstable();
        let total: usize = segments.iter().map(|s| s.3).sum();
        let n_obs = first.observations.len();
        let mut columns = vec![Vec::with_capacity(total); n_obs];
        for &(_, i, offset, n) in &segments {
            for (column, part) in columns.iter_mut().zip(&parts[i].1.columns) {
                column.extend_from_slice(&part[offset..offset + n]);
            }
        }
        let mut weighted: Option<WeightedStats> = None;
        for (_, p) in &parts {
            if let Some(w) = &p.weighted {
                match weighted.as_mut() {
                    Some(all) => all.merge(w),
                    None => weighted = Some(w.clone()),
                }
            }
        }
        let (_, first) = parts.into_iter().next().unwrap_or_else(|| unreachable!());
        Ok(BacktestState {
            observed_file: first.observed_file,
            observations_sha256: first.observations_sha256,
            observations: first.observations,
            columns,
            weighted,
        })
    }
}

/// The observed columns of the blocks this process runs, from its first draw on.
struct Columns {
    first_draw: u64,
    /// Draws of the range the run covers: each column's length while the run goes on.
    len: usize,
    data: Vec<Vec<f64>>,
}

/// The block sink of a backtest: observed columns and weighted statistics.
struct BacktestSink<'a> {
    observations: &'a [Observation],
    observed_file: String,
    sha256: String,
    draws: u64,
    n_scenarios: usize,
    shifts: Vec<f64>,
    columns: Mutex<Columns>,
    /// Idle per-worker accumulators (taken for a block, put back after).
    pool: Mutex<Vec<WeightedStats>>,
    update: bool,
}

fn poisoned<T>(_: T) -> RunError {
    RunError::Observer("a worker panicked".into())
}

impl Stateful for BacktestSink<'_> {
    fn check(&self, saved: &PartialResult) -> Result<(), RunError> {
        if saved.completed.is_empty() {
            return Ok(());
        }
        let mismatch = |m: String| Err(RunError::Partial(PartialError::Mismatch(m)));
        match &saved.backtest {
            None => mismatch("the checkpoint was saved by a run, not a backtest: the observed draws of its blocks are missing; accepted: a checkpoint of `tariffsim backtest`".into()),
            Some(b) if b.observations_sha256 != self.sha256 => mismatch(format!(
                "the checkpoint is of a backtest against other observations ({}, sha256 {}; these: {}, sha256 {}); accepted: resuming with the same observations",
                b.observed_file,
                b.observations_sha256.get(..12).unwrap_or_default(),
                self.observed_file,
                self.sha256.get(..12).unwrap_or_default()
            )),
            Some(_) => Ok(()),
        }
    }

    fn start(&self, blocks: Range<u64>, state: &mut PartialResult) -> Result<(), RunError> {
        let n = range_draws(blocks.start, blocks.end, self.draws) as usize;
        let mut data = vec![vec![0.0; n]; self.observations.len()];
        let mut pool = self.pool.lock().map_err(poisoned)?;
        pool.clear();
        if let Some(saved) = state.backtest.take() {
            // `check` and the driver's resume checks: the saved blocks are a prefix of
            // `blocks` and their draws those of the saved columns.
            for (column, saved) in data.iter_mut().zip(&saved.columns) {
                let m = saved.len().min(n);
                column[..m].copy_from_slice(&saved[..m]);
            }
            pool.extend(saved.weighted);
        }
        *self.columns.lock().map_err(poisoned)? = Columns {
            first_draw: blocks.start.saturating_mul(BLOCK_SIZE).min(self.draws),
            len: n,
            data,
        };
        Ok(())
    }

    fn save(&self, state: &mut PartialResult) -> Result<(), RunError> {
        let done: u64 = state
            .completed
            .iter()
            .map(|&(a, b)| range_draws(a, b, self.draws))
            .sum();
        let done = done as usize;
        // The columns are lent to the state, cut to the completed draws (their capacity
        // kept), not copied: no worker writes between a save and its `take_back`, which
        // gives them back at full length.
        let columns = {
            let mut columns = self.columns.lock().map_err(poisoned)?;
            let mut data = std::mem::take(&mut columns.data);
            data.iter_mut().for_each(|c| c.truncate(done));
            data
        };
        // The workers' accumulators merged into one, lent to the state (see `take_back`): the
        // first takes the others in (the sums are exact, so the order gives the same bits),
        // rather than a fresh one copying all of them, which held every weighted histogram
        // twice at each checkpoint (the largest part of a checkpointed backtest's memory).
        let weighted = if self.update {
            let mut pool = self.pool.lock().map_err(poisoned)?;
            let mut parts = pool.drain(..);
            let mut all = parts
                .next()
                .unwrap_or_else(|| WeightedStats::new(self.shifts.len(), self.n_scenarios));
            for part in parts {
                all.merge(&part);
            }
            Some(all)
        } else {
            None
        };
        state.backtest = Some(BacktestState {
            observed_file: self.observed_file.clone(),
            observations_sha256: self.sha256.clone(),
            observations: self.observations.to_vec(),
            columns,
            weighted,
        });
        Ok(())
    }

    /// The columns lent to the state come back at full length (within their capacity: no
    /// allocation; the draws after the completed ones are not written yet); the merged
    /// weighted statistics go back to the pool.
    fn take_back(&self, state: &mut PartialResult) -> Result<(), RunError> {
        if let Some(saved) = state.backtest.take() {
            let mut columns = self.columns.lock().map_err(poisoned)?;
            let len = columns.len;
            columns.data = saved.columns;
            columns.data.iter_mut().for_each(|c| c.resize(len, 0.0));
            self.pool.lock().map_err(poisoned)?.extend(saved.weighted);
        }
        Ok(())
    }
}

impl Observer for BacktestSink<'_> {
    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        let n = view.scenarios.len();
        {
            let mut columns = self.columns.lock().map_err(poisoned)?;
            let first = (view.first_draw - columns.first_draw) as usize;
            for (column, o) in columns.data.iter_mut().zip(self.observations) {
                for (slot, &x) in column[first..first + n]
                    .iter_mut()
                    .zip(view.outputs.column(o.index))
                {
                    *slot = x;
                }
            }
        }
        if !self.update {
            return Ok(());
        }
        let taken = self.pool.lock().ok().and_then(|mut p| p.pop());
        let n_outputs = self.shifts.len();
        let mut stats = taken.unwrap_or_else(|| WeightedStats::new(n_outputs, self.n_scenarios));
        // w = Π_k φ(z_k) / φ(0) = exp(−½·Σ_k z_k²), in (0, 1]: no data-dependent shift needed.
        stats.fixed.resize(n, 0);
        stats.value.resize(n, 0.0);
        let mut sq = vec![0.0; self.n_scenarios];
        for d in 0..n {
            let mut log_w = 0.0;
            for o in self.observations {
                if let Some(sd) = o.sd {
                    let z = (o.value - view.outputs[[d, o.index]]) / sd;
                    log_w -= 0.5 * z * z;
                }
            }
            let fixed = fixed_weight(crate::fastmath::exp(log_w));
            let w = weight_value(fixed);
            stats.fixed[d] = fixed;
            stats.value[d] = w;
            let k = view.scenarios[d] as usize;
            sq[k] += w * w;
            stats.weight[k] += fixed;
        }
        for (sum, s) in stats.weight_sq.iter_mut().zip(&sq) {
            sum.add(*s);
        }
        let mut per_scenario = vec![(0.0, 0.0, 0.0); self.n_scenarios];
        for (o, column) in view.outputs.columns().into_iter().enumerate() {
            let shift = self.shifts[o];
            per_scenario.iter_mut().for_each(|s| *s = (0.0, 0.0, 0.0));
            let histogram = &mut stats.histograms[o];
            for (d, &x) in column.iter().enumerate() {
                let w = stats.value[d];
                histogram.insert(x, stats.fixed[d]);
                if stats.fixed[d] == 0 {
                    continue;
                }
                let dev = x - shift;
                let s = &mut per_scenario[view.scenarios[d] as usize];
                s.0 += w * dev;
                s.1 += w * dev * dev;
                s.2 += w;
            }
            for (k, s) in per_scenario.iter().enumerate() {
                let m = &mut stats.moments[k * n_outputs + o];
                m.0.add(s.0);
                m.1.add(s.1);
                if o == 0 {
                    stats.weight_f64[k].add(s.2);
                }
            }
        }
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(stats);
        }
        Ok(())
    }
}

/// The updated (importance-weighted) statistics of every output.
#[derive(Debug, Clone)]
pub struct Update {
    stats: WeightedStats,
    shifts: Vec<f64>,
    /// Effective sample size (Σw)² / Σw².
    pub ess: f64,
    /// Each scenario's own effective sample size (Σ_{i∈k} w_i)² / Σ_{i∈k} w_i² (0 for a
    /// scenario without weight).
    pub scenario_ess: Vec<f64>,
    /// ln((1/N)·Σ_i w_i) with w_i the product of normal densities.
    pub log_evidence: f64,
    /// Observations with an sd.
    pub observations: usize,
}

/// Weighted summary of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedSummary {
    /// Weighted mean.
    pub mean: f64,
    /// Weighted sd (reliability weights: Σw(x − μ)² / (Σw − Σw²/Σw)).
    pub sd: f64,
    /// sd/√ESS.
    pub se_mean: f64,
    /// Smallest and largest value with positive weight.
    pub min: f64,
    /// See `min`.
    pub max: f64,
    /// Weighted quantiles at [`QUANTILE_LEVELS`].
    pub quantiles: [f64; 9],
    /// Weighted expected shortfall at [`ES_LEVELS`].
    pub es: [f64; 2],
}

impl Update {
    fn total_f64(&self, scenarios: impl Iterator<Item = usize>) -> f64 {
        let mut all = ExactSum::new();
        for k in scenarios {
            all.merge(&self.stats.weight_f64[k]);
        }
        all.value()
    }

    /// Weighted mean and sd of output `o` over the draws of `scenarios`, whose effective
    /// sample size is `ess`.
    fn moments(&self, o: usize, scenarios: &[usize], ess: f64) -> (f64, f64) {
        let n_outputs = self.shifts.len();
        let (mut s1, mut s2) = (ExactSum::new(), ExactSum::new());
        for &k in scenarios {
            s1.merge(&self.stats.moments[k * n_outputs + o].0);
            s2.merge(&self.stats.moments[k * n_outputs + o].1);
        }
        let w = self.total_f64(scenarios.iter().copied());
        if w <= 0.0 {
            return (f64::NAN, f64::NAN);
        }
        let (s1, s2) = (s1.value(), s2.value());
        let mean = self.shifts[o] + s1 / w;
        // Reliability weights: Σw(x − μ)² / (V1 − V2/V1) = Σw(x − μ)² / (V1·(1 − 1/ESS)),
        // with the ESS of the same draws (a scenario's own for a scenario's sd).
        let var = (s2 - s1 * s1 / w) / (w * (1.0 - 1.0 / ess));
        (mean, var.max(0.0).sqrt())
    }

    /// Updated probability of each scenario: Σ_{i∈k} w_i / Σ w_i.
    pub fn scenario_probabilities(&self) -> Vec<f64> {
        let total: u128 = self.stats.weight.iter().sum();
        self.stats
            .weight
            .iter()
            .map(|&w| w as f64 / total as f64)
            .collect()
    }

    /// Weighted summary of output `o`.
    pub fn output_summary(&self, o: usize) -> WeightedSummary {
        let all: Vec<usize> = (0..self.stats.weight.len()).collect();
        let (mean, sd) = self.moments(o, &all, self.ess);
        let levels: Vec<f64> = QUANTILE_LEVELS.iter().chain(&ES_LEVELS).copied().collect();
        let found = self.stats.histograms[o].quantiles_and_tail_means(&levels);
        let mut quantiles = [f64::NAN; 9];
        for (q, f) in quantiles.iter_mut().zip(&found) {
            *q = f.0;
        }
        let (min, max) = self.stats.histograms[o].range();
        WeightedSummary {
            mean,
            sd,
            se_mean: sd / self.ess.sqrt(),
            min,
            max,
            quantiles,
            es: [found[9].1, found[10].1],
        }
    }

    /// Weighted mean and sd of output `o` over the draws of scenario `k` (the sd's
    /// correction with the scenario's own ESS, [`Update::scenario_ess`]).
    pub fn scenario_moments(&self, k: usize, o: usize) -> (f64, f64) {
        self.moments(o, &[k], self.scenario_ess[k])
    }

    /// The warning when ESS < [`ESS_WARNING`].
    pub fn warning(&self) -> Option<String> {
        (self.ess < ESS_WARNING).then(|| {
            format!(
                "the update rests on an effective sample size of {:.0} draws (< {ESS_WARNING:.0}): its quantiles and probabilities are noisy; run more draws (--draws) until the ESS exceeds {ESS_WARNING:.0}",
                self.ess
            )
        })
    }
}

/// The result of a backtest run.
pub struct Backtest {
    /// The ordinary (prior) run.
    pub run: RunOutcome,
    /// One score per observation, in file order.
    pub scores: Vec<Score>,
    /// The update, when any observation has an sd.
    pub update: Option<Update>,
}

impl Backtest {
    /// Share of observations inside the central 50 % and 90 % intervals.
    pub fn coverage(&self) -> (f64, f64) {
        let n = self.scores.len().max(1) as f64;
        let inside = |lo: usize, hi: usize| {
            self.scores
                .iter()
                .filter(|s| {
                    let y = s.observation.value;
                    s.quantiles[lo] <= y && y <= s.quantiles[hi]
                })
                .count() as f64
                / n
        };
        (inside(1, 3), inside(0, 4))
    }

    /// Mean CRPS over the observations.
    pub fn mean_crps(&self) -> f64 {
        self.scores.iter().map(|s| s.crps).sum::<f64>() / self.scores.len().max(1) as f64
    }

    /// `backtest.json` (MODEL.md §13).
    pub fn backtest_json(&self) -> Value {
        let observations: Vec<Value> = self
            .scores
            .iter()
            .map(|s| {
                let q: Map<String, Value> = BACKTEST_KEYS
                    .iter()
                    .zip(s.quantiles)
                    .map(|(k, v)| (k.to_string(), json_number(v)))
                    .collect();
                json!({
                    "output": s.observation.output,
                    "label": s.observation.label,
                    "value": json_number(s.observation.value),
                    "sd": s.observation.sd.map_or(Value::Null, json_number),
                    "pit": json_number(s.pit),
                    "crps": json_number(s.crps),
                    "mean": json_number(s.mean),
                    "quantiles": q,
                })
            })
            .collect();
        let (c50, c90) = self.coverage();
        json!({
            "observations": observations,
            "coverage": {"0.5": json_number(c50), "0.9": json_number(c90)},
            "mean_crps": json_number(self.mean_crps()),
        })
    }

    /// `updated/summary.json`: the layout of `summary.json` with the weighted statistics,
    /// prior and updated scenario probabilities and the `update` object (MODEL.md §13).
    pub fn updated_json(&self, model: &Model, prior: &Value) -> Option<Value> {
        let update = self.update.as_ref()?;
        let names = output_names(model);
        let mut outputs = Map::new();
        for (o, name) in names.iter().enumerate() {
            let s = update.output_summary(o);
            let quantiles: Map<String, Value> = QUANTILE_KEYS
                .iter()
                .zip(s.quantiles)
                .map(|(k, v)| (k.to_string(), json_number(v)))
                .collect();
            let es: Map<String, Value> = ES_KEYS
                .iter()
                .zip(s.es)
                .map(|(k, v)| (k.to_string(), json_number(v)))
                .collect();
            outputs.insert(
                name.clone(),
                json!({
                    "unit": crate::outputs::unit(name, &model.units),
                    "mean": json_number(s.mean), "sd": json_number(s.sd),
                    "se_mean": json_number(s.se_mean), "min": json_number(s.min),
                    "max": json_number(s.max), "quantiles": quantiles, "es": es,
                }),
            );
        }
        let probabilities = update.scenario_probabilities();
        let counts = self.run.stats.scenario_counts();
        let draws = self.run.stats.draws().max(1) as f64;
        let mut scenarios = Map::new();
        for (k, sc) in model.scenarios.iter().enumerate() {
            let mut per_output = Map::new();
            for (o, name) in names.iter().enumerate() {
                let (mean, sd) = update.scenario_moments(k, o);
                per_output.insert(
                    name.clone(),
                    json!({"mean": json_number(mean), "sd": json_number(sd)}),
                );
            }
            // "probability" is the updated one (MODEL.md §13); "frequency" too, so that
            // charts of scenario shares show the updated shares.
            scenarios.insert(
                sc.id.clone(),
                json!({
                    "name": sc.name,
                    "prior_probability": json_number(sc.probability),
                    "prior_frequency": json_number(counts[k] as f64 / draws),
                    "probability": json_number(probabilities[k]),
                    "frequency": json_number(probabilities[k]),
                    "ess": json_number(update.scenario_ess[k]),
                    "draws": counts[k],
                    "outputs": per_output,
                }),
            );
        }
        // The prior document with its statistics replaced by the weighted ones, so that the
        // report renders it like any run; the prior's headline figures stay under "prior".
        let grid = crate::report::distribution_grid();
        let mut distributions = Map::new();
        for (o, name) in names.iter().enumerate() {
            let values: Vec<Value> = update.stats.histograms[o]
                .quantiles_and_tail_means(&grid)
                .iter()
                .map(|r| json_number(r.0))
                .collect();
            distributions.insert(name.clone(), Value::Array(values));
        }
        let mut doc = prior.clone();
        let warning = update.warning();
        let prior_scenarios: Map<String, Value> = model
            .scenarios
            .iter()
            .zip(counts)
            .map(|(sc, &c)| {
                (
                    sc.id.clone(),
                    json!({"probability": json_number(sc.probability), "frequency": json_number(c as f64 / draws)}),
                )
            })
            .collect();
        doc["prior"] = json!({
            "outputs": prior["outputs"].clone(),
            "scenarios": prior_scenarios,
            "distributions": prior["distributions"]["outputs"].clone(),
        });
        doc["outputs"] = Value::Object(outputs);
        doc["scenarios"] = Value::Object(scenarios);
        doc["distributions"]["outputs"] = Value::Object(distributions);
        doc["update"] = json!({
            "observations": update.observations,
            "ess": json_number(update.ess),
            "log_evidence": json_number(update.log_evidence),
            "warnings": warning.iter().collect::<Vec<_>>(),
            "weights": format!("w = prod_k phi((y_k - x_k)/sd_k), stored as floor(w/phi_max * 2^{}) in exact integer sums", crate::stats::WEIGHT_BITS),
        });
        if let (Some(w), Some(list)) = (warning, doc["warnings"].as_array_mut()) {
            list.push(Value::String(w));
        }
        Some(doc)
    }
}

/// Runs `model` with `config`, scoring the draws against `observations` and, when any has an
/// `sd`, updating the forecast on them. `observers` see every block as in an ordinary run.
/// The run covers all the draws in this process; see [`run_backtest_with`] for shards and
/// checkpoints.
pub fn run_backtest(
    model: &Model,
    config: &RunConfig,
    observations: &[Observation],
    observers: &[&dyn Observer],
) -> Result<Backtest, BacktestError> {
    match run_backtest_with(
        model,
        config,
        observations,
        observers,
        BacktestSetup::default(),
    )? {
        BacktestRun::Done(backtest) => Ok(*backtest),
        BacktestRun::Part(_) => unreachable!("a backtest of every block is done"),
    }
}

/// How a backtest's run is split and saved: by default every block in one go.
pub struct BacktestSetup<'a> {
    /// The model's source text (partial results carry it; needed with a shard or a checkpoint).
    pub model_text: &'a str,
    /// The observation file as given, named in messages and in partial results.
    pub observed_file: &'a str,
    /// Which blocks to run (a shard writes a partial result for `tariffsim merge`).
    pub range: BlockRange,
    /// Saves the state (with the backtest's) after groups of blocks.
    pub checkpoint: Option<&'a dyn Checkpoint>,
    /// The saved state to continue from (with `checkpoint`).
    pub resume: Option<PartialResult>,
}

impl Default for BacktestSetup<'_> {
    fn default() -> Self {
        BacktestSetup {
            model_text: "",
            observed_file: "",
            range: BlockRange::All,
            checkpoint: None,
            resume: None,
        }
    }
}

/// What a backtest run gives: the scores and update of the whole run, or a shard's partial
/// result (with its [`BacktestState`]) to merge.
pub enum BacktestRun {
    /// Every block was run here (possibly resumed from a checkpoint).
    Done(Box<Backtest>),
    /// A shard: its partial result.
    Part(Box<PartialResult>),
}

/// [`run_backtest`] with a block range, a checkpoint and a state to resume from: the backtest's
/// own state (observed draws, weighted statistics) is saved with every checkpoint and in the
/// shard's partial result, so that a resumed run or merged shards give the same bits as one
/// process.
pub fn run_backtest_with(
    model: &Model,
    config: &RunConfig,
    observations: &[Observation],
    observers: &[&dyn Observer],
    setup: BacktestSetup<'_>,
) -> Result<BacktestRun, BacktestError> {
    // The moment shifts of the run's own statistics (outputs at the median input).
    let n_outputs = crate::outputs::output_count(model);
    let shifts: Vec<f64> = {
        let engine = Engine::new(model, config)?;
        (0..n_outputs).map(|o| engine.shift(o)).collect()
    };
    let sink = BacktestSink {
        observations,
        observed_file: setup.observed_file.to_string(),
        sha256: observations_sha256(observations),
        draws: config.draws,
        n_scenarios: model.scenarios.len(),
        shifts,
        columns: Mutex::new(Columns {
            first_draw: 0,
            len: 0,
            data: Vec::new(),
        }),
        pool: Mutex::new(Vec::new()),
        update: observations.iter().any(|o| o.sd.is_some()),
    };
    let mut run = Run::new(model, config)
        .model_text(setup.model_text)
        .blocks(setup.range)
        .observe_with_state(&sink);
    for o in observers {
        run = run.observe(*o);
    }
    if let Some(ck) = setup.checkpoint {
        run = run.checkpoint(ck, setup.resume);
    }
    let mut outcome: RunOutcome = run.execute()?;
    if setup.range != BlockRange::All {
        return Ok(BacktestRun::Part(Box::new(outcome.partial)));
    }
    let state = outcome
        .partial
        .backtest
        .take()
        .ok_or_else(|| RunError::Observer("the backtest's state was not saved".into()))?;
    let shifts = sink.shifts;
    conclude(outcome, state, shifts).map(|b| BacktestRun::Done(Box::new(b)))
}

/// The scores and the update of a whole run from its statistics and its backtest state.
fn conclude(
    run: RunOutcome,
    state: BacktestState,
    shifts: Vec<f64>,
) -> Result<Backtest, BacktestError> {
    let observations = state.observations;
    let scores = state
        .columns
        .into_iter()
        .zip(&observations)
        .map(|(mut column, o)| score(&mut column, o))
        .collect();
    let draws = run.stats.draws();
    let update = match state.weighted {
        Some(merged) => {
            let total: u128 = merged.weight.iter().sum();
            if total == 0 {
                let observed: Vec<String> = observations
                    .iter()
                    .filter_map(|o| {
                        o.sd.map(|sd| format!("{} = {} (sd {sd})", o.output, o.value))
                    })
                    .collect();
                return Err(BacktestError::Underflow(format!(
                    "every draw's weight underflows: the observations ({}) lie outside what the model can produce (more than ~11 sd from every one of the {draws} draws); check the observations and their units, or widen the model's priors",
                    observed.join(", "),
                )));
            }
            let w = weight_value(total);
            let (mut all_w, mut all_sq) = (ExactSum::new(), ExactSum::new());
            merged.weight_f64.iter().for_each(|s| all_w.merge(s));
            merged.weight_sq.iter().for_each(|s| all_sq.merge(s));
            let sum_w = all_w.value();
            let ess = sum_w * sum_w / all_sq.value();
            let scenario_ess = merged
                .weight_f64
                .iter()
                .zip(&merged.weight_sq)
                .map(|(w, sq)| {
                    let (w, sq) = (w.value(), sq.value());
                    if sq > 0.0 {
                        w * w / sq
                    } else {
                        0.0
                    }
                })
                .collect();
            let norm: f64 = observations
                .iter()
                .filter_map(|o| o.sd)
                .map(|sd| (sd * (2.0 * std::f64::consts::PI).sqrt()).ln())
                .sum();
            let log_evidence = w.ln() - (draws as f64).ln() - norm;
            Some(Update {
                stats: merged,
                shifts,
                ess,
                scenario_ess,
                log_evidence,
                observations: observations.iter().filter(|o| o.sd.is_some()).count(),
            })
        }
        None => None,
    };
    Ok(Backtest {
        run,
        scores,
        update,
    })
}

/// The model a backtest runs: `model` with its monthly outputs switched on when the horizon
/// is a whole number of months (observations may name any monthly output), as the override
/// `model.monthly=true` (so the summary records it like `--monthly`).
pub fn backtest_model(model: &Model) -> Result<Model, crate::model::OverrideError> {
    if crate::model::whole_months_horizon(model) && !model.monthly {
        crate::model::apply_overrides(model, &[format!("{}=true", crate::model::MONTHLY_PATH)])
    } else {
        Ok(model.clone())
    }
}

/// Everything a backtest produces, computed before anything is written: what `tariffsim
/// backtest` writes and what the Python package returns come from here.
pub struct BacktestResult {
    /// The run, its scores and its update.
    pub backtest: Backtest,
    /// The run's settings and timing, as `summary.json` records them.
    pub info: crate::summary::RunInfo,
    /// `summary.json` of the (prior) run.
    pub prior: Value,
    /// `backtest.json`.
    pub backtest_json: Value,
    /// `updated/summary.json`, when any observation has an sd.
    pub updated_json: Option<Value>,
}

/// Runs a backtest of `model` (see [`backtest_model`] for the model to pass) against
/// `observations` and builds its documents: the one computation behind `tariffsim backtest`
/// and `Model.backtest` of the Python package, so the two give the same bits.
pub fn run_backtest_documents(
    model: &Model,
    config: &RunConfig,
    observations: &[Observation],
    observers: &[&dyn Observer],
) -> Result<BacktestResult, BacktestError> {
    let backtest = run_backtest(model, config, observations, observers)?;
    Ok(backtest_documents(model, config, backtest))
}

/// The documents of a finished backtest of `model` run with `config` (its seed and sampler).
pub fn backtest_documents(model: &Model, config: &RunConfig, backtest: Backtest) -> BacktestResult {
    let info = crate::summary::RunInfo {
        draws: backtest.run.stats.draws(),
        seed: config.seed,
        sampler: config.sampler_label(),
        threads: backtest.run.threads,
        elapsed_s: backtest.run.elapsed.as_secs_f64(),
        stopping: None,
    };
    let prior = crate::report::summary_json(model, &info, &backtest.run.stats);
    let backtest_json = backtest.backtest_json();
    let updated_json = backtest.updated_json(model, &prior);
    BacktestResult {
        backtest,
        info,
        prior,
        backtest_json,
        updated_json,
    }
}

/// The backtest of merged partial results (`tariffsim merge` of the shards of `tariffsim
/// backtest`): `merged` must cover every block and carry the backtest's state. Returns the
/// run's model (rebuilt from the stored text and overrides) and the same documents, to the
/// bit, as one process would have made.
pub fn backtest_from_partial(
    mut merged: PartialResult,
) -> Result<(Model, BacktestResult), BacktestError> {
    let model = merged.model().map_err(RunError::from)?;
    let config = merged.config().map_err(RunError::from)?;
    let state = merged.backtest.take().ok_or_else(|| {
        RunError::Partial(PartialError::Mismatch(
            "the partial results are of a run, not of a backtest".into(),
        ))
    })?;
    let n_outputs = crate::outputs::output_count(&model);
    let shifts: Vec<f64> = {
        let engine = Engine::new(
            &model,
            &RunConfig {
                threads: 1,
                ..config.clone()
            },
        )?;
        (0..n_outputs).map(|o| engine.shift(o)).collect()
    };
    let run = RunOutcome {
        stats: merged.stats.clone(),
        threads: merged.threads,
        elapsed: Duration::from_secs_f64(merged.elapsed_s),
        stopping: None,
        partial: merged,
    };
    let backtest = conclude(run, state, shifts)?;
    let documents = backtest_documents(&model, &config, backtest);
    Ok((model, documents))
}
