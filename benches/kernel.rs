//! ns per sector solve (MODEL.md §2) for η = inf and finite η: one draw at a time, and over a
//! block of 1024 draws as the engine runs it (vectorised closed form and Newton steps); and the
//! whole kernel on a block of the default model (solves, named competitors, monthly path).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tariffsim::kernel::armington::{
    composite_ln_c, export_value, export_values, fixed_price_values, multi_source_values,
    Elasticities, FoldScratch, SectorColumns, SectorShares, SolveScratch, SourceColumns,
    SourceScratch, SourceShares,
};
use tariffsim::kernel::{Evaluator, Kernel, KernelScratch, ValueColumns};
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::sampling::{SamplerKind, BLOCK_SIZE};

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

/// MODEL.md §10 over a block of 1024 draws: a sector with k named competitors, all at η = ∞
/// (the composite fold, §2's solve, each competitor's V in closed form) or all with a finite η
/// (the Newton solve in z = ln P), against the same sector without named competitors.
fn named_competitors(c: &mut Criterion) {
    let block = 1024;
    let f = |i: usize| (i % 256) as f64 / 256.0;
    let ln_t: Vec<f64> = (0..block).map(|i| (1.10 + 0.3 * f(i)).ln()).collect();
    let ln_c: Vec<f64> = (0..block)
        .map(|i| (1.0 + 0.2 * (1.0 - f(i))).ln())
        .collect();
    let sigma: Vec<f64> = (0..block).map(|i| 1.5 + 6.0 * f(i)).collect();
    let epsilon: Vec<f64> = (0..block).map(|i| 0.3 + 2.0 * (1.0 - f(i))).collect();
    let eta_finite: Vec<f64> = (0..block).map(|i| 0.5 + 8.0 * f(i)).collect();
    let eta_inf = vec![f64::INFINITY; block];
    let mut group = c.benchmark_group("named_competitors_block1024");
    group.throughput(Throughput::Elements(block as u64));
    for k in [0usize, 1, 3, 6] {
        let named_shares = vec![0.5 / k.max(1) as f64; k];
        let sources = SourceShares::new(0.16, &named_shares, 0.34);
        // Competitor j's tariff change: spread, so that the fold is not trivially C.
        let named_ln_t: Vec<f64> = (0..k * block)
            .map(|i| (1.0 + 0.05 * (i / block) as f64 + 0.1 * f(i % block)).ln())
            .collect();
        for (exporter, eta) in [("exporter_inf", &eta_inf), ("exporter_finite", &eta_finite)] {
            let mut out = vec![0.0; block];
            let mut named_out = vec![0.0; k * block];
            let mut ln_c_eff = vec![0.0; block];
            let mut fold = FoldScratch::default();
            let mut solve = SolveScratch::default();
            let shares = SectorShares::new(0.16);
            group.bench_function(format!("{k}_fixed_price/{exporter}"), |b| {
                b.iter(|| {
                    let ln_c_used: &[f64] = if k == 0 {
                        &ln_c
                    } else {
                        composite_ln_c(
                            &sources,
                            &ln_c,
                            &named_ln_t,
                            &sigma,
                            &mut ln_c_eff,
                            &mut fold,
                        );
                        &ln_c_eff
                    };
                    let columns = SectorColumns {
                        ln_t: &ln_t,
                        ln_c: ln_c_used,
                        sigma: &sigma,
                        epsilon: &epsilon,
                        eta,
                    };
                    export_values(black_box(&columns), &shares, &mut out, &mut solve);
                    for j in 0..k {
                        fixed_price_values(
                            &named_ln_t[j * block..(j + 1) * block],
                            solve.ln_price_index(),
                            &sigma,
                            &epsilon,
                            &mut named_out[j * block..(j + 1) * block],
                        );
                    }
                    out[block - 1]
                })
            });
            let named_eta: Vec<f64> = (0..k * block).map(|i| eta_finite[i % block]).collect();
            let mut scratch = SourceScratch::default();
            group.bench_function(format!("{k}_finite_eta/{exporter}"), |b| {
                b.iter(|| {
                    multi_source_values(
                        black_box(&SourceColumns {
                            ln_t: &ln_t,
                            ln_c: &ln_c,
                            named_ln_t: &named_ln_t,
                            sigma: &sigma,
                            epsilon: &epsilon,
                            eta,
                            eta_rest: &eta_inf,
                            named_eta: &named_eta,
                        }),
                        &sources,
                        &mut out,
                        &mut named_out,
                        &mut scratch,
                    );
                    out[block - 1]
                })
            });
        }
    }
    group.finish();
}

/// The kernel alone (`Kernel::evaluate_block`: the solves of every regime, the named
/// competitors, the monthly path of §12 and the outputs) on one block of 1024 draws of the
/// default model, from values drawn once: what issue 16's speed work on the kernel changed.
fn default_model_kernel(c: &mut Criterion) {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model");
    let n = BLOCK_SIZE as usize;
    let evaluator = Evaluator::new(&model);
    let mut buf = evaluator.buffers(n);
    SamplerKind::MonteCarlo
        .point_set(model.dimension, BLOCK_SIZE, 0, false)
        .expect("points")
        .fill_block(0, 0, buf.points_mut(n));
    evaluator.evaluate(&mut buf, n);
    // The block's values in the kernel's column layout: value j of draw d at j·n + d.
    let drawn = buf.values(n);
    let width = drawn.ncols();
    let mut data = vec![0.0; width * n];
    for j in 0..width {
        for d in 0..n {
            data[j * n + d] = drawn[[d, j]];
        }
    }
    let scenarios = buf.scenarios(n).to_vec();
    let kernel = Kernel::new(&model);
    let mut outputs = vec![0.0; kernel.n_outputs() * n];
    let mut scratch = KernelScratch::default();
    let mut group = c.benchmark_group("default_model_kernel_block1024");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("evaluate_block", |b| {
        b.iter(|| {
            let values = ValueColumns {
                data: black_box(&data),
                stride: n,
            };
            kernel.evaluate_block(&values, &scenarios, &mut outputs, &mut scratch);
            outputs[n - 1]
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    sector_solve,
    named_competitors,
    default_model_kernel
);
criterion_main!(benches);
