//! Running until the mean of an output is known well enough (`--target-se`).
//!
//! The run is cut into groups of [`GROUP_BLOCKS`] blocks, run one after the other with
//! [`Engine::run_blocks`]. After each whole group, in block order, the standard error of the
//! mean of the target output is compared with the target; the run stops at the first group
//! where it is met, or at `--max-draws`. The check sees exactly the blocks 0..k·32, whose
//! statistics do not depend on the thread count, so the stopping point depends only on the
//! model, the seed and the sampler.
//!
//! The standard error is a batch-means estimate with one batch per block of 1024 draws:
//! SE² = k/(k−1) · Σ_b (s_b − n_b·m)² / N², where s_b is the sum of block b, n_b its draws, m
//! the overall mean, N the draws and k the blocks. For Monte Carlo this is sd/√N up to noise.
//! Unlike sd/√N it stays valid for antithetic pairs (a pair never straddles two blocks) and for
//! Sobol points (each block is a scrambled (t, 10, d)-net), where it is conservative: the
//! whole run is balanced better than its blocks are.
//!
//! Latin hypercube sampling is refused: it stratifies a declared number of draws, and a run
//! stopped early leaves most strata of its hypercube empty, so neither the stratification nor
//! its error estimate would hold. Sobol points are extensible: every prefix of 2^k draws is a
//! net, which is what a run of unknown length needs.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::engine::{BlockSink, BlockView, Engine, EngineError, RunConfig, SamplerKind};
use crate::model::Model;
use crate::stats::RunStats;

/// Blocks per group between two checks of the standard error (32 × 1024 = 32,768 draws).
pub const GROUP_BLOCKS: u64 = 32;

/// What `--target-se` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSe {
    /// Index of the output in the output row.
    pub output: usize,
    /// Its name.
    pub output_name: String,
    /// The standard error to reach (in the output's units, or relative to |mean|).
    pub target: f64,
    /// Whether `target` is relative to the absolute value of the mean.
    pub relative: bool,
}

/// How a `--target-se` run ended (the `run.target_se` object of `summary.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoppingReport {
    /// Output whose mean was targeted.
    pub output: String,
    /// The target as given.
    pub target: f64,
    /// Whether the target is relative to |mean|.
    pub relative: bool,
    /// The cap on draws (`--max-draws`).
    pub max_draws: u64,
    /// Draws actually run.
    pub draws: u64,
    /// Mean of the output at the stop.
    pub mean: f64,
    /// Batch-means standard error of that mean at the stop.
    pub se: f64,
    /// Whether the target was met (false: stopped at `--max-draws`).
    pub converged: bool,
}

/// The result of [`run_to_target`].
#[derive(Debug, Clone)]
pub struct StoppedRun {
    /// Statistics of the draws run.
    pub stats: RunStats,
    /// How the run stopped.
    pub report: StoppingReport,
    /// Worker threads used.
    pub threads: usize,
    /// Wall time, seconds.
    pub elapsed_s: f64,
}

/// Per-block sums of one output, collected from any worker and read in block order.
struct BlockSums {
    output: usize,
    shift: f64,
    sums: Mutex<BTreeMap<u64, (u64, f64)>>,
}

impl BlockSink for BlockSums {
    fn block(&self, view: &BlockView<'_>) -> Result<(), EngineError> {
        // Summed in draw order inside the block: the same value whichever thread runs it.
        let mut s = 0.0;
        for &x in view.outputs.column(self.output) {
            s += x - self.shift;
        }
        let n = view.outputs.nrows() as u64;
        self.sums
            .lock()
            .map_err(|_| EngineError::Sink("block sums poisoned".into()))?
            .insert(view.block, (n, s));
        Ok(())
    }
}

/// Running batch-means sums, fed in block order.
#[derive(Debug, Default)]
struct BatchMeans {
    batches: u64,
    n: f64,
    s: f64,
    s_sq: f64,
    n_s: f64,
    n_sq: f64,
}

impl BatchMeans {
    fn add(&mut self, n: u64, s: f64) {
        let n = n as f64;
        self.batches += 1;
        self.n += n;
        self.s += s;
        self.s_sq += s * s;
        self.n_s += n * s;
        self.n_sq += n * n;
    }

    /// (mean − shift, standard error of the mean); the SE is NaN with fewer than two batches.
    fn mean_se(&self) -> (f64, f64) {
        let m = self.s / self.n;
        if self.batches < 2 {
            return (m, f64::NAN);
        }
        let k = self.batches as f64;
        let ss = (self.s_sq - 2.0 * m * self.n_s + m * m * self.n_sq).max(0.0);
        (m, (k / (k - 1.0) * ss).sqrt() / self.n)
    }
}

/// Runs `config` (whose `draws` is the cap, `--max-draws`) in groups of [`GROUP_BLOCKS`] blocks
/// until the standard error of the mean of `target.output` is at most the target.
pub fn run_to_target(
    model: &Model,
    config: &RunConfig,
    target: &TargetSe,
    sinks: &[&dyn BlockSink],
) -> Result<StoppedRun, EngineError> {
    if config.sampler == SamplerKind::LatinHypercube {
        return Err(EngineError::Config(
            "--target-se cannot be used with --sampler lhs: a Latin hypercube stratifies a declared number of draws, and a run stopped early leaves most of its strata empty; accepted: --sampler sobol (every prefix of 2^k draws is balanced) or mc".into(),
        ));
    }
    if !(target.target > 0.0 && target.target.is_finite()) {
        return Err(EngineError::Config(format!(
            "--target-se {}: accepted: a positive number",
            target.target
        )));
    }
    let started = Instant::now();
    let engine = Engine::new(model, config)?;
    let sums = BlockSums {
        output: target.output,
        shift: engine.shift(target.output),
        sums: Mutex::new(BTreeMap::new()),
    };
    let mut all_sinks: Vec<&dyn BlockSink> = sinks.to_vec();
    all_sinks.push(&sums);
    let total = engine.total_blocks();
    let mut stats = engine.empty_stats();
    let mut batches = BatchMeans::default();
    let mut next = 0;
    let (mut mean, mut se, mut converged) = (f64::NAN, f64::NAN, false);
    while next < total && !converged {
        let end = (next + GROUP_BLOCKS).min(total);
        stats.merge(&engine.run_blocks(next..end, &all_sinks)?);
        next = end;
        let group = std::mem::take(
            &mut *sums
                .sums
                .lock()
                .map_err(|_| EngineError::Sink("block sums poisoned".into()))?,
        );
        for (n, s) in group.into_values() {
            batches.add(n, s);
        }
        let (m, e) = batches.mean_se();
        mean = sums.shift + m;
        se = e;
        let goal = if target.relative {
            target.target * mean.abs()
        } else {
            target.target
        };
        converged = se <= goal;
    }
    Ok(StoppedRun {
        report: StoppingReport {
            output: target.output_name.clone(),
            target: target.target,
            relative: target.relative,
            max_draws: config.draws,
            draws: stats.draws(),
            mean,
            se,
            converged,
        },
        stats,
        threads: engine.threads(),
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}
