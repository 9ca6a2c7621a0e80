//! Validation and compilation of a model file (MODEL.md §2–§8).
//!
//! Every rule is checked and every failure collected, so a user fixes a file in one pass.

use std::collections::HashSet;
use std::ops::Range;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::domain::*;
use super::error::{Diagnostic, LineIndex, ModelError};
use super::schema::{CompetitorRegimes, DistValue, NumberTable, RawModel, TariffTable};
use super::{
    whole_months, Competitor, Macro, Market, Model, ModelSource, Parameter, ParameterGroup, Regime,
    Scenario, Sector, SectorCompetitor, Slot, YearMonth, MAX_MONTHS,
};
use crate::dist::Distribution;

/// `[lines]` and `hs:` keys (MODEL.md §14).
mod lines;
use crate::sampling::copula::{Copula, CopulaError};

/// The embedded default model (the Korea–US 2025 case), compiled into the binary.
pub const DEFAULT_MODEL_TEXT: &str = include_str!("../../models/korea_us_2025.toml");
/// The name under which the embedded model is reported.
pub const DEFAULT_MODEL_FILE: &str = "models/korea_us_2025.toml (embedded)";

/// The `eta = "inf"` spec.
fn inf() -> toml::Value {
    toml::Value::String("inf".into())
}

/// A sum of decimals as a person reads it: 0.6 + 0.3 is 0.9, not 0.8999999999999999 (rounded
/// at 12 decimals, far finer than [`PROBABILITY_TOLERANCE`]; issue 15, item 10).
pub(crate) fn rounded_sum(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// The message for a competitor id that no `[[competitors]]` table defines.
fn unknown_competitor(id: &str, competitor_ids: &[String]) -> String {
    if competitor_ids.is_empty() {
        format!("unknown competitor `{id}`: the model defines no competitors; accepted: the id of a [[competitors]] table")
    } else {
        format!(
            "unknown competitor `{id}`; accepted: {} (the ids of [[competitors]])",
            competitor_ids.join(", ")
        )
    }
}

/// Probabilities must sum to 1 within this tolerance (MODEL.md §4).
pub(crate) const PROBABILITY_TOLERANCE: f64 = 1e-9;

/// Reads and compiles a model file.
pub fn load_model(path: &std::path::Path) -> Result<Model, ModelError> {
    read_model(path).map(|(model, _)| model)
}

/// Reads and compiles a model file, returning its text too (kept in partial results).
pub fn read_model(path: &std::path::Path) -> Result<(Model, String), ModelError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        file: file.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let (line, column) = LineIndex::new(&text).position(offset);
        ModelError::Invalid {
            file: file.clone(),
            diagnostics: vec![Diagnostic {
                line,
                column,
                span: offset..offset,
                key: String::new(),
                message: "the file is not valid UTF-8; accepted: UTF-8 text".into(),
            }],
            source_text: text,
        }
    })?;
    let model = compile_model(&text, &file)?;
    Ok((model, text))
}

/// Parses, validates and compiles model text; `file` names it in errors and in the results.
pub fn compile_model(text: &str, file: &str) -> Result<Model, ModelError> {
    let index = LineIndex::new(text);
    let invalid = |diagnostics: Vec<Diagnostic>| ModelError::Invalid {
        file: file.to_string(),
        source_text: text.to_string(),
        diagnostics,
    };
    let raw: RawModel = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            // Every unknown key, wrong types with their key path and range (issue 15, items
            // 7 and 10): see keys.rs.
            let message = e.message().trim().replace('\n', " ");
            return Err(invalid(super::keys::diagnose(
                text,
                (message, e.span()),
                &index,
                explain_toml_error,
            )));
        }
    };
    compile_raw(raw, text, file)
}

/// Compiles a parsed model file (`text` for positions in errors).
pub(crate) fn compile_raw(raw: RawModel, text: &str, file: &str) -> Result<Model, ModelError> {
    let index = LineIndex::new(text);
    let invalid = |diagnostics: Vec<Diagnostic>| ModelError::Invalid {
        file: file.to_string(),
        source_text: text.to_string(),
        diagnostics,
    };
    let mut compiler = Compiler {
        index: &index,
        diagnostics: Vec::new(),
        params: Vec::new(),
        constants: Vec::new(),
        correlations: Vec::new(),
        warnings: Vec::new(),
        line_error: None,
        line_constants: std::collections::HashMap::new(),
        lines_declared: false,
    };
    let model = compiler.compile(raw, text, file);
    if compiler.diagnostics.is_empty() {
        // The model file is fine; the line file may not be (MODEL.md §14), and its errors
        // name the line file.
        if let Some(e) = compiler.line_error.take() {
            return Err(e);
        }
        if let Some(model) = model {
            return Ok(model);
        }
    }
    let mut diagnostics = compiler.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Err(invalid(diagnostics))
}

/// Adds the accepted forms to serde's terse messages where they are not obvious.
fn explain_toml_error(message: &str) -> String {
    if message.starts_with("missing field") {
        format!("{message}; see docs/model.md §4 (The model file) for the required keys")
    } else {
        message.to_string()
    }
}

struct Compiler<'a> {
    index: &'a LineIndex<'a>,
    diagnostics: Vec<Diagnostic>,
    params: Vec<Parameter>,
    constants: Vec<f64>,
    correlations: Vec<(usize, usize, f64, usize)>,
    /// Values that pass but look like mistakes (a rate of 100 % or more, issue 15 item 9).
    warnings: Vec<String>,
    /// What is wrong with the line file (MODEL.md §14), reported when the model file is fine.
    pub(super) line_error: Option<ModelError>,
    /// Constants of line base tariffs by value: thousands of lines share a handful of rates,
    /// and each constant is a column of every block's value buffer.
    pub(super) line_constants: std::collections::HashMap<u64, Slot>,
    /// Whether the model has a `[lines]` table (even if its file could not be used).
    pub(super) lines_declared: bool,
}

