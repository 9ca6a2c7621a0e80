//! Accuracy of every quantile function against mpmath references (MODEL.md §6), and the
//! validation rules of `Distribution::from_toml`.

use std::collections::BTreeMap;
use std::path::Path;

use tariffsim::dist::{standard_normal_cdf, standard_normal_quantile, DistError, Distribution};

/// Parse an inline-table TOML snippet into a value.
fn value(src: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(&format!("x = {src}")).expect("test TOML parses");
    table["x"].clone()
}

/// Build a distribution from an inline-table snippet, panicking on rejection.
fn dist(src: &str) -> Distribution {
    Distribution::from_toml(&value(src)).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The rejection of an inline-table snippet.
fn reject(src: &str) -> DistError {
    match Distribution::from_toml(&value(src)) {
        Ok(d) => panic!("{src} accepted as {}", d.describe()),
        Err(e) => e,
    }
}

/// A fixture case label `dist=beta alpha=0.3 beta=0.5` as an inline table.
fn label_to_toml(label: &str) -> String {
    let fields: Vec<String> = label
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            if k == "dist" {
                format!("{k} = \"{v}\"")
            } else {
                format!("{k} = {v}")
            }
        })
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

/// MODEL.md §6: 1e-9 relative, or 1e-12 absolute where the quantile is near 0.
fn within_spec(got: f64, want: f64) -> bool {
    (got - want).abs() <= (1e-9 * want.abs()).max(1e-12)
}

#[test]
fn quantiles_match_mpmath_references() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/quantiles");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "expected one fixture per continuous kind");
    // Per case: (worst fraction of tolerance, its u, rows, failures, worst plain relative error).
    let mut worst: BTreeMap<String, (f64, f64, usize, usize, f64)> = BTreeMap::new();
    let mut rows_total = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("fixture readable");
        let mut cache: Option<(String, Distribution)> = None;
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut cols = line.split(',');
            let (label, u, want) = (
                cols.next().expect("case"),
                cols.next().expect("u").parse::<f64>().expect("u parses"),
                cols.next().expect("x").parse::<f64>().expect("x parses"),
            );
            if cache.as_ref().is_none_or(|(l, _)| l != label) {
                cache = Some((label.to_string(), dist(&label_to_toml(label))));
            }
            let d = &cache.as_ref().expect("set above").1;
            let got = d.quantile(u);
            // Error as a fraction of the MODEL.md §6 tolerance (≤ 1 passes), for the report.
            let rel = (got - want).abs() / (1e-9 * want.abs()).max(1e-12);
            let entry = worst
                .entry(label.to_string())
                .or_insert((0.0, 0.0, 0, 0, 0.0));
            if want != 0.0 {
                entry.4 = entry.4.max((got - want).abs() / want.abs());
            }
            entry.2 += 1;
            if !within_spec(got, want) {
                entry.3 += 1;
                eprintln!("FAIL {label} u = {u:e}: got {got:e}, want {want:e}");
            }
            if rel > entry.0 || rel.is_nan() {
                entry.0 = rel;
                entry.1 = u;
            }
            rows_total += 1;
        }
    }
    println!(
        "worst error per case as a fraction of the tolerance max(1e-9 |ref|, 1e-12), {rows_total} rows:"
    );
    let mut failures = 0;
    println!("  fraction  at u                      relative   rows  failed  case");
    for (label, (err, u, n, fails, rel)) in &worst {
        println!("  {err:8.2e}  at u = {u:<18e} {rel:9.2e}  {n:5} {fails:6}  {label}");
        failures += fails;
    }
    assert_eq!(failures, 0, "quantiles outside the MODEL.md §6 tolerance");
}

#[test]
fn standard_normal_cdf_round_trips_in_the_tails() {
    // Only z ≤ 0.5: above, Φ(z) = 1 − small loses the small part to rounding.
    for &z in &[-37.5, -30.0, -20.0, -8.0, -1.5, -0.1, 0.3] {
        let u = standard_normal_cdf(z);
        let back = standard_normal_quantile(u);
        assert!(
            (back - z).abs() <= 1e-13 * z.abs(),
            "z = {z}: Φ⁻¹(Φ(z)) = {back}"
        );
    }
}

