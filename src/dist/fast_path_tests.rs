//! The verified fast path (`binade_grid`) against the exact quantile, through
//! `Distribution::quantile`.

use super::Distribution;
use crate::dist::binade_grid::within_tolerance;

pub(super) fn dist(src: &str) -> Distribution {
    let table: toml::Table = toml::from_str(&format!("x = {src}")).expect("test TOML parses");
    Distribution::from_toml(&table["x"]).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// Shapes of every kind that has a fast path, including the skewed, heavy-tailed and
/// zero-crossing ones.
pub(super) const SHAPES: [&str; 13] = [
    "{ dist = \"pert\", low = 1, mode = 2, high = 4 }",
    "{ dist = \"pert\", low = 0, mode = 0.5, high = 10 }",
    "{ dist = \"pert\", low = 0.04, mode = 0.08, high = 0.30 }",
    "{ dist = \"beta\", alpha = 0.3, beta = 0.5 }",
    "{ dist = \"beta\", alpha = 50, beta = 2 }",
    "{ dist = \"beta\", alpha = 2, beta = 5, low = -1, high = 3 }",
    "{ dist = \"normal\", mean = 0.8, sd = 0.4 }",
    "{ dist = \"lognormal\", median = 4, sd_log = 0.6 }",
    "{ dist = \"student_t\", df = 1 }",
    "{ dist = \"student_t\", df = 3 }",
    "{ dist = \"student_t\", df = 4, loc = 0, scale = 2.8 }",
    "{ dist = \"truncated_normal\", mean = 3.2, sd = 0.7, low = 2.5, high = 6 }",
    "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = -0.5, high = 3 }",
];

/// u at the places where the fast path changes piece or stops: binade edges 2^-k and the
/// quarter-binade edges, each with its neighbouring doubles; both tails.
fn edge_points() -> Vec<f64> {
    let mut lower = Vec::new();
    for k in 2..=17 {
        for quarter in [1.0, 1.25, 1.5, 1.75] {
            let edge = 2f64.powi(-k) * quarter;
            lower.extend([edge, edge.next_down(), edge.next_up()]);
        }
    }
    lower.extend([1.0 / 128.0, 0.5f64.next_down(), 0.3, 0.1, 1e-3, 3e-5]);
    let mut us: Vec<f64> = lower.iter().copied().filter(|&u| u < 0.5).collect();
    // 1 − u for the upper tail: rounded to the doubles near 1, as a sampler would give them.
    us.extend(lower.iter().map(|&u| 1.0 - u));
    us.extend([0.5, 0.5f64.next_up(), 1.0 - 2f64.powi(-53)]);
    us
}

/// 4,000 u spread evenly in log scale over each tail [2⁻¹⁷, ½), from a fixed LCG.
fn tail_points() -> Vec<f64> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..4000)
        .map(|_| {
            let w = 2f64.powf(-1.0 - 16.0 * next());
            if next() < 0.5 {
                w
            } else {
                1.0 - w
            }
        })
        .collect()
}

#[test]
fn every_interval_verifies_for_the_test_shapes() {
    for src in SHAPES {
        let d = dist(src);
        let grid = d.fast.as_ref().unwrap_or_else(|| panic!("{src}: no grid"));
        assert_eq!(grid.verified_intervals(), [60, 60], "{src}");
    }
}

#[test]
fn the_fast_path_agrees_with_the_exact_quantile_at_piece_edges_and_in_the_tails() {
    let covered = |u: f64| {
        let w = u.min(1.0 - u);
        (2f64.powi(-16)..0.5).contains(&w)
    };
    for src in SHAPES {
        let d = dist(src);
        let grid = d.fast.as_ref().expect("grid");
        let mut served = 0;
        for u in edge_points().into_iter().chain(tail_points()) {
            let (fast, exact) = (d.quantile(u), d.exact_quantile(u));
            match grid.get(u) {
                Some(x) => {
                    assert!(covered(u), "{src}: served u = {u:e} outside the range");
                    assert_eq!(x, fast);
                    served += 1;
                }
                // Outside the covered range (and at ½ exactly), the exact path, bit for bit.
                None => {
                    assert!(!covered(u) || u == 0.5, "{src}: u = {u:e} not served");
                    assert_eq!(fast.to_bits(), exact.to_bits(), "{src} at {u:e}");
                }
            }
            assert!(
                within_tolerance(fast, exact, 1.0),
                "{src} at u = {u:e}: {fast:e} vs exact {exact:e} (relative {:.2e})",
                (fast - exact).abs() / exact.abs()
            );
        }
        assert!(served > 4000, "{src}: {served}");
    }
}

#[test]
fn the_column_path_gives_the_bits_of_the_value_by_value_path() {
    // Every kind (with and without a grid), at the piece edges, in the tails, outside the grid,
    // at ½, NaN and the ends; read with a stride, lengths not a multiple of 4 included.
    let mut us = edge_points();
    us.extend(tail_points());
    us.extend([
        0.0,
        1.0,
        f64::NAN,
        1e-300,
        2f64.powi(-20),
        1.0 - 2f64.powi(-20),
    ]);
    let stride = 3;
    let points: Vec<f64> = us.iter().flat_map(|&u| [u, -1.0, 7.0]).collect();
    let mut shapes: Vec<&str> = SHAPES.to_vec();
    shapes.extend([
        "2.5",
        "{ dist = \"uniform\", low = 1, high = 2 }",
        "{ dist = \"triangular\", low = 0, mode = 1, high = 3 }",
        "{ dist = \"discrete\", values = [1, 2, 3], weights = [1, 2, 1] }",
    ]);
    let mut located = super::LocatedPoints::default();
    let mut block = super::LocatedPoints::default();
    block.locate(&points);
    for src in shapes {
        let d = dist(src);
        for len in [us.len(), us.len() - 1, 3, 0] {
            let mut out = vec![0.0; len];
            d.quantile_column(&points, stride, &mut out, &mut located);
            let mut from_block = vec![0.0; len];
            d.quantile_located(&block, 0, stride, &points, stride, &mut from_block);
            for (i, (x, y)) in out.iter().zip(&from_block).enumerate() {
                let want = d.quantile(us[i]);
                assert_eq!(x.to_bits(), want.to_bits(), "{src} at u = {:e}", us[i]);
                assert_eq!(y.to_bits(), want.to_bits(), "{src} at u = {:e}", us[i]);
            }
        }
    }
}
