//! Plain Monte Carlo: one ChaCha8 stream per block, keyed by (seed, block index).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::PointSet;

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
        units_from_word_bits(out);
    }
}

/// `unit_from_u64` of the bits of every value of `values`, in place, vectorised.
///
/// `(x >> 12) as f64` has no vector instruction below AVX-512, so the loop would stay scalar;
/// here m = x >> 12 (< 2^52) is put in the mantissa of 2^52, giving the double 2^52 + m
/// exactly, and (2^52 + m) − (2^52 − ½) = m + ½ is exact too (a 53-bit number): the same
/// m + ½ as `unit_from_u64` forms, multiplied by the same power of two, so the same bits
/// (tested against it).
fn units_from_word_bits(values: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::fastmath::has_avx512() {
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
            unsafe { units_avx512(values) };
            return;
        }
        if crate::fastmath::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { units_avx2(values) };
            return;
        }
    }
    units(values)
}

/// The loop of `units_from_word_bits`, for each instruction set.
#[inline(always)]
fn units(values: &mut [f64]) {
    const SCALE: f64 = 1.0 / (1u64 << 52) as f64;
    const TWO_TO_52: u64 = 0x4330_0000_0000_0000;
    const TWO_TO_52_LESS_HALF: f64 = 4_503_599_627_370_495.5;
    for u in values.iter_mut() {
        let m_plus_two_to_52 = f64::from_bits((u.to_bits() >> 12) | TWO_TO_52);
        *u = (m_plus_two_to_52 - TWO_TO_52_LESS_HALF) * SCALE;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn units_avx2(values: &mut [f64]) {
    units(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn units_avx512(values: &mut [f64]) {
    units(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::unit_from_u64;
    use rand::Rng;

    #[test]
    fn units_from_word_bits_match_unit_from_u64() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let mut words: Vec<u64> = (0..10_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                state
            })
            .collect();
        // The ends of the range and of every 2^12 step.
        words.extend([0, 1, 4095, 4096, u64::MAX, u64::MAX - 4095, 1 << 63, (1 << 63) - 1]);
        let bits: Vec<f64> = words.iter().map(|&w| f64::from_bits(w)).collect();
        let mut levels: Vec<(&str, fn(&mut [f64]))> = vec![("generic", units)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                levels.push(("avx2", |v| unsafe { units_avx2(v) }));
            }
            if crate::fastmath::SimdLevel::detected() == crate::fastmath::SimdLevel::Avx512 {
                // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
                levels.push(("avx512", |v| unsafe { units_avx512(v) }));
            }
        }
        for (level, convert) in levels {
            let mut values = bits.clone();
            convert(&mut values);
            for (&w, &u) in words.iter().zip(&values) {
                assert_eq!(u.to_bits(), unit_from_u64(w).to_bits(), "{level}: word {w:#x}");
            }
        }
    }

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
