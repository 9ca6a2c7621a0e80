//! The sector kernel of MODEL.md §2: an exact (not log-linearised) partial-equilibrium
//! Armington model for one sector in one tariff regime.
//!
//! With x = ln p (the exporter's FOB price relative to baseline), T = (1+τ1)/(1+τ0) and
//! C = (1+c1)/(1+c0), the market clears where
//!
//! ```text
//! f(x) = (η + σ)·x + σ·ln T + (ε − σ)·ln P(e^x) = 0,
//! P(p) = [θ·(pT)^(1−σ) + (1−θ)·C^(1−σ)]^(1/(1−σ))      (σ = 1: P = (pT)^θ·C^(1−θ))
//! ```
//!
//! and exports in value relative to baseline are V = p·Q with Q = (pT/P)^(−σ)·P^(−ε).

use crate::fastmath::{self, has_avx2, has_avx512};

mod sources;
pub use sources::{
    composite_ln_c, fixed_price_values, multi_source_values, multi_source_values_sharing,
    FoldScratch, SourceColumns, SourceScratch, SourceShares,
};

/// Makes `column` hold at least `len` values. Scratch columns are only ever read where they
/// were written first (every loop slices them to its draws), so a column that is long enough
/// is left as it is: `Vec::resize` would truncate it to a smaller block's length and zero it
/// again for the next larger one (a regime's draws and a sector's sources change the length
/// from call to call; issue 16: 12 % of a draw's memset).
#[inline]
pub(crate) fn grow(column: &mut Vec<f64>, len: usize) {
    if column.len() < len {
        column.resize(len, 0.0);
    }
}

/// |σ − 1| below this uses the Cobb–Douglas limit of the CES index (MODEL.md §2).
pub const UNIT_SIGMA_TOLERANCE: f64 = 1e-9;

/// The root x* = ln p is found to |x − x*| ≤ this (MODEL.md §2).
pub const PRICE_TOLERANCE: f64 = 1e-12;

/// Elasticities at an open boundary of their domain (σ → 0, η → 0) are nudged up to this, so
/// that the solve stays well defined; no economically meaningful value is this small.
const ELASTICITY_FLOOR: f64 = 1e-12;

/// The fixed data of a sector that the kernel needs, with logs hoisted out of the draw loop.
#[derive(Debug, Clone, Copy)]
pub struct SectorShares {
    /// θ, the exporter's share of the importer's imports.
    pub theta: f64,
    /// ln θ.
    pub ln_theta: f64,
    /// ln(1 − θ) (−∞ when θ = 1).
    pub ln_rest: f64,
}

impl SectorShares {
    /// Precomputes the logs of θ and 1 − θ.
    pub fn new(theta: f64) -> Self {
        SectorShares {
            theta,
            ln_theta: theta.ln(),
            ln_rest: (1.0 - theta).ln(),
        }
    }
}

/// Elasticities of one draw for one sector.
#[derive(Debug, Clone, Copy)]
pub struct Elasticities {
    /// σ, substitution between the exporter's variety and competitors'.
    pub sigma: f64,
    /// ε, the importer's aggregate import-demand elasticity.
    pub epsilon: f64,
    /// η, export-supply elasticity; infinite means perfectly elastic supply.
    pub eta: f64,
}

