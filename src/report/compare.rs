//! `tariffsim compare DIR_A DIR_B`: what changes between two runs (issue 15, item 14).
//! `compare.csv` holds every statistic of every output both runs have, in long (tidy) form,
//! with the difference and its Monte Carlo error; `compare.html` shows the headline
//! distributions overlaid, the scenario probabilities side by side and a table of the
//! differences in mean, p5, p50, p95, VaR and ES.
//!
//! Both folders are read and checked before anything is written, as `report` reads one.

use std::path::{Path, PathBuf};

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::charts::{self, Curve, CURVE_LINES};
use super::html::{format_number, inline_svg, read_run, scrollable_tables, CSS};
use super::{CsvRows, ReportError};
use crate::stats::{QUANTILE_KEYS, QUANTILE_LEVELS};
use crate::summary::{OutputSummary, Summary};

/// The outputs whose distributions `compare.html` overlays and whose differences it tabulates.
pub const COMPARE_OUTPUTS: [&str; 6] = [
    "export_loss",
    "surplus_change",
    "gdp_impact_pct",
    "fx_depreciation_pct",
    "equity_drawdown_pct",
    "stress_index",
];

/// How many standard errors of the difference count as beyond Monte Carlo error (a two-sided
/// test at about 5 %).
pub const MC_ERROR_Z: f64 = 2.0;

/// One statistic of one output in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Output name (MODEL.md §5).
    pub output: String,
    /// Its unit (from run A).
    pub unit: String,
    /// `mean`, `sd`, `p1` … `p99`, `es95`, `es99`.
    pub statistic: String,
    /// Value in run A.
    pub a: f64,
    /// Value in run B.
    pub b: f64,
    /// b − a.
    pub difference: f64,
    /// [`MC_ERROR_Z`] standard errors of the difference of two independent runs,
    /// √(se_A² + se_B²), from the standard errors in the summaries; NaN where a summary has
    /// none (sd and ES, and quantiles of outputs without quantile standard errors).
    pub mc_error: f64,
    /// Whether |difference| exceeds `mc_error`, when both runs share the model (see
    /// [`same_model`]); `None` otherwise or where the error is unknown.
    pub exceeds_mc_error: Option<bool>,
}

/// The comparison of two runs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Whether both runs share the model ([`same_model`]).
    pub same_model: bool,
    /// Every statistic of every output both runs have, in run A's output order.
    pub rows: Vec<Difference>,
}

/// Whether two runs share the model: the same file (SHA-256), the same parameters with the
/// same distributions (overrides change these) and the same scenario probabilities. Then any
/// difference between the runs is Monte Carlo noise or a difference of run settings (seed,
/// draws, sampler), and a difference beyond the Monte Carlo error is worth a look.
pub fn same_model(a: &Summary, b: &Summary) -> bool {
    let params = |s: &Summary| -> Vec<(String, String)> {
        s.parameters
            .iter()
            .map(|p| (p.path.clone(), p.distribution.clone()))
            .collect()
    };
    let scenarios = |s: &Summary| -> Vec<(String, u64)> {
        s.scenarios
            .iter()
            .map(|(id, v)| (id.clone(), v.probability.to_bits()))
            .collect()
    };
    a.model.sha256 == b.model.sha256 && params(a) == params(b) && scenarios(a) == scenarios(b)
}

/// The statistics of an output as (name, value, standard error).
fn statistics(o: &OutputSummary) -> Vec<(String, f64, f64)> {
    let mut rows = vec![
        ("mean".to_string(), o.mean, o.se_mean),
        ("sd".to_string(), o.sd, f64::NAN),
    ];
    for (i, level) in QUANTILE_LEVELS.iter().enumerate() {
        let se = o.quantile_se.map_or(f64::NAN, |s| s[i]);
        rows.push((format!("p{}", (level * 100.0).round()), o.quantiles[i], se));
    }
    rows.push(("es95".to_string(), o.es[0], f64::NAN));
    rows.push(("es99".to_string(), o.es[1], f64::NAN));
    rows
}

/// Compares run `b` with run `a`.
pub fn compare_summaries(a: &Summary, b: &Summary) -> Comparison {
    let same = same_model(a, b);
    let mut rows = Vec::new();
    for (name, oa) in &a.outputs {
        let Some(ob) = b.outputs.get(name) else {
            continue;
        };
        let unit = oa
            .unit
            .clone()
            .unwrap_or_else(|| crate::outputs::unit(name, &a.model.units));
        for ((statistic, va, sa), (_, vb, sb)) in statistics(oa).into_iter().zip(statistics(ob)) {
            let difference = vb - va;
            let mc_error = MC_ERROR_Z * sa.hypot(sb);
            let exceeds = (same && mc_error.is_finite() && difference.is_finite())
                .then(|| difference.abs() > mc_error);
            rows.push(Difference {
                output: name.clone(),
                unit: unit.clone(),
                statistic,
                a: va,
                b: vb,
                difference,
                mc_error,
                exceeds_mc_error: exceeds,
            });
        }
    }
    Comparison {
        same_model: same,
        rows,
    }
}