#[test]
fn quantile_is_monotone_and_within_support() {
    let specs = [
        "{ dist = \"uniform\", low = -1, high = 2 }",
        "{ dist = \"triangular\", low = 0, mode = 0.2, high = 1 }",
        "{ dist = \"pert\", low = 1, mode = 2, high = 4 }",
        "{ dist = \"pert\", low = 0, mode = 0, high = 1, lambda = 0.3 }",
        "{ dist = \"normal\", mean = 1, sd = 2 }",
        "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = 3, high = 40 }",
        "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = -0.5, high = 0.5 }",
        "{ dist = \"lognormal\", median = 2, sd_log = 0.5 }",
        "{ dist = \"beta\", alpha = 0.3, beta = 0.5, low = -1, high = 1 }",
        "{ dist = \"beta\", alpha = 50, beta = 2 }",
        "{ dist = \"student_t\", df = 0.7 }",
        "{ dist = \"student_t\", df = 1 }",
        "{ dist = \"student_t\", df = 2 }",
        "{ dist = \"student_t\", df = 4, loc = 3, scale = 0.5 }",
        "{ dist = \"student_t\", df = 7.5 }",
        "{ dist = \"discrete\", values = [1, 2, 5], weights = [1, 0, 3] }",
    ];
    for src in specs {
        let d = dist(src);
        let (lo, hi) = d.support();
        let mut prev = f64::NEG_INFINITY;
        let n = 200_000;
        let mut grid: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
        grid.extend([1e-300, 1e-16, 1e-12, 1e-9, 1.0 - 1e-12, 1.0 - 1e-16]);
        grid.sort_by(f64::total_cmp);
        for u in grid {
            let x = d.quantile(u);
            assert!(x >= prev, "{src}: not monotone at u = {u:e} ({x} < {prev})");
            assert!(
                lo <= x && x <= hi,
                "{src}: {x} outside [{lo}, {hi}] at u = {u:e}"
            );
            prev = x;
        }
        // Out-of-range input is clamped, never a panic; NaN reads as the median.
        assert_eq!(d.quantile(-1.0), d.quantile(0.0), "{src}");
        assert_eq!(d.quantile(2.0), d.quantile(1.0), "{src}");
        assert_eq!(d.quantile(f64::NAN), d.quantile(0.5), "{src}");
        assert!(
            !d.quantile(0.0).is_nan() && !d.quantile(1.0).is_nan(),
            "{src}"
        );
    }
}

#[test]
fn symmetric_kinds_are_antisymmetric_around_the_median() {
    for src in [
        "{ dist = \"student_t\", df = 3 }",
        "{ dist = \"student_t\", df = 30 }",
        "{ dist = \"normal\", mean = 0, sd = 1 }",
        "{ dist = \"beta\", alpha = 2.5, beta = 2.5, low = -1, high = 1 }",
    ] {
        let d = dist(src);
        // u with 1 − u exact, so both sides see the same tail probability.
        for &u in &[
            2f64.powi(-30),
            1.0 / 1024.0,
            0.25,
            0.375,
            0.5 - 2f64.powi(-20),
        ] {
            let (a, b) = (d.quantile(u), d.quantile(1.0 - u));
            assert!(
                (a + b).abs() <= 1e-12 * a.abs().max(1.0),
                "{src} at {u}: {a} vs {b}"
            );
        }
        assert!(d.quantile(0.5).abs() <= 1e-15, "{src}");
    }
}

