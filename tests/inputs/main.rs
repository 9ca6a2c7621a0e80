//! Invalid input is refused with file:line:col, the rule broken and what is accepted.

#[path = "../common/mod.rs"]
mod common;

mod bad_models;
mod competitors;
mod fuzz_models;
mod partial_files;
mod summary_files;
mod toml_layer;
