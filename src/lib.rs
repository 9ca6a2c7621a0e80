//! tariffsim: a Monte Carlo engine for the macro impact of trade policy.
//!
//! A draw is a point of the unit cube; the sampler makes it, the copula correlates it, the
//! quantile functions of [`dist`] turn it into parameter values, the [`kernel`] turns those
//! into outputs, and [`stats`] summarises the outputs block by block.
//!
//! ```
//! use tariffsim::{engine, model};
//! let model = model::compile_model(model::DEFAULT_MODEL_TEXT, "korea_us_2025.toml").unwrap();
//! let config = engine::RunConfig { draws: 2048, ..Default::default() };
//! let outcome = engine::run(&model, &config, &[]).unwrap();
//! let export_loss = outcome.stats.output_summary(tariffsim::outputs::EXPORT_LOSS);
//! assert!(export_loss.mean > 0.0);
//! ```
#![deny(missing_docs)]

pub mod backtest;
pub mod batch;
pub mod cli;
pub mod dist;
pub mod engine;
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
