//! Results are bit-identical whatever the thread count (MODEL.md §9, issue #2).

use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::report::{summary_json, RunInfo};
use tariffsim::run::{self, RunConfig};

fn outputs_and_scenarios(threads: usize, draws: u64) -> String {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let config = RunConfig {
        draws,
        seed: 42,
        threads,
        ..Default::default()
    };
    let outcome = run::run(&model, &config).unwrap();
    let info = RunInfo {
        draws,
        seed: 42,
        sampler: "mc".into(),
        threads,
        elapsed_s: 0.0,
        stopping: None,
    };
    let json = summary_json(&model, &info, &outcome.stats);
    serde_json::to_string(&(&json["outputs"], &json["scenarios"])).unwrap()
}

#[test]
fn summary_is_identical_for_1_2_3_and_5_threads() {
    // 20 blocks and a partial one.
    let draws = 20 * 1024 + 333;
    let one = outputs_and_scenarios(1, draws);
    for threads in [2, 3, 5] {
        assert!(
            one == outputs_and_scenarios(threads, draws),
            "{threads} threads differ from 1"
        );
    }
}

#[test]
fn different_seeds_give_different_results() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let run = |seed| {
        run::run(
            &model,
            &RunConfig {
                draws: 4096,
                seed,
                threads: 2,
                ..Default::default()
            },
        )
        .unwrap()
        .stats
        .output_summary(0)
        .mean
    };
    assert_ne!(run(1), run(2));
    assert_eq!(run(3), run(3));
}
