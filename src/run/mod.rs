//! The run driver: ONE loop that runs a model with a [`RunConfig`], in the style of argmin's
//! executor. What varies between runs plugs into it:
//!
//! - a stopping rule ([`StopRule`]): all the configured draws, or until the standard error of
//!   an output's mean reaches a target ([`TargetSe`]);
//! - a block range ([`BlockRange`]): the whole run, or shard k of n (and, under MPI, one
//!   rank's share, see [`Run::execute_ranks`]);
//! - observers ([`Observer`]): progress bars, the draws.csv writer, anything that wants every
//!   finished block;
//! - a checkpoint ([`Checkpoint`]): the state after each group of blocks, to resume from;
//! - an observer that accumulates state of its own ([`Stateful`], a backtest's observed
//!   draws and weighted statistics): its state is saved with every checkpoint and in the
//!   partial result, and restored when a run resumes, so it merges and resumes like the
//!   statistics.
//!
//! Blocks of [`BLOCK_SIZE`](crate::sampling::BLOCK_SIZE) draws run in parallel; the driver
//! works through its block range in groups (32 blocks when a standard error is targeted, 64
//! when checkpoints are saved, else the whole range at once) and merges each group's
//! statistics in block order. Statistics merge exactly, so the result is bit-identical for any
//! thread count, grouping, shard split or restart.
//!
//! Every combination of these is checked by one step, [`Run::validate`], before any work
//! starts; those that cannot work are refused with the reason.
//!
//! ```
//! use tariffsim::model;
//! use tariffsim::run::{Run, RunConfig, StopRule, TargetSe};
//! let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml").unwrap();
//! let config = RunConfig { draws: 200_000, ..Default::default() };
//! // Stop as soon as the mean export loss is known to ±0.2 (one standard error).
//! let target = TargetSe::new(&model, "export_loss", 0.2, false).unwrap();
//! let outcome = Run::new(&model, &config).stop(StopRule::TargetSe(target)).execute().unwrap();
//! let report = outcome.stopping.unwrap();
//! assert!(report.converged && report.se <= 0.2 && outcome.stats.draws() < 200_000);
//! ```

mod engine;
pub mod partial;
pub mod stopping;

use std::ops::Range;
use std::time::{Duration, Instant};

pub use crate::mpi::MpiWorld;
pub use engine::{BlockView, Engine};
pub use partial::{PartialError, PartialResult};
pub use stopping::{StoppingReport, TargetSe, GROUP_BLOCKS};

use crate::model::Model;
use crate::sampling::block_count;
pub use crate::sampling::SamplerKind;
use crate::stats::RunStats;
use stopping::BatchMeans;

/// What to run: validated settings, independent of where they came from (CLI, tests, library users).
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Number of draws (with a [`StopRule::TargetSe`], the most draws the run may use).
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

/// A run setting, named as in the library (the command line maps each to its flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// [`RunConfig::draws`].
    Draws,
    /// [`RunConfig::threads`].
    Threads,
    /// [`RunConfig::sampler`].
    Sampler,
    /// The target of a [`StopRule::TargetSe`].
    TargetSe,
    /// The output of a [`StopRule::TargetSe`].
    TargetOutput,
    /// A [`BlockRange::Shard`].
    Shard,
    /// A [`Checkpoint`].
    Checkpoint,
    /// The state a checkpointed run resumes from.
    Resume,
    /// An observer that must see every block of the run (the draws file).
    SaveDraws,
    /// A run split over MPI ranks.
    MpiRanks,
}

impl Setting {
    /// The setting's name (`sampler`, `target_se`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Setting::Draws => "draws",
            Setting::Threads => "threads",
            Setting::Sampler => "sampler",
            Setting::TargetSe => "target_se",
            Setting::TargetOutput => "target_output",
            Setting::Shard => "shard",
            Setting::Checkpoint => "checkpoint",
            Setting::Resume => "resume",
            Setting::SaveDraws => "save_draws",
            Setting::MpiRanks => "mpi_ranks",
        }
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings, alone or combined, that cannot be run; `settings` names them.
    #[error("{}: {message}", settings.iter().map(|s| s.key()).collect::<Vec<_>>().join(" with "))]
    Invalid {
        /// The settings involved.
        settings: Vec<Setting>,
        /// The rule broken and what is accepted.
        message: String,
    },
    /// An observer or the checkpoint failed (e.g. a file could not be written).
    #[error("{0}")]
    Observer(String),
    /// The state to resume from, or the partial results of the ranks, do not fit the run.
    #[error(transparent)]
    Partial(#[from] PartialError),
}

