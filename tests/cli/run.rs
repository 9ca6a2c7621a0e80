//! The real binary in a temporary folder: files written, their layout (a port of the checks
//! of MODEL.md §9), exit codes and error messages.

use crate::common::bin;
use std::path::Path;

use serde_json::Value;

const QUANTILES: [&str; 9] = [
    "0.01", "0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95", "0.99",
];
const HEADLINE: [&str; 15] = [
    "export_loss",
    "export_loss_pct",
    "purchases",
    "surplus_change",
    "surplus",
    "effective_tariff",
    "gdp_impact_pct",
    "fx_depreciation_pct",
    "equity_drawdown_pct",
    "stress_index",
    "stress_event",
    "investment_outflow",
    "defence_cost",
    "deal_cost",
    "fiscal_cost_pct",
];

/// Parameter paths a model file defines (MODEL.md §7), derived from the TOML independently of the crate.
fn parameter_paths(model: &toml::Table) -> Vec<String> {
    let mut paths = Vec::new();
    let empty = toml::Table::new();
    if model["baseline"].get("growth").is_some() {
        paths.push("baseline.growth".into());
    }
    for s in model["sectors"].as_array().unwrap() {
        for k in ["sigma", "epsilon", "eta"] {
            paths.push(format!("sectors.{}.{k}", s["id"].as_str().unwrap()));
        }
        // MODEL.md §11–§12: parameters only where the file gives them.
        for k in ["growth", "half_life_months"] {
            if s.get(k).is_some() {
                paths.push(format!("sectors.{}.{k}", s["id"].as_str().unwrap()));
            }
        }
        // MODEL.md §10–§11: one `competitor_eta` parameter, or one per key of its table.
        match s.get("competitor_eta") {
            Some(toml::Value::Table(t)) if !t.contains_key("dist") => {
                for k in t.keys() {
                    paths.push(format!(
                        "sectors.{}.competitor_eta.{k}",
                        s["id"].as_str().unwrap()
                    ));
                }
            }
            Some(_) => paths.push(format!(
                "sectors.{}.competitor_eta",
                s["id"].as_str().unwrap()
            )),
            None => {}
        }
        if s.get("redirection").is_some() {
            paths.push(format!("sectors.{}.redirection", s["id"].as_str().unwrap()));
        }
    }
    // Named competitors' tariffs in a regime: `<regime>.competitors.<j>.tariff.<key>`.
    let competitor_paths = |prefix: &str, regime: &toml::Table, paths: &mut Vec<String>| {
        let empty = toml::Table::new();
        for (j, t) in regime
            .get("competitors")
            .and_then(|v| v.as_table())
            .unwrap_or(&empty)
        {
            for k in t
                .get("tariff")
                .and_then(|v| v.as_table())
                .unwrap_or(&empty)
                .keys()
            {
                paths.push(format!("{prefix}.competitors.{j}.tariff.{k}"));
            }
        }
    };
    let interim = model
        .get("interim")
        .and_then(|v| v.as_table())
        .unwrap_or(&empty);
    for kind in ["tariff", "competitor_tariff"] {
        for k in interim
            .get(kind)
            .and_then(|v| v.as_table())
            .unwrap_or(&empty)
            .keys()
        {
            paths.push(format!("interim.{kind}.{k}"));
        }
    }
    competitor_paths("interim", interim, &mut paths);
    for sc in model["scenarios"].as_array().unwrap() {
        let id = sc["id"].as_str().unwrap();
        for kind in ["tariff", "competitor_tariff"] {
            for k in sc
                .get(kind)
                .and_then(|v| v.as_table())
                .unwrap_or(&empty)
                .keys()
            {
                paths.push(format!("scenarios.{id}.{kind}.{k}"));
            }
        }
        competitor_paths(
            &format!("scenarios.{id}"),
            sc.as_table().unwrap(),
            &mut paths,
        );
        for k in ["effective_month", "purchases", "investment", "defence"] {
            if sc.get(k).is_some() {
                paths.push(format!("scenarios.{id}.{k}"));
            }
        }
    }
    // MODEL.md §15's optional keys are parameters only where the file gives them.
    for (table, keys) in [
        (
            "macro",
            &[
                "value_added_share",
                "gdp_multiplier",
                "investment_crowd_out",
            ][..],
        ),
        (
            "market",
            &[
                "fx_beta",
                "fx_noise",
                "equity_beta",
                "equity_noise",
                "fx_flow_beta",
                "fx_conversion",
            ][..],
        ),
    ] {
        for key in keys {
            let optional = ["investment_crowd_out", "fx_flow_beta", "fx_conversion"];
            if !optional.contains(key) || model[table].get(*key).is_some() {
                paths.push(format!("{table}.{key}"));
            }
        }
    }
    paths
}

