//! The command line: parses arguments with clap, turns them into a validated model and
//! [`RunConfig`], calls the library, and renders errors for people. No economics here.
//!
//! Exit codes: 0 success, 1 failure while running or writing results, 2 invalid input
//! (arguments or model files).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::engine::{self, BlockSink, BlockView, EngineError, RunConfig, SamplerKind};
use crate::model::{self, Model, ModelError};
use crate::outputs::{self, HEADLINE};
use crate::report::{self, DrawsCsv, RunInfo};

/// Monte Carlo engine for the macro impact of trade policy.
#[derive(Debug, Parser)]
#[command(name = "tariffsim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a model (the embedded Korea–US 2025 model when none is given) and write results.
    Run(RunArgs),
    /// Rebuild report.html (and with --charts the chart SVGs) from a finished run's folder.
    Report {
        /// The --out folder of a run (it holds summary.json).
        dir: PathBuf,
        /// Also write each chart as an SVG file to this folder.
        #[arg(long, value_name = "DIR")]
        charts: Option<PathBuf>,
    },
    /// Check model files and report every problem with its line and column.
    Validate {
        /// Model files (TOML).
        #[arg(required = true)]
        models: Vec<PathBuf>,
    },
    /// Combine the partial results of `run --shard K/N` into the full result.
    Merge {
        /// Folders (or partial.tariffsim files) written by the shards.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output folder for summary.json and quantiles.csv.
        #[arg(long, default_value = "tariffsim-out")]
        out: PathBuf,
        /// No table on the terminal.
        #[arg(long)]
        quiet: bool,
    },
    /// Run a model at every point of a grid of parameter values, with common random numbers.
    Sweep(SweepArgs),
    /// Which uncertainty matters: Sobol indices of every headline output for every uncertain
    /// parameter and group; writes sensitivity.json.
    Sensitivity(SensitivityArgs),
    /// Measure throughput (draws/s) and peak memory of a run; writes no files.
    Bench {
        /// Model file (TOML); omit to use the embedded default model.
        model: Option<PathBuf>,
        /// Use a synthetic model of this many sectors instead.
        #[arg(long, conflicts_with = "model")]
        sectors: Option<usize>,
        /// Number of draws.
        #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
        draws: u64,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
        threads: u64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also compute the monthly outputs of MODEL.md §12 (to measure what they cost).
        #[arg(long)]
        monthly: bool,
    },
    /// Hold a forecast against observed values (MODEL.md §13): PIT, CRPS and coverage in
    /// backtest.json; observations with an sd also update the forecast (updated/summary.json).
    Backtest(BacktestArgs),
}

#[derive(Debug, clap::Args)]
struct BacktestArgs {
    /// Model file (TOML); omit to use the embedded default model.
    model: Option<PathBuf>,
    /// Observation file (CSV: output or period, value, optional sd and label).
    #[arg(long, value_name = "FILE")]
    observed: PathBuf,
    /// Override a parameter, as for `run --set`. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Number of draws.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    draws: u64,
    /// Seed of the random streams.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (0 = all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
    threads: u64,
    /// Output folder (created if needed).
    #[arg(long, default_value = "tariffsim-backtest")]
    out: PathBuf,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// No progress bar and no table on the terminal.
    #[arg(long)]
    quiet: bool,
    /// Also write report.html (with the observations on the fan chart) and updated/report.html.
    #[arg(long)]
    report: bool,
}

/// The overrides of `--set` plus the one `--monthly` stands for.
fn with_monthly(set: &[String], monthly: bool) -> Vec<String> {
    let mut all = set.to_vec();
    if monthly {
        all.push(format!("{}=true", model::MONTHLY_PATH));
    }
    all
}

