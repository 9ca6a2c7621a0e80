//! Points and laws: the samplers and the copula, every quantile function against mpmath
//! references, and quantile sampling against rand_distr's independent samplers.

#[path = "../common/mod.rs"]
mod common;

mod copula_block;
mod dist_accuracy;
mod reference_samplers;
mod sampler_runs;
mod samplers;
