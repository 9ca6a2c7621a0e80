//! The per-line kernel (MODEL.md §14, issue 16): one block of 1024 draws of a synthetic model
//! of 5,000 lines in 20 sectors, against the default model's block, so that ns per line-draw
//! and ns per sector-draw are measured side by side (docs/performance.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tariffsim::kernel::Evaluator;
use tariffsim::model::{compile_model, load_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::sampling::{SamplerKind, BLOCK_SIZE};

fn block(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, csv) = tariffsim::synthetic::synthetic_lines_model(5000, 20);
    std::fs::write(dir.path().join("lines.csv"), csv).expect("write");
    let path = dir.path().join("lines.toml");
    std::fs::write(&path, text).expect("write");
    let lines = load_model(&path).expect("the synthetic line model compiles");
    let with_outputs = lines.clone().with_line_outputs(true).expect("has lines");
    let default = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("default model");
    let n = BLOCK_SIZE as usize;
    let mut group = c.benchmark_group("block_of_1024_draws");
    for (name, model, units) in [
        ("default_model_per_sector", &default, default.sectors.len()),
        ("5000_lines_per_line", &lines, lines.lines.len()),
        (
            "5000_lines_with_line_outputs_per_line",
            &with_outputs,
            with_outputs.lines.len(),
        ),
    ] {
        let evaluator = Evaluator::new(model);
        let mut buf = evaluator.buffers(n);
        let points = SamplerKind::MonteCarlo
            .point_set(model.dimension, BLOCK_SIZE, 0, false)
            .expect("points");
        group.throughput(Throughput::Elements((n * units) as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                points.fill_block(0, 0, buf.points_mut(n));
                evaluator.evaluate(&mut buf, n);
                black_box(buf.outputs(n)[[0, 0]])
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = block
}
criterion_main!(benches);
