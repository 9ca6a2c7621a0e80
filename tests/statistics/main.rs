//! The statistics of a run: moments, quantiles and their standard errors, the target-SE
//! stopping rule, and Sobol sensitivity indices (Ishigami and the trade model).

#[path = "../common/mod.rs"]
mod common;

mod moments;
mod quantile_se;
mod sensitivity_ishigami;
mod sensitivity_model;
mod target_se;
