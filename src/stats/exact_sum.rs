//! Exact floating-point summation (Shewchuk 1997, the algorithm behind Python's `math.fsum`).
//!
//! Hand-written because determinism needs it: block sums are added in whatever order threads,
//! shards and checkpoints deliver them, and only an exact sum, rounded once at the end, gives a
//! result that does not depend on that order.

/// A sum of f64 values kept exactly as non-overlapping partials.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExactSum {
    partials: Vec<f64>,
    /// Sum of non-finite inputs (±inf, NaN), which the partials cannot hold.
    special: f64,
}

impl ExactSum {
    /// An empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x` exactly.
    pub fn add(&mut self, mut x: f64) {
        if !x.is_finite() {
            self.special += x;
            return;
        }
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// Heap bytes held by the partials.
    pub fn heap_bytes(&self) -> usize {
        self.partials.capacity() * std::mem::size_of::<f64>()
    }

    /// Whether the partials are what [`ExactSum::add`] keeps (finite numbers): a sum read back
    /// from a damaged file may hold anything.
    pub(crate) fn is_well_formed(&self) -> bool {
        self.partials.iter().all(|p| p.is_finite())
    }

    /// Adds every partial of `other` (exact, so merge order does not matter).
    pub fn merge(&mut self, other: &ExactSum) {
        for &p in &other.partials {
            self.add(p);
        }
        self.special += other.special;
    }

    /// The exact sum rounded once to the nearest f64 (ties to even).
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let y_rounded = hi - x;
            lo = y - y_rounded;
            if lo != 0.0 {
                break;
            }
        }
        // Half-way case: the remaining partials decide the direction of rounding.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_change_the_result() {
        let xs = [1e16, 1.0, -1e16, 3.5, 1e-8, -2.25, 7e15, 0.1, 0.2, 0.3];
        let mut a = ExactSum::new();
        xs.iter().for_each(|&x| a.add(x));
        let mut b = ExactSum::new();
        xs.iter().rev().for_each(|&x| b.add(x));
        let (mut c, mut d) = (ExactSum::new(), ExactSum::new());
        xs[..4].iter().for_each(|&x| c.add(x));
        xs[4..].iter().for_each(|&x| d.add(x));
        d.merge(&c);
        assert_eq!(a.value(), b.value());
        assert_eq!(a.value(), d.value());
        // 7e15 + 2.85000001 rounded once (ulp 1 at 7e15).
        assert_eq!(a.value(), 7000000000000003.0);
    }
}