/// ln P at x = ln p and the exporter's share w of import spending at delivered prices.
///
/// Branch-free (both the CES and the Cobb–Douglas forms are computed and one is selected), so
/// that a loop over a block of draws vectorises, and the scalar Newton solve evaluates exactly
/// the same operations as the block's closed form.
#[inline(always)]
fn ln_price_index(x: f64, ln_t: f64, ln_c: f64, shares: &SectorShares, sigma: f64) -> (f64, f64) {
    let one_minus_sigma = 1.0 - sigma;
    // Log-sum-exp: the two CES terms in logs, so that large σ·ln T cannot overflow.
    let a = shares.ln_theta + one_minus_sigma * (x + ln_t);
    let b = shares.ln_rest + one_minus_sigma * ln_c;
    let a_larger = a >= b;
    let hi = if a_larger { a } else { b };
    let lo = if a_larger { b } else { a };
    let tail = fastmath::exp(lo - hi);
    let sum = 1.0 + tail;
    let ces_ln_p = (hi + fastmath::ln(sum)) / one_minus_sigma;
    let ces_w = if a_larger { 1.0 / sum } else { tail / sum };
    let cobb_douglas_ln_p = shares.theta * (x + ln_t) + (1.0 - shares.theta) * ln_c;
    if (sigma - 1.0).abs() < UNIT_SIGMA_TOLERANCE {
        (cobb_douglas_ln_p, shares.theta)
    } else {
        (ces_ln_p, ces_w)
    }
}

/// Export value relative to baseline, V = p·Q, at x = ln p with price index ln P.
#[inline(always)]
fn export_value_at(x: f64, ln_t: f64, ln_p: f64, sigma: f64, epsilon: f64) -> f64 {
    let ln_q = -sigma * (x + ln_t - ln_p) - epsilon * ln_p;
    fastmath::exp(x + ln_q)
}

/// Solves f(x) = 0 for x = ln p by Newton's method inside a bracket that always contains the
/// root; a step that would leave the bracket is replaced by bisection.
///
/// The bracket comes from bounds on the slope: f' = η + σ + (ε − σ)·w with w ∈ (0, 1) lies in
/// [m_lo, m_hi] = [η + min(σ, ε), η + max(σ, ε)], so the root lies between −f(0)/m_lo and
/// −f(0)/m_hi, and |x − x*| ≤ |f(x)|/m_lo gives a stopping rule that guarantees the tolerance.
pub fn solve_log_price(ln_t: f64, ln_c: f64, shares: &SectorShares, e: &Elasticities) -> f64 {
    solve(ln_t, ln_c, shares, e).0
}

/// The root x* = ln p and ln P at it (so that V needs no further evaluation of the index).
#[inline]
fn solve(ln_t: f64, ln_c: f64, shares: &SectorShares, e: &Elasticities) -> (f64, f64) {
    if e.eta.is_infinite() {
        return (0.0, ln_price_index(0.0, ln_t, ln_c, shares, e.sigma).0);
    }
    solve_finite_eta(ln_t, ln_c, shares, e)
}

/// [`solve`] for a finite η: Newton steps from the start until solved.
#[inline]
fn solve_finite_eta(ln_t: f64, ln_c: f64, shares: &SectorShares, e: &Elasticities) -> (f64, f64) {
    let (problem, mut state) = newton_start(ln_t, ln_c, shares, e.sigma, e.epsilon, e.eta);
    newton_finish(&problem, shares, &mut state, 0);
    (state.x, state.ln_p)
}

/// Phases of a draw's Newton solve, stored as f64 so that a block's states vectorise.
const SEARCHING: f64 = 0.0;
/// The last step was below the spacing of doubles: x is final, ln P at it is still to come.
const LAST_EVALUATION: f64 = 1.0;
const SOLVED: f64 = 2.0;
/// Steps at most; the bracket halves at least every other step, so this is never reached in
/// practice.
const MAX_STEPS: usize = 200;
/// Steps that a block takes for all its draws in one vectorised loop (solved draws idle
/// through them); the few draws not solved by then finish one by one. After Halley's start,
/// three steps solve almost every draw (measured: 4 steps from a Newton start cost 24 % more
/// instructions in the Newton loop of the default model).
const BLOCK_STEPS: usize = 3;

/// One draw's finite-η problem, elasticities floored.
#[derive(Debug, Clone, Copy)]
struct NewtonProblem {
    ln_t: f64,
    ln_c: f64,
    sigma: f64,
    epsilon: f64,
    eta: f64,
    /// Stop when |f(x)| ≤ this: PRICE_TOLERANCE·m_lo.
    stop: f64,
}

