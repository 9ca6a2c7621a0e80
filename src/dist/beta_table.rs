//! Tabulated inverse of the regularized incomplete beta function, built once per
//! distribution, so that Beta, PERT and Student-t quantiles cost a table look-up instead of a
//! per-draw root solve (~2 µs, CRATES.md "Lessons").
//!
//! Coordinates. The quantile x of Beta(a, b) is stored as its logit y = ln(x/(1 − x)): an
//! absolute error δ in y is a relative error ≤ δ in both x and 1 − x, so both ends keep their
//! digits. The lower half u ≤ ½ is tabulated against t = sqrt(−ln 2u) ∈ [0, T]; in the tail
//! y ≈ (ln u + ln(a B(a, b)))/a is a quadratic in t, which the interpolant reproduces, and at
//! u = ½ y is analytic in t. The upper half is the lower half of Beta(b, a), negated.
//!
//! Interpolation. Quintic Hermite on a uniform t grid (values, first and second derivatives
//! from the density, so each node costs one root solve). The grid is doubled until the
//! interpolant agrees with an exact solve at every interval midpoint to 1e-12 in y (the
//! spec asks 1e-9 relative in x); if that takes more than `MAX_INTERVALS`, each query is
//! refined by Newton on the exact CDF instead.

use super::special::{ln_beta, ln_inc_beta, softplus};

/// Smallest tail probability tabulated: below the 2⁻⁵³ floor that `Distribution::quantile`
/// clamps to (Student-t queries 2u, hence the margin).
const P_MIN: f64 = 1.0 / 18_014_398_509_481_984.0; // 2⁻⁵⁴
/// Grid sizes tried, doubling from the first.
const MIN_INTERVALS: usize = 8;
/// Beyond this the table is kept as a starting point and each query is Newton-refined.
const MAX_INTERVALS: usize = 4096;
/// Required agreement at midpoints, absolute in y (≈ relative in x and 1 − x).
const TOL: f64 = 1e-12;

/// One half (u ≤ ½) of a tabulated Beta(a, b) quantile in logit coordinates.
#[derive(Debug, Clone)]
pub(crate) struct HalfTable {
    a: f64,
    b: f64,
    ln_b: f64,
    /// T = sqrt(−ln 2 P_MIN), end of the grid.
    t_max: f64,
    /// Intervals per unit t.
    inv_h: f64,
    /// Six polynomial coefficients per interval in the local variable τ ∈ [0, 1].
    coef: Box<[f64]>,
    /// The table missed `TOL`; refine every query by Newton on the exact CDF.
    refine: bool,
}

/// A node: y and its first two derivatives with respect to t.
#[derive(Debug, Clone, Copy)]
struct Node {
    y: f64,
    dy: f64,
    d2y: f64,
}

/// ln x and ln(1 − x) for x = 1/(1 + e^−y).
#[inline]
fn logit_logs(y: f64) -> (f64, f64) {
    (-softplus(-y), -softplus(y))
}

/// Solve ln I_x(a, b) = ln_p for y = logit(x) by safeguarded Newton; `y0` is the start.
///
/// ln I is increasing in y and nearly linear in both tails (slope a on the left), so Newton
/// converges in a few steps; a bracket is kept and bisection takes over if a step leaves it.
fn solve_logit(a: f64, b: f64, ln_b: f64, ln_p: f64, y0: f64, max_iter: usize) -> f64 {
    if ln_p == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if ln_p >= 0.0 {
        return f64::INFINITY;
    }
    let mut lo = f64::NEG_INFINITY;
    let mut hi = f64::INFINITY;
    let mut y = if y0.is_finite() { y0 } else { 0.0 };
    for _ in 0..max_iter {
        let (ln_x, ln_1mx) = logit_logs(y);
        let (ln_i, _) = ln_inc_beta(a, b, ln_b, ln_x, ln_1mx);
        let g = ln_i - ln_p;
        if g == 0.0 {
            return y;
        }
        if g < 0.0 {
            lo = y;
        } else {
            hi = y;
        }
        // d ln I / dy = x^a (1 − x)^b / (B(a, b) I).
        let dg = (a * ln_x + b * ln_1mx - ln_b - ln_i).exp();
        let mut next = y - g / dg;
        if !(next > lo && next < hi) {
            next = if lo.is_finite() && hi.is_finite() {
                0.5 * (lo + hi)
            } else if lo.is_finite() {
                y + y.abs().max(1.0)
            } else {
                y - y.abs().max(1.0)
            };
        }
        if (next - y).abs() <= 1e-15 * y.abs().max(1.0) || next == lo || next == hi {
            return next;
        }
        y = next;
    }
    y
}

