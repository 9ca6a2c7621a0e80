//! The economics of MODEL.md §2–§5 and §15: pure functions from draws' parameter values to their
//! outputs. No I/O and no allocation per draw.
//!
//! The kernel works on a block of draws at once, column by column (structure of arrays): one
//! sector's solve runs for every draw of the block in one loop, which the compiler vectorises
//! (see [`armington::export_values`]). A single draw is a block of one, so there is one
//! definition of the economics and one set of numbers.

pub mod armington;
mod evaluate;
mod lines;
pub mod macro_outputs;
#[cfg(target_arch = "x86_64")]
mod path_lanes;

pub use evaluate::{BlockBuffers, Evaluator};

use crate::model::{Model, Regime, Sector, Slot};
use crate::outputs::{
    export_change_index, first_competitor_index, first_month_index, net_export_loss_index,
    EXPORT_LOSS, FIRST_SECTOR, MONTH_EFFECTIVE_TARIFF, MONTH_EXPORT_CHANGE_PCT, MONTH_EXPORT_LOSS,
    MONTH_OUTPUTS,
};
use armington::{
    composite_ln_c, export_values, fixed_price_values, multi_source_values_sharing, FoldScratch,
    SectorColumns, SectorShares, SolveScratch, SourceColumns, SourceScratch, SourceShares,
};
use macro_outputs::{macro_outputs, MacroInputs};

use crate::fastmath::{self, SimdLevel};

/// A regime's tariffs arranged for evaluation: the distinct value slots it reads (a `default`
/// shared by ten sectors is one slot, so its log is taken once per draw) and, per sector, the
/// positions of its own and its competitors' tariff among them.
#[derive(Debug, Clone)]
struct RegimePlan {
    slots: Vec<Slot>,
    tariff: Vec<usize>,
    competitor: Vec<usize>,
    /// Per sector, the positions of its named competitors' tariffs (MODEL.md §10), in the
    /// order of the sector's `competitors`.
    named: Vec<Vec<usize>>,
    /// Per sector and named competitor k: `Some(j)`, j < k the first such, when k has the
    /// same ln T and η columns as j in every draw of the regime, so the same V, copied rather
    /// than recomputed (set by [`Kernel::new`]; all `None` for line-backed sectors).
    same_named: Vec<Vec<Option<usize>>>,
    /// The rates of the lines (MODEL.md §14; empty without lines).
    lines: lines::LineRegime,
}

impl RegimePlan {
    fn new(model: &Model, regime: &Regime) -> Self {
        let sectors = &model.sectors;
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
        let named = sectors
            .iter()
            .enumerate()
            .map(|(s, sector)| {
                sector
                    .competitors
                    .iter()
                    .map(|c| position(regime.competitors[c.competitor][s]))
                    .collect()
            })
            .collect();
        let same_named = sectors
            .iter()
            .map(|sector| vec![None; sector.competitors.len()])
            .collect();
        RegimePlan {
            slots,
            tariff,
            competitor,
            named,
            same_named,
            lines: lines::LineRegime::new(model, regime),
        }
    }
}

/// Per-worker buffers of the kernel, sized on the first block and reused, so that evaluation
/// does not allocate.
#[derive(Debug, Clone, Default)]
pub struct KernelScratch {
    draws: DrawScratch,
    regime: RegimeScratch,
}

/// Per-draw columns of a block.
#[derive(Debug, Clone, Default)]
struct DrawScratch {
    /// Draws of the block grouped by scenario (a counting sort, so in draw order within a group).
    by_scenario: Vec<u32>,
    /// Start of each scenario's group in `by_scenario`, plus the end.
    group_start: Vec<usize>,
    /// Next free place of each group while sorting.
    group_next: Vec<usize>,
    /// 0, 1, ..., n − 1: the interim regime applies to every draw.
    all_draws: Vec<u32>,
    /// m/H per draw.
    interim_weight: Vec<f64>,
    /// 1 − m/H per draw.
    deal_weight: Vec<f64>,
    /// Σ over regimes and sectors of X0·weight·τ per draw.
    weighted_tariff: Vec<f64>,
    /// Σ over regimes of weight·V of every named competitor of every sector (MODEL.md §10),
    /// track after track (tracks × n); V_annual once the regimes are summed.
    track_annual: Vec<f64>,
    /// Columns of the monthly path (MODEL.md §12), sized only when the model uses it.
    path: PathScratch,
}

/// Per-draw columns of the monthly path (MODEL.md §12).
#[derive(Debug, Clone, Default)]
struct PathScratch {
    /// m, the draw's effective month.
    month: Vec<f64>,
    /// m − ⌊m⌋: the interim fraction a_t of the month in which the deal takes effect.
    partial: Vec<f64>,
    /// V of every sector under the interim regime, sector after sector (S × n).
    v_interim: Vec<f64>,
    /// V of every sector under the draw's scenario, sector after sector (S × n).
    v_deal: Vec<f64>,
    /// V of every named competitor of every sector (MODEL.md §10) under the interim regime
    /// and under the draw's scenario, track after track (tracks × n).
    track_interim: Vec<f64>,
    track_deal: Vec<f64>,
    /// The recursion's columns for one series.
    work: AdjustWork,
    /// Σ_s X0·τ under the interim regime and under the draw's scenario.
    tariff_interim: Vec<f64>,
    tariff_deal: Vec<f64>,
    /// The draws whose path a competitor copies in some scenarios only must still compute
    /// (see [`Kernel::partial_path`]), and their columns gathered.
    subset: Vec<u32>,
    subset_work: AdjustWork,
    subset_month: Vec<f64>,
    subset_partial: Vec<f64>,
    subset_interim: Vec<f64>,
    subset_deal: Vec<f64>,
}

/// Columns of §12's recursion for one series (a sector, or a named competitor in a sector).
#[derive(Debug, Clone, Default)]
struct AdjustWork {
    /// ln V(interim), ln V(scenario) and ln V* of the partial month.
    ln_interim: Vec<f64>,
    ln_deal: Vec<f64>,
    ln_partial: Vec<f64>,
    /// 1 − λ = 2^(−1/h) and λ.
    keep: Vec<f64>,
    lambda: Vec<f64>,
    /// ln V_t, month after month.
    ln_v: Vec<f64>,
    /// Σ_t V_t.
    sum: Vec<f64>,
    /// V_t of every month, month after month (months × n), for the monthly outputs: the
    /// vector path runs all the months of a group of draws before the next group (the
    /// month-outer path uses the first row only). Grown by [`path_from_factors`] to the months
    /// of the model (once per scratch).
    v_months: Vec<f64>,
}

impl AdjustWork {
    /// Makes every column hold at least `n` draws (a block's scratch, reused between blocks).
    fn resize(&mut self, n: usize) {
        for column in [
            &mut self.ln_interim,
            &mut self.ln_deal,
            &mut self.ln_partial,
            &mut self.keep,
            &mut self.lambda,
            &mut self.ln_v,
            &mut self.sum,
        ] {
            column.resize(n, 0.0);
        }
    }

    /// The recursion's inputs of draws 0..n for the vector path.
    #[cfg(target_arch = "x86_64")]
    fn series<'a>(
        keep: &'a [f64],
        lambda: &'a [f64],
        month: &'a [f64],
        partial: &'a [f64],
        v_interim: &'a [f64],
        v_deal: &'a [f64],
    ) -> path_lanes::SeriesColumns<'a> {
        path_lanes::SeriesColumns {
            keep,
            lambda,
            month,
            partial,
            v_interim,
            v_deal,
        }
    }
}

/// 1 − λ = 2^(−1/h) and λ of every draw into `w.keep` and `w.lambda`: once per sector and
/// block, shared by the sector's own series, its lines (MODEL.md §14) and their named
/// competitors' (the same h). [`path_from_factors`] and [`annual_from_factors`] then run §12.
fn half_life_factors(w: &mut AdjustWork, n: usize, half_life: &[f64]) {
    half_life_factors_at(SimdLevel::current(), w, n, half_life)
}

