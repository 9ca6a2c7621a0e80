//! A log-linear histogram for quantiles and expected shortfall in bounded memory.
//!
//! A value's bin is its sign, binary exponent and the top [`BIN_BITS`] bits of its mantissa,
//! so every bin spans at most a relative width of 2^-11 ≈ 4.9e-4. Per bin we keep the count,
//! the smallest and largest value and the exact sum of the values (mantissas share the bin's
//! exponent, so their sum is an integer held exactly in a u128). Merging is exact and
//! commutative: any split of the draws gives the same histogram.
//!
//! Quantile error bound: the estimate lies between the smallest and largest value of the bin
//! that holds the true order statistic, so its relative error is below 2^-11; it is exact when
//! that bin holds one value or one distinct value (point masses, 0/1 outputs).

/// Mantissa bits that select a bin inside a binade.
pub const BIN_BITS: u32 = 11;
const BINS_PER_PAGE: usize = 1 << BIN_BITS;
const MANTISSA_BITS: u32 = 52;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;

#[derive(Debug, Clone, Copy)]
struct Bin {
    count: u64,
    min: f64,
    max: f64,
    /// Σ of |value| in units of the binade's ulp.
    mantissa_sum: u128,
}

const EMPTY: Bin = Bin {
    count: 0,
    min: f64::INFINITY,
    max: f64::NEG_INFINITY,
    mantissa_sum: 0,
};

type Page = Box<[Bin; BINS_PER_PAGE]>;

/// Pages indexed by the biased exponent (0..2047), one table per sign.
#[derive(Debug, Clone)]
pub struct LogHistogram {
    positive: Vec<Option<Page>>,
    negative: Vec<Option<Page>>,
    positive_inf: u64,
    negative_inf: u64,
    nan: u64,
    count: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// 2^(e − 1075): the value of one mantissa unit in binade e (subnormals share e = 1).
fn ulp_scale(exponent: usize) -> f64 {
    let e = exponent.max(1) as i32 - 1075;
    2f64.powi(e)
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LogHistogram {
            positive: (0..2048).map(|_| None).collect(),
            negative: (0..2048).map(|_| None).collect(),
            positive_inf: 0,
            negative_inf: 0,
            nan: 0,
            count: 0,
        }
    }

    /// Number of values inserted, NaN excluded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of NaN values seen (they take no part in quantiles).
    pub fn nan_count(&self) -> u64 {
        self.nan
    }

    /// Inserts one value.
    #[inline]
    pub fn insert(&mut self, x: f64) {
        if x.is_nan() {
            self.nan += 1;
            return;
        }
        self.count += 1;
        let x = x + 0.0; // −0 becomes +0: one bin for zero.
        let bits = x.to_bits();
        let exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as usize;
        let negative = bits >> 63 == 1;
        if exponent == 0x7ff {
            if negative {
                self.negative_inf += 1;
            } else {
                self.positive_inf += 1;
            }
            return;
        }
        let fraction = bits & MANTISSA_MASK;
        let mantissa = if exponent == 0 {
            fraction
        } else {
            fraction | (1 << MANTISSA_BITS)
        };
        let bin = (fraction >> (MANTISSA_BITS - BIN_BITS)) as usize;
        let table = if negative {
            &mut self.negative
        } else {
            &mut self.positive
        };
        let page = table[exponent].get_or_insert_with(|| Box::new([EMPTY; BINS_PER_PAGE]));
        let b = &mut page[bin];
        b.count += 1;
        b.mantissa_sum += mantissa as u128;
        if x < b.min {
            b.min = x;
        }
        if x > b.max {
            b.max = x;
        }
    }

    /// Adds every bin of `other` (exact and commutative).
    pub fn merge(&mut self, other: &LogHistogram) {
        for (mine, theirs) in [
            (&mut self.positive, &other.positive),
            (&mut self.negative, &other.negative),
        ] {
            for (e, page) in theirs.iter().enumerate() {
                let Some(page) = page else { continue };
                let target = mine[e].get_or_insert_with(|| Box::new([EMPTY; BINS_PER_PAGE]));
                for (t, b) in target.iter_mut().zip(page.iter()) {
                    if b.count > 0 {
                        t.count += b.count;
                        t.mantissa_sum += b.mantissa_sum;
                        t.min = t.min.min(b.min);
                        t.max = t.max.max(b.max);
                    }
                }
            }
        }
        self.positive_inf += other.positive_inf;
        self.negative_inf += other.negative_inf;
        self.nan += other.nan;
        self.count += other.count;
    }

