//! Owen-scrambled Sobol points (64-bit, Joe–Kuo direction numbers), the antithetic wrapper, and
//! the helpers every sampler shares: the error type and the map from 64-bit integers to (0,1).
//!
//! Direction numbers: the first [`SOBOL_MAX_DIM`] dimensions of `new-joe-kuo-6.21201` from
//! S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better two-dimensional projections",
//! SIAM J. Sci. Comput. 30 (2008) 2635–2654, kept in `joe_kuo.txt` in the authors' text layout.

use super::PointSet;

/// The Joe–Kuo table, one line per dimension from 2 on: `d s a m_1 .. m_s`.
const JOE_KUO: &str = include_str!("joe_kuo.txt");

/// Largest dimension [`Sobol`] supports (the number of Joe–Kuo lines shipped, plus dimension 1).
pub const SOBOL_MAX_DIM: usize = 2048;

/// Why a sampler could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    /// A point set needs at least one coordinate.
    #[error("sampler dimension must be at least 1")]
    ZeroDim,
    /// More coordinates than the sampler supports.
    #[error("sampler dimension {dim} exceeds the supported maximum {max}")]
    DimTooLarge {
        /// Requested dimension.
        dim: usize,
        /// Supported maximum.
        max: usize,
    },
    /// A stratified sampler needs at least one draw to stratify.
    #[error("total number of draws must be at least 1")]
    ZeroDraws,
    /// The embedded direction-number table is malformed (a build defect, never user input).
    #[error("embedded Sobol direction numbers are malformed at dimension {0}")]
    DirectionData(usize),
}

/// Map a 64-bit integer to the open interval (0,1): u = (⌊x / 2^12⌋ + ½)·2^-52.
///
/// Every result is an odd multiple of 2^-53 in [2^-53, 1 − 2^-53], so 0 and 1 never occur, the
/// top k ≤ 52 bits of `x` select the dyadic interval [j/2^k, (j+1)/2^k) that holds `u`, and
/// 1 − u is exact (antithetic pairs stay on the same grid). The 53-bit variant
/// (⌊x / 2^11⌋ + ½)·2^-53 is not used because 2^53 − ½ rounds to 2^53, giving u = 1.
#[inline(always)]
pub fn unit_from_u64(x: u64) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 52) as f64;
    ((x >> 12) as f64 + 0.5) * SCALE
}

/// SplitMix64 finaliser: a strong 64-bit bijective mixer used to derive keys from seeds.
#[inline(always)]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A key derived from a seed and a sequence of labels (dimension, round, ...).
#[inline(always)]
pub(crate) fn derive_key(seed: u64, labels: &[u64]) -> u64 {
    let mut h = mix64(seed ^ 0x5851_F42D_4C95_7F2D);
    for &l in labels {
        h = mix64(
            h.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ mix64(l.wrapping_add(0x2545_F491_4F6C_DD1D)),
        );
    }
    h
}

/// A 64-bit Sobol sequence in Gray-code order, optionally Owen-scrambled, addressed by draw index.
///
/// Draw `i` is the Sobol point of index `i` (index 0 included), so any `2^k` consecutive draws
/// starting at a multiple of `2^k` form a (t, k, d)-net. Direction numbers have 64 bits, so
/// indices up to 2^64 − 1 are valid.
#[derive(Debug, Clone)]
pub struct Sobol {
    dim: usize,
    /// `dirs[j][k]`: direction number k of dimension j, most significant bit = 1/2 (bit-reversed,
    /// least significant bit = 1/2, when scrambled).
    dirs: Vec<[u64; 64]>,
    /// Per-dimension scrambling keys; `None` for the plain sequence.
    keys: Option<Vec<[u64; 4]>>,
}

impl Sobol {
    /// An Owen-scrambled Sobol sequence of `dim` coordinates (1 ≤ dim ≤ [`SOBOL_MAX_DIM`]) keyed by `seed`.
    pub fn new(dim: usize, seed: u64) -> Result<Sobol, SamplerError> {
        // Bit reversal commutes with XOR, so the scrambled sequence keeps its direction numbers
        // (and hence its running integers) bit-reversed, ready for the scramble.
        let mut dirs = direction_numbers(dim)?;
        for v in dirs.iter_mut().flatten() {
            *v = v.reverse_bits();
        }
        let keys = (0..dim as u64)
            .map(|j| {
                let mut k = [0u64; 4];
                for (r, kr) in k.iter_mut().enumerate() {
                    *kr = derive_key(seed, &[0x0005_0B01_u64, j, r as u64]);
                }
                k
            })
            .collect();
        Ok(Sobol {
            dim,
            dirs,
            keys: Some(keys),
        })
    }

