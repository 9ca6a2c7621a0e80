//! Bounded-memory quantiles and expected shortfall: a log-linear histogram of counts, plus an
//! exact table of values for outputs that take few distinct values.
//!
//! A value's bin is its sign, binary exponent and the top [`BIN_BITS`] bits of its mantissa,
//! so a bin spans a relative width of at most 2^-11 ≈ 4.9e-4. Bins hold only counts (8 bytes),
//! which keeps one output's working set in the CPU's L2 cache: the statistics cost a few ns per
//! value instead of a cache miss. The counts live in a [`PagedCounts`] (shared with the
//! weighted histogram of the update): sparse chunks of 64 bins, binades more than 48 below the
//! largest magnitude pooled, at most ≈ 1.93 MiB per output whatever the data (see
//! `src/stats/paged.rs`). Outputs with at most [`EXACT_CAPACITY`] distinct values over
//! the whole run (point masses, 0/1 events, scenario-determined outputs) are also counted
//! exactly per value, and their quantiles and tail means are exact.
//!
//! Error bound of the histogram: the estimate lies in the bin of the true order statistic and
//! inside [min, max], so its relative error is below 2^-11 (absolute error below 2^-48 of the
//! largest magnitude for a quantile in the pooled binades under the floor); inside a bin the values are taken
//! as evenly spread by rank. Merging adds counts: exact and commutative, so any split of the
//! draws over threads, shards or restarts gives the same result.

use super::paged::{PagedCounts, PagedData};
pub use super::paged::{BIN_BITS, EXACT_CAPACITY};

/// Counts per bin (a [`PagedCounts`]: sparse chunks of bins, binades far below the largest
/// magnitude pooled, so bounded memory) and the NaN values seen.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "HistogramData", try_from = "HistogramData")]
pub struct LogHistogram {
    counts: PagedCounts<u64>,
    nan: u64,
    /// The exact table and the bins above are of `count` values; kept apart from `counts`
    /// for the fast checks of [`LogHistogram::count`].
    count: u64,
}

/// The serialized form: the counts' own form (only allocated chunks) and the NaN count.
#[derive(serde::Serialize, serde::Deserialize)]
struct HistogramData {
    counts: PagedData<u64>,
    nan: u64,
}

impl From<LogHistogram> for HistogramData {
    fn from(h: LogHistogram) -> Self {
        HistogramData {
            counts: h.counts.to_data(),
            nan: h.nan,
        }
    }
}

impl TryFrom<HistogramData> for LogHistogram {
    type Error = String;

    /// Checks every invariant that quantiles and merges rely on (see
    /// [`PagedCounts::from_data`]), so that a damaged file is refused instead of giving wrong
    /// quantiles or an index out of bounds.
    fn try_from(d: HistogramData) -> Result<Self, String> {
        let counts = PagedCounts::from_data(d.counts)?;
        let count = counts.total();
        if count.checked_add(d.nan).is_none() {
            return Err("histogram counts overflow".into());
        }
        Ok(LogHistogram {
            counts,
            nan: d.nan,
            count,
        })
    }
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LogHistogram {
            counts: PagedCounts::new(),
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
        self.counts.add(x, 1);
    }

    /// Inserts every value of `xs`: the counts [`LogHistogram::insert`] of each would give,
    /// faster (see [`PagedCounts::add_each`]).
    pub fn insert_slice(&mut self, xs: &[f64]) {
        // The NaN test and the slice's min and max run 4 values per instruction with AVX2 (also
        // on AVX-512 CPUs: an AVX-512 build was no faster there); the counts are the same.
        #[cfg(target_arch = "x86_64")]
        {
            if crate::fastmath::has_avx2() {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { self.insert_slice_avx2(xs) };
                return;
            }
        }
        self.insert_slice_here(xs)
    }