#[derive(Debug, clap::Args)]
struct SweepArgs {
    /// Model file (TOML); omit to use the embedded default model.
    model: Option<PathBuf>,
    /// A varied parameter: PATH=v1,v2,... or PATH=lo:hi:n (repeatable; the grid is their product).
    #[arg(long = "vary", required = true)]
    vary: Vec<String>,
    /// Overrides applied at every grid point (as for `run --set`).
    #[arg(long = "set")]
    set: Vec<String>,
    /// Draws per grid point.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    draws: u64,
    /// Seed, the same at every grid point.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
    threads: u64,
    /// Output folder.
    #[arg(long, default_value = "tariffsim-sweep")]
    out: PathBuf,
    /// Also report the monthly outputs of MODEL.md §12 (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Model files (TOML); omit to run the embedded default model. With several, each gets a
    /// sub-folder of --out and comparison.csv compares them.
    models: Vec<PathBuf>,
    /// Override a parameter: PATH=VALUE (a number or an inline table), PATH.key=VALUE, or
    /// scenarios.<id>.probability=P. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Condition the run on one deal scenario (its probability becomes 1).
    #[arg(long, value_name = "ID")]
    scenario: Option<String>,
    /// Run only the K-th of N contiguous ranges of blocks and write a partial result (merge with `tariffsim merge`).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Save completed blocks to DIR as the run goes.
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// Continue the run saved in --checkpoint DIR.
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Number of draws.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    draws: u64,
    /// Seed of the random streams (any 64-bit unsigned integer).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (0 = all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
    threads: u64,
    /// Output folder (created if needed).
    #[arg(long, default_value = "tariffsim-out")]
    out: PathBuf,
    /// Also write every draw to draws.csv (large: one row per draw).
    #[arg(long)]
    save_draws: bool,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    target: TargetArgs,
    /// No progress bar and no table on the terminal.
    #[arg(long)]
    quiet: bool,
    /// Also write report.html, a self-contained page of charts, to the output folder.
    #[arg(long)]
    report: bool,
    /// Also write each chart of the report as an SVG file to DIR (implies --report).
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
    /// Also report the monthly outputs of MODEL.md §12 (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
}

/// How the points are generated (`run` and `sweep`).
#[derive(Debug, clap::Args)]
struct SamplingArgs {
    /// Point generator: mc (Monte Carlo), lhs (Latin hypercube over the run's draws), sobol
    /// (Owen-scrambled Sobol, quasi-Monte Carlo).
    #[arg(long, default_value = "mc", value_parser = ["mc", "lhs", "sobol"])]
    sampler: String,
    /// Antithetic pairs: every other draw mirrors the previous one (u → 1 − u).
    #[arg(long)]
    antithetic: bool,
}

impl SamplingArgs {
    fn kind(&self) -> SamplerKind {
        SamplerKind::from_name(&self.sampler).unwrap_or(SamplerKind::MonteCarlo)
    }
}

/// Run until the mean of an output is known to a standard error (`run`).
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// Run until the standard error of the mean of --target-output is at most SE (checked every
    /// 32 blocks of 1024 draws); replaces --draws.
    #[arg(long, value_name = "SE", conflicts_with = "draws")]
    target_se: Option<f64>,
    /// The output whose mean is targeted.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "export_loss",
        requires = "target_se"
    )]
    target_output: String,
    /// --target-se is relative to |mean| (0.001 = 0.1 % of the mean).
    #[arg(long, requires = "target_se")]
    target_relative: bool,
    /// Most draws a --target-se run may use.
    #[arg(long, value_name = "N", default_value_t = 10_000_000, requires = "target_se", value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
    max_draws: u64,
}

#[derive(Debug, clap::Args)]
struct SensitivityArgs {
    /// Model file (TOML); omit to use the embedded default model.
    model: Option<PathBuf>,
    /// Overrides (as for `run --set`).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Base sample size N; the model is evaluated N x (2 + inputs) times. A power of two is best.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(2..=1_000_000_000))]
    samples: u64,
    /// Seed of the Sobol scrambling and of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// An extra group: NAME=path1,path2 (a `*` segment matches any one segment). Repeatable.
    #[arg(long = "group", value_name = "NAME=PATHS")]
    groups: Vec<String>,
    /// Bootstrap resamples behind the 95 % intervals.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    bootstrap: u64,
    /// Worker threads (0 = all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
    threads: u64,
    /// Output folder.
    #[arg(long, default_value = "tariffsim-sensitivity")]
    out: PathBuf,
    /// Also report the monthly outputs of MODEL.md §12 (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
    /// No table on the terminal.
    #[arg(long)]
    quiet: bool,
}

/// A failure, already explained for the user, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        Failure {
            code: match e {
                ModelError::Io { .. } => 1,
                ModelError::Invalid { .. } => 2,
            },
            message: render_model_error(&e),
        }
    }
}

impl From<report::ReportError> for Failure {
    fn from(e: report::ReportError) -> Self {
        Failure {
            code: 1,
            message: format!("error: {e}"),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure {
            code: 1,
            message: format!("error: {e}"),
        }
    }
}

/// One model-file problem in the form miette renders with the offending line and an arrow.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct SourceProblem {
    #[source_code]
    source_code: miette::NamedSource<String>,
    #[label("{label}")]
    at: miette::SourceSpan,
    message: String,
    label: String,
}

