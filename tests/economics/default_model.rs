//! The shipped models (issue #3): they validate, the teaching model matches its closed form,
//! and the default model's headline results for a fixed seed stay within the bounds
//! documented in docs/korea_us_2025.md — a guard against accidental recalibration.

use tariffsim::model::{compile_model, load_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::outputs::*;
use tariffsim::run::{self, RunConfig};

#[test]
fn every_shipped_model_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files = vec![dir.join("korea_us_2025.toml")];
    for entry in std::fs::read_dir(dir.join("examples")).unwrap() {
        // Model files only (examples/observed/ holds observation files).
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    assert!(files.len() >= 4);
    for f in files {
        load_model(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn the_default_model_covers_korean_exports_to_the_us() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    assert!(model.sectors.len() >= 10);
    // MOTIE, Jan 2025: 127.8 USD bn in 2024.
    assert!((model.total_exports() - 127.8).abs() < 1e-9);
    // MOTIE, 1 Jan 2025: 683.8 USD bn to all markets in 2024 (issue 13, net_export_loss_pct).
    assert!((model.total_exports_all_markets - 683.8).abs() < 1e-9);
    // Every named competitor has a share in at least one sector (no validation warning).
    assert!(model.competitors.len() >= 7);
    assert!(model.scenarios.len() >= 4);
    assert!((model.gdp - 1868.0).abs() < 1e-9);
}

#[test]
fn one_sector_example_matches_its_closed_form() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/examples/one_sector.toml");
    let model = load_model(&path).unwrap();
    let outcome = run::run(
        &model,
        &RunConfig {
            draws: 100_000,
            seed: 3,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let s = outcome.stats.output_summary(EXPORT_LOSS);
    // 10·(1 − E[1.25^(−ε)]), ε ~ U(0.5, 1.5).
    let lt = 1.25f64.ln();
    let expected = 10.0 * (1.0 - ((-0.5 * lt).exp() - (-1.5 * lt).exp()) / lt);
    assert!(
        (s.mean - expected).abs() < 4.0 * s.se_mean,
        "{} vs {expected}",
        s.mean
    );
}

/// Documented ranges of (export loss mean, export loss p95, GDP impact mean, P(stress)).
struct Bounds {
    loss_mean: (f64, f64),
    loss_p95: (f64, f64),
    gdp_mean: (f64, f64),
    stress: (f64, f64),
}

fn check_bounds(model: &tariffsim::model::Model, b: &Bounds) -> tariffsim::stats::RunStats {
    let outcome = run::run(
        model,
        &RunConfig {
            draws: 100_000,
            seed: 2025,
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let stats = outcome.stats;
    let within = |o: usize, stat: &str, value: f64, (lo, hi): (f64, f64)| {
        assert!(
            (lo..=hi).contains(&value),
            "{} {stat} = {value}, documented range [{lo}, {hi}]",
            HEADLINE[o]
        );
    };
    let loss = stats.output_summary(EXPORT_LOSS);
    within(EXPORT_LOSS, "mean", loss.mean, b.loss_mean);
    within(EXPORT_LOSS, "p95", loss.quantiles[7], b.loss_p95);
    let gdp = stats.output_summary(GDP_IMPACT_PCT);
    within(GDP_IMPACT_PCT, "mean", gdp.mean, b.gdp_mean);
    let stress = stats.output_summary(STRESS_EVENT);
    within(STRESS_EVENT, "mean", stress.mean, b.stress);
    let tariff = stats.output_summary(EFFECTIVE_TARIFF);
    within(EFFECTIVE_TARIFF, "mean", tariff.mean, (0.14, 0.17));
    // Scenario ordering: no deal and escalation hurt most, the extended pause least.
    let by_id = |id: &str| {
        let k = model.scenarios.iter().position(|s| s.id == id).unwrap();
        stats.scenario_moments(k, EXPORT_LOSS).mean
    };
    assert!(by_id("escalation") > by_id("package_deal"));
    assert!(by_id("no_deal") > by_id("partial_deal"));
    assert!(by_id("pause_extended") < by_id("package_deal"));
    stats
}

#[test]
fn default_model_headline_results_stay_within_documented_bounds() {
    // The shipped model: gradual adjustment (half-lives) and growth (issue 12).
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let stats = check_bounds(
        &model,
        &Bounds {
            loss_mean: (3.5, 7.0),
            loss_p95: (7.0, 12.5),
            gdp_mean: (-0.30, -0.12),
            stress: (0.002, 0.02),
        },
    );
    let change = stats.output_summary(export_change_index(&model));
    assert!(
        (-6.0..=-1.0).contains(&change.mean),
        "export_change_pct mean {}",
        change.mean
    );
    // The adjustment deepens month after month.
    let month = |t| {
        stats
            .output_summary(month_index(&model, t, MONTH_EXPORT_LOSS).unwrap())
            .mean
    };
    assert!(month(12) > month(6) && month(6) > month(1));
    // Issue 13: Korea sells part of the US loss elsewhere (redirection 0-60 % by sector), so
    // the net loss on all markets is below the US loss, and small against total exports.
    let net = stats.output_summary(net_export_loss_index(&model));
    assert!(
        (3.0..=6.0).contains(&net.mean) && net.mean < stats.output_summary(EXPORT_LOSS).mean,
        "net_export_loss mean {}",
        net.mean
    );
    let net_pct = stats.output_summary(net_export_loss_index(&model) + 1);
    assert!(
        (0.4..=0.9).contains(&net_pct.mean),
        "net_export_loss_pct mean {}",
        net_pct.mean
    );
    // China at 145 % loses the most of the named competitors; Mexico, whose USMCA goods pay
    // nothing, gains.
    let competitor = |id: &str| {
        let k = model.competitors.iter().position(|c| c.id == id).unwrap();
        stats
            .output_summary(first_competitor_index(&model) + k)
            .mean
    };
    for id in ["japan", "eu", "mexico", "canada", "taiwan", "vietnam"] {
        assert!(competitor("china") > competitor(id), "china vs {id}");
    }
    assert!(
        competitor("mexico") < 0.0,
        "mexico {}",
        competitor("mexico")
    );
}

#[test]
fn static_default_model_stays_within_its_documented_bounds() {
    // Every half-life 0 and no growth: trade adjusts at once, as before issue 12.
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let overrides: Vec<String> = model
        .params
        .iter()
        .filter(|p| p.path.ends_with(".half_life_months") || p.path.ends_with("growth"))
        .map(|p| format!("{}=0", p.path))
        .collect();
    let model = tariffsim::model::apply_overrides(&model, &overrides).unwrap();
    check_bounds(
        &model,
        &Bounds {
            loss_mean: (12.0, 17.0),
            loss_p95: (24.0, 33.0),
            gdp_mean: (-0.65, -0.42),
            stress: (0.005, 0.03),
        },
    );
}
