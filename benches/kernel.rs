//! ns per sector solve (MODEL.md §2) for η = inf and finite η.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tariffsim::kernel::armington::{export_value, Elasticities, SectorShares};

fn sector_solve(c: &mut Criterion) {
    let shares = SectorShares::new(0.16);
    // 256 draws of elasticities and tariffs spread over realistic ranges.
    let cases: Vec<(f64, f64, Elasticities)> = (0..256)
        .map(|i| {
            let f = i as f64 / 256.0;
            (
                (1.10 + 0.3 * f).ln(),
                (1.0 + 0.2 * (1.0 - f)).ln(),
                Elasticities {
                    sigma: 1.5 + 6.0 * f,
                    epsilon: 0.3 + 2.0 * (1.0 - f),
                    eta: 0.5 + 8.0 * f,
                },
            )
        })
        .collect();
    let mut group = c.benchmark_group("sector_solve");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("eta_inf", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (t, cc, e) in &cases {
                let e = Elasticities {
                    eta: f64::INFINITY,
                    ..*e
                };
                acc += export_value(black_box(*t), *cc, &shares, &e);
            }
            acc
        })
    });
    group.bench_function("eta_finite", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (t, cc, e) in &cases {
                acc += export_value(black_box(*t), *cc, &shares, e);
            }
            acc
        })
    });
    group.finish();
}

criterion_group!(benches, sector_solve);
criterion_main!(benches);
