//! Backtest and update (MODEL.md §13, issue 12): scores against brute force, the update
//! against exact Bayes, the ESS, the underflow error, determinism, and bad observation files.

use tariffsim::backtest::{parse_observations, run_backtest, score, Observation};
use tariffsim::model::{apply_overrides, compile_model, Model};
use tariffsim::outputs::EXPORT_LOSS;
use tariffsim::report::{summary_json, RunInfo};
use tariffsim::run::RunConfig;

fn observation(value: f64, sd: Option<f64>) -> Observation {
    Observation {
        output: "export_loss".into(),
        index: EXPORT_LOSS,
        value,
        sd,
        label: String::new(),
        line: 2,
    }
}

#[test]
fn pit_and_crps_match_brute_force_with_ties() {
    let draws = [3.0, 1.0, 2.0, 2.0, 5.0, 2.0, -1.0, 4.0, 2.0, 0.5];
    for y in [2.0, -3.0, 10.0, 2.5, 0.5] {
        let mut x = draws.to_vec();
        let s = score(&mut x, &observation(y, None));
        let n = draws.len() as f64;
        let below = draws.iter().filter(|&&v| v < y).count() as f64;
        let equal = draws.iter().filter(|&&v| v == y).count() as f64;
        assert_eq!(s.pit, (below + 0.5 * equal) / n);
        let e1: f64 = draws.iter().map(|v| (v - y).abs()).sum::<f64>() / n;
        let e2: f64 = draws
            .iter()
            .flat_map(|a| draws.iter().map(move |b| (a - b).abs()))
            .sum::<f64>()
            / (n * n);
        assert!((s.crps - (e1 - 0.5 * e2)).abs() < 1e-14, "y = {y}");
        assert_eq!(s.mean, draws.iter().sum::<f64>() / n);
        // Type-1 quantiles: the ⌈pN⌉-th smallest.
        assert_eq!(s.quantiles[2], 2.0);
        assert_eq!(s.quantiles[0], -1.0);
        assert_eq!(s.quantiles[4], 5.0);
    }
}

/// Two scenarios, point masses only: export_loss takes one value per scenario.
fn two_point_model() -> Model {
    compile_model(
        &two_point_text().replace("start_month = \"2025-04\"\n", ""),
        "two.toml",
    )
    .unwrap()
}

fn two_point_text() -> String {
    r#"
[model]
name = "two points"
horizon_months = 12
start_month = "2025-04"
[baseline]
imports_from_importer = 1.0
gdp = 100.0
[macro]
value_added_share = 0.6
gdp_multiplier = 1.0
[market]
fx_beta = 1.0
equity_beta = 1.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
[[sectors]]
id = "w"
exports = 10.0
share = 0.2
sigma = 3.0
epsilon = 1.0
[[scenarios]]
id = "low"
probability = 0.7
tariff = { default = 0.10 }
[[scenarios]]
id = "high"
probability = 0.3
tariff = { default = 0.25 }
"#
    .to_string()
}

fn config(draws: u64, threads: usize) -> RunConfig {
    RunConfig {
        draws,
        seed: 11,
        threads,
        ..Default::default()
    }
}