/// [`half_life_factors`] at instruction set `level`, which the CPU must support.
fn half_life_factors_at(level: SimdLevel, w: &mut AdjustWork, n: usize, half_life: &[f64]) {
    #[inline(always)]
    fn each(keep: &mut [f64], lambda: &mut [f64], half_life: &[f64]) {
        for ((k, l), &h) in keep.iter_mut().zip(lambda.iter_mut()).zip(half_life) {
            // 2^(−1/h) = exp(−ln 2 / h); h = 0 gives exp(−∞) = 0, i.e. λ = 1 (at once).
            *k = fastmath::exp(-std::f64::consts::LN_2 / h);
            *l = 1.0 - *k;
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn each_avx2(keep: &mut [f64], lambda: &mut [f64], half_life: &[f64]) {
        each(keep, lambda, half_life)
    }
    let (keep, lambda, half_life) = (&mut w.keep[..n], &mut w.lambda[..n], &half_life[..n]);
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx512 {
        // SAFETY: the CPU supports AVX-512 (the caller's level).
        let done = unsafe { path_lanes::factors_avx512(keep, lambda, half_life) };
        each(&mut keep[done..], &mut lambda[done..], &half_life[done..]);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx2 {
        // SAFETY: the CPU supports AVX2 (the caller's level).
        unsafe { each_avx2(keep, lambda, half_life) };
        return;
    }
    each(keep, lambda, half_life)
}

/// [`path_from_factors`] for a series whose months are not reported (a named competitor):
/// Σ_t V_t into `w.sum` only. With AVX-512 and AVX2, whole groups of 8 or 4 draws run months
/// innermost in registers ([`path_lanes`]) and the rest through [`annual_body`] (at AVX2 the
/// groups are faster since the months' exponential reads a table, [`fastmath::exp_tabled`],
/// which LLVM does not vectorise in [`annual_body`]). The same IEEE operations at every level,
/// so the same bits. `w.keep` and `w.lambda` are already filled by [`half_life_factors`].
fn annual_from_factors(
    w: &mut AdjustWork,
    n: usize,
    months: usize,
    month: &[f64],
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
) {
    let level = SimdLevel::current();
    annual_from_factors_at(level, w, n, months, month, partial, v_interim, v_deal)
}

/// [`annual_from_factors`] at instruction set `level`, which the CPU must support.
#[allow(clippy::too_many_arguments)]
fn annual_from_factors_at(
    level: SimdLevel,
    w: &mut AdjustWork,
    n: usize,
    months: usize,
    month: &[f64],
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
) {
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx512 {
        let series = AdjustWork::series(&w.keep, &w.lambda, month, partial, v_interim, v_deal);
        // SAFETY: the CPU supports AVX-512 (the caller's level).
        let done =
            unsafe { path_lanes::path_avx512::<false>(series, n, months, &mut w.sum, &mut []) };
        annual_body(w, done, n, months, month, partial, v_interim, v_deal);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx2 {
        let series = AdjustWork::series(&w.keep, &w.lambda, month, partial, v_interim, v_deal);
        // SAFETY: the CPU supports AVX2 (the caller's level).
        let done =
            unsafe { path_lanes::path_avx2::<false>(series, n, months, &mut w.sum, &mut []) };
        annual_body(w, done, n, months, month, partial, v_interim, v_deal);
        return;
    }
    annual_body(w, 0, n, months, month, partial, v_interim, v_deal)
}

/// Σ_t V_t of §12's recursion for the draws from..n: [`path_from_factors`] without monthly
/// outputs, with the recursion and the exponential in one loop over the draws per month
/// (ln V_t is not stored and read back, V_t not stored at all; issue 16). The same operations
/// in the same order, so the same bits. (Keeping a group of draws' ln V_t and Σ_t V_t in
/// registers through the months, months innermost, is what [`path_lanes`] does with
/// intrinsics: LLVM does not vectorise that form from this code.)
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn annual_body(
    w: &mut AdjustWork,
    from: usize,
    n: usize,
    months: usize,
    month: &[f64],
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
) {
    path_logs(w, from, n, partial, v_interim, v_deal);
    let month = &month[from..n];
    let (ln_i, ln_s) = (&w.ln_interim[from..n], &w.ln_deal[from..n]);
    let ln_p = &w.ln_partial[from..n];
    let (keep, lambda) = (&w.keep[from..n], &w.lambda[from..n]);
    let (ln_v, sum) = (&mut w.ln_v[from..n], &mut w.sum[from..n]);
    for t in 0..months {
        let start = t as f64;
        for d in 0..n - from {
            let target = month_target(month[d], start, ln_i[d], ln_s[d], ln_p[d]);
            let l = keep[d] * ln_v[d] + lambda[d] * target;
            ln_v[d] = l;
            sum[d] += fastmath::exp_tabled(l);
        }
    }
}

/// ln V*_t of the month starting at `start` for a draw whose deal takes effect at month `m`:
/// ln V(interim) in whole interim months, ln V(scenario) after, the partial month's mix in the
/// month of the deal (a_t = clamp(m − t, 0, 1) ≥ 1, ≤ 0, or between). All three are passed
/// and one is selected, without a branch, so that loops over draws vectorise.
#[inline(always)]
fn month_target(m: f64, start: f64, ln_interim: f64, ln_deal: f64, ln_partial: f64) -> f64 {
    // clamp(x, 0, 1) ≥ 1 exactly when x ≥ 1, and ≤ 0 exactly when x ≤ 0 (NaN: neither), so
    // the clamp itself is not needed to choose.
    let a = m - start;
    if a >= 1.0 {
        ln_interim
    } else if a <= 0.0 {
        ln_deal
    } else {
        ln_partial
    }
}

/// ln V(interim), ln V(scenario) and ln V* of the partial month of the draws from..n into
/// `w`, and the recursion's start: ln V_0 = 0, Σ = 0 (in the same loop rather than two fills).
#[inline(always)]
fn path_logs(
    w: &mut AdjustWork,
    from: usize,
    n: usize,
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
) {
    let (partial, v_interim, v_deal) = (&partial[from..n], &v_interim[from..n], &v_deal[from..n]);
    let (ln_i, ln_s) = (&mut w.ln_interim[from..n], &mut w.ln_deal[from..n]);
    let ln_p = &mut w.ln_partial[from..n];
    let (ln_v, sum) = (&mut w.ln_v[from..n], &mut w.sum[from..n]);
    for d in 0..n - from {
        ln_i[d] = fastmath::ln(v_interim[d]);
        ln_s[d] = fastmath::ln(v_deal[d]);
        let a = partial[d];
        ln_p[d] = fastmath::ln(a * v_interim[d] + (1.0 - a) * v_deal[d]);
        ln_v[d] = 0.0;
        sum[d] = 0.0;
    }
}

/// MODEL.md §12 for one series over the draws 0..n: ln V_t = (1 − λ)·ln V_{t−1} + λ·ln V*_t,
/// V_0 = 1, with `w.keep` = 1 − λ and `w.lambda` = λ already filled by [`half_life_factors`];
/// leaves Σ_t V_t in `w.sum` and calls `each_month(t, V_t)` for t = 0, 1, …: with AVX-512 or
/// AVX2 once all months are computed (whole groups of draws run all their months in registers,
/// [`path_lanes`]), otherwise month by month (the months one after the other over the draws,
/// compiled for the caller's instruction set).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn path_from_factors(
    w: &mut AdjustWork,
    n: usize,
    months: usize,
    month: &[f64],
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
    each_month: impl FnMut(usize, &[f64]),
) {
    let level = SimdLevel::current();
    path_from_factors_at(
        level, w, n, months, month, partial, v_interim, v_deal, each_month,
    )
}

/// [`path_from_factors`] at instruction set `level`, which the CPU must support.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn path_from_factors_at(
    level: SimdLevel,
    w: &mut AdjustWork,
    n: usize,
    months: usize,
    month: &[f64],
    partial: &[f64],
    v_interim: &[f64],
    v_deal: &[f64],
    mut each_month: impl FnMut(usize, &[f64]),
) {
    if w.v_months.len() < months * n {
        // Once per scratch: the block size and the months do not change between blocks.
        w.v_months.resize(months * n, 0.0);
    }
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx512 {
        let series = AdjustWork::series(&w.keep, &w.lambda, month, partial, v_interim, v_deal);
        let (sum, v_months) = (&mut w.sum, &mut w.v_months);
        // SAFETY: the CPU supports AVX-512 (the caller's level).
        done = unsafe { path_lanes::path_avx512::<true>(series, n, months, sum, v_months) };
    } else if level >= SimdLevel::Avx2 {
        let series = AdjustWork::series(&w.keep, &w.lambda, month, partial, v_interim, v_deal);
        let (sum, v_months) = (&mut w.sum, &mut w.v_months);
        // SAFETY: the CPU supports AVX2 (the caller's level).
        done = unsafe { path_lanes::path_avx2::<true>(series, n, months, sum, v_months) };
    }
    // V*_t takes three values: V(interim) in whole interim months, V(scenario) after, and the
    // mix of the month in which the deal takes effect; their logs are taken once.
    path_logs(w, done, n, partial, v_interim, v_deal);
    let month = &month[done..n];
    let (ln_i, ln_s) = (&w.ln_interim[done..n], &w.ln_deal[done..n]);
    let ln_p = &w.ln_partial[done..n];
    let (keep, lambda) = (&w.keep[done..n], &w.lambda[done..n]);
    let (ln_v, sum) = (&mut w.ln_v[done..n], &mut w.sum[done..n]);
    // Without vector groups, each month's V_t is handed on while it is in cache, in one
    // column; after the groups, the remainder fills the months' rows the groups started.
    let grouped = done > 0;
    for t in 0..months {
        let start = t as f64;
        let row = if grouped { t * n } else { 0 };
        let v_month = &mut w.v_months[row + done..row + n];
        for d in 0..n - done {
            let target = month_target(month[d], start, ln_i[d], ln_s[d], ln_p[d]);
            let l = keep[d] * ln_v[d] + lambda[d] * target;
            ln_v[d] = l;
            let v = fastmath::exp_tabled(l);
            v_month[d] = v;
            sum[d] += v;
        }
        if !grouped {
            each_month(t, &w.v_months[..n]);
        }
    }
    if grouped {
        for t in 0..months {
            each_month(t, &w.v_months[t * n..][..n]);
        }
    }
}

/// The draws of a block that a regime is evaluated for, and the regime's weight per draw
/// (indexed by draw, not by position in `draws`).
#[derive(Clone, Copy)]
struct RegimeDraws<'a> {
    draws: &'a [u32],
    weight: &'a [f64],
}

/// Columns over the draws of one regime.
#[derive(Debug, Clone, Default)]
struct RegimeScratch {
    /// ln(1 + value) of each slot of the regime, slot after slot.
    slot_logs: Vec<f64>,
    /// One sector's inputs and export values.
    ln_t: Vec<f64>,
    ln_c: Vec<f64>,
    sigma: Vec<f64>,
    epsilon: Vec<f64>,
    eta: Vec<f64>,
    export_value: Vec<f64>,
    solve: SolveScratch,
    /// MODEL.md §10: named competitors' ln T_j and η_j, competitor after competitor; η of
    /// `rest`; the composite's ln C; the competitors' V.
    named_ln_t: Vec<f64>,
    named_eta: Vec<f64>,
    eta_rest: Vec<f64>,
    ln_c_eff: Vec<f64>,
    named_values: Vec<f64>,
    fold: FoldScratch,
    sources: SourceScratch,
    /// Buffers of line-backed sectors (MODEL.md §14).
    lines: lines::LineScratch,
}

/// A block's parameter values column by column: value j of draw d is `data[j * stride + d]`.
#[derive(Debug, Clone, Copy)]
pub struct ValueColumns<'a> {
    /// The values.
    pub data: &'a [f64],
    /// Distance between the starts of two columns (at least the number of draws).
    pub stride: usize,
}

