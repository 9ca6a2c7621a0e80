//! The macro and market outputs of MODEL.md §5, from the sector results of one draw.

use crate::outputs::*;

/// Inputs of the macro block for one draw.
#[derive(Debug, Clone, Copy)]
pub struct MacroInputs {
    /// Σ_s L_sector (units).
    pub export_loss: f64,
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
}

/// Writes the eleven headline outputs (in [`HEADLINE`] order) into `out[..11]`.
#[inline]
pub fn macro_outputs(i: &MacroInputs, out: &mut [f64]) {
    let loss_pct_gdp = 100.0 * i.export_loss / i.gdp;
    let surplus_change = -i.export_loss - i.purchases;
    let fx = i.fx_beta * loss_pct_gdp + i.fx_noise;
    let equity = i.equity_beta * loss_pct_gdp + i.equity_noise;
    let stress =
        i.fx_weight * fx / i.fx_stress_pct + (1.0 - i.fx_weight) * equity / i.equity_stress_pct;
    out[EXPORT_LOSS] = i.export_loss;
    out[EXPORT_LOSS_PCT] = 100.0 * i.export_loss / i.total_exports;
    out[PURCHASES] = i.purchases;
    out[SURPLUS_CHANGE] = surplus_change;
    out[SURPLUS] = i.baseline_surplus + surplus_change;
    out[EFFECTIVE_TARIFF] = i.effective_tariff;
    out[GDP_IMPACT_PCT] = -loss_pct_gdp * i.value_added_share * i.gdp_multiplier;
    out[FX_DEPRECIATION_PCT] = fx;
    out[EQUITY_DRAWDOWN_PCT] = equity;
    out[STRESS_INDEX] = stress;
    out[STRESS_EVENT] = if stress >= 1.0 { 1.0 } else { 0.0 };
}
