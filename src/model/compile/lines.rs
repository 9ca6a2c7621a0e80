//! Compilation of `[lines]`, sectors' `codes` and `hs:` keys of regime tables (MODEL.md §14).

use std::path::Path;

use toml::Spanned;

use super::{Compiler, Slot};
use crate::lines::{
    competitor_scale, diagnostic_at, longest_prefix, read_line_file, valid_code, Line, CATCH_ALL,
    CODE_RULE,
};
use crate::model::error::ModelError;
use crate::model::schema::{RawLines, RawSector};
use crate::model::Sector;

/// Relative exports of a sector that may differ from the sum of its lines (MODEL.md §14).
pub(crate) const EXPORTS_TOLERANCE: f64 = 1e-9;

impl Compiler<'_> {
    /// A constant holding a line's base tariff, shared by every line with the same value.
    pub(super) fn line_constant(&mut self, value: f64) -> Slot {
        if let Some(&slot) = self.line_constants.get(&value.to_bits()) {
            return slot;
        }
        let slot = self.constant(value);
        self.line_constants.insert(value.to_bits(), slot);
        slot
    }

    /// Checks an `"hs:<prefix>"` key of a regime table: a valid code prefix in a model with
    /// lines. A prefix that matches no line is allowed (a tariff list names codes the exporter
    /// may not ship) but warned about.
    pub(super) fn check_hs_key(
        &mut self,
        key: &Spanned<String>,
        code: &str,
        path: &str,
        lines: &[Line],
    ) -> bool {
        if lines.is_empty() && self.lines_declared {
            // The line file failed; its errors say why, one per key would only repeat it.
            return false;
        }
        if lines.is_empty() {
            self.error(
                key.span(),
                path,
                "an `hs:` key needs tariff lines; accepted: sector ids and `default`, or add a [lines] file (docs/lines.md)".into(),
            );
            return false;
        }
        if !valid_code(code) {
            self.error(
                key.span(),
                path,
                format!("invalid code prefix `{code}`; accepted: \"hs:\" followed by {CODE_RULE}"),
            );
            return false;
        }
        if !lines.iter().any(|l| l.code.starts_with(code)) {
            let line = self.line_of(&key.span());
            self.warnings.push(format!(
                "line {line}: `{path}` matches no line of the line file; it sets no rate"
            ));
        }
        true
    }

    /// Reads the line file, assigns each line to a sector (its `sector` cell, else the longest
    /// matching prefix of the sectors' `codes`), fills in the lines' defaults from their sector
    /// and sets each line-backed sector's exports to the sum of its lines.
    pub(super) fn assign_lines(
        &mut self,
        raw_lines: Option<&Spanned<RawLines>>,
        raw_sectors: &[Spanned<RawSector>],
        sectors: &mut [Sector],
        model_file: &str,
    ) -> Vec<Line> {
        self.lines_declared = raw_lines.is_some();
        // `codes` of every sector as (prefix, sector), checked.
        let mut prefixes: Vec<(String, usize)> = Vec::new();
        for (s, raw) in raw_sectors.iter().enumerate() {
            let Some(codes) = &raw.get_ref().codes else {
                continue;
            };
            let key = format!("sectors.{}.codes", sectors[s].id);
            if raw_lines.is_none() {
                self.error(
                    codes.span(),
                    &key,
                    "`codes` needs tariff lines; accepted: add a [lines] file (docs/lines.md), or remove `codes`".into(),
                );
                continue;
            }
            for code in codes.get_ref() {
                let c = code.get_ref().as_str();
                if c != CATCH_ALL && !valid_code(c) {
                    self.error(
                        code.span(),
                        &key,
                        format!("invalid code prefix `{c}`; accepted: {CODE_RULE}, or \"*\" for every line no other sector takes"),
                    );
                } else if let Some((_, other)) = prefixes.iter().find(|(p, _)| p == c) {
                    self.error(
                        code.span(),
                        &key,
                        format!(
                            "prefix `{c}` is already in sectors.{}.codes; accepted: each prefix in one sector",
                            sectors[*other].id
                        ),
                    );
                } else {
                    prefixes.push((c.to_string(), s));
                }
            }
        }
        let mut lines = Vec::new();
        let mut line_exports = vec![0.0; sectors.len()];
        let mut line_share = vec![0.0; sectors.len()];
        let mut has_lines = vec![false; sectors.len()];
        if let Some(raw_lines) = raw_lines {
            let name = raw_lines.get_ref().file.get_ref();
            let path = Path::new(model_file)
                .parent()
                .unwrap_or(Path::new(""))
                .join(name);
            let shown = path.display().to_string();
            match read_line_file(&path, &shown) {
                Err(ModelError::Io { source, .. }) => {
                    // A path that cannot be read is a mistake in the model file.
                    self.error(
                        raw_lines.get_ref().file.span(),
                        "lines.file",
                        format!("cannot read the line file {shown}: {source}; accepted: the path of a CSV file, relative to the model file"),
                    );
                }
                Err(e) => self.line_error = Some(e),
                Ok(file) => {
                    let mut diagnostics = Vec::new();
                    for row in &file.rows {
                        let sector = match &row.sector {
                            Some(id) => match sectors.iter().position(|s| &s.id == id) {
                                Some(s) => Some(s),
                                None => {
                                    let ids: Vec<&str> =
                                        sectors.iter().map(|s| s.id.as_str()).collect();
                                    diagnostics.push(diagnostic_at(
                                        &file.text,
                                        row.sector_offset,
                                        "sector",
                                        format!(
                                            "line `{}` names the unknown sector `{id}`; accepted: a sector id of the model ({})",
                                            row.code,
                                            ids.join(", ")
                                        ),
                                    ));
                                    continue;
                                }
                            },
                            None => {
                                longest_prefix(&row.code, prefixes.iter().map(|p| p.0.as_str()))
                                    .map(|(i, _)| prefixes[i].1)
                            }
                        };
                        let Some(s) = sector else {
                            diagnostics.push(diagnostic_at(
                                &file.text,
                                row.offset,
                                "code",
                                format!(
                                    "line `{}` belongs to no sector: it has no `sector` cell and no sector's `codes` has a prefix of it; accepted: a sector cell, a matching prefix in a sector's codes, or a sector with codes = [\"*\"]",
                                    row.code
                                ),
                            ));
                            continue;
                        };
                        let sector = &sectors[s];
                        let share = match row.share {
                            Some(x) => x,
                            None if sector.share.is_nan() => {
                                diagnostics.push(diagnostic_at(
                                    &file.text,
                                    row.offset,
                                    "share",
                                    format!(
                                        "line `{}` has no share and its sector `{}` none either; accepted: a share in (0, 1] in the line file or on the sector",
                                        row.code, sector.id
                                    ),
                                ));
                                continue;
                            }
                            None => sector.share,
                        };
                        has_lines[s] = true;
                        line_exports[s] += row.exports;
                        line_share[s] += row.exports * share;
                        lines.push(Line {
                            code: row.code.clone(),
                            description: row.description.clone(),
                            sector: s,
                            exports: row.exports,
                            share,
                            base_tariff: row.base_tariff.unwrap_or(sector.base_tariff),
                            competitor_base_tariff: row
                                .competitor_base_tariff
                                .unwrap_or(sector.competitor_base_tariff),
                            // Filled in by `line_competitors` once the competitors' base
                            // tariffs are known.
                            competitor_shares: Vec::new(),
                            rest_share: 1.0 - share,
                            competitor_exports: Vec::new(),
                        });
                    }
                    if !diagnostics.is_empty() {
                        diagnostics.sort_by_key(|d| (d.line, d.column));
                        self.line_error = Some(ModelError::Invalid {
                            file: shown,
                            source_text: file.text.clone(),
                            diagnostics,
                        });
                    }
                }
            }
        }
        for (s, raw) in raw_sectors.iter().enumerate() {
            let raw = raw.get_ref();
            let key = format!("sectors.{}", sectors[s].id);
            let sector = &mut sectors[s];
            if has_lines[s] {
                // MODEL.md §14: a line's θ_j = θ_j,sector·(1 − θ_line)/(1 − θ_sector) needs the
                // sector's own θ; the export-weighted mean of the lines' shares would make the
                // sector's `competitor_shares` mean something that depends on the line file.
                if let (Some(named), None) = (&raw.competitor_shares, &raw.share) {
                    self.error(
                        named.span(),
                        &format!("{key}.competitor_shares"),
                        "named competitors on a sector backed by tariff lines need the sector's own `share` (a line's competitor shares are the sector's scaled by (1 - line share)/(1 - sector share)); accepted: a `share` in (0, 1] on the sector, or no competitor_shares".into(),
                    );
                }
                let sum = line_exports[s];
                if let Some(explicit) = &raw.exports {
                    let x = *explicit.get_ref();
                    if (x - sum).abs() > EXPORTS_TOLERANCE * sum {
                        self.error(
                            explicit.span(),
                            &format!("{key}.exports"),
                            format!(
                                "got {x}, but the sector's lines sum to {sum}; accepted: the sum of its lines within {EXPORTS_TOLERANCE:e} relative, or no `exports` (it is then the sum)"
                            ),
                        );
                    }
                }
                sector.exports = sum;
                if sector.share.is_nan() {
                    // For reports only: the lines carry their own shares.
                    sector.share = line_share[s] / sum;
                }
                continue;
            }
            // A sector without lines needs its own exports and share, as in §2 (unless the
            // line file failed: its errors are reported instead).
            if self.line_error.is_some() {
                continue;
            }
            let span = raw.id.span();
            if raw.exports.is_none() {
                self.error(
                    span.clone(),
                    &format!("{key}.exports"),
                    "missing field `exports`; accepted: a number > 0 (required unless the sector takes lines from a [lines] file)".into(),
                );
            }
            if raw.share.is_none() {
                self.error(
                    span,
                    &format!("{key}.share"),
                    "missing field `share`; accepted: a number in (0, 1] (required unless the sector takes lines that give their own shares)".into(),
                );
            }
        }
        lines
    }
}