impl ValueColumns<'_> {
    /// Column `j` (its first `stride` entries).
    #[inline]
    fn column(&self, j: usize) -> &[f64] {
        &self.data[j * self.stride..(j + 1) * self.stride]
    }
}

/// How a sector's sources are solved (MODEL.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourcesKind {
    /// No named competitor and `rest` at η = ∞: §2 as it always was.
    Plain,
    /// Named competitors, all of them and `rest` at η = ∞: folded into one composite, then §2.
    Composite,
    /// Some competitor or `rest` with a finite η: the Newton solve in z = ln P.
    General,
}

/// A model prepared for fast evaluation: per-sector constants hoisted out of the draw loop.
#[derive(Debug, Clone)]
pub struct Kernel<'m> {
    model: &'m Model,
    shares: Vec<SectorShares>,
    /// ln(1 + τ0) and ln(1 + c0) per sector, by the same function as the draws' ln(1 + τ), so
    /// that an unchanged tariff gives ln T = 0 exactly.
    ln_base: Vec<(f64, f64)>,
    interim: RegimePlan,
    scenarios: Vec<RegimePlan>,
    total_exports: f64,
    /// ln(1 + value) of every slot whose value is the same in every draw (point masses and
    /// constants), so the draw loop takes logs only of uncertain tariffs.
    fixed_ln_one_plus: Vec<Option<f64>>,
    /// Most slots of any regime.
    max_slots: usize,
    /// Per sector: whether its half-life can be non-zero (then its V_t follows the
    /// recursion of MODEL.md §12; otherwise V_annual is §3's arithmetic, unchanged).
    adjusts: Vec<bool>,
    /// Whether the kernel needs each sector's V per regime: monthly outputs or adjustment.
    path: bool,
    /// Number of values in an output row.
    n_outputs: usize,
    /// The model's tariff lines (MODEL.md §14), if it has any.
    line_plan: Option<lines::LinePlan>,
    /// Most distinct rate slots the lines of one sector read in one regime.
    max_line_slots: usize,
    /// Per sector: how its sources are solved, their shares, and ln(1 + τ0_j) of its named
    /// competitors.
    kinds: Vec<SourcesKind>,
    source_shares: Vec<SourceShares>,
    named_ln_base: Vec<Vec<f64>>,
    /// Per sector, the first of its tracks (one per named competitor of the sector), and the
    /// number of tracks.
    track_start: Vec<usize>,
    tracks: usize,
    /// Most named competitors of any sector.
    max_named: usize,
    /// Whether any sector has a redirection share that is not a constant 0 (MODEL.md §11).
    redirects: bool,
    /// Per sector: whether no tariff of it or of its competitors ever changes, in any regime
    /// (V = 1 in every draw): its monthly path is V_t = 1 in every month, known without the
    /// recursion.
    exempt_everywhere: Vec<bool>,
    /// Per sector: whether its regimes' weight·V are summed into its output column and tracks
    /// (which then need zeros first): line-backed sectors and sectors that do not take their
    /// annual V from the monthly path (§12).
    summed: Vec<bool>,
    /// Per sector and named competitor k: `Some(j)`, j < k the first such, when k has the
    /// same ln T and η as j in the interim and in every scenario, so the same V per regime in
    /// every draw and the same monthly path: j's annual V is copied rather than recomputed.
    same_path: Vec<Vec<Option<usize>>>,
    /// Per sector and named competitor k (not in `same_path`): `Some((j, copied))` when k has
    /// the same ln T and η as an earlier j in the interim and in the scenarios q with
    /// `copied[q]`: the draws of those scenarios have j's path, the others compute theirs.
    partial_path: Vec<Vec<Option<PartialCopy>>>,
}

impl<'m> Kernel<'m> {
    /// Prepares `model` for evaluation.
    pub fn new(model: &'m Model) -> Self {
        let interim = RegimePlan::new(model, &model.interim);
        let scenarios: Vec<RegimePlan> = model
            .scenarios
            .iter()
            .map(|s| RegimePlan::new(model, &s.regime))
            .collect();
        let max_line_slots = lines::max_line_slots(
            &scenarios
                .iter()
                .chain(std::iter::once(&interim))
                .map(|p| &p.lines)
                .collect::<Vec<_>>(),
        );
        let infinite = |slot: Slot| fixed_value(model, slot) == Some(f64::INFINITY);
        let kinds = model
            .sectors
            .iter()
            .map(|s| {
                let all_infinite =
                    infinite(s.rest_eta) && s.competitors.iter().all(|c| infinite(c.eta));
                match (s.competitors.is_empty(), all_infinite) {
                    (true, true) => SourcesKind::Plain,
                    (false, true) => SourcesKind::Composite,
                    (_, false) => SourcesKind::General,
                }
            })
            .collect();
        let mut track_start = Vec::with_capacity(model.sectors.len());
        let mut tracks = 0;
        for s in &model.sectors {
            track_start.push(tracks);
            tracks += s.competitors.len();
        }
        let max_slots = scenarios
            .iter()
            .chain(std::iter::once(&interim))
            .map(|p| p.slots.len())
            .max()
            .unwrap_or(0);
        let mut kernel = Kernel {
            model,
            shares: model
                .sectors
                .iter()
                .map(|s| SectorShares::new(s.share))
                .collect(),
            ln_base: model
                .sectors
                .iter()
                .map(|s| {
                    (
                        fastmath::ln_1p(s.base_tariff),
                        fastmath::ln_1p(s.competitor_base_tariff),
                    )
                })
                .collect(),
            interim,
            scenarios,
            total_exports: model.total_exports(),
            fixed_ln_one_plus: model
                .params
                .iter()
                .map(|p| p.dist.as_point())
                .chain(model.constants.iter().map(|&c| Some(c)))
                .map(|v| v.map(fastmath::ln_1p))
                .collect(),
            max_slots,
            adjusts: model
                .sectors
                .iter()
                .map(|s| fixed_value(model, s.half_life_months) != Some(0.0))
                .collect(),
            path: model.monthly
                || model
                    .sectors
                    .iter()
                    .any(|s| fixed_value(model, s.half_life_months) != Some(0.0)),
            n_outputs: crate::outputs::output_count(model),
            line_plan: lines::LinePlan::new(model),
            max_line_slots,
            kinds,
            source_shares: model
                .sectors
                .iter()
                .map(|s| {
                    let named: Vec<f64> = s.competitors.iter().map(|c| c.share).collect();
                    SourceShares::grouped(s.share, &named, s.rest_share, &eta_keys(model, s))
                })
                .collect(),
            named_ln_base: model
                .sectors
                .iter()
                .map(|s| {
                    s.competitors
                        .iter()
                        .map(|c| fastmath::ln_1p(c.base_tariff))
                        .collect()
                })
                .collect(),
            track_start,
            tracks,
            max_named: model
                .sectors
                .iter()
                .map(|s| s.competitors.len())
                .max()
                .unwrap_or(0),
            redirects: model
                .sectors
                .iter()
                .any(|s| fixed_value(model, s.redirection) != Some(0.0)),
            exempt_everywhere: Vec::new(),
            summed: Vec::new(),
            same_path: Vec::new(),
            partial_path: Vec::new(),
        };
        kernel.exempt_everywhere = (0..model.sectors.len())
            .map(|s| {
                !kernel.line_plan.as_ref().is_some_and(|p| p.backs(s))
                    && std::iter::once(&kernel.interim)
                        .chain(&kernel.scenarios)
                        .all(|plan| kernel.exempt(plan, s))
            })
            .collect();
        kernel.summed = (0..model.sectors.len())
            .map(|s| {
                kernel.line_plan.as_ref().is_some_and(|p| p.backs(s))
                    || !(kernel.path && kernel.adjusts[s])
            })
            .collect();
        kernel.share_identical_sources();
        kernel
    }

    /// Finds the named competitors whose V is another's in every draw (MODEL.md §10: V_j
    /// depends on the sector's draws only through ln T_j and η_j): from the slots their
    /// tariffs and η read, once, rather than comparing columns per draw. Identical inputs
    /// give identical bits, so copying changes no result.
    fn share_identical_sources(&mut self) {
        let model = self.model;
        let mut same_path = Vec::with_capacity(model.sectors.len());
        let mut partial_path = Vec::with_capacity(model.sectors.len());
        for (s, sector) in model.sectors.iter().enumerate() {
            let named = sector.competitors.len();
            if self.line_plan.as_ref().is_some_and(|p| p.backs(s)) {
                // Lines solve their own sources (MODEL.md §14): nothing shared.
                same_path.push(vec![None; named]);
                partial_path.push(vec![None; named]);
                continue;
            }
            let eta = eta_keys(model, sector);
            let mut regime_keys: Vec<Vec<SourceKey>> = vec![Vec::new(); named];
            let plans = std::iter::once(&mut self.interim).chain(&mut self.scenarios);
            for plan in plans {
                let keys: Vec<SourceKey> = (0..named)
                    .map(|k| {
                        let slot = plan.slots[plan.named[s][k]];
                        let base = self.named_ln_base[s][k];
                        let ln_t = match self.fixed_ln_one_plus[slot.index()] {
                            // The draw loop fills l and subtracts the base: the same bits.
                            Some(l) => LnTKey::Fixed((l - base).to_bits()),
                            None => LnTKey::Drawn(slot.index(), base.to_bits()),
                        };
                        (ln_t, eta[k])
                    })
                    .collect();
                plan.same_named[s] = first_equal(&keys);
                for (all, key) in regime_keys.iter_mut().zip(keys) {
                    all.push(key);
                }
            }
            let same = first_equal(&regime_keys);
            // Keys of the interim first, then of each scenario.
            let partial = (0..named)
                .map(|k| {
                    if same[k].is_some() {
                        return None;
                    }
                    let j = (0..k).find(|&j| regime_keys[j][0] == regime_keys[k][0])?;
                    let copied: Vec<bool> = (1..regime_keys[k].len())
                        .map(|r| regime_keys[j][r] == regime_keys[k][r])
                        .collect();
                    copied.iter().any(|&c| c).then_some((j, copied))
                })
                .collect();
            same_path.push(same);
            partial_path.push(partial);
        }
        self.same_path = same_path;
        self.partial_path = partial_path;
    }

