//! Issue 15, items 4, 12 and 14 through the binary: every CSV file is safe to open in a
//! spreadsheet, every output has a unit, sweeps and sensitivity analyses have long (tidy)
//! forms, draws.csv has Stata-safe names on request, and `compare` compares two runs.

use std::path::{Path, PathBuf};

use crate::common::{path, run_bin as run, summary};

/// The default model made hostile: a name that is a formula and a scenario id starting
/// with `-` (ids may contain `-`).
fn hostile_model(dir: &Path, file: &str) -> PathBuf {
    let text = tariffsim::model::DEFAULT_MODEL_TEXT
        .replace(
            "name = \"US tariffs on Korea, as seen on 9 April 2025\"",
            "name = \"=HYPERLINK(\\\"http://evil\\\",\\\"x\\\")\"",
        )
        .replace("escalation", "-cmd");
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

fn ok(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `.csv` file under `dir`, recursively.
fn csv_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            csv_files(&p, found);
        } else if p.extension().is_some_and(|x| x == "csv") {
            found.push(p);
        }
    }
}

/// A cell a spreadsheet reads as a number (not a formula).
fn is_number(cell: &str) -> bool {
    let lower = cell.to_ascii_lowercase();
    cell.parse::<f64>().is_ok() && !lower.contains("inf") && !lower.contains("nan")
}

/// Issue 15, item 4 (the class): whatever CSV file a command writes, no cell starts with a
/// character that makes a spreadsheet run it as a formula, unless it is a plain number.
#[test]
fn every_csv_file_is_safe_to_open_in_a_spreadsheet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = hostile_model(d, "=evil.toml");
    let b = hostile_model(d, "+other.toml");
    let out = d.join("out");
    // Several models: comparison.csv, and each run's quantiles.csv and draws.csv.
    ok(&[
        "run",
        path(&a),
        path(&b),
        "--draws",
        "3000",
        "--save-draws",
        "--quiet",
        "--out",
        path(&out),
    ]);
    ok(&[
        "run",
        path(&a),
        "--draws",
        "3000",
        "--save-draws",
        "--stata-names",
        "--quiet",
        "--out",
        path(&d.join("stata")),
    ]);
    ok(&[
        "sweep",
        path(&a),
        "--vary",
        "interim.tariff.default=-0.1,0.25",
        "--draws",
        "2000",
        "--quiet",
        "--out",
        path(&d.join("sweep")),
    ]);
    ok(&[
        "sensitivity",
        path(&a),
        "--samples",
        "64",
        "--bootstrap",
        "10",
        "--group",
        "@SUM(A1)=sectors.autos.sigma,sectors.autos.epsilon",
        "--quiet",
        "--out",
        path(&d.join("sens")),
    ]);
    let runs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 2);
    ok(&[
        "compare",
        path(&runs[0]),
        path(&runs[1]),
        "--out",
        path(&d.join("cmp")),
    ]);
    let mut files = Vec::new();
    csv_files(d, &mut files);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "comparison.csv",
        "quantiles.csv",
        "draws.csv",
        "draws_columns.csv",
        "sweep.csv",
        "sweep_long.csv",
        "sensitivity.csv",
        "compare.csv",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not written");
    }
    let mut neutralised = 0;
    for f in &files {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(f)
            .unwrap();
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                let first = cell.chars().next();
                if matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')) {
                    assert!(is_number(cell), "{}: cell {cell:?}", f.display());
                }
                neutralised += usize::from(cell.starts_with('\''));
            }
        }
    }
    // The hostile texts are there, quoted: model names, folder labels, ids, group names.
    assert!(neutralised > 0);
    let comparison = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    // (The folder labels `=evil` and `+other` are made safe file names by `run` itself.)
    assert!(comparison.contains("\"'=HYPERLINK("), "{comparison}");
    let draws = std::fs::read_to_string(runs[0].join("draws.csv")).unwrap();
    assert!(draws.contains(",'-cmd,"));
    let sensitivity = std::fs::read_to_string(d.join("sens/sensitivity.csv")).unwrap();
    assert!(sensitivity.contains(",'@SUM(A1),group,"));
    // Numbers are untouched: the sweep's negative grid value stays a number.
    let sweep = std::fs::read_to_string(d.join("sweep/sweep.csv")).unwrap();
    assert!(
        sweep.lines().nth(1).unwrap().starts_with("-0.1,"),
        "{sweep}"
    );
}

