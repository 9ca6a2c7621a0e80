//! `summary.json` and `quantiles.csv` (MODEL.md §9).

use serde_json::{json, Map, Value};

use crate::model::Model;
use crate::outputs::output_names;
use crate::stats::{
    OutputSummary, RunStats, ES_KEYS, QUANTILE_KEYS, QUANTILE_SE_OUTPUTS, SCENARIO_OUTPUTS,
    TORNADO_OUTPUTS,
};

/// How a run was made, for replication (the `run` object of `summary.json`).
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Number of draws.
    pub draws: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler label: `mc`, `lhs`, `sobol`, with `+antithetic` when pairs are mirrored.
    pub sampler: String,
    /// Threads used.
    pub threads: usize,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// How a `--target-se` run stopped (None for a run of a fixed number of draws).
    pub stopping: Option<crate::stopping::StoppingReport>,
}

/// JSON numbers must be finite; a missing statistic (e.g. the sd of one draw) becomes null.
pub fn json_number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn output_json(s: &OutputSummary) -> Value {
    let quantiles: Map<String, Value> = QUANTILE_KEYS
        .iter()
        .zip(s.quantiles)
        .map(|(k, v)| (k.to_string(), json_number(v)))
        .collect();
    let es: Map<String, Value> = ES_KEYS
        .iter()
        .zip(s.es)
        .map(|(k, v)| (k.to_string(), json_number(v)))
        .collect();
    json!({
        "mean": json_number(s.mean),
        "sd": json_number(s.sd),
        "se_mean": json_number(s.se_mean),
        "min": json_number(s.min),
        "max": json_number(s.max),
        "quantiles": quantiles,
        "es": es,
    })
}

