//! Distributions of MODEL.md §6, each an immutable quantile function u → x.
//!
//! TEMPORARY placeholder with the final API; the accurate implementation lands from the
//! `dist` branch.

/// A validated distribution; sampled only through its quantile function.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Point(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
    Lognormal(f64, f64),
    Triangular(f64, f64, f64),
}

/// Why a distribution was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DistError {
    /// The key inside the inline table at fault.
    pub key: Option<String>,
    /// The rule broken and what is accepted.
    pub message: String,
}

fn num(t: &toml::Table, k: &str) -> Result<f64, DistError> {
    match t.get(k) {
        Some(toml::Value::Float(f)) if f.is_finite() => Ok(*f),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        _ => Err(DistError {
            key: Some(k.into()),
            message: format!("`{k}` must be a finite number"),
        }),
    }
}

impl Distribution {
    /// A point mass.
    pub fn point(value: f64) -> Distribution {
        Distribution {
            kind: Kind::Point(value),
        }
    }
    /// Parse a model-file value.
    pub fn from_toml(value: &toml::Value) -> Result<Distribution, DistError> {
        let kind = match value {
            toml::Value::Integer(i) => Kind::Point(*i as f64),
            toml::Value::Float(f) if f.is_finite() => Kind::Point(*f),
            toml::Value::Table(t) => match t.get("dist").and_then(|d| d.as_str()) {
                Some("point") => Kind::Point(num(t, "value")?),
                Some("uniform") => Kind::Uniform(num(t, "low")?, num(t, "high")?),
                Some("normal") => Kind::Normal(num(t, "mean")?, num(t, "sd")?),
                Some("student_t") => Kind::Normal(num(t, "loc")?, num(t, "scale")?),
                Some("lognormal") => Kind::Lognormal(num(t, "median")?, num(t, "sd_log")?),
                Some("triangular") | Some("pert") => {
                    Kind::Triangular(num(t, "low")?, num(t, "mode")?, num(t, "high")?)
                }
                _ => {
                    return Err(DistError {
                        key: Some("dist".into()),
                        message: "unknown dist".into(),
                    })
                }
            },
            _ => {
                return Err(DistError {
                    key: None,
                    message: "expected a number or a table with `dist`".into(),
                })
            }
        };
        Ok(Distribution { kind })
    }
    /// The quantile function.
    pub fn quantile(&self, u: f64) -> f64 {
        match self.kind {
            Kind::Point(v) => v,
            Kind::Uniform(a, b) => a + u * (b - a),
            Kind::Normal(m, s) => m + s * standard_normal_quantile(u),
            Kind::Lognormal(m, s) => m * (s * standard_normal_quantile(u)).exp(),
            Kind::Triangular(a, c, b) => {
                let f = (c - a) / (b - a);
                if u < f {
                    a + (u * (b - a) * (c - a)).sqrt()
                } else {
                    b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
                }
            }
        }
    }
    /// Closed hull of the support.
    pub fn support(&self) -> (f64, f64) {
        match self.kind {
            Kind::Point(v) => (v, v),
            Kind::Uniform(a, b) | Kind::Triangular(a, _, b) => (a, b),
            Kind::Normal(..) => (f64::NEG_INFINITY, f64::INFINITY),
            Kind::Lognormal(..) => (0.0, f64::INFINITY),
        }
    }
    /// Some(value) for a point mass.
    pub fn as_point(&self) -> Option<f64> {
        match self.kind {
            Kind::Point(v) => Some(v),
            _ => None,
        }
    }
    /// The analytic mean.
    pub fn mean(&self) -> Option<f64> {
        Some(match self.kind {
            Kind::Point(v) => v,
            Kind::Uniform(a, b) => 0.5 * (a + b),
            Kind::Normal(m, _) => m,
            Kind::Lognormal(m, s) => m * (0.5 * s * s).exp(),
            Kind::Triangular(a, c, b) => (a + b + c) / 3.0,
        })
    }
    /// Short description.
    pub fn describe(&self) -> String {
        format!("{:?}", self.kind)
    }
    /// Kind name.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Point(_) => "point",
            Kind::Uniform(..) => "uniform",
            Kind::Normal(..) => "normal",
            Kind::Lognormal(..) => "lognormal",
            Kind::Triangular(..) => "triangular",
        }
    }
}

/// Standard normal CDF.
pub fn standard_normal_cdf(z: f64) -> f64 {
    // Placeholder: bisection-free approximation via erfc series is in the real module.
    0.5 * erfc_approx(-z / std::f64::consts::SQRT_2)
}

fn erfc_approx(x: f64) -> f64 {
    // Numerical Recipes erfcc (1e-7); placeholder only.
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * (-z * z - 1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
        .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Standard normal quantile.
pub fn standard_normal_quantile(u: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if standard_normal_cdf(mid) < u {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}
