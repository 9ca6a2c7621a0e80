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
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx512() {
            let seed = rng.get_seed();
            let key = std::array::from_fn(|i| {
                u32::from_le_bytes(seed[4 * i..4 * i + 4].try_into().expect("four bytes"))
            });
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
            unsafe { chacha8_units_avx512(&key, block, out) };
            return;
        }
        let words: &mut [u64] = bytemuck::cast_slice_mut(out);
        rng.fill(words);
        units_from_word_bits(out);
    }
}

/// ChaCha's "expand 32-byte k".
#[cfg(target_arch = "x86_64")]
const CHACHA_CONSTANTS: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// `out[i]` = `unit_from_u64` of word i of ChaCha8 stream `stream` under `key`, from block 0:
/// the words `ChaCha8Rng::fill` gives after `set_stream` (tested), sixteen ChaCha blocks at a
/// time, one block per 32-bit lane of each state vector.
///
/// rand_chacha runs four blocks at a time with AVX2 at most; this is its algorithm (RFC 7539's
/// state: constants, key, 64-bit block counter, 64-bit stream; 8 rounds; the input added back)
/// on sixteen lanes, with the conversion to (0, 1) of `units_from_word_bits` on the way out.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn chacha8_units_avx512(key: &[u32; 8], stream: u64, out: &mut [f64]) {
    use std::arch::x86_64::*;

    /// Words per block, and blocks per step (one per lane).
    const BLOCK_WORDS: usize = 16;
    /// 64-bit outputs of one step.
    const STEP: usize = 8 * BLOCK_WORDS;

    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    fn quarter(x: &mut [__m512i; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = _mm512_add_epi32(x[a], x[b]);
        x[d] = _mm512_rol_epi32::<16>(_mm512_xor_si512(x[d], x[a]));
        x[c] = _mm512_add_epi32(x[c], x[d]);
        x[b] = _mm512_rol_epi32::<12>(_mm512_xor_si512(x[b], x[c]));
        x[a] = _mm512_add_epi32(x[a], x[b]);
        x[d] = _mm512_rol_epi32::<8>(_mm512_xor_si512(x[d], x[a]));
        x[c] = _mm512_add_epi32(x[c], x[d]);
        x[b] = _mm512_rol_epi32::<7>(_mm512_xor_si512(x[b], x[c]));
    }

    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    // Word w of the block of lane b sits at w·16 + b of the stored state.
    let by_block = _mm512_mullo_epi32(lane, _mm512_set1_epi32(BLOCK_WORDS as i32));
    let mut input = [_mm512_setzero_si512(); 16];
    for (w, &c) in CHACHA_CONSTANTS.iter().enumerate() {
        input[w] = _mm512_set1_epi32(c as i32);
    }
    for (w, &k) in key.iter().enumerate() {
        input[4 + w] = _mm512_set1_epi32(k as i32);
    }
    input[14] = _mm512_set1_epi32(stream as u32 as i32);
    input[15] = _mm512_set1_epi32((stream >> 32) as u32 as i32);
    let two_to_52 = _mm512_set1_epi64(0x4330_0000_0000_0000);
    let two_to_52_less_half = _mm512_set1_pd(4_503_599_627_370_495.5);
    let scale = _mm512_set1_pd(1.0 / (1u64 << 52) as f64);
    let mut state = [0u32; BLOCK_WORDS * 16];
    let mut last = [0.0; STEP];
    let mut first_block = 0u64;
    for chunk in out.chunks_mut(STEP) {
        // The 64-bit counter of each lane's block, first_block + lane.
        let low = _mm512_add_epi32(_mm512_set1_epi32(first_block as u32 as i32), lane);
        let carried = _mm512_cmplt_epu32_mask(low, lane);
        let high = _mm512_mask_add_epi32(
            _mm512_set1_epi32((first_block >> 32) as u32 as i32),
            carried,
            _mm512_set1_epi32((first_block >> 32) as u32 as i32),
            _mm512_set1_epi32(1),
        );
        input[12] = low;
        input[13] = high;
        let mut x = input;
        for _ in 0..4 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        for (w, (x, i)) in x.iter().zip(&input).enumerate() {
            // SAFETY: `state` holds 16 words per state word; storeu has no alignment need.
            unsafe {
                _mm512_storeu_si512(
                    state.as_mut_ptr().add(w * 16) as *mut __m512i,
                    _mm512_add_epi32(*x, *i),
                )
            };
        }
        let whole = chunk.len() == STEP;
        let target = if whole { &mut *chunk } else { &mut last[..] };
        for (b, units) in target.chunks_exact_mut(8).enumerate() {
            // SAFETY: the offsets w·16 + b (w, b < 16) lie inside `state`.
            let words = unsafe {
                _mm512_i32gather_epi32::<4>(
                    _mm512_add_epi32(by_block, _mm512_set1_epi32(b as i32)),
                    state.as_ptr() as *const i32,
                )
            };
            // The 64-bit words are little-endian pairs of the block's 32-bit words.
            let m_plus_two_to_52 =
                _mm512_castsi512_pd(_mm512_or_si512(_mm512_srli_epi64::<12>(words), two_to_52));
            let u = _mm512_mul_pd(_mm512_sub_pd(m_plus_two_to_52, two_to_52_less_half), scale);
            // SAFETY: `units` holds eight values; storeu has no alignment requirement.
            unsafe { _mm512_storeu_pd(units.as_mut_ptr(), u) };
        }
        if !whole {
            let n = chunk.len();
            chunk.copy_from_slice(&last[..n]);
        }
        first_block = first_block.wrapping_add(16);
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
        words.extend([
            0,
            1,
            4095,
            4096,
            u64::MAX,
            u64::MAX - 4095,
            1 << 63,
            (1 << 63) - 1,
        ]);
        let bits: Vec<f64> = words.iter().map(|&w| f64::from_bits(w)).collect();
        type Convert = fn(&mut [f64]);
        let mut levels: Vec<(&str, Convert)> = vec![("generic", units)];
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
                assert_eq!(
                    u.to_bits(),
                    unit_from_u64(w).to_bits(),
                    "{level}: word {w:#x}"
                );
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn sixteen_lane_chacha_gives_the_words_of_rand_chacha() {
        if crate::fastmath::SimdLevel::detected() < crate::fastmath::SimdLevel::Avx512 {
            return;
        }
        // Lengths inside a step of 128 words and across steps; streams with a high half.
        for (len, seed, stream) in [
            (1, 1, 0),
            (127, 2, 5),
            (128, 3, 1 << 40),
            (1000, 42, 7),
            (117 * 1024, 9, 99),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream);
            let key: [u32; 8] = std::array::from_fn(|i| {
                u32::from_le_bytes(rng.get_seed()[4 * i..4 * i + 4].try_into().unwrap())
            });
            let mut got = vec![0.0; len];
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked above).
            unsafe { chacha8_units_avx512(&key, stream, &mut got) };
            for (i, &u) in got.iter().enumerate() {
                assert_eq!(
                    u.to_bits(),
                    unit_from_u64(rng.next_u64()).to_bits(),
                    "len {len}, word {i}"
                );
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