/// The `summary.json` document of a run.
pub fn summary_json(model: &Model, info: &RunInfo, stats: &RunStats) -> Value {
    let names = output_names(model);
    let mut outputs = Map::new();
    for (o, name) in names.iter().enumerate() {
        let mut summary = output_json(&stats.output_summary(o));
        if let Some(i) = QUANTILE_SE_OUTPUTS.iter().position(|&q| q == o) {
            let se: Map<String, Value> = QUANTILE_KEYS
                .iter()
                .zip(stats.quantile_ses(i))
                .map(|(k, se)| (k.to_string(), json_number(se)))
                .collect();
            summary["quantile_se"] = Value::Object(se);
        }
        outputs.insert(name.clone(), summary);
    }
    let draws = stats.draws().max(1) as f64;
    let mut scenarios = Map::new();
    for (k, sc) in model.scenarios.iter().enumerate() {
        let mut per_output = Map::new();
        for (o, name) in names.iter().enumerate() {
            let m = stats.scenario_moments(k, o);
            per_output.insert(
                name.clone(),
                json!({"mean": json_number(m.mean), "sd": json_number(m.sd)}),
            );
        }
        let count = stats.scenario_counts()[k];
        scenarios.insert(
            sc.id.clone(),
            json!({
                "name": sc.name,
                "probability": json_number(sc.probability),
                "frequency": json_number(count as f64 / draws),
                "draws": count,
                "outputs": per_output,
            }),
        );
    }
    let grid: Vec<f64> = distribution_grid();
    let mut distributions = Map::new();
    for (o, name) in names.iter().enumerate() {
        let h = stats.histogram(o);
        let values: Vec<Value> = h
            .quantiles_and_tail_means(&grid)
            .iter()
            .map(|r| json_number(r.0))
            .collect();
        distributions.insert(name.clone(), Value::Array(values));
    }
    let mut scenario_distributions = Map::new();
    for (k, sc) in model.scenarios.iter().enumerate() {
        let mut per = Map::new();
        for (i, &o) in SCENARIO_OUTPUTS.iter().enumerate() {
            let h = stats.scenario_histogram(k, i);
            let values: Vec<Value> = h
                .quantiles_and_tail_means(&grid)
                .iter()
                .map(|r| json_number(r.0))
                .collect();
            per.insert(names[o].clone(), Value::Array(values));
        }
        scenario_distributions.insert(sc.id.clone(), Value::Object(per));
    }
    // Coordinate 0 picks the scenario; the others drive one uncertain parameter each.
    let mut coordinate_names = vec!["scenario".to_string(); model.dimension];
    for p in &model.params {
        if let Some(c) = p.coordinate {
            coordinate_names[c] = p.path.clone();
        }
    }
    let mut tornado = Map::new();
    for (t, &o) in TORNADO_OUTPUTS.iter().enumerate() {
        let mut rows: Vec<(String, f64)> = coordinate_names
            .iter()
            .enumerate()
            .map(|(j, name)| (name.clone(), stats.tornado_correlation(t, j)))
            .filter(|(_, r)| r.is_finite())
            .collect();
        rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(p, r)| json!({"parameter": p, "correlation": json_number(r)}))
            .collect();
        tornado.insert(names[o].clone(), Value::Array(rows));
    }
    let convergence = thin_convergence(&stats.convergence());
    let sample = stats.sample();
    let parameters: Vec<Value> = model
        .params
        .iter()
        .map(|p| {
            json!({
                "path": p.path,
                "distribution": p.dist.describe(),
                "kind": p.dist.kind(),
                "mean": p.dist.mean().map_or(Value::Null, json_number),
                "line": p.line,
            })
        })
        .collect();
    let (sampler, antithetic) = crate::engine::SamplerKind::from_label(&info.sampler)
        .map_or((info.sampler.clone(), false), |(s, a)| {
            (s.name().to_string(), a)
        });
    let mut run = json!({
        "draws": info.draws,
        "seed": info.seed,
        "sampler": sampler,
        "antithetic": antithetic,
        "threads": info.threads,
        "version": env!("CARGO_PKG_VERSION"),
        "elapsed_s": json_number(info.elapsed_s),
        "block_size": crate::engine::BLOCK_SIZE,
        "quantile_method": format!(
            "log-linear histogram, relative bin width 2^-{}; rank = ceil(q*n) (inverse empirical CDF)",
            crate::stats::BIN_BITS
        ),
        "quantile_se_method": format!(
            "sectioning: quantiles of every full block of {} draws; SE = sd of the block quantiles / sqrt(blocks)",
            crate::engine::BLOCK_SIZE
        ),
    });
    if let Some(stop) = &info.stopping {
        run["target_se"] = stop.to_json();
    }
    json!({
        "model": {
            "name": model.name,
            "file": model.source.file,
            "sha256": model.source.sha256,
            "units": model.units,
            "exporter": model.exporter,
            "importer": model.importer,
        },
        "run": run,
        "outputs": outputs,
        "warnings": run_warnings(model, stats),
        "scenarios": scenarios,
        "tornado": tornado,
        "distributions": {
            "levels": grid,
            "outputs": distributions,
            "scenarios": scenario_distributions,
        },
        "convergence": {
            "output": "export_loss",
            "draws": convergence.iter().map(|p| p.draws).collect::<Vec<_>>(),
            "mean": convergence.iter().map(|p| json_number(p.mean)).collect::<Vec<_>>(),
            "se": convergence.iter().map(|p| json_number(p.se)).collect::<Vec<_>>(),
        },
        "sample": {
            "draw": sample.iter().map(|s| s.0).collect::<Vec<_>>(),
            "scenario": sample.iter().map(|s| model.scenarios[s.1 as usize].id.clone()).collect::<Vec<_>>(),
            "export_loss": sample.iter().map(|s| json_number(s.2)).collect::<Vec<_>>(),
            "fx_depreciation_pct": sample.iter().map(|s| json_number(s.3)).collect::<Vec<_>>(),
            "equity_drawdown_pct": sample.iter().map(|s| json_number(s.4)).collect::<Vec<_>>(),
        },
        "parameters": parameters,
        "market": {
            "fx_stress_pct": model.market.fx_stress_pct,
            "equity_stress_pct": model.market.equity_stress_pct,
            "fx_weight": model.market.fx_weight,
        },
    })
}

