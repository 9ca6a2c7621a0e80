//! Distributions of MODEL.md §6, each an immutable quantile function u → x.
//!
//! A [`Distribution`] is validated once ([`Distribution::from_toml`]) and then only evaluated
//! through [`Distribution::quantile`], so the same code serves Monte Carlo, Latin hypercube,
//! quasi-Monte Carlo and the Gaussian copula. Everything a quantile needs (constants, the
//! tabulated Beta and Student-t inverses) is computed at construction; `quantile` does not
//! allocate and never panics.
//!
//! ```
//! use tariffsim::dist::Distribution;
//! let v: toml::Value = toml::from_str::<toml::Table>("x = { dist = \"pert\", low = 1, mode = 2, high = 4 }")
//!     .unwrap()["x"].clone();
//! let d = Distribution::from_toml(&v).unwrap();
//! assert_eq!(d.describe(), "pert(low = 1, mode = 2, high = 4, lambda = 4)");
//! let median = d.quantile(0.5);
//! assert!(median > 1.0 && median < 4.0);
//! ```
//!
//! Accuracy (MODEL.md §6): every quantile agrees with mpmath at 50 digits to 1e-9 relative
//! (or 1e-12 absolute near 0) on u ∈ [1e-9, 1 − 1e-9]; `tests/sampling/dist_accuracy.rs` checks the
//! fixtures in `tests/fixtures/quantiles/`.

mod beta_table;
mod binade_grid;
mod normal;
mod parse;
pub use parse::{BETA_SHAPE, MAX_MAGNITUDE, MAX_PERT_LAMBDA, MAX_SD_LOG, STUDENT_DF};
mod special;
mod student;

#[cfg(target_arch = "x86_64")]
pub(crate) use normal::avx2 as normal_avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) use normal::avx512 as normal_avx512;
pub(crate) use normal::standard_normal_cdf_central_or_nan;
pub use normal::{
    standard_normal_cdf, standard_normal_cdf_column, standard_normal_quantile,
    standard_normal_quantile_column,
};

use beta_table::BetaQuantile;
use binade_grid::BinadeGrid;
pub use binade_grid::LocatedPoints;
use normal::{standard_normal_isf, standard_normal_pdf, standard_normal_sf};

/// The kinds accepted in `dist = "..."`, in the order of MODEL.md §6.
pub const KINDS: [&str; 10] = [
    "point",
    "uniform",
    "triangular",
    "pert",
    "normal",
    "truncated_normal",
    "lognormal",
    "beta",
    "student_t",
    "discrete",
];

/// Smallest u a quantile is evaluated at: 2⁻⁵³, the spacing of doubles just below 1, so
/// that both tails are clamped symmetrically (u and 1 − u are both representable).
pub const U_MIN: f64 = 1.0 / 9_007_199_254_740_992.0;

/// Why a distribution was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DistError {
    /// The key inside the inline table at fault (e.g. "sd", "dist", "weights"), None when the
    /// whole value is at fault (e.g. a string or a boolean where a distribution was expected).
    pub key: Option<String>,
    /// The rule broken and what is accepted, one line.
    pub message: String,
}

impl DistError {
    /// An error attributed to one key of the inline table.
    pub(crate) fn at(key: &str, message: String) -> DistError {
        DistError {
            key: Some(key.to_string()),
            message,
        }
    }
}

