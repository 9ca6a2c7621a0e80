//! The multi-source solve of MODEL.md §10: the exporter K, named competitors j and the
//! composite `rest`, each with its own tariff factor T_i and supply elasticity η_i.
//!
//! Two paths, chosen per sector when the kernel is built:
//!
//! - every competitor and `rest` at η = ∞ ([`composite_ln_c`]): their prices do not move, so
//!   they fold into ONE composite term Σ_j θ_j·T_j^(1−σ) (Cobb–Douglas: Σ_j θ_j·ln T_j), written
//!   as the ln C of §2's two-source index, and §2's solve runs unchanged (exact for an η = ∞
//!   exporter, Newton in x = ln p for a finite one). Competitors' quantities then follow in
//!   closed form, V_j = exp(−σ·(ln T_j − z) − ε·z) with z = ln P ([`fixed_price_values`]).
//! - some competitor or `rest` with a finite η ([`multi_source_values`]): a safeguarded Newton
//!   in z = ln P on g(z) = z − ln P(z), vectorised over the draws of a block like §2's solve.
//!
//! With x_i(z) = −(σ·ln T_i + (ε − σ)·z)/(η_i + σ) (0 when η_i = ∞), source i's log delivered
//! price is y_i(z) = x_i + ln T_i = a_i + b_i·z, a_i = ρ_i·ln T_i, b_i = −(ε − σ)·κ_i,
//! κ_i = 1/(η_i + σ), ρ_i = η_i·κ_i (κ = 0, ρ = 1 at η = ∞): linear in z.
//! g'(z) = Σ_i w_i·m_i, m_i = (η_i + ε)/(η_i + σ) (1 at η = ∞), a weighted mean of the m_i, so
//! min m_i ≤ g' ≤ max m_i brackets the root from g(0) and |z − z*| ≤ |g(z)|/min m_i is a
//! stopping rule that guarantees the tolerance.
//!
//! Sources whose η reads the same parameter (MODEL.md §10's single `competitor_eta`, or a
//! table's `default` taken by several; every η fixed at "inf" counts as one) have the same κ,
//! ρ, b and m in every draw, and form a group G ([`SourceShares::grouped`]; the exporter is a
//! group of its own). Only their a_i differ, so
//!
//! ```text
//! Σ_{i∈G} θ_i·exp((1−σ)·y_i(z)) = exp(c_G + (1−σ)·(ā_G + b_G·z)),
//! ā_G = Σ_{i∈G} (θ_i/θ_G)·a_i,   c_G = ln Σ_{i∈G} θ_i·exp((1−σ)·(a_i − ā_G))
//! ```
//!
//! (c_G a log-sum-exp, the largest term first), and the Cobb–Douglas Σ_{i∈G} θ_i·y_i =
//! θ_G·(ā_G + b_G·z). c_G costs one exp per member once per draw and regime; each evaluation
//! of g is then one exp per GROUP (the default model's autos and auto parts: 2 instead of 7
//! and 8). A group of one keeps ā = a_i and c = ln θ_i, the operations of the source alone,
//! so a model without shared η gives the bits it gave before groups. Each source's own V_i
//! still takes its closed form.

use super::grow;
use super::{
    advance, export_value_at, NewtonState, ELASTICITY_FLOOR, LAST_EVALUATION, MAX_STEPS,
    PRICE_TOLERANCE, SEARCHING, SOLVED, UNIT_SIGMA_TOLERANCE,
};
use crate::fastmath::{self, has_avx2, has_avx512};

/// Steps the multi-source solve takes for every draw of a block in one vectorised loop before
/// the draws still unsolved are gathered and finish in a compact block ([`finish_unsolved`]).
/// Newton from the fixed-price start converges in two to three steps for the elasticities of
/// trade models (default model, measured: 70 % of the draws are solved after two steps, all
/// but 0.006 % after three).
const SOURCE_BLOCK_STEPS: usize = 2;

/// Shares of a sector's sources, in the order exporter, named competitors, `rest`, and the
/// groups of sources whose η is the same in every draw (MODEL.md §10; see [`SourceShares::grouped`]).
#[derive(Debug, Clone)]
pub struct SourceShares {
    theta: Vec<f64>,
    ln_theta: Vec<f64>,
    groups: Vec<SourceGroup>,
}

/// Sources with the same η in every draw: the same κ, ρ, slope m and z-coefficient b, so that
/// their CES terms add up to ONE term exp(c_G + (1 − σ)·(ā_G + b·z)) (see [`multi_source`]).
#[derive(Debug, Clone)]
struct SourceGroup {
    /// The sources of the group with a share θ_i > 0, in source order (a source without a
    /// share adds nothing to the index; its V is still solved).
    members: Vec<usize>,
    /// θ_G = Σ θ_i of the members (θ_i itself for one member, so that a group of one sums
    /// exactly as the source alone).
    theta: f64,
    /// θ_i/θ_G of each member: ā_G = Σ (θ_i/θ_G)·a_i, the share-weighted mean of the a_i.
    weight: Vec<f64>,
}

impl SourceShares {
    /// θ_K, the named competitors' θ_j (in the sector's order) and θ_rest, every source in a
    /// group of its own (each η its own parameter).
    pub fn new(exporter: f64, named: &[f64], rest: f64) -> Self {
        let keys: Vec<usize> = (0..named.len() + 1).collect();
        Self::grouped(exporter, named, rest, &keys)
    }

    /// As [`SourceShares::new`], with the sources grouped by the η they read: `eta_keys` has
    /// one key per named competitor then one for `rest`, equal keys where the η is the same
    /// in every draw (the same parameter; MODEL.md §10's single `competitor_eta` gives one
    /// group of all competitors and `rest`). The exporter is always a group of its own.
    /// Groups are in the order of their first source.
    pub fn grouped<K: PartialEq>(exporter: f64, named: &[f64], rest: f64, eta_keys: &[K]) -> Self {
        assert_eq!(
            eta_keys.len(),
            named.len() + 1,
            "one η key per competitor and rest"
        );
        let theta: Vec<f64> = std::iter::once(exporter)
            .chain(named.iter().copied())
            .chain(std::iter::once(rest))
            .collect();
        let ln_theta = theta.iter().map(|t| t.ln()).collect();
        // Source i ≥ 1 reads key i − 1; the exporter's group has no key.
        let mut first_of_group: Vec<usize> = vec![0];
        let mut group_of = vec![0; theta.len()];
        for i in 1..theta.len() {
            let same = first_of_group[1..]
                .iter()
                .position(|&f| eta_keys[f - 1] == eta_keys[i - 1]);
            group_of[i] = match same {
                Some(g) => g + 1,
                None => {
                    first_of_group.push(i);
                    first_of_group.len() - 1
                }
            };
        }
        let groups = (0..first_of_group.len())
            .map(|g| {
                let members: Vec<usize> = (0..theta.len())
                    .filter(|&i| group_of[i] == g && theta[i] > 0.0)
                    .collect();
                let group_theta = if members.len() == 1 {
                    theta[members[0]]
                } else {
                    members.iter().map(|&i| theta[i]).sum()
                };
                let weight = members.iter().map(|&i| theta[i] / group_theta).collect();
                SourceGroup {
                    members,
                    theta: group_theta,
                    weight,
                }
            })
            .filter(|g| !g.members.is_empty())
            .collect();
        SourceShares {
            theta,
            ln_theta,
            groups,
        }
    }