    /// Approximate bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let pages = self.positive.iter().chain(&self.negative).flatten().count();
        pages * std::mem::size_of::<[Bin; BINS_PER_PAGE]>()
            + 2 * 2048 * std::mem::size_of::<Option<Page>>()
    }

    /// Visits the non-empty bins in increasing order of value as (count, min, max, sum).
    fn for_each_bin(&self, mut visit: impl FnMut(u64, f64, f64, f64) -> bool) {
        if self.negative_inf > 0
            && !visit(
                self.negative_inf,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            )
        {
            return;
        }
        for e in (0..2047).rev() {
            if let Some(page) = &self.negative[e] {
                let scale = ulp_scale(e);
                for b in page.iter().rev().filter(|b| b.count > 0) {
                    if !visit(b.count, b.min, b.max, -(b.mantissa_sum as f64) * scale) {
                        return;
                    }
                }
            }
        }
        for e in 0..2047 {
            if let Some(page) = &self.positive[e] {
                let scale = ulp_scale(e);
                for b in page.iter().filter(|b| b.count > 0) {
                    if !visit(b.count, b.min, b.max, b.mantissa_sum as f64 * scale) {
                        return;
                    }
                }
            }
        }
        if self.positive_inf > 0 {
            visit(
                self.positive_inf,
                f64::INFINITY,
                f64::INFINITY,
                f64::INFINITY,
            );
        }
    }

    /// The rank (1-based) of the q-quantile: the inverse of the empirical CDF (Hyndman–Fan type 1).
    fn rank(&self, q: f64) -> u64 {
        ((q * self.count as f64).ceil() as u64).clamp(1, self.count)
    }

    /// The q-quantile and the expected shortfall (mean of the values at or above it), or NaN when empty.
    pub fn quantile_and_tail_mean(&self, q: f64) -> (f64, f64) {
        if self.count == 0 {
            return (f64::NAN, f64::NAN);
        }
        let rank = self.rank(q);
        let mut before = 0u64;
        let mut quantile = f64::NAN;
        let mut tail_sum = 0.0;
        self.for_each_bin(|count, min, max, sum| {
            if before + count < rank {
                before += count;
                return true;
            }
            if quantile.is_nan() {
                // The order statistic is the k-th value of this bin: interpolate between the
                // bin's extremes by rank (exact for k = 1, k = count and single-valued bins).
                let k = rank - before;
                let at = |j: u64| {
                    if count == 1 || min == max {
                        min
                    } else {
                        min + (max - min) * ((j - 1) as f64 / (count - 1) as f64)
                    }
                };
                quantile = if count == 1 { sum } else { at(k) };
                // Values of ranks k..count: the bin's exact sum less an estimate of ranks 1..k−1.
                let below: f64 = if k == 1 {
                    0.0
                } else if min == max {
                    (k - 1) as f64 * min
                } else {
                    (k - 1) as f64 * min
                        + (max - min) * ((k - 1) * (k - 2) / 2) as f64 / (count - 1) as f64
                };
                tail_sum = (sum - below).max((count - k + 1) as f64 * quantile);
                before += count;
                return true;
            }
            tail_sum += sum;
            true
        });
        let tail_count = self.count - rank + 1;
        (quantile, tail_sum / tail_count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_integers_are_exact() {
        let mut h = LogHistogram::new();
        for i in (1..=1000).rev() {
            h.insert(i as f64);
        }
        assert_eq!(h.quantile_and_tail_mean(0.5).0, 500.0);
        assert_eq!(h.quantile_and_tail_mean(0.95).0, 950.0);
        let (q, es) = h.quantile_and_tail_mean(0.99);
        assert_eq!(q, 990.0);
        assert_eq!(es, (990..=1000).sum::<i32>() as f64 / 11.0);
    }

    #[test]
    fn negative_and_zero_values_are_ordered() {
        let mut h = LogHistogram::new();
        for x in [-3.0, -0.0, 2.0, -1e-300, 5.0] {
            h.insert(x);
        }
        assert_eq!(h.quantile_and_tail_mean(0.2).0, -3.0);
        assert_eq!(h.quantile_and_tail_mean(0.4).0, -1e-300);
        assert_eq!(h.quantile_and_tail_mean(0.6).0, 0.0);
        assert_eq!(h.quantile_and_tail_mean(1.0).0, 5.0);
    }

    #[test]
    fn relative_error_is_within_the_bin_width() {
        let mut h = LogHistogram::new();
        let mut xs: Vec<f64> = (0..100_000).map(|i| ((i as f64) * 0.618_033_988_7).fract() * 50.0 + 1.0).collect();
        xs.iter().for_each(|&x| h.insert(x));
        xs.sort_by(f64::total_cmp);
        for q in [0.01, 0.1, 0.5, 0.9, 0.99] {
            let exact = xs[(q * 100_000f64).ceil() as usize - 1];
            let est = h.quantile_and_tail_mean(q).0;
            assert!(((est - exact) / exact).abs() < 2f64.powi(-11), "q={q}: {est} vs {exact}");
        }
    }
}