/// The parameters as written in the model file (after defaults), used for equality and
/// descriptions.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Point {
        value: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    Triangular {
        low: f64,
        mode: f64,
        high: f64,
    },
    Pert {
        low: f64,
        mode: f64,
        high: f64,
        lambda: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    TruncatedNormal {
        mean: f64,
        sd: f64,
        low: f64,
        high: f64,
    },
    Lognormal {
        median: f64,
        sd_log: f64,
    },
    Beta {
        alpha: f64,
        beta: f64,
        low: f64,
        high: f64,
    },
    StudentT {
        df: f64,
        loc: f64,
        scale: f64,
    },
    Discrete {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
}

/// Precomputed evaluation form of each kind.
#[derive(Debug, Clone)]
enum Imp {
    Point(f64),
    Uniform {
        low: f64,
        high: f64,
        width: f64,
    },
    Triangular {
        low: f64,
        high: f64,
        /// F(mode) = (mode − low)/(high − low).
        f_mode: f64,
        /// high − low, mode − low, high − mode.
        width: f64,
        left: f64,
        right: f64,
    },
    /// Beta(a, b) on [low, high]; also PERT.
    ScaledBeta {
        q: Box<BetaQuantile>,
        low: f64,
        high: f64,
        width: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    TruncatedNormal {
        mean: f64,
        sd: f64,
        low: f64,
        high: f64,
        /// Φ(α), 1 − Φ(β) and Φ(β) − Φ(α), each with full relative accuracy.
        below: f64,
        above: f64,
        mass: f64,
    },
    Lognormal {
        median: f64,
        sd_log: f64,
    },
    StudentT {
        q: student::StudentQuantile,
        loc: f64,
        scale: f64,
    },
    Discrete {
        values: Box<[f64]>,
        /// Normalised cumulative weights in file order; the last is exactly 1.
        cumulative: Box<[f64]>,
    },
}

/// A validated distribution of MODEL.md §6; immutable; sampled only through its quantile
/// function.
#[derive(Debug, Clone)]
pub struct Distribution {
    spec: Spec,
    imp: Imp,
    /// Verified fast path on u ∈ [2⁻¹⁶, 1 − 2⁻¹⁶] (see `binade_grid`).
    fast: Option<Box<BinadeGrid>>,
}

/// Equality of the parameters (the precomputed tables follow from them).
impl PartialEq for Distribution {
    fn eq(&self, other: &Distribution) -> bool {
        self.spec == other.spec
    }
}

impl Distribution {
    /// A point mass. It cannot fail: any value is one, ±∞ included (`eta = "inf"` of a
    /// model file is the point mass at +∞).
    pub fn point(value: f64) -> Distribution {
        Distribution {
            spec: Spec::Point { value },
            imp: Imp::Point(value),
            fast: None,
        }
    }

    /// A PERT distribution on [low, high] with the given mode and the usual λ = 4: the rules
    /// of `dist = "pert"` in a model file apply (finite numbers, low < high, low ≤ mode ≤ high),
    /// and a broken one gives the same message.
    pub fn pert(low: f64, mode: f64, high: f64) -> Result<Distribution, DistError> {
        Distribution::pert_lambda(low, mode, high, 4.0)
    }

    /// A PERT distribution with shape λ (> 0; λ = 4 is [`Distribution::pert`]).
    pub fn pert_lambda(
        low: f64,
        mode: f64,
        high: f64,
        lambda: f64,
    ) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::pert(
            f("low", low)?,
            f("mode", mode)?,
            f("high", high)?,
            f("lambda", lambda)?,
        )
    }

    /// A normal distribution (sd > 0).
    pub fn normal(mean: f64, sd: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::normal(f("mean", mean)?, f("sd", sd)?)
    }

    /// A lognormal distribution given its median (> 0) and the sd of its log (> 0).
    pub fn lognormal(median: f64, sd_log: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::lognormal(f("median", median)?, f("sd_log", sd_log)?)
    }

    /// A uniform distribution on [low, high] (low < high).
    pub fn uniform(low: f64, high: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::uniform(f("low", low)?, f("high", high)?)
    }

    /// A triangular distribution on [low, high] with the given mode.
    pub fn triangular(low: f64, mode: f64, high: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::triangular(f("low", low)?, f("mode", mode)?, f("high", high)?)
    }

    /// A Beta(α, β) distribution on [0, 1] (α, β > 0).
    pub fn beta(alpha: f64, beta: f64) -> Result<Distribution, DistError> {
        Distribution::beta_on(alpha, beta, 0.0, 1.0)
    }

    /// A Beta(α, β) distribution scaled to [low, high].
    pub fn beta_on(alpha: f64, beta: f64, low: f64, high: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::beta(
            f("alpha", alpha)?,
            f("beta", beta)?,
            f("low", low)?,
            f("high", high)?,
        )
    }

    /// A Student-t distribution with `df` degrees of freedom (> 0), location and scale (> 0).
    pub fn student_t(df: f64, loc: f64, scale: f64) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::student_t(f("df", df)?, f("loc", loc)?, f("scale", scale)?)
    }

    /// A normal distribution (sd > 0) truncated to [low, high], which must hold some of its mass.
    pub fn truncated_normal(
        mean: f64,
        sd: f64,
        low: f64,
        high: f64,
    ) -> Result<Distribution, DistError> {
        let f = |k: &str, x: f64| parse::finite(k, k, x);
        parse::truncated_normal(
            f("mean", mean)?,
            f("sd", sd)?,
            f("low", low)?,
            f("high", high)?,
        )
    }

    /// A discrete distribution: `values[i]` with probability `weights[i] / Σ weights` (one
    /// weight per value, all ≥ 0, not all 0; finite numbers).
    pub fn discrete(values: &[f64], weights: &[f64]) -> Result<Distribution, DistError> {
        let all = |key: &str, xs: &[f64]| -> Result<Vec<f64>, DistError> {
            xs.iter()
                .enumerate()
                .map(|(i, &x)| parse::finite(key, &format!("{key}[{i}]"), x))
                .collect()
        };
        parse::discrete_checked(all("values", values)?, all("weights", weights)?)
    }

    /// Parse a model-file value: a TOML number (integer or float → point mass) or an inline
    /// table with `dist = "<kind>"` and that kind's keys (MODEL.md §6 table).
    pub fn from_toml(value: &toml::Value) -> Result<Distribution, DistError> {
        parse::parse(value)
    }

    /// Build from already-validated parameters, precomputing what the quantile needs; the
    /// only check left here is the truncated normal's representable mass.
    fn build(spec: Spec) -> Result<Distribution, DistError> {
        let imp = match &spec {
            &Spec::Point { value } => Imp::Point(value),
            &Spec::Uniform { low, high } => Imp::Uniform {
                low,
                high,
                width: high - low,
            },
            &Spec::Triangular { low, mode, high } => Imp::Triangular {
                low,
                high,
                f_mode: (mode - low) / (high - low),
                width: high - low,
                left: mode - low,
                right: high - mode,
            },
            &Spec::Pert {
                low,
                mode,
                high,
                lambda,
            } => {
                let width = high - low;
                let a = 1.0 + lambda * (mode - low) / width;
                let b = 1.0 + lambda * (high - mode) / width;
                Imp::ScaledBeta {
                    q: Box::new(BetaQuantile::new(a, b)),
                    low,
                    high,
                    width,
                }
            }
            &Spec::Beta {
                alpha,
                beta,
                low,
                high,
            } => Imp::ScaledBeta {
                q: Box::new(BetaQuantile::new(alpha, beta)),
                low,
                high,
                width: high - low,
            },
            &Spec::Normal { mean, sd } => Imp::Normal { mean, sd },
            &Spec::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            } => truncated_normal(mean, sd, low, high)?,
            &Spec::Lognormal { median, sd_log } => Imp::Lognormal { median, sd_log },
            &Spec::StudentT { df, loc, scale } => Imp::StudentT {
                q: student::StudentQuantile::new(df),
                loc,
                scale,
            },
            Spec::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let mut cumulative: Vec<f64> = weights
                    .iter()
                    .map(|w| {
                        acc += w;
                        acc / total
                    })
                    .collect();
                // Rounding may leave the sum at 1 − ε; the last value must catch every u ≤ 1.
                if let Some(last) = cumulative.last_mut() {
                    *last = 1.0;
                }
                Imp::Discrete {
                    values: values.clone().into_boxed_slice(),
                    cumulative: cumulative.into_boxed_slice(),
                }
            }
        };
        let mut dist = Distribution {
            spec,
            imp,
            fast: None,
        };
        let slow = matches!(
            dist.imp,
            Imp::ScaledBeta { .. }
                | Imp::StudentT { .. }
                | Imp::Lognormal { .. }
                | Imp::Normal { .. }
                | Imp::TruncatedNormal { .. }
        );
        if slow {
            dist.fast = BinadeGrid::build(|u| dist.exact_quantile(u)).map(Box::new);
        }
        Ok(dist)
    }

    /// The quantile function F⁻¹(u) for u in the open interval (0, 1).
    ///
    /// Out-of-range input is clamped, never rejected: u is first clamped to
    /// [`U_MIN`, 1 − `U_MIN`] (2⁻⁵³, symmetric in both tails), and NaN is read as ½ (the
    /// median). So `quantile(0.0)` is a finite extreme value for every kind except a
    /// Student-t with tiny df, whose 2⁻⁵³ quantile may overflow to ±∞.
    ///
    /// Discrete: the first value in file order whose cumulative normalised weight is ≥ u;
    /// the result is always exactly one of the listed values.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        if let Some(x) = self.fast.as_ref().and_then(|g| g.get(u)) {
            return x;
        }
        self.exact_quantile(u)
    }

    /// [`Distribution::quantile`] of a column of points: `out[d]` = F⁻¹(`points[d·stride]`),
    /// the same bits as `quantile`, faster over a block (the fast path's polynomials run four
    /// points at a time). `located` is scratch, grown once and reused.
    pub fn quantile_column(
        &self,
        points: &[f64],
        stride: usize,
        out: &mut [f64],
        located: &mut LocatedPoints,
    ) {
        if self.fast.is_some() {
            located.locate_strided(points, stride, out.len());
        }
        self.quantile_located(located, 0, 1, points, stride, out);
    }

    /// [`Distribution::quantile_column`] of points already located: `out[d]` = F⁻¹(u_d) where
    /// u_d = `points[d·stride]` was located at `located[offset + d·located_stride]` (the
    /// engine locates a whole block once for all its parameters).
    pub fn quantile_located(
        &self,
        located: &LocatedPoints,
        offset: usize,
        located_stride: usize,
        points: &[f64],
        stride: usize,
        out: &mut [f64],
    ) {
        let Some(grid) = self.fast.as_ref() else {
            for (d, x) in out.iter_mut().enumerate() {
                *x = self.exact_quantile(points[d * stride]);
            }
            return;
        };
        grid.column(located, offset, located_stride, out);
        // NaN marks the points the grid does not serve (see `LocatedPoints`).
        if grid.has_failed_intervals() || out.iter().any(|x| x.is_nan()) {
            for (d, x) in out.iter_mut().enumerate() {
                if x.is_nan() {
                    *x = self.exact_quantile(points[d * stride]);
                }
            }
        }
    }

    /// The quantile function without the fast path.
    fn exact_quantile(&self, u: f64) -> f64 {
        let u = if u.is_nan() {
            0.5
        } else {
            u.clamp(U_MIN, 1.0 - U_MIN)
        };
        match &self.imp {
            &Imp::Point(v) => v,
            &Imp::Uniform { low, high, width } => {
                // From the nearer end (1 − u is exact for u ≥ ½), so a quantile near an end
                // at 0 keeps its relative digits.
                if u < 0.5 {
                    low + width * u
                } else {
                    high - width * (1.0 - u)
                }
            }
            &Imp::Triangular {
                low,
                high,
                f_mode,
                width,
                left,
                right,
            } => {
                // x − low = √(u w (m − l)) below the mode, high − x = √((1 − u) w (h − m))
                // above. When the other end is nearer, measure from it instead, using
                // w − e = w((h − m) + (1 − u)(m − l))/(w + e) (and the mirror), which has no
                // cancellation: e.g. mode = low = 0 and u = 1e-9 keep full relative accuracy.
                if u < f_mode {
                    let e = (u * width * left).sqrt();
                    if e <= 0.5 * width {
                        low + e
                    } else {
                        high - width * (right + (1.0 - u) * left) / (width + e)
                    }
                } else {
                    let d = ((1.0 - u) * width * right).sqrt();
                    if d <= 0.5 * width {
                        high - d
                    } else {
                        low + width * (left + u * right) / (width + d)
                    }
                }
            }
            Imp::ScaledBeta {
                q,
                low,
                high,
                width,
            } => {
                let y = q.logit(u);
                // Measure from the nearer end so that x or 1 − x keeps its relative digits.
                let x = if y < 0.0 {
                    low + width / (1.0 + (-y).exp())
                } else {
                    high - width / (1.0 + y.exp())
                };
                x.clamp(*low, *high)
            }
            &Imp::Normal { mean, sd } => mean + sd * standard_normal_quantile(u),
            &Imp::TruncatedNormal {
                mean,
                sd,
                low,
                high,
                below,
                above,
                mass,
            } => {
                // Probability below and above the answer; invert whichever is smaller so a
                // far-tail interval keeps full relative accuracy (no 1 − tiny).
                let p_below = below + u * mass;
                let p_above = above + (1.0 - u) * mass;
                let z = if p_below <= p_above {
                    standard_normal_quantile(p_below)
                } else {
                    standard_normal_isf(p_above)
                };
                (mean + sd * z).clamp(low, high)
            }
            &Imp::Lognormal { median, sd_log } => {
                median * (sd_log * standard_normal_quantile(u)).exp()
            }
            Imp::StudentT { q, loc, scale } => loc + scale * q.quantile(u),
            Imp::Discrete { values, cumulative } => {
                let i = cumulative.partition_point(|&c| c < u);
                values[i.min(values.len() - 1)]
            }
        }
    }

    /// Lower and upper end of the support's closed hull (may be ±∞).
    pub fn support(&self) -> (f64, f64) {
        match &self.spec {
            &Spec::Point { value } => (value, value),
            &Spec::Uniform { low, high }
            | &Spec::Triangular { low, high, .. }
            | &Spec::Pert { low, high, .. }
            | &Spec::TruncatedNormal { low, high, .. }
            | &Spec::Beta { low, high, .. } => (low, high),
            Spec::Normal { .. } | Spec::StudentT { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Spec::Lognormal { .. } => (0.0, f64::INFINITY),
            Spec::Discrete { values, weights } => values
                .iter()
                .zip(weights)
                .filter(|(_, &w)| w > 0.0)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (&v, _)| {
                    (lo.min(v), hi.max(v))
                }),
        }
    }

    /// Some(value) for a point mass (a bare number, `dist = "point"`, or a discrete whose
    /// positive weights all sit on one value), None otherwise.
    pub fn as_point(&self) -> Option<f64> {
        match &self.spec {
            &Spec::Point { value } => Some(value),
            Spec::Discrete { .. } => {
                let (lo, hi) = self.support();
                (lo == hi).then_some(lo)
            }
            _ => None,
        }
    }

    /// The analytic mean, None where it does not exist (student_t with df ≤ 1).
    pub fn mean(&self) -> Option<f64> {
        Some(match &self.spec {
            &Spec::Point { value } => value,
            &Spec::Uniform { low, high } => 0.5 * (low + high),
            &Spec::Triangular { low, mode, high } => (low + mode + high) / 3.0,
            &Spec::Pert {
                low,
                mode,
                high,
                lambda,
            } => (low + lambda * mode + high) / (lambda + 2.0),
            &Spec::Normal { mean, .. } => mean,
            &Spec::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            } => {
                let alpha = (low - mean) / sd;
                let beta = (high - mean) / sd;
                let mass = normal_mass(alpha, beta);
                mean + sd * (standard_normal_pdf(alpha) - standard_normal_pdf(beta)) / mass
            }
            &Spec::Lognormal { median, sd_log } => median * (0.5 * sd_log * sd_log).exp(),
            &Spec::Beta {
                alpha,
                beta,
                low,
                high,
            } => low + (high - low) * alpha / (alpha + beta),
            &Spec::StudentT { df, loc, .. } => {
                if df > 1.0 {
                    loc
                } else {
                    return None;
                }
            }
            Spec::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        })
    }

    /// Short human-readable description for reports, e.g.
    /// `pert(low = 1, mode = 2, high = 4, lambda = 4)`; a point prints as the number.
    pub fn describe(&self) -> String {
        let n = fmt_num;
        match &self.spec {
            &Spec::Point { value } => n(value),
            &Spec::Uniform { low, high } => {
                format!("uniform(low = {}, high = {})", n(low), n(high))
            }
            &Spec::Triangular { low, mode, high } => format!(
                "triangular(low = {}, mode = {}, high = {})",
                n(low),
                n(mode),
                n(high)
            ),
            &Spec::Pert {
                low,
                mode,
                high,
                lambda,
            } => format!(
                "pert(low = {}, mode = {}, high = {}, lambda = {})",
                n(low),
                n(mode),
                n(high),
                n(lambda)
            ),
            &Spec::Normal { mean, sd } => format!("normal(mean = {}, sd = {})", n(mean), n(sd)),
            &Spec::TruncatedNormal {
                mean,
                sd,
                low,
                high,
            } => format!(
                "truncated_normal(mean = {}, sd = {}, low = {}, high = {})",
                n(mean),
                n(sd),
                n(low),
                n(high)
            ),
            &Spec::Lognormal { median, sd_log } => {
                format!("lognormal(median = {}, sd_log = {})", n(median), n(sd_log))
            }
            &Spec::Beta {
                alpha,
                beta,
                low,
                high,
            } => format!(
                "beta(alpha = {}, beta = {}, low = {}, high = {})",
                n(alpha),
                n(beta),
                n(low),
                n(high)
            ),
            &Spec::StudentT { df, loc, scale } => format!(
                "student_t(df = {}, loc = {}, scale = {})",
                n(df),
                n(loc),
                n(scale)
            ),
            Spec::Discrete { values, weights } => {
                let list = |xs: &[f64]| xs.iter().map(|&x| n(x)).collect::<Vec<_>>().join(", ");
                format!(
                    "discrete(values = [{}], weights = [{}])",
                    list(values),
                    list(weights)
                )
            }
        }
    }

    /// The kind name as written in the file ("point", "uniform", ...).
    pub fn kind(&self) -> &'static str {
        match self.spec {
            Spec::Point { .. } => "point",
            Spec::Uniform { .. } => "uniform",
            Spec::Triangular { .. } => "triangular",
            Spec::Pert { .. } => "pert",
            Spec::Normal { .. } => "normal",
            Spec::TruncatedNormal { .. } => "truncated_normal",
            Spec::Lognormal { .. } => "lognormal",
            Spec::Beta { .. } => "beta",
            Spec::StudentT { .. } => "student_t",
            Spec::Discrete { .. } => "discrete",
        }
    }
}

