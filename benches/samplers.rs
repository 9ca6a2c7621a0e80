//! Cost of the samplers per block of 1024 draws; divide the time by 1024·dim for ns per point per dimension.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use tariffsim::sampling::lhs::LatinHypercube;
use tariffsim::sampling::sobol::{unit_from_u64, Antithetic, Sobol};
use tariffsim::sampling::{MonteCarlo, PointSet};

const BLOCK: usize = 1024;

/// The Monte Carlo baseline: one ChaCha8 stream per block, one u64 per coordinate.
struct ChaChaBlocks {
    dim: usize,
    seed: u64,
}

impl PointSet for ChaChaBlocks {
    fn dim(&self) -> usize {
        self.dim
    }
    fn fill_block(&self, block: u64, _first: u64, out: &mut [f64]) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(block);
        for u in out {
            *u = unit_from_u64(rng.next_u64());
        }
    }
}

fn bench_one(c: &mut Criterion, dim: usize) {
    let samplers: Vec<(&str, Box<dyn PointSet>)> = vec![
        ("sobol_owen", Box::new(Sobol::new(dim, 1).unwrap())),
        ("sobol_plain", Box::new(Sobol::unscrambled(dim).unwrap())),
        (
            "lhs",
            Box::new(LatinHypercube::new(dim, 1 << 24, 1).unwrap()),
        ),
        (
            "antithetic_sobol",
            Box::new(Antithetic::new(Sobol::new(dim, 1).unwrap())),
        ),
        ("chacha8", Box::new(ChaChaBlocks { dim, seed: 1 })),
        // The engine's sampler: ChaCha8 words in bulk (16 blocks per step with AVX-512).
        ("monte_carlo", Box::new(MonteCarlo::new(dim, 1))),
    ];
    let mut group = c.benchmark_group(format!("block1024_dim{dim}"));
    group.throughput(Throughput::Elements((BLOCK * dim) as u64));
    let mut out = vec![0.0; BLOCK * dim];
    for (name, s) in &samplers {
        let mut block = 0u64;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                block = (block + 1) % (1 << 14);
                s.fill_block(block, block * BLOCK as u64, &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

fn samplers(c: &mut Criterion) {
    bench_one(c, 8);
    bench_one(c, 64);
}

criterion_group!(benches, samplers);
criterion_main!(benches);