#[test]
fn discrete_returns_listed_values_with_their_weights() {
    let d = dist("{ dist = \"discrete\", values = [0.1, 0.25, 0.7], weights = [2, 1, 1] }");
    let n = 100_000;
    let mut counts = [0usize; 3];
    for i in 0..n {
        let x = d.quantile((i as f64 + 0.5) / n as f64);
        let k = [0.1, 0.25, 0.7].iter().position(|&v| v == x);
        counts[k.unwrap_or_else(|| panic!("{x} is not a listed value"))] += 1;
    }
    assert_eq!(counts, [50_000, 25_000, 25_000]);
    // The convention: the first value (file order) whose cumulative weight is ≥ u.
    assert_eq!(d.quantile(0.5), 0.1);
    assert_eq!(d.quantile(0.5000001), 0.25);
    assert_eq!(d.quantile(0.75), 0.25);
    assert_eq!(d.quantile(1.0), 0.7);
    // Weights whose sums round (ten times 0.1) still reach the last value at u → 1.
    let tenths = dist("{ dist = \"discrete\", values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], weights = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] }");
    assert_eq!(tenths.quantile(1.0 - 1e-16), 10.0);
    assert_eq!(tenths.quantile(0.0), 1.0);
    // Zero weights are never drawn, even at the extremes.
    let z = dist("{ dist = \"discrete\", values = [-5, 1, 2, 9], weights = [0, 1, 1, 0] }");
    assert_eq!((z.quantile(0.0), z.quantile(1.0)), (1.0, 2.0));
    assert_eq!(z.support(), (1.0, 2.0));
    assert_eq!(z.mean(), Some(1.5));
    assert_eq!(
        dist("{ dist = \"discrete\", values = [3], weights = [2] }").as_point(),
        Some(3.0)
    );
}

#[test]
fn numbers_points_and_descriptions() {
    let p = Distribution::from_toml(&toml::Value::Integer(3)).expect("integer");
    assert_eq!(
        (p.as_point(), p.kind(), p.describe()),
        (Some(3.0), "point", "3".to_string())
    );
    let f = Distribution::from_toml(&toml::Value::Float(0.25)).expect("float");
    assert_eq!(f, Distribution::point(0.25));
    assert_eq!(f.quantile(0.9), 0.25);
    assert_eq!(
        dist("{ dist = \"point\", value = -2 }").as_point(),
        Some(-2.0)
    );
    let pert = dist("{ dist = \"pert\", low = 1, mode = 2, high = 4 }");
    assert_eq!(
        pert.describe(),
        "pert(low = 1, mode = 2, high = 4, lambda = 4)"
    );
    assert_eq!(pert.kind(), "pert");
    assert_eq!(pert.as_point(), None);
    assert_eq!(pert.support(), (1.0, 4.0));
    assert_eq!(
        dist("{ dist = \"normal\", mean = 0.5, sd = 1e-12 }").describe(),
        "normal(mean = 0.5, sd = 1e-12)"
    );
    assert_eq!(
        dist("{ dist = \"student_t\", df = 3 }").describe(),
        "student_t(df = 3, loc = 0, scale = 1)"
    );
}

#[test]
fn means_match_closed_forms() {
    let cases = [
        ("{ dist = \"uniform\", low = 1, high = 3 }", Some(2.0)),
        (
            "{ dist = \"triangular\", low = 0, mode = 1, high = 5 }",
            Some(2.0),
        ),
        (
            "{ dist = \"pert\", low = 1, mode = 2, high = 4 }",
            Some(13.0 / 6.0),
        ),
        (
            "{ dist = \"beta\", alpha = 2, beta = 6, low = 0, high = 4 }",
            Some(1.0),
        ),
        (
            "{ dist = \"lognormal\", median = 1, sd_log = 2 }",
            Some(2f64.exp()),
        ),
        ("{ dist = \"student_t\", df = 1 }", None),
        ("{ dist = \"student_t\", df = 1.5, loc = 2 }", Some(2.0)),
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = -2, high = 2 }",
            Some(0.0),
        ),
        // E[Z | Z > 10] = φ(10)/Q(10) = 10.098...
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = 10, high = 1000 }",
            Some(10.098_093_233_962_5),
        ),
    ];
    for (src, want) in cases {
        let got = dist(src).mean();
        match (got, want) {
            (Some(g), Some(w)) => assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{src}: {g} vs {w}"
            ),
            _ => assert_eq!(got, want, "{src}"),
        }
    }
}

/// Assert a rejection names `key` and contains every fragment.
fn assert_rejects(src: &str, key: Option<&str>, fragments: &[&str]) {
    let e = reject(src);
    assert_eq!(e.key.as_deref(), key, "{src}: {e}");
    for f in fragments {
        assert!(
            e.message.contains(f),
            "{src}: message {:?} lacks {f:?}",
            e.message
        );
    }
    assert!(!e.message.contains('\n'), "one line: {}", e.message);
}