fn phi(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[test]
fn update_is_exact_bayes_on_point_masses() {
    let model = two_point_model();
    let draws = 4000;
    // Loss per scenario from a run of each scenario alone.
    let mut x = [0.0; 2];
    for (k, id) in ["low", "high"].iter().enumerate() {
        let m = apply_overrides(
            &model,
            &[
                format!("scenarios.{id}.probability=1"),
                format!("scenarios.{}.probability=0", ["high", "low"][k]),
            ],
        )
        .unwrap();
        let bt = run_backtest(&m, &config(100, 1), &[observation(0.0, None)], &[]).unwrap();
        x[k] = bt.run.stats.output_summary(EXPORT_LOSS).mean;
    }
    assert!(x[1] > x[0] + 0.5);
    let (y, sd) = (0.6 * x[0] + 0.4 * x[1], 0.4);
    let bt = run_backtest(&model, &config(draws, 2), &[observation(y, Some(sd))], &[]).unwrap();
    let counts = bt.run.stats.scenario_counts().to_vec();
    let like: Vec<f64> = x.iter().map(|&xk| phi((y - xk) / sd) / sd).collect();
    let joint: Vec<f64> = (0..2).map(|k| counts[k] as f64 * like[k]).collect();
    let total: f64 = joint.iter().sum();
    let update = bt.update.as_ref().unwrap();
    let probs = update.scenario_probabilities();
    for k in 0..2 {
        assert!((probs[k] - joint[k] / total).abs() < 1e-12, "{probs:?}");
    }
    // ESS = (Σw)² / Σw²; log evidence = ln((1/N)·Σ w_i).
    let sw: f64 = (0..2).map(|k| counts[k] as f64 * like[k]).sum();
    let sw2: f64 = (0..2).map(|k| counts[k] as f64 * like[k] * like[k]).sum();
    assert!((update.ess - sw * sw / sw2).abs() < 1e-9 * update.ess);
    assert!((update.log_evidence - (sw / draws as f64).ln()).abs() < 1e-12);
    // The updated mean of export loss is the posterior mixture of the two points.
    let mean = update.output_summary(EXPORT_LOSS).mean;
    let want = (joint[0] * x[0] + joint[1] * x[1]) / total;
    assert!((mean - want).abs() < 1e-12 * want);
    // Scenario-conditional means stay the points.
    assert!((update.scenario_moments(1, EXPORT_LOSS).0 - x[1]).abs() < 1e-12 * x[1]);
    // Weighted quantiles of a two-point distribution are its points.
    let q = update.output_summary(EXPORT_LOSS).quantiles;
    assert_eq!(q[0], x[0]);
    assert_eq!(q[8], x[1]);
    assert!(update.warning().is_none(), "ESS {}", update.ess);
    // Per-scenario ESS (Σ_{i∈k} w_i)² / Σ_{i∈k} w_i²: every draw of a scenario has the same
    // weight, so it is the scenario's number of draws, while the run's ESS is far below the
    // run's draws (the two scenarios' weights differ).
    for (k, (&ess, &n_k)) in update.scenario_ess.iter().zip(&counts).enumerate() {
        let n_k = n_k as f64;
        assert!(
            (ess - n_k).abs() < 1e-9 * n_k,
            "scenario {k}: ESS {ess} vs {n_k} draws"
        );
    }
    assert!(update.ess < 0.99 * draws as f64, "{}", update.ess);
    // ... and it is what updated/summary.json records per scenario.
    let prior = summary_json(
        &model,
        &RunInfo {
            draws,
            seed: 11,
            sampler: "mc".into(),
            threads: 2,
            elapsed_s: 0.0,
            stopping: None,
        },
        &bt.run.stats,
    );
    let updated = bt.updated_json(&model, &prior).unwrap();
    for (k, id) in ["low", "high"].iter().enumerate() {
        assert_eq!(
            updated["scenarios"][id]["ess"].as_f64(),
            Some(update.scenario_ess[k])
        );
    }
}

/// Every draw's scenario and export loss, as the run produces them.
#[derive(Default)]
struct Draws(std::sync::Mutex<Vec<(u64, u32, f64)>>);

impl tariffsim::run::Observer for Draws {
    fn block(&self, view: &tariffsim::run::BlockView<'_>) -> Result<(), tariffsim::run::RunError> {
        let mut rows = self.0.lock().unwrap();
        for (d, (&k, &x)) in view
            .scenarios
            .iter()
            .zip(view.outputs.column(EXPORT_LOSS))
            .enumerate()
        {
            rows.push((view.first_draw + d as u64, k, x));
        }
        Ok(())
    }
}

#[test]
fn per_scenario_ess_and_sd_against_a_hand_computation() {
    // The two-point model with an uncertain elasticity: export loss varies inside each
    // scenario, so weights differ inside a scenario and its ESS is below its draws.
    let model = compile_model(
        &two_point_text()
            .replace("start_month = \"2025-04\"\n", "")
            .replace(
                "sigma = 3.0",
                "sigma = { dist = \"uniform\", low = 2.0, high = 5.0 }",
            ),
        "two.toml",
    )
    .unwrap();
    let draws = 3000;
    let rows = Draws::default();
    let (y, sd) = (1.2, 0.3);
    let bt = run_backtest(
        &model,
        &config(draws, 2),
        &[observation(y, Some(sd))],
        &[&rows],
    )
    .unwrap();
    let update = bt.update.as_ref().unwrap();
    let rows = rows.0.into_inner().unwrap();
    assert_eq!(rows.len() as u64, draws);
    let mut all = (0.0, 0.0);
    for k in 0..2u32 {
        // By hand: w_i = exp(−½·z_i²) (the likelihood over its largest value: the constant
        // cancels in the ESS and the moments).
        let of_k: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.1 == k)
            .map(|r| (r.2, (-0.5 * ((y - r.2) / sd).powi(2)).exp()))
            .collect();
        let sw: f64 = of_k.iter().map(|r| r.1).sum();
        let sw2: f64 = of_k.iter().map(|r| r.1 * r.1).sum();
        all = (all.0 + sw, all.1 + sw2);
        let ess = sw * sw / sw2;
        let got = update.scenario_ess[k as usize];
        assert!(
            (got - ess).abs() < 1e-9 * ess,
            "scenario {k}: {got} vs {ess}"
        );
        assert!(ess < of_k.len() as f64 * 0.999 && ess > 1.0, "{ess}");
        // The scenario's weighted sd with its own ESS in the reliability correction.
        let mean: f64 = of_k.iter().map(|r| r.1 * r.0).sum::<f64>() / sw;
        let m2: f64 = of_k.iter().map(|r| r.1 * (r.0 - mean).powi(2)).sum();
        let want_sd = (m2 / (sw * (1.0 - 1.0 / ess))).sqrt();
        let (got_mean, got_sd) = update.scenario_moments(k as usize, EXPORT_LOSS);
        assert!(
            (got_mean - mean).abs() < 1e-9 * mean.abs(),
            "{got_mean} vs {mean}"
        );
        assert!(
            (got_sd - want_sd).abs() < 1e-9 * want_sd,
            "{got_sd} vs {want_sd}"
        );
    }
    let ess = all.0 * all.0 / all.1;
    assert!(
        (update.ess - ess).abs() < 1e-9 * ess,
        "{} vs {ess}",
        update.ess
    );
}