/// `compare.csv`: `output, unit, statistic, a, b, difference, mc_error, exceeds_mc_error`,
/// one row per output × statistic (undefined numbers are empty cells).
pub fn compare_csv(c: &Comparison) -> Result<Vec<u8>, ReportError> {
    let mut csv = CsvRows::new([
        "output",
        "unit",
        "statistic",
        "exceeds_mc_error",
        "a",
        "b",
        "difference",
        "mc_error",
    ])?;
    for r in &c.rows {
        let exceeds = match r.exceeds_mc_error {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        };
        csv.row_or_empty(
            [
                r.output.as_str(),
                r.unit.as_str(),
                r.statistic.as_str(),
                exceeds,
            ],
            [r.a, r.b, r.difference, r.mc_error],
        )?;
    }
    csv.finish()
}

/// The files of a comparison, rendered: `compare.csv` and `compare.html`.
#[derive(Debug, Clone)]
pub struct CompareFiles {
    /// `compare.csv`.
    pub csv: Vec<u8>,
    /// `compare.html`, self-contained.
    pub html: String,
}

/// Renders the comparison of run B (`b`, labelled `label_b`) with run A.
pub fn render_compare(
    (label_a, a): (&str, &Summary),
    (label_b, b): (&str, &Summary),
) -> Result<CompareFiles, ReportError> {
    let c = compare_summaries(a, b);
    let csv = compare_csv(&c)?;
    let html = scrollable_tables(&compare_page((label_a, a), (label_b, b), &c).into_string());
    Ok(CompareFiles { csv, html })
}

/// Reads the run folders `dir_a` and `dir_b` (each must hold a valid `summary.json`), and
/// writes `compare.csv` and `compare.html` into `out` (created if needed). Nothing is written
/// when either folder is invalid. Returns the paths written.
pub fn write_compare(dir_a: &Path, dir_b: &Path, out: &Path) -> Result<[PathBuf; 2], ReportError> {
    let (a, _) = read_run(dir_a)?;
    let (b, _) = read_run(dir_b)?;
    for (dir, s) in [(dir_a, &a), (dir_b, &b)] {
        if !s.outputs.contains_key("export_loss") {
            return Err(ReportError::Malformed {
                path: dir.join("summary.json"),
                message: "has no `export_loss` output; give the result folder of a run".into(),
            });
        }
    }
    let label = |d: &Path| d.display().to_string();
    let files = render_compare((&label(dir_a), &a), (&label(dir_b), &b))?;
    super::ensure_dir(out)?;
    let paths = [out.join("compare.csv"), out.join("compare.html")];
    super::write_atomic(&paths[0], &files.csv)?;
    super::write_atomic(&paths[1], files.html.as_bytes())?;
    Ok(paths)
}

/// Statistics of the differences table: (statistic in compare.csv, heading).
const TABLE_STATISTICS: [(&str, &str); 7] = [
    ("mean", "mean"),
    ("p5", "p5"),
    ("p50", "p50"),
    ("p95", "p95 (VaR 95)"),
    ("p99", "p99 (VaR 99)"),
    ("es95", "ES 95"),
    ("es99", "ES 99"),
];

