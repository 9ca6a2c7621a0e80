//! The typed `Summary` is the layout of `summary.json` (MODEL.md §9, issue 14): what the CLI
//! writes reads back into it and encodes to the same bytes, `null` statistics included, and
//! `OutputSummary::quantile` finds the reported quantiles.

use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::run::{self, RunConfig};
use tariffsim::summary::{RunInfo, Summary};

fn summary_of(draws: u64) -> Summary {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let config = RunConfig {
        draws,
        seed: 3,
        threads: 2,
        ..Default::default()
    };
    let outcome = run::run(&model, &config).unwrap();
    let info = RunInfo {
        draws,
        seed: 3,
        sampler: "mc".into(),
        threads: 2,
        elapsed_s: 0.0,
        stopping: None,
    };
    Summary::new(&model, &info, &outcome.stats)
}

#[test]
fn summary_json_of_the_cli_reads_back_and_encodes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let status = crate::common::bin()
        .args(["run", "--draws", "3000", "--seed", "5", "--quiet", "--out"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    let summary: Summary = serde_json::from_str(&text).unwrap();
    assert_eq!(summary.to_json_pretty(), text);
    assert_eq!(summary.run.draws, 3000);
    assert!(summary.outputs["export_loss"].quantile_se.is_some());
    assert!(summary.outputs["purchases"].quantile_se.is_none());
    // quantiles.csv is written from the same Summary: its export_loss row has the unit and
    // the mean.
    let csv = std::fs::read_to_string(dir.path().join("quantiles.csv")).unwrap();
    let row = csv.lines().find(|l| l.starts_with("export_loss,")).unwrap();
    assert_eq!(row.split(',').nth(1), Some("USD bn"));
    let mean: f64 = row.split(',').nth(2).unwrap().parse().unwrap();
    assert_eq!(mean, summary.outputs["export_loss"].mean);
}

#[test]
fn undefined_statistics_are_null_in_json_and_nan_when_read_back() {
    // One draw: no sd, no quantile standard errors.
    let summary = summary_of(1);
    let json = summary.to_json_pretty();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value["outputs"]["export_loss"]["sd"].is_null());
    assert!(value["outputs"]["export_loss"]["quantile_se"]["0.5"].is_null());
    let back: Summary = serde_json::from_str(&json).unwrap();
    assert!(back.outputs["export_loss"].sd.is_nan());
    assert_eq!(back.to_json_pretty(), json);
}

#[test]
fn quantile_is_the_reported_value_at_a_level_and_interpolates_between() {
    let summary = summary_of(20_000);
    let s = &summary.outputs["export_loss"];
    for (i, p) in tariffsim::stats::QUANTILE_LEVELS.iter().enumerate() {
        assert_eq!(s.quantile(*p), s.quantiles[i], "level {p}");
    }
    assert_eq!(s.quantile(0.3 - 0.05), s.quantiles[3]);
    let mid = s.quantile(0.97);
    assert_eq!(
        mid,
        s.quantiles[7] + 0.5 * (s.quantiles[8] - s.quantiles[7])
    );
    assert!(s.quantile(0.001).is_nan());
    assert!(s.quantile(f64::NAN).is_nan());
    // The fine grid agrees with the reported quantiles where they share a level.
    let fine = summary.distribution_quantile("export_loss", 0.95);
    assert_eq!(fine, s.quantiles[7]);
    assert!(summary
        .distribution_quantile("export_loss", 0.001)
        .is_finite());
    assert!(summary
        .distribution_quantile("no_such_output", 0.5)
        .is_nan());
}