    /// The plain (unscrambled) Sobol sequence; point 0 is mapped to 2^-53 in every coordinate.
    pub fn unscrambled(dim: usize) -> Result<Sobol, SamplerError> {
        Ok(Sobol {
            dim,
            dirs: direction_numbers(dim)?,
            keys: None,
        })
    }

    /// The point of draw `index` (random access); fills `min(out.len(), dim)` coordinates.
    pub fn point(&self, index: u64, out: &mut [f64]) {
        let gray = index ^ (index >> 1);
        for (j, o) in out.iter_mut().enumerate().take(self.dim) {
            let x = xor_directions(&self.dirs[j], gray);
            *o = match &self.keys {
                Some(keys) => unit_from_u64(owen_scramble_reversed(x, &keys[j])),
                None => unit_from_u64(x),
            };
        }
    }
}

impl PointSet for Sobol {
    fn dim(&self) -> usize {
        self.dim
    }

    /// `block` is ignored: Sobol points depend on the draw index only. Draws past `out.len() / dim`
    /// whole rows are not written.
    fn fill_block(&self, _block: u64, first: u64, out: &mut [f64]) {
        let dim = self.dim;
        let n = out.len() / dim;
        if n == 0 {
            return;
        }
        // Dimension-outer: the running Sobol integer lives in a register and no buffer is needed.
        // The branch on scrambling is hoisted out of the point loop.
        let gray = first ^ (first >> 1);
        for j in 0..dim {
            let v = &self.dirs[j];
            let x = xor_directions(v, gray);
            match &self.keys {
                Some(keys) => {
                    let k = &keys[j];
                    gray_steps(v, first, x, n, |r, x| {
                        out[r * dim + j] = unit_from_u64(owen_scramble_reversed(x, k));
                    });
                }
                None => gray_steps(v, first, x, n, |r, x| out[r * dim + j] = unit_from_u64(x)),
            }
        }
    }
}

/// Visit the Sobol integers of draws `first .. first + n` of one dimension, starting from `x`
/// (the integer of draw `first`): index i differs from i − 1 in Gray-code bit ctz(i).
#[inline(always)]
fn gray_steps(v: &[u64; 64], first: u64, mut x: u64, n: usize, mut f: impl FnMut(usize, u64)) {
    f(0, x);
    for r in 1..n {
        let i = first.wrapping_add(r as u64);
        x ^= v[(i.trailing_zeros() & 63) as usize];
        f(r, x);
    }
}

/// XOR of the direction numbers selected by the set bits of `gray`.
#[inline]
fn xor_directions(v: &[u64; 64], mut gray: u64) -> u64 {
    let mut x = 0u64;
    while gray != 0 {
        x ^= v[gray.trailing_zeros() as usize];
        gray &= gray - 1;
    }
    x
}

/// Nested uniform (Owen) scrambling of a 64-bit coordinate, after Laine & Karras (2011) and
/// Burley, "Practical hash-based Owen scrambling", JCGT 9(4), 2020.
///
/// Owen scrambling flips bit k of the coordinate (counting from the most significant) by a random
/// bit that depends on the seed, the dimension and bits 0..k−1 only. After reversing the bits the
/// condition reads: output bit k = input bit k XOR f_k(input bits below k). Every step below has
/// that triangular form — adding a key, multiplying by an odd key, and `x ^= x * even` (whose
/// bit k depends only on bits below k) — so the composition is an Owen scramble for every key:
/// net balance is preserved exactly, and the keyed multiplications and additions make the flip
/// functions f_k behave like independent fair coins. Burley's 32-bit hash is widened to 64 bits
/// (each coordinate keeps 52 significant bits) with four per-dimension keys and extra rounds.
///
/// Takes the bit-reversed Sobol integer and returns the scrambled integer in natural bit order.
#[inline(always)]
fn owen_scramble_reversed(x: u64, k: &[u64; 4]) -> u64 {
    let mut x = x.wrapping_add(k[0]);
    x ^= x.wrapping_mul(0x6C8E_9CF5_7093_2BD4);
    x = x.wrapping_mul(k[1] | 1);
    x ^= x.wrapping_mul(0xB5AD_4ECE_DA1C_E2A8);
    x = x.wrapping_add(k[2]);
    x ^= x.wrapping_mul(0x9E37_79B9_7F4A_7C16);
    x = x.wrapping_mul(k[3] | 1);
    x ^= x.wrapping_mul(0xD6E8_FEB8_6659_FD92);
    x.reverse_bits()
}