fn compare_page(a: (&str, &Summary), b: (&str, &Summary), c: &Comparison) -> Markup {
    let ((label_a, sa), (label_b, sb)) = (a, b);
    let same_levels = sa.distributions.levels == sb.distributions.levels;
    let mut figures: Vec<(String, String)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for o in COMPARE_OUTPUTS {
        let (Some(qa), Some(qb)) = (
            sa.distributions.outputs.get(o),
            sb.distributions.outputs.get(o),
        ) else {
            continue;
        };
        if !same_levels {
            missing.push(o.to_string());
            continue;
        }
        let unit = crate::outputs::unit(o, &sa.model.units);
        let curves = [
            Curve {
                label: &format!("A: {}", shorten(label_a, 50)),
                q: qa,
                line: CURVE_LINES[0],
            },
            Curve {
                label: &format!("B: {}", shorten(label_b, 50)),
                q: qb,
                line: CURVE_LINES[1],
            },
        ];
        match charts::cdfs(
            &format!("{o}: run A and run B"),
            &format!("{o} ({unit})"),
            &sa.distributions.levels,
            &curves,
        ) {
            Ok(svg) => figures.push((o.to_string(), svg)),
            Err(e) => missing.push(format!("{o} ({})", e.0)),
        }
    }
    let ids: Vec<&String> = {
        let mut ids: Vec<&String> = sa.scenarios.keys().collect();
        ids.extend(
            sb.scenarios
                .keys()
                .filter(|k| !sa.scenarios.contains_key(*k)),
        );
        ids
    };
    let probability = |s: &Summary, id: &str, f: fn(&crate::summary::ScenarioSummary) -> f64| {
        s.scenarios.get(id).map_or(f64::NAN, f)
    };
    let row = |o: &str, stat: &str| c.rows.iter().find(|r| r.output == o && r.statistic == stat);
    let flag = |r: &Difference| match r.exceeds_mc_error {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "tariffsim comparison" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "What changes from run A to run B" }
                    dl.meta {
                        dt { "A" } dd { code { (label_a) } " — " (sa.model.name) ", " (sa.run.draws) " draws, seed " (sa.run.seed) ", sampler " (sa.run.sampler) }
                        dt { "B" } dd { code { (label_b) } " — " (sb.model.name) ", " (sb.run.draws) " draws, seed " (sb.run.seed) ", sampler " (sb.run.sampler) }
                    }
                    p {
                        @if c.same_model {
                            "Both runs share the model (same file, parameters and scenario probabilities): \
                             a difference is Monte Carlo noise unless it exceeds the Monte Carlo error."
                        } @else {
                            "The runs differ in their model (file, parameters or scenario probabilities): \
                             the differences below are what the change of model does, plus Monte Carlo noise \
                             of the size of the Monte Carlo error column."
                        }
                    }
                }
                main {
                    section id="differences" {
                        h2 { "1. Differences (B − A)" }
                        {
                            table {
                                thead { tr {
                                    th.t { "output" } th.t { "statistic" } th { "A" } th { "B" }
                                    th { "B − A" } th { "Monte Carlo error (2 s.e.)" }
                                    th { "beyond the error?" }
                                } }
                                tbody {
                                    @for o in COMPARE_OUTPUTS {
                                        @for (stat, heading) in TABLE_STATISTICS {
                                            @if let Some(r) = row(o, stat) {
                                                tr {
                                                    td.t { code { (o) } span.desc { (r.unit) } }
                                                    td.t { (statistic_heading(o, stat, heading)) }
                                                    td { (format_number(r.a)) }
                                                    td { (format_number(r.b)) }
                                                    td { (format_number(r.difference)) }
                                                    td { (format_number(r.mc_error)) }
                                                    td { (flag(r)) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        p.note {
                            "VaR 95 and VaR 99 are the 95 % and 99 % quantiles; ES 95 and ES 99 the mean of the \
                             draws at or above them. The Monte Carlo error is 2 · √(se_A² + se_B²) from the \
                             standard errors in each summary.json (of the mean, and of the quantiles where the \
                             run estimated them); it is unknown (—) for ES. It treats the runs as independent; \
                             two runs with the same seed share random numbers, so their difference is less \
                             noisy than this. Every output and statistic is in compare.csv."
                        }
                    }
                    section id="distributions" {
                        h2 { "2. Distributions" }
                        @for (o, svg) in &figures {
                            figure {
                                div.chart { (inline_svg(svg, &format!("Distribution of {o} in run A and run B"))) }
                                figcaption { "Cumulative distribution of " code { (o) } " in both runs: a curve further right means larger values are more likely." }
                            }
                        }
                        @if !missing.is_empty() {
                            p.note { "Not drawn (the runs' distribution grids differ or have no finite values): " (missing.join(", ")) "." }
                        }
                    }
                    section id="scenarios" {
                        h2 { "3. Deal scenarios" }
                        {
                            table {
                                thead { tr {
                                    th.t { "scenario" } th { "probability A" } th { "probability B" }
                                    th { "frequency A" } th { "frequency B" }
                                } }
                                tbody {
                                    @for id in &ids {
                                        tr {
                                            td.t { code { (id) } }
                                            td { (format_number(probability(sa, id, |s| s.probability))) }
                                            td { (format_number(probability(sb, id, |s| s.probability))) }
                                            td { (format_number(probability(sa, id, |s| s.frequency))) }
                                            td { (format_number(probability(sb, id, |s| s.frequency))) }
                                        }
                                    }
                                }
                            }
                        }
                        p.note { "Probability: as the model gives it; frequency: the share of the run's draws that picked the scenario. — : the run has no such scenario." }
                    }
                }
                footer { p.note { "Made by tariffsim " (env!("CARGO_PKG_VERSION")) " from the two summary.json files. Quantile keys: " (QUANTILE_KEYS.join(", ")) "." } }
            }
        }
    }
}

/// The heading of a statistic in the differences table: the upper quantiles are the VaR only
/// of outputs where larger is worse (export loss, depreciation, drawdown, stress); for the
/// surplus change and the GDP impact (negative = worse) they are plain quantiles.
fn statistic_heading<'a>(output: &str, statistic: &'a str, heading: &'a str) -> &'a str {
    if matches!(output, "surplus_change" | "gdp_impact_pct") {
        statistic
    } else {
        heading
    }
}

fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() > n {
        let tail: String = text
            .chars()
            .rev()
            .take(n - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    } else {
        text.to_string()
    }
}
