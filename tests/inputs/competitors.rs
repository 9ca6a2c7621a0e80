//! Malformed named competitors and redirection (MODEL.md §10, §11): each is refused with the
//! file, line and column, the rule broken and what is accepted; doubtful but valid tables
//! draw a warning.

use tariffsim::model::{apply_overrides, compile_model, ModelError};

use crate::common::{path, run_bin};

/// A valid model with competitors; each case below breaks it in one place.
const BASE: &str = r#"[model]
name = "test"

[baseline]
imports_from_importer = 72.1
gdp = 1870.0
total_exports = 680.0

[macro]
value_added_share = 0.6
gdp_multiplier = 1.0

[market]
fx_beta = 3.0
equity_beta = 8.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0

[[competitors]]
id = "japan"
base_tariff = { default = 0.0, autos = 0.025 }

[[competitors]]
id = "mexico"

[[sectors]]
id = "autos"
exports = 34.7
share = 0.16
sigma = 4.0
epsilon = 1.0
competitor_shares = { japan = 0.21, mexico = 0.23 }
competitor_eta = { default = "inf", mexico = { dist = "lognormal", median = 3, sd_log = 0.5 } }
redirection = { dist = "uniform", low = 0.1, high = 0.3 }

[[sectors]]
id = "other"
exports = 93.1
share = 0.04
sigma = 3.0
epsilon = 1.0

[interim]
tariff = { default = 0.10, autos = 0.25 }
competitor_tariff = { default = 0.10, autos = 0.25 }
[interim.competitors.japan]
tariff = { default = 0.10, autos = 0.25 }

[[scenarios]]
id = "deal"
probability = 1.0
tariff = { default = 0.15 }
[scenarios.competitors.mexico]
tariff = { autos = 0.05 }
"#;

/// Replaces exactly one occurrence of `from` in the base model.
fn with(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "`{from}` must occur once");
    BASE.replacen(from, to, 1)
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect("needle in text")]
        .matches('\n')
        .count()
        + 1
}

/// Asserts that `text` is refused with a message on the line of `at` that contains every
/// needle and names the file, a line and a column.
#[track_caller]
fn rejects(text: &str, at: &str, needles: &[&str]) {
    let line = line_of(text, at);
    let found: Vec<(usize, String)> = match compile_model(text, "bad.toml") {
        Ok(_) => panic!("model accepted but should be rejected:\n{text}"),
        Err(ModelError::Invalid { diagnostics, .. }) => diagnostics
            .into_iter()
            .map(|d| (d.line, d.render("bad.toml")))
            .collect(),
        Err(e) => panic!("unexpected error {e}"),
    };
    let hit = found.iter().any(|(l, m)| {
        *l == line
            && m.starts_with(&format!("bad.toml:{line}:"))
            && needles.iter().all(|n| m.contains(n))
    });
    assert!(hit, "expected line {line} with {needles:?}, got {found:#?}");
}

#[test]
fn the_base_model_is_valid_and_quiet() {
    let model = compile_model(BASE, "base.toml").expect("valid");
    assert_eq!(model.competitors.len(), 2);
    assert!(model.warnings.is_empty(), "{:?}", model.warnings);
    for path in [
        "sectors.autos.competitor_eta.default",
        "sectors.autos.competitor_eta.mexico",
        "sectors.autos.redirection",
        "interim.competitors.japan.tariff.default",
        "interim.competitors.japan.tariff.autos",
        "scenarios.deal.competitors.mexico.tariff.autos",
    ] {
        assert!(model.param_index(path).is_some(), "{path}");
    }
    // X0_j = X0·(θ_j/θ)·(1 + τ0)/(1 + τ0_j): Japan pays 2.5 % at baseline.
    let japan = &model.sectors[0].competitors[0];
    assert!((japan.exports - 34.7 * (0.21 / 0.16) / 1.025).abs() < 1e-12);
    assert!((model.sectors[0].rest_share - 0.40).abs() < 1e-15);
}