    /// The kernel computing every named competitor's V itself, none copied from an identical
    /// competitor: the same bits, for tests that check that copying changes nothing.
    #[doc(hidden)]
    pub fn without_shared_sources(mut self) -> Self {
        let plans = std::iter::once(&mut self.interim).chain(&mut self.scenarios);
        for same in plans
            .flat_map(|p| p.same_named.iter_mut())
            .chain(self.same_path.iter_mut())
        {
            same.fill(None);
        }
        for partial in &mut self.partial_path {
            partial.fill(None);
        }
        self
    }

    /// How many (sector, competitor) V columns are copied from an identical competitor's:
    /// per regime summed over regimes, whole monthly paths, and paths copied in some
    /// scenarios (for tests).
    #[doc(hidden)]
    pub fn shared_sources(&self) -> (usize, usize, usize) {
        let count =
            |same: &Vec<Vec<Option<usize>>>| same.iter().flatten().filter(|j| j.is_some()).count();
        let regimes = std::iter::once(&self.interim)
            .chain(&self.scenarios)
            .map(|p| count(&p.same_named))
            .sum();
        let partial = self.partial_path.iter().flatten().flatten().count();
        (regimes, count(&self.same_path), partial)
    }

    /// Whether no tariff of sector `s` or of its competitors changes under `plan` in any draw
    /// (each is a point mass or constant equal to its base): then V = 1 for every source.
    fn exempt(&self, plan: &RegimePlan, s: usize) -> bool {
        let (ln_base_t, ln_base_c) = self.ln_base[s];
        let fixed = |slot: Slot, base: f64| self.fixed_ln_one_plus[slot.index()].map(|l| l - base);
        let named_fixed = (0..self.model.sectors[s].competitors.len())
            .all(|k| fixed(plan.slots[plan.named[s][k]], self.named_ln_base[s][k]) == Some(0.0));
        fixed(plan.slots[plan.tariff[s]], ln_base_t) == Some(0.0)
            && fixed(plan.slots[plan.competitor[s]], ln_base_c) == Some(0.0)
            && named_fixed
    }

    /// Number of values in an output row.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Evaluates one draw: `values` is the draw's value vector (parameters then constants),
    /// `scenario` the picked scenario; writes the output row into `out`.
    pub fn evaluate(&self, values: &[f64], scenario: usize, out: &mut [f64]) {
        self.evaluate_with(values, scenario, out, &mut KernelScratch::default());
    }

    /// [`Kernel::evaluate`] with caller-owned buffers: a block of one draw, whose columns are
    /// one value long, so a value vector and an output row are already in column layout.
    pub fn evaluate_with(
        &self,
        values: &[f64],
        scenario: usize,
        out: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        let values = ValueColumns {
            data: values,
            stride: 1,
        };
        self.evaluate_block(&values, &[scenario as u32], out, scratch);
    }

    /// Evaluates the draws of a block: draw d picked scenario `scenarios[d]`, its values are
    /// row d of `values`; output o of draw d is written to `outputs[o * values.stride + d]`.
    pub fn evaluate_block(
        &self,
        values: &ValueColumns<'_>,
        scenarios: &[u32],
        outputs: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        #[cfg(target_arch = "x86_64")]
        if fastmath::has_avx512() {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW, checked just above.
            unsafe { self.evaluate_block_avx512(values, scenarios, outputs, scratch) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if fastmath::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { self.evaluate_block_avx2(values, scenarios, outputs, scratch) };
            return;
        }
        self.evaluate_block_body(values, scenarios, outputs, scratch);
    }

    /// [`Kernel::evaluate_block`] compiled for AVX2 (issue 16): its column loops (the monthly
    /// path's logs, exponentials and recursion above all) run four draws at a time instead of
    /// two. The same source and no FMA, so the same bits as without AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn evaluate_block_avx2(
        &self,
        values: &ValueColumns<'_>,
        scenarios: &[u32],
        outputs: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        self.evaluate_block_body(values, scenarios, outputs, scratch);
    }