/// The layout checks of MODEL.md §9 (the same as the project's `check_results.py`).
pub(crate) fn check_results(dir: &Path, model_text: &str) {
    let model: toml::Table = toml::from_str(model_text).unwrap();
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for k in ["name", "file", "sha256"] {
        assert!(summary["model"].get(k).is_some(), "model.{k}");
    }
    for k in [
        "draws",
        "seed",
        "sampler",
        "threads",
        "version",
        "elapsed_s",
    ] {
        assert!(summary["run"].get(k).is_some(), "run.{k}");
    }
    let mut expected: Vec<String> = HEADLINE.iter().map(|s| s.to_string()).collect();
    for s in model["sectors"].as_array().unwrap() {
        expected.push(format!("sectors.{}.export_loss", s["id"].as_str().unwrap()));
    }
    expected.push("export_change_pct".into());
    // MODEL.md §11 and §10: the net loss, then every named competitor in file order.
    expected.push("net_export_loss".into());
    expected.push("net_export_loss_pct".into());
    for c in model
        .get("competitors")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        expected.push(format!(
            "competitors.{}.export_loss",
            c["id"].as_str().unwrap()
        ));
    }
    let header = model["model"].as_table().unwrap();
    if header.get("monthly").and_then(|m| m.as_bool()) == Some(true) {
        let months = header
            .get("horizon_months")
            .and_then(|h| h.as_integer())
            .unwrap_or(12);
        for t in 1..=months {
            for k in ["export_loss", "export_change_pct", "effective_tariff"] {
                expected.push(format!("months.{t}.{k}"));
            }
        }
    }
    for name in &expected {
        let st = &summary["outputs"][name];
        for k in ["mean", "sd", "se_mean", "min", "max"] {
            assert!(st[k].as_f64().is_some_and(f64::is_finite), "{name}.{k}");
        }
        let q: Vec<f64> = QUANTILES
            .iter()
            .map(|k| st["quantiles"][k].as_f64().unwrap())
            .collect();
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]),
            "{name} quantiles not ordered"
        );
        assert!(st["min"].as_f64().unwrap() <= q[0] && q[8] <= st["max"].as_f64().unwrap());
        for (k, qi) in [("0.95", 7), ("0.99", 8)] {
            assert!(
                st["es"][k].as_f64().unwrap() >= q[qi] - 1e-9 * q[qi].abs().max(1.0),
                "{name} es {k}"
            );
        }
    }
    let scenarios = summary["scenarios"].as_object().unwrap();
    let ids: Vec<&str> = model["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        scenarios.keys().map(|s| s.as_str()).collect::<Vec<_>>(),
        ids
    );
    let total: f64 = scenarios
        .values()
        .map(|s| s["frequency"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9);
    for s in scenarios.values() {
        if s["frequency"].as_f64().unwrap() > 0.0 {
            for o in ["export_loss", "surplus_change"] {
                assert!(s["outputs"][o]["mean"].as_f64().is_some());
            }
        }
    }
    // What the deal costs (issue 17): every scenario, from the run's own seed and sampler.
    if ids.len() > 1 {
        let costs = summary["deal_costs"]["scenarios"].as_object().unwrap();
        assert_eq!(costs.keys().map(|s| s.as_str()).collect::<Vec<_>>(), ids);
        for (id, c) in costs {
            for k in [
                "export_loss",
                "deal_cost",
                "purchases",
                "investment_outflow",
            ] {
                assert!(c[k].as_f64().is_some_and(f64::is_finite), "{id}.{k}");
            }
            for k in ["trade", "investment_flow", "noise"] {
                assert!(
                    c["fx_depreciation_pct"][k].as_f64().is_some(),
                    "{id}.fx.{k}"
                );
            }
        }
    }
    let quantiles = std::fs::read_to_string(dir.join("quantiles.csv")).unwrap();
    assert_eq!(quantiles.lines().count(), 1 + expected.len());
    if let Ok(draws) = std::fs::read_to_string(dir.join("draws.csv")) {
        let mut lines = draws.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut want = vec!["draw".to_string(), "scenario".to_string()];
        want.extend(parameter_paths(&model));
        want.extend(expected.iter().cloned());
        assert_eq!(header, want, "draws.csv columns");
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        for (c, v) in header.iter().zip(&first).skip(2) {
            assert!(v.parse::<f64>().is_ok(), "{c} = {v}");
        }
    }
}

