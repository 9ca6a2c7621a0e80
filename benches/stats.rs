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
    insert_columns(c);
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

/// One block's values of the default model's 36 outputs as the histograms see them: most values
/// of a column fall in bins of their own (900–1,000 distinct bins and 20–380 chunks per 1,024
/// values, measured on a block of `tariffsim bench`), spread over 1–26 binades, some columns
/// of both signs and some with many exact zeros. So each insert reaches a cache line of its own,
/// and the 36 histograms together hold about 2 MiB of counts once warm.
fn columns(block: u64) -> Vec<Vec<f64>> {
    let spans = [
        7.0, 1.0, 8.0, 23.0, 26.0, 3.0, 20.0, 4.0, 21.0, 15.0, 12.0, 2.0,
    ];
    (0..36u64)
        .map(|c| {
            (0..1024u64)
                .map(|d| {
                    let mut z = (block * 1024 + d) * 36 + c;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
                    let span = spans[c as usize % spans.len()];
                    let magnitude = (span * (u - 0.5)).exp2();
                    match (c % 3, z & 7) {
                        (0, 0..=3) => 0.0,
                        (1, 0..=2) => -magnitude,
                        _ => magnitude,
                    }
                })
                .collect()
        })
        .collect()
}

/// Inserting a block of 36 columns × 1024 values into warm histograms (every chunk allocated),
/// and the same after streaming 4 MiB through the caches, as the kernel does between blocks
/// (the streaming alone is `stream_4mib`, to subtract).
fn insert_columns(c: &mut Criterion) {
    let blocks: Vec<Vec<Vec<f64>>> = (0..16).map(columns).collect();
    let mut histograms: Vec<LogHistogram> = (0..36).map(|_| LogHistogram::new()).collect();
    for b in 0..200 {
        for (h, xs) in histograms.iter_mut().zip(&columns(100 + b)) {
            h.insert_slice(xs);
        }
    }
    let mut group = c.benchmark_group("stats");
    group.throughput(Throughput::Elements(36 * 1024));
    let mut next = 0;
    group.bench_function("insert_columns_x36_warm", |b| {
        b.iter(|| {
            for (h, xs) in histograms.iter_mut().zip(&blocks[next % 16]) {
                h.insert_slice(xs);
            }
            next += 1;
        })
    });
    let mut other = vec![1u64; 1 << 19];
    group.bench_function("stream_4mib", |b| {
        b.iter(|| {
            other.iter_mut().for_each(|x| *x = x.wrapping_mul(3));
            black_box(&other);
        })
    });
    group.bench_function("insert_columns_x36_after_stream_4mib", |b| {
        b.iter(|| {
            other.iter_mut().for_each(|x| *x = x.wrapping_mul(3));
            black_box(&other);
            for (h, xs) in histograms.iter_mut().zip(&blocks[next % 16]) {
                h.insert_slice(xs);
            }
            next += 1;
        })
    });
    group.finish();
    let bytes: usize = histograms.iter().map(LogHistogram::heap_bytes).sum();
    eprintln!("36 warm histograms hold {bytes} bytes");
}

criterion_group!(benches, statistics);
criterion_main!(benches);