    /// [`Kernel::evaluate_block`] compiled for AVX-512: eight draws per vector in its own
    /// column loops (the solves and the monthly path dispatch on their own). The same source
    /// and no FMA, so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    unsafe fn evaluate_block_avx512(
        &self,
        values: &ValueColumns<'_>,
        scenarios: &[u32],
        outputs: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        self.evaluate_block_body(values, scenarios, outputs, scratch);
    }

    #[inline(always)]
    fn evaluate_block_body(
        &self,
        values: &ValueColumns<'_>,
        scenarios: &[u32],
        outputs: &mut [f64],
        scratch: &mut KernelScratch,
    ) {
        let model = self.model;
        let n = scenarios.len();
        let stride = values.stride;
        let path_sectors = if self.path { model.sectors.len() } else { 0 };
        scratch.prepare(
            n,
            model.scenarios.len(),
            self.max_slots,
            path_sectors,
            self.tracks,
            self.max_named,
        );
        if self.line_plan.is_some() {
            scratch.regime.lines.prepare(
                n,
                self.max_line_slots,
                model.lines.len(),
                model.line_outputs,
                self.max_named,
                self.path,
            );
        }
        let KernelScratch { draws, regime } = scratch;
        // MODEL.md §3: the interim regime holds for the first m of H months.
        for (d, &k) in scenarios.iter().enumerate() {
            let month = values.column(model.scenarios[k as usize].effective_month.index())[d];
            let interim_weight = month / model.horizon_months;
            draws.interim_weight[d] = interim_weight;
            draws.deal_weight[d] = 1.0 - interim_weight;
            if self.path {
                draws.path.month[d] = month;
                draws.path.partial[d] = month - month.floor();
            }
        }
        draws.group_by_scenario(scenarios);
        self.zero_summed_columns(n, stride, outputs, &mut draws.track_annual);
        // The deal first, then the interim: the order in which each draw's sums are taken.
        for (k, plan) in self.scenarios.iter().enumerate() {
            let group = &draws.by_scenario[draws.group_start[k]..draws.group_start[k + 1]];
            if !group.is_empty() {
                self.regime_values(
                    plan,
                    RegimeDraws {
                        draws: group,
                        weight: &draws.deal_weight,
                    },
                    values,
                    outputs,
                    &mut draws.weighted_tariff,
                    &mut draws.track_annual,
                    regime,
                    self.path
                        .then_some((&mut draws.path.v_deal[..], &mut draws.path.track_deal[..])),
                );
            }
        }
        self.regime_values(
            &self.interim,
            RegimeDraws {
                draws: &draws.all_draws[..n],
                weight: &draws.interim_weight,
            },
            values,
            outputs,
            &mut draws.weighted_tariff,
            &mut draws.track_annual,
            regime,
            self.path.then_some((
                &mut draws.path.v_interim[..],
                &mut draws.path.track_interim[..],
            )),
        );
        if self.path {
            self.monthly_path(
                n,
                values,
                scenarios,
                &draws.by_scenario,
                &draws.group_start,
                &mut draws.path,
                &mut draws.track_annual,
                outputs,
                regime,
            );
        }
        // MODEL.md §10: competitors.<j>.export_loss = Σ_s X0_{j,s}·(1 − V_annual,{j,s}).
        let first_competitor = first_competitor_index(model);
        for c in 0..model.competitors.len() {
            outputs[(first_competitor + c) * stride..][..n].fill(0.0);
        }
        for (s, sector) in model.sectors.iter().enumerate() {
            for (k, sc) in sector.competitors.iter().enumerate() {
                let annual = &draws.track_annual[(self.track_start[s] + k) * n..][..n];
                let column = &mut outputs[(first_competitor + sc.competitor) * stride..][..n];
                for (loss, &v) in column.iter_mut().zip(annual) {
                    *loss += sc.exports * (1.0 - v);
                }
            }
        }
        // MODEL.md §11: export_change_pct = 100·(Σ_s X0_s·(1 + g_s)·V_annual,s / Σ_s X0_s − 1),
        // summed from V before the sector columns turn into losses.
        let change_index = export_change_index(model);
        outputs[change_index * stride..][..n].fill(0.0);
        for (s, sector) in model.sectors.iter().enumerate() {
            let growth = &values.column(sector.growth.index())[..n];
            let (column, change) = column_pair(outputs, stride, FIRST_SECTOR + s, change_index);
            for ((&v, total), &g) in column[..n].iter().zip(&mut change[..n]).zip(growth) {
                *total += sector.exports * (1.0 + g) * v;
            }
        }
        for total in &mut outputs[change_index * stride..][..n] {
            *total = 100.0 * (*total / self.total_exports - 1.0);
        }
        // L = X0·(1 − V_annual), V_annual = (m/H)·V_interim + (1 − m/H)·V_scenario (§3) or
        // the mean of the monthly path (§12).
        outputs[EXPORT_LOSS * stride..][..n].fill(0.0);
        for (s, sector) in model.sectors.iter().enumerate() {
            let (column, loss_column) = column_pair(outputs, stride, FIRST_SECTOR + s, EXPORT_LOSS);
            for (v, total) in column[..n].iter_mut().zip(&mut loss_column[..n]) {
                let loss = sector.exports * (1.0 - *v);
                *v = loss;
                *total += loss;
            }
        }
        if model.line_outputs && self.line_plan.is_some() {
            self.finish_line_losses(n, regime);
        }
        // MODEL.md §11: net_export_loss = Σ_s (1 − r_s)·L_s, the fall of exports to all
        // markets. Without redirection it is export_loss, copied (not recomputed) so that
        // the macro outputs keep their bits.
        let net_index = net_export_loss_index(model);
        if self.redirects {
            outputs[net_index * stride..][..n].fill(0.0);
            for (s, sector) in model.sectors.iter().enumerate() {
                let r = &values.column(sector.redirection.index())[..n];
                let (column, net) = column_pair(outputs, stride, FIRST_SECTOR + s, net_index);
                for ((&loss, total), &r) in column[..n].iter().zip(&mut net[..n]).zip(r) {
                    *total += (1.0 - r) * loss;
                }
            }
        } else {
            let (loss, net) = column_pair(outputs, stride, EXPORT_LOSS, net_index);
            net[..n].copy_from_slice(&loss[..n]);
        }
        {
            let (net, pct) = column_pair(outputs, stride, net_index, net_index + 1);
            for (p, &x) in pct[..n].iter_mut().zip(&net[..n]) {
                *p = 100.0 * x / model.total_exports_all_markets;
            }
        }
        let m = &model.macro_params;
        let k = &model.market;
        let baseline_surplus = self.total_exports - model.imports_from_importer;
        let mut row = [0.0; FIRST_SECTOR];
        for d in 0..n {
            let sc = &model.scenarios[scenarios[d] as usize];
            let value = |slot: crate::model::Slot| values.column(slot.index())[d];
            macro_outputs(
                &MacroInputs {
                    export_loss: outputs[EXPORT_LOSS * stride + d],
                    net_export_loss: outputs[net_index * stride + d],
                    total_exports: self.total_exports,
                    purchases: value(sc.purchases) * draws.deal_weight[d],
                    effective_tariff: draws.weighted_tariff[d] / self.total_exports,
                    baseline_surplus,
                    gdp: model.gdp,
                    value_added_share: value(m.value_added_share),
                    gdp_multiplier: value(m.gdp_multiplier),
                    fx_beta: value(k.fx_beta),
                    fx_noise: value(k.fx_noise),
                    equity_beta: value(k.equity_beta),
                    equity_noise: value(k.equity_noise),
                    fx_stress_pct: k.fx_stress_pct,
                    equity_stress_pct: k.equity_stress_pct,
                    fx_weight: k.fx_weight,
                    // MODEL.md §15: paid from the deal month on, like purchases.
                    investment_outflow: value(sc.investment) * draws.deal_weight[d],
                    defence_cost: value(sc.defence) * draws.deal_weight[d],
                    fx_flow_beta: value(k.fx_flow_beta),
                    fx_conversion: value(k.fx_conversion),
                    investment_crowd_out: value(m.investment_crowd_out),
                },
                &mut row,
            );
            for (o, &x) in row.iter().enumerate() {
                outputs[o * stride + d] = x;
            }
        }
    }

    /// Zeroes the sector columns of `outputs` and the tracks in `track_annual` into which
    /// [`Kernel::regime_values`] sums weight·V, and only those: a sector that adjusts
    /// gradually (not line-backed) has its column and tracks written, not summed, by the
    /// monthly path (issue 16: the default model cleared 11 columns and 40 tracks per block
    /// that nothing read).
    fn zero_summed_columns(
        &self,
        n: usize,
        stride: usize,
        outputs: &mut [f64],
        track_annual: &mut [f64],
    ) {
        for (s, sector) in self.model.sectors.iter().enumerate() {
            if !self.summed[s] {
                continue;
            }
            outputs[(FIRST_SECTOR + s) * stride..][..n].fill(0.0);
            let first = self.track_start[s];
            track_annual[first * n..(first + sector.competitors.len()) * n].fill(0.0);
        }
    }

    /// Adds weight·V of every sector under `plan` to the sector columns of `outputs`, weight·V
    /// of every named competitor to its track in `track_annual`, and X0·weight·τ to the draws'
    /// weighted tariffs, for the draws `draws` of the block; with `kept`, also stores V of
    /// sector s and draw d at `kept.0[s·n + d]` and of track t at `kept.1[t·n + d]`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn regime_values(
        &self,
        plan: &RegimePlan,
        RegimeDraws { draws, weight }: RegimeDraws<'_>,
        values: &ValueColumns<'_>,
        outputs: &mut [f64],
        weighted_tariff: &mut [f64],
        track_annual: &mut [f64],
        scratch: &mut RegimeScratch,
        mut kept: Option<(&mut [f64], &mut [f64])>,
    ) {
        let len = draws.len();
        let n = weight.len();
        let stride = values.stride;
        // All the block's draws (the interim regime, or a scenario that every draw picked) are
        // 0..n in order (the grouping is a stable sort): gathers and scatters are then copies
        // and the weighted sums contiguous loops, which vectorise (issue 16).
        let identity = len == n;
        let gather = |column: &[f64], into: &mut [f64]| {
            if identity {
                into.copy_from_slice(&column[..len]);
                return;
            }
            for (x, &d) in into.iter_mut().zip(draws) {
                *x = column[d as usize];
            }
        };
        let scatter = |from: &[f64], into: &mut [f64]| {
            if identity {
                into[..len].copy_from_slice(from);
                return;
            }
            for (&v, &d) in from.iter().zip(draws) {
                into[d as usize] = v;
            }
        };
        // into[d] += w_d·factor·x_d for the draws with w_d > 0: a regime that never holds
        // (weight 0) adds nothing, not 0·V. `x` is by draw (`by_draw`) or by position.
        let add_weighted = |x: &[f64], by_draw: bool, factor: Option<f64>, into: &mut [f64]| {
            let term = |w: f64, x: f64| match factor {
                Some(f) => f * w * x,
                None => w * x,
            };
            if identity {
                let (x, into, weight) = (&x[..n], &mut into[..n], &weight[..n]);
                for d in 0..n {
                    let w = weight[d];
                    let sum = into[d] + term(w, x[d]);
                    into[d] = if w > 0.0 { sum } else { into[d] };
                }
                return;
            }
            for (i, &d) in draws.iter().enumerate() {
                let d = d as usize;
                let w = weight[d];
                if w > 0.0 {
                    into[d] += term(w, x[if by_draw { d } else { i }]);
                }
            }
        };
        // ln(1 + τ) once per distinct slot and draw (a `default` shared by ten sectors is one log).
        for (q, slot) in plan.slots.iter().enumerate() {
            let logs = &mut scratch.slot_logs[q * len..(q + 1) * len];
            match self.fixed_ln_one_plus[slot.index()] {
                Some(fixed) => logs.fill(fixed),
                None => {
                    gather(values.column(slot.index()), logs);
                    fastmath::ln_1p_in_place(logs);
                }
            }
        }
        for (s, sector) in self.model.sectors.iter().enumerate() {
            if let Some(line_plan) = self.line_plan.as_ref().filter(|p| p.backs(s)) {
                // MODEL.md §14: the sector is the sum of its lines.
                let tracks =
                    self.track_start[s] * n..(self.track_start[s] + sector.competitors.len()) * n;
                self.line_sector_values(
                    line_plan,
                    &plan.lines,
                    s,
                    RegimeDraws { draws, weight },
                    values,
                    lines::LineSinks {
                        column: &mut outputs[(FIRST_SECTOR + s) * stride..][..stride],
                        weighted_tariff,
                        tracks: &mut track_annual[tracks.clone()],
                        kept: kept
                            .as_mut()
                            .map(|(k, t)| (&mut k[s * n..][..n], &mut t[tracks])),
                    },
                    scratch,
                    !self.adjusts[s],
                );
                continue;
            }
            let (ln_base_t, ln_base_c) = self.ln_base[s];
            let (t, c) = (plan.tariff[s], plan.competitor[s]);
            let tariff_slot = plan.slots[t];
            let named = sector.competitors.len();
            let values_out = &mut scratch.export_value[..len];
            if self.exempt(plan, s) {
                // No tariff ever changes (an exempt sector): V = 1 in every draw, for every source.
                values_out.fill(1.0);
                scratch.named_values[..named * len].fill(1.0);
            } else {
                let ln_t = &mut scratch.ln_t[..len];
                let ln_c = &mut scratch.ln_c[..len];
                for (x, &l) in ln_t
                    .iter_mut()
                    .zip(&scratch.slot_logs[t * len..(t + 1) * len])
                {
                    *x = l - ln_base_t;
                }
                for (x, &l) in ln_c
                    .iter_mut()
                    .zip(&scratch.slot_logs[c * len..(c + 1) * len])
                {
                    *x = l - ln_base_c;
                }
                // MODEL.md §10: ln T_j of the named competitors.
                for k in 0..named {
                    let q = plan.named[s][k];
                    let base = self.named_ln_base[s][k];
                    for (x, &l) in scratch.named_ln_t[k * len..(k + 1) * len]
                        .iter_mut()
                        .zip(&scratch.slot_logs[q * len..(q + 1) * len])
                    {
                        *x = l - base;
                    }
                }
                gather(
                    values.column(sector.sigma.index()),
                    &mut scratch.sigma[..len],
                );
                gather(
                    values.column(sector.epsilon.index()),
                    &mut scratch.epsilon[..len],
                );
                gather(values.column(sector.eta.index()), &mut scratch.eta[..len]);
                match self.kinds[s] {
                    SourcesKind::Plain => export_values(
                        &SectorColumns {
                            ln_t,
                            ln_c,
                            sigma: &scratch.sigma[..len],
                            epsilon: &scratch.epsilon[..len],
                            eta: &scratch.eta[..len],
                        },
                        &self.shares[s],
                        values_out,
                        &mut scratch.solve,
                    ),
                    SourcesKind::Composite => {
                        // Every competitor at a fixed price: one composite, §2's solve, then
                        // each competitor's V in closed form from ln P.
                        let ln_c_eff = &mut scratch.ln_c_eff[..len];
                        composite_ln_c(
                            &self.source_shares[s],
                            ln_c,
                            &scratch.named_ln_t[..named * len],
                            &scratch.sigma[..len],
                            ln_c_eff,
                            &mut scratch.fold,
                        );
                        export_values(
                            &SectorColumns {
                                ln_t,
                                ln_c: ln_c_eff,
                                sigma: &scratch.sigma[..len],
                                epsilon: &scratch.epsilon[..len],
                                eta: &scratch.eta[..len],
                            },
                            &self.shares[s],
                            values_out,
                            &mut scratch.solve,
                        );
                        for k in 0..named {
                            if let Some(j) = plan.same_named[s][k] {
                                // The same ln T as competitor j: the same V.
                                scratch
                                    .named_values
                                    .copy_within(j * len..(j + 1) * len, k * len);
                                continue;
                            }
                            fixed_price_values(
                                &scratch.named_ln_t[k * len..(k + 1) * len],
                                scratch.solve.ln_price_index(),
                                &scratch.sigma[..len],
                                &scratch.epsilon[..len],
                                &mut scratch.named_values[k * len..(k + 1) * len],
                            );
                        }
                    }
                    SourcesKind::General => {
                        gather(
                            values.column(sector.rest_eta.index()),
                            &mut scratch.eta_rest[..len],
                        );
                        for (k, sc) in sector.competitors.iter().enumerate() {
                            gather(
                                values.column(sc.eta.index()),
                                &mut scratch.named_eta[k * len..(k + 1) * len],
                            );
                        }
                        multi_source_values_sharing(
                            &SourceColumns {
                                ln_t,
                                ln_c,
                                named_ln_t: &scratch.named_ln_t[..named * len],
                                sigma: &scratch.sigma[..len],
                                epsilon: &scratch.epsilon[..len],
                                eta: &scratch.eta[..len],
                                eta_rest: &scratch.eta_rest[..len],
                                named_eta: &scratch.named_eta[..named * len],
                            },
                            &self.source_shares[s],
                            &plan.same_named[s],
                            values_out,
                            &mut scratch.named_values[..named * len],
                            &mut scratch.sources,
                        );
                    }
                }
            }
            if let Some((kept, kept_tracks)) = kept.as_mut() {
                // The monthly path needs V per regime, not only its weighted sum.
                scatter(&scratch.export_value[..len], &mut kept[s * n..][..n]);
                for k in 0..named {
                    if self.adjusts[s] && self.same_path[s][k].is_some() {
                        // Its monthly path is copied from an identical competitor's.
                        continue;
                    }
                    scatter(
                        &scratch.named_values[k * len..(k + 1) * len],
                        &mut kept_tracks[(self.track_start[s] + k) * n..][..n],
                    );
                }
            }
            let column = &mut outputs[(FIRST_SECTOR + s) * stride..][..stride];
            let tariffs = values.column(tariff_slot.index());
            // X0·weight·τ into the draws' weighted tariffs (each draw's sum in the same order).
            add_weighted(tariffs, true, Some(sector.exports), weighted_tariff);
            // A sector that adjusts gradually takes its annual V and its competitors' from the
            // monthly path (§12), which writes over the sector column and the tracks: §3's
            // weighted sums would be thrown away, so they are not taken (issue 16).
            if self.path && self.adjusts[s] {
                continue;
            }
            add_weighted(&scratch.export_value[..len], false, None, column);
            for k in 0..named {
                add_weighted(
                    &scratch.named_values[k * len..(k + 1) * len],
                    false,
                    None,
                    &mut track_annual[(self.track_start[s] + k) * n..][..n],
                );
            }
        }
    }
}

