//! Partial results: the statistics of some blocks of a run, saved so that shards, checkpoints
//! and MPI ranks can be combined into the full result (issue #7).
//!
//! A partial result carries the model text, the overrides and the run settings, so `merge`
//! needs nothing else; the statistics merge exactly, so the merged summary is bit-identical to
//! a single-process run of the same seed and draws.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::engine::Engine;
use super::stopping::BatchMeans;
use super::RunConfig;
use crate::model::{self, Model};
use crate::sampling::{block_count, SamplerKind, BLOCK_SIZE};
use crate::stats::RunStats;

/// First bytes of every partial-result file, before the format version.
const MAGIC_PREFIX: &[u8] = b"TARIFFSIM-PARTIAL-";
/// First bytes of a partial-result file of the current format (5): then the body's length
/// (u64, little-endian), the SHA-256 of the body (32 bytes) and the body (postcard). Format 2
/// added the batch means of a run with a target standard error; formats 1 and 2 had no
/// length and no checksum, so a damaged file could merge silently (issue 15, item 1). Format 4
/// stores histograms as sparse chunks of 64 bins with a floor (issue 16, bounded memory).
/// Format 5 adds the state of a backtest (observations, observed draws, weighted statistics:
/// issue 12), so that backtests merge and resume.
const MAGIC: &[u8] = b"TARIFFSIM-PARTIAL-5\n";
/// The format version in [`MAGIC`], for messages.
const FORMAT: u32 = 5;
/// Bytes before the body: magic, length, checksum.
const HEADER_LEN: usize = MAGIC.len() + 8 + 32;
/// Upper bound on the threads a partial result may claim (a sanity bound on a file's field).
const MAX_THREADS: usize = 1 << 24;

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
    /// Of a backtest: its observations, the observed outputs' draws of the completed blocks
    /// and the weighted statistics of the update (see [`crate::backtest::BacktestState`]).
    pub backtest: Option<crate::backtest::BacktestState>,
}