/// Problems a reader of the results must know about: draws whose outputs are not numbers
/// (they are left out of quantiles and make means undefined), and correlations dropped by
/// overrides.
pub fn run_warnings(model: &Model, stats: &RunStats) -> Vec<String> {
    let mut warnings = model.warnings.clone();
    for (o, name) in output_names(model).iter().enumerate() {
        let nan = stats.histogram(o).nan_count();
        if nan > 0 {
            warnings.push(format!(
                "{nan} draws gave `{name}` = NaN (an input at the edge of its domain?); they are left out of its quantiles and its mean is undefined"
            ));
        }
    }
    warnings
}

/// Quantile levels for distribution charts: 0.001, 0.005, 0.01, 0.02, …, 0.99, 0.995, 0.999.
pub fn distribution_grid() -> Vec<f64> {
    let mut grid = vec![0.001, 0.005];
    grid.extend((1..100).map(|i| i as f64 / 100.0));
    grid.extend([0.995, 0.999]);
    grid
}

/// At most ~200 points of the running mean, spaced evenly in log(draws).
fn thin_convergence(
    trace: &[crate::stats::ConvergencePoint],
) -> Vec<crate::stats::ConvergencePoint> {
    if trace.len() <= 200 {
        return trace.to_vec();
    }
    let first = trace[0].draws as f64;
    let last = trace[trace.len() - 1].draws as f64;
    let mut out = Vec::new();
    let mut next = first;
    let step = (last / first).powf(1.0 / 199.0);
    for (i, p) in trace.iter().enumerate() {
        if p.draws as f64 >= next || i + 1 == trace.len() {
            out.push(*p);
            next = p.draws as f64 * step;
        }
    }
    out
}

/// `quantiles.csv`: one row per output with its moments, quantiles and expected shortfalls.
pub fn quantiles_csv(model: &Model, stats: &RunStats) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        b"output,mean,sd,se_mean,min,p1,p5,p10,p25,p50,p75,p90,p95,p99,max,es95,es99\n",
    );
    for (o, name) in output_names(model).iter().enumerate() {
        let s = stats.output_summary(o);
        out.extend_from_slice(name.as_bytes());
        let values = [s.mean, s.sd, s.se_mean, s.min]
            .into_iter()
            .chain(s.quantiles)
            .chain([s.max])
            .chain(s.es);
        for v in values {
            out.push(b',');
            super::format_float(&mut out, v);
        }
        out.push(b'\n');
    }
    out
}

/// The `deal_costs` object of `summary.json` (issue 17): per scenario, the tariff relief
/// against no deal from common random numbers, the package's cost, and the won's and GDP's
/// moves split by channel. Missing numbers (no reference scenario) are null.
pub fn deal_costs_json(costs: &crate::deal::DealCosts) -> Value {
    let scenarios: Map<String, Value> = costs
        .scenarios
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                json!({
                    "export_loss": json_number(c.export_loss),
                    "tariff_relief": {
                        "mean": json_number(c.tariff_relief),
                        "se": json_number(c.tariff_relief_se),
                    },
                    "purchases": json_number(c.purchases),
                    "investment_outflow": json_number(c.investment_outflow),
                    "defence_cost": json_number(c.defence_cost),
                    "deal_cost": json_number(c.deal_cost),
                    "fx_depreciation_pct": {
                        "total": json_number(c.fx_depreciation_pct),
                        "trade": json_number(c.fx_trade_pct),
                        "investment_flow": json_number(c.fx_investment_flow_pct),
                        "noise": json_number(c.fx_noise_pct),
                    },
                    "gdp_impact_pct": {
                        "total": json_number(c.gdp_impact_pct),
                        "trade": json_number(c.gdp_trade_pct),
                        "crowd_out": json_number(c.gdp_crowd_out_pct),
                    },
                    "stress_probability": json_number(c.stress_probability),
                }),
            )
        })
        .collect();
    json!({
        "reference": costs.reference,
        "draws": costs.draws,
        "method": format!(
            "common random numbers: each of the first {} draws of the run is evaluated under every scenario; tariff_relief = mean over these draws of export_loss(no deal) - export_loss(scenario), with its standard error; every figure is a mean over the same draws",
            costs.draws
        ),
        "scenarios": scenarios,
    })
}
