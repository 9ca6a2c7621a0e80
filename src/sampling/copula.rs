//! Gaussian copula for `[[correlations]]` (MODEL.md §7): z = Φ⁻¹(u), z' = L·z, u' = Φ(z').

use crate::dist::{
    standard_normal_cdf, standard_normal_cdf_central_or_nan, standard_normal_quantile,
    standard_normal_quantile_column,
};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Why a correlation structure was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CopulaError {
    /// The implied correlation matrix is not positive definite.
    #[error("the correlation matrix is not positive definite (entries {entries:?})")]
    NotPositiveDefinite {
        /// Indices (into the given pairs) of the entries in the failing cluster.
        entries: Vec<usize>,
    },
}

/// One cluster of mutually correlated coordinates with its Cholesky factor.
#[derive(Debug, Clone, PartialEq)]
struct Cluster {
    coordinates: Vec<usize>,
    /// Lower-triangular Cholesky factor, row-major, n × n.
    lower: Vec<f64>,
    /// Rows of `lower` that are rows of the identity: the coordinate correlates with none
    /// before it in the cluster (the first always). There z' = z, so u' = Φ(Φ⁻¹(u)) = u, which
    /// is handed on as it is (clamped like every u') instead of through two special functions
    /// whose rounding would move it by an ulp or so.
    passes_through: Vec<bool>,
}

impl Cluster {
    fn new(coordinates: Vec<usize>, lower: Vec<f64>) -> Cluster {
        let n = coordinates.len();
        let passes_through = (0..n)
            .map(|i| lower[i * n + i] == 1.0 && lower[i * n..i * n + i].iter().all(|&l| l == 0.0))
            .collect();
        Cluster {
            coordinates,
            lower,
            passes_through,
        }
    }
}

/// A Gaussian copula over the coordinates of a draw; the identity when there are no correlations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Copula {
    clusters: Vec<Cluster>,
}

/// Largest u' handed on: Φ(z') rounds to 1 for z' > 8.3, where unbounded quantiles are infinite.
const U_MAX: f64 = 1.0 - f64::EPSILON / 2.0;
const U_MIN: f64 = f64::MIN_POSITIVE;

/// Rows of a block `apply_block` works on at a time. Every coordinate of a cluster is gathered
/// from its own cache line of each row, so a pass over 1024 rows of a wide model (≈ 600 KB)
/// would fetch the block from L3 once per coordinate; 256 rows (≈ 150 KB for the default
/// model) stay in L2 from the first cluster to the last. The results do not depend on it.
const TILE_ROWS: usize = 256;

/// Column buffers of `Copula::apply_block`, kept by each worker and reused for every block (they
/// grow on the first block only).
#[derive(Debug, Clone, Default)]
pub struct CopulaScratch {
    /// One coordinate's uniforms, gathered from the rows of a tile.
    uniforms: Vec<f64>,
    /// Which of `uniforms` are outside Φ⁻¹'s central piece (scratch of the column pass).
    outside: Vec<u8>,
    /// Φ⁻¹ of each coordinate of the cluster: column j at `[j·rows, (j+1)·rows)`.
    normals: Vec<f64>,
    /// One row of L·z, for every row of the tile.
    correlated: Vec<f64>,
    /// Φ of `correlated`.
    probabilities: Vec<f64>,
    /// One bit per row of a tile (AVX2 path): the rows a vector pass left to the scalar
    /// functions.
    marked: Vec<u64>,
}

impl CopulaScratch {
    /// Room for a cluster of `width` coordinates over `rows` rows.
    fn reserve(&mut self, width: usize, rows: usize) {
        fn at_least<T: Clone + Default>(buffer: &mut Vec<T>, len: usize) {
            if buffer.len() < len {
                buffer.resize(len, T::default());
            }
        }
        at_least(&mut self.uniforms, rows);
        at_least(&mut self.outside, rows);
        at_least(&mut self.normals, width * rows);
        at_least(&mut self.correlated, rows);
        at_least(&mut self.probabilities, rows);
        at_least(&mut self.marked, rows.div_ceil(64));
    }
}

