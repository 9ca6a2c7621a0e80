//! Exit codes and messages (issue 15, item 7): every input a user gives that cannot be used
//! exits 2 (README), and a write that fails midway says which files were completed and which
//! were not.

use crate::common::{path, run_bin as run, stderr};

#[test]
fn unusable_input_files_and_folders_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("folder.toml")).unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::write(d.join("file"), "x").unwrap();
    let out = d.join("out");
    for (args, needle) in [
        (
            vec!["validate", path(&d.join("missing.toml"))],
            "missing.toml: cannot read",
        ),
        (
            vec!["validate", path(&d.join("folder.toml"))],
            "folder.toml: cannot read",
        ),
        (
            vec!["run", path(&d.join("missing.toml")), "--out", path(&out)],
            "missing.toml: cannot read",
        ),
        (
            vec!["run", path(&d.join("folder.toml")), "--out", path(&out)],
            "Is a directory",
        ),
        (
            vec![
                "sweep",
                path(&d.join("missing.toml")),
                "--vary",
                "baseline.growth=0,0.1",
                "--out",
                path(&out),
            ],
            "missing.toml: cannot read",
        ),
        (
            vec![
                "merge",
                path(&d.join("no-such-folder")),
                "--out",
                path(&out),
            ],
            "no-such-folder: cannot read",
        ),
        (
            vec!["merge", path(&d.join("empty")), "--out", path(&out)],
            "the folder holds no partial.tariffsim",
        ),
        (
            vec![
                "run",
                "--draws",
                "1000",
                "--checkpoint",
                path(&d.join("file")),
                "--out",
                path(&out),
            ],
            "a file of this name exists",
        ),
        (
            vec!["run", "--draws", "1000", "--out", path(&d.join("file"))],
            "a file of this name exists",
        ),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(needle),
            "{args:?}: `{needle}` not in {}",
            stderr(&o)
        );
        assert!(!out.exists(), "{args:?} created --out");
    }
}

#[test]
fn a_write_that_fails_midway_names_the_files_completed_and_not() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where quantiles.csv should go: summary.json is written, quantiles.csv cannot be
    // (the same for any user, root included, unlike a read-only folder).
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("quantiles.csv")).unwrap();
    std::fs::write(out.join("report.html"), "an earlier run's report").unwrap();
    let o = run(&[
        "run",
        "--draws",
        "2000",
        "--quiet",
        "--report",
        "--out",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let msg = stderr(&o);
    let summary = out.join("summary.json").display().to_string();
    let quantiles = out.join("quantiles.csv").display().to_string();
    let report = out.join("report.html").display().to_string();
    assert!(
        msg.contains(&format!("files completed before the failure: {summary}\n")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("not written: {quantiles}, {report}")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "left from an earlier run (not this run's results): {report}"
        )),
        "{msg}"
    );

    // The same for a sweep: sweep.csv done, sweep.json not.
    let sweep = dir.path().join("sweep");
    std::fs::create_dir_all(sweep.join("sweep.json")).unwrap();
    let o = run(&[
        "sweep",
        "--vary",
        "baseline.growth=0,0.01",
        "--draws",
        "1000",
        "--quiet",
        "--out",
        path(&sweep),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(
        msg.contains(&format!(
            "files completed before the failure: {}",
            sweep.join("sweep.csv").display()
        )) && msg.contains(&format!(
            "not written: {}",
            sweep.join("sweep.json").display()
        )),
        "{msg}"
    );
}

#[test]
fn sensitivity_without_bootstrap_resamples_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = run(&[
        "sensitivity",
        "--samples",
        "64",
        "--bootstrap",
        "0",
        "--out",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--bootstrap") && stderr(&o).contains("1..=100000"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}
