//! Sobol indices against closed forms: Ishigami (single and grouped), a linear model, determinism.

use std::f64::consts::PI;
use tariffsim::sensitivity::{
    sobol_indices, Group, IndexEstimate, Problem, SensitivityError, SobolIndices, SobolOptions,
};

const A: f64 = 7.0;
const B: f64 = 0.1;

/// Ishigami: f = sin x1 + a sin² x2 + b x3⁴ sin x1, x_i = π(2u_i − 1).
struct Ishigami;

impl Problem for Ishigami {
    fn dim(&self) -> usize {
        3
    }
    fn n_outputs(&self) -> usize {
        1
    }
    fn evaluate(&self, u: &[f64], out: &mut [f64]) {
        let x = [0, 1, 2].map(|i| PI * (2.0 * u[i] - 1.0));
        out[0] = x[0].sin() + A * x[1].sin().powi(2) + B * x[2].powi(4) * x[0].sin();
    }
}

/// Partial variances of Ishigami: (V, V1, V2, V13); V3 = V12 = V23 = V123 = 0.
fn ishigami_variances() -> (f64, f64, f64, f64) {
    let pi4 = PI.powi(4);
    let pi8 = PI.powi(8);
    let v1 = 0.5 * (1.0 + B * pi4 / 5.0).powi(2);
    let v2 = A * A / 8.0;
    let v13 = B * B * pi8 * (1.0 / 18.0 - 1.0 / 50.0);
    let v = A * A / 8.0 + B * pi4 / 5.0 + B * B * pi8 / 18.0 + 0.5;
    assert!((v - (v1 + v2 + v13)).abs() < 1e-12);
    (v, v1, v2, v13)
}

fn check(name: &str, e: &IndexEstimate, first: f64, total: f64, tol: f64) {
    eprintln!(
        "{name}: S {:.4} {:?} (exact {first:.4}), ST {:.4} {:?} (exact {total:.4})",
        e.first_order, e.first_order_ci, e.total, e.total_ci
    );
    assert!(
        (e.first_order - first).abs() < tol,
        "{name}: S {} vs {first}",
        e.first_order
    );
    assert!(
        (e.total - total).abs() < tol,
        "{name}: ST {} vs {total}",
        e.total
    );
    assert!(
        e.first_order_ci[0] <= first && first <= e.first_order_ci[1],
        "{name}: {first} outside {:?}",
        e.first_order_ci
    );
    assert!(
        e.total_ci[0] <= total && total <= e.total_ci[1],
        "{name}: {total} outside {:?}",
        e.total_ci
    );
}

fn ishigami_groups() -> Vec<Group> {
    vec![
        Group::new("x1", vec![0]),
        Group::new("x2", vec![1]),
        Group::new("x3", vec![2]),
        Group::new("x1+x3", vec![0, 2]),
        Group::new("x2+x3", vec![2, 1]),
    ]
}

fn run_ishigami() -> SobolIndices {
    sobol_indices(
        &Ishigami,
        &ishigami_groups(),
        1 << 14,
        2024,
        &SobolOptions::default(),
    )
    .unwrap()
}

#[test]
fn ishigami_matches_analytic_indices_at_n_2_pow_14() {
    let (v, v1, v2, v13) = ishigami_variances();
    // The textbook values.
    assert!((v1 / v - 0.3139).abs() < 1e-4 && (v2 / v - 0.4424).abs() < 1e-4);
    assert!(((v1 + v13) / v - 0.5576).abs() < 1e-4 && (v13 / v - 0.2437).abs() < 1e-4);
    let r = run_ishigami();
    assert_eq!(r.evaluations, (1 << 14) * 7);
    assert!((r.outputs[0].variance - v).abs() / v < 0.01);
    let e = |g| r.estimate(0, g).unwrap();
    check("x1", e(0), v1 / v, (v1 + v13) / v, 0.02);
    check("x2", e(1), v2 / v, v2 / v, 0.02);
    check("x3", e(2), 0.0, v13 / v, 0.02);
    // Closed index of {x1, x3}: S1 + S3 + S13; its total is 1 − S2 (x2 acts alone), the same.
    check("x1+x3", e(3), (v1 + v13) / v, (v1 + v13) / v, 0.02);
    // {x2, x3}: closed S2 + S3 + S23 = S2; total 1 − S1.
    check("x2+x3", e(4), v2 / v, 1.0 - v1 / v, 0.02);
}

