//! Value stability (STYLE.md, "rand"): exact results of a small run of the default model with
//! a fixed seed. Any change of numbers — in the sampler, a quantile function, the kernel or
//! the statistics — fails here; update the values only with the reason in the commit message.

use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::outputs::*;
use tariffsim::run::{self, RunConfig};

#[test]
fn default_model_10000_draws_seed_1() {
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
