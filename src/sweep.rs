//! Sweeps: a model run at every point of a grid of parameter values with common random
//! numbers (the same seed and draws at every point), through the run driver, so a sweep point
//! takes any stopping rule a run takes. Also the files of a sweep: `sweep.csv`, `sweep.json`
//! and its charts, as bytes for the caller to write.

use serde_json::{json, Value};

use crate::model::{apply_overrides, Model, OverrideError};
use crate::outputs::{HEADLINE, STRESS_EVENT};
use crate::report::{self, CsvRows, ReportError};
use crate::run::{Observer, Run, RunConfig, RunError, StopRule};

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A file could not be encoded.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A grid point's value was rejected by the model.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// An axis specification was rejected.
    #[error("sweep axis `{given}`: {message}")]
    Axis {
        /// The specification as given.
        given: String,
        /// The rule broken and what is accepted.
        message: String,
    },
}

/// One varied parameter of a sweep and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    /// Parameter path (or `path.key`, or `scenarios.<id>.probability`), as for an override.
    pub path: String,
    /// The values, as TOML value texts.
    pub values: Vec<String>,
}

/// Value `i` of `n` evenly spaced from `lo` to `hi`, as the decimal a person would type: the
/// binary arithmetic's noise (0.3 / 6 = 0.049999999999999996) is rounded off at 15 significant
/// digits of the larger end, so that `0:0.3:7` gives 0.05 and `df[df.x == 0.05]` finds it
/// (issue 15, item 11). The text parses back to the value the run uses.
fn grid_value(lo: f64, hi: f64, i: usize, n: usize) -> String {
    let x = lo + (hi - lo) * i as f64 / (n - 1) as f64;
    let scale = lo.abs().max(hi.abs());
    let decimals = if scale > 0.0 {
        (14 - scale.log10().floor() as i64).clamp(0, 330) as usize
    } else {
        0
    };
    let rounded: f64 = format!("{x:.decimals$}").parse().unwrap_or(x);
    // + 0.0 turns a rounded −0 into 0.
    format!("{:?}", rounded + 0.0)
}

/// Parses `PATH=v1,v2,...` or `PATH=lo:hi:n` (n evenly spaced numbers from lo to hi).
pub fn parse_axis(given: &str) -> Result<SweepAxis, SweepError> {
    let err = |message: String| SweepError::Axis {
        given: given.to_string(),
        message,
    };
    let (path, spec) = given
        .split_once('=')
        .ok_or_else(|| err("expected PATH=v1,v2,... or PATH=lo:hi:n".into()))?;
    let path = path.trim().to_string();
    let spec = spec.trim();
    let values = if spec.contains(':') && !spec.contains('{') {
        let parts: Vec<&str> = spec.split(':').collect();
        let parsed = (
            parts.first().and_then(|s| s.trim().parse::<f64>().ok()),
            parts.get(1).and_then(|s| s.trim().parse::<f64>().ok()),
            parts.get(2).and_then(|s| s.trim().parse::<usize>().ok()),
        );
        match (parts.len(), parsed) {
            (3, (Some(lo), Some(hi), Some(n)))
                if lo.is_finite() && hi.is_finite() && (2..=10_000).contains(&n) =>
            {
                (0..n).map(|i| grid_value(lo, hi, i, n)).collect()
            }
            _ => return Err(err(
                "a range must be lo:hi:n with finite numbers lo, hi and an integer n in [2, 10000]"
                    .into(),
            )),
        }
    } else {
        let values: Vec<String> = spec
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err(err(
                "no values; accepted: PATH=v1,v2,... or PATH=lo:hi:n".into()
            ));
        }
        values
    };
    Ok(SweepAxis { path, values })
}

/// One grid point's result.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// The value of each axis at this point.
    pub values: Vec<String>,
    /// Headline statistics in [`HEADLINE`] order: (mean, sd, p5, p50, p95, es95).
    pub headline: Vec<[f64; 6]>,
    /// Probability of a stress event.
    pub stress_probability: f64,
    /// Draws run at this point (fewer than configured when a target standard error was met).
    pub draws: u64,
}