impl HalfTable {
    /// Build the table of Beta(a, b) for u ∈ [P_MIN, ½].
    pub(crate) fn new(a: f64, b: f64) -> HalfTable {
        let ln_b = ln_beta(a, b);
        let t_max = (-(2.0 * P_MIN).ln()).sqrt();
        let mut n = MIN_INTERVALS;
        // Start at the logit of the mean; later nodes start from their neighbour.
        let mut nodes = Vec::with_capacity(n + 1);
        let mut y_prev = (a / b).ln();
        for i in 0..=n {
            let node = Self::node(a, b, ln_b, t_max * i as f64 / n as f64, y_prev);
            y_prev = node.y;
            nodes.push(node);
        }
        loop {
            let h = t_max / n as f64;
            let coef = Self::coefficients(&nodes, h);
            let mut mids = Vec::with_capacity(n);
            let mut pass = nodes.iter().all(|m| m.y.is_finite());
            for i in 0..n {
                let guess = horner(&coef[6 * i..6 * i + 6], 0.5);
                let mid = Self::node(a, b, ln_b, (i as f64 + 0.5) * h, guess);
                // Relative slack for |y| ≫ 1, where x or 1 − x is far below 1e-300 anyway.
                let tol_here = TOL.max(1e-14 * mid.y.abs());
                pass &= (mid.y - guess).abs() <= tol_here;
                mids.push(mid);
            }
            if pass || n >= MAX_INTERVALS {
                return HalfTable {
                    a,
                    b,
                    ln_b,
                    t_max,
                    inv_h: n as f64 / t_max,
                    coef: coef.into_boxed_slice(),
                    refine: !pass,
                };
            }
            let mut merged = Vec::with_capacity(2 * n + 1);
            for i in 0..n {
                merged.push(nodes[i]);
                merged.push(mids[i]);
            }
            merged.push(nodes[n]);
            nodes = merged;
            n *= 2;
        }
    }

    /// Exact node at grid coordinate t, with dy/dt and d²y/dt² from the density.
    fn node(a: f64, b: f64, ln_b: f64, t: f64, y0: f64) -> Node {
        // u = e^{−t²}/2.
        let ln_p = -t * t - std::f64::consts::LN_2;
        let y = solve_logit(a, b, ln_b, ln_p, y0, 200);
        let (ln_x, ln_1mx) = logit_logs(y);
        // g = du/dy = x^a (1 − x)^b / B(a, b); w = u/g = u dy/du.
        let ln_g = a * ln_x + b * ln_1mx - ln_b;
        let w = (ln_p - ln_g).exp();
        // d ln g / dy = a (1 − x) − b x.
        let dlng = a * ln_1mx.exp() - b * ln_x.exp();
        let t2 = 4.0 * t * t;
        Node {
            y,
            dy: -2.0 * t * w,
            d2y: -dlng * w * w * t2 + w * (t2 - 2.0),
        }
    }

    /// Quintic Hermite coefficients per interval, in τ = (t − tᵢ)/h.
    fn coefficients(nodes: &[Node], h: f64) -> Vec<f64> {
        let mut coef = Vec::with_capacity(6 * (nodes.len() - 1));
        for w in nodes.windows(2) {
            let (n0, n1) = (w[0], w[1]);
            let (f0, d0, e0) = (n0.y, h * n0.dy, h * h * n0.d2y);
            let (f1, d1, e1) = (n1.y, h * n1.dy, h * h * n1.d2y);
            let big_a = f1 - f0 - d0 - 0.5 * e0;
            let big_b = d1 - d0 - e0;
            let big_c = e1 - e0;
            coef.extend_from_slice(&[
                f0,
                d0,
                0.5 * e0,
                10.0 * big_a - 4.0 * big_b + 0.5 * big_c,
                -15.0 * big_a + 7.0 * big_b - big_c,
                6.0 * big_a - 3.0 * big_b + 0.5 * big_c,
            ]);
        }
        coef
    }

