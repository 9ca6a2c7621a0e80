//! `report.html`: one self-contained page (inline SVG and CSS, no scripts, no network) with
//! the headline results, the charts of a run and its assumptions, built from the typed
//! [`Summary`] alone, so that `tariffsim report DIR` can rebuild it from a finished run's
//! `summary.json`.
//!
//! The page is built with maud, which escapes every interpolated value by default; the only
//! text inserted as is (`PreEscaped`) is the stylesheet, a constant, and the charts' SVG,
//! which plotters escapes as it draws.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tariffsim::{model, report, run, summary::Summary};
//! let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml")?;
//! let outcome = run::run(&model, &run::RunConfig { draws: 4096, ..Default::default() })?;
//! let info = report::RunInfo { draws: 4096, seed: 0, sampler: "mc".into(), threads: 1, elapsed_s: 0.0, stopping: None };
//! let files = report::render_report(&Summary::new(&model, &info, &outcome.stats))?;
//! assert!(files.html.starts_with("<!DOCTYPE html>"));
//! assert_eq!(files.charts.len(), 11); // eight of every run, two fan charts of the monthly path, competitors
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::charts::{self, BoxStats, Interval, Marker};
use super::ReportError;
use crate::summary::{OutputSummary, ScenarioCost, Summary};

/// The rendered report: the HTML page and each chart as its own SVG document.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// `report.html`, self-contained.
    pub html: String,
    /// The charts, for `--charts DIR`: (file name such as `tornado.svg`, SVG document).
    pub charts: Vec<(String, String)>,
}

/// How many tornado rows the report shows.
const TORNADO_ROWS: usize = 15;
/// The quantile levels between which the export-loss histogram is drawn.
const CHART_LEVELS: (f64, f64) = (0.005, 0.995);
/// How many sample points the market-stress scatter shows.
const SCATTER_POINTS: usize = 2000;
/// Positions in [`OutputSummary::quantiles`] (levels 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9,
/// 0.95, 0.99) and in [`OutputSummary::es`] (0.95, 0.99).
const P5: usize = 1;
const P50: usize = 4;
const P95: usize = 7;
const P99: usize = 8;
const ES95: usize = 0;
const ES99: usize = 1;

/// A number for tables: about four significant digits, "—" when missing.
pub fn format_number(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        "—".into()
    } else if a < f64::MIN_POSITIVE {
        // A subnormal is rounding noise around zero, not a value to show.
        "0".into()
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 1e-3 {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.2e}")
    }
}

/// A model constant as written (0.5, 10), without float noise such as 0.30000000000000004.
fn plain(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A wall time for people: seconds to 3 significant digits (`0.0421 s`, `12.3 s`), minutes
/// and hours above (`4 min 05 s`, `2 h 03 min`); summary.json keeps the exact value.
fn elapsed(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".into();
    }
    if seconds < 60.0 {
        let digits = if seconds >= 10.0 {
            1
        } else if seconds >= 1.0 {
            2
        } else if seconds > 0.0 {
            ((2.0 - seconds.log10().floor()) as usize).min(6)
        } else {
            0
        };
        return format!("{seconds:.digits$} s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!(
            "{} h {:02} min",
            whole / 3600,
            (whole % 3600 + 30) / 60 % 60
        )
    }
}

/// Index of quantile level `p` in the distribution grid.
fn level_index(levels: &[f64], p: f64) -> Option<usize> {
    levels.iter().position(|&l| (l - p).abs() < 1e-9)
}

/// The parts of the summary every section needs.
struct Ctx<'a> {
    s: &'a Summary,
    levels: &'a [f64],
    /// What a backtest adds beyond the summary's layout (MODEL.md §13): `backtest` (the
    /// scores of backtest.json), `update` and `prior` (of updated/summary.json); null for a run.
    extra: &'a serde_json::Value,
}

impl Ctx<'_> {
    /// A chart title with the model's name as its second line (for charts used alone).
    fn title(&self, head: &str) -> String {
        format!("{head}\n{}", self.s.model.name)
    }
    fn unit_of(&self, output: &str) -> String {
        crate::outputs::describe(output, &self.s.model.units).0
    }
    /// "export loss (USD bn)".
    fn axis(&self, output: &str) -> String {
        let label = match output {
            "export_loss" => "export loss",
            "surplus_change" => "change of the bilateral trade surplus",
            o => o,
        };
        format!("{label} ({})", self.unit_of(output))
    }
    /// An output's statistics; the error names it.
    fn output(&self, name: &str) -> Result<&OutputSummary, String> {
        self.s
            .outputs
            .get(name)
            .ok_or_else(|| format!("no output `{name}`"))
    }
    /// 5/25/50/75/95 % quantiles of a distribution on the grid.
    fn box_stats(&self, q: &[f64], mean: Option<f64>) -> Option<BoxStats> {
        let mut out = [0.0; 5];
        for (slot, p) in out.iter_mut().zip([0.05, 0.25, 0.5, 0.75, 0.95]) {
            *slot = *q.get(level_index(self.levels, p)?)?;
            if !slot.is_finite() {
                return None;
            }
        }
        Some(BoxStats {
            q: out,
            mean: mean.filter(|m| m.is_finite()),
        })
    }
}

/// One section of the page.
struct Section {
    id: &'static str,
    title: &'static str,
    body: Markup,
}

/// Renders `report.html` and the chart SVGs from a run's summary.
///
/// Errors are [`ReportError::Malformed`] with the path `summary.json` when the summary lacks
/// what the headline and the export-loss distribution need; a later section whose data is
/// missing shows a note instead of its chart.
pub fn render_report(summary: &Summary) -> Result<ReportFiles, ReportError> {
    render_report_with(summary, &serde_json::Value::Null)
}

/// [`render_report`] with a backtest's additions (`backtest`, `update`, `prior`; see
/// `tariffsim backtest`): the observations on the fan chart, the prior against the update.
pub fn render_report_with(
    summary: &Summary,
    extra: &serde_json::Value,
) -> Result<ReportFiles, ReportError> {
    let malformed = |message: String| ReportError::Malformed {
        path: PathBuf::from("summary.json"),
        message,
    };
    let ctx = Ctx {
        s: summary,
        levels: &summary.distributions.levels,
        extra,
    };
    let mut charts: Vec<(String, String)> = Vec::new();
    let mut sections = vec![headline(&ctx).map_err(malformed)?];
    sections.push(export_loss(&ctx, &mut charts).map_err(malformed)?);
    type Builder = fn(&Ctx<'_>, &mut Vec<(String, String)>) -> Result<Section, String>;
    let optional: [(&'static str, &'static str, Builder); 10] = [
        ("months", "Month by month", months),
        ("update", "Updated on observations", update),
        ("sectors", "Sectors", sectors),
        ("competitors", "Competitors and other markets", competitors),
        ("scenarios", "Deal scenarios", scenarios),
        ("deal-costs", "What the deal costs", deal_costs),
        ("market-stress", "Market stress", market_stress),
        ("sensitivity", "Sensitivity", sensitivity),
        ("convergence", "Convergence", convergence),
        ("assumptions", "Assumptions", assumptions),
    ];
    for (id, title, build) in optional {
        // The time path and the update belong to runs that have them; others leave them out.
        let applies = match id {
            "months" => summary.outputs.contains_key("months.1.export_change_pct"),
            "update" => extra.get("update").is_some(),
            "competitors" => has_competitors_or_redirection(summary),
            _ => true,
        };
        if !applies {
            continue;
        }
        sections.push(build(&ctx, &mut charts).unwrap_or_else(|e| Section {
            id,
            title,
            body: html! {
                p.note { "Not available: summary.json has no usable data for this section (" (e) ")." }
            },
        }));
    }
    Ok(ReportFiles {
        html: scrollable_tables(&page(&ctx, &sections).into_string()),
        charts,
    })
}

/// Reads a run folder: `dir/summary.json` as a [`Summary`], and what a backtest adds
/// (`update` and `prior` of an updated summary, the scores of `backtest.json` beside it) as
/// the `extra` of [`render_report_with`]. A missing, unreadable or malformed summary is
/// [`ReportError::Malformed`] naming the file.
pub fn read_run(dir: &Path) -> Result<(Summary, serde_json::Value), ReportError> {
    let path = dir.join("summary.json");
    let malformed = |message: String| ReportError::Malformed {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        malformed(format!(
            "cannot be read ({e}); give the result folder of a finished run"
        ))
    })?;
    // Two steps, so that a broken file and a file of another layout get different messages.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed(format!("not valid JSON: {e}")))?;
    // A backtest's additions: its scores (backtest.json of the same folder) and, in updated/,
    // the update and the prior (MODEL.md §13).
    let mut extra = serde_json::json!({});
    for key in ["update", "prior"] {
        if let Some(v) = value.get(key) {
            extra[key] = v.clone();
        }
    }
    if let Ok(bt) = std::fs::read_to_string(dir.join("backtest.json")) {
        // Present but broken: refused like a broken summary.json, not silently left out.
        let bt =
            serde_json::from_str::<serde_json::Value>(&bt).map_err(|e| ReportError::Malformed {
                path: dir.join("backtest.json"),
                message: format!("not valid JSON: {e}"),
            })?;
        extra["backtest"] = bt;
    }
    let weighted = value.get("update").is_some();
    let summary: Summary = serde_json::from_value(value).map_err(|e| {
        malformed(format!(
            "not the layout of a tariffsim summary.json ({e}); rerun the model"
        ))
    })?;
    // Values that no run writes (issue 15, item 7): refused, not drawn.
    summary.check(weighted).map_err(|e| {
        malformed(format!(
            "{e}; this is not a summary.json as tariffsim wrote it (changed or damaged after the run); rerun the model"
        ))
    })?;
    Ok((summary, extra))
}

