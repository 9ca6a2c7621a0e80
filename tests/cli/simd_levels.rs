//! The vectorised loops are compiled for SSE2, AVX2 and AVX-512 and picked at run time (or
//! capped by `TARIFFSIM_SIMD`). Every level runs the same IEEE operations in the same order,
//! so a run's results are the same bits whichever level runs. Levels the CPU lacks are capped
//! to what it has, so on a CPU without AVX-512 this compares fewer levels, never fails for it.

use std::path::Path;

use crate::common::{assert_ok, bin, path, stderr};

/// The result files of a run with the lines that record the process left out.
fn results(dir: &Path) -> Vec<(String, String)> {
    ["summary.json", "quantiles.csv", "draws.csv"]
        .iter()
        .filter(|f| dir.join(f).exists())
        .map(|f| {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("\"threads\":") && !l.contains("\"elapsed_s\":"))
                .collect();
            (f.to_string(), kept.join("\n"))
        })
        .collect()
}

fn run_at(level: &str, model: Option<&str>, extra: &[&str], out: &Path) {
    let mut command = bin();
    command.env(tariffsim::SIMD_ENV, level).arg("run");
    if let Some(model) = model {
        command.arg(model);
    }
    let output = command
        .args([
            "--draws",
            "6000",
            "--threads",
            "2",
            "--save-draws",
            "--quiet",
        ])
        .args(extra)
        .args(["--out", path(out)])
        .output()
        .unwrap();
    assert_ok(&output);
}

fn assert_levels_agree(model: Option<&str>, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let levels = ["generic", "avx2", "avx512"];
    for level in levels {
        run_at(level, model, extra, &dir.path().join(level));
    }
    let want = results(&dir.path().join("generic"));
    assert_eq!(want.len(), 3, "summary.json, quantiles.csv and draws.csv");
    for level in &levels[1..] {
        for ((name, a), (_, b)) in want.iter().zip(results(&dir.path().join(level))) {
            assert!(*a == b, "{name}: {level} differs from generic ({model:?})");
        }
    }
}

#[test]
fn default_model_gives_the_same_bits_at_every_instruction_set() {
    assert_levels_agree(None, &[]);
}

/// The monthly outputs: with AVX-512 the path runs all months of a group of draws in
/// registers and the months' outputs are added afterwards.
#[test]
fn monthly_outputs_give_the_same_bits_at_every_instruction_set() {
    assert_levels_agree(None, &["--monthly"]);
    assert_levels_agree(
        Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/examples/lines/korea_us_2025_by_line.toml"
        )),
        &["--monthly"],
    );
}

#[test]
fn line_model_with_competitors_gives_the_same_bits_at_every_instruction_set() {
    assert_levels_agree(
        Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/examples/lines/korea_us_2025_by_line.toml"
        )),
        &[],
    );
}

#[test]
fn an_unknown_instruction_set_is_refused() {
    let output = bin()
        .env(tariffsim::SIMD_ENV, "avx1024")
        .args(["bench", "--draws", "10"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("TARIFFSIM_SIMD") && message.contains("generic, avx2, avx512, auto"),
        "{message}"
    );
}
