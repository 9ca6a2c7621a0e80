//! `Copula::apply_block` (the engine's path) gives the bits of `Copula::apply` row by row on the
//! default model's correlation structure.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::sampling::copula::CopulaScratch;
use tariffsim::sampling::unit_from_u64;

#[test]
fn default_model_block_matches_rows() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let dim = model.dimension;
    assert!(!model.copula.is_identity());
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut scratch = CopulaScratch::default();
    for n in [1024, 544, 5] {
        let points: Vec<f64> = (0..n * dim)
            .map(|_| unit_from_u64(rng.next_u64()))
            .collect();
        let mut rows = points.clone();
        let mut row_scratch = Vec::new();
        for row in rows.chunks_exact_mut(dim) {
            model.copula.apply(row, &mut row_scratch);
        }
        let mut block = points.clone();
        model.copula.apply_block(&mut block, n, dim, &mut scratch);
        for (i, (b, r)) in block.iter().zip(&rows).enumerate() {
            assert_eq!(b.to_bits(), r.to_bits(), "n = {n}, value {i}: {b} vs {r}");
        }
    }
}
