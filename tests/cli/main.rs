//! The binary in a temp dir: result files, shards, merge, checkpoints, sweeps, several models,
//! report.html and summary.json as written by `tariffsim run`.

#[path = "../common/mod.rs"]
mod common;

mod backtest;
mod batch;
mod competitors;
mod exit_codes;
mod files;
mod folders;
mod report;
mod run;
mod simd_levels;
mod summary;