/// One draw's safeguarded Newton iteration: the iterate, a bracket of the root, ln P at the
/// solution once found, and the phase.
#[derive(Debug, Clone, Copy)]
struct NewtonState {
    x: f64,
    lo: f64,
    hi: f64,
    ln_p: f64,
    phase: f64,
}

/// f(x), f'(x) and ln P at x (MODEL.md §2).
#[inline(always)]
fn residual(x: f64, p: &NewtonProblem, shares: &SectorShares) -> (f64, f64, f64) {
    let (ln_p, w) = ln_price_index(x, p.ln_t, p.ln_c, shares, p.sigma);
    (
        (p.eta + p.sigma) * x + p.sigma * p.ln_t + (p.epsilon - p.sigma) * ln_p,
        p.eta + p.sigma + (p.epsilon - p.sigma) * w,
        ln_p,
    )
}

/// The problem and the first iterate: one Halley step from x = 0, kept inside the bracket
/// that the slope bounds give.
#[inline(always)]
fn newton_start(
    ln_t: f64,
    ln_c: f64,
    shares: &SectorShares,
    sigma: f64,
    epsilon: f64,
    eta: f64,
) -> (NewtonProblem, NewtonState) {
    let sigma = if sigma > ELASTICITY_FLOOR {
        sigma
    } else {
        ELASTICITY_FLOOR
    };
    let eta = if eta > ELASTICITY_FLOOR {
        eta
    } else {
        ELASTICITY_FLOOR
    };
    let m_lo = eta + if sigma < epsilon { sigma } else { epsilon };
    let m_hi = eta + if sigma < epsilon { epsilon } else { sigma };
    let problem = NewtonProblem {
        ln_t,
        ln_c,
        sigma,
        epsilon,
        eta,
        stop: PRICE_TOLERANCE * m_lo,
    };
    let (ln_p0, w0) = ln_price_index(0.0, ln_t, ln_c, shares, sigma);
    let f0 = sigma * ln_t + (epsilon - sigma) * ln_p0;
    let d0 = eta + sigma + (epsilon - sigma) * w0;
    // f'' = (ε − σ)(1 − σ)·w(1 − w), since dw/dx = (1 − σ)·w(1 − w): free once w is known, and
    // Halley's step from 0 saves Newton about one evaluation.
    let d2 = (epsilon - sigma) * (1.0 - sigma) * w0 * (1.0 - w0);
    let (lo, hi) = if f0 > 0.0 {
        (-f0 / m_lo, -f0 / m_hi)
    } else {
        (-f0 / m_hi, -f0 / m_lo)
    };
    let newton = -2.0 * f0 * d0 / (2.0 * d0 * d0 - f0 * d2);
    let x = if newton < lo {
        lo
    } else if newton > hi {
        hi
    } else {
        newton
    };
    // An exact root at 0 needs no step.
    let solved = f0 == 0.0;
    let state = NewtonState {
        x: if solved { 0.0 } else { x },
        lo,
        hi,
        ln_p: ln_p0,
        phase: if solved { SOLVED } else { SEARCHING },
    };
    (problem, state)
}

/// One step of the safeguarded Newton iteration, branch-free: a solved state is returned
/// unchanged, so a block can step all its draws together and each draw's result is the same
/// as when it is solved alone.
///
/// The bracket comes from bounds on the slope: f' = η + σ + (ε − σ)·w with w ∈ (0, 1) lies in
/// [m_lo, m_hi] = [η + min(σ, ε), η + max(σ, ε)], so the root lies between −f(0)/m_lo and
/// −f(0)/m_hi, and |x − x*| ≤ |f(x)|/m_lo makes |f| ≤ PRICE_TOLERANCE·m_lo a stopping rule
/// that guarantees the tolerance. A Newton step that would leave the bracket is replaced by
/// bisection.
#[inline(always)]
fn newton_step(p: &NewtonProblem, shares: &SectorShares, s: NewtonState) -> NewtonState {
    let (fx, dx, ln_p) = residual(s.x, p, shares);
    advance(s, fx, dx, ln_p, p.stop)
}

