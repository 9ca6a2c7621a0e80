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
    /// The output's unit (`crate::outputs::unit`), set where the model is known (a run's
    /// `Summary`); absent in summaries written before it existed (issue 15, item 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
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

/// Outputs whose moments `RunStats::add_moments` accumulates together.
const MOMENT_LANES: usize = 8;

/// `MOMENT_LANES` (or, the last, fewer) neighbouring outputs of a block, with their running
/// min and max and the block's sums per scenario.
struct MomentGroup<'a> {
    rows: ArrayView2<'a, f64>,
    first: usize,
    lanes: usize,
    shifts: &'a [f64],
    min: &'a mut [f64],
    max: &'a mut [f64],
    sums: &'a mut [[[f64; MOMENT_LANES]; 2]],
    scenarios: &'a [u32],
}

impl MomentGroup<'_> {
    /// Per draw d (in order) and lane j: x = output first + j, Σ (x − shift) and Σ (x − shift)²
    /// of the draw's scenario, min, max. A group of fewer lanes pads with copies of its first
    /// output, whose sums are not read.
    #[inline(always)]
    fn accumulate(self) {
        let mut shift = [0.0; MOMENT_LANES];
        let (mut min, mut max) = (
            [f64::INFINITY; MOMENT_LANES],
            [f64::NEG_INFINITY; MOMENT_LANES],
        );
        let mut column = [self.first; MOMENT_LANES];
        for j in 0..self.lanes {
            shift[j] = self.shifts[j];
            min[j] = self.min[j];
            max[j] = self.max[j];
            column[j] = self.first + j;
        }
        assert!(self.first + self.lanes <= self.rows.ncols());
        for (d, &k) in self.scenarios.iter().enumerate().take(self.rows.nrows()) {
            // SAFETY: d < nrows (the `take`), every column < ncols (asserted above).
            let x: [f64; MOMENT_LANES] =
                std::array::from_fn(|j| unsafe { *self.rows.uget((d, column[j])) });
            let [s1, s2] = &mut self.sums[k as usize];
            for j in 0..MOMENT_LANES {
                let dx = x[j] - shift[j];
                s1[j] += dx;
                s2[j] += dx * dx;
                min[j] = min[j].min(x[j]);
                max[j] = max[j].max(x[j]);
            }
        }
        self.min.copy_from_slice(&min[..self.lanes]);
        self.max.copy_from_slice(&max[..self.lanes]);
    }

    /// `accumulate` compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn accumulate_avx2(self) {
        self.accumulate()
    }

    /// `accumulate` compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    fn accumulate_avx512(self) {
        self.accumulate()
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
    /// Per-block scratch sums of `MOMENT_LANES` outputs per scenario (Σ d, Σ d²), reused to
    /// avoid allocating per block.
    #[serde(skip)]
    group_sums: Vec<[[f64; MOMENT_LANES]; 2]>,
    #[serde(skip)]
    block_counts: Vec<u64>,
    /// One scenario output's values of a block, per scenario (reused from block to block).
    #[serde(skip)]
    by_scenario: Vec<Vec<f64>>,
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
            group_sums: vec![[[0.0; MOMENT_LANES]; 2]; n_scenarios],
            block_counts: vec![0; n_scenarios],
            by_scenario: vec![Vec::new(); n_scenarios],
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
        // Each scenario's values of the block, in draw order, inserted as one slice: the
        // counts of inserting them one at a time, at the cost per value of `insert_slice`.
        if self.by_scenario.len() < self.n_scenarios {
            self.by_scenario.resize_with(self.n_scenarios, Vec::new);
        }
        for (i, &o) in SCENARIO_OUTPUTS.iter().enumerate() {
            self.by_scenario.iter_mut().for_each(Vec::clear);
            for (&x, &k) in rows.column(o).iter().zip(scenarios) {
                self.by_scenario[k as usize].push(x);
            }
            for (k, xs) in self.by_scenario[..self.n_scenarios].iter().enumerate() {
                self.scenario_histograms[k * SCENARIO_OUTPUTS.len() + i].insert_slice(xs);
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
        self.add_moments(rows, scenarios);
        // Column by column: one output's histogram pages stay in cache for the whole block.
        for (o, column) in rows.columns().into_iter().enumerate() {
            let histogram = &mut self.histograms[o];
            match column.as_slice() {
                Some(xs) => histogram.insert_slice(xs),
                None => column.iter().for_each(|&x| histogram.insert(x)),
            }
        }
        for (c, b) in self.counts.iter_mut().zip(&self.block_counts) {
            *c += b;
        }
    }

    /// The block's moments (per scenario), min and max of every output.
    ///
    /// Eight outputs at a time: lane j of a step holds output o + j of one draw, so every sum
    /// still adds its scenario's draws one after the other, in draw order, and min and max see
    /// the same values in the same order: the bits of one output at a time (tested), with 8
    /// (AVX-512) or 4 (AVX2) outputs per instruction.
    fn add_moments(&mut self, rows: ArrayView2<f64>, scenarios: &[u32]) {
        let (n_out, n_sc) = (self.n_outputs, self.n_scenarios);
        if self.group_sums.len() < n_sc {
            self.group_sums.resize(n_sc, [[0.0; MOMENT_LANES]; 2]);
        }
        let mut o = 0;
        while o < n_out {
            let lanes = (n_out - o).min(MOMENT_LANES);
            self.group_sums[..n_sc]
                .iter_mut()
                .for_each(|s| *s = [[0.0; MOMENT_LANES]; 2]);
            let group = MomentGroup {
                rows,
                first: o,
                lanes,
                shifts: &self.shifts[o..o + lanes],
                min: &mut self.min[o..o + lanes],
                max: &mut self.max[o..o + lanes],
                sums: &mut self.group_sums[..n_sc],
                scenarios,
            };
            #[cfg(target_arch = "x86_64")]
            if crate::fastmath::has_avx512() {
                // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
                unsafe { group.accumulate_avx512() };
            } else if crate::fastmath::has_avx2() {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { group.accumulate_avx2() };
            } else {
                group.accumulate();
            }
            #[cfg(not(target_arch = "x86_64"))]
            group.accumulate();
            for (k, [s1, s2]) in self.group_sums[..n_sc].iter().enumerate() {
                let count = self.block_counts[k];
                if count == 0 {
                    continue;
                }
                for j in 0..lanes {
                    let m = &mut self.moments[k * n_out + o + j];
                    m.count += count;
                    m.sum.add(s1[j]);
                    m.sum_sq.add(s2[j]);
                }
            }
            o += lanes;
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
            unit: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The bits of `x`, with every NaN as one: which NaN a sum of NaNs gives depends on the
    /// order of the operands of each addition, which the compiler may swap (IEEE addition is
    /// commutative in value), and no NaN is written out (`null` in JSON).
    fn bits(x: f64) -> u64 {
        if x.is_nan() {
            f64::NAN.to_bits()
        } else {
            x.to_bits()
        }
    }

    /// One output at a time, as `add_block` summed before the outputs were grouped: per
    /// scenario (Σ d, Σ d²), then min and max.
    fn one_output_at_a_time(
        rows: ArrayView2<f64>,
        scenarios: &[u32],
        shifts: &[f64],
        n_scenarios: usize,
    ) -> Vec<u64> {
        let mut out = Vec::new();
        for (o, column) in rows.columns().into_iter().enumerate() {
            let mut sums = vec![(0.0, 0.0); n_scenarios];
            let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
            for (&x, &k) in column.iter().zip(scenarios) {
                let d = x - shifts[o];
                let s = &mut sums[k as usize];
                s.0 += d;
                s.1 += d * d;
                min = min.min(x);
                max = max.max(x);
            }
            out.extend(sums.iter().flat_map(|s| [s.0, s.1]).map(bits));
            out.extend([bits(min), bits(max)]);
        }
        out
    }

    fn grouped(
        rows: ArrayView2<f64>,
        scenarios: &[u32],
        shifts: &[f64],
        n_scenarios: usize,
        level: crate::fastmath::SimdLevel,
    ) -> Vec<u64> {
        let n_out = rows.ncols();
        let mut out = vec![Vec::new(); n_out];
        let mut o = 0;
        while o < n_out {
            let lanes = (n_out - o).min(MOMENT_LANES);
            let mut sums = vec![[[0.0; MOMENT_LANES]; 2]; n_scenarios];
            let mut min = vec![f64::INFINITY; lanes];
            let mut max = vec![f64::NEG_INFINITY; lanes];
            let group = MomentGroup {
                rows,
                first: o,
                lanes,
                shifts: &shifts[o..o + lanes],
                min: &mut min,
                max: &mut max,
                sums: &mut sums,
                scenarios,
            };
            match level {
                crate::fastmath::SimdLevel::Generic => group.accumulate(),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked that the CPU has AVX2.
                crate::fastmath::SimdLevel::Avx2 => unsafe { group.accumulate_avx2() },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the caller checked that the CPU has AVX-512.
                crate::fastmath::SimdLevel::Avx512 => unsafe { group.accumulate_avx512() },
                #[cfg(not(target_arch = "x86_64"))]
                _ => unreachable!(),
            }
            for j in 0..lanes {
                let lane = &mut out[o + j];
                lane.extend(sums.iter().flat_map(|[s1, s2]| [s1[j], s2[j]]).map(bits));
                lane.extend([bits(min[j]), bits(max[j])]);
            }
            o += lanes;
        }
        out.concat()
    }

    #[test]
    fn grouped_moments_give_the_bits_of_one_output_at_a_time() {
        use crate::fastmath::SimdLevel;
        let specials = [
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            -5.0,
        ];
        // Output counts that end inside a group, and both memory layouts of the rows.
        for (n, n_out, seed) in [(1024, 85, 1u64), (100, 8, 2), (37, 3, 3), (64, 17, 4)] {
            let mut state = seed;
            let mut next = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                state
            };
            let values: Vec<f64> = (0..n * n_out)
                .map(|i| {
                    let r = next();
                    if i % 31 == 0 {
                        specials[(r >> 60) as usize % specials.len()]
                    } else {
                        ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.4) * 1e3
                    }
                })
                .collect();
            let scenarios: Vec<u32> = (0..n).map(|_| (next() >> 62) as u32).collect();
            let shifts: Vec<f64> = (0..n_out).map(|o| o as f64 - 20.0).collect();
            let by_rows = Array2::from_shape_vec((n, n_out), values.clone()).unwrap();
            let by_columns = Array2::from_shape_vec((n_out, n), values).unwrap();
            for rows in [by_rows.view(), by_columns.view().reversed_axes()] {
                let want = one_output_at_a_time(rows, &scenarios, &shifts, 4);
                for level in [SimdLevel::Generic, SimdLevel::Avx2, SimdLevel::Avx512] {
                    if level <= SimdLevel::detected() {
                        let got = grouped(rows, &scenarios, &shifts, 4, level);
                        assert!(got == want, "{level:?}, {n} × {n_out}");
                    }
                }
            }
        }
    }
}
