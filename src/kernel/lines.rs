//! Sectors backed by tariff lines (MODEL.md §14): each line is solved with §2/§10 on its own
//! exports, share, base tariffs and regime rates, with its sector's draw of σ, ε, η, the
//! competitors' η and the half-life, and the sector's value is the export-weighted sum of its
//! lines' values. A line keeps its sector's mix of named competitors (θ_j scaled by
//! (1 − θ_line)/(1 − θ_sector), compiled into [`crate::lines::Line`]); their V per line are
//! summed, weighted by the lines' X0_j, into the sector's competitor tracks.
//!
//! Lines of a sector that differ only in their exports are solved once ([`LineClass`]).
//!
//! A sector whose half-life is 0 is summed regime by regime ([`Kernel::line_sector_values`]):
//! V*_t is linear in V, so the sector's path is the path of its summed V. A sector that adjusts
//! gradually cannot be (ln V_t is not linear in V): each line runs its own §12 recursion
//! ([`Kernel::line_sector_path`], called from the monthly path), with the sector's λ of the
//! draw, and the sector's V_t and V_annual are the lines' sums.
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

use super::armington::{
    composite_ln_c, export_values, fixed_price_values, multi_source_values, FoldScratch,
    SectorColumns, SectorShares, SolveScratch, SourceColumns, SourceScratch, SourceShares,
};
use super::{
    annual_from_factors, half_life_factors, path_from_factors, AdjustWork, Kernel, RegimeDraws,
    RegimeScratch, SourcesKind, ValueColumns,
};
use crate::fastmath;
use crate::model::{Model, Regime, Slot};
use crate::outputs::{MONTH_EXPORT_CHANGE_PCT, MONTH_EXPORT_LOSS, MONTH_OUTPUTS};

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
    /// Shares of the line's sources (exporter, named competitors, `rest`) for the solves of
    /// MODEL.md §10; `None` for a line of a sector without named competitors.
    sources: Vec<Option<SourceShares>>,
    /// Per line, X0_j,line / X0_j,sector of each named competitor of its sector: the line's
    /// weight in the sector's competitor track (0 where the sector's X0_j is 0).
    track_weight: Vec<Vec<f64>>,
    /// Per sector, its classes' positions in `classes`.
    class_range: Vec<Range<usize>>,
    /// Classes of identical lines, sector after sector (see [`LineClass`]).
    classes: Vec<LineClass>,
    /// The lines of each class (line indices), class after class.
    class_lines: Vec<usize>,
}

/// Lines of one sector that differ in nothing but their exports: the same share, base
/// tariffs and rate slots (their own, `rest`'s and each named competitor's) in every regime.
/// They have the same V in every draw, so the class is solved once, for its first line, and
/// weighted by the sum of its lines' weights (HS6 lines of one sector under one `hs:` key
/// with the sector's share are one class). A class of one line is that line, bit for bit.
#[derive(Debug, Clone)]
struct LineClass {
    /// The line solved for the class.
    line: usize,
    /// Its lines' positions in `class_lines`.
    lines: Range<usize>,
    /// Σ X0_l/X0_s, Σ X0_l and, per named competitor, Σ X0_j,l/X0_j,s over its lines.
    weight: f64,
    exports: f64,
    track_weight: Vec<f64>,
}

/// A regime's line rates arranged for evaluation: per sector, the distinct slots its lines
/// read, and per line the positions of its own and its competitors' rate among them.
#[derive(Debug, Clone, Default)]
pub(super) struct LineRegime {
    slots: Vec<Vec<Slot>>,
    tariff: Vec<usize>,
    competitor: Vec<usize>,
    /// Per line, the positions of its sector's named competitors' rates (MODEL.md §10).
    named: Vec<Vec<usize>>,
}

