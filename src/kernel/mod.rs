//! The economics of MODEL.md §2–§5: pure functions from one draw's parameter values to its
//! output row. No I/O and no allocation per draw.

pub mod armington;
pub mod macro_outputs;

use crate::model::{Model, Regime, Slot};
use crate::outputs::FIRST_SECTOR;
use armington::{export_value, Elasticities, SectorShares};
use macro_outputs::{macro_outputs, MacroInputs};

/// A regime's tariffs arranged for evaluation: the distinct value slots it reads (a `default`
/// shared by ten sectors is one slot, so its log is taken once per draw) and, per sector, the
/// positions of its own and its competitors' tariff among them.
#[derive(Debug, Clone)]
struct RegimePlan {
    slots: Vec<Slot>,
    tariff: Vec<usize>,
    competitor: Vec<usize>,
}

impl RegimePlan {
    fn new(regime: &Regime) -> Self {
        let mut slots: Vec<Slot> = Vec::new();
        let mut position = |slot: Slot| match slots.iter().position(|&s| s == slot) {
            Some(i) => i,
            None => {
                slots.push(slot);
                slots.len() - 1
            }
        };
        let tariff = regime.tariff.iter().map(|&s| position(s)).collect();
        let competitor = regime
            .competitor_tariff
            .iter()
            .map(|&s| position(s))
            .collect();
        RegimePlan {
            slots,
            tariff,
            competitor,
        }
    }
}

/// Per-worker buffers of the kernel, so that evaluation does not allocate.
#[derive(Debug, Clone, Default)]
pub struct KernelScratch {
    ln_one_plus: Vec<f64>,
}

/// A model prepared for fast evaluation: per-sector constants hoisted out of the draw loop.
#[derive(Debug, Clone)]
pub struct Kernel<'m> {
    model: &'m Model,
    shares: Vec<SectorShares>,
    /// ln(1 + τ0) and ln(1 + c0) per sector.
    ln_base: Vec<(f64, f64)>,
    interim: RegimePlan,
    scenarios: Vec<RegimePlan>,
    total_exports: f64,
    /// ln(1 + value) of every slot whose value is the same in every draw (point masses and
    /// constants), so the draw loop takes logs only of uncertain tariffs.
    fixed_ln_one_plus: Vec<Option<f64>>,
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
            interim: RegimePlan::new(&model.interim),
            scenarios: model
                .scenarios
                .iter()
                .map(|s| RegimePlan::new(&s.regime))
                .collect(),
            total_exports: model.total_exports(),
            fixed_ln_one_plus: model
                .params
                .iter()
                .map(|p| p.dist.as_point())
                .chain(model.constants.iter().map(|&c| Some(c)))
                .map(|v| v.map(f64::ln_1p))
                .collect(),
        }
    }

    /// Number of values in an output row.
    pub fn n_outputs(&self) -> usize {
        FIRST_SECTOR + self.model.sectors.len()
    }

    /// Adds X0·V·weight of every sector under `plan` to `values_out`, and the weighted tariffs.
    #[inline]
    fn regime_values(
        &self,
        plan: &RegimePlan,
        values: &[f64],
        weight: f64,
        scratch: &mut KernelScratch,
        export_value_out: &mut [f64],
        tariff_out: &mut f64,
    ) {
        let logs = &mut scratch.ln_one_plus;
        logs.clear();
        logs.extend(plan.slots.iter().map(|s| {
            self.fixed_ln_one_plus[s.index()].unwrap_or_else(|| values[s.index()].ln_1p())
        }));
        for (s, sector) in self.model.sectors.iter().enumerate() {
            let (ln_base_t, ln_base_c) = self.ln_base[s];
            let ln_t = logs[plan.tariff[s]] - ln_base_t;
            let ln_c = logs[plan.competitor[s]] - ln_base_c;
            // No change in either tariff: nothing moves (skips a solve for exempt sectors).
            let v = if ln_t == 0.0 && ln_c == 0.0 {
                1.0
            } else {
                let e = Elasticities {
                    sigma: values[sector.sigma.index()],
                    epsilon: values[sector.epsilon.index()],
                    eta: values[sector.eta.index()],
                };
                export_value(ln_t, ln_c, &self.shares[s], &e)
            };
            export_value_out[s] += weight * v;
            *tariff_out += sector.exports * weight * values[plan.slots[plan.tariff[s]].index()];
        }
    }

    /// Evaluates one draw: `values` is the draw's value vector (parameters then constants),
    /// `scenario` the picked scenario; writes the output row into `out`.
    pub fn evaluate(&self, values: &[f64], scenario: usize, out: &mut [f64]) {
        self.evaluate_with(values, scenario, out, &mut KernelScratch::default());
    }

    /// [`Kernel::evaluate`] with caller-owned buffers (the engine's hot loop).
    pub fn evaluate_with(
        &self,
        values: &[f64],
        scenario: usize,
        out: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        let model = self.model;
        let sc = &model.scenarios[scenario];
        // MODEL.md §3: the interim regime holds for the first m of H months.
        let interim_weight = values[sc.effective_month.index()] / model.horizon_months;
        let deal_weight = 1.0 - interim_weight;
        let sector_values = &mut out[FIRST_SECTOR..];
        sector_values.iter_mut().for_each(|v| *v = 0.0);
        let mut weighted_tariff = 0.0;
        self.regime_values(
            &self.scenarios[scenario],
            values,
            deal_weight,
            scratch,
            sector_values,
            &mut weighted_tariff,
        );
        // Skip the interim solve when the deal holds all horizon (its weight is 0).
        if interim_weight > 0.0 {
            self.regime_values(
                &self.interim,
                values,
                interim_weight,
                scratch,
                sector_values,
                &mut weighted_tariff,
            );
        }
        let mut export_loss = 0.0;
        for (v, sector) in sector_values.iter_mut().zip(&model.sectors) {
            // L = X0·(1 − V_annual), V_annual = (m/H)·V_interim + (1 − m/H)·V_scenario.
            let loss = sector.exports * (1.0 - *v);
            *v = loss;
            export_loss += loss;
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