impl Kernel<'_> {
    /// MODEL.md §12: each sector's monthly path V_t from its V per regime (kept in `path`),
    /// the annual value of the sectors that adjust gradually (written over their sector
    /// columns, which hold §3's V_annual until here), and the monthly outputs.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn monthly_path(
        &self,
        n: usize,
        values: &ValueColumns<'_>,
        scenarios: &[u32],
        by_scenario: &[u32],
        group_start: &[usize],
        path: &mut PathScratch,
        track_annual: &mut [f64],
        outputs: &mut [f64],
        regime: &mut RegimeScratch,
    ) {
        let model = self.model;
        let stride = values.stride;
        let months = model.months();
        let h_months = model.horizon_months;
        let monthly = model.monthly;
        let per_month = MONTH_OUTPUTS.len();
        let first_month = first_month_index(model);
        // Sector columns lie before the month columns: split once, so both can be borrowed.
        let (head, month_columns) = outputs.split_at_mut(first_month * stride);
        if monthly {
            month_columns[..months * per_month * stride].fill(0.0);
        }
        let month = &path.month[..n];
        let partial = &path.partial[..n];
        for (s, sector) in model.sectors.iter().enumerate() {
            if self.adjusts[s] && self.line_plan.as_ref().is_some_and(|p| p.backs(s)) {
                // MODEL.md §14: every line of the sector follows its own path.
                let tracks =
                    self.track_start[s] * n..(self.track_start[s] + sector.competitors.len()) * n;
                let path = lines::LinePath {
                    by_scenario,
                    group_start,
                    month,
                    partial,
                    work: &mut path.work,
                    month_columns: if monthly {
                        &mut month_columns[..]
                    } else {
                        &mut []
                    },
                    stride,
                    column: &mut head[(FIRST_SECTOR + s) * stride..][..n],
                    tracks: &mut track_annual[tracks],
                };
                self.line_sector_path(s, n, values, path, regime);
                continue;
            }
            let v_interim = &path.v_interim[s * n..][..n];
            let v_deal = &path.v_deal[s * n..][..n];
            let x0 = sector.exports;
            let x0_month = x0 / h_months;
            let growth = &values.column(sector.growth.index())[..n];
            if !self.adjusts[s] {
                if !monthly {
                    continue;
                }
                // h = 0: V_t = V*_t = a_t·V(interim) + (1 − a_t)·V(scenario). The annual value
                // keeps §3's arithmetic; the months average to it up to rounding.
                for t in 0..months {
                    let start = t as f64;
                    let (loss, rest) = month_columns[t * per_month * stride..].split_at_mut(stride);
                    let change = &mut rest[..stride];
                    for d in 0..n {
                        let a = (month[d] - start).clamp(0.0, 1.0);
                        // A regime that does not hold in the month contributes nothing (its V
                        // may be anything), as in §3.
                        let v = if a >= 1.0 {
                            v_interim[d]
                        } else if a <= 0.0 {
                            v_deal[d]
                        } else {
                            a * v_interim[d] + (1.0 - a) * v_deal[d]
                        };
                        loss[d] += x0_month * (1.0 - v);
                        change[d] += x0 * (1.0 + growth[d]) * v;
                    }
                }
                continue;
            }
            if self.exempt_everywhere[s] {
                // V = 1 in every regime: ln V*_t = 0, so ln V_t = 0 and V_t = 1 in every month
                // (exactly, whatever h), and Σ_t V_t = months: the recursion would give the
                // same bits (issue 16).
                let total = months as f64;
                if monthly {
                    for t in 0..months {
                        let (loss, rest) =
                            month_columns[t * per_month * stride..].split_at_mut(stride);
                        let change = &mut rest[..stride];
                        // The operations of the recursion's months, with V_t = 1.
                        let v = 1.0;
                        for d in 0..n {
                            loss[d] += x0_month * (1.0 - v);
                            change[d] += x0 * (1.0 + growth[d]) * v;
                        }
                    }
                }
                head[(FIRST_SECTOR + s) * stride..][..n].fill(total / h_months);
                for k in 0..sector.competitors.len() {
                    let t = self.track_start[s] + k;
                    track_annual[t * n..][..n].fill(total / h_months);
                }
                continue;
            }
            let half_life = &values.column(sector.half_life_months.index())[..n];
            // keep and λ once per sector, shared by its named competitors (the same h).
            half_life_factors(&mut path.work, n, half_life);
            if monthly {
                path_from_factors(
                    &mut path.work,
                    n,
                    months,
                    month,
                    partial,
                    v_interim,
                    v_deal,
                    |t, v_month| {
                        let (loss, rest) =
                            month_columns[t * per_month * stride..].split_at_mut(stride);
                        let change = &mut rest[..stride];
                        for d in 0..n {
                            let v = v_month[d];
                            loss[d] += x0_month * (1.0 - v);
                            change[d] += x0 * (1.0 + growth[d]) * v;
                        }
                    },
                );
            } else {
                annual_from_factors(&mut path.work, n, months, month, partial, v_interim, v_deal);
            }
            // V_annual = (1/H)·Σ_t V_t replaces §3's value in the sector column.
            let column = &mut head[(FIRST_SECTOR + s) * stride..][..n];
            for (v, &total) in column.iter_mut().zip(&path.work.sum[..n]) {
                *v = total / h_months;
            }
            // The sector's named competitors follow the same path, with the same half-life.
            for k in 0..sector.competitors.len() {
                let t = self.track_start[s] + k;
                if let Some(j) = self.same_path[s][k] {
                    // The same V as competitor j in every regime: the same path.
                    let first = self.track_start[s] + j;
                    track_annual.copy_within(first * n..(first + 1) * n, t * n);
                    continue;
                }
                if let Some((j, copied)) = &self.partial_path[s][k] {
                    // The same V as competitor j in the interim and in some scenarios: the
                    // draws of those have j's path; the others' are computed on their own
                    // (a draw's path does not depend on the other draws). Worth the gather
                    // only when most draws copy.
                    let subset = &mut path.subset;
                    subset.clear();
                    for (q, &copy) in copied.iter().enumerate() {
                        if !copy {
                            subset.extend_from_slice(
                                &by_scenario[group_start[q]..group_start[q + 1]],
                            );
                        }
                    }
                    let u = subset.len();
                    if 2 * u <= n {
                        let first = self.track_start[s] + j;
                        track_annual.copy_within(first * n..(first + 1) * n, t * n);
                        let gather = |from: &[f64], into: &mut [f64]| {
                            for (x, &d) in into[..u].iter_mut().zip(subset.iter()) {
                                *x = from[d as usize];
                            }
                        };
                        gather(&path.work.keep, &mut path.subset_work.keep);
                        gather(&path.work.lambda, &mut path.subset_work.lambda);
                        gather(month, &mut path.subset_month);
                        gather(partial, &mut path.subset_partial);
                        gather(&path.track_interim[t * n..][..n], &mut path.subset_interim);
                        gather(&path.track_deal[t * n..][..n], &mut path.subset_deal);
                        annual_from_factors(
                            &mut path.subset_work,
                            u,
                            months,
                            &path.subset_month,
                            &path.subset_partial,
                            &path.subset_interim,
                            &path.subset_deal,
                        );
                        let annual = &mut track_annual[t * n..][..n];
                        for (&d, &total) in subset.iter().zip(&path.subset_work.sum[..u]) {
                            annual[d as usize] = total / h_months;
                        }
                        continue;
                    }
                }
                annual_from_factors(
                    &mut path.work,
                    n,
                    months,
                    month,
                    partial,
                    &path.track_interim[t * n..][..n],
                    &path.track_deal[t * n..][..n],
                );
                let annual = &mut track_annual[t * n..][..n];
                for (v, &total) in annual.iter_mut().zip(&path.work.sum[..n]) {
                    *v = total / h_months;
                }
            }
        }
        if !monthly {
            return;
        }
        // months.<t>.effective_tariff = Σ_s X0_s·[a_t·τ_interim,s + (1 − a_t)·τ_scenario,s] / Σ X0.
        let (ti, ts) = (&mut path.tariff_interim[..n], &mut path.tariff_deal[..n]);
        ti.fill(0.0);
        ts.fill(0.0);
        for (s, sector) in model.sectors.iter().enumerate() {
            if let Some(plan) = self.line_plan.as_ref().filter(|p| p.backs(s)) {
                self.add_line_tariffs(plan, s, &model.interim, values, 0..n, ti);
                continue;
            }
            let interim = values.column(model.interim.tariff[s].index());
            for (total, &tau) in ti.iter_mut().zip(interim) {
                *total += sector.exports * tau;
            }
        }
        for (k, scenario) in model.scenarios.iter().enumerate() {
            let group = &by_scenario[group_start[k]..group_start[k + 1]];
            for (s, sector) in model.sectors.iter().enumerate() {
                if let Some(plan) = self.line_plan.as_ref().filter(|p| p.backs(s)) {
                    let draws = group.iter().map(|&d| d as usize);
                    self.add_line_tariffs(plan, s, &scenario.regime, values, draws, ts);
                    continue;
                }
                let tariffs = values.column(scenario.regime.tariff[s].index());
                for &d in group {
                    ts[d as usize] += sector.exports * tariffs[d as usize];
                }
            }
        }
        debug_assert_eq!(scenarios.len(), n);
        let total = self.total_exports;
        for t in 0..months {
            let start = t as f64;
            let columns = &mut month_columns[t * per_month * stride..][..per_month * stride];
            for x in &mut columns[MONTH_EXPORT_CHANGE_PCT * stride..][..n] {
                *x = 100.0 * (*x / total - 1.0);
            }
            let tariff = &mut columns[MONTH_EFFECTIVE_TARIFF * stride..][..n];
            for d in 0..n {
                let a = (month[d] - start).clamp(0.0, 1.0);
                tariff[d] = (a * ti[d] + (1.0 - a) * ts[d]) / total;
            }
            debug_assert_eq!(MONTH_EXPORT_LOSS, 0);
        }
    }
}

