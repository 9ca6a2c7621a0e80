//! Standard errors of quantiles (issue #5) against the asymptotic sqrt(q(1−q)/n)/f(x_q).

use tariffsim::model::compile_model;
use tariffsim::outputs::EXPORT_LOSS;
use tariffsim::run::{self, RunConfig};
use tariffsim::stats::{QUANTILE_LEVELS, QUANTILE_SE_OUTPUTS};

/// One sector, η = inf, competitors get the same 25 % (so V = T^−ε), only ε ~ U(0.5, 1.5):
/// export loss = 10·(1 − 1.25^−ε), a monotone function of ε with a known density.
const MODEL: &str = r#"
[model]
name = "known distribution"
[baseline]
imports_from_importer = 1.0
gdp = 500.0
[macro]
value_added_share = 0.6
gdp_multiplier = 1.0
[market]
fx_beta = 1.0
fx_noise = 0.0
equity_beta = 1.0
equity_noise = 0.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.5
[[sectors]]
id = "widgets"
exports = 10.0
share = 0.2
sigma = 4.0
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
[interim]
tariff = { default = 0.25 }
competitor_tariff = { default = 0.25 }
[[scenarios]]
id = "only"
probability = 1.0
"#;

#[test]
fn sectioning_se_of_quantiles_is_within_a_factor_2_of_the_asymptotic_value() {
    let model = compile_model(MODEL, "known.toml").unwrap();
    let draws = 64 * 1024;
    let stats = run::run(
        &model,
        &RunConfig {
            draws,
            seed: 2,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
    .stats;
    let i = QUANTILE_SE_OUTPUTS
        .iter()
        .position(|&o| o == EXPORT_LOSS)
        .unwrap();
    let ses = stats.quantile_ses(i);
    let (x0, t) = (10.0_f64, 1.25_f64);
    for (l, &q) in QUANTILE_LEVELS.iter().enumerate() {
        if !(0.05..=0.95).contains(&q) {
            continue;
        }
        // ε_q = 0.5 + q; density of the loss at its q-quantile: f_ε / |dL/dε|.
        let eps = 0.5 + q;
        let density = 1.0 / (x0 * t.ln() * t.powf(-eps));
        let asymptotic = (q * (1.0 - q) / draws as f64).sqrt() / density;
        let ratio = ses[l] / asymptotic;
        println!("q = {q}: sectioning SE / asymptotic SE = {ratio:.3}");
        assert!(
            (0.5..2.0).contains(&ratio),
            "q = {q}: SE {} vs asymptotic {asymptotic}",
            ses[l]
        );
    }
}

#[test]
fn quantile_se_shrinks_like_one_over_root_n_and_merges_exactly() {
    let model = compile_model(MODEL, "known.toml").unwrap();
    let se = |draws, threads| {
        let c = RunConfig {
            draws,
            seed: 3,
            threads,
            ..Default::default()
        };
        run::run(&model, &c).unwrap().stats.quantile_ses(0)
    };
    let (small, large) = (se(16 * 1024, 2), se(256 * 1024, 2));
    let ratio = small[4] / large[4];
    assert!(
        (2.5..6.5).contains(&ratio),
        "median SE fell by {ratio}, expected ~4"
    );
    assert_eq!(se(16 * 1024, 1), small);
    // Fewer than two full blocks: no estimate.
    assert!(se(1500, 1)[4].is_nan());
}
