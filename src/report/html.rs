//! `report.html`: one self-contained page (inline SVG and CSS, no scripts, no network) with
//! the headline results, the charts of a run and its assumptions, built from `summary.json`
//! alone so that `tariffsim report DIR` can rebuild it from a finished run.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tariffsim::{model, report, run};
//! let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml")?;
//! let outcome = run::run(&model, &run::RunConfig { draws: 4096, ..Default::default() })?;
//! let info = report::RunInfo { draws: 4096, seed: 0, sampler: "mc".into(), threads: 1, elapsed_s: 0.0, stopping: None };
//! let files = report::render_report(&report::summary_json(&model, &info, &outcome.stats))?;
//! assert!(files.html.starts_with("<!DOCTYPE html>"));
//! assert_eq!(files.charts.len(), 8); // six of every run, two fan charts of the monthly path
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::charts::{self, BoxStats, Interval, Marker};
use super::ReportError;

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
/// How many sample points the market-stress scatter shows.
const SCATTER_POINTS: usize = 2000;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

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

/// Looks up `keys` in `v`; the error names the path that is missing.
fn at<'a>(v: &'a Value, keys: &[&str]) -> Result<&'a Value, String> {
    let mut cur = v;
    for (i, k) in keys.iter().enumerate() {
        cur = cur
            .get(k)
            .ok_or_else(|| format!("missing `{}`", keys[..=i].join("/")))?;
    }
    Ok(cur)
}

/// A number at `keys` (JSON null, written for a statistic that does not exist, is NaN).
fn num_at(v: &Value, keys: &[&str]) -> Result<f64, String> {
    match at(v, keys)? {
        Value::Null => Ok(f64::NAN),
        x => x
            .as_f64()
            .ok_or_else(|| format!("`{}` is not a number", keys.join("/"))),
    }
}

fn num_or_nan(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn numbers(v: &Value, keys: &[&str]) -> Result<Vec<f64>, String> {
    at(v, keys)?
        .as_array()
        .ok_or_else(|| format!("`{}` is not a list", keys.join("/")))
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
}

/// Text of a scalar for metadata tables ("—" when missing).
fn text_at(v: &Value, keys: &[&str]) -> String {
    match at(v, keys) {
        Ok(Value::String(s)) => s.clone(),
        Ok(Value::Null) | Err(_) => "—".into(),
        Ok(x) => x.to_string(),
    }
}

/// Index of quantile level `p` in the distribution grid.
fn level_index(levels: &[f64], p: f64) -> Option<usize> {
    levels.iter().position(|&l| (l - p).abs() < 1e-9)
}

/// The parts of summary.json every chart needs.
struct Ctx<'a> {
    s: &'a Value,
    units: String,
    levels: Vec<f64>,
}