    /// Number of named competitors.
    pub fn named(&self) -> usize {
        self.theta.len() - 2
    }

    /// Number of groups of sources with a share (see [`SourceShares::grouped`]).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

/// Buffers of the composite fold, reused from block to block.
#[derive(Debug, Clone, Default)]
pub struct FoldScratch {
    hi: Vec<f64>,
    sum: Vec<f64>,
    cobb_douglas: Vec<f64>,
    changed: Vec<f64>,
}

/// ln C of ONE composite of `rest` and every named competitor, all at η = ∞, such that §2's
/// index θ_K·(pT)^(1−σ) + (1 − θ_K)·C^(1−σ) is the index of all sources:
///
/// ```text
/// ln C = [ln(θ_rest·C_rest^(1−σ) + Σ_j θ_j·T_j^(1−σ)) − ln(1 − θ_K)] / (1 − σ)
/// ln C = [θ_rest·ln C_rest + Σ_j θ_j·ln T_j] / (1 − θ_K)                      (σ = 1)
/// ```
///
/// `named_ln_t` holds ln T_j competitor after competitor (`[k·n + d]`). Exactly 0 when no
/// tariff changes, so that an unchanged regime still gives V = 1 exactly.
pub fn composite_ln_c(
    shares: &SourceShares,
    ln_c: &[f64],
    named_ln_t: &[f64],
    sigma: &[f64],
    out: &mut [f64],
    scratch: &mut FoldScratch,
) {
    let n = out.len();
    let others = 1.0 - shares.theta[0];
    if others <= 0.0 {
        // θ_K = 1: no other source has a share; §2 ignores ln C.
        out.copy_from_slice(&ln_c[..n]);
        return;
    }
    if has_avx512() {
        // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            fold_avx512(shares, ln_c, named_ln_t, sigma, out, scratch)
        };
    } else if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked by has_avx2).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            fold_avx2(shares, ln_c, named_ln_t, sigma, out, scratch)
        };
    } else {
        fold(shares, ln_c, named_ln_t, sigma, out, scratch);
    }
}

#[inline(always)]
fn fold(
    shares: &SourceShares,
    ln_c: &[f64],
    named_ln_t: &[f64],
    sigma: &[f64],
    out: &mut [f64],
    f: &mut FoldScratch,
) {
    let n = out.len();
    for column in [&mut f.hi, &mut f.sum, &mut f.cobb_douglas, &mut f.changed] {
        column.resize(n, 0.0);
    }
    let rest = shares.theta.len() - 1;
    let (theta_r, ln_theta_r) = (shares.theta[rest], shares.ln_theta[rest]);
    let (ln_c, sigma) = (&ln_c[..n], &sigma[..n]);
    let (hi, sum, cd, changed) = (
        &mut f.hi[..n],
        &mut f.sum[..n],
        &mut f.cobb_douglas[..n],
        &mut f.changed[..n],
    );
    // Log-sum-exp in two passes (the largest term first), so that large σ·ln T cannot overflow.
    for d in 0..n {
        hi[d] = ln_theta_r + (1.0 - sigma[d]) * ln_c[d];
        cd[d] = theta_r * ln_c[d];
        changed[d] = if ln_c[d] != 0.0 { 1.0 } else { 0.0 };
    }
    for k in 0..shares.named() {
        let (theta, ln_theta) = (shares.theta[1 + k], shares.ln_theta[1 + k]);
        let lt = &named_ln_t[k * n..][..n];
        for d in 0..n {
            let t = ln_theta + (1.0 - sigma[d]) * lt[d];
            hi[d] = if t > hi[d] { t } else { hi[d] };
            cd[d] += theta * lt[d];
            changed[d] = if lt[d] != 0.0 { 1.0 } else { changed[d] };
        }
    }
    for d in 0..n {
        sum[d] = fastmath::exp(ln_theta_r + (1.0 - sigma[d]) * ln_c[d] - hi[d]);
    }
    for k in 0..shares.named() {
        let ln_theta = shares.ln_theta[1 + k];
        let lt = &named_ln_t[k * n..][..n];
        for d in 0..n {
            sum[d] += fastmath::exp(ln_theta + (1.0 - sigma[d]) * lt[d] - hi[d]);
        }
    }
    let others = 1.0 - shares.theta[0];
    let ln_others = others.ln();
    for d in 0..n {
        let one_minus_sigma = 1.0 - sigma[d];
        let ces = (hi[d] + fastmath::ln(sum[d]) - ln_others) / one_minus_sigma;
        let unit = (sigma[d] - 1.0).abs() < UNIT_SIGMA_TOLERANCE;
        let value = if unit { cd[d] / others } else { ces };
        out[d] = if changed[d] != 0.0 { value } else { 0.0 };
    }
}

/// [`fold`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold_avx2(
    shares: &SourceShares,
    ln_c: &[f64],
    named_ln_t: &[f64],
    sigma: &[f64],
    out: &mut [f64],
    f: &mut FoldScratch,
) {
    fold(shares, ln_c, named_ln_t, sigma, out, f)
}

/// [`fold`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn fold_avx512(
    shares: &SourceShares,
    ln_c: &[f64],
    named_ln_t: &[f64],
    sigma: &[f64],
    out: &mut [f64],
    f: &mut FoldScratch,
) {
    fold(shares, ln_c, named_ln_t, sigma, out, f)
}

/// V of a source at a fixed price (η = ∞) given z = ln P of every draw:
/// V = exp(−σ·(ln T − z) − ε·z) (MODEL.md §10 with x = 0).
pub fn fixed_price_values(
    ln_t: &[f64],
    ln_p: &[f64],
    sigma: &[f64],
    epsilon: &[f64],
    out: &mut [f64],
) {
    if has_avx512() {
        // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            fixed_price_values_avx512(ln_t, ln_p, sigma, epsilon, out)
        };
    } else if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked by has_avx2).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            fixed_price_values_avx2(ln_t, ln_p, sigma, epsilon, out)
        };
    } else {
        fixed_price(ln_t, ln_p, sigma, epsilon, out);
    }
}

#[inline(always)]
fn fixed_price(ln_t: &[f64], ln_p: &[f64], sigma: &[f64], epsilon: &[f64], out: &mut [f64]) {
    let n = out.len();
    let (ln_t, ln_p, sigma, epsilon) = (&ln_t[..n], &ln_p[..n], &sigma[..n], &epsilon[..n]);
    for d in 0..n {
        out[d] = export_value_at(0.0, ln_t[d], ln_p[d], sigma[d], epsilon[d]);
    }
}

/// [`fixed_price`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fixed_price_values_avx2(
    ln_t: &[f64],
    ln_p: &[f64],
    sigma: &[f64],
    epsilon: &[f64],
    out: &mut [f64],
) {
    fixed_price(ln_t, ln_p, sigma, epsilon, out)
}

/// [`fixed_price_values`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn fixed_price_values_avx512(
    ln_t: &[f64],
    ln_p: &[f64],
    sigma: &[f64],
    epsilon: &[f64],
    out: &mut [f64],
) {
    fixed_price(ln_t, ln_p, sigma, epsilon, out)
}