/// Per-worker buffers of the line solve.
#[derive(Debug, Clone, Default)]
pub(super) struct LineScratch {
    /// ln(1 + rate) of each distinct slot of the sector being solved, slot after slot.
    slot_logs: Vec<f64>,
    /// The sector's regime value, Σ over lines of weight·V, per draw of the regime.
    sector_value: Vec<f64>,
    /// The sector's named competitors' regime values, Σ over lines of X0_j-weight·V_j,
    /// competitor after competitor.
    track_value: Vec<f64>,
    /// Lines that adjust gradually: ln(1 + rate) of the sector's slots under the interim
    /// regime (first `max_slots·n` values), then under each scenario over its draws.
    path_logs: Vec<f64>,
    /// Lines that adjust gradually: σ, ε, η, η_rest, then the named competitors' η, over the
    /// draws of the block grouped by scenario (so that each scenario's draws are contiguous).
    deal_params: Vec<f64>,
    /// Lines that adjust gradually: V of the line (and of each named competitor, k·n + d)
    /// under the interim regime and under the draw's scenario, by draw.
    v_interim: Vec<f64>,
    v_deal: Vec<f64>,
    named_interim: Vec<f64>,
    named_deal: Vec<f64>,
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
        let mut plan = LinePlan {
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
            sources: model
                .lines
                .iter()
                .map(|l| {
                    (!l.competitor_shares.is_empty()).then(|| {
                        SourceShares::grouped(
                            l.share,
                            &l.competitor_shares,
                            l.rest_share,
                            &super::eta_keys(model, &model.sectors[l.sector]),
                        )
                    })
                })
                .collect(),
            track_weight: model
                .lines
                .iter()
                .map(|l| {
                    let sector = &model.sectors[l.sector];
                    sector
                        .competitors
                        .iter()
                        .zip(&l.competitor_exports)
                        .map(|(c, &x)| if c.exports > 0.0 { x / c.exports } else { 0.0 })
                        .collect()
                })
                .collect(),
            class_range: Vec::new(),
            classes: Vec::new(),
            class_lines: Vec::new(),
        };
        plan.classify(model);
        Some(plan)
    }

    /// Groups each sector's lines into classes of identical lines (see [`LineClass`]), in
    /// file order of their first lines.
    fn classify(&mut self, model: &Model) {
        let regimes: Vec<&Regime> = std::iter::once(&model.interim)
            .chain(model.scenarios.iter().map(|s| &s.regime))
            .collect();
        for s in 0..model.sectors.len() {
            let competitors = &model.sectors[s].competitors;
            let first = self.classes.len();
            let mut members: Vec<Vec<usize>> = Vec::new();
            let mut keys: std::collections::HashMap<Vec<u64>, usize> =
                std::collections::HashMap::new();
            for &l in &self.order[self.by_sector[s].clone()] {
                let line = &model.lines[l];
                let mut key = vec![
                    line.share.to_bits(),
                    line.base_tariff.to_bits(),
                    line.competitor_base_tariff.to_bits(),
                ];
                for r in &regimes {
                    key.push(r.line_tariff[l].index() as u64);
                    key.push(r.line_competitor_tariff[l].index() as u64);
                    key.extend(
                        competitors
                            .iter()
                            .map(|c| r.line_competitors[c.competitor][l].index() as u64),
                    );
                }
                let next = members.len();
                let class = *keys.entry(key).or_insert(next);
                if class == next {
                    members.push(Vec::new());
                }
                members[class].push(l);
            }
            for lines in members {
                let start = self.class_lines.len();
                self.class_lines.extend_from_slice(&lines);
                // Summed from the first line on (not from 0), so a class of one line keeps
                // the line's numbers exactly.
                let sum = |f: &dyn Fn(usize) -> f64| {
                    lines[1..]
                        .iter()
                        .fold(f(lines[0]), |total, &l| total + f(l))
                };
                self.classes.push(LineClass {
                    line: lines[0],
                    lines: start..self.class_lines.len(),
                    weight: sum(&|l| self.weight[l]),
                    exports: sum(&|l| model.lines[l].exports),
                    track_weight: (0..competitors.len())
                        .map(|k| sum(&|l| self.track_weight[l][k]))
                        .collect(),
                });
            }
            self.class_range.push(first..self.classes.len());
        }
    }

    /// The classes of identical lines of sector `s`.
    fn classes_of(&self, s: usize) -> &[LineClass] {
        &self.classes[self.class_range[s].clone()]
    }

    /// The lines of a class.
    fn members(&self, class: &LineClass) -> &[usize] {
        &self.class_lines[class.lines.clone()]
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
            named: vec![Vec::new(); lines],
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
                out.named[l] = model.sectors[s]
                    .competitors
                    .iter()
                    .map(|c| position(regime.line_competitors[c.competitor][l]))
                    .collect();
            }
        }
        out
    }
}

