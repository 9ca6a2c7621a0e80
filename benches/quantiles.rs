//! Cost of `Distribution::quantile` per value for each kind (MODEL.md §6), over a fixed array
//! of 1024 uniforms, and over 1024 u in the tails; and the cost of building the tabulated
//! kinds. Criterion reports time per 1024 values; divide by 1024 for ns/value (the throughput
//! line shows values per second).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tariffsim::dist::Distribution;

/// 1024 fixed uniforms in (0, 1) from a 64-bit LCG (Knuth MMIX constants), so runs compare.
fn uniforms() -> Vec<f64> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..1024)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        })
        .collect()
}

/// 1024 fixed u in the tails: uniform on [2⁻¹⁶, 1/128], every other one mirrored to 1 − u, the
/// range the binade grid serves beyond the former central grid.
fn tail_uniforms() -> Vec<f64> {
    let (low, high) = (2f64.powi(-16), 1.0 / 128.0);
    uniforms()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let u = low + (high - low) * v;
            if i % 2 == 0 {
                u
            } else {
                1.0 - u
            }
        })
        .collect()
}

/// Parse an inline-table snippet.
fn dist(src: &str) -> Distribution {
    let table: toml::Table = toml::from_str(&format!("x = {src}")).expect("bench TOML parses");
    Distribution::from_toml(&table["x"]).expect("bench distribution is valid")
}

fn quantiles(c: &mut Criterion) {
    let us = uniforms();
    let cases = [
        ("point", "3.5"),
        ("uniform", "{ dist = \"uniform\", low = 1, high = 2 }"),
        (
            "triangular",
            "{ dist = \"triangular\", low = 0, mode = 1, high = 3 }",
        ),
        ("pert", "{ dist = \"pert\", low = 1, mode = 2, high = 4 }"),
        ("normal", "{ dist = \"normal\", mean = 0, sd = 1 }"),
        (
            "truncated_normal",
            "{ dist = \"truncated_normal\", mean = 0, sd = 1, low = -0.5, high = 3 }",
        ),
        (
            "lognormal",
            "{ dist = \"lognormal\", median = 1, sd_log = 0.5 }",
        ),
        (
            "beta(0.3,0.5)",
            "{ dist = \"beta\", alpha = 0.3, beta = 0.5 }",
        ),
        ("beta(50,2)", "{ dist = \"beta\", alpha = 50, beta = 2 }"),
        ("student_t df=1", "{ dist = \"student_t\", df = 1 }"),
        ("student_t df=2", "{ dist = \"student_t\", df = 2 }"),
        ("student_t df=4", "{ dist = \"student_t\", df = 4 }"),
        ("student_t df=3", "{ dist = \"student_t\", df = 3 }"),
        ("student_t df=30", "{ dist = \"student_t\", df = 30 }"),
        (
            "discrete(5)",
            "{ dist = \"discrete\", values = [1, 2, 3, 4, 5], weights = [1, 2, 3, 2, 1] }",
        ),
    ];
    let mut group = c.benchmark_group("quantile_x1024");
    group.throughput(Throughput::Elements(us.len() as u64));
    for (name, src) in cases {
        let d = dist(src);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for &u in black_box(&us) {
                    acc += d.quantile(u);
                }
                black_box(acc)
            })
        });
    }
    group.finish();
    // The tails, where the exact path served before the binade grid.
    let tails = tail_uniforms();
    let mut group = c.benchmark_group("quantile_tails_x1024");
    group.throughput(Throughput::Elements(tails.len() as u64));
    for (name, src) in [
        ("pert", "{ dist = \"pert\", low = 1, mode = 2, high = 4 }"),
        ("normal", "{ dist = \"normal\", mean = 0, sd = 1 }"),
        (
            "lognormal",
            "{ dist = \"lognormal\", median = 1, sd_log = 0.5 }",
        ),
        (
            "beta(0.3,0.5)",
            "{ dist = \"beta\", alpha = 0.3, beta = 0.5 }",
        ),
        ("student_t df=4", "{ dist = \"student_t\", df = 4 }"),
    ] {
        let d = dist(src);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0.0;
                for &u in black_box(&tails) {
                    acc += d.quantile(u);
                }
                black_box(acc)
            })
        });
    }
    group.finish();
    // Value by value against column-wise (`quantile_column`, the engine's path since issue
    // 16), reading every 100th number as the block's points of 100 coordinates are read.
    let dim = 100;
    let strided: Vec<f64> = us
        .iter()
        .flat_map(|&u| std::iter::repeat_n(u, dim))
        .collect();
    let mut group = c.benchmark_group("quantile_column_x1024");
    group.throughput(Throughput::Elements(us.len() as u64));
    for (name, src) in [
        ("pert", "{ dist = \"pert\", low = 1, mode = 2, high = 4 }"),
        (
            "lognormal",
            "{ dist = \"lognormal\", median = 1, sd_log = 0.5 }",
        ),
        ("student_t df=4", "{ dist = \"student_t\", df = 4 }"),
    ] {
        let d = dist(src);
        let mut out = vec![0.0; us.len()];
        let mut located = tariffsim::dist::LocatedPoints::default();
        group.bench_function(format!("{name}/value_by_value"), |b| {
            b.iter(|| {
                let points = black_box(&strided);
                for (i, x) in out.iter_mut().enumerate() {
                    *x = d.quantile(points[i * dim]);
                }
                black_box(&out);
            })
        });
        group.bench_function(format!("{name}/column"), |b| {
            b.iter(|| {
                d.quantile_column(black_box(&strided), dim, &mut out, &mut located);
                black_box(&out);
            })
        });
    }
    group.finish();
    // Construction cost of the tabulated kinds (paid once per model compile).
    let mut build = c.benchmark_group("construct");
    for (name, src) in [
        ("pert", "{ dist = \"pert\", low = 1, mode = 2, high = 4 }"),
        (
            "beta(0.3,0.5)",
            "{ dist = \"beta\", alpha = 0.3, beta = 0.5 }",
        ),
        ("beta(50,2)", "{ dist = \"beta\", alpha = 50, beta = 2 }"),
        ("student_t df=3", "{ dist = \"student_t\", df = 3 }"),
        // No Beta table: the verified grid is the whole cost.
        ("normal", "{ dist = \"normal\", mean = 4.5, sd = 2 }"),
        (
            "lognormal",
            "{ dist = \"lognormal\", median = 4, sd_log = 0.6 }",
        ),
    ] {
        let table: toml::Table = toml::from_str(&format!("x = {src}")).expect("parses");
        let v = table["x"].clone();
        build.bench_function(name, |b| b.iter(|| Distribution::from_toml(black_box(&v))));
    }
    build.finish();
}

criterion_group!(benches, quantiles);
criterion_main!(benches);
