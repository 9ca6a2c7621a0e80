//! `summary.json` and `quantiles.csv` (MODEL.md §9).

use serde_json::{json, Map, Value};

use crate::model::Model;
use crate::outputs::output_names;
use crate::stats::{OutputSummary, RunStats, ES_KEYS, QUANTILE_KEYS};

/// How a run was made, for replication (the `run` object of `summary.json`).
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Number of draws.
    pub draws: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler name.
    pub sampler: String,
    /// Threads used.
    pub threads: usize,
    /// Wall time in seconds.
    pub elapsed_s: f64,
}

/// JSON numbers must be finite; a missing statistic (e.g. the sd of one draw) becomes null.
fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn output_json(s: &OutputSummary) -> Value {
    let quantiles: Map<String, Value> = QUANTILE_KEYS
        .iter()
        .zip(s.quantiles)
        .map(|(k, v)| (k.to_string(), num(v)))
        .collect();
    let es: Map<String, Value> = ES_KEYS
        .iter()
        .zip(s.es)
        .map(|(k, v)| (k.to_string(), num(v)))
        .collect();
    json!({
        "mean": num(s.mean),
        "sd": num(s.sd),
        "se_mean": num(s.se_mean),
        "min": num(s.min),
        "max": num(s.max),
        "quantiles": quantiles,
        "es": es,
    })
}

/// The `summary.json` document of a run.
pub fn summary_json(model: &Model, info: &RunInfo, stats: &RunStats) -> Value {
    let names = output_names(model);
    let mut outputs = Map::new();
    for (o, name) in names.iter().enumerate() {
        outputs.insert(name.clone(), output_json(&stats.output_summary(o)));
    }
    let draws = stats.draws().max(1) as f64;
    let mut scenarios = Map::new();
    for (k, sc) in model.scenarios.iter().enumerate() {
        let mut per_output = Map::new();
        for (o, name) in names.iter().enumerate() {
            let m = stats.scenario_moments(k, o);
            per_output.insert(name.clone(), json!({"mean": num(m.mean), "sd": num(m.sd)}));
        }
        let count = stats.scenario_counts()[k];
        scenarios.insert(
            sc.id.clone(),
            json!({
                "name": sc.name,
                "probability": num(sc.probability),
                "frequency": num(count as f64 / draws),
                "draws": count,
                "outputs": per_output,
            }),
        );
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
        "run": {
            "draws": info.draws,
            "seed": info.seed,
            "sampler": info.sampler,
            "threads": info.threads,
            "version": env!("CARGO_PKG_VERSION"),
            "elapsed_s": num(info.elapsed_s),
            "block_size": crate::engine::BLOCK_SIZE,
            "quantile_method": format!(
                "log-linear histogram, relative bin width 2^-{}; rank = ceil(q*n) (inverse empirical CDF)",
                crate::stats::BIN_BITS
            ),
        },
        "outputs": outputs,
        "scenarios": scenarios,
    })
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
