//! Fixtures shared by the integration test binaries (`tests/<group>/main.rs` each declare
//! `#[path = "../common/mod.rs"] mod common;`). Each binary uses a subset, hence the allow.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use tariffsim::model::{compile_model, Model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};

/// The `tariffsim` binary built with these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tariffsim"))
}

/// Runs the binary with `args` and collects its output.
pub fn run_bin(args: &[&str]) -> Output {
    bin()
        .args(args)
        .output()
        .expect("the tariffsim binary starts")
}

/// The embedded default model, compiled.
pub fn default_model() -> Model {
    compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).expect("the default model compiles")
}

/// A path as a command-line argument (the temp dirs of the tests are UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// `DIR/summary.json`, parsed.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json exists");
    serde_json::from_str(&text).expect("summary.json is JSON")
}