#[test]
fn rejects_values_that_are_not_distributions() {
    for (v, what) in [
        (toml::Value::String("normal".into()), "a string"),
        (toml::Value::Boolean(true), "a boolean"),
        (toml::Value::Array(vec![]), "an array"),
    ] {
        let e = Distribution::from_toml(&v).expect_err("not a distribution");
        assert_eq!(e.key, None);
        assert!(
            e.message.contains(what) && e.message.contains("accepted"),
            "{e}"
        );
    }
    let e = Distribution::from_toml(&toml::Value::Float(f64::INFINITY)).expect_err("inf");
    assert_eq!(e.key, None);
    assert!(e.message.contains("finite"), "{e}");
    let e = Distribution::from_toml(&toml::Value::Float(f64::NAN)).expect_err("nan");
    assert!(e.message.contains("finite"), "{e}");
}

#[test]
fn rejects_bad_dist_keys() {
    assert_rejects(
        "{ mean = 0, sd = 1 }",
        Some("dist"),
        &["missing key `dist`", "truncated_normal"],
    );
    assert_rejects(
        "{ dist = 3 }",
        Some("dist"),
        &["must be a string", "an integer", "accepted: point"],
    );
    assert_rejects(
        "{ dist = \"gauss\", mean = 0 }",
        Some("dist"),
        &["unknown dist `gauss`; accepted: point, uniform, triangular, pert, normal, truncated_normal, lognormal, beta, student_t, discrete"],
    );
    assert_rejects(
        "{ dist = \"normal\", mean = 0, sdd = 1 }",
        Some("sdd"),
        &["unknown key `sdd` for dist = \"normal\"; accepted keys: mean, sd"],
    );
    assert_rejects(
        "{ dist = \"beta\", alpha = 1, beta = 1, scale = 2 }",
        Some("scale"),
        &["accepted keys: alpha, beta, low, high"],
    );
    assert_rejects(
        "{ dist = \"uniform\", low = 0 }",
        Some("high"),
        &["missing key `high` for dist = \"uniform\"; required: low, high"],
    );
    assert_rejects(
        "{ dist = \"point\" }",
        Some("value"),
        &["missing key `value`"],
    );
}

#[test]
fn rejects_wrong_types_and_non_finite_numbers() {
    assert_rejects(
        "{ dist = \"normal\", mean = 0, sd = \"1\" }",
        Some("sd"),
        &[
            "`sd` must be a number (got a string)",
            "accepted: a finite number",
        ],
    );
    assert_rejects(
        "{ dist = \"normal\", mean = true, sd = 1 }",
        Some("mean"),
        &["got a boolean"],
    );
    assert_rejects(
        "{ dist = \"normal\", mean = 0, sd = inf }",
        Some("sd"),
        &["`sd` must be finite (got inf)"],
    );
    assert_rejects(
        "{ dist = \"normal\", mean = nan, sd = 1 }",
        Some("mean"),
        &["`mean` must be finite (got NaN)"],
    );
    assert_rejects(
        "{ dist = \"uniform\", low = -inf, high = 0 }",
        Some("low"),
        &["finite"],
    );
    // Integers are numbers.
    assert_eq!(
        dist("{ dist = \"normal\", mean = 1, sd = 2 }").quantile(0.5),
        1.0
    );
}

