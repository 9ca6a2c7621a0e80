//! What a `summary.json` written by tariffsim always satisfies, checked when one is read back
//! (`tariffsim report`, issue 15 item 7): a file changed or damaged after the run is refused
//! with the JSON path of the first broken rule, instead of being drawn as if it were a result.
//!
//! The rules are those the statistics obey by construction: quantiles increase with their
//! level and lie between the minimum and the maximum, so do the mean and the expected
//! shortfalls, standard deviations are not negative, scenario probabilities sum to one and
//! their draw counts to the run's, every name refers to an output or scenario of the file,
//! arrays that go together have one length. A number changed to another value that keeps every
//! rule cannot be told from a result, and is not refused.

use crate::stats::{ES_LEVELS, QUANTILE_LEVELS};
use crate::summary::Summary;

/// Relative slack for comparisons between statistics computed by different routes (a
/// histogram's quantile and an exact sum): a tenth of the histogram's relative bin width.
const SLACK: f64 = 1e-3;

/// One broken rule: the JSON path and what is wrong.
type Broken = (String, String);

impl Summary {
    /// Checks the rules every `summary.json` written by tariffsim satisfies; `weighted` for
    /// the updated forecast of a backtest (`updated/summary.json`), whose statistics are
    /// weighted and whose frequencies are the updated probabilities. The error is
    /// `path.in.the.json: what is wrong`.
    pub fn check(&self, weighted: bool) -> Result<(), String> {
        check(self, weighted).map_err(|(path, message)| format!("{path}: {message}"))
    }
}

fn broken<T>(path: impl Into<String>, message: impl Into<String>) -> Result<T, Broken> {
    Err((path.into(), message.into()))
}

/// `a ≤ b` up to [`SLACK`] of their scale; NaN (an undefined statistic, `null`) passes.
fn le(a: f64, b: f64, scale: f64) -> bool {
    a.is_nan() || b.is_nan() || a <= b + SLACK * scale
}