fn render_model_error(e: &ModelError) -> String {
    match e {
        ModelError::Io { .. } => format!("error: {e}"),
        ModelError::Invalid {
            file,
            source_text,
            diagnostics,
        } => {
            let mut out = String::new();
            for d in diagnostics {
                let problem = SourceProblem {
                    source_code: miette::NamedSource::new(file, source_text.clone()),
                    at: (d.span.start, d.span.len()).into(),
                    message: format!("error: {}", d.render(file)),
                    label: if d.key.is_empty() {
                        "here".into()
                    } else {
                        d.key.clone()
                    },
                };
                out.push_str(&format!("{:?}", miette::Report::new(problem)));
                out.push('\n');
            }
            out.push_str(&format!(
                "{file}: {} problem(s); the model was not run",
                diagnostics.len()
            ));
            out
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Under `mpirun -n R` (feature `mpi`) every rank runs its share of the blocks.
    let world = crate::mpi::init();
    let result = match cli.command {
        Command::Run(args) => run(args, world.as_ref()),
        Command::Report { dir, charts } => report_cmd(&dir, charts.as_deref()),
        Command::Validate { models } => validate(&models),
        Command::Merge { parts, out, quiet } => merge(&parts, &out, quiet),
        Command::Sweep(args) => sweep(args),
        Command::Sensitivity(args) => sensitivity(args),
        Command::Bench {
            model,
            sectors,
            draws,
            threads,
            seed,
            monthly,
        } => bench(
            model.as_deref(),
            sectors,
            draws,
            threads as usize,
            seed,
            monthly,
        ),
        Command::Backtest(args) => backtest(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Parses `K/N` with 1 ≤ K ≤ N.
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((k, n)) if k >= 1 && k <= n => Ok((k, n)),
        _ => Err(format!("`{text}` is not K/N with 1 <= K <= N (e.g. 2/8)")),
    }
}

/// Loads a model (the embedded one when `path` is None) with its text, and applies the
/// overrides of `set` and of `scenario` (`--scenario ID` sets that scenario's probability to
/// 1 and the others' to 0).
fn load(
    path: Option<&Path>,
    set: &[String],
    scenario: Option<&str>,
) -> Result<(Model, String), Failure> {
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
        return Ok((model, text));
    }
    let model = model::apply_overrides(&model, &overrides).map_err(|e| Failure {
        code: 2,
        message: format!("error: {}: {e}", model.source.file),
    })?;
    for w in &model.warnings {
        eprintln!("warning: {w}");
    }
    Ok((model, text))
}

/// The probability overrides that condition a run on scenario `id`.
fn scenario_overrides(model: &Model, id: &str) -> Result<Vec<String>, Failure> {
    if !model.scenarios.iter().any(|s| s.id == id) {
        let ids: Vec<&str> = model.scenarios.iter().map(|s| s.id.as_str()).collect();
        return Err(Failure {
            code: 2,
            message: format!(
                "error: --scenario {id}: unknown scenario; accepted: {}",
                ids.join(", ")
            ),
        });
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

fn validate(models: &[PathBuf]) -> Result<(), Failure> {
    let mut failures = Vec::new();
    let mut code = 0;
    for path in models {
        match model::load_model(path) {
            Ok(m) => print_stdout(&format!(
                "ok: {} ({} sectors, {} scenarios, {} parameters of which {} uncertain)\n",
                path.display(),
                m.sectors.len(),
                m.scenarios.len(),
                m.params.len(),
                m.dimension - 1
            )),
            Err(e) => {
                let f = Failure::from(e);
                code = code.max(f.code);
                failures.push(f.message);
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code,
            message: failures.join("\n"),
        })
    }
}

/// Progress on stderr, advanced once per finished block.
struct Progress(indicatif::ProgressBar);

impl BlockSink for Progress {
    fn block(&self, view: &BlockView<'_>) -> Result<(), EngineError> {
        self.0.inc(view.scenarios.len() as u64);
        Ok(())
    }
}

fn progress_bar(total: u64, quiet: bool, unit: &str) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, eta {{eta}})"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

impl From<crate::batch::BatchError> for Failure {
    fn from(e: crate::batch::BatchError) -> Self {
        use crate::batch::BatchError;
        let code = match &e {
            BatchError::Override(_) | BatchError::Vary { .. } => 2,
            BatchError::Partial(crate::partial::PartialError::Mismatch(_)) => 2,
            _ => 1,
        };
        Failure {
            code,
            message: format!("error: {e}"),
        }
    }
}

impl From<crate::partial::PartialError> for Failure {
    fn from(e: crate::partial::PartialError) -> Self {
        crate::batch::BatchError::from(e).into()
    }
}

fn run(args: RunArgs, world: Option<&crate::mpi::MpiWorld>) -> Result<(), Failure> {
    if args.models.len() > 1 {
        if args.shard.is_some() || args.checkpoint.is_some() {
            return Err(Failure {
                code: 2,
                message: "error: --shard and --checkpoint take one model at a time".into(),
            });
        }
        let mut taken = Vec::new();
        let mut runs = Vec::new();
        for path in &args.models {
            let dir = crate::batch::run_folder(&args.out, path, &mut taken);
            let label = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (model, stats) = run_one(&args, Some(path), &dir, world)?;
            runs.push((label, model, stats));
        }
        // Under MPI only rank 0 holds the merged results and writes files.
        if world.is_some_and(|w| !w.is_root()) {
            return Ok(());
        }
        let table: Vec<(String, &Model, &crate::stats::RunStats)> =
            runs.iter().map(|(l, m, s)| (l.clone(), m, s)).collect();
        report::write_atomic(
            &args.out.join("comparison.csv"),
            &crate::batch::comparison_csv(&table),
        )?;
        if !args.quiet {
            print_stdout(&format!(
                "comparison of {} models in {}\n",
                runs.len(),
                args.out.join("comparison.csv").display()
            ));
        }
        return Ok(());
    }
    run_one(
        &args,
        args.models.first().map(|p| p.as_path()),
        &args.out,
        world,
    )
    .map(|_| ())
}

fn run_one(
    args: &RunArgs,
    path: Option<&Path>,
    out: &Path,
    world: Option<&crate::mpi::MpiWorld>,
) -> Result<(Model, crate::stats::RunStats), Failure> {
    let set = with_monthly(&args.set, args.monthly);
    let (model, text) = load(path, &set, args.scenario.as_deref())?;
    let config = RunConfig {
        draws: args
            .target
            .target_se
            .map_or(args.draws, |_| args.target.max_draws),
        seed: args.seed,
        threads: args.threads as usize,
        sampler: args.sampling.kind(),
        antithetic: args.sampling.antithetic,
    };
    if args.target.target_se.is_some()
        && (args.shard.is_some() || args.checkpoint.is_some() || world.is_some())
    {
        return Err(Failure {
            code: 2,
            message: "error: --target-se cannot be combined with --shard, --checkpoint or mpirun; accepted: --target-se on a plain run".into(),
        });
    }
    if args.save_draws && (args.shard.is_some() || args.checkpoint.is_some()) {
        return Err(Failure {
            code: 2,
            message: "error: --save-draws cannot be combined with --shard or --checkpoint; accepted: --save-draws on a plain run".into(),
        });
    }
    if let Some(world) = world {
        return run_mpi(args, &model, &text, &config, out, world);
    }
    report::ensure_dir(out)?;
    if let Some((k, n)) = args.shard {
        let blocks = crate::partial::shard_blocks(config.draws, k, n);
        let bar = progress_bar(
            (blocks.end - blocks.start) * engine::BLOCK_SIZE,
            args.quiet,
            "draws",
        );
        let progress = bar.clone().map(Progress);
        let sinks: Vec<&dyn BlockSink> = progress.iter().map(|p| p as &dyn BlockSink).collect();
        let part = crate::partial::run_shard(&model, &text, &config, (k, n), &sinks)?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        crate::partial::write(out, &part)?;
        if !args.quiet {
            print_stdout(&format!(
                "shard {k}/{n}: blocks {}..{} of {} written to {}\n",
                blocks.start,
                blocks.end,
                engine::block_count(config.draws),
                out.join(crate::partial::PARTIAL_FILE).display()
            ));
        }
        return Ok((model, part.stats));
    }
    let draws_csv = if args.save_draws {
        Some(DrawsCsv::create(&out.join("draws.csv"), &model, 0)?)
    } else {
        None
    };
    let bar = progress_bar(config.draws, args.quiet, "draws");
    let progress = bar.clone().map(Progress);
    let mut sinks: Vec<&dyn BlockSink> = Vec::new();
    if let Some(p) = &progress {
        sinks.push(p);
    }
    if let Some(d) = &draws_csv {
        sinks.push(d);
    }
    let mut stopping = None;
    let (stats, elapsed_s, threads) = match &args.checkpoint {
        Some(dir) => {
            crate::batch::run_checkpointed(&model, &text, &config, dir, args.resume, &sinks)?
        }
        None if args.target.target_se.is_some() => {
            let stopped = run_to_target(&model, &config, &args.target, &sinks)?;
            stopping = Some(stopped.report);
            (stopped.stats, stopped.elapsed_s, stopped.threads)
        }
        None => {
            let outcome = engine::run(&model, &config, &sinks)?;
            (
                outcome.stats,
                outcome.elapsed.as_secs_f64(),
                outcome.threads,
            )
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let info = RunInfo {
        draws: stats.draws(),
        seed: config.seed,
        sampler: config.sampler_label(),
        threads,
        elapsed_s,
        stopping,
    };
    crate::batch::write_results(&model, &info, &stats, out)?;
    for w in report::run_warnings(&model, &stats) {
        if !model.warnings.contains(&w) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(d) = draws_csv {
        d.finish()?;
    }
    write_report_if_asked(args, out)?;
    if !args.quiet {
        print_stdout(&headline(&model, &stats, &info, out));
        print_stdout(&report::month_table_text(&model, &stats));
        print_stdout(&stopping_text(info.stopping.as_ref()));
        print_stdout(&tornado_text(&model, &stats));
    }
    Ok((model, stats))
}

/// `--report` / `--charts DIR`: the HTML report of the run in `out`; with several models each
/// model's charts go to a sub-folder of DIR named like its result folder.
fn write_report_if_asked(args: &RunArgs, out: &Path) -> Result<(), Failure> {
    if !(args.report || args.charts.is_some()) {
        return Ok(());
    }
    let charts = args
        .charts
        .as_ref()
        .map(|dir| match (args.models.len() > 1, out.file_name()) {
            (true, Some(name)) => dir.join(name),
            _ => dir.clone(),
        });
    report::write_report(out, charts.as_deref())?;
    Ok(())
}

/// One rank's share of an MPI run: its contiguous range of blocks; rank 0 gathers the exact
/// partial results, merges them and writes the result files.
fn run_mpi(
    args: &RunArgs,
    model: &Model,
    text: &str,
    config: &RunConfig,
    out: &Path,
    world: &crate::mpi::MpiWorld,
) -> Result<(Model, crate::stats::RunStats), Failure> {
    if args.shard.is_some() || args.checkpoint.is_some() || args.save_draws {
        return Err(Failure {
            code: 2,
            message: "error: under mpirun, --shard, --checkpoint and --save-draws are not available; the ranks split the run themselves".into(),
        });
    }
    let started = std::time::Instant::now();
    let part =
        crate::partial::run_shard(model, text, config, (world.rank() + 1, world.size()), &[])?;
    let bytes = part.to_bytes()?;
    let Some(all) = crate::mpi::gather_to_root(world, &bytes) else {
        // Not rank 0: this rank's statistics went to rank 0, which writes every result.
        return Ok((model.clone(), part.stats));
    };
    let parts: Vec<crate::partial::PartialResult> = all
        .iter()
        .enumerate()
        .map(|(r, b)| crate::partial::PartialResult::from_bytes(b, &format!("rank {r}")))
        .collect::<Result<_, _>>()?;
    let merged = crate::partial::merge(parts, true)?;
    let info = RunInfo {
        draws: config.draws,
        seed: config.seed,
        sampler: config.sampler_label(),
        threads: merged.threads,
        elapsed_s: started.elapsed().as_secs_f64(),
        stopping: None,
    };
    crate::batch::write_results(model, &info, &merged.stats, out)?;
    write_report_if_asked(args, out)?;
    if !args.quiet {
        print_stdout(&headline(model, &merged.stats, &info, out));
        print_stdout(&format!("({} MPI ranks)\n", world.size()));
    }
    Ok((model.clone(), merged.stats))
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bench(
    path: Option<&Path>,
    sectors: Option<usize>,
    draws: u64,
    threads: usize,
    seed: u64,
    monthly: bool,
) -> Result<(), Failure> {
    let model = match sectors {
        Some(n) if n >= 1 => {
            model::compile_model(&crate::synthetic::synthetic_model_text(n), "synthetic")?
        }
        Some(_) => {
            return Err(Failure {
                code: 2,
                message: "error: --sectors must be at least 1".into(),
            })
        }
        None => load(path, &[], None)?.0,
    };
    let model = if monthly {
        model.with_monthly(true).map_err(|e| Failure {
            code: 2,
            message: format!("error: --monthly: {e}"),
        })?
    } else {
        model
    };
    let config = RunConfig {
        draws,
        seed,
        threads,
        sampler: SamplerKind::MonteCarlo,
        antithetic: false,
    };
    let outcome = engine::run(&model, &config, &[])?;
    let secs = outcome.elapsed.as_secs_f64();
    let summary_started = std::time::Instant::now();
    let export_loss = outcome.stats.output_summary(crate::outputs::EXPORT_LOSS);
    print_stdout(&format!(
        "model: {} ({} sectors, {} uncertain parameters)\ndraws: {draws}, threads: {}\nelapsed: {secs:.3} s\nthroughput: {:.0} draws/s\nsummary: {:.3} s\npeak memory (VmHWM): {}\nexport_loss mean: {}\n",
        model.name,
        model.sectors.len(),
        model.dimension - 1,
        outcome.threads,
        draws as f64 / secs.max(1e-12),
        summary_started.elapsed().as_secs_f64(),
        peak_rss_mib().map_or("unknown".to_string(), |m| format!("{m:.1} MiB")),
        export_loss.mean,
    ));
    Ok(())
}

fn merge(parts: &[PathBuf], out: &Path, quiet: bool) -> Result<(), Failure> {
    let read: Vec<crate::partial::PartialResult> = parts
        .iter()
        .map(|p| crate::partial::PartialResult::read(p))
        .collect::<Result<_, _>>()?;
    let merged = crate::partial::merge(read, true)?;
    let model = merged.model()?;
    let info = RunInfo {
        draws: merged.draws,
        seed: merged.seed,
        sampler: merged.sampler.clone(),
        threads: merged.threads,
        elapsed_s: merged.elapsed_s,
        stopping: None,
    };
    crate::batch::write_results(&model, &info, &merged.stats, out)?;
    if !quiet {
        print_stdout(&headline(&model, &merged.stats, &info, out));
        print_stdout(&report::month_table_text(&model, &merged.stats));
    }
    Ok(())
}

fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let set = with_monthly(&args.set, args.monthly);
    let (model, _) = load(args.model.as_deref(), &set, None)?;
    let axes: Vec<crate::batch::SweepAxis> = args
        .vary
        .iter()
        .map(|v| crate::batch::parse_axis(v))
        .collect::<Result<_, _>>()?;
    let config = RunConfig {
        draws: args.draws,
        seed: args.seed,
        threads: args.threads as usize,
        sampler: args.sampling.kind(),
        antithetic: args.sampling.antithetic,
    };
    let n_points = crate::batch::grid(&axes).len() as u64;
    let bar = progress_bar(n_points, args.quiet, "grid points");
    let points = crate::batch::sweep(&model, &axes, &config, |done, _| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report::ensure_dir(&args.out)?;
    report::write_atomic(
        &args.out.join("sweep.csv"),
        &crate::batch::sweep_csv(&axes, &points),
    )?;
    let json = crate::batch::sweep_json(&model, &config, &axes, &points);
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    report::write_atomic(&args.out.join("sweep.json"), text.as_bytes())?;
    for (name, svg) in crate::batch::sweep_charts(&axes, &points) {
        report::write_atomic(&args.out.join(name), svg.as_bytes())?;
    }
    if !args.quiet {
        print_stdout(&format!(
            "{} grid points, {} draws each (seed {}), results in {}\n",
            points.len(),
            config.draws,
            config.seed,
            args.out.display()
        ));
    }
    Ok(())
}

/// `tariffsim report DIR`: a missing or malformed summary.json is bad input (exit code 2).
fn report_cmd(dir: &Path, charts: Option<&Path>) -> Result<(), Failure> {
    match report::write_report(dir, charts) {
        Ok(path) => {
            print_stdout(&format!("wrote {}\n", path.display()));
            Ok(())
        }
        Err(e @ report::ReportError::Malformed { .. }) => Err(Failure {
            code: 2,
            message: format!("error: {e}"),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Prints to stdout; a closed pipe (`tariffsim run | head`) is not an error.
fn print_stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn headline(model: &Model, stats: &crate::stats::RunStats, info: &RunInfo, out: &Path) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(vec!["output", "unit", "mean", "p5", "p50", "p95"]);
    for (o, name) in HEADLINE.iter().enumerate() {
        if *name == "stress_event" {
            continue;
        }
        let s = stats.output_summary(o);
        let (unit, _) = outputs::describe(name, &model.units);
        table.add_row(vec![
            name.to_string(),
            unit,
            format!("{:.3}", s.mean),
            format!("{:.3}", s.quantiles[1]),
            format!("{:.3}", s.quantiles[4]),
            format!("{:.3}", s.quantiles[7]),
        ]);
    }
    let stress = stats.output_summary(outputs::STRESS_EVENT);
    let _ = writeln!(
        text,
        "{} — {} draws, seed {}, {} threads, {:.2} s ({:.0} draws/s)",
        model.name,
        info.draws,
        info.seed,
        info.threads,
        info.elapsed_s,
        info.draws as f64 / info.elapsed_s.max(1e-9)
    );
    let _ = writeln!(text, "{table}");
    let _ = writeln!(
        text,
        "P(stress event) = {:.4} (± {:.4} s.e.)",
        stress.mean, stress.se_mean
    );
    let freqs: Vec<String> = model
        .scenarios
        .iter()
        .zip(stats.scenario_counts())
        .map(|(s, &c)| format!("{} {:.3}", s.id, c as f64 / info.draws as f64))
        .collect();
    let _ = writeln!(text, "scenario frequencies: {}", freqs.join(", "));
    let _ = writeln!(text, "results in {}", out.display());
    text
}

/// A `--target-se` run: checks the target output, then runs groups of blocks until the target is met.
fn run_to_target(
    model: &Model,
    config: &RunConfig,
    target: &TargetArgs,
    sinks: &[&dyn BlockSink],
) -> Result<crate::stopping::StoppedRun, Failure> {
    let names = outputs::output_names(model);
    let output = names
        .iter()
        .position(|n| *n == target.target_output)
        .ok_or_else(|| Failure {
            code: 2,
            message: format!(
                "error: --target-output {}: unknown output; accepted: {}",
                target.target_output,
                names.join(", ")
            ),
        })?;
    let goal = crate::stopping::TargetSe {
        output,
        output_name: target.target_output.clone(),
        target: target.target_se.unwrap_or(f64::NAN),
        relative: target.target_relative,
    };
    crate::stopping::run_to_target(model, config, &goal, sinks).map_err(|e| match e {
        EngineError::Config(m) => Failure {
            code: 2,
            message: format!("error: {m}"),
        },
        e => e.into(),
    })
}

/// One line on how a `--target-se` run stopped (empty for other runs).
fn stopping_text(stop: Option<&crate::stopping::StoppingReport>) -> String {
    let Some(s) = stop else {
        return String::new();
    };
    let goal = if s.relative {
        format!("{} x |mean|", s.target)
    } else {
        format!("{}", s.target)
    };
    format!(
        "target s.e. of mean {}: {} after {} draws (s.e. {:.4e}, target {goal}, cap {})\n",
        s.output,
        if s.converged { "met" } else { "NOT met" },
        s.draws,
        s.se,
        s.max_draws
    )
}

/// A text tornado: the 8 inputs whose percentiles correlate most with export loss.
fn tornado_text(model: &Model, stats: &crate::stats::RunStats) -> String {
    use std::fmt::Write;
    let mut names = vec!["scenario".to_string(); model.dimension];
    for p in &model.params {
        if let Some(c) = p.coordinate {
            names[c] = p.path.clone();
        }
    }
    let t = crate::stats::TORNADO_OUTPUTS
        .iter()
        .position(|&o| o == outputs::EXPORT_LOSS)
        .unwrap_or(0);
    let mut rows: Vec<(String, f64)> = names
        .into_iter()
        .enumerate()
        .map(|(j, n)| (n, stats.tornado_correlation(t, j)))
        .filter(|(_, r)| r.is_finite())
        .collect();
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    rows.truncate(8);
    if rows.is_empty() {
        return String::new();
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut text =
        String::from("tornado of export_loss (correlation with each input's percentile):\n");
    for (name, r) in rows {
        let bar = "#".repeat((r.abs() * 30.0).round() as usize);
        let _ = writeln!(text, "  {name:<width$} {r:+.3} {bar}");
    }
    text
}

fn sensitivity(args: SensitivityArgs) -> Result<(), Failure> {
    use crate::sensitivity::{
        model_sensitivity, parse_group, ModelSensitivityOptions, SobolOptions,
    };
    let set = with_monthly(&args.set, args.monthly);
    let (model, _) = load(args.model.as_deref(), &set, None)?;
    let invalid = |e: crate::sensitivity::ModelSensitivityError| Failure {
        code: 2,
        message: format!("error: {e}"),
    };
    let groups = args
        .groups
        .iter()
        .map(|g| parse_group(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let options = ModelSensitivityOptions {
        samples: args.samples as usize,
        seed: args.seed,
        groups,
        sobol: SobolOptions {
            bootstrap_resamples: args.bootstrap as usize,
            ..SobolOptions::default()
        },
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads as usize)
        .build()
        .map_err(|e| Failure {
            code: 1,
            message: format!("error: cannot start {} threads: {e}", args.threads),
        })?;
    let started = std::time::Instant::now();
    let result = pool
        .install(|| model_sensitivity(&model, &options))
        .map_err(invalid)?;
    report::ensure_dir(&args.out)?;
    let text = serde_json::to_string_pretty(&result.json).unwrap_or_default();
    report::write_atomic(&args.out.join("sensitivity.json"), text.as_bytes())?;
    if !args.quiet {
        print_stdout(&sensitivity_text(
            &model,
            &result,
            started.elapsed().as_secs_f64(),
            &args.out,
        ));
    }
    Ok(())
}

/// The terminal summary of `sensitivity`: the inputs and groups that matter most for export loss.
fn sensitivity_text(
    model: &Model,
    result: &crate::sensitivity::ModelSensitivity,
    elapsed_s: f64,
    out: &Path,
) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} — Sobol indices from {} model evaluations in {:.1} s",
        model.name, result.evaluations, elapsed_s
    );
    for (title, rows, limit) in [
        ("input", &result.export_loss_ranking, 10),
        ("group", &result.export_loss_groups, usize::MAX),
    ] {
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(vec![title, "total", "first order"]);
        for (name, first, total) in rows.iter().take(limit) {
            // Long cluster names stay whole in sensitivity.json; the table shows their start.
            let shown = if name.chars().count() > 72 {
                format!("{}…", name.chars().take(71).collect::<String>())
            } else {
                name.clone()
            };
            table.add_row(vec![shown, format!("{total:.3}"), format!("{first:.3}")]);
        }
        let what = if title == "input" {
            "top inputs"
        } else {
            "groups"
        };
        let _ = writeln!(text, "export_loss: {what} by total index\n{table}");
    }
    let _ = writeln!(
        text,
        "results in {}",
        out.join("sensitivity.json").display()
    );
    text
}

/// `tariffsim backtest`: one run scored against the observations and, where they have an sd,
/// updated on them. Everything is computed before anything is written, so a bad observation
/// file or an update whose weights all underflow leaves no files behind.
fn backtest(args: BacktestArgs) -> Result<(), Failure> {
    let (model, _) = load(args.model.as_deref(), &args.set, None)?;
    // Observations may name any monthly output: switch them on when the horizon allows.
    let model = if model::whole_months_horizon(&model) && !model.monthly {
        model::apply_overrides(&model, &with_monthly(&[], true)).map_err(|e| Failure {
            code: 2,
            message: format!("error: {e}"),
        })?
    } else {
        model
    };
    let observations =
        crate::backtest::read_observations(&args.observed, &model).map_err(|e| Failure {
            code: 2,
            message: format!("error: {e}\n{}: the observations were not used", e.file),
        })?;
    let config = RunConfig {
        draws: args.draws,
        seed: args.seed,
        threads: args.threads as usize,
        sampler: args.sampling.kind(),
        antithetic: args.sampling.antithetic,
    };
    let bar = progress_bar(config.draws, args.quiet, "draws");
    let progress = bar.clone().map(Progress);
    let sinks: Vec<&dyn BlockSink> = progress.iter().map(|p| p as &dyn BlockSink).collect();
    let bt = crate::backtest::run_backtest(&model, &config, &observations, &sinks).map_err(
        |e| match e {
            crate::backtest::BacktestError::Underflow(m) => Failure {
                code: 2,
                message: format!("error: {}: {m}", args.observed.display()),
            },
            crate::backtest::BacktestError::Engine(e) => e.into(),
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let info = RunInfo {
        draws: bt.run.stats.draws(),
        seed: config.seed,
        sampler: config.sampler_label(),
        threads: bt.run.threads,
        elapsed_s: bt.run.elapsed.as_secs_f64(),
        stopping: None,
    };
    let prior = report::summary_json(&model, &info, &bt.run.stats);
    let updated = bt.updated_json(&model, &prior);
    let backtest_json = bt.backtest_json();
    report::ensure_dir(&args.out)?;
    crate::batch::write_results(&model, &info, &bt.run.stats, &args.out)?;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    report::write_atomic(
        &args.out.join("backtest.json"),
        pretty(&backtest_json).as_bytes(),
    )?;
    if let Some(updated) = &updated {
        let dir = args.out.join("updated");
        report::ensure_dir(&dir)?;
        report::write_atomic(&dir.join("summary.json"), pretty(updated).as_bytes())?;
    }
    if args.report {
        report::write_report(&args.out, None)?;
        if updated.is_some() {
            report::write_report(&args.out.join("updated"), None)?;
        }
    }
    if let Some(w) = bt.update.as_ref().and_then(|u| u.warning()) {
        eprintln!("warning: {w}");
    }
    if !args.quiet {
        print_stdout(&report::backtest_text(&model, &bt));
        print_stdout(&format!("results in {}\n", args.out.display()));
    }
    Ok(())
}
