//! Partial results: the statistics of some blocks of a run, saved so that shards, checkpoints
//! and MPI ranks can be combined into the full result (issue #7).
//!
//! A partial result carries the model text, the overrides and the run settings, so `merge`
//! needs nothing else; the statistics merge exactly, so the merged summary is bit-identical to
//! a single-process run of the same seed and draws.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::stopping::BatchMeans;
use super::RunConfig;
use crate::model::{self, Model};
use crate::sampling::{block_count, SamplerKind};
use crate::stats::RunStats;

/// First bytes of a partial result. Version 2 added the batch means of a run with a target
/// standard error, so that such a run can resume from a checkpoint.
const MAGIC: &[u8] = b"TARIFFSIM-PARTIAL-2\n";

/// The statistics of a set of blocks of one run, with everything needed to check and merge it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartialResult {
    /// tariffsim version that wrote it.
    pub version: String,
    /// Model file as given.
    pub model_file: String,
    /// SHA-256 of the model text.
    pub model_sha256: String,
    /// The model text itself.
    pub model_text: String,
    /// `--set` overrides applied to the model.
    pub overrides: Vec<String>,
    /// Draws of the whole run.
    pub draws: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler name.
    pub sampler: String,
    /// Completed block ranges, sorted and disjoint.
    pub completed: Vec<(u64, u64)>,
    /// Wall time spent on these blocks, seconds.
    pub elapsed_s: f64,
    /// Threads used.
    pub threads: usize,
    /// The merged statistics of the completed blocks.
    pub stats: RunStats,
    /// With a target standard error: the batch means of the completed blocks, in block order.
    pub batch_means: Option<BatchMeans>,
}

/// Why partial results could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Partial results that do not belong together or do not cover the run.
    #[error("{0}")]
    Mismatch(String),
}

impl PartialResult {
    /// A partial result of `model` and `config` covering `completed` blocks.
    pub fn new(
        model: &Model,
        model_text: &str,
        config: &RunConfig,
        completed: Vec<(u64, u64)>,
        stats: RunStats,
        elapsed_s: f64,
        threads: usize,
    ) -> Self {
        PartialResult {
            version: env!("CARGO_PKG_VERSION").into(),
            model_file: model.source.file.clone(),
            model_sha256: model.source.sha256.clone(),
            model_text: model_text.to_string(),
            overrides: model.overrides.clone(),
            draws: config.draws,
            seed: config.seed,
            sampler: config.sampler_label(),
            completed,
            elapsed_s,
            threads,
            stats,
            batch_means: None,
        }
    }

    /// Whether `other` is part of the same run: same model text, overrides, draws, seed and
    /// sampler (the inputs that decide every block's numbers).
    pub fn same_run(&self, other: &PartialResult) -> bool {
        self.model_sha256 == other.model_sha256
            && self.overrides == other.overrides
            && self.draws == other.draws
            && self.seed == other.seed
            && self.sampler == other.sampler
    }

    /// Whether this is a part of a run of `config` on `model` (see [`PartialResult::same_run`]).
    pub fn is_run_of(&self, model: &Model, config: &RunConfig) -> bool {
        self.model_sha256 == model.source.sha256
            && self.overrides == model.overrides
            && self.draws == config.draws
            && self.seed == config.seed
            && self.sampler == config.sampler_label()
    }

