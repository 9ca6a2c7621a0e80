//! Streaming statistics of MODEL.md §9, accumulated block by block in memory that does not
//! grow with the number of draws.
//!
//! Every accumulator merges exactly (exact sums, integer counts, histogram bins), so the
//! summary of a run does not depend on how its blocks were spread over threads, shards or
//! restarts: that is what makes results bit-identical for any thread count.

mod convergence;
mod exact_sum;
mod histogram;
mod paged;
mod quantile_se;
pub(crate) mod serde_finite;
mod tornado;
mod weighted;

pub use convergence::{Convergence, ConvergencePoint};
pub use exact_sum::ExactSum;
pub use histogram::{LogHistogram, BIN_BITS, EXACT_CAPACITY};
pub use paged::{Count, PagedCounts, CHUNK_BINS, FLOOR_BINADES};
pub use quantile_se::QuantileSections;
pub use tornado::{TornadoSums, TORNADO_OUTPUTS};
pub use weighted::{fixed_weight, weight_value, WeightedHistogram, WEIGHT_BITS};

use crate::outputs::{EQUITY_DRAWDOWN_PCT, EXPORT_LOSS, FX_DEPRECIATION_PCT, SURPLUS_CHANGE};

/// Draws kept verbatim (the first ones of the run) for scatter plots.
pub const SAMPLE_DRAWS: u64 = 2000;
/// Outputs with a distribution per scenario (for conditional charts).
pub const SCENARIO_OUTPUTS: [usize; 2] = [EXPORT_LOSS, SURPLUS_CHANGE];

/// Outputs with standard errors of their quantiles (see [`QuantileSections`]).
pub const QUANTILE_SE_OUTPUTS: [usize; 4] = [
    crate::outputs::EXPORT_LOSS,
    crate::outputs::SURPLUS_CHANGE,
    crate::outputs::GDP_IMPACT_PCT,
    crate::outputs::STRESS_INDEX,
];
/// One kept draw: (draw index, scenario, export loss, FX depreciation, equity drawdown).
pub type SampleDraw = (u64, u32, f64, f64, f64);

use ndarray::ArrayView2;

/// The quantile levels reported for every output (MODEL.md §9).
pub const QUANTILE_LEVELS: [f64; 9] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];
/// Their keys in `summary.json`, written exactly as MODEL.md §9 spells them.
pub const QUANTILE_KEYS: [&str; 9] = [
    "0.01", "0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95", "0.99",
];
/// Expected-shortfall levels (MODEL.md §9).
pub const ES_LEVELS: [f64; 2] = [0.95, 0.99];
/// Their keys in `summary.json`.
pub const ES_KEYS: [&str; 2] = ["0.95", "0.99"];

/// Summary of one output over the whole run: an entry of `outputs` in `summary.json`
/// (MODEL.md §9). Undefined statistics are NaN here and `null` in JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutputSummary {
    /// Sample mean.
    #[serde(with = "serde_finite")]
    pub mean: f64,
    /// Sample standard deviation (n − 1 denominator).
    #[serde(with = "serde_finite")]
    pub sd: f64,
    /// Standard error of the mean, sd/√n.
    #[serde(with = "serde_finite")]
    pub se_mean: f64,
    /// Smallest value.
    #[serde(with = "serde_finite")]
    pub min: f64,
    /// Largest value.
    #[serde(with = "serde_finite")]
    pub max: f64,
    /// Quantiles at [`QUANTILE_LEVELS`] (written as an object keyed by [`QUANTILE_KEYS`]).
    #[serde(with = "serde_finite::quantiles")]
    pub quantiles: [f64; 9],
    /// Expected shortfall at [`ES_LEVELS`] (keyed by [`ES_KEYS`]).
    #[serde(with = "serde_finite::shortfalls")]
    pub es: [f64; 2],
    /// Standard errors of [`OutputSummary::quantiles`], for the outputs of
    /// [`QUANTILE_SE_OUTPUTS`] only (see [`QuantileSections`]).
    #[serde(
        with = "serde_finite::quantile_ses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub quantile_se: Option<[f64; 9]>,
}