impl RunError {
    fn invalid(settings: &[Setting], message: impl Into<String>) -> Self {
        RunError::Invalid {
            settings: settings.to_vec(),
            message: message.into(),
        }
    }
}

/// When a run stops.
#[derive(Debug, Clone, PartialEq)]
pub enum StopRule {
    /// After all of [`RunConfig::draws`] (of the block range).
    AllDraws,
    /// When the standard error of an output's mean meets a target, checked after every
    /// [`GROUP_BLOCKS`] blocks; [`RunConfig::draws`] is the cap.
    TargetSe(TargetSe),
}

/// Which blocks of the run this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRange {
    /// Every block.
    All,
    /// Shard `k` (1-based) of `n`: a contiguous range of blocks; the shards' partial results
    /// merge into the whole run ([`partial::merge`]).
    Shard {
        /// Which shard, 1 ≤ k ≤ n.
        k: u64,
        /// Number of shards.
        n: u64,
    },
}

impl BlockRange {
    /// The blocks of this range in a run of `draws` draws.
    pub fn blocks(self, draws: u64) -> Range<u64> {
        match self {
            BlockRange::All => 0..block_count(draws),
            BlockRange::Shard { k, n } => partial::shard_blocks(draws, k, n),
        }
    }
}

/// Receives every finished block, from any worker thread, in any order (progress bars, the
/// draws file). Must not hold up the workers for long.
pub trait Observer: Sync {
    /// Called once per finished block.
    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError>;

    /// The setting this observer stands for when it must see every block of the run in this
    /// process (a draws file); such an observer cannot be used with a shard, MPI ranks or a
    /// resumed checkpoint.
    fn needs_every_block(&self) -> Option<Setting> {
        None
    }
}

/// Saves the state of a run (a [`PartialResult`] of the blocks completed so far), to resume
/// from after an interruption. Called on the driving thread, between groups of blocks.
pub trait Checkpoint {
    /// Whether a save is due now (e.g. a second has passed since the last one).
    fn due(&self) -> bool;
    /// Saves `state`; called when due, and once at the end of the run.
    fn save(&self, state: &PartialResult) -> Result<(), RunError>;
}

/// An observer whose accumulated state is part of the run's state (a backtest's observed
/// draws and weighted statistics): the driver lets it restore that state from the state the
/// run resumes from, and put it into [`PartialResult::backtest`] whenever the run's state is
/// saved (between groups of blocks, when every block it saw is in
/// [`PartialResult::completed`]) and at the end. Added with [`Run::observe_with_state`].
pub trait Stateful: Sync {
    /// Checks that `saved`, a state to resume from, carries this observer's state (called by
    /// [`Run::validate`], before any work).
    fn check(&self, saved: &PartialResult) -> Result<(), RunError>;
    /// Called once before the first block: the run covers `blocks`, and `state` is where it
    /// starts from (fresh, or resumed with its completed blocks a prefix of `blocks`); the
    /// observer takes its own part of `state` over.
    fn start(&self, blocks: Range<u64>, state: &mut PartialResult) -> Result<(), RunError>;
    /// Puts the observer's state for the blocks of `state.completed` into `state` (lent, not
    /// copied: see `take_back`).
    fn save(&self, state: &mut PartialResult) -> Result<(), RunError>;
    /// After a checkpoint was written (not after the last save): takes back from `state` what
    /// [`Stateful::save`] put there, so that the run goes on without a second copy of it.
    fn take_back(&self, state: &mut PartialResult) -> Result<(), RunError>;
}

/// Blocks per group between two checkpoint saves: small enough that little work is lost,
/// large enough to keep every core busy between saves.
pub const CHECKPOINT_GROUP_BLOCKS: u64 = 64;

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Merged statistics of the blocks run (with a resumed checkpoint, of every completed block).
    pub stats: RunStats,
    /// Worker threads used (summed over MPI ranks).
    pub threads: usize,
    /// Wall time (with a resumed checkpoint, including the time before the interruption).
    pub elapsed: Duration,
    /// How a [`StopRule::TargetSe`] run stopped.
    pub stopping: Option<StoppingReport>,
    /// The state at the end, as a partial result (for a shard: what `merge` combines).
    pub partial: PartialResult,
}

/// A run being put together: a model, a config, and what plugs into the driver. Nothing runs
/// until [`Run::execute`].
pub struct Run<'a> {
    model: &'a Model,
    model_text: &'a str,
    config: RunConfig,
    stop: StopRule,
    range: BlockRange,
    observers: Vec<&'a dyn Observer>,
    checkpoint: Option<&'a dyn Checkpoint>,
    resume: Option<PartialResult>,
    stateful: Option<&'a dyn Stateful>,
}