    /// y = logit of the Beta(a, b) quantile at tail probability p ∈ (0, ½].
    #[inline]
    pub(crate) fn eval(&self, p: f64) -> f64 {
        if p.is_nan() || p <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let t = (-(2.0 * p).ln()).max(0.0).sqrt();
        if t > self.t_max {
            // Below P_MIN (not reached through `Distribution::quantile`): solve exactly.
            let y0 = (p.ln() + self.a.ln() + self.ln_b) / self.a;
            return solve_logit(self.a, self.b, self.ln_b, p.ln(), y0, 200);
        }
        let pos = t * self.inv_h;
        let n = self.coef.len() / 6;
        let i = (pos as usize).min(n - 1);
        let tau = pos - i as f64;
        let y = horner(&self.coef[6 * i..6 * i + 6], tau);
        if self.refine {
            return solve_logit(self.a, self.b, self.ln_b, p.ln(), y, 50);
        }
        y
    }

    /// Number of intervals (for diagnostics and tests).
    #[cfg(test)]
    pub(crate) fn intervals(&self) -> usize {
        self.coef.len() / 6
    }
}

/// c₀ + c₁τ + … + c₅τ⁵.
#[inline]
fn horner(c: &[f64], tau: f64) -> f64 {
    c[0] + tau * (c[1] + tau * (c[2] + tau * (c[3] + tau * (c[4] + tau * c[5]))))
}

/// The full Beta(a, b) quantile in logit form: two half tables.
#[derive(Debug, Clone)]
pub(crate) struct BetaQuantile {
    lower: HalfTable,
    upper: HalfTable,
}

impl BetaQuantile {
    /// Build both halves (a few hundred root solves; well under a millisecond typically).
    pub(crate) fn new(a: f64, b: f64) -> BetaQuantile {
        BetaQuantile {
            lower: HalfTable::new(a, b),
            upper: HalfTable::new(b, a),
        }
    }

    /// logit of the quantile at u ∈ (0, 1); −∞ at u = 0 and +∞ at u = 1.
    #[inline]
    pub(crate) fn logit(&self, u: f64) -> f64 {
        if u < 0.5 {
            self.lower.eval(u)
        } else {
            // 1 − u is exact for u ≥ ½.
            -self.upper.eval(1.0 - u)
        }
    }

    /// Whether either half fell back to per-query Newton refinement.
    #[cfg(test)]
    pub(crate) fn refined(&self) -> bool {
        self.lower.refine || self.upper.refine
    }

    /// Total intervals in both halves.
    #[cfg(test)]
    pub(crate) fn intervals(&self) -> usize {
        self.lower.intervals() + self.upper.intervals()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_meet_tolerance_without_refinement() {
        for (a, b) in [
            (2.333, 3.667),
            (0.3, 0.5),
            (50.0, 2.0),
            (0.3, 50.0),
            (1.0, 1.0),
            (1.5, 0.5),
            (15.0, 0.5),
            (0.35, 0.5),
        ] {
            let q = BetaQuantile::new(a, b);
            println!("Beta({a}, {b}): {} intervals", q.intervals());
            assert!(!q.refined(), "Beta({a}, {b}) needed refinement");
        }
    }

    #[test]
    fn extreme_shapes_stay_finite_and_monotone() {
        for (a, b) in [
            (1e-3, 1e-3),
            (1e-2, 1e4),
            (1e3, 1e3),
            (5e5, 0.5),
            (0.5, 5e5),
            (1e-3, 2.0),
        ] {
            let q = BetaQuantile::new(a, b);
            let mut prev = f64::NEG_INFINITY;
            for i in 1..2000 {
                let u = i as f64 / 2000.0;
                let y = q.logit(u);
                assert!(
                    !y.is_nan() && y >= prev,
                    "Beta({a}, {b}) at {u}: {y} after {prev}"
                );
                prev = y;
            }
            // Against the exact CDF at a few points: ln I_x(a, b) = ln u.
            for &u in &[1e-9, 0.3, 0.5, 0.9] {
                let y = q.logit(u);
                let (ln_x, ln_1mx) = logit_logs(y);
                if ln_x < -700.0 {
                    continue; // x underflows; nothing to compare
                }
                let (ln_i, ln_c) = ln_inc_beta(a, b, ln_beta(a, b), ln_x, ln_1mx);
                let err = if u < 0.5 {
                    ln_i - u.ln()
                } else {
                    ln_c - (1.0 - u).ln()
                };
                assert!(
                    err.abs() < 1e-9,
                    "Beta({a}, {b}) at {u}: ln-CDF error {err}"
                );
            }
        }
    }
}
