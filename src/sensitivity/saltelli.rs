//! Saltelli design and estimators of first-order and total Sobol indices of groups.
//!
//! Design (Saltelli 2002/2010): base matrices A and B (N rows each) are the first and second
//! halves of a 2·dim scrambled Sobol point; for each group G, AB_G is A with G's columns from B.
//! Cost N · (2 + #groups) evaluations. With y_A = f(A), y_B = f(B), y_G = f(AB_G) and V the
//! variance of the pooled y_A, y_B:
//!
//! - first order, Saltelli et al. (2010) eq. (b) of table 2: S_G = mean(y_B · (y_G − y_A)) / V,
//!   with y_B centred on the pooled mean (the same estimator in expectation, since
//!   E[y_G − y_A] = 0, but without the variance that a large output mean would add);
//! - total, Jansen (1999): ST_G = mean((y_A − y_G)²) / 2 / V.
//!
//! Intervals: percentile bootstrap over rows, each resample drawn by its own ChaCha8 stream.
//! Every sum runs sequentially in row order inside one task, so results are bit-identical
//! whatever the rayon thread count.

use super::{
    Group, IndexEstimate, OutputIndices, Problem, SensitivityError, SobolIndices, SobolOptions,
};
use crate::sampling::sobol::{derive_key, Sobol};
use crate::sampling::PointSet;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Estimate first-order and total Sobol indices of every group for every output of `problem`.
///
/// `samples` is the base sample size N (a power of two keeps the Sobol nets balanced); `seed`
/// fixes the scrambling and the bootstrap. Groups of one coordinate give per-parameter indices.
pub fn sobol_indices<P: Problem + ?Sized>(
    problem: &P,
    groups: &[Group],
    samples: usize,
    seed: u64,
    options: &SobolOptions,
) -> Result<SobolIndices, SensitivityError> {
    let dim = problem.dim();
    let k_out = problem.n_outputs();
    validate(dim, k_out, groups, samples, options)?;
    let n = samples;
    let n_groups = groups.len();
    let stride = (2 + n_groups) * k_out;
    let too_large = || SensitivityError::TooLarge {
        samples,
        groups: n_groups,
        outputs: k_out,
    };
    let total_len = n.checked_mul(stride).ok_or_else(too_large)?;
    let evaluations = n.checked_mul(2 + n_groups).ok_or_else(too_large)?;
    let sobol = Sobol::new(2 * dim, derive_key(seed, &[0x05A1_7E11]))
        .map_err(|source| SensitivityError::Sampler { dim, source })?;

    // Row r of `y`: [f(A_r) | f(B_r) | f(AB_{G_0}, r) | ...], each k_out wide.
    let mut y = vec![0.0; total_len];
    let chunk = options.chunk_rows;
    y.par_chunks_mut(chunk * stride)
        .enumerate()
        .for_each(|(c, ys)| {
            let rows = ys.len() / stride;
            let mut points = vec![0.0; rows * 2 * dim];
            sobol.fill_block(0, (c * chunk) as u64, &mut points);
            let mut ab = vec![0.0; dim];
            for (p, yr) in points
                .chunks_exact(2 * dim)
                .zip(ys.chunks_exact_mut(stride))
            {
                let (a, b) = p.split_at(dim);
                let (ya, rest) = yr.split_at_mut(k_out);
                let (yb, yg) = rest.split_at_mut(k_out);
                problem.evaluate(a, ya);
                problem.evaluate(b, yb);
                for (g, out) in groups.iter().zip(yg.chunks_exact_mut(k_out)) {
                    ab.copy_from_slice(a);
                    for &j in &g.coords {
                        ab[j] = b[j];
                    }
                    problem.evaluate(&ab, out);
                }
            }
        });

    // An output that is exactly constant over A and B has no variance to apportion; rounding in
    // its mean must not turn that into 0/tiny.
    let constant: Vec<bool> = (0..k_out)
        .map(|k| {
            let first = y[k];
            y.chunks_exact(stride)
                .all(|row| row[k] == first && row[k_out + k] == first)
        })
        .collect();
    let design = Design {
        y: &y,
        n,
        k_out,
        n_groups,
        stride,
        constant: &constant,
    };
    let shift: Vec<f64> = (0..k_out).map(|k| design.pooled_mean(k)).collect();
    let point = design.estimate(&shift, None);

    let boot_seed = derive_key(seed, &[0xB007]);
    let resamples: Vec<Vec<f64>> = (0..options.bootstrap_resamples)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(boot_seed);
            rng.set_stream(b as u64);
            let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            design.estimate(&shift, Some(&rows)).indices
        })
        .collect();

    let alpha = 1.0 - options.confidence;
    let mut column = Vec::with_capacity(resamples.len());
    let mut interval = |idx: usize| -> [f64; 2] {
        column.clear();
        column.extend(resamples.iter().map(|r| r[idx]));
        if column.is_empty() || column.iter().any(|v| v.is_nan()) {
            return [f64::NAN; 2];
        }
        column.sort_by(f64::total_cmp);
        [
            percentile(&column, alpha / 2.0),
            percentile(&column, 1.0 - alpha / 2.0),
        ]
    };
    let outputs = (0..k_out)
        .map(|k| OutputIndices {
            mean: shift[k] + point.mean_offset[k],
            variance: point.variance[k],
            groups: (0..n_groups)
                .map(|g| {
                    let i = 2 * (k * n_groups + g);
                    IndexEstimate {
                        first_order: point.indices[i],
                        first_order_ci: interval(i),
                        total: point.indices[i + 1],
                        total_ci: interval(i + 1),
                    }
                })
                .collect(),
        })
        .collect();

    Ok(SobolIndices {
        samples: n,
        evaluations,
        bootstrap_resamples: options.bootstrap_resamples,
        confidence: options.confidence,
        group_names: groups.iter().map(|g| g.name.clone()).collect(),
        outputs,
    })
}