/// A sector's inputs over a block of draws for the multi-source solve (element d of every
/// slice is draw d; named competitors' columns lie competitor after competitor, `[k·n + d]`).
#[derive(Debug, Clone, Copy)]
pub struct SourceColumns<'a> {
    /// ln T of the exporter.
    pub ln_t: &'a [f64],
    /// ln C of `rest`.
    pub ln_c: &'a [f64],
    /// ln T_j of the named competitors.
    pub named_ln_t: &'a [f64],
    /// σ.
    pub sigma: &'a [f64],
    /// ε.
    pub epsilon: &'a [f64],
    /// η of the exporter.
    pub eta: &'a [f64],
    /// η of `rest`.
    pub eta_rest: &'a [f64],
    /// η_j of the named competitors.
    pub named_eta: &'a [f64],
}

impl SourceColumns<'_> {
    /// ln T and η of source `i` (exporter, `named` competitors, `rest`) in a solve of `n`
    /// draws.
    #[inline(always)]
    fn source(&self, i: usize, n: usize, named: usize) -> (&[f64], &[f64]) {
        if i == 0 {
            (&self.ln_t[..n], &self.eta[..n])
        } else if i <= named {
            (
                &self.named_ln_t[(i - 1) * n..][..n],
                &self.named_eta[(i - 1) * n..][..n],
            )
        } else {
            (&self.ln_c[..n], &self.eta_rest[..n])
        }
    }
}

/// Buffers of the multi-source solve, reused from block to block, column by column.
#[derive(Debug, Clone, Default)]
pub struct SourceScratch {
    /// Per group then draw (see [`SourceGroup`]): the group's CES term is
    /// c + (1 − σ)·y with y = a + b·z (a = ā_G, b, c = c_G, and y at the current z), slope
    /// weight m.
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    m: Vec<f64>,
    y: Vec<f64>,
    /// Per source then draw: a_i = ρ_i·ln T_i, ln T_i, κ_i.
    source_a: Vec<f64>,
    ln_t: Vec<f64>,
    kappa: Vec<f64>,
    /// Per draw.
    sigma: Vec<f64>,
    stop: Vec<f64>,
    m_lo: Vec<f64>,
    m_hi: Vec<f64>,
    hi: Vec<f64>,
    sum: Vec<f64>,
    slope: Vec<f64>,
    cd: Vec<f64>,
    cd_slope: Vec<f64>,
    z: Vec<f64>,
    lo: Vec<f64>,
    up: Vec<f64>,
    ln_p: Vec<f64>,
    phase: Vec<f64>,
    /// 1 where some source's tariff changes, else 0.
    changed: Vec<f64>,
    /// Draws of the current solve: the distance between two sources' columns.
    stride: usize,
    /// The draws still unsolved after the block steps, and the compact copy of their columns
    /// in which they finish (see [`finish_unsolved`]).
    active: Vec<u32>,
    compact: Option<Box<SourceScratch>>,
}

/// Newton states of a range of draws, column by column (see [`SourceScratch::states`]).
struct StateColumns<'a> {
    x: &'a mut [f64],
    lo: &'a mut [f64],
    hi: &'a mut [f64],
    ln_p: &'a mut [f64],
    phase: &'a mut [f64],
}

impl StateColumns<'_> {
    #[inline(always)]
    fn get(&self, d: usize) -> NewtonState {
        NewtonState {
            x: self.x[d],
            lo: self.lo[d],
            hi: self.hi[d],
            ln_p: self.ln_p[d],
            phase: self.phase[d],
        }
    }

    #[inline(always)]
    fn set(&mut self, d: usize, s: NewtonState) {
        self.x[d] = s.x;
        self.lo[d] = s.lo;
        self.hi[d] = s.hi;
        self.ln_p[d] = s.ln_p;
        self.phase[d] = s.phase;
    }
}

/// Residuals at the current z, the stopping tolerance and the slope bounds of a range of
/// draws (see [`SourceScratch::states`]).
struct ResidualColumns<'a> {
    sigma: &'a [f64],
    hi: &'a [f64],
    sum: &'a [f64],
    slope: &'a [f64],
    cd: &'a [f64],
    cd_slope: &'a [f64],
    stop: &'a mut [f64],
    m_lo: &'a [f64],
    m_hi: &'a [f64],
}

impl ResidualColumns<'_> {
    /// g(z) = z − ln P(z), g'(z) and ln P of draw `d` at its z, from the sums that
    /// [`sums`] left.
    #[inline(always)]
    fn at(&self, d: usize, z: f64) -> (f64, f64, f64) {
        let sigma = self.sigma[d];
        let one_minus_sigma = 1.0 - sigma;
        let ces = (self.hi[d] + fastmath::ln(self.sum[d])) / one_minus_sigma;
        let unit = (sigma - 1.0).abs() < UNIT_SIGMA_TOLERANCE;
        let ln_p = if unit { self.cd[d] } else { ces };
        let dg = if unit {
            self.cd_slope[d]
        } else {
            self.slope[d] / self.sum[d]
        };
        (z - ln_p, dg, ln_p)
    }
}

impl SourceScratch {
    fn resize(&mut self, n: usize, sources: usize, groups: usize) {
        self.stride = n;
        for column in [
            &mut self.a,
            &mut self.b,
            &mut self.c,
            &mut self.m,
            &mut self.y,
        ] {
            grow(column, n * groups);
        }
        for column in [&mut self.source_a, &mut self.ln_t, &mut self.kappa] {
            grow(column, n * sources);
        }
        for column in [
            &mut self.sigma,
            &mut self.stop,
            &mut self.m_lo,
            &mut self.m_hi,
            &mut self.hi,
            &mut self.sum,
            &mut self.slope,
            &mut self.cd,
            &mut self.cd_slope,
            &mut self.z,
            &mut self.lo,
            &mut self.up,
            &mut self.ln_p,
            &mut self.phase,
            &mut self.changed,
        ] {
            grow(column, n);
        }
    }

    /// Moves draw `from` of a solve of `n` draws to place `to` (< `from`): every column that
    /// a step reads or carries to the next.
    fn move_draw(&mut self, from: usize, to: usize, n: usize, groups: usize) {
        for g in 0..groups {
            self.a[g * n + to] = self.a[g * n + from];
            self.b[g * n + to] = self.b[g * n + from];
            self.c[g * n + to] = self.c[g * n + from];
            self.m[g * n + to] = self.m[g * n + from];
        }
        for column in [
            &mut self.sigma,
            &mut self.cd_slope,
            &mut self.stop,
            &mut self.z,
            &mut self.lo,
            &mut self.up,
            &mut self.ln_p,
            &mut self.phase,
        ] {
            column[to] = column[from];
        }
    }

    /// Shortens the per-group columns from `n` draws each to their first `kept` (after
    /// [`SourceScratch::move_draw`] gathered the draws to keep there).
    fn restride(&mut self, n: usize, kept: usize, groups: usize) {
        for column in [&mut self.a, &mut self.b, &mut self.c, &mut self.m] {
            for g in 1..groups {
                column.copy_within(g * n..g * n + kept, g * kept);
            }
        }
        self.stride = kept;
    }

