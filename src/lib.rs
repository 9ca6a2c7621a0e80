//! tariffsim: a Monte Carlo engine for the macro impact of trade policy.
//!
//! A draw is a point of the unit cube; the sampler makes it, the copula correlates it, the
//! quantile functions of [`dist`] turn it into parameter values, the kernel turns those into
//! outputs, and the statistics summarise the outputs block by block.
#![deny(missing_docs)]

pub mod dist;
pub mod sampling;
pub mod sensitivity;
