//! What the command line prints: errors rendered for people (with the flag that set each
//! library setting), and the terminal summaries of runs and sensitivity analyses.

use std::io::IsTerminal;
use std::path::Path;

use tariffsim::backtest::Backtest;
use tariffsim::model::{Model, ModelError, OverrideError};
use tariffsim::outputs::{self, HEADLINE};
use tariffsim::outputs::{
    month_index, MONTH_EFFECTIVE_TARIFF, MONTH_EXPORT_CHANGE_PCT, MONTH_EXPORT_LOSS,
};
use tariffsim::report::{self, RunInfo};
use tariffsim::run::{BlockView, Observer, PartialError, RunError, Setting, StoppingReport};
use tariffsim::stats::RunStats;

/// A failure, already explained for the user, with its exit code.
pub(crate) struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Invalid input: exit code 2.
    pub fn invalid(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 2,
            message: format!("error: {message}"),
        }
    }
}

/// The flag (or launcher) that sets a library setting.
pub(crate) fn flag(setting: Setting) -> &'static str {
    match setting {
        Setting::Draws => "--draws",
        Setting::Threads => "--threads",
        Setting::Sampler => "--sampler",
        Setting::TargetSe => "--target-se",
        Setting::TargetOutput => "--target-output",
        Setting::Shard => "--shard",
        Setting::Checkpoint => "--checkpoint",
        Setting::Resume => "--resume",
        Setting::SaveDraws => "--save-draws",
        Setting::MpiRanks => "mpirun",
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Invalid { settings, message } => {
                let flags: Vec<&str> = settings.iter().map(|&s| flag(s)).collect();
                Failure::invalid(format!("{}: {message}", flags.join(" with ")))
            }
            RunError::Partial(p) => p.into(),
            e @ RunError::Observer(_) => Failure {
                code: 1,
                message: format!("error: {e}"),
            },
        }
    }
}

impl From<PartialError> for Failure {
    fn from(e: PartialError) -> Self {
        Failure {
            code: match e {
                PartialError::Mismatch(_)
                | PartialError::Corrupt { .. }
                | PartialError::Unreadable { .. } => 2,
                PartialError::File { .. } => 1,
            },
            message: format!("error: {e}"),
        }
    }
}

impl From<OverrideError> for Failure {
    fn from(e: OverrideError) -> Self {
        Failure::invalid(format!("--set {}: {}", e.given, e.message))
    }
}

