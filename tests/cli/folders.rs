//! The folders a command writes into (issue 15, items 2 and 3): a checkpoint of another run is
//! not replaced by mistake, `--resume` with nothing saved starts afresh, a killed run's
//! temporary files are removed by the next run, a folder being written is locked against a
//! second run (and the lock dies with its process), shards checkpoint and resume, and the
//! folders of a multi-model run stay inside `--out` whatever the model files are called.

use std::path::{Path, PathBuf};

use crate::common::{
    bin, kill_9, kill_after_first_checkpoint, path, run_bin as run, stderr, summary, wait_for,
};

/// The statistics of summary.json that must be bit-identical between equal runs.
fn results(dir: &Path) -> String {
    let s = summary(dir);
    serde_json::to_string(&(&s["outputs"], &s["scenarios"], &s["distributions"])).unwrap()
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(tariffsim::folder::is_temp_name)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_checkpoint_of_another_run_is_not_replaced_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    let first = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "1",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--out",
        path(&dir.path().join("first")),
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let saved = std::fs::read(ckpt.join("partial.tariffsim")).unwrap();

    // Another run into the same checkpoint folder: refused, nothing replaced or created.
    let second_out = dir.path().join("second");
    let second = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "2",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--out",
        path(&second_out),
    ]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    let msg = stderr(&second);
    for needle in [
        "--checkpoint",
        "another run",
        "seed 1",
        "3 of 3 blocks done",
        "--resume",
        "--overwrite",
    ] {
        assert!(msg.contains(needle), "`{needle}` not in: {msg}");
    }
    assert_eq!(
        std::fs::read(ckpt.join("partial.tariffsim")).unwrap(),
        saved
    );
    assert!(
        !second_out.exists(),
        "a refused run created its --out folder"
    );

    // The same run again without --resume is refused too (it would restart from nothing).
    let again = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "1",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--out",
        path(&dir.path().join("first")),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("this same run"),
        "{}",
        stderr(&again)
    );

    // --overwrite replaces it, and says so; the new checkpoint is the second run's.
    let overwritten = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "2",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--overwrite",
        "--out",
        path(&second_out),
    ]);
    assert!(overwritten.status.success(), "{}", stderr(&overwritten));
    assert!(stderr(&overwritten).contains("--overwrite: replacing"));
    let resumed = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "2",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--resume",
        "--out",
        path(&dir.path().join("resumed")),
    ]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(results(&second_out), results(&dir.path().join("resumed")));

    // --overwrite and --resume contradict each other.
    let both = run(&[
        "run",
        "--checkpoint",
        path(&ckpt),
        "--overwrite",
        "--resume",
        "--out",
        path(&second_out),
    ]);
    assert_eq!(both.status.code(), Some(2));
}

#[test]
fn resume_with_nothing_saved_starts_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    assert!(run(&[
        "run",
        "--draws",
        "5000",
        "--seed",
        "3",
        "--quiet",
        "--out",
        path(&plain)
    ])
    .status
    .success());
    // A folder that does not exist yet, and one that exists but is empty (a run killed
    // before its first save).
    for ckpt in [dir.path().join("none"), dir.path().join("empty")] {
        if ckpt.ends_with("empty") {
            std::fs::create_dir(&ckpt).unwrap();
        }
        let out = dir
            .path()
            .join(format!("out-{}", ckpt.display().to_string().len()));
        let resumed = run(&[
            "run",
            "--draws",
            "5000",
            "--seed",
            "3",
            "--quiet",
            "--checkpoint",
            path(&ckpt),
            "--resume",
            "--out",
            path(&out),
        ]);
        assert!(resumed.status.success(), "{}", stderr(&resumed));
        assert!(
            stderr(&resumed).contains("holds no checkpoint yet")
                && stderr(&resumed).contains("starting from the beginning"),
            "{}",
            stderr(&resumed)
        );
        assert_eq!(results(&plain), results(&out));
        assert!(ckpt.join("partial.tariffsim").exists());
    }
}

#[test]
fn a_killed_save_draws_leaves_no_temporary_behind_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut child = bin()
        .args([
            "run",
            "--draws",
            "20000000",
            "--threads",
            "1",
            "--quiet",
            "--save-draws",
            "--out",
            path(&out),
        ])
        .spawn()
        .unwrap();
    // The draws file grows as a temporary until the run ends: kill it on the way.
    wait_for(|| {
        temporaries(&out)
            .iter()
            .any(|t| t.metadata().is_ok_and(|m| m.len() > 1_000_000))
    });
    kill_9(&mut child);
    let left = temporaries(&out);
    assert_eq!(left.len(), 1, "{left:?}");

    let next = run(&["run", "--draws", "2000", "--quiet", "--out", path(&out)]);
    assert!(next.status.success(), "{}", stderr(&next));
    let msg = stderr(&next);
    assert!(
        msg.contains("note: removed") && msg.contains("interrupted run") && msg.contains(" MB)"),
        "{msg}"
    );
    assert!(temporaries(&out).is_empty());
    assert!(out.join("summary.json").exists());
}

