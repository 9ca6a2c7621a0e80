//! `Distribution::from_toml`: the MODEL.md §6 table as validation rules, each error naming the
//! key, the rule and what is accepted.

use super::{DistError, Distribution, Spec, KINDS};
use toml::Value;

/// A TOML value's type in words, for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

/// Required and optional (with default) keys of each kind, in the order they are listed.
fn keys_of(kind: &str) -> (&'static [&'static str], &'static [(&'static str, f64)]) {
    match kind {
        "point" => (&["value"], &[]),
        "uniform" => (&["low", "high"], &[]),
        "triangular" => (&["low", "mode", "high"], &[]),
        "pert" => (&["low", "mode", "high"], &[("lambda", 4.0)]),
        "normal" => (&["mean", "sd"], &[]),
        "truncated_normal" => (&["mean", "sd", "low", "high"], &[]),
        "lognormal" => (&["median", "sd_log"], &[]),
        "beta" => (&["alpha", "beta"], &[("low", 0.0), ("high", 1.0)]),
        "student_t" => (&["df"], &[("loc", 0.0), ("scale", 1.0)]),
        "discrete" => (&["values", "weights"], &[]),
        _ => (&[], &[]),
    }
}

/// Largest magnitude of any number of a distribution (values, bounds, means, scales,
/// weights). Generous: a model in USD (not USD bn) has a GDP near 1e13. Beyond it, outputs'
/// squares overflow and quantile searches run on numbers that mean nothing here (issue 15,
/// item 6: `pert` with high = 1e308 made `validate` hang).
pub const MAX_MAGNITUDE: f64 = 1e15;
/// Accepted range of beta's `alpha` and `beta`: outside it the quantile table does not
/// converge in reasonable time (α = β = 1e8 took 2 s, β = 1e300 never finished), and
/// shapes below 1e-3 put all mass on the end points.
pub const BETA_SHAPE: (f64, f64) = (1e-3, 1e5);
/// Largest PERT `lambda` (the beta shapes it implies stay inside [`BETA_SHAPE`]).
pub const MAX_PERT_LAMBDA: f64 = 1e4;
/// Accepted range of Student-t `df`: above 1e6 it is a normal to within 1e-6; below 0.1 its
/// quantiles overflow.
pub const STUDENT_DF: (f64, f64) = (0.1, 1e6);
/// Largest lognormal `sd_log` (e^10 per standard deviation is already absurd here).
pub const MAX_SD_LOG: f64 = 10.0;

/// Parse a number (integer or finite float, |x| ≤ [`MAX_MAGNITUDE`]) into f64; `what` names
/// it in messages.
fn number(v: &Value, key: &str, what: &str) -> Result<f64, DistError> {
    match v {
        // Integers beyond 2⁵³ round to the nearest double, as TOML floats would.
        Value::Integer(i) if (*i as f64).abs() <= MAX_MAGNITUDE => Ok(*i as f64),
        Value::Float(f) if f.abs() <= MAX_MAGNITUDE => Ok(*f),
        Value::Integer(_) | Value::Float(_) if v.as_float().is_none_or(f64::is_finite) => {
            Err(DistError::at(
                key,
                format!(
                    "`{what}` must be within ±{MAX_MAGNITUDE:e} (got {}); accepted: a number of magnitude at most {MAX_MAGNITUDE:e}",
                    super::fmt_num(v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap_or(f64::NAN))
                ),
            ))
        }
        Value::Float(f) => Err(DistError::at(
            key,
            format!("`{what}` must be finite (got {f}); accepted: a finite number"),
        )),
        other => Err(DistError::at(
            key,
            format!(
                "`{what}` must be a number (got {}); accepted: a finite number (integer or float)",
                type_name(other)
            ),
        )),
    }
}

/// Fail unless `ok`, with "`key` must be <rule> (got <value>); accepted: <accepted>".
fn require(ok: bool, key: &str, rule: &str, got: String, accepted: &str) -> Result<(), DistError> {
    if ok {
        Ok(())
    } else {
        Err(DistError::at(
            key,
            format!("`{key}` must be {rule} (got {got}); accepted: {accepted}"),
        ))
    }
}

