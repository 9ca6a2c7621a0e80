//! Overrides `PATH=VALUE` (issue #7; the CLI's `--set`): replace a parameter's distribution, change one key
//! of it, or change a scenario's probability, then validate the model again.
//!
//! Overrides act on the compiled model, so that error messages can name the override rather
//! than a line of a rewritten file.

use super::compile::{rounded_sum, PROBABILITY_TOLERANCE};
use super::Model;
use crate::dist::Distribution;
use crate::sampling::copula::{Copula, CopulaError};

/// Why an override was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("override `{given}`: {message}")]
pub struct OverrideError {
    /// The override as given (`PATH=VALUE`).
    pub given: String,
    /// The rule broken and what is accepted.
    pub message: String,
}

/// The override that switches the monthly outputs of MODEL.md §12 on (`--monthly`).
pub const MONTHLY_PATH: &str = "model.monthly";

/// The override that switches the per-line sketches of `lines.csv` on (`--line-outputs`,
/// MODEL.md §14), recorded like [`MONTHLY_PATH`] so that shards and merges keep them.
pub const LINE_OUTPUTS_PATH: &str = "model.line_outputs";

fn fail(given: &str, message: impl Into<String>) -> OverrideError {
    OverrideError {
        given: given.to_string(),
        message: message.into(),
    }
}

/// Parses VALUE as ONE TOML value: a number, a string or an inline table.
///
/// VALUE is spliced into a one-line document, so a line break (or any control character)
/// could smuggle further keys or tables into it, which were then silently ignored (issue 15,
/// item 5): refuse those, and anything that parses to more than the one key.
fn parse_value(given: &str, text: &str) -> Result<toml::Value, OverrideError> {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(fail(
            given,
            format!(
                "VALUE contains the control character {c:?} (a line break?); accepted: one TOML value on one line, such as 0.25 or {{ dist = \"uniform\", low = 0.1, high = 0.2 }}"
            ),
        ));
    }
    let doc = format!("v = {text}");
    let mut table: toml::Table = toml::from_str(&doc).map_err(|e| {
        fail(
            given,
            format!(
                "VALUE is not a TOML value ({}); accepted: a number such as 0.25, or an inline table such as {{ dist = \"uniform\", low = 0.1, high = 0.2 }}",
                e.message().trim()
            ),
        )
    })?;
    if table.len() != 1 {
        return Err(fail(
            given,
            "VALUE is more than one TOML value; accepted: one number, string or inline table",
        ));
    }
    table
        .remove("v")
        .ok_or_else(|| fail(given, "empty VALUE; accepted: a number or an inline table"))
}

