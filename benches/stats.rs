//! The statistics: ns per value inserted (histogram and a whole block) and the cost of merging
//! two accumulators.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use tariffsim::stats::{LogHistogram, RunStats};

fn values(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64) * 0.618_033_988_7).fract() * 40.0 - 5.0)
        .collect()
}

fn statistics(c: &mut Criterion) {
    let xs = values(1024);
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements(xs.len() as u64));
    group.bench_function("histogram_insert", |b| {
        let mut h = LogHistogram::new();
        b.iter(|| xs.iter().for_each(|&x| h.insert(black_box(x))))
    });
    // A block of 1024 draws × 22 outputs, 5 scenarios, dimension 75: what the engine adds per block.
    let outputs = Array2::from_shape_fn((1024, 22), |(d, o)| {
        xs[(d * 7 + o * 13) % 1024] * (1.0 + o as f64)
    });
    let points = Array2::from_shape_fn((1024, 75), |(d, j)| {
        ((d * 75 + j) as f64 * 0.754_877_666).fract().max(1e-9)
    });
    let scenarios: Vec<u32> = (0..1024).map(|d| (d % 5) as u32).collect();
    group.throughput(Throughput::Elements(1024 * 22));
    group.bench_function("add_block_per_value", |b| {
        let mut s = RunStats::new(5, vec![10.0; 22], 75, 1 << 20);
        let mut block = 0;
        b.iter(|| {
            s.add_block(
                block,
                block * 1024,
                points.view(),
                outputs.view(),
                &scenarios,
            );
            block += 1;
        })
    });
    group.finish();
    let mut a = RunStats::new(5, vec![10.0; 22], 75, 64);
    let mut other = RunStats::new(5, vec![10.0; 22], 75, 64);
    for b in 0..32 {
        a.add_block(b, b * 1024, points.view(), outputs.view(), &scenarios);
        other.add_block(
            b + 32,
            (b + 32) * 1024,
            points.view(),
            outputs.view(),
            &scenarios,
        );
    }
    c.bench_function("stats/merge_two_accumulators", |b| {
        b.iter(|| {
            let mut m = a.clone();
            m.merge(black_box(&other));
            m
        })
    });
}

criterion_group!(benches, statistics);
criterion_main!(benches);
