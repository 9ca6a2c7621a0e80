//! The economics of MODEL.md §2–§5: pure functions from one draw's parameter values to its
//! output row. No I/O and no allocation per draw.

pub mod armington;
pub mod macro_outputs;

use crate::model::{Model, Regime};
use crate::outputs::FIRST_SECTOR;
use armington::{export_value, Elasticities, SectorShares};
use macro_outputs::{macro_outputs, MacroInputs};

/// A model prepared for fast evaluation: per-sector constants hoisted out of the draw loop.
#[derive(Debug, Clone)]
pub struct Kernel<'m> {
    model: &'m Model,
    shares: Vec<SectorShares>,
    /// ln(1 + τ0) and ln(1 + c0) per sector.
    ln_base: Vec<(f64, f64)>,
    total_exports: f64,
}

impl<'m> Kernel<'m> {
    /// Prepares `model` for evaluation.
    pub fn new(model: &'m Model) -> Self {
        Kernel {
            model,
            shares: model
                .sectors
                .iter()
                .map(|s| SectorShares::new(s.share))
                .collect(),
            ln_base: model
                .sectors
                .iter()
                .map(|s| (s.base_tariff.ln_1p(), s.competitor_base_tariff.ln_1p()))
                .collect(),
            total_exports: model.total_exports(),
        }
    }

    /// Number of values in an output row.
    pub fn n_outputs(&self) -> usize {
        FIRST_SECTOR + self.model.sectors.len()
    }

    /// Export value V of sector `s` in `regime` (MODEL.md §2).
    #[inline]
    fn sector_value(&self, s: usize, regime: &Regime, values: &[f64], e: &Elasticities) -> f64 {
        let (ln_base_t, ln_base_c) = self.ln_base[s];
        let ln_t = values[regime.tariff[s].index()].ln_1p() - ln_base_t;
        let ln_c = values[regime.competitor_tariff[s].index()].ln_1p() - ln_base_c;
        export_value(ln_t, ln_c, &self.shares[s], e)
    }

    /// Evaluates one draw: `values` is the draw's value vector (parameters then constants),
    /// `scenario` the picked scenario; writes the output row into `out`.
    pub fn evaluate(&self, values: &[f64], scenario: usize, out: &mut [f64]) {
        let model = self.model;
        let sc = &model.scenarios[scenario];
        // MODEL.md §3: the interim regime holds for the first m of H months.
        let interim_weight = values[sc.effective_month.index()] / model.horizon_months;
        let deal_weight = 1.0 - interim_weight;
        let mut export_loss = 0.0;
        let mut weighted_tariff = 0.0;
        for (s, sector) in model.sectors.iter().enumerate() {
            let e = Elasticities {
                sigma: values[sector.sigma.index()],
                epsilon: values[sector.epsilon.index()],
                eta: values[sector.eta.index()],
            };
            let v_deal = self.sector_value(s, &sc.regime, values, &e);
            let mut v = deal_weight * v_deal;
            let mut tariff = deal_weight * values[sc.regime.tariff[s].index()];
            // Skip the interim solve when the deal holds all horizon (its weight is 0).
            if interim_weight > 0.0 {
                v += interim_weight * self.sector_value(s, &model.interim, values, &e);
                tariff += interim_weight * values[model.interim.tariff[s].index()];
            }
            let loss = sector.exports * (1.0 - v);
            out[FIRST_SECTOR + s] = loss;
            export_loss += loss;
            weighted_tariff += sector.exports * tariff;
        }
        let m = &model.macro_params;
        let k = &model.market;
        macro_outputs(
            &MacroInputs {
                export_loss,
                total_exports: self.total_exports,
                purchases: values[sc.purchases.index()] * deal_weight,
                effective_tariff: weighted_tariff / self.total_exports,
                baseline_surplus: self.total_exports - model.imports_from_importer,
                gdp: model.gdp,
                value_added_share: values[m.value_added_share.index()],
                gdp_multiplier: values[m.gdp_multiplier.index()],
                fx_beta: values[k.fx_beta.index()],
                fx_noise: values[k.fx_noise.index()],
                equity_beta: values[k.equity_beta.index()],
                equity_noise: values[k.equity_noise.index()],
                fx_stress_pct: k.fx_stress_pct,
                equity_stress_pct: k.equity_stress_pct,
                fx_weight: k.fx_weight,
            },
            out,
        );
    }
}
