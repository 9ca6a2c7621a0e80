//! The run driver (`run::Run`): every combination of stopping rule, block range, observers
//! and checkpoint that makes sense gives the bits of a plain run; the others are refused by
//! the one validation step, naming the settings involved.

use std::cell::RefCell;

use tariffsim::model::Model;
use tariffsim::run::{
    BlockRange, BlockView, Checkpoint, Observer, PartialResult, Run, RunConfig, RunError,
    SamplerKind, Setting, StopRule, TargetSe,
};

use crate::common::default_model;

/// Keeps the state of the first save after `skip` saves: an interruption at that point.
struct Capture {
    skip: usize,
    saves: RefCell<usize>,
    state: RefCell<Option<PartialResult>>,
}

impl Capture {
    fn after(skip: usize) -> Self {
        Capture {
            skip,
            saves: RefCell::new(0),
            state: RefCell::new(None),
        }
    }
}

impl Checkpoint for Capture {
    fn due(&self) -> bool {
        true
    }
    fn save(&self, state: &PartialResult) -> Result<(), RunError> {
        let mut saves = self.saves.borrow_mut();
        if *saves == self.skip {
            *self.state.borrow_mut() = Some(state.clone());
        }
        *saves += 1;
        Ok(())
    }
}

/// Stands for an observer that must see every block (like the draws file).
struct EveryBlock;

impl Observer for EveryBlock {
    fn block(&self, _: &BlockView<'_>) -> Result<(), RunError> {
        Ok(())
    }
    fn needs_every_block(&self) -> Option<Setting> {
        Some(Setting::SaveDraws)
    }
}

fn text() -> &'static str {
    tariffsim::model::DEFAULT_MODEL_TEXT
}

fn target(model: &Model, se: f64) -> StopRule {
    StopRule::TargetSe(TargetSe::new(model, "export_loss", se, false).unwrap())
}

#[test]
fn target_se_with_a_checkpoint_resumes_to_the_stopping_point_of_an_uninterrupted_run() {
    // SE 0.006 USD bn: with the time path the default model's export loss has sd ~2.7 (was ~9.3
    // with 0.02), so the run still needs more than three groups of blocks to stop.
    let model = default_model();
    let config = RunConfig {
        draws: 1_000_000,
        seed: 4,
        threads: 2,
        ..Default::default()
    };
    let plain = Run::new(&model, &config)
        .stop(target(&model, 0.006))
        .execute()
        .unwrap();
    let stop = plain.stopping.clone().unwrap();
    assert!(stop.converged && stop.draws > 3 * 32 * 1024, "{stop:?}");
    // Interrupted after the second group: resume from the state saved then.
    let capture = Capture::after(1);
    Run::new(&model, &config)
        .model_text(text())
        .stop(target(&model, 0.006))
        .checkpoint(&capture, None)
        .execute()
        .unwrap();
    let saved = capture.state.borrow_mut().take().unwrap();
    assert_eq!(saved.completed, [(0, 64)]);
    let again = Capture::after(usize::MAX);
    let resumed = Run::new(
        &model,
        &RunConfig {
            threads: 1,
            ..config.clone()
        },
    )
    .model_text(text())
    .stop(target(&model, 0.006))
    .checkpoint(&again, Some(saved))
    .execute()
    .unwrap();
    assert_eq!(resumed.stopping, plain.stopping);
    for o in 0..tariffsim::outputs::HEADLINE.len() {
        assert_eq!(
            resumed.stats.output_summary(o),
            plain.stats.output_summary(o)
        );
    }
}

#[test]
fn a_shard_with_a_checkpoint_resumes_to_the_same_partial_result() {
    let model = default_model();
    let config = RunConfig {
        draws: 300_000,
        seed: 5,
        threads: 2,
        sampler: SamplerKind::Sobol,
        ..Default::default()
    };
    let shard = BlockRange::Shard { k: 2, n: 3 };
    let plain = Run::new(&model, &config)
        .model_text(text())
        .blocks(shard)
        .execute()
        .unwrap();
    let capture = Capture::after(0);
    Run::new(&model, &config)
        .model_text(text())
        .blocks(shard)
        .checkpoint(&capture, None)
        .execute()
        .unwrap();
    let saved = capture.state.borrow_mut().take().unwrap();
    let blocks = shard.blocks(config.draws);
    assert_eq!(saved.completed, [(blocks.start, blocks.start + 64)]);
    let again = Capture::after(usize::MAX);
    let resumed = Run::new(&model, &config)
        .model_text(text())
        .blocks(shard)
        .checkpoint(&again, Some(saved))
        .execute()
        .unwrap();
    assert_eq!(resumed.partial.completed, [(blocks.start, blocks.end)]);
    assert_eq!(
        resumed.stats.output_summary(0),
        plain.stats.output_summary(0)
    );
}