/// The update of a safeguarded Newton state from the residual `fx`, its slope `dx` and ln P at
/// the iterate; shared by the exporter's solve in x (MODEL.md §2) and the multi-source solve
/// in z (§10), so both keep the same bracket, stopping rule and phases.
#[inline(always)]
fn advance(s: NewtonState, fx: f64, dx: f64, ln_p: f64, stop: f64) -> NewtonState {
    let converged = fx.abs() <= stop;
    let lo = if fx > 0.0 { s.lo } else { s.x };
    let hi = if fx > 0.0 { s.x } else { s.hi };
    let newton = s.x - fx / dx;
    let next = if newton > lo && newton < hi {
        newton
    } else {
        0.5 * (lo + hi)
    };
    // Steps below the spacing of doubles near x: the root is found to machine precision.
    let scale = if s.x.abs() > f64::MIN_POSITIVE {
        s.x.abs()
    } else {
        f64::MIN_POSITIVE
    };
    let tiny = (next - s.x).abs() <= f64::EPSILON * scale || hi - lo <= PRICE_TOLERANCE * 1e-3;
    let searching = s.phase == SEARCHING;
    let advance = searching && !converged;
    let finish = (searching && converged) || s.phase == LAST_EVALUATION;
    NewtonState {
        x: if advance { next } else { s.x },
        lo: if advance { lo } else { s.lo },
        hi: if advance { hi } else { s.hi },
        ln_p: if finish { ln_p } else { s.ln_p },
        phase: if advance {
            if tiny {
                LAST_EVALUATION
            } else {
                SEARCHING
            }
        } else if finish {
            SOLVED
        } else {
            s.phase
        },
    }
}

/// Steps `state` until solved; `taken` steps were taken already.
#[inline]
fn newton_finish(p: &NewtonProblem, shares: &SectorShares, state: &mut NewtonState, taken: usize) {
    for _ in taken..MAX_STEPS {
        if state.phase == SOLVED {
            return;
        }
        #[cfg(test)]
        EVALS.with(|c| c.set(c.get() + 1));
        *state = newton_step(p, shares, *state);
    }
    // Out of steps (never seen): take the iterate as it is, with its ln P.
    if state.phase != SOLVED {
        state.phase = LAST_EVALUATION;
        *state = newton_step(p, shares, *state);
    }
}

/// Export value V relative to baseline in a regime with ln T = `ln_t`, ln C = `ln_c` (MODEL.md §2).
#[inline]
pub fn export_value(ln_t: f64, ln_c: f64, shares: &SectorShares, e: &Elasticities) -> f64 {
    if ln_t == 0.0 && ln_c == 0.0 {
        // No change in either tariff: nothing moves (exactly, not to rounding).
        return 1.0;
    }
    let (x, ln_p) = solve(ln_t, ln_c, shares, e);
    export_value_at(x, ln_t, ln_p, e.sigma, e.epsilon)
}

/// One sector's inputs over a block of draws, column by column (element i of every slice is
/// draw i of the block).
#[derive(Debug, Clone, Copy)]
pub struct SectorColumns<'a> {
    /// ln T per draw.
    pub ln_t: &'a [f64],
    /// ln C per draw.
    pub ln_c: &'a [f64],
    /// σ per draw.
    pub sigma: &'a [f64],
    /// ε per draw.
    pub epsilon: &'a [f64],
    /// η per draw.
    pub eta: &'a [f64],
}

/// Buffers for the Newton solves of a block, reused from block to block: the problems' and
/// states' fields column by column, so that a loop over draws loads whole vectors.
#[derive(Debug, Clone, Default)]
pub struct SolveScratch {
    sigma: Vec<f64>,
    eta: Vec<f64>,
    stop: Vec<f64>,
    x: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    ln_p: Vec<f64>,
    phase: Vec<f64>,
    /// ln P of every draw of the last [`export_values`] call (MODEL.md §10 needs it for the
    /// competitors' quantities).
    ln_index: Vec<f64>,
}