impl OutputSummary {
    /// The quantile at level `p`.
    ///
    /// At a reported level ([`QUANTILE_LEVELS`]: 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95,
    /// 0.99) it is the reported value itself. Between two reported levels it is the linear
    /// interpolation in `p` of their quantiles, an approximation of the true quantile (the
    /// finer grid of `Summary::distribution_quantile` is closer). Outside [0.01, 0.99], or for
    /// a `p` that is not a number, it is NaN: the summary holds nothing there to interpolate.
    pub fn quantile(&self, p: f64) -> f64 {
        interpolate_levels(&QUANTILE_LEVELS, &self.quantiles, p)
    }
}

/// Linear interpolation in `p` of `values` given at increasing `levels`; exact at a level
/// (within 1e-12, so that `0.1` written in any way finds its level), NaN outside.
pub(crate) fn interpolate_levels(levels: &[f64], values: &[f64], p: f64) -> f64 {
    const TOLERANCE: f64 = 1e-12;
    if let Some(i) = levels.iter().position(|&l| (l - p).abs() <= TOLERANCE) {
        return values[i];
    }
    match levels.windows(2).position(|w| w[0] < p && p < w[1]) {
        Some(i) => {
            let t = (p - levels[i]) / (levels[i + 1] - levels[i]);
            values[i] + t * (values[i + 1] - values[i])
        }
        None => f64::NAN,
    }
}

/// Mean and standard deviation of an output conditional on a scenario.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    /// Conditional mean (NaN when the scenario was never drawn).
    #[serde(with = "serde_finite")]
    pub mean: f64,
    /// Conditional standard deviation (NaN with fewer than two draws).
    #[serde(with = "serde_finite")]
    pub sd: f64,
}

/// Exact first and second moments around a fixed shift c.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct ShiftedMoments {
    count: u64,
    sum: ExactSum,
    sum_sq: ExactSum,
}

impl ShiftedMoments {
    fn merge(&mut self, other: &ShiftedMoments) {
        self.count += other.count;
        self.sum.merge(&other.sum);
        self.sum_sq.merge(&other.sum_sq);
    }

    /// (mean, sd) from the correctly rounded sums, so identical for any merge order.
    fn mean_sd(&self, shift: f64) -> (f64, f64) {
        if self.count == 0 {
            return (f64::NAN, f64::NAN);
        }
        let n = self.count as f64;
        let s1 = self.sum.value();
        let s2 = self.sum_sq.value();
        let mean = shift + s1 / n;
        let sd = if self.count > 1 {
            ((s2 - s1 * s1 / n) / (n - 1.0)).max(0.0).sqrt()
        } else {
            f64::NAN
        };
        (mean, sd)
    }
}

/// Mergeable accumulators for every output, overall and per scenario. Serializable, so that
/// shards, checkpoints and MPI ranks can hand partial results over exactly.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    n_outputs: usize,
    n_scenarios: usize,
    /// Per output: a value near the data (the output at the median input), subtracted before
    /// squaring so that the variance does not cancel catastrophically.
    shifts: Vec<f64>,
    /// [scenario][output] moments.
    moments: Vec<ShiftedMoments>,
    min: Vec<f64>,
    max: Vec<f64>,
    histograms: Vec<LogHistogram>,
    /// Per-block scratch sums, reused to avoid allocating per block.
    #[serde(skip)]
    scratch: Vec<(f64, f64)>,
    #[serde(skip)]
    block_counts: Vec<u64>,
    counts: Vec<u64>,
    /// [scenario][SCENARIO_OUTPUTS] histograms.
    scenario_histograms: Vec<LogHistogram>,
    tornado: TornadoSums,
    convergence: Convergence,
    sample: Vec<SampleDraw>,
    /// Per-block quantiles of [`QUANTILE_SE_OUTPUTS`], for their standard errors.
    quantile_sections: QuantileSections,
    /// Per-line sketches of the export loss (`--line-outputs`, MODEL.md §14); `None` without.
    #[serde(default)]
    lines: Option<crate::lines::LineSketches>,
}