    /// The Newton state of the draws `from..to`, column by column, and their residuals,
    /// sliced once, so that a loop over the draws needs no bounds checks and vectorises
    /// (issue 16: the step loops ran one draw at a time).
    #[inline(always)]
    fn states(&mut self, from: usize, to: usize) -> (StateColumns<'_>, ResidualColumns<'_>) {
        (
            StateColumns {
                x: &mut self.z[from..to],
                lo: &mut self.lo[from..to],
                hi: &mut self.up[from..to],
                ln_p: &mut self.ln_p[from..to],
                phase: &mut self.phase[from..to],
            },
            ResidualColumns {
                sigma: &self.sigma[from..to],
                hi: &self.hi[from..to],
                sum: &self.sum[from..to],
                slope: &self.slope[from..to],
                cd: &self.cd[from..to],
                cd_slope: &self.cd_slope[from..to],
                stop: &mut self.stop[from..to],
                m_lo: &self.m_lo[from..to],
                m_hi: &self.m_hi[from..to],
            },
        )
    }
}

/// V of the exporter (`out`) and of every named competitor (`named_out`, `[k·n + d]`) for
/// every draw of a block, at the root z of g(z) = 0 (MODEL.md §10), |z − z*| ≤ 1e-12.
///
/// A draw solved in a block gives the same bits as the same draw solved alone (a block of
/// one): every loop below works draw by draw with the same operations in the same order, and
/// the draws not solved within `SOURCE_BLOCK_STEPS` steps finish on copies of their own
/// columns.
pub fn multi_source_values(
    c: &SourceColumns<'_>,
    shares: &SourceShares,
    out: &mut [f64],
    named_out: &mut [f64],
    scratch: &mut SourceScratch,
) {
    multi_source_values_sharing(c, shares, &[], out, named_out, scratch)
}

/// [`multi_source_values`] where `same_as[k] = Some(j)` (j < k) says that named competitor k
/// has the same ln T and η columns as competitor j in every draw (decided from the model's
/// slots when the kernel is built): its V is then j's, copied instead of recomputed (the same
/// operations on the same values give the same bits). Competitors past `same_as`'s end are
/// computed.
pub fn multi_source_values_sharing(
    c: &SourceColumns<'_>,
    shares: &SourceShares,
    same_as: &[Option<usize>],
    out: &mut [f64],
    named_out: &mut [f64],
    scratch: &mut SourceScratch,
) {
    if has_avx512() {
        // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            multi_source_avx512(c, shares, same_as, out, named_out, scratch)
        };
    } else if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked by has_avx2).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            multi_source_avx2(c, shares, same_as, out, named_out, scratch)
        };
    } else {
        multi_source(c, shares, same_as, out, named_out, scratch);
    }
}

/// [`multi_source`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn multi_source_avx2(
    c: &SourceColumns<'_>,
    shares: &SourceShares,
    same_as: &[Option<usize>],
    out: &mut [f64],
    named_out: &mut [f64],
    scratch: &mut SourceScratch,
) {
    multi_source(c, shares, same_as, out, named_out, scratch)
}

/// [`multi_source`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn multi_source_avx512(
    c: &SourceColumns<'_>,
    shares: &SourceShares,
    same_as: &[Option<usize>],
    out: &mut [f64],
    named_out: &mut [f64],
    scratch: &mut SourceScratch,
) {
    multi_source(c, shares, same_as, out, named_out, scratch)
}

