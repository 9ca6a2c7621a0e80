//! Tariff lines (MODEL.md §14, issue 16): lines summed equal sectors, prefix precedence,
//! inheritance of the sector draw, bad line files, lines.csv accuracy and determinism, and
//! the Comtrade import.

#[path = "../common/mod.rs"]
mod common;

mod bad_files;
mod economics;
mod import;
mod outputs;
mod paths;

use std::path::Path;

use tariffsim::kernel::Evaluator;
use tariffsim::model::{load_model, Model};
use tariffsim::sampling::SamplerKind;

/// The fixed part of every test model.
pub const HEAD: &str = r#"
[model]
name = "lines test"
units = "USD bn"

[baseline]
imports_from_importer = 1.0
gdp = 100.0

[macro]
value_added_share = 0.6
gdp_multiplier = 1.0

[market]
fx_beta = 1.0
equity_beta = 5.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
"#;

/// Writes `model` (after [`HEAD`]) as `model.toml` and `lines` as `lines.csv` into `dir`,
/// returning the model's path.
pub fn write(dir: &Path, model: &str, lines: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("lines.csv"), lines).unwrap();
    let path = dir.join("model.toml");
    std::fs::write(&path, format!("{HEAD}{model}")).unwrap();
    path
}

/// Writes and compiles a model.
pub fn compile(dir: &Path, model: &str, lines: &str) -> Model {
    let path = write(dir, model, lines);
    load_model(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Outputs (draw × output, row-major) and line losses (line × draw) of `draws` Monte Carlo
/// draws of `model` with `seed`, evaluated block by block as the engine does.
pub fn evaluate(model: &Model, draws: u64, seed: u64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let evaluator = Evaluator::new(model);
    let points = SamplerKind::MonteCarlo
        .point_set(model.dimension, draws, seed, false)
        .unwrap();
    let block = tariffsim::sampling::BLOCK_SIZE;
    let mut buf = evaluator.buffers(block as usize);
    let mut rows = Vec::new();
    let mut lines = vec![Vec::new(); model.lines.len()];
    let mut first = 0;
    while first < draws {
        let n = (draws - first).min(block) as usize;
        points.fill_block(first / block, first, buf.points_mut(n));
        evaluator.evaluate(&mut buf, n);
        for row in buf.outputs(n).outer_iter() {
            rows.push(row.to_vec());
        }
        let losses = buf.line_losses();
        for (l, values) in lines.iter_mut().enumerate() {
            if !losses.is_empty() {
                values.extend_from_slice(&losses[l * n..][..n]);
            }
        }
        first += n as u64;
    }
    (rows, lines)
}