#[test]
fn rejects_domain_violations() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "{ dist = \"uniform\", low = 1, high = 1 }",
            "high",
            &["low < high", "got low = 1, high = 1"],
        ),
        (
            "{ dist = \"uniform\", low = -1e308, high = 1e308 }",
            "high",
            &["overflows"],
        ),
        (
            "{ dist = \"triangular\", low = 0, mode = 2, high = 1 }",
            "mode",
            &["low ≤ mode ≤ high"],
        ),
        (
            "{ dist = \"triangular\", low = 1, mode = 1, high = 1 }",
            "high",
            &["low < high"],
        ),
        (
            "{ dist = \"pert\", low = 0, mode = -1, high = 1 }",
            "mode",
            &["low ≤ mode ≤ high"],
        ),
        (
            "{ dist = \"pert\", low = 2, mode = 2, high = 1 }",
            "high",
            &["low < high"],
        ),
        (
            "{ dist = \"pert\", low = 0, mode = 0.5, high = 1, lambda = 0 }",
            "lambda",
            &["`lambda` must be > 0 (got 0); accepted: lambda > 0"],
        ),
        (
            "{ dist = \"normal\", mean = 0, sd = -1 }",
            "sd",
            &["`sd` must be > 0 (got -1); accepted: sd > 0"],
        ),
        ("{ dist = \"normal\", mean = 0, sd = 0 }", "sd", &["sd > 0"]),
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 0, low = 0, high = 1 }",
            "sd",
            &["sd > 0"],
        ),
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = 1, high = 0 }",
            "high",
            &["low < high"],
        ),
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = 40, high = 50 }",
            "low",
            &["too small to represent", "accepted"],
        ),
        (
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = -50, high = -40 }",
            "high",
            &["too small to represent"],
        ),
        (
            "{ dist = \"lognormal\", median = 0, sd_log = 1 }",
            "median",
            &["median > 0"],
        ),
        (
            "{ dist = \"lognormal\", median = 1, sd_log = -0.1 }",
            "sd_log",
            &["sd_log > 0"],
        ),
        (
            "{ dist = \"beta\", alpha = 0, beta = 1 }",
            "alpha",
            &["alpha > 0"],
        ),
        (
            "{ dist = \"beta\", alpha = 1, beta = -2 }",
            "beta",
            &["beta > 0"],
        ),
        (
            "{ dist = \"beta\", alpha = 1, beta = 1, low = 1, high = 0 }",
            "high",
            &["low < high"],
        ),
        ("{ dist = \"student_t\", df = 0 }", "df", &["df > 0"]),
        (
            "{ dist = \"student_t\", df = 3, scale = 0 }",
            "scale",
            &["scale > 0"],
        ),
        (
            "{ dist = \"discrete\", values = 1, weights = [1] }",
            "values",
            &["must be an array (got an integer)"],
        ),
        (
            "{ dist = \"discrete\", values = [], weights = [] }",
            "values",
            &["non-empty"],
        ),
        (
            "{ dist = \"discrete\", values = [1, \"a\"], weights = [1, 1] }",
            "values",
            &["`values[1]` must be a number"],
        ),
        (
            "{ dist = \"discrete\", values = [1, inf], weights = [1, 1] }",
            "values",
            &["`values[1]` must be finite"],
        ),
        (
            "{ dist = \"discrete\", values = [1, 2], weights = [1] }",
            "weights",
            &["one entry per value (got 1 weights for 2 values)"],
        ),
        (
            "{ dist = \"discrete\", values = [1, 2], weights = [1, -1] }",
            "weights",
            &["`weights[1]` must be ≥ 0 (got -1)"],
        ),
        (
            "{ dist = \"discrete\", values = [1, 2], weights = [0, 0] }",
            "weights",
            &["must not all be 0"],
        ),
        (
            "{ dist = \"discrete\", values = [1, 2], weights = [1e308, 1e308] }",
            "weights",
            &["finite sum"],
        ),
        (
            "{ dist = \"discrete\", values = [1, 2] }",
            "weights",
            &["missing key `weights`", "required: values, weights"],
        ),
    ];
    for (src, key, fragments) in cases {
        assert_rejects(src, Some(key), fragments);
    }
}

#[test]
fn far_tail_truncated_normal_is_accepted_and_inside() {
    let d = dist("{ dist = \"truncated_normal\", mean = 0, sd = 1, low = 30, high = 31 }");
    for &u in &[0.0, 1e-9, 0.5, 1.0 - 1e-9, 1.0] {
        let x = d.quantile(u);
        assert!((30.0..=31.0).contains(&x), "{x}");
    }
    // The conditional law is ≈ 30 + Exp(rate 30): the median is about ln 2 / 30 above 30.
    let m = d.quantile(0.5) - 30.0;
    assert!((m - 2f64.ln() / 30.0).abs() < 1e-3, "{m}");
}
