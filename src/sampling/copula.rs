//! Gaussian copula for `[[correlations]]` (MODEL.md §7): z = Φ⁻¹(u), z' = L·z, u' = Φ(z').

use crate::dist::{standard_normal_cdf, standard_normal_quantile};

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
}

/// A Gaussian copula over the coordinates of a draw; the identity when there are no correlations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Copula {
    clusters: Vec<Cluster>,
}

/// Largest u' handed on: Φ(z') rounds to 1 for z' > 8.3, where unbounded quantiles are infinite.
const U_MAX: f64 = 1.0 - f64::EPSILON / 2.0;
const U_MIN: f64 = f64::MIN_POSITIVE;

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
            clusters.push(Cluster { coordinates, lower });
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
                let row = &cluster.lower[i * n..i * n + i + 1];
                let z: f64 = row.iter().zip(&scratch[..=i]).map(|(l, z)| l * z).sum();
                point[cluster.coordinates[i]] = standard_normal_cdf(z).clamp(U_MIN, U_MAX);
            }
        }
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

    #[test]
    fn identity_leaves_points_unchanged() {
        let c = Copula::new(3, &[]).unwrap();
        let mut p = [0.1, 0.2, 0.3];
        c.apply(&mut p, &mut Vec::new());
        assert_eq!(p, [0.1, 0.2, 0.3]);
    }
}
