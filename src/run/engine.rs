//! The parallel part of the driver: runs a range of blocks on a thread pool and merges their
//! statistics exactly, so results are bit-identical for any thread count (ARCHITECTURE.md).
//!
//! A block's points come only from (seed, block index), its statistics merge exactly, and
//! observers that care about order (the draws file) reorder blocks themselves: nothing depends
//! on which thread ran which block.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use ndarray::ArrayView2;

use super::stopping::BatchMeans;
use super::{Observer, RunConfig, RunError, Setting};
use crate::kernel::Evaluator;
use crate::model::Model;
use crate::sampling::{block_count, PointSet, BLOCK_SIZE};
use crate::stats::RunStats;

/// One finished block, as handed to observers (draw writers, progress bars).
#[derive(Debug)]
pub struct BlockView<'a> {
    /// Block index.
    pub block: u64,
    /// Global index of the block's first draw.
    pub first_draw: u64,
    /// Draw × value matrix (parameters then constants).
    pub values: ArrayView2<'a, f64>,
    /// Picked scenario per draw.
    pub scenarios: &'a [u32],
    /// Draw × output matrix.
    pub outputs: ArrayView2<'a, f64>,
}

/// What a range of blocks gives the driver: merged statistics and, when a standard error is
/// targeted, each block's (draws, sum of the output − shift), in block order.
pub(super) struct RangeResult {
    pub stats: RunStats,
    pub sums: Vec<(u64, f64)>,
}

/// (block, draws, sum of the output − shift) of the blocks a worker ran.
type BlockSums = Vec<(u64, u64, f64)>;

/// A model and run settings made ready to run any range of blocks: the thread pool, the
/// evaluator and the point set are built once and reused for every group of blocks.
pub struct Engine<'m> {
    model: &'m Model,
    config: RunConfig,
    pool: rayon::ThreadPool,
    threads: usize,
    evaluator: Evaluator<'m>,
    points: Box<dyn PointSet>,
    shifts: Vec<f64>,
}

impl<'m> Engine<'m> {
    /// Prepares a run of `config` on `model`.
    pub fn new(model: &'m Model, config: &RunConfig) -> Result<Self, RunError> {
        let threads = if config.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            config.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| {
                RunError::invalid(
                    &[Setting::Threads],
                    format!("cannot start {threads} threads: {e}"),
                )
            })?;
        let dim = model.dimension;
        let points = config
            .sampler
            .point_set(dim, config.draws, config.seed, config.antithetic)
            .map_err(|e| super::sampler_error(config.sampler, dim, e))?;
        let evaluator = Evaluator::new(model);
        // Per-output shifts for the moment sums: the outputs at the median input.
        let shifts = evaluator
            .median_outputs()
            .into_iter()
            .map(|x| if x.is_finite() { x } else { 0.0 })
            .collect();
        Ok(Engine {
            model,
            config: config.clone(),
            pool,
            threads,
            points,
            evaluator,
            shifts,
        })
    }

    /// Worker threads in use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The value near the centre of output `o` that the moment sums are taken around.
    pub fn shift(&self, o: usize) -> f64 {
        self.shifts.get(o).copied().unwrap_or(0.0)
    }

    /// Number of outputs of a draw.
    pub fn n_outputs(&self) -> usize {
        self.shifts.len()
    }

    /// Number of blocks of the whole run.
    pub fn total_blocks(&self) -> u64 {
        block_count(self.config.draws)
    }

    /// Empty statistics of this run, to merge block results into.
    pub fn empty_stats(&self) -> RunStats {
        let stats = RunStats::new(
            self.model.scenarios.len(),
            self.shifts.clone(),
            self.model.dimension,
            self.total_blocks(),
        );
        // MODEL.md §14: a sketch per line only when asked (`--line-outputs`).
        if self.model.line_outputs {
            stats.with_lines(self.model.lines.len())
        } else {
            stats
        }
    }

    /// Runs the blocks in `blocks`; with `sums`, also returns each block's sum of that
    /// batch-means output, in block order.
    pub(super) fn run_blocks(
        &self,
        blocks: Range<u64>,
        observers: &[&dyn Observer],
        sums: Option<&BatchMeans>,
    ) -> Result<RangeResult, RunError> {
        let blocks = blocks.start..blocks.end.min(self.total_blocks());
        let next_block = AtomicU64::new(blocks.start);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<RunError>> = Mutex::new(None);
        let draws = self.config.draws;
        let sum_of = sums.map(|b| (b.output, b.shift));

        // Workers pull blocks from a shared counter (good load balance on a noisy machine); the
        // statistics merge exactly, so the assignment of blocks to workers does not matter.
        let partials: Vec<(RunStats, BlockSums)> = self.pool.install(|| {
            use rayon::prelude::*;
            (0..self.threads)
                .into_par_iter()
                .map(|_| {
                    let mut stats = self.empty_stats();
                    let mut block_sums = Vec::new();
                    let mut buf = self.evaluator.buffers(BLOCK_SIZE as usize);
                    let line_exports: Vec<f64> =
                        self.model.lines.iter().map(|l| l.exports).collect();
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let block = next_block.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks.end {
                            break;
                        }
                        let first = block * BLOCK_SIZE;
                        let n = (draws - first).min(BLOCK_SIZE) as usize;
                        self.points.fill_block(block, first, buf.points_mut(n));
                        self.evaluator.evaluate(&mut buf, n);
                        stats.add_block(
                            block,
                            first,
                            buf.points(n),
                            buf.outputs(n),
                            buf.scenarios(n),
                        );
                        if self.model.line_outputs {
                            stats.add_line_losses(buf.line_losses(), n, &line_exports);
                        }
                        if let Some((o, shift)) = sum_of {
                            // Summed in draw order inside the block: the same value whichever
                            // thread runs it.
                            let mut s = 0.0;
                            for &x in buf.outputs(n).column(o) {
                                s += x - shift;
                            }
                            block_sums.push((block, n as u64, s));
                        }
                        let view = BlockView {
                            block,
                            first_draw: first,
                            values: buf.values(n),
                            scenarios: buf.scenarios(n),
                            outputs: buf.outputs(n),
                        };
                        for observer in observers {
                            if let Err(e) = observer.block(&view) {
                                failed.store(true, Ordering::Relaxed);
                                if let Ok(mut slot) = first_error.lock() {
                                    slot.get_or_insert(e);
                                }
                                break;
                            }
                        }
                    }
                    (stats, block_sums)
                })
                .collect()
        });
        if let Some(e) = first_error.into_inner().ok().flatten() {
            return Err(e);
        }
        // Merged into the first worker's statistics rather than into a fresh copy: one copy of
        // every histogram less at the peak (issue 16); merges are exact, so the same result.
        let mut partials = partials.into_iter();
        let (mut stats, mut sums) = partials
            .next()
            .unwrap_or_else(|| (self.empty_stats(), Vec::new()));
        for (p, s) in partials {
            stats.merge(&p);
            sums.extend(s);
        }
        sums.sort_unstable_by_key(|s| s.0);
        Ok(RangeResult {
            stats,
            sums: sums.into_iter().map(|(_, n, s)| (n, s)).collect(),
        })
    }
}