impl SolveScratch {
    /// ln P, the change of the sector's import price index, of every draw of the last
    /// [`export_values`] call.
    pub fn ln_price_index(&self) -> &[f64] {
        &self.ln_index
    }

    fn resize(&mut self, n: usize) {
        for column in [
            &mut self.sigma,
            &mut self.eta,
            &mut self.stop,
            &mut self.x,
            &mut self.lo,
            &mut self.hi,
            &mut self.ln_p,
            &mut self.phase,
        ] {
            grow(column, n);
        }
    }

    /// Draw i's problem.
    #[inline(always)]
    fn problem(&self, c: &SectorColumns<'_>, i: usize) -> NewtonProblem {
        NewtonProblem {
            ln_t: c.ln_t[i],
            ln_c: c.ln_c[i],
            sigma: self.sigma[i],
            epsilon: c.epsilon[i],
            eta: self.eta[i],
            stop: self.stop[i],
        }
    }

    /// Draw i's state.
    #[inline(always)]
    fn state(&self, i: usize) -> NewtonState {
        NewtonState {
            x: self.x[i],
            lo: self.lo[i],
            hi: self.hi[i],
            ln_p: self.ln_p[i],
            phase: self.phase[i],
        }
    }

    #[inline(always)]
    fn set_state(&mut self, i: usize, s: NewtonState) {
        self.x[i] = s.x;
        self.lo[i] = s.lo;
        self.hi[i] = s.hi;
        self.ln_p[i] = s.ln_p;
        self.phase[i] = s.phase;
    }
}

/// [`export_value`] for every draw of a block, into `out` (same length as the columns).
///
/// Bit-identical to calling [`export_value`] per draw, but faster: the closed form (η = ∞)
/// and the first `BLOCK_STEPS` Newton steps (finite η) run for all draws in branch-free loops
/// that the compiler vectorises — with AVX2 when the CPU has it, which gives the same bits
/// because the same IEEE operations run — and only the draws not solved by then finish alone.
pub fn export_values(
    columns: &SectorColumns<'_>,
    shares: &SectorShares,
    out: &mut [f64],
    scratch: &mut SolveScratch,
) {
    let c = columns;
    let n = out.len();
    let (avx512, avx2) = (has_avx512(), has_avx2());
    grow(&mut scratch.ln_index, n);
    if c.eta[..n].iter().any(|e| e.is_infinite()) {
        if avx512 {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                closed_form_values_avx512(c, shares, out, &mut scratch.ln_index)
            };
        } else if avx2 {
            // SAFETY: the CPU supports AVX2 (checked by has_avx2).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                closed_form_values_avx2(c, shares, out, &mut scratch.ln_index)
            };
        } else {
            closed_form_values(c, shares, out, &mut scratch.ln_index);
        }
    }
    if c.eta[..n].iter().any(|e| e.is_finite()) {
        scratch.resize(n);
        if avx512 {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_block_steps_avx512(c, shares, scratch)
            };
        } else if avx2 {
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_block_steps_avx2(c, shares, scratch)
            };
        } else {
            newton_block_steps(c, shares, scratch);
        }
        for i in 0..n {
            if c.eta[i].is_finite() && scratch.phase[i] != SOLVED {
                let problem = scratch.problem(c, i);
                let mut state = scratch.state(i);
                newton_finish(&problem, shares, &mut state, BLOCK_STEPS);
                scratch.set_state(i, state);
            }
        }
        if avx512 {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked by has_avx512).
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_values_avx512(c, scratch, out)
            };
        } else if avx2 {
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_values_avx2(c, scratch, out)
            };
        } else {
            newton_values(c, scratch, out);
        }
        for i in 0..n {
            if c.eta[i].is_finite() {
                scratch.ln_index[i] = scratch.ln_p[i];
            }
        }
    }
    for (i, v) in out.iter_mut().enumerate() {
        if c.ln_t[i] == 0.0 && c.ln_c[i] == 0.0 {
            // No change in either tariff: nothing moves (exactly, not to rounding).
            *v = 1.0;
            scratch.ln_index[i] = 0.0;
        }
    }
}

