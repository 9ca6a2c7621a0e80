//! `tariffsim backtest` and `--monthly` through the real binary (issue 12): bad observation
//! files exit 2 and write nothing; a good one writes backtest.json and updated/; a monthly
//! run prints its month table; shards and a resumed checkpoint give the monthly outputs of
//! a single run.

use std::path::Path;
use std::process::Command;

use crate::common::path;

fn tariffsim(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tariffsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// The default model with a start month (older defaults had none).
fn model_with_start(dir: &Path) -> String {
    let text = tariffsim::model::DEFAULT_MODEL_TEXT;
    let text = if text.contains("start_month") {
        text.to_string()
    } else {
        text.replacen(
            "horizon_months = 12",
            "start_month = \"2025-04\"\nhorizon_months = 12",
            1,
        )
    };
    std::fs::write(dir.join("m.toml"), text).unwrap();
    "m.toml".into()
}

#[test]
fn bad_observation_files_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_with_start(dir.path());
    for (csv, fragment) in [
        (
            "output,value\nexport_los,1\n",
            "obs.csv:2:1: unknown output `export_los`",
        ),
        (
            "period,value\n2024-12,1\n",
            "obs.csv:2:1: period 2024-12 is before",
        ),
        ("period,value,sd\n2025-05,1,0\n", "obs.csv:2:11: sd `0`"),
        ("output,value\nexport_loss,x\n", "obs.csv:2:13: value `x`"),
        (
            "output,value\nexport_loss,1\nexport_loss,2\n",
            "obs.csv:3:1:",
        ),
        ("", "obs.csv:1:1: the file has no observations"),
    ] {
        std::fs::write(dir.path().join("obs.csv"), csv).unwrap();
        let out = tariffsim(
            &[
                "backtest",
                &model,
                "--observed",
                "obs.csv",
                "--draws",
                "2000",
                "--out",
                "res",
                "--quiet",
            ],
            dir.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{csv:?}: {stderr}");
        assert!(stderr.contains(fragment), "{csv:?}: {stderr}");
        assert!(!dir.path().join("res").exists(), "{csv:?} wrote results");
    }
    // Observations no draw can produce: an error, never a division by zero; nothing written.
    std::fs::write(
        dir.path().join("obs.csv"),
        "output,value,sd\nexport_loss,1e6,0.1\n",
    )
    .unwrap();
    let out = tariffsim(
        &[
            "backtest",
            &model,
            "--observed",
            "obs.csv",
            "--draws",
            "2000",
            "--out",
            "res",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside what the model can produce"));
    assert!(!dir.path().join("res").exists());
}

#[test]
fn backtest_writes_scores_and_the_update() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_with_start(dir.path());
    std::fs::write(
        dir.path().join("obs.csv"),
        "period,value,sd,label,source\n2025-04,-7.0,1.0,April,MOTIE\n2025-05,-8.1,1.0,May,MOTIE\n",
    )
    .unwrap();
    let out = tariffsim(
        &[
            "backtest",
            &model,
            "--observed",
            "obs.csv",
            "--draws",
            "3000",
            "--out",
            "res",
            "--report",
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 3,000 draws cannot reach an ESS of 1,000 on two observations this tight: a warning.
    assert!(stderr.contains("effective sample size"), "{stderr}");
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(p)).unwrap()).unwrap()
    };
    let bt = read("res/backtest.json");
    assert_eq!(bt["observations"].as_array().unwrap().len(), 2);
    assert_eq!(
        bt["observations"][1]["output"],
        "months.2.export_change_pct"
    );
    let pit = bt["observations"][0]["pit"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pit));
    assert!(bt["mean_crps"].as_f64().unwrap() > 0.0);
    let up = read("res/updated/summary.json");
    assert!(up["update"]["ess"].as_f64().unwrap() > 1.0);
    assert_eq!(up["update"]["warnings"].as_array().unwrap().len(), 1);
    let total: f64 = up["scenarios"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| s["probability"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert!(dir.path().join("res/report.html").exists());
    assert!(dir.path().join("res/updated/report.html").exists());
}

fn outputs_of(dir: &Path, folder: &str) -> serde_json::Value {
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(folder).join("summary.json")).unwrap(),
    )
    .unwrap();
    s["outputs"].clone()
}

