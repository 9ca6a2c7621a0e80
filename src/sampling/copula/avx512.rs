//! `Copula::apply_block` for one cluster over a tile of rows with AVX-512, eight rows per step:
//! `avx2.rs` with twice the lanes, the strided loads and stores as gathers and scatters. Each
//! lane has the bits of `Copula::apply` (see `dist::normal_avx512`); the marked rows are
//! finished by the same scalar passes as with AVX2.

use std::arch::x86_64::*;

use super::avx2::{bit_range, finish_cdfs, finish_quantiles, WORD};
use super::{clamp_column, Cluster, CopulaScratch};
use crate::dist::normal_avx512::{cdf_central, from_array, quantile_central, ALL_LANES};

/// Rows per step.
const LANES: usize = 8;

impl Cluster {
    /// Correlates the cluster's coordinates of the `rows` rows (of `dim`) of `tile`.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    pub(super) fn apply_tile_avx512(
        &self,
        tile: &mut [f64],
        rows: usize,
        dim: usize,
        scratch: &mut CopulaScratch,
    ) {
        let width = self.coordinates.len();
        // The strided loads and stores index row · dim + coordinate without bounds checks; the
        // lane offsets k · dim (k < 8) are i32.
        assert!(rows * dim <= tile.len() && self.coordinates.iter().all(|&c| c < dim));
        assert!(LANES * dim < i32::MAX as usize);
        let normals = &mut scratch.normals[..width * rows];
        let correlated = &mut scratch.correlated[..rows];
        let marked = &mut scratch.marked[..rows.div_ceil(WORD)];
        let lanes = _mm256_mullo_epi32(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(dim as i32),
        );
        for (&coordinate, z) in self.coordinates.iter().zip(normals.chunks_exact_mut(rows)) {
            // SAFETY: `rows · dim ≤ tile.len()` and `coordinate < dim` (asserted above).
            unsafe { quantile_steps(tile.as_ptr().add(coordinate), lanes, dim, z, marked) };
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
            unsafe { cdf_steps(correlated, column.as_mut_ptr(), lanes, dim, marked) };
            finish_cdfs(correlated, column, dim, marked);
        }
    }
}

/// `z[d] = standard_normal_quantile(column[d · dim])` for the rows of whole steps, except those
/// outside the central piece, which it marks in `marked` with the rows of no whole step.
/// `lanes` holds k · dim for k < 8.
///
/// # Safety
/// `column[d · dim]` must be readable for every d < `z.len()`.
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn quantile_steps(
    column: *const f64,
    lanes: __m256i,
    dim: usize,
    z: &mut [f64],
    marked: &mut [u64],
) {
    for (w, (marked, z)) in marked.iter_mut().zip(z.chunks_mut(WORD)).enumerate() {
        let whole = z.len() / LANES * LANES;
        let mut bits = bit_range(whole, z.len());
        // SAFETY: row w · 64 < z.len() (the caller's guarantee).
        let mut u = unsafe { column.add(w * WORD * dim) };
        for (step, z8) in z[..whole].chunks_exact_mut(LANES).enumerate() {
            // SAFETY: the eight rows are < z.len() (the caller's guarantee).
            let (z, central) = quantile_central(unsafe { _mm512_i32gather_pd::<8>(lanes, u) });
            // SAFETY: `z8` holds eight values; storeu has no alignment requirement.
            unsafe { _mm512_storeu_pd(z8.as_mut_ptr(), z) };
            bits |= u64::from(!central & ALL_LANES) << (step * LANES);
            // SAFETY: at most one past the last row read (wrapping_add: not dereferenced).
            u = u.wrapping_add(LANES * dim);
        }
        *marked = bits;
    }
}

/// `column[d · dim] = Φ(correlated[d])` (as `Copula::apply`) for the rows of whole steps where
/// the central and near pieces apply; marks the others in `marked`, with the rows of no whole
/// step. `lanes` holds k · dim for k < 8.
///
/// # Safety
/// `column[d · dim]` must be writable for every d < `correlated.len()`.
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn cdf_steps(
    correlated: &[f64],
    column: *mut f64,
    lanes: __m256i,
    dim: usize,
    marked: &mut [u64],
) {
    for (w, (marked, z)) in marked.iter_mut().zip(correlated.chunks(WORD)).enumerate() {
        let whole = z.len() / LANES * LANES;
        let mut bits = bit_range(whole, z.len());
        // SAFETY: row w · 64 < correlated.len() (the caller's guarantee).
        let mut p = unsafe { column.add(w * WORD * dim) };
        for (step, z8) in z[..whole].chunks_exact(LANES).enumerate() {
            let (cdf, done) = cdf_central(from_array(z8.try_into().expect("chunks of eight")));
            // The central and near pieces give p in (0.038, 0.962), where the clamp of `apply`
            // changes nothing; the marked rows get it in `finish_cdfs` (which overwrites what
            // the scatter left there).
            // SAFETY: the eight rows are < correlated.len() (the caller's guarantee).
            unsafe { _mm512_i32scatter_pd::<8>(p, lanes, cdf) };
            bits |= u64::from(!done & ALL_LANES) << (step * LANES);
            // SAFETY: at most one past the last row written (wrapping_add: not dereferenced).
            p = p.wrapping_add(LANES * dim);
        }
        *marked = bits;
    }
}