fn check(s: &Summary, weighted: bool) -> Result<(), Broken> {
    let run = &s.run;
    if run.draws == 0 {
        return broken("run.draws", "0; accepted: at least 1");
    }
    if run.threads == 0 {
        return broken("run.threads", "0; accepted: at least 1");
    }
    if run.block_size == 0 {
        return broken("run.block_size", "0; accepted: at least 1");
    }
    if !(run.elapsed_s >= 0.0 && run.elapsed_s.is_finite()) {
        return broken(
            "run.elapsed_s",
            format!("{}; accepted: a time in seconds, 0 or more", run.elapsed_s),
        );
    }
    let labels: Vec<String> = crate::sampling::SamplerKind::ALL
        .iter()
        .map(|k| k.label(run.antithetic))
        .collect();
    if !labels.contains(&run.sampler) {
        return broken(
            "run.sampler",
            format!(
                "`{}`; accepted (antithetic = {}): {}",
                run.sampler,
                run.antithetic,
                labels.join(", ")
            ),
        );
    }
    if let Some(t) = &run.target_se {
        if !s.outputs.contains_key(&t.output) {
            return broken(
                "run.target_se.output",
                format!("`{}` is not an output of the file", t.output),
            );
        }
        if t.target.is_nan() || t.target <= 0.0 || t.se < 0.0 || t.draws > t.max_draws {
            return broken(
                "run.target_se",
                "accepted: a positive target, an se of 0 or more, draws at most max_draws",
            );
        }
    }
    if s.outputs.is_empty() {
        return broken("outputs", "no outputs; accepted: the outputs of a run");
    }
    let clean = s.warnings.is_empty();
    for (name, o) in &s.outputs {
        let at = |field: &str| format!("outputs.{name}.{field}");
        let scale = o.min.abs().max(o.max.abs()).max(f64::MIN_POSITIVE);
        // Without warnings every draw was finite, so are these.
        for (field, x) in [("mean", o.mean), ("min", o.min), ("max", o.max)] {
            if clean && !x.is_finite() {
                return broken(
                    at(field),
                    "null, in a run without warnings (every draw was a finite number)",
                );
            }
        }
        if !le(o.min, o.max, 0.0) {
            return broken(at("min"), format!("{} is above max = {}", o.min, o.max));
        }
        if !(le(o.min, o.mean, scale) && le(o.mean, o.max, scale)) {
            return broken(
                at("mean"),
                format!("{} is outside [min, max] = [{}, {}]", o.mean, o.min, o.max),
            );
        }
        for (field, x) in [("sd", o.sd), ("se_mean", o.se_mean)] {
            if x < 0.0 || x.is_infinite() {
                return broken(at(field), format!("{x}; accepted: 0 or more"));
            }
        }
        // Popoviciu: sd ≤ (max − min)/2 for the population sd; the sample sd (n − 1) of n ≥ 2
        // draws is at most √2 times that.
        if !le(
            o.sd,
            (o.max - o.min) * std::f64::consts::FRAC_1_SQRT_2,
            scale,
        ) {
            return broken(
                at("sd"),
                format!(
                    "{} is larger than the range [{}, {}] allows",
                    o.sd, o.min, o.max
                ),
            );
        }
        let mut previous = (f64::NEG_INFINITY, 0.0);
        for (q, level) in o.quantiles.iter().zip(QUANTILE_LEVELS) {
            if clean && !q.is_finite() {
                return broken(
                    at(&format!("quantiles.{level}")),
                    "null, in a run without warnings",
                );
            }
            if !(le(o.min, *q, scale) && le(*q, o.max, scale)) {
                return broken(
                    at(&format!("quantiles.{level}")),
                    format!("{q} is outside [min, max] = [{}, {}]", o.min, o.max),
                );
            }
            if !le(previous.0, *q, scale) {
                return broken(
                    at(&format!("quantiles.{level}")),
                    format!(
                        "{q} is below the quantile at {} = {}; accepted: quantiles increasing with their level",
                        previous.1, previous.0
                    ),
                );
            }
            previous = (*q, level);
        }
        let mut previous_es = f64::NEG_INFINITY;
        for (es, level) in o.es.iter().zip(ES_LEVELS) {
            let q = o.quantile(level);
            if !(le(q, *es, scale) && le(*es, o.max, scale) && le(previous_es, *es, scale)) {
                return broken(
                    at(&format!("es.{level}")),
                    format!(
                        "{es}: the expected shortfall at {level} (the mean above the {level} quantile {q}) lies between that quantile and max = {}, and grows with the level",
                        o.max
                    ),
                );
            }
            previous_es = *es;
        }
        if let Some(ses) = &o.quantile_se {
            if let Some(x) = ses.iter().find(|x| **x < 0.0 || x.is_infinite()) {
                return broken(at("quantile_se"), format!("{x}; accepted: 0 or more"));
            }
        }
    }

    if s.scenarios.is_empty() {
        return broken(
            "scenarios",
            "no scenarios; accepted: the scenarios of the model",
        );
    }
    let mut probability = 0.0;
    let mut draws = 0u64;
    for (id, sc) in &s.scenarios {
        let at = |field: &str| format!("scenarios.{id}.{field}");
        for (field, x) in [("probability", sc.probability), ("frequency", sc.frequency)] {
            if !(0.0..=1.0).contains(&x) {
                return broken(at(field), format!("{x}; accepted: in [0, 1]"));
            }
        }
        if sc.draws > run.draws {
            return broken(
                at("draws"),
                format!("{} is more than the run's {} draws", sc.draws, run.draws),
            );
        }
        if !weighted && sc.frequency != sc.draws as f64 / run.draws as f64 {
            return broken(
                at("frequency"),
                format!(
                    "{} is not draws / run.draws = {} / {}",
                    sc.frequency, sc.draws, run.draws
                ),
            );
        }
        probability += sc.probability;
        draws += sc.draws;
        for (name, m) in &sc.outputs {
            let Some(o) = s.outputs.get(name) else {
                return broken(
                    at(&format!("outputs.{name}")),
                    "not an output of the file (outputs)",
                );
            };
            let scale = o.min.abs().max(o.max.abs()).max(f64::MIN_POSITIVE);
            let inside = le(o.min, m.mean, scale) && le(m.mean, o.max, scale);
            if !weighted && !inside {
                return broken(
                    at(&format!("outputs.{name}.mean")),
                    format!(
                        "{} is outside the output's [min, max] = [{}, {}]",
                        m.mean, o.min, o.max
                    ),
                );
            }
            if clean && sc.draws > 0 && !m.mean.is_finite() {
                return broken(
                    at(&format!("outputs.{name}.mean")),
                    "null, in a run without warnings where the scenario was drawn",
                );
            }
            if clean && sc.draws > 1 && !m.sd.is_finite() {
                return broken(
                    at(&format!("outputs.{name}.sd")),
                    "null, in a run without warnings where the scenario was drawn more than once",
                );
            }
            if m.sd < 0.0
                || m.sd.is_infinite()
                || !le(
                    m.sd,
                    (o.max - o.min) * std::f64::consts::FRAC_1_SQRT_2,
                    scale,
                )
            {
                return broken(
                    at(&format!("outputs.{name}.sd")),
                    format!(
                        "{}; accepted: 0 or more, within what the output's [min, max] = [{}, {}] allows",
                        m.sd, o.min, o.max
                    ),
                );
            }
        }
    }
    if (probability - 1.0).abs() > 1e-6 {
        return broken(
            "scenarios",
            format!("the probabilities sum to {probability}; accepted: 1"),
        );
    }
    if draws != run.draws {
        return broken(
            "scenarios",
            format!(
                "the scenarios' draws sum to {draws}, the run has {}",
                run.draws
            ),
        );
    }

    for (name, entries) in &s.tornado {
        if !s.outputs.contains_key(name) {
            return broken(format!("tornado.{name}"), "not an output of the file");
        }
        for (i, e) in entries.iter().enumerate() {
            if e.correlation.abs() > 1.0 {
                return broken(
                    format!("tornado.{name}[{i}].correlation"),
                    format!("{}; accepted: in [-1, 1]", e.correlation),
                );
            }
        }
    }

    let d = &s.distributions;
    if !d.levels.windows(2).all(|w| w[0] < w[1]) || !d.levels.iter().all(|l| *l > 0.0 && *l < 1.0) {
        return broken(
            "distributions.levels",
            "accepted: levels in (0, 1), strictly increasing",
        );
    }
    let grid = |path: String, values: &[f64], name: &str| -> Result<(), Broken> {
        let Some(o) = s.outputs.get(name) else {
            return broken(path, "not an output of the file");
        };
        if values.len() != d.levels.len() {
            return broken(
                path,
                format!("{} values for {} levels", values.len(), d.levels.len()),
            );
        }
        let scale = o.min.abs().max(o.max.abs()).max(f64::MIN_POSITIVE);
        if let Some(i) = values.iter().position(|x| clean && !x.is_finite()) {
            return broken(format!("{path}[{i}]"), "null, in a run without warnings");
        }
        for (i, w) in values.windows(2).enumerate() {
            if !le(w[0], w[1], scale) {
                return broken(
                    format!("{path}[{}]", i + 1),
                    format!(
                        "{} is below the value before it, {}; accepted: increasing with the level",
                        w[1], w[0]
                    ),
                );
            }
        }
        // An updated forecast's extremes are those of the weighted draws, while the prior's
        // grids may reach beyond them: ranges are checked on a run's own summary only.
        if let Some((i, x)) = values
            .iter()
            .enumerate()
            .filter(|_| !weighted)
            .find(|(_, x)| !(le(o.min, **x, scale) && le(**x, o.max, scale)))
        {
            return broken(
                format!("{path}[{i}]"),
                format!(
                    "{x} is outside the output's [min, max] = [{}, {}]",
                    o.min, o.max
                ),
            );
        }
        Ok(())
    };
    for (name, values) in &d.outputs {
        grid(format!("distributions.outputs.{name}"), values, name)?;
    }
    if !d.scenarios.is_empty() && !s.scenarios.keys().all(|id| d.scenarios.contains_key(id)) {
        return broken(
            "distributions.scenarios",
            "a scenario is missing; accepted: the distributions of every scenario",
        );
    }
    for (id, per) in &d.scenarios {
        if !s.scenarios.contains_key(id) {
            return broken(
                format!("distributions.scenarios.{id}"),
                "not a scenario of the file",
            );
        }
        for (name, values) in per {
            grid(format!("distributions.scenarios.{id}.{name}"), values, name)?;
        }
    }

    let c = &s.convergence;
    if !c.draws.is_empty() || !c.output.is_empty() {
        let Some(o) = s.outputs.get(&c.output) else {
            return broken(
                "convergence.output",
                format!("`{}` is not an output of the file", c.output),
            );
        };
        if c.mean.len() != c.draws.len() || c.se.len() != c.draws.len() {
            return broken(
                "convergence",
                format!(
                    "{} draws, {} means and {} standard errors; accepted: one of each per point",
                    c.draws.len(),
                    c.mean.len(),
                    c.se.len()
                ),
            );
        }
        if !c.draws.windows(2).all(|w| w[0] < w[1])
            || c.draws.last().is_some_and(|n| *n > run.draws)
        {
            return broken(
                "convergence.draws",
                format!(
                    "accepted: increasing, at most the run's {} draws",
                    run.draws
                ),
            );
        }
        if let Some(x) = c.se.iter().find(|x| **x < 0.0 || x.is_infinite()) {
            return broken("convergence.se", format!("{x}; accepted: 0 or more"));
        }
        // The trace ends with the run's own mean (not so for a weighted update, whose trace is
        // the prior's). The trace is summed batch by batch and the mean exactly, so the two
        // may differ in the last bits: compared relative to the mean's size.
        if !weighted
            && c.draws.last() == Some(&run.draws)
            && c.mean.last().is_some_and(|m| {
                let scale = m.abs().max(o.mean.abs());
                !le(*m, o.mean, scale) || !le(o.mean, *m, scale)
            })
        {
            return broken(
                "convergence.mean",
                format!(
                    "ends at {:?}, but outputs.{}.mean is {}",
                    c.mean.last(),
                    c.output,
                    o.mean
                ),
            );
        }
    }

    let sample = &s.sample;
    let n = sample.draw.len();
    if sample.scenario.len() != n
        || sample.export_loss.len() != n
        || sample.fx_depreciation_pct.len() != n
        || sample.equity_drawdown_pct.len() != n
    {
        return broken(
            "sample",
            "columns of different lengths; accepted: one value of each column per draw",
        );
    }
    if !sample.draw.windows(2).all(|w| w[0] < w[1])
        || sample.draw.last().is_some_and(|d| *d >= run.draws)
    {
        return broken(
            "sample.draw",
            format!(
                "accepted: increasing draw numbers below the run's {} draws",
                run.draws
            ),
        );
    }
    if let Some((i, id)) = sample
        .scenario
        .iter()
        .enumerate()
        .find(|(_, id)| !s.scenarios.contains_key(*id))
    {
        return broken(
            format!("sample.scenario[{i}]"),
            format!("`{id}` is not a scenario of the file"),
        );
    }
    for (name, column) in [
        ("export_loss", &sample.export_loss),
        ("fx_depreciation_pct", &sample.fx_depreciation_pct),
        ("equity_drawdown_pct", &sample.equity_drawdown_pct),
    ] {
        if let Some(i) = column.iter().position(|x| clean && !x.is_finite()) {
            return broken(
                format!("sample.{name}[{i}]"),
                "null, in a run without warnings",
            );
        }
    }
    if !weighted {
        for (name, column) in [
            ("export_loss", &sample.export_loss),
            ("fx_depreciation_pct", &sample.fx_depreciation_pct),
            ("equity_drawdown_pct", &sample.equity_drawdown_pct),
        ] {
            let Some(o) = s.outputs.get(name) else {
                continue;
            };
            if let Some((i, x)) = column
                .iter()
                .enumerate()
                .find(|(_, x)| !(le(o.min, **x, 0.0) && le(**x, o.max, 0.0)))
            {
                return broken(
                    format!("sample.{name}[{i}]"),
                    format!(
                        "{x} is outside the output's [min, max] = [{}, {}]",
                        o.min, o.max
                    ),
                );
            }
        }
    }

    for (i, p) in s.parameters.iter().enumerate() {
        if p.path.is_empty() || p.line == 0 {
            return broken(
                format!("parameters[{i}]"),
                "accepted: a parameter path and its line (1 or more) in the model file",
            );
        }
        // A distribution is written `kind(...)`; a point mass as its number.
        let written_as_kind = p.distribution.starts_with(&format!("{}(", p.kind));
        let point = p.kind == "point" && p.distribution.parse::<f64>().is_ok();
        if !(written_as_kind || point) {
            return broken(
                format!("parameters[{i}]"),
                format!(
                    "kind `{}` does not match distribution `{}`",
                    p.kind, p.distribution
                ),
            );
        }
    }
    // Tornado bars name the scenario or an uncertain parameter of the file.
    if !s.parameters.is_empty() {
        for (name, entries) in &s.tornado {
            if let Some((i, e)) = entries.iter().enumerate().find(|(_, e)| {
                e.parameter != "scenario" && !s.parameters.iter().any(|p| p.path == e.parameter)
            }) {
                return broken(
                    format!("tornado.{name}[{i}].parameter"),
                    format!("`{}` is not a parameter of the file", e.parameter),
                );
            }
        }
    }

    let m = &s.market;
    if !(0.0..=1.0).contains(&m.fx_weight) {
        return broken(
            "market.fx_weight",
            format!("{}; accepted: in [0, 1]", m.fx_weight),
        );
    }
    for (field, x) in [
        ("fx_stress_pct", m.fx_stress_pct),
        ("equity_stress_pct", m.equity_stress_pct),
    ] {
        if !(x > 0.0 && x.is_finite()) {
            return broken(
                format!("market.{field}"),
                format!("{x}; accepted: a positive number"),
            );
        }
    }

    if let Some(costs) = &s.deal_costs {
        if costs.draws > run.draws {
            return broken(
                "deal_costs.draws",
                format!("{} is more than the run's {} draws", costs.draws, run.draws),
            );
        }
        if let Some(r) = &costs.reference {
            if !s.scenarios.contains_key(r) {
                return broken(
                    "deal_costs.reference",
                    format!("`{r}` is not a scenario of the file"),
                );
            }
        }
        for (id, c) in &costs.scenarios {
            if !s.scenarios.contains_key(id) {
                return broken(
                    format!("deal_costs.scenarios.{id}"),
                    "not a scenario of the file",
                );
            }
            if c.tariff_relief.se < 0.0 || c.tariff_relief.se.is_infinite() {
                return broken(
                    format!("deal_costs.scenarios.{id}.tariff_relief.se"),
                    format!("{}; accepted: 0 or more", c.tariff_relief.se),
                );
            }
        }
    }
    Ok(())
}