/// Applies `overrides` (each `PATH=VALUE`) to a copy of `model` and validates the result.
pub fn apply_overrides(model: &Model, overrides: &[String]) -> Result<Model, OverrideError> {
    let mut m = model.clone();
    for given in overrides {
        let Some((path, text)) = given.split_once('=') else {
            return Err(fail(given, "expected PATH=VALUE"));
        };
        let (path, text) = (path.trim(), text.trim());
        let value = parse_value(given, text)?;
        if let Some(id) = path
            .strip_prefix("scenarios.")
            .and_then(|p| p.strip_suffix(".probability"))
        {
            let Some(sc) = m.scenarios.iter_mut().find(|s| s.id == id) else {
                let ids: Vec<&str> = model.scenarios.iter().map(|s| s.id.as_str()).collect();
                return Err(fail(
                    given,
                    format!("unknown scenario `{id}`; accepted: {}", ids.join(", ")),
                ));
            };
            let p = value.as_float().or(value.as_integer().map(|i| i as f64));
            match p {
                Some(p) if (0.0..=1.0).contains(&p) => sc.probability = p,
                _ => return Err(fail(given, "a probability must be a number in [0, 1]")),
            }
            continue;
        }
        if path == MONTHLY_PATH {
            // `--monthly` is recorded as this override, so shards and checkpoints rebuild
            // the same output list from the stored model text.
            let Some(on) = value.as_bool() else {
                return Err(fail(
                    given,
                    "accepted: model.monthly=true or model.monthly=false",
                ));
            };
            m = m.with_monthly(on).map_err(|e| fail(given, e))?;
            continue;
        }
        if path == LINE_OUTPUTS_PATH {
            let Some(on) = value.as_bool() else {
                return Err(fail(
                    given,
                    "accepted: model.line_outputs=true or model.line_outputs=false",
                ));
            };
            m = m.with_line_outputs(on).map_err(|e| fail(given, e))?;
            continue;
        }
        let (index, new_spec) = if let Some(i) = m.param_index(path) {
            (i, value)
        } else if let Some((base, key)) = path.rsplit_once('.') {
            let Some(i) = m.param_index(base) else {
                return Err(unknown_path(given, path, &m));
            };
            let mut spec = m.params[i].spec.clone();
            let Some(table) = spec.as_table_mut() else {
                return Err(fail(
                    given,
                    format!("`{base}` is a single number in the model, it has no key `{key}`; accepted: {base}=VALUE with a number or a distribution table"),
                ));
            };
            table.insert(key.to_string(), value);
            (i, spec)
        } else {
            return Err(unknown_path(given, path, &m));
        };
        let param = &mut m.params[index];
        let dist = if param.path.ends_with(".eta") && new_spec.as_str() == Some("inf") {
            Distribution::point(f64::INFINITY)
        } else if param.path.ends_with(".eta") && new_spec.as_float().is_some_and(f64::is_infinite)
        {
            return Err(fail(
                given,
                "a bare inf is a TOML float; accepted: the string \"inf\" (e.g. --set 'sectors.autos.eta=\"inf\"'), a number > 0 or a distribution on (0, inf)",
            ));
        } else {
            Distribution::from_toml(&new_spec).map_err(|e| fail(given, e.message))?
        };
        if dist.as_point() != Some(f64::INFINITY) && !param.domain.admits(&dist) {
            let (a, b) = dist.support();
            return Err(fail(
                given,
                format!(
                    "`{}` outside the allowed range: support [{a}, {b}]; accepted: {}{}",
                    param.path,
                    param.domain.text,
                    param.domain.percent_hint(b)
                ),
            ));
        }
        let warning = param
            .domain
            .large_fraction_warning(&param.path, 0, dist.support().1)
            .map(|w| w.replacen("line 0", &format!("--set {given}"), 1));
        m.warnings.extend(warning);
        param.dist = dist;
        param.spec = new_spec;
    }
    let total: f64 = m.scenarios.iter().map(|s| s.probability).sum();
    if (total - 1.0).abs() > PROBABILITY_TOLERANCE {
        let listed: Vec<String> = m
            .scenarios
            .iter()
            .map(|s| format!("{} = {}", s.id, s.probability))
            .collect();
        return Err(fail(
            &overrides.join(" "),
            format!(
                "after the overrides the scenario probabilities sum to {} ({}); accepted: a sum of 1 within {PROBABILITY_TOLERANCE:e}",
                rounded_sum(total),
                listed.join(", ")
            ),
        ));
    }
    // Point masses take no coordinate: renumber, then rebuild the copula on the new coordinates.
    let mut dimension = 1;
    for p in &mut m.params {
        p.coordinate = if p.dist.as_point().is_none() {
            dimension += 1;
            Some(dimension - 1)
        } else {
            None
        };
    }
    m.dimension = dimension;
    let mut pairs = Vec::new();
    for &(a, b, rho, line) in &m.correlations {
        match (m.params[a].coordinate, m.params[b].coordinate) {
            (Some(ca), Some(cb)) => pairs.push((ca, cb, rho)),
            // A fixed number has nothing to correlate: the entry no longer applies. Say so.
            _ => m.warnings.push(format!(
                "the correlation on line {line} between `{}` and `{}` is dropped: an override made one of them a fixed number",
                m.params[a].path, m.params[b].path
            )),
        }
    }
    m.copula =
        Copula::new(dimension, &pairs).map_err(|CopulaError::NotPositiveDefinite { .. }| {
            fail(
                &overrides.join(" "),
                "the correlation matrix is no longer positive definite",
            )
        })?;
    m.overrides.extend(overrides.iter().cloned());
    Ok(m)
}

fn unknown_path(given: &str, path: &str, m: &Model) -> OverrideError {
    let mut examples: Vec<&str> = m.params.iter().map(|p| p.path.as_str()).take(6).collect();
    examples.push("scenarios.<id>.probability");
    fail(
        given,
        format!(
            "unknown parameter path `{path}`; accepted: a parameter path of this model (docs/model.md §4 (Parameter paths)), optionally followed by `.key` of its distribution, e.g. {} ...",
            examples.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        super::super::compile_model(include_str!("../../models/korea_us_2025.toml"), "k.toml")
            .expect("the default model compiles")
    }

    /// Issue 15, item 5: a VALUE carrying a line break smuggled extra TOML that was ignored.
    #[test]
    fn values_that_are_not_one_toml_value_are_refused() {
        let m = model();
        for given in [
            "sectors.autos.sigma=3\nsectors.autos.epsilon = 9",
            "sectors.autos.sigma=3\r\n[extra]",
            "sectors.autos.sigma=3\u{0}",
            "scenarios.no_deal.probability=0.5\nscenarios.deal.probability = 0.5",
            "sectors.autos.sigma={ dist = \"uniform\", low = 1, high = 2 }\nx = 1",
            "sectors.autos.sigma.low=1\tx",
        ] {
            let e = apply_overrides(&m, &[given.to_string()]).expect_err(given);
            assert!(
                e.message.contains("control character") || e.message.contains("one TOML value"),
                "{given:?}: {e}"
            );
        }
        // One value on one line, with spaces and a comment-free inline table, still works.
        let ok = apply_overrides(
            &m,
            &["sectors.autos.sigma = { dist = \"uniform\", low = 1, high = 2 }".into()],
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    /// Issue 15, item 9, through `--set`: a percentage is refused with the fraction, a rate of
    /// 100 % or more is accepted with a warning naming the override.
    #[test]
    fn percentage_overrides_are_refused_and_large_rates_warned() {
        let m = model();
        let e = apply_overrides(&m, &["scenarios.no_deal.tariff.default=30".into()])
            .expect_err("30 = 3000 %");
        assert!(e.message.contains("did you mean 0.30?"), "{e}");
        let ok = apply_overrides(&m, &["scenarios.no_deal.tariff.default=1.2".into()])
            .expect("120 % is a valid rate");
        assert!(
            ok.warnings
                .iter()
                .any(|w| w.contains("--set scenarios.no_deal.tariff.default=1.2")
                    && w.contains("120 %")),
            "{:?}",
            ok.warnings
        );
    }
}
