//! Bounded-memory quantiles and expected shortfall: a log-linear histogram of counts, plus an
//! exact table of values for outputs that take few distinct values.
//!
//! A value's bin is its sign, binary exponent and the top [`BIN_BITS`] bits of its mantissa,
//! so a bin spans a relative width of at most 2^-11 ≈ 4.9e-4. Bins hold only counts (8 bytes),
//! which keeps one output's working set in the CPU's L2 cache: the statistics cost a few ns per
//! value instead of a cache miss. Outputs with at most [`EXACT_CAPACITY`] distinct values over
//! the whole run (point masses, 0/1 events, scenario-determined outputs) are also counted
//! exactly per value, and their quantiles and tail means are exact.
//!
//! Error bound of the histogram: the estimate lies in the bin of the true order statistic and
//! inside [min, max], so its relative error is below 2^-11; inside a bin the values are taken
//! as evenly spread by rank. Merging adds counts: exact and commutative, so any split of the
//! draws over threads, shards or restarts gives the same result.

/// Mantissa bits that select a bin inside a binade.
pub const BIN_BITS: u32 = 11;
/// Outputs with at most this many distinct values get exact quantiles.
pub const EXACT_CAPACITY: usize = 64;
pub(crate) const BINS_PER_PAGE: usize = 1 << BIN_BITS;
const MANTISSA_BITS: u32 = 52;
const SHIFT: u32 = MANTISSA_BITS - BIN_BITS;

type Page = Box<[u64; BINS_PER_PAGE]>;

/// Counts per bin, pages indexed by the biased exponent (0..2047), one table per sign; plus
/// exact value counts while the output has few distinct values.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "HistogramData", try_from = "HistogramData")]
pub struct LogHistogram {
    positive: Vec<Option<Page>>,
    negative: Vec<Option<Page>>,
    /// Sorted (value, count) pairs; `None` once more than [`EXACT_CAPACITY`] distinct values were seen.
    exact: Option<Vec<(f64, u64)>>,
    /// Exact zeros, counted apart so that a quantile that is 0 comes out as exactly 0.
    zeros: u64,
    nan: u64,
    count: u64,
    min: f64,
    max: f64,
}

/// The serialized form: only allocated pages, as (exponent, counts).
#[derive(serde::Serialize, serde::Deserialize)]
struct HistogramData {
    positive: Vec<(u16, Vec<u64>)>,
    negative: Vec<(u16, Vec<u64>)>,
    exact: Option<Vec<(f64, u64)>>,
    /// Exact zeros, counted apart so that a quantile that is 0 comes out as exactly 0.
    zeros: u64,
    nan: u64,
    count: u64,
    min: f64,
    max: f64,
}

fn pages_to_data(pages: &[Option<Page>]) -> Vec<(u16, Vec<u64>)> {
    pages
        .iter()
        .enumerate()
        .filter_map(|(e, p)| p.as_ref().map(|p| (e as u16, p.to_vec())))
        .collect()
}

/// Rebuilds the page table from its serialized form, refusing anything `pages_to_data` cannot
/// have written (a page of another length, an exponent out of range or given twice): partial
/// results come from files that may have been damaged on the way (issue 15, item 1).
fn data_to_pages(data: Vec<(u16, Vec<u64>)>) -> Result<Vec<Option<Page>>, String> {
    let mut pages: Vec<Option<Page>> = (0..2048).map(|_| None).collect();
    for (e, counts) in data {
        if counts.len() != BINS_PER_PAGE {
            return Err(format!(
                "histogram page of {} bins (accepted: {BINS_PER_PAGE})",
                counts.len()
            ));
        }
        let slot = pages
            .get_mut(e as usize)
            .ok_or_else(|| format!("histogram exponent {e} (accepted: 0..2047)"))?;
        if slot.is_some() {
            return Err(format!("histogram exponent {e} given twice"));
        }
        let mut page = Box::new([0u64; BINS_PER_PAGE]);
        page.copy_from_slice(&counts);
        *slot = Some(page);
    }
    Ok(pages)
}

