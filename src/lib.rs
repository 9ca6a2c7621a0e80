//! tariffsim: a Monte Carlo engine for the macro impact of trade policy.
//!
//! A draw is a point of the unit cube; the sampler makes it, the copula correlates it, the
//! quantile functions of [`dist`] turn it into parameter values, the [`kernel`] turns those
//! into outputs, and [`stats`] summarises the outputs block by block.
//!
//! ```
//! use tariffsim::{model, run};
//! let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml").unwrap();
//! let config = run::RunConfig { draws: 2048, ..Default::default() };
//! let outcome = run::run(&model, &config).unwrap();
//! let export_loss = outcome.stats.output_summary(tariffsim::outputs::EXPORT_LOSS);
//! assert!(export_loss.mean > 0.0);
//! ```
#![deny(missing_docs)]

pub mod backtest;
pub mod dist;
pub(crate) mod fastmath;
pub mod kernel;
pub mod model;
mod mpi;
pub mod outputs;
pub mod report;
pub mod run;
pub mod sampling;
pub mod sensitivity;
pub mod stats;
pub mod summary;
pub mod sweep;
/// Synthetic models of any size, for benchmarks (`benches/engine.rs`) and the binary's
/// `bench --sectors`; not part of the API.
#[doc(hidden)]
pub mod synthetic;
