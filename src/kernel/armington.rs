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
#[inline(always)]
fn ln_price_index(x: f64, ln_t: f64, ln_c: f64, shares: &SectorShares, sigma: f64) -> (f64, f64) {
    if (sigma - 1.0).abs() < UNIT_SIGMA_TOLERANCE {
        let ln_p = shares.theta * (x + ln_t) + (1.0 - shares.theta) * ln_c;
        return (ln_p, shares.theta);
    }
    let one_minus_sigma = 1.0 - sigma;
    // Log-sum-exp: the two CES terms in logs, so that large σ·ln T cannot overflow.
    let a = shares.ln_theta + one_minus_sigma * (x + ln_t);
    let b = shares.ln_rest + one_minus_sigma * ln_c;
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    let tail = (lo - hi).exp();
    let sum = 1.0 + tail;
    let ln_p = (hi + sum.ln()) / one_minus_sigma;
    let w = if a >= b { 1.0 / sum } else { tail / sum };
    (ln_p, w)
}

/// Export value relative to baseline, V = p·Q, at x = ln p with price index ln P.
#[inline]
fn export_value_at(x: f64, ln_t: f64, ln_p: f64, e: &Elasticities) -> f64 {
    let ln_q = -e.sigma * (x + ln_t - ln_p) - e.epsilon * ln_p;
    (x + ln_q).exp()
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
    let sigma = e.sigma.max(ELASTICITY_FLOOR);
    let eta = e.eta.max(ELASTICITY_FLOOR);
    // f, f' and ln P at x (MODEL.md §2); inlined so that the solve is one tight loop.
    #[inline(always)]
    fn residual(
        x: f64,
        ln_t: f64,
        ln_c: f64,
        shares: &SectorShares,
        sigma: f64,
        epsilon: f64,
        eta: f64,
    ) -> (f64, f64, f64) {
        let (ln_p, w) = ln_price_index(x, ln_t, ln_c, shares, sigma);
        (
            (eta + sigma) * x + sigma * ln_t + (epsilon - sigma) * ln_p,
            eta + sigma + (epsilon - sigma) * w,
            ln_p,
        )
    }
    let f = |x: f64| residual(x, ln_t, ln_c, shares, sigma, e.epsilon, eta);
    let m_lo = eta + sigma.min(e.epsilon);
    let m_hi = eta + sigma.max(e.epsilon);
    let (f0, d0, ln_p0) = f(0.0);
    if f0 == 0.0 {
        return (0.0, ln_p0);
    }
    let (mut lo, mut hi) = if f0 > 0.0 {
        (-f0 / m_lo, -f0 / m_hi)
    } else {
        (-f0 / m_hi, -f0 / m_lo)
    };
    let stop = PRICE_TOLERANCE * m_lo;
    let mut x = (-f0 / d0).clamp(lo, hi);
    for _ in 0..200 {
        #[cfg(test)]
        EVALS.with(|c| c.set(c.get() + 1));
        let (fx, dx, ln_p) = f(x);
        if fx.abs() <= stop {
            return (x, ln_p);
        }
        if fx > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let newton = x - fx / dx;
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        // Steps below the spacing of doubles near x: the root is found to machine precision.
        if (next - x).abs() <= f64::EPSILON * x.abs().max(f64::MIN_POSITIVE)
            || hi - lo <= PRICE_TOLERANCE * 1e-3
        {
            return (next, ln_price_index(next, ln_t, ln_c, shares, sigma).0);
        }
        x = next;
    }
    (x, ln_price_index(x, ln_t, ln_c, shares, sigma).0)
}

/// Export value V relative to baseline in a regime with ln T = `ln_t`, ln C = `ln_c` (MODEL.md §2).
#[inline]
pub fn export_value(ln_t: f64, ln_c: f64, shares: &SectorShares, e: &Elasticities) -> f64 {
    let (x, ln_p) = solve(ln_t, ln_c, shares, e);
    export_value_at(x, ln_t, ln_p, e)
}

#[cfg(test)]
thread_local! {
    static EVALS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

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
