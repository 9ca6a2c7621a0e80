//! The public facade at the crate root (issue 14): `Model::run` is the CLI's run bit for bit,
//! collected draws are draws.csv, errors name model keys and never flags, and the typed
//! distribution constructors validate like a model file and sample the laws `rand_distr` does.

#[path = "../common/mod.rs"]
mod common;

mod facade;