#[inline(always)]
fn multi_source(
    c: &SourceColumns<'_>,
    shares: &SourceShares,
    same_as: &[Option<usize>],
    out: &mut [f64],
    named_out: &mut [f64],
    s: &mut SourceScratch,
) {
    let n = out.len();
    let sources = shares.theta.len();
    let groups = shares.groups.len();
    let named = sources - 2;
    s.resize(n, sources, groups);
    // Every per-draw column sliced to n, so that the loops below run without bounds checks
    // and vectorise (issue 16: they ran one draw at a time).
    let (sigma_in, epsilon) = (&c.sigma[..n], &c.epsilon[..n]);
    {
        let (sig, m_lo, m_hi) = (&mut s.sigma[..n], &mut s.m_lo[..n], &mut s.m_hi[..n]);
        let changed = &mut s.changed[..n];
        let cd_slope = &mut s.cd_slope[..n];
        // Floored elasticities, as in §2's solve.
        for d in 0..n {
            cd_slope[d] = 0.0;
            let sigma = sigma_in[d];
            sig[d] = if sigma > ELASTICITY_FLOOR {
                sigma
            } else {
                ELASTICITY_FLOOR
            };
            m_lo[d] = f64::INFINITY;
            m_hi[d] = 0.0;
            changed[d] = 0.0;
        }
    }
    for i in 0..sources {
        let (ln_t, eta) = c.source(i, n, named);
        // Sliced again after the branch, so that the loop knows their length (vectorises).
        let (ln_t, eta) = (&ln_t[..n], &eta[..n]);
        let col = i * n..(i + 1) * n;
        let a = &mut s.source_a[col.clone()];
        let (lt, kappa) = (&mut s.ln_t[col.clone()], &mut s.kappa[col]);
        let (sig, changed) = (&s.sigma[..n], &mut s.changed[..n]);
        let (m_lo, m_hi) = (&mut s.m_lo[..n], &mut s.m_hi[..n]);
        let cd_slope = &mut s.cd_slope[..n];
        let theta = shares.theta[i];
        for d in 0..n {
            let sigma = sig[d];
            let (k, rho, slope) = supply_terms(eta[d], sigma, epsilon[d]);
            lt[d] = ln_t[d];
            kappa[d] = k;
            a[d] = rho * ln_t[d];
            changed[d] = if ln_t[d] != 0.0 { 1.0 } else { changed[d] };
            m_lo[d] = if slope < m_lo[d] { slope } else { m_lo[d] };
            m_hi[d] = if slope > m_hi[d] { slope } else { m_hi[d] };
            // Σ_i θ_i·m_i, g' at σ = 1: the same at every z, so summed once here.
            cd_slope[d] += theta * slope;
        }
    }
    // Per group: b and m from its first member's η (the same for every member), ā_G and
    // c_G = ln Σ_i θ_i·exp((1 − σ)·(a_i − ā_G)) (a log-sum-exp, the largest term first), so
    // that Σ_i θ_i·exp((1 − σ)·y_i(z)) = exp(c_G + (1 − σ)·(ā_G + b·z)) at every z: one exp
    // per member here, once, instead of one per member at every evaluation of g. A group of
    // one keeps ā = a_i and c = ln θ_i, the terms of the source alone.
    for (g, group) in shares.groups.iter().enumerate() {
        let col = g * n..(g + 1) * n;
        let (abar, b, cg, m) = (
            &mut s.a[col.clone()],
            &mut s.b[col.clone()],
            &mut s.c[col.clone()],
            &mut s.m[col],
        );
        let (sig, hi, sum) = (&s.sigma[..n], &mut s.hi[..n], &mut s.sum[..n]);
        let eta = &c.source(group.members[0], n, named).1[..n];
        for d in 0..n {
            let sigma = sig[d];
            let (k, _, slope) = supply_terms(eta[d], sigma, epsilon[d]);
            b[d] = -(epsilon[d] - sigma) * k;
            m[d] = slope;
        }
        if let [i] = group.members[..] {
            abar.copy_from_slice(&s.source_a[i * n..][..n]);
            cg.fill(shares.ln_theta[i]);
            continue;
        }
        for (j, (&i, &w)) in group.members.iter().zip(&group.weight).enumerate() {
            let a = &s.source_a[i * n..][..n];
            if j == 0 {
                for d in 0..n {
                    abar[d] = w * a[d];
                }
            } else {
                for d in 0..n {
                    abar[d] += w * a[d];
                }
            }
        }
        // The first member starts the max and the sum (in loops of their own, so that
        // every loop vectorises).
        for (j, &i) in group.members.iter().enumerate() {
            let (a, ln_theta) = (&s.source_a[i * n..][..n], shares.ln_theta[i]);
            if j == 0 {
                for d in 0..n {
                    hi[d] = ln_theta + (1.0 - sig[d]) * (a[d] - abar[d]);
                }
                continue;
            }
            for d in 0..n {
                let t = ln_theta + (1.0 - sig[d]) * (a[d] - abar[d]);
                hi[d] = if t > hi[d] { t } else { hi[d] };
            }
        }
        for (j, &i) in group.members.iter().enumerate() {
            let (a, ln_theta) = (&s.source_a[i * n..][..n], shares.ln_theta[i]);
            if j == 0 {
                for d in 0..n {
                    let t = ln_theta + (1.0 - sig[d]) * (a[d] - abar[d]);
                    sum[d] = fastmath::exp(t - hi[d]);
                }
                continue;
            }
            for d in 0..n {
                let t = ln_theta + (1.0 - sig[d]) * (a[d] - abar[d]);
                sum[d] += fastmath::exp(t - hi[d]);
            }
        }
        for d in 0..n {
            cg[d] = hi[d] + fastmath::ln(sum[d]);
        }
    }
    // The start: g at z = 0, the bracket from the slope bounds, a Newton step into it.
    s.z[..n].fill(0.0);
    sums(shares, s, 0, n);
    {
        let (mut state, r) = s.states(0, n);
        for d in 0..n {
            let (g0, dg0, ln_p0) = r.at(d, state.x[d]);
            let (m_lo, m_hi) = (r.m_lo[d], r.m_hi[d]);
            r.stop[d] = PRICE_TOLERANCE * m_lo;
            let (lo, hi) = if g0 > 0.0 {
                (-g0 / m_lo, -g0 / m_hi)
            } else {
                (-g0 / m_hi, -g0 / m_lo)
            };
            let newton = -g0 / dg0;
            let z = if newton < lo {
                lo
            } else if newton > hi {
                hi
            } else {
                newton
            };
            let solved = g0 == 0.0;
            state.set(
                d,
                NewtonState {
                    x: if solved { 0.0 } else { z },
                    lo,
                    hi,
                    ln_p: ln_p0,
                    phase: if solved { SOLVED } else { SEARCHING },
                },
            );
        }
    }
    for _ in 0..SOURCE_BLOCK_STEPS {
        step(shares, s, 0, n);
    }
    finish_unsolved(shares, s, n);
    // V_i = exp(x_i − σ·(x_i + ln T_i − z) − ε·z), x_i = −(σ·ln T_i + (ε − σ)·z)·κ_i.
    for i in 0..sources - 1 {
        if let Some(&Some(j)) = i.checked_sub(1).and_then(|k| same_as.get(k)) {
            // The same ln T and η as competitor j: the same V (j < k, already written).
            named_out.copy_within(j * n..(j + 1) * n, (i - 1) * n);
            continue;
        }
        let col = i * n..(i + 1) * n;
        let (lt, kappa) = (&s.ln_t[col.clone()], &s.kappa[col]);
        let target: &mut [f64] = if i == 0 {
            &mut out[..n]
        } else {
            &mut named_out[(i - 1) * n..][..n]
        };
        let (sig, zs, changed) = (&s.sigma[..n], &s.z[..n], &s.changed[..n]);
        for d in 0..n {
            let (sigma, epsilon, z) = (sig[d], epsilon[d], zs[d]);
            let x = -(sigma * lt[d] + (epsilon - sigma) * z) * kappa[d];
            let v = export_value_at(x, lt[d], z, sigma, epsilon);
            // No tariff changes: nothing moves (exactly, not to rounding), as in §2.
            target[d] = if changed[d] != 0.0 { v } else { 1.0 };
        }
    }
}

/// κ = 1/(η + σ), ρ = η·κ and the slope weight m = (η + ε)·κ of a source with supply
/// elasticity `eta` (κ = 0, ρ = m = 1 at η = ∞; η floored as in §2's solve).
#[inline(always)]
fn supply_terms(eta: f64, sigma: f64, epsilon: f64) -> (f64, f64, f64) {
    let infinite = eta.is_infinite();
    let e = if eta > ELASTICITY_FLOOR {
        eta
    } else {
        ELASTICITY_FLOOR
    };
    let k = if infinite { 0.0 } else { 1.0 / (e + sigma) };
    let rho = if infinite { 1.0 } else { e * k };
    let slope = if infinite { 1.0 } else { (e + epsilon) * k };
    (k, rho, slope)
}

/// The sums of g(z) = z − ln P(z) and g'(z) for the draws `from..to` at their current z: the
/// largest CES term `hi` (term_i = ln θ_i + (1 − σ)·y_i), Σ e^(term − hi), Σ e^(term − hi)·m_i
/// and the Cobb–Douglas Σ θ_i·y_i;
/// [`ResidualColumns::at`] finishes g, g' and ln P in the loop that uses them (issue 16: they
/// were stored and read back).
///
/// Every column is sliced to `from..to` first, so that the loops run over slices of one
/// length without bounds checks and vectorise. The first source starts each running max and
/// sum from the value a fill would have put there (−∞, 0), rather than filling the columns
/// first: the same operations, one pass over five columns fewer (issue 16).
#[inline(always)]
fn sums(shares: &SourceShares, s: &mut SourceScratch, from: usize, to: usize) {
    let n = s.stride;
    let len = to - from;
    let z = &s.z[from..to];
    let sigma = &s.sigma[from..to];
    let hi = &mut s.hi[from..to];
    // y_G = ā_G + b_G·z is kept for the second pass, which takes the term from it again (the
    // same operations, so the same bits) and needs it for Σ θ_G·y_G.
    for g in 0..shares.groups.len() {
        let a = &s.a[g * n + from..][..len];
        let b = &s.b[g * n + from..][..len];
        let c = &s.c[g * n + from..][..len];
        let y = &mut s.y[g * n + from..][..len];
        if g == 0 {
            for d in 0..len {
                y[d] = a[d] + b[d] * z[d];
                let t = c[d] + (1.0 - sigma[d]) * y[d];
                hi[d] = if t > f64::NEG_INFINITY {
                    t
                } else {
                    f64::NEG_INFINITY
                };
            }
            continue;
        }
        for d in 0..len {
            y[d] = a[d] + b[d] * z[d];
            let t = c[d] + (1.0 - sigma[d]) * y[d];
            hi[d] = if t > hi[d] { t } else { hi[d] };
        }
    }
    let (sum, slope, cd) = (
        &mut s.sum[from..to],
        &mut s.slope[from..to],
        &mut s.cd[from..to],
    );
    for (g, group) in shares.groups.iter().enumerate() {
        let theta = group.theta;
        let c = &s.c[g * n + from..][..len];
        let m = &s.m[g * n + from..][..len];
        let y = &s.y[g * n + from..][..len];
        if g == 0 {
            for d in 0..len {
                let t = c[d] + (1.0 - sigma[d]) * y[d];
                let e = fastmath::exp(t - hi[d]);
                sum[d] = 0.0 + e;
                slope[d] = 0.0 + e * m[d];
                cd[d] = 0.0 + theta * y[d];
            }
            continue;
        }
        for d in 0..len {
            let t = c[d] + (1.0 - sigma[d]) * y[d];
            let e = fastmath::exp(t - hi[d]);
            sum[d] += e;
            slope[d] += e * m[d];
            cd[d] += theta * y[d];
        }
    }
}