impl Copula {
    /// Builds the copula from `(coordinate, coordinate, rho)` pairs. Coordinates joined by
    /// correlations form clusters, each factorised on its own so that an error names only the
    /// entries of the cluster at fault.
    pub fn new(dimension: usize, pairs: &[(usize, usize, f64)]) -> Result<Copula, CopulaError> {
        let mut parent: Vec<usize> = (0..dimension).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for &(a, b, _) in pairs {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut clusters = Vec::new();
        let mut roots: Vec<usize> = pairs
            .iter()
            .map(|&(a, _, _)| root(&mut parent, a))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        for r in roots {
            let coordinates: Vec<usize> = (0..dimension)
                .filter(|&c| root(&mut parent, c) == r)
                .collect();
            let entries: Vec<usize> = (0..pairs.len())
                .filter(|&e| root(&mut parent, pairs[e].0) == r)
                .collect();
            let n = coordinates.len();
            let mut matrix = vec![0.0; n * n];
            for i in 0..n {
                matrix[i * n + i] = 1.0;
            }
            for &e in &entries {
                let (a, b, rho) = pairs[e];
                let i = coordinates.iter().position(|&c| c == a).unwrap_or(0);
                let j = coordinates.iter().position(|&c| c == b).unwrap_or(0);
                matrix[i * n + j] = rho;
                matrix[j * n + i] = rho;
            }
            let lower = cholesky(&matrix, n).ok_or(CopulaError::NotPositiveDefinite { entries })?;
            clusters.push(Cluster::new(coordinates, lower));
        }
        Ok(Copula { clusters })
    }

    /// Whether the copula changes nothing (no correlations).
    pub fn is_identity(&self) -> bool {
        self.clusters.is_empty()
    }

    /// The coordinates of each cluster of mutually correlated coordinates (connected by
    /// correlations), in the order they are factorised.
    pub fn clusters(&self) -> Vec<Vec<usize>> {
        self.clusters
            .iter()
            .map(|c| c.coordinates.clone())
            .collect()
    }

    /// Correlates one draw's uniform point in place. `scratch` needs the size of the largest cluster.
    #[inline]
    pub fn apply(&self, point: &mut [f64], scratch: &mut Vec<f64>) {
        for cluster in &self.clusters {
            let n = cluster.coordinates.len();
            scratch.clear();
            scratch.extend(
                cluster
                    .coordinates
                    .iter()
                    .map(|&c| standard_normal_quantile(point[c])),
            );
            // Row i of L·z uses z[0..=i]: go from the last row up so each z[i] is read before it is replaced.
            for i in (0..n).rev() {
                if cluster.passes_through[i] {
                    let c = cluster.coordinates[i];
                    point[c] = point[c].clamp(U_MIN, U_MAX);
                    continue;
                }
                let row = &cluster.lower[i * n..i * n + i + 1];
                let z: f64 = row.iter().zip(&scratch[..=i]).map(|(l, z)| l * z).sum();
                point[cluster.coordinates[i]] = standard_normal_cdf(z).clamp(U_MIN, U_MAX);
            }
        }
    }
}

impl Copula {
    /// Correlates the `n` points of a block in place (row-major, `n × dim`), with the same bits
    /// as `apply` on each row, for a fraction of the cost: it works a column at a time, so that
    /// Φ⁻¹ and Φ evaluate their central pieces branch-free on many values at once and call the
    /// scalar functions only for the tails. With AVX2 (detected at run time) four rows at a
    /// time (`avx2.rs`); otherwise per cluster: gather each coordinate, Φ⁻¹ over the column,
    /// L·z as column axpy's, Φ over each column, scatter back.
    pub fn apply_block(
        &self,
        points: &mut [f64],
        n: usize,
        dim: usize,
        scratch: &mut CopulaScratch,
    ) {
        let points = &mut points[..n * dim];
        let widest = self
            .clusters
            .iter()
            .map(|c| c.coordinates.len())
            .max()
            .unwrap_or(0);
        scratch.reserve(widest, n.min(TILE_ROWS));
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx512() {
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW.
            unsafe { self.apply_block_avx512(points, dim, scratch) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx2() {
            // SAFETY: the CPU has AVX2.
            unsafe { self.apply_block_avx2(points, dim, scratch) };
            return;
        }
        self.apply_block_portable(points, dim, scratch);
    }

    /// `apply_block` with AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn apply_block_avx2(&self, points: &mut [f64], dim: usize, scratch: &mut CopulaScratch) {
        for tile in points.chunks_mut(TILE_ROWS * dim) {
            let rows = tile.len() / dim;
            for cluster in &self.clusters {
                // SAFETY: the caller's guarantee.
                unsafe { cluster.apply_tile_avx2(tile, rows, dim, scratch) };
            }
        }
    }

    /// `apply_block` with AVX-512.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, DQ, VL and BW.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    unsafe fn apply_block_avx512(
        &self,
        points: &mut [f64],
        dim: usize,
        scratch: &mut CopulaScratch,
    ) {
        for tile in points.chunks_mut(TILE_ROWS * dim) {
            let rows = tile.len() / dim;
            for cluster in &self.clusters {
                cluster.apply_tile_avx512(tile, rows, dim, scratch);
            }
        }
    }

