//! Malformed model files: each must be rejected with a message naming the line, the key and
//! the rule (issue #2, "Errors people can act on").

use tariffsim::model::{compile_model, ModelError};

/// A valid model; each case below breaks it in one place.
const BASE: &str = r#"[model]
name = "test"
horizon_months = 12

[baseline]
imports_from_importer = 72.1
gdp = 1870.0

[macro]
value_added_share = { dist = "uniform", low = 0.55, high = 0.65 }
gdp_multiplier = 1.0

[market]
fx_beta = { dist = "normal", mean = 3.0, sd = 1.0 }
equity_beta = 8.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.5

[[sectors]]
id = "autos"
exports = 34.7
share = 0.16
sigma = { dist = "lognormal", median = 4.0, sd_log = 0.35 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
eta = "inf"

[[sectors]]
id = "other"
exports = 93.1
share = 0.04
sigma = 3.0
epsilon = { dist = "uniform", low = 0.5, high = 2.0 }

[interim]
tariff = { default = 0.10, autos = 0.25 }

[[scenarios]]
id = "deal"
probability = 0.6
effective_month = { dist = "uniform", low = 3, high = 7 }
tariff = { default = { dist = "uniform", low = 0.10, high = 0.15 }, autos = 0.15 }
purchases = { dist = "uniform", low = 10, high = 30 }

[[scenarios]]
id = "no_deal"
probability = 0.4
effective_month = 3
tariff = { default = 0.25 }

[[correlations]]
between = ["sectors.autos.sigma", "sectors.autos.epsilon"]
rho = 0.3
"#;

fn diagnostics(text: &str) -> Vec<(usize, String)> {
    match compile_model(text, "bad.toml") {
        Ok(_) => panic!("model accepted but should be rejected:\n{text}"),
        Err(ModelError::Invalid { diagnostics, .. }) => diagnostics
            .into_iter()
            .map(|d| (d.line, d.render("bad.toml")))
            .collect(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Replaces exactly one occurrence of `from` in the base model.
fn with(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "`{from}` must occur once");
    BASE.replacen(from, to, 1)
}

#[track_caller]
fn rejects(text: &str, line: usize, needles: &[&str]) {
    let found = diagnostics(text);
    let hit = found
        .iter()
        .any(|(l, m)| *l == line && needles.iter().all(|n| m.contains(n)));
    assert!(hit, "expected line {line} with {needles:?}, got {found:#?}");
    for (_, m) in &found {
        assert!(
            m.starts_with("bad.toml:"),
            "message must name the file: {m}"
        );
    }
}

#[test]
fn the_base_model_is_valid() {
    compile_model(BASE, "base.toml").expect("base model must be valid");
}

#[test]
fn toml_syntax_error_points_at_the_line() {
    rejects(&with("gdp = 1870.0", "gdp = 1870.0.0"), 7, &["bad.toml:7:"]);
}

#[test]
fn unknown_key_is_an_error() {
    rejects(
        &with("exports = 34.7", "exports = 34.7\nexprots = 1"),
        23,
        &["unknown key `exprots` in `sectors.autos`; did you mean `exports`?"],
    );
}

#[test]
fn wrong_type_is_an_error() {
    rejects(
        &with("gdp = 1870.0", "gdp = \"big\""),
        7,
        &["baseline.gdp: got \"big\", where a number belongs; accepted: > 0"],
    );
}

#[test]
fn missing_section_is_an_error() {
    let text = BASE.replace(
        "[baseline]\nimports_from_importer = 72.1\ngdp = 1870.0\n",
        "",
    );
    rejects(&text, 1, &["missing field `baseline`"]);
}

#[test]
fn probabilities_must_sum_to_one() {
    rejects(
        &with("probability = 0.4", "probability = 0.5"),
        40,
        &[
            "sum to 1.1",
            "deal = 0.6",
            "no_deal = 0.5",
            "accepted: a sum of 1 within 1e-9",
        ],
    );
}

#[test]
fn unknown_sector_in_a_tariff_table() {
    rejects(
        &with(
            "tariff = { default = 0.25 }",
            "tariff = { default = 0.25, cars = 0.3 }",
        ),
        49,
        &["unknown sector `cars`", "accepted: default, autos, other"],
    );
}

#[test]
fn unknown_parameter_path_in_correlations() {
    rejects(
        &with("\"sectors.autos.epsilon\"]", "\"sectors.autos.epsilonn\"]"),
        52,
        &["unknown parameter path `sectors.autos.epsilonn`"],
    );
}

#[test]
fn correlation_of_a_fixed_number() {
    rejects(
        &with("\"sectors.autos.epsilon\"]", "\"sectors.other.sigma\"]"),
        52,
        &["fixed number"],
    );
}

#[test]
fn correlation_matrix_not_positive_definite() {
    let text = format!(
        "{BASE}\n[[correlations]]\nbetween = [\"sectors.autos.sigma\", \"sectors.other.epsilon\"]\nrho = 0.9\n\n[[correlations]]\nbetween = [\"sectors.autos.epsilon\", \"sectors.other.epsilon\"]\nrho = -0.9\n"
    );
    rejects(
        &text,
        51,
        &["not positive definite", "line 51", "line 55", "line 59"],
    );
}

#[test]
fn rho_out_of_range() {
    rejects(
        &with("rho = 0.3", "rho = 1.0"),
        53,
        &["correlations.rho", "accepted: -1 < rho < 1"],
    );
}

#[test]
fn effective_month_beyond_the_horizon() {
    rejects(
        &with("effective_month = 3\n", "effective_month = 13\n"),
        48,
        &[
            "scenarios.no_deal.effective_month",
            "accepted: in [0, model.horizon_months]",
        ],
    );
}

#[test]
fn effective_month_distribution_beyond_the_horizon() {
    rejects(
        &with("low = 3, high = 7", "low = 3, high = 17"),
        41,
        &["support [3, 17]"],
    );
}

#[test]
fn non_finite_numbers_are_rejected() {
    rejects(
        &with("gdp = 1870.0", "gdp = inf"),
        7,
        &["baseline.gdp", "got inf"],
    );
}

#[test]
fn negative_sd() {
    rejects(
        &with("mean = 3.0, sd = 1.0", "mean = 3.0, sd = -1.0"),
        14,
        &["market.fx_beta", "sd"],
    );
}

#[test]
fn unknown_distribution() {
    rejects(
        &with("dist = \"normal\"", "dist = \"gauss\""),
        14,
        &["market.fx_beta", "gauss"],
    );
}

#[test]
fn share_out_of_range() {
    rejects(
        &with("share = 0.16", "share = 1.6"),
        23,
        &["sectors.autos.share", "accepted: in (0, 1]"],
    );
}

#[test]
fn sigma_must_be_positive() {
    rejects(
        &with("sigma = 3.0", "sigma = 0.0"),
        32,
        &["sectors.other.sigma", "accepted: > 0"],
    );
}

#[test]
fn sigma_distribution_reaching_negative_values() {
    rejects(
        &with(
            "sigma = 3.0",
            "sigma = { dist = \"normal\", mean = 3.0, sd = 1.0 }",
        ),
        32,
        &["sectors.other.sigma", "support"],
    );
}

#[test]
fn epsilon_must_be_non_negative() {
    rejects(
        &with("low = 0.5, high = 2.0", "low = -0.5, high = 2.0"),
        33,
        &["sectors.other.epsilon", "accepted: >= 0"],
    );
}

#[test]
fn eta_string_other_than_inf() {
    rejects(
        &with("eta = \"inf\"", "eta = \"infinite\""),
        26,
        &["sectors.autos.eta", "accepted: \"inf\""],
    );
}

#[test]
fn tariff_at_or_below_minus_one() {
    rejects(
        &with("autos = 0.15 }", "autos = -1.0 }"),
        42,
        &["scenarios.deal.tariff.autos", "accepted: > -1"],
    );
}

#[test]
fn duplicate_sector_id() {
    rejects(
        &with("id = \"other\"", "id = \"autos\""),
        29,
        &["duplicate id `autos`"],
    );
}

#[test]
fn duplicate_scenario_id() {
    rejects(
        &with("id = \"no_deal\"", "id = \"deal\""),
        46,
        &["duplicate id `deal`"],
    );
}

#[test]
fn no_sectors() {
    let start = BASE.find("[[sectors]]").unwrap();
    let end = BASE.find("[interim]").unwrap();
    let text = format!("{}{}", &BASE[..start], &BASE[end..]).replace("autos = 0.25", "").replace(", autos = 0.15", "").replace("[[correlations]]\nbetween = [\"sectors.autos.sigma\", \"sectors.autos.epsilon\"]\nrho = 0.3\n", "");
    let found = diagnostics(&text);
    assert!(
        found.iter().any(|(_, m)| m.contains("no sectors")),
        "{found:#?}"
    );
}

#[test]
fn no_scenarios() {
    let start = BASE.find("[[scenarios]]").unwrap();
    let end = BASE.find("[[correlations]]").unwrap();
    let text = format!("{}{}", &BASE[..start], &BASE[end..]);
    let found = diagnostics(&text);
    assert!(
        found.iter().any(|(_, m)| m.contains("no scenarios")),
        "{found:#?}"
    );
}

#[test]
fn value_added_share_above_one() {
    rejects(
        &with("low = 0.55, high = 0.65", "low = 0.55, high = 1.65"),
        10,
        &["macro.value_added_share", "accepted: in (0, 1]"],
    );
}

#[test]
fn fx_weight_out_of_range() {
    rejects(
        &with("fx_weight = 0.5", "fx_weight = 1.5"),
        18,
        &["market.fx_weight", "accepted: in [0, 1]"],
    );
}

#[test]
fn negative_purchases() {
    rejects(
        &with("low = 10, high = 30", "low = -10, high = 30"),
        43,
        &["scenarios.deal.purchases", "accepted: >= 0"],
    );
}

#[test]
fn uniform_with_low_above_high() {
    rejects(
        &with("low = 10, high = 30", "low = 30, high = 10"),
        43,
        &["scenarios.deal.purchases"],
    );
}

#[test]
fn missing_key_of_a_distribution() {
    rejects(
        &with("low = 10, high = 30", "low = 10"),
        43,
        &["scenarios.deal.purchases", "high"],
    );
}

#[test]
fn gdp_must_be_positive() {
    rejects(
        &with("gdp = 1870.0", "gdp = 0"),
        7,
        &["baseline.gdp", "accepted: > 0"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = with("gdp = 1870.0", "gdp = -1").replace("share = 0.16", "share = 0");
    let found = diagnostics(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].0, 7);
    assert_eq!(found[1].0, 23);
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.toml");
    std::fs::write(&path, b"[model]\nname = \"\xff\xfe\"\n").unwrap();
    match tariffsim::model::load_model(&path) {
        Err(ModelError::Invalid { diagnostics, .. }) => {
            assert_eq!(diagnostics[0].line, 2);
            assert!(diagnostics[0].message.contains("UTF-8"));
        }
        other => panic!("{other:?}"),
    }
}

// MODEL.md §15: the package keys, each outside its range.

#[test]
fn negative_investment_is_refused() {
    rejects(
        &with(
            "purchases = { dist = \"uniform\", low = 10, high = 30 }",
            "purchases = 10\ninvestment = -5",
        ),
        44,
        &[
            "bad.toml:44:",
            "scenarios.deal.investment",
            "got -5",
            "accepted: >= 0",
        ],
    );
}

#[test]
fn defence_that_can_be_negative_is_refused() {
    rejects(
        &with(
            "purchases = { dist = \"uniform\", low = 10, high = 30 }",
            "defence = { dist = \"normal\", mean = 1.0, sd = 0.5 }",
        ),
        43,
        &[
            "bad.toml:43:",
            "scenarios.deal.defence",
            "normal",
            "accepted: >= 0",
        ],
    );
}

#[test]
fn fx_conversion_above_one_is_refused() {
    rejects(
        &with("fx_weight = 0.5", "fx_weight = 0.5\nfx_conversion = 1.5"),
        19,
        &[
            "bad.toml:19:",
            "market.fx_conversion",
            "got 1.5",
            "in [0, 1]",
        ],
    );
}

#[test]
fn negative_fx_flow_beta_is_refused() {
    rejects(
        &with(
            "fx_weight = 0.5",
            "fx_weight = 0.5\nfx_flow_beta = { dist = \"uniform\", low = -0.5, high = 1.0 }",
        ),
        19,
        &[
            "bad.toml:19:",
            "market.fx_flow_beta",
            "support [-0.5, 1]",
            ">= 0",
        ],
    );
}

#[test]
fn crowd_out_outside_zero_one_is_refused() {
    rejects(
        &with(
            "gdp_multiplier = 1.0",
            "gdp_multiplier = 1.0\ninvestment_crowd_out = -0.1",
        ),
        12,
        &[
            "bad.toml:12:",
            "macro.investment_crowd_out",
            "got -0.1",
            "in [0, 1]",
        ],
    );
}

#[test]
fn a_package_key_of_the_wrong_type_is_refused() {
    rejects(
        &with(
            "purchases = { dist = \"uniform\", low = 10, high = 30 }",
            "investment = \"a lot\"",
        ),
        43,
        &["bad.toml:43:", "scenarios.deal.investment"],
    );
}

/// Issue 15, item 6: parameters of absurd size made `validate` hang (beta and PERT quantile
/// tables, Student-t with df = 1e50); every number is now bounded, with the range in the
/// message, and refused at once.
#[test]
fn absurd_distribution_parameters_are_refused_quickly() {
    let epsilon = "epsilon = { dist = \"uniform\", low = 0.5, high = 1.5 }";
    let cases = [
        ("{ dist = \"beta\", alpha = 1e20, beta = 1e20 }", "alpha"),
        ("{ dist = \"beta\", alpha = 2, beta = 1e300 }", "beta"),
        ("{ dist = \"beta\", alpha = 1e-9, beta = 2 }", "alpha"),
        (
            "{ dist = \"student_t\", df = 1e50, loc = 1, scale = 0.1 }",
            "df",
        ),
        (
            "{ dist = \"pert\", low = 0, mode = 1, high = 1e308 }",
            "high",
        ),
        (
            "{ dist = \"pert\", low = 0, mode = 1, high = 2, lambda = 1e308 }",
            "lambda",
        ),
        (
            "{ dist = \"lognormal\", median = 1, sd_log = 300 }",
            "sd_log",
        ),
        ("{ dist = \"normal\", mean = 1, sd = 1e200 }", "sd"),
        (
            "{ dist = \"discrete\", values = [1, 1e16], weights = [1, 1] }",
            "values",
        ),
        (
            "{ dist = \"uniform\", low = 0.5, high = 123456789012345678 }",
            "high",
        ),
    ];
    for (spec, key) in cases {
        let started = std::time::Instant::now();
        let text = with(epsilon, &format!("epsilon = {spec}"));
        rejects(&text, 25, &[key, "accepted"]);
        assert!(
            started.elapsed().as_secs_f64() < 2.0,
            "{spec} took too long"
        );
    }
    // Plain numbers obey the same bound.
    rejects(
        &with("exports = 34.7", "exports = 1e300"),
        22,
        &["at most 1e15"],
    );
}

/// Issue 15, item 9: `tariff = { default = 10, autos = 25 }` (percentages typed as numbers)
/// passed and reported a 51 % loss. Rates ≥ 5 (500 %) are refused with the fraction they
/// probably meant; the same for every field whose unit is a fraction.
#[test]
fn percentages_typed_as_fractions_are_refused_with_a_suggestion() {
    rejects(
        &with(
            "tariff = { default = 0.10, autos = 0.25 }",
            "tariff = { default = 10, autos = 25 }",
        ),
        36,
        &["interim.tariff.default", "did you mean 0.10?"],
    );
    rejects(
        &with(
            "tariff = { default = 0.10, autos = 0.25 }",
            "tariff = { default = 0.1, autos = { dist = \"uniform\", low = 20, high = 30 } }",
        ),
        36,
        &["interim.tariff.autos", "did you mean 0.30?"],
    );
    rejects(
        &with("share = 0.16", "share = 30"),
        23,
        &["share", "did you mean 0.30?"],
    );
    rejects(
        &with("fx_weight = 0.5", "fx_weight = 50"),
        18,
        &["fx_weight", "did you mean 0.50?"],
    );
    rejects(
        &with(
            "value_added_share = { dist = \"uniform\", low = 0.55, high = 0.65 }",
            "value_added_share = { dist = \"uniform\", low = 55, high = 65 }",
        ),
        10,
        &["value_added_share", "did you mean 0.65?"],
    );
}

/// Rates in [1, 5) are real (145 %) but rare: accepted with a warning that names the line.
#[test]
fn rates_of_100_percent_or_more_are_accepted_with_a_warning() {
    let text = with(
        "tariff = { default = 0.10, autos = 0.25 }",
        "tariff = { default = 0.10, autos = 1.45 }",
    );
    let model = compile_model(&text, "big.toml").expect("145 % is a valid rate");
    assert!(
        model.warnings.iter().any(|w| w.contains("line 36")
            && w.contains("interim.tariff.autos")
            && w.contains("145 %")),
        "{:?}",
        model.warnings
    );
    assert!(compile_model(BASE, "base.toml")
        .unwrap()
        .warnings
        .is_empty());
}

/// Issue 15, item 10: sums printed as a person reads them, a bare `inf` explained, and
/// messages pointing to the user's docs (docs/model.md), not to a MODEL.md they do not have.
#[test]
fn messages_print_sums_as_typed_explain_inf_and_cite_the_users_docs() {
    rejects(
        &with("probability = 0.4", "probability = 0.3"),
        40,
        &["sum to 0.9 ", "no_deal = 0.3"],
    );
    rejects(
        &with("eta = \"inf\"", "eta = inf"),
        26,
        &["the string \"inf\"", "sectors.autos.eta"],
    );
    let text = BASE.replace(
        "[baseline]\nimports_from_importer = 72.1\ngdp = 1870.0\n",
        "",
    );
    for (_, m) in diagnostics(&text).into_iter().chain(diagnostics(&with(
        "between = [\"sectors.autos.sigma\"",
        "between = [\"sectors.autos.nope\"",
    ))) {
        assert!(!m.contains("MODEL.md"), "{m}");
        assert!(m.contains("docs/model.md §4"), "{m}");
    }
}
