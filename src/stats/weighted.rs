//! Weighted statistics for the update of MODEL.md §13: importance weights in exact integer
//! arithmetic, so that weighted sums merge in any order and give the same bits.
//!
//! A draw's weight w = exp(−½·Σ_k z_k²) lies in (0, 1] (the likelihood divided by its largest
//! possible value, which does not depend on the data, so no pass over the draws is needed to
//! find a shift). It is stored as the integer ⌊w·2^90⌋ ([`WEIGHT_BITS`]): sums of these
//! integers are exact and commutative in u128 for up to 2^38 draws. A weight below 2^-90
//! (≈ 8e-28, i.e. Σ z² > 124) counts as 0: it underflows, as an f64 density would a little later.
//!
//! [`WeightedHistogram`] is [`super::LogHistogram`] with weights instead of counts: the same
//! bins (relative width 2^-11), the same exact table for outputs with few distinct values.

use super::paged::{PagedCounts, PagedData};

/// Fixed-point bits of a weight.
pub const WEIGHT_BITS: i32 = 90;

/// ⌊w·2^90⌋ for a weight w ∈ [0, 1].
#[inline]
pub fn fixed_weight(w: f64) -> u128 {
    // `as` truncates and saturates: deterministic on every platform.
    (w * 2f64.powi(WEIGHT_BITS)) as u128
}

/// The weight an integer stands for, as an f64 (one rounding, deterministic).
#[inline]
pub fn weight_value(fixed: u128) -> f64 {
    fixed as f64 * 2f64.powi(-WEIGHT_BITS)
}

/// Weights per bin: the [`PagedCounts`] of [`super::LogHistogram`] with u128 fixed-point
/// weights instead of counts (the same bins, floor, memory bound and exact table).
/// Serialized like the histogram (only allocated chunks), for the partial results of a
/// backtest's shards and checkpoints; decoding checks every invariant of the counts.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "PagedData<u128>", try_from = "PagedData<u128>")]
pub struct WeightedHistogram {
    counts: PagedCounts<u128>,
}

impl From<WeightedHistogram> for PagedData<u128> {
    fn from(h: WeightedHistogram) -> Self {
        h.counts.to_data()
    }
}

impl TryFrom<PagedData<u128>> for WeightedHistogram {
    type Error = String;

    fn try_from(d: PagedData<u128>) -> Result<Self, String> {
        Ok(WeightedHistogram {
            counts: PagedCounts::from_data(d)?,
        })
    }
}

impl WeightedHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        WeightedHistogram {
            counts: PagedCounts::new(),
        }
    }

    /// Total weight.
    pub fn total(&self) -> u128 {
        self.counts.total()
    }

    /// Smallest and largest value with a positive weight.
    pub fn range(&self) -> (f64, f64) {
        self.counts.range()
    }

    /// Adds value `x` with fixed-point weight `w` (NaN values and zero weights are skipped).
    #[inline]
    pub fn insert(&mut self, x: f64, w: u128) {
        if w == 0 || x.is_nan() {
            return;
        }
        self.counts.add(x, w);
    }

    /// Adds every weight of `other` (exact and commutative).
    pub fn merge(&mut self, other: &WeightedHistogram) {
        self.counts.merge(&other.counts);
    }

    /// The weighted q-quantile (the smallest x whose cumulative weight reaches q·W, the
    /// weighted Hyndman–Fan type 1) and the weighted mean of the values from there up
    /// (expected shortfall), for each level; NaN when the total weight is 0.
    ///
    /// Inside a bin the weight is taken as spread evenly over the bin's width (clamped to
    /// the observed range), so the error is below the bin's relative width 2^-11.
    pub fn quantiles_and_tail_means(&self, levels: &[f64]) -> Vec<(f64, f64)> {
        let weight = self.counts.total();
        if weight == 0 {
            return vec![(f64::NAN, f64::NAN); levels.len()];
        }
        let total = weight as f64;
        let (min, max) = self.counts.range();
        let bins = self.counts.bins();
        // Weighted sum of every bin from i on (bins at their midpoints).
        let mut suffix = vec![0.0; bins.len() + 1];
        for i in (0..bins.len()).rev() {
            let (w, lo, hi) = bins[i];
            suffix[i] = suffix[i + 1] + w as f64 * 0.5 * (lo + hi);
        }
        levels
            .iter()
            .map(|&q| {
                // The target in integer weight: exact comparison with the cumulative sums.
                let target = ((q * total).ceil() as u128).clamp(1, weight);
                let mut before = 0u128;
                for (i, &(w, lo, hi)) in bins.iter().enumerate() {
                    if before + w >= target {
                        let inside = (target - before) as f64 / w as f64;
                        let width = hi - lo;
                        let quantile = (lo + inside * width).clamp(min, max);
                        // The part of this bin at or above the quantile, at its midpoint.
                        let upper = w as f64 * (1.0 - inside);
                        let tail_w = upper + (weight - before - w) as f64;
                        let tail_sum = upper * 0.5 * (quantile + hi) + suffix[i + 1];
                        let es = if tail_w > 0.0 {
                            tail_sum / tail_w
                        } else {
                            quantile
                        };
                        return (quantile, es);
                    }
                    before += w;
                }
                (max, max)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_weights_match_the_unweighted_quantile() {
        let xs: Vec<f64> = (0..20_000)
            .map(|i| ((i as f64) * 0.618_033_988_7).fract() * 50.0 - 10.0)
            .collect();
        let mut h = WeightedHistogram::new();
        xs.iter().for_each(|&x| h.insert(x, fixed_weight(0.5)));
        let mut sorted = xs.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.05, 0.5, 0.95] {
            let exact = sorted[((q * 20_000f64).ceil() as usize).max(1) - 1];
            let (est, _) = h.quantiles_and_tail_means(&[q])[0];
            assert!(
                (est - exact).abs() <= 2f64.powi(-10) * exact.abs(),
                "{q}: {est} vs {exact}"
            );
        }
    }

    #[test]
    fn weights_move_the_quantiles_and_merge_exactly() {
        // Values 1 and 2 with weights 1 and 3: the median is 2, the 0.2-quantile is 1.
        let mut a = WeightedHistogram::new();
        a.insert(1.0, fixed_weight(0.25));
        let mut b = WeightedHistogram::new();
        b.insert(2.0, fixed_weight(0.75));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        let q = ab.quantiles_and_tail_means(&[0.2, 0.5]);
        assert_eq!(q, ba.quantiles_and_tail_means(&[0.2, 0.5]));
        assert_eq!(q[0].0, 1.0);
        assert_eq!(q[1], (2.0, 2.0));
    }
}
