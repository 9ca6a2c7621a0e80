//! The engine: splits the draws into fixed-size blocks, runs blocks in parallel, and merges
//! block statistics exactly, so results are bit-identical for any thread count (ARCHITECTURE.md).
//!
//! A block's points come only from (seed, block index), its statistics merge exactly, and
//! saved draws are written in block order: nothing depends on which thread ran which block.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ndarray::{s, Array2, ArrayView2};

use crate::kernel::{Kernel, KernelScratch, ValueColumns};
use crate::model::Model;
use crate::sampling::copula::CopulaScratch;
use crate::sampling::{Antithetic, LatinHypercube, MonteCarlo, PointSet, SamplerError, Sobol};
use crate::stats::RunStats;

/// Draws per block: the unit of parallel work, of random streams, of shards and checkpoints.
pub const BLOCK_SIZE: u64 = 1024;

/// How the points of the unit cube are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerKind {
    /// Independent uniforms, one ChaCha8 stream per block.
    MonteCarlo,
    /// Latin hypercube stratified over the run's declared number of draws.
    LatinHypercube,
    /// Owen-scrambled Sobol points (quasi-Monte Carlo), addressed by draw index.
    Sobol,
}

/// Suffix of a sampler label when antithetic pairs are on (`sobol+antithetic`).
const ANTITHETIC_SUFFIX: &str = "+antithetic";

impl SamplerKind {
    /// Every sampler, in the order the CLI lists them.
    pub const ALL: [SamplerKind; 3] = [
        SamplerKind::MonteCarlo,
        SamplerKind::LatinHypercube,
        SamplerKind::Sobol,
    ];

    /// The name used on the command line and in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::MonteCarlo => "mc",
            SamplerKind::LatinHypercube => "lhs",
            SamplerKind::Sobol => "sobol",
        }
    }

    /// The sampler called `name` on the command line.
    pub fn from_name(name: &str) -> Option<Self> {
        SamplerKind::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The label of a sampler with its antithetic flag, as stored in partial results
    /// (`mc`, `sobol+antithetic`, ...): runs with different labels do not mix.
    pub fn label(self, antithetic: bool) -> String {
        if antithetic {
            format!("{}{ANTITHETIC_SUFFIX}", self.name())
        } else {
            self.name().to_string()
        }
    }

    /// Inverse of [`SamplerKind::label`]: the sampler and the antithetic flag.
    pub fn from_label(label: &str) -> Option<(Self, bool)> {
        match label.strip_suffix(ANTITHETIC_SUFFIX) {
            Some(base) => Some((SamplerKind::from_name(base)?, true)),
            None => Some((SamplerKind::from_name(label)?, false)),
        }
    }

    /// The point set of a run: every sampler feeds the same copula → quantile → kernel path.
    fn point_set(
        self,
        model: &Model,
        config: &RunConfig,
    ) -> Result<Box<dyn PointSet>, EngineError> {
        let dim = model.dimension;
        let seed = config.seed;
        // With antithetic pairs, draw 2k and 2k + 1 share base point k: the base needs half the draws.
        let base_draws = if config.antithetic {
            config.draws.div_ceil(2)
        } else {
            config.draws
        };
        let bad = |e: SamplerError| {
            EngineError::Config(format!(
                "sampler {}: {e} (this model has {dim} coordinates: 1 for the scenario and {} uncertain parameters); accepted: sampler mc or lhs, which have no dimension limit",
                self.name(),
                dim.saturating_sub(1)
            ))
        };
        fn wrap<P: PointSet + 'static>(p: P, antithetic: bool) -> Box<dyn PointSet> {
            if antithetic {
                Box::new(Antithetic::new(p))
            } else {
                Box::new(p)
            }
        }
        Ok(match self {
            SamplerKind::MonteCarlo => wrap(MonteCarlo::new(dim, seed), config.antithetic),
            SamplerKind::LatinHypercube => wrap(
                LatinHypercube::new(dim, base_draws, seed).map_err(bad)?,
                config.antithetic,
            ),
            SamplerKind::Sobol => wrap(Sobol::new(dim, seed).map_err(bad)?, config.antithetic),
        })
    }
}

/// What to run: validated settings, independent of where they came from (CLI, tests, library users).
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Number of draws.
    pub draws: u64,
    /// Seed of the random streams.
    pub seed: u64,
    /// Worker threads; 0 means all cores.
    pub threads: usize,
    /// Point generator.
    pub sampler: SamplerKind,
    /// Antithetic pairs: draw 2k + 1 is the mirror 1 − u of draw 2k.
    pub antithetic: bool,
}

