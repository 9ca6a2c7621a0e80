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
    }
}
