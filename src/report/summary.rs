//! `summary.json` and `quantiles.csv` (MODEL.md §9), both written from the typed
//! [`Summary`](crate::summary::Summary).

use serde_json::Value;

use crate::model::Model;
use crate::stats::RunStats;
use crate::summary::{RunInfo, Summary};

/// JSON numbers must be finite; a missing statistic (e.g. the sd of one draw) becomes null.
pub fn json_number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// The `summary.json` document of a run, as a JSON value (see [`Summary`] for the typed form).
pub fn summary_json(model: &Model, info: &RunInfo, stats: &RunStats) -> Value {
    // Every map key is a string and every number is finite or null: encoding cannot fail.
    serde_json::to_value(Summary::new(model, info, stats)).expect("a Summary always encodes")
}

/// Writes `summary.json` and `quantiles.csv` of `summary` into `dir` (created if needed),
/// each atomically.
pub fn write_summary(dir: &std::path::Path, summary: &Summary) -> Result<(), super::ReportError> {
    super::ensure_dir(dir)?;
    super::write_atomic(
        &dir.join("summary.json"),
        summary.to_json_pretty().as_bytes(),
    )?;
    super::write_atomic(&dir.join("quantiles.csv"), &quantiles_csv(summary)?)
}

/// `quantiles.csv`: one row per output with its unit, moments, quantiles and expected
/// shortfalls.
pub fn quantiles_csv(summary: &Summary) -> Result<Vec<u8>, super::ReportError> {
    let mut csv = super::CsvRows::new([
        "output", "unit", "mean", "sd", "se_mean", "min", "p1", "p5", "p10", "p25", "p50", "p75",
        "p90", "p95", "p99", "max", "es95", "es99",
    ])?;
    for (name, s) in &summary.outputs {
        let values = [s.mean, s.sd, s.se_mean, s.min]
            .into_iter()
            .chain(s.quantiles)
            .chain([s.max])
            .chain(s.es);
        // A summary read from a file older than units has none: name the unit from the model.
        let unit = s
            .unit
            .clone()
            .unwrap_or_else(|| crate::outputs::unit(name, &summary.model.units));
        csv.row([name.as_str(), unit.as_str()], values)?;
    }
    csv.finish()
}
