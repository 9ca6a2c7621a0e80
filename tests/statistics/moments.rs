//! Statistical checks: sample statistics of a model with known analytic expectations fall
//! within 4 standard errors, and quantiles where the inverse is known.

use tariffsim::model::compile_model;
use tariffsim::outputs::*;
use tariffsim::run::{self, RunConfig};

/// One sector, competitors facing the same tariff change and η = inf, so V = T^(−ε) exactly;
/// ε ~ U(0.5, 2) makes the export loss a known function of one uniform.
const MODEL: &str = r#"
[model]
name = "analytic"
horizon_months = 12
[baseline]
imports_from_importer = 20.0
gdp = 500.0
[macro]
value_added_share = 0.6
gdp_multiplier = { dist = "uniform", low = 0.5, high = 1.5 }
[market]
fx_beta = { dist = "normal", mean = 3.0, sd = 1.0 }
fx_noise = { dist = "normal", mean = 1.0, sd = 2.0 }
equity_beta = 8.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
[[sectors]]
id = "only"
exports = 100.0
share = 0.3
sigma = { dist = "uniform", low = 2, high = 6 }
epsilon = { dist = "uniform", low = 0.5, high = 2.0 }
[interim]
tariff = { default = 0.25 }
competitor_tariff = { default = 0.25 }
[[scenarios]]
id = "deal"
probability = 0.3
effective_month = { dist = "uniform", low = 0, high = 6 }
purchases = { dist = "uniform", low = 10, high = 30 }
[[scenarios]]
id = "no_deal"
probability = 0.7
"#;

const DRAWS: u64 = 200_000;

fn t() -> f64 {
    1.25
}

/// E[T^(−ε)] for ε ~ U(a, b).
fn expected_value_ratio(a: f64, b: f64) -> f64 {
    let lt = t().ln();
    ((-a * lt).exp() - (-b * lt).exp()) / ((b - a) * lt)
}

#[test]
fn sample_means_match_analytic_expectations() {
    let model = compile_model(MODEL, "analytic.toml").unwrap();
    let outcome = run::run(
        &model,
        &RunConfig {
            draws: DRAWS,
            seed: 7,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let stats = &outcome.stats;
    let check = |o: usize, expected: f64, name: &str| {
        let s = stats.output_summary(o);
        let z = (s.mean - expected) / s.se_mean;
        assert!(
            z.abs() < 4.0,
            "{name}: mean {} vs {expected}, z = {z}",
            s.mean
        );
    };
    let loss = 100.0 * (1.0 - expected_value_ratio(0.5, 2.0));
    check(EXPORT_LOSS, loss, "export_loss");
    check(EXPORT_LOSS_PCT, loss, "export_loss_pct");
    // Purchases: only in `deal` (p = 0.3), E = 0.3 · 20 · (1 − 3/12).
    check(PURCHASES, 0.3 * 20.0 * 0.75, "purchases");
    // GDP impact: −100·L/gdp·0.6·E[multiplier] with independent multiplier (mean 1).
    check(
        GDP_IMPACT_PCT,
        -100.0 * loss / 500.0 * 0.6,
        "gdp_impact_pct",
    );
    // FX: E[beta]·E[100 L/gdp] + E[noise].
    check(
        FX_DEPRECIATION_PCT,
        3.0 * 100.0 * loss / 500.0 + 1.0,
        "fx_depreciation_pct",
    );
    // Scenario frequencies: binomial.
    let n = DRAWS as f64;
    let deal = stats.scenario_counts()[0] as f64 / n;
    assert!(
        (deal - 0.3).abs() < 4.0 * (0.3f64 * 0.7 / n).sqrt(),
        "frequency {deal}"
    );
}

#[test]
fn quantiles_invert_the_known_distribution() {
    let model = compile_model(MODEL, "analytic.toml").unwrap();
    let outcome = run::run(
        &model,
        &RunConfig {
            draws: DRAWS,
            seed: 11,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let s = outcome.stats.output_summary(EXPORT_LOSS);
    let n = DRAWS as f64;
    // loss = 100(1 − T^(−ε)) is increasing in ε, so F(loss) = (ε(loss) − 0.5)/1.5.
    let cdf = |loss: f64| ((-(1.0 - loss / 100.0).ln() / t().ln()) - 0.5) / 1.5;
    for (q, est) in tariffsim::stats::QUANTILE_LEVELS.iter().zip(s.quantiles) {
        let tolerance = 4.0 * (q * (1.0 - q) / n).sqrt() + 1e-3;
        assert!(
            (cdf(est) - q).abs() < tolerance,
            "q = {q}: F(estimate) = {}",
            cdf(est)
        );
    }
    // ES of a uniform-in-ε tail: mean loss over ε ∈ [ε_0.95, 2].
    let eps95 = 0.5 + 1.5 * 0.95;
    let es = 100.0 * (1.0 - expected_value_ratio(eps95, 2.0));
    assert!((s.es[0] - es).abs() / es < 2e-3, "ES95 {} vs {es}", s.es[0]);
    assert!(s.min >= 100.0 * (1.0 - t().powf(-0.5)) && s.max <= 100.0 * (1.0 - t().powf(-2.0)));
}

#[test]
fn draws_with_nan_outputs_are_reported_not_hidden() {
    let model = compile_model(MODEL, "analytic.toml").unwrap();
    let n_out = tariffsim::outputs::output_names(&model).len();
    let mut stats = tariffsim::stats::RunStats::new(2, vec![0.0; n_out], model.dimension, 1);
    let mut rows = ndarray::Array2::<f64>::zeros((3, n_out));
    rows[[1, EXPORT_LOSS]] = f64::NAN;
    let points = ndarray::Array2::<f64>::from_elem((3, model.dimension), 0.5);
    stats.add_block(0, 0, points.view(), rows.view(), &[0, 1, 0]);
    let warnings = tariffsim::report::run_warnings(&model, &stats);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("1 draws gave `export_loss` = NaN"));
}