impl From<ModelError> for Failure {
    fn from(e: ModelError) -> Self {
        Failure {
            code: match e {
                // A model file that is missing, unreadable or a folder is the user's input
                // (README: exit 2 for invalid input).
                ModelError::Io { .. } => 2,
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

impl From<tariffsim::sweep::SweepError> for Failure {
    fn from(e: tariffsim::sweep::SweepError) -> Self {
        use tariffsim::sweep::SweepError;
        match e {
            SweepError::Run(e) => e.into(),
            SweepError::Override(e) => e.into(),
            SweepError::Axis { given, message } => {
                Failure::invalid(format!("--vary {given}: {message}"))
            }
            e @ SweepError::Report(_) => Failure {
                code: 1,
                message: format!("error: {e}"),
            },
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

/// Prints to stdout; a closed pipe (`tariffsim run | head`) is not an error.
pub(crate) fn print_stdout(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Progress on stderr, advanced once per finished block.
pub(crate) struct Progress(pub indicatif::ProgressBar);

impl Observer for Progress {
    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        self.0.inc(view.scenarios.len() as u64);
        Ok(())
    }
}

/// A progress bar on stderr, unless quiet or stderr is not a terminal.
pub(crate) fn progress_bar(total: u64, quiet: bool, unit: &str) -> Option<indicatif::ProgressBar> {
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

/// The headline table of a run.
pub(crate) fn headline(model: &Model, stats: &RunStats, info: &RunInfo, out: &Path) -> String {
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

/// One line on how a `--target-se` run stopped (empty for other runs).
pub(crate) fn stopping_text(stop: Option<&StoppingReport>) -> String {
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
pub(crate) fn tornado_text(model: &Model, stats: &RunStats) -> String {
    use std::fmt::Write;
    let mut names = vec!["scenario".to_string(); model.dimension];
    for p in &model.params {
        if let Some(c) = p.coordinate {
            names[c] = p.path.clone();
        }
    }
    let t = tariffsim::stats::TORNADO_OUTPUTS
        .iter()
        .position(|&o| o == outputs::EXPORT_LOSS)
        .unwrap_or(0);
    // The scenario is a category: its correlation ratio η (no sign, independent of the file
    // order of the scenarios), not a correlation with its index (issue 15, item 13).
    let all = stats.output_summary(outputs::EXPORT_LOSS);
    let draws = stats.draws().max(1) as f64;
    let eta = tariffsim::summary::correlation_ratio(
        stats.scenario_counts().iter().enumerate().map(|(k, &c)| {
            (
                c as f64 / draws,
                stats.scenario_moments(k, outputs::EXPORT_LOSS).mean,
            )
        }),
        all.mean,
        all.sd,
    );
    let mut rows: Vec<(String, f64)> = names
        .into_iter()
        .enumerate()
        .map(|(j, n)| {
            if j == 0 {
                ("scenario (η)".to_string(), eta)
            } else {
                (n, stats.tornado_correlation(t, j))
            }
        })
        .filter(|(_, r)| r.is_finite())
        .collect();
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    rows.truncate(8);
    if rows.is_empty() {
        return String::new();
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let mut text =
        String::from("tornado of export_loss (correlation with each input's percentile; η: correlation ratio of the scenario):\n");
    for (name, r) in rows {
        let bar = "#".repeat((r.abs() * 30.0).round() as usize);
        let value = if name == "scenario (η)" {
            format!("{r:.3} ")
        } else {
            format!("{r:+.3}")
        };
        let _ = writeln!(text, "  {name:<width$} {value} {bar}");
    }
    text
}

/// The terminal summary of `sensitivity`: the inputs and groups that matter most for export loss.
pub(crate) fn sensitivity_text(
    model: &Model,
    result: &tariffsim::sensitivity::ModelSensitivity,
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

/// A compact month table (median and 5–95 % per month) of a monthly run; empty otherwise.
pub(crate) fn month_table_text(model: &Model, stats: &RunStats) -> String {
    if !model.monthly {
        return String::new();
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    let units = if model.units.is_empty() {
        "units"
    } else {
        model.units.as_str()
    };
    table.set_header(vec![
        "month".to_string(),
        "exports vs base year, % (p50 [p5, p95])".to_string(),
        format!("export loss, {units} (p50 [p5, p95])"),
        "tariff (p50)".to_string(),
    ]);
    for t in 1..=model.months() {
        let cell = |k: usize, digits: usize| -> String {
            let Some(o) = month_index(model, t, k) else {
                return String::new();
            };
            let q = stats.output_summary(o).quantiles;
            format!("{:.d$} [{:.d$}, {:.d$}]", q[4], q[1], q[7], d = digits)
        };
        let tariff = month_index(model, t, MONTH_EFFECTIVE_TARIFF)
            .map(|o| format!("{:.3}", stats.output_summary(o).quantiles[4]))
            .unwrap_or_default();
        table.add_row(vec![
            model.month_label(t),
            cell(MONTH_EXPORT_CHANGE_PCT, 1),
            cell(MONTH_EXPORT_LOSS, 2),
            tariff,
        ]);
    }
    format!("month by month (docs/time.md):\n{table}\n")
}

/// The terminal summary of a backtest: scores per observation, coverage, and the update.
pub(crate) fn backtest_text(model: &Model, bt: &Backtest) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(vec!["observed", "value", "PIT", "CRPS", "p5", "p50", "p95"]);
    for s in &bt.scores {
        let o = &s.observation;
        let name = if o.label.is_empty() {
            o.output.clone()
        } else {
            format!("{} ({})", o.output, shorten(&o.label, 40))
        };
        table.add_row(vec![
            name,
            format!("{:.3}", o.value),
            format!("{:.3}", s.pit),
            format!("{:.3}", s.crps),
            format!("{:.3}", s.quantiles[0]),
            format!("{:.3}", s.quantiles[2]),
            format!("{:.3}", s.quantiles[4]),
        ]);
    }
    let (c50, c90) = bt.coverage();
    let _ = writeln!(text, "backtest (docs/time.md):\n{table}");
    let _ = writeln!(
        text,
        "inside the central 50 % band: {:.0} %, inside the 90 % band: {:.0} %; mean CRPS {:.4}",
        100.0 * c50,
        100.0 * c90,
        bt.mean_crps()
    );
    if let Some(u) = &bt.update {
        let _ = writeln!(
            text,
            "update on {} observation(s) with sd: ESS {:.0} of {} draws, log evidence {:.3}",
            u.observations,
            u.ess,
            bt.run.stats.draws(),
            u.log_evidence
        );
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(vec!["scenario", "prior", "updated"]);
        for (sc, p) in model.scenarios.iter().zip(u.scenario_probabilities()) {
            table.add_row(vec![
                sc.id.clone(),
                format!("{:.3}", sc.probability),
                format!("{p:.3}"),
            ]);
        }
        let _ = writeln!(text, "{table}");
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(vec![
            "output",
            "prior p50 [p5, p95]",
            "updated p50 [p5, p95]",
        ]);
        for (o, name) in HEADLINE.iter().enumerate().take(7) {
            let p = bt.run.stats.output_summary(o).quantiles;
            let q = u.output_summary(o).quantiles;
            table.add_row(vec![
                name.to_string(),
                format!("{:.3} [{:.3}, {:.3}]", p[4], p[1], p[7]),
                format!("{:.3} [{:.3}, {:.3}]", q[4], q[1], q[7]),
            ]);
        }
        let _ = writeln!(text, "{table}");
    }
    text
}

fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() > n {
        format!("{}…", text.chars().take(n - 1).collect::<String>())
    } else {
        text.to_string()
    }
}
