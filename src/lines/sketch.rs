//! The per-line sketch behind `lines.csv` (MODEL.md §14): mean and quantiles of each line's
//! export loss in at most 4 KiB per line, whatever the number of draws.
//!
//! Why a fixed-layout histogram written here and not a t-digest or KLL sketch: results must be
//! bit-identical for any thread count and shard split, and blocks reach the statistics in
//! whatever order threads, shards and checkpoints deliver them. A t-digest's merge depends on
//! order (tdigest 1.0) and KLL compacts at random; a histogram whose bins are fixed in advance
//! merges by adding integer counts, which does not depend on order at all. The bins follow
//! DDSketch's relative-accuracy layout (log-spaced, so the error is a fixed fraction of the
//! value), on the line's loss relative to its own exports, r = loss / X0 = 1 − V_annual, whose
//! range is known: r ≤ 1 (a line cannot lose more than its exports) and gains rarely exceed a
//! few times the baseline.
//!
//! Layout ([`BINS`] = 872 `u32` counts, 3,488 bytes per line): one bin for r < −10^3, 522 bins
//! for −10^3 ≤ r ≤ −10^−6, one bin for |r| < 10^−6, 348 bins for 10^−6 ≤ r ≤ 1, 58 bins per
//! decade (bin edges a ratio γ = 10^(1/58) apart). Accuracy: a quantile is reported at the
//! bin's point 2γ·lo/(1 + γ), which is within a relative [`RELATIVE_ACCURACY`] α =
//! (γ − 1)/(γ + 1) = 1.985 % (< 2 %) of every value of the bin; so for the exact nearest-rank quantile
//! x of the line's draws (the ⌈q·n⌉-th smallest), the reported value y satisfies
//! |y − x| ≤ α·|x| when 10^−6 ≤ |x|/X0 ≤ 10^3, and |y − x| ≤ 10^−6·X0 when |x|/X0 < 10^−6.
//! Below −10^3·X0 (a gain of a thousand times the line's exports) the reported value is the
//! smallest draw. Every reported value is clamped to the observed [min, max]. The mean comes
//! from a fixed-point sum of r in units of 2^−56 (an `i128`: integer addition does not depend
//! on order), so each draw is rounded by at most 2^−57·X0 ≈ 7e−18·X0 before it is summed; |r|
//! is capped at 2^40 for the sum, far beyond any economic value. With the sum, the observed
//! range and the draw count a line holds 3,528 bytes, whatever the draws.

/// Bins per decade of |r|.
const PER_DECADE: f64 = 58.0;
/// |r| below this is the zero bin.
pub const ZERO_BAND: f64 = 1e-6;
/// Negative bins: 9 decades, from −10^−6 down to −10^3.
const NEGATIVE: usize = 9 * 58;
/// Positive bins: 6 decades, from 10^−6 up to 1.
const POSITIVE: usize = 6 * 58;
/// Index of the zero bin (bin 0 is below −10^3, bins 1..=522 negative, in value order).
const ZERO: usize = NEGATIVE + 1;
/// Counts per line.
pub const BINS: usize = NEGATIVE + POSITIVE + 2;
/// α = (γ − 1)/(γ + 1) = 0.019848, γ = 10^(1/58): the relative accuracy of a reported quantile.
pub const RELATIVE_ACCURACY: f64 = 0.0199;

/// The fixed point of the sum of r: 2^56.
const SUM_SCALE: f64 = (1u64 << 56) as f64;
/// |r| cap for the sum: 2^40·2^56 = 2^96 per draw leaves room for 2^31 draws in an i128.
const SUM_CAP: f64 = (1u64 << 40) as f64;

/// The quantile levels `lines.csv` reports.
pub const LINE_QUANTILES: [f64; 3] = [0.05, 0.5, 0.95];

/// γ, the ratio of a bin's upper and lower edge.
fn gamma() -> f64 {
    10f64.powf(1.0 / PER_DECADE)
}