/// The η = ∞ closed form (p = 1) for every draw.
#[inline(always)]
fn closed_form_values(
    c: &SectorColumns<'_>,
    shares: &SectorShares,
    out: &mut [f64],
    ln_index: &mut [f64],
) {
    let n = out.len();
    let (ln_t, ln_c, sigma, epsilon) = (&c.ln_t[..n], &c.ln_c[..n], &c.sigma[..n], &c.epsilon[..n]);
    let ln_index = &mut ln_index[..n];
    for i in 0..n {
        let (ln_p, _) = ln_price_index(0.0, ln_t[i], ln_c[i], shares, sigma[i]);
        out[i] = export_value_at(0.0, ln_t[i], ln_p, sigma[i], epsilon[i]);
        ln_index[i] = ln_p;
    }
}

/// [`closed_form_values`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn closed_form_values_avx2(
    c: &SectorColumns<'_>,
    shares: &SectorShares,
    out: &mut [f64],
    ln_index: &mut [f64],
) {
    closed_form_values(c, shares, out, ln_index)
}

/// [`closed_form_values`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn closed_form_values_avx512(
    c: &SectorColumns<'_>,
    shares: &SectorShares,
    out: &mut [f64],
    ln_index: &mut [f64],
) {
    closed_form_values(c, shares, out, ln_index)
}

/// Newton's start and `BLOCK_STEPS` steps for every draw (draws with η = ∞ compute values
/// that are not used: cheaper than a branch in a vectorised loop).
#[inline(always)]
fn newton_block_steps(c: &SectorColumns<'_>, shares: &SectorShares, scratch: &mut SolveScratch) {
    let n = c.ln_t.len();
    for i in 0..n {
        let (problem, state) = newton_start(
            c.ln_t[i],
            c.ln_c[i],
            shares,
            c.sigma[i],
            c.epsilon[i],
            c.eta[i],
        );
        scratch.sigma[i] = problem.sigma;
        scratch.eta[i] = problem.eta;
        scratch.stop[i] = problem.stop;
        scratch.set_state(i, state);
    }
    for _ in 0..BLOCK_STEPS {
        for i in 0..n {
            let state = newton_step(&scratch.problem(c, i), shares, scratch.state(i));
            scratch.set_state(i, state);
        }
    }
}

/// V at the solved price of every draw with a finite η.
#[inline(always)]
fn newton_values(c: &SectorColumns<'_>, scratch: &SolveScratch, out: &mut [f64]) {
    let n = out.len();
    let (ln_t, sigma, epsilon, eta) = (&c.ln_t[..n], &c.sigma[..n], &c.epsilon[..n], &c.eta[..n]);
    let (x, ln_p) = (&scratch.x[..n], &scratch.ln_p[..n]);
    for i in 0..n {
        let v = export_value_at(x[i], ln_t[i], ln_p[i], sigma[i], epsilon[i]);
        out[i] = if eta[i].is_finite() { v } else { out[i] };
    }
}

/// [`newton_block_steps`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn newton_block_steps_avx2(
    c: &SectorColumns<'_>,
    shares: &SectorShares,
    scratch: &mut SolveScratch,
) {
    newton_block_steps(c, shares, scratch)
}

/// [`newton_block_steps`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn newton_block_steps_avx512(
    c: &SectorColumns<'_>,
    shares: &SectorShares,
    scratch: &mut SolveScratch,
) {
    newton_block_steps(c, shares, scratch)
}

/// [`newton_values`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn newton_values_avx2(c: &SectorColumns<'_>, scratch: &SolveScratch, out: &mut [f64]) {
    newton_values(c, scratch, out)
}

