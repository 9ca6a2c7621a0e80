//! MODEL.md §15, the package deal: investment pledges and defence cost-sharing, their FX and
//! GDP channels, against closed forms (issue 17).

use tariffsim::kernel::Kernel;
use tariffsim::model::{compile_model, Model};
use tariffsim::outputs::*;
use tariffsim::run::{self, RunConfig};

const GDP: f64 = 1000.0;
const EXPORTS: f64 = 50.0;

/// One sector with perfectly elastic supply and the same tariff on the exporter and its
/// competitors, so V = (1 + τ)^(−ε) in closed form (relative prices do not move); ε = 1.
/// `deal` is inserted into the deal scenario, `market` and `macro_` into those tables.
fn model_text(deal: &str, market: &str, macro_: &str) -> String {
    format!(
        r#"[model]
name = "package test"
horizon_months = 12

[baseline]
imports_from_importer = 20.0
gdp = {GDP}

[macro]
value_added_share = 0.6
gdp_multiplier = 1.5
{macro_}

[market]
fx_beta = 1.0
fx_noise = 0.0
equity_beta = 5.0
equity_noise = 0.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.5
{market}

[[sectors]]
id = "goods"
exports = {EXPORTS}
share = 0.2
sigma = 4.0
epsilon = 1.0
eta = "inf"

[interim]
tariff = {{ default = 0.25 }}
competitor_tariff = {{ default = 0.25 }}

[[scenarios]]
id = "deal"
probability = 0.6
tariff = {{ default = 0.10 }}
competitor_tariff = {{ default = 0.10 }}
{deal}

[[scenarios]]
id = "no_deal"
probability = 0.4
effective_month = 3
"#
    )
}

