//! The macro and market outputs of MODEL.md §5 and the package channels of §15, from the
//! sector results of one draw.

use crate::outputs::*;

/// Inputs of the macro block for one draw.
#[derive(Debug, Clone, Copy)]
pub struct MacroInputs {
    /// Σ_s L_sector (units).
    pub export_loss: f64,
    /// Σ_s (1 − r_s)·L_sector, the loss in all markets (MODEL.md §11); the macro outputs
    /// follow it.
    pub net_export_loss: f64,
    /// Σ_s X0_s.
    pub total_exports: f64,
    /// Scenario purchases times (1 − m/H).
    pub purchases: f64,
    /// Export-weighted tariff over the horizon.
    pub effective_tariff: f64,
    /// Baseline surplus Σ X0 − imports from the importer.
    pub baseline_surplus: f64,
    /// GDP.
    pub gdp: f64,
    /// Value-added share of exports.
    pub value_added_share: f64,
    /// GDP multiplier.
    pub gdp_multiplier: f64,
    /// FX beta, noise; equity beta, noise.
    pub fx_beta: f64,
    /// Noise on the depreciation.
    pub fx_noise: f64,
    /// Equity beta.
    pub equity_beta: f64,
    /// Noise on the drawdown.
    pub equity_noise: f64,
    /// Stress thresholds and the currency's weight.
    pub fx_stress_pct: f64,
    /// Equity stress threshold.
    pub equity_stress_pct: f64,
    /// Weight of the currency in the stress index.
    pub fx_weight: f64,
    /// Investment pledge paid within the horizon, investment·(1 − m/H) (MODEL.md §15).
    pub investment_outflow: f64,
    /// Defence cost-sharing paid within the horizon, defence·(1 − m/H).
    pub defence_cost: f64,
    /// Depreciation (%) per 1 % of GDP of dollars bought in the currency market.
    pub fx_flow_beta: f64,
    /// Share of the investment outflow bought in the currency market.
    pub fx_conversion: f64,
    /// Share of the investment outflow that displaces domestic investment.
    pub investment_crowd_out: f64,
}

/// The package's FX channel (MODEL.md §15): depreciation (%) from the dollars bought in the
/// market for an investment pledge, fx_flow_beta·100·fx_conversion·investment_outflow / gdp.
#[inline]
pub fn fx_flow_pct(
    fx_flow_beta: f64,
    fx_conversion: f64,
    investment_outflow: f64,
    gdp: f64,
) -> f64 {
    fx_flow_beta * (100.0 * fx_conversion * investment_outflow / gdp)
}

/// The package's GDP channel (MODEL.md §15), in % of GDP (negative = loss):
/// −100·investment_crowd_out·investment_outflow·gdp_multiplier / gdp.
#[inline]
pub fn gdp_crowd_out_pct(
    investment_crowd_out: f64,
    investment_outflow: f64,
    gdp_multiplier: f64,
    gdp: f64,
) -> f64 {
    -(100.0 * investment_crowd_out * investment_outflow * gdp_multiplier / gdp)
}

/// Writes the headline outputs (in [`HEADLINE`] order) into `out[..HEADLINE.len()]`.
#[inline]
pub fn macro_outputs(i: &MacroInputs, out: &mut [f64]) {
    // MODEL.md §11: GDP, the currency and stocks respond to exports to all markets.
    let loss_pct_gdp = 100.0 * i.net_export_loss / i.gdp;
    let surplus_change = -i.export_loss - i.purchases;
    let mut fx = i.fx_beta * loss_pct_gdp + i.fx_noise;
    let mut gdp_impact = -loss_pct_gdp * i.value_added_share * i.gdp_multiplier;
    // A channel that is exactly 0 (no package, or m = H) is not added at all, so that a model
    // without §15's keys gives the §5 values bit for bit (x + 0.0 would turn −0.0 into +0.0).
    let flow = fx_flow_pct(i.fx_flow_beta, i.fx_conversion, i.investment_outflow, i.gdp);
    if flow != 0.0 {
        fx += flow;
    }
    let crowd_out = gdp_crowd_out_pct(
        i.investment_crowd_out,
        i.investment_outflow,
        i.gdp_multiplier,
        i.gdp,
    );
    if crowd_out != 0.0 {
        gdp_impact += crowd_out;
    }
    let equity = i.equity_beta * loss_pct_gdp + i.equity_noise;
    let stress =
        i.fx_weight * fx / i.fx_stress_pct + (1.0 - i.fx_weight) * equity / i.equity_stress_pct;
    out[EXPORT_LOSS] = i.export_loss;
    out[EXPORT_LOSS_PCT] = 100.0 * i.export_loss / i.total_exports;
    out[PURCHASES] = i.purchases;
    out[SURPLUS_CHANGE] = surplus_change;
    out[SURPLUS] = i.baseline_surplus + surplus_change;
    out[EFFECTIVE_TARIFF] = i.effective_tariff;
    out[GDP_IMPACT_PCT] = gdp_impact;
    out[FX_DEPRECIATION_PCT] = fx;
    out[EQUITY_DRAWDOWN_PCT] = equity;
    out[STRESS_INDEX] = stress;
    out[STRESS_EVENT] = if stress >= 1.0 { 1.0 } else { 0.0 };
    out[INVESTMENT_OUTFLOW] = i.investment_outflow;
    out[DEFENCE_COST] = i.defence_cost;
    out[DEAL_COST] = i.purchases + i.investment_outflow + i.defence_cost;
    out[FISCAL_COST_PCT] = 100.0 * i.defence_cost / i.gdp;
}
