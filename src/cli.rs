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
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Model file (TOML); omit to run the embedded default model.
    model: Option<PathBuf>,
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
    /// No progress bar and no table on the terminal.
    #[arg(long)]
    quiet: bool,
    /// Also write report.html, a self-contained page of charts, to the output folder.
    #[arg(long)]
    report: bool,
    /// Also write each chart of the report as an SVG file to DIR (implies --report).
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
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
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Report { dir, charts } => report_cmd(&dir, charts.as_deref()),
        Command::Validate { models } => validate(&models),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn load(path: Option<&Path>) -> Result<Model, Failure> {
    Ok(match path {
        Some(p) => model::load_model(p)?,
        None => model::compile_model(model::DEFAULT_MODEL_TEXT, model::DEFAULT_MODEL_FILE)?,
    })
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

fn run(args: RunArgs) -> Result<(), Failure> {
    let model = load(args.model.as_deref())?;
    let config = RunConfig {
        draws: args.draws,
        seed: args.seed,
        threads: args.threads as usize,
        sampler: SamplerKind::MonteCarlo,
    };
    report::ensure_dir(&args.out)?;
    let draws_csv = if args.save_draws {
        Some(DrawsCsv::create(&args.out.join("draws.csv"), &model, 0)?)
    } else {
        None
    };
    let progress = if !args.quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(config.draws);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} draws ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(Progress(bar))
    } else {
        None
    };
    let mut sinks: Vec<&dyn BlockSink> = Vec::new();
    if let Some(p) = &progress {
        sinks.push(p);
    }
    if let Some(d) = &draws_csv {
        sinks.push(d);
    }
    let outcome = engine::run(&model, &config, &sinks)?;
    if let Some(p) = &progress {
        p.0.finish_and_clear();
    }
    let info = RunInfo {
        draws: config.draws,
        seed: config.seed,
        sampler: config.sampler.name().to_string(),
        threads: outcome.threads,
        elapsed_s: outcome.elapsed.as_secs_f64(),
    };
    let summary = report::summary_json(&model, &info, &outcome.stats);
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Failure {
        code: 1,
        message: format!("error: cannot encode summary.json: {e}"),
    })?;
    report::write_atomic(&args.out.join("summary.json"), text.as_bytes())?;
    report::write_atomic(
        &args.out.join("quantiles.csv"),
        &report::quantiles_csv(&model, &outcome.stats),
    )?;
    if let Some(d) = draws_csv {
        d.finish()?;
    }
    if args.report || args.charts.is_some() {
        report::write_report(&args.out, args.charts.as_deref())?;
    }
    if !args.quiet {
        print_stdout(&headline(&model, &outcome.stats, &info, &args.out));
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
    let _ = writeln!(text, "{} — {} draws, seed {}, {} threads, {:.2} s ({:.0} draws/s)", model.name, info.draws, info.seed, info.threads, info.elapsed_s, info.draws as f64 / info.elapsed_s.max(1e-9));
    let _ = writeln!(text, "{table}");
    let _ = writeln!(text,
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