#[test]
fn a_folder_being_written_is_locked_and_the_lock_dies_with_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ckpt = dir.path().join("ckpt");
    let mut child = bin()
        .args([
            "run",
            "--draws",
            "50000000",
            "--threads",
            "1",
            "--quiet",
            "--checkpoint",
            path(&ckpt),
            "--out",
            path(&out),
        ])
        .spawn()
        .unwrap();
    // Locks are taken before the first checkpoint is saved.
    wait_for(|| ckpt.join("partial.tariffsim").exists());
    for (what, args) in [
        (
            "--out",
            vec!["run", "--draws", "2000", "--quiet", "--out", path(&out)],
        ),
        (
            "--checkpoint",
            vec![
                "run",
                "--draws",
                "2000",
                "--quiet",
                "--checkpoint",
                path(&ckpt),
                "--resume",
                "--out",
                path(&dir.path().join("other")),
            ],
        ),
        (
            "sweep --out",
            vec![
                "sweep",
                "--vary",
                "baseline.growth=0,0.01",
                "--draws",
                "1000",
                "--quiet",
                "--out",
                path(&out),
            ],
        ),
        ("report", vec!["report", path(&out)]),
    ] {
        let second = run(&args);
        assert_eq!(second.status.code(), Some(2), "{what}: {}", stderr(&second));
        assert!(
            stderr(&second).contains("another tariffsim process is writing into this folder"),
            "{what}: {}",
            stderr(&second)
        );
    }
    assert!(!dir.path().join("other").exists());
    kill_9(&mut child);
    // The killed run's locks are gone with it: its run can be resumed into the same folders.
    let resumed = run(&[
        "run",
        "--draws",
        "2000",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--overwrite",
        "--out",
        path(&out),
    ]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
}

#[test]
fn a_shard_checkpoints_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let draws = "700000"; // 684 blocks: 228 a shard, several checkpoint groups of 64
    let full = dir.path().join("full");
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
    let mut shards = Vec::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("shard{k}"));
        let ckpt = dir.path().join(format!("ckpt{k}"));
        let shard = format!("{k}/3");
        let args = [
            "run",
            "--draws",
            draws,
            "--seed",
            "9",
            "--threads",
            "1",
            "--quiet",
            "--shard",
            &shard,
            "--checkpoint",
            path(&ckpt),
            "--out",
            path(&out),
        ];
        if k == 2 {
            kill_after_first_checkpoint(&args, &ckpt, std::time::Duration::ZERO);
            let saved = tariffsim::report::read_partial(&ckpt).unwrap();
            let done: u64 = saved.completed.iter().map(|(a, b)| b - a).sum();
            assert!(done > 0, "the shard's checkpoint holds blocks");
            let resumed = run(&[&args[..], &["--resume"]].concat());
            assert!(resumed.status.success(), "{}", stderr(&resumed));
        } else {
            let o = run(&args);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        // The shard's checkpoint is its partial result.
        assert_eq!(
            std::fs::read(ckpt.join("partial.tariffsim")).unwrap(),
            std::fs::read(out.join("partial.tariffsim")).unwrap()
        );
        shards.push(out);
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["merge", "--quiet", "--out", path(&merged)];
    args.extend(shards.iter().map(|s| path(s)));
    let m = run(&args);
    assert!(m.status.success(), "{}", stderr(&m));
    assert_eq!(results(&full), results(&merged));
}

#[test]
fn model_folders_stay_inside_out_and_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(models.join(sub)).unwrap();
    }
    let text = tariffsim::model::DEFAULT_MODEL_TEXT;
    let names = [
        "...toml",
        "a/m.toml",
        "b/m.toml",
        "M.toml",
        "comparison.csv.toml",
        ".hidden.toml",
        "with space:colon.toml",
        "émigré.toml",
    ];
    let mut args = vec![
        "run".to_string(),
        "--draws".into(),
        "1024".into(),
        "--quiet".into(),
    ];
    for n in names {
        std::fs::write(models.join(n), text).unwrap();
        args.push(models.join(n).display().to_string());
    }
    let out = dir.path().join("deep/out");
    args.extend(["--out".into(), out.display().to_string()]);
    let res = bin().args(&args).output().unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    // Nothing was written next to --out or above it.
    let beside: Vec<_> = std::fs::read_dir(dir.path().join("deep"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, vec![std::ffi::OsString::from("out")]);
    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    folders.sort();
    // `..` has no name left, `M` is `m` on a case-insensitive disk, comparison.csv is the
    // run's own file.
    let mut expected = [
        "model",
        "m",
        "m-2",
        "M-3",
        "comparison.csv-2",
        "_hidden",
        "with_space_colon",
        "émigré",
    ]
    .map(String::from)
    .to_vec();
    expected.sort();
    assert_eq!(folders, expected);
    for f in &folders {
        assert!(out.join(f).join("summary.json").exists(), "{f}");
    }
    // One comparison row set per model, each under its folder's name.
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let labels: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(labels.len(), names.len());
    assert!(stderr(&res).contains("note: the results of"));
}