#[test]
fn shares_that_leave_rest_negative_say_by_how_much() {
    rejects(
        &with(
            "{ japan = 0.21, mexico = 0.23 }",
            "{ japan = 0.51, mexico = 0.39 }",
        ),
        "competitor_shares",
        &[
            "negative by 0.06",
            "share 0.16 + competitor shares 0.9 = 1.06",
            "accepted: share + the sum of competitor_shares <= 1",
        ],
    );
}

#[test]
fn a_negative_competitor_share_is_refused() {
    rejects(
        &with("mexico = 0.23 }", "mexico = -0.23 }"),
        "competitor_shares",
        &[
            "sectors.autos.competitor_shares.mexico",
            "got -0.23",
            "accepted: in [0, 1]",
        ],
    );
}

#[test]
fn unknown_competitor_ids_are_refused_in_every_table() {
    rejects(
        &with(
            "{ japan = 0.21, mexico = 0.23 }",
            "{ japan = 0.21, mexcio = 0.23 }",
        ),
        "competitor_shares",
        &["unknown competitor `mexcio`", "accepted: japan, mexico"],
    );
    rejects(
        &with("[interim.competitors.japan]", "[interim.competitors.china]"),
        "[interim.competitors.china]",
        &[
            "interim.competitors.china",
            "unknown competitor `china`",
            "accepted: japan, mexico",
        ],
    );
    rejects(
        &with(
            "[scenarios.competitors.mexico]",
            "[scenarios.competitors.canada]",
        ),
        "[scenarios.competitors.canada]",
        &[
            "scenarios.deal.competitors.canada",
            "unknown competitor `canada`",
        ],
    );
    rejects(
        &with("mexico = { dist", "chile = { dist"),
        "competitor_eta",
        &[
            "sectors.autos.competitor_eta.chile",
            "unknown competitor `chile`",
            "accepted keys: rest, default, japan, mexico",
        ],
    );
    // Known, but without a share in this sector.
    rejects(
        &with(
            "epsilon = 1.0\n\n[interim]",
            "epsilon = 1.0\ncompetitor_eta = { japan = 2.0 }\n\n[interim]",
        ),
        "competitor_eta = { japan",
        &[
            "competitor `japan` has no share in this sector",
            "accepted keys: rest, default",
        ],
    );
}

#[test]
fn unknown_sectors_are_refused_in_competitor_tables() {
    rejects(
        &with(
            "{ default = 0.0, autos = 0.025 }",
            "{ default = 0.0, cars = 0.025 }",
        ),
        "base_tariff = { default = 0.0, cars",
        &[
            "competitors.japan.base_tariff.cars",
            "unknown sector `cars`",
            "accepted: default, autos, other",
        ],
    );
    rejects(
        &with("tariff = { autos = 0.05 }", "tariff = { trucks = 0.05 }"),
        "tariff = { trucks",
        &[
            "scenarios.deal.competitors.mexico.tariff.trucks",
            "unknown sector `trucks`",
        ],
    );
}

#[test]
fn redirection_outside_zero_one_is_refused() {
    rejects(
        &with(
            "redirection = { dist = \"uniform\", low = 0.1, high = 0.3 }",
            "redirection = 1.2",
        ),
        "redirection",
        &[
            "sectors.autos.redirection",
            "got 1.2",
            "accepted: in [0, 1]",
        ],
    );
    rejects(
        &with("low = 0.1, high = 0.3 }", "low = 0.5, high = 1.5 }"),
        "redirection",
        &["support [0.5, 1.5]", "accepted: in [0, 1]"],
    );
}

#[test]
fn bad_supply_elasticities_of_competitors_are_refused() {
    rejects(
        &with(
            "default = \"inf\", mexico",
            "default = \"infinite\", mexico",
        ),
        "competitor_eta",
        &[
            "sectors.autos.competitor_eta.default",
            "unknown value \"infinite\"",
            "accepted: \"inf\"",
        ],
    );
    rejects(
        &with(
            "epsilon = 1.0\n\n[interim]",
            "epsilon = 1.0\ncompetitor_eta = 0.0\n\n[interim]",
        ),
        "competitor_eta = 0.0",
        &["sectors.other.competitor_eta", "accepted: > 0"],
    );
}

