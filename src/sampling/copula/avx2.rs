//! `Copula::apply_block` for one cluster over a tile of rows with AVX2, four rows per step.
//!
//! A step loads one coordinate of four rows, evaluates the pieces of Φ⁻¹ (or Φ) that need no
//! logarithm or exponential on the four lanes, stores them, and marks the lanes those pieces do
//! not cover; a scalar pass then finishes the marked rows (the tails). The vector loops call
//! nothing, so their constants stay in registers. Each lane has the bits of `Copula::apply`
//! (see `dist::normal_avx2`).

use std::arch::x86_64::*;

use super::{clamp_column, Cluster, CopulaScratch, U_MAX, U_MIN};
use crate::dist::normal_avx2::{cdf_central, from_array, quantile_central, ALL_LANES};
use crate::dist::{standard_normal_cdf, standard_normal_quantile};

/// Rows per step.
const LANES: usize = 4;

/// Rows per word of a row bitmask.
pub(super) const WORD: usize = 64;

impl Cluster {
    /// Correlates the cluster's coordinates of the `rows` rows (of `dim`) of `tile`.
    #[target_feature(enable = "avx2")]
    pub(super) fn apply_tile_avx2(
        &self,
        tile: &mut [f64],
        rows: usize,
        dim: usize,
        scratch: &mut CopulaScratch,
    ) {
        let width = self.coordinates.len();
        // The strided loads and stores index row · dim + coordinate without bounds checks.
        assert!(rows * dim <= tile.len() && self.coordinates.iter().all(|&c| c < dim));
        let normals = &mut scratch.normals[..width * rows];
        let correlated = &mut scratch.correlated[..rows];
        let marked = &mut scratch.marked[..rows.div_ceil(WORD)];
        for (&coordinate, z) in self.coordinates.iter().zip(normals.chunks_exact_mut(rows)) {
            // SAFETY: `rows · dim ≤ tile.len()` and `coordinate < dim` (asserted above).
            unsafe { quantile_steps(tile.as_ptr().add(coordinate), dim, z, marked) };
            finish_quantiles(&tile[coordinate..], dim, z, marked);
        }
        for (i, &coordinate) in self.coordinates.iter().enumerate() {
            if self.passes_through[i] {
                clamp_column(&mut tile[..rows * dim], dim, coordinate);
                continue;
            }
            self.correlate(i, normals, correlated);
            let column = &mut tile[coordinate..];
            // SAFETY: as above.
            unsafe { cdf_steps(correlated, column.as_mut_ptr(), dim, marked) };
            finish_cdfs(correlated, column, dim, marked);
        }
    }
}

/// Bits `from..to` of a word (0 ≤ from ≤ to ≤ 64).
pub(super) fn bit_range(from: usize, to: usize) -> u64 {
    let below = |n: usize| if n >= WORD { !0 } else { (1u64 << n) - 1 };
    below(to) & !below(from)
}

/// `z[d] = standard_normal_quantile(column[d · dim])` for the rows of whole steps, except those
/// outside the central piece, which it marks in `marked` with the rows of no whole step.
///
/// # Safety
/// `column[d · dim]` must be readable for every d < `z.len()`.
#[target_feature(enable = "avx2")]
unsafe fn quantile_steps(column: *const f64, dim: usize, z: &mut [f64], marked: &mut [u64]) {
    for (w, (marked, z)) in marked.iter_mut().zip(z.chunks_mut(WORD)).enumerate() {
        let whole = z.len() / LANES * LANES;
        let mut bits = bit_range(whole, z.len());
        // SAFETY: row w · 64 < z.len() (the caller's guarantee).
        let mut u = unsafe { column.add(w * WORD * dim) };
        for (step, z4) in z[..whole].chunks_exact_mut(LANES).enumerate() {
            // SAFETY: the four rows are < z.len() (the caller's guarantee).
            let (z, central) = quantile_central(unsafe { load_strided(u, dim) });
            // SAFETY: `z4` holds four values; storeu has no alignment requirement.
            unsafe { _mm256_storeu_pd(z4.as_mut_ptr(), z) };
            bits |= u64::from(!central & ALL_LANES) << (step * LANES);
            // SAFETY: at most one past the last row read (wrapping_add: not dereferenced).
            u = u.wrapping_add(LANES * dim);
        }
        *marked = bits;
    }
}