/// What makes two named competitors' ln T the same in every draw of a regime.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LnTKey {
    /// ln(1 + τ1) − ln(1 + τ0) of a rate that is the same in every draw: its bits.
    Fixed(u64),
    /// A drawn rate: its slot and the bits of ln(1 + τ0).
    Drawn(usize, u64),
}

/// A competitor whose path is competitor `.0`'s in the draws of the scenarios q with `.1[q]`
/// (the same ln T and η there and in the interim).
type PartialCopy = (usize, Vec<bool>);

/// A named competitor's ln T and η: equal keys, equal V (MODEL.md §10).
type SourceKey = (LnTKey, EtaKey);

/// For each key, the first earlier position with an equal key.
fn first_equal<K: PartialEq>(keys: &[K]) -> Vec<Option<usize>> {
    (0..keys.len())
        .map(|k| keys[..k].iter().position(|key| *key == keys[k]))
        .collect()
}

/// What makes two sources' η the same in every draw (MODEL.md §10): the same parameter, or
/// the same fixed value ("inf" is one key however many parameters spell it).
#[derive(Debug, Clone, Copy, PartialEq)]
enum EtaKey {
    Infinite,
    Param(usize),
    Constant(u64),
}

/// The η key of each named competitor of sector `s`, then of its `rest`: the groups of the
/// multi-source solve ([`SourceShares::grouped`]).
fn eta_keys(model: &Model, s: &Sector) -> Vec<EtaKey> {
    let key = |slot: Slot| {
        let i = slot.index();
        if fixed_value(model, slot) == Some(f64::INFINITY) {
            EtaKey::Infinite
        } else if i < model.params.len() {
            EtaKey::Param(i)
        } else {
            EtaKey::Constant(model.constants[i - model.params.len()].to_bits())
        }
    };
    s.competitors
        .iter()
        .map(|c| key(c.eta))
        .chain(std::iter::once(key(s.rest_eta)))
        .collect()
}

/// The value of `slot` when it is the same in every draw (a constant or a point mass).
fn fixed_value(model: &Model, slot: Slot) -> Option<f64> {
    let i = slot.index();
    match model.params.get(i) {
        Some(p) => p.dist.as_point(),
        None => model.constants.get(i - model.params.len()).copied(),
    }
}

impl KernelScratch {
    /// With `--line-outputs`, after a block: the export loss of every line of the model
    /// (`Model::lines` order), line after line, `n` draws each; empty otherwise.
    pub fn line_losses(&self) -> &[f64] {
        &self.regime.lines.line_values
    }

    /// Sizes the buffers for a block of `n` draws (allocates only when a block is larger than
    /// any before).
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &mut self,
        n: usize,
        scenarios: usize,
        max_slots: usize,
        path_sectors: usize,
        tracks: usize,
        max_named: usize,
    ) {
        let (d, r) = (&mut self.draws, &mut self.regime);
        if path_sectors > 0 {
            let p = &mut d.path;
            p.work.resize(n);
            for column in [
                &mut p.month,
                &mut p.partial,
                &mut p.tariff_interim,
                &mut p.tariff_deal,
            ] {
                column.resize(n, 0.0);
            }
            p.v_interim.resize(n * path_sectors, 0.0);
            p.v_deal.resize(n * path_sectors, 0.0);
            p.track_interim.resize(n * tracks, 0.0);
            p.track_deal.resize(n * tracks, 0.0);
            p.subset_work.resize(n);
            for column in [
                &mut p.subset_month,
                &mut p.subset_partial,
                &mut p.subset_interim,
                &mut p.subset_deal,
            ] {
                column.resize(n, 0.0);
            }
            p.subset.reserve(n);
        }
        // Only the tracks of sectors whose regimes are summed into them need zeros (zeroed by
        // the caller, [`Kernel::zero_summed_columns`]); the monthly path writes over the rest.
        armington::grow(&mut d.track_annual, n * tracks);
        r.named_ln_t.resize(n * max_named, 0.0);
        r.named_eta.resize(n * max_named, 0.0);
        r.named_values.resize(n * max_named, 0.0);
        for column in [
            &mut d.interim_weight,
            &mut d.deal_weight,
            &mut r.ln_t,
            &mut r.ln_c,
            &mut r.sigma,
            &mut r.epsilon,
            &mut r.eta,
            &mut r.eta_rest,
            &mut r.ln_c_eff,
            &mut r.export_value,
        ] {
            column.resize(n, 0.0);
        }
        d.weighted_tariff.clear();
        d.weighted_tariff.resize(n, 0.0);
        r.slot_logs.resize(n * max_slots, 0.0);
        d.by_scenario.resize(n, 0);
        d.group_start.resize(scenarios + 1, 0);
        d.group_next.resize(scenarios, 0);
        if d.all_draws.len() < n {
            d.all_draws = (0..n as u32).collect();
        }
    }
}

impl DrawScratch {
    /// Counting sort of the block's draws by scenario into `by_scenario` / `group_start`.
    fn group_by_scenario(&mut self, scenarios: &[u32]) {
        let starts = &mut self.group_start;
        starts.fill(0);
        for &k in scenarios {
            starts[k as usize + 1] += 1;
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let groups = self.group_next.len();
        self.group_next.copy_from_slice(&starts[..groups]);
        for (d, &k) in scenarios.iter().enumerate() {
            let place = &mut self.group_next[k as usize];
            self.by_scenario[*place] = d as u32;
            *place += 1;
        }
    }
}

/// Mutable views of two different columns of a column-major block.
fn column_pair(data: &mut [f64], stride: usize, a: usize, b: usize) -> (&mut [f64], &mut [f64]) {
    debug_assert_ne!(a, b);
    if a < b {
        let (left, right) = data.split_at_mut(b * stride);
        (&mut left[a * stride..][..stride], &mut right[..stride])
    } else {
        let (left, right) = data.split_at_mut(a * stride);
        (&mut right[..stride], &mut left[b * stride..][..stride])
    }
}

#[cfg(test)]
mod path_tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The recursion of MODEL.md §12 written plainly, draw by draw, month by month.
    fn reference(m: f64, h: f64, v_i: f64, v_s: f64, months: usize) -> (f64, Vec<f64>) {
        let keep = fastmath::exp(-std::f64::consts::LN_2 / h);
        let lambda = 1.0 - keep;
        let a = m - m.floor();
        let (li, ls) = (fastmath::ln(v_i), fastmath::ln(v_s));
        let lp = fastmath::ln(a * v_i + (1.0 - a) * v_s);
        let (mut ln_v, mut total, mut each) = (0.0, 0.0, Vec::new());
        for t in 0..months {
            let a_t = (m - t as f64).clamp(0.0, 1.0);
            let target = if a_t >= 1.0 {
                li
            } else if a_t <= 0.0 {
                ls
            } else {
                lp
            };
            ln_v = keep * ln_v + lambda * target;
            each.push(fastmath::exp_tabled(ln_v));
            total += fastmath::exp_tabled(ln_v);
        }
        (total, each)
    }