/// Steps the draws of a block that the `SOURCE_BLOCK_STEPS` block steps left unsolved until
/// they are solved, with the draws that still need a step gathered to the front of a compact
/// copy of their columns, so that solved draws no longer idle through vectorised steps
/// (issue 16: in the default model a third step is needed by 30 % of the draws and a fourth
/// by 0.006 %, and the block stepped all of them four times). Each draw takes the same steps
/// on the same values as alone, so the same bits; the compact copy's z is written back.
#[inline(always)]
fn finish_unsolved(shares: &SourceShares, s: &mut SourceScratch, n: usize) {
    let groups = shares.groups.len();
    let mut active = std::mem::take(&mut s.active);
    active.clear();
    active.extend((0..n as u32).filter(|&d| s.phase[d as usize] != SOLVED));
    if active.is_empty() {
        s.active = active;
        return;
    }
    let mut c = s.compact.take().unwrap_or_default();
    let mut u = active.len();
    // The compact copy steps only: it needs the group columns, none of the sources'.
    c.resize(u, 0, groups);
    // Column by column, each sliced once: the gather is a load and a store per value (issue
    // 16: indexing both sides per value cost 15 instructions a value).
    let gather = |from: &[f64], into: &mut [f64]| {
        let from = &from[..n];
        for (x, &d) in into[..u].iter_mut().zip(&active) {
            *x = from[d as usize];
        }
    };
    for g in 0..groups {
        gather(&s.a[g * n..], &mut c.a[g * u..]);
        gather(&s.b[g * n..], &mut c.b[g * u..]);
        gather(&s.c[g * n..], &mut c.c[g * u..]);
        gather(&s.m[g * n..], &mut c.m[g * u..]);
    }
    gather(&s.sigma, &mut c.sigma);
    gather(&s.cd_slope, &mut c.cd_slope);
    gather(&s.stop, &mut c.stop);
    gather(&s.z, &mut c.z);
    gather(&s.lo, &mut c.lo);
    gather(&s.up, &mut c.up);
    gather(&s.ln_p, &mut c.ln_p);
    gather(&s.phase, &mut c.phase);
    let mut taken = SOURCE_BLOCK_STEPS;
    while u > 0 && taken < MAX_STEPS {
        step(shares, &mut c, 0, u);
        taken += 1;
        // Solved draws leave (their z written back), the others move down, in order.
        let mut kept = 0;
        for j in 0..u {
            if c.phase[j] == SOLVED {
                s.z[active[j] as usize] = c.z[j];
                continue;
            }
            if kept != j {
                c.move_draw(j, kept, u, groups);
                active[kept] = active[j];
            }
            kept += 1;
        }
        if kept < u {
            c.restride(u, kept, groups);
            u = kept;
        }
    }
    for (j, &d) in active[..u].iter().enumerate() {
        // Out of steps (never seen): take the iterate as it is.
        c.phase[j] = LAST_EVALUATION;
        step(shares, &mut c, j, j + 1);
        s.z[d as usize] = c.z[j];
    }
    s.compact = Some(c);
    s.active = active;
}