/// Every combination of the axes' values, the last axis varying fastest.
pub fn grid(axes: &[SweepAxis]) -> Vec<Vec<String>> {
    let mut points: Vec<Vec<String>> = vec![Vec::new()];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push(v.clone());
                    q
                })
            })
            .collect();
    }
    points
}

/// A sweep whose every grid point's model has been built and validated.
pub struct Sweep {
    axes: Vec<SweepAxis>,
    points: Vec<(Vec<String>, Model)>,
}

impl Sweep {
    /// Builds the model of every grid point of `axes` over `model`; any rejected value fails
    /// the whole sweep before anything runs.
    pub fn new(model: &Model, axes: &[SweepAxis]) -> Result<Self, SweepError> {
        let points = grid(axes)
            .into_iter()
            .map(|values| {
                let sets: Vec<String> = axes
                    .iter()
                    .zip(&values)
                    .map(|(a, v)| format!("{}={v}", a.path))
                    .collect();
                Ok((values, apply_overrides(model, &sets)?))
            })
            .collect::<Result<_, SweepError>>()?;
        Ok(Sweep {
            axes: axes.to_vec(),
            points,
        })
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the grid is empty (never: every axis has at least one value).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The distinct warnings of the grid points' models (e.g. correlations dropped).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .points
            .iter()
            .flat_map(|(_, m)| m.warnings.iter().cloned())
            .collect();
        warnings.sort();
        warnings.dedup();
        warnings
    }

    /// Runs every grid point with the same `config` (common random numbers) and stopping
    /// rule, calling `on_point(done, total)` after each.
    pub fn run(
        &self,
        config: &RunConfig,
        stop: &StopRule,
        on_point: impl FnMut(usize, usize),
    ) -> Result<Vec<SweepPoint>, SweepError> {
        self.run_observed(config, stop, &[], on_point)
    }

    /// [`Sweep::run`] with observers of every block of every grid point's run (e.g. a
    /// [`Cancel`](crate::Cancel) token, so that a sweep can be stopped part-way).
    pub fn run_observed(
        &self,
        config: &RunConfig,
        stop: &StopRule,
        observers: &[&dyn Observer],
        mut on_point: impl FnMut(usize, usize),
    ) -> Result<Vec<SweepPoint>, SweepError> {
        let mut results = Vec::with_capacity(self.points.len());
        for (i, (values, m)) in self.points.iter().enumerate() {
            let mut run = Run::new(m, config).stop(stop.clone());
            for &o in observers {
                run = run.observe(o);
            }
            let outcome = run.execute()?;
            let stats = &outcome.stats;
            let headline = (0..HEADLINE.len())
                .map(|o| {
                    let s = stats.output_summary(o);
                    [
                        s.mean,
                        s.sd,
                        s.quantiles[1],
                        s.quantiles[4],
                        s.quantiles[7],
                        s.es[0],
                    ]
                })
                .collect();
            results.push(SweepPoint {
                values: values.clone(),
                headline,
                stress_probability: stats.output_summary(STRESS_EVENT).mean,
                draws: stats.draws(),
            });
            on_point(i + 1, self.points.len());
        }
        Ok(results)
    }

    /// The axes.
    pub fn axes(&self) -> &[SweepAxis] {
        &self.axes
    }
}

const STAT_NAMES: [&str; 6] = ["mean", "sd", "p5", "p50", "p95", "es95"];

/// `sweep.csv`: one row per grid point — the varied values, then mean/sd/p5/p50/p95/es95 of each
/// headline output, then P(stress).
pub fn sweep_csv(axes: &[SweepAxis], points: &[SweepPoint]) -> Result<Vec<u8>, SweepError> {
    let mut header: Vec<String> = axes.iter().map(|a| a.path.clone()).collect();
    for name in HEADLINE {
        for stat in STAT_NAMES {
            header.push(format!("{name}.{stat}"));
        }
    }
    header.push("p_stress".into());
    let mut csv = CsvRows::new(&header)?;
    for p in points {
        let numbers = p
            .headline
            .iter()
            .flatten()
            .copied()
            .chain([p.stress_probability]);
        csv.row(&p.values, numbers)?;
    }
    Ok(csv.finish()?)
}

