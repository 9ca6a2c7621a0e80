//! tariffsim: a Monte Carlo engine for the macro impact of trade policy.
//!
//! A draw is a point of the unit cube; the sampler makes it, the copula correlates it, the
//! quantile functions of [`dist`] turn it into parameter values, the [`kernel`] turns those
//! into outputs, and [`stats`] summarises the outputs block by block.
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

pub mod batch;
pub mod cli;
pub mod dist;
pub mod draws;
pub mod engine;
mod error;
mod facade;
pub mod fastmath;
pub mod kernel;
pub mod model;
pub mod mpi;
pub mod outputs;
pub mod partial;
pub mod report;
pub mod sampling;
pub mod sensitivity;
pub mod stats;
pub mod stopping;
pub mod summary;
pub mod synthetic;

pub use dist::{DistError, Distribution};
pub use draws::{Cancel, DrawCollector, Draws};
pub use engine::{RunConfig, SamplerKind};
pub use error::Error;
pub use model::Model;
pub use summary::{OutputSummary, Summary};

/// The README, compiled and run as a doctest so that its "Library" example stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