impl RunConfig {
    /// The sampler label of this run (`mc`, `sobol+antithetic`, ...), see [`SamplerKind::label`].
    pub fn sampler_label(&self) -> String {
        self.sampler.label(self.antithetic)
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            draws: 100_000,
            seed: 0,
            threads: 0,
            sampler: SamplerKind::MonteCarlo,
            antithetic: false,
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration cannot be run.
    #[error("invalid run settings: {0}")]
    Config(String),
    /// A block sink (e.g. the draws.csv writer) failed.
    #[error("{0}")]
    Sink(String),
}

/// One finished block, as handed to sinks (draw writers, progress bars).
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

/// Receives every finished block, from any worker thread, in any order.
pub trait BlockSink: Sync {
    /// Called once per block.
    fn block(&self, view: &BlockView<'_>) -> Result<(), EngineError>;
}

/// The merged result of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Merged statistics.
    pub stats: RunStats,
    /// Threads used.
    pub threads: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Number of blocks for `draws` draws.
pub fn block_count(draws: u64) -> u64 {
    draws.div_ceil(BLOCK_SIZE)
}

/// Per-output shifts for the moment sums: the outputs at the median input.
fn moment_shifts(model: &Model, kernel: &Kernel) -> Vec<f64> {
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), model.pick_scenario(0.5), &mut out);
    out.iter()
        .map(|&x| if x.is_finite() { x } else { 0.0 })
        .collect()
}

/// Buffers a worker reuses for every block it runs, so the hot loop does not allocate.
///
/// Values and outputs are stored column by column (value j of draw d at `j * BLOCK_SIZE + d`):
/// each quantile function fills a contiguous column, the kernel reads and writes whole columns,
/// and the statistics read outputs column by column.
struct Workspace {
    points: Array2<f64>,
    /// Value × draw.
    values: Array2<f64>,
    /// Output × draw.
    outputs: Array2<f64>,
    scenarios: Vec<u32>,
    copula_scratch: CopulaScratch,
    kernel_scratch: KernelScratch,
}

impl Workspace {
    fn new(model: &Model, n_outputs: usize) -> Self {
        let rows = BLOCK_SIZE as usize;
        let defaults = model.median_values();
        let mut values = Array2::zeros((defaults.len(), rows));
        for (mut column, &d) in values.outer_iter_mut().zip(&defaults) {
            column.fill(d);
        }
        Workspace {
            points: Array2::zeros((rows, model.dimension)),
            values,
            outputs: Array2::zeros((n_outputs, rows)),
            scenarios: vec![0; rows],
            copula_scratch: CopulaScratch::default(),
            kernel_scratch: KernelScratch::default(),
        }
    }
}

/// A model and run settings made ready to run any range of blocks: the thread pool, the
/// kernel and the point set are built once and reused (shards, checkpoints and MPI ranks run
/// ranges of the same run).
pub struct Engine<'m> {
    model: &'m Model,
    config: RunConfig,
    pool: rayon::ThreadPool,
    threads: usize,
    kernel: Kernel<'m>,
    points: Box<dyn PointSet>,
    shifts: Vec<f64>,
    /// (parameter index, coordinate) of every uncertain parameter.
    uncertain: Vec<(usize, usize)>,
}

