//! `tariffsim report` on result files changed after the run (issue 15, item 7): a summary.json
//! that breaks a rule every run obeys is refused with exit code 2 and the JSON path of the
//! broken rule; no mutation panics; a backtest.json that is not JSON is refused, not ignored.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::{path, run_bin};

/// A finished run's folder (monthly model, so that every section of the summary is present),
/// and a backtest's with its updated forecast.
fn runs(dir: &Path) -> (Value, Value) {
    let run = run_bin(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "2",
        "--quiet",
        "--out",
        path(&dir.join("run")),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let obs = dir.join("obs.csv");
    std::fs::write(&obs, "period,value,sd\n2025-05,-1.0,2.0\n").unwrap();
    let bt = run_bin(&[
        "backtest",
        "--observed",
        path(&obs),
        "--draws",
        "3000",
        "--quiet",
        "--out",
        path(&dir.join("bt")),
    ]);
    assert!(
        bt.status.success(),
        "{}",
        String::from_utf8_lossy(&bt.stderr)
    );
    let read =
        |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    (
        read(&dir.join("run/summary.json")),
        read(&dir.join("bt/updated/summary.json")),
    )
}

/// `report` on a folder holding `summary`: (exit code, stderr).
fn report(dir: &Path, summary: &Value) -> (Option<i32>, String) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    let out = run_bin(&["report", path(dir)]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pointer_mut<'a>(v: &'a mut Value, pointer: &str) -> &'a mut Value {
    v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is in summary.json"))
}

#[test]
fn summaries_that_break_a_rule_are_refused_with_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, updated) = runs(tmp.path());
    // Untouched files are accepted: a run's and a backtest's updated forecast (weighted).
    assert_eq!(report(&tmp.path().join("ok"), &run).0, Some(0));
    assert_eq!(report(&tmp.path().join("ok-updated"), &updated).0, Some(0));

    let max = run["outputs"]["export_loss"]["max"].as_f64().unwrap();
    let p50 = run["outputs"]["export_loss"]["quantiles"]["0.5"]
        .as_f64()
        .unwrap();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/outputs/export_loss/quantiles/0.25",
            json!(p50 + 1.0),
            "outputs.export_loss.quantiles.0.5",
        ),
        (
            "/outputs/export_loss/mean",
            json!(max * 2.0 + 1.0),
            "outputs.export_loss.mean",
        ),
        (
            "/outputs/export_loss/sd",
            json!(-1.0),
            "outputs.export_loss.sd",
        ),
        (
            "/outputs/export_loss/min",
            json!(max + 1.0),
            "outputs.export_loss.min",
        ),
        (
            "/outputs/export_loss/es/0.99",
            json!(max * 3.0 + 1.0),
            "outputs.export_loss.es.0.99",
        ),
        (
            "/outputs/gdp_impact_pct/mean",
            Value::Null,
            "outputs.gdp_impact_pct.mean",
        ),
        (
            "/scenarios/no_deal/probability",
            json!(1.5),
            "scenarios.no_deal.probability",
        ),
        (
            "/scenarios/no_deal/probability",
            json!(0.9),
            "scenarios: the probabilities sum",
        ),
        (
            "/scenarios/no_deal/draws",
            json!(1),
            "scenarios.no_deal.frequency",
        ),
        ("/run/draws", json!(0), "run.draws"),
        ("/run/sampler", json!("magic"), "run.sampler"),
        ("/run/elapsed_s", json!(-3.0), "run.elapsed_s"),
        (
            "/tornado/export_loss/0/correlation",
            json!(1.5),
            "tornado.export_loss[0].correlation",
        ),
        (
            "/tornado/export_loss/0/parameter",
            json!("no.such.path"),
            "tornado.export_loss[0].parameter",
        ),
        (
            "/distributions/outputs/export_loss/3",
            json!(max * 5.0 + 10.0),
            "distributions.outputs.export_loss[",
        ),
        (
            "/distributions/levels/0",
            json!(1.5),
            "distributions.levels",
        ),
        ("/convergence/mean/0", Value::Null, "convergence"),
        (
            "/sample/export_loss/7",
            json!(max * 4.0 + 1.0),
            "sample.export_loss[7]",
        ),
        (
            "/sample/scenario/3",
            json!("atlantis"),
            "sample.scenario[3]",
        ),
        ("/market/fx_weight", json!(2.0), "market.fx_weight"),
        ("/parameters/0/kind", json!("beta"), "parameters[0]"),
    ];
    for (i, (pointer, value, needle)) in cases.iter().enumerate() {
        let mut bad = run.clone();
        *pointer_mut(&mut bad, pointer) = value.clone();
        // The convergence case shortens an array instead of nulling a value.
        if *pointer == "/convergence/mean/0" {
            pointer_mut(&mut bad, "/convergence/mean")
                .as_array_mut()
                .unwrap()
                .pop();
        }
        let dir = tmp.path().join(format!("case{i}"));
        let (code, stderr) = report(&dir, &bad);
        assert_eq!(code, Some(2), "{pointer} = {value}: {stderr}");
        assert!(
            stderr.contains(needle) && stderr.contains("not a summary.json as tariffsim wrote it"),
            "{pointer} = {value}: `{needle}` not in {stderr}"
        );
        assert!(!dir.join("report.html").exists());
    }

    // A backtest.json next to it that is not JSON is refused, not silently left out.
    let dir = tmp.path().join("bt-broken");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("backtest.json"), "{\"observations\": [").unwrap();
    let (code, stderr) = report(&dir, &run);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("backtest.json: not valid JSON"), "{stderr}");
}

/// Every JSON path of `v` that holds a scalar.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out)
            }
        }
        _ => out.push(at),
    }
}

#[test]
fn random_mutations_never_panic_and_broken_layouts_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (run, updated) = runs(tmp.path());
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        // xorshift64*: a fixed sequence, so that a failure reproduces.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    let replacements = [
        json!(null),
        json!(-1.0),
        json!(0),
        json!(1e300),
        json!(-1e300),
        json!("text"),
        json!([]),
        json!({}),
        json!(true),
        json!(18446744073709551615u64),
    ];
    let (mut refused, mut total) = (0, 0);
    for (name, base) in [("run", &run), ("updated", &updated)] {
        let mut paths = Vec::new();
        leaves(base, String::new(), &mut paths);
        // Favour the top of the file: the long arrays (sample, distributions) would take most
        // of the picks otherwise.
        paths.sort_by_key(|p| p.matches('/').count());
        for case in 0..60 {
            let mut bad = base.clone();
            let pointer = &paths[next(paths.len().min(400 + case * 20))];
            *pointer_mut(&mut bad, pointer) = replacements[next(replacements.len())].clone();
            let (code, stderr) = report(&tmp.path().join(format!("{name}{case}")), &bad);
            assert!(
                code == Some(0) || code == Some(2),
                "{name} {pointer}: exit {code:?}: {stderr}"
            );
            if code == Some(2) {
                assert!(stderr.contains("summary.json"), "{stderr}");
                refused += 1;
            }
            total += 1;
        }
    }
    eprintln!("random mutations of summary.json: {refused} of {total} refused");
    // Most replacements change a type or break a rule; those that keep both (a plausible
    // number in place of another) cannot be told from a result.
    assert!(
        refused * 10 >= total * 8,
        "only {refused} of {total} refused"
    );
}
