//! Sobol indices of a trade model (issue #5): an additive two-sector model whose variance split
//! is known, correlated clusters reported as groups, and the `sensitivity` subcommand.

use serde_json::Value;
use tariffsim::model::compile_model;
use tariffsim::sensitivity::{model_sensitivity, ModelSensitivityOptions, SobolOptions};

/// Two sectors with η = inf and the same 25 % on competitors (so V = T^−ε), tariffs as point
/// masses, only ε uncertain: export loss = 10·(1 − T^−ε_a) + 5·(1 − T^−ε_b), T = 1.25.
fn model_text(correlation: &str) -> String {
    format!(
        r#"
[model]
name = "two additive sectors"
[baseline]
imports_from_importer = 1.0
gdp = 500.0
[macro]
value_added_share = 0.6
gdp_multiplier = 1.0
[market]
fx_beta = 1.0
fx_noise = 0.0
equity_beta = 1.0
equity_noise = 0.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.5
[[sectors]]
id = "a"
exports = 10.0
share = 0.2
sigma = 4.0
epsilon = {{ dist = "uniform", low = 0.5, high = 1.5 }}
[[sectors]]
id = "b"
exports = 5.0
share = 0.3
sigma = 3.0
epsilon = {{ dist = "uniform", low = 1.0, high = 4.0 }}
[interim]
tariff = {{ default = 0.25 }}
competitor_tariff = {{ default = 0.25 }}
[[scenarios]]
id = "only"
probability = 1.0
{correlation}
"#
    )
}

/// Variance of x0·(1 − t^−ε) for ε ~ U(lo, hi), by the midpoint rule.
fn term_variance(x0: f64, lo: f64, hi: f64) -> f64 {
    let n = 200_000;
    let f = |e: f64| x0 * (1.0 - 1.25_f64.powf(-e));
    let (mut s1, mut s2) = (0.0, 0.0);
    for i in 0..n {
        let e = lo + (hi - lo) * (i as f64 + 0.5) / n as f64;
        s1 += f(e);
        s2 += f(e) * f(e);
    }
    let m = s1 / n as f64;
    s2 / n as f64 - m * m
}

fn options(groups: Vec<(String, Vec<String>)>) -> ModelSensitivityOptions {
    ModelSensitivityOptions {
        samples: 8192,
        seed: 1,
        groups,
        sobol: SobolOptions {
            bootstrap_resamples: 50,
            ..SobolOptions::default()
        },
    }
}

#[test]
fn additive_sectors_split_the_variance_as_computed_by_integration() {
    let model = compile_model(&model_text(""), "two.toml").unwrap();
    let r = model_sensitivity(&model, &options(Vec::new())).unwrap();
    let (va, vb) = (term_variance(10.0, 0.5, 1.5), term_variance(5.0, 1.0, 4.0));
    let loss = &r.json["outputs"]["export_loss"];
    for (path, v) in [("sectors.a.epsilon", va), ("sectors.b.epsilon", vb)] {
        let p = &loss["parameters"][path];
        let expected = v / (va + vb);
        for key in ["first_order", "total"] {
            let got = p[key].as_f64().unwrap();
            assert!(
                (got - expected).abs() < 0.02,
                "{path} {key}: {got} vs {expected}"
            );
            let ci = p[format!("{key}_ci")].as_array().unwrap();
            assert!(ci[0].as_f64().unwrap() <= got && got <= ci[1].as_f64().unwrap());
        }
    }
    // The single scenario explains nothing; the elasticities group explains everything.
    assert!(
        loss["parameters"]["scenario"]["total"]
            .as_f64()
            .unwrap()
            .abs()
            < 1e-12
    );
    let elasticities = loss["groups"]["elasticities"]["total"].as_f64().unwrap();
    assert!((elasticities - 1.0).abs() < 0.02, "{elasticities}");
    assert!(
        loss["groups"].get("macro").is_none(),
        "a group of point masses has no indices"
    );
    let top = if va > vb {
        "sectors.a.epsilon"
    } else {
        "sectors.b.epsilon"
    };
    assert_eq!(r.export_loss_ranking[0].0, top);
    assert_eq!(r.json["samples"], 8192);
    assert_eq!(
        r.json["evaluations"].as_u64().unwrap(),
        r.evaluations as u64
    );
}