impl<'a> Run<'a> {
    /// A run of all `config.draws` draws of `model`.
    pub fn new(model: &'a Model, config: &RunConfig) -> Self {
        Run {
            model,
            model_text: "",
            config: config.clone(),
            stop: StopRule::AllDraws,
            range: BlockRange::All,
            observers: Vec::new(),
            checkpoint: None,
            resume: None,
            stateful: None,
        }
    }

    /// The model's source text, stored in partial results (shards, checkpoints, MPI ranks) so
    /// that they can be merged without the original file.
    pub fn model_text(mut self, text: &'a str) -> Self {
        self.model_text = text;
        self
    }

    /// When to stop.
    pub fn stop(mut self, rule: StopRule) -> Self {
        self.stop = rule;
        self
    }

    /// Which blocks to run.
    pub fn blocks(mut self, range: BlockRange) -> Self {
        self.range = range;
        self
    }

    /// Adds an observer of every finished block.
    pub fn observe(mut self, observer: &'a dyn Observer) -> Self {
        self.observers.push(observer);
        self
    }

    /// Adds an observer of every finished block whose state is saved and restored with the
    /// run's (see [`Stateful`]; one per run: a second replaces the first as the stateful one).
    pub fn observe_with_state<T: Observer + Stateful>(mut self, observer: &'a T) -> Self {
        self.observers.push(observer);
        self.stateful = Some(observer);
        self
    }

    /// Saves checkpoints through `checkpoint`; with `resume`, continues from that saved state.
    pub fn checkpoint(
        mut self,
        checkpoint: &'a dyn Checkpoint,
        resume: Option<PartialResult>,
    ) -> Self {
        self.checkpoint = Some(checkpoint);
        self.resume = resume;
        self
    }

    /// The one check of the settings and of their combinations, before any work starts.
    pub fn validate(&self) -> Result<(), RunError> {
        self.validate_with(false)
    }

    /// [`Run::validate`] for a run split over MPI ranks ([`Run::execute_ranks`]).
    pub fn validate_ranks(&self) -> Result<(), RunError> {
        self.validate_with(true)
    }

    fn validate_with(&self, ranks: bool) -> Result<(), RunError> {
        use Setting::*;
        let c = &self.config;
        if c.draws == 0 {
            return Err(RunError::invalid(&[Draws], "0; accepted: at least 1"));
        }
        let dim = self.model.dimension;
        c.sampler
            .check(dim, c.draws)
            .map_err(|e| sampler_error(c.sampler, dim, e))?;
        if let BlockRange::Shard { k, n } = self.range {
            if !(1 <= k && k <= n) {
                return Err(RunError::invalid(
                    &[Shard],
                    format!("{k}/{n}; accepted: k/n with 1 <= k <= n"),
                ));
            }
        }
        let whole_run = self.observers.iter().find_map(|o| o.needs_every_block());
        if let StopRule::TargetSe(t) = &self.stop {
            if !(t.target > 0.0 && t.target.is_finite()) {
                return Err(RunError::invalid(
                    &[TargetSe],
                    format!("{}; accepted: a positive number", t.target),
                ));
            }
            if t.output >= crate::outputs::output_names(self.model).len() {
                return Err(RunError::invalid(
                    &[TargetOutput],
                    format!("output index {} is not an output of the model", t.output),
                ));
            }
            if !c.sampler.extensible() {
                return Err(RunError::invalid(
                    &[TargetSe, Sampler],
                    format!("sampler {}: a Latin hypercube stratifies a declared number of draws, and a run stopped early leaves most of its strata empty; accepted: sampler sobol (every prefix of 2^k draws is balanced) or mc", c.sampler),
                ));
            }
            if self.range != BlockRange::All {
                return Err(RunError::invalid(
                    &[TargetSe, Shard],
                    "where a run stops depends on all its blocks in order, and a shard sees only its own; accepted: a target standard error on a whole run (checkpoints are fine)",
                ));
            }
            if ranks {
                return Err(RunError::invalid(
                    &[TargetSe, MpiRanks],
                    "where a run stops depends on all its blocks in order, and each rank sees only its own; accepted: a target standard error in one process (checkpoints are fine)",
                ));
            }
        }
        if let Some(setting) = whole_run {
            if self.range != BlockRange::All {
                return Err(RunError::invalid(
                    &[setting, Shard],
                    "the file would hold only this shard's draws, and merging shards does not combine draws files; accepted: saving draws on a whole run",
                ));
            }
            if ranks {
                return Err(RunError::invalid(
                    &[setting, MpiRanks],
                    "the ranks' draws would be in different processes; accepted: saving draws in one process",
                ));
            }
            if self
                .resume
                .as_ref()
                .is_some_and(|r| !r.completed.is_empty())
            {
                return Err(RunError::invalid(
                    &[setting, Resume],
                    "the blocks completed before the checkpoint are not run again, so their draws would be missing; accepted: saving draws on a run started afresh",
                ));
            }
        }
        if ranks && self.stateful.is_some() {
            return Err(RunError::invalid(
                &[MpiRanks],
                "a backtest keeps the draws of its observed outputs, and each rank would hold only its own; accepted: a backtest in one process, or as shards (--shard K/N) merged with `tariffsim merge`",
            ));
        }
        if ranks && self.checkpoint.is_some() {
            return Err(RunError::invalid(
                &[Checkpoint, MpiRanks],
                "every rank would need its own checkpoint; accepted: checkpoints in one process or per shard",
            ));
        }
        if let Some(saved) = &self.resume {
            let target = match &self.stop {
                StopRule::TargetSe(t) => Some(t.output),
                StopRule::AllDraws => None,
            };
            resumable(
                saved,
                self.model,
                &self.config,
                self.range.blocks(c.draws),
                target,
            )?;
            match self.stateful {
                Some(s) => s.check(saved)?,
                None if saved.backtest.is_some() && !saved.completed.is_empty() => {
                    return Err(RunError::Partial(PartialError::Mismatch(
                        "the checkpoint was saved by a backtest; accepted: resuming it with `tariffsim backtest` and the same observations, or a checkpoint of a run".into(),
                    )))
                }
                None => {}
            }
        }
        if (ranks || self.range != BlockRange::All || self.checkpoint.is_some())
            && self.model_text.is_empty()
        {
            return Err(RunError::invalid(
                &[if ranks { MpiRanks } else if self.checkpoint.is_some() { Checkpoint } else { Shard }],
                "partial results carry the model's text so that they can be merged alone; accepted: a run given its model's text (Run::model_text)",
            ));
        }
        Ok(())
    }