/// `key` in [lo, hi], a documented bound on a shape parameter.
fn within(key: &str, x: f64, (lo, hi): (f64, f64)) -> Result<(), DistError> {
    let n = super::fmt_num;
    require(
        lo <= x && x <= hi,
        key,
        &format!("in [{}, {}]", n(lo), n(hi)),
        n(x),
        &format!("{} ≤ {key} ≤ {}", n(lo), n(hi)),
    )
}

/// `key` > 0.
fn positive(key: &str, x: f64) -> Result<(), DistError> {
    require(
        x > 0.0,
        key,
        "> 0",
        super::fmt_num(x),
        &format!("{key} > 0"),
    )
}

/// low < high, with a finite width so that scaling by it cannot overflow.
fn ordered(low: f64, high: f64) -> Result<(), DistError> {
    let n = super::fmt_num;
    require(
        low < high,
        "high",
        "> `low`",
        format!("low = {}, high = {}", n(low), n(high)),
        "low < high",
    )?;
    require(
        (high - low).is_finite(),
        "high",
        "within the double range of `low` (high − low overflows)",
        format!("low = {}, high = {}", n(low), n(high)),
        "high − low ≤ 1.7e308",
    )
}

/// low ≤ mode ≤ high.
fn mode_inside(low: f64, mode: f64, high: f64) -> Result<(), DistError> {
    let n = super::fmt_num;
    require(
        low <= mode && mode <= high,
        "mode",
        "within [low, high]",
        format!("low = {}, mode = {}, high = {}", n(low), n(mode), n(high)),
        "low ≤ mode ≤ high",
    )
}