fn compile(text: &str) -> Model {
    compile_model(text, "package.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The output row of scenario `k` at the model's medians (every parameter here is a point mass
/// unless a test says otherwise).
fn row(model: &Model, k: usize) -> Vec<f64> {
    let kernel = Kernel::new(model);
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), k, &mut out);
    out
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

#[test]
fn investment_with_a_point_mass_fx_flow_beta_matches_the_closed_form() {
    let (investment, defence, purchases, m) = (40.0, 2.0, 10.0, 3.0);
    let (flow_beta, conversion, crowd_out) = (0.9, 0.5, 0.3);
    let text = model_text(
        &format!(
            "effective_month = {m}\npurchases = {purchases}\ninvestment = {investment}\ndefence = {defence}"
        ),
        &format!("fx_flow_beta = {flow_beta}\nfx_conversion = {conversion}"),
        &format!("investment_crowd_out = {crowd_out}"),
    );
    let model = compile(&text);
    let out = row(&model, 0);
    let paid = 1.0 - m / 12.0;
    let v = (m / 12.0) / 1.25 + paid / 1.10;
    let loss = EXPORTS * (1.0 - v);
    let outflow = investment * paid;
    assert!(close(out[EXPORT_LOSS], loss, 1e-10), "{}", out[EXPORT_LOSS]);
    assert_eq!(out[INVESTMENT_OUTFLOW], outflow);
    assert_eq!(out[DEFENCE_COST], defence * paid);
    assert!(close(
        out[DEAL_COST],
        (purchases + defence) * paid + outflow,
        1e-15
    ));
    assert!(close(
        out[FISCAL_COST_PCT],
        100.0 * defence * paid / GDP,
        1e-15
    ));
    let fx = 1.0 * 100.0 * loss / GDP + flow_beta * 100.0 * conversion * outflow / GDP;
    assert!(
        close(out[FX_DEPRECIATION_PCT], fx, 1e-10),
        "{}",
        out[FX_DEPRECIATION_PCT]
    );
    let gdp = -100.0 * loss * 0.6 * 1.5 / GDP - 100.0 * crowd_out * outflow * 1.5 / GDP;
    assert!(
        close(out[GDP_IMPACT_PCT], gdp, 1e-10),
        "{}",
        out[GDP_IMPACT_PCT]
    );
    // The stress index reads the new depreciation (equity has no package channel).
    let equity = 5.0 * 100.0 * loss / GDP;
    let stress = 0.5 * fx / 10.0 + 0.5 * equity / 20.0;
    assert!(close(out[STRESS_INDEX], stress, 1e-10));
    // The package moves neither trade nor the surplus (purchases do, as in §5).
    assert!(close(out[SURPLUS_CHANGE], -loss - purchases * paid, 1e-10));
}

#[test]
fn a_package_with_no_channels_leaves_every_section_5_output_unchanged() {
    let base = compile(&model_text("effective_month = 3\npurchases = 10", "", ""));
    // Investment and defence paid, but no FX conversion and no crowding out.
    let with = compile(&model_text(
        "effective_month = 3\npurchases = 10\ninvestment = 40\ndefence = 2",
        "fx_flow_beta = 0.9\nfx_conversion = 0.0",
        "investment_crowd_out = 0.0",
    ));
    let (a, b) = (row(&base, 0), row(&with, 0));
    for o in [
        EXPORT_LOSS,
        PURCHASES,
        SURPLUS_CHANGE,
        SURPLUS,
        GDP_IMPACT_PCT,
        FX_DEPRECIATION_PCT,
        EQUITY_DRAWDOWN_PCT,
        STRESS_INDEX,
        STRESS_EVENT,
    ] {
        assert_eq!(a[o].to_bits(), b[o].to_bits(), "{}", HEADLINE[o]);
    }
    assert_eq!(b[INVESTMENT_OUTFLOW], 30.0);
    assert_eq!(a[INVESTMENT_OUTFLOW], 0.0);
}

#[test]
fn crowd_out_zero_leaves_gdp_unchanged_while_the_won_moves() {
    let base = compile(&model_text("effective_month = 3", "", ""));
    let with = compile(&model_text(
        "effective_month = 3\ninvestment = 40",
        "fx_flow_beta = 1.0\nfx_conversion = 1.0",
        "investment_crowd_out = 0.0",
    ));
    let (a, b) = (row(&base, 0), row(&with, 0));
    assert_eq!(a[GDP_IMPACT_PCT].to_bits(), b[GDP_IMPACT_PCT].to_bits());
    // 30 bn bought in the market is 3 % of GDP: 3 points of depreciation at beta 1.
    assert!(close(
        b[FX_DEPRECIATION_PCT] - a[FX_DEPRECIATION_PCT],
        3.0,
        1e-12
    ));
}

#[test]
fn a_deal_that_starts_at_the_horizon_pays_nothing() {
    let base = compile(&model_text("effective_month = 12\npurchases = 10", "", ""));
    let with = compile(&model_text(
        "effective_month = 12\npurchases = 10\ninvestment = 40\ndefence = 2",
        "fx_flow_beta = 1.0\nfx_conversion = 1.0",
        "investment_crowd_out = 1.0",
    ));
    let (a, b) = (row(&base, 0), row(&with, 0));
    for o in [
        INVESTMENT_OUTFLOW,
        DEFENCE_COST,
        DEAL_COST,
        FISCAL_COST_PCT,
        PURCHASES,
    ] {
        assert_eq!(b[o], 0.0, "{}", HEADLINE[o]);
    }
    for (o, name) in HEADLINE.iter().enumerate() {
        assert_eq!(a[o].to_bits(), b[o].to_bits(), "{name}");
    }
}

#[test]
fn a_model_without_the_package_keys_has_no_package_parameters() {
    let model = compile(&model_text("effective_month = 3\npurchases = 10", "", ""));
    for p in &model.params {
        for key in [
            "investment",
            "defence",
            "fx_flow_beta",
            "fx_conversion",
            "crowd_out",
        ] {
            assert!(!p.path.contains(key), "{}", p.path);
        }
    }
    let with = compile(&model_text(
        "effective_month = 3\ninvestment = { dist = \"uniform\", low = 20, high = 60 }\ndefence = 1",
        "fx_flow_beta = { dist = \"lognormal\", median = 1.0, sd_log = 0.5 }\nfx_conversion = 0.5",
        "investment_crowd_out = 0.2",
    ));
    let paths: Vec<&str> = with.params.iter().map(|p| p.path.as_str()).collect();
    for path in [
        "scenarios.deal.investment",
        "scenarios.deal.defence",
        "market.fx_flow_beta",
        "market.fx_conversion",
        "macro.investment_crowd_out",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    // Two uncertain parameters more than the model without them: the investment and the beta.
    assert_eq!(with.dimension, model.dimension + 2);
}

#[test]
fn per_scenario_conditional_means_of_deal_cost() {
    // Independent draws: E[(P + I + D)(1 − m/12)] = (20 + 40 + 2)·(1 − 5/12).
    let model = compile(&model_text(
        "effective_month = { dist = \"uniform\", low = 3, high = 7 }\n\
         purchases = { dist = \"uniform\", low = 10, high = 30 }\n\
         investment = 40\n\
         defence = { dist = \"uniform\", low = 1, high = 3 }",
        "fx_flow_beta = 1.0\nfx_conversion = 0.5",
        "",
    ));
    let draws = 40_000;
    let stats = run::run(
        &model,
        &RunConfig {
            draws,
            seed: 17,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
    .stats;
    let deal = stats.scenario_moments(0, DEAL_COST);
    let n_deal = stats.scenario_counts()[0] as f64;
    let expected = 62.0 * (1.0 - 5.0 / 12.0);
    assert!(
        (deal.mean - expected).abs() < 4.0 * deal.sd / n_deal.sqrt(),
        "deal_cost | deal = {} ± {}, expected {expected}",
        deal.mean,
        deal.sd / n_deal.sqrt()
    );
    // Its parts add up in every draw, so their conditional means do too.
    let parts: f64 = [PURCHASES, INVESTMENT_OUTFLOW, DEFENCE_COST]
        .iter()
        .map(|&o| stats.scenario_moments(0, o).mean)
        .sum();
    assert!(close(deal.mean, parts, 1e-12));
    let invest = stats.scenario_moments(0, INVESTMENT_OUTFLOW);
    assert!((invest.mean - 40.0 * 7.0 / 12.0).abs() < 4.0 * invest.sd / n_deal.sqrt());
    // No deal, no package: 0 in every draw. The moments are summed around a shift (the output
    // at the median input, a deal draw here), so 0 comes back to rounding, not exactly.
    let none = stats.scenario_moments(1, DEAL_COST);
    assert!(none.mean.abs() < 1e-9 && none.sd < 1e-4, "{none:?}");
    // Overall mean = Σ frequency · conditional mean.
    let overall = stats.output_summary(DEAL_COST).mean;
    assert!(close(overall, deal.mean * n_deal / draws as f64, 1e-12));
}

// What the deal costs (the report's view): common random numbers across scenarios.

use tariffsim::deal::DealCosts;

fn costs(model: &Model, draws: u64, threads: usize) -> DealCosts {
    DealCosts::compute(
        model,
        &RunConfig {
            draws,
            seed: 5,
            threads,
            ..Default::default()
        },
    )
    .unwrap()
    .expect("two scenarios")
}

#[test]
fn tariff_relief_and_the_won_split_match_the_closed_form() {
    let model = compile(&model_text(
        "effective_month = 3\npurchases = 10\ninvestment = 40\ndefence = 2",
        "fx_flow_beta = 0.9\nfx_conversion = 0.5",
        "investment_crowd_out = 0.3",
    ));
    let c = costs(&model, 3000, 2);
    assert_eq!(c.reference.as_deref(), Some("no_deal"));
    assert_eq!(c.draws, 3000);
    // No deal keeps the interim 25 % all year: V = 0.8.
    let no_deal_loss = EXPORTS * (1.0 - 0.8);
    let deal_loss = EXPORTS * (1.0 - (0.25 * 0.8 + 0.75 / 1.1));
    let (deal, none) = (&c.scenarios["deal"], &c.scenarios["no_deal"]);
    assert!(close(
        deal.tariff_relief.mean,
        no_deal_loss - deal_loss,
        1e-9
    ));
    assert!(deal.tariff_relief.se < 1e-9, "{}", deal.tariff_relief.se);
    assert_eq!(none.tariff_relief.mean, 0.0);
    assert_eq!(deal.deal_cost, (10.0 + 40.0 + 2.0) * 0.75);
    let flow = 0.9 * 100.0 * 0.5 * 30.0 / GDP;
    assert!(close(deal.fx_depreciation_pct.investment_flow, flow, 1e-12));
    assert!(close(
        deal.fx_depreciation_pct.trade,
        100.0 * deal_loss / GDP,
        1e-9
    ));
    assert_eq!(deal.fx_depreciation_pct.noise, 0.0);
    assert!(close(
        deal.gdp_impact_pct.crowd_out,
        -100.0 * 0.3 * 30.0 * 1.5 / GDP,
        1e-12
    ));
    assert_eq!(none.fx_depreciation_pct.investment_flow, 0.0);
    assert_eq!(none.gdp_impact_pct.crowd_out, 0.0);
}

#[test]
fn deal_costs_do_not_depend_on_threads_and_agree_with_conditional_means() {
    let model = compile(
        &model_text(
            "effective_month = { dist = \"uniform\", low = 2, high = 8 }\ninvestment = { dist = \"uniform\", low = 10, high = 50 }",
            "fx_flow_beta = { dist = \"lognormal\", median = 1.0, sd_log = 0.5 }\nfx_conversion = 0.5\nfx_noise = { dist = \"normal\", mean = 0.0, sd = 2.0 }",
            "",
        )
        .replace("fx_noise = 0.0\n", "")
        .replace("epsilon = 1.0", "epsilon = { dist = \"uniform\", low = 0.5, high = 2.5 }"),
    );
    let draws = 20_000;
    let one = costs(&model, draws, 1);
    let two = costs(&model, draws, 2);
    assert_eq!(one, two);
    // The CRN relief and the difference of the run's conditional means estimate the same
    // thing; the latter is far noisier.
    let stats = run::run(
        &model,
        &RunConfig {
            draws,
            seed: 5,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap()
    .stats;
    let counts = stats.scenario_counts();
    let (d, n) = (
        stats.scenario_moments(0, EXPORT_LOSS),
        stats.scenario_moments(1, EXPORT_LOSS),
    );
    let se = (d.sd * d.sd / counts[0] as f64 + n.sd * n.sd / counts[1] as f64).sqrt();
    let relief = &one.scenarios["deal"];
    assert!(
        ((n.mean - d.mean) - relief.tariff_relief.mean).abs() < 4.0 * se,
        "{} vs {} ± {se}",
        n.mean - d.mean,
        relief.tariff_relief.mean
    );
    assert!(relief.tariff_relief.se < se / 3.0, "CRN should be sharper");
    // Channels add up.
    assert!(close(
        relief.fx_depreciation_pct.trade
            + relief.fx_depreciation_pct.investment_flow
            + relief.fx_depreciation_pct.noise,
        relief.fx_depreciation_pct.total,
        1e-12
    ));
}

#[test]
fn the_default_model_without_its_package_gives_the_results_it_gave_before_bit_for_bit() {
    // The default model as it was before MODEL.md §15 (no investment, defence or package
    // channels): the values tests/pinned.rs held for it then, bit for bit.
    let model = compile_model(
        include_str!("../fixtures/korea_us_2025_without_package.toml"),
        "korea_us_2025_without_package.toml",
    )
    .unwrap();
    for threads in [1, 2] {
        let config = RunConfig {
            draws: 10_000,
            seed: 1,
            threads,
            ..Default::default()
        };
        let stats = run::run(&model, &config).unwrap().stats;
        let loss = stats.output_summary(EXPORT_LOSS);
        assert_eq!(loss.mean, 14.32800730404366);
        assert_eq!(loss.sd, 9.332592501612117);
        assert_eq!(loss.quantiles[7], 28.201171875);
        assert_eq!(
            stats.output_summary(GDP_IMPACT_PCT).quantiles[4],
            -0.5135498046875
        );
        assert_eq!(stats.output_summary(STRESS_EVENT).mean, 0.0142);
        assert_eq!(stats.output_summary(FIRST_SECTOR).es[1], 11.431160620318451);
        assert_eq!(stats.scenario_counts(), &[3438, 2551, 1983, 1195, 833]);
        for o in [INVESTMENT_OUTFLOW, DEFENCE_COST, FISCAL_COST_PCT] {
            assert_eq!(stats.output_summary(o).max, 0.0, "{}", HEADLINE[o]);
        }
    }
}

#[test]
fn with_the_monthly_path_the_package_outputs_are_the_same_and_the_months_ignore_them() {
    // The package terms are annual (MODEL.md §15); the months of §12 carry trade only. A model
    // with `monthly = true` gives the same headline row, and its monthly outputs do not depend
    // on the package.
    let package = (
        "effective_month = 4.5\npurchases = 10\ninvestment = 40\ndefence = 2",
        "fx_flow_beta = 0.9\nfx_conversion = 0.5",
        "investment_crowd_out = 0.3",
    );
    let annual = compile(&model_text(package.0, package.1, package.2));
    let monthly_text = |deal: &str, market: &str, macro_: &str| {
        model_text(deal, market, macro_).replace(
            "horizon_months = 12\n",
            "horizon_months = 12\nmonthly = true\n",
        )
    };
    let monthly = compile(&monthly_text(package.0, package.1, package.2));
    let bare = compile(&monthly_text("effective_month = 4.5", "", ""));
    let (a, m, b) = (row(&annual, 0), row(&monthly, 0), row(&bare, 0));
    assert!(m.len() > a.len(), "monthly outputs present");
    for (o, name) in HEADLINE.iter().enumerate() {
        assert_eq!(a[o].to_bits(), m[o].to_bits(), "{name}");
    }
    assert_eq!(m[INVESTMENT_OUTFLOW], 40.0 * (1.0 - 4.5 / 12.0));
    let first = tariffsim::outputs::first_month_index(&monthly);
    assert_eq!(&m[first..], &b[first..]);
}