impl Ctx<'_> {
    /// A chart title with the model's name as its second line (for charts used alone).
    fn title(&self, head: &str) -> String {
        format!("{head}\n{}", text_at(self.s, &["model", "name"]))
    }
    fn unit_of(&self, output: &str) -> String {
        crate::outputs::describe(output, &self.units).0
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
    /// 5/25/50/75/95 % quantiles of a distribution on the grid.
    fn box_stats(&self, q: &[f64], mean: Option<f64>) -> Option<BoxStats> {
        let mut out = [0.0; 5];
        for (slot, p) in out.iter_mut().zip([0.05, 0.25, 0.5, 0.75, 0.95]) {
            *slot = *q.get(level_index(&self.levels, p)?)?;
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
    body: String,
}

/// Renders `report.html` and the chart SVGs from a `summary.json` document.
///
/// Errors are [`ReportError::Malformed`] with the path `summary.json` when the document
/// lacks what the headline and the export-loss distribution need; a later section whose
/// data is missing shows a note instead of its chart.
pub fn render_report(summary: &Value) -> Result<ReportFiles, ReportError> {
    let malformed = |message: String| ReportError::Malformed {
        path: PathBuf::from("summary.json"),
        message,
    };
    if !summary.is_object() {
        return Err(malformed("not a JSON object".into()));
    }
    let ctx = Ctx {
        s: summary,
        units: match at(summary, &["model", "units"]) {
            Ok(Value::String(u)) => u.clone(),
            _ => String::new(),
        },
        levels: numbers(summary, &["distributions", "levels"]).map_err(malformed)?,
    };
    at(summary, &["model", "name"]).map_err(malformed)?;
    at(summary, &["run"]).map_err(malformed)?;

    let mut charts: Vec<(String, String)> = Vec::new();
    let mut sections = vec![headline(&ctx).map_err(malformed)?];
    sections.push(export_loss(&ctx, &mut charts).map_err(malformed)?);
    type Builder = fn(&Ctx<'_>, &mut Vec<(String, String)>) -> Result<Section, String>;
    let optional: [(&'static str, &'static str, Builder); 8] = [
        ("months", "Month by month", months),
        ("update", "Updated on observations", update),
        ("sectors", "Sectors", sectors),
        ("scenarios", "Deal scenarios", scenarios),
        ("market-stress", "Market stress", market_stress),
        ("sensitivity", "Sensitivity", sensitivity),
        ("convergence", "Convergence", convergence),
        ("assumptions", "Assumptions", assumptions),
    ];
    for (id, title, build) in optional {
        // The time path and the update belong to runs that have them; others leave them out.
        let applies = match id {
            "months" => at(summary, &["outputs", "months.1.export_change_pct"]).is_ok(),
            "update" => at(summary, &["update"]).is_ok(),
            _ => true,
        };
        if !applies {
            continue;
        }
        sections.push(build(&ctx, &mut charts).unwrap_or_else(|e| Section {
            id,
            title,
            body: format!(
                "<p class=\"note\">Not available: summary.json has no usable data for this section ({}).</p>\n",
                escape_html(&e)
            ),
        }));
    }
    Ok(ReportFiles {
        html: page(&ctx, &sections),
        charts,
    })
}

/// Reads `dir/summary.json`, writes `dir/report.html`, and with `charts_dir` each chart as
/// an SVG file there. Returns the path of `report.html`.
pub fn write_report(dir: &Path, charts_dir: Option<&Path>) -> Result<PathBuf, ReportError> {
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
    let mut summary: Value =
        serde_json::from_str(&text).map_err(|e| malformed(format!("not valid JSON: {e}")))?;
    // A backtest's scores (MODEL.md §13) are drawn on the fan chart of the same folder.
    if let Ok(bt) = std::fs::read_to_string(dir.join("backtest.json")) {
        if let (Ok(bt), Some(obj)) = (serde_json::from_str::<Value>(&bt), summary.as_object_mut()) {
            obj.insert("backtest".into(), bt);
        }
    }
    let files = render_report(&summary).map_err(|e| match e {
        ReportError::Malformed { message, .. } => malformed(message),
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

/// An SVG for inline use in HTML5: without the XML namespace (not needed inline) and with an
/// accessible name.
fn inline_svg(svg: &str, label: &str) -> String {
    let svg = svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", escape_html(label)),
        1,
    )
}

fn figure(svg: &str, label: &str, caption: &str) -> String {
    format!(
        "<figure>\n{}\n<figcaption>{caption}</figcaption>\n</figure>\n",
        inline_svg(svg, label)
    )
}

fn chart_err(e: charts::ChartError) -> String {
    format!("chart: {}", e.0)
}

const CSS: &str = r#"
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
figcaption, .note { font-size: .9rem; color: #333; }
table { border-collapse: collapse; font-size: .88rem; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid #bbb; padding: .22rem .45rem; text-align: right; vertical-align: top; }
th { border-bottom: 2px solid #111; background: #f3f3f3; }
th.t, td.t { text-align: left; }
td { font-variant-numeric: tabular-nums; }
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
a { color: #0057a0; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  section { break-before: page; margin: 0; }
  section#headline { break-before: auto; }
  figure, .cards, tr, dl.meta { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  thead { display: table-header-group; }
  th { background: none; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn page(ctx: &Ctx<'_>, sections: &[Section]) -> String {
    let s = ctx.s;
    let name = text_at(s, &["model", "name"]);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — tariffsim report</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n\
         <h1>{}</h1>\n<p class=\"subtitle\">tariffsim report: {} → {}, {} draws, seed {}, money in {}</p>\n</header>\n",
        escape_html(&name),
        escape_html(&name),
        escape_html(&text_at(s, &["model", "exporter"])),
        escape_html(&text_at(s, &["model", "importer"])),
        escape_html(&text_at(s, &["run", "draws"])),
        escape_html(&text_at(s, &["run", "seed"])),
        escape_html(&ctx.unit_of("export_loss")),
    );
    h.push_str("<nav>\n<ol>\n");
    for sec in sections {
        let _ = writeln!(h, "<li><a href=\"#{}\">{}</a></li>", sec.id, sec.title);
    }
    h.push_str("</ol>\n</nav>\n<main>\n");
    for (i, sec) in sections.iter().enumerate() {
        let _ = write!(
            h,
            "<section id=\"{}\">\n<h2>{}. {}</h2>\n{}</section>\n",
            sec.id,
            i + 1,
            sec.title,
            sec.body
        );
    }
    let _ = write!(
        h,
        "</main>\n<footer>\n<p class=\"note\">Made by tariffsim {} from summary.json. \
         This page needs no network connection.</p>\n</footer>\n</body>\n</html>\n",
        escape_html(&text_at(s, &["run", "version"]))
    );
    h
}

/// Section 1: every output's statistics, key figures and the run's metadata.
fn headline(ctx: &Ctx<'_>) -> Result<Section, String> {
    let s = ctx.s;
    let outputs = at(s, &["outputs"])?
        .as_object()
        .ok_or("`outputs` is not an object")?;
    let el = |k: &[&str]| -> Result<f64, String> {
        let mut keys = vec!["outputs", "export_loss"];
        keys.extend_from_slice(k);
        num_at(s, &keys)
    };
    let units = ctx.unit_of("export_loss");
    let mut b = String::new();
    b.push_str("<div class=\"cards\">\n");
    let mut card = |value: String, what: &str| {
        let _ = writeln!(
            b,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape_html(&value),
            escape_html(what)
        );
    };
    card(
        format!("{} {units}", format_number(el(&["mean"])?)),
        "mean export loss",
    );
    card(
        format!("{} {units}", format_number(el(&["quantiles", "0.95"])?)),
        "VaR 95: export loss exceeded in 5 % of draws",
    );
    card(
        format!("{} {units}", format_number(el(&["es", "0.95"])?)),
        "ES 95: mean export loss in the worst 5 %",
    );
    if let Ok(p) = num_at(s, &["outputs", "stress_event", "mean"]) {
        let se = num_at(s, &["outputs", "stress_event", "se_mean"]).unwrap_or(f64::NAN);
        card(
            format!("{:.2} %", 100.0 * p),
            &format!(
                "probability of a market-stress event (± {:.2} % s.e.)",
                100.0 * se
            ),
        );
    }
    b.push_str("</div>\n");

    b.push_str(
        "<table>\n<thead><tr><th class=\"t\">output</th><th class=\"t\">unit</th><th>mean</th><th>sd</th>\
         <th>p5</th><th>p50</th><th>p95</th><th>ES95</th></tr></thead>\n<tbody>\n",
    );
    for (name, o) in outputs {
        let (unit, meaning) = crate::outputs::describe(name, &ctx.units);
        let q = |k: &str| num_or_nan(o.get("quantiles").and_then(|q| q.get(k)));
        let _ = writeln!(
            b,
            "<tr><td class=\"t\"><code>{}</code><span class=\"desc\">{}</span></td><td class=\"t\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(name),
            escape_html(meaning),
            escape_html(&unit),
            format_number(num_or_nan(o.get("mean"))),
            format_number(num_or_nan(o.get("sd"))),
            format_number(q("0.05")),
            format_number(q("0.5")),
            format_number(q("0.95")),
            format_number(num_or_nan(o.get("es").and_then(|e| e.get("0.95")))),
        );
    }
    b.push_str("</tbody>\n</table>\n");
    b.push_str(
        "<p class=\"note\">p5, p50, p95: quantiles of the draws. ES95 (expected shortfall): the mean \
         of the draws at or above the 95 % quantile. The mean of <code>stress_event</code> is the \
         probability of a market-stress event.</p>\n",
    );

    b.push_str("<h3>Replicating this run</h3>\n<dl class=\"meta\">\n");
    let rows: [(&str, &[&str]); 13] = [
        ("model", &["model", "name"]),
        ("file", &["model", "file"]),
        ("SHA-256 of the file", &["model", "sha256"]),
        ("exporter → importer", &["model", "exporter"]),
        ("units", &["model", "units"]),
        ("draws", &["run", "draws"]),
        ("seed", &["run", "seed"]),
        ("sampler", &["run", "sampler"]),
        ("threads (results do not depend on it)", &["run", "threads"]),
        ("tariffsim version", &["run", "version"]),
        ("block size", &["run", "block_size"]),
        ("quantile method", &["run", "quantile_method"]),
        ("elapsed (s)", &["run", "elapsed_s"]),
    ];
    for (label, keys) in rows {
        let mut value = text_at(s, keys);
        if label.starts_with("exporter") {
            value = format!("{} → {}", value, text_at(s, &["model", "importer"]));
        }
        let _ = writeln!(
            b,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            escape_html(label),
            escape_html(&value)
        );
    }
    b.push_str("</dl>\n");
    let file = text_at(s, &["model", "file"]);
    let file_arg = if file.ends_with("(embedded)") {
        String::new()
    } else {
        format!("{file} ")
    };
    let _ = writeln!(
        b,
        "<p class=\"note\">Command: <code>tariffsim run {}--draws {} --seed {}</code> (same file, same \
         SHA-256, same sampler and version give identical results).</p>",
        escape_html(&file_arg),
        escape_html(&text_at(s, &["run", "draws"])),
        escape_html(&text_at(s, &["run", "seed"])),
    );
    Ok(Section {
        id: "headline",
        title: "Headline results",
        body: b,
    })
}

/// Section 2: the export-loss histogram and CDF with mean, median, VaR and ES marked.
fn export_loss(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let q = numbers(s, &["distributions", "outputs", "export_loss"])?;
    if q.len() != ctx.levels.len() || q.len() < 2 {
        return Err(format!(
            "`distributions/outputs/export_loss` has {} values for {} levels",
            q.len(),
            ctx.levels.len()
        ));
    }
    let stat = |k: &[&str]| {
        let mut keys = vec!["outputs", "export_loss"];
        keys.extend_from_slice(k);
        num_at(s, &keys)
    };
    let units = ctx.unit_of("export_loss");
    let marks: [(&str, &str, f64, charts::Line); 6] = [
        ("mean", "mean", stat(&["mean"])?, charts::MEAN_LINE),
        (
            "median",
            "median (50 % quantile)",
            stat(&["quantiles", "0.5"])?,
            charts::MEDIAN_LINE,
        ),
        (
            "VaR95",
            "VaR 95 (95 % quantile)",
            stat(&["quantiles", "0.95"])?,
            charts::VAR95_LINE,
        ),
        (
            "VaR99",
            "VaR 99 (99 % quantile)",
            stat(&["quantiles", "0.99"])?,
            charts::VAR99_LINE,
        ),
        (
            "ES95",
            "ES 95 (mean beyond VaR 95)",
            stat(&["es", "0.95"])?,
            charts::ES95_LINE,
        ),
        (
            "ES99",
            "ES 99 (mean beyond VaR 99)",
            stat(&["es", "0.99"])?,
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
    let svg = charts::distribution(
        &ctx.title("Export loss: distribution over all draws"),
        &ctx.axis("export_loss"),
        &format!("probability density (per {units})"),
        &ctx.levels,
        &q,
        &markers,
    )
    .map_err(chart_err)?;
    let mut b = figure(
        &svg,
        "Histogram and cumulative distribution of export loss",
        &format!(
            "Top: histogram of export loss; the area of a bar is the probability of a loss in its \
             range (the central {:.1} % of draws, between the {} and {} quantiles). Bottom: the \
             cumulative distribution, P(export loss ≤ x). Vertical lines mark the statistics in the \
             table below; each has its own dash pattern.",
            100.0 * (ctx.levels[ctx.levels.len() - 1] - ctx.levels[0]),
            ctx.levels[0],
            ctx.levels[ctx.levels.len() - 1],
        ),
    );
    out.push(("export_loss_distribution.svg".into(), svg));
    b.push_str("<table>\n<thead><tr><th class=\"t\">statistic</th><th>value</th><th class=\"t\">unit</th></tr></thead>\n<tbody>\n");
    for (_, long, value, _) in marks {
        let _ = writeln!(
            b,
            "<tr><td class=\"t\">{}</td><td>{}</td><td class=\"t\">{}</td></tr>",
            escape_html(long),
            format_number(value),
            escape_html(&units)
        );
    }
    b.push_str("</tbody>\n</table>\n");
    Ok(Section {
        id: "export-loss",
        title: "Export loss",
        body: b,
    })
}

/// Section 3: export loss per sector, mean with the 5–95 % range, sorted by mean.
fn sectors(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let outputs = at(ctx.s, &["outputs"])?
        .as_object()
        .ok_or("`outputs` is not an object")?;
    let mut rows: Vec<Interval> = Vec::new();
    for (name, o) in outputs {
        let Some(id) = name
            .strip_prefix("sectors.")
            .and_then(|r| r.strip_suffix(".export_loss"))
        else {
            continue;
        };
        let q = |k: &str| num_or_nan(o.get("quantiles").and_then(|q| q.get(k)));
        rows.push(Interval {
            label: id.to_string(),
            mean: num_or_nan(o.get("mean")),
            p5: q("0.05"),
            p50: q("0.5"),
            p95: q("0.95"),
        });
    }
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
    let mut b = figure(
        &svg,
        "Export loss by sector",
        "Each sector's export loss: the dot is the mean, the thick tick the median, the whisker \
         runs from the 5 % to the 95 % quantile. Largest mean at the top.",
    );
    out.push(("sectors.svg".into(), svg));
    let total: f64 = rows.iter().map(|r| r.mean).filter(|m| m.is_finite()).sum();
    let units = escape_html(&ctx.unit_of("export_loss"));
    let _ = writeln!(
        b,
        "<table>\n<thead><tr><th class=\"t\">sector</th><th>mean ({units})</th><th>p5</th><th>p50</th>\
         <th>p95</th><th>share of the mean total</th></tr></thead>\n<tbody>"
    );
    for r in &rows {
        let _ = writeln!(
            b,
            "<tr><td class=\"t\"><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&r.label),
            format_number(r.mean),
            format_number(r.p5),
            format_number(r.p50),
            format_number(r.p95),
            if total != 0.0 {
                format!("{:.1} %", 100.0 * r.mean / total)
            } else {
                "—".into()
            }
        );
    }
    b.push_str("</tbody>\n</table>\n");
    Ok(Section {
        id: "sectors",
        title: "Sectors",
        body: b,
    })
}

/// Section 4: export loss and surplus change conditional on each deal scenario.
fn scenarios(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let sc = at(ctx.s, &["scenarios"])?
        .as_object()
        .ok_or("`scenarios` is not an object")?;
    let dists = at(ctx.s, &["distributions", "scenarios"])?;
    if sc.is_empty() {
        return Err("no scenarios".into());
    }
    let mut labels = Vec::new();
    let mut el_boxes = Vec::new();
    let mut sc_boxes = Vec::new();
    for (id, v) in sc {
        labels.push(id.clone());
        let mean = |o: &str| {
            v.get("outputs")
                .and_then(|x| x.get(o))
                .and_then(|x| x.get("mean"))
                .and_then(Value::as_f64)
        };
        let drawn = v.get("draws").and_then(Value::as_u64).unwrap_or(1) > 0;
        let q = |o: &str| numbers(dists, &[id, o]).ok();
        el_boxes.push(
            q("export_loss")
                .filter(|_| drawn)
                .and_then(|q| ctx.box_stats(&q, mean("export_loss"))),
        );
        sc_boxes.push(
            q("surplus_change")
                .filter(|_| drawn)
                .and_then(|q| ctx.box_stats(&q, mean("surplus_change"))),
        );
    }
    let svg = charts::scenarios(
        &ctx.title("Export loss and surplus change by deal scenario"),
        &labels,
        (&ctx.axis("export_loss"), &el_boxes),
        (&ctx.axis("surplus_change"), &sc_boxes),
    )
    .map_err(chart_err)?;
    let mut b = figure(
        &svg,
        "Box plots of export loss and surplus change by scenario",
        "Distributions conditional on each deal scenario (top: export loss; bottom: change of the \
         bilateral trade surplus, negative = the surplus shrinks). Box: 25 % to 75 % quantiles; \
         thick bar: median; whiskers: 5 % to 95 %; diamond: mean.",
    );
    out.push(("scenarios.svg".into(), svg));
    let units = escape_html(&ctx.unit_of("export_loss"));
    let _ = writeln!(
        b,
        "<table>\n<thead><tr><th class=\"t\">scenario</th><th class=\"t\">name</th><th>probability</th>\
         <th>frequency in the run</th><th>draws</th><th>mean export loss ({units})</th>\
         <th>mean surplus change ({units})</th></tr></thead>\n<tbody>"
    );
    for (id, v) in sc {
        let mean = |o: &str| {
            num_or_nan(
                v.get("outputs")
                    .and_then(|x| x.get(o))
                    .and_then(|x| x.get("mean")),
            )
        };
        let _ = writeln!(
            b,
            "<tr><td class=\"t\"><code>{}</code></td><td class=\"t\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(id),
            escape_html(v.get("name").and_then(Value::as_str).unwrap_or("")),
            format_number(num_or_nan(v.get("probability"))),
            format_number(num_or_nan(v.get("frequency"))),
            escape_html(&v.get("draws").map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
            format_number(mean("export_loss")),
            format_number(mean("surplus_change")),
        );
    }
    b.push_str("</tbody>\n</table>\n");
    Ok(Section {
        id: "scenarios",
        title: "Deal scenarios",
        body: b,
    })
}

/// Section 5: FX depreciation vs equity drawdown of the sampled draws with the threshold.
fn market_stress(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let fx = numbers(s, &["sample", "fx_depreciation_pct"])?;
    let eq = numbers(s, &["sample", "equity_drawdown_pct"])?;
    let ids: Vec<String> = at(s, &["sample", "scenario"])?
        .as_array()
        .ok_or("`sample/scenario` is not a list")?
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    let fx_stress = num_at(s, &["market", "fx_stress_pct"])?;
    let eq_stress = num_at(s, &["market", "equity_stress_pct"])?;
    let w = num_at(s, &["market", "fx_weight"])?;
    // Scenario order: the file order of `scenarios`, then any id only the sample names.
    let mut order: Vec<String> = at(s, &["scenarios"])
        .ok()
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for id in &ids {
        if !order.contains(id) {
            order.push(id.clone());
        }
    }
    let n = fx.len().min(eq.len()).min(ids.len()).min(SCATTER_POINTS);
    let points: Vec<(f64, f64, usize)> = (0..n)
        .map(|i| {
            let k = order.iter().position(|o| *o == ids[i]).unwrap_or(0);
            (fx[i], eq[i], k)
        })
        .collect();
    let p = num_at(s, &["outputs", "stress_event", "mean"]).unwrap_or(f64::NAN);
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
    let mut b = figure(
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
    );
    out.push(("market_stress.svg".into(), svg));
    let _ = writeln!(
        b,
        "<p>Probability of a market-stress event over all {} draws: <b>{:.2} %</b>.</p>",
        escape_html(&text_at(s, &["run", "draws"])),
        100.0 * p
    );
    Ok(Section {
        id: "market-stress",
        title: "Market stress",
        body: b,
    })
}

/// Section 6: the tornado chart of rank correlations with export loss.
fn sensitivity(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let list = at(ctx.s, &["tornado", "export_loss"])?
        .as_array()
        .ok_or("`tornado/export_loss` is not a list")?;
    let mut rows: Vec<(String, f64)> = list
        .iter()
        .filter_map(|r| {
            let p = r.get("parameter")?.as_str()?;
            let c = r.get("correlation")?.as_f64()?;
            let label = if p == "scenario" {
                "scenario (which deal)".to_string()
            } else {
                p.to_string()
            };
            Some((label, c))
        })
        .collect();
    if rows.is_empty() {
        return Err("no tornado rows for export_loss".into());
    }
    rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let total = rows.len();
    rows.truncate(TORNADO_ROWS);
    let svg = charts::tornado(
        &ctx.title("What moves export loss: correlation of each input with it"),
        "correlation of the input's percentile with export loss",
        &rows,
    )
    .map_err(chart_err)?;
    let b = figure(
        &svg,
        "Tornado chart of input correlations with export loss",
        &format!(
            "The {} inputs (of {total}) whose percentile in a draw is most correlated \
             with export loss (Pearson correlation of the input's uniform score with the output). \
             A long bar means the input moves export loss a lot; its sign gives the direction. \
             \"scenario (which deal)\" is the draw that picks the deal scenario, in file order.",
            rows.len()
        ),
    );
    out.push(("tornado.svg".into(), svg));
    Ok(Section {
        id: "sensitivity",
        title: "Sensitivity",
        body: b,
    })
}

/// Section 7: running mean of export loss with ±2 standard errors.
fn convergence(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let s = ctx.s;
    let draws = numbers(s, &["convergence", "draws"])?;
    let mean = numbers(s, &["convergence", "mean"])?;
    let se = numbers(s, &["convergence", "se"])?;
    let svg = charts::convergence(
        &ctx.title("Convergence: running mean of export loss"),
        &format!("mean {}", ctx.axis("export_loss")),
        &draws,
        &mean,
        &se,
    )
    .map_err(chart_err)?;
    let mut b = figure(
        &svg,
        "Running mean of export loss against draws",
        "The mean of export loss over the first n draws (solid), with ± 2 standard errors of that \
         mean (band). When the band is narrow compared with the differences you care about, the \
         run has enough draws; the standard error falls like 1/√n.",
    );
    out.push(("convergence.svg".into(), svg));
    if let (Some(m), Some(e)) = (mean.last(), se.last()) {
        let _ = writeln!(
            b,
            "<p>Final mean {} ± {} (2 s.e.) {}.</p>",
            format_number(*m),
            format_number(2.0 * e),
            escape_html(&ctx.unit_of("export_loss"))
        );
    }
    Ok(Section {
        id: "convergence",
        title: "Convergence",
        body: b,
    })
}

/// Section 8: every parameter of the model with its distribution.
fn assumptions(ctx: &Ctx<'_>, _out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let list = at(ctx.s, &["parameters"])?
        .as_array()
        .ok_or("`parameters` is not a list")?;
    let mut b = String::from(
        "<p class=\"note\">Every parameter of the model file, with the distribution it is drawn from \
         (a point value is certain) and the line of the model file that sets it.</p>\n\
         <table>\n<thead><tr><th class=\"t\">parameter</th><th class=\"t\">distribution</th>\
         <th class=\"t\">kind</th><th>mean</th><th>line</th></tr></thead>\n<tbody>\n",
    );
    for p in list {
        let t = |k: &str| match p.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "—".into(),
            Some(x) => x.to_string(),
        };
        let _ = writeln!(
            b,
            "<tr><td class=\"t\"><code>{}</code></td><td class=\"t\">{}</td><td class=\"t\">{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&t("path")),
            escape_html(&t("distribution")),
            escape_html(&t("kind")),
            format_number(num_or_nan(p.get("mean"))),
            match p.get("line").and_then(Value::as_u64) {
                Some(l) if l > 0 => l.to_string(),
                _ => "—".into(),
            },
        );
    }
    b.push_str("</tbody>\n</table>\n");
    Ok(Section {
        id: "assumptions",
        title: "Assumptions",
        body: b,
    })
}

/// Month t of `months.<t>.<kind>` with its 5/25/50/75/95 % quantiles, for every month the
/// summary has.
fn month_series(ctx: &Ctx<'_>, kind: &str) -> Vec<charts::FanMonth> {
    let start = match at(ctx.s, &["model", "start_month"]) {
        Ok(Value::String(m)) => crate::model::YearMonth::parse(m),
        _ => None,
    };
    let mut out = Vec::new();
    for t in 1.. {
        let Ok(o) = at(ctx.s, &["outputs", &format!("months.{t}.{kind}")]) else {
            break;
        };
        let q = |k: &str| num_or_nan(o.get("quantiles").and_then(|q| q.get(k)));
        out.push(charts::FanMonth {
            label: start.map_or(format!("{t}"), |s| s.plus(t as i64 - 1).to_string()),
            q: [q("0.05"), q("0.25"), q("0.5"), q("0.75"), q("0.95")],
        });
    }
    out
}

/// The time path (MODEL.md §12): fan charts of the monthly export change and export loss,
/// with a backtest's observations and PITs when the folder has them (§13).
fn months(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let change = month_series(ctx, "export_change_pct");
    if change.is_empty() {
        return Err(
            "the run has no monthly outputs (run with --monthly or `[model] monthly = true`)"
                .into(),
        );
    }
    let mut points = Vec::new();
    let mut rows = String::new();
    if let Some(list) = ctx
        .s
        .get("backtest")
        .and_then(|b| b.get("observations"))
        .and_then(Value::as_array)
    {
        for o in list {
            let output = o.get("output").and_then(Value::as_str).unwrap_or("");
            let pit = num_or_nan(o.get("pit"));
            let value = num_or_nan(o.get("value"));
            let label = o.get("label").and_then(Value::as_str).unwrap_or("");
            if let Some(t) = output
                .strip_prefix("months.")
                .and_then(|r| r.strip_suffix(".export_change_pct"))
                .and_then(|t| t.parse::<usize>().ok())
            {
                points.push(charts::FanPoint {
                    t,
                    value,
                    label: format!("{} (PIT {:.2})", format_number(value), pit),
                });
            }
            let _ = writeln!(
                rows,
                "<tr><td class=\"t\"><code>{}</code><span class=\"desc\">{}</span></td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
                escape_html(output),
                escape_html(label),
                format_number(value),
                pit,
                format_number(num_or_nan(o.get("crps")))
            );
        }
    }
    let svg = charts::fan(
        &ctx.title("Exports to the importer by month, change on the baseline year"),
        "% change on the same month of the baseline year",
        &change,
        &points,
    )
    .map_err(chart_err)?;
    let mut b = figure(
        &svg,
        "Fan chart of the monthly change of exports",
        "Exports in each month against the baseline year (a flat year: each month is 1/12 of it), \
         policy and counterfactual growth together: median (line), 25–75 % and 5–95 % bands. \
         Comparable with a year-on-year monthly release once the release's base month is \
         expressed against the baseline year's monthly mean (docs/time.md).",
    );
    out.push(("months_export_change.svg".into(), svg));
    if !rows.is_empty() {
        let _ = writeln!(
            b,
            "<h3>Backtest</h3>\n<table><thead><tr><th class=\"t\">observed</th><th>value</th><th>PIT</th><th>CRPS</th></tr></thead><tbody>\n{rows}</tbody></table>\n<p class=\"note\">PIT: the share of the forecast's draws below the observed value (ties count half). A well-calibrated forecast gives PITs spread evenly over 0–1; PITs near 0 or 1 mean the observation lies in the forecast's tail.</p>"
        );
    }
    let loss = month_series(ctx, "export_loss");
    if !loss.is_empty() {
        let svg = charts::fan(
            &ctx.title("Export loss by month"),
            &format!("export loss in the month ({})", ctx.unit_of("export_loss")),
            &loss,
            &[],
        )
        .map_err(chart_err)?;
        b.push_str(&figure(
            &svg,
            "Fan chart of the monthly export loss",
            "The policy's effect in each month (against the baseline, without growth): the loss \
             grows as trade adjusts to the tariffs with each sector's half-life.",
        ));
        out.push(("months_export_loss.svg".into(), svg));
    }
    Ok(Section {
        id: "months",
        title: "Month by month",
        body: b,
    })
}

/// An updated forecast (MODEL.md §13): prior and updated scenario probabilities, the ESS, and
/// the prior and updated distributions of the headline outputs.
fn update(ctx: &Ctx<'_>, out: &mut Vec<(String, String)>) -> Result<Section, String> {
    let u = at(ctx.s, &["update"])
        .map_err(|_| "this is not an updated forecast (see `tariffsim backtest`)".to_string())?;
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<p>Updated on {} observation(s) by importance weights w = Π φ((y − x)/sd). Effective sample size {} draws; log evidence {}.</p>",
        text_at(u, &["observations"]),
        format_number(num_or_nan(u.get("ess"))),
        format_number(num_or_nan(u.get("log_evidence")))
    );
    if let Some(ws) = u.get("warnings").and_then(Value::as_array) {
        for w in ws.iter().filter_map(Value::as_str) {
            let _ = writeln!(
                b,
                "<p class=\"note\"><b>Warning:</b> {}</p>",
                escape_html(w)
            );
        }
    }
    let mut rows = String::new();
    if let Some(sc) = ctx.s.get("scenarios").and_then(Value::as_object) {
        for (id, v) in sc {
            let _ = writeln!(
                rows,
                "<tr><td class=\"t\">{}</td><td>{:.3}</td><td>{:.3}</td></tr>",
                escape_html(id),
                num_or_nan(v.get("prior_probability")),
                num_or_nan(v.get("probability"))
            );
        }
    }
    let _ = writeln!(
        b,
        "<h3>Deal scenarios</h3>\n<table><thead><tr><th class=\"t\">scenario</th><th>prior</th><th>updated</th></tr></thead><tbody>\n{rows}</tbody></table>"
    );
    for (o, file) in [
        ("export_loss", "update_export_loss.svg"),
        ("export_change_pct", "update_export_change.svg"),
        ("gdp_impact_pct", "update_gdp_impact.svg"),
    ] {
        let (Ok(prior), Ok(updated)) = (
            numbers(ctx.s, &["prior", "distributions", o]),
            numbers(ctx.s, &["distributions", "outputs", o]),
        ) else {
            continue;
        };
        let svg = charts::prior_updated(
            &ctx.title(&format!("Prior and updated distribution of {o}")),
            &ctx.axis(o),
            &ctx.levels,
            &prior,
            &updated,
        )
        .map_err(chart_err)?;
        b.push_str(&figure(
            &svg,
            &format!("Prior and updated distribution of {o}"),
            "Cumulative distribution before (dashed) and after (solid) the update: a curve moved \
             right means larger values became more likely.",
        ));
        out.push((file.into(), svg));
    }
    Ok(Section {
        id: "update",
        title: "Updated on observations",
        body: b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_have_about_four_digits() {
        assert_eq!(format_number(22.8018), "22.80");
        assert_eq!(format_number(0.021345), "0.0213");
        assert_eq!(format_number(1234.5), "1234");
        assert_eq!(format_number(f64::NAN), "—");
        assert_eq!(format_number(0.0), "0");
    }

    fn default_summary() -> Value {
        use crate::{model, run};
        let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml").unwrap();
        let config = run::RunConfig {
            draws: 2048,
            ..Default::default()
        };
        let outcome = run::run(&model, &config).unwrap();
        let info = super::super::RunInfo {
            draws: 2048,
            seed: 0,
            sampler: "mc".into(),
            threads: 1,
            elapsed_s: 0.0,
            stopping: None,
        };
        super::super::summary_json(&model, &info, &outcome.stats)
    }

    #[test]
    fn a_scenario_without_draws_and_a_missing_section_degrade_to_notes() {
        let mut s = default_summary();
        let full = render_report(&s).unwrap();
        // Six charts of every run, two fan charts of the default model's monthly path.
        assert_eq!(full.charts.len(), 8);
        assert!(!full.html.contains("Not available"));
        // A scenario no draw picked has null quantiles.
        let id = s["scenarios"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        s["scenarios"][&id]["draws"] = 0.into();
        for o in ["export_loss", "surplus_change"] {
            let n = s["distributions"]["scenarios"][&id][o]
                .as_array()
                .unwrap()
                .len();
            s["distributions"]["scenarios"][&id][o] = Value::Array(vec![Value::Null; n]);
        }
        s.as_object_mut().unwrap().remove("tornado");
        let r = render_report(&s).unwrap();
        assert!(r
            .charts
            .iter()
            .any(|(n, svg)| n == "scenarios.svg" && svg.contains("no draws")));
        assert!(!r.charts.iter().any(|(n, _)| n == "tornado.svg"));
        let sensitivity = &r.html[r.html.find("<section id=\"sensitivity\">").unwrap()..];
        assert!(sensitivity.starts_with("<section id=\"sensitivity\">\n<h2>7. Sensitivity</h2>\n<p class=\"note\">Not available"));
    }

    #[test]
    fn a_document_without_outputs_names_what_is_missing() {
        let e = render_report(&serde_json::json!({"model": {"name": "m"}, "run": {}, "distributions": {"levels": [0.5]}}))
            .unwrap_err();
        assert!(e.to_string().contains("outputs"), "{e}");
    }
}
