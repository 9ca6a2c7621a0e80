//! Model files: the TOML schema, validation with file:line:col errors, and compilation into a
//! flat parameter list plus the plan the kernel walks (ARCHITECTURE.md, "Model").
//!
//! Parameter paths (MODEL.md §7) are created here and nowhere else.

mod compile;
mod domain;
mod error;
mod keys;
mod overrides;
mod schema;

pub use compile::{compile_model, load_model, read_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
pub use domain::Domain;
pub use error::{Diagnostic, ModelError};
pub use overrides::{apply_overrides, OverrideError, LINE_OUTPUTS_PATH, MONTHLY_PATH};

use crate::dist::Distribution;
use crate::sampling::copula::Copula;

/// The longest horizon the monthly path accepts (50 years of months).
pub const MAX_MONTHS: usize = 600;

/// Whether `h` is a whole number of months the monthly path accepts.
pub(crate) fn whole_months(h: f64) -> bool {
    h.fract() == 0.0 && h >= 1.0 && h <= MAX_MONTHS as f64
}

/// Whether `model`'s horizon is a whole number of months (so it can report monthly outputs).
pub fn whole_months_horizon(model: &Model) -> bool {
    whole_months(model.horizon_months)
}

/// Index into a draw's value vector: parameters first (in [`Model::params`] order), then constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(pub u32);

impl Slot {
    /// The position in the value vector.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One parameter of the model, named by its path (MODEL.md §7).
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The parameter path, e.g. `sectors.autos.sigma`.
    pub path: String,
    /// Its distribution (a point mass when the file gives a number).
    pub dist: Distribution,
    /// The coordinate of the draw's uniform point that drives it; `None` for point masses.
    pub coordinate: Option<usize>,
    /// The line of the model file where it is defined (0 for defaults not written in the file).
    pub line: usize,
    /// The value as written in the file (for `--set PATH.key=...` overrides).
    pub spec: toml::Value,
    /// The range its values must lie in.
    pub domain: Domain,
}

/// A sector with its fixed data and the slots of its uncertain elasticities.
#[derive(Debug, Clone)]
pub struct Sector {
    /// Short id used in parameter paths and output names.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Baseline exports X0 (model units per horizon).
    pub exports: f64,
    /// θ, the exporter's share of the importer's imports of the sector.
    pub share: f64,
    /// τ0, the tariff on the exporter before the shock.
    pub base_tariff: f64,
    /// c0, the tariff on competitors before the shock.
    pub competitor_base_tariff: f64,
    /// σ, Armington elasticity.
    pub sigma: Slot,
    /// ε, aggregate import-demand elasticity.
    pub epsilon: Slot,
    /// η, export-supply elasticity (infinite values mean perfectly elastic supply).
    pub eta: Slot,
    /// g, counterfactual growth over the horizon (MODEL.md §11): the sector's own
    /// `growth`, else `[baseline] growth`, else 0.
    pub growth: Slot,
    /// h, half-life of the adjustment in months (MODEL.md §12); 0 = at once.
    pub half_life_months: Slot,
    /// The named competitors with a share in this sector (MODEL.md §10), in the order of
    /// `[[competitors]]`.
    pub competitors: Vec<SectorCompetitor>,
    /// θ_rest = 1 − θ − Σ θ_j, the share of the composite `rest`.
    pub rest_share: f64,
    /// η of `rest` (infinite unless `competitor_eta` says otherwise).
    pub rest_eta: Slot,
    /// r, the share of the loss in the importer's market sold elsewhere (MODEL.md §11).
    pub redirection: Slot,
}

/// A named competitor's place in one sector (MODEL.md §10).
#[derive(Debug, Clone)]
pub struct SectorCompetitor {
    /// Index into [`Model::competitors`].
    pub competitor: usize,
    /// θ_j, its share of the importer's imports of the sector.
    pub share: f64,
    /// τ0_j, the tariff on it before the shock.
    pub base_tariff: f64,
    /// η_j, its export-supply elasticity.
    pub eta: Slot,
    /// X0_j = X0·(θ_j/θ)·(1 + τ0)/(1 + τ0_j), its baseline exports in the sector at FOB prices.
    pub exports: f64,
}

/// A named competitor (MODEL.md §10).
#[derive(Debug, Clone)]
pub struct Competitor {
    /// Short id used in parameter paths and output names.
    pub id: String,
    /// Human-readable name (the id when none is given).
    pub name: String,
}

/// The tariffs a regime applies, resolved per sector (own entry → `default` → previous regime)
/// and per line (longest `hs:` prefix → the line's sector → `default` → previous regime).
#[derive(Debug, Clone)]
pub struct Regime {
    /// Tariff on the exporter, per sector.
    pub tariff: Vec<Slot>,
    /// Tariff on competitors, per sector (the composite `rest` when competitors are named).
    pub competitor_tariff: Vec<Slot>,
    /// Tariff on the exporter, per line of [`Model::lines`] (empty without lines).
    pub line_tariff: Vec<Slot>,
    /// Tariff on competitors (the composite `rest`), per line.
    pub line_competitor_tariff: Vec<Slot>,
    /// Tariff on each named competitor (MODEL.md §10), per competitor then per sector.
    pub competitors: Vec<Vec<Slot>>,
    /// Tariff on each named competitor, per competitor then per line (MODEL.md §14: longest
    /// `hs:` prefix of the competitor's table → the line's sector → `default` → previous
    /// regime; empty without lines).
    pub line_competitors: Vec<Vec<Slot>>,
}

/// A deal scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short id.
    pub id: String,
    /// Human-readable name (the id when none is given).
    pub name: String,
    /// Why this scenario is plausible (free text from the file).
    pub rationale: String,
    /// Probability that a draw picks it.
    pub probability: f64,
    /// Month from which its tariffs hold.
    pub effective_month: Slot,
    /// Purchases committed per horizon (model units).
    pub purchases: Slot,
    /// Investment pledged in the importer, per horizon (model units; MODEL.md §15).
    pub investment: Slot,
    /// Extra defence cost-sharing paid to the importer, per horizon (model units; §15).
    pub defence: Slot,
    /// Its tariffs, resolved per sector.
    pub regime: Regime,
}

