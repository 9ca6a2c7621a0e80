//! The model file as written (MODEL.md §8): serde types that keep byte spans for error messages.
//!
//! Nothing here is validated beyond TOML syntax and types; `compile` turns these into a
//! [`super::Model`] and reports every broken rule with its position.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A distribution slot: a number, `"inf"` (for `eta`) or an inline table with `dist`.
pub(crate) type DistValue = Spanned<toml::Value>;
/// A tariff table: sector id (or `default`) → distribution, in file order.
pub(crate) type TariffTable = Spanned<IndexMap<Spanned<String>, DistValue>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub model: Spanned<RawHeader>,
    pub baseline: Spanned<RawBaseline>,
    #[serde(rename = "macro")]
    pub macro_: Spanned<RawMacro>,
    pub market: Spanned<RawMarket>,
    /// Named competitors (MODEL.md §10).
    #[serde(default)]
    pub competitors: Vec<Spanned<RawCompetitor>>,
    #[serde(default)]
    pub sectors: Vec<Spanned<RawSector>>,
    #[serde(default)]
    pub interim: Option<Spanned<RawInterim>>,
    #[serde(default)]
    pub scenarios: Vec<Spanned<RawScenario>>,
    #[serde(default)]
    pub correlations: Vec<Spanned<RawCorrelation>>,
    #[serde(default)]
    pub groups: Vec<Spanned<RawGroup>>,
    /// Tariff lines backing the sectors (MODEL.md §14).
    #[serde(default)]
    pub lines: Option<Spanned<RawLines>>,
}

/// `[lines]`: the line file (MODEL.md §14).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLines {
    /// Path of the CSV, relative to the model file.
    pub file: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeader {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub exporter: Option<String>,
    #[serde(default)]
    pub importer: Option<String>,
    #[serde(default)]
    pub units: Option<String>,
    #[serde(default)]
    pub horizon_months: Option<Spanned<f64>>,
    /// `"YYYY-MM"`: the calendar month of month 1 (MODEL.md §12).
    #[serde(default)]
    pub start_month: Option<Spanned<String>>,
    /// Whether every run reports the monthly outputs (MODEL.md §12).
    #[serde(default)]
    pub monthly: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBaseline {
    pub imports_from_importer: Spanned<f64>,
    pub gdp: Spanned<f64>,
    /// Counterfactual growth of exports to the importer over the horizon (MODEL.md §11).
    #[serde(default)]
    pub growth: Option<DistValue>,
    /// The exporter's exports to all markets (MODEL.md §11), the base of `net_export_loss_pct`.
    #[serde(default)]
    pub total_exports: Option<Spanned<f64>>,
}

/// A numbers-only table keyed by id (sector ids and `default`, or competitor ids), in file order.
pub(crate) type NumberTable = Spanned<IndexMap<Spanned<String>, Spanned<f64>>>;

/// A named competitor (MODEL.md §10).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCompetitor {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Tariff on the competitor before the shock, by sector id and `default`.
    #[serde(default)]
    pub base_tariff: Option<NumberTable>,
}

/// A regime's tariffs on one named competitor (`[interim.competitors.<id>]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCompetitorRegime {
    #[serde(default)]
    pub tariff: Option<TariffTable>,
}

/// The `competitors` tables of a regime, keyed by competitor id.
pub(crate) type CompetitorRegimes =
    Spanned<IndexMap<Spanned<String>, Spanned<RawCompetitorRegime>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMacro {
    pub value_added_share: DistValue,
    pub gdp_multiplier: DistValue,
    #[serde(default)]
    pub investment_crowd_out: Option<DistValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMarket {
    pub fx_beta: DistValue,
    #[serde(default)]
    pub fx_noise: Option<DistValue>,
    pub equity_beta: DistValue,
    #[serde(default)]
    pub equity_noise: Option<DistValue>,
    pub fx_stress_pct: Spanned<f64>,
    pub equity_stress_pct: Spanned<f64>,
    #[serde(default)]
    pub fx_weight: Option<Spanned<f64>>,
    #[serde(default)]
    pub fx_flow_beta: Option<DistValue>,
    #[serde(default)]
    pub fx_conversion: Option<DistValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSector {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Required unless the sector takes lines (then the sum of its lines' exports).
    #[serde(default)]
    pub exports: Option<Spanned<f64>>,
    /// Required unless every line of the sector gives its own share.
    #[serde(default)]
    pub share: Option<Spanned<f64>>,
    /// Code prefixes of the lines that belong to the sector (MODEL.md §14; `"*"` = the rest).
    #[serde(default)]
    pub codes: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub base_tariff: Option<Spanned<f64>>,
    #[serde(default)]
    pub competitor_base_tariff: Option<Spanned<f64>>,
    pub sigma: DistValue,
    pub epsilon: DistValue,
    #[serde(default)]
    pub eta: Option<DistValue>,
    /// The sector's own counterfactual growth (MODEL.md §11).
    #[serde(default)]
    pub growth: Option<DistValue>,
    /// Half-life of the adjustment to a tariff change, months (MODEL.md §12).
    #[serde(default)]
    pub half_life_months: Option<DistValue>,
    /// θ_j of named competitors (MODEL.md §10).
    #[serde(default)]
    pub competitor_shares: Option<NumberTable>,
    /// η of the competitors: one value, or a table by competitor id, `rest` and `default`.
    #[serde(default)]
    pub competitor_eta: Option<DistValue>,
    /// Share of the loss in the importer's market sold elsewhere (MODEL.md §11).
    #[serde(default)]
    pub redirection: Option<DistValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInterim {
    #[serde(default)]
    pub tariff: Option<TariffTable>,
    #[serde(default)]
    pub competitor_tariff: Option<TariffTable>,
    #[serde(default)]
    pub competitors: Option<CompetitorRegimes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub rationale: Option<String>,
    pub probability: Spanned<f64>,
    #[serde(default)]
    pub effective_month: Option<DistValue>,
    #[serde(default)]
    pub tariff: Option<TariffTable>,
    #[serde(default)]
    pub competitor_tariff: Option<TariffTable>,
    #[serde(default)]
    pub purchases: Option<DistValue>,
    #[serde(default)]
    pub investment: Option<DistValue>,
    #[serde(default)]
    pub defence: Option<DistValue>,
    #[serde(default)]
    pub competitors: Option<CompetitorRegimes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCorrelation {
    pub between: Spanned<Vec<Spanned<String>>>,
    pub rho: Spanned<f64>,
}

/// A named group of parameters for sensitivity analysis (`[[groups]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    pub name: Spanned<String>,
    pub parameters: Vec<Spanned<String>>,
}