/// Sum of the counts of `pages`, or None on overflow.
fn page_total(pages: &[Option<Page>]) -> Option<u64> {
    pages
        .iter()
        .flatten()
        .flat_map(|p| p.iter())
        .try_fold(0u64, |acc, &c| acc.checked_add(c))
}

impl From<LogHistogram> for HistogramData {
    fn from(h: LogHistogram) -> Self {
        HistogramData {
            positive: pages_to_data(&h.positive),
            negative: pages_to_data(&h.negative),
            exact: h.exact,
            zeros: h.zeros,
            nan: h.nan,
            count: h.count,
            min: h.min,
            max: h.max,
        }
    }
}

impl TryFrom<HistogramData> for LogHistogram {
    type Error = String;

    /// Checks every invariant that quantiles and merges rely on, so that a damaged file is
    /// refused instead of giving wrong quantiles or an index out of bounds.
    fn try_from(d: HistogramData) -> Result<Self, String> {
        let h = LogHistogram {
            positive: data_to_pages(d.positive)?,
            negative: data_to_pages(d.negative)?,
            exact: d.exact,
            zeros: d.zeros,
            nan: d.nan,
            count: d.count,
            min: d.min,
            max: d.max,
        };
        let binned = page_total(&h.positive)
            .zip(page_total(&h.negative))
            .and_then(|(p, n)| p.checked_add(n)?.checked_add(h.zeros));
        if binned != Some(h.count) {
            return Err(format!(
                "histogram bins hold {binned:?} values but its count is {}",
                h.count
            ));
        }
        if h.count.checked_add(h.nan).is_none() {
            return Err("histogram counts overflow".into());
        }
        if h.count > 0 && (h.min.is_nan() || h.max.is_nan() || h.min > h.max) {
            return Err(format!("histogram min {} above max {}", h.min, h.max));
        }
        if let Some(exact) = &h.exact {
            let sorted = exact.windows(2).all(|w| w[0].0.total_cmp(&w[1].0).is_lt());
            let total = exact.iter().try_fold(0u64, |acc, &(x, c)| {
                (!x.is_nan()).then(|| acc.checked_add(c))?
            });
            if exact.len() > EXACT_CAPACITY || !sorted || total != Some(h.count) {
                return Err("histogram table of exact values is inconsistent".into());
            }
        }
        Ok(h)
    }
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// Lower and upper edge (by magnitude) of bin `bin` of binade `exponent`.
fn bin_edges(exponent: usize, bin: usize) -> (f64, f64) {
    let base = (exponent as u64) << MANTISSA_BITS;
    let lo = f64::from_bits(base | ((bin as u64) << SHIFT));
    let hi = f64::from_bits(base + (((bin as u64) + 1) << SHIFT));
    (lo, hi)
}

/// The bin of a non-zero, non-NaN value: (negative, biased exponent, bin in the page).
#[inline]
pub(crate) fn bin_of(x: f64) -> (bool, usize, usize) {
    let bits = x.to_bits();
    let exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as usize;
    let bin = ((bits >> SHIFT) as usize) & (BINS_PER_PAGE - 1);
    (bits >> 63 == 1, exponent, bin)
}

/// Edges (low < high, as values) of a bin of the positive or the negative table.
pub(crate) fn bin_edges_signed(exponent: usize, bin: usize, negative: bool) -> (f64, f64) {
    let (lo, hi) = bin_edges(exponent, bin);
    if negative {
        (-hi, -lo)
    } else {
        (lo, hi)
    }
}

impl LogHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LogHistogram {
            positive: (0..2048).map(|_| None).collect(),
            negative: (0..2048).map(|_| None).collect(),
            exact: Some(Vec::new()),
            zeros: 0,
            nan: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
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
        let x = x + 0.0; // −0 becomes +0: one bin for zero.
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if let Some(exact) = &mut self.exact {
            match exact.binary_search_by(|(v, _)| v.total_cmp(&x)) {
                Ok(i) => exact[i].1 += 1,
                Err(i) if exact.len() < EXACT_CAPACITY => exact.insert(i, (x, 1)),
                Err(_) => self.exact = None,
            }
        }
        if x == 0.0 {
            self.zeros += 1;
            return;
        }
        let bits = x.to_bits();
        let exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as usize;
        let bin = ((bits >> SHIFT) as usize) & (BINS_PER_PAGE - 1);
        let table = if bits >> 63 == 1 {
            &mut self.negative
        } else {
            &mut self.positive
        };
        table[exponent].get_or_insert_with(|| Box::new([0; BINS_PER_PAGE]))[bin] += 1;
    }

