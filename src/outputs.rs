//! Output names of MODEL.md §5 and §15, defined once for the kernel, the statistics and the
//! reports.

use crate::model::Model;

/// The model-wide outputs, in the order the kernel writes them; sector outputs follow.
pub const HEADLINE: [&str; 15] = [
    "export_loss",
    "export_loss_pct",
    "purchases",
    "surplus_change",
    "surplus",
    "effective_tariff",
    "gdp_impact_pct",
    "fx_depreciation_pct",
    "equity_drawdown_pct",
    "stress_index",
    "stress_event",
    // MODEL.md §15, the package's other terms. Always present (0 without a package), as
    // `purchases` is, so that the output list depends only on the sectors.
    "investment_outflow",
    "defence_cost",
    "deal_cost",
    "fiscal_cost_pct",
];

/// Position of `export_loss` in an output row.
pub const EXPORT_LOSS: usize = 0;
/// Position of `export_loss_pct`.
pub const EXPORT_LOSS_PCT: usize = 1;
/// Position of `purchases`.
pub const PURCHASES: usize = 2;
/// Position of `surplus_change`.
pub const SURPLUS_CHANGE: usize = 3;
/// Position of `surplus`.
pub const SURPLUS: usize = 4;
/// Position of `effective_tariff`.
pub const EFFECTIVE_TARIFF: usize = 5;
/// Position of `gdp_impact_pct`.
pub const GDP_IMPACT_PCT: usize = 6;
/// Position of `fx_depreciation_pct`.
pub const FX_DEPRECIATION_PCT: usize = 7;
/// Position of `equity_drawdown_pct`.
pub const EQUITY_DRAWDOWN_PCT: usize = 8;
/// Position of `stress_index`.
pub const STRESS_INDEX: usize = 9;
/// Position of `stress_event`.
pub const STRESS_EVENT: usize = 10;
/// Position of `investment_outflow` (MODEL.md §15).
pub const INVESTMENT_OUTFLOW: usize = 11;
/// Position of `defence_cost`.
pub const DEFENCE_COST: usize = 12;
/// Position of `deal_cost`.
pub const DEAL_COST: usize = 13;
/// Position of `fiscal_cost_pct`.
pub const FISCAL_COST_PCT: usize = 14;
/// Position of the first `sectors.<id>.export_loss`.
pub const FIRST_SECTOR: usize = HEADLINE.len();

/// The name of a sector's export-loss output.
pub fn sector_output(id: &str) -> String {
    format!("sectors.{id}.export_loss")
}

/// Every output name of a model, in output-row order.
pub fn output_names(model: &Model) -> Vec<String> {
    HEADLINE
        .iter()
        .map(|s| s.to_string())
        .chain(model.sectors.iter().map(|s| sector_output(&s.id)))
        .collect()
}

/// Unit and one-line meaning of an output, for tables and reports.
pub fn describe(name: &str, units: &str) -> (String, &'static str) {
    let units = if units.is_empty() { "units" } else { units };
    match name {
        "export_loss" => (
            units.to_string(),
            "fall in exports to the importer (positive = loss)",
        ),
        "export_loss_pct" => (
            "%".into(),
            "export loss as % of baseline exports to the importer",
        ),
        "purchases" => (
            units.to_string(),
            "extra imports from the importer committed in the deal",
        ),
        "surplus_change" => (units.to_string(), "change of the bilateral trade surplus"),
        "surplus" => (units.to_string(), "bilateral trade surplus after the shock"),
        "effective_tariff" => (
            "fraction".into(),
            "export-weighted tariff on the exporter over the horizon",
        ),
        "gdp_impact_pct" => ("% of GDP".into(), "GDP impact (negative = loss)"),
        "fx_depreciation_pct" => ("%".into(), "depreciation of the exporter's currency"),
        "equity_drawdown_pct" => ("%".into(), "fall of the exporter's stock market"),
        "stress_index" => (
            "index".into(),
            "market stress index (>= 1 is a stress event)",
        ),
        "stress_event" => (
            "0/1".into(),
            "1 if the stress index reaches 1 (its mean is the probability)",
        ),
        "investment_outflow" => (
            units.to_string(),
            "investment pledged in the importer, paid within the horizon",
        ),
        "defence_cost" => (
            units.to_string(),
            "extra defence cost-sharing paid within the horizon",
        ),
        "deal_cost" => (
            units.to_string(),
            "the package's cost: purchases + investment + defence",
        ),
        "fiscal_cost_pct" => ("% of GDP".into(), "defence cost-sharing as % of GDP"),
        _ => (units.to_string(), "export loss of one sector"),
    }
}
