//! The kernel against closed forms derived from MODEL.md §2–§5.

use tariffsim::kernel::armington::{export_value, solve_log_price, Elasticities, SectorShares};
use tariffsim::kernel::Kernel;
use tariffsim::model::compile_model;
use tariffsim::outputs::*;

fn el(sigma: f64, epsilon: f64, eta: f64) -> Elasticities {
    Elasticities {
        sigma,
        epsilon,
        eta,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn same_tariff_change_for_competitors_gives_t_to_minus_epsilon() {
    // C = T ⇒ P = T at p = 1, so V = T^(−ε) with η = inf, whatever σ and θ.
    for &(theta, sigma, epsilon, tariff) in &[
        (0.16, 4.0, 1.0, 0.25),
        (0.5, 0.3, 2.5, 0.1),
        (0.9, 1.0, 0.7, 0.5),
        (0.04, 12.0, 0.0, 1.45),
    ] {
        let ln_t = f64::ln_1p(tariff);
        let v = export_value(
            ln_t,
            ln_t,
            &SectorShares::new(theta),
            &el(sigma, epsilon, f64::INFINITY),
        );
        let expected = (1.0 + tariff).powf(-epsilon);
        assert!(
            close(v, expected, 1e-13),
            "θ={theta} σ={sigma}: {v} vs {expected}"
        );
    }
}

#[test]
fn exporter_alone_in_the_market_faces_the_aggregate_elasticity() {
    // θ = 1: P = pT, so f(x) = (η+ε)x + ε ln T, x* = −ε ln T/(η+ε), V = p^(1+η).
    let (tariff, epsilon, eta) = (0.25f64, 1.3, 2.0);
    let ln_t = tariff.ln_1p();
    let shares = SectorShares::new(1.0);
    let x = solve_log_price(ln_t, 0.0, &shares, &el(5.0, epsilon, eta));
    let x_star = -epsilon * ln_t / (eta + epsilon);
    assert!((x - x_star).abs() <= 1e-12, "{x} vs {x_star}");
    let v = export_value(ln_t, 0.0, &shares, &el(5.0, epsilon, eta));
    assert!(close(v, (x_star * (1.0 + eta)).exp(), 1e-12));
    // η = inf: V = T^(−ε).
    let v = export_value(ln_t, 0.0, &shares, &el(5.0, epsilon, f64::INFINITY));
    assert!(close(v, (1.0 + tariff).powf(-epsilon), 1e-13));
}

#[test]
fn unit_sigma_uses_the_cobb_douglas_limit_and_is_continuous() {
    // σ = 1, η = inf: ln P = θ ln T + (1−θ) ln C, ln V = −(ln T − ln P) − ε ln P.
    let (theta, epsilon) = (0.3, 0.8);
    let (ln_t, ln_c) = (0.25f64.ln_1p(), 0.1f64.ln_1p());
    let shares = SectorShares::new(theta);
    let ln_p = theta * ln_t + (1.0 - theta) * ln_c;
    let expected = (-(ln_t - ln_p) - epsilon * ln_p).exp();
    let v = export_value(ln_t, ln_c, &shares, &el(1.0, epsilon, f64::INFINITY));
    assert!(close(v, expected, 1e-14));
    // The CES formula approaches the limit from both sides.
    for s in [1.0 - 1e-6, 1.0 + 1e-6] {
        let near = export_value(ln_t, ln_c, &shares, &el(s, epsilon, f64::INFINITY));
        assert!(close(near, expected, 1e-6), "σ={s}: {near} vs {expected}");
    }
    // And with finite η the solve uses the same limit.
    let a = export_value(ln_t, ln_c, &shares, &el(1.0, epsilon, 3.0));
    let b = export_value(ln_t, ln_c, &shares, &el(1.0 + 1e-7, epsilon, 3.0));
    assert!(close(a, b, 1e-6));
}

#[test]
fn finite_eta_matches_a_bisection_to_1e12() {
    // Reference root by plain bisection on f in extended steps (slow, obviously correct).
    for &(theta, sigma, epsilon, eta, t, c) in &[
        (0.16, 4.0, 1.0, 3.0, 0.25, 0.10),
        (0.6, 0.5, 2.0, 0.3, 0.5, 0.0),
        (0.02, 9.0, 0.2, 0.05, 0.25, 0.25),
        (0.3, 2.0, 2.0, 10.0, -0.1, 0.2),
        (0.99, 6.0, 0.5, 1.0, 1.45, 0.1),
    ] {
        let (ln_t, ln_c) = (f64::ln_1p(t), f64::ln_1p(c));
        let f = |x: f64| {
            let ln_p = ((theta * ((1.0 - sigma) * (x + ln_t)).exp()
                + (1.0 - theta) * ((1.0 - sigma) * ln_c).exp())
            .ln())
                / (1.0 - sigma);
            (eta + sigma) * x + sigma * ln_t + (epsilon - sigma) * ln_p
        };
        let (mut lo, mut hi) = (-20.0f64, 20.0f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                hi = mid
            } else {
                lo = mid
            }
        }
        let x = solve_log_price(
            ln_t,
            ln_c,
            &SectorShares::new(theta),
            &el(sigma, epsilon, eta),
        );
        assert!(
            (x - 0.5 * (lo + hi)).abs() <= 1e-12,
            "case θ={theta} σ={sigma}: {x} vs {lo}"
        );
        assert!(x < 0.0 || t <= c, "a tariff rise lowers the FOB price");
    }
}

#[test]
fn higher_supply_elasticity_means_more_pass_through_and_larger_loss() {
    let shares = SectorShares::new(0.2);
    let (ln_t, ln_c) = (0.25f64.ln_1p(), 0.0);
    let mut previous = f64::INFINITY;
    for eta in [0.1, 1.0, 5.0, 50.0, f64::INFINITY] {
        let v = export_value(ln_t, ln_c, &shares, &el(4.0, 1.0, eta));
        assert!(v < previous, "V must fall as η rises: {v} at η={eta}");
        previous = v;
    }
}

const ONE_SECTOR: &str = r#"
[model]
name = "closed form"
horizon_months = 12
[baseline]
imports_from_importer = 40.0
gdp = 1000.0
[macro]
value_added_share = 0.6
gdp_multiplier = 1.5
[market]
fx_beta = 3.0
fx_noise = 0.5
equity_beta = 8.0
equity_noise = -1.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.25
[[sectors]]
id = "a"
exports = 100.0
share = 0.2
base_tariff = 0.05
competitor_base_tariff = 0.05
sigma = 4.0
epsilon = 1.5
[[sectors]]
id = "b"
exports = 50.0
share = 0.1
sigma = 3.0
epsilon = 0.5
[interim]
tariff = { default = 0.10 }
competitor_tariff = { a = 0.10 }
[[scenarios]]
id = "only"
probability = 1.0
effective_month = 3
purchases = 12.0
tariff = { b = 0.25 }
"#;

#[test]
fn time_weighting_fallbacks_and_macro_outputs() {
    let model = compile_model(ONE_SECTOR, "closed.toml").unwrap();
    let kernel = Kernel::new(&model);
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), 0, &mut out);
    let w = 3.0 / 12.0;
    // Sector a: competitors face the same change (1.10/1.05) in both regimes, the scenario
    // table does not name `a`, so it keeps the interim 10 % (fallback to the previous regime).
    let t_a: f64 = 1.10 / 1.05;
    let v_a = t_a.powf(-1.5);
    // Sector b: interim 10 % (default), competitors unchanged; scenario 25 %.
    let shares = SectorShares::new(0.1);
    let e = el(3.0, 0.5, f64::INFINITY);
    let v_b = w * export_value(0.10f64.ln_1p(), 0.0, &shares, &e)
        + (1.0 - w) * export_value(0.25f64.ln_1p(), 0.0, &shares, &e);
    let loss_a = 100.0 * (1.0 - v_a);
    let loss_b = 50.0 * (1.0 - v_b);
    assert!(
        close(out[FIRST_SECTOR], loss_a, 1e-12),
        "{} vs {loss_a}",
        out[FIRST_SECTOR]
    );
    assert!(close(out[FIRST_SECTOR + 1], loss_b, 1e-12));
    let loss = loss_a + loss_b;
    assert!(close(out[EXPORT_LOSS], loss, 1e-12));
    assert!(close(out[EXPORT_LOSS_PCT], 100.0 * loss / 150.0, 1e-12));
    assert_eq!(out[PURCHASES], 12.0 * (1.0 - w));
    assert!(close(out[SURPLUS_CHANGE], -loss - 9.0, 1e-12));
    assert!(close(out[SURPLUS], 150.0 - 40.0 - loss - 9.0, 1e-12));
    let tariff = (100.0 * 0.10 + 50.0 * (w * 0.10 + (1.0 - w) * 0.25)) / 150.0;
    assert!(close(out[EFFECTIVE_TARIFF], tariff, 1e-12));
    let pct_gdp = 100.0 * loss / 1000.0;
    assert!(close(out[GDP_IMPACT_PCT], -pct_gdp * 0.6 * 1.5, 1e-12));
    let fx = 3.0 * pct_gdp + 0.5;
    let equity = 8.0 * pct_gdp - 1.0;
    assert!(close(out[FX_DEPRECIATION_PCT], fx, 1e-12));
    assert!(close(out[EQUITY_DRAWDOWN_PCT], equity, 1e-12));
    let stress = 0.25 * fx / 10.0 + 0.75 * equity / 20.0;
    assert!(close(out[STRESS_INDEX], stress, 1e-12));
    assert_eq!(out[STRESS_EVENT], if stress >= 1.0 { 1.0 } else { 0.0 });
}

#[test]
fn deal_at_month_zero_skips_the_interim_regime() {
    let text = ONE_SECTOR.replace("effective_month = 3", "effective_month = 0");
    let model = compile_model(&text, "m0.toml").unwrap();
    let kernel = Kernel::new(&model);
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), 0, &mut out);
    let v_b = export_value(
        0.25f64.ln_1p(),
        0.0,
        &SectorShares::new(0.1),
        &el(3.0, 0.5, f64::INFINITY),
    );
    assert!(close(out[FIRST_SECTOR + 1], 50.0 * (1.0 - v_b), 1e-12));
    assert_eq!(out[PURCHASES], 12.0);
}
