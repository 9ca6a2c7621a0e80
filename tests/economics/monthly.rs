//! The monthly path of MODEL.md §12 and the growth output of §11 (issue 12): hand-derived
//! values on a one-sector point-mass model, months that add up to the year, the a_t of a
//! non-integer effective month, and bit-identical results for any thread count.

use std::sync::Mutex;

use tariffsim::model::{apply_overrides, compile_model, Model};
use tariffsim::outputs::*;
use tariffsim::run::{BlockView, Observer, Run, RunConfig, RunError};

/// A one-sector model with point masses only: η = inf, competitors' tariffs unchanged, so V
/// has a closed form. `extra_model` / `extra_sector` add keys to `[model]` / the sector.
fn one_sector(month: f64, horizon: u32, extra_model: &str, extra_sector: &str) -> String {
    format!(
        r#"
[model]
name = "one sector, path"
horizon_months = {horizon}
{extra_model}

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
{extra_sector}

[interim]
tariff = {{ default = 0.25 }}

[[scenarios]]
id = "deal"
probability = 1.0
effective_month = {month}
tariff = {{ default = 0.10 }}
"#
    )
}

/// V of MODEL.md §2 with η = inf and C = 1: p = 1, P = [θT^(1−σ) + 1 − θ]^(1/(1−σ)),
/// V = (T/P)^(−σ)·P^(−ε).
fn closed_form_v(tariff: f64) -> f64 {
    let (theta, sigma, epsilon) = (0.2_f64, 3.0_f64, 1.0_f64);
    let t = 1.0 + tariff;
    let p = (theta * t.powf(1.0 - sigma) + 1.0 - theta).powf(1.0 / (1.0 - sigma));
    (t / p).powf(-sigma) * p.powf(-epsilon)
}

fn evaluate(model: &Model) -> Vec<f64> {
    let kernel = tariffsim::kernel::Kernel::new(model);
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), 0, &mut out);
    out
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn one_sector_half_life_matches_the_hand_derived_path() {
    // H = 4, m = 2.5, h = 1 (λ = 1/2): a_t = 1, 1, 0.5, 0, so with ln V* = (lnI, lnI, lnM, lnS)
    //   ln V1 = lnI/2, ln V2 = 3 lnI/4, ln V3 = 3 lnI/8 + lnM/2, ln V4 = 3 lnI/16 + lnM/4 + lnS/2.
    let text = one_sector(
        2.5,
        4,
        "monthly = true\nstart_month = \"2025-04\"",
        "half_life_months = 1.0\ngrowth = 0.05",
    );
    let model = compile_model(&text, "path.toml").unwrap();
    let out = evaluate(&model);
    let (vi, vs) = (closed_form_v(0.25), closed_form_v(0.10));
    let (li, ls, lm) = (vi.ln(), vs.ln(), (0.5 * vi + 0.5 * vs).ln());
    let path = [
        (li / 2.0).exp(),
        (0.75 * li).exp(),
        (0.375 * li + 0.5 * lm).exp(),
        (0.1875 * li + 0.25 * lm + 0.5 * ls).exp(),
    ];
    let annual = path.iter().sum::<f64>() / 4.0;
    assert!(close(out[EXPORT_LOSS], 10.0 * (1.0 - annual), 1e-12));
    assert!(close(
        out[export_change_index(&model)],
        100.0 * (1.05 * annual - 1.0),
        1e-12
    ));
    for (t, v) in path.iter().enumerate() {
        let t = t + 1;
        let at = |k| out[month_index(&model, t, k).unwrap()];
        assert!(
            close(at(MONTH_EXPORT_LOSS), 2.5 * (1.0 - v), 1e-12),
            "month {t}"
        );
        assert!(close(
            at(MONTH_EXPORT_CHANGE_PCT),
            100.0 * (1.05 * v - 1.0),
            1e-12
        ));
        let a: f64 = [1.0, 1.0, 0.5, 0.0][t - 1];
        assert!(close(
            at(MONTH_EFFECTIVE_TARIFF),
            a * 0.25 + (1.0 - a) * 0.10,
            1e-15
        ));
    }
    assert_eq!(model.month_label(1), "2025-04");
    assert_eq!(model.month_label(4), "2025-07");
}

#[test]
fn a_t_for_non_integer_effective_months() {
    // h = 0: V_t = a_t·V_I + (1 − a_t)·V_S with a_t = min(max(m − (t − 1), 0), 1).
    let (vi, vs) = (closed_form_v(0.25), closed_form_v(0.10));
    for (m, expected) in [
        (0.3, [0.3, 0.0, 0.0]),
        (1.75, [1.0, 0.75, 0.0]),
        (2.0, [1.0, 1.0, 0.0]),
        (3.0, [1.0, 1.0, 1.0]),
        (0.0, [0.0, 0.0, 0.0]),
    ] {
        let model = compile_model(&one_sector(m, 3, "monthly = true", ""), "a.toml").unwrap();
        let out = evaluate(&model);
        for (t, a) in expected.iter().enumerate() {
            let v = a * vi + (1.0 - a) * vs;
            let loss = out[month_index(&model, t + 1, MONTH_EXPORT_LOSS).unwrap()];
            assert!(
                close(loss, 10.0 / 3.0 * (1.0 - v), 1e-13),
                "m = {m}, month {}: {loss}",
                t + 1
            );
        }
        // §3 is untouched: V_annual = (m/H)·V_I + (1 − m/H)·V_S exactly as before.
        let w = m / 3.0;
        let static_loss = 10.0 * (1.0 - (w * vi + (1.0 - w) * vs));
        assert!(close(out[EXPORT_LOSS], static_loss, 1e-13));
    }
}