    /// Validates, then runs: the one loop over groups of blocks.
    pub fn execute(self) -> Result<RunOutcome, RunError> {
        self.validate()?;
        self.drive()
    }

    /// Runs this rank's share of the blocks under MPI, gathers every rank's partial result to
    /// rank 0 and merges them there in block order: `Some(outcome)` on rank 0, `None` on the
    /// others. Bit-identical to a run in one process.
    pub fn execute_ranks(mut self, world: &MpiWorld) -> Result<Option<RunOutcome>, RunError> {
        self.validate_with(true)?;
        let started = Instant::now();
        self.range = BlockRange::Shard {
            k: world.rank() + 1,
            n: world.size(),
        };
        let outcome = self.drive()?;
        let bytes = outcome.partial.to_bytes()?;
        let Some(all) = crate::mpi::gather_to_root(world, &bytes) else {
            return Ok(None);
        };
        let parts = all
            .iter()
            .enumerate()
            .map(|(r, b)| PartialResult::from_bytes(b, &format!("rank {r}")));
        let merged = partial::merge(parts, true)?;
        Ok(Some(RunOutcome {
            stats: merged.stats.clone(),
            threads: merged.threads,
            elapsed: started.elapsed(),
            stopping: None,
            partial: merged,
        }))
    }

    fn drive(self) -> Result<RunOutcome, RunError> {
        let started = Instant::now();
        let engine = Engine::new(self.model, &self.config)?;
        let range = self.range.blocks(self.config.draws);
        let fresh = PartialResult::new(
            self.model,
            self.model_text,
            &self.config,
            Vec::new(),
            engine.empty_stats(),
            0.0,
            engine.threads(),
        );
        let target = match &self.stop {
            StopRule::TargetSe(t) => Some(t),
            StopRule::AllDraws => None,
        };
        // `validate` checked that a resumed state belongs to this run.
        let mut state = self.resume.unwrap_or(fresh);
        if let Some(t) = target {
            if state.batch_means.is_none() {
                state.batch_means = Some(BatchMeans::new(t.output, engine.shift(t.output)));
            }
        }
        if let Some(s) = self.stateful {
            s.start(range.clone(), &mut state)?;
        }
        let previous_s = state.elapsed_s;
        let group = match (target, self.checkpoint) {
            (Some(_), _) => GROUP_BLOCKS,
            (None, Some(_)) => CHECKPOINT_GROUP_BLOCKS,
            (None, None) => range.end - range.start,
        }
        .max(1);
        // Resumed state covers range.start..next (checked by `resumable`).
        let mut next = state.completed.first().map_or(range.start, |r| r.1);
        let mut stopping = target.map(|t| {
            t.report(
                state.batch_means.as_ref(),
                self.config.draws,
                state.stats.draws(),
            )
        });
        let met = |s: &Option<StoppingReport>| s.as_ref().is_some_and(|s| s.converged);
        while next < range.end && !met(&stopping) {
            let end = (next + group).min(range.end);
            let block_stats =
                engine.run_blocks(next..end, &self.observers, state.batch_means.as_ref())?;
            if state.stats.draws() == 0 {
                // Nothing to merge into: take the statistics over instead of holding two
                // copies at once (issue 16, memory); an exact merge would give the same.
                state.stats = block_stats.stats;
            } else {
                state.stats.merge(&block_stats.stats);
            }
            if let Some(b) = state.batch_means.as_mut() {
                for (n, s) in block_stats.sums {
                    b.add(n, s);
                }
            }
            partial::add_range(&mut state.completed, next..end);
            next = end;
            if let Some(t) = target {
                stopping = Some(t.report(
                    state.batch_means.as_ref(),
                    self.config.draws,
                    state.stats.draws(),
                ));
            }
            if let Some(ck) = self.checkpoint {
                if next < range.end && !met(&stopping) && ck.due() {
                    state.elapsed_s = previous_s + started.elapsed().as_secs_f64();
                    if let Some(s) = self.stateful {
                        s.save(&mut state)?;
                    }
                    ck.save(&state)?;
                    if let Some(s) = self.stateful {
                        s.take_back(&mut state)?;
                    }
                }
            }
        }
        state.elapsed_s = previous_s + started.elapsed().as_secs_f64();
        if let Some(s) = self.stateful {
            s.save(&mut state)?;
        }
        if let Some(ck) = self.checkpoint {
            ck.save(&state)?;
        }
        Ok(RunOutcome {
            stats: state.stats.clone(),
            threads: engine.threads(),
            elapsed: Duration::from_secs_f64(state.elapsed_s),
            stopping,
            partial: state,
        })
    }
}