/// An array of finite numbers under `key`.
fn numbers(v: &Value, key: &str) -> Result<Vec<f64>, DistError> {
    let Value::Array(items) = v else {
        return Err(DistError::at(
            key,
            format!(
                "`{key}` must be an array (got {}); accepted: a non-empty array of finite numbers",
                type_name(v)
            ),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| number(x, key, &format!("{key}[{i}]")))
        .collect()
}

/// See [`Distribution::from_toml`].
pub(super) fn parse(value: &Value) -> Result<Distribution, DistError> {
    let table = match value {
        Value::Integer(_) | Value::Float(_) => {
            return match number(value, "value", "value") {
                Ok(x) => Ok(Distribution::point(x)),
                Err(e) => Err(DistError {
                    key: None,
                    message: e.message,
                }),
            }
        }
        Value::Table(t) => t,
        other => {
            return Err(DistError {
                key: None,
                message: format!(
                    "expected a number or an inline table with `dist` (got {}); accepted: a finite number, \
                     or {{ dist = \"<kind>\", ... }} with kind one of {}",
                    type_name(other),
                    KINDS.join(", ")
                ),
            })
        }
    };
    let accepted_kinds = KINDS.join(", ");
    let kind = match table.get("dist") {
        None => {
            return Err(DistError::at(
                "dist",
                format!("missing key `dist`; accepted: {accepted_kinds}"),
            ))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Err(DistError::at(
                "dist",
                format!(
                    "`dist` must be a string (got {}); accepted: {accepted_kinds}",
                    type_name(other)
                ),
            ))
        }
    };
    if !KINDS.contains(&kind) {
        return Err(DistError::at(
            "dist",
            format!("unknown dist `{kind}`; accepted: {accepted_kinds}"),
        ));
    }
    let (required, optional) = keys_of(kind);
    let accepted_keys: Vec<&str> = required
        .iter()
        .copied()
        .chain(optional.iter().map(|(k, _)| *k))
        .collect();
    for key in table.keys() {
        if key != "dist" && !accepted_keys.contains(&key.as_str()) {
            return Err(DistError::at(
                key,
                format!(
                    "unknown key `{key}` for dist = \"{kind}\"; accepted keys: {}",
                    accepted_keys.join(", ")
                ),
            ));
        }
    }
    for key in required {
        if !table.contains_key(*key) {
            return Err(DistError::at(
                key,
                format!(
                    "missing key `{key}` for dist = \"{kind}\"; required: {}",
                    required.join(", ")
                ),
            ));
        }
    }
    if kind == "discrete" {
        return discrete(table);
    }
    // Every other kind takes numbers only.
    let get = |key: &str| -> Result<f64, DistError> {
        match table.get(key) {
            Some(v) => number(v, key, key),
            None => Ok(optional
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(f64::NAN, |(_, d)| *d)),
        }
    };
    let spec = match kind {
        "point" => Spec::Point {
            value: get("value")?,
        },
        "uniform" => {
            let (low, high) = (get("low")?, get("high")?);
            ordered(low, high)?;
            Spec::Uniform { low, high }
        }
        "triangular" => {
            let (low, mode, high) = (get("low")?, get("mode")?, get("high")?);
            ordered(low, high)?;
            mode_inside(low, mode, high)?;
            Spec::Triangular { low, mode, high }
        }
        "pert" => {
            let (low, mode, high, lambda) =
                (get("low")?, get("mode")?, get("high")?, get("lambda")?);
            ordered(low, high)?;
            mode_inside(low, mode, high)?;
            positive("lambda", lambda)?;
            within("lambda", lambda, (0.0, MAX_PERT_LAMBDA))?;
            Spec::Pert {
                low,
                mode,
                high,
                lambda,
            }
        }
        "normal" => {
            let (mean, sd) = (get("mean")?, get("sd")?);
            positive("sd", sd)?;
            Spec::Normal { mean, sd }
        }
        "truncated_normal" => {
            let (mean, sd, low, high) = (get("mean")?, get("sd")?, get("low")?, get("high")?);
            positive("sd", sd)?;
            ordered(low, high)?;
            Spec::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            }
        }
        "lognormal" => {
            let (median, sd_log) = (get("median")?, get("sd_log")?);
            positive("median", median)?;
            positive("sd_log", sd_log)?;
            within("sd_log", sd_log, (0.0, MAX_SD_LOG))?;
            Spec::Lognormal { median, sd_log }
        }
        "beta" => {
            let (alpha, beta, low, high) = (get("alpha")?, get("beta")?, get("low")?, get("high")?);
            positive("alpha", alpha)?;
            positive("beta", beta)?;
            within("alpha", alpha, BETA_SHAPE)?;
            within("beta", beta, BETA_SHAPE)?;
            ordered(low, high)?;
            Spec::Beta {
                alpha,
                beta,
                low,
                high,
            }
        }
        _ => {
            // "student_t", the last kind left.
            let (df, loc, scale) = (get("df")?, get("loc")?, get("scale")?);
            positive("df", df)?;
            within("df", df, STUDENT_DF)?;
            positive("scale", scale)?;
            Spec::StudentT { df, loc, scale }
        }
    };
    Distribution::build(spec)
}

/// `values` and `weights` of a discrete distribution.
fn discrete(table: &toml::Table) -> Result<Distribution, DistError> {
    let (Some(v), Some(w)) = (table.get("values"), table.get("weights")) else {
        // Presence was checked by the caller.
        return Err(DistError::at(
            "values",
            "missing key `values` or `weights` for dist = \"discrete\"; required: values, weights"
                .into(),
        ));
    };
    let values = numbers(v, "values")?;
    if values.is_empty() {
        return Err(DistError::at(
            "values",
            "`values` must be non-empty (got an empty array); accepted: a non-empty array of finite numbers".into(),
        ));
    }
    let weights = numbers(w, "weights")?;
    if weights.len() != values.len() {
        return Err(DistError::at(
            "weights",
            format!(
                "`weights` must have one entry per value (got {} weights for {} values); accepted: an array of {} numbers ≥ 0",
                weights.len(),
                values.len(),
                values.len()
            ),
        ));
    }
    for (i, &wi) in weights.iter().enumerate() {
        if wi < 0.0 {
            return Err(DistError::at(
                "weights",
                format!(
                    "`weights[{i}]` must be ≥ 0 (got {}); accepted: weights ≥ 0, not all 0",
                    super::fmt_num(wi)
                ),
            ));
        }
    }
    let total: f64 = weights.iter().sum();
    if total == 0.0 {
        return Err(DistError::at(
            "weights",
            "`weights` must not all be 0; accepted: weights ≥ 0 with a positive sum".into(),
        ));
    }
    if !total.is_finite() {
        return Err(DistError::at(
            "weights",
            "`weights` must have a finite sum (got an overflow); accepted: weights ≥ 0 summing to a finite positive number".into(),
        ));
    }
    Distribution::build(Spec::Discrete { values, weights })
}
