//! Student-t quantiles: closed forms for df = 1, 2, 4 (Hill 1970, "Algorithm 396"; Shaw
//! 2006, "Sampling Student's T distribution — use of the inverse cumulative distribution
//! function", J. Comp. Finance 9(4)), a tabulated inverse for every other df.

use super::beta_table::BetaQuantile;
use std::f64::consts::PI;

/// Quantile of the standard Student-t (loc 0, scale 1).
#[derive(Debug, Clone)]
pub(crate) enum StudentQuantile {
    /// Cauchy.
    Df1,
    /// df = 2.
    Df2,
    /// df = 4.
    Df4,
    /// Any other df: with p = min(u, 1 − u), |t|² = df (1 − x)/x where x is the
    /// Beta(df/2, ½) quantile at 2p (the usual incomplete-beta form of the t CDF), so
    /// |t| = √df · e^{−y/2} with y = logit x from the table, relative accuracy carried over.
    Table { sqrt_df: f64, q: Box<BetaQuantile> },
}

impl StudentQuantile {
    /// Choose the closed form or build the table for this df (> 0).
    pub(crate) fn new(df: f64) -> StudentQuantile {
        if df == 1.0 {
            StudentQuantile::Df1
        } else if df == 2.0 {
            StudentQuantile::Df2
        } else if df == 4.0 {
            StudentQuantile::Df4
        } else {
            StudentQuantile::Table {
                sqrt_df: df.sqrt(),
                q: Box::new(BetaQuantile::new(0.5 * df, 0.5)),
            }
        }
    }

    /// t quantile at u ∈ (0, 1).
    #[inline]
    pub(crate) fn quantile(&self, u: f64) -> f64 {
        // Work with the smaller tail p ≤ ½ (1 − u is exact for u ≥ ½) and restore the sign:
        // the distribution is symmetric and every form below is accurate relative to |t|.
        let (p, sign) = if u < 0.5 { (u, -1.0) } else { (1.0 - u, 1.0) };
        let magnitude = match self {
            StudentQuantile::Df1 => {
                // |t| = cot(πp); near p = ½ use tan(π(½ − p)) with ½ − p exact, so t → 0
                // keeps its relative digits.
                if p < 0.25 {
                    1.0 / (PI * p).tan()
                } else {
                    (PI * (0.5 - p)).tan()
                }
            }
            StudentQuantile::Df2 => (1.0 - 2.0 * p) / (2.0 * p * (1.0 - p)).sqrt(),
            StudentQuantile::Df4 => {
                // Shaw (2006): with α = 4p(1 − p), q = cos(acos(√α)/3)/√α, |t| = 2√(q − 1).
                // With θ = acos √α = atan2(1 − 2p, 2√(p(1 − p))), c = cos θ and φ = θ/3,
                // q − 1 = (cos φ − cos 3φ)/c = 4 sin²φ cos φ / c, so |t| = 4 sin φ √(cos φ / c):
                // no cancellation near p = ½ (θ → 0) nor in acos near 1.
                let c = 2.0 * (p * (1.0 - p)).sqrt();
                // θ ∈ [0, π/2), so atan of the (positive) ratio is enough, and φ ≤ π/6 gives
                // cos φ ≥ 0.86 from sin φ without cancellation: one trig call instead of two.
                let sin_phi = (((1.0 - 2.0 * p) / c).atan() / 3.0).sin();
                let cos_phi = (1.0 - sin_phi * sin_phi).sqrt();
                4.0 * sin_phi * (cos_phi / c).sqrt()
            }
            StudentQuantile::Table { sqrt_df, q } => sqrt_df * (-0.5 * q.logit(2.0 * p)).exp(),
        };
        sign * magnitude
    }
}