/// Reads `dir/summary.json`, writes `dir/report.html`, and with `charts_dir` each chart as
/// an SVG file there. Returns the path of `report.html`.
pub fn write_report(dir: &Path, charts_dir: Option<&Path>) -> Result<PathBuf, ReportError> {
    write_report_with(dir, charts_dir, None)
}

/// Reads a `sensitivity.json` (`path` is the folder `tariffsim sensitivity --out` wrote, or
/// the file) for the report of the run whose model file has the SHA-256 `sha256`: refused
/// when it is not a sensitivity analysis or was made on another model file.
pub fn read_sensitivity(path: &Path, sha256: &str) -> Result<serde_json::Value, ReportError> {
    let file = if path.is_dir() {
        path.join("sensitivity.json")
    } else {
        path.to_path_buf()
    };
    let malformed = |message: String| ReportError::Malformed {
        path: file.clone(),
        message,
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        malformed(format!(
            "cannot be read ({e}); give the --out folder of `tariffsim sensitivity`"
        ))
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed(format!("not valid JSON: {e}")))?;
    if json.pointer("/outputs/export_loss").is_none() {
        return Err(malformed(
            "not a tariffsim sensitivity.json (no `outputs/export_loss`)".into(),
        ));
    }
    let theirs = json
        .pointer("/model/sha256")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    if theirs != sha256 {
        return Err(malformed(format!(
            "made on another model file (SHA-256 {theirs}) than the run ({sha256}); accepted: \
             a sensitivity analysis of the run's model"
        )));
    }
    Ok(json)
}

/// [`write_report`] with the Sobol indices of a sensitivity analysis of the same model
/// (`tariffsim report DIR --sensitivity SENS_DIR`) in the Sensitivity section.
pub fn write_report_with(
    dir: &Path,
    charts_dir: Option<&Path>,
    sensitivity: Option<&Path>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join("summary.json");
    let (summary, mut extra) = read_run(dir)?;
    if let Some(sens) = sensitivity {
        extra["sensitivity"] = read_sensitivity(sens, &summary.model.sha256)?;
    }
    let files = render_report_with(&summary, &extra).map_err(|e| match e {
        ReportError::Malformed { message, .. } => ReportError::Malformed {
            path: path.clone(),
            message,
        },
        other => other,
    })?;
    let out = dir.join("report.html");
    super::write_atomic(&out, files.html.as_bytes())?;
    if let Some(cd) = charts_dir {
        super::ensure_dir(cd)?;
        for (name, svg) in &files.charts {
            super::write_atomic(&cd.join(name), svg.as_bytes())?;
        }
    }
    Ok(out)
}

/// Every table of a page inside a box that scrolls sideways, so a wide table never widens
/// the page on a phone (the page has no nested tables).
pub(super) fn scrollable_tables(html: &str) -> String {
    html.replace("<table", "<div class=\"scroll\"><table")
        .replace("</table>", "</table></div>")
}

/// An SVG for inline use in HTML5: without the XML namespace (not needed inline) and with an
/// accessible name. The SVG comes from plotters, which escapes the text it draws; the label
/// is escaped here.
pub(super) fn inline_svg(svg: &str, label: &str) -> Markup {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    let label = html! { (label) }.into_string().replace('"', "&quot;");
    PreEscaped(svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" "),
        1,
    ))
}

fn figure(svg: &str, label: &str, caption: &str) -> Markup {
    html! {
        figure {
            div.chart { (inline_svg(svg, label)) }
            figcaption { (caption) }
        }
    }
}

fn chart_err(e: charts::ChartError) -> String {
    format!("chart: {}", e.0)
}

