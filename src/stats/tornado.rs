//! Tornado data: the correlation of each uncertain input's percentile (its uniform coordinate
//! after the copula, i.e. its rank score) with selected outputs, accumulated exactly per block.
//!
//! Because every parameter is sampled through its quantile function, the coordinate u is the
//! parameter's own percentile, so corr(u, y) is a rank-on-the-input correlation: insensitive to
//! the input's units and to monotone transformations of it.

use ndarray::ArrayView2;

use super::ExactSum;

/// Outputs the tornado is computed for (indices into the output row).
pub const TORNADO_OUTPUTS: [usize; 4] = [
    crate::outputs::EXPORT_LOSS,
    crate::outputs::SURPLUS_CHANGE,
    crate::outputs::GDP_IMPACT_PCT,
    crate::outputs::STRESS_INDEX,
];

/// Mergeable sums for the correlations of every coordinate with the tornado outputs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TornadoSums {
    dim: usize,
    shifts: [f64; 4],
    count: u64,
    sum_u: Vec<ExactSum>,
    sum_uu: Vec<ExactSum>,
    sum_y: [ExactSum; 4],
    sum_yy: [ExactSum; 4],
    /// [output][coordinate] Σ (u − ½)(y − c).
    sum_uy: Vec<ExactSum>,
    #[serde(skip)]
    block_u: Vec<f64>,
    #[serde(skip)]
    block_uu: Vec<f64>,
    #[serde(skip)]
    block_uy: Vec<f64>,
}

impl TornadoSums {
    /// Empty sums for points of dimension `dim`; `shifts` are values near each output's centre.
    pub fn new(dim: usize, shifts: [f64; 4]) -> Self {
        TornadoSums {
            dim,
            shifts,
            count: 0,
            sum_u: vec![ExactSum::new(); dim],
            sum_uu: vec![ExactSum::new(); dim],
            sum_y: Default::default(),
            sum_yy: Default::default(),
            sum_uy: vec![ExactSum::new(); 4 * dim],
            block_u: vec![0.0; dim],
            block_uu: vec![0.0; dim],
            block_uy: vec![0.0; 4 * dim],
        }
    }