/// `sweep_long.csv`, the long (tidy) form of `sweep.csv` that pandas, R and Stata read without
/// reshaping: one row per grid point × headline output × statistic, with the varied values,
/// the output's unit (`units` is the model's money unit) and the statistic's name (issue 15,
/// item 12).
pub fn sweep_long_csv(
    units: &str,
    axes: &[SweepAxis],
    points: &[SweepPoint],
) -> Result<Vec<u8>, SweepError> {
    let mut header = vec!["point".to_string()];
    header.extend(axes.iter().map(|a| a.path.clone()));
    header.extend(["output", "unit", "statistic", "value"].map(String::from));
    let mut csv = CsvRows::new(&header)?;
    let output_units: Vec<String> = HEADLINE
        .iter()
        .map(|name| crate::outputs::unit(name, units))
        .collect();
    for (i, p) in points.iter().enumerate() {
        let index = i.to_string();
        for ((name, unit), stats) in HEADLINE.iter().zip(&output_units).zip(&p.headline) {
            for (stat, &value) in STAT_NAMES.iter().zip(stats) {
                let texts = std::iter::once(index.as_str())
                    .chain(p.values.iter().map(String::as_str))
                    .chain([*name, unit.as_str(), *stat]);
                csv.row_or_empty(texts, [value])?;
            }
        }
    }
    Ok(csv.finish()?)
}

/// `sweep.json`: the same content, structured.
pub fn sweep_json(
    model: &Model,
    config: &RunConfig,
    axes: &[SweepAxis],
    points: &[SweepPoint],
) -> Value {
    let num = report::json_number;
    let rows: Vec<Value> = points
        .iter()
        .map(|p| {
            let mut outputs = serde_json::Map::new();
            for (name, stats) in HEADLINE.iter().zip(&p.headline) {
                let o: serde_json::Map<String, Value> = STAT_NAMES
                    .iter()
                    .zip(stats)
                    .map(|(k, &v)| (k.to_string(), num(v)))
                    .collect();
                outputs.insert(name.to_string(), Value::Object(o));
            }
            let values: serde_json::Map<String, Value> = axes
                .iter()
                .zip(&p.values)
                .map(|(a, v)| (a.path.clone(), Value::String(v.clone())))
                .collect();
            json!({"values": values, "outputs": outputs, "p_stress": num(p.stress_probability)})
        })
        .collect();
    let mut doc = json!({
        "model": {"name": model.name, "file": model.source.file, "sha256": model.source.sha256, "overrides": model.overrides},
        "run": {"draws": config.draws, "seed": config.seed, "sampler": config.sampler.name(), "antithetic": config.antithetic, "version": env!("CARGO_PKG_VERSION"), "common_random_numbers": true},
        "axes": axes.iter().map(|a| json!({"path": a.path, "values": a.values})).collect::<Vec<_>>(),
        "points": rows,
    });
    // With a stopping rule, points stop at different draws: say how many each ran.
    if points.iter().any(|p| p.draws != config.draws) {
        doc["run"]["draws_run"] = json!(points.iter().map(|p| p.draws).collect::<Vec<_>>());
    }
    doc
}

/// One point of a sweep chart's series: (x, mean, low, high).
type ChartPoint = (f64, f64, f64, f64);

/// Outputs charted against each varied parameter: (index into HEADLINE or None for P(stress), label).
const SWEEP_CHART_OUTPUTS: [(Option<usize>, &str); 4] = [
    (Some(crate::outputs::EXPORT_LOSS), "export_loss"),
    (Some(crate::outputs::SURPLUS_CHANGE), "surplus_change"),
    (Some(crate::outputs::GDP_IMPACT_PCT), "gdp_impact_pct"),
    (None, "p_stress"),
];