/// Checks that `saved` is a state of this very run whose blocks are a prefix of `range`.
fn resumable(
    saved: &PartialResult,
    model: &Model,
    config: &RunConfig,
    range: Range<u64>,
    target_output: Option<usize>,
) -> Result<(), RunError> {
    let mismatch = |m: String| RunError::Partial(PartialError::Mismatch(m));
    if !saved.is_run_of(model, config) {
        return Err(mismatch(format!(
            "the checkpoint belongs to another run (draws {}, seed {}, sampler {}, model sha256 {}); accepted: resuming with the same model, overrides, draws, seed and sampler",
            saved.draws, saved.seed, saved.sampler, saved.model_sha256
        )));
    }
    let prefix = match saved.completed.as_slice() {
        [] => true,
        [(a, b)] => *a == range.start && *b <= range.end,
        _ => false,
    };
    if !prefix {
        return Err(mismatch(format!(
            "the checkpoint's blocks {:?} are not a prefix of the blocks run ({}..{})",
            saved.completed, range.start, range.end
        )));
    }
    let saved_output = saved.batch_means.as_ref().map(|b| b.output);
    if !saved.completed.is_empty() && saved_output != target_output {
        return Err(mismatch(format!(
            "the checkpoint was saved by a run with {}, this run has {}; accepted: resuming with the same stopping rule",
            describe_target(saved_output),
            describe_target(target_output)
        )));
    }
    Ok(())
}

fn describe_target(output: Option<usize>) -> String {
    match output {
        Some(o) => format!("a target standard error on output {o}"),
        None => "no target standard error".into(),
    }
}

/// The sampler cannot serve this model.
pub(crate) fn sampler_error(
    sampler: SamplerKind,
    dim: usize,
    e: crate::sampling::SamplerError,
) -> RunError {
    RunError::invalid(
        &[Setting::Sampler],
        format!(
            "{sampler}: {e} (this model has {dim} coordinates: 1 for the scenario and {} uncertain parameters); accepted: sampler mc or lhs, which have no dimension limit",
            dim.saturating_sub(1)
        ),
    )
}

/// Runs all draws of `config` with no observers: the simplest use of the driver.
pub fn run(model: &Model, config: &RunConfig) -> Result<RunOutcome, RunError> {
    Run::new(model, config).execute()
}
