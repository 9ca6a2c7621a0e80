//! Cost of the Gaussian copula per draw on the default model's correlation structure (28
//! correlations in 15 clusters of 2–4 coordinates), over a block of 1024 draws: the block path
//! the engine uses, and `apply` row by row for comparison. Throughput is in draws.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::sampling::copula::CopulaScratch;
use tariffsim::sampling::unit_from_u64;

const BLOCK: usize = 1024;

fn copula(c: &mut Criterion) {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model");
    let (copula, dim) = (&model.copula, model.dimension);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let points: Vec<f64> = (0..BLOCK * dim)
        .map(|_| unit_from_u64(rng.next_u64()))
        .collect();
    let mut group = c.benchmark_group("copula_default_model");
    group.throughput(Throughput::Elements(BLOCK as u64));
    let mut scratch = CopulaScratch::default();
    group.bench_function("apply_block_x1024", |b| {
        b.iter_batched_ref(
            || points.clone(),
            |block| {
                copula.apply_block(block, BLOCK, dim, &mut scratch);
                black_box(block);
            },
            BatchSize::SmallInput,
        )
    });
    let mut row_scratch = Vec::new();
    group.bench_function("apply_rows_x1024", |b| {
        b.iter_batched_ref(
            || points.clone(),
            |block| {
                for row in block.chunks_exact_mut(dim) {
                    copula.apply(row, &mut row_scratch);
                }
                black_box(block);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, copula);
criterion_main!(benches);