    /// Adds one block: `points` draws × dim, `outputs` draws × outputs.
    pub fn add_block(&mut self, points: ArrayView2<f64>, outputs: ArrayView2<f64>) {
        let dim = self.dim;
        self.block_u.iter_mut().for_each(|x| *x = 0.0);
        self.block_uu.iter_mut().for_each(|x| *x = 0.0);
        self.block_uy.iter_mut().for_each(|x| *x = 0.0);
        let mut y_sums = [0.0; 4];
        let mut yy_sums = [0.0; 4];
        // The loops over the coordinates of a draw run 8 (AVX-512) or 4 (AVX2) coordinates per
        // instruction; each sum still adds the draws one after the other, so the same bits.
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx512() {
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
            unsafe { self.accumulate_avx512(points, outputs, &mut y_sums, &mut yy_sums) };
        } else if crate::fastmath::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.accumulate_avx2(points, outputs, &mut y_sums, &mut yy_sums) };
        } else {
            self.accumulate(points, outputs, &mut y_sums, &mut yy_sums);
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.accumulate(points, outputs, &mut y_sums, &mut yy_sums);
        self.count += points.nrows() as u64;
        for j in 0..dim {
            self.sum_u[j].add(self.block_u[j]);
            self.sum_uu[j].add(self.block_uu[j]);
        }
        for t in 0..4 {
            self.sum_y[t].add(y_sums[t]);
            self.sum_yy[t].add(yy_sums[t]);
        }
        for (s, &b) in self.sum_uy.iter_mut().zip(&self.block_uy) {
            s.add(b);
        }
    }

    /// The block's plain sums into `block_u`, `block_uu`, `block_uy`, `y_sums`, `yy_sums`.
    #[inline(always)]
    fn accumulate(
        &mut self,
        points: ArrayView2<f64>,
        outputs: ArrayView2<f64>,
        y_sums: &mut [f64; 4],
        yy_sums: &mut [f64; 4],
    ) {
        let dim = self.dim;
        for (u, row) in points.outer_iter().zip(outputs.outer_iter()) {
            let Some(u) = u.as_slice() else { continue };
            // Zipped iterators (no indexing) so that the compiler vectorises these loops.
            for ((su, suu), &x) in self.block_u.iter_mut().zip(self.block_uu.iter_mut()).zip(u) {
                let c = x - 0.5;
                *su += c;
                *suu += c * c;
            }
            for (t, &o) in TORNADO_OUTPUTS.iter().enumerate() {
                let y = row[o] - self.shifts[t];
                y_sums[t] += y;
                yy_sums[t] += y * y;
                let acc = &mut self.block_uy[t * dim..(t + 1) * dim];
                for (a, &x) in acc.iter_mut().zip(u) {
                    *a += (x - 0.5) * y;
                }
            }
        }
    }

    /// `accumulate` compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn accumulate_avx2(
        &mut self,
        points: ArrayView2<f64>,
        outputs: ArrayView2<f64>,
        y_sums: &mut [f64; 4],
        yy_sums: &mut [f64; 4],
    ) {
        self.accumulate(points, outputs, y_sums, yy_sums)
    }

    /// `accumulate` compiled for AVX-512.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    fn accumulate_avx512(
        &mut self,
        points: ArrayView2<f64>,
        outputs: ArrayView2<f64>,
        y_sums: &mut [f64; 4],
        yy_sums: &mut [f64; 4],
    ) {
        self.accumulate(points, outputs, y_sums, yy_sums)
    }

    /// Checks that these sums, read back from a file, have the shape of `expected` (the empty
    /// sums of the same run) and hold at most `draws` draws.
    pub(crate) fn check_shape(&self, expected: &TornadoSums, draws: u64) -> Result<(), String> {
        let same_shifts = self
            .shifts
            .iter()
            .zip(&expected.shifts)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        if self.dim != expected.dim
            || !same_shifts
            || self.sum_u.len() != self.dim
            || self.sum_uu.len() != self.dim
            || self.sum_uy.len() != 4 * self.dim
        {
            return Err("tornado sums of another shape".into());
        }
        if self.count > draws {
            return Err(format!(
                "tornado sums of {} draws (run part: {draws})",
                self.count
            ));
        }
        let sums = self.sum_u.iter().chain(&self.sum_uu).chain(&self.sum_uy);
        if !sums
            .chain(&self.sum_y)
            .chain(&self.sum_yy)
            .all(ExactSum::is_well_formed)
        {
            return Err("tornado sums hold non-finite partials".into());
        }
        Ok(())
    }

    /// Adds another accumulator (exact).
    pub fn merge(&mut self, other: &TornadoSums) {
        self.count += other.count;
        for (a, b) in self.sum_u.iter_mut().zip(&other.sum_u) {
            a.merge(b);
        }
        for (a, b) in self.sum_uu.iter_mut().zip(&other.sum_uu) {
            a.merge(b);
        }
        for t in 0..4 {
            self.sum_y[t].merge(&other.sum_y[t]);
            self.sum_yy[t].merge(&other.sum_yy[t]);
        }
        for (a, b) in self.sum_uy.iter_mut().zip(&other.sum_uy) {
            a.merge(b);
        }
    }

    /// Pearson correlation of coordinate `j` with tornado output `t` (NaN when undefined).
    pub fn correlation(&self, t: usize, j: usize) -> f64 {
        let n = self.count as f64;
        let (su, suu) = (self.sum_u[j].value(), self.sum_uu[j].value());
        let (sy, syy) = (self.sum_y[t].value(), self.sum_yy[t].value());
        let suy = self.sum_uy[t * self.dim + j].value();
        let cov = suy - su * sy / n;
        let var_u = suu - su * su / n;
        let var_y = syy - sy * sy / n;
        if var_u <= 0.0 || var_y <= 0.0 {
            return f64::NAN;
        }
        cov / (var_u * var_y).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The block sums of every instruction set's `accumulate`, as bits.
    fn block_sums(tornado: &TornadoSums, y: &[f64; 4], yy: &[f64; 4]) -> Vec<u64> {
        let all = tornado.block_u.iter().chain(&tornado.block_uu);
        all.chain(&tornado.block_uy)
            .chain(y)
            .chain(yy)
            .map(|x| x.to_bits())
            .collect()
    }

    #[test]
    fn every_instruction_set_gives_the_same_block_sums() {
        // Dimensions that end inside a vector of 4 and of 8.
        for (dim, n) in [(117, 1024), (13, 100), (3, 7)] {
            let mut state = dim as u64;
            let mut next = || {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let points = Array2::from_shape_fn((n, dim), |_| next());
            let outputs = Array2::from_shape_fn((n, 12), |_| 1e3 * (next() - 0.3));
            let run = |level: u8| {
                let mut t = TornadoSums::new(dim, [1.0, -2.0, 0.5, 3.0]);
                let (mut y, mut yy) = ([0.0; 4], [0.0; 4]);
                match level {
                    0 => t.accumulate(points.view(), outputs.view(), &mut y, &mut yy),
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: called only where the CPU has AVX2 (checked below).
                    1 => unsafe {
                        t.accumulate_avx2(points.view(), outputs.view(), &mut y, &mut yy)
                    },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: called only where the CPU has AVX-512 (checked below).
                    _ => unsafe {
                        t.accumulate_avx512(points.view(), outputs.view(), &mut y, &mut yy)
                    },
                    #[cfg(not(target_arch = "x86_64"))]
                    _ => unreachable!(),
                }
                block_sums(&t, &y, &yy)
            };
            let generic = run(0);
            #[cfg(target_arch = "x86_64")]
            {
                use crate::fastmath::SimdLevel;
                if SimdLevel::detected() >= SimdLevel::Avx2 {
                    assert_eq!(run(1), generic, "avx2, dim {dim}");
                }
                if SimdLevel::detected() >= SimdLevel::Avx512 {
                    assert_eq!(run(2), generic, "avx512, dim {dim}");
                }
            }
        }
    }
}
