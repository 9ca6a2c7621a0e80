//! `--target-se` (issue #5): the run stops at the first group of blocks where the standard error
//! of the mean meets the target; the stopping point depends only on model, seed and sampler.

use tariffsim::model::{compile_model, Model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::outputs::EXPORT_LOSS;
use tariffsim::run::{
    Run, RunConfig, RunError, SamplerKind, Setting, StopRule, StoppingReport, TargetSe,
    GROUP_BLOCKS,
};
use tariffsim::stats::RunStats;

struct Stopped {
    stats: RunStats,
    report: StoppingReport,
}

/// A run of the driver with the target-SE stopping rule.
fn run_to_target(model: &Model, config: &RunConfig, goal: &TargetSe) -> Result<Stopped, RunError> {
    let outcome = Run::new(model, config)
        .stop(StopRule::TargetSe(goal.clone()))
        .execute()?;
    Ok(Stopped {
        stats: outcome.stats,
        report: outcome
            .stopping
            .expect("a target-SE run reports how it stopped"),
    })
}

fn target(se: f64, relative: bool) -> TargetSe {
    TargetSe {
        output: EXPORT_LOSS,
        output_name: "export_loss".into(),
        target: se,
        relative,
    }
}

#[test]
fn stopping_point_is_the_same_for_1_and_2_threads_and_meets_the_target() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    for (sampler, antithetic, goal) in [
        (SamplerKind::MonteCarlo, false, target(0.06, false)),
        (SamplerKind::Sobol, true, target(0.002, true)),
    ] {
        let run = |threads| {
            let config = RunConfig {
                draws: 2_000_000,
                seed: 8,
                threads,
                sampler,
                antithetic,
            };
            run_to_target(&model, &config, &goal).unwrap()
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(
            a.report, b.report,
            "{sampler:?}: the stopping point depends on the thread count"
        );
        assert_eq!(
            a.stats.output_summary(EXPORT_LOSS),
            b.stats.output_summary(EXPORT_LOSS)
        );
        let r = &a.report;
        assert!(r.converged, "{r:?}");
        let goal_se = if goal.relative {
            goal.target * r.mean.abs()
        } else {
            goal.target
        };
        assert!(r.se <= goal_se, "{r:?}");
        assert_eq!(
            r.draws % (GROUP_BLOCKS * 1024),
            0,
            "stops only after whole groups"
        );
        assert!(r.draws < 2_000_000);
        // One group fewer would not have met the target: the check runs after every group.
        if r.draws > GROUP_BLOCKS * 1024 {
            let shorter = RunConfig {
                draws: 2_000_000,
                seed: 8,
                threads: 2,
                sampler,
                antithetic,
            };
            let capped = RunConfig {
                draws: r.draws - GROUP_BLOCKS * 1024,
                ..shorter
            };
            let c = run_to_target(&model, &capped, &goal).unwrap();
            assert!(!c.report.converged, "{:?}", c.report);
        }
        // For Monte Carlo the batch-means SE estimates sd/sqrt(n).
        if sampler == SamplerKind::MonteCarlo {
            let iid = a.stats.output_summary(EXPORT_LOSS).se_mean;
            assert!(
                (r.se / iid - 1.0).abs() < 0.3,
                "batch means {} vs sd/sqrt(n) {iid}",
                r.se
            );
        }
    }
}

#[test]
fn a_target_out_of_reach_stops_at_the_cap_and_says_so() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let config = RunConfig {
        draws: 40_000,
        seed: 1,
        threads: 2,
        ..Default::default()
    };
    let r = run_to_target(&model, &config, &target(1e-9, false))
        .unwrap()
        .report;
    assert!(!r.converged);
    assert_eq!(r.draws, 40_000);
    assert!(r.se > 1e-9);
}

#[test]
fn latin_hypercube_is_refused_with_a_reason() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let config = RunConfig {
        sampler: SamplerKind::LatinHypercube,
        ..Default::default()
    };
    match run_to_target(&model, &config, &target(0.1, false)) {
        Err(RunError::Invalid { settings, message }) => {
            assert_eq!(settings, [Setting::TargetSe, Setting::Sampler]);
            assert!(
                message.contains("lhs") && message.contains("strat"),
                "{message}"
            );
            assert!(
                !message.contains("--"),
                "a library error names no flag: {message}"
            );
        }
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.report)),
    }
}

#[test]
fn cli_records_the_stopping_rule_in_summary_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = crate::common::bin()
        .args([
            "run",
            "--target-se",
            "0.01",
            "--target-relative",
            "--target-output",
            "surplus_change",
            "--max-draws",
            "500000",
            "--sampler",
            "sobol",
            "--out",
            out,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("target s.e. of mean surplus_change: met"));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let t = &s["run"]["target_se"];
    assert_eq!(t["output"], "surplus_change");
    assert_eq!(t["converged"], true);
    assert_eq!(t["relative"], true);
    assert_eq!(t["max_draws"], 500000);
    assert_eq!(s["run"]["draws"], t["draws"]);
    assert!(t["se"].as_f64().unwrap() <= 0.01 * t["mean"].as_f64().unwrap().abs());
    // Bad combinations are input errors (exit code 2).
    for args in [
        vec![
            "run",
            "--target-se",
            "0.1",
            "--sampler",
            "lhs",
            "--quiet",
            "--out",
            out,
        ],
        vec![
            "run",
            "--target-se",
            "0.1",
            "--target-output",
            "nope",
            "--quiet",
            "--out",
            out,
        ],
        vec![
            "run",
            "--target-se",
            "0.1",
            "--draws",
            "1000",
            "--quiet",
            "--out",
            out,
        ],
        vec!["run", "--max-draws", "1000", "--quiet", "--out", out],
    ] {
        let o = crate::common::bin().args(&args).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
