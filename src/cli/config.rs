//! Arguments → one validated configuration per command, before any work starts (ripgrep's
//! low-level → high-level arguments): models loaded with their overrides, output names
//! resolved, and the run settings checked alone and in combination by the library's one
//! validation step ([`Run::validate`]).

use std::path::{Path, PathBuf};

use tariffsim::folder::{self, FolderLock};
use tariffsim::model::{self, Model};
use tariffsim::report;
use tariffsim::run::{
    BlockRange, BlockView, Checkpoint, MpiWorld, Observer, PartialResult, Run, RunConfig, RunError,
    SamplerKind, Setting, StopRule, TargetSe,
};
use tariffsim::sweep::{parse_axis, Sweep};

use super::render::Failure;
use super::{RunArgs, SweepArgs, TargetArgs};

/// A model with the text it was compiled from (partial results carry the text).
pub(crate) struct LoadedModel {
    pub model: Model,
    pub text: String,
}

/// Loads a model (the embedded one when `path` is None) and applies the overrides of `set` and
/// of `scenario` (`--scenario ID` sets that scenario's probability to 1 and the others' to 0).
pub(crate) fn load(
    path: Option<&Path>,
    set: &[String],
    scenario: Option<&str>,
) -> Result<LoadedModel, Failure> {
    let (model, text) = match path {
        Some(p) => model::read_model(p)?,
        None => (
            model::compile_model(model::DEFAULT_MODEL_TEXT, model::DEFAULT_MODEL_FILE)?,
            model::DEFAULT_MODEL_TEXT.to_string(),
        ),
    };
    let mut overrides = set.to_vec();
    if let Some(id) = scenario {
        overrides.extend(scenario_overrides(&model, id)?);
    }
    if overrides.is_empty() {
        // Warnings of the file itself (e.g. a rate of 100 % or more), said before any work.
        for w in &model.warnings {
            eprintln!("warning: {}: {w}", model.source.file);
        }
        return Ok(LoadedModel { model, text });
    }
    let model = model::apply_overrides(&model, &overrides).map_err(|e| {
        Failure::invalid(format!(
            "{}: --set {}: {}",
            model.source.file, e.given, e.message
        ))
    })?;
    for w in &model.warnings {
        eprintln!("warning: {w}");
    }
    Ok(LoadedModel { model, text })
}

/// The overrides of `--set` plus the one `--monthly` stands for (recorded with the model's
/// overrides, so shards, checkpoints and merges rebuild the same output list).
pub(crate) fn with_monthly(set: &[String], monthly: bool) -> Vec<String> {
    let mut all = set.to_vec();
    if monthly {
        all.push(format!("{}=true", model::MONTHLY_PATH));
    }
    all
}

/// The probability overrides that condition a run on scenario `id`.
fn scenario_overrides(model: &Model, id: &str) -> Result<Vec<String>, Failure> {
    if !model.scenarios.iter().any(|s| s.id == id) {
        let ids: Vec<&str> = model.scenarios.iter().map(|s| s.id.as_str()).collect();
        return Err(Failure::invalid(format!(
            "--scenario {id}: unknown scenario; accepted: {}",
            ids.join(", ")
        )));
    }
    Ok(model
        .scenarios
        .iter()
        .map(|s| {
            format!(
                "scenarios.{}.probability={}",
                s.id,
                if s.id == id { 1 } else { 0 }
            )
        })
        .collect())
}

/// The stopping rule of `--target-se` (all the draws without it).
fn stop_rule(model: &Model, target: &TargetArgs) -> Result<StopRule, Failure> {
    Ok(match target.target_se {
        Some(se) => StopRule::TargetSe(TargetSe::new(
            model,
            &target.target_output,
            se,
            target.target_relative,
        )?),
        None => StopRule::AllDraws,
    })
}

/// Stands in for the draws file and the checkpoint folder in the validation step, before
/// either exists: it declares what they need and does nothing.
struct Planned {
    draws_file: bool,
}

impl Observer for Planned {
    fn block(&self, _: &BlockView<'_>) -> Result<(), RunError> {
        Ok(())
    }
    fn needs_every_block(&self) -> Option<Setting> {
        self.draws_file.then_some(Setting::SaveDraws)
    }
}

impl Checkpoint for Planned {
    fn due(&self) -> bool {
        false
    }
    fn save(&self, _: &PartialResult) -> Result<(), RunError> {
        Ok(())
    }
}