/// SVG charts of the headline outputs against each varied parameter: the mean with a 5–95 %
/// band, one line per combination of the other parameters' values. `units` is the model's
/// money unit, named on the y axis; the legend sits below the plot, never over the data.
pub fn sweep_charts(
    units: &str,
    axes: &[SweepAxis],
    points: &[SweepPoint],
) -> Vec<(String, String)> {
    use crate::report::charts::axis_tick;
    use plotters::prelude::*;
    let mut charts = Vec::new();
    // Okabe–Ito palette, distinguishable with colour-blindness; markers differ too.
    let palette = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(230, 159, 0),
        RGBColor(0, 0, 0),
    ];
    for (a, axis) in axes.iter().enumerate() {
        // x: the number itself, or its position when the values are not numbers.
        let numeric: Option<Vec<f64>> = axis.values.iter().map(|v| v.parse::<f64>().ok()).collect();
        let x_of = |v: &str| -> f64 {
            match &numeric {
                Some(_) => v.parse().unwrap_or(f64::NAN),
                None => axis.values.iter().position(|w| w == v).unwrap_or(0) as f64,
            }
        };
        for (output, label) in SWEEP_CHART_OUTPUTS {
            let mut series: Vec<(String, Vec<ChartPoint>)> = Vec::new();
            for p in points {
                let others: Vec<String> = p
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != a)
                    .map(|(i, v)| format!("{}={v}", axes[i].path))
                    .collect();
                let key = others.join(", ");
                let (mean, lo, hi) = match output {
                    Some(o) => (p.headline[o][0], p.headline[o][2], p.headline[o][4]),
                    None => (
                        p.stress_probability,
                        p.stress_probability,
                        p.stress_probability,
                    ),
                };
                let x = x_of(&p.values[a]);
                match series.iter_mut().find(|s| s.0 == key) {
                    Some(s) => s.1.push((x, mean, lo, hi)),
                    None => series.push((key, vec![(x, mean, lo, hi)])),
                }
            }
            let all: Vec<&(f64, f64, f64, f64)> = series.iter().flat_map(|s| &s.1).collect();
            let finite = |f: fn(&(f64, f64, f64, f64)) -> f64| {
                all.iter().map(move |p| f(p)).filter(|v| v.is_finite())
            };
            let (x0, x1) = (
                finite(|p| p.0).fold(f64::INFINITY, f64::min),
                finite(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
            );
            let (y0, y1) = (
                finite(|p| p.2).fold(f64::INFINITY, f64::min),
                finite(|p| p.3).fold(f64::NEG_INFINITY, f64::max),
            );
            if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
                continue;
            }
            let pad_x = ((x1 - x0) * 0.05).max(1e-9);
            let pad_y = ((y1 - y0) * 0.08).max(1e-9);
            let (x0, x1, y0, y1) = (x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y);
            // Legend entries below the plot, flowing into rows of the chart's width.
            let names: Vec<String> = series
                .iter()
                .map(|(key, _)| {
                    if key.is_empty() {
                        "mean".to_string()
                    } else {
                        format!("mean at {key}")
                    }
                })
                .collect();
            let (width, plot_h) = (720i32, 440u32);
            let mut slots = Vec::with_capacity(names.len());
            let (mut lx, mut row) = (12i32, 0i32);
            for name in &names {
                let w = 40 + (name.chars().count() as f64 * 7.2) as i32 + 18;
                if lx + w > width - 12 && lx > 12 {
                    lx = 12;
                    row += 1;
                }
                slots.push((lx, 14 + 22 * row));
                lx += w;
            }
            let legend_h = 30 + 22 * row as u32;
            let unit = output.map(|o| crate::outputs::unit(HEADLINE[o], units));
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width as u32, plot_h + legend_h))
                    .into_drawing_area();
                let _ = root.fill(&WHITE);
                let (plot, legend) = root.split_vertically(plot_h);
                let caption = format!("{label} against {}", axis.path);
                let chart = ChartBuilder::on(&plot)
                    .caption(caption, ("sans-serif", 18))
                    .margin(12)
                    .x_label_area_size(44)
                    .y_label_area_size(70)
                    .build_cartesian_2d(x0..x1, y0..y1);
                let Ok(mut chart) = chart else { continue };
                let (x_tick, y_tick) = (axis_tick(x0, x1), axis_tick(y0, y1));
                let _ = chart
                    .configure_mesh()
                    .x_label_formatter(&x_tick)
                    .y_label_formatter(&y_tick)
                    .x_desc(if numeric.is_some() {
                        axis.path.clone()
                    } else {
                        format!("{} (value number)", axis.path)
                    })
                    .y_desc(match &unit {
                        Some(u) => format!("{label} ({u}): mean, 5-95 % band"),
                        None => "probability of a stress event".into(),
                    })
                    .draw();
                for (i, (_, pts)) in series.iter_mut().enumerate() {
                    pts.sort_by(|p, q| p.0.total_cmp(&q.0));
                    let colour = palette[i % palette.len()];
                    if output.is_some() {
                        let band: Vec<(f64, f64)> = pts
                            .iter()
                            .map(|p| (p.0, p.3))
                            .chain(pts.iter().rev().map(|p| (p.0, p.2)))
                            .collect();
                        let _ = chart
                            .draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))));
                    }
                    let _ = chart.draw_series(
                        pts.iter()
                            .map(|p| Circle::new((p.0, p.1), 3 + (i % 3) as i32, colour.filled())),
                    );
                    let _ = chart.draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0, p.1)),
                        colour.stroke_width(2),
                    ));
                }
                for (i, (name, &(x, y))) in names.iter().zip(&slots).enumerate() {
                    let colour = palette[i % palette.len()];
                    let _ = legend.draw(&PathElement::new(
                        vec![(x, y), (x + 30, y)],
                        colour.stroke_width(2),
                    ));
                    let _ = legend.draw(&Circle::new(
                        (x + 15, y),
                        3 + (i % 3) as i32,
                        colour.filled(),
                    ));
                    let _ = legend.draw(&Text::new(
                        name.clone(),
                        (x + 38, y - 7),
                        ("sans-serif", 14).into_font(),
                    ));
                }
                let _ = root.present();
            }
            charts.push((format!("sweep_{}_{label}.svg", sanitize(&axis.path)), svg));
        }
    }
    charts
}