#[test]
fn bit_identical_across_thread_counts_and_chunks() {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let one = pool(1).install(run_ishigami);
    let two = pool(2).install(run_ishigami);
    assert_eq!(one, two);
    let small_chunks = SobolOptions {
        chunk_rows: 7,
        ..SobolOptions::default()
    };
    let chunked = pool(2).install(|| {
        sobol_indices(&Ishigami, &ishigami_groups(), 1 << 14, 2024, &small_chunks).unwrap()
    });
    assert_eq!(one, chunked);
    // Another seed gives other estimates.
    let other = sobol_indices(
        &Ishigami,
        &ishigami_groups(),
        1 << 14,
        2025,
        &SobolOptions::default(),
    )
    .unwrap();
    assert_ne!(
        one.outputs[0].groups[0].first_order,
        other.outputs[0].groups[0].first_order
    );
}

/// Output 0: y = a·u0 + b·u1 (u2 inert); output 1: y = u2; output 2: constant.
struct Linear {
    a: f64,
    b: f64,
}

impl Problem for Linear {
    fn dim(&self) -> usize {
        3
    }
    fn n_outputs(&self) -> usize {
        3
    }
    fn evaluate(&self, u: &[f64], out: &mut [f64]) {
        out[0] = self.a * u[0] + self.b * u[1];
        out[1] = u[2];
        out[2] = 0.1;
    }
}

#[test]
fn linear_additive_model_splits_variance_by_squared_weights() {
    let (a, b) = (3.0, -1.5);
    let groups = [
        Group::new("u0", vec![0]),
        Group::new("u1", vec![1]),
        Group::new("u2", vec![2]),
        Group::new("u0+u1", vec![0, 1]),
    ];
    let r = sobol_indices(
        &Linear { a, b },
        &groups,
        1 << 12,
        5,
        &SobolOptions::default(),
    )
    .unwrap();
    let s0 = a * a / (a * a + b * b);
    let e = |k, g| r.estimate(k, g).unwrap();
    check("y0/u0", e(0, 0), s0, s0, 0.02);
    check("y0/u1", e(0, 1), 1.0 - s0, 1.0 - s0, 0.02);
    check("y0/u0+u1", e(0, 3), 1.0, 1.0, 0.02);
    // An inert coordinate: y_G = y_A exactly, so both estimates are exactly 0.
    assert_eq!(e(0, 2).first_order, 0.0);
    assert_eq!(e(0, 2).total_ci, [0.0, 0.0]);
    check("y1/u2", e(1, 2), 1.0, 1.0, 0.02);
    assert_eq!(e(1, 0).total, 0.0);
    // A constant output has no variance to apportion.
    assert_eq!(r.outputs[2].variance, 0.0);
    assert!(e(2, 0).first_order.is_nan() && e(2, 0).total_ci[0].is_nan());
    // Serialisable for sensitivity.json (NaN becomes null).
    let json = serde_json::to_string(e(2, 0)).unwrap();
    assert_eq!(
        json,
        r#"{"first_order":null,"first_order_ci":[null,null],"total":null,"total_ci":[null,null]}"#
    );
}

struct Wide(usize);

impl Problem for Wide {
    fn dim(&self) -> usize {
        self.0
    }
    fn n_outputs(&self) -> usize {
        1
    }
    fn evaluate(&self, u: &[f64], out: &mut [f64]) {
        out[0] = u.iter().sum();
    }
}

#[test]
fn bad_requests_are_errors() {
    let o = SobolOptions::default();
    let g = |c: Vec<usize>| vec![Group::new("g", c)];
    let err = |p: &Wide, groups: &[Group], n| sobol_indices(p, groups, n, 1, &o).unwrap_err();
    assert_eq!(err(&Wide(0), &g(vec![0]), 64), SensitivityError::ZeroDim);
    assert_eq!(err(&Wide(2), &[], 64), SensitivityError::NoGroups);
    assert_eq!(
        err(&Wide(2), &g(vec![0]), 1),
        SensitivityError::TooFewSamples(1)
    );
    assert_eq!(
        err(&Wide(2), &g(vec![]), 64),
        SensitivityError::EmptyGroup("g".into())
    );
    assert!(matches!(
        err(&Wide(2), &g(vec![2]), 64),
        SensitivityError::CoordOutOfRange {
            coord: 2,
            dim: 2,
            ..
        }
    ));
    assert!(matches!(
        err(&Wide(2), &g(vec![1, 1]), 64),
        SensitivityError::DuplicateCoord { coord: 1, .. }
    ));
    assert!(matches!(
        err(&Wide(1025), &g(vec![0]), 64),
        SensitivityError::Sampler { dim: 1025, .. }
    ));
    let bad = SobolOptions {
        confidence: 1.0,
        ..SobolOptions::default()
    };
    assert_eq!(
        sobol_indices(&Wide(2), &g(vec![0]), 64, 1, &bad).unwrap_err(),
        SensitivityError::BadConfidence(1.0)
    );
    // The largest supported problem runs.
    let r = sobol_indices(&Wide(1024), &g(vec![0]), 8, 1, &o).unwrap();
    assert!(r.outputs[0].groups[0].total > 0.0);
}