/// What a regime's table entry resolved to for one sector.
type Resolved = Vec<Slot>;

impl Compiler<'_> {
    fn error(&mut self, span: Range<usize>, key: &str, message: String) {
        let (line, column) = self.index.position(span.start);
        self.diagnostics.push(Diagnostic {
            line,
            column,
            span,
            key: key.to_string(),
            message,
        });
    }

    fn constant(&mut self, value: f64) -> Slot {
        self.constants.push(value);
        // Constants live after the parameters; the offset is fixed up in `finish_slots`.
        Slot(u32::MAX - (self.constants.len() as u32 - 1))
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.index.position(span.start).0
    }

    /// Adds a parameter from a distribution slot of the file, checking its domain.
    fn param(&mut self, path: String, value: &DistValue, domain: Domain) -> Slot {
        let span = value.span();
        let dist = match Distribution::from_toml(value.get_ref()) {
            Ok(d) => d,
            Err(e) => {
                let at = match &e.key {
                    Some(k) => self.index.find_key(&span, k),
                    None => span.clone(),
                };
                self.error(at, &path, e.message);
                Distribution::point(f64::NAN)
            }
        };
        if dist.as_point().map(|v| !v.is_nan()).unwrap_or(true) && !domain.admits(&dist) {
            let (a, b) = dist.support();
            let got = if a == b {
                format!("{a}")
            } else {
                format!("a {} distribution with support [{a}, {b}]", dist.kind())
            };
            self.error(
                span.clone(),
                &path,
                format!(
                    "value outside the allowed range: got {got}; accepted: {}{}",
                    domain.text,
                    domain.percent_hint(b)
                ),
            );
        } else {
            let line = self.line_of(&span);
            let warning = domain.large_fraction_warning(&path, line, dist.support().1);
            self.warnings.extend(warning);
        }
        self.push_param(path, dist, &span, value.get_ref().clone(), domain)
    }

    fn push_param(
        &mut self,
        path: String,
        dist: Distribution,
        span: &Range<usize>,
        spec: toml::Value,
        domain: Domain,
    ) -> Slot {
        let line = if span.is_empty() {
            0
        } else {
            self.line_of(span)
        };
        self.params.push(Parameter {
            path,
            dist,
            coordinate: None,
            line,
            spec,
            domain,
        });
        Slot(self.params.len() as u32 - 1)
    }

    /// A parameter whose key may be omitted (MODEL.md §15): 0 when absent, as a constant, so
    /// that a model without the key has the parameters, dimension and draws it had before.
    fn optional_param(&mut self, path: &str, value: Option<&DistValue>, domain: Domain) -> Slot {
        match value {
            Some(v) => self.param(path.to_string(), v, domain),
            None => self.constant(0.0),
        }
    }

    fn number(&mut self, value: &Spanned<f64>, key: &str, domain: Domain) -> f64 {
        let x = *value.get_ref();
        // The bound every distribution's numbers obey (issue 15, item 6), for plain numbers too.
        let max = crate::dist::MAX_MAGNITUDE;
        if x.abs() > max && x.is_finite() {
            self.error(
                value.span(),
                key,
                format!("got {x:e}; accepted: a number of magnitude at most {max:e}"),
            );
        } else if !domain.contains(x) {
            self.error(
                value.span(),
                key,
                format!(
                    "got {x}; accepted: {}{}",
                    domain.text,
                    domain.percent_hint(x)
                ),
            );
        } else {
            let line = self.line_of(&value.span());
            let warning = domain.large_fraction_warning(key, line, x);
            self.warnings.extend(warning);
        }
        x
    }

    fn compile(&mut self, raw: RawModel, text: &str, file: &str) -> Option<Model> {
        let header = raw.model.into_inner();
        let name = header.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.error(
                header.name.span(),
                "model.name",
                "must not be empty; accepted: any non-empty text".into(),
            );
        }
        let horizon_months = match &header.horizon_months {
            Some(h) => self.number(h, "model.horizon_months", POSITIVE),
            None => 12.0,
        };
        let baseline = raw.baseline.get_ref();
        let imports_from_importer = self.number(
            &baseline.imports_from_importer,
            "baseline.imports_from_importer",
            NON_NEGATIVE,
        );
        let gdp = self.number(&baseline.gdp, "baseline.gdp", POSITIVE);
        // MODEL.md §11: growth had nothing happened; a sector's own `growth` overrides it.
        let baseline_growth = match &baseline.growth {
            Some(v) => self.param("baseline.growth".into(), v, GROWTH),
            None => self.constant(0.0),
        };
        let start_month = header.start_month.as_ref().and_then(|s| {
            let parsed = YearMonth::parse(s.get_ref().trim());
            if parsed.is_none() {
                self.error(
                    s.span(),
                    "model.start_month",
                    format!(
                        "`{}` is not a calendar month; accepted: \"YYYY-MM\" with a four-digit year and a month 01-12, e.g. \"2025-04\"",
                        s.get_ref()
                    ),
                );
            }
            parsed
        });
        let monthly = header.monthly.as_ref().is_some_and(|m| *m.get_ref());

        // Named competitors (MODEL.md §10): their ids first, as sectors' shares refer to them.
        let mut competitor_ids = Vec::with_capacity(raw.competitors.len());
        let mut seen = HashSet::new();
        for c in &raw.competitors {
            let c = c.get_ref();
            self.check_id(&c.id, "competitors.id", &mut seen);
            let id = c.id.get_ref().as_str();
            if id == "rest" || id == "default" {
                self.error(
                    c.id.span(),
                    "competitors.id",
                    format!("`{id}` is reserved (the composite of unnamed competitors, and a table's fallback); accepted: any other id"),
                );
            }
            competitor_ids.push(id.to_string());
        }

        // Sectors (MODEL.md §2).
        if raw.sectors.is_empty() {
            self.error(
                0..0,
                "sectors",
                "the model has no sectors; accepted: at least one [[sectors]] table".into(),
            );
        }
        let mut sectors = Vec::with_capacity(raw.sectors.len());
        let mut seen = HashSet::new();
        for spanned in &raw.sectors {
            let s = spanned.get_ref();
            let id = s.id.get_ref().clone();
            self.check_id(&s.id, "sectors.id", &mut seen);
            if id == "default" {
                self.error(
                    s.id.span(),
                    "sectors.id",
                    "`default` is reserved for tariff tables; accepted: any other id".into(),
                );
            }
            let prefix = format!("sectors.{id}");
            // Without lines both are required; with lines they default to the lines' (§14),
            // which `assign_lines` checks below.
            let exports = match &s.exports {
                Some(v) => self.number(v, &format!("{prefix}.exports"), POSITIVE),
                None => f64::NAN,
            };
            let share = match &s.share {
                Some(v) => self.number(v, &format!("{prefix}.share"), SHARE),
                None => f64::NAN,
            };
            let base_tariff = match &s.base_tariff {
                Some(v) => self.number(v, &format!("{prefix}.base_tariff"), TARIFF),
                None => 0.0,
            };
            let competitor_base_tariff = match &s.competitor_base_tariff {
                Some(v) => self.number(v, &format!("{prefix}.competitor_base_tariff"), TARIFF),
                None => 0.0,
            };
            let sigma = self.param(format!("{prefix}.sigma"), &s.sigma, POSITIVE);
            let epsilon = self.param(format!("{prefix}.epsilon"), &s.epsilon, NON_NEGATIVE);
            let eta = self.eta(&prefix, s.eta.as_ref());
            let growth = match &s.growth {
                Some(v) => self.param(format!("{prefix}.growth"), v, GROWTH),
                None => baseline_growth,
            };
            let half_life_months = match &s.half_life_months {
                Some(v) => self.param(format!("{prefix}.half_life_months"), v, HALF_LIFE),
                None => self.constant(0.0),
            };
            // MODEL.md §10: shares and supply of the named competitors and `rest`.
            let (named, rest_share) = self.competitor_shares(
                &prefix,
                s.competitor_shares.as_ref(),
                share,
                &competitor_ids,
            );
            let (named_eta, rest_eta) =
                self.competitor_eta(&prefix, s.competitor_eta.as_ref(), &named, &competitor_ids);
            // MODEL.md §11: the share of the loss sold in other markets.
            let redirection = match &s.redirection {
                Some(v) => self.param(format!("{prefix}.redirection"), v, WEIGHT),
                None => self.constant(0.0),
            };
            let competitors = named
                .iter()
                .zip(named_eta)
                .map(|(&(competitor, share), eta)| SectorCompetitor {
                    competitor,
                    share,
                    base_tariff: 0.0,
                    eta,
                    exports: 0.0,
                })
                .collect();
            sectors.push(Sector {
                id,
                name: s.name.clone().unwrap_or_else(|| s.id.get_ref().clone()),
                exports,
                share,
                base_tariff,
                competitor_base_tariff,
                sigma,
                epsilon,
                eta,
                growth,
                half_life_months,
                competitors,
                rest_share,
                rest_eta,
                redirection,
            });
        }
        // MODEL.md §14: lines assigned to sectors; sectors' exports become their lines' sums.
        let line_file = raw
            .lines
            .as_ref()
            .map(|l| l.get_ref().file.get_ref().clone());
        let mut lines = self.assign_lines(raw.lines.as_ref(), &raw.sectors, &mut sectors, file);
        let sector_ids: Vec<String> = sectors.iter().map(|s| s.id.clone()).collect();
        // MODEL.md §11: exports to all markets, at least those to the importer.
        let exports_to_importer: f64 = sectors.iter().map(|s| s.exports).sum();
        let total_exports_all_markets = match &baseline.total_exports {
            Some(v) => {
                let x = self.number(v, "baseline.total_exports", POSITIVE);
                if x.is_finite() && x < exports_to_importer * (1.0 - 1e-9) {
                    self.error(
                        v.span(),
                        "baseline.total_exports",
                        format!(
                            "got {x}, less than the exports to the importer (the sectors' exports sum to {}); accepted: exports to all markets >= {}",
                            rounded_sum(exports_to_importer),
                            rounded_sum(exports_to_importer)
                        ),
                    );
                }
                x
            }
            None => exports_to_importer,
        };
        // MODEL.md §10: each competitor's base tariffs per sector, and its baseline exports
        // X0_j = X0·(θ_j/θ)·(1 + τ0)/(1 + τ0_j).
        let mut competitors = Vec::with_capacity(raw.competitors.len());
        let mut competitor_base: Vec<Vec<Slot>> = Vec::with_capacity(raw.competitors.len());
        for (ci, c) in raw.competitors.iter().enumerate() {
            let c = c.get_ref();
            let id = c.id.get_ref().clone();
            let base = self.base_tariffs(
                &format!("competitors.{id}.base_tariff"),
                c.base_tariff.as_ref(),
                &sector_ids,
            );
            for sector in &mut sectors {
                let (x0, theta, tau0) = (sector.exports, sector.share, sector.base_tariff);
                let s = sector_ids.iter().position(|i| *i == sector.id).unwrap_or(0);
                for sc in sector
                    .competitors
                    .iter_mut()
                    .filter(|sc| sc.competitor == ci)
                {
                    sc.base_tariff = base[s];
                    sc.exports = x0 * (sc.share / theta) * (1.0 + tau0) / (1.0 + base[s]);
                }
            }
            competitor_base.push(base.into_iter().map(|v| self.constant(v)).collect());
            competitors.push(Competitor {
                name: c.name.clone().unwrap_or_else(|| id.clone()),
                id,
            });
        }
        // MODEL.md §14: lines of sectors with named competitors get the sector's mix, scaled.
        lines::line_competitors(&mut lines, &mut sectors);
        // A line's base tariff on a named competitor is the competitor's for the line's sector.
        let competitor_line_base: Vec<Vec<Slot>> = competitor_base
            .iter()
            .map(|base| lines.iter().map(|l| base[l.sector]).collect())
            .collect();
        let in_shares: Vec<bool> = (0..competitor_ids.len())
            .map(|ci| {
                sectors
                    .iter()
                    .any(|s| s.competitors.iter().any(|sc| sc.competitor == ci))
            })
            .collect();
        for (ci, c) in raw.competitors.iter().enumerate() {
            if !in_shares[ci] {
                let line = self.line_of(&c.span());
                self.warnings.push(format!(
                    "line {line}: competitor `{}` has no share in any sector (no `competitor_shares` names it), so it has no effect",
                    competitor_ids[ci]
                ));
            }
        }
        // MODEL.md §12: the monthly path needs H to be a whole number of months.
        let uses_path = monthly
            || start_month.is_some()
            || raw
                .sectors
                .iter()
                .any(|s| s.get_ref().half_life_months.is_some());
        if uses_path && !whole_months(horizon_months) {
            let span = header
                .horizon_months
                .as_ref()
                .map(|h| h.span())
                .unwrap_or(0..0);
            self.error(
                span,
                "model.horizon_months",
                format!(
                    "got {horizon_months}, but the monthly path (`monthly`, `start_month` or a `half_life_months`) needs whole months; accepted: a whole number from 1 to {MAX_MONTHS}"
                ),
            );
        }

        // Regimes (MODEL.md §3): base → interim → scenario, each falling back to the previous.
        let base_tariff: Resolved = sectors
            .iter()
            .map(|s| s.base_tariff)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|v| self.constant(v))
            .collect();
        let base_competitor: Resolved = sectors
            .iter()
            .map(|s| s.competitor_base_tariff)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|v| self.constant(v))
            .collect();
        let (interim_tariff_table, interim_competitor_table, interim_competitors) =
            match raw.interim {
                Some(i) => {
                    let i = i.into_inner();
                    (i.tariff, i.competitor_tariff, i.competitors)
                }
                None => (None, None, None),
            };
        let base_line_tariff: Resolved = lines
            .iter()
            .map(|l| self.line_constant(l.base_tariff))
            .collect();
        let base_line_competitor: Resolved = lines
            .iter()
            .map(|l| self.line_constant(l.competitor_base_tariff))
            .collect();
        let (tariff, line_tariff) = self.tariff_table(
            "interim.tariff",
            interim_tariff_table.as_ref(),
            &sector_ids,
            &base_tariff,
            (&lines, &base_line_tariff),
        );
        let (competitor_tariff, line_competitor_tariff) = self.tariff_table(
            "interim.competitor_tariff",
            interim_competitor_table.as_ref(),
            &sector_ids,
            &base_competitor,
            (&lines, &base_line_competitor),
        );
        let (interim_competitors, interim_line_competitors) = self.competitor_regimes(
            "interim",
            interim_competitors.as_ref(),
            &competitor_ids,
            &in_shares,
            &sector_ids,
            (&competitor_base, &competitor_line_base),
            &lines,
        );
        let interim = Regime {
            tariff,
            competitor_tariff,
            line_tariff,
            line_competitor_tariff,
            competitors: interim_competitors,
            line_competitors: interim_line_competitors,
        };

        // Scenarios (MODEL.md §4).
        if raw.scenarios.is_empty() {
            self.error(
                0..0,
                "scenarios",
                "the model has no scenarios; accepted: at least one [[scenarios]] table".into(),
            );
        }
        let mut scenarios = Vec::with_capacity(raw.scenarios.len());
        let mut seen = HashSet::new();
        let mut total_probability = 0.0;
        let month_domain = Domain {
            low: 0.0,
            low_open: false,
            high: horizon_months,
            high_open: false,
            text: "in [0, model.horizon_months]",
        };
        for spanned in &raw.scenarios {
            let s = spanned.get_ref();
            let id = s.id.get_ref().clone();
            self.check_id(&s.id, "scenarios.id", &mut seen);
            let prefix = format!("scenarios.{id}");
            let probability = self.number(&s.probability, &format!("{prefix}.probability"), WEIGHT);
            total_probability += probability;
            let (tariff, line_tariff) = self.tariff_table(
                &format!("{prefix}.tariff"),
                s.tariff.as_ref(),
                &sector_ids,
                &interim.tariff,
                (&lines, &interim.line_tariff),
            );
            let (competitor_tariff, line_competitor_tariff) = self.tariff_table(
                &format!("{prefix}.competitor_tariff"),
                s.competitor_tariff.as_ref(),
                &sector_ids,
                &interim.competitor_tariff,
                (&lines, &interim.line_competitor_tariff),
            );
            let (competitor_tariffs, line_competitors) = self.competitor_regimes(
                &prefix,
                s.competitors.as_ref(),
                &competitor_ids,
                &in_shares,
                &sector_ids,
                (&interim.competitors, &interim.line_competitors),
                &lines,
            );
            let effective_month = match &s.effective_month {
                Some(v) => self.param(format!("{prefix}.effective_month"), v, month_domain),
                None => self.constant(0.0),
            };
            let purchases = match &s.purchases {
                Some(v) => self.param(format!("{prefix}.purchases"), v, NON_NEGATIVE),
                None => self.constant(0.0),
            };
            // MODEL.md §15: a package's investment pledge and defence cost-sharing. Absent keys
            // are constants, not parameters, so a model without them keeps its draws.csv
            // columns and its draws.
            let investment = match &s.investment {
                Some(v) => self.param(format!("{prefix}.investment"), v, NON_NEGATIVE),
                None => self.constant(0.0),
            };
            let defence = match &s.defence {
                Some(v) => self.param(format!("{prefix}.defence"), v, NON_NEGATIVE),
                None => self.constant(0.0),
            };
            scenarios.push(Scenario {
                id: id.clone(),
                name: s.name.clone().unwrap_or(id),
                rationale: s.rationale.clone().unwrap_or_default(),
                probability,
                effective_month,
                purchases,
                investment,
                defence,
                regime: Regime {
                    tariff,
                    competitor_tariff,
                    line_tariff,
                    line_competitor_tariff,
                    competitors: competitor_tariffs,
                    line_competitors,
                },
            });
        }
        if !scenarios.is_empty() && (total_probability - 1.0).abs() > PROBABILITY_TOLERANCE {
            let listed: Vec<String> = scenarios
                .iter()
                .map(|s| format!("{} = {}", s.id, s.probability))
                .collect();
            let span = raw.scenarios[0].get_ref().probability.span();
            self.error(
                span,
                "scenarios.probability",
                format!(
                    "scenario probabilities sum to {} ({}); accepted: a sum of 1 within {PROBABILITY_TOLERANCE:e}",
                    rounded_sum(total_probability),
                    listed.join(", ")
                ),
            );
        }

        // Macro and market (MODEL.md §5).
        let m = raw.macro_.get_ref();
        let macro_params = Macro {
            value_added_share: self.param(
                "macro.value_added_share".into(),
                &m.value_added_share,
                SHARE,
            ),
            gdp_multiplier: self.param("macro.gdp_multiplier".into(), &m.gdp_multiplier, ANY),
            investment_crowd_out: self.optional_param(
                "macro.investment_crowd_out",
                m.investment_crowd_out.as_ref(),
                WEIGHT,
            ),
        };
        let k = raw.market.get_ref();
        let zero = Spanned::new(0..0, toml::Value::Integer(0));
        let fx_beta = self.param("market.fx_beta".into(), &k.fx_beta, ANY);
        let fx_noise = self.param(
            "market.fx_noise".into(),
            k.fx_noise.as_ref().unwrap_or(&zero),
            ANY,
        );
        let equity_beta = self.param("market.equity_beta".into(), &k.equity_beta, ANY);
        let equity_noise = self.param(
            "market.equity_noise".into(),
            k.equity_noise.as_ref().unwrap_or(&zero),
            ANY,
        );
        let fx_flow_beta =
            self.optional_param("market.fx_flow_beta", k.fx_flow_beta.as_ref(), NON_NEGATIVE);
        let fx_conversion =
            self.optional_param("market.fx_conversion", k.fx_conversion.as_ref(), WEIGHT);
        let market = Market {
            fx_beta,
            fx_noise,
            equity_beta,
            equity_noise,
            fx_flow_beta,
            fx_conversion,
            fx_stress_pct: self.number(&k.fx_stress_pct, "market.fx_stress_pct", POSITIVE),
            equity_stress_pct: self.number(
                &k.equity_stress_pct,
                "market.equity_stress_pct",
                POSITIVE,
            ),
            fx_weight: match &k.fx_weight {
                Some(w) => self.number(w, "market.fx_weight", WEIGHT),
                None => 0.5,
            },
        };

        // Coordinates: 0 picks the scenario, then one per uncertain parameter in path order.
        let mut dimension = 1;
        for p in &mut self.params {
            if p.dist.as_point().is_none() {
                p.coordinate = Some(dimension);
                dimension += 1;
            }
        }
        let copula = self.correlations(&raw.correlations, dimension);
        let groups = self.groups(&raw.groups);

        // Constants were numbered from the top; place them after the parameters.
        let n_params = self.params.len() as u32;
        let fix = |slot: &mut Slot| {
            if slot.0 >= n_params && slot.0 > u32::MAX / 2 {
                slot.0 = n_params + (u32::MAX - slot.0);
            }
        };
        let mut interim = interim;
        let fix_regime = |r: &mut Regime| {
            r.tariff.iter_mut().for_each(fix);
            r.competitor_tariff.iter_mut().for_each(fix);
            r.line_tariff.iter_mut().for_each(fix);
            r.line_competitor_tariff.iter_mut().for_each(fix);
            r.competitors.iter_mut().flatten().for_each(fix);
            r.line_competitors.iter_mut().flatten().for_each(fix);
        };
        fix_regime(&mut interim);
        for s in &mut sectors {
            fix(&mut s.growth);
            fix(&mut s.half_life_months);
            fix(&mut s.rest_eta);
            fix(&mut s.redirection);
            for c in &mut s.competitors {
                fix(&mut c.eta);
            }
        }
        for s in &mut scenarios {
            fix_regime(&mut s.regime);
            fix(&mut s.effective_month);
            fix(&mut s.purchases);
            fix(&mut s.investment);
            fix(&mut s.defence);
        }
        let mut macro_params = macro_params;
        fix(&mut macro_params.investment_crowd_out);
        let mut market = market;
        fix(&mut market.fx_flow_beta);
        fix(&mut market.fx_conversion);
        if !self.diagnostics.is_empty() {
            return None;
        }
        let sha256 = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(Model {
            name,
            description: header.description.unwrap_or_default(),
            exporter: header.exporter.unwrap_or_default(),
            importer: header.importer.unwrap_or_default(),
            units: header.units.unwrap_or_default(),
            horizon_months,
            start_month,
            monthly,
            imports_from_importer,
            gdp,
            sectors,
            competitors,
            total_exports_all_markets,
            interim,
            scenarios,
            macro_params,
            market,
            params: std::mem::take(&mut self.params),
            constants: std::mem::take(&mut self.constants),
            copula: copula?,
            correlations: std::mem::take(&mut self.correlations),
            overrides: Vec::new(),
            warnings: std::mem::take(&mut self.warnings),
            dimension,
            groups,
            source: ModelSource {
                file: file.to_string(),
                sha256,
            },
            lines,
            line_file,
            line_outputs: false,
        })
    }

    fn check_id(&mut self, id: &Spanned<String>, key: &str, seen: &mut HashSet<String>) {
        let text = id.get_ref();
        let valid = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            self.error(
                id.span(),
                key,
                format!("invalid id `{text}`; accepted: letters, digits, `_` and `-`, not empty"),
            );
        } else if !seen.insert(text.clone()) {
            self.error(
                id.span(),
                key,
                format!("duplicate id `{text}`; accepted: ids unique within their list"),
            );
        }
    }

    fn eta(&mut self, prefix: &str, value: Option<&DistValue>) -> Slot {
        let path = format!("{prefix}.eta");
        match value {
            None => self.push_param(
                path,
                Distribution::point(f64::INFINITY),
                &(0..0),
                inf(),
                POSITIVE,
            ),
            Some(v) => self.eta_value(path, v),
        }
    }

    /// A supply elasticity as written: `"inf"`, a number > 0 or a distribution on (0, inf).
    fn eta_value(&mut self, path: String, v: &DistValue) -> Slot {
        {
            match v.get_ref() {
                toml::Value::String(s) if s == "inf" => self.push_param(
                    path,
                    Distribution::point(f64::INFINITY),
                    &v.span(),
                    inf(),
                    POSITIVE,
                ),
                toml::Value::String(s) => {
                    self.error(
                        v.span(),
                        &path,
                        format!("unknown value \"{s}\"; accepted: \"inf\", a number > 0 or a distribution on (0, inf)"),
                    );
                    self.push_param(
                        path,
                        Distribution::point(f64::NAN),
                        &v.span(),
                        inf(),
                        POSITIVE,
                    )
                }
                // A bare `inf` is a TOML float, refused by the distribution parser as not
                // finite: say which spelling is accepted (issue 15, item 10).
                toml::Value::Float(x) if x.is_infinite() => {
                    self.error(
                        v.span(),
                        &path,
                        format!("got the bare TOML float {x}; accepted: the string \"inf\" (eta = \"inf\", an infinite elasticity), a number > 0 or a distribution on (0, inf)"),
                    );
                    self.push_param(
                        path,
                        Distribution::point(f64::NAN),
                        &v.span(),
                        inf(),
                        POSITIVE,
                    )
                }
                _ => self.param(path, v, POSITIVE),
            }
        }
    }

    /// A sector's `competitor_shares` (MODEL.md §10): the named competitors with their θ_j, in
    /// `[[competitors]]` order, and θ_rest = 1 − θ − Σ θ_j (must not be negative).
    fn competitor_shares(
        &mut self,
        prefix: &str,
        table: Option<&NumberTable>,
        share: f64,
        competitor_ids: &[String],
    ) -> (Vec<(usize, f64)>, f64) {
        let mut named: Vec<(usize, f64)> = Vec::new();
        let mut sum = 0.0;
        let Some(table) = table else {
            return (named, 1.0 - share);
        };
        for (key, value) in table.get_ref() {
            let k = key.get_ref();
            let path = format!("{prefix}.competitor_shares.{k}");
            let Some(ci) = competitor_ids.iter().position(|c| c == k) else {
                self.error(key.span(), &path, unknown_competitor(k, competitor_ids));
                continue;
            };
            let x = self.number(value, &path, COMPETITOR_SHARE);
            named.push((ci, x));
            sum += x;
        }
        named.sort_by_key(|&(ci, _)| ci);
        // Rounded as a person reads decimals (0.16 + 0.21 + 0.23 leaves 0.4, not 0.39999...).
        let rest = rounded_sum(1.0 - share - sum);
        if rest < 0.0 && share.is_finite() && sum.is_finite() {
            self.error(
                table.span(),
                &format!("{prefix}.competitor_shares"),
                format!(
                    "the shares leave `rest` negative by {}: share {share} + competitor shares {} = {} > 1; accepted: share + the sum of competitor_shares <= 1 (rest = 1 - share - competitor shares >= 0)",
                    -rest,
                    rounded_sum(sum),
                    rounded_sum(share + sum)
                ),
            );
        }
        (named, rest.max(0.0))
    }

    /// A sector's `competitor_eta` (MODEL.md §10): η of each named competitor of the sector
    /// and of `rest`. One value is ONE parameter for all; a table is keyed by competitor id,
    /// `rest` and `default` (one parameter for every source it covers); omitted = inf.
    fn competitor_eta(
        &mut self,
        prefix: &str,
        value: Option<&DistValue>,
        named: &[(usize, f64)],
        competitor_ids: &[String],
    ) -> (Vec<Slot>, Slot) {
        let path = format!("{prefix}.competitor_eta");
        let table = match value.map(|v| v.get_ref()) {
            None => {
                let inf = self.constant(f64::INFINITY);
                return (vec![inf; named.len()], inf);
            }
            Some(toml::Value::Table(t)) if !t.contains_key("dist") => t,
            Some(_) => {
                let v = value.expect("matched Some");
                let slot = self.eta_value(path, v);
                return (vec![slot; named.len()], slot);
            }
        };
        let span = value.map(|v| v.span()).unwrap_or(0..0);
        let mut own: Vec<Option<Slot>> = vec![None; named.len()];
        let mut rest = None;
        let mut default = None;
        for (key, v) in table {
            let at = self.index.find_key(&span, key);
            let spanned = Spanned::new(at.clone(), v.clone());
            let key_path = format!("{path}.{key}");
            if key == "rest" {
                rest = Some(self.eta_value(key_path, &spanned));
            } else if key == "default" {
                default = Some(self.eta_value(key_path, &spanned));
            } else if let Some(n) = named.iter().position(|&(ci, _)| competitor_ids[ci] == *key) {
                own[n] = Some(self.eta_value(key_path, &spanned));
            } else {
                let in_sector: Vec<&str> = named
                    .iter()
                    .map(|&(ci, _)| competitor_ids[ci].as_str())
                    .collect();
                let why = if competitor_ids.iter().any(|c| c == key) {
                    format!("competitor `{key}` has no share in this sector (add it to competitor_shares)")
                } else {
                    format!("unknown competitor `{key}`")
                };
                self.error(
                    at,
                    &key_path,
                    format!(
                        "{why}; accepted keys: rest, default{}{}",
                        if in_sector.is_empty() { "" } else { ", " },
                        in_sector.join(", ")
                    ),
                );
            }
        }
        let fallback = match default {
            Some(slot) => slot,
            None => self.constant(f64::INFINITY),
        };
        (
            own.into_iter().map(|s| s.unwrap_or(fallback)).collect(),
            rest.unwrap_or(fallback),
        )
    }

    /// A competitor's `base_tariff` table (numbers by sector id and `default`; default 0).
    fn base_tariffs(
        &mut self,
        prefix: &str,
        table: Option<&NumberTable>,
        sector_ids: &[String],
    ) -> Vec<f64> {
        let mut resolved = vec![0.0; sector_ids.len()];
        let Some(table) = table else {
            return resolved;
        };
        let mut default = None;
        let mut own: Vec<Option<f64>> = vec![None; sector_ids.len()];
        for (key, value) in table.get_ref() {
            let k = key.get_ref().as_str();
            let path = format!("{prefix}.{k}");
            let x = self.number(value, &path, TARIFF);
            if k == "default" {
                default = Some(x);
            } else if let Some(s) = sector_ids.iter().position(|id| id == k) {
                own[s] = Some(x);
            } else {
                self.error(
                    key.span(),
                    &path,
                    format!(
                        "unknown sector `{k}`; accepted: default, {}",
                        sector_ids.join(", ")
                    ),
                );
            }
        }
        for (s, r) in resolved.iter_mut().enumerate() {
            *r = own[s].or(default).unwrap_or(0.0);
        }
        resolved
    }

    /// A regime's `competitors.<j>` tables (MODEL.md §10): per named competitor and sector,
    /// the regime's own rate, else its `default`, else `previous` (the previous regime's).
    #[allow(clippy::too_many_arguments)]
    fn competitor_regimes(
        &mut self,
        prefix: &str,
        tables: Option<&CompetitorRegimes>,
        competitor_ids: &[String],
        in_shares: &[bool],
        sector_ids: &[String],
        (previous, previous_lines): (&[Vec<Slot>], &[Vec<Slot>]),
        lines: &[crate::lines::Line],
    ) -> (Vec<Vec<Slot>>, Vec<Vec<Slot>>) {
        let mut resolved = previous.to_vec();
        let mut resolved_lines = previous_lines.to_vec();
        let Some(tables) = tables else {
            return (resolved, resolved_lines);
        };
        for (key, regime) in tables.get_ref() {
            let k = key.get_ref();
            let path = format!("{prefix}.competitors.{k}");
            let Some(ci) = competitor_ids.iter().position(|c| c == k) else {
                self.error(key.span(), &path, unknown_competitor(k, competitor_ids));
                continue;
            };
            if !in_shares[ci] {
                let line = self.line_of(&key.span());
                self.warnings.push(format!(
                    "line {line}: `{path}` sets tariffs on competitor `{k}`, which has no share in any sector (no `competitor_shares` names it), so they have no effect"
                ));
            }
            // MODEL.md §14: `hs:` keys set a named competitor's rate line by line, as they do
            // the exporter's and `rest`'s.
            (resolved[ci], resolved_lines[ci]) = self.tariff_table(
                &format!("{path}.tariff"),
                regime.get_ref().tariff.as_ref(),
                sector_ids,
                &previous[ci],
                (lines, &previous_lines[ci]),
            );
        }
        (resolved, resolved_lines)
    }

    /// Resolves one regime table per sector (own entry, else `default`, else `previous`) and
    /// per line (longest `hs:` prefix, else the line's sector, else `default`, else the line's
    /// previous value; MODEL.md §14).
    fn tariff_table(
        &mut self,
        prefix: &str,
        table: Option<&TariffTable>,
        sector_ids: &[String],
        previous: &[Slot],
        (lines, previous_lines): (&[crate::lines::Line], &[Slot]),
    ) -> (Vec<Slot>, Vec<Slot>) {
        let mut resolved = previous.to_vec();
        let mut resolved_lines = previous_lines.to_vec();
        let Some(table) = table else {
            return (resolved, resolved_lines);
        };
        let mut own: IndexMap<&str, Slot> = IndexMap::new();
        let mut default = None;
        let mut by_code: Vec<(&str, Slot)> = Vec::new();
        for (key, value) in table.get_ref() {
            let k = key.get_ref().as_str();
            let path = format!("{prefix}.{k}");
            if let Some(code) = k.strip_prefix(crate::lines::HS_KEY_PREFIX) {
                if !self.check_hs_key(key, code, &path, lines) {
                    continue;
                }
                let slot = self.param(path, value, TARIFF);
                by_code.push((code, slot));
                continue;
            }
            if k != "default" && !sector_ids.iter().any(|s| s == k) {
                self.error(
                    key.span(),
                    &path,
                    format!(
                        "unknown sector `{k}`; accepted: default, {}, or \"hs:<code prefix>\" in a model with lines",
                        sector_ids.join(", ")
                    ),
                );
                continue;
            }
            let slot = self.param(path, value, TARIFF);
            if k == "default" {
                default = Some(slot);
            } else {
                own.insert(k, slot);
            }
        }
        for (i, id) in sector_ids.iter().enumerate() {
            if let Some(slot) = own.get(id.as_str()) {
                resolved[i] = *slot;
            } else if let Some(slot) = default {
                resolved[i] = slot;
            }
        }
        for (l, line) in lines.iter().enumerate() {
            let by_prefix = crate::lines::longest_prefix(&line.code, by_code.iter().map(|c| c.0))
                .map(|(i, _)| by_code[i].1);
            if let Some(slot) = by_prefix
                .or_else(|| own.get(sector_ids[line.sector].as_str()).copied())
                .or(default)
            {
                resolved_lines[l] = slot;
            }
        }
        (resolved, resolved_lines)
    }

    fn correlations(
        &mut self,
        raw: &[Spanned<super::schema::RawCorrelation>],
        dimension: usize,
    ) -> Option<Copula> {
        let mut pairs = Vec::new();
        let mut entry_lines = Vec::new();
        let mut seen = HashSet::new();
        let mut ok = true;
        for entry in raw {
            let c = entry.get_ref();
            let rho = *c.rho.get_ref();
            let line = self.line_of(&entry.span());
            if !(rho.is_finite() && rho > -1.0 && rho < 1.0) {
                self.error(
                    c.rho.span(),
                    "correlations.rho",
                    format!("got {rho}; accepted: -1 < rho < 1"),
                );
                ok = false;
            }
            let between = c.between.get_ref();
            if between.len() != 2 {
                self.error(
                    c.between.span(),
                    "correlations.between",
                    format!(
                        "lists {} paths; accepted: exactly two parameter paths",
                        between.len()
                    ),
                );
                ok = false;
                continue;
            }
            let mut coords = [0usize; 2];
            let mut indices = [0usize; 2];
            for (n, path) in between.iter().enumerate() {
                match self.params.iter().position(|p| &p.path == path.get_ref()) {
                    None => {
                        let mut known: Vec<&str> = self
                            .params
                            .iter()
                            .filter(|p| p.coordinate.is_some())
                            .map(|p| p.path.as_str())
                            .collect();
                        known.truncate(8);
                        self.error(
                            path.span(),
                            "correlations.between",
                            format!(
                                "unknown parameter path `{}`; accepted: a path of docs/model.md §4 (Parameter paths) defined by this model with a distribution (e.g. {} ...)",
                                path.get_ref(),
                                known.join(", ")
                            ),
                        );
                        ok = false;
                    }
                    Some(i) => match self.params[i].coordinate {
                        None => {
                            self.error(
                                path.span(),
                                "correlations.between",
                                format!(
                                    "`{}` is a fixed number, it has no uncertainty to correlate; accepted: a parameter with a distribution",
                                    path.get_ref()
                                ),
                            );
                            ok = false;
                        }
                        Some(c) => {
                            coords[n] = c;
                            indices[n] = i;
                        }
                    },
                }
            }
            if coords[0] != 0 && coords[0] == coords[1] {
                self.error(
                    c.between.span(),
                    "correlations.between",
                    "a parameter cannot be correlated with itself; accepted: two different paths"
                        .into(),
                );
                ok = false;
                continue;
            }
            if coords[0] != 0 && coords[1] != 0 {
                let key = (coords[0].min(coords[1]), coords[0].max(coords[1]));
                if !seen.insert(key) {
                    self.error(
                        c.between.span(),
                        "correlations.between",
                        "this pair is already correlated by an earlier entry; accepted: each pair once".into(),
                    );
                    ok = false;
                    continue;
                }
                pairs.push((coords[0], coords[1], rho));
                self.correlations.push((indices[0], indices[1], rho, line));
                entry_lines.push((line, entry.span()));
            }
        }
        if !ok {
            return None;
        }
        match Copula::new(dimension, &pairs) {
            Ok(c) => Some(c),
            Err(CopulaError::NotPositiveDefinite { entries }) => {
                let lines: Vec<String> = entries
                    .iter()
                    .map(|&e| {
                        let (a, b, rho) = pairs[e];
                        let name = |coord: usize| {
                            self.params
                                .iter()
                                .find(|p| p.coordinate == Some(coord))
                                .map(|p| p.path.clone())
                                .unwrap_or_default()
                        };
                        format!(
                            "line {}: {} ~ {} (rho = {rho})",
                            entry_lines[e].0,
                            name(a),
                            name(b)
                        )
                    })
                    .collect();
                let span = entry_lines[entries[0]].1.clone();
                self.error(
                    span,
                    "correlations",
                    format!(
                        "the correlation matrix is not positive definite; the entries involved: {}; accepted: correlations that a joint normal distribution can have (reduce some |rho|)",
                        lines.join("; ")
                    ),
                );
                None
            }
        }
    }

    fn groups(&mut self, raw: &[Spanned<super::schema::RawGroup>]) -> Vec<ParameterGroup> {
        let mut groups = Vec::new();
        let mut seen = HashSet::new();
        for g in raw {
            let g = g.get_ref();
            self.check_id(&g.name, "groups.name", &mut seen);
            let mut params = Vec::new();
            for path in &g.parameters {
                match self.params.iter().position(|p| &p.path == path.get_ref()) {
                    Some(i) => params.push(i),
                    None => self.error(
                        path.span(),
                        "groups.parameters",
                        format!(
                            "unknown parameter path `{}`; accepted: a path of docs/model.md §4 (Parameter paths) defined by this model",
                            path.get_ref()
                        ),
                    ),
                }
            }
            groups.push(ParameterGroup {
                name: g.name.get_ref().clone(),
                params,
            });
        }
        groups
    }
}
