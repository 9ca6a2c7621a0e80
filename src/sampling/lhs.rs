//! Latin hypercube sampling stratified over the whole run, evaluable per draw index.
//!
//! Coordinate j of draw i lies in stratum π_j(i) of N equal strata, where π_j is a keyed
//! pseudo-random permutation of 0..N, and is jittered uniformly inside it. Neither the
//! permutation nor the jitter is stored: both are hashes of (seed, j, i), so any draw can be
//! made on any thread in any block split and the run is exactly one point per stratum.

use super::sobol::{derive_key, mix64, unit_from_u64, SamplerError};
use super::PointSet;

/// A Latin hypercube of `total_draws` points in `dim` coordinates.
///
/// Draws past the run (i ≥ N) start fresh hypercubes: draw i belongs to replicate ⌊i / N⌋,
/// which has its own permutations, so every aligned run of N draws is itself a Latin hypercube.
#[derive(Debug, Clone)]
pub struct LatinHypercube {
    dim: usize,
    n: u64,
    bits: u32,
    seed: u64,
}

/// Per-(coordinate, replicate) keys of the permutation and of the jitter.
#[derive(Debug, Clone, Copy)]
struct Keys {
    perm: [u64; 4],
    jitter: u64,
}

impl LatinHypercube {
    /// A hypercube of `total_draws` ≥ 1 points in `dim` ≥ 1 coordinates, keyed by `seed`.
    pub fn new(dim: usize, total_draws: u64, seed: u64) -> Result<LatinHypercube, SamplerError> {
        if dim == 0 {
            return Err(SamplerError::ZeroDim);
        }
        if total_draws == 0 {
            return Err(SamplerError::ZeroDraws);
        }
        // Smallest power of two ≥ N: the permutation domain before cycle walking.
        let bits = 64 - (total_draws - 1).leading_zeros();
        Ok(LatinHypercube {
            dim,
            n: total_draws,
            bits,
            seed,
        })
    }

    /// Number of strata per coordinate (the run's draw count N).
    pub fn strata(&self) -> u64 {
        self.n
    }

    fn keys(&self, j: usize, replicate: u64) -> Keys {
        let k = |r: u64| derive_key(self.seed, &[0x0001_A71A_u64, j as u64, replicate, r]);
        Keys {
            perm: [k(0), k(1), k(2), k(3)],
            jitter: k(4),
        }
    }

    /// π(p): a keyed bijection of 0..2^bits restricted to 0..N by cycle walking.
    #[inline]
    fn permute(&self, p: u64, k: &[u64; 4]) -> u64 {
        let mut x = p;
        loop {
            x = permute_bits(x, self.bits, k);
            if x < self.n {
                return x;
            }
        }
    }

    /// Map stratum `s` and a 64-bit jitter hash to a coordinate strictly inside the stratum.
    #[inline]
    fn coordinate(&self, s: u64, h: u64) -> f64 {
        let n = self.n as f64;
        let lo = s as f64 / n;
        let hi = (s + 1) as f64 / n;
        let u = (s as f64 + unit_from_u64(h)) / n;
        // Rounding can land on a stratum edge when N is large; stay strictly inside (and in (0,1)).
        if u <= lo {
            lo.next_up()
        } else if u >= hi {
            hi.next_down()
        } else {
            u
        }
    }
}

/// A keyed bijection of the integers below 2^bits (Kensler-style hash permutation, 2013).
///
/// Each step is invertible modulo 2^bits: XOR with a key, multiplication by an odd number, and
/// `x ^= x >> s` with s ≥ 1. Multiplications carry low bits up, the shifts carry high bits down.
#[inline(always)]
fn permute_bits(x: u64, bits: u32, k: &[u64; 4]) -> u64 {
    if bits == 0 {
        return 0;
    }
    let mask = u64::MAX >> (64 - bits);
    let s1 = (bits / 2).max(1);
    let s2 = (bits / 3).max(1);
    let s3 = (bits / 4 + 1).max(1);
    let mut x = (x ^ k[0]) & mask;
    x = x.wrapping_mul(k[1] | 1) & mask;
    x ^= x >> s1;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask;
    x ^= k[2] & mask;
    x ^= x >> s2;
    x = x.wrapping_mul(k[3] | 1) & mask;
    x ^= x >> s1;
    x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93) & mask;
    x ^= x >> s3;
    x
}

impl PointSet for LatinHypercube {
    fn dim(&self) -> usize {
        self.dim
    }

    /// `block` is ignored: points depend on the draw index only.
    fn fill_block(&self, _block: u64, first: u64, out: &mut [f64]) {
        let dim = self.dim;
        let n = out.len() / dim;
        if n == 0 {
            return;
        }
        for j in 0..dim {
            let mut replicate = first / self.n;
            let mut p = first % self.n;
            let mut keys = self.keys(j, replicate);
            for r in 0..n {
                let i = first.wrapping_add(r as u64);
                let s = self.permute(p, &keys.perm);
                // SplitMix64 output of counter i in the stream keyed by (seed, j, replicate).
                let h = mix64(
                    keys.jitter
                        .wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                );
                out[r * dim + j] = self.coordinate(s, h);
                p += 1;
                if p == self.n {
                    p = 0;
                    replicate = replicate.wrapping_add(1);
                    keys = self.keys(j, replicate);
                }
            }
        }
    }
}