#[test]
fn correlated_parameters_are_reported_only_as_a_cluster() {
    let text = model_text(
        "[[correlations]]\nbetween = [\"sectors.a.epsilon\", \"sectors.b.epsilon\"]\nrho = 0.6\n",
    );
    let model = compile_model(&text, "two.toml").unwrap();
    let extra = vec![("a_only".to_string(), vec!["sectors.a.epsilon".to_string()])];
    let r = model_sensitivity(&model, &options(extra)).unwrap();
    let loss = &r.json["outputs"]["export_loss"];
    let cluster = "correlated:sectors.a.epsilon+sectors.b.epsilon";
    assert!(loss["parameters"].get("sectors.a.epsilon").is_none());
    assert!(loss["parameters"].get("sectors.b.epsilon").is_none());
    let total = loss["groups"][cluster]["total"].as_f64().unwrap();
    assert!((total - 1.0).abs() < 0.02, "{total}");
    assert_eq!(
        r.json["correlated_clusters"][cluster]["members"],
        serde_json::json!(["sectors.a.epsilon", "sectors.b.epsilon"])
    );
    // A group holding part of the cluster is widened to the whole cluster, and says so.
    let a_only = &loss["groups"]["a_only"];
    assert!(a_only["note"].as_str().unwrap().contains(cluster));
    assert_eq!(a_only["total"], loss["groups"][cluster]["total"]);
    let notes = r.json["notes"].to_string();
    assert!(
        notes.contains("correlated") && notes.contains("a_only"),
        "{notes}"
    );
    assert!(r.export_loss_ranking.iter().any(|(n, _, _)| n == cluster));
}

#[test]
fn sensitivity_subcommand_writes_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = crate::common::bin()
        .args([
            "sensitivity",
            "--samples",
            "256",
            "--bootstrap",
            "20",
            "--seed",
            "3",
            "--group",
            "autos=sectors.autos.*,sectors.auto_parts.*",
            "--out",
            out,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("export_loss: top inputs by total index"),
        "{stdout}"
    );
    let s: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("sensitivity.json")).unwrap(),
    )
    .unwrap();
    for key in [
        "model",
        "samples",
        "seed",
        "evaluations",
        "notes",
        "correlated_clusters",
        "outputs",
    ] {
        assert!(s.get(key).is_some(), "sensitivity.json has no {key}");
    }
    assert_eq!(s["seed"], 3);
    assert!(s["model"]["sha256"].as_str().unwrap().len() == 64);
    for name in tariffsim::outputs::HEADLINE {
        let o = &s["outputs"][name];
        assert!(
            o["parameters"]["scenario"].get("total_ci").is_some(),
            "{name}"
        );
        for g in [
            "scenario",
            "timing",
            "tariffs",
            "elasticities",
            "macro",
            "market",
            "autos",
        ] {
            let e = &o["groups"][g];
            for k in ["first_order", "first_order_ci", "total", "total_ci"] {
                assert!(e.get(k).is_some(), "{name}.{g} has no {k}");
            }
        }
    }
    // The default model's correlated clusters are groups, not parameters.
    let clusters = s["correlated_clusters"].as_object().unwrap();
    assert!(!clusters.is_empty());
    for (name, c) in clusters {
        assert!(s["outputs"]["export_loss"]["groups"].get(name).is_some());
        for m in c["members"].as_array().unwrap() {
            assert!(s["outputs"]["export_loss"]["parameters"]
                .get(m.as_str().unwrap())
                .is_none());
        }
    }
    // Unknown paths in --group are input errors.
    let o = crate::common::bin()
        .args([
            "sensitivity",
            "--samples",
            "16",
            "--group",
            "x=sectors.nope.sigma",
            "--out",
            out,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sectors.nope.sigma"));
}
