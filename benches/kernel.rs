//! ns per sector solve (MODEL.md §2) for η = inf and finite η: one draw at a time, and over a
//! block of 1024 draws as the engine runs it (vectorised closed form and Newton steps).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tariffsim::kernel::armington::{
    export_value, export_values, Elasticities, SectorColumns, SectorShares, SolveScratch,
};

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

    // The same solves over a block, column by column.
    let block = 1024;
    let case = |i: usize| &cases[i % cases.len()];
    let ln_t: Vec<f64> = (0..block).map(|i| case(i).0).collect();
    let ln_c: Vec<f64> = (0..block).map(|i| case(i).1).collect();
    let sigma: Vec<f64> = (0..block).map(|i| case(i).2.sigma).collect();
    let epsilon: Vec<f64> = (0..block).map(|i| case(i).2.epsilon).collect();
    let eta_finite: Vec<f64> = (0..block).map(|i| case(i).2.eta).collect();
    let eta_inf = vec![f64::INFINITY; block];
    let mut group = c.benchmark_group("sector_solve_block1024");
    group.throughput(Throughput::Elements(block as u64));
    for (name, eta) in [("eta_inf", &eta_inf), ("eta_finite", &eta_finite)] {
        let columns = SectorColumns {
            ln_t: &ln_t,
            ln_c: &ln_c,
            sigma: &sigma,
            epsilon: &epsilon,
            eta,
        };
        let mut out = vec![0.0; block];
        let mut scratch = SolveScratch::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                export_values(black_box(&columns), &shares, &mut out, &mut scratch);
                out[block - 1]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sector_solve);
criterion_main!(benches);