    /// `apply_block` without AVX2: the column passes are plain loops that the compiler
    /// vectorises for the target's baseline (SSE2 on x86-64).
    fn apply_block_portable(&self, points: &mut [f64], dim: usize, scratch: &mut CopulaScratch) {
        for tile in points.chunks_mut(TILE_ROWS * dim) {
            let rows = tile.len() / dim;
            for cluster in &self.clusters {
                cluster.apply_tile(tile, rows, dim, scratch);
            }
        }
    }
}

impl Cluster {
    /// z'ᵢ = Σₘ L[i][m]·zₘ for every row, into `correlated` (one entry per row), from the
    /// cluster's normals stored column after column in `normals`. Summed in the order of
    /// `apply` (m = 0, 1, …, i), so the rounding, and hence every bit, is the same.
    #[inline(always)]
    fn correlate(&self, i: usize, normals: &[f64], correlated: &mut [f64]) {
        let width = self.coordinates.len();
        let rows = correlated.len();
        let row = &self.lower[i * width..i * width + i + 1];
        let mut columns = normals.chunks_exact(rows);
        let z0 = columns.next().expect("a cluster has coordinates");
        for (c, &z) in correlated.iter_mut().zip(z0) {
            *c = row[0] * z;
        }
        for (&l, zm) in row[1..].iter().zip(columns) {
            for (c, &z) in correlated.iter_mut().zip(zm) {
                *c += l * z;
            }
        }
    }

