//! Plain Monte Carlo: one ChaCha8 stream per block, keyed by (seed, block index).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{unit_from_u64, PointSet};

/// Independent uniform points; block b's points come from ChaCha8 stream b of the seed, so a
/// block's numbers do not depend on which thread or shard computes it.
#[derive(Debug, Clone)]
pub struct MonteCarlo {
    dim: usize,
    seed: u64,
}

impl MonteCarlo {
    /// A Monte Carlo point set of dimension `dim`.
    pub fn new(dim: usize, seed: u64) -> Self {
        MonteCarlo { dim, seed }
    }
}

impl PointSet for MonteCarlo {
    fn dim(&self) -> usize {
        self.dim
    }

    fn fill_block(&self, block: u64, _first: u64, out: &mut [f64]) {
        // ChaCha8 is named (not StdRng) so that results cannot change with a rand upgrade.
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(block);
        // The stream's 64-bit words in bulk, written into `out` as raw bits and mapped to (0, 1)
        // in place: the same words as `next_u64` one at a time (little-endian pairs of the
        // block's 32-bit outputs; tested), without its per-call bookkeeping.
        let words: &mut [u64] = bytemuck::cast_slice_mut(out);
        rng.fill(words);
        for u in out.iter_mut() {
            *u = unit_from_u64(u.to_bits());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn bulk_fill_gives_the_words_of_next_u64() {
        // Odd lengths and lengths across ChaCha's 64-word output blocks.
        for len in [1, 7, 31, 32, 33, 75, 1000] {
            let set = MonteCarlo::new(len, 42);
            let mut bulk = vec![0.0; len * 3];
            set.fill_block(5, 0, &mut bulk);
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            rng.set_stream(5);
            for (i, &u) in bulk.iter().enumerate() {
                assert_eq!(u, unit_from_u64(rng.next_u64()), "len {len}, word {i}");
            }
        }
    }
}
