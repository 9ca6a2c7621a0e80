//! The kernel over a block of draws (column layout, draws grouped by scenario, vectorised
//! solves) gives exactly the outputs of evaluating each draw alone.

use rand::{RngExt, SeedableRng};
use tariffsim::kernel::{Kernel, KernelScratch, ValueColumns};
use tariffsim::model::{compile_model, Model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};

/// `n` random draws of `model`: one value vector per draw (parameters, then constants), a
/// random scenario each, and the same values in the kernel's column layout with `stride`.
pub struct RandomBlock {
    pub rows: Vec<Vec<f64>>,
    pub scenarios: Vec<u32>,
    pub columns: Vec<f64>,
}

pub fn random_block(model: &Model, seed: u64, n: usize, stride: usize) -> RandomBlock {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
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
    let mut columns = vec![f64::NAN; model.value_len() * stride];
    for (d, row) in rows.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            columns[j * stride + d] = x;
        }
    }
    RandomBlock {
        rows,
        scenarios,
        columns,
    }
}

#[test]
fn block_evaluation_equals_draw_by_draw_evaluation_bit_for_bit() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let kernel = Kernel::new(&model);
    let n = 777;
    let n_out = kernel.n_outputs();
    // Columns with a stride larger than the block, as the engine's workspace has.
    let stride = n + 5;
    let RandomBlock {
        rows,
        scenarios,
        columns,
    } = random_block(&model, 11, n, stride);
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