/// One model's run of a `run` command, validated.
pub(crate) struct PlannedRun {
    pub loaded: LoadedModel,
    /// Its result folder.
    pub out: PathBuf,
    /// Its name in comparison.csv (the folder name).
    pub label: String,
    pub stop: StopRule,
    /// The saved state to continue from (`--resume`).
    pub resume: Option<PartialResult>,
}

/// A `run` command, validated: every model loaded and every setting checked.
pub(crate) struct RunPlan {
    pub runs: Vec<PlannedRun>,
    pub config: RunConfig,
    pub range: BlockRange,
    pub checkpoint: Option<PathBuf>,
    pub save_draws: bool,
    /// Stata-safe column names in draws.csv (`--stata-names`).
    pub stata_names: bool,
    pub quiet: bool,
    pub report: bool,
    pub charts: Option<PathBuf>,
    /// The --out folder (of comparison.csv when there are several models).
    pub out: PathBuf,
    /// The folders the run writes into, locked until the plan is dropped.
    pub claim: Claim,
}

impl RunPlan {
    pub fn new(args: RunArgs, world: Option<&MpiWorld>) -> Result<Self, Failure> {
        if args.models.len() > 1 && (args.shard.is_some() || args.checkpoint.is_some()) {
            return Err(Failure::invalid(
                "--shard and --checkpoint take one model at a time",
            ));
        }
        let config = RunConfig {
            draws: args
                .target
                .target_se
                .map_or(args.draws, |_| args.target.max_draws),
            seed: args.seed,
            threads: args.threads as usize,
            sampler: args.sampling.sampler.0,
            antithetic: args.sampling.antithetic,
        };
        if args.target.target_se.is_none() {
            warn_unbalanced_sobol(&config);
        }
        let range = match args.shard {
            Some((k, n)) => BlockRange::Shard { k, n },
            None => BlockRange::All,
        };
        let paths: Vec<Option<&Path>> = if args.models.is_empty() {
            vec![None]
        } else {
            args.models.iter().map(|p| Some(p.as_path())).collect()
        };
        let mut taken = Vec::new();
        let mut runs = Vec::new();
        for path in paths {
            let mut set = with_monthly(&args.set, args.monthly);
            if args.line_outputs {
                // Recorded as an override, like --monthly, so shards and merges keep it.
                set.push(format!("{}=true", model::LINE_OUTPUTS_PATH));
            }
            let loaded = load(path, &set, args.scenario.as_deref())?;
            let out = match path {
                Some(p) if args.models.len() > 1 => run_folder(&args.out, p, &mut taken),
                _ => args.out.clone(),
            };
            let label = out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let stop = stop_rule(&loaded.model, &args.target)?;
            let planned = PlannedRun {
                loaded,
                out,
                label,
                stop,
                resume: None,
            };
            // The one validation step of the library, on the run as it will be made (the
            // saved state, if any, is checked below, once its folder is locked).
            validate_run(&planned, &args, &config, range, world)?;
            runs.push(planned);
        }
        // Every folder this process writes into, locked before anything in it is read or
        // written: a second run into one of them is refused (issue 15, item 2). Under MPI only
        // rank 0 writes.
        let mut dirs: Vec<&Path> = Vec::new();
        if runs.len() > 1 {
            dirs.push(&args.out);
        }
        dirs.extend(runs.iter().map(|r| r.out.as_path()));
        dirs.extend(args.checkpoint.as_deref());
        dirs.extend(args.charts.as_deref());
        let claim = if world.is_none_or(|w| w.is_root()) {
            Claim::new(dirs)?
        } else {
            Claim::default()
        };
        if let Some(dir) = &args.checkpoint {
            let planned = &mut runs[0];
            let resumed = saved_checkpoint(
                dir,
                args.resume,
                args.overwrite,
                &planned.loaded.model,
                &config,
            )
            .and_then(|resume| {
                planned.resume = resume;
                validate_run(planned, &args, &config, range, world)
            });
            if let Err(e) = resumed {
                claim.abandon();
                return Err(e);
            }
        }
        Ok(RunPlan {
            runs,
            config,
            range,
            checkpoint: args.checkpoint,
            save_draws: args.save_draws,
            stata_names: args.stata_names,
            quiet: args.quiet,
            report: args.report || args.charts.is_some(),
            charts: args.charts,
            out: args.out,
            claim,
        })
    }