/// One safeguarded Newton step in z for the draws `from..to` (solved draws stay as they are).
#[inline(always)]
fn step(shares: &SourceShares, s: &mut SourceScratch, from: usize, to: usize) {
    sums(shares, s, from, to);
    let (mut state, r) = s.states(from, to);
    for d in 0..to - from {
        let current = state.get(d);
        let (g, dg, ln_p) = r.at(d, current.x);
        state.set(d, advance(current, g, dg, ln_p, r.stop[d]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Random inputs of a block with `named` competitors: finite and infinite η, σ near 1,
    /// σ < ε and σ > ε, unchanged tariffs, cuts, large tariffs.
    fn random_block(n: usize, named: usize, seed: u64) -> [Vec<f64>; 8] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut c: [Vec<f64>; 8] = Default::default();
        let eta = |rng: &mut rand_chacha::ChaCha8Rng| {
            if rng.random_range(0..3) == 0 {
                f64::INFINITY
            } else {
                rng.random_range(0.05..20.0)
            }
        };
        let mut named_ln_t = vec![0.0; named * n];
        let mut named_eta = vec![0.0; named * n];
        for d in 0..n {
            let kind = rng.random_range(0..10);
            let unchanged = kind == 0;
            let tariff = |rng: &mut rand_chacha::ChaCha8Rng| {
                if unchanged {
                    0.0
                } else {
                    rng.random_range(-0.2..1.2)
                }
            };
            c[0].push(tariff(&mut rng));
            c[1].push(tariff(&mut rng));
            c[2].push(if kind == 2 {
                1.0 + rng.random_range(-1e-10..1e-10)
            } else {
                rng.random_range(0.2..12.0)
            });
            c[3].push(rng.random_range(0.0..4.0));
            c[4].push(eta(&mut rng));
            c[5].push(eta(&mut rng));
            for k in 0..named {
                named_ln_t[k * n + d] = tariff(&mut rng);
                named_eta[k * n + d] = eta(&mut rng);
            }
        }
        c[6] = named_ln_t;
        c[7] = named_eta;
        c
    }

    /// The columns of a block made by [`random_block`].
    fn block_columns(c: &[Vec<f64>; 8]) -> SourceColumns<'_> {
        SourceColumns {
            ln_t: &c[0],
            ln_c: &c[1],
            named_ln_t: &c[6],
            sigma: &c[2],
            epsilon: &c[3],
            eta: &c[4],
            eta_rest: &c[5],
            named_eta: &c[7],
        }
    }

    fn solve(c: &[Vec<f64>; 8], shares: &SourceShares, range: std::ops::Range<usize>) -> Vec<f64> {
        let n = c[0].len();
        let named = shares.named();
        let take = |v: &[f64]| v[range.clone()].to_vec();
        let take_named = |v: &[f64]| {
            (0..named)
                .flat_map(|k| v[k * n + range.start..k * n + range.end].to_vec())
                .collect::<Vec<f64>>()
        };
        let (ln_t, ln_c, sigma, epsilon, eta, eta_rest) = (
            take(&c[0]),
            take(&c[1]),
            take(&c[2]),
            take(&c[3]),
            take(&c[4]),
            take(&c[5]),
        );
        let (named_ln_t, named_eta) = (take_named(&c[6]), take_named(&c[7]));
        let m = range.len();
        let mut out = vec![0.0; m];
        let mut named_out = vec![0.0; named * m];
        multi_source_values(
            &SourceColumns {
                ln_t: &ln_t,
                ln_c: &ln_c,
                named_ln_t: &named_ln_t,
                sigma: &sigma,
                epsilon: &epsilon,
                eta: &eta,
                eta_rest: &eta_rest,
                named_eta: &named_eta,
            },
            shares,
            &mut out,
            &mut named_out,
            &mut SourceScratch::default(),
        );
        out.extend(named_out);
        out
    }

    #[test]
    fn a_block_equals_its_draws_solved_alone_bit_for_bit() {
        let shares = SourceShares::new(0.2, &[0.3, 0.15, 0.05], 0.3);
        let n = 1031;
        let c = random_block(n, 3, 5);
        let block = solve(&c, &shares, 0..n);
        for d in 0..n {
            let alone = solve(&c, &shares, d..d + 1);
            for (k, v) in alone.iter().enumerate() {
                let b = block[k * n + d];
                assert_eq!(b.to_bits(), v.to_bits(), "draw {d}, source {k}");
                assert!(b.is_finite() && b > 0.0, "draw {d}, source {k}: {b}");
            }
            if c[0][d] == 0.0 && c[1][d] == 0.0 && c[6][d] == 0.0 {
                // Unchanged tariffs everywhere: V = 1 exactly.
                assert_eq!(alone, vec![1.0; 4], "draw {d}");
            }
        }
    }

    #[test]
    fn avx2_and_generic_code_give_the_same_bits() {
        if !has_avx2() {
            return;
        }
        let shares = SourceShares::new(0.1, &[0.4, 0.2], 0.3);
        let n = 517;
        let c = random_block(n, 2, 9);
        let columns = block_columns(&c);
        let (mut a, mut an) = (vec![0.0; n], vec![0.0; 2 * n]);
        let (mut b, mut bn) = (vec![0.0; n], vec![0.0; 2 * n]);
        multi_source(
            &columns,
            &shares,
            &[],
            &mut a,
            &mut an,
            &mut SourceScratch::default(),
        );
        #[cfg(target_arch = "x86_64")]
        unsafe {
            multi_source_avx2(
                &columns,
                &shares,
                &[],
                &mut b,
                &mut bn,
                &mut SourceScratch::default(),
            )
        };
        assert_eq!(a, b);
        assert_eq!(an, bn);
        let mut fa = vec![0.0; n];
        let mut fb = vec![0.0; n];
        fold(
            &shares,
            &c[1],
            &c[6],
            &c[2],
            &mut fa,
            &mut FoldScratch::default(),
        );
        #[cfg(target_arch = "x86_64")]
        unsafe {
            fold_avx2(
                &shares,
                &c[1],
                &c[6],
                &c[2],
                &mut fb,
                &mut FoldScratch::default(),
            )
        };
        assert_eq!(fa, fb);
    }

    /// The AVX-512 bodies against the generic ones, bit for bit (skipped on a CPU without
    /// AVX-512, or when TARIFFSIM_SIMD caps the level below it).
    #[test]
    fn avx512_and_generic_code_give_the_same_bits() {
        if !has_avx512() {
            return;
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (n, named, seed) in [(1, 1, 3), (9, 3, 4), (517, 2, 9), (2053, 6, 10)] {
            let named_shares: Vec<f64> = (0..named).map(|k| 0.05 + 0.01 * k as f64).collect();
            let shares = SourceShares::new(0.15, &named_shares, 0.2);
            let c = random_block(n, named, seed);
            let columns = block_columns(&c);
            let (mut a, mut an) = (vec![0.0; n], vec![0.0; named * n]);
            let (mut b, mut bn) = (vec![0.0; n], vec![0.0; named * n]);
            let mut scratch = SourceScratch::default();
            multi_source(&columns, &shares, &[], &mut a, &mut an, &mut scratch);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                multi_source_avx512(&columns, &shares, &[], &mut b, &mut bn, &mut scratch)
            };
            assert_eq!(bits(&a), bits(&b));
            assert_eq!(bits(&an), bits(&bn));
            let (mut fa, mut fb) = (vec![0.0; n], vec![0.0; n]);
            let mut fold_scratch = FoldScratch::default();
            fold(&shares, &c[1], &c[6], &c[2], &mut fa, &mut fold_scratch);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                fold_avx512(&shares, &c[1], &c[6], &c[2], &mut fb, &mut fold_scratch)
            };
            assert_eq!(bits(&fa), bits(&fb));
            fixed_price(&c[6][..n], &c[1], &c[2], &c[3], &mut fa);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                fixed_price_values_avx512(&c[6][..n], &c[1], &c[2], &c[3], &mut fb)
            };
            assert_eq!(bits(&fa), bits(&fb));
        }
    }

    /// One scratch reused by solves of different lengths and source counts (as the kernel
    /// reuses it across sectors and regimes) gives the bits of a fresh scratch.
    #[test]
    fn a_reused_scratch_gives_the_bits_of_a_fresh_one() {
        let mut reused = SourceScratch::default();
        for (n, named, seed) in [(700, 3, 11), (33, 6, 12), (1025, 1, 13), (2, 4, 14)] {
            let named_shares: Vec<f64> = (0..named).map(|k| 0.06 + 0.02 * k as f64).collect();
            let shares = SourceShares::new(0.2, &named_shares, 0.1);
            let c = random_block(n, named, seed);
            let columns = block_columns(&c);
            let (mut a, mut an) = (vec![0.0; n], vec![0.0; named * n]);
            let (mut b, mut bn) = (vec![0.0; n], vec![0.0; named * n]);
            multi_source_values(&columns, &shares, &mut a, &mut an, &mut reused);
            let mut fresh = SourceScratch::default();
            multi_source_values(&columns, &shares, &mut b, &mut bn, &mut fresh);
            assert_eq!(bits(&a), bits(&b));
            assert_eq!(bits(&an), bits(&bn));
        }
        fn bits(v: &[f64]) -> Vec<u64> {
            v.iter().map(|x| x.to_bits()).collect()
        }
    }

    #[test]
    fn the_residual_is_below_the_tolerance_at_the_solution() {
        // |g(z*)| ≤ 1e-12·min m_i guarantees |z − z*| ≤ 1e-12: check it from scratch.
        let shares = SourceShares::new(0.3, &[0.6], 0.1);
        for (sigma, epsilon, etas) in [
            (4.0, 1.0, [10.0, 1.0, 10.0]),
            (0.5, 3.0, [0.2, f64::INFINITY, 2.0]),
            (8.0, 0.0, [0.05, 0.5, f64::INFINITY]),
        ] {
            let one = |x: f64| vec![x];
            let (ln_t, ln_c, named) = (1.25f64.ln(), 1.1f64.ln(), 0.9f64.ln());
            let mut scratch = SourceScratch::default();
            let (mut out, mut named_out) = (vec![0.0], vec![0.0]);
            multi_source_values(
                &SourceColumns {
                    ln_t: &one(ln_t),
                    ln_c: &one(ln_c),
                    named_ln_t: &one(named),
                    sigma: &one(sigma),
                    epsilon: &one(epsilon),
                    eta: &one(etas[0]),
                    eta_rest: &one(etas[2]),
                    named_eta: &one(etas[1]),
                },
                &shares,
                &mut out,
                &mut named_out,
                &mut scratch,
            );
            let z = scratch.z[0];
            let sources = [
                (0.3, ln_t, etas[0]),
                (0.6, named, etas[1]),
                (0.1, ln_c, etas[2]),
            ];
            let mut sum = 0.0;
            let mut m_lo = f64::INFINITY;
            for (theta, lt, eta) in sources {
                let x = if eta.is_infinite() {
                    0.0
                } else {
                    -(sigma * lt + (epsilon - sigma) * z) / (eta + sigma)
                };
                sum += theta * ((1.0 - sigma) * (x + lt)).exp();
                let m = if eta.is_infinite() {
                    1.0
                } else {
                    (eta + epsilon) / (eta + sigma)
                };
                m_lo = m_lo.min(m);
            }
            let g = z - sum.ln() / (1.0 - sigma);
            assert!(g.abs() / m_lo <= 2e-12, "σ={sigma}: g = {g}");
        }
    }

    /// The random block of [`random_block`] made fit for grouped sources: the η column of
    /// every competitor and `rest` with the same key as an earlier one is that one's column
    /// (as the kernel gathers one parameter's column for each), `keys` one per competitor
    /// then `rest`. Some draws get extreme tariffs (ln T up to ±10) and some σ = 1 ± 1e-3.
    fn grouped_block(n: usize, keys: &[usize], seed: u64) -> [Vec<f64>; 8] {
        let named = keys.len() - 1;
        let mut c = random_block(n, named, seed);
        let column = |i: usize| if i < named { 7 } else { 5 };
        let start = |i: usize| if i < named { i * n } else { 0 };
        for i in 0..keys.len() {
            if let Some(first) = keys[..i].iter().position(|&k| k == keys[i]) {
                let from: Vec<f64> = c[column(first)][start(first)..][..n].to_vec();
                c[column(i)][start(i)..][..n].copy_from_slice(&from);
            }
        }
        for d in 0..n {
            if d % 13 == 7 {
                c[0][d] *= 8.0;
                c[1][d] *= -8.0;
                for k in 0..named {
                    c[6][k * n + d] *= if k % 2 == 0 { 8.0 } else { -8.0 };
                }
            }
            if d % 17 == 4 {
                c[2][d] = if d % 2 == 0 { 1.001 } else { 0.999 };
            }
        }
        c
    }

    /// Shares of the sources of `keys` (one per competitor then `rest`), in groups by key.
    fn grouped_shares(keys: &[usize]) -> SourceShares {
        let named: Vec<f64> = (0..keys.len() - 1)
            .map(|k| 0.04 + 0.03 * k as f64)
            .collect();
        let rest = 0.85 - named.iter().sum::<f64>();
        SourceShares::grouped(0.15, &named, rest, keys)
    }

    /// The groups of competitors and `rest` that the tests below solve: one group of all (the
    /// default model's single `competitor_eta`), two sharing a slot and one of its own, pairs.
    const GROUPINGS: [&[usize]; 4] = [
        &[1, 1, 1, 1, 1, 1],
        &[1, 1, 2, 1],
        &[1, 2, 1, 2, 3],
        &[1, 1],
    ];

    #[test]
    fn grouped_sources_solve_as_the_sources_one_by_one() {
        for (g, keys) in GROUPINGS.iter().enumerate() {
            let n = 1500;
            let c = grouped_block(n, keys, 40 + g as u64);
            let grouped = grouped_shares(keys);
            assert!(grouped.groups() < keys.len() + 1);
            let singles = {
                let own: Vec<usize> = (0..keys.len()).collect();
                let named: Vec<f64> = grouped.theta[1..=keys.len() - 1].to_vec();
                SourceShares::grouped(grouped.theta[0], &named, grouped.theta[keys.len()], &own)
            };
            assert_eq!(singles.groups(), keys.len() + 1);
            let named = keys.len() - 1;
            let columns = block_columns(&c);
            let solve = |shares: &SourceShares| {
                let (mut v, mut named_v) = (vec![0.0; n], vec![0.0; named * n]);
                let mut scratch = SourceScratch::default();
                multi_source_values(&columns, shares, &mut v, &mut named_v, &mut scratch);
                v.extend(named_v);
                (v, scratch.z[..n].to_vec())
            };
            let (v_grouped, z_grouped) = solve(&grouped);
            let (v_single, z_single) = solve(&singles);
            for d in 0..n {
                let (a, b) = (z_grouped[d], z_single[d]);
                assert!((a - b).abs() <= 1e-12, "{keys:?} draw {d}: z {a} vs {b}");
                for k in 0..=named {
                    let (a, b) = (v_grouped[k * n + d], v_single[k * n + d]);
                    assert!(
                        a.is_finite() && a > 0.0,
                        "{keys:?} draw {d}, source {k}: {a}"
                    );
                    assert!(
                        (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                        "{keys:?} draw {d}, source {k}: V {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn grouped_sources_give_the_same_bits_in_a_block_alone_and_at_every_level() {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (g, keys) in GROUPINGS.iter().enumerate() {
            let n = 613;
            let named = keys.len() - 1;
            let c = grouped_block(n, keys, 50 + g as u64);
            let shares = grouped_shares(keys);
            let block = solve(&c, &shares, 0..n);
            for d in 0..n {
                let alone = solve(&c, &shares, d..d + 1);
                for (k, v) in alone.iter().enumerate() {
                    assert_eq!(
                        block[k * n + d].to_bits(),
                        v.to_bits(),
                        "{keys:?} draw {d}, source {k}"
                    );
                }
                let unchanged = c[0][d] == 0.0 && c[1][d] == 0.0 && c[6][d] == 0.0;
                if unchanged && (0..named).all(|k| c[6][k * n + d] == 0.0) {
                    assert_eq!(alone, vec![1.0; named + 1], "{keys:?} draw {d}");
                }
            }
            let columns = block_columns(&c);
            let (mut a, mut an) = (vec![0.0; n], vec![0.0; named * n]);
            let mut scratch = SourceScratch::default();
            multi_source(&columns, &shares, &[], &mut a, &mut an, &mut scratch);
            let (mut b, mut bn) = (vec![0.0; n], vec![0.0; named * n]);
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: the CPU supports AVX2 (checked by has_avx2).
                unsafe { multi_source_avx2(&columns, &shares, &[], &mut b, &mut bn, &mut scratch) };
                assert_eq!(bits(&a), bits(&b), "AVX2 {keys:?}");
                assert_eq!(bits(&an), bits(&bn), "AVX2 {keys:?}");
            }
            #[cfg(target_arch = "x86_64")]
            if has_avx512() {
                // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
                unsafe {
                    multi_source_avx512(&columns, &shares, &[], &mut b, &mut bn, &mut scratch)
                };
                assert_eq!(bits(&a), bits(&b), "AVX-512 {keys:?}");
                assert_eq!(bits(&an), bits(&bn), "AVX-512 {keys:?}");
            }
        }
    }
}
