//! `mpirun -n 2 tariffsim run ...` gives the bit-identical result of a single process
//! (issue #7). Built only with `--features mpi`; needs `mpirun` on the PATH (OpenMPI).
#![cfg(feature = "mpi")]

use std::process::Command;

fn results(dir: &std::path::Path) -> String {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    serde_json::to_string(&(&s["outputs"], &s["scenarios"])).unwrap()
}

#[test]
fn two_ranks_equal_one_process() {
    let bin = env!("CARGO_BIN_EXE_tariffsim");
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let status = Command::new(bin)
        .args(["run", "--draws", "50000", "--seed", "8", "--quiet", "--out"])
        .arg(&single)
        .status()
        .unwrap();
    assert!(status.success());
    let ranked = dir.path().join("mpi");
    let output = Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            "2",
            bin,
            "run",
            "--draws",
            "50000",
            "--seed",
            "8",
            "--threads",
            "1",
            "--quiet",
            "--out",
        ])
        .arg(&ranked)
        .output()
        .expect("mpirun must be installed for the mpi feature's tests");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        results(&single) == results(&ranked),
        "MPI result differs from the single-process run"
    );
}