#[test]
fn monthly_runs_print_months_and_merge_and_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model_with_start(d);
    let common = ["--draws", "5000", "--seed", "3", "--monthly"];
    let run = |extra: &[&str]| {
        let mut args = vec!["run", model.as_str()];
        args.extend(common);
        args.extend(extra);
        let out = tariffsim(&args, d);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = run(&["--out", "whole", "--threads", "1"]);
    assert!(
        stdout.contains("2025-04") && stdout.contains("2026-03"),
        "{stdout}"
    );
    run(&["--out", "s1", "--shard", "1/2", "--quiet"]);
    run(&["--out", "s2", "--shard", "2/2", "--quiet", "--threads", "2"]);
    let out = tariffsim(&["merge", "s1", "s2", "--out", "merged", "--quiet"], d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole = outputs_of(d, "whole");
    assert!(whole.get("months.12.export_change_pct").is_some());
    assert_eq!(whole, outputs_of(d, "merged"));
    // A checkpointed run resumed from its saved blocks gives the same monthly outputs.
    run(&["--out", "ck", "--checkpoint", "ckdir", "--quiet"]);
    run(&[
        "--out",
        "ck2",
        "--checkpoint",
        "ckdir",
        "--resume",
        "--quiet",
    ]);
    assert_eq!(whole, outputs_of(d, "ck2"));
}

/// A backtest's result files with the lines that record the process (threads, wall time)
/// left out; everything else compared byte for byte.
fn backtest_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for f in [
        "backtest.json",
        "summary.json",
        "quantiles.csv",
        "updated/summary.json",
    ] {
        let text = std::fs::read_to_string(dir.join(f))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()));
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("\"threads\":") && !l.contains("\"elapsed_s\":"))
            .collect();
        files.push((f.to_string(), kept.join("\n")));
    }
    files
}