#[test]
fn run_writes_all_files_in_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("res");
    let status = bin()
        .args([
            "run",
            "--draws",
            "3000",
            "--seed",
            "5",
            "--save-draws",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    check_results(&out, tariffsim::model::DEFAULT_MODEL_TEXT);
    let draws = std::fs::read_to_string(out.join("draws.csv")).unwrap();
    assert_eq!(draws.lines().count(), 3001);
    // Rows are in draw order and numbers round-trip: the mean of the column equals the summary's.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let header: Vec<&str> = draws.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "export_loss").unwrap();
    let mut sum = 0.0;
    for (i, line) in draws.lines().skip(1).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], i.to_string());
        sum += fields[col].parse::<f64>().unwrap();
    }
    let mean = summary["outputs"]["export_loss"]["mean"].as_f64().unwrap();
    assert!((sum / 3000.0 - mean).abs() <= 1e-12 * mean.abs());
    assert_eq!(summary["run"]["draws"], 3000);
    assert_eq!(summary["run"]["seed"], 5);
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn run_prints_the_headline_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = bin()
        .args(["run", "--draws", "2048", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "export_loss",
        "p5",
        "p50",
        "p95",
        "gdp_impact_pct",
        "P(stress event)",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from\n{stdout}");
    }
    // stderr is not a terminal here: no progress bar.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn invalid_model_exits_2_with_file_line_and_no_results() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bad.toml");
    let text = tariffsim::model::DEFAULT_MODEL_TEXT.replacen(
        "horizon_months = 12",
        "horizon_months = -12",
        1,
    );
    std::fs::write(&model, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("horizon_months = -12"))
        .unwrap()
        + 1;
    let out = dir.path().join("res");
    let output = bin()
        .arg("run")
        .arg(&model)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("bad.toml:{line}:")), "{stderr}");
    assert!(stderr.contains("model.horizon_months"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn validate_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, tariffsim::model::DEFAULT_MODEL_TEXT).unwrap();
    let output = bin().arg("validate").arg(&good).output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));
    let missing = dir.path().join("missing.toml");
    let output = bin()
        .arg("validate")
        .arg(&good)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.toml: cannot read"));
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        vec!["run", "--draws", "0"],
        vec!["run", "--draws", "many"],
        vec!["run", "--threads", "-1"],
        vec!["frobnicate"],
    ] {
        let output = bin().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

/// Issue 15, item 6: `bench --sectors N` had no upper bound and aborted on allocation failure.
#[test]
fn bench_sectors_is_bounded() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tariffsim"))
        .args(["bench", "--sectors", "100000000", "--draws", "10"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..=1000"));
}

/// Issue 15, item 11: Sobol points are balanced at 2^k draws; other counts are warned about.
#[test]
fn sobol_with_a_draw_count_not_a_power_of_two_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    for (draws, warned) in [("3000", true), ("4096", false)] {
        let out = crate::common::run_bin(&[
            "run",
            "--sampler",
            "sobol",
            "--draws",
            draws,
            "--quiet",
            "--out",
            crate::common::path(&dir.path().join(draws)),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr.contains("not a power of two"),
            warned,
            "{draws}: {stderr}"
        );
    }
}
