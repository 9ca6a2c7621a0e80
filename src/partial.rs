//! Partial results: the statistics of some blocks of a run, saved so that shards, checkpoints
//! and MPI ranks can be combined into the full result (issue #7).
//!
//! A partial result carries the model text, the overrides and the run settings, so `merge`
//! needs nothing else; the statistics merge exactly, so the merged summary is bit-identical to
//! a single-process run of the same seed and draws.

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::{block_count, RunConfig};
use crate::model::{self, Model};
use crate::stats::RunStats;

/// First bytes of a partial-result file.
const MAGIC: &[u8] = b"TARIFFSIM-PARTIAL-1\n";

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

/// Name of the partial-result file inside a shard's or checkpoint's folder.
pub const PARTIAL_FILE: &str = "partial.tariffsim";

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
            message: "not a tariffsim partial result (wrong header); accepted: a file written by `tariffsim run --shard` or `--checkpoint`".into(),
        })?;
        postcard::from_bytes(body).map_err(|e| PartialError::File {
            path: path.into(),
            message: format!("corrupt partial result ({e}); rerun the shard"),
        })
    }

    /// Reads `DIR/partial.tariffsim` (or the file itself when given a file).
    pub fn read(path: &Path) -> Result<Self, PartialError> {
        let file = if path.is_dir() {
            path.join(PARTIAL_FILE)
        } else {
            path.to_path_buf()
        };
        let name = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|e| PartialError::File {
            path: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_bytes(&bytes, &name)
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
        let (sampler, antithetic) = crate::engine::SamplerKind::from_label(&self.sampler)
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

/// Runs shard `k` (1-based) of `n` of `config` — for `--shard K/N` and for MPI rank k − 1 —
/// and returns its partial result.
pub fn run_shard(
    model: &Model,
    model_text: &str,
    config: &RunConfig,
    (k, n): (u64, u64),
    sinks: &[&dyn crate::engine::BlockSink],
) -> Result<PartialResult, crate::engine::EngineError> {
    let started = std::time::Instant::now();
    let blocks = shard_blocks(config.draws, k, n);
    let engine = crate::engine::Engine::new(model, config)?;
    let stats = engine.run_blocks(blocks.clone(), sinks)?;
    Ok(PartialResult::new(
        model,
        model_text,
        config,
        vec![(blocks.start, blocks.end)],
        stats,
        started.elapsed().as_secs_f64(),
        engine.threads(),
    ))
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
                "partial results of different runs: ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}) vs ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}); accepted: shards of one run (same model, overrides, --draws, --seed, --sampler)",
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
                "the partial results do not cover the run: blocks {} missing (of 0..{total}); accepted: all N shards of `--shard K/N`",
                missing.join(", ")
            )));
        }
    }
    Ok(merged)
}

/// Writes a partial result atomically into `dir`.
pub fn write(dir: &Path, partial: &PartialResult) -> Result<(), PartialError> {
    let bytes = partial.to_bytes()?;
    crate::report::write_atomic(&dir.join(PARTIAL_FILE), &bytes).map_err(|e| PartialError::File {
        path: dir.join(PARTIAL_FILE).display().to_string(),
        message: e.to_string(),
    })
}