/// MODEL.md §14 with §10: each line's shares of its sector's named competitors and `rest`
/// (the sector's mix, scaled by (1 − θ_line)/(1 − θ_sector)) and its competitors' baseline
/// exports X0_j,line = X0_line·(θ_j,line/θ_line)·(1 + τ0_line)/(1 + τ0_j); a line-backed
/// sector's X0_j is then the sum over its lines (a line with the sector's data gets the
/// sector's numbers bit for bit: the same expressions on the same values).
pub(super) fn line_competitors(lines: &mut [Line], sectors: &mut [Sector]) {
    let mut has_lines = vec![false; sectors.len()];
    for line in lines.iter_mut() {
        let sector = &sectors[line.sector];
        has_lines[line.sector] = true;
        let scale = competitor_scale(line.share, sector.share);
        // Without named competitors `rest` is every other supplier (and the sector's own
        // share may be missing: its lines then carry theirs).
        line.rest_share = if sector.share >= 1.0 || sector.competitors.is_empty() {
            1.0 - line.share
        } else {
            sector.rest_share * scale
        };
        line.competitor_shares = sector.competitors.iter().map(|c| c.share * scale).collect();
        line.competitor_exports = sector
            .competitors
            .iter()
            .zip(&line.competitor_shares)
            .map(|(c, &theta_j)| {
                line.exports * (theta_j / line.share) * (1.0 + line.base_tariff)
                    / (1.0 + c.base_tariff)
            })
            .collect();
    }
    for (s, sector) in sectors.iter_mut().enumerate() {
        if !has_lines[s] {
            continue;
        }
        for (k, c) in sector.competitors.iter_mut().enumerate() {
            c.exports = lines
                .iter()
                .filter(|l| l.sector == s)
                .map(|l| l.competitor_exports[k])
                .sum();
        }
    }
}
