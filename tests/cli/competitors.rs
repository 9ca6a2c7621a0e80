//! A model with named competitors and redirection (MODEL.md §10, §11) through the binary: the
//! documented files with the competitor and net outputs, and results bit-identical across
//! thread counts, shards merged, and a killed run resumed.

use std::path::Path;

use crate::common::{assert_ok, kill_after_first_checkpoint, path, run_bin as run, summary};

const MODEL: &str = include_str!("../fixtures/competitors.toml");

/// The part of summary.json that must be bit-identical (MODEL.md §9).
fn results(dir: &Path) -> String {
    let s = summary(dir);
    serde_json::to_string(&(&s["outputs"], &s["scenarios"])).unwrap()
}

fn model_file(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("competitors.toml");
    std::fs::write(&file, MODEL).unwrap();
    file
}

#[test]
fn competitor_outputs_are_written_and_identical_across_threads_and_shards() {
    let dir = tempfile::tempdir().unwrap();
    let file = model_file(dir.path());
    let model = path(&file);
    let draws = "9000"; // 8 full blocks and a partial one
    let one = dir.path().join("one");
    assert_ok(&run(&[
        "run",
        model,
        "--draws",
        draws,
        "--seed",
        "3",
        "--threads",
        "1",
        "--save-draws",
        "--quiet",
        "--out",
        path(&one),
    ]));
    crate::run::check_results(&one, MODEL);
    let s = summary(&one);
    // Mexico pays at most the Korean rate on cars and nothing on parts: it gains. Japan pays
    // much the same rates as Korea, so it loses too.
    let mean = |name: &str| s["outputs"][name]["mean"].as_f64().unwrap();
    assert!(mean("competitors.mexico.export_loss") < 0.0);
    assert!(mean("competitors.japan.export_loss") > 0.0);
    let loss = s["outputs"]["export_loss"]["mean"].as_f64().unwrap();
    let net = s["outputs"]["net_export_loss"]["mean"].as_f64().unwrap();
    assert!(net > 0.0 && net < loss, "net {net} vs loss {loss}");
    let two = dir.path().join("two");
    assert_ok(&run(&[
        "run",
        model,
        "--draws",
        draws,
        "--seed",
        "3",
        "--threads",
        "2",
        "--quiet",
        "--out",
        path(&two),
    ]));
    assert!(results(&one) == results(&two), "1 and 2 threads differ");
    let mut parts = Vec::new();
    for k in 1..=3 {
        let shard = dir.path().join(format!("shard{k}"));
        assert_ok(&run(&[
            "run",
            model,
            "--draws",
            draws,
            "--seed",
            "3",
            "--shard",
            &format!("{k}/3"),
            "--quiet",
            "--out",
            path(&shard),
        ]));
        parts.push(shard);
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| path(p).to_string()));
    args.extend(["--quiet".into(), "--out".into(), path(&merged).into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_ok(&run(&args));
    assert!(results(&one) == results(&merged), "merged shards differ");
}

#[test]
fn a_killed_competitor_run_resumes_to_the_identical_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = model_file(dir.path());
    let model = path(&file);
    let draws = "600000";
    let full = dir.path().join("full");
    assert_ok(&run(&[
        "run",
        model,
        "--draws",
        draws,
        "--seed",
        "8",
        "--quiet",
        "--out",
        path(&full),
    ]));
    let ckpt = dir.path().join("ckpt");
    let out = dir.path().join("resumed");
    kill_after_first_checkpoint(
        &[
            "run",
            model,
            "--draws",
            draws,
            "--seed",
            "8",
            "--threads",
            "1",
            "--quiet",
            "--checkpoint",
            path(&ckpt),
            "--out",
            path(&out),
        ],
        &ckpt,
        std::time::Duration::from_millis(200),
    );
    assert_ok(&run(&[
        "run",
        model,
        "--draws",
        draws,
        "--seed",
        "8",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--resume",
        "--out",
        path(&out),
    ]));
    assert!(results(&full) == results(&out), "resumed run differs");
}