#[test]
fn underflow_is_an_error_and_a_small_ess_a_warning() {
    let model = two_point_model();
    match run_backtest(
        &model,
        &config(1000, 1),
        &[observation(1e6, Some(1.0))],
        &[],
    ) {
        Err(e) => assert!(
            e.to_string().contains("outside what the model can produce"),
            "{e}"
        ),
        Ok(_) => panic!("an observation a million sd away must not update"),
    }
    // 300 draws cannot give an ESS of 1,000.
    let bt = run_backtest(&model, &config(300, 1), &[observation(3.0, Some(1.0))], &[]).unwrap();
    let update = bt.update.as_ref().unwrap();
    assert!(update.ess < 1000.0);
    assert!(update.warning().unwrap().contains("effective sample size"));
    let prior = summary_json(
        &model,
        &RunInfo {
            draws: 300,
            seed: 11,
            sampler: "mc".into(),
            threads: 1,
            elapsed_s: 0.0,
            stopping: None,
        },
        &bt.run.stats,
    );
    let updated = bt.updated_json(&model, &prior).unwrap();
    assert_eq!(updated["update"]["warnings"].as_array().unwrap().len(), 1);
    assert!(updated["scenarios"]["high"]["prior_probability"].as_f64() == Some(0.3));
}

fn default_monthly() -> Model {
    // The default model names its first month; older versions did not.
    let text = tariffsim::model::DEFAULT_MODEL_TEXT;
    let text = if text.contains("start_month") {
        text.to_string()
    } else {
        text.replacen(
            "horizon_months = 12",
            "start_month = \"2025-04\"\nhorizon_months = 12",
            1,
        )
    };
    let model = compile_model(&text, tariffsim::model::DEFAULT_MODEL_FILE).unwrap();
    apply_overrides(&model, &["model.monthly=true".into()]).unwrap()
}

