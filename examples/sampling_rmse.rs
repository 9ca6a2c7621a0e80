//! Measures how fast each sampler converges on the default model: the root-mean-square error,
//! over independent seeds, of the mean and of the 95th percentile of export loss against a
//! reference from one very large scrambled-Sobol run. Produces the table of docs/sampling.md.
//!
//! ```sh
//! cargo run --release --example sampling_rmse -- [REFERENCE_LOG2 [SEEDS]]
//! ```
//! (defaults: a reference of 2^24 draws, 20 seeds).

use std::time::Instant;

use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::outputs::EXPORT_LOSS;
use tariffsim::run::{self, RunConfig, SamplerKind};

fn main() {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let reference_log2 = args.first().copied().unwrap_or(24);
    let seeds = args.get(1).copied().unwrap_or(20) as u64;
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model");
    let mean_p95 = |draws: u64, seed: u64, sampler, antithetic| {
        let config = RunConfig {
            draws,
            seed,
            threads: 0,
            sampler,
            antithetic,
        };
        let s = run::run(&model, &config)
            .expect("run")
            .stats
            .output_summary(EXPORT_LOSS);
        (s.mean, s.quantiles[7])
    };
    let started = Instant::now();
    // The reference uses a seed (1000) that none of the measured runs use.
    let (ref_mean, ref_p95) = mean_p95(1 << reference_log2, 1000, SamplerKind::Sobol, false);
    println!(
        "reference: sobol, 2^{reference_log2} draws, seed 1000: mean {ref_mean:.5}, p95 {ref_p95:.5} ({:.0} s)",
        started.elapsed().as_secs_f64()
    );
    println!("| sampler | draws | RMSE of mean | RMSE of p95 |");
    println!("|---|---:|---:|---:|");
    let samplers = [
        (SamplerKind::MonteCarlo, false),
        (SamplerKind::MonteCarlo, true),
        (SamplerKind::LatinHypercube, false),
        (SamplerKind::Sobol, false),
        (SamplerKind::Sobol, true),
    ];
    for (sampler, antithetic) in samplers {
        for log2 in [10, 12, 14, 16] {
            let (mut se_mean, mut se_p95) = (0.0, 0.0);
            for seed in 1..=seeds {
                let (m, p) = mean_p95(1 << log2, seed, sampler, antithetic);
                se_mean += (m - ref_mean).powi(2);
                se_p95 += (p - ref_p95).powi(2);
            }
            println!(
                "| {} | 2^{log2} | {:.4} | {:.4} |",
                sampler.label(antithetic),
                (se_mean / seeds as f64).sqrt(),
                (se_p95 / seeds as f64).sqrt()
            );
        }
    }
    println!("total {:.0} s", started.elapsed().as_secs_f64());
}