impl<'m> Engine<'m> {
    /// Prepares a run of `config` on `model`.
    pub fn new(model: &'m Model, config: &RunConfig) -> Result<Self, EngineError> {
        if config.draws == 0 {
            return Err(EngineError::Config("draws must be at least 1".into()));
        }
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
            .map_err(|e| EngineError::Config(format!("cannot start {threads} threads: {e}")))?;
        let points = config.sampler.point_set(model, config)?;
        let kernel = Kernel::new(model);
        let shifts = moment_shifts(model, &kernel);
        Ok(Engine {
            model,
            config: config.clone(),
            pool,
            threads,
            points,
            kernel,
            shifts,
            uncertain: model
                .params
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.coordinate.map(|c| (i, c)))
                .collect(),
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

    /// Number of blocks of the whole run.
    pub fn total_blocks(&self) -> u64 {
        block_count(self.config.draws)
    }

    /// Empty statistics of this run, to merge block results into.
    pub fn empty_stats(&self) -> RunStats {
        RunStats::new(
            self.model.scenarios.len(),
            self.shifts.clone(),
            self.model.dimension,
            self.total_blocks(),
        )
    }

    /// Runs the blocks in `blocks` and returns their merged statistics.
    pub fn run_blocks(
        &self,
        blocks: Range<u64>,
        sinks: &[&dyn BlockSink],
    ) -> Result<RunStats, EngineError> {
        let blocks = blocks.start..blocks.end.min(self.total_blocks());
        let next_block = AtomicU64::new(blocks.start);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<EngineError>> = Mutex::new(None);
        let model = self.model;
        let draws = self.config.draws;

        // Workers pull blocks from a shared counter (good load balance on a noisy machine); the
        // statistics merge exactly, so the assignment of blocks to workers does not matter.
        let partials: Vec<RunStats> = self.pool.install(|| {
            use rayon::prelude::*;
            (0..self.threads)
                .into_par_iter()
                .map(|_| {
                    let mut stats = self.empty_stats();
                    let mut ws = Workspace::new(model, self.kernel.n_outputs());
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
                        run_block(
                            model,
                            &self.kernel,
                            self.points.as_ref(),
                            &self.uncertain,
                            block,
                            n,
                            &mut ws,
                        );
                        stats.add_block(
                            block,
                            first,
                            ws.points.slice(s![..n, ..]),
                            ws.outputs.slice(s![.., ..n]).reversed_axes(),
                            &ws.scenarios[..n],
                        );
                        let view = BlockView {
                            block,
                            first_draw: first,
                            values: ws.values.slice(s![.., ..n]).reversed_axes(),
                            scenarios: &ws.scenarios[..n],
                            outputs: ws.outputs.slice(s![.., ..n]).reversed_axes(),
                        };
                        for sink in sinks {
                            if let Err(e) = sink.block(&view) {
                                failed.store(true, Ordering::Relaxed);
                                if let Ok(mut slot) = first_error.lock() {
                                    slot.get_or_insert(e);
                                }
                                break;
                            }
                        }
                    }
                    stats
                })
                .collect()
        });
        if let Some(e) = first_error.into_inner().ok().flatten() {
            return Err(e);
        }
        let mut stats = self.empty_stats();
        for p in &partials {
            stats.merge(p);
        }
        Ok(stats)
    }
}

/// Runs blocks `blocks` of a run of `config.draws` draws and returns their merged statistics.
/// A full run passes `0..block_count(draws)`; a shard passes its own range.
pub fn run_blocks(
    model: &Model,
    config: &RunConfig,
    blocks: Range<u64>,
    sinks: &[&dyn BlockSink],
) -> Result<RunOutcome, EngineError> {
    let started = Instant::now();
    let engine = Engine::new(model, config)?;
    let stats = engine.run_blocks(blocks, sinks)?;
    Ok(RunOutcome {
        stats,
        threads: engine.threads(),
        elapsed: started.elapsed(),
    })
}

/// Runs all draws of `config`.
pub fn run(
    model: &Model,
    config: &RunConfig,
    sinks: &[&dyn BlockSink],
) -> Result<RunOutcome, EngineError> {
    run_blocks(model, config, 0..block_count(config.draws), sinks)
}

/// Points → copula → quantiles → kernel for the `n` draws of one block (ARCHITECTURE.md's data flow).
fn run_block(
    model: &Model,
    kernel: &Kernel,
    points: &dyn PointSet,
    uncertain: &[(usize, usize)],
    block: u64,
    n: usize,
    ws: &mut Workspace,
) {
    let dim = model.dimension;
    let first = block * BLOCK_SIZE;
    let flat = ws
        .points
        .as_slice_mut()
        .expect("workspace arrays are contiguous");
    points.fill_block(block, first, &mut flat[..n * dim]);
    if !model.copula.is_identity() {
        model
            .copula
            .apply_block(flat, n, dim, &mut ws.copula_scratch);
    }
    for (d, row) in flat[..n * dim].chunks_exact(dim).enumerate() {
        ws.scenarios[d] = model.pick_scenario(row[0]) as u32;
    }
    // One parameter at a time over the block: the same quantile function in a tight loop,
    // filling the parameter's column.
    let values = ws
        .values
        .as_slice_mut()
        .expect("workspace arrays are contiguous");
    let stride = BLOCK_SIZE as usize;
    for &(param, coord) in uncertain {
        let dist = &model.params[param].dist;
        let column = &mut values[param * stride..][..n];
        for (d, v) in column.iter_mut().enumerate() {
            *v = dist.quantile(flat[d * dim + coord]);
        }
    }
    kernel.evaluate_block(
        &ValueColumns {
            data: values,
            stride,
        },
        &ws.scenarios[..n],
        ws.outputs
            .as_slice_mut()
            .expect("workspace arrays are contiguous"),
        &mut ws.kernel_scratch,
    );
}
