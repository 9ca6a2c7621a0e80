//! Batches and scale-out (issue #7): overrides, sweeps, several models, shards and merge,
//! checkpoint and resume after SIGKILL.

use std::path::Path;
use std::time::Duration;

use crate::common::{bin, kill_after_first_checkpoint, path, run_bin as run, summary};

/// The part of summary.json that must be bit-identical (MODEL.md §9).
fn results(dir: &Path) -> String {
    let s = summary(dir);
    serde_json::to_string(&(
        &s["outputs"],
        &s["scenarios"],
        &s["tornado"],
        &s["distributions"],
        &s["convergence"],
        &s["sample"],
    ))
    .unwrap()
}

#[test]
fn merged_shards_equal_a_single_run_for_n_1_2_3_7() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let draws = "40000"; // 40 blocks, the last one partial
    assert!(run(&[
        "run",
        "--draws",
        draws,
        "--seed",
        "9",
        "--quiet",
        "--out",
        path(&full)
    ])
    .status
    .success());
    let reference = results(&full);
    for n in [1u64, 2, 3, 7] {
        let mut parts = Vec::new();
        for k in 1..=n {
            let shard = dir.path().join(format!("n{n}-k{k}"));
            let threads = if k % 2 == 0 { "1" } else { "2" };
            let out = run(&[
                "run",
                "--draws",
                draws,
                "--seed",
                "9",
                "--threads",
                threads,
                "--shard",
                &format!("{k}/{n}"),
                "--quiet",
                "--out",
                path(&shard),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !shard.join("summary.json").exists(),
                "a shard writes only its partial result"
            );
            parts.push(shard);
        }
        let merged = dir.path().join(format!("merged{n}"));
        let mut args = vec!["merge".to_string()];
        // Order of the parts does not matter.
        args.extend(parts.iter().rev().map(|p| path(p).to_string()));
        args.extend(["--quiet".into(), "--out".into(), path(&merged).into()]);
        let out = bin().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(reference == results(&merged), "merge of {n} shards differs");
        assert_eq!(summary(&merged)["run"]["draws"], 40000);
    }
}

