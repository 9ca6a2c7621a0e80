//! Fixtures shared by the integration test binaries (`tests/<group>/main.rs` each declare
//! `#[path = "../common/mod.rs"] mod common;`). Each binary uses a subset, hence the allow.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

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

/// The standard error of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that a command succeeded, showing its standard error when it did not.
#[track_caller]
pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// Waits (at most a minute) until `ready` holds.
pub fn wait_for(mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL: the process gets no chance to clean up.
pub fn kill_9(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Starts the binary with `args` (a run that saves checkpoints into `checkpoint`), waits for
/// its first checkpoint, lets it work `after` longer and kills it without warning: the
/// interruption that `--resume` must recover from.
pub fn kill_after_first_checkpoint(args: &[&str], checkpoint: &Path, after: Duration) {
    let mut child = bin()
        .args(args)
        .spawn()
        .expect("the tariffsim binary starts");
    let file = checkpoint.join("partial.tariffsim");
    wait_for(|| file.exists());
    std::thread::sleep(after);
    kill_9(&mut child);
}
