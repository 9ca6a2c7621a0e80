//! `tariffsim lines ...` (MODEL.md §14) and the synthetic line model of `bench --lines`.

use std::path::PathBuf;

use clap::Subcommand;
use tariffsim::lines::comtrade::{import, read_concordance, ImportOptions};
use tariffsim::model::{self, Model};

use super::render::{print_stdout, Failure};

/// What `tariffsim lines` does.
#[derive(Debug, Subcommand)]
pub(crate) enum LinesCommand {
    /// Turn a UN Comtrade CSV download (one reporter, partner and year) into a line file
    /// (docs/lines.md).
    Import {
        /// The Comtrade CSV (Comtrade+ "Download CSV", or the API with format=csv).
        input: PathBuf,
        /// Reporter: UN M49 code (410) or ISO3 (KOR).
        #[arg(long)]
        reporter: String,
        /// Partner: UN M49 code (842) or ISO3 (USA).
        #[arg(long)]
        partner: String,
        /// Reference year.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1962..=2100))]
        year: u32,
        /// Trade flow: X (exports of the reporter), M, RX or RM.
        #[arg(long, default_value = "X", value_parser = ["X", "M", "RX", "RM"])]
        flow: String,
        /// Digits of the commodity codes kept (6 = HS6).
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(2..=16))]
        digits: u64,
        /// Multiplier from USD to the model's units (1e-9 = USD bn).
        #[arg(long, default_value_t = 1e-9)]
        scale: f64,
        /// CSV with columns prefix,sector: each code goes to the sector of its longest matching
        /// prefix (`*` = every other code).
        #[arg(long, value_name = "FILE")]
        concordance: Option<PathBuf>,
        /// The line file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn read_text(path: &std::path::Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| Failure {
        code: 1,
        message: format!("error: {}: cannot read: {e}", path.display()),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::invalid(format!(
            "{}: the file is not valid UTF-8 (byte {}); accepted: UTF-8 text (Comtrade's CSV export is UTF-8)",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Runs a `lines` subcommand.
pub(crate) fn run(command: LinesCommand) -> Result<(), Failure> {
    match command {
        LinesCommand::Import {
            input,
            reporter,
            partner,
            year,
            flow,
            digits,
            scale,
            concordance,
            out,
        } => {
            if !(scale.is_finite() && scale > 0.0) {
                return Err(Failure::invalid(format!(
                    "--scale {scale}: accepted: a number > 0 (1e-9 for USD bn, 1e-6 for USD mn)"
                )));
            }
            let concordance = match &concordance {
                Some(path) => {
                    let text = read_text(path)?;
                    Some(read_concordance(&text, &path.display().to_string())?)
                }
                None => None,
            };
            let text = read_text(&input)?;
            let options = ImportOptions {
                reporter,
                partner,
                year,
                flow,
                digits: digits as usize,
                scale,
            };
            let imported = import(
                &text,
                &input.display().to_string(),
                &options,
                concordance.as_deref(),
            )?;
            tariffsim::report::write_atomic(&out, imported.text.as_bytes()).map_err(|e| {
                Failure {
                    code: 1,
                    message: format!("error: cannot write: {e}"),
                }
            })?;
            print_stdout(&format!(
                "{} lines, exports {} (model units), written to {}; skipped {} rows with a zero value and {} of other code lengths\n",
                imported.lines,
                imported.total,
                out.display(),
                imported.zero_rows,
                imported.other_levels
            ));
            Ok(())
        }
    }
}

/// The synthetic model of `bench --lines N`: written to a temporary folder (the model names
/// its line file by a relative path) and compiled.
pub(crate) fn synthetic(lines: usize, sectors: usize, paths: bool) -> Result<Model, Failure> {
    let (mut text, csv) = tariffsim::synthetic::synthetic_lines_model(lines, sectors);
    if paths {
        text = tariffsim::synthetic::with_line_paths(&text, sectors.clamp(1, lines.max(1)));
    }
    let dir = tempfile::tempdir().map_err(|e| Failure {
        code: 1,
        message: format!("error: cannot create a temporary folder: {e}"),
    })?;
    let io = |e: std::io::Error| Failure {
        code: 1,
        message: format!("error: cannot write the synthetic model: {e}"),
    };
    std::fs::write(dir.path().join("lines.csv"), csv).map_err(io)?;
    let path = dir.path().join("synthetic_lines.toml");
    std::fs::write(&path, text).map_err(io)?;
    Ok(model::load_model(&path)?)
}
