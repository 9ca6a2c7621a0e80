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
/// Rates are fractions: 1.45 (145 %) is real, 5 (500 %) and above is a percentage typed as a
/// number (issue 15, item 9), so the upper bound is 5, and [1, 5) draws a warning.
pub(crate) const TARIFF: Domain = Domain {
    low: -1.0,
    low_open: true,
    high: 5.0,
    high_open: true,
    text: "> -1 and < 5 (a fraction: 0.25 = 25 %, 1.45 = 145 %)",
};
pub(crate) const GROWTH: Domain = Domain {
    low: -1.0,
    low_open: true,
    high: 5.0,
    high_open: true,
    text: "> -1 and < 5 (a fraction over the horizon: 0.05 = +5 %)",
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
    text: "in (0, 1] (a fraction: 0.3 = 30 %)",
};
/// A named competitor's share θ_j (MODEL.md §10): 0 is allowed (a competitor absent from a
/// sector), the sum with the exporter's share is checked separately.
pub(crate) const COMPETITOR_SHARE: Domain = Domain {
    low: 0.0,
    low_open: false,
    high: 1.0,
    high_open: false,
    text: "in [0, 1] (a fraction of the importer's imports: 0.21 = 21 %)",
};
pub(crate) const WEIGHT: Domain = Domain {
    low: 0.0,
    low_open: false,
    high: 1.0,
    high_open: false,
    text: "in [0, 1] (a fraction: 0.5 = 50 %)",
};

/// `x` with two decimals at least, as a person writes a fraction: 0.30, 0.25, 1.45, 0.075.
fn fraction_text(x: f64) -> String {
    let mut s = format!("{}", (x * 1e10).round() / 1e10);
    match s.split_once('.') {
        None => s.push_str(".00"),
        Some((_, d)) if d.len() == 1 => s.push('0'),
        _ => {}
    }
    s
}

impl Domain {
    /// Whether values of this domain are fractions (0.25 = 25 %).
    pub(crate) fn is_fraction(&self) -> bool {
        self.text.contains("a fraction")
    }

    /// For a fraction domain and a value `x` ≥ 1 outside it: "; did you mean 0.30?", the
    /// percentage read as a fraction. Empty otherwise.
    pub(crate) fn percent_hint(&self, x: f64) -> String {
        if self.is_fraction() && x >= 1.0 && !self.contains(x) {
            format!(
                "; did you mean {}? (fractions, not percentages: {} % is {})",
                fraction_text(x / 100.0),
                x,
                fraction_text(x / 100.0)
            )
        } else {
            String::new()
        }
    }

    /// A warning when a value `x` inside an open-ended fraction domain (rates, growth) is
    /// 1 or more: 100 % and above is rare enough to be a percentage typed by mistake. Not for
    /// competitors' tariffs (`competitor_tariff`, `competitor_base_tariff`): third countries'
    /// rates of 100 % and more are the documented case (the default model's US tariffs on
    /// Chinese batteries), and a warning on every run of the shipped model would teach users
    /// to ignore warnings.
    pub(crate) fn large_fraction_warning(&self, path: &str, line: usize, x: f64) -> Option<String> {
        let competitor = path.contains("competitor_") || path.contains("competitors.");
        let large = self.is_fraction() && self.high > 1.0 && x >= 1.0 && self.contains(x);
        (large && !competitor).then(|| {
            format!(
                "line {line}: `{path}` reaches {x} = {} %: rates of 100 % or more are rare; if you meant percentages, write fractions ({} for {x} %)",
                // Rounded so that 1.1 reads 110 %, not 110.00000000000001 %.
                (x * 1e8).round() / 1e6,
                fraction_text(x / 100.0)
            )
        })
    }

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