/// Issue 15, item 12: a unit for every output, in quantiles.csv and summary.json.
#[test]
fn every_output_has_a_unit_in_quantiles_csv_and_summary_json() {
    let dir = tempfile::tempdir().unwrap();
    ok(&[
        "run",
        "--draws",
        "2000",
        "--monthly",
        "--quiet",
        "--out",
        path(dir.path()),
    ]);
    let s = summary(dir.path());
    let outputs = s["outputs"].as_object().unwrap();
    let text = std::fs::read_to_string(dir.path().join("quantiles.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[..3], ["output", "unit", "mean"]);
    let mut rows = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let unit = &r[1];
        assert!(!unit.is_empty(), "{}", &r[0]);
        assert_eq!(outputs[&r[0]]["unit"], unit, "{}", &r[0]);
        rows += 1;
    }
    assert_eq!(rows, outputs.len());
    assert_eq!(outputs["export_loss"]["unit"], "USD bn");
    assert_eq!(outputs["effective_tariff"]["unit"], "fraction");
    assert_eq!(outputs["months.2.export_change_pct"]["unit"], "%");
}

/// Issue 15, item 12: sweep_long.csv holds exactly the numbers of sweep.csv, one per row.
#[test]
fn sweep_and_sensitivity_have_long_forms_with_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep");
    ok(&[
        "sweep",
        "--vary",
        "interim.tariff.default=0.1,0.2",
        "--vary",
        "scenarios.no_deal.tariff.default=0.25,0.3,0.35",
        "--draws",
        "1500",
        "--quiet",
        "--out",
        path(&sweep),
    ]);
    let wide = csv::Reader::from_path(sweep.join("sweep.csv"))
        .unwrap()
        .into_records()
        .map(|r| r.unwrap())
        .collect::<Vec<_>>();
    let wide_header: Vec<String> = csv::Reader::from_path(sweep.join("sweep.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let mut long = csv::Reader::from_path(sweep.join("sweep_long.csv")).unwrap();
    assert_eq!(
        long.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "point",
            "interim.tariff.default",
            "scenarios.no_deal.tariff.default",
            "output",
            "unit",
            "statistic",
            "value"
        ]
    );
    let mut n = 0;
    for r in long.records() {
        let r = r.unwrap();
        let point: usize = r[0].parse().unwrap();
        let row = &wide[point];
        assert_eq!((&r[1], &r[2]), (&row[0], &row[1]));
        let column = wide_header
            .iter()
            .position(|h| *h == format!("{}.{}", &r[3], &r[5]))
            .unwrap();
        // The same number, written the same way (an undefined one is empty in the long form).
        if row[column] == *"NaN" {
            assert_eq!(&r[6], "");
        } else {
            assert_eq!(&r[6], &row[column], "{:?}", r);
        }
        n += 1;
    }
    assert_eq!(
        n,
        6 * tariffsim::outputs::HEADLINE.len() * 6,
        "points × outputs × statistics"
    );

    let sens = dir.path().join("sens");
    ok(&[
        "sensitivity",
        "--samples",
        "64",
        "--bootstrap",
        "20",
        "--quiet",
        "--out",
        path(&sens),
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sens.join("sensitivity.json")).unwrap())
            .unwrap();
    let mut reader = csv::Reader::from_path(sens.join("sensitivity.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["output", "input", "kind", "index", "estimate", "ci_low", "ci_high"]
    );
    let mut rows = 0;
    for r in reader.records() {
        let r = r.unwrap();
        let key = if &r[2] == "parameter" {
            "parameters"
        } else {
            "groups"
        };
        let e = &json["outputs"][&r[0]][key][&r[1]];
        let cell = |c: &str| (!c.is_empty()).then(|| c.parse::<f64>().unwrap());
        assert_eq!(cell(&r[4]), e[&r[3]].as_f64(), "{r:?}");
        assert_eq!(cell(&r[5]), e[format!("{}_ci", &r[3])][0].as_f64(), "{r:?}");
        assert_eq!(cell(&r[6]), e[format!("{}_ci", &r[3])][1].as_f64(), "{r:?}");
        rows += 1;
    }
    let inputs: usize = json["outputs"]
        .as_object()
        .unwrap()
        .values()
        .map(|o| {
            o["parameters"].as_object().unwrap().len() + o["groups"].as_object().unwrap().len()
        })
        .sum();
    assert_eq!(rows, 2 * inputs, "one row per output × input × index");
}

/// Issue 15, item 12: `--stata-names` gives short, dot-free, unique names and a mapping file
/// back to the full names; the numbers are those of the plain draws.csv.
#[test]
fn stata_names_map_back_to_the_full_names() {
    let dir = tempfile::tempdir().unwrap();
    let (full, short) = (dir.path().join("full"), dir.path().join("short"));
    for (out, extra) in [(&full, None), (&short, Some("--stata-names"))] {
        let mut args = vec![
            "run",
            "--draws",
            "1200",
            "--monthly",
            "--save-draws",
            "--quiet",
            "--out",
            path(out),
        ];
        args.extend(extra);
        ok(&args);
    }
    let a = std::fs::read_to_string(full.join("draws.csv")).unwrap();
    let b = std::fs::read_to_string(short.join("draws.csv")).unwrap();
    let (ha, rest_a) = a.split_once('\n').unwrap();
    let (hb, rest_b) = b.split_once('\n').unwrap();
    assert_eq!(rest_a, rest_b);
    let long: Vec<&str> = ha.split(',').collect();
    let names: Vec<&str> = hb.split(',').collect();
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        assert!(n.len() <= 32 && !n.contains('.'), "{n}");
        assert!(seen.insert(*n), "{n} twice");
    }
    assert!(
        long.iter().any(|n| n.len() > 32),
        "the test needs long names"
    );
    let map = std::fs::read_to_string(short.join("draws_columns.csv")).unwrap();
    let pairs: Vec<(String, String)> = map
        .lines()
        .skip(1)
        .map(|l| {
            let (s, f) = l.split_once(',').unwrap();
            (s.to_string(), f.to_string())
        })
        .collect();
    assert_eq!(pairs.len(), long.len());
    for ((s, f), (n, l)) in pairs.iter().zip(names.iter().zip(&long)) {
        assert_eq!((s.as_str(), f.as_str()), (*n, *l));
    }
    assert!(!full.join("draws_columns.csv").exists());
    // Without --save-draws the flag is refused by clap.
    let out = run(&["run", "--stata-names", "--draws", "10"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Issue 15, item 14: `compare` writes compare.csv and compare.html; the same run compared
/// with itself differs nowhere, and a bad folder is refused with exit 2 and no files.
#[test]
fn compare_two_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, seed, set) in [
        ("a", "1", None),
        ("b", "2", None),
        ("c", "1", Some("scenarios.no_deal.tariff.default=0.4")),
    ] {
        let mut args = vec![
            "run", "--draws", "16384", "--seed", seed, "--quiet", "--out",
        ];
        let out = d.join(name);
        args.push(path(&out));
        if let Some(s) = set {
            args.extend(["--set", s]);
        }
        ok(&args);
    }
    let read = |dir: &str| -> Vec<Vec<String>> {
        csv::Reader::from_path(d.join(dir).join("compare.csv"))
            .unwrap()
            .into_records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    };
    // A with itself: every difference is 0 and none exceeds the Monte Carlo error.
    ok(&[
        "compare",
        path(&d.join("a")),
        path(&d.join("a")),
        "--out",
        path(&d.join("aa")),
    ]);
    let same = read("aa");
    assert!(!same.is_empty());
    for r in &same {
        assert!(r[6].is_empty() || r[6] == "0", "{r:?}");
        assert_ne!(r[3], "true", "{r:?}");
    }
    // Two seeds of the same model: the flag is filled where the summaries have s.e.s and
    // rarely true (a 2-s.e. test).
    ok(&[
        "compare",
        path(&d.join("a")),
        path(&d.join("b")),
        "--out",
        path(&d.join("ab")),
    ]);
    let seeds = read("ab");
    let mean = seeds
        .iter()
        .find(|r| r[0] == "export_loss" && r[2] == "mean")
        .unwrap();
    assert_eq!(mean[1], "USD bn");
    assert!(mean[3] == "true" || mean[3] == "false");
    let a: f64 = mean[4].parse().unwrap();
    let b: f64 = mean[5].parse().unwrap();
    assert_eq!(mean[6].parse::<f64>().unwrap(), b - a);
    let sa = summary(&d.join("a"))["outputs"]["export_loss"]["se_mean"]
        .as_f64()
        .unwrap();
    let sb = summary(&d.join("b"))["outputs"]["export_loss"]["se_mean"]
        .as_f64()
        .unwrap();
    let mc: f64 = mean[7].parse().unwrap();
    assert!((mc - 2.0 * sa.hypot(sb)).abs() < 1e-12 * mc);
    let flagged = seeds.iter().filter(|r| !r[3].is_empty()).count();
    let beyond = seeds.iter().filter(|r| r[3] == "true").count();
    assert!(
        flagged > 50 && beyond * 4 < flagged,
        "{beyond} of {flagged}"
    );
    // Another model (an override): no flag, the error still given.
    ok(&[
        "compare",
        path(&d.join("a")),
        path(&d.join("c")),
        "--out",
        path(&d.join("ac")),
    ]);
    let models = read("ac");
    assert!(models.iter().all(|r| r[3].is_empty()));
    let el = models
        .iter()
        .find(|r| r[0] == "export_loss" && r[2] == "mean")
        .unwrap();
    assert!(
        el[6].parse::<f64>().unwrap() > 0.0,
        "a higher no-deal tariff loses more"
    );
    let html = std::fs::read_to_string(d.join("ac").join("compare.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for want in [
        "VaR 95",
        "ES 95",
        "probability A",
        "<svg",
        "differ in their model",
    ] {
        assert!(html.contains(want), "{want}");
    }
    // Bad input: a missing folder and a malformed summary.json, exit 2, nothing written.
    std::fs::create_dir(d.join("broken")).unwrap();
    std::fs::write(d.join("broken/summary.json"), "{\"model\": 3}").unwrap();
    for bad in ["missing", "broken"] {
        let out_dir = d.join(format!("out-{bad}"));
        let out = run(&[
            "compare",
            path(&d.join("a")),
            path(&d.join(bad)),
            "--out",
            path(&out_dir),
        ]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad) && err.contains("summary.json"), "{err}");
        assert!(!out_dir.exists(), "{bad}: nothing is written");
    }
}

/// Issue 15, item 13: `report --sensitivity DIR` adds the Sobol indices; a sensitivity
/// analysis of another model is refused.
#[test]
fn report_shows_sobol_indices_of_the_same_model_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&[
        "run",
        "--draws",
        "2000",
        "--quiet",
        "--out",
        path(&d.join("run")),
    ]);
    ok(&[
        "sensitivity",
        "--samples",
        "64",
        "--bootstrap",
        "10",
        "--quiet",
        "--out",
        path(&d.join("sens")),
    ]);
    ok(&[
        "report",
        path(&d.join("run")),
        "--sensitivity",
        path(&d.join("sens")),
    ]);
    let html = std::fs::read_to_string(d.join("run/report.html")).unwrap();
    assert!(html.contains("Sobol indices of export loss"));
    let other = hostile_model(d, "other.toml");
    ok(&[
        "sensitivity",
        path(&other),
        "--samples",
        "64",
        "--bootstrap",
        "10",
        "--quiet",
        "--out",
        path(&d.join("sens-other")),
    ]);
    let out = run(&[
        "report",
        path(&d.join("run")),
        "--sensitivity",
        path(&d.join("sens-other")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another model"));
}