impl LineScratch {
    /// Sizes the buffers for a block of `n` draws and zeroes the line values.
    pub(super) fn prepare(
        &mut self,
        n: usize,
        max_slots: usize,
        lines: usize,
        outputs: bool,
        max_named: usize,
        paths: bool,
    ) {
        self.slot_logs.resize(n * max_slots, 0.0);
        self.sector_value.resize(n, 0.0);
        self.track_value.resize(n * max_named, 0.0);
        if paths {
            self.path_logs.resize(2 * n * max_slots, 0.0);
            self.deal_params.resize(n * (4 + 2 * max_named), 0.0);
            self.v_interim.resize(n, 0.0);
            self.v_deal.resize(n, 0.0);
            self.named_interim.resize(n * max_named, 0.0);
            self.named_deal.resize(n * max_named, 0.0);
        }
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

/// The solvers' buffers a line solve uses.
struct Solvers<'a> {
    solve: &'a mut SolveScratch,
    fold: &'a mut FoldScratch,
    sources: &'a mut SourceScratch,
    ln_c_eff: &'a mut [f64],
}

/// Where a sector's line-backed regime values go (see [`Kernel::line_sector_values`]).
pub(super) struct LineSinks<'a> {
    /// The sector's output column: += weight·Σ_l (X0_l/X0_s)·V_l.
    pub column: &'a mut [f64],
    /// The draws' Σ X0·weight·τ.
    pub weighted_tariff: &'a mut [f64],
    /// The sector's named competitors' tracks (k·n + d): += weight·Σ_l ψ_l,k·V_l,k.
    pub tracks: &'a mut [f64],
    /// With the monthly path: the sector's regime value per draw, and its tracks'.
    pub kept: Option<(&'a mut [f64], &'a mut [f64])>,
}

/// The block's draws grouped by scenario and the columns of the monthly path, for
/// [`Kernel::line_sector_path`].
pub(super) struct LinePath<'a> {
    pub by_scenario: &'a [u32],
    pub group_start: &'a [usize],
    /// m and m − ⌊m⌋ per draw.
    pub month: &'a [f64],
    pub partial: &'a [f64],
    pub work: &'a mut AdjustWork,
    /// The months' output columns (empty without monthly outputs), `stride` apart.
    pub month_columns: &'a mut [f64],
    pub stride: usize,
    /// The sector's output column (V_annual, n draws) and its named competitors' tracks.
    pub column: &'a mut [f64],
    pub tracks: &'a mut [f64],
}