impl RunStats {
    /// Empty accumulators for a run of `total_blocks` blocks with points of dimension `dim`;
    /// `shifts` has one value per output near its centre (it only improves rounding).
    pub fn new(n_scenarios: usize, shifts: Vec<f64>, dim: usize, total_blocks: u64) -> Self {
        let n_outputs = shifts.len();
        let tornado_shifts = TORNADO_OUTPUTS.map(|o| shifts[o]);
        RunStats {
            scenario_histograms: (0..n_scenarios * SCENARIO_OUTPUTS.len())
                .map(|_| LogHistogram::new())
                .collect(),
            tornado: TornadoSums::new(dim, tornado_shifts),
            convergence: Convergence::new(total_blocks, shifts[EXPORT_LOSS]),
            sample: Vec::new(),
            quantile_sections: QuantileSections::new(
                QUANTILE_SE_OUTPUTS.iter().map(|&o| shifts[o]).collect(),
            ),
            n_outputs,
            n_scenarios,
            moments: vec![ShiftedMoments::default(); n_scenarios * n_outputs],
            min: vec![f64::INFINITY; n_outputs],
            max: vec![f64::NEG_INFINITY; n_outputs],
            histograms: (0..n_outputs).map(|_| LogHistogram::new()).collect(),
            scratch: vec![(0.0, 0.0); n_scenarios],
            block_counts: vec![0; n_scenarios],
            counts: vec![0; n_scenarios],
            shifts,
            lines: None,
        }
    }

    /// These statistics with a sketch per line for `lines.csv` (`lines` lines; MODEL.md §14).
    pub fn with_lines(mut self, lines: usize) -> Self {
        self.lines = Some(crate::lines::LineSketches::new(lines));
        self
    }

    /// Adds a block's line losses (line after line, `n` draws each; `exports` per line).
    pub fn add_line_losses(&mut self, losses: &[f64], n: usize, exports: &[f64]) {
        if let Some(sketches) = &mut self.lines {
            for (l, &x0) in exports.iter().enumerate() {
                sketches.add(l, &losses[l * n..][..n], x0);
            }
        }
    }

    /// The per-line sketches, when the run kept them.
    pub fn line_sketches(&self) -> Option<&crate::lines::LineSketches> {
        self.lines.as_ref()
    }