    /// `Copula::apply_block` for this cluster over the `rows` rows (of `dim` coordinates) of `tile`.
    #[inline(always)]
    fn apply_tile(&self, tile: &mut [f64], rows: usize, dim: usize, scratch: &mut CopulaScratch) {
        let width = self.coordinates.len();
        let uniforms = &mut scratch.uniforms[..rows];
        let outside = &mut scratch.outside[..rows];
        let normals = &mut scratch.normals[..width * rows];
        let correlated = &mut scratch.correlated[..rows];
        let probabilities = &mut scratch.probabilities[..rows];
        for (&coordinate, z) in self.coordinates.iter().zip(normals.chunks_exact_mut(rows)) {
            gather(tile, dim, coordinate, uniforms);
            standard_normal_quantile_column(uniforms, z, outside);
        }
        for (i, &coordinate) in self.coordinates.iter().enumerate() {
            if self.passes_through[i] {
                clamp_column(tile, dim, coordinate);
                continue;
            }
            self.correlate(i, normals, correlated);
            // Φ's central piece for the whole column, then the rest while scattering: the
            // central values lie in (0.11, 0.89), where the clamp of `apply` changes nothing.
            standard_normal_cdf_central_or_nan(correlated, probabilities);
            scatter_finishing_cdf(probabilities, correlated, tile, dim, coordinate);
        }
    }
}

/// Clamps coordinate `coordinate` of the rows (of `dim`) of `tile` as `apply` clamps every u'
/// (the rows that pass through).
fn clamp_column(tile: &mut [f64], dim: usize, coordinate: usize) {
    for row in tile.chunks_exact_mut(dim) {
        row[coordinate] = row[coordinate].clamp(U_MIN, U_MAX);
    }
}

/// Copies coordinate `coordinate` of the rows (of `dim`) of `tile` into `column`.
#[inline(always)]
fn gather(tile: &[f64], dim: usize, coordinate: usize, column: &mut [f64]) {
    for (u, row) in column.iter_mut().zip(tile.chunks_exact(dim)) {
        *u = row[coordinate];
    }
}

/// Writes Φ of a row of L·z (`correlated`) to coordinate `coordinate` of the rows of `tile`:
/// `probabilities` from `standard_normal_cdf_central_or_nan` where it has them, the scalar
/// function (and the clamp of `apply`) where it left NaN. The central values lie in
/// (0.11, 0.89), where the clamp changes nothing. Out of line, as the scalar calls would
/// otherwise make the caller reload the vector pass's constants after each.
#[inline(never)]
fn scatter_finishing_cdf(
    probabilities: &[f64],
    correlated: &[f64],
    tile: &mut [f64],
    dim: usize,
    coordinate: usize,
) {
    for ((row, &p), &z) in tile
        .chunks_exact_mut(dim)
        .zip(probabilities)
        .zip(correlated)
    {
        row[coordinate] = if p.is_nan() {
            standard_normal_cdf(z).clamp(U_MIN, U_MAX)
        } else {
            p
        };
    }
}

/// Cholesky factor of a symmetric matrix (row-major n × n); None unless positive definite.
/// Hand-written: the matrices are small (tens of rows) and a linear-algebra crate would add
/// build time for one loop.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                // A pivot this small means the matrix is singular to working precision.
                if s <= 1e-10 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_inconsistent_triangle_naming_its_entries() {
        // x~y 0.9, y~z 0.9, x~z -0.9 cannot be a correlation matrix.
        let err = Copula::new(5, &[(1, 2, 0.9), (2, 3, 0.9), (1, 3, -0.9), (0, 4, 0.1)]);
        assert_eq!(
            err,
            Err(CopulaError::NotPositiveDefinite {
                entries: vec![0, 1, 2]
            })
        );
    }

    /// A copula over 23 coordinates with clusters of 2, 3 and 4 (negative entries too) and
    /// uncorrelated coordinates between them.
    fn mixed_clusters() -> Copula {
        let pairs = [
            (1, 5, 0.6),
            (2, 3, -0.5),
            (3, 7, 0.4),
            (2, 7, -0.3),
            (8, 9, 0.81),
            (8, 10, 0.54),
            (8, 11, 0.54),
            (9, 10, 0.54),
            (9, 11, 0.54),
            (10, 11, 0.36),
            (20, 22, -0.9),
        ];
        Copula::new(23, &pairs).expect("positive definite")
    }