#[test]
fn competitor_ids_are_checked() {
    rejects(
        &with("id = \"mexico\"", "id = \"rest\""),
        "id = \"rest\"",
        &["`rest` is reserved", "accepted: any other id"],
    );
    rejects(
        &with("id = \"mexico\"", "id = \"japan\""),
        "id = \"japan\"\n\n[[sectors]]",
        &["duplicate id `japan`"],
    );
    rejects(
        &with("id = \"mexico\"", "id = \"mexico\"\nshare = 0.2"),
        "share = 0.2",
        &["unknown key `share` in `competitors.mexico`"],
    );
}

#[test]
fn total_exports_below_exports_to_the_importer_is_refused() {
    rejects(
        &with("total_exports = 680.0", "total_exports = 100.0"),
        "total_exports",
        &[
            "baseline.total_exports",
            "got 100",
            "accepted: exports to all markets >= 127.8",
        ],
    );
}

#[test]
fn a_competitor_in_a_regime_but_in_no_sector_draws_a_warning() {
    let text = with("[[competitors]]\nid = \"mexico\"", "[[competitors]]\nid = \"mexico\"\n\n[[competitors]]\nid = \"china\"")
        .replace(
            "[scenarios.competitors.mexico]",
            "[scenarios.competitors.china]\ntariff = { default = 1.45 }\n[scenarios.competitors.mexico]",
        );
    let model = compile_model(&text, "warn.toml").expect("valid, with warnings");
    let line = line_of(&text, "[scenarios.competitors.china]");
    assert!(
        model
            .warnings
            .iter()
            .any(|w| w.starts_with(&format!("line {line}:"))
                && w.contains("`scenarios.deal.competitors.china`")
                && w.contains("no share in any sector")),
        "{:?}",
        model.warnings
    );
    assert!(
        model
            .warnings
            .iter()
            .any(|w| w.contains("competitor `china` has no share in any sector")),
        "{:?}",
        model.warnings
    );
    // 145 % on a competitor is the 2025 China rate, not a percentage typed as a number.
    assert!(
        !model.warnings.iter().any(|w| w.contains("100 %")),
        "{:?}",
        model.warnings
    );
}

#[test]
fn the_cli_refuses_a_bad_competitor_file_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, with("mexico = 0.23 }", "mexico = 0.93 }")).unwrap();
    let out = run_bin(&[
        "run",
        path(&file),
        "--draws",
        "100",
        "--quiet",
        "--out",
        path(&dir.path().join("out")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("negative by 0.3"), "{stderr}");
    assert!(
        stderr.contains(&format!("bad.toml:{}:", line_of(BASE, "competitor_shares"))),
        "{stderr}"
    );
    assert!(!dir.path().join("out").join("summary.json").exists());
}

#[test]
fn competitor_parameters_take_overrides_and_inf() {
    let model = compile_model(BASE, "base.toml").unwrap();
    let set = |o: &str| apply_overrides(&model, &[o.to_string()]);
    let m = set("sectors.autos.competitor_eta.mexico=\"inf\"").expect("inf is accepted");
    let i = m
        .param_index("sectors.autos.competitor_eta.mexico")
        .unwrap();
    assert_eq!(m.params[i].dist.as_point(), Some(f64::INFINITY));
    let m = set("interim.competitors.japan.tariff.autos=0.15").unwrap();
    let i = m
        .param_index("interim.competitors.japan.tariff.autos")
        .unwrap();
    assert_eq!(m.params[i].dist.as_point(), Some(0.15));
    let e = set("sectors.autos.redirection=1.5").unwrap_err();
    assert!(e.message.contains("accepted: in [0, 1]"), "{}", e.message);
    let e = set("sectors.autos.competitor_eta.mexico=-2").unwrap_err();
    assert!(e.message.contains("accepted: > 0"), "{}", e.message);
}