/// Keeps every draw's output row.
struct Rows(Mutex<Vec<(u64, Vec<f64>)>>);

impl Observer for Rows {
    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        let mut rows = self.0.lock().unwrap();
        for (d, row) in view.outputs.outer_iter().enumerate() {
            rows.push((view.first_draw + d as u64, row.to_vec()));
        }
        Ok(())
    }
}

fn default_model(overrides: &[&str]) -> Model {
    let model = compile_model(
        tariffsim::model::DEFAULT_MODEL_TEXT,
        tariffsim::model::DEFAULT_MODEL_FILE,
    )
    .unwrap();
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    apply_overrides(&model, &overrides).unwrap()
}

fn rows(model: &Model, draws: u64, threads: usize) -> Vec<(u64, Vec<f64>)> {
    let sink = Rows(Mutex::new(Vec::new()));
    let config = RunConfig {
        draws,
        seed: 7,
        threads,
        ..Default::default()
    };
    Run::new(model, &config).observe(&sink).execute().unwrap();
    let mut rows = sink.0.into_inner().unwrap();
    rows.sort_by_key(|r| r.0);
    rows
}

#[test]
fn months_add_up_to_the_year() {
    let model = default_model(&["model.monthly=true"]);
    for (_, row) in rows(&model, 3000, 2) {
        let months = model.months();
        let by_month = |k| -> Vec<f64> {
            (1..=months)
                .map(|t| row[month_index(&model, t, k).unwrap()])
                .collect()
        };
        let loss: f64 = by_month(MONTH_EXPORT_LOSS).iter().sum();
        assert!(
            (loss - row[EXPORT_LOSS]).abs() <= 1e-12 * row[EXPORT_LOSS].abs().max(1.0),
            "{loss} vs {}",
            row[EXPORT_LOSS]
        );
        let tariff: f64 = by_month(MONTH_EFFECTIVE_TARIFF).iter().sum::<f64>() / months as f64;
        assert!(close(tariff, row[EFFECTIVE_TARIFF], 1e-12));
    }
}

#[test]
fn monthly_outputs_do_not_move_the_annual_ones() {
    let plain = default_model(&["model.monthly=false"]);
    let monthly = default_model(&["model.monthly=true"]);
    let a = rows(&plain, 2500, 1);
    let b = rows(&monthly, 2500, 1);
    let n = a[0].1.len();
    for ((_, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(&x[..n], &y[..n]);
    }
    assert_eq!(b[0].1.len(), n + 3 * 12);
}

#[test]
fn path_outputs_are_identical_for_1_and_2_threads() {
    let model = compile_model(
        &one_sector(
            5.0,
            12,
            "monthly = true",
            "half_life_months = { dist = \"uniform\", low = 0.0, high = 6.0 }\nepsilon = { dist = \"uniform\", low = 0.5, high = 2.0 }",
        )
        .replace("epsilon = 1.0\n", ""),
        "t.toml",
    )
    .unwrap();
    let one = rows(&model, 5000, 1);
    let two = rows(&model, 5000, 2);
    assert_eq!(one, two);
    // Slow adjustment: early months lose less than a model that adjusts at once.
    let fast = apply_overrides(&model, &["sectors.w.half_life_months=0".into()]).unwrap();
    let quick = rows(&fast, 5000, 1);
    let first = month_index(&model, 1, MONTH_EXPORT_LOSS).unwrap();
    let mean = |r: &[(u64, Vec<f64>)]| r.iter().map(|x| x.1[first]).sum::<f64>() / r.len() as f64;
    assert!(mean(&one) < mean(&quick));
}

#[test]
fn bad_time_keys_are_rejected_with_their_position() {
    let bad = [
        (
            one_sector(1.0, 12, "start_month = \"2025-13\"", ""),
            "model.start_month",
        ),
        (
            one_sector(1.0, 12, "monthly = true", "")
                .replace("horizon_months = 12", "horizon_months = 12.5"),
            "model.horizon_months",
        ),
        (
            one_sector(1.0, 12, "", "half_life_months = -1.0"),
            "sectors.w.half_life_months",
        ),
        (one_sector(1.0, 12, "", "growth = -1.5"), "sectors.w.growth"),
    ];
    for (text, key) in bad {
        let e = compile_model(&text, "bad.toml").unwrap_err();
        let shown = e.to_string();
        match &e {
            tariffsim::model::ModelError::Invalid { diagnostics, .. } => {
                assert!(
                    diagnostics.iter().any(|d| d.key == key && d.line > 0),
                    "{key}: {shown}"
                );
            }
            other => panic!("{other}"),
        }
    }
}
