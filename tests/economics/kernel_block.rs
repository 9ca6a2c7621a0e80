//! The kernel over a block of draws (column layout, draws grouped by scenario, vectorised
//! solves) gives exactly the outputs of evaluating each draw alone.

use rand::{RngExt, SeedableRng};
use tariffsim::kernel::{Kernel, KernelScratch, ValueColumns};
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};

#[test]
fn block_evaluation_equals_draw_by_draw_evaluation_bit_for_bit() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let kernel = Kernel::new(&model);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let n = 777;
    let width = model.value_len();
    let n_out = kernel.n_outputs();
    // Rows: one value vector per draw.
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            let mut v: Vec<f64> = model
                .params
                .iter()
                .map(|p| p.dist.quantile(rng.random_range(0.0..1.0)))
                .collect();
            v.extend_from_slice(&model.constants);
            v
        })
        .collect();
    let scenarios: Vec<u32> = (0..n)
        .map(|_| rng.random_range(0..model.scenarios.len() as u32))
        .collect();
    // Columns with a stride larger than the block, as the engine's workspace has.
    let stride = n + 5;
    let mut columns = vec![f64::NAN; width * stride];
    for (d, row) in rows.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            columns[j * stride + d] = x;
        }
    }
    let mut block_out = vec![f64::NAN; n_out * stride];
    let mut scratch = KernelScratch::default();
    kernel.evaluate_block(
        &ValueColumns {
            data: &columns,
            stride,
        },
        &scenarios,
        &mut block_out,
        &mut scratch,
    );
    let mut alone = vec![0.0; n_out];
    for d in 0..n {
        kernel.evaluate_with(&rows[d], scenarios[d] as usize, &mut alone, &mut scratch);
        for o in 0..n_out {
            assert_eq!(
                block_out[o * stride + d].to_bits(),
                alone[o].to_bits(),
                "draw {d}, output {o}"
            );
        }
    }
}