    /// Whether several models are compared.
    pub fn compares(&self) -> bool {
        self.runs.len() > 1
    }
}

/// The library's one validation step ([`Run::validate`]) on one model's run as the flags make it.
fn validate_run(
    planned: &PlannedRun,
    args: &RunArgs,
    config: &RunConfig,
    range: BlockRange,
    world: Option<&MpiWorld>,
) -> Result<(), Failure> {
    let stand_in = Planned {
        draws_file: args.save_draws,
    };
    let mut run = Run::new(&planned.loaded.model, config)
        .model_text(&planned.loaded.text)
        .stop(planned.stop.clone())
        .blocks(range);
    if args.save_draws {
        run = run.observe(&stand_in);
    }
    if args.checkpoint.is_some() {
        run = run.checkpoint(&stand_in, planned.resume.clone());
    }
    match world {
        Some(_) => run.validate_ranks()?,
        None => run.validate()?,
    }
    Ok(())
}

/// The folders a command writes into, locked ([`folder::lock_all`]) until this is dropped,
/// with those it had to create.
#[derive(Default)]
pub(crate) struct Claim {
    _locks: Vec<FolderLock>,
    created: Vec<PathBuf>,
}

impl Claim {
    /// Creates and locks `dirs`, and says which stale temporary files of an interrupted run it
    /// removed from them. Another process writing into one of them: exit 2.
    pub fn new<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Result<Self, Failure> {
        let dirs: Vec<&Path> = dirs.into_iter().collect();
        let created: Vec<PathBuf> = dirs
            .iter()
            .filter(|d| !d.exists())
            .map(|d| d.to_path_buf())
            .collect();
        let locks = match folder::lock_all(dirs) {
            Ok(locks) => locks,
            Err(e) => {
                // The folders locked before the refusal were released: remove those created.
                Claim {
                    _locks: Vec::new(),
                    created,
                }
                .abandon();
                return Err(match e {
                    e @ (folder::FolderError::Busy { .. }
                    | folder::FolderError::NotAFolder { .. }) => Failure::invalid(e),
                    e => Failure {
                        code: 1,
                        message: format!("error: {e}"),
                    },
                });
            }
        };
        for stale in locks.iter().flat_map(|l| &l.removed) {
            eprintln!("note: removed {stale}, a temporary file left by an interrupted run");
        }
        Ok(Claim {
            _locks: locks,
            created,
        })
    }

    /// Releases the folders after a refusal or a failure, removing those this command created
    /// and left empty: a refused command leaves nothing behind.
    pub fn abandon(self) {
        let created = self.created.clone();
        drop(self);
        for d in created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The state to resume from in the checkpoint folder `dir` (whose lock this process holds):
/// with `--resume`, the saved state, or none when no checkpoint was saved yet (the run starts
/// from the beginning, and says so); without it, a folder already holding a checkpoint is
/// refused unless `--overwrite` is given, so that no run's progress is lost by mistake.
/// Shared by `run` and `backtest` (`resume`, `overwrite`: their flags).
pub(crate) fn saved_checkpoint(
    dir: &Path,
    resume: bool,
    overwrite: bool,
    model: &Model,
    config: &RunConfig,
) -> Result<Option<PartialResult>, Failure> {
    let file = dir.join(report::PARTIAL_FILE);
    let exists = file.try_exists().map_err(|e| Failure {
        code: 1,
        message: format!("error: {}: cannot read: {e}", file.display()),
    })?;
    if !exists {
        if resume {
            eprintln!(
                "note: --resume: {} holds no checkpoint yet (the run was stopped before its first save, or never started): starting from the beginning",
                dir.display()
            );
        }
        return Ok(None);
    }
    if resume {
        return Ok(Some(report::read_partial(dir)?));
    }
    let what = match report::read_partial(dir) {
        Ok(saved) => describe_checkpoint(&saved, model, config),
        Err(e) => format!("a checkpoint that cannot be read ({e})"),
    };
    if overwrite {
        eprintln!("note: --overwrite: replacing {what} in {}", dir.display());
        return Ok(None);
    }
    Err(Failure::invalid(format!(
        "--checkpoint {}: the folder already holds {what}, which this run would replace; accepted: --resume to continue that run, --overwrite to discard it, or another folder",
        dir.display()
    )))
}

/// A saved checkpoint in words: whose run it is and how far it got.
fn describe_checkpoint(saved: &PartialResult, model: &Model, config: &RunConfig) -> String {
    let done: u64 = saved.completed.iter().map(|(a, b)| b - a).sum();
    let whose = if saved.is_run_of(model, config) {
        "the checkpoint of this same run".to_string()
    } else {
        format!(
            "the checkpoint of another run ({}, draws {}, seed {}, sampler {})",
            saved.model_file, saved.draws, saved.seed, saved.sampler
        )
    };
    format!(
        "{whose}, {done} of {} blocks done",
        tariffsim::sampling::block_count(saved.draws)
    )
}

/// Sub-folder name of a model in a multi-model run: the file stem made safe as one folder
/// name inside `out` (issue 15, item 3), and unique among the run's folders.
fn run_folder(out: &Path, path: &Path, taken: &mut Vec<String>) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let safe = safe_folder_name(&stem);
    let mut name = safe.clone();
    let mut i = 2;
    // Case-insensitive: on macOS and Windows `A` and `a` are one folder.
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
        || RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(&name))
    {
        name = format!("{safe}-{i}");
        i += 1;
    }
    taken.push(name.clone());
    if name != stem {
        eprintln!(
            "note: the results of {} go to {}",
            path.display(),
            out.join(&name).display()
        );
    }
    out.join(name)
}