#[test]
fn impossible_combinations_are_refused_naming_their_settings() {
    let model = default_model();
    let config = RunConfig::default();
    let lhs = RunConfig {
        sampler: SamplerKind::LatinHypercube,
        ..config.clone()
    };
    let every = EveryBlock;
    let capture = Capture::after(0);
    let shard = BlockRange::Shard { k: 1, n: 2 };
    // A state with completed blocks, to resume from.
    Run::new(
        &model,
        &RunConfig {
            draws: 70 * 1024,
            ..config.clone()
        },
    )
    .model_text(text())
    .checkpoint(&capture, None)
    .execute()
    .unwrap();
    let saved = capture.state.borrow_mut().take().unwrap();
    let cases: Vec<(Run, Vec<Setting>)> = vec![
        (
            Run::new(&model, &lhs).stop(target(&model, 0.1)),
            vec![Setting::TargetSe, Setting::Sampler],
        ),
        (
            Run::new(&model, &config)
                .model_text(text())
                .stop(target(&model, 0.1))
                .blocks(shard),
            vec![Setting::TargetSe, Setting::Shard],
        ),
        (
            Run::new(&model, &config).stop(target(&model, -1.0)),
            vec![Setting::TargetSe],
        ),
        (
            Run::new(&model, &config)
                .model_text(text())
                .observe(&every)
                .blocks(shard),
            vec![Setting::SaveDraws, Setting::Shard],
        ),
        (
            Run::new(
                &model,
                &RunConfig {
                    draws: 70 * 1024,
                    ..config.clone()
                },
            )
            .model_text(text())
            .observe(&every)
            .checkpoint(&capture, Some(saved.clone())),
            vec![Setting::SaveDraws, Setting::Resume],
        ),
        (
            Run::new(&model, &config).blocks(shard),
            vec![Setting::Shard],
        ),
        (
            Run::new(
                &model,
                &RunConfig {
                    draws: 0,
                    ..config.clone()
                },
            ),
            vec![Setting::Draws],
        ),
        (
            Run::new(&model, &config)
                .model_text(text())
                .blocks(BlockRange::Shard { k: 3, n: 2 }),
            vec![Setting::Shard],
        ),
    ];
    for (run, expected) in cases {
        match run.validate() {
            Err(RunError::Invalid { settings, message }) => {
                assert_eq!(settings, expected, "{message}");
                assert!(message.contains("accepted"), "{message}");
                assert!(
                    !message.contains("--"),
                    "a library error names no flag: {message}"
                );
            }
            other => panic!("{expected:?}: expected a refusal, got {other:?}"),
        }
    }
    // Under MPI ranks: no target SE, no checkpoint, no draws file.
    for (run, expected) in [
        (
            Run::new(&model, &config)
                .model_text(text())
                .stop(target(&model, 0.1)),
            vec![Setting::TargetSe, Setting::MpiRanks],
        ),
        (
            Run::new(&model, &config)
                .model_text(text())
                .checkpoint(&capture, None),
            vec![Setting::Checkpoint, Setting::MpiRanks],
        ),
        (
            Run::new(&model, &config).model_text(text()).observe(&every),
            vec![Setting::SaveDraws, Setting::MpiRanks],
        ),
    ] {
        match run.validate_ranks() {
            Err(RunError::Invalid { settings, .. }) => assert_eq!(settings, expected),
            other => panic!("{expected:?}: expected a refusal, got {other:?}"),
        }
    }
    // A checkpoint of another run, or of a run with another stopping rule.
    for run in [
        Run::new(
            &model,
            &RunConfig {
                draws: 70 * 1024,
                seed: 9,
                ..config.clone()
            },
        )
        .model_text(text())
        .checkpoint(&capture, Some(saved.clone())),
        Run::new(
            &model,
            &RunConfig {
                draws: 70 * 1024,
                ..config.clone()
            },
        )
        .model_text(text())
        .stop(target(&model, 0.1))
        .checkpoint(&capture, Some(saved.clone())),
    ] {
        assert!(
            matches!(run.validate(), Err(RunError::Partial(_))),
            "a foreign checkpoint is refused"
        );
    }
}

#[test]
fn an_observer_failure_stops_the_run_with_its_error() {
    struct Fails;
    impl Observer for Fails {
        fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
            if view.block == 3 {
                return Err(RunError::Observer("disk full".into()));
            }
            Ok(())
        }
    }
    let model = default_model();
    let config = RunConfig {
        draws: 20 * 1024,
        threads: 2,
        ..Default::default()
    };
    match Run::new(&model, &config).observe(&Fails).execute() {
        Err(RunError::Observer(m)) => assert_eq!(m, "disk full"),
        other => panic!(
            "expected the observer's error, got {:?}",
            other.map(|o| o.stats.draws())
        ),
    }
}
