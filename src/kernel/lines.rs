//! Sectors backed by tariff lines (MODEL.md §14): each line is solved with §2 on its own
//! exports, share, base tariffs and regime rates, with its sector's draw of σ, ε and η, and
//! the sector's value is the export-weighted sum of its lines' values.
//!
//! Kept apart from the sector loop of `mod.rs` so that a model without lines runs exactly the
//! code (and gives exactly the bits) it did before: the sector loop hands a line-backed sector
//! to [`Kernel::line_sector_values`] and skips it.
//!
//! The cost that matters is per line and draw: what is per sector (sampling, copula, the
//! quantile functions, gathering σ, ε, η) is done once per sector and shared by its lines;
//! per line there are two subtractions (ln T, ln C from the rate's log, taken once per distinct
//! rate), the vectorised solve over the draws of the regime and one multiply-add.

use std::ops::Range;

use super::armington::{export_values, SectorColumns, SectorShares};
use super::{Kernel, RegimeDraws, RegimeScratch, ValueColumns};
use crate::fastmath;
use crate::model::{Model, Regime, Slot};

/// The lines of a model arranged for evaluation.
#[derive(Debug, Clone)]
pub(super) struct LinePlan {
    /// Per sector, its lines' positions in `order` (empty for a sector without lines).
    by_sector: Vec<Range<usize>>,
    /// Line indices (into `Model::lines`) grouped by sector, in file order within a sector.
    order: Vec<usize>,
    /// θ of each line (by line index), logs hoisted.
    shares: Vec<SectorShares>,
    /// ln(1 + τ0) and ln(1 + c0) of each line.
    ln_base: Vec<(f64, f64)>,
    /// X0_line / X0_sector: the line's weight in its sector's value.
    weight: Vec<f64>,
}

/// A regime's line rates arranged for evaluation: per sector, the distinct slots its lines
/// read, and per line the positions of its own and its competitors' rate among them.
#[derive(Debug, Clone, Default)]
pub(super) struct LineRegime {
    slots: Vec<Vec<Slot>>,
    tariff: Vec<usize>,
    competitor: Vec<usize>,
}

/// Per-worker buffers of the line solve.
#[derive(Debug, Clone, Default)]
pub(super) struct LineScratch {
    /// ln(1 + rate) of each distinct slot of the sector being solved, slot after slot.
    slot_logs: Vec<f64>,
    /// The sector's regime value, Σ over lines of weight·V, per draw of the regime.
    sector_value: Vec<f64>,
    /// With `--line-outputs`: V_annual of every line (line after line, n each), turned into
    /// losses X0·(1 − V_annual) at the end of the block.
    pub(super) line_values: Vec<f64>,
}

impl LinePlan {
    /// `None` for a model without lines.
    pub(super) fn new(model: &Model) -> Option<Self> {
        if model.lines.is_empty() {
            return None;
        }
        let mut order: Vec<usize> = (0..model.lines.len()).collect();
        // Stable: file order within a sector.
        order.sort_by_key(|&l| model.lines[l].sector);
        let mut by_sector = vec![0..0; model.sectors.len()];
        let mut start = 0;
        while start < order.len() {
            let s = model.lines[order[start]].sector;
            let mut end = start;
            while end < order.len() && model.lines[order[end]].sector == s {
                end += 1;
            }
            by_sector[s] = start..end;
            start = end;
        }
        Some(LinePlan {
            by_sector,
            order,
            shares: model
                .lines
                .iter()
                .map(|l| SectorShares::new(l.share))
                .collect(),
            ln_base: model
                .lines
                .iter()
                .map(|l| {
                    (
                        fastmath::ln_1p(l.base_tariff),
                        fastmath::ln_1p(l.competitor_base_tariff),
                    )
                })
                .collect(),
            weight: model
                .lines
                .iter()
                .map(|l| l.exports / model.sectors[l.sector].exports)
                .collect(),
        })
    }