/// Names the `run` command itself writes into `--out` next to the models' folders.
const RESERVED_NAMES: &[&str] = &["comparison.csv", "report.html"];

/// Longest folder name made from a file name, in bytes (file systems allow 255).
const MAX_FOLDER_NAME: usize = 100;

/// `stem` as one folder name that stays inside its parent: letters, digits, `-`, `_` and `.`
/// kept, anything else (separators, control characters, spaces, `:`) replaced by `_`, no
/// leading `.` (no `.`, `..` or hidden folder), at most [`MAX_FOLDER_NAME`] bytes, and
/// `model` when nothing is left.
pub(crate) fn safe_folder_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = name.trim_start_matches('.');
    if trimmed.len() != name.len() {
        name = format!("_{trimmed}");
    }
    // Windows drops trailing dots and spaces, which would merge `a.` with `a`.
    while name.ends_with('.') {
        name.pop();
    }
    while name.len() > MAX_FOLDER_NAME {
        name.pop();
    }
    if name.trim_matches('_').is_empty() {
        "model".into()
    } else {
        name
    }
}

/// A `sweep` command, validated: every grid point's model built, the run settings checked.
pub(crate) struct SweepPlan {
    pub model: Model,
    pub sweep: Sweep,
    pub config: RunConfig,
    pub stop: StopRule,
}

impl SweepPlan {
    pub fn new(args: &SweepArgs) -> Result<Self, Failure> {
        let set = with_monthly(&args.set, args.monthly);
        let LoadedModel { model, .. } = load(args.model.as_deref(), &set, None)?;
        let axes = args
            .vary
            .iter()
            .map(|v| parse_axis(v))
            .collect::<Result<Vec<_>, _>>()?;
        let sweep = Sweep::new(&model, &axes)?;
        let config = RunConfig {
            draws: args
                .target
                .target_se
                .map_or(args.draws, |_| args.target.max_draws),
            seed: args.seed,
            threads: args.threads as usize,
            sampler: args.sampling.sampler.0,
            antithetic: args.sampling.antithetic,
        };
        if args.target.target_se.is_none() {
            warn_unbalanced_sobol(&config);
        }
        let stop = stop_rule(&model, &args.target)?;
        Run::new(&model, &config).stop(stop.clone()).validate()?;
        Ok(SweepPlan {
            model,
            sweep,
            config,
            stop,
        })
    }
}

/// Sobol points are balanced in runs of 2^k draws: another count keeps the run valid but
/// loses part of the variance reduction, which a user choosing Sobol wants to know (issue 15,
/// item 11).
fn warn_unbalanced_sobol(config: &RunConfig) {
    if config.sampler == SamplerKind::Sobol && !config.draws.is_power_of_two() {
        let below = 1u64 << (63 - config.draws.leading_zeros());
        eprintln!(
            "warning: --sampler sobol with --draws {}, not a power of two: Sobol points are balanced at 2^k draws (e.g. {below} or {}); other counts lose part of their variance reduction",
            config.draws,
            below.saturating_mul(2)
        );
    }
}