impl Kernel<'_> {
    /// Fills `ln_t`, `ln_c` and `named_ln_t` (k·len + i) of line `l` of sector `s` from the
    /// logs of the regime's slots (`logs`, slot after slot, `len` each); `false` when no rate
    /// of the line ever changes (then V = 1 for every source, nothing to solve).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn line_log_rates(
        &self,
        plan: &LinePlan,
        regime: &LineRegime,
        s: usize,
        l: usize,
        logs: &[f64],
        len: usize,
        ln_t: &mut [f64],
        ln_c: &mut [f64],
        named_ln_t: &mut [f64],
    ) -> bool {
        let slots = &regime.slots[s];
        let (ln_base_t, ln_base_c) = plan.ln_base[l];
        let (t, c) = (regime.tariff[l], regime.competitor[l]);
        let named = &regime.named[l];
        let named_base = &self.named_ln_base[s];
        let fixed = |slot: Slot, base: f64| self.fixed_ln_one_plus[slot.index()].map(|x| x - base);
        if fixed(slots[t], ln_base_t) == Some(0.0)
            && fixed(slots[c], ln_base_c) == Some(0.0)
            && named
                .iter()
                .zip(named_base)
                .all(|(&q, &base)| fixed(slots[q], base) == Some(0.0))
        {
            return false;
        }
        for (x, &y) in ln_t[..len].iter_mut().zip(&logs[t * len..(t + 1) * len]) {
            *x = y - ln_base_t;
        }
        for (x, &y) in ln_c[..len].iter_mut().zip(&logs[c * len..(c + 1) * len]) {
            *x = y - ln_base_c;
        }
        for (k, (&q, &base)) in named.iter().zip(named_base).enumerate() {
            for (x, &y) in named_ln_t[k * len..(k + 1) * len]
                .iter_mut()
                .zip(&logs[q * len..(q + 1) * len])
            {
                *x = y - base;
            }
        }
        true
    }

    /// MODEL.md §2/§10 for line `l` of sector `s` over the `len` draws of the columns `c`: V of
    /// the exporter into `v`, V of each named competitor into `named_v` (k·len + i), by the
    /// sector's kind of solve and the line's shares (the same functions as for sectors).
    #[allow(clippy::too_many_arguments)]
    fn solve_line(
        &self,
        plan: &LinePlan,
        s: usize,
        l: usize,
        c: &SourceColumns<'_>,
        v: &mut [f64],
        named_v: &mut [f64],
        solvers: Solvers<'_>,
    ) {
        let len = v.len();
        let named = self.model.sectors[s].competitors.len();
        let sector = SectorColumns {
            ln_t: c.ln_t,
            ln_c: c.ln_c,
            sigma: c.sigma,
            epsilon: c.epsilon,
            eta: c.eta,
        };
        match (self.kinds[s], &plan.sources[l]) {
            (SourcesKind::Plain, _) | (_, None) => {
                export_values(&sector, &plan.shares[l], v, solvers.solve)
            }
            (SourcesKind::Composite, Some(shares)) => {
                let ln_c_eff = &mut solvers.ln_c_eff[..len];
                composite_ln_c(
                    shares,
                    c.ln_c,
                    c.named_ln_t,
                    c.sigma,
                    ln_c_eff,
                    solvers.fold,
                );
                export_values(
                    &SectorColumns {
                        ln_c: ln_c_eff,
                        ..sector
                    },
                    &plan.shares[l],
                    v,
                    solvers.solve,
                );
                for k in 0..named {
                    fixed_price_values(
                        &c.named_ln_t[k * len..(k + 1) * len],
                        solvers.solve.ln_price_index(),
                        c.sigma,
                        c.epsilon,
                        &mut named_v[k * len..(k + 1) * len],
                    );
                }
            }
            (SourcesKind::General, Some(shares)) => {
                multi_source_values(c, shares, v, &mut named_v[..named * len], solvers.sources)
            }
        }
    }

    /// The line-backed sector `s` under one regime: solves each of its lines for the draws of
    /// the regime, adds weight·Σ_l (X0_l/X0_s)·V_l to the sector's column, weight·Σ_l ψ_l,k·V_l,k
    /// to its named competitors' tracks and X0_l·weight·τ_l to the draws' weighted tariffs;
    /// with `kept`, stores the sector's regime values per draw (exact for the monthly path of a
    /// sector whose half-life is 0). A sector that adjusts gradually (`solve` false) only adds
    /// its lines' tariffs here, in the same order as the others: its lines are solved by
    /// [`Kernel::line_sector_path`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn line_sector_values(
        &self,
        plan: &LinePlan,
        regime: &LineRegime,
        s: usize,
        RegimeDraws { draws, weight }: RegimeDraws<'_>,
        values: &ValueColumns<'_>,
        sinks: LineSinks<'_>,
        scratch: &mut RegimeScratch,
        solve: bool,
    ) {
        let len = draws.len();
        let n = weight.len();
        let sector = &self.model.sectors[s];
        let named = sector.competitors.len();
        let LineSinks {
            column,
            weighted_tariff,
            tracks,
            kept,
        } = sinks;
        let slots = &regime.slots[s];
        let RegimeScratch {
            ln_t,
            ln_c,
            sigma,
            epsilon,
            eta,
            export_value,
            solve: solve_scratch,
            named_ln_t,
            named_eta,
            eta_rest,
            ln_c_eff,
            named_values,
            fold,
            sources,
            lines: ls,
            ..
        } = scratch;
        let gather = |column: &[f64], into: &mut [f64]| {
            for (x, &d) in into.iter_mut().zip(draws) {
                *x = column[d as usize];
            }
        };
        if solve {
            // The sector's draw, shared by all its lines.
            gather(values.column(sector.sigma.index()), &mut sigma[..len]);
            gather(values.column(sector.epsilon.index()), &mut epsilon[..len]);
            gather(values.column(sector.eta.index()), &mut eta[..len]);
            if self.kinds[s] == SourcesKind::General {
                gather(values.column(sector.rest_eta.index()), &mut eta_rest[..len]);
                for (k, c) in sector.competitors.iter().enumerate() {
                    gather(
                        values.column(c.eta.index()),
                        &mut named_eta[k * len..(k + 1) * len],
                    );
                }
            }
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
            ls.sector_value[..len].fill(0.0);
            ls.track_value[..named * len].fill(0.0);
        }
        for class in plan.classes_of(s) {
            let l = class.line;
            let t = regime.tariff[l];
            if solve {
                let v = &mut export_value[..len];
                let named_v = &mut named_values[..named * len];
                if self.line_log_rates(
                    plan,
                    regime,
                    s,
                    l,
                    &ls.slot_logs,
                    len,
                    ln_t,
                    ln_c,
                    named_ln_t,
                ) {
                    self.solve_line(
                        plan,
                        s,
                        l,
                        &SourceColumns {
                            ln_t: &ln_t[..len],
                            ln_c: &ln_c[..len],
                            named_ln_t: &named_ln_t[..named * len],
                            sigma: &sigma[..len],
                            epsilon: &epsilon[..len],
                            eta: &eta[..len],
                            eta_rest: &eta_rest[..len],
                            named_eta: &named_eta[..named * len],
                        },
                        v,
                        named_v,
                        Solvers {
                            solve: solve_scratch,
                            fold,
                            sources,
                            ln_c_eff,
                        },
                    );
                } else {
                    // Neither rate ever changes (an exempt line): V = 1 in every draw.
                    v.fill(1.0);
                    named_v.fill(1.0);
                }
                let phi = class.weight;
                for (total, &x) in ls.sector_value[..len].iter_mut().zip(v.iter()) {
                    *total += phi * x;
                }
                for (k, &psi) in class.track_weight.iter().enumerate() {
                    let track = &mut ls.track_value[k * len..(k + 1) * len];
                    for (total, &x) in track.iter_mut().zip(&named_v[k * len..(k + 1) * len]) {
                        *total += psi * x;
                    }
                }
            }
            let exports = class.exports;
            let tariffs = values.column(slots[t].index());
            for &d in draws {
                let d = d as usize;
                let w = weight[d];
                if w > 0.0 {
                    weighted_tariff[d] += exports * w * tariffs[d];
                }
            }
            if solve && !ls.line_values.is_empty() {
                // Every line of the class has the class's V.
                for &member in plan.members(class) {
                    let line_values = &mut ls.line_values[member * n..][..n];
                    for (&x, &d) in export_value[..len].iter().zip(draws) {
                        let d = d as usize;
                        let w = weight[d];
                        if w > 0.0 {
                            line_values[d] += w * x;
                        }
                    }
                }
            }
        }
        if !solve {
            return;
        }
        let sector_value = &ls.sector_value[..len];
        if let Some((kept, kept_tracks)) = kept {
            for (&x, &d) in sector_value.iter().zip(draws) {
                kept[d as usize] = x;
            }
            for k in 0..named {
                for (&x, &d) in ls.track_value[k * len..(k + 1) * len].iter().zip(draws) {
                    kept_tracks[k * n + d as usize] = x;
                }
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
        for k in 0..named {
            for (&x, &d) in ls.track_value[k * len..(k + 1) * len].iter().zip(draws) {
                let d = d as usize;
                let w = weight[d];
                if w > 0.0 {
                    tracks[k * n + d] += w * x;
                }
            }
        }
    }

    /// MODEL.md §14 with §12 for a line-backed sector that adjusts gradually: each line is
    /// solved under the interim regime and under each draw's scenario (§2/§10), runs the
    /// recursion ln V_t = (1 − λ)·ln V_{t−1} + λ·ln V*_t with the sector's half-life of the
    /// draw, and adds (X0_l/X0_s)·V_annual,l to the sector's column, X0_l/H·(1 − V_l,t) and
    /// X0_l·(1 + g)·V_l,t to the months' outputs, and ψ_l,k·V_annual of its named competitors
    /// (each on its own path, with the same λ) to the sector's tracks. The sector's column and
    /// tracks hold 0 on entry (its regimes were not summed).
    pub(super) fn line_sector_path(
        &self,
        s: usize,
        n: usize,
        values: &ValueColumns<'_>,
        path: LinePath<'_>,
        scratch: &mut RegimeScratch,
    ) {
        let Some(plan) = &self.line_plan else {
            return;
        };
        let model = self.model;
        let sector = &model.sectors[s];
        let named = sector.competitors.len();
        let months = model.months();
        let h_months = model.horizon_months;
        let per_month = MONTH_OUTPUTS.len();
        let LinePath {
            by_scenario,
            group_start,
            month,
            partial,
            work,
            month_columns,
            stride,
            column,
            tracks,
        } = path;
        let RegimeScratch {
            ln_t,
            ln_c,
            export_value,
            solve: solve_scratch,
            named_ln_t,
            ln_c_eff,
            named_values,
            fold,
            sources,
            lines: ls,
            ..
        } = scratch;
        let general = self.kinds[s] == SourcesKind::General;
        let max_slots = self.max_line_slots;
        let max_named = self.max_named;
        let by_scenario = &by_scenario[..n];
        let scenario_groups = || {
            self.scenarios
                .iter()
                .enumerate()
                .map(|(k, plan)| (&plan.lines, group_start[k], group_start[k + 1]))
        };
        // The sector's parameters in scenario order, so that each scenario's draws are
        // contiguous: σ, ε, η, η_rest at a·n, the named competitors' η of a scenario's draws
        // from 4·n + named·start (competitor after competitor), and the named competitors' η of
        // every draw for the interim regime from (4 + max_named)·n. The interim regime reads
        // σ, ε, η and η_rest from the value columns as they are.
        let named_deal_at = 4 * n;
        let named_interim_at = (4 + max_named) * n;
        {
            let deal = &mut ls.deal_params;
            let mut gather = |slot: Slot, at: usize| {
                let column = values.column(slot.index());
                for (x, &d) in deal[at * n..(at + 1) * n].iter_mut().zip(by_scenario) {
                    *x = column[d as usize];
                }
            };
            gather(sector.sigma, 0);
            gather(sector.epsilon, 1);
            gather(sector.eta, 2);
            if general {
                gather(sector.rest_eta, 3);
                for (_, start, end) in scenario_groups() {
                    let len = end - start;
                    for (k, c) in sector.competitors.iter().enumerate() {
                        let column = values.column(c.eta.index());
                        let into = &mut deal[named_deal_at + named * start + k * len..][..len];
                        for (x, &d) in into.iter_mut().zip(&by_scenario[start..end]) {
                            *x = column[d as usize];
                        }
                    }
                }
                for (k, c) in sector.competitors.iter().enumerate() {
                    deal[named_interim_at + k * n..][..n]
                        .copy_from_slice(&values.column(c.eta.index())[..n]);
                }
            }
        }
        // ln(1 + rate) of the sector's line slots: the interim's over every draw (`None`), then
        // each scenario's over its draws.
        let logs_of = |slots: &[Slot], draws: Option<&[u32]>, len: usize, logs: &mut [f64]| {
            for (q, slot) in slots.iter().enumerate() {
                let logs = &mut logs[q * len..(q + 1) * len];
                match self.fixed_ln_one_plus[slot.index()] {
                    Some(fixed) => logs.fill(fixed),
                    None => {
                        let column = values.column(slot.index());
                        match draws {
                            Some(draws) => {
                                for (x, &d) in logs.iter_mut().zip(draws) {
                                    *x = column[d as usize];
                                }
                            }
                            None => logs.copy_from_slice(&column[..len]),
                        }
                        fastmath::ln_1p_in_place(logs);
                    }
                }
            }
        };
        let (interim_logs, deal_logs) = ls.path_logs.split_at_mut(max_slots * n);
        logs_of(&self.interim.lines.slots[s], None, n, interim_logs);
        {
            let mut offset = 0;
            for (regime, start, end) in scenario_groups() {
                let slots = &regime.slots[s];
                let group = &by_scenario[start..end];
                logs_of(slots, Some(group), group.len(), &mut deal_logs[offset..]);
                offset += slots.len() * group.len();
            }
        }
        let (interim_logs, deal_logs) = (&*interim_logs, &*deal_logs);
        // The sector's keep and λ, once for all its lines and their competitors (the same h).
        half_life_factors(
            work,
            n,
            &values.column(sector.half_life_months.index())[..n],
        );
        let growth = &values.column(sector.growth.index())[..n];
        let interim_column = |slot: Slot| &values.column(slot.index())[..n];
        for class in plan.classes_of(s) {
            let l = class.line;
            // V under the draw's scenario, scenario by scenario over its draws.
            let mut offset = 0;
            for (regime, start, end) in scenario_groups() {
                let len = end - start;
                let logs = &deal_logs[offset..];
                offset += regime.slots[s].len() * len;
                if len == 0 {
                    continue;
                }
                let group = &by_scenario[start..end];
                let v = &mut export_value[..len];
                let named_v = &mut named_values[..named * len];
                if self.line_log_rates(plan, regime, s, l, logs, len, ln_t, ln_c, named_ln_t) {
                    let deal = &ls.deal_params;
                    let param = |at: usize| &deal[at * n + start..at * n + end];
                    self.solve_line(
                        plan,
                        s,
                        l,
                        &SourceColumns {
                            ln_t: &ln_t[..len],
                            ln_c: &ln_c[..len],
                            named_ln_t: &named_ln_t[..named * len],
                            sigma: param(0),
                            epsilon: param(1),
                            eta: param(2),
                            eta_rest: param(3),
                            named_eta: &deal[named_deal_at + named * start..][..named * len],
                        },
                        v,
                        named_v,
                        Solvers {
                            solve: solve_scratch,
                            fold,
                            sources,
                            ln_c_eff,
                        },
                    );
                } else {
                    v.fill(1.0);
                    named_v.fill(1.0);
                }
                for (&x, &d) in v.iter().zip(group) {
                    ls.v_deal[d as usize] = x;
                }
                for k in 0..named {
                    let track = &mut ls.named_deal[k * n..][..n];
                    for (&x, &d) in named_v[k * len..(k + 1) * len].iter().zip(group) {
                        track[d as usize] = x;
                    }
                }
            }
            // V under the interim regime, every draw.
            let regime = &self.interim.lines;
            let v = &mut ls.v_interim[..n];
            let named_v = &mut ls.named_interim[..named * n];
            if self.line_log_rates(plan, regime, s, l, interim_logs, n, ln_t, ln_c, named_ln_t) {
                self.solve_line(
                    plan,
                    s,
                    l,
                    &SourceColumns {
                        ln_t: &ln_t[..n],
                        ln_c: &ln_c[..n],
                        named_ln_t: &named_ln_t[..named * n],
                        sigma: interim_column(sector.sigma),
                        epsilon: interim_column(sector.epsilon),
                        eta: interim_column(sector.eta),
                        eta_rest: interim_column(sector.rest_eta),
                        named_eta: &ls.deal_params[named_interim_at..][..named * n],
                    },
                    v,
                    named_v,
                    Solvers {
                        solve: solve_scratch,
                        fold,
                        sources,
                        ln_c_eff,
                    },
                );
            } else {
                v.fill(1.0);
                named_v.fill(1.0);
            }
            // The line's path and its months (MODEL.md §12 on the line, the sector's λ).
            let x0 = class.exports;
            let x0_month = x0 / h_months;
            if month_columns.is_empty() {
                annual_from_factors(work, n, months, month, partial, &ls.v_interim, &ls.v_deal);
            } else {
                path_from_factors(
                    work,
                    n,
                    months,
                    month,
                    partial,
                    &ls.v_interim,
                    &ls.v_deal,
                    |t, v_month| {
                        let columns = &mut month_columns[t * per_month * stride..];
                        let (loss, rest) =
                            columns[MONTH_EXPORT_LOSS * stride..].split_at_mut(stride);
                        debug_assert_eq!(MONTH_EXPORT_CHANGE_PCT, MONTH_EXPORT_LOSS + 1);
                        let change = &mut rest[..stride];
                        for d in 0..n {
                            let v = v_month[d];
                            loss[d] += x0_month * (1.0 - v);
                            change[d] += x0 * (1.0 + growth[d]) * v;
                        }
                    },
                );
            }
            let phi = class.weight;
            for (v, &total) in column[..n].iter_mut().zip(&work.sum[..n]) {
                *v += phi * (total / h_months);
            }
            if !ls.line_values.is_empty() {
                for &member in plan.members(class) {
                    let line_values = &mut ls.line_values[member * n..][..n];
                    for (v, &total) in line_values.iter_mut().zip(&work.sum[..n]) {
                        *v = total / h_months;
                    }
                }
            }
            // Its named competitors, each on its own path with the same half-life.
            for (k, &psi) in class.track_weight.iter().enumerate() {
                annual_from_factors(
                    work,
                    n,
                    months,
                    month,
                    partial,
                    &ls.named_interim[k * n..][..n],
                    &ls.named_deal[k * n..][..n],
                );
                for (v, &total) in tracks[k * n..][..n].iter_mut().zip(&work.sum[..n]) {
                    *v += psi * (total / h_months);
                }
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