/// Why partial results could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    /// A file that is not an intact partial result (damaged, truncated, extended, of another
    /// format or inconsistent): invalid input.
    #[error("{path}: {message}; accepted: a partial.tariffsim written by a shard, a checkpoint or an MPI rank of this version, unchanged (rerun the shard, or copy the file again)")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A partial result that was asked for cannot be read (no such file or folder, a folder
    /// without one, unreadable): invalid input.
    #[error("{path}: {message}")]
    Unreadable {
        /// The file or folder as given.
        path: String,
        /// What is wrong, and what is accepted.
        message: String,
    },
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
            backtest: None,
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

    /// Encodes to bytes: the magic line, the body's length and SHA-256, then the body
    /// (postcard).
    pub fn to_bytes(&self) -> Result<Vec<u8>, PartialError> {
        // The body is encoded straight after a placeholder header, then the header is filled
        // in: one buffer, not a body and a copy of it (a backtest's state is 8 bytes per draw
        // and observation).
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.resize(HEADER_LEN, 0);
        let mut out = postcard::to_extend(self, out)
            .map_err(|e| PartialError::Mismatch(format!("cannot encode a partial result: {e}")))?;
        let body_len = (out.len() - HEADER_LEN) as u64;
        let digest = Sha256::digest(&out[HEADER_LEN..]);
        out[MAGIC.len()..MAGIC.len() + 8].copy_from_slice(&body_len.to_le_bytes());
        out[MAGIC.len() + 8..HEADER_LEN].copy_from_slice(&digest);
        Ok(out)
    }

    /// Writes what [`PartialResult::to_bytes`] returns to `file` (from its current position)
    /// without holding the body in memory: the body is encoded straight into the file through
    /// its hash, then the header's length and checksum are filled in. A backtest's state (8
    /// bytes per draw and observation, plus its weighted histograms) held in a buffer that
    /// grew by doubling was the largest item of a checkpointed backtest's peak memory.
    pub fn write_to<F: std::io::Write + std::io::Seek>(
        &self,
        file: &mut F,
    ) -> Result<(), PartialError> {
        let io = |e: std::io::Error| {
            PartialError::Mismatch(format!("cannot write a partial result: {e}"))
        };
        let start = file.stream_position().map_err(io)?;
        file.write_all(MAGIC).map_err(io)?;
        file.write_all(&[0; HEADER_LEN - MAGIC.len()]).map_err(io)?;
        let (len, digest) = {
            let body = HashingWriter {
                inner: std::io::BufWriter::with_capacity(1 << 16, &mut *file),
                hasher: Sha256::new(),
                len: 0,
            };
            let mut body = postcard::to_io(self, body).map_err(|e| {
                PartialError::Mismatch(format!("cannot encode a partial result: {e}"))
            })?;
            std::io::Write::flush(&mut body).map_err(io)?;
            (body.len, body.hasher.finalize())
        };
        let end = file.stream_position().map_err(io)?;
        file.seek(std::io::SeekFrom::Start(start + MAGIC.len() as u64))
            .map_err(io)?;
        file.write_all(&len.to_le_bytes()).map_err(io)?;
        file.write_all(&digest).map_err(io)?;
        file.seek(std::io::SeekFrom::Start(end)).map_err(io)?;
        Ok(())
    }

    /// Decodes bytes written by [`PartialResult::to_bytes`]; `path` names them in errors.
    ///
    /// The envelope (format, length, checksum) is verified before anything is decoded, and
    /// everything decoded is then checked against the run it claims to belong to (see
    /// [`PartialResult::validate`]): a damaged file is refused, never merged.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, PartialError> {
        let corrupt = |message: String| PartialError::Corrupt {
            path: path.into(),
            message,
        };
        if !bytes.starts_with(MAGIC_PREFIX) {
            return Err(corrupt(
                "not a tariffsim partial result (wrong header)".into(),
            ));
        }
        if !bytes.starts_with(MAGIC) {
            let version: String = bytes[MAGIC_PREFIX.len()..]
                .iter()
                .take(8)
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            let by = match version.parse::<u32>() {
                Ok(v) if v < FORMAT => ", written by an older version of tariffsim",
                Ok(_) => ", written by a newer version of tariffsim",
                Err(_) => "",
            };
            return Err(corrupt(format!(
                "partial result of format {}{by} (this tariffsim reads format {FORMAT})",
                if version.is_empty() {
                    "unknown"
                } else {
                    &version
                }
            )));
        }
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(format!(
                "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        let (header, body) = bytes.split_at(HEADER_LEN);
        let mut len = [0u8; 8];
        len.copy_from_slice(&header[MAGIC.len()..MAGIC.len() + 8]);
        let declared = u64::from_le_bytes(len);
        if declared != body.len() as u64 {
            return Err(corrupt(format!(
                "{} bytes after the header where the header says {declared} ({})",
                body.len(),
                if (body.len() as u64) < declared {
                    "truncated"
                } else {
                    "bytes added or length damaged"
                }
            )));
        }
        if Sha256::digest(body).as_slice() != &header[MAGIC.len() + 8..] {
            return Err(corrupt("checksum mismatch: the file was damaged".into()));
        }
        let (part, rest): (PartialResult, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| corrupt(format!("undecodable ({e})")))?;
        if !rest.is_empty() {
            return Err(corrupt(format!(
                "{} unexpected bytes at the end",
                rest.len()
            )));
        }
        part.validate().map_err(corrupt)?;
        Ok(part)
    }

    /// Checks a decoded partial result for consistency: the model text matches its SHA-256
    /// and compiles, the settings are valid, the block ranges are sorted, disjoint and inside
    /// the run, and the statistics have the shape of this run's and count exactly the draws of
    /// those blocks. Statistics are indexed by output, scenario and level without further
    /// checks, so this is what keeps a hostile file from panicking or merging.
    pub fn validate(&self) -> Result<(), String> {
        let sha: String = Sha256::digest(self.model_text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if sha != self.model_sha256 {
            return Err("the stored model text does not match its SHA-256".into());
        }
        if !(self.elapsed_s.is_finite() && self.elapsed_s >= 0.0) || self.threads > MAX_THREADS {
            return Err(format!(
                "implausible elapsed time {} s or threads {}",
                self.elapsed_s, self.threads
            ));
        }
        let config = self.config().map_err(|e| e.to_string())?;
        if self.draws == 0 {
            return Err("a run of 0 draws".into());
        }
        let total = block_count(self.draws);
        let mut at = 0;
        let (mut blocks, mut draws) = (0u64, 0u64);
        for &(a, b) in &self.completed {
            if a < at || a >= b || b > total {
                return Err(format!(
                    "block ranges {:?} are not sorted, disjoint and inside 0..{total}",
                    self.completed
                ));
            }
            at = b;
            blocks += b - a;
            draws += b.saturating_mul(BLOCK_SIZE).min(self.draws) - a * BLOCK_SIZE;
        }
        let model = self.model().map_err(|e| e.to_string())?;
        let single = RunConfig {
            threads: 1,
            ..config
        };
        let engine = Engine::new(&model, &single).map_err(|e| e.to_string())?;
        self.stats
            .check_shape(&engine.empty_stats(), draws, blocks)
            .map_err(|e| format!("inconsistent statistics: {e}"))?;
        if let Some(b) = &self.batch_means {
            b.check(&engine, blocks, draws)?;
        }
        match &self.backtest {
            Some(b) => b
                .validate(&model, draws)
                .map_err(|e| format!("inconsistent backtest state: {e}")),
            None => Ok(()),
        }
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
///
/// The parts are taken one at a time (read lazily by the caller, e.g. file by file), each
/// merged into the first and dropped, so merging n shards holds about two shards' statistics
/// at a time rather than n; the first error (unreadable file or mismatch) stops the merge.
pub fn merge(
    parts: impl IntoIterator<Item = Result<PartialResult, PartialError>>,
    require_complete: bool,
) -> Result<PartialResult, PartialError> {
    let mut iter = parts.into_iter();
    let mut merged = iter
        .next()
        .ok_or_else(|| PartialError::Mismatch("no partial results to merge".into()))??;
    // Backtest states, with the blocks each covers: assembled once, in block order, below.
    let mut states = Vec::new();
    if let Some(b) = merged.backtest.take() {
        states.push((merged.completed.clone(), b));
    }
    let backtest = !states.is_empty();
    for p in iter {
        let mut p = p?;
        if !p.same_run(&merged) {
            return Err(PartialError::Mismatch(format!(
                "partial results of different runs: ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}) vs ({}, sha256 {}, draws {}, seed {}, sampler {}, overrides {:?}); accepted: shards of one run (same model, overrides, draws, seed and sampler)",
                merged.model_file, merged.model_sha256.get(..12).unwrap_or(&merged.model_sha256), merged.draws, merged.seed, merged.sampler, merged.overrides,
                p.model_file, p.model_sha256.get(..12).unwrap_or(&p.model_sha256), p.draws, p.seed, p.sampler, p.overrides
            )));
        }
        for &(a, b) in &p.completed {
            if merged.completed.iter().any(|&(c, d)| a < d && c < b) {
                return Err(PartialError::Mismatch(format!(
                    "blocks {a}..{b} appear in two partial results (a shard given twice?)"
                )));
            }
        }
        match (backtest, p.backtest.take()) {
            (true, Some(b)) => states.push((p.completed.clone(), b)),
            (false, None) => {}
            _ => {
                return Err(PartialError::Mismatch(
                    "partial results of a backtest and of a plain run: the observed draws of the plain run's blocks are missing; accepted: the shards of one `tariffsim backtest`, or of one `tariffsim run`".into(),
                ))
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
    if backtest {
        merged.backtest = Some(
            crate::backtest::BacktestState::merge(states, merged.draws)
                .map_err(PartialError::Mismatch)?,
        );
    }
    Ok(merged)
}

/// A writer that hashes and counts what passes through it (the body of a partial file).
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