/// The bin of a relative loss r (finite).
#[inline]
fn bin_of(r: f64) -> usize {
    let a = r.abs();
    if a < ZERO_BAND {
        return ZERO;
    }
    // k = ⌊58·log10(|r| / 10^−6)⌋, by the crate's one ln, the same bits on every machine.
    let k = (crate::fastmath::ln(a * 1e6) * (PER_DECADE / std::f64::consts::LN_10)).floor();
    let k = if k < 0.0 { 0 } else { k as usize };
    if r < 0.0 {
        // Bin 0 holds everything below −10^3.
        NEGATIVE.saturating_sub(k)
    } else {
        ZERO + 1 + k.min(POSITIVE - 1)
    }
}

/// The value reported for bin `i` (before clamping to the observed range): within α of every
/// value of the bin.
fn bin_point(i: usize) -> f64 {
    let g = gamma();
    let centre = |k: usize| 1e-6 * g.powi(k as i32) * 2.0 * g / (1.0 + g);
    match i {
        0 => f64::NEG_INFINITY,
        ZERO => 0.0,
        i if i < ZERO => -centre(NEGATIVE - i),
        i => centre(i - ZERO - 1),
    }
}

/// Mergeable sketches of every line's export loss (`--line-outputs`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LineSketches {
    /// Line after line, [`BINS`] counts each.
    counts: Vec<u32>,
    /// Per line: Σ r in units of 2^−56 (fixed point, so the sum does not depend on order).
    sums: Vec<i128>,
    /// Per line: smallest and largest relative loss r seen.
    min: Vec<f64>,
    max: Vec<f64>,
    /// Per line: draws seen.
    draws: Vec<u64>,
}

/// What `lines.csv` reports for one line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineSummary {
    /// Mean export loss (model units).
    pub mean: f64,
    /// Quantiles at [`LINE_QUANTILES`] (model units).
    pub quantiles: [f64; 3],
}

impl LineSketches {
    /// Empty sketches for `lines` lines.
    pub fn new(lines: usize) -> Self {
        LineSketches {
            counts: vec![0; lines * BINS],
            sums: vec![0; lines],
            min: vec![f64::INFINITY; lines],
            max: vec![f64::NEG_INFINITY; lines],
            draws: vec![0; lines],
        }
    }

    /// Number of lines.
    pub fn lines(&self) -> usize {
        self.sums.len()
    }

    /// Adds the draws of one block for line `l`: `losses` its export loss per draw, `exports`
    /// its X0.
    pub fn add(&mut self, l: usize, losses: &[f64], exports: f64) {
        let counts = &mut self.counts[l * BINS..][..BINS];
        let (mut min, mut max) = (self.min[l], self.max[l]);
        let mut sum: i128 = 0;
        for &loss in losses {
            let r = loss / exports;
            if r.is_nan() {
                continue;
            }
            sum += (r.clamp(-SUM_CAP, SUM_CAP) * SUM_SCALE).round() as i128;
            min = min.min(r);
            max = max.max(r);
            let c = &mut counts[bin_of(r)];
            *c = c.saturating_add(1);
        }
        self.min[l] = min;
        self.max[l] = max;
        self.sums[l] = self.sums[l].saturating_add(sum);
        self.draws[l] += losses.len() as u64;
    }

