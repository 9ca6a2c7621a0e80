//! `tariffsim backtest` and `--monthly` through the real binary (issue 12): bad observation
//! files exit 2 and write nothing; a good one writes backtest.json and updated/; a monthly
//! run prints its month table; shards and a resumed checkpoint give the monthly outputs of
//! a single run.

use std::path::Path;
use std::process::Command;

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
