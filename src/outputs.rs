//! Output names of MODEL.md §5, §10–§12 and §15, defined once for the kernel, the statistics and the
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

/// The change of exports to the importer against the baseline year, policy and growth
/// together (MODEL.md §11); it follows the sector outputs.
pub const EXPORT_CHANGE_PCT: &str = "export_change_pct";

/// The fall of the exporter's exports to all markets, Σ_s (1 − r_s)·L_s (MODEL.md §11); it
/// follows `export_change_pct`, and `net_export_loss_pct` follows it.
pub const NET_EXPORT_LOSS: &str = "net_export_loss";
/// 100·net_export_loss / `baseline.total_exports` (MODEL.md §11).
pub const NET_EXPORT_LOSS_PCT: &str = "net_export_loss_pct";

/// The outputs of each month t (MODEL.md §12), in row order within the month.
pub const MONTH_OUTPUTS: [&str; 3] = ["export_loss", "export_change_pct", "effective_tariff"];
/// Offset of `months.<t>.export_loss` within a month's outputs.
pub const MONTH_EXPORT_LOSS: usize = 0;
/// Offset of `months.<t>.export_change_pct` within a month's outputs.
pub const MONTH_EXPORT_CHANGE_PCT: usize = 1;
/// Offset of `months.<t>.effective_tariff` within a month's outputs.
pub const MONTH_EFFECTIVE_TARIFF: usize = 2;

/// Position of `export_change_pct` in an output row of `model`.
pub fn export_change_index(model: &Model) -> usize {
    FIRST_SECTOR + model.sectors.len()
}

/// Position of `net_export_loss` in an output row of `model` (`net_export_loss_pct` is next).
pub fn net_export_loss_index(model: &Model) -> usize {
    export_change_index(model) + 1
}

/// Position of the first `competitors.<id>.export_loss` (MODEL.md §10), in the order of
/// `[[competitors]]`.
pub fn first_competitor_index(model: &Model) -> usize {
    net_export_loss_index(model) + 2
}

/// Position of the first monthly output (`months.1.export_loss`) in an output row of `model`.
pub fn first_month_index(model: &Model) -> usize {
    first_competitor_index(model) + model.competitors.len()
}

/// Position of month `t`'s (1-based) output `k` ([`MONTH_OUTPUTS`] order); `None` when the
/// model does not report monthly outputs or `t` is outside the horizon.
pub fn month_index(model: &Model, t: usize, k: usize) -> Option<usize> {
    (model.monthly && t >= 1 && t <= model.months() && k < MONTH_OUTPUTS.len())
        .then(|| first_month_index(model) + (t - 1) * MONTH_OUTPUTS.len() + k)
}

/// The name of month `t`'s output `k` ([`MONTH_OUTPUTS`] order), e.g. `months.3.export_loss`.
pub fn month_output(t: usize, k: usize) -> String {
    format!("months.{t}.{}", MONTH_OUTPUTS[k])
}

/// Number of values in an output row of `model`.
pub fn output_count(model: &Model) -> usize {
    let months = if model.monthly { model.months() } else { 0 };
    first_month_index(model) + months * MONTH_OUTPUTS.len()
}

/// The name of a sector's export-loss output.
pub fn sector_output(id: &str) -> String {
    format!("sectors.{id}.export_loss")
}

/// The name of a named competitor's export-loss output (MODEL.md §10; negative = it gains).
pub fn competitor_output(id: &str) -> String {
    format!("competitors.{id}.export_loss")
}

/// Every output name of a model, in output-row order.
pub fn output_names(model: &Model) -> Vec<String> {
    HEADLINE
        .iter()
        .map(|s| s.to_string())
        .chain(model.sectors.iter().map(|s| sector_output(&s.id)))
        .chain(std::iter::once(EXPORT_CHANGE_PCT.to_string()))
        .chain([NET_EXPORT_LOSS.to_string(), NET_EXPORT_LOSS_PCT.to_string()])
        .chain(model.competitors.iter().map(|c| competitor_output(&c.id)))
        .chain(
            (1..=if model.monthly { model.months() } else { 0 })
                .flat_map(|t| (0..MONTH_OUTPUTS.len()).map(move |k| month_output(t, k))),
        )
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
        "net_export_loss" => (
            units.to_string(),
            "fall in exports to all markets, after redirection (positive = loss)",
        ),
        "net_export_loss_pct" => ("%".into(), "net export loss as % of exports to all markets"),
        "export_change_pct" => (
            "%".into(),
            "change of exports to the importer on the baseline year, policy and growth together",
        ),
        _ if name.starts_with("competitors.") => (
            units.to_string(),
            "a competitor's loss of exports to the importer (negative = it gains)",
        ),
        _ => match name.rsplit('.').next() {
            Some(_) if !name.starts_with("months.") => {
                (units.to_string(), "export loss of one sector")
            }
            Some("export_loss") => (units.to_string(), "export loss in the month"),
            Some("export_change_pct") => (
                "%".into(),
                "exports in the month, change on the same month of the baseline year",
            ),
            Some("effective_tariff") => ("fraction".into(), "export-weighted tariff in the month"),
            _ => (units.to_string(), "monthly output"),
        },
    }
}
