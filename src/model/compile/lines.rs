//! Compilation of `[lines]`, sectors' `codes` and `hs:` keys of regime tables (MODEL.md §14).

use std::path::Path;

use toml::Spanned;

use super::{Compiler, Slot};
use crate::lines::{
    diagnostic_at, longest_prefix, read_line_file, valid_code, Line, CATCH_ALL, CODE_RULE,
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
                let zero = |v: &toml::Value| v.as_float() == Some(0.0) || v.as_integer() == Some(0);
                if let Some(h) = raw.half_life_months.as_ref().filter(|h| !zero(h.get_ref())) {
                    // The monthly path of a gradual adjustment is non-linear in V, so it would
                    // have to run per line; not implemented yet (docs/lines.md).
                    self.error(
                        h.span(),
                        &format!("{key}.half_life_months"),
                        "a sector backed by tariff lines adjusts at once in this version; accepted: no half_life_months on a sector that takes lines".into(),
                    );
                }
                // MODEL.md §10 inside lines (θ_j scaled by (1 − θ_line)/(1 − θ_sector)) is not
                // in the line solve yet: refused rather than solved as if no competitor were named.
                let named = raw.competitor_shares.as_ref().map(|t| t.span());
                let eta = raw.competitor_eta.as_ref().map(|t| t.span());
                if let Some(span) = named.or(eta) {
                    self.error(
                        span,
                        &format!("{key}.competitor_shares"),
                        "named competitors (competitor_shares, competitor_eta) on a sector backed by tariff lines are not supported in this version; accepted: a line-backed sector without them (its competitors are the composite of §2), or the sector without lines".into(),
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
