//! Value stability (STYLE.md, "rand"): exact results of a small run of the default model with
//! a fixed seed. Any change of numbers — in the sampler, a quantile function, the kernel or
//! the statistics — fails here; update the values only with the reason in the commit message.

use tariffsim::model::{
    apply_overrides, compile_model, Model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT,
};
use tariffsim::outputs::*;
use tariffsim::run::{self, RunConfig};

/// The default model with every half-life 0 and no growth (issue 12): the model these values
/// were pinned on before the time path existed. Point masses take no coordinate, so the draws
/// of every other parameter are the same as before.
fn static_default() -> Model {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let overrides: Vec<String> = model
        .params
        .iter()
        .filter(|p| p.path.ends_with(".half_life_months") || p.path.ends_with("growth"))
        .map(|p| format!("{}=0", p.path))
        .collect();
    apply_overrides(&model, &overrides).unwrap()
}

#[test]
fn default_model_10000_draws_seed_1() {
    let model = static_default();
    for threads in [1, 2] {
        let config = RunConfig {
            draws: 10_000,
            seed: 1,
            threads,
            ..Default::default()
        };
        let stats = run::run(&model, &config).unwrap().stats;
        let loss = stats.output_summary(EXPORT_LOSS);
        assert_eq!(loss.mean, 14.240278082939174);
        assert_eq!(loss.sd, 9.436909354121553);
        assert_eq!(loss.quantiles[7], 28.157552083333332);
        assert_eq!(
            stats.output_summary(GDP_IMPACT_PCT).quantiles[4],
            -0.54827880859375
        );
        assert_eq!(stats.output_summary(STRESS_EVENT).mean, 0.0137);
        assert_eq!(stats.output_summary(FIRST_SECTOR).es[1], 11.387540285372065);
        assert_eq!(stats.scenario_counts(), &[3407, 2586, 2035, 1198, 774]);
        assert_eq!(stats.output_summary(DEAL_COST).mean, 5.57954664190716);
    }
}

#[test]
fn default_model_with_its_time_path_10000_draws_seed_1() {
    // The shipped default (half-lives, growth, monthly outputs), pinned as issue 12 left it.
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    for threads in [1, 2] {
        let config = RunConfig {
            draws: 10_000,
            seed: 1,
            threads,
            ..Default::default()
        };
        let stats = run::run(&model, &config).unwrap().stats;
        let loss = stats.output_summary(EXPORT_LOSS);
        let change = stats.output_summary(export_change_index(&model));
        let april = stats.output_summary(month_index(&model, 1, MONTH_EXPORT_CHANGE_PCT).unwrap());
        let march = stats.output_summary(month_index(&model, 12, MONTH_EXPORT_LOSS).unwrap());
        assert_eq!(loss.mean, 5.105271519530923);
        assert_eq!(loss.quantiles[7], 9.51318359375);
        assert_eq!(change.mean, -3.3103680584729913);
        assert_eq!(april.quantiles[4], 0.1155548095703125);
        assert_eq!(march.es[0], 1.6972538283213714);
    }
}