/// Macro parameters (MODEL.md §5).
#[derive(Debug, Clone)]
pub struct Macro {
    /// Share of domestic value added in exports.
    pub value_added_share: Slot,
    /// GDP multiplier of lost value added.
    pub gdp_multiplier: Slot,
    /// Share of the investment outflow that displaces domestic investment (MODEL.md §15).
    pub investment_crowd_out: Slot,
}

/// Market parameters (MODEL.md §5).
#[derive(Debug, Clone)]
pub struct Market {
    /// Won depreciation (%) per 1 % of GDP of export loss.
    pub fx_beta: Slot,
    /// Noise added to the depreciation (%).
    pub fx_noise: Slot,
    /// Equity drawdown (%) per 1 % of GDP of export loss.
    pub equity_beta: Slot,
    /// Noise added to the drawdown (%).
    pub equity_noise: Slot,
    /// Won depreciation (%) per 1 % of GDP of dollars bought in the market (MODEL.md §15).
    pub fx_flow_beta: Slot,
    /// Share of the investment outflow bought in the currency market (MODEL.md §15).
    pub fx_conversion: Slot,
    /// Depreciation (%) that alone counts as stress.
    pub fx_stress_pct: f64,
    /// Drawdown (%) that alone counts as stress.
    pub equity_stress_pct: f64,
    /// Weight w of the currency in the stress index.
    pub fx_weight: f64,
}

/// A named group of parameters for sensitivity analysis.
#[derive(Debug, Clone)]
pub struct ParameterGroup {
    /// Group name.
    pub name: String,
    /// Indices into [`Model::params`].
    pub params: Vec<usize>,
}

/// Where a model came from, for replication.
#[derive(Debug, Clone)]
pub struct ModelSource {
    /// The path as given (or the embedded name).
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
}

/// A validated, compiled model: everything the kernel needs, with every parameter in one flat list.
#[derive(Debug, Clone)]
pub struct Model {
    /// Model name.
    pub name: String,
    /// Free-text description.
    pub description: String,
    /// Exporting country code.
    pub exporter: String,
    /// Importing country code.
    pub importer: String,
    /// Money units of the file.
    pub units: String,
    /// H, months in the horizon.
    pub horizon_months: f64,
    /// The calendar month of month 1 (`[model] start_month`), for labels and observations.
    pub start_month: Option<YearMonth>,
    /// Whether runs report the monthly outputs of MODEL.md §12 (`[model] monthly`, or
    /// `--monthly` on the command line through [`Model::with_monthly`]).
    pub monthly: bool,
    /// The exporter's imports from the importer in the base year.
    pub imports_from_importer: f64,
    /// The exporter's GDP.
    pub gdp: f64,
    /// Sectors in file order.
    pub sectors: Vec<Sector>,
    /// Named competitors in file order (MODEL.md §10).
    pub competitors: Vec<Competitor>,
    /// The exporter's exports to all markets (`[baseline] total_exports`, default Σ X0), the
    /// base of `net_export_loss_pct` (MODEL.md §11).
    pub total_exports_all_markets: f64,
    /// The tariffs in force until the deal takes effect.
    pub interim: Regime,
    /// Deal scenarios in file order.
    pub scenarios: Vec<Scenario>,
    /// Macro parameters.
    pub macro_params: Macro,
    /// Market parameters.
    pub market: Market,
    /// Every parameter, in the order of `draws.csv` columns.
    pub params: Vec<Parameter>,
    /// Fixed values (base tariffs, defaults), stored after the parameters in the value vector.
    pub constants: Vec<f64>,
    /// Gaussian copula over the uncertain coordinates.
    pub copula: Copula,
    /// `[[correlations]]` as (parameter index, parameter index, rho, line).
    pub correlations: Vec<(usize, usize, f64, usize)>,
    /// `--set` overrides applied after the file was read, as given.
    pub overrides: Vec<String>,
    /// Things the user should know about the model as run (e.g. correlations dropped by overrides).
    pub warnings: Vec<String>,
    /// Dimension of a draw's uniform point: coordinate 0 picks the scenario, then one per uncertain parameter.
    pub dimension: usize,
    /// Groups of parameters for sensitivity analysis defined in the file.
    pub groups: Vec<ParameterGroup>,
    /// Where the model came from.
    pub source: ModelSource,
    /// Product lines backing sectors (MODEL.md §14), in file order; empty without `[lines]`.
    pub lines: Vec<crate::lines::Line>,
    /// The line file as named in the model (`[lines] file`), if any.
    pub line_file: Option<String>,
    /// Whether runs keep a sketch per line for `lines.csv` (`--line-outputs`; see
    /// [`Model::with_line_outputs`]).
    pub line_outputs: bool,
}

