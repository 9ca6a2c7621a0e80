//! The command line, a module of the binary (the library has no command-line code): clap
//! parses the arguments, [`config`] turns them into one validated configuration per command
//! before any work starts, the library does the work, and [`render`] prints results and
//! errors for people, naming the flags that set each library setting. No economics here.
//!
//! Exit codes: 0 success, 1 failure while running or writing results, 2 invalid input
//! (arguments or model files).

mod config;
mod lines;
mod render;
mod written;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use tariffsim::backtest::{BacktestRun, BacktestSetup};
use tariffsim::deal::DealCosts;
use tariffsim::model::{self, Model};
use tariffsim::report::{self, CheckpointDir, DrawsCsv, RunInfo};
use tariffsim::run::{self, BlockRange, MpiWorld, Observer, Run, RunConfig, SamplerKind};
use tariffsim::stats::RunStats;

use config::{load, Claim, PlannedRun, RunPlan, SweepPlan};
use render::{print_stdout, progress_bar, Failure, Progress};
use written::Written;

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
        /// Show the Sobol indices of a sensitivity analysis of the same model (the --out
        /// folder of `tariffsim sensitivity`) in the report's Sensitivity section.
        #[arg(long, value_name = "DIR")]
        sensitivity: Option<PathBuf>,
    },
    /// What changes between two runs: compare.csv (every statistic of A and B, the
    /// difference and its Monte Carlo error) and compare.html.
    Compare {
        /// The --out folder of run A (it holds summary.json).
        a: PathBuf,
        /// The --out folder of run B.
        b: PathBuf,
        /// Output folder for compare.csv and compare.html.
        #[arg(long, default_value = "tariffsim-compare")]
        out: PathBuf,
    },
    /// Check model files and report every problem with its line and column.
    Validate {
        /// Model files (TOML).
        #[arg(required = true)]
        models: Vec<PathBuf>,
    },
    /// Combine the partial results of `run --shard K/N` (or `backtest --shard K/N`) into the
    /// full result.
    Merge {
        /// Folders (or partial.tariffsim files) written by the shards.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Output folder for summary.json and quantiles.csv (and, for the shards of a
        /// backtest, backtest.json and updated/).
        #[arg(long, default_value = "tariffsim-out")]
        out: PathBuf,
        /// No table on the terminal.
        #[arg(long)]
        quiet: bool,
        /// Also write report.html (and, for a backtest, updated/report.html).
        #[arg(long)]
        report: bool,
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
        /// Use a synthetic model of this many sectors instead (1 to 1000: memory grows by
        /// ~0.4 MB a sector, so 1000 sectors take ~0.4 GB).
        #[arg(long, conflicts_with = "model", value_parser = clap::value_parser!(u64).range(1..=tariffsim::synthetic::MAX_SECTORS))]
        sectors: Option<u64>,
        /// Number of draws.
        #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000_000))]
        draws: u64,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
        threads: u64,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also compute the monthly outputs of docs/time.md (to measure what they cost).
        #[arg(long)]
        monthly: bool,
        /// Use a synthetic model of this many tariff lines (MODEL.md §14) in --line-sectors
        /// sectors instead.
        #[arg(long, conflicts_with_all = ["model", "sectors"], value_parser = clap::value_parser!(u64).range(1..=tariffsim::synthetic::MAX_LINES))]
        lines: Option<u64>,
        /// Sectors of the synthetic line model.
        #[arg(long, requires = "lines", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=tariffsim::synthetic::MAX_SECTORS))]
        line_sectors: u64,
        /// Keep the per-line sketches of lines.csv (`run --line-outputs`) in the run measured.
        #[arg(long)]
        line_outputs: bool,
        /// Give the synthetic line model's sectors half-lives and three named competitors, as
        /// the default model has (docs/lines.md); add --monthly for its monthly outputs.
        #[arg(long, requires = "lines")]
        line_paths: bool,
    },
    /// Tariff lines (MODEL.md §14): turn a UN Comtrade download into a line file.
    Lines {
        #[command(subcommand)]
        command: lines::LinesCommand,
    },
    /// Hold a forecast against observed values (docs/time.md): PIT, CRPS and coverage in
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
    /// Also write report.html (observations on the fan chart) and updated/report.html.
    #[arg(long)]
    report: bool,
    /// Run only the K-th of N contiguous ranges of blocks and write a partial result with the
    /// backtest's state (merge with `tariffsim merge`).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Save completed blocks, with the backtest's observed draws, to DIR as the run goes.
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// Continue the backtest saved in --checkpoint DIR (from the beginning when none was saved yet).
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Replace the checkpoint another run left in --checkpoint DIR.
    #[arg(long, requires = "checkpoint", conflicts_with = "resume")]
    overwrite: bool,
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
    /// Also report the monthly outputs of docs/time.md (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    target: TargetArgs,
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
    /// Continue the run saved in --checkpoint DIR (from the beginning when none was saved yet).
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Replace the checkpoint another run left in --checkpoint DIR (without it, such a folder
    /// is refused so that no run's progress is lost by mistake).
    #[arg(long, requires = "checkpoint", conflicts_with = "resume")]
    overwrite: bool,
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
    /// With --save-draws: column names Stata reads (at most 32 characters, no dots, unique),
    /// and draws_columns.csv mapping each to its full name.
    #[arg(long, requires = "save_draws")]
    stata_names: bool,
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
    /// Also report the monthly outputs of docs/time.md (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
    /// Also write lines.csv: mean, p5, p50, p95 of every tariff line's export loss (MODEL.md
    /// §14; a model with a [lines] file; at most 4 KiB of statistics per line).
    #[arg(long)]
    line_outputs: bool,
}