pub(super) const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       max-width: 1000px; margin: 0 auto; padding: 1.5rem; color: #111; background: #fff; line-height: 1.45; }
h1 { font-size: 1.55rem; margin: 0 0 .3rem; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #111; padding-bottom: .2rem; margin-top: 0; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.subtitle { color: #333; margin: 0 0 1rem; }
section { margin: 2.5rem 0; }
figure { margin: 1rem 0; }
figure svg { display: block; width: 100%; height: auto; }
/* Wide content scrolls inside its own box, never the page (issue 15, item 13). */
.scroll, .chart { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
figcaption, .note { font-size: .9rem; color: #333; }
table { border-collapse: collapse; font-size: .88rem; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid #bbb; padding: .22rem .45rem; text-align: right; vertical-align: top; }
th { border-bottom: 2px solid #111; background: #f3f3f3; }
th.t, td.t { text-align: left; }
td { font-variant-numeric: tabular-nums; }
td.bar { min-width: 6rem; }
td.wide { text-align: left; min-width: 14rem; }
td.ci { white-space: nowrap; }
td.bar span { display: inline-block; height: .8rem; background: #0072b2; vertical-align: middle; }
.desc { display: block; color: #444; font-size: .8rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .85em;
       overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { border: 1px solid #999; border-radius: 4px; padding: .5rem .8rem; min-width: 11rem; }
.card b { display: block; font-size: 1.3rem; }
.card span { font-size: .85rem; color: #333; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; font-size: .88rem; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav ol { columns: 2; font-size: .95rem; }
@media (max-width: 700px) {
  body { padding: .75rem; }
  nav ol { columns: 1; }
  dl.meta { grid-template-columns: 1fr; }
  dl.meta dd { margin-bottom: .3rem; }
  .card { min-width: 0; flex: 1 1 9rem; }
  /* Charts are drawn 960 px wide; on a phone they keep 800 px (text at 11 px or more) and
     scroll sideways inside their box rather than shrink to unreadable 5 px text. */
  .chart svg { min-width: 800px; }
  th, td { padding: .2rem .3rem; }
  /* A table keeps its natural width and scrolls in its box instead of squeezing names
     into one letter a line. */
  .scroll table { width: max-content; min-width: 100%; }
  td.t { max-width: 16rem; }
}
a { color: #0057a0; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  section { break-before: page; margin: 0; }
  section#headline { break-before: auto; }
  figure, .cards, tr, dl.meta { break-inside: avoid; }
  .scroll, .chart { overflow: visible; }
  .chart svg { min-width: 0; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn page(ctx: &Ctx<'_>, sections: &[Section]) -> Markup {
    let s = ctx.s;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (s.model.name) " — tariffsim report" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { (s.model.name) }
                    p.subtitle {
                        "tariffsim report: " (s.model.exporter) " → " (s.model.importer) ", "
                        (s.run.draws) " draws, seed " (s.run.seed) ", money in " (ctx.unit_of("export_loss"))
                    }
                }
                nav { ol { @for sec in sections { li { a href={ "#" (sec.id) } { (sec.title) } } } } }
                main {
                    @for (i, sec) in sections.iter().enumerate() {
                        section id=(sec.id) {
                            h2 { (i + 1) ". " (sec.title) }
                            (sec.body)
                        }
                    }
                }
                footer {
                    p.note {
                        "Made by tariffsim " (s.run.version) " from summary.json. "
                        "This page needs no network connection."
                    }
                }
            }
        }
    }
}

/// Section 1: every output's statistics, key figures and the run's metadata.
fn headline(ctx: &Ctx<'_>) -> Result<Section, String> {
    let s = ctx.s;
    let el = ctx.output("export_loss")?;
    let units = ctx.unit_of("export_loss");
    let mut cards = vec![
        (
            format!("{} {units}", format_number(el.mean)),
            "mean export loss".to_string(),
        ),
        (
            format!("{} {units}", format_number(el.quantiles[P95])),
            "VaR 95: export loss exceeded in 5 % of draws".to_string(),
        ),
        (
            format!("{} {units}", format_number(el.es[ES95])),
            "ES 95: mean export loss in the worst 5 %".to_string(),
        ),
    ];
    if let Some(stress) = s.outputs.get("stress_event") {
        cards.push((
            format!("{:.2} %", 100.0 * stress.mean),
            format!(
                "probability of a market-stress event (± {:.2} % s.e.)",
                100.0 * stress.se_mean
            ),
        ));
    }
    let meta: [(&str, String); 13] = [
        ("model", s.model.name.clone()),
        ("file", s.model.file.clone()),
        ("SHA-256 of the file", s.model.sha256.clone()),
        (
            "exporter → importer",
            format!("{} → {}", s.model.exporter, s.model.importer),
        ),
        ("units", s.model.units.clone()),
        ("draws", s.run.draws.to_string()),
        ("seed", s.run.seed.to_string()),
        ("sampler", s.run.sampler.clone()),
        (
            "threads (results do not depend on it)",
            s.run.threads.to_string(),
        ),
        ("tariffsim version", s.run.version.clone()),
        ("block size", s.run.block_size.to_string()),
        ("quantile method", s.run.quantile_method.clone()),
        ("elapsed", elapsed(s.run.elapsed_s)),
    ];
    let file_arg = if s.model.file.ends_with("(embedded)") {
        String::new()
    } else {
        format!("{} ", s.model.file)
    };
    let body = html! {
        div.cards {
            @for (value, what) in &cards {
                div.card { b { (value) } span { (what) } }
            }
        }
        table {
            thead { tr {
                th.t { "output" } th.t { "unit" } th { "mean" } th { "sd" }
                th { "p5" } th { "p50" } th { "p95" } th { "ES95" }
            } }
            tbody {
                @for (name, o) in &s.outputs {
                    @let (unit, meaning) = crate::outputs::describe(name, &s.model.units);
                    tr {
                        td.t { code { (name) } span.desc { (meaning) } }
                        td.t { (unit) }
                        td { (format_number(o.mean)) }
                        td { (format_number(o.sd)) }
                        td { (format_number(o.quantiles[P5])) }
                        td { (format_number(o.quantiles[P50])) }
                        td { (format_number(o.quantiles[P95])) }
                        td { (format_number(o.es[ES95])) }
                    }
                }
            }
        }
        p.note {
            "p5, p50, p95: quantiles of the draws. ES95 (expected shortfall): the mean of the draws \
             at or above the 95 % quantile. The mean of " code { "stress_event" } " is the \
             probability of a market-stress event."
        }
        h3 { "Replicating this run" }
        dl.meta {
            @for (label, value) in &meta {
                dt { (label) } dd { code { (value) } }
            }
        }
        p.note {
            "Command: " code { "tariffsim run " (file_arg) "--draws " (s.run.draws) " --seed " (s.run.seed) }
            " (same file, same SHA-256, same sampler and version give identical results)."
        }
    };
    Ok(Section {
        id: "headline",
        title: "Headline results",
        body,
    })
}

/// Section 2: the export-loss histogram and CDF with mean, median, VaR and ES marked.
fn export_loss(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let q = ctx
        .s
        .distributions
        .outputs
        .get("export_loss")
        .ok_or("no `distributions/outputs/export_loss`")?;
    if q.len() != ctx.levels.len() || q.len() < 2 {
        return Err(format!(
            "`distributions/outputs/export_loss` has {} values for {} levels",
            q.len(),
            ctx.levels.len()
        ));
    }
    let el = ctx.output("export_loss")?;
    let units = ctx.unit_of("export_loss");
    let marks: [(&str, &str, f64, charts::Line); 6] = [
        ("mean", "mean", el.mean, charts::MEAN_LINE),
        (
            "median",
            "median (50 % quantile)",
            el.quantiles[P50],
            charts::MEDIAN_LINE,
        ),
        (
            "VaR95",
            "VaR 95 (95 % quantile)",
            el.quantiles[P95],
            charts::VAR95_LINE,
        ),
        (
            "VaR99",
            "VaR 99 (99 % quantile)",
            el.quantiles[P99],
            charts::VAR99_LINE,
        ),
        (
            "ES95",
            "ES 95 (mean beyond VaR 95)",
            el.es[ES95],
            charts::ES95_LINE,
        ),
        (
            "ES99",
            "ES 99 (mean beyond VaR 99)",
            el.es[ES99],
            charts::ES99_LINE,
        ),
    ];
    let markers: Vec<Marker> = marks
        .iter()
        .filter(|m| m.2.is_finite())
        .map(|&(short, _, value, line)| Marker {
            label: format!("{short} {}", format_number(value)),
            value,
            line,
        })
        .collect();
    // The histogram and the axis cover the central 99 % (and the markers): the 0.1 % tails
    // stretched the axis far beyond any visible bar (issue 15, item 13).
    let (i0, i1) = (
        level_index(ctx.levels, CHART_LEVELS.0).unwrap_or(0),
        level_index(ctx.levels, CHART_LEVELS.1).unwrap_or(ctx.levels.len() - 1),
    );
    let svg = charts::distribution(
        &ctx.title("Export loss: distribution over all draws"),
        &ctx.axis("export_loss"),
        &format!("probability density (per {units})"),
        &ctx.levels[i0..=i1],
        &q[i0..=i1],
        &markers,
    )
    .map_err(chart_err)?;
    let (first, last) = (ctx.levels[i0], ctx.levels[i1]);
    let body = html! {
        (figure(
            &svg,
            "Histogram and cumulative distribution of export loss",
            &format!(
                "Top: histogram of export loss; the area of a bar is the probability of a loss in its \
                 range (the central {:.1} % of draws, between the {first} and {last} quantiles). Bottom: \
                 the cumulative distribution, P(export loss ≤ x). Vertical lines mark the statistics in \
                 the table below; each has its own dash pattern.",
                100.0 * (last - first),
            ),
        ))
        table {
            thead { tr { th.t { "statistic" } th { "value" } th.t { "unit" } } }
            tbody {
                @for (_, long, value, _) in &marks {
                    tr { td.t { (long) } td { (format_number(*value)) } td.t { (units) } }
                }
            }
        }
    };
    out.push(("export_loss_distribution.svg".into(), svg));
    Ok(Section {
        id: "export-loss",
        title: "Export loss",
        body,
    })
}

/// Section 3: export loss per sector, mean with the 5–95 % range, sorted by mean.
fn sectors(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let mut rows: Vec<Interval> = ctx
        .s
        .outputs
        .iter()
        .filter_map(|(name, o)| {
            let id = name
                .strip_prefix("sectors.")?
                .strip_suffix(".export_loss")?;
            Some(Interval {
                label: id.to_string(),
                mean: o.mean,
                p5: o.quantiles[P5],
                p50: o.quantiles[P50],
                p95: o.quantiles[P95],
            })
        })
        .collect();
    if rows.is_empty() {
        return Err("no `sectors.<id>.export_loss` outputs".into());
    }
    rows.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    let svg = charts::sectors(
        &ctx.title("Export loss by sector: mean and 5–95 % range"),
        &ctx.axis("export_loss"),
        &rows,
    )
    .map_err(chart_err)?;
    let total: f64 = rows.iter().map(|r| r.mean).filter(|m| m.is_finite()).sum();
    let share = |mean: f64| {
        if total != 0.0 {
            format!("{:.1} %", 100.0 * mean / total)
        } else {
            "—".into()
        }
    };
    let body = html! {
        (figure(
            &svg,
            "Export loss by sector",
            "Each sector's export loss: the dot is the mean, the thick tick the median, the whisker \
             runs from the 5 % to the 95 % quantile. Largest mean at the top.",
        ))
        table {
            thead { tr {
                th.t { "sector" } th { "mean (" (ctx.unit_of("export_loss")) ")" } th { "p5" }
                th { "p50" } th { "p95" } th { "share of the mean total" }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td.t { code { (r.label) } }
                        td { (format_number(r.mean)) }
                        td { (format_number(r.p5)) }
                        td { (format_number(r.p50)) }
                        td { (format_number(r.p95)) }
                        td { (share(r.mean)) }
                    }
                }
            }
        }
    };
    out.push(("sectors.svg".into(), svg));
    Ok(Section {
        id: "sectors",
        title: "Sectors",
        body,
    })
}

/// Section 4: export loss and surplus change conditional on each deal scenario.
fn scenarios(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let sc = &ctx.s.scenarios;
    if sc.is_empty() {
        return Err("no scenarios".into());
    }
    let mean = |id: &str, o: &str| {
        sc.get(id)
            .and_then(|v| v.outputs.get(o))
            .map_or(f64::NAN, |m| m.mean)
    };
    let mut labels = Vec::new();
    let mut el_boxes = Vec::new();
    let mut sc_boxes = Vec::new();
    for (id, v) in sc {
        labels.push(id.clone());
        let q = |o: &str| {
            ctx.s
                .distributions
                .scenarios
                .get(id)
                .and_then(|d| d.get(o))
                .filter(|_| v.draws > 0)
        };
        el_boxes
            .push(q("export_loss").and_then(|q| ctx.box_stats(q, Some(mean(id, "export_loss")))));
        sc_boxes.push(
            q("surplus_change").and_then(|q| ctx.box_stats(q, Some(mean(id, "surplus_change")))),
        );
    }
    let svg = charts::scenarios(
        &ctx.title("Export loss and surplus change by deal scenario"),
        &labels,
        (&ctx.axis("export_loss"), &el_boxes),
        (&ctx.axis("surplus_change"), &sc_boxes),
    )
    .map_err(chart_err)?;
    let units = ctx.unit_of("export_loss");
    // The distributions per scenario, overlaid (issue 15, item 13): one CDF chart per output
    // the summary keeps per scenario.
    let mut overlays = Vec::new();
    for o in ["export_loss", "surplus_change"] {
        let labels: Vec<String> = sc
            .iter()
            .map(|(id, v)| format!("{id} ({:.0} %)", 100.0 * v.probability))
            .collect();
        let curves: Vec<charts::Curve<'_>> = sc
            .iter()
            .zip(&labels)
            .enumerate()
            .filter_map(|(k, ((id, v), label))| {
                let q = ctx.s.distributions.scenarios.get(id)?.get(o)?;
                (v.draws > 0 && q.len() == ctx.levels.len()).then(|| charts::Curve {
                    label,
                    q,
                    line: charts::CURVE_LINES[k % charts::CURVE_LINES.len()],
                })
            })
            .collect();
        if curves.is_empty() {
            continue;
        }
        let svg = charts::cdfs(
            &ctx.title(&format!(
                "{}: distribution in each deal scenario",
                ctx.axis(o)
            )),
            &ctx.axis(o),
            ctx.levels,
            &curves,
        )
        .map_err(chart_err)?;
        out.push((format!("scenarios_{o}.svg"), svg.clone()));
        overlays.push((o, svg));
    }
    let body = html! {
        @for (o, svg) in &overlays {
            (figure(
                svg,
                &format!("Distribution of {o} in each deal scenario"),
                &format!(
                    "Cumulative distribution of {o} conditional on each deal scenario (probability \
                     in brackets): the share of draws of that scenario at or below x. A curve further \
                     right means larger values; each scenario has its own dash pattern."
                ),
            ))
        }
        (figure(
            &svg,
            "Box plots of export loss and surplus change by scenario",
            "Distributions conditional on each deal scenario (top: export loss; bottom: change of the \
             bilateral trade surplus, negative = the surplus shrinks). Box: 25 % to 75 % quantiles; \
             thick bar: median; whiskers: 5 % to 95 %; diamond: mean.",
        ))
        table {
            thead { tr {
                th.t { "scenario" } th.t { "name" } th { "probability" } th { "frequency in the run" }
                th { "draws" } th { "mean export loss (" (units) ")" }
                th { "mean surplus change (" (units) ")" }
            } }
            tbody {
                @for (id, v) in sc {
                    tr {
                        td.t { code { (id) } }
                        td.t { (v.name) }
                        td { (format_number(v.probability)) }
                        td { (format_number(v.frequency)) }
                        td { (v.draws) }
                        td { (format_number(mean(id, "export_loss"))) }
                        td { (format_number(mean(id, "surplus_change"))) }
                    }
                }
            }
        }
    };
    out.push(("scenarios.svg".into(), svg));
    Ok(Section {
        id: "scenarios",
        title: "Deal scenarios",
        body,
    })
}

/// What the deal costs (issue 17): per scenario, the tariff relief against no deal beside the
/// package's cost, and the won's move split into trade and investment flow.
fn deal_costs(ctx: &Ctx<'_>, _out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let dc = ctx
        .s
        .deal_costs
        .as_ref()
        .ok_or("no `deal_costs`: the model has one scenario, or summary.json predates it")?;
    let units = ctx.unit_of("deal_cost");
    let reference = dc.reference.as_ref().and_then(|r| dc.scenarios.get(r));
    let vs_reference =
        |x: f64, of: fn(&ScenarioCost) -> f64| reference.map_or(f64::NAN, |r| x - of(r));
    let probability = |id: &str| ctx.s.scenarios.get(id).map_or(f64::NAN, |s| s.probability);
    let relief = |c: &ScenarioCost| {
        if c.tariff_relief.mean.is_finite() {
            format!(
                "{} ± {}",
                format_number(c.tariff_relief.mean),
                format_number(c.tariff_relief.se)
            )
        } else {
            "—".to_string()
        }
    };
    let flow_share = |c: &ScenarioCost| {
        let (trade, flow) = (
            c.fx_depreciation_pct.trade,
            c.fx_depreciation_pct.investment_flow,
        );
        if trade + flow > 0.0 && flow >= 0.0 {
            format!("{} %", format_number(100.0 * flow / (trade + flow)))
        } else {
            "—".to_string()
        }
    };
    let body = html! {
        p {
            "Every one of the first " (dc.draws) " draws of the run is evaluated under "
            em { "every" } " scenario (common random numbers: the same elasticities, interim \
            rates, betas and scenario terms in each), so the difference between two scenarios \
            carries none of the variance of what they share. The " b { "tariff relief" }
            " is the export loss avoided against "
            @match &dc.reference {
                Some(r) => { "the " code { (r) } " scenario" }
                None => { "no deal (the model has no scenario named " code { "no_deal" } ", so the relief is not computed)" }
            }
            ": the mean over these draws of export_loss(no deal) − export_loss(scenario), with its \
            standard error. The " b { "package" } " is what the deal costs within the horizon: \
            purchases (extra imports), the investment pledge paid out and extra defence \
            cost-sharing, each from the deal month on. Purchases and investment are not losses \
            of income (goods are received, assets acquired); they are what is given, as the \
            relief is what is bought."
        }
        table {
            thead { tr {
                th.t { "scenario" } th { "probability" }
                th { "tariff relief vs no deal (" (units) ")" } th { "purchases (" (units) ")" }
                th { "investment paid (" (units) ")" } th { "defence cost-sharing (" (units) ")" }
                th { "package cost (" (units) ")" } th { "GDP impact (% of GDP)" }
                th { "of which crowding-out (pp)" } th { "GDP vs no deal (pp)" }
            } }
            tbody {
                @for (id, c) in &dc.scenarios {
                    tr {
                        td.t { code { (id) } }
                        td { (format_number(probability(id))) }
                        td { (relief(c)) }
                        td { (format_number(c.purchases)) }
                        td { (format_number(c.investment_outflow)) }
                        td { (format_number(c.defence_cost)) }
                        td { (format_number(c.deal_cost)) }
                        td { (format_number(c.gdp_impact_pct.total)) }
                        td { (format_number(c.gdp_impact_pct.crowd_out)) }
                        td { (format_number(vs_reference(c.gdp_impact_pct.total, |r| r.gdp_impact_pct.total))) }
                    }
                }
            }
        }
        h3 { "The won: trade or investment flow?" }
        p {
            "Mean depreciation of the exporter's currency under each scenario (%, positive = \
            weaker), split into its channels: the trade channel (fx_beta × export loss in % of \
            GDP), the dollars bought for the investment pledge (fx_flow_beta × fx_conversion × \
            outflow in % of GDP, MODEL.md §15) and the noise term, which is the same draw in \
            every scenario. A deal lowers the trade channel and, with an investment pledge, adds \
            the flow channel."
        }
        table {
            thead { tr {
                th.t { "scenario" } th { "depreciation (%)" } th { "trade (pp)" }
                th { "investment flow (pp)" } th { "noise (pp)" }
                th { "share of the move from the investment flow" } th { "vs no deal (pp)" }
                th { "P(stress event)" }
            } }
            tbody {
                @for (id, c) in &dc.scenarios {
                    tr {
                        td.t { code { (id) } }
                        td { (format_number(c.fx_depreciation_pct.total)) }
                        td { (format_number(c.fx_depreciation_pct.trade)) }
                        td { (format_number(c.fx_depreciation_pct.investment_flow)) }
                        td { (format_number(c.fx_depreciation_pct.noise)) }
                        td { (flow_share(c)) }
                        td { (format_number(vs_reference(c.fx_depreciation_pct.total, |r| r.fx_depreciation_pct.total))) }
                        td { (format_number(c.stress_probability)) }
                    }
                }
            }
        }
        p.note {
            "The share is investment flow / (trade + investment flow) of the mean move. Both \
            channels are reduced forms (docs/model.md §3a): not a balance-of-payments model; the \
            flow is one year's order flow, not a permanent level."
        }
    };
    Ok(Section {
        id: "deal-costs",
        title: "What the deal costs",
        body,
    })
}

/// Section 5: FX depreciation vs equity drawdown of the sampled draws with the threshold.
fn market_stress(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let sample = &s.sample;
    let (fx_stress, eq_stress, w) = (
        s.market.fx_stress_pct,
        s.market.equity_stress_pct,
        s.market.fx_weight,
    );
    // Scenario order: the file order of `scenarios`, then any id only the sample names.
    let mut order: Vec<String> = s.scenarios.keys().cloned().collect();
    for id in &sample.scenario {
        if !order.contains(id) {
            order.push(id.clone());
        }
    }
    let n = sample
        .fx_depreciation_pct
        .len()
        .min(sample.equity_drawdown_pct.len())
        .min(sample.scenario.len())
        .min(SCATTER_POINTS);
    let points: Vec<(f64, f64, usize)> = (0..n)
        .map(|i| {
            let k = order
                .iter()
                .position(|o| *o == sample.scenario[i])
                .unwrap_or(0);
            (
                sample.fx_depreciation_pct[i],
                sample.equity_drawdown_pct[i],
                k,
            )
        })
        .collect();
    let p = s.outputs.get("stress_event").map_or(f64::NAN, |o| o.mean);
    let svg = charts::market_stress(
        &ctx.title("Market stress: currency and stock market per draw"),
        &points,
        &order,
        fx_stress,
        eq_stress,
        w,
        &format!("P(stress event) = {:.2} %", 100.0 * p),
    )
    .map_err(chart_err)?;
    let body = html! {
        (figure(
            &svg,
            "Scatter of FX depreciation against equity drawdown",
            &format!(
                "{n} draws of the run (a thinned sample). A draw is a stress event when it lies on or \
                 beyond the dashed line, where the stress index {} · FX/{} % + {} · equity/{} % equals 1. \
                 Marker shape and colour show the deal scenario of the draw.",
                plain(w),
                plain(fx_stress),
                plain(1.0 - w),
                plain(eq_stress),
            ),
        ))
        p {
            "Probability of a market-stress event over all " (s.run.draws) " draws: "
            b { (format!("{:.2} %", 100.0 * p)) } "."
        }
    };
    out.push(("market_stress.svg".into(), svg));
    Ok(Section {
        id: "market-stress",
        title: "Market stress",
        body,
    })
}

/// The correlation ratio η of export loss with the scenario (a categorical input: the
/// correlation with its index in file order would depend on that order and have a
/// meaningless sign), from the scenarios' frequencies and conditional means.
fn scenario_eta(ctx: &Ctx<'_>, output: &str) -> f64 {
    let Ok(o) = ctx.output(output) else {
        return f64::NAN;
    };
    crate::summary::correlation_ratio(
        ctx.s.scenarios.values().map(|v| {
            (
                v.frequency,
                v.outputs.get(output).map_or(f64::NAN, |m| m.mean),
            )
        }),
        o.mean,
        o.sd,
    )
}

/// Section 6: the tornado chart of correlations with export loss (the scenario by its
/// correlation ratio), and the Sobol indices when a sensitivity analysis is given.
fn sensitivity(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let list = ctx
        .s
        .tornado
        .get("export_loss")
        .ok_or("no `tornado/export_loss`")?;
    let mut rows: Vec<charts::TornadoRow> = list
        .iter()
        .filter_map(|r| {
            let (label, value, unsigned) = if r.parameter == "scenario" {
                (
                    "scenario (which deal)".to_string(),
                    scenario_eta(ctx, "export_loss"),
                    true,
                )
            } else {
                (r.parameter.clone(), r.correlation, false)
            };
            value.is_finite().then_some(charts::TornadoRow {
                label,
                value,
                unsigned,
            })
        })
        .collect();
    if rows.is_empty() {
        return Err("no tornado rows for export_loss".into());
    }
    rows.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    let total = rows.len();
    rows.truncate(TORNADO_ROWS);
    let svg = charts::tornado(
        &ctx.title("What moves export loss: correlation of each input with it"),
        "correlation of the input's percentile with export loss (η for the scenario)",
        &rows,
    )
    .map_err(chart_err)?;
    let sobol = ctx.extra.get("sensitivity").map(sobol_table);
    let body = html! {
        (figure(
            &svg,
            "Tornado chart of input correlations with export loss",
            &format!(
                "The {} inputs (of {total}) most related to export loss. For a number: the Pearson \
                 correlation of the input's percentile in a draw with export loss; a long bar means \
                 the input moves export loss a lot, its sign the direction. For the scenario, a \
                 category: the correlation ratio η (the square root of the share of the variance of \
                 export loss that lies between scenarios), which has no direction and does not \
                 depend on the order of the scenarios in the file (grey bar).",
                rows.len()
            ),
        ))
        @match sobol {
            Some(Ok(table)) => { (table) }
            Some(Err(e)) => { p.note { "Sobol indices not shown: " (e) } }
            None => {
                p.note {
                    "Correlations miss interactions and non-linear effects. Sobol indices measure \
                     each input's share of the variance: run " code { "tariffsim sensitivity --out DIR" }
                    " and add them here with " code { "tariffsim report RUN_DIR --sensitivity DIR" } "."
                }
            }
        }
    };
    out.push(("tornado.svg".into(), svg));
    Ok(Section {
        id: "sensitivity",
        title: "Sensitivity",
        body,
    })
}

/// How many inputs the Sobol table shows.
const SOBOL_ROWS: usize = 15;

/// The Sobol indices of export loss from a `sensitivity.json` (by decreasing total index),
/// with their intervals and a bar for each.
fn sobol_table(json: &serde_json::Value) -> Result<Markup, String> {
    use serde_json::Value;
    let el = json
        .pointer("/outputs/export_loss")
        .ok_or("sensitivity.json has no `outputs/export_loss`")?;
    let num = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(f64::NAN);
    let mut rows: Vec<(String, &'static str, [f64; 6])> = Vec::new();
    for (kind, key) in [("parameter", "parameters"), ("group", "groups")] {
        for (name, e) in el.get(key).and_then(Value::as_object).into_iter().flatten() {
            // A group of one parameter (e.g. `scenario`) repeats the parameter's row.
            if kind == "group" && rows.iter().any(|r| r.0 == *name) {
                continue;
            }
            let ci = |k: &str, i: usize| num(e.get(k).and_then(|c| c.get(i)));
            rows.push((
                name.clone(),
                kind,
                [
                    num(e.get("first_order")),
                    ci("first_order_ci", 0),
                    ci("first_order_ci", 1),
                    num(e.get("total")),
                    ci("total_ci", 0),
                    ci("total_ci", 1),
                ],
            ));
        }
    }
    if rows.is_empty() {
        return Err("sensitivity.json has no indices for export_loss".into());
    }
    let key = |x: f64| if x.is_finite() { x } else { f64::NEG_INFINITY };
    rows.sort_by(|a, b| key(b.2[3]).total_cmp(&key(a.2[3])));
    let total = rows.len();
    rows.truncate(SOBOL_ROWS);
    let pct = |x: f64| (100.0 * x.clamp(0.0, 1.0)).round();
    let ci = |lo: f64, hi: f64| {
        if lo.is_finite() && hi.is_finite() {
            format!("[{}, {}]", format_number(lo), format_number(hi))
        } else {
            "—".into()
        }
    };
    Ok(html! {
        h3 { "Sobol indices of export loss" }
        p {
            "From " code { "sensitivity.json" } " (" (json.get("samples").and_then(Value::as_u64).unwrap_or(0))
            " base samples, seed " (json.get("seed").and_then(Value::as_u64).unwrap_or(0)) "). The "
            b { "total" } " index is the share of the variance of export loss that involves the input \
            (alone or with others): an input with a small total index could be fixed without changing \
            the result. The " b { "first-order" } " index is the share it explains alone. The "
            (rows.len()) " inputs and groups (of " (total) ") with the largest total index, with 95 % \
            bootstrap intervals."
        }
        table.sobol {
            thead { tr {
                th.t { "input" } th.t { "kind" } th { "first order" } th { "interval" }
                th { "total" } th { "interval" } th.t { "total (bar)" }
            } }
            tbody {
                @for (name, kind, v) in &rows {
                    tr {
                        td.t { code { (name) } }
                        td.t { (kind) }
                        td { (format_number(v[0])) }
                        td.ci { (ci(v[1], v[2])) }
                        td { (format_number(v[3])) }
                        td.ci { (ci(v[4], v[5])) }
                        td.t.bar { span style={ "width:" (pct(v[3])) "%" } {} }
                    }
                }
            }
        }
    })
}

/// Section 7: running mean of export loss with ±2 standard errors.
fn convergence(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let c = &ctx.s.convergence;
    let draws: Vec<f64> = c.draws.iter().map(|&d| d as f64).collect();
    let svg = charts::convergence(
        &ctx.title("Convergence: running mean of export loss"),
        &format!("mean {}", ctx.axis("export_loss")),
        &draws,
        &c.mean,
        &c.se,
    )
    .map_err(chart_err)?;
    let body = html! {
        (figure(
            &svg,
            "Running mean of export loss against draws",
            "The mean of export loss over the first n draws (solid), with ± 2 standard errors of that \
             mean (band). When the band is narrow compared with the differences you care about, the \
             run has enough draws; the standard error falls like 1/√n.",
        ))
        @if let (Some(m), Some(e)) = (c.mean.last(), c.se.last()) {
            p {
                "Final mean " (format_number(*m)) " ± " (format_number(2.0 * e)) " (2 s.e.) "
                (ctx.unit_of("export_loss")) "."
            }
        }
    };
    out.push(("convergence.svg".into(), svg));
    Ok(Section {
        id: "convergence",
        title: "Convergence",
        body,
    })
}

/// Section 8: every parameter of the model with its distribution.
fn assumptions(ctx: &Ctx<'_>, _out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let path_of = |i: usize, c: &crate::summary::CorrelationInfo| c.between[i].clone();
    let body = html! {
        h3 { "Deal scenarios" }
        table {
            thead { tr { th.t { "scenario" } th { "probability" } th.t { "rationale" } } }
            tbody {
                @for (id, v) in &s.scenarios {
                    tr {
                        td.t { code { (id) } @if v.name != *id { span.desc { (v.name) } } }
                        td { (format_number(v.probability)) }
                        td.t.wide {
                            @if v.rationale.is_empty() { "—" } @else { (v.rationale) }
                        }
                    }
                }
            }
        }
        @if s.scenarios.values().all(|v| v.rationale.is_empty()) {
            p.note { "The model file gives no " code { "rationale" } " for its scenarios; see its comments and documentation." }
        }
        h3 { "Correlations" }
        @if s.correlations.is_empty() {
            p.note { "The model has no correlations (every uncertain parameter is drawn independently), or summary.json predates their record." }
        } @else {
            p.note {
                "Pairs of parameters drawn together through a Gaussian copula: ρ is the correlation \
                 of their normal scores (MODEL.md §7)."
            }
            table {
                thead { tr { th.t { "parameter" } th.t { "with" } th { "ρ" } th { "line" } } }
                tbody {
                    @for c in &s.correlations {
                        tr {
                            td.t { code { (path_of(0, c)) } }
                            td.t { code { (path_of(1, c)) } }
                            td { (plain(c.rho)) }
                            td { @if c.line > 0 { (c.line) } @else { "—" } }
                        }
                    }
                }
            }
        }
        h3 { "Parameters" }
        p.note {
            "Every parameter of the model file, with the distribution it is drawn from (a point \
             value is certain) and the line of the model file that sets it."
        }
        table {
            thead { tr {
                th.t { "parameter" } th.t { "distribution" } th.t { "kind" } th { "mean" } th { "line" }
            } }
            tbody {
                @for p in &ctx.s.parameters {
                    tr {
                        td.t { code { (p.path) } }
                        td.t { (p.distribution) }
                        td.t { (p.kind) }
                        td { (format_number(p.mean.unwrap_or(f64::NAN))) }
                        td { @if p.line > 0 { (p.line) } @else { "—" } }
                    }
                }
            }
        }
    };
    Ok(Section {
        id: "assumptions",
        title: "Assumptions",
        body,
    })
}

/// Month t of `months.<t>.<kind>` with its 5/25/50/75/95 % quantiles, for every month the
/// summary has, labelled from `start_month`.
fn month_series(ctx: &Ctx<'_>, kind: &str) -> Vec<charts::FanMonth> {
    let start = ctx
        .s
        .model
        .start_month
        .as_deref()
        .and_then(crate::model::YearMonth::parse);
    let mut out = Vec::new();
    for t in 1.. {
        let Some(o) = ctx.s.outputs.get(&format!("months.{t}.{kind}")) else {
            break;
        };
        let q = &o.quantiles;
        out.push(charts::FanMonth {
            label: start.map_or(format!("{t}"), |s| s.plus(t as i64 - 1).to_string()),
            // QUANTILE_LEVELS: 0.05, 0.25, 0.5, 0.75, 0.95 are entries 1, 3, 4, 5, 7.
            q: [q[1], q[3], q[4], q[5], q[7]],
        });
    }
    out
}

/// The time path (MODEL.md §12): fan charts of the monthly export change and export loss,
/// with a backtest's observations and PITs when the folder has them (§13).
fn months(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    use serde_json::Value;
    let change = month_series(ctx, "export_change_pct");
    if change.is_empty() {
        return Err("the run has no monthly outputs (run with --monthly)".into());
    }
    let num = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(f64::NAN);
    let observed: Vec<&Value> = ctx
        .extra
        .get("backtest")
        .and_then(|b| b.get("observations"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let points: Vec<charts::FanPoint> = observed
        .iter()
        .filter_map(|o| {
            let t = o
                .get("output")
                .and_then(Value::as_str)?
                .strip_prefix("months.")?
                .strip_suffix(".export_change_pct")?
                .parse::<usize>()
                .ok()?;
            let value = num(o.get("value"));
            Some(charts::FanPoint {
                t,
                value,
                label: format!("{} (PIT {:.2})", format_number(value), num(o.get("pit"))),
            })
        })
        .collect();
    let svg = charts::fan(
        &ctx.title("Exports to the importer by month, change on the baseline year"),
        "% change on the baseline year's month",
        &change,
        &points,
    )
    .map_err(chart_err)?;
    out.push(("months_export_change.svg".into(), svg.clone()));
    let loss = month_series(ctx, "export_loss");
    let loss_svg = charts::fan(
        &ctx.title("Export loss by month"),
        &format!("export loss in the month ({})", ctx.unit_of("export_loss")),
        &loss,
        &[],
    )
    .map_err(chart_err)?;
    out.push(("months_export_loss.svg".into(), loss_svg.clone()));
    let body = html! {
        (figure(
            &svg,
            "Fan chart of the monthly change of exports",
            "Exports in each month against the baseline year (flat within the year), policy and \
             counterfactual growth together: median (line), 25–75 % and 5–95 % bands. A \
             year-on-year monthly release compares with it once its base month is expressed \
             against the baseline year's monthly mean (docs/time.md).",
        ))
        @if !observed.is_empty() {
            h3 { "Backtest" }
            table {
                thead { tr { th.t { "observed" } th { "value" } th { "PIT" } th { "CRPS" } } }
                tbody {
                    @for o in &observed {
                        tr {
                            td.t {
                                code { (o.get("output").and_then(Value::as_str).unwrap_or("")) }
                                span.desc { (o.get("label").and_then(Value::as_str).unwrap_or("")) }
                            }
                            td { (format_number(num(o.get("value")))) }
                            td { (format!("{:.3}", num(o.get("pit")))) }
                            td { (format_number(num(o.get("crps")))) }
                        }
                    }
                }
            }
            p.note {
                "PIT: the share of the forecast's draws below the observed value (ties count half). \
                 A calibrated forecast gives PITs spread evenly over 0–1; a PIT near 0 or 1 puts \
                 the observation in the forecast's tail."
            }
        }
        (figure(
            &loss_svg,
            "Fan chart of the monthly export loss",
            "The policy's effect in each month (against the baseline, without growth): it grows \
             as trade adjusts to the tariffs with each sector's half-life.",
        ))
    };
    Ok(Section {
        id: "months",
        title: "Month by month",
        body,
    })
}

/// An updated forecast (MODEL.md §13): prior and updated scenario probabilities, the ESS, and
/// the prior and updated distributions of headline outputs.
fn update(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    use serde_json::Value;
    let u = ctx
        .extra
        .get("update")
        .ok_or("this is not an updated forecast (see `tariffsim backtest`)")?;
    let num = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(f64::NAN);
    let prior_p = |id: &str| {
        num(ctx
            .extra
            .get("prior")
            .and_then(|p| p.get("scenarios"))
            .and_then(|s| s.get(id))
            .and_then(|s| s.get("probability")))
    };
    let warnings: Vec<&str> = u
        .get("warnings")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut figures = Vec::new();
    for (o, file) in [
        ("export_loss", "update_export_loss.svg"),
        ("export_change_pct", "update_export_change.svg"),
        ("gdp_impact_pct", "update_gdp_impact.svg"),
    ] {
        let prior: Option<Vec<f64>> = ctx
            .extra
            .get("prior")
            .and_then(|p| p.get("distributions"))
            .and_then(|d| d.get(o))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect());
        let (Some(prior), Some(updated)) = (prior, ctx.s.distributions.outputs.get(o)) else {
            continue;
        };
        let svg = charts::prior_updated(
            &ctx.title(&format!("Prior and updated distribution of {o}")),
            &ctx.axis(o),
            ctx.levels,
            &prior,
            updated,
        )
        .map_err(chart_err)?;
        out.push((file.into(), svg.clone()));
        figures.push((o, svg));
    }
    let body = html! {
        p {
            "Updated on " (u.get("observations").and_then(Value::as_u64).unwrap_or(0))
            " observation(s) by importance weights w = Π φ((y − x)/sd). Effective sample size "
            (format_number(num(u.get("ess")))) " draws; log evidence "
            (format_number(num(u.get("log_evidence")))) "."
        }
        @for w in &warnings {
            p.note { b { "Warning: " } (w) }
        }
        h3 { "Deal scenarios" }
        table {
            thead { tr { th.t { "scenario" } th { "prior" } th { "updated" } } }
            tbody {
                @for (id, sc) in &ctx.s.scenarios {
                    tr {
                        td.t { (id) }
                        td { (format!("{:.3}", prior_p(id))) }
                        td { (format!("{:.3}", sc.probability)) }
                    }
                }
            }
        }
        @for (o, svg) in &figures {
            (figure(
                svg,
                &format!("Prior and updated distribution of {o}"),
                "Cumulative distribution before (dashed) and after (solid) the update: a curve \
                 moved right means larger values became more likely.",
            ))
        }
    };
    Ok(Section {
        id: "update",
        title: "Updated on observations",
        body,
    })
}

/// Whether a run has named competitors or redirects part of its loss (MODEL.md §10, §11):
/// only then does the competitors section say more than the headline.
fn has_competitors_or_redirection(s: &Summary) -> bool {
    let mean = |name: &str| s.outputs.get(name).map(|o| o.mean);
    s.outputs.keys().any(|k| k.starts_with("competitors."))
        || (mean("net_export_loss").is_some() && mean("net_export_loss") != mean("export_loss"))
}

/// Named competitors and other markets (MODEL.md §10, §11): the exporter's loss in the
/// importer's market beside its net loss to all markets, and who gains and who loses among
/// the named competitors, overall and per scenario.
fn competitors(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let interval = |label: &str, name: &str| {
        s.outputs.get(name).map(|o| Interval {
            label: label.to_string(),
            mean: o.mean,
            p5: o.quantiles[P5],
            p50: o.quantiles[P50],
            p95: o.quantiles[P95],
        })
    };
    let markets: Vec<(Interval, &str)> = [
        ("exports to the importer", "export_loss"),
        (
            "exports to all markets (net of redirection)",
            "net_export_loss",
        ),
    ]
    .into_iter()
    .filter_map(|(label, name)| interval(label, name).map(|i| (i, name)))
    .collect();
    let mut rows: Vec<Interval> = s
        .outputs
        .keys()
        .filter_map(|name| {
            let id = name
                .strip_prefix("competitors.")?
                .strip_suffix(".export_loss")?;
            interval(id, name)
        })
        .collect();
    if markets.is_empty() && rows.is_empty() {
        return Err("no `net_export_loss` or `competitors.<id>.export_loss` outputs".into());
    }
    rows.sort_by(|a, b| a.mean.total_cmp(&b.mean));
    let units = ctx.unit_of("export_loss");
    let verdict = |r: &Interval| {
        if r.p95 < 0.0 {
            "gains (in 95 % of draws)"
        } else if r.p5 > 0.0 {
            "loses (in 95 % of draws)"
        } else if r.mean < 0.0 {
            "gains on average"
        } else if r.mean > 0.0 {
            "loses on average"
        } else {
            "unchanged"
        }
    };
    let scenario_mean = |id: &str, name: &str| {
        s.scenarios
            .get(id)
            .filter(|v| v.draws > 0)
            .and_then(|v| v.outputs.get(name))
            .map_or(f64::NAN, |m| m.mean)
    };
    let svg = if rows.is_empty() {
        None
    } else {
        Some(
            charts::sectors(
                &ctx.title(
                    "Competitors' export loss in the importer's market: mean and 5–95 % range",
                ),
                &ctx.axis("export_loss"),
                &rows,
            )
            .map_err(chart_err)?,
        )
    };
    let body = html! {
        h3 { "The exporter: the importer's market and all markets" }
        p.note {
            "The loss in the importer's market less the part sold elsewhere within the horizon \
             (each sector's " code { "redirection" } ") is the net loss to all markets; GDP, the \
             currency and stocks respond to the net loss."
        }
        table {
            thead { tr {
                th.t { "loss of" } th { "mean (" (units) ")" } th { "p5" } th { "p50" } th { "p95" }
            } }
            tbody {
                @for (r, name) in &markets {
                    tr {
                        td.t { (r.label) " " code { (name) } }
                        td { (format_number(r.mean)) }
                        td { (format_number(r.p5)) }
                        td { (format_number(r.p50)) }
                        td { (format_number(r.p95)) }
                    }
                }
            }
        }
        @if !s.scenarios.is_empty() {
            table {
                thead { tr {
                    th.t { "scenario" } th { "mean loss in the importer's market (" (units) ")" }
                    th { "mean net loss, all markets (" (units) ")" }
                } }
                tbody {
                    @for id in s.scenarios.keys() {
                        tr {
                            td.t { code { (id) } }
                            td { (format_number(scenario_mean(id, "export_loss"))) }
                            td { (format_number(scenario_mean(id, "net_export_loss"))) }
                        }
                    }
                }
            }
        }
        @if let Some(svg) = &svg {
            h3 { "Named competitors: who gains, who loses" }
            (figure(
                svg,
                "Competitors' export loss",
                "Each named competitor's loss of exports to the importer (negative = it gains: \
                 buyers turn to it when the exporter's goods get dearer, or it pays less than \
                 before): the dot is the mean, the thick tick the median, the whisker runs from \
                 the 5 % to the 95 % quantile. Largest gain at the top.",
            ))
            table {
                thead { tr {
                    th.t { "competitor" } th { "mean (" (units) ")" } th { "p5" } th { "p50" }
                    th { "p95" } th.t { "in the importer's market" }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td.t { code { (r.label) } }
                            td { (format_number(r.mean)) }
                            td { (format_number(r.p5)) }
                            td { (format_number(r.p50)) }
                            td { (format_number(r.p95)) }
                            td.t { (verdict(r)) }
                        }
                    }
                }
            }
            @if !s.scenarios.is_empty() {
                p.note { "Mean loss of each competitor conditional on the deal scenario (" (units) "; negative = gain)." }
                table {
                    thead { tr {
                        th.t { "competitor" }
                        @for id in s.scenarios.keys() { th { code { (id) } } }
                    } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td.t { code { (r.label) } }
                                @for id in s.scenarios.keys() {
                                    td { (format_number(scenario_mean(id, &format!("competitors.{}.export_loss", r.label)))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    if let Some(svg) = svg {
        out.push(("competitors.svg".into(), svg));
    }
    Ok(Section {
        id: "competitors",
        title: "Competitors and other markets",
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_text_is_escaped() {
        let hostile = "<script>alert('x') & \"y\"</script>";
        let markup = html! { p title=(hostile) { (hostile) } }.into_string();
        assert!(!markup.contains("<script"), "{markup}");
        assert!(markup.contains("&lt;script&gt;"), "{markup}");
        assert!(markup.contains("&amp; &quot;y&quot;"), "{markup}");
        let svg = inline_svg("<svg width=\"1\"></svg>", hostile).into_string();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"&lt;script&gt;"),
            "{svg}"
        );
        assert!(!svg[..svg.find('>').unwrap()].contains("\"y\""), "{svg}");
    }

    /// Issue 15, item 12: the report showed the elapsed time as 3.2174559329999998.
    #[test]
    fn elapsed_time_is_rounded() {
        assert_eq!(elapsed(3.2174559329999998), "3.22 s");
        assert_eq!(elapsed(0.042138), "0.0421 s");
        assert_eq!(elapsed(12.345), "12.3 s");
        assert_eq!(elapsed(245.4), "4 min 05 s");
        assert_eq!(elapsed(7385.0), "2 h 03 min");
        assert_eq!(elapsed(0.0), "0 s");
        assert_eq!(elapsed(f64::NAN), "—");
    }

    #[test]
    fn numbers_have_about_four_digits() {
        assert_eq!(format_number(22.8018), "22.80");
        assert_eq!(format_number(0.021345), "0.0213");
        assert_eq!(format_number(1234.5), "1234");
        assert_eq!(format_number(f64::NAN), "—");
        assert_eq!(format_number(0.0), "0");
    }

    fn default_summary() -> Summary {
        use crate::{model, run};
        let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml").unwrap();
        let config = run::RunConfig {
            draws: 2048,
            ..Default::default()
        };
        let outcome = run::run(&model, &config).unwrap();
        let info = crate::summary::RunInfo {
            draws: 2048,
            seed: 0,
            sampler: "mc".into(),
            threads: 1,
            elapsed_s: 0.0,
            stopping: None,
        };
        let mut s = Summary::new(&model, &info, &outcome.stats);
        // As the CLI adds it to every run's summary.json.
        s.deal_costs = crate::deal::DealCosts::for_run(&model, "mc", 0, 2048, 1).unwrap();
        s
    }

    #[test]
    fn a_scenario_without_draws_and_a_missing_section_degrade_to_notes() {
        let mut s = default_summary();
        let full = render_report(&s).unwrap();
        // Eight charts of every run, two fan charts of the default model's monthly path, and
        // the competitors chart of its named competitors (issue 13).
        assert_eq!(full.charts.len(), 11);
        assert!(!full.html.contains("Not available"));
        // Issue 15, item 13: the scenario distributions overlaid, the scenario ranked by η,
        // the correlations and scenarios in the assumptions, every table in a scroll box.
        for name in ["scenarios_export_loss.svg", "scenarios_surplus_change.svg"] {
            let svg = &full.charts.iter().find(|c| c.0 == name).unwrap().1;
            for id in s.scenarios.keys() {
                assert!(svg.contains(id.as_str()), "{name}: {id}");
            }
        }
        let tornado = &full.charts.iter().find(|c| c.0 == "tornado.svg").unwrap().1;
        assert!(tornado.contains("η 0.") && !tornado.contains("e-1"));
        let assumptions = &full.html[full.html.find("<section id=\"assumptions\">").unwrap()..];
        assert!(assumptions.contains("sectors.auto_parts.sigma") && assumptions.contains("0.6"));
        assert!(assumptions.contains("Correlations") && assumptions.contains("rationale"));
        assert_eq!(
            full.html.matches("<table").count(),
            full.html.matches("<div class=\"scroll\"><table").count()
        );
        // A scenario no draw picked has undefined quantiles.
        let id = s.scenarios.keys().next().unwrap().clone();
        s.scenarios[&id].draws = 0;
        for q in s.distributions.scenarios[&id].values_mut() {
            q.fill(f64::NAN);
        }
        s.tornado.shift_remove("export_loss");
        let r = render_report(&s).unwrap();
        assert!(r
            .charts
            .iter()
            .any(|(n, svg)| n == "scenarios.svg" && svg.contains("no draws")));
        assert!(!r.charts.iter().any(|(n, _)| n == "tornado.svg"));
        let sensitivity = &r.html[r.html.find("<section id=\"sensitivity\">").unwrap()..];
        // Section 9: the default model's report has "Month by month" and "Competitors" before it.
        assert!(sensitivity.starts_with(
            "<section id=\"sensitivity\"><h2>9. Sensitivity</h2><p class=\"note\">Not available"
        ));
    }

    #[test]
    fn a_summary_without_export_loss_names_what_is_missing() {
        let mut s = default_summary();
        s.outputs.shift_remove("export_loss");
        let e = render_report(&s).unwrap_err();
        assert!(e.to_string().contains("export_loss"), "{e}");
    }
}
