//! The statistics of a run: moments, quantiles and their standard errors, the target-SE
//! stopping rule, Sobol sensitivity indices (Ishigami and the trade model), and the backtest's
//! scores and update (issue 12).

#[path = "../common/mod.rs"]
mod common;

mod backtest;
mod moments;
mod quantile_se;
mod sensitivity_ishigami;
mod sensitivity_model;
mod target_se;