/// How the points are generated (`run` and `sweep`).
#[derive(Debug, clap::Args)]
struct SamplingArgs {
    /// Point generator.
    #[arg(long, default_value = "mc")]
    sampler: SamplerArg,
    /// Antithetic pairs: every other draw mirrors the previous one (u → 1 − u).
    #[arg(long)]
    antithetic: bool,
}

/// A sampler on the command line: names and descriptions come from the library's one table
/// ([`SamplerKind::ALL`], [`SamplerKind::name`]), not from a list of our own.
#[derive(Debug, Clone, Copy)]
struct SamplerArg(SamplerKind);

static SAMPLER_ARGS: [SamplerArg; 3] = [
    SamplerArg(SamplerKind::ALL[0]),
    SamplerArg(SamplerKind::ALL[1]),
    SamplerArg(SamplerKind::ALL[2]),
];

impl clap::ValueEnum for SamplerArg {
    fn value_variants<'a>() -> &'a [Self] {
        &SAMPLER_ARGS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.name()).help(self.0.description()))
    }
}

/// Run until the mean of an output is known to a standard error (`run`, and each point of a `sweep`).
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
    /// Base sample size N; the model is evaluated N x (2 + G) times, G the number of distinct coordinate sets estimated (parameters, correlated clusters, groups). A power of two is best.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(2..=1_000_000_000))]
    samples: u64,
    /// Seed of the Sobol scrambling and of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// An extra group: NAME=path1,path2 (a `*` segment matches any one segment). Repeatable.
    #[arg(long = "group", value_name = "NAME=PATHS")]
    groups: Vec<String>,
    /// Bootstrap resamples behind the 95 % intervals (1 to 100000; with none there would be no
    /// intervals to report).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    bootstrap: u64,
    /// Worker threads (0 = all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1024))]
    threads: u64,
    /// Output folder.
    #[arg(long, default_value = "tariffsim-sensitivity")]
    out: PathBuf,
    /// Also report the monthly outputs of docs/time.md (months.<t>.*), as `[model] monthly = true` does.
    #[arg(long)]
    monthly: bool,
    /// No table on the terminal.
    #[arg(long)]
    quiet: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The instruction-set cap is a user input too: a typo must not silently run another level.
    if let Err(message) = tariffsim::SimdLevel::from_env() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    // Under `mpirun -n R` (feature `mpi`) every rank runs its share of the blocks.
    let world = MpiWorld::init();
    let result = match cli.command {
        Command::Run(args) => RunPlan::new(args, world.as_ref()).and_then(|plan| {
            let written = run_files(&plan);
            let result = run_cmd(&plan, world.as_ref()).map_err(|f| written.explain(f));
            if result.is_err() {
                plan.claim.abandon();
            }
            result
        }),
        Command::Report {
            dir,
            charts,
            sensitivity,
        } => report_cmd(&dir, charts.as_deref(), sensitivity.as_deref()),
        Command::Compare { a, b, out } => compare_cmd(&a, &b, &out),
        Command::Validate { models } => validate(&models),
        Command::Merge {
            parts,
            out,
            quiet,
            report,
        } => merge(&parts, &out, quiet, report),
        Command::Sweep(args) => sweep(&args),
        Command::Sensitivity(args) => sensitivity(args),
        Command::Bench {
            model,
            sectors,
            draws,
            threads,
            seed,
            monthly,
            lines,
            line_sectors,
            line_outputs,
            line_paths,
        } => bench(
            model.as_deref(),
            sectors.map(|n| n as usize),
            lines.map(|n| (n as usize, line_sectors as usize, line_paths)),
            draws,
            threads as usize,
            seed,
            monthly,
            line_outputs,
        ),
        Command::Lines { command } => lines::run(command),
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

fn validate(models: &[PathBuf]) -> Result<(), Failure> {
    let mut failures = Vec::new();
    let mut code = 0;
    for path in models {
        match model::load_model(path) {
            Ok(m) => {
                for w in &m.warnings {
                    eprintln!("warning: {}: {w}", path.display());
                }
                print_stdout(&format!(
                    "ok: {} ({} sectors, {} scenarios, {} parameters of which {} uncertain)\n",
                    path.display(),
                    m.sectors.len(),
                    m.scenarios.len(),
                    m.params.len(),
                    m.dimension - 1
                ))
            }
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

/// The files a `run` writes, in the folders it writes them to (to say which were completed if
/// a write fails).
fn run_files(plan: &RunPlan) -> Written {
    let mut dirs: Vec<&Path> = vec![&plan.out];
    let mut expected = Vec::new();
    for r in &plan.runs {
        dirs.push(&r.out);
        if matches!(plan.range, BlockRange::Shard { .. }) {
            expected.push(r.out.join(report::PARTIAL_FILE));
            continue;
        }
        expected.push(r.out.join("summary.json"));
        expected.push(r.out.join("quantiles.csv"));
        if plan.save_draws {
            expected.push(r.out.join("draws.csv"));
        }
        if plan.report {
            expected.push(r.out.join("report.html"));
        }
    }
    if plan.compares() {
        expected.push(plan.out.join("comparison.csv"));
    }
    dirs.extend(plan.checkpoint.as_deref());
    dirs.extend(plan.charts.as_deref());
    Written::start(&dirs, expected)
}

/// `run`: every model of the plan, then comparison.csv when there are several.
fn run_cmd(plan: &RunPlan, world: Option<&MpiWorld>) -> Result<(), Failure> {
    let mut runs = Vec::new();
    for planned in &plan.runs {
        if let Some(stats) = run_one(plan, planned, world)? {
            runs.push((planned.label.clone(), &planned.loaded.model, stats));
        }
    }
    // Under MPI only rank 0 holds the merged results and writes files.
    if !plan.compares() || world.is_some_and(|w| !w.is_root()) {
        return Ok(());
    }
    let table: Vec<(String, &Model, &RunStats)> =
        runs.iter().map(|(l, m, s)| (l.clone(), *m, s)).collect();
    report::write_atomic(
        &plan.out.join("comparison.csv"),
        &report::comparison_csv(&table)?,
    )?;
    if !plan.quiet {
        print_stdout(&format!(
            "comparison of {} models in {}\n",
            runs.len(),
            plan.out.join("comparison.csv").display()
        ));
    }
    Ok(())
}

/// One model's run through the library's driver, with the observers the flags ask for;
/// returns its statistics where this process holds the whole run's (not on shards or on
/// MPI ranks other than 0).
fn run_one(
    plan: &RunPlan,
    planned: &PlannedRun,
    world: Option<&MpiWorld>,
) -> Result<Option<RunStats>, Failure> {
    let PlannedRun {
        loaded, out, stop, ..
    } = planned;
    let (model, config) = (&loaded.model, &plan.config);
    if world.is_none_or(|w| w.is_root()) {
        report::ensure_dir(out)?;
    }
    let blocks = plan.range.blocks(config.draws);
    let bar = progress_bar(
        ((blocks.end - blocks.start) * tariffsim::sampling::BLOCK_SIZE).min(config.draws),
        plan.quiet || world.is_some(),
        "draws",
    );
    let progress = bar.clone().map(Progress);
    let draws_csv = if plan.save_draws {
        let columns = if plan.stata_names {
            report::DrawsColumns::Stata
        } else {
            report::DrawsColumns::Full
        };
        Some(DrawsCsv::create_with(
            &out.join("draws.csv"),
            model,
            0,
            columns,
        )?)
    } else {
        None
    };
    let checkpoint = match &plan.checkpoint {
        Some(dir) => Some(CheckpointDir::create(dir)?),
        None => None,
    };
    let mut run = Run::new(model, config)
        .model_text(&loaded.text)
        .stop(stop.clone())
        .blocks(plan.range);
    if let Some(p) = &progress {
        run = run.observe(p as &dyn Observer);
    }
    if let Some(d) = &draws_csv {
        run = run.observe(d as &dyn Observer);
    }
    if let Some(c) = &checkpoint {
        run = run.checkpoint(c, planned.resume.clone());
    }
    let outcome = match world {
        Some(w) => match run.execute_ranks(w)? {
            Some(outcome) => outcome,
            // Not rank 0: this rank's statistics went to rank 0, which writes every result.
            None => return Ok(None),
        },
        None => run.execute()?,
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let BlockRange::Shard { k, n } = plan.range {
        report::write_partial(out, &outcome.partial)?;
        if !plan.quiet {
            print_stdout(&format!(
                "shard {k}/{n}: blocks {}..{} of {} written to {}\n",
                blocks.start,
                blocks.end,
                tariffsim::sampling::block_count(config.draws),
                out.join(report::PARTIAL_FILE).display()
            ));
        }
        return Ok(None);
    }
    let stats = outcome.stats;
    let info = RunInfo {
        draws: stats.draws(),
        seed: config.seed,
        sampler: config.sampler_label(),
        threads: outcome.threads,
        elapsed_s: outcome.elapsed.as_secs_f64(),
        stopping: outcome.stopping,
    };
    // What the deal costs (issue 17): the run's first draws again, under every scenario.
    let costs = DealCosts::for_run(model, &info.sampler, info.seed, info.draws, info.threads)?;
    report::write_results(model, &info, &stats, costs, out)?;
    for w in report::run_warnings(model, &stats) {
        if !model.warnings.contains(&w) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(d) = draws_csv {
        d.finish()?;
    }
    if plan.report {
        // With several models each model's charts go to a sub-folder of DIR named like its
        // result folder.
        let charts = plan
            .charts
            .as_ref()
            .map(|dir| match (plan.compares(), out.file_name()) {
                (true, Some(name)) => dir.join(name),
                _ => dir.clone(),
            });
        report::write_report(out, charts.as_deref())?;
    }
    if !plan.quiet {
        print_stdout(&render::headline(model, &stats, &info, out));
        print_stdout(&render::month_table_text(model, &stats));
        print_stdout(&render::stopping_text(info.stopping.as_ref()));
        print_stdout(&render::tornado_text(model, &stats));
        if let Some(w) = world {
            print_stdout(&format!("({} MPI ranks)\n", w.size()));
        }
    }
    Ok(Some(stats))
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[allow(clippy::too_many_arguments)]
fn bench(
    path: Option<&Path>,
    sectors: Option<usize>,
    lines: Option<(usize, usize, bool)>,
    draws: u64,
    threads: usize,
    seed: u64,
    monthly: bool,
    line_outputs: bool,
) -> Result<(), Failure> {
    let model = match (sectors, lines) {
        (_, Some((n, in_sectors, paths))) => lines::synthetic(n, in_sectors, paths)?,
        (Some(n), None) if n >= 1 => {
            model::compile_model(&tariffsim::synthetic::synthetic_model_text(n), "synthetic")?
        }
        (Some(_), None) => return Err(Failure::invalid("--sectors must be at least 1")),
        (None, None) => load(path, &[], None)?.model,
    };
    let model = model
        .with_monthly(monthly)
        .map_err(|e| Failure::invalid(format!("--monthly: {e}")))?
        .with_line_outputs(line_outputs)
        .map_err(|e| Failure::invalid(format!("--line-outputs: {e}")))?;
    let config = RunConfig {
        draws,
        seed,
        threads,
        sampler: SamplerKind::MonteCarlo,
        antithetic: false,
    };
    let outcome = run::run(&model, &config)?;
    let secs = outcome.elapsed.as_secs_f64();
    let summary_started = std::time::Instant::now();
    let export_loss = outcome
        .stats
        .output_summary(tariffsim::outputs::EXPORT_LOSS);
    print_stdout(&format!(
        "model: {} ({} sectors, {} lines, {} uncertain parameters)\ndraws: {draws}, threads: {}, instruction set: {:?}\nelapsed: {secs:.3} s\nthroughput: {:.0} draws/s\nsummary: {:.3} s\npeak memory (VmHWM): {}\nexport_loss mean: {}\n",
        model.name,
        model.sectors.len(),
        model.lines.len(),
        model.dimension - 1,
        outcome.threads,
        tariffsim::SimdLevel::current(),
        draws as f64 / secs.max(1e-12),
        summary_started.elapsed().as_secs_f64(),
        peak_rss_mib().map_or("unknown".to_string(), |m| format!("{m:.1} MiB")),
        export_loss.mean,
    ));
    Ok(())
}

fn merge(parts: &[PathBuf], out: &Path, quiet: bool, report: bool) -> Result<(), Failure> {
    // Shard files are read one at a time as the merge takes them (not all into memory first).
    let merged = run::partial::merge(parts.iter().map(|p| report::read_partial(p)), true)?;
    if let Some(state) = &merged.backtest {
        // The shards of a backtest: the same files as `tariffsim backtest` in one process.
        let observed = state.observed_file.clone();
        let update = state.observations.iter().any(|o| o.sd.is_some());
        let (model, result) = tariffsim::backtest::backtest_from_partial(merged)
            .map_err(|e| backtest_failure(e, &observed))?;
        let claim = Claim::new([out])?;
        let written = backtest_files(out, update, report);
        let result = write_backtest(out, &model, &result, report, quiet, true)
            .map_err(|f| written.explain(f));
        if result.is_err() {
            claim.abandon();
        }
        return result;
    }
    let model = merged.model()?;
    let claim = Claim::new([out])?;
    let mut expected = vec![out.join("summary.json"), out.join("quantiles.csv")];
    if report {
        expected.push(out.join("report.html"));
    }
    let written = Written::start(&[out], expected);
    let result = merge_write(&merged, &model, out, quiet, report).map_err(|f| written.explain(f));
    if result.is_err() {
        claim.abandon();
    }
    result
}

fn merge_write(
    merged: &run::PartialResult,
    model: &Model,
    out: &Path,
    quiet: bool,
    report: bool,
) -> Result<(), Failure> {
    let info = RunInfo {
        draws: merged.draws,
        seed: merged.seed,
        sampler: merged.sampler.clone(),
        threads: merged.threads,
        elapsed_s: merged.elapsed_s,
        stopping: None,
    };
    let costs = DealCosts::for_run(model, &info.sampler, info.seed, info.draws, info.threads)?;
    report::write_results(model, &info, &merged.stats, costs, out)?;
    if report {
        report::write_report(out, None)?;
    }
    if !quiet {
        print_stdout(&render::headline(model, &merged.stats, &info, out));
        print_stdout(&render::month_table_text(model, &merged.stats));
    }
    Ok(())
}

fn sweep(args: &SweepArgs) -> Result<(), Failure> {
    let plan = SweepPlan::new(args)?;
    let claim = Claim::new([args.out.as_path()])?;
    let written = Written::start(
        &[&args.out],
        vec![args.out.join("sweep.csv"), args.out.join("sweep.json")],
    );
    let result = sweep_run(args, &plan).map_err(|f| written.explain(f));
    if result.is_err() {
        claim.abandon();
    }
    result
}

fn sweep_run(args: &SweepArgs, plan: &SweepPlan) -> Result<(), Failure> {
    for w in plan.sweep.warnings() {
        if !plan.model.warnings.contains(&w) {
            eprintln!("warning: {w}");
        }
    }
    let bar = progress_bar(plan.sweep.len() as u64, args.quiet, "grid points");
    let points = plan.sweep.run(&plan.config, &plan.stop, |done, _| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let axes = plan.sweep.axes();
    report::ensure_dir(&args.out)?;
    report::write_atomic(
        &args.out.join("sweep.csv"),
        &tariffsim::sweep::sweep_csv(axes, &points)?,
    )?;
    report::write_atomic(
        &args.out.join("sweep_long.csv"),
        &tariffsim::sweep::sweep_long_csv(&plan.model.units, axes, &points)?,
    )?;
    let json = tariffsim::sweep::sweep_json(&plan.model, &plan.config, axes, &points);
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    report::write_atomic(&args.out.join("sweep.json"), text.as_bytes())?;
    for (name, svg) in tariffsim::sweep::sweep_charts(&plan.model.units, axes, &points) {
        report::write_atomic(&args.out.join(name), svg.as_bytes())?;
    }
    if !args.quiet {
        print_stdout(&format!(
            "{} grid points, {} draws each (seed {}), results in {}\n",
            points.len(),
            plan.config.draws,
            plan.config.seed,
            args.out.display()
        ));
    }
    Ok(())
}

/// `tariffsim report DIR`: a missing or malformed summary.json is bad input (exit code 2).
fn report_cmd(
    dir: &Path,
    charts: Option<&Path>,
    sensitivity: Option<&Path>,
) -> Result<(), Failure> {
    // Locked like a run's folder (a run may be writing into it); a folder that does not exist
    // is not created, and the report's own check names the missing summary.json.
    let claim = if dir.is_dir() {
        Claim::new(std::iter::once(dir).chain(charts))?
    } else {
        Claim::default()
    };
    let mut dirs = vec![dir];
    dirs.extend(charts);
    let written = Written::start(&dirs, vec![dir.join("report.html")]);
    let result = report_write(dir, charts, sensitivity).map_err(|f| written.explain(f));
    if result.is_err() {
        claim.abandon();
    }
    result
}

fn report_write(
    dir: &Path,
    charts: Option<&Path>,
    sensitivity: Option<&Path>,
) -> Result<(), Failure> {
    match report::write_report_with(dir, charts, sensitivity) {
        Ok(path) => {
            print_stdout(&format!("wrote {}\n", path.display()));
            Ok(())
        }
        Err(e @ report::ReportError::Malformed { .. }) => Err(Failure::invalid(e)),
        Err(e) => Err(e.into()),
    }
}

/// `tariffsim compare A B`: a missing or malformed run folder is bad input (exit code 2).
/// The output folder is locked like every folder a command writes into; after a refusal a
/// folder this command created is removed again.
fn compare_cmd(a: &Path, b: &Path, out: &Path) -> Result<(), Failure> {
    let claim = Claim::new([out])?;
    let result = compare_write(a, b, out);
    if result.is_err() {
        claim.abandon();
    }
    result
}

fn compare_write(a: &Path, b: &Path, out: &Path) -> Result<(), Failure> {
    match report::write_compare(a, b, out) {
        Ok(paths) => {
            for p in paths {
                print_stdout(&format!("wrote {}\n", p.display()));
            }
            Ok(())
        }
        Err(e @ report::ReportError::Malformed { .. }) => Err(Failure::invalid(e)),
        Err(e) => Err(e.into()),
    }
}

fn sensitivity(args: SensitivityArgs) -> Result<(), Failure> {
    use tariffsim::sensitivity::{
        parse_group, ModelSensitivityError, ModelSensitivityOptions, SobolOptions,
    };
    let set = config::with_monthly(&args.set, args.monthly);
    let model = load(args.model.as_deref(), &set, None)?.model;
    let invalid = |e: ModelSensitivityError| match e {
        ModelSensitivityError::Group { given, message } => {
            Failure::invalid(format!("--group {given}: {message}"))
        }
        e => Failure::invalid(e),
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
    let claim = Claim::new([args.out.as_path()])?;
    let written = Written::start(&[&args.out], vec![args.out.join("sensitivity.json")]);
    let result = sensitivity_run(&args, &model, &options).map_err(|f| written.explain(f));
    if result.is_err() {
        claim.abandon();
    }
    result
}

fn sensitivity_run(
    args: &SensitivityArgs,
    model: &Model,
    options: &tariffsim::sensitivity::ModelSensitivityOptions,
) -> Result<(), Failure> {
    use tariffsim::sensitivity::{model_sensitivity, ModelSensitivityError};
    let invalid = |e: ModelSensitivityError| match e {
        ModelSensitivityError::Group { given, message } => {
            Failure::invalid(format!("--group {given}: {message}"))
        }
        e => Failure::invalid(e),
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
        .install(|| model_sensitivity(model, options))
        .map_err(invalid)?;
    report::ensure_dir(&args.out)?;
    let text = serde_json::to_string_pretty(&result.json).unwrap_or_default();
    report::write_atomic(&args.out.join("sensitivity.json"), text.as_bytes())?;
    report::write_atomic(&args.out.join("sensitivity.csv"), &result.to_csv()?)?;
    if !args.quiet {
        print_stdout(&render::sensitivity_text(
            model,
            &result,
            started.elapsed().as_secs_f64(),
            &args.out,
        ));
    }
    Ok(())
}

/// `tariffsim backtest`: one run scored against the observations and, where they have an sd,
/// updated on them. Everything is computed before anything is written, so a bad observation
/// file or an update whose weights all underflow leaves no files behind. With `--shard K/N`
/// only the shard's partial result is written (merged by `tariffsim merge`); with
/// `--checkpoint` the backtest's state is saved with the run's, and `--resume` continues it.
fn backtest(args: BacktestArgs) -> Result<(), Failure> {
    let loaded = load(args.model.as_deref(), &args.set, None)?;
    // Observations may name any monthly output: switched on when the horizon allows.
    let model = tariffsim::backtest::backtest_model(&loaded.model)?;
    let observations =
        tariffsim::backtest::read_observations(&args.observed, &model).map_err(|e| {
            Failure::invalid(format!("{e}\n{}: the observations were not used", e.file))
        })?;
    let config = RunConfig {
        draws: args.draws,
        seed: args.seed,
        threads: args.threads as usize,
        sampler: args.sampling.sampler.0,
        antithetic: args.sampling.antithetic,
    };
    let range = match args.shard {
        Some((k, n)) => BlockRange::Shard { k, n },
        None => BlockRange::All,
    };
    let mut dirs = vec![args.out.as_path()];
    dirs.extend(args.checkpoint.as_deref());
    let claim = Claim::new(dirs)?;
    let resume = match &args.checkpoint {
        Some(dir) => {
            match config::saved_checkpoint(dir, args.resume, args.overwrite, &model, &config) {
                Ok(resume) => resume,
                Err(e) => {
                    claim.abandon();
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let written = if range == BlockRange::All {
        let update = observations.iter().any(|o| o.sd.is_some());
        backtest_files(&args.out, update, args.report)
    } else {
        Written::start(&[&args.out], vec![args.out.join(report::PARTIAL_FILE)])
    };
    let setup = BacktestSetup {
        range,
        resume,
        ..Default::default()
    };
    let result = backtest_run(&args, &loaded.text, &model, &config, &observations, setup)
        .map_err(|f| written.explain(f));
    if result.is_err() {
        claim.abandon();
    }
    result
}

/// The files a backtest of every block writes into `out` (to say which were completed if a
/// write fails): `update`, whether any observation has an sd.
fn backtest_files(out: &Path, update: bool, report: bool) -> Written {
    let updated = out.join("updated");
    let mut expected: Vec<PathBuf> = ["summary.json", "quantiles.csv", "backtest.json"]
        .iter()
        .map(|f| out.join(f))
        .collect();
    if update {
        expected.push(updated.join("summary.json"));
    }
    if report {
        expected.extend(
            expected
                .clone()
                .iter()
                .filter(|p| p.ends_with("summary.json"))
                .filter_map(|p| p.parent().map(|d| d.join("report.html"))),
        );
    }
    Written::start(&[out, &updated], expected)
}

/// A backtest's failure for people: an update whose weights all underflow is bad input (the
/// observations, named by `observed`), exit 2.
fn backtest_failure(e: tariffsim::backtest::BacktestError, observed: &str) -> Failure {
    match e {
        tariffsim::backtest::BacktestError::Underflow(m) => {
            Failure::invalid(format!("{observed}: {m}"))
        }
        tariffsim::backtest::BacktestError::Run(e) => e.into(),
    }
}

fn backtest_run(
    args: &BacktestArgs,
    model_text: &str,
    model: &Model,
    config: &RunConfig,
    observations: &[tariffsim::backtest::Observation],
    setup: BacktestSetup<'_>,
) -> Result<(), Failure> {
    let blocks = setup.range.blocks(config.draws);
    let bar = progress_bar(
        ((blocks.end - blocks.start) * tariffsim::sampling::BLOCK_SIZE).min(config.draws),
        args.quiet,
        "draws",
    );
    let progress = bar.clone().map(Progress);
    let observers: Vec<&dyn Observer> = progress.iter().map(|p| p as &dyn Observer).collect();
    let checkpoint = match &args.checkpoint {
        Some(dir) => Some(CheckpointDir::create(dir)?),
        None => None,
    };
    let observed = args.observed.display().to_string();
    let setup = BacktestSetup {
        model_text,
        observed_file: &observed,
        checkpoint: checkpoint.as_ref().map(|c| c as &dyn run::Checkpoint),
        ..setup
    };
    let done =
        tariffsim::backtest::run_backtest_with(model, config, observations, &observers, setup)
            .map_err(|e| backtest_failure(e, &observed))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match done {
        BacktestRun::Part(partial) => {
            report::ensure_dir(&args.out)?;
            report::write_partial(&args.out, &partial)?;
            if let (false, Some((k, n))) = (args.quiet, args.shard) {
                print_stdout(&format!(
                    "shard {k}/{n} of the backtest: blocks {}..{} of {} written to {}\n",
                    blocks.start,
                    blocks.end,
                    tariffsim::sampling::block_count(config.draws),
                    args.out.join(report::PARTIAL_FILE).display()
                ));
            }
            Ok(())
        }
        BacktestRun::Done(backtest) => {
            let result = tariffsim::backtest::backtest_documents(model, config, *backtest);
            write_backtest(&args.out, model, &result, args.report, args.quiet, false)
        }
    }
}

/// Writes a finished backtest's files into `out`: summary.json and quantiles.csv of the prior
/// run, backtest.json, updated/ where the forecast was updated, the reports with `report`
/// (`tariffsim backtest` and `tariffsim merge` of its shards write the same).
fn write_backtest(
    out: &Path,
    model: &Model,
    result: &tariffsim::backtest::BacktestResult,
    report: bool,
    quiet: bool,
    merged: bool,
) -> Result<(), Failure> {
    // The updated forecast's folder is written under the lock of --out.
    for stale in tariffsim::folder::remove_stale(&out.join("updated")).unwrap_or_default() {
        eprintln!("note: removed {stale}, a temporary file left by an interrupted run");
    }
    let (bt, info, updated) = (&result.backtest, &result.info, &result.updated_json);
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    report::ensure_dir(out)?;
    report::write_results(model, info, &bt.run.stats, None, out)?;
    report::write_atomic(
        &out.join("backtest.json"),
        pretty(&result.backtest_json).as_bytes(),
    )?;
    if let Some(updated) = updated {
        let dir = out.join("updated");
        report::ensure_dir(&dir)?;
        report::write_atomic(&dir.join("summary.json"), pretty(updated).as_bytes())?;
    }
    if report {
        report::write_report(out, None)?;
        if updated.is_some() {
            report::write_report(&out.join("updated"), None)?;
        }
    }
    if let Some(w) = bt.update.as_ref().and_then(|u| u.warning()) {
        eprintln!("warning: {w}");
    }
    if !quiet {
        if merged {
            print_stdout(&format!(
                "merged the shards of a backtest ({} draws)\n",
                info.draws
            ));
        }
        print_stdout(&render::backtest_text(model, bt));
        print_stdout(&format!("results in {}\n", out.display()));
    }
    Ok(())
}
