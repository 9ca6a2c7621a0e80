//! `--line-outputs`: lines.csv within the stated accuracy of exact quantiles, bit-identical
//! across threads and shards, and no statistics memory without the flag.

use tariffsim::lines::{LINE_QUANTILES, RELATIVE_ACCURACY};
use tariffsim::run::{run, RunConfig};
use tariffsim::SamplerKind;

use super::common::{path, run_bin};
use super::{compile, evaluate, write};

/// Three sectors, 60 lines with varied shares and rates, uncertain elasticities.
fn model_and_lines() -> (String, String) {
    let model = r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "autos"
share = 0.2
sigma = { dist = "lognormal", median = 4.0, sd_log = 0.4 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
codes = ["87"]

[[sectors]]
id = "steel"
share = 0.1
sigma = { dist = "lognormal", median = 6.0, sd_log = 0.3 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
eta = { dist = "lognormal", median = 3.0, sd_log = 0.5 }
codes = ["72"]

[[sectors]]
id = "other"
share = 0.05
sigma = 3.0
epsilon = 1.0
codes = ["*"]

[interim]
tariff = { default = 0.1, "hs:8703" = 0.25, "hs:72" = 0.25 }
competitor_tariff = { default = 0.1, "hs:72" = 0.3 }

[[scenarios]]
id = "deal"
probability = 0.5
effective_month = { dist = "uniform", low = 2, high = 8 }
tariff = { default = { dist = "uniform", low = 0.0, high = 0.15 }, "hs:8703" = 0.15 }

[[scenarios]]
id = "no_deal"
probability = 0.5
tariff = { default = 0.25 }
"#;
    let mut lines = String::from("code,exports,share\n");
    for i in 0..60 {
        let chapter = ["8703", "8708", "7208", "7306", "3004"][i % 5];
        let share = 0.02 + 0.3 * ((i * 37) % 11) as f64 / 11.0;
        lines.push_str(&format!(
            "{chapter}{:02},{},{share}\n",
            i,
            0.1 + (i % 7) as f64
        ));
    }
    (model.to_string(), lines)
}

#[test]
fn lines_csv_quantiles_are_within_the_stated_accuracy_of_exact_ones() {
    let (text, lines) = model_and_lines();
    let dir = tempfile::tempdir().unwrap();
    let model = compile(dir.path(), &text, &lines)
        .with_line_outputs(true)
        .unwrap();
    let draws = 5000;
    let config = RunConfig {
        draws,
        seed: 11,
        threads: 2,
        sampler: SamplerKind::MonteCarlo,
        antithetic: false,
    };
    let outcome = run(&model, &config).unwrap();
    let sketches = outcome.stats.line_sketches().expect("line sketches kept");
    let (_, exact) = evaluate(&model, draws, 11);
    for (l, line) in model.lines.iter().enumerate() {
        let s = sketches.summary(l, line.exports);
        let mut values = exact[l].clone();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (s.mean - mean).abs() <= 1e-9 * mean.abs().max(1e-12),
            "line {l}: {} vs {mean}",
            s.mean
        );
        values.sort_by(f64::total_cmp);
        for (q, &level) in LINE_QUANTILES.iter().enumerate() {
            let rank = ((level * values.len() as f64).ceil() as usize).clamp(1, values.len());
            let x = values[rank - 1];
            let y = s.quantiles[q];
            let bound = RELATIVE_ACCURACY * x.abs() * (1.0 + 1e-9) + 1e-6 * line.exports;
            assert!(
                (y - x).abs() <= bound,
                "line {l} q{level}: sketch {y}, exact {x}"
            );
        }
    }
    // Without the flag the run keeps no line statistics at all.
    let plain = compile(dir.path(), &text, &lines);
    let outcome = run(&plain, &config).unwrap();
    assert!(outcome.stats.line_sketches().is_none());
    assert!(evaluate(&plain, 10, 1).1.iter().all(Vec::is_empty));
}

#[test]
fn lines_csv_is_bit_identical_across_threads_and_shards() {
    let (text, lines) = model_and_lines();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &text, &lines);
    let run_to = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            path(&file),
            "--draws",
            "5000",
            "--seed",
            "4",
            "--quiet",
            "--line-outputs",
            "--out",
            path(&out),
        ];
        args.extend_from_slice(extra);
        let o = run_bin(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let one = run_to("one", &["--threads", "1"]);
    let two = run_to("two", &["--threads", "2"]);
    let a = std::fs::read_to_string(one.join("lines.csv")).unwrap();
    let b = std::fs::read_to_string(two.join("lines.csv")).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.lines().count(), 61);
    assert!(
        a.starts_with("code,sector,mean,p5,p50,p95\n870300,autos,"),
        "{a}"
    );
    let s1 = run_to("s1", &["--shard", "1/2"]);
    let s2 = run_to("s2", &["--shard", "2/2", "--threads", "1"]);
    let merged = dir.path().join("merged");
    let o = run_bin(&[
        "merge",
        path(&s1),
        path(&s2),
        "--out",
        path(&merged),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(merged.join("lines.csv")).unwrap(),
        a
    );
    // Sector outputs agree too (summary.json of the merged and the whole run).
    let whole = super::common::summary(&one);
    let parts = super::common::summary(&merged);
    assert_eq!(whole["outputs"], parts["outputs"]);
}

#[test]
fn line_outputs_on_a_model_without_lines_is_refused() {
    let o = run_bin(&[
        "run",
        "--draws",
        "100",
        "--line-outputs",
        "--quiet",
        "--out",
        "/nonexistent/x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs a model with tariff lines"));
}
