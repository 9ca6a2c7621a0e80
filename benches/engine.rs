//! The whole engine: draws/s on the default model and on synthetic models of 10, 50 and 200
//! sectors, with 1 and 2 threads; and the default model with and without its 36 monthly
//! outputs (issue 12's target: with them at most 25 % slower).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::run::{self, RunConfig};
use tariffsim::synthetic::synthetic_model_text;

const DRAWS: u64 = 65_536;

fn whole_engine(c: &mut Criterion) {
    let mut models = vec![(
        "default".to_string(),
        compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model"),
    )];
    for n in [10, 50, 200] {
        models.push((
            format!("synthetic_{n}"),
            compile_model(&synthetic_model_text(n), "synthetic").expect("synthetic model"),
        ));
    }
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(DRAWS));
    for (name, model) in &models {
        for threads in [1, 2] {
            let config = RunConfig {
                draws: DRAWS,
                seed: 1,
                threads,
                ..Default::default()
            };
            group.bench_function(format!("{name}/{threads}_threads"), |b| {
                b.iter(|| run::run(model, &config).expect("run"))
            });
        }
    }
    group.finish();
}

/// The default model with and without the monthly outputs `months.<t>.*` (`--monthly`). The
/// half-life path is computed in both (the annual values need it); the difference is the
/// monthly outputs' own cost: their kernel columns and their streaming statistics.
fn monthly_outputs(c: &mut Criterion) {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model");
    let mut group = c.benchmark_group("monthly_outputs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(DRAWS));
    let config = RunConfig {
        draws: DRAWS,
        seed: 1,
        threads: 1,
        ..Default::default()
    };
    for monthly in [false, true] {
        let model = model.clone().with_monthly(monthly).expect("whole months");
        let name = if monthly { "with" } else { "without" };
        group.bench_function(format!("default/{name}/1_thread"), |b| {
            b.iter(|| run::run(&model, &config).expect("run"))
        });
    }
    group.finish();
}

criterion_group!(benches, whole_engine, monthly_outputs);
criterion_main!(benches);
