//! Standard errors of quantiles by sectioning: every full block of 1024 draws gives its own
//! quantile estimates, and the spread of those estimates over the k blocks, divided by √k, is
//! the standard error of the quantile of the whole run.
//!
//! Why sections of one block: the variance of a sample quantile falls as 1/n, so
//! Var(q̂_N) ≈ Var(q̂_1024)·1024/N = Var(q̂_1024)/k.
//!
//! Which blocks: Var(q̂_1024) is estimated from the blocks [`sampled`] picks (all of the first
//! 16, then every fourth, as the tornado's correlations), while k counts every full block of
//! the run: the selection depends only on the block's index, so it is the same for any thread
//! count or shard split, and the blocks are independent and alike, so a quarter of them
//! estimates the spread as well as all of them up to the noise of the estimate (relative
//! ≈ 1/√(2k/4) instead of 1/√(2k): from 2 % to 4 % at 10⁷ draws). The selections of the nine
//! quantiles of four outputs were 2/3 of the statistics' cost per block (issue 16). A block's quantiles are exact (its values
//! are at hand), and their sums merge exactly, so memory does not grow with the draws and the
//! result does not depend on the thread count. (32 batches of full histograms were tried first:
//! they cost ~110 MB and 14 % of the run time on the default model.) The estimate is
//! asymptotic: the 1 % and 99 % quantiles of a block rest on ~10 draws each, where it is
//! accurate to roughly 10–20 %. For Sobol and Latin hypercube points, and antithetic pairs,
//! each block is itself balanced, and the estimate is conservative: the whole run is balanced
//! better than its blocks.

use super::{ExactSum, QUANTILE_LEVELS};

/// Sums of per-block quantile estimates of a few outputs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct QuantileSections {
    /// Values near each output's centre, subtracted before squaring.
    shifts: Vec<f64>,
    /// Full blocks whose quantiles were added ([`sampled`] blocks).
    blocks: u64,
    /// Full blocks of the run seen, sampled or not (the k of the standard error).
    all_blocks: u64,
    /// [output][level] (Σ q_b − c, Σ (q_b − c)²).
    sums: Vec<(ExactSum, ExactSum)>,
    #[serde(skip)]
    scratch: Vec<f64>,
}

impl QuantileSections {
    /// Empty sums for outputs whose centres are `shifts`.
    pub fn new(shifts: Vec<f64>) -> Self {
        QuantileSections {
            sums: vec![(ExactSum::new(), ExactSum::new()); shifts.len() * QUANTILE_LEVELS.len()],
            shifts,
            blocks: 0,
            all_blocks: 0,
            scratch: Vec::new(),
        }
    }