#[test]
fn merge_rejects_missing_duplicate_and_foreign_shards() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    for (k, seed) in [("1", "1"), ("2", "1"), ("3", "1")] {
        assert!(run(&[
            "run",
            "--draws",
            "10000",
            "--seed",
            seed,
            "--shard",
            &format!("{k}/3"),
            "--quiet",
            "--out",
            path(&p(k))
        ])
        .status
        .success());
    }
    assert!(run(&[
        "run",
        "--draws",
        "10000",
        "--seed",
        "2",
        "--shard",
        "3/3",
        "--quiet",
        "--out",
        path(&p("other"))
    ])
    .status
    .success());
    let missing = run(&[
        "merge",
        path(&p("1")),
        path(&p("3")),
        "--out",
        path(&p("m")),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing"));
    let twice = run(&[
        "merge",
        path(&p("1")),
        path(&p("1")),
        path(&p("2")),
        path(&p("3")),
        "--out",
        path(&p("m")),
    ]);
    assert!(String::from_utf8_lossy(&twice.stderr).contains("two partial results"));
    let foreign = run(&[
        "merge",
        path(&p("1")),
        path(&p("2")),
        path(&p("other")),
        "--out",
        path(&p("m")),
    ]);
    assert!(String::from_utf8_lossy(&foreign.stderr).contains("different runs"));
    std::fs::write(p("junk.tariffsim"), b"hello").unwrap();
    let junk = run(&["merge", path(&p("junk.tariffsim")), "--out", path(&p("m"))]);
    assert!(String::from_utf8_lossy(&junk.stderr).contains("not a tariffsim partial result"));
    assert!(!p("m").exists());
}

#[test]
fn bad_shard_arguments() {
    for shard in ["0/3", "4/3", "x/3", "3"] {
        let out = run(&["run", "--draws", "1000", "--shard", shard, "--quiet"]);
        assert_eq!(out.status.code(), Some(2), "{shard}");
    }
}

#[test]
fn killed_run_resumes_to_the_identical_result() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let draws = "1000000";
    assert!(run(&[
        "run",
        "--draws",
        draws,
        "--seed",
        "4",
        "--quiet",
        "--out",
        path(&full)
    ])
    .status
    .success());
    let ckpt = dir.path().join("ckpt");
    let out = dir.path().join("resumed");
    kill_after_first_checkpoint(
        &[
            "run",
            "--draws",
            draws,
            "--seed",
            "4",
            "--threads",
            "1",
            "--quiet",
            "--checkpoint",
            path(&ckpt),
            "--out",
            path(&out),
        ],
        &ckpt,
        Duration::from_millis(300),
    );
    let finished_anyway = out.join("summary.json").exists();
    let resumed = run(&[
        "run",
        "--draws",
        draws,
        "--seed",
        "4",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--resume",
        "--out",
        path(&out),
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(
        results(&full) == results(&out),
        "resumed run differs (finished before the kill: {finished_anyway})"
    );
    // A checkpoint of another run is refused.
    let other = run(&[
        "run",
        "--draws",
        draws,
        "--seed",
        "5",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--resume",
        "--out",
        path(&out),
    ]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("another run"));
}

#[test]
fn overrides_change_the_model_and_bad_ones_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let high = dir.path().join("high");
    assert!(
        run(&["run", "--draws", "20000", "--quiet", "--out", path(&base)])
            .status
            .success()
    );
    let ok = run(&[
        "run",
        "--draws",
        "20000",
        "--quiet",
        "--set",
        "scenarios.no_deal.tariff.default=0.5",
        "--out",
        path(&high),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let loss = |d: &Path| {
        summary(d)["outputs"]["export_loss"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(loss(&high) > loss(&base));
    let cases: [(&[&str], &str); 6] = [
        (
            &["--set", "sectors.nope.sigma=3"],
            "unknown parameter path `sectors.nope.sigma`",
        ),
        (
            &["--set", "sectors.autos.sigma=\"big\""],
            "sectors.autos.sigma",
        ),
        (&["--set", "sectors.autos.sigma=-1"], "accepted: > 0"),
        (&["--set", "scenarios.no_deal.probability=0.9"], "sum to"),
        (&["--set", "sectors.autos.sigma"], "PATH=VALUE"),
        (&["--scenario", "maybe"], "unknown scenario"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["run", "--draws", "1000", "--quiet", "--out", path(&base)];
        all.extend_from_slice(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            stderr.contains(args[1]) || args[0] == "--scenario",
            "the error names the override: {stderr}"
        );
    }
}

#[test]
fn scenario_conditioning_picks_only_that_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    assert!(run(&[
        "run",
        "--draws",
        "5000",
        "--quiet",
        "--scenario",
        "no_deal",
        "--out",
        path(&out)
    ])
    .status
    .success());
    let s = summary(&out);
    assert_eq!(s["scenarios"]["no_deal"]["frequency"], 1.0);
    assert_eq!(s["scenarios"]["package_deal"]["frequency"], 0.0);
}

#[test]
fn sweep_writes_a_grid_with_common_random_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let res = run(&[
        "sweep",
        "--vary",
        "scenarios.no_deal.tariff.default=0.1:0.3:3",
        "--vary",
        "macro.gdp_multiplier=1,2",
        "--draws",
        "8000",
        "--quiet",
        "--out",
        path(&out),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 1 + 6);
    assert_eq!(rows[0][0], "scenarios.no_deal.tariff.default");
    assert_eq!(rows[0][2], "export_loss.mean");
    assert_eq!(*rows[0].last().unwrap(), "p_stress");
    // Common random numbers: the multiplier does not touch export loss, so rows that differ
    // only in it have exactly the same export loss; and loss rises with the no-deal tariff.
    assert_eq!(rows[1][2], rows[2][2]);
    let loss = |r: usize| rows[r][2].parse::<f64>().unwrap();
    assert!(loss(1) < loss(3) && loss(3) < loss(5));
    // GDP impact doubles with the multiplier (same draws).
    let gdp_col = rows[0]
        .iter()
        .position(|h| *h == "gdp_impact_pct.mean")
        .unwrap();
    let g = |r: usize| rows[r][gdp_col].parse::<f64>().unwrap();
    assert!((g(2) / g(1) - 2.0).abs() < 1e-12);
    assert!(out.join("sweep.json").exists());
    assert!(out
        .join("sweep_scenarios.no_deal.tariff.default_export_loss.svg")
        .exists());
    let bad = run(&[
        "sweep",
        "--vary",
        "macro.gdp_multiplier=1:2",
        "--draws",
        "100",
        "--quiet",
        "--out",
        path(&out),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lo:hi:n"));
}

#[test]
fn several_models_get_folders_and_a_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.toml");
    std::fs::write(&a, tariffsim::model::DEFAULT_MODEL_TEXT).unwrap();
    std::fs::write(
        &b,
        tariffsim::model::DEFAULT_MODEL_TEXT.replacen("gdp = ", "gdp = 2 * 0 + ", 0),
    )
    .unwrap();
    let out = dir.path().join("out");
    let res = run(&[
        "run",
        path(&a),
        path(&b),
        "--draws",
        "3000",
        "--quiet",
        "--out",
        path(&out),
    ]);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    assert!(out.join("a/summary.json").exists() && out.join("b/summary.json").exists());
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let n = tariffsim::outputs::HEADLINE.len();
    assert_eq!(csv.lines().count(), 1 + 2 * n);
    // Same model text and seed: identical rows.
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(
        rows[0].split_once(',').unwrap().1,
        rows[n].split_once(',').unwrap().1
    );
}

/// Issue 15, item 13 (the sibling in summary.json): the `scenario` row of the tornado is the
/// correlation ratio η computed from the summary's own scenario frequencies and conditional
/// means, in [0, 1], and the same whatever the order of the scenarios in the file.
#[test]
fn summary_tornado_ranks_the_scenario_by_its_correlation_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let r = run(&[
        "run",
        "--draws",
        "8192",
        "--seed",
        "3",
        "--quiet",
        "--out",
        path(&out),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let s = summary(&out);
    let row = s["tornado"]["export_loss"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["parameter"] == "scenario")
        .expect("scenario in the tornado");
    let eta = row["correlation"].as_f64().unwrap();
    let o = &s["outputs"]["export_loss"];
    let (mean, sd) = (o["mean"].as_f64().unwrap(), o["sd"].as_f64().unwrap());
    let between: f64 = s["scenarios"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| {
            let f = v["frequency"].as_f64().unwrap();
            let m = v["outputs"]["export_loss"]["mean"].as_f64().unwrap();
            f * (m - mean) * (m - mean)
        })
        .sum();
    let expected = (between / (sd * sd)).sqrt();
    assert!((0.0..=1.0).contains(&eta), "{eta}");
    assert!((eta - expected).abs() < 1e-12, "{eta} vs {expected}");
}
