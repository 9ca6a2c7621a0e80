//! The stopping rule "until the mean of an output is known well enough" ([`TargetSe`]).
//!
//! The run is cut into groups of [`GROUP_BLOCKS`] blocks, run one after the other with
//! the run driver ([`super::Run`]). After each whole group, in block order, the standard error of the
//! mean of the target output is compared with the target; the run stops at the first group
//! where it is met, or at the cap on draws. The check sees exactly the blocks 0..k·32, whose
//! statistics do not depend on the thread count, so the stopping point depends only on the
//! model, the seed and the sampler.
//!
//! The standard error is a batch-means estimate with one batch per block of 1024 draws:
//! SE² = k/(k−1) · Σ_b (s_b − n_b·m)² / N², where s_b is the sum of block b, n_b its draws, m
//! the overall mean, N the draws and k the blocks. For Monte Carlo this is sd/√N up to noise.
//! Unlike sd/√N it stays valid for antithetic pairs (a pair never straddles two blocks) and for
//! Sobol points (each block is a scrambled (t, 10, d)-net), where it is conservative: the
//! whole run is balanced better than its blocks are.
//!
//! Latin hypercube sampling is refused: it stratifies a declared number of draws, and a run
//! stopped early leaves most strata of its hypercube empty, so neither the stratification nor
//! its error estimate would hold. Sobol points are extensible: every prefix of 2^k draws is a
//! net, which is what a run of unknown length needs.

use serde::{Deserialize, Serialize};

use super::{RunError, Setting};
use crate::model::Model;

/// Blocks per group between two checks of the standard error (32 × 1024 = 32,768 draws).
pub const GROUP_BLOCKS: u64 = 32;

/// A target standard error of the mean of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSe {
    /// Index of the output in the output row.
    pub output: usize,
    /// Its name.
    pub output_name: String,
    /// The standard error to reach (in the output's units, or relative to |mean|).
    pub target: f64,
    /// Whether `target` is relative to the absolute value of the mean.
    pub relative: bool,
}

impl TargetSe {
    /// A target of `target` for the standard error of the mean of output `output_name` of
    /// `model` (relative to |mean| when `relative`).
    pub fn new(
        model: &Model,
        output_name: &str,
        target: f64,
        relative: bool,
    ) -> Result<Self, RunError> {
        let names = crate::outputs::output_names(model);
        let output = names.iter().position(|n| n == output_name).ok_or_else(|| {
            RunError::invalid(
                &[Setting::TargetOutput],
                format!(
                    "{output_name}: unknown output; accepted: {}",
                    names.join(", ")
                ),
            )
        })?;
        Ok(TargetSe {
            output,
            output_name: output_name.to_string(),
            target,
            relative,
        })
    }

    /// Where a run with `batches` (None before the first group) stands against the target.
    pub(super) fn report(
        &self,
        batches: Option<&BatchMeans>,
        max_draws: u64,
        draws: u64,
    ) -> StoppingReport {
        let (mean, se) = batches.map_or((f64::NAN, f64::NAN), |b| {
            let (m, e) = b.mean_se();
            (b.shift + m, e)
        });
        let goal = if self.relative {
            self.target * mean.abs()
        } else {
            self.target
        };
        StoppingReport {
            output: self.output_name.clone(),
            target: self.target,
            relative: self.relative,
            max_draws,
            draws,
            mean,
            se,
            converged: se <= goal,
        }
    }
}

/// How a run with a target standard error ended (the `run.target_se` object of `summary.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoppingReport {
    /// Output whose mean was targeted.
    pub output: String,
    /// The target as given.
    pub target: f64,
    /// Whether the target is relative to |mean|.
    pub relative: bool,
    /// The cap on draws.
    pub max_draws: u64,
    /// Draws actually run.
    pub draws: u64,
    /// Mean of the output at the stop.
    pub mean: f64,
    /// Batch-means standard error of that mean at the stop.
    pub se: f64,
    /// Whether the target was met (false: stopped at the cap).
    pub converged: bool,
}

/// Running batch-means sums of one output, fed in block order; saved in checkpoints so that a
/// resumed run stops where an uninterrupted one would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchMeans {
    /// The output.
    pub output: usize,
    /// The value subtracted before summing (the output at the median input).
    pub shift: f64,
    batches: u64,
    n: f64,
    s: f64,
    s_sq: f64,
    n_s: f64,
    n_sq: f64,
}

impl BatchMeans {
    /// No batches yet.
    pub fn new(output: usize, shift: f64) -> Self {
        BatchMeans {
            output,
            shift,
            batches: 0,
            n: 0.0,
            s: 0.0,
            s_sq: 0.0,
            n_s: 0.0,
            n_sq: 0.0,
        }
    }

    /// Adds a batch (block) of `n` draws whose values less the shift sum to `s`.
    pub fn add(&mut self, n: u64, s: f64) {
        let n = n as f64;
        self.batches += 1;
        self.n += n;
        self.s += s;
        self.s_sq += s * s;
        self.n_s += n * s;
        self.n_sq += n * n;
    }

    /// (mean − shift, standard error of the mean); the SE is NaN with fewer than two batches.
    fn mean_se(&self) -> (f64, f64) {
        let m = self.s / self.n;
        if self.batches < 2 {
            return (m, f64::NAN);
        }
        let k = self.batches as f64;
        let ss = (self.s_sq - 2.0 * m * self.n_s + m * m * self.n_sq).max(0.0);
        (m, (k / (k - 1.0) * ss).sqrt() / self.n)
    }
}