/// `column[d · dim] = Φ(correlated[d])` (as `Copula::apply`) for the rows of whole steps where
/// the central and near pieces apply; marks the others in `marked`, with the rows of no whole
/// step.
///
/// # Safety
/// `column[d · dim]` must be writable for every d < `correlated.len()`.
#[target_feature(enable = "avx2")]
unsafe fn cdf_steps(correlated: &[f64], column: *mut f64, dim: usize, marked: &mut [u64]) {
    for (w, (marked, z)) in marked.iter_mut().zip(correlated.chunks(WORD)).enumerate() {
        let whole = z.len() / LANES * LANES;
        let mut bits = bit_range(whole, z.len());
        // SAFETY: row w · 64 < correlated.len() (the caller's guarantee).
        let mut p = unsafe { column.add(w * WORD * dim) };
        for (step, z4) in z[..whole].chunks_exact(LANES).enumerate() {
            let (cdf, done) = cdf_central(from_array(z4.try_into().expect("chunks of four")));
            // The central and near pieces give p in (0.038, 0.962), where the clamp of `apply`
            // changes nothing; the marked rows get it in `finish_cdfs`.
            // SAFETY: the four rows are < correlated.len() (the caller's guarantee).
            unsafe { store_strided(cdf, p, dim) };
            bits |= u64::from(!done & ALL_LANES) << (step * LANES);
            // SAFETY: at most one past the last row written (wrapping_add: not dereferenced).
            p = p.wrapping_add(LANES * dim);
        }
        *marked = bits;
    }
}

/// Calls `f(row)` for the rows set in `marked`, in increasing order.
#[inline(always)]
fn for_each_marked(marked: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in marked.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            f(w * WORD + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

/// `z[d] = standard_normal_quantile(column[d · dim])` for the marked rows. Out of line, so
/// that its calls do not make the vector loop reload its constants.
#[inline(never)]
pub(super) fn finish_quantiles(column: &[f64], dim: usize, z: &mut [f64], marked: &[u64]) {
    for_each_marked(marked, |d| z[d] = standard_normal_quantile(column[d * dim]));
}

/// `column[d · dim] = Φ(correlated[d])`, clamped as in `Copula::apply`, for the marked rows.
#[inline(never)]
pub(super) fn finish_cdfs(correlated: &[f64], column: &mut [f64], dim: usize, marked: &[u64]) {
    for_each_marked(marked, |d| {
        column[d * dim] = standard_normal_cdf(correlated[d]).clamp(U_MIN, U_MAX);
    });
}

/// `p[0]`, `p[stride]`, `p[2·stride]`, `p[3·stride]` as one vector.
///
/// # Safety
/// The four addresses must be valid for reads.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load_strided(p: *const f64, stride: usize) -> __m256d {
    // SAFETY: the caller's guarantee.
    unsafe { _mm256_set_pd(*p.add(3 * stride), *p.add(2 * stride), *p.add(stride), *p) }
}

/// Stores the four lanes of `v` to `p[0]`, `p[stride]`, `p[2·stride]`, `p[3·stride]`.
///
/// # Safety
/// The four addresses must be valid for writes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store_strided(v: __m256d, p: *mut f64, stride: usize) {
    let low = _mm256_castpd256_pd128(v);
    let high = _mm256_extractf128_pd::<1>(v);
    // SAFETY: the caller's guarantee.
    unsafe {
        _mm_storel_pd(p, low);
        _mm_storeh_pd(p.add(stride), low);
        _mm_storel_pd(p.add(2 * stride), high);
        _mm_storeh_pd(p.add(3 * stride), high);
    }
}