    /// Adds every count of `other` (exact and commutative).
    pub fn merge(&mut self, other: &LogHistogram) {
        for (mine, theirs) in [
            (&mut self.positive, &other.positive),
            (&mut self.negative, &other.negative),
        ] {
            for (e, page) in theirs.iter().enumerate() {
                let Some(page) = page else { continue };
                let target = mine[e].get_or_insert_with(|| Box::new([0; BINS_PER_PAGE]));
                for (t, c) in target.iter_mut().zip(page.iter()) {
                    *t += c;
                }
            }
        }
        self.exact = match (self.exact.take(), &other.exact) {
            (Some(mut a), Some(b)) => {
                for &(x, c) in b {
                    match a.binary_search_by(|(v, _)| v.total_cmp(&x)) {
                        Ok(i) => a[i].1 += c,
                        Err(i) => a.insert(i, (x, c)),
                    }
                }
                (a.len() <= EXACT_CAPACITY).then_some(a)
            }
            _ => None,
        };
        self.zeros += other.zeros;
        self.nan += other.nan;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Approximate bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let pages = self.positive.iter().chain(&self.negative).flatten().count();
        pages * std::mem::size_of::<[u64; BINS_PER_PAGE]>()
            + 2 * 2048 * std::mem::size_of::<Option<Page>>()
    }

    /// Visits the non-empty bins in increasing order of value as (count, low, high) where
    /// low < high are the bin's edges as values; stops when `visit` returns false.
    fn for_each_bin(&self, mut visit: impl FnMut(u64, f64, f64) -> bool) {
        for e in (0..2048).rev() {
            if let Some(page) = &self.negative[e] {
                for (b, &c) in page.iter().enumerate().rev().filter(|(_, &c)| c > 0) {
                    let (lo, hi) = bin_edges(e, b);
                    if !visit(c, -hi, -lo) {
                        return;
                    }
                }
            }
        }
        if self.zeros > 0 && !visit(self.zeros, 0.0, 0.0) {
            return;
        }
        for e in 0..2048 {
            if let Some(page) = &self.positive[e] {
                for (b, &c) in page.iter().enumerate().filter(|(_, &c)| c > 0) {
                    let (lo, hi) = bin_edges(e, b);
                    if !visit(c, lo, hi) {
                        return;
                    }
                }
            }
        }
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
        if let Some(exact) = &self.exact {
            return levels
                .iter()
                .map(|&q| self.exact_quantile(exact, q))
                .collect();
        }
        // Non-empty bins in value order as (count, low, high), clamped to the observed range;
        // inside a bin the j-th of n values is taken at low + (j − ½)/n·(high − low).
        let (min, max) = (self.min, self.max);
        let mut bins: Vec<(u64, f64, f64)> = Vec::new();
        self.for_each_bin(|count, lo, hi| {
            let lo = lo.max(min);
            let hi = hi.min(max).max(lo);
            bins.push((count, lo, hi));
            true
        });
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
        assert!(h.exact.is_none());
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
        short_page.positive[0].1.pop();
        let mut bad_exponent = good();
        bad_exponent.positive[0].0 = 4000;
        let mut twice = good();
        twice.positive.push(twice.positive[0].clone());
        let mut miscounted = good();
        miscounted.count += 1;
        let mut unsorted = good();
        unsorted.exact.as_mut().unwrap().reverse();
        for (what, d) in [
            ("short page", short_page),
            ("exponent", bad_exponent),
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