/// A file-name-safe version of a parameter path.
fn sanitize(path: &str) -> String {
    path.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod grid_tests {
    use super::grid_value;

    fn grid(lo: f64, hi: f64, n: usize) -> Vec<String> {
        (0..n).map(|i| grid_value(lo, hi, i, n)).collect()
    }

    /// Issue 15, item 11: `--vary x=0:0.3:7` wrote 0.049999999999999996.
    #[test]
    fn grid_values_are_the_decimals_a_person_types() {
        assert_eq!(
            grid(0.0, 0.3, 7),
            ["0.0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]
        );
        assert_eq!(grid(-0.3, 0.3, 3), ["-0.3", "0.0", "0.3"]);
        // The class: every value of these grids has at most 8 decimals (binary noise shows as
        // 16 or 17 significant digits).
        for (lo, hi, n) in [
            (0.0, 1.0, 11),
            (0.1, 0.2, 11),
            (-0.1, 0.2, 4),
            (1.0, 2.0, 5),
            (0.0, 1e-6, 11),
            (0.0, 2.5, 51),
            (1.5, 4.5, 101),
            (-1e6, 1e6, 9),
        ] {
            for s in grid(lo, hi, n) {
                let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
                assert!(decimals <= 8, "{lo}:{hi}:{n} gives {s}");
                let x: f64 = s.parse().unwrap();
                assert!(x >= lo.min(hi) && x <= hi.max(lo), "{s}");
            }
        }
    }
}
