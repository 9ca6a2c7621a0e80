//! Plain Monte Carlo: one ChaCha8 stream per block, keyed by (seed, block index).

use rand::{Rng, SeedableRng};
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
        for u in out.iter_mut() {
            *u = unit_from_u64(rng.next_u64());
        }
    }
}