    /// Random columns of n draws: month, its fraction, V(interim), V(scenario), h; months
    /// with whole and partial values, h with zeros.
    fn columns(n: usize, seed: u64) -> [Vec<f64>; 5] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut c: [Vec<f64>; 5] = Default::default();
        for d in 0..n {
            let m = match d % 5 {
                0 => rng.random_range(0..14) as f64,
                _ => rng.random_range(0.0..14.0),
            };
            let h = if d % 7 == 0 {
                0.0
            } else {
                rng.random_range(0.5..30.0)
            };
            c[0].push(m);
            c[1].push(m - m.floor());
            c[2].push(rng.random_range(0.2..1.5));
            c[3].push(rng.random_range(0.2..1.5));
            c[4].push(h);
        }
        c
    }

    fn work(n: usize) -> AdjustWork {
        let mut w = AdjustWork::default();
        w.resize(n);
        w
    }

    /// At every instruction set the CPU has, the months-innermost annual sum (in groups of
    /// lanes and in the remainder), the path with its monthly values and the plain recursion
    /// give the same bits, draw by draw and month by month.
    #[test]
    fn every_form_of_the_path_gives_the_same_bits() {
        let levels = [SimdLevel::Generic, SimdLevel::Avx2, SimdLevel::Avx512];
        for level in levels.into_iter().filter(|&l| l <= SimdLevel::detected()) {
            for n in [1, 3, 4, 7, 8, 9, 13, 64, 1023, 1024] {
                let [m, partial, v_i, v_s, h] = columns(n, n as u64);
                let months = 12;
                let mut w = work(n);
                half_life_factors_at(level, &mut w, n, &h);
                annual_from_factors_at(level, &mut w, n, months, &m, &partial, &v_i, &v_s);
                let annual = w.sum.clone();
                // A scratch used before, for more draws and months: stale values in every
                // column must not leak into the result.
                let mut w = work(n + 9);
                let filler = vec![0.37; 14 * (n + 9)];
                half_life_factors_at(level, &mut w, n + 9, &filler);
                path_from_factors_at(
                    level,
                    &mut w,
                    n + 9,
                    14,
                    &filler,
                    &filler,
                    &filler,
                    &filler,
                    |_, _| {},
                );
                let mut seen = vec![0.0; n];
                let mut monthly = vec![Vec::new(); months];
                half_life_factors_at(level, &mut w, n, &h);
                path_from_factors_at(
                    level,
                    &mut w,
                    n,
                    months,
                    &m,
                    &partial,
                    &v_i,
                    &v_s,
                    |t, v| {
                        monthly[t] = v.to_vec();
                        for (total, &v) in seen.iter_mut().zip(v) {
                            *total += v;
                        }
                    },
                );
                let mut w2 = work(n);
                half_life_factors_at(SimdLevel::Generic, &mut w2, n, &h);
                annual_body(&mut w2, 0, n, months, &m, &partial, &v_i, &v_s);
                // The 4-draw groups (AVX2), not dispatched but kept tested.
                #[cfg(target_arch = "x86_64")]
                let groups4 = (level >= SimdLevel::Avx2).then(|| {
                    let mut w = work(n);
                    half_life_factors_at(level, &mut w, n, &h);
                    let (mut keep, mut lambda) = (vec![0.0; n], vec![0.0; n]);
                    // SAFETY: the CPU supports AVX2 (level ≤ the detected level).
                    let done = unsafe { path_lanes::factors_avx2(&mut keep, &mut lambda, &h) };
                    for d in 0..done {
                        assert_eq!(keep[d].to_bits(), w.keep[d].to_bits(), "{level:?} {d}");
                        assert_eq!(lambda[d].to_bits(), w.lambda[d].to_bits(), "{level:?} {d}");
                    }
                    let mut by_month = vec![0.0; months * n];
                    let series = AdjustWork::series(&w.keep, &w.lambda, &m, &partial, &v_i, &v_s);
                    // SAFETY: the CPU supports AVX2 (level ≤ the detected level).
                    let done = unsafe {
                        path_lanes::path_avx2::<true>(series, n, months, &mut w.sum, &mut by_month)
                    };
                    let annual = w.sum.clone();
                    // SAFETY: as above.
                    let again = unsafe {
                        path_lanes::path_avx2::<false>(series, n, months, &mut w.sum, &mut [])
                    };
                    assert_eq!(done, again);
                    annual_body(&mut w, done, n, months, &m, &partial, &v_i, &v_s);
                    (done, annual, w.sum.clone(), by_month)
                });
                for d in 0..n {
                    let (want, want_months) = reference(m[d], h[d], v_i[d], v_s[d], months);
                    let at = format!("{level:?} n {n} draw {d}");
                    assert_eq!(annual[d].to_bits(), want.to_bits(), "{at}");
                    assert_eq!(w.sum[d].to_bits(), want.to_bits(), "{at}");
                    assert_eq!(seen[d].to_bits(), want.to_bits(), "{at}");
                    for t in 0..months {
                        let v = monthly[t][d];
                        assert_eq!(v.to_bits(), want_months[t].to_bits(), "{at} month {t}");
                    }
                    // The generic (SSE2) body, whatever the CPU.
                    assert_eq!(w2.sum[d].to_bits(), want.to_bits(), "{at}");
                    #[cfg(target_arch = "x86_64")]
                    if let Some((done, annual, sum, by_month)) = &groups4 {
                        assert_eq!(sum[d].to_bits(), want.to_bits(), "{at} groups of 4");
                        if d < *done {
                            assert_eq!(annual[d].to_bits(), want.to_bits(), "{at} groups of 4");
                            for t in 0..months {
                                let v = by_month[t * n + d];
                                assert_eq!(v.to_bits(), want_months[t].to_bits(), "{at} {t}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// Timing of the annual path over a block of 1024 draws at each level, and of the
    /// month-outer loop the vector path replaced (compiled for AVX2, as it ran): `cargo test
    /// --release --lib path_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn path_timing() {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        #[allow(clippy::too_many_arguments)]
        fn month_outer_avx2(
            w: &mut AdjustWork,
            n: usize,
            months: usize,
            month: &[f64],
            partial: &[f64],
            v_interim: &[f64],
            v_deal: &[f64],
        ) {
            annual_body(w, 0, n, months, month, partial, v_interim, v_deal)
        }
        let n = 1024;
        let [m, partial, v_i, v_s, h] = columns(n, 1);
        let (m, partial, v_i, v_s) = (&m[..], &partial[..], &v_i[..], &v_s[..]);
        let mut w = work(n);
        let rounds = 1_000;
        // The thread's time on the CPU (ns, the first field of schedstat): the machine is
        // shared, and wall time counts the time the thread waited.
        let on_cpu = || -> f64 {
            let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
            stat.split_whitespace().next().unwrap().parse().unwrap()
        };
        half_life_factors(&mut w, n, &h);
        type Run<'a> = Box<dyn Fn(&mut AdjustWork) + 'a>;
        let mut runs: Vec<(String, Run)> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if SimdLevel::detected() >= SimdLevel::Avx2 {
            runs.push((
                "month-outer AVX2 (before)".into(),
                Box::new(move |w| {
                    // SAFETY: the CPU has AVX2 (checked above).
                    unsafe { month_outer_avx2(w, n, 12, m, partial, v_i, v_s) }
                }),
            ));
        }
        #[cfg(target_arch = "x86_64")]
        if SimdLevel::detected() >= SimdLevel::Avx2 {
            runs.push((
                "AVX2 groups of 4 (not dispatched)".into(),
                Box::new(move |w| {
                    let series = AdjustWork::series(&w.keep, &w.lambda, m, partial, v_i, v_s);
                    // SAFETY: the CPU has AVX2 (checked above).
                    let done = unsafe {
                        path_lanes::path_avx2::<false>(series, n, 12, &mut w.sum, &mut [])
                    };
                    annual_body(w, done, n, 12, m, partial, v_i, v_s);
                }),
            ));
        }
        let levels = [SimdLevel::Generic, SimdLevel::Avx2, SimdLevel::Avx512];
        for level in levels.into_iter().filter(|&l| l <= SimdLevel::detected()) {
            runs.push((
                format!("{level:?}"),
                Box::new(move |w| annual_from_factors_at(level, w, n, 12, m, partial, v_i, v_s)),
            ));
        }
        // Interleaved repetitions, the fastest of each.
        let mut best = vec![f64::INFINITY; runs.len()];
        for _ in 0..10 {
            for (b, (_, run)) in best.iter_mut().zip(&runs) {
                let start = on_cpu();
                for _ in 0..rounds {
                    run(&mut w);
                }
                *b = b.min((on_cpu() - start) / (rounds * n) as f64);
            }
        }
        for (b, (label, _)) in best.iter().zip(&runs) {
            eprintln!("{label}: {b:.2} ns on the CPU per draw and series");
        }
    }
}