    /// `n` rows of `dim` uniforms, with (every 37th) the values at the edges of every piece of
    /// Φ⁻¹ and the extremes a sampler can produce mixed in if `edges`.
    fn uniform_rows(n: usize, dim: usize, seed: u64, edges: bool) -> Vec<f64> {
        let specials = [
            f64::MIN_POSITIVE,
            1e-300,
            1e-12,
            0.075,
            0.925,
            0.5,
            1.0 - f64::EPSILON / 2.0,
            1.0 - 1e-12,
        ];
        let mut state = seed;
        (0..n * dim)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                if edges && i % 37 == 0 {
                    specials[(state >> 60) as usize % specials.len()]
                } else {
                    ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
                }
            })
            .collect()
    }

    /// `apply` row by row, the reference.
    fn rowwise(copula: &Copula, points: &[f64], dim: usize) -> Vec<f64> {
        let mut out = points.to_vec();
        let mut scratch = Vec::new();
        for row in out.chunks_exact_mut(dim) {
            copula.apply(row, &mut scratch);
        }
        out
    }

    fn assert_same_bits(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{what}: value {i}: {g} vs {w}");
        }
    }

    #[test]
    fn apply_block_matches_apply_bit_for_bit() {
        let copula = mixed_clusters();
        let dim = 23;
        let mut scratch = CopulaScratch::default();
        // Whole steps, words and tiles, and sizes that end inside each.
        for (n, seed) in [(1024, 1), (1000, 2), (3, 3), (257, 4), (70, 5)] {
            let points = uniform_rows(n, dim, seed, true);
            let want = rowwise(&copula, &points, dim);
            let mut got = points.clone();
            copula.apply_block(&mut got, n, dim, &mut scratch);
            assert_same_bits(&got, &want, &format!("apply_block, n = {n}"));
            let mut portable = points.clone();
            copula.apply_block_portable(&mut portable, dim, &mut scratch);
            assert_same_bits(&portable, &want, &format!("portable, n = {n}"));
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut avx2 = points.clone();
                // SAFETY: the CPU has AVX2.
                unsafe { copula.apply_block_avx2(&mut avx2, dim, &mut scratch) };
                assert_same_bits(&avx2, &want, &format!("avx2, n = {n}"));
            }
            #[cfg(target_arch = "x86_64")]
            if crate::fastmath::SimdLevel::detected() >= crate::fastmath::SimdLevel::Avx512 {
                let mut avx512 = points.clone();
                // SAFETY: the CPU has AVX-512 F/DQ/VL/BW.
                unsafe { copula.apply_block_avx512(&mut avx512, dim, &mut scratch) };
                assert_same_bits(&avx512, &want, &format!("avx512, n = {n}"));
            }
        }
    }

    #[test]
    fn apply_block_leaves_other_rows_and_coordinates_alone() {
        let copula = mixed_clusters();
        let dim = 23;
        let mut points = uniform_rows(100, dim, 6, true);
        let original = points.clone();
        copula.apply_block(&mut points, 60, dim, &mut CopulaScratch::default());
        assert_same_bits(&points[60 * dim..], &original[60 * dim..], "rows past n");
        for row in 0..60 {
            for c in [0, 4, 6, 12, 19, 21] {
                assert_eq!(points[row * dim + c], original[row * dim + c]);
            }
        }
    }

    #[test]
    fn block_has_the_requested_correlations() {
        // Pearson correlation of the normal scores Φ⁻¹(u') over 16,384 draws, whose standard
        // error is at most 1/√16384 ≈ 0.008.
        let copula = mixed_clusters();
        let (n, dim) = (16_384, 23);
        let mut points = uniform_rows(n, dim, 7, false);
        copula.apply_block(&mut points, n, dim, &mut CopulaScratch::default());
        let scores: Vec<f64> = points
            .iter()
            .map(|&u| standard_normal_quantile(u))
            .collect();
        let correlation = |a: usize, b: usize| {
            let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
            for row in scores.chunks_exact(dim) {
                sab += row[a] * row[b];
                saa += row[a] * row[a];
                sbb += row[b] * row[b];
            }
            sab / (saa * sbb).sqrt()
        };
        for (a, b, rho) in [
            (1, 5, 0.6),
            (2, 3, -0.5),
            (8, 9, 0.81),
            (10, 11, 0.36),
            (20, 22, -0.9),
            (0, 1, 0.0),
            (5, 8, 0.0),
        ] {
            let r = correlation(a, b);
            assert!((r - rho).abs() < 0.04, "corr({a}, {b}) = {r}, want {rho}");
        }
    }

    #[test]
    fn rows_of_the_identity_pass_the_uniform_through() {
        let copula = mixed_clusters();
        // The first coordinate of each cluster; the others correlate with an earlier one.
        let through: Vec<usize> = copula
            .clusters
            .iter()
            .flat_map(|c| {
                c.coordinates
                    .iter()
                    .zip(&c.passes_through)
                    .filter(|&(_, &p)| p)
                    .map(|(&coordinate, _)| coordinate)
            })
            .collect();
        assert_eq!(through, [1, 2, 8, 20]);
        let dim = 23;
        let mut points = uniform_rows(300, dim, 8, true);
        let original = points.clone();
        copula.apply_block(&mut points, 300, dim, &mut CopulaScratch::default());
        for (row, before) in points.chunks_exact(dim).zip(original.chunks_exact(dim)) {
            for &c in &through {
                assert_eq!(row[c], before[c].clamp(U_MIN, U_MAX));
            }
        }
    }

    #[test]
    fn identity_leaves_points_unchanged() {
        let c = Copula::new(3, &[]).unwrap();
        let mut p = [0.1, 0.2, 0.3];
        c.apply(&mut p, &mut Vec::new());
        assert_eq!(p, [0.1, 0.2, 0.3]);
    }
}