#[test]
fn backtest_and_update_are_identical_for_1_and_2_threads() {
    let model = default_monthly();
    let csv = "output,value,sd,label\nmonths.1.export_change_pct,-7.0,1.0,april\nmonths.2.export_change_pct,-8.1,1.0,may\nexport_loss,12.0,,year\n";
    let obs = parse_observations(csv, "obs.csv", &model).unwrap();
    let json = |threads| {
        let bt = run_backtest(&model, &config(6 * 1024 + 17, threads), &obs, &[]).unwrap();
        let info = RunInfo {
            draws: 6 * 1024 + 17,
            seed: 11,
            sampler: "mc".into(),
            threads: 1,
            elapsed_s: 0.0,
            stopping: None,
        };
        let prior = summary_json(&model, &info, &bt.run.stats);
        let updated = bt.updated_json(&model, &prior).unwrap();
        (
            serde_json::to_string(&bt.backtest_json()).unwrap(),
            serde_json::to_string(&(
                &updated["outputs"],
                &updated["scenarios"],
                &updated["update"],
            ))
            .unwrap(),
        )
    };
    assert_eq!(json(1), json(2));
}

#[test]
fn bad_observation_files_name_line_column_and_rule() {
    let model = default_monthly();
    let no_start = two_point_model();
    let cases: [(&str, &Model, usize, usize, &str); 11] = [
        (
            "output,value\nexport_los,3\n",
            &model,
            2,
            1,
            "nearest: export_loss",
        ),
        (
            "period,value\n2025-03,1\n",
            &model,
            2,
            1,
            "before the model's start_month 2025-04",
        ),
        (
            "period,value\n2026-04,1\n",
            &model,
            2,
            1,
            "past the horizon",
        ),
        (
            "output,period,value\n,2025-05,1\n",
            &no_start,
            2,
            2,
            "start_month",
        ),
        (
            "output,value\nexport_loss,abc\n",
            &model,
            2,
            13,
            "not a number",
        ),
        (
            "output,value,sd\nexport_loss,3,0\n",
            &model,
            2,
            15,
            "accepted: a number > 0",
        ),
        (
            "output,value,sd\nexport_loss,3,-1\n",
            &model,
            2,
            15,
            "accepted: a number > 0",
        ),
        (
            "output,value\nexport_loss,3\nexport_loss,4\n",
            &model,
            3,
            1,
            "observed twice (first on line 2)",
        ),
        ("", &model, 1, 1, "no observations"),
        ("output,value\n", &model, 1, 1, "no observations"),
        (
            "output,sd\nexport_loss,1\n",
            &model,
            1,
            1,
            "no `value` column",
        ),
    ];
    for (text, m, line, column, fragment) in cases {
        let e = parse_observations(text, "obs.csv", m).unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (line, column), "{text:?}: {e}");
        assert!(e.to_string().contains(fragment), "{text:?}: {e}");
        assert!(e
            .to_string()
            .starts_with(&format!("obs.csv:{line}:{column}: ")));
    }
    // A period maps to the month's export_change_pct.
    let ok = parse_observations("period,value,sd\n2025-05,-8.1,1\n", "o.csv", &model).unwrap();
    assert_eq!(ok[0].output, "months.2.export_change_pct");
}