/// A number as a person would write it: `4`, `0.25`, `1e-12`.
fn fmt_num(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e15) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Φ(β) − Φ(α) without cancellation when both ends lie in the same tail.
fn normal_mass(alpha: f64, beta: f64) -> f64 {
    if alpha >= 0.0 {
        standard_normal_sf(alpha) - standard_normal_sf(beta)
    } else if beta <= 0.0 {
        standard_normal_cdf(beta) - standard_normal_cdf(alpha)
    } else {
        1.0 - standard_normal_cdf(alpha) - standard_normal_sf(beta)
    }
}

/// Smallest normal mass a truncated normal may carry: below it the tail probabilities lose
/// precision to subnormals (the interval starts more than ~37 sd from the mean).
const MIN_TRUNCATED_MASS: f64 = 1e-300;

/// Precompute a truncated normal, rejecting an interval whose mass is not representable.
fn truncated_normal(mean: f64, sd: f64, low: f64, high: f64) -> Result<Imp, DistError> {
    let alpha = (low - mean) / sd;
    let beta = (high - mean) / sd;
    let mass = normal_mass(alpha, beta);
    if mass.is_nan() || mass < MIN_TRUNCATED_MASS {
        let key = if alpha >= 0.0 { "low" } else { "high" };
        return Err(DistError::at(
            key,
            format!(
                "the interval [low, high] = [{}, {}] has probability {:e} under normal(mean = {}, sd = {}) \
                 ({} to {} sd from the mean), too small to represent; accepted: an interval with probability ≥ 1e-300 \
                 (within about 37 sd of the mean)",
                fmt_num(low),
                fmt_num(high),
                mass,
                fmt_num(mean),
                fmt_num(sd),
                fmt_num(alpha),
                fmt_num(beta)
            ),
        ));
    }
    Ok(Imp::TruncatedNormal {
        mean,
        sd,
        low,
        high,
        below: standard_normal_cdf(alpha),
        above: standard_normal_sf(beta),
        mass,
    })
}

#[cfg(test)]
mod fast_path_tests;

#[cfg(test)]
impl Distribution {
    /// The verified intervals of the fast path, if it has one (for the model's tests, which
    /// check every parameter of the default model; dist itself knows no model).
    pub(crate) fn fast_path_intervals(&self) -> Option<[usize; 2]> {
        self.fast.as_ref().map(|g| g.verified_intervals())
    }
}

/// Sampling by inversion: `quantile(u)` of a uniform u in the open interval (0, 1), the one
/// path by which the engine samples too.
///
/// ```
/// use rand::distr::Distribution as _;
/// use rand::SeedableRng;
/// let pert = tariffsim::Distribution::pert(1.0, 2.0, 4.0).unwrap();
/// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
/// let x: f64 = pert.sample(&mut rng);
/// assert!((1.0..=4.0).contains(&x));
/// ```
impl rand::distr::Distribution<f64> for Distribution {
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rand::distr::Open01.sample(rng);
        self.quantile(u)
    }
}
