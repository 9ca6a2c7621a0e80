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

/// Parse a number (integer or finite float) into f64; `what` names it in messages.
fn number(v: &Value, key: &str, what: &str) -> Result<f64, DistError> {
    match v {
        // Integers beyond 2⁵³ round to the nearest double, as TOML floats would.
        Value::Integer(i) => Ok(*i as f64),
        Value::Float(f) => finite(key, what, *f),
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
    match kind {
        "point" => Ok(Distribution::point(get("value")?)),
        "uniform" => uniform(get("low")?, get("high")?),
        "triangular" => triangular(get("low")?, get("mode")?, get("high")?),
        "pert" => pert(get("low")?, get("mode")?, get("high")?, get("lambda")?),
        "normal" => normal(get("mean")?, get("sd")?),
        "truncated_normal" => truncated_normal(get("mean")?, get("sd")?, get("low")?, get("high")?),
        "lognormal" => lognormal(get("median")?, get("sd_log")?),
        "beta" => beta(get("alpha")?, get("beta")?, get("low")?, get("high")?),
        // "student_t", the last kind left.
        _ => student_t(get("df")?, get("loc")?, get("scale")?),
    }
}

/// The rules of MODEL.md §6 for each kind, on numbers already known to be finite; shared by
/// the model file ([`parse`]) and the typed constructors of [`Distribution`].
pub(super) fn uniform(low: f64, high: f64) -> Result<Distribution, DistError> {
    ordered(low, high)?;
    Distribution::build(Spec::Uniform { low, high })
}

/// See [`uniform`].
pub(super) fn triangular(low: f64, mode: f64, high: f64) -> Result<Distribution, DistError> {
    ordered(low, high)?;
    mode_inside(low, mode, high)?;
    Distribution::build(Spec::Triangular { low, mode, high })
}

/// See [`uniform`].
pub(super) fn pert(low: f64, mode: f64, high: f64, lambda: f64) -> Result<Distribution, DistError> {
    ordered(low, high)?;
    mode_inside(low, mode, high)?;
    positive("lambda", lambda)?;
    Distribution::build(Spec::Pert {
        low,
        mode,
        high,
        lambda,
    })
}

/// See [`uniform`].
pub(super) fn normal(mean: f64, sd: f64) -> Result<Distribution, DistError> {
    positive("sd", sd)?;
    Distribution::build(Spec::Normal { mean, sd })
}

/// See [`uniform`].
pub(super) fn truncated_normal(
    mean: f64,
    sd: f64,
    low: f64,
    high: f64,
) -> Result<Distribution, DistError> {
    positive("sd", sd)?;
    ordered(low, high)?;
    Distribution::build(Spec::TruncatedNormal {
        mean,
        sd,
        low,
        high,
    })
}

/// See [`uniform`].
pub(super) fn lognormal(median: f64, sd_log: f64) -> Result<Distribution, DistError> {
    positive("median", median)?;
    positive("sd_log", sd_log)?;
    Distribution::build(Spec::Lognormal { median, sd_log })
}

/// See [`uniform`].
pub(super) fn beta(alpha: f64, beta: f64, low: f64, high: f64) -> Result<Distribution, DistError> {
    positive("alpha", alpha)?;
    positive("beta", beta)?;
    ordered(low, high)?;
    Distribution::build(Spec::Beta {
        alpha,
        beta,
        low,
        high,
    })
}

/// See [`uniform`].
pub(super) fn student_t(df: f64, loc: f64, scale: f64) -> Result<Distribution, DistError> {
    positive("df", df)?;
    positive("scale", scale)?;
    Distribution::build(Spec::StudentT { df, loc, scale })
}

/// Fails unless `x` (named `what`, under `key`) is finite: a model file's `key = inf` and a
/// constructor's `f64::INFINITY` get the same message.
pub(super) fn finite(key: &str, what: &str, x: f64) -> Result<f64, DistError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(DistError::at(
            key,
            format!("`{what}` must be finite (got {x}); accepted: a finite number"),
        ))
    }
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
    discrete_checked(numbers(v, "values")?, numbers(w, "weights")?)
}

/// The rules of a discrete distribution on arrays of finite numbers (see [`uniform`]).
pub(super) fn discrete_checked(
    values: Vec<f64>,
    weights: Vec<f64>,
) -> Result<Distribution, DistError> {
    if values.is_empty() {
        return Err(DistError::at(
            "values",
            "`values` must be non-empty (got an empty array); accepted: a non-empty array of finite numbers".into(),
        ));
    }
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