    /// Adds block `block`: `columns[i]` holds output i's values of the block, in draw order.
    /// Only full blocks count (a short last block would have a noisier quantile), and only
    /// sampled ones (the first 16 blocks and every fourth after) give quantiles.
    pub fn add_block<'a>(
        &mut self,
        block: u64,
        len: usize,
        columns: impl Iterator<Item = impl Iterator<Item = &'a f64>>,
    ) {
        if len as u64 != crate::sampling::BLOCK_SIZE {
            return;
        }
        self.all_blocks += 1;
        if !sampled(block) {
            return;
        }
        let levels = QUANTILE_LEVELS.len();
        let mut full = true;
        let mut block_q = vec![f64::NAN; self.sums.len()];
        for (i, column) in columns.enumerate() {
            self.scratch.clear();
            self.scratch.extend(column.copied());
            if self.scratch.len() as u64 != crate::sampling::BLOCK_SIZE {
                full = false;
                break;
            }
            block_quantiles(
                &mut self.scratch,
                &mut block_q[i * levels..(i + 1) * levels],
            );
        }
        if !full {
            return;
        }
        self.blocks += 1;
        for (j, ((s1, s2), q)) in self.sums.iter_mut().zip(&block_q).enumerate() {
            let d = q - self.shifts[j / levels];
            s1.add(d);
            s2.add(d * d);
        }
    }

    /// Checks that these sums, read back from a file, have the shape of `expected` (the empty
    /// sums of the same run) and count at most `blocks` blocks: `standard_errors` indexes
    /// `sums` by output and level, so a short table would panic there.
    pub(crate) fn check_shape(
        &self,
        expected: &QuantileSections,
        blocks: u64,
    ) -> Result<(), String> {
        let same_shifts = self.shifts.len() == expected.shifts.len()
            && self
                .shifts
                .iter()
                .zip(&expected.shifts)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same_shifts || self.sums.len() != expected.sums.len() {
            return Err("quantile sections of another shape".into());
        }
        if self.blocks > self.all_blocks || self.all_blocks > blocks {
            return Err(format!(
                "quantile sections of {} of {} blocks (run part: {blocks})",
                self.blocks, self.all_blocks
            ));
        }
        if !self
            .sums
            .iter()
            .all(|(a, b)| a.is_well_formed() && b.is_well_formed())
        {
            return Err("quantile sections hold non-finite partials".into());
        }
        Ok(())
    }

    /// Adds another accumulator (exact).
    pub fn merge(&mut self, other: &QuantileSections) {
        self.blocks += other.blocks;
        self.all_blocks += other.all_blocks;
        for ((a1, a2), (b1, b2)) in self.sums.iter_mut().zip(&other.sums) {
            a1.merge(b1);
            a2.merge(b2);
        }
    }

    /// Standard errors of the quantiles of output `i` at [`QUANTILE_LEVELS`] (NaN with fewer
    /// than two full blocks).
    pub fn standard_errors(&self, i: usize) -> [f64; 9] {
        let mut out = [f64::NAN; 9];
        if self.blocks < 2 {
            return out;
        }
        let k = self.blocks as f64;
        let all = self.all_blocks as f64;
        for (l, se) in out.iter_mut().enumerate() {
            let (s1, s2) = &self.sums[i * QUANTILE_LEVELS.len() + l];
            let (a, b) = (s1.value(), s2.value());
            let var = ((b - a * a / k) / (k - 1.0)).max(0.0);
            *se = (var / all).sqrt();
        }
        out
    }
}

/// Whether block `block` gives quantiles for the standard errors: all of the first 16 (short
/// runs keep every block), then every fourth.
pub fn sampled(block: u64) -> bool {
    block < 16 || block.is_multiple_of(4)
}

/// The quantiles at [`QUANTILE_LEVELS`] of `values` (rank ⌈q·n⌉, as the run's histograms use),
/// NaN values ignored; `values` is reordered. Successive selections narrow the slice, so the
/// cost is a few passes over the block rather than a sort.
fn block_quantiles(values: &mut Vec<f64>, out: &mut [f64]) {
    values.retain(|x| !x.is_nan());
    let n = values.len();
    if n == 0 {
        out.iter_mut().for_each(|q| *q = f64::NAN);
        return;
    }
    let mut start = 0;
    for (q, level) in out.iter_mut().zip(QUANTILE_LEVELS) {
        let rank = ((level * n as f64).ceil() as usize).clamp(1, n) - 1;
        if rank >= start {
            let (_, x, _) = values[start..].select_nth_unstable_by(rank - start, f64::total_cmp);
            *q = *x;
            start = rank;
        } else {
            *q = values[rank];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_quantiles_are_order_statistics() {
        let mut v: Vec<f64> = (1..=1024).rev().map(|i| i as f64).collect();
        let mut q = [0.0; 9];
        block_quantiles(&mut v, &mut q);
        // rank ⌈q·1024⌉: 0.01 → 11, 0.5 → 512, 0.99 → 1014.
        assert_eq!(q[0], 11.0);
        assert_eq!(q[4], 512.0);
        assert_eq!(q[8], 1014.0);
    }
}