/// A calendar month, `YYYY-MM` (MODEL.md §12 `start_month`, §13 `period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year (1000–9999).
    pub year: i32,
    /// The month, 1–12.
    pub month: u32,
}

impl YearMonth {
    /// Parses `YYYY-MM` (four-digit year, two-digit month 01–12); `None` otherwise.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        ((1..=12).contains(&month) && year >= 1000).then_some(YearMonth { year, month })
    }

    /// The month `k` months later.
    pub fn plus(self, k: i64) -> Self {
        let index = self.year as i64 * 12 + (self.month as i64 - 1) + k;
        YearMonth {
            year: index.div_euclid(12) as i32,
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// Months from `origin` to `self` (negative when `self` is earlier).
    pub fn months_since(self, origin: YearMonth) -> i64 {
        (self.year as i64 - origin.year as i64) * 12 + self.month as i64 - origin.month as i64
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Model {
    /// Months of the horizon as a count (H is a whole number whenever the monthly path is
    /// used; the compiler checks it).
    pub fn months(&self) -> usize {
        self.horizon_months as usize
    }

    /// The label of month `t` (1-based): `YYYY-MM` from `start_month`, else `month t`.
    pub fn month_label(&self, t: usize) -> String {
        match self.start_month {
            Some(start) => start.plus(t as i64 - 1).to_string(),
            None => format!("month {t}"),
        }
    }

    /// This model with the monthly outputs switched on or off (`--monthly`). Fails when the
    /// horizon is not a whole number of months.
    pub fn with_monthly(mut self, monthly: bool) -> Result<Self, String> {
        if monthly && !whole_months(self.horizon_months) {
            return Err(format!(
                "monthly outputs need a whole number of months; model.horizon_months is {}; accepted: a whole number from 1 to {MAX_MONTHS}",
                self.horizon_months
            ));
        }
        self.monthly = monthly;
        Ok(self)
    }

    /// This model with the per-line sketches of `lines.csv` switched on or off
    /// (`--line-outputs`). Fails when the model has no lines.
    pub fn with_line_outputs(mut self, on: bool) -> Result<Self, String> {
        if on && self.lines.is_empty() {
            return Err(
                "--line-outputs needs a model with tariff lines; accepted: a model with a [lines] file (docs/lines.md)".into(),
            );
        }
        self.line_outputs = on;
        Ok(self)
    }

    /// Length of a draw's value vector (parameters then constants).
    pub fn value_len(&self) -> usize {
        self.params.len() + self.constants.len()
    }

    /// Total baseline exports Σ X0.
    pub fn total_exports(&self) -> f64 {
        self.sectors.iter().map(|s| s.exports).sum()
    }

    /// The index of a parameter path, if the model has it.
    pub fn param_index(&self, path: &str) -> Option<usize> {
        self.params.iter().position(|p| p.path == path)
    }

    /// Picks the scenario for the uniform coordinate `u` by cumulative probability (file order).
    #[inline]
    pub fn pick_scenario(&self, u: f64) -> usize {
        let mut cumulative = 0.0;
        let last = self.scenarios.len() - 1;
        for (k, s) in self.scenarios[..last].iter().enumerate() {
            cumulative += s.probability;
            if u < cumulative {
                return k;
            }
        }
        last
    }

    /// A value vector with every point mass and constant filled in and uncertain parameters at their medians.
    pub fn median_values(&self) -> Vec<f64> {
        let mut values = Vec::with_capacity(self.value_len());
        values.extend(self.params.iter().map(|p| p.dist.quantile(0.5)));
        values.extend_from_slice(&self.constants);
        values
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_model_takes_the_fast_path_on_its_whole_range() {
        let model = super::compile_model(super::DEFAULT_MODEL_TEXT, super::DEFAULT_MODEL_FILE)
            .expect("default model compiles");
        let mut tabulated = 0;
        for p in &model.params {
            if matches!(
                p.dist.kind(),
                "point" | "uniform" | "triangular" | "discrete"
            ) {
                continue;
            }
            let intervals = p.dist.fast_path_intervals().expect("grid");
            assert_eq!(intervals, [60, 60], "{}", p.dist.describe());
            tabulated += 1;
        }
        assert!(tabulated >= 74, "{tabulated}");
    }
}