fn assert_same_backtest(a: &Path, b: &Path) {
    for ((name, x), (_, y)) in backtest_files(a).iter().zip(backtest_files(b)) {
        assert!(
            *x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// Observations of two months with an sd (an update) and the year without (scores only).
const OBSERVED: &str =
    "output,period,value,sd,label\n,2025-04,-0.45,1.0,April\n,2025-05,-5.68,1.0,May\n";

fn backtest_ok(d: &Path, model: &str, args: &[&str]) -> String {
    let mut all = vec!["backtest", model, "--observed", "obs.csv", "--seed", "5"];
    all.extend(args);
    let out = tariffsim(&all, d);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn backtest_is_identical_for_threads_and_merged_shards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model_with_start(d);
    std::fs::write(
        d.join("obs.csv"),
        format!("{OBSERVED}export_loss,,6.0,,year\n"),
    )
    .unwrap();
    // 20 blocks, the last one partial.
    let draws = ["--draws", "20000", "--quiet"];
    fn with<'a>(draws: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [draws, extra].concat()
    }
    backtest_ok(
        d,
        &model,
        &with(&draws, &["--out", "one", "--threads", "1"]),
    );
    backtest_ok(
        d,
        &model,
        &with(&draws, &["--out", "two", "--threads", "2"]),
    );
    assert_same_backtest(&d.join("one"), &d.join("two"));
    for k in 1..=3 {
        let threads = if k == 2 { "1" } else { "2" };
        backtest_ok(
            d,
            &model,
            &with(
                &draws,
                &[
                    "--out",
                    &format!("s{k}"),
                    "--shard",
                    &format!("{k}/3"),
                    "--threads",
                    threads,
                ],
            ),
        );
        assert!(d.join(format!("s{k}/partial.tariffsim")).exists());
        assert!(
            !d.join(format!("s{k}/backtest.json")).exists(),
            "a shard writes only its partial result"
        );
    }
    // The shards in any order, merged without the observation file.
    std::fs::remove_file(d.join("obs.csv")).unwrap();
    let out = tariffsim(
        &["merge", "s3", "s1", "s2", "--out", "merged", "--report"],
        d,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ESS"));
    assert_same_backtest(&d.join("one"), &d.join("merged"));
    assert!(d.join("merged/report.html").exists());
    assert!(d.join("merged/updated/report.html").exists());
    // The per-scenario ESS is recorded with each scenario.
    let up: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("merged/updated/summary.json")).unwrap(),
    )
    .unwrap();
    for (id, s) in up["scenarios"].as_object().unwrap() {
        let ess = s["ess"].as_f64().unwrap_or(0.0);
        assert!(
            ess > 0.0 && ess <= s["draws"].as_f64().unwrap() * (1.0 + 1e-12),
            "{id}: {s}"
        );
    }
}

#[test]
fn shards_of_different_observations_or_of_a_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model_with_start(d);
    let draws = ["--draws", "6000", "--quiet"];
    std::fs::write(d.join("obs.csv"), OBSERVED).unwrap();
    backtest_ok(
        d,
        &model,
        &[&draws[..], &["--out", "a1", "--shard", "1/2"]].concat(),
    );
    // The same observations with another May value.
    std::fs::write(d.join("obs.csv"), OBSERVED.replace("-5.68", "-5.0")).unwrap();
    backtest_ok(
        d,
        &model,
        &[&draws[..], &["--out", "b2", "--shard", "2/2"]].concat(),
    );
    let out = tariffsim(&["merge", "a1", "b2", "--out", "m"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("different observations"), "{stderr}");
    assert!(!d.join("m").exists());
    // A backtest's shard with a run's shard: the run's observed draws are missing.
    // (The default model is monthly already: no --monthly, whose override would make it
    // another run.)
    let mut args = vec!["run", model.as_str(), "--seed", "5"];
    args.extend(draws);
    args.extend(["--out", "r2", "--shard", "2/2"]);
    assert!(tariffsim(&args, d).status.success());
    let out = tariffsim(&["merge", "a1", "r2", "--out", "m"], d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("backtest and of a plain run"), "{stderr}");
    assert!(!d.join("m").exists());
}

#[test]
fn killed_backtest_resumes_to_the_identical_result() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = model_with_start(d);
    std::fs::write(d.join("obs.csv"), OBSERVED).unwrap();
    let draws = ["--draws", "400000", "--quiet"];
    backtest_ok(d, &model, &[&draws[..], &["--out", "full"]].concat());
    // Absolute paths: the helper starts the binary in the test's own folder.
    let (m, obs, ckpt, resumed) = (
        d.join(&model),
        d.join("obs.csv"),
        d.join("ckpt"),
        d.join("resumed"),
    );
    crate::common::kill_after_first_checkpoint(
        &[
            "backtest",
            path(&m),
            "--observed",
            path(&obs),
            "--seed",
            "5",
            "--draws",
            "400000",
            "--quiet",
            "--threads",
            "1",
            "--checkpoint",
            path(&ckpt),
            "--out",
            path(&resumed),
        ],
        &ckpt,
        std::time::Duration::from_millis(300),
    );
    let finished_anyway = d.join("resumed/backtest.json").exists();
    // Another observation file cannot resume this checkpoint.
    std::fs::write(d.join("other.csv"), OBSERVED.replace("-5.68", "-5.0")).unwrap();
    let other = tariffsim(
        &[
            "backtest",
            &model,
            "--observed",
            "other.csv",
            "--seed",
            "5",
            "--draws",
            "400000",
            "--quiet",
            "--checkpoint",
            "ckpt",
            "--resume",
            "--out",
            "other",
        ],
        d,
    );
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("other observations"), "{stderr}");
    backtest_ok(
        d,
        &model,
        &[
            &draws[..],
            &["--out", "resumed", "--checkpoint", "ckpt", "--resume"],
        ]
        .concat(),
    );
    assert!(
        backtest_files(&d.join("full")) == backtest_files(&d.join("resumed")),
        "resumed backtest differs (finished before the kill: {finished_anyway})"
    );
    // A plain run cannot resume a backtest's checkpoint.
    let out = tariffsim(
        &[
            "run",
            &model,
            "--seed",
            "5",
            "--draws",
            "400000",
            "--quiet",
            "--checkpoint",
            "ckpt",
            "--resume",
            "--out",
            "plain",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("saved by a backtest"));
}
