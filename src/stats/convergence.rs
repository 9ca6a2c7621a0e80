//! The running mean of export loss against the number of draws, for convergence charts.
//!
//! Blocks are grouped into at most [`MAX_SEGMENTS`] consecutive segments; each segment's sums
//! are exact, so the trace is the same whichever worker ran which block.

use super::ExactSum;

/// Upper bound on the points of the trace.
pub const MAX_SEGMENTS: u64 = 2048;

/// Per-segment sums of one output.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Convergence {
    blocks_per_segment: u64,
    shift: f64,
    segments: Vec<(u64, ExactSum, ExactSum)>,
}

/// One point of the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvergencePoint {
    /// Draws so far.
    pub draws: u64,
    /// Mean so far.
    pub mean: f64,
    /// Standard error of that mean.
    pub se: f64,
}

impl Convergence {
    /// Sums for a run of `total_blocks` blocks.
    pub fn new(total_blocks: u64, shift: f64) -> Self {
        let blocks_per_segment = total_blocks.div_ceil(MAX_SEGMENTS).max(1);
        let n = total_blocks.div_ceil(blocks_per_segment) as usize;
        Convergence {
            blocks_per_segment,
            shift,
            segments: vec![(0, ExactSum::new(), ExactSum::new()); n],
        }
    }

    /// Adds block `block`'s values.
    pub fn add_block(&mut self, block: u64, values: impl Iterator<Item = f64>) {
        let (mut n, mut s1, mut s2) = (0u64, 0.0, 0.0);
        for x in values {
            let d = x - self.shift;
            n += 1;
            s1 += d;
            s2 += d * d;
        }
        let i = (block / self.blocks_per_segment) as usize;
        if let Some(seg) = self.segments.get_mut(i) {
            seg.0 += n;
            seg.1.add(s1);
            seg.2.add(s2);
        }
    }

    /// Checks that these sums, read back from a file, have the shape of `expected` (the empty
    /// sums of the same run) and hold exactly `draws` draws.
    pub(crate) fn check_shape(&self, expected: &Convergence, draws: u64) -> Result<(), String> {
        if self.blocks_per_segment != expected.blocks_per_segment
            || self.shift.to_bits() != expected.shift.to_bits()
            || self.segments.len() != expected.segments.len()
        {
            return Err("convergence sums of another shape".into());
        }
        let total = self
            .segments
            .iter()
            .try_fold(0u64, |acc, s| acc.checked_add(s.0));
        if total != Some(draws) {
            return Err(format!(
                "convergence sums of {total:?} draws (run part: {draws})"
            ));
        }
        if !self
            .segments
            .iter()
            .all(|s| s.1.is_well_formed() && s.2.is_well_formed())
        {
            return Err("convergence sums hold non-finite partials".into());
        }
        Ok(())
    }

    /// Adds another accumulator of the same run (exact).
    pub fn merge(&mut self, other: &Convergence) {
        for (a, b) in self.segments.iter_mut().zip(&other.segments) {
            a.0 += b.0;
            a.1.merge(&b.1);
            a.2.merge(&b.2);
        }
    }

    /// The cumulative mean and its standard error after each segment that has draws.
    pub fn trace(&self) -> Vec<ConvergencePoint> {
        let mut out = Vec::new();
        let (mut n, mut s1, mut s2) = (0u64, ExactSum::new(), ExactSum::new());
        for seg in &self.segments {
            if seg.0 == 0 {
                continue;
            }
            n += seg.0;
            s1.merge(&seg.1);
            s2.merge(&seg.2);
            let (a, b, m) = (s1.value(), s2.value(), n as f64);
            let var = if n > 1 {
                ((b - a * a / m) / (m - 1.0)).max(0.0)
            } else {
                f64::NAN
            };
            out.push(ConvergencePoint {
                draws: n,
                mean: self.shift + a / m,
                se: (var / m).sqrt(),
            });
        }
        out
    }
}