    /// Adds another set of sketches of the same lines (order-independent).
    pub fn merge(&mut self, other: &LineSketches) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a = a.saturating_add(*b);
        }
        for l in 0..self.lines() {
            self.min[l] = self.min[l].min(other.min[l]);
            self.max[l] = self.max[l].max(other.max[l]);
            self.draws[l] += other.draws[l];
        }
    }

    /// Whether sketches read back from a file have the shape of `expected` and hold `draws`
    /// draws per line.
    pub fn check_shape(&self, expected: &LineSketches, draws: u64) -> Result<(), String> {
        let l = expected.lines();
        if self.sums.len() != l
            || self.counts.len() != l * BINS
            || self.min.len() != l
            || self.max.len() != l
            || self.draws.len() != l
        {
            return Err(format!(
                "line sketches of {} lines; the model has {l}",
                self.sums.len()
            ));
        }
        if self.draws.iter().any(|&d| d != draws) {
            return Err("line sketches hold the wrong number of draws".into());
        }
        Ok(())
    }

    /// Heap bytes held, per line at most 4 KiB (checked by a test).
    pub fn heap_bytes(&self) -> usize {
        self.counts.len() * 4
            + self.sums.len() * 16
            + (self.min.len() + self.max.len() + self.draws.len()) * 8
    }

    /// Mean and quantiles of line `l`'s export loss; `exports` is its X0.
    pub fn summary(&self, l: usize, exports: f64) -> LineSummary {
        let n = self.draws[l];
        let mean = self.sums[l] as f64 / SUM_SCALE / n as f64 * exports;
        let counts = &self.counts[l * BINS..][..BINS];
        let seen: u64 = counts.iter().map(|&c| c as u64).sum();
        let quantiles = LINE_QUANTILES.map(|q| {
            if seen == 0 {
                return f64::NAN;
            }
            // Nearest rank: the ⌈q·n⌉-th smallest value.
            let rank = ((q * seen as f64).ceil() as u64).clamp(1, seen);
            let mut cumulative = 0u64;
            let mut bin = BINS - 1;
            for (i, &c) in counts.iter().enumerate() {
                cumulative += c as u64;
                if cumulative >= rank {
                    bin = i;
                    break;
                }
            }
            let r = bin_point(bin).clamp(self.min[l], self.max[l]);
            r * exports
        });
        LineSummary { mean, quantiles }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_in_value_order_and_points_lie_in_their_bins() {
        let mut previous = 0;
        let mut r = -2e3;
        while r < 1.0 {
            let b = bin_of(r);
            assert!(b >= previous, "r = {r}: bin {b} after {previous}");
            previous = b;
            if b != 0 && b != ZERO {
                let p = bin_point(b);
                assert!(
                    (p - r).abs() <= RELATIVE_ACCURACY * r.abs() * (1.0 + 1e-9),
                    "{r} {p}"
                );
            }
            r = if r.abs() < 1e-7 {
                1e-7
            } else if r < 0.0 {
                r * 0.99
            } else {
                r * 1.01
            };
            if r < 0.0 && r > -1e-7 {
                r = 1e-7;
            }
        }
        assert_eq!(bin_of(1.0), BINS - 1);
        assert_eq!(bin_of(0.0), ZERO);
        assert_eq!(bin_of(-5e3), 0);
    }

    #[test]
    fn accuracy_constant_is_alpha_of_the_layout() {
        let g = gamma();
        assert!(((g - 1.0) / (g + 1.0) - RELATIVE_ACCURACY).abs() < 1e-4);
        assert!((g - 1.0) / (g + 1.0) <= RELATIVE_ACCURACY);
    }

    #[test]
    fn a_line_sketch_fits_in_4_kib_whatever_it_holds() {
        let mut s = LineSketches::new(3);
        let before = s.heap_bytes();
        for k in -300..300 {
            s.add(1, &[10f64.powi(k), -(10f64.powi(k)) * 0.3, f64::NAN], 1.0);
        }
        assert_eq!(s.heap_bytes(), before);
        assert!(before / 3 <= 4096, "{}", before / 3);
        assert_eq!(before / 3, 3528);
    }

    #[test]
    fn the_mean_is_the_mean_to_the_fixed_point() {
        let values: Vec<f64> = (0..5000)
            .map(|i| 0.3 * ((i * 31) % 97) as f64 / 97.0 - 0.01)
            .collect();
        let mut s = LineSketches::new(1);
        s.add(0, &values, 7.5);
        let exact = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (s.summary(0, 7.5).mean - exact).abs() <= 1e-15 * 7.5,
            "{}",
            s.summary(0, 7.5).mean
        );
    }

    #[test]
    fn merge_in_any_order_gives_the_same_bits() {
        let values: Vec<f64> = (0..3000)
            .map(|i| ((i * 7919) % 1000) as f64 / 300.0 - 1.2)
            .collect();
        let mut a = LineSketches::new(1);
        let mut parts = Vec::new();
        for chunk in values.chunks(256) {
            let mut p = LineSketches::new(1);
            p.add(0, chunk, 2.0);
            parts.push(p);
        }
        for p in &parts {
            a.merge(p);
        }
        let mut b = LineSketches::new(1);
        for p in parts.iter().rev() {
            b.merge(p);
        }
        assert_eq!(a, b);
        assert_eq!(a.summary(0, 2.0), b.summary(0, 2.0));
    }
}
