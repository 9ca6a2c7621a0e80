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

/// Named competitors with the same ln T and η as an earlier one (decided from the model's
/// slots) have their V and monthly path copied rather than recomputed: every output of the
/// default model, annual and monthly, keeps its bits, in a block and alone.
#[test]
fn copying_identical_competitors_changes_no_bit() {
    let mut model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    for monthly in [false, true] {
        model.monthly = monthly;
        let shared = Kernel::new(&model);
        let (regimes, paths, partial) = shared.shared_sources();
        // The default model: e.g. semiconductors' Taiwan, Vietnam, Japan and the EU face the
        // same rates in every regime; two of autos' rivals in the interim and 4 of 5
        // scenarios (the scenarios are picked uniformly here, so most draws of the block copy).
        assert!(
            regimes > 0 && paths > 0 && partial > 0,
            "{regimes} {paths} {partial}"
        );
        let unshared = Kernel::new(&model).without_shared_sources();
        assert_eq!(unshared.shared_sources(), (0, 0, 0));
        let n = 1000;
        let n_out = shared.n_outputs();
        let stride = n + 3;
        let RandomBlock {
            rows,
            scenarios,
            columns,
        } = random_block(&model, 23, n, stride);
        let values = ValueColumns {
            data: &columns,
            stride,
        };
        let mut a = vec![f64::NAN; n_out * stride];
        let mut b = vec![f64::NAN; n_out * stride];
        shared.evaluate_block(&values, &scenarios, &mut a, &mut KernelScratch::default());
        unshared.evaluate_block(&values, &scenarios, &mut b, &mut KernelScratch::default());
        for o in 0..n_out {
            for d in 0..n {
                assert_eq!(
                    a[o * stride + d].to_bits(),
                    b[o * stride + d].to_bits(),
                    "monthly {monthly}, output {o}, draw {d}"
                );
            }
        }
        let (mut alone_a, mut alone_b) = (vec![0.0; n_out], vec![0.0; n_out]);
        let mut scratch = KernelScratch::default();
        for d in (0..n).step_by(7) {
            let k = scenarios[d] as usize;
            shared.evaluate_with(&rows[d], k, &mut alone_a, &mut scratch);
            unshared.evaluate_with(&rows[d], k, &mut alone_b, &mut scratch);
            for o in 0..n_out {
                assert_eq!(alone_a[o].to_bits(), a[o * stride + d].to_bits());
                assert_eq!(alone_b[o].to_bits(), a[o * stride + d].to_bits());
            }
        }
    }
}
