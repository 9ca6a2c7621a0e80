//! JSON numbers must be finite: statistics that are undefined (the sd of one draw, the mean of
//! a scenario never drawn, a NaN output) are written as `null` and read back as NaN.
//!
//! Used as `#[serde(with = "serde_finite")]` on `f64`, `Option<f64>`, `Vec<f64>` and maps of
//! those, and as `#[serde(with = "serde_finite::quantiles")]` (and friends) on the fixed arrays
//! of statistics that `summary.json` writes as objects keyed by level.

use indexmap::IndexMap;
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ES_KEYS, QUANTILE_KEYS};

/// A value whose non-finite numbers serialize as `null`.
pub(crate) trait Finite: Sized {
    /// Serializes `self`, non-finite numbers as `null`.
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    /// Deserializes, `null` as NaN (as None for an `Option`).
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

struct Ser<'a, T>(&'a T);

impl<T: Finite> Serialize for Ser<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.ser(s)
    }
}

struct De<T>(T);

impl<'de, T: Finite> Deserialize<'de> for De<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::de(d).map(De)
    }
}

impl Finite for f64 {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f64(*self)
        } else {
            s.serialize_none()
        }
    }
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

impl Finite for Option<f64> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.unwrap_or(f64::NAN).ser(s)
    }
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<f64>::deserialize(d)
    }
}

impl<T: Finite> Finite for Vec<T> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Ser))
    }
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<De<T>>::deserialize(d)?
            .into_iter()
            .map(|v| v.0)
            .collect())
    }
}

impl<T: Finite> Finite for IndexMap<String, T> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k, Ser(v))))
    }
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(IndexMap::<String, De<T>>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect())
    }
}

/// `#[serde(with)]` entry point for any [`Finite`] value.
pub(crate) fn serialize<T: Finite, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.ser(s)
}

/// `#[serde(with)]` entry point for any [`Finite`] value.
pub(crate) fn deserialize<'de, T: Finite, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::de(d)
}

/// Writes `values` as an object keyed by `keys` (`{"0.01": …, "0.05": …}`).
fn ser_levels<S: Serializer>(keys: &[&str], values: &[f64], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(keys.len()))?;
    for (k, v) in keys.iter().zip(values) {
        map.serialize_entry(k, &Ser(v))?;
    }
    map.end()
}

/// Reads an object keyed by `keys` back into an array; a missing key is an error.
fn de_levels<'de, D: Deserializer<'de>, const N: usize>(
    keys: &[&str; N],
    d: D,
) -> Result<[f64; N], D::Error> {
    let map = IndexMap::<String, De<f64>>::deserialize(d)?;
    let mut out = [f64::NAN; N];
    for (slot, key) in out.iter_mut().zip(keys) {
        *slot = map
            .get(*key)
            .ok_or_else(|| D::Error::custom(format!("missing level \"{key}\"")))?
            .0;
    }
    Ok(out)
}

/// The nine quantiles of an output, keyed by [`QUANTILE_KEYS`].
pub(crate) mod quantiles {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f64; 9], s: S) -> Result<S::Ok, S::Error> {
        ser_levels(&QUANTILE_KEYS, v, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 9], D::Error> {
        de_levels(&QUANTILE_KEYS, d)
    }
}

/// Standard errors of the nine quantiles, present for some outputs only.
pub(crate) mod quantile_ses {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<[f64; 9]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => ser_levels(&QUANTILE_KEYS, v, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<[f64; 9]>, D::Error> {
        de_levels(&QUANTILE_KEYS, d).map(Some)
    }
}

/// The two expected shortfalls of an output, keyed by [`ES_KEYS`].
pub(crate) mod shortfalls {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f64; 2], s: S) -> Result<S::Ok, S::Error> {
        ser_levels(&ES_KEYS, v, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        de_levels(&ES_KEYS, d)
    }
}
