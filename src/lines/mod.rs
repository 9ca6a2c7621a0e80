//! Tariff lines (MODEL.md §14): the line file, the Comtrade import that writes one, and the
//! per-line sketch behind `lines.csv`.
//!
//! A sector may be backed by product lines (HS6, HTS8/10 or any code). Lines inherit their
//! sector's draw (σ, ε, η, half-life, growth) and bring their own exports, share and base
//! tariffs; regime tables may set rates by code prefix (`"hs:8708"`). The compiler
//! (`model::compile`) assigns lines to sectors and resolves their rates; the kernel solves
//! each line and sums them into the sector's outputs.

pub mod comtrade;
mod file;
pub mod sketch;

pub(crate) use file::diagnostic_at;
pub use file::{
    parse_line_file, read_line_file, valid_code, LineFile, LineRow, CODE_RULE, COLUMNS,
    MAX_CODE_LEN,
};
pub use sketch::{LineSketches, LineSummary, LINE_QUANTILES, RELATIVE_ACCURACY};

/// The file `--line-outputs` writes into a run's folder.
pub const LINES_CSV: &str = "lines.csv";

/// `lines.csv`: per line of `model`, its code, sector, and the mean, p5, p50 and p95 of its
/// export loss (model units) from `sketches` (accuracy: [`RELATIVE_ACCURACY`], see
/// [`sketch`]). Numbers are written so that they parse back to the same f64.
pub fn lines_csv(model: &crate::model::Model, sketches: &LineSketches) -> std::io::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    out.write_record(["code", "sector", "mean", "p5", "p50", "p95"])
        .map_err(io)?;
    for (l, line) in model.lines.iter().enumerate() {
        let s = sketches.summary(l, line.exports);
        // Codes are letters and digits; a sector id may start with `-`: spreadsheet-safe
        // text cells as in every CSV the tool writes (issue 15, item 4).
        out.write_record([
            crate::report::csv_text(&line.code).into_owned(),
            crate::report::csv_text(&model.sectors[line.sector].id).into_owned(),
            s.mean.to_string(),
            s.quantiles[0].to_string(),
            s.quantiles[1].to_string(),
            s.quantiles[2].to_string(),
        ])
        .map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The prefix of a regime-table key that names code prefixes (`"hs:8708"`).
pub const HS_KEY_PREFIX: &str = "hs:";

/// The catch-all entry of a sector's `codes`.
pub const CATCH_ALL: &str = "*";

/// One product line of a compiled model.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The product code.
    pub code: String,
    /// Free text from the file.
    pub description: String,
    /// Index of its sector in `Model::sectors`.
    pub sector: usize,
    /// X0 of the line (model units per horizon).
    pub exports: f64,
    /// θ of the line.
    pub share: f64,
    /// τ0 of the line.
    pub base_tariff: f64,
    /// c0 of the line.
    pub competitor_base_tariff: f64,
    /// θ_j of the line for each named competitor of its sector (in the sector's
    /// `competitors` order): θ_j,sector·(1 − θ_line)/(1 − θ_sector), 0 when θ_sector = 1
    /// (MODEL.md §14). Empty for a sector without named competitors.
    pub competitor_shares: Vec<f64>,
    /// θ_rest of the line: the sector's θ_rest scaled alike (1 − θ_line when θ_sector = 1).
    pub rest_share: f64,
    /// X0_j of the line for each named competitor of its sector:
    /// X0_line·(θ_j,line/θ_line)·(1 + τ0_line)/(1 + τ0_j) (MODEL.md §10 on the line).
    pub competitor_exports: Vec<f64>,
}

/// The factor (1 − θ_line)/(1 − θ_sector) that scales a sector's named competitors' shares
/// and its `rest` to a line's (MODEL.md §14): the line keeps the sector's mix of the
/// importer's other sources. 0 when θ_sector = 1 (the sector has no other source, and
/// neither has a line of it but `rest`). Taken as one factor, so that a line with the
/// sector's share gets the sector's shares bit for bit.
pub fn competitor_scale(line_share: f64, sector_share: f64) -> f64 {
    if sector_share >= 1.0 {
        0.0
    } else {
        (1.0 - line_share) / (1.0 - sector_share)
    }
}

/// The longest of `prefixes` that `code` starts with, as (index, length); `"*"` matches every
/// code with length 0, so any real prefix beats it.
pub fn longest_prefix<'a, I>(code: &str, prefixes: I) -> Option<(usize, usize)>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(usize, usize)> = None;
    for (i, p) in prefixes.into_iter().enumerate() {
        let len = if p == CATCH_ALL {
            0
        } else if code.starts_with(p) {
            p.len()
        } else {
            continue;
        };
        if best.is_none_or(|(_, l)| len > l) {
            best = Some((i, len));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::longest_prefix;

    #[test]
    fn the_longest_prefix_wins_and_the_catch_all_loses_to_any() {
        let p = ["87", "8708", "*", "870829"];
        assert_eq!(longest_prefix("87082950", p), Some((3, 6)));
        assert_eq!(longest_prefix("870810", p), Some((1, 4)));
        assert_eq!(longest_prefix("8703", p), Some((0, 2)));
        assert_eq!(longest_prefix("7208", p), Some((2, 0)));
        assert_eq!(longest_prefix("7208", ["87"]), None);
    }
}