    /// Whether sector `s` is solved line by line.
    #[inline]
    pub(super) fn backs(&self, s: usize) -> bool {
        !self.by_sector[s].is_empty()
    }

    /// The lines of sector `s`, by line index.
    fn lines_of(&self, s: usize) -> &[usize] {
        &self.order[self.by_sector[s].clone()]
    }
}

impl LineRegime {
    /// Arranges `regime`'s line rates (empty for a model without lines).
    pub(super) fn new(model: &Model, regime: &Regime) -> Self {
        let Some(plan) = LinePlan::new(model) else {
            return LineRegime::default();
        };
        let lines = model.lines.len();
        let mut out = LineRegime {
            slots: vec![Vec::new(); model.sectors.len()],
            tariff: vec![0; lines],
            competitor: vec![0; lines],
        };
        for s in 0..model.sectors.len() {
            let slots = &mut out.slots[s];
            let mut position = |slot: Slot| match slots.iter().position(|&x| x == slot) {
                Some(i) => i,
                None => {
                    slots.push(slot);
                    slots.len() - 1
                }
            };
            for &l in plan.lines_of(s) {
                out.tariff[l] = position(regime.line_tariff[l]);
                out.competitor[l] = position(regime.line_competitor_tariff[l]);
            }
        }
        out
    }
}

impl LineScratch {
    /// Sizes the buffers for a block of `n` draws and zeroes the line values.
    pub(super) fn prepare(&mut self, n: usize, max_slots: usize, lines: usize, outputs: bool) {
        self.slot_logs.resize(n * max_slots, 0.0);
        self.sector_value.resize(n, 0.0);
        if outputs {
            self.line_values.clear();
            self.line_values.resize(lines * n, 0.0);
        }
    }
}

/// Most distinct slots any sector's lines read in any regime.
pub(super) fn max_line_slots(regimes: &[&LineRegime]) -> usize {
    regimes
        .iter()
        .flat_map(|r| r.slots.iter().map(Vec::len))
        .max()
        .unwrap_or(0)
}

