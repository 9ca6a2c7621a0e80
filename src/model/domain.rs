//! The allowed ranges of parameters (MODEL.md §2 table and §5).

use crate::dist::Distribution;

/// The allowed range of a parameter (MODEL.md §2's table and §5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Domain {
    pub(crate) low: f64,
    pub(crate) low_open: bool,
    pub(crate) high: f64,
    pub(crate) high_open: bool,
    /// The accepted range in words, for error messages.
    pub text: &'static str,
}

pub(crate) const ANY: Domain = Domain {
    low: f64::NEG_INFINITY,
    low_open: true,
    high: f64::INFINITY,
    high_open: true,
    text: "any finite value",
};
pub(crate) const POSITIVE: Domain = Domain {
    low: 0.0,
    low_open: true,
    high: f64::INFINITY,
    high_open: true,
    text: "> 0",
};
pub(crate) const NON_NEGATIVE: Domain = Domain {
    low: 0.0,
    low_open: false,
    high: f64::INFINITY,
    high_open: true,
    text: ">= 0",
};
pub(crate) const TARIFF: Domain = Domain {
    low: -1.0,
    low_open: true,
    high: f64::INFINITY,
    high_open: true,
    text: "> -1 (a fraction: 0.25 = 25 %)",
};
pub(crate) const GROWTH: Domain = Domain {
    low: -1.0,
    low_open: true,
    high: f64::INFINITY,
    high_open: true,
    text: "> -1 (a fraction over the horizon: 0.05 = +5 %)",
};
pub(crate) const HALF_LIFE: Domain = Domain {
    low: 0.0,
    low_open: false,
    high: f64::INFINITY,
    high_open: true,
    text: ">= 0 months (0 = trade adjusts at once)",
};
pub(crate) const SHARE: Domain = Domain {
    low: 0.0,
    low_open: true,
    high: 1.0,
    high_open: false,
    text: "in (0, 1]",
};
pub(crate) const WEIGHT: Domain = Domain {
    low: 0.0,
    low_open: false,
    high: 1.0,
    high_open: false,
    text: "in [0, 1]",
};

impl Domain {
    /// Whether a number lies in the domain.
    pub(crate) fn contains(&self, x: f64) -> bool {
        x.is_finite()
            && (x > self.low || (!self.low_open && x == self.low))
            && (x < self.high || (!self.high_open && x == self.high))
    }

    /// Whether every value a distribution can produce lies in the domain. A continuous
    /// distribution may touch an open bound (a lognormal σ never equals 0); an atom may not.
    pub(crate) fn admits(&self, dist: &Distribution) -> bool {
        let (a, b) = dist.support();
        let atomic = dist.as_point().is_some() || dist.kind() == "discrete";
        let low_ok = a > self.low || (a == self.low && (!self.low_open || !atomic));
        let high_ok = b < self.high || (b == self.high && (!self.high_open || !atomic));
        low_ok && high_ok
    }
}