    /// `insert_slice` compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn insert_slice_avx2(&mut self, xs: &[f64]) {
        self.insert_slice_here(xs)
    }

    /// The body of `insert_slice`, inlined into each instruction set's version.
    #[inline(always)]
    fn insert_slice_here(&mut self, xs: &[f64]) {
        // A fold rather than `any`: no early exit, so the test vectorises.
        if xs.iter().fold(false, |nan, x| nan | x.is_nan()) {
            xs.iter().for_each(|&x| self.insert(x));
            return;
        }
        self.count += xs.len() as u64;
        self.counts.add_each(xs);
    }

    /// Adds every count of `other` (exact and commutative).
    pub fn merge(&mut self, other: &LogHistogram) {
        self.counts.merge(&other.counts);
        self.nan += other.nan;
        self.count += other.count;
    }

    /// Bytes held on the heap, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
    }

    /// The rank (1-based) of the q-quantile: the inverse of the empirical CDF (Hyndman–Fan type 1).
    fn rank(&self, q: f64) -> u64 {
        ((q * self.count as f64).ceil() as u64).clamp(1, self.count)
    }

    /// The q-quantile and the expected shortfall (mean of the values of rank ≥ ⌈q·n⌉), or NaN when empty.
    pub fn quantile_and_tail_mean(&self, q: f64) -> (f64, f64) {
        self.quantiles_and_tail_means(&[q])[0]
    }

    /// [`LogHistogram::quantile_and_tail_mean`] at many levels with one pass over the bins.
    pub fn quantiles_and_tail_means(&self, levels: &[f64]) -> Vec<(f64, f64)> {
        if self.count == 0 {
            return vec![(f64::NAN, f64::NAN); levels.len()];
        }
        if let Some(exact) = self.counts.exact() {
            return levels
                .iter()
                .map(|&q| self.exact_quantile(exact, q))
                .collect();
        }
        // Non-empty bins in value order as (count, low, high), clamped to the observed range;
        // inside a bin the j-th of n values is taken at low + (j − ½)/n·(high − low).
        let (min, max) = self.counts.range();
        let bins = self.counts.bins();
        // Cumulative counts before each bin, and the (estimated) sum of every bin from i on.
        let mut before = Vec::with_capacity(bins.len());
        let mut acc = 0u64;
        for b in &bins {
            before.push(acc);
            acc += b.0;
        }
        let mut suffix = vec![0.0; bins.len() + 1];
        for i in (0..bins.len()).rev() {
            let (n, lo, hi) = bins[i];
            suffix[i] = suffix[i + 1] + n as f64 * 0.5 * (lo + hi);
        }
        levels
            .iter()
            .map(|&q| {
                let rank = self.rank(q);
                let i = before.partition_point(|&b| b < rank) - 1;
                let (count, lo, hi) = bins[i];
                let n = count as f64;
                let k = (rank - before[i]) as f64;
                let width = hi - lo;
                let quantile = (lo + (k - 0.5) / n * width).clamp(min, max);
                // Σ_{j=k}^{n} (lo + (j − ½)/n·w) = m·lo + w/n·(Σ j − m/2), m = n − k + 1.
                let m = n - k + 1.0;
                let sum_j = (k + n) * m / 2.0;
                let tail_sum = m * lo + width / n * (sum_j - m / 2.0) + suffix[i + 1];
                (quantile, tail_sum / (self.count - rank + 1) as f64)
            })
            .collect()
    }

    fn exact_quantile(&self, exact: &[(f64, u64)], q: f64) -> (f64, f64) {
        let rank = self.rank(q);
        let tail_count = (self.count - rank + 1) as f64;
        let mut before = 0;
        let mut quantile = f64::NAN;
        let mut tail_sum = 0.0;
        for &(x, c) in exact {
            if quantile.is_nan() {
                if before + c >= rank {
                    quantile = x;
                    tail_sum = (before + c - rank + 1) as f64 * x;
                }
                before += c;
            } else {
                tail_sum += c as f64 * x;
            }
        }
        (quantile, tail_sum / tail_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_set_inserts_a_slice_as_one_value_at_a_time() {
        use crate::fastmath::SimdLevel;
        let mut state = 5u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.3) * 1e4
        };
        // Past the exact table, with ±0, NaN in one slice, lengths that end inside a vector.
        let mut slices: Vec<Vec<f64>> = (0..40)
            .map(|i| (0..1000 + i).map(|_| next()).collect())
            .collect();
        slices[3].extend([0.0, -0.0, -1e-300, 1e300]);
        slices[7].push(f64::NAN);
        // Subnormals; slices of one sign with zeros (the one-table loops); a NaN among them.
        slices[9].extend([
            f64::from_bits(1),
            -f64::from_bits(0x8_0000_0000_0007),
            5e-324,
        ]);
        slices[11] = slices[11].iter().map(|x| -x.abs()).collect();
        slices[12] = slices[12].iter().map(|x| x.abs()).collect();
        slices[12].extend([0.0, -0.0, 0.0]);
        slices[13] = slices[13].iter().map(|x| -x.abs()).collect();
        slices[13].extend([-0.0, 0.0, f64::NAN]);
        for level in [SimdLevel::Generic, SimdLevel::Avx2] {
            if level > SimdLevel::detected() {
                continue;
            }
            let (mut sliced, mut one_by_one) = (LogHistogram::new(), LogHistogram::new());
            for xs in &slices {
                match level {
                    SimdLevel::Generic | SimdLevel::Avx512 => sliced.insert_slice_here(xs),
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: the CPU has AVX2 (checked above).
                    SimdLevel::Avx2 => unsafe { sliced.insert_slice_avx2(xs) },
                    #[cfg(not(target_arch = "x86_64"))]
                    _ => unreachable!(),
                }
                xs.iter().for_each(|&x| one_by_one.insert(x));
            }
            assert_eq!(sliced.counts.bins(), one_by_one.counts.bins(), "{level:?}");
            let (a, b) = (sliced.counts.range(), one_by_one.counts.range());
            assert_eq!(
                (a.0.to_bits(), a.1.to_bits()),
                (b.0.to_bits(), b.1.to_bits())
            );
            assert_eq!(
                (sliced.count, sliced.nan),
                (one_by_one.count, one_by_one.nan)
            );
        }
    }

    #[test]
    fn few_distinct_values_are_exact() {
        let mut h = LogHistogram::new();
        for i in (1..=1000).rev() {
            h.insert((i % 50) as f64 * 0.1);
        }
        assert_eq!(h.quantile_and_tail_mean(0.5).0, 2.4000000000000004);
        let mut h = LogHistogram::new();
        for i in 0..1000 {
            h.insert(if i < 970 { 0.0 } else { 1.0 });
        }
        assert_eq!(h.quantile_and_tail_mean(0.95), (0.0, 30.0 / 51.0));
        assert_eq!(h.quantile_and_tail_mean(0.99), (1.0, 1.0));
    }

    #[test]
    fn relative_error_is_within_the_bin_width() {
        let mut h = LogHistogram::new();
        let mut xs: Vec<f64> = (0..100_000)
            .map(|i| ((i as f64) * 0.618_033_988_7).fract() * 50.0 - 10.0)
            .collect();
        xs.iter().for_each(|&x| h.insert(x));
        assert!(h.counts.exact().is_none());
        xs.sort_by(f64::total_cmp);
        for q in [0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let exact = xs[((q * 100_000f64).ceil() as usize).max(1) - 1];
            let est = h.quantile_and_tail_mean(q).0;
            assert!(
                (est - exact).abs() <= 2f64.powi(-11) * exact.abs(),
                "q={q}: {est} vs {exact}"
            );
        }
        let tail: f64 = xs[94_999..].iter().sum::<f64>() / 5001.0;
        let es = h.quantile_and_tail_mean(0.95).1;
        assert!((es - tail).abs() / tail < 2f64.powi(-11), "{es} vs {tail}");
    }

    #[test]
    fn merge_in_any_order_gives_the_same_answer() {
        let xs: Vec<f64> = (0..3000)
            .map(|i| ((i as f64) * 0.7548776662).fract() * 40.0 - 10.0)
            .collect();
        let mut whole = LogHistogram::new();
        xs.iter().for_each(|&x| whole.insert(x));
        let (mut a, mut b) = (LogHistogram::new(), LogHistogram::new());
        xs[..1234].iter().for_each(|&x| a.insert(x));
        xs[1234..].iter().for_each(|&x| b.insert(x));
        b.merge(&a);
        for q in [0.01, 0.5, 0.95, 0.99] {
            assert_eq!(whole.quantile_and_tail_mean(q), b.quantile_and_tail_mean(q));
        }
    }

    #[test]
    fn damaged_serialized_histograms_are_refused() {
        let mut h = LogHistogram::new();
        [1.5, -2.0, 0.0, 7.0].iter().for_each(|&x| h.insert(x));
        let good = || HistogramData::from(h.clone());
        assert!(LogHistogram::try_from(good()).is_ok());
        let mut short_page = good();
        short_page.counts.chunks[0].3.pop();
        let mut bad_exponent = good();
        bad_exponent.counts.chunks[0].1 = 4000;
        let mut bad_chunk = good();
        bad_chunk.counts.chunks[0].2 = 32;
        let mut twice = good();
        twice.counts.chunks.push(twice.counts.chunks[0].clone());
        let mut miscounted = good();
        miscounted.counts.total += 1;
        let mut unsorted = good();
        unsorted.counts.exact.as_mut().unwrap().reverse();
        let mut overflow = good();
        overflow.nan = u64::MAX;
        for (what, d) in [
            ("short page", short_page),
            ("exponent", bad_exponent),
            ("chunk", bad_chunk),
            ("nan overflow", overflow),
            ("page twice", twice),
            ("count", miscounted),
            ("exact order", unsorted),
        ] {
            assert!(LogHistogram::try_from(d).is_err(), "{what}");
        }
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
}
