//! tariffsim: a Monte Carlo engine for the macro impact of trade policy.
//!
//! A draw is a point of the unit cube; the sampler makes it, the copula correlates it, the
//! quantile functions of [`dist`] turn it into parameter values, the [`kernel`] turns those
//! into outputs, and [`stats`] summarises the outputs block by block. [`run`] is the one
//! driver of a run (blocks in parallel, stopping rules, shards, checkpoints, observers),
//! [`summary`] its typed result and [`report`] writes every file; [`sensitivity`] and
//! [`sweep`] are analyses built on top. The command line is the binary's, not the library's.
//!
//! The facade at the crate root is the way in: [`Model`] (load, override, [`Model::run`]),
//! [`RunConfig`], the typed [`Summary`] (the layout of `summary.json`), [`Distribution`] with
//! validated constructors, [`DrawCollector`] for the draws, and one [`Error`] type.
//!
//! ```
//! use tariffsim::{Model, RunConfig};
//! let model = Model::default_model()?;
//! let summary = model.run(&RunConfig { draws: 2048, ..RunConfig::default() })?;
//! let export_loss = &summary.outputs["export_loss"];
//! assert!(export_loss.mean > 0.0 && export_loss.quantile(0.95) > export_loss.mean);
//! # Ok::<(), tariffsim::Error>(())
//! ```
//!
//! The README's "Library" section has a longer example (run as a doctest).
#![deny(missing_docs)]

pub mod backtest;
pub mod deal;
pub mod dist;
pub mod draws;
mod error;
mod facade;
pub(crate) mod fastmath;
pub mod folder;
pub mod kernel;
pub mod lines;
pub mod model;
mod mpi;
pub mod outputs;
pub mod report;
pub mod run;
pub mod sampling;
pub mod sensitivity;
pub mod stats;
pub mod summary;
mod summary_check;
pub mod sweep;
/// Synthetic models of any size, for benchmarks (`benches/engine.rs`) and the binary's
/// `bench --sectors`; not part of the API.
#[doc(hidden)]
pub mod synthetic;

pub use dist::{DistError, Distribution};
pub use draws::{Cancel, DrawCollector, Draws};
pub use error::Error;
pub use fastmath::{SimdLevel, SIMD_ENV};
pub use model::Model;
pub use run::{RunConfig, SamplerKind};
pub use summary::{OutputSummary, Summary};

/// The README, compiled and run as a doctest so that its "Library" example stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