/// [`newton_values`] compiled for AVX-512 (eight draws per vector; the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn newton_values_avx512(c: &SectorColumns<'_>, scratch: &SolveScratch, out: &mut [f64]) {
    newton_values(c, scratch, out)
}

#[cfg(test)]
thread_local! {
    static EVALS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Random sector inputs that visit every path: finite and infinite η, σ near 1, σ < ε and
    /// σ > ε, unchanged tariffs, tariff cuts, large tariffs.
    fn random_columns(n: usize, seed: u64) -> [Vec<f64>; 5] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut cols: [Vec<f64>; 5] = Default::default();
        for _ in 0..n {
            let kind = rng.random_range(0..10);
            let ln_t = match kind {
                0 => 0.0,
                1 => -0.1,
                _ => rng.random_range(-0.2..1.2),
            };
            let ln_c = if kind == 0 {
                0.0
            } else {
                rng.random_range(-0.1..0.5)
            };
            let sigma = if kind == 2 {
                1.0 + rng.random_range(-1e-10..1e-10)
            } else {
                rng.random_range(0.2..12.0)
            };
            let eta = if rng.random_range(0..3) == 0 {
                f64::INFINITY
            } else {
                rng.random_range(0.05..20.0)
            };
            for (c, v) in cols
                .iter_mut()
                .zip([ln_t, ln_c, sigma, rng.random_range(0.0..4.0), eta])
            {
                c.push(v);
            }
        }
        cols
    }

    #[test]
    fn block_values_equal_draw_by_draw_values_bit_for_bit() {
        let shares = SectorShares::new(0.23);
        let [ln_t, ln_c, sigma, epsilon, eta] = random_columns(3001, 7);
        let columns = SectorColumns {
            ln_t: &ln_t,
            ln_c: &ln_c,
            sigma: &sigma,
            epsilon: &epsilon,
            eta: &eta,
        };
        let mut block = vec![0.0; ln_t.len()];
        export_values(&columns, &shares, &mut block, &mut SolveScratch::default());
        for i in 0..ln_t.len() {
            let e = el(sigma[i], epsilon[i], eta[i]);
            let alone = export_value(ln_t[i], ln_c[i], &shares, &e);
            assert_eq!(block[i].to_bits(), alone.to_bits(), "draw {i}: {e:?}");
        }
    }

    #[test]
    fn avx2_and_generic_code_give_the_same_bits() {
        if !has_avx2() {
            return;
        }
        let shares = SectorShares::new(0.6);
        let [ln_t, ln_c, sigma, epsilon, eta] = random_columns(1027, 8);
        let c = SectorColumns {
            ln_t: &ln_t,
            ln_c: &ln_c,
            sigma: &sigma,
            epsilon: &epsilon,
            eta: &eta,
        };
        let n = ln_t.len();
        let (mut generic, mut avx2) = (vec![0.0; n], vec![0.0; n]);
        let mut ln_index = vec![0.0; n];
        closed_form_values(&c, &shares, &mut generic, &mut ln_index);
        #[cfg(target_arch = "x86_64")]
        unsafe {
            closed_form_values_avx2(&c, &shares, &mut avx2, &mut ln_index)
        };
        assert_eq!(generic, avx2);
        let (mut a, mut b) = (SolveScratch::default(), SolveScratch::default());
        a.resize(n);
        b.resize(n);
        newton_block_steps(&c, &shares, &mut a);
        #[cfg(target_arch = "x86_64")]
        unsafe {
            newton_block_steps_avx2(&c, &shares, &mut b)
        };
        for i in 0..n {
            assert_eq!(a.x[i].to_bits(), b.x[i].to_bits(), "{i}");
            assert_eq!(a.ln_p[i].to_bits(), b.ln_p[i].to_bits(), "{i}");
        }
    }

    /// The AVX-512 bodies against the generic ones, bit for bit (skipped on a CPU without
    /// AVX-512, or when TARIFFSIM_SIMD caps the level below it).
    #[test]
    fn avx512_and_generic_code_give_the_same_bits() {
        if !has_avx512() {
            return;
        }
        for (n, seed, theta) in [(1, 1, 0.3), (7, 2, 0.23), (1027, 8, 0.6), (4099, 9, 0.05)] {
            let shares = SectorShares::new(theta);
            let [ln_t, ln_c, sigma, epsilon, eta] = random_columns(n, seed);
            let c = SectorColumns {
                ln_t: &ln_t,
                ln_c: &ln_c,
                sigma: &sigma,
                epsilon: &epsilon,
                eta: &eta,
            };
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let (mut generic, mut wide) = (vec![0.0; n], vec![0.0; n]);
            let (mut index_generic, mut index_wide) = (vec![0.0; n], vec![0.0; n]);
            closed_form_values(&c, &shares, &mut generic, &mut index_generic);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                closed_form_values_avx512(&c, &shares, &mut wide, &mut index_wide)
            };
            assert_eq!(bits(&generic), bits(&wide));
            assert_eq!(bits(&index_generic), bits(&index_wide));
            let (mut a, mut b) = (SolveScratch::default(), SolveScratch::default());
            a.resize(n);
            b.resize(n);
            newton_block_steps(&c, &shares, &mut a);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_block_steps_avx512(&c, &shares, &mut b)
            };
            for column in [
                (&a.x, &b.x),
                (&a.lo, &b.lo),
                (&a.hi, &b.hi),
                (&a.ln_p, &b.ln_p),
            ] {
                assert_eq!(bits(column.0), bits(column.1));
            }
            assert_eq!(bits(&a.phase), bits(&b.phase));
            newton_values(&c, &a, &mut generic);
            #[cfg(target_arch = "x86_64")]
            unsafe {
                newton_values_avx512(&c, &b, &mut wide)
            };
            assert_eq!(bits(&generic), bits(&wide));
        }
    }

    #[test]
    fn newton_needs_few_evaluations() {
        let shares = SectorShares::new(0.16);
        let mut solves = 0;
        EVALS.with(|c| c.set(0));
        for i in 0..1000 {
            let f = i as f64 / 1000.0;
            let e = el(1.5 + 6.0 * f, 0.3 + 2.0 * (1.0 - f), 0.5 + 8.0 * f);
            solve_log_price(
                (1.10 + 0.3 * f).ln(),
                (1.0 + 0.2 * (1.0 - f)).ln(),
                &shares,
                &e,
            );
            solves += 1;
        }
        let evals = EVALS.with(|c| c.get()) as f64 / solves as f64;
        // f(0) plus the Newton steps: quadratic convergence from a good start.
        assert!(evals <= 3.5, "{evals} evaluations per solve");
    }

    fn el(sigma: f64, epsilon: f64, eta: f64) -> Elasticities {
        Elasticities {
            sigma,
            epsilon,
            eta,
        }
    }

    #[test]
    fn residual_is_zero_at_the_solution() {
        let shares = SectorShares::new(0.3);
        for &(s, e, h) in &[
            (4.0, 1.0, 2.0),
            (0.5, 3.0, 0.2),
            (1.0, 1.0, 5.0),
            (8.0, 0.0, 0.05),
        ] {
            let (lt, lc) = ((1.25f64).ln(), (1.10f64).ln());
            let x = solve_log_price(lt, lc, &shares, &el(s, e, h));
            let (lp, _) = ln_price_index(x, lt, lc, &shares, s);
            let f = (h + s) * x + s * lt + (e - s) * lp;
            // |x − x*| ≤ |f|/m_lo with m_lo = η + min(σ, ε).
            assert!(
                f.abs() / (h + s.min(e)) <= PRICE_TOLERANCE,
                "f = {f} for σ={s} ε={e} η={h}"
            );
        }
    }
}