impl Kernel<'_> {
    /// The line-backed sector `s` under one regime: solves each of its lines for the draws of
    /// the regime, adds weight·Σ_l (X0_l/X0_s)·V_l to the sector's column and X0_l·weight·τ_l
    /// to the draws' weighted tariffs; with `kept`, stores the sector's regime value per draw
    /// (exact for the monthly outputs of a sector whose half-life is 0, the only kind with
    /// lines; the compiler refuses the others).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn line_sector_values(
        &self,
        plan: &LinePlan,
        regime: &LineRegime,
        s: usize,
        RegimeDraws { draws, weight }: RegimeDraws<'_>,
        values: &ValueColumns<'_>,
        column: &mut [f64],
        weighted_tariff: &mut [f64],
        scratch: &mut RegimeScratch,
        kept: Option<&mut [f64]>,
    ) {
        let len = draws.len();
        let n = weight.len();
        let sector = &self.model.sectors[s];
        let gather = |column: &[f64], into: &mut [f64]| {
            for (x, &d) in into.iter_mut().zip(draws) {
                *x = column[d as usize];
            }
        };
        // The sector's draw, shared by all its lines.
        gather(
            values.column(sector.sigma.index()),
            &mut scratch.sigma[..len],
        );
        gather(
            values.column(sector.epsilon.index()),
            &mut scratch.epsilon[..len],
        );
        gather(values.column(sector.eta.index()), &mut scratch.eta[..len]);
        let slots = &regime.slots[s];
        let ls = &mut scratch.lines;
        for (q, slot) in slots.iter().enumerate() {
            let logs = &mut ls.slot_logs[q * len..(q + 1) * len];
            match self.fixed_ln_one_plus[slot.index()] {
                Some(fixed) => logs.fill(fixed),
                None => {
                    gather(values.column(slot.index()), logs);
                    fastmath::ln_1p_in_place(logs);
                }
            }
        }
        let sector_value = &mut ls.sector_value[..len];
        sector_value.fill(0.0);
        for &l in plan.lines_of(s) {
            let (ln_base_t, ln_base_c) = plan.ln_base[l];
            let (t, c) = (regime.tariff[l], regime.competitor[l]);
            let fixed =
                |slot: Slot, base: f64| self.fixed_ln_one_plus[slot.index()].map(|x| x - base);
            let v = &mut scratch.export_value[..len];
            if fixed(slots[t], ln_base_t) == Some(0.0) && fixed(slots[c], ln_base_c) == Some(0.0) {
                // Neither rate ever changes (an exempt line): V = 1 in every draw.
                v.fill(1.0);
            } else {
                let ln_t = &mut scratch.ln_t[..len];
                let ln_c = &mut scratch.ln_c[..len];
                for (x, &y) in ln_t.iter_mut().zip(&ls.slot_logs[t * len..(t + 1) * len]) {
                    *x = y - ln_base_t;
                }
                for (x, &y) in ln_c.iter_mut().zip(&ls.slot_logs[c * len..(c + 1) * len]) {
                    *x = y - ln_base_c;
                }
                export_values(
                    &SectorColumns {
                        ln_t,
                        ln_c,
                        sigma: &scratch.sigma[..len],
                        epsilon: &scratch.epsilon[..len],
                        eta: &scratch.eta[..len],
                    },
                    &plan.shares[l],
                    v,
                    &mut scratch.solve,
                );
            }
            let phi = plan.weight[l];
            for (total, &x) in sector_value.iter_mut().zip(v.iter()) {
                *total += phi * x;
            }
            let exports = self.model.lines[l].exports;
            let tariffs = values.column(slots[t].index());
            let line_values =
                (!ls.line_values.is_empty()).then(|| &mut ls.line_values[l * n..][..n]);
            match line_values {
                Some(line_values) => {
                    for (&x, &d) in v.iter().zip(draws) {
                        let d = d as usize;
                        let w = weight[d];
                        if w > 0.0 {
                            line_values[d] += w * x;
                            weighted_tariff[d] += exports * w * tariffs[d];
                        }
                    }
                }
                None => {
                    for &d in draws {
                        let d = d as usize;
                        let w = weight[d];
                        if w > 0.0 {
                            weighted_tariff[d] += exports * w * tariffs[d];
                        }
                    }
                }
            }
        }
        if let Some(kept) = kept {
            for (&x, &d) in sector_value.iter().zip(draws) {
                kept[d as usize] = x;
            }
        }
        for (&x, &d) in sector_value.iter().zip(draws) {
            let d = d as usize;
            let w = weight[d];
            // A regime that never holds (weight 0) adds nothing, not 0·V.
            if w > 0.0 {
                column[d] += w * x;
            }
        }
    }

    /// Σ over the lines of sector `s` of X0_l·τ_l under `regime`, added for the draws `draws`
    /// (the monthly effective tariff of MODEL.md §12).
    pub(super) fn add_line_tariffs(
        &self,
        plan: &LinePlan,
        s: usize,
        regime: &Regime,
        values: &ValueColumns<'_>,
        draws: impl Iterator<Item = usize> + Clone,
        total: &mut [f64],
    ) {
        for &l in plan.lines_of(s) {
            let exports = self.model.lines[l].exports;
            let tariffs = values.column(regime.line_tariff[l].index());
            for d in draws.clone() {
                total[d] += exports * tariffs[d];
            }
        }
    }

    /// With `--line-outputs`: turns each line's V_annual into its loss X0·(1 − V_annual).
    pub(super) fn finish_line_losses(&self, n: usize, scratch: &mut RegimeScratch) {
        let values = &mut scratch.lines.line_values;
        for (l, line) in self.model.lines.iter().enumerate() {
            for v in &mut values[l * n..][..n] {
                *v = line.exports * (1.0 - *v);
            }
        }
    }
}