/// Direction numbers of dimensions 1..=dim, most significant bit first (v_k = m_k · 2^(64−k)).
fn direction_numbers(dim: usize) -> Result<Vec<[u64; 64]>, SamplerError> {
    if dim == 0 {
        return Err(SamplerError::ZeroDim);
    }
    if dim > SOBOL_MAX_DIM {
        return Err(SamplerError::DimTooLarge {
            dim,
            max: SOBOL_MAX_DIM,
        });
    }
    let mut dirs = Vec::with_capacity(dim);
    // Dimension 1: van der Corput, v_k = 2^(63 − k).
    let mut v = [0u64; 64];
    for (k, vk) in v.iter_mut().enumerate() {
        *vk = 1u64 << (63 - k);
    }
    dirs.push(v);
    let lines = JOE_KUO
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    for (line, d) in lines.zip(2..=dim) {
        dirs.push(dimension_from_line(line).ok_or(SamplerError::DirectionData(d))?);
    }
    if dirs.len() != dim {
        return Err(SamplerError::DirectionData(dirs.len() + 1));
    }
    Ok(dirs)
}

/// Parse one Joe–Kuo line `d s a m_1 .. m_s` and run the Sobol recurrence to 64 direction numbers.
fn dimension_from_line(line: &str) -> Option<[u64; 64]> {
    let mut it = line.split_ascii_whitespace().map(|t| t.parse::<u64>().ok());
    let _d = it.next()??;
    let s = it.next()?? as usize;
    let a = it.next()??;
    if s == 0 || s > 63 {
        return None;
    }
    let mut v = [0u64; 64];
    for (k, vk) in v.iter_mut().enumerate().take(s) {
        let m = it.next()??;
        // m_k (1-based k) is odd and below 2^k.
        if m % 2 == 0 || m >> (k + 1) != 0 {
            return None;
        }
        *vk = m << (63 - k);
    }
    // Bratley–Fox recurrence (Joe & Kuo's notes, eq. for v_i with i > s), 0-based.
    for k in s..64 {
        let mut x = v[k - s] ^ (v[k - s] >> s);
        for i in 1..s {
            if (a >> (s - 1 - i)) & 1 == 1 {
                x ^= v[k - i];
            }
        }
        v[k] = x;
    }
    Some(v)
}

/// Antithetic pairs over a base point set: draw 2k is base point k, draw 2k + 1 is 1 − (base point k).
///
/// The base sees `fill_block(block, k0, ..)` with base indices k = draw / 2, in the caller's
/// `block`. Blocks should hold an even number of draws (the engine's 1024) so that both members of
/// a pair fall in one block; a run with an odd total simply ends on draw 2k, the base point k.
#[derive(Debug, Clone)]
pub struct Antithetic<P: PointSet> {
    base: P,
}

impl<P: PointSet> Antithetic<P> {
    /// Wrap `base` so that consecutive draws form mirrored pairs.
    pub fn new(base: P) -> Self {
        Antithetic { base }
    }

    /// The wrapped base point set.
    pub fn base(&self) -> &P {
        &self.base
    }
}

impl<P: PointSet> PointSet for Antithetic<P> {
    fn dim(&self) -> usize {
        self.base.dim()
    }

    fn fill_block(&self, block: u64, first: u64, out: &mut [f64]) {
        let dim = self.base.dim();
        if dim == 0 {
            return;
        }
        let n = out.len() / dim;
        if n == 0 {
            return;
        }
        // Indices past 2^64 − 1 wrap; the arithmetic below wraps and clamps rather than panics.
        let last = first.wrapping_add(n as u64 - 1);
        let k0 = first / 2;
        // Base points needed; m ≤ n.
        let m = ((last / 2).wrapping_sub(k0) as usize)
            .saturating_add(1)
            .min(n);
        // Base points go to the tail rows n − m .. n, then rows are expanded front to back in
        // place: row r reads tail row n − m + (first + r)/2 − k0 ≥ r, never a rewritten row.
        self.base
            .fill_block(block, k0, &mut out[(n - m) * dim..n * dim]);
        for r in 0..n {
            let draw = first.wrapping_add(r as u64);
            let src = (n - m)
                .saturating_add((draw / 2).wrapping_sub(k0) as usize)
                .min(n - 1);
            if src != r {
                out.copy_within(src * dim..(src + 1) * dim, r * dim);
            }
            if draw % 2 == 1 {
                for u in &mut out[r * dim..(r + 1) * dim] {
                    *u = 1.0 - *u;
                }
            }
        }
    }
}