fn validate(
    dim: usize,
    k_out: usize,
    groups: &[Group],
    samples: usize,
    options: &SobolOptions,
) -> Result<(), SensitivityError> {
    if dim == 0 {
        return Err(SensitivityError::ZeroDim);
    }
    if k_out == 0 {
        return Err(SensitivityError::NoOutputs);
    }
    if samples < 2 {
        return Err(SensitivityError::TooFewSamples(samples));
    }
    if groups.is_empty() {
        return Err(SensitivityError::NoGroups);
    }
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(SensitivityError::BadConfidence(options.confidence));
    }
    if options.chunk_rows == 0 {
        return Err(SensitivityError::ZeroChunk);
    }
    for g in groups {
        if g.coords.is_empty() {
            return Err(SensitivityError::EmptyGroup(g.name.clone()));
        }
        let mut seen = vec![false; dim];
        for &c in &g.coords {
            if c >= dim {
                return Err(SensitivityError::CoordOutOfRange {
                    group: g.name.clone(),
                    coord: c,
                    dim,
                });
            }
            if std::mem::replace(&mut seen[c], true) {
                return Err(SensitivityError::DuplicateCoord {
                    group: g.name.clone(),
                    coord: c,
                });
            }
        }
    }
    Ok(())
}

/// Linear-interpolation percentile (type 7) of sorted values at probability `p`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let h = p * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The evaluated design: `n` rows of `stride` values.
struct Design<'a> {
    y: &'a [f64],
    n: usize,
    k_out: usize,
    n_groups: usize,
    stride: usize,
    /// Outputs that are constant over A and B (V = 0, indices NaN).
    constant: &'a [bool],
}

/// Estimates over one set of rows.
struct Estimates {
    /// Mean of the pooled outputs minus the shift, per output.
    mean_offset: Vec<f64>,
    /// Pooled variance V per output.
    variance: Vec<f64>,
    /// [S, ST] per (output, group), output-major.
    indices: Vec<f64>,
}

impl Design<'_> {
    fn pooled_mean(&self, k: usize) -> f64 {
        let mut s = 0.0;
        for row in self.y.chunks_exact(self.stride) {
            s += row[k] + row[self.k_out + k];
        }
        s / (2 * self.n) as f64
    }

    /// Estimates over `rows` (all rows in order when `None`), outputs shifted by `shift`.
    fn estimate(&self, shift: &[f64], rows: Option<&[usize]>) -> Estimates {
        let (k_out, n_groups) = (self.k_out, self.n_groups);
        // Per output: Σ(y−c), Σ(y−c)² over A and B; per (output, group): Σ ỹ_B(y_G − y_A), Σ(y_A − y_G)².
        let mut s1 = vec![0.0; k_out];
        let mut s2 = vec![0.0; k_out];
        let mut sg = vec![0.0; 2 * k_out * n_groups];
        let mut add = |row: &[f64]| {
            let (ya, rest) = row.split_at(k_out);
            let (yb, yg) = rest.split_at(k_out);
            for k in 0..k_out {
                let (a, b) = (ya[k] - shift[k], yb[k] - shift[k]);
                s1[k] += a + b;
                s2[k] += a * a + b * b;
                for g in 0..n_groups {
                    let d = yg[g * k_out + k] - ya[k];
                    let i = 2 * (k * n_groups + g);
                    sg[i] += b * d;
                    sg[i + 1] += d * d;
                }
            }
        };
        match rows {
            None => self.y.chunks_exact(self.stride).for_each(&mut add),
            Some(rows) => rows
                .iter()
                .for_each(|&r| add(&self.y[r * self.stride..(r + 1) * self.stride])),
        }
        let m = rows.map_or(self.n, <[usize]>::len) as f64;
        let mean_offset: Vec<f64> = s1.iter().map(|s| s / (2.0 * m)).collect();
        let variance: Vec<f64> = (0..k_out)
            .map(|k| {
                if self.constant[k] {
                    0.0
                } else {
                    (s2[k] / (2.0 * m) - mean_offset[k] * mean_offset[k]).max(0.0)
                }
            })
            .collect();
        let indices = sg
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let v = variance[i / (2 * n_groups)];
                if v > 0.0 {
                    if i % 2 == 0 {
                        s / m / v
                    } else {
                        s / m / 2.0 / v
                    }
                } else {
                    f64::NAN
                }
            })
            .collect();
        Estimates {
            mean_offset,
            variance,
            indices,
        }
    }
}