    /// Number of draws accumulated.
    pub fn draws(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds block `block` (first draw `first_draw`): `points` is draws × dim (after the
    /// copula), `rows` draws × outputs, `scenarios` the picked scenario per draw.
    pub fn add_block(
        &mut self,
        block: u64,
        first_draw: u64,
        points: ArrayView2<f64>,
        rows: ArrayView2<f64>,
        scenarios: &[u32],
    ) {
        let n_out = self.n_outputs;
        // The tornado ranks inputs; a quarter of the blocks (all of the first 16) estimates its
        // correlations to ±2/√(n/4), plenty for a ranking, at a quarter of the cost.
        if block < 16 || block.is_multiple_of(4) {
            self.tornado.add_block(points, rows);
        }
        self.quantile_sections.add_block(
            block,
            rows.nrows(),
            QUANTILE_SE_OUTPUTS
                .iter()
                .map(|&o| rows.column(o).into_iter()),
        );
        self.convergence
            .add_block(block, rows.column(EXPORT_LOSS).iter().copied());
        for (i, &o) in SCENARIO_OUTPUTS.iter().enumerate() {
            for (&x, &k) in rows.column(o).iter().zip(scenarios) {
                self.scenario_histograms[k as usize * SCENARIO_OUTPUTS.len() + i].insert(x);
            }
        }
        for (d, row) in rows.outer_iter().enumerate() {
            let draw = first_draw + d as u64;
            if draw >= SAMPLE_DRAWS {
                break;
            }
            self.sample.push((
                draw,
                scenarios[d],
                row[EXPORT_LOSS],
                row[FX_DEPRECIATION_PCT],
                row[EQUITY_DRAWDOWN_PCT],
            ));
        }
        self.block_counts.iter_mut().for_each(|c| *c = 0);
        for &k in scenarios {
            self.block_counts[k as usize] += 1;
        }
        // Column by column: one output's histogram pages stay in cache for the whole block.
        for (o, column) in rows.columns().into_iter().enumerate() {
            let shift = self.shifts[o];
            let sums = &mut self.scratch[..self.n_scenarios];
            sums.iter_mut().for_each(|s| *s = (0.0, 0.0));
            let (mut min, mut max) = (self.min[o], self.max[o]);
            for (&x, &k) in column.iter().zip(scenarios) {
                let d = x - shift;
                let s = &mut sums[k as usize];
                s.0 += d;
                s.1 += d * d;
                min = min.min(x);
                max = max.max(x);
            }
            let histogram = &mut self.histograms[o];
            match column.as_slice() {
                Some(xs) => histogram.insert_slice(xs),
                None => column.iter().for_each(|&x| histogram.insert(x)),
            }
            self.min[o] = min;
            self.max[o] = max;
            for (k, &(s1, s2)) in sums.iter().enumerate() {
                let count = self.block_counts[k];
                if count == 0 {
                    continue;
                }
                let m = &mut self.moments[k * n_out + o];
                m.count += count;
                m.sum.add(s1);
                m.sum_sq.add(s2);
            }
        }
        for (c, b) in self.counts.iter_mut().zip(&self.block_counts) {
            *c += b;
        }
    }

    /// Checks statistics read back from a file against `expected`, the empty statistics of the
    /// same run: every table has the run's shape (so no index can fall outside it), the shifts
    /// are the run's, and the counts agree with each other and with `draws` draws in `blocks`
    /// blocks. A damaged partial result is refused here instead of panicking or merging into
    /// wrong results (issue 15, item 1).
    pub fn check_shape(&self, expected: &RunStats, draws: u64, blocks: u64) -> Result<(), String> {
        let (n_out, n_sc) = (self.n_outputs, self.n_scenarios);
        let same_shifts = self.shifts.len() == expected.shifts.len()
            && self
                .shifts
                .iter()
                .zip(&expected.shifts)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if n_out != expected.n_outputs || n_sc != expected.n_scenarios || !same_shifts {
            return Err(format!(
                "statistics of {n_out} outputs and {n_sc} scenarios; the model has {} and {}",
                expected.n_outputs, expected.n_scenarios
            ));
        }
        if self.moments.len() != n_sc * n_out
            || self.min.len() != n_out
            || self.max.len() != n_out
            || self.histograms.len() != n_out
            || self.counts.len() != n_sc
            || self.scenario_histograms.len() != n_sc * SCENARIO_OUTPUTS.len()
        {
            return Err("statistics tables of the wrong length".into());
        }
        let total = self.counts.iter().try_fold(0u64, |a, &c| a.checked_add(c));
        if total != Some(draws) {
            return Err(format!(
                "statistics of {total:?} draws; its blocks hold {draws}"
            ));
        }
        for k in 0..n_sc {
            for o in 0..n_out {
                let m = &self.moments[k * n_out + o];
                if m.count != self.counts[k]
                    || !m.sum.is_well_formed()
                    || !m.sum_sq.is_well_formed()
                {
                    return Err(format!(
                        "moments of scenario {k}, output {o} are inconsistent"
                    ));
                }
            }
            for i in 0..SCENARIO_OUTPUTS.len() {
                let h = self.scenario_histogram(k, i);
                if h.count().checked_add(h.nan_count()) != Some(self.counts[k]) {
                    return Err(format!("histogram of scenario {k} is inconsistent"));
                }
            }
        }
        for o in 0..n_out {
            let h = &self.histograms[o];
            if h.count().checked_add(h.nan_count()) != Some(draws) {
                return Err(format!(
                    "histogram of output {o} holds the wrong number of draws"
                ));
            }
            if h.count() > 0 && (self.min[o] > self.max[o] || self.min[o].is_nan()) {
                return Err(format!("min and max of output {o} are inconsistent"));
            }
        }
        let sorted = self.sample.windows(2).all(|w| w[0].0 < w[1].0);
        let in_range = self
            .sample
            .iter()
            .all(|s| s.0 < SAMPLE_DRAWS && (s.1 as usize) < n_sc);
        if !sorted || !in_range {
            return Err("kept draws out of order or out of range".into());
        }
        match (&self.lines, &expected.lines) {
            (None, None) => {}
            (Some(a), Some(b)) => a.check_shape(b, draws)?,
            _ => return Err("line sketches present in one of the run and its model only".into()),
        }
        self.tornado.check_shape(&expected.tornado, draws)?;
        self.convergence.check_shape(&expected.convergence, draws)?;
        self.quantile_sections
            .check_shape(&expected.quantile_sections, blocks)
    }

    /// Adds another accumulator (exact; the order of merges does not matter).
    pub fn merge(&mut self, other: &RunStats) {
        for (m, o) in self.moments.iter_mut().zip(&other.moments) {
            m.merge(o);
        }
        for o in 0..self.n_outputs {
            self.min[o] = self.min[o].min(other.min[o]);
            self.max[o] = self.max[o].max(other.max[o]);
            self.histograms[o].merge(&other.histograms[o]);
        }
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        for (a, b) in self
            .scenario_histograms
            .iter_mut()
            .zip(&other.scenario_histograms)
        {
            a.merge(b);
        }
        self.quantile_sections.merge(&other.quantile_sections);
        self.tornado.merge(&other.tornado);
        self.convergence.merge(&other.convergence);
        self.sample.extend_from_slice(&other.sample);
        self.sample.sort_by_key(|s| s.0);
        if let (Some(a), Some(b)) = (&mut self.lines, &other.lines) {
            a.merge(b);
        }
    }

    /// Histogram of `SCENARIO_OUTPUTS[i]` over the draws of scenario `k`.
    pub fn scenario_histogram(&self, k: usize, i: usize) -> &LogHistogram {
        &self.scenario_histograms[k * SCENARIO_OUTPUTS.len() + i]
    }

    /// Correlation of coordinate `j` of the point with tornado output `t` (see [`TornadoSums`]).
    pub fn tornado_correlation(&self, t: usize, j: usize) -> f64 {
        self.tornado.correlation(t, j)
    }

    /// The running mean of export loss.
    pub fn convergence(&self) -> Vec<ConvergencePoint> {
        self.convergence.trace()
    }

    /// The first [`SAMPLE_DRAWS`] draws, in draw order.
    pub fn sample(&self) -> &[SampleDraw] {
        &self.sample
    }

    /// Draws that picked each scenario.
    pub fn scenario_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Summary of output `o` over all draws (with the standard errors of its quantiles when
    /// `o` is one of [`QUANTILE_SE_OUTPUTS`]).
    pub fn output_summary(&self, o: usize) -> OutputSummary {
        let mut all = ShiftedMoments::default();
        for k in 0..self.n_scenarios {
            all.merge(&self.moments[k * self.n_outputs + o]);
        }
        let (mean, sd) = all.mean_sd(self.shifts[o]);
        let n = all.count as f64;
        let levels: Vec<f64> = QUANTILE_LEVELS.iter().chain(&ES_LEVELS).copied().collect();
        let found = self.histograms[o].quantiles_and_tail_means(&levels);
        let mut quantiles = [f64::NAN; 9];
        for (q, f) in quantiles.iter_mut().zip(&found) {
            *q = f.0;
        }
        let es = [found[9].1, found[10].1];
        OutputSummary {
            mean,
            sd,
            se_mean: sd / n.sqrt(),
            min: self.min[o],
            max: self.max[o],
            quantiles,
            es,
            quantile_se: QUANTILE_SE_OUTPUTS
                .iter()
                .position(|&q| q == o)
                .map(|i| self.quantile_ses(i)),
        }
    }

    /// Standard errors of the quantiles of output `QUANTILE_SE_OUTPUTS[i]` at
    /// [`QUANTILE_LEVELS`], by sectioning over full blocks (see [`QuantileSections`]).
    pub fn quantile_ses(&self, i: usize) -> [f64; 9] {
        self.quantile_sections.standard_errors(i)
    }

    /// Mean and sd of output `o` over the draws that picked scenario `k`.
    pub fn scenario_moments(&self, k: usize, o: usize) -> Moments {
        let (mean, sd) = self.moments[k * self.n_outputs + o].mean_sd(self.shifts[o]);
        Moments { mean, sd }
    }

    /// Smallest and largest value of output `o` (NaN excluded; (inf, −inf) before any draw).
    pub fn range(&self, o: usize) -> (f64, f64) {
        (self.min[o], self.max[o])
    }

    /// The histogram of output `o` (for reports: densities, CDFs, tail quantiles).
    pub fn histogram(&self, o: usize) -> &LogHistogram {
        &self.histograms[o]
    }

    /// Approximate heap bytes held (histograms dominate).
    pub fn heap_bytes(&self) -> usize {
        self.histograms
            .iter()
            .map(|h| h.heap_bytes())
            .sum::<usize>()
            + self.lines.as_ref().map_or(0, |l| l.heap_bytes())
    }
}
