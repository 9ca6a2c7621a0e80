//! Variance-based sensitivity analysis (Sobol indices) of any function of a point in the unit cube.
//!
//! The analysis is written against [`Problem`] so that textbook test functions (Ishigami) run
//! through the same code as the trade model. [`sobol_indices`] estimates, for each output and each
//! requested [`Group`] of input coordinates, the first-order and total indices with bootstrap
//! confidence intervals:
//!
//! ```
//! use tariffsim::sensitivity::{sobol_indices, Group, Problem, SobolOptions};
//!
//! /// y = 2·u0 + u1: S0 = 4/5, S1 = 1/5.
//! struct Linear;
//! impl Problem for Linear {
//!     fn dim(&self) -> usize { 2 }
//!     fn n_outputs(&self) -> usize { 1 }
//!     fn evaluate(&self, u: &[f64], out: &mut [f64]) { out[0] = 2.0 * u[0] + u[1]; }
//! }
//!
//! let groups = [Group::new("u0", vec![0]), Group::new("u1", vec![1])];
//! let r = sobol_indices(&Linear, &groups, 1 << 12, 7, &SobolOptions::default()).unwrap();
//! assert!((r.outputs[0].groups[0].first_order - 0.8).abs() < 0.01);
//! ```

pub mod model_problem;
mod saltelli;

pub use model_problem::{
    model_sensitivity, parse_group, ModelProblem, ModelSensitivity, ModelSensitivityError,
    ModelSensitivityOptions,
};
pub use saltelli::sobol_indices;

use crate::sampling::sobol::SamplerError;
use serde::Serialize;

/// A function of a point in the unit cube with one or more outputs.
pub trait Problem: Sync {
    /// Number of input coordinates.
    fn dim(&self) -> usize;
    /// Number of outputs.
    fn n_outputs(&self) -> usize;
    /// Evaluate at `u` (len dim, coordinates in (0,1)) writing n_outputs values into `out`. Must not allocate ideally.
    fn evaluate(&self, u: &[f64], out: &mut [f64]);
}

/// A named set of input coordinates whose joint indices are wanted (one coordinate: a parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Name reported with the indices (a parameter path or a group name).
    pub name: String,
    /// Input coordinates (0-based) that move together.
    pub coords: Vec<usize>,
}

impl Group {
    /// A group named `name` of the coordinates `coords`.
    pub fn new(name: impl Into<String>, coords: Vec<usize>) -> Group {
        Group {
            name: name.into(),
            coords,
        }
    }
}

/// Settings of [`sobol_indices`] other than the sample size and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolOptions {
    /// Bootstrap resamples of the rows for the confidence intervals (0: intervals are NaN).
    pub bootstrap_resamples: usize,
    /// Coverage of the percentile intervals, in (0, 1).
    pub confidence: f64,
    /// Rows per parallel task; fixed so results do not depend on the thread count.
    pub chunk_rows: usize,
}

impl Default for SobolOptions {
    fn default() -> Self {
        SobolOptions {
            bootstrap_resamples: 200,
            confidence: 0.95,
            chunk_rows: 256,
        }
    }
}

/// First-order and total index of one group for one output, with percentile bootstrap intervals.
///
/// Fields are NaN when the output has zero variance (indices undefined); serde_json writes them
/// as `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IndexEstimate {
    /// First-order (closed) index S_G: share of variance explained by G alone.
    pub first_order: f64,
    /// Bootstrap interval of `first_order`, [low, high].
    pub first_order_ci: [f64; 2],
    /// Total index ST_G: share of variance involving any coordinate of G.
    pub total: f64,
    /// Bootstrap interval of `total`, [low, high].
    pub total_ci: [f64; 2],
}

/// The indices of one output, one [`IndexEstimate`] per group in the order the groups were given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputIndices {
    /// Mean of the output over the pooled base samples A and B.
    pub mean: f64,
    /// Variance of the output over the pooled base samples A and B (the denominator V).
    pub variance: f64,
    /// Estimates per group, aligned with [`SobolIndices::group_names`].
    pub groups: Vec<IndexEstimate>,
}

/// Result of [`sobol_indices`]: per output, per group estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SobolIndices {
    /// Base sample size N (rows of A and of B).
    pub samples: usize,
    /// Function evaluations spent: N · (2 + number of groups).
    pub evaluations: usize,
    /// Bootstrap resamples behind the intervals.
    pub bootstrap_resamples: usize,
    /// Coverage of the intervals.
    pub confidence: f64,
    /// Group names, in the order given.
    pub group_names: Vec<String>,
    /// Indices per output, in the problem's output order.
    pub outputs: Vec<OutputIndices>,
}

impl SobolIndices {
    /// The estimate of group `group` (position in the given list) for output `output`.
    pub fn estimate(&self, output: usize, group: usize) -> Option<&IndexEstimate> {
        self.outputs.get(output)?.groups.get(group)
    }
}

/// Why a sensitivity analysis could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SensitivityError {
    /// The problem has no input coordinates.
    #[error("the problem has no input coordinates")]
    ZeroDim,
    /// The problem has no outputs.
    #[error("the problem has no outputs")]
    NoOutputs,
    /// Fewer than two base samples.
    #[error("need at least 2 base samples, got {0}")]
    TooFewSamples(usize),
    /// The sample matrices would not fit in memory addressing.
    #[error("{samples} samples x {groups} groups x {outputs} outputs is too large")]
    TooLarge {
        /// Base samples requested.
        samples: usize,
        /// Groups requested.
        groups: usize,
        /// Outputs of the problem.
        outputs: usize,
    },
    /// No group was requested.
    #[error("no parameter or group was requested")]
    NoGroups,
    /// A group without coordinates.
    #[error("group `{0}` has no coordinates")]
    EmptyGroup(String),
    /// A group names a coordinate the problem does not have.
    #[error("group `{group}` names coordinate {coord}, but the problem has {dim}")]
    CoordOutOfRange {
        /// Group name.
        group: String,
        /// Offending coordinate.
        coord: usize,
        /// Problem dimension.
        dim: usize,
    },
    /// A group lists a coordinate twice.
    #[error("group `{group}` lists coordinate {coord} twice")]
    DuplicateCoord {
        /// Group name.
        group: String,
        /// Repeated coordinate.
        coord: usize,
    },
    /// Confidence level outside (0, 1).
    #[error("confidence must be in (0, 1), got {0}")]
    BadConfidence(f64),
    /// Zero rows per parallel task.
    #[error("chunk_rows must be at least 1")]
    ZeroChunk,
    /// The Saltelli design needs a Sobol sequence of twice the problem dimension.
    #[error("problem dimension {dim} needs a Sobol sequence of dimension {}: {source}", 2 * dim)]
    Sampler {
        /// Problem dimension.
        dim: usize,
        /// The sampler's complaint.
        source: SamplerError,
    },
}