    /// Encodes to bytes (a magic line, then postcard).
    pub fn to_bytes(&self) -> Result<Vec<u8>, PartialError> {
        let mut out = MAGIC.to_vec();
        let body = postcard::to_stdvec(self)
            .map_err(|e| PartialError::Mismatch(format!("cannot encode a partial result: {e}")))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decodes bytes written by [`PartialResult::to_bytes`]; `path` names them in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, PartialError> {
        let body = bytes.strip_prefix(MAGIC).ok_or_else(|| PartialError::File {
            path: path.into(),
            message: "not a tariffsim partial result (wrong header); accepted: a partial result written by a shard, a checkpoint or an MPI rank".into(),
        })?;
        postcard::from_bytes(body).map_err(|e| PartialError::File {
            path: path.into(),
            message: format!("corrupt or older-version partial result ({e}); run that part again"),
        })
    }

    /// The model of this run, recompiled from the stored text with the stored overrides.
    pub fn model(&self) -> Result<Model, PartialError> {
        let m = model::compile_model(&self.model_text, &self.model_file)
            .map_err(|e| PartialError::Mismatch(format!("stored model does not compile: {e}")))?;
        model::apply_overrides(&m, &self.overrides)
            .map_err(|e| PartialError::Mismatch(format!("stored overrides fail: {e}")))
    }

    /// The run settings (threads left to the caller).
    pub fn config(&self) -> Result<RunConfig, PartialError> {
        let (sampler, antithetic) = SamplerKind::from_label(&self.sampler)
            .ok_or_else(|| PartialError::Mismatch(format!("unknown sampler `{}`", self.sampler)))?;
        Ok(RunConfig {
            draws: self.draws,
            seed: self.seed,
            threads: 0,
            sampler,
            antithetic,
        })
    }
}

/// The blocks of shard `k` (1-based) of `n`: contiguous ranges that together cover the run.
pub fn shard_blocks(draws: u64, k: u64, n: u64) -> Range<u64> {
    let total = block_count(draws);
    let lo = (total as u128 * (k - 1) as u128 / n as u128) as u64;
    let hi = (total as u128 * k as u128 / n as u128) as u64;
    lo..hi
}

/// Adds `range` to sorted disjoint `ranges`, coalescing neighbours.
pub fn add_range(ranges: &mut Vec<(u64, u64)>, range: Range<u64>) {
    if range.is_empty() {
        return;
    }
    ranges.push((range.start, range.end));
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges.iter() {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    *ranges = out;
}

/// Merges partial results of one run into one; they must share model, overrides and settings,
/// must not overlap, and (when `require_complete`) must cover every block.
pub fn merge(
    parts: Vec<PartialResult>,
    require_complete: bool,
) -> Result<PartialResult, PartialError> {
    let mut iter = parts.into_iter();
    let mut merged = iter
        .next()
        .ok_or_else(|| PartialError::Mismatch("no partial results to merge".into()))?;
    for p in iter {
        if !p.same_run(&merged) {
            return Err(PartialError::Mismatch(format!(
                "partial results of different runs: ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}) vs ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}); accepted: shards of one run (same model, overrides, draws, seed and sampler)",
                merged.model_file, &merged.model_sha256[..12.min(merged.model_sha256.len())], merged.draws, merged.seed, merged.sampler, merged.overrides,
                p.model_file, &p.model_sha256[..12.min(p.model_sha256.len())], p.draws, p.seed, p.sampler, p.overrides
            )));
        }
        for &(a, b) in &p.completed {
            if merged.completed.iter().any(|&(c, d)| a < d && c < b) {
                return Err(PartialError::Mismatch(format!(
                    "blocks {a}..{b} appear in two partial results (a shard given twice?)"
                )));
            }
        }
        for &(a, b) in &p.completed {
            add_range(&mut merged.completed, a..b);
        }
        if p.batch_means.is_some() {
            return Err(PartialError::Mismatch(
                "a partial result of a run with a target standard error cannot be merged with others; accepted: shards of a run of fixed draws".into(),
            ));
        }
        merged.stats.merge(&p.stats);
        merged.elapsed_s = merged.elapsed_s.max(p.elapsed_s);
        merged.threads += p.threads;
    }
    if require_complete {
        let total = block_count(merged.draws);
        if merged.completed != [(0, total)] {
            let mut missing = Vec::new();
            let mut at = 0;
            for &(a, b) in &merged.completed {
                if a > at {
                    missing.push(format!("{at}..{a}"));
                }
                at = b;
            }
            if at < total {
                missing.push(format!("{at}..{total}"));
            }
            return Err(PartialError::Mismatch(format!(
                "the partial results do not cover the run: blocks {} missing (of 0..{total}); accepted: all n shards of a split into n",
                missing.join(", ")
            )));
        }
    }
    Ok(merged)
}
