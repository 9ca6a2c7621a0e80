//! Four-lane AVX2 versions of the pieces of `standard_normal_quantile` and `standard_normal_cdf`
//! that need no logarithm or exponential, for callers that work on columns of values.
//!
//! Every function performs its scalar twin's operations in the same order, so each lane gets
//! the scalar's bits: IEEE addition, multiplication and division round the same in a vector
//! register, and nothing is fused (FMA is not enabled, and Rust never contracts a·b + c).
//! `tests::lanes_match_the_scalar_pieces` checks it.

use std::arch::x86_64::*;

use super::{
    A, B, ERF_CENTRAL_LIMIT, ERF_NEAR_LIMIT, ERX, PA, PP, QA, QQ, QUANTILE_CENTRAL_LIMIT, SQRT_2,
};

/// Four copies of `x`.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn splat(x: f64) -> __m256d {
    _mm256_set1_pd(x)
}

/// `super::poly` per lane: Horner from the last coefficient.
#[inline]
#[target_feature(enable = "avx2")]
fn poly(c: &[f64], s: __m256d) -> __m256d {
    let (&last, rest) = c.split_last().expect("a polynomial has coefficients");
    rest.iter().rev().fold(splat(last), |acc, &ci| {
        _mm256_add_pd(_mm256_mul_pd(acc, s), splat(ci))
    })
}

/// `super::poly1` per lane.
#[inline]
#[target_feature(enable = "avx2")]
fn poly1(q: &[f64], s: __m256d) -> __m256d {
    _mm256_add_pd(splat(1.0), _mm256_mul_pd(s, poly(q, s)))
}

/// |x| per lane (clears the sign bit, as `f64::abs`).
#[inline]
#[target_feature(enable = "avx2")]
fn abs(x: __m256d) -> __m256d {
    _mm256_andnot_pd(splat(-0.0), x)
}

/// Bit i set where lane i of `mask` (a comparison result) is true.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn lanes_set(mask: __m256d) -> u32 {
    _mm256_movemask_pd(mask) as u32
}

/// All four lanes.
pub(crate) const ALL_LANES: u32 = 0b1111;

/// Φ⁻¹(u) per lane where |u − ½| ≤ 0.425 (`super::quantile_central`), and the lanes where that
/// holds; the other lanes (tails, NaN, u outside (0, 1)) hold meaningless values.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn quantile_central(u: __m256d) -> (__m256d, u32) {
    let q = _mm256_sub_pd(u, splat(0.5));
    let r = _mm256_sub_pd(splat(0.180625), _mm256_mul_pd(q, q));
    let z = _mm256_div_pd(_mm256_mul_pd(q, poly(&A, r)), poly1(&B, r));
    let central = _mm256_cmp_pd::<_CMP_LE_OQ>(abs(q), splat(QUANTILE_CENTRAL_LIMIT));
    (z, lanes_set(central))
}

/// Φ(z) per lane where |z|/√2 < 1.25 (`standard_normal_cdf` through `super::lower_tail_central`
/// and `super::lower_tail_near`), and the lanes where that holds; the others (the tails and NaN)
/// hold meaningless values. The near piece is evaluated only when a lane needs it.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn cdf_central(z: __m256d) -> (__m256d, u32) {
    // As the scalar: lower_tail(z) for z ≤ 0 and 1 − lower_tail(−z) above; lower_tail negates
    // its argument, so its a is −z or z respectively.
    let lower = _mm256_cmp_pd::<_CMP_LE_OQ>(z, splat(0.0));
    let a = _mm256_blendv_pd(z, _mm256_xor_pd(z, splat(-0.0)), lower);
    let x = _mm256_div_pd(a, splat(SQRT_2));
    let central = _mm256_cmp_pd::<_CMP_LT_OQ>(x, splat(ERF_CENTRAL_LIMIT));
    let mut tail = lower_tail_central(x);
    let (central_lanes, mut done) = (lanes_set(central), ALL_LANES);
    if central_lanes != ALL_LANES {
        let near = _mm256_cmp_pd::<_CMP_LT_OQ>(x, splat(ERF_NEAR_LIMIT));
        done = lanes_set(near);
        if done & !central_lanes != 0 {
            tail = _mm256_blendv_pd(lower_tail_near(x), tail, central);
        }
    }
    let cdf = _mm256_blendv_pd(_mm256_sub_pd(splat(1.0), tail), tail, lower);
    (cdf, done)
}

/// `super::lower_tail_central` per lane.
#[inline]
#[target_feature(enable = "avx2")]
fn lower_tail_central(x: __m256d) -> __m256d {
    let t = _mm256_mul_pd(x, x);
    let ratio = _mm256_div_pd(poly(&PP, t), poly1(&QQ, t));
    let erf = _mm256_add_pd(x, _mm256_mul_pd(x, ratio));
    _mm256_sub_pd(splat(0.5), _mm256_mul_pd(splat(0.5), erf))
}

/// `super::lower_tail_near` per lane.
#[inline]
#[target_feature(enable = "avx2")]
fn lower_tail_near(x: __m256d) -> __m256d {
    let s = _mm256_sub_pd(x, splat(1.0));
    let ratio = _mm256_div_pd(poly(&PA, s), poly1(&QA, s));
    let erfc = _mm256_sub_pd(splat(1.0 - ERX), ratio);
    _mm256_mul_pd(splat(0.5), erfc)
}

/// The four lanes as an array.
#[cfg(test)]
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn to_array(v: __m256d) -> [f64; 4] {
    let mut out = [0.0; 4];
    // SAFETY: `out` has room for the four lanes; storeu has no alignment requirement.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
    out
}

/// Four values as a vector.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn from_array(v: &[f64; 4]) -> __m256d {
    // SAFETY: `v` holds four values; loadu has no alignment requirement.
    unsafe { _mm256_loadu_pd(v.as_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::super::{standard_normal_cdf, standard_normal_quantile};
    use super::*;

    #[test]
    fn lanes_match_the_scalar_pieces() {
        if !is_x86_feature_detected!("avx2") {
            return;
        }
        // SAFETY: AVX2 is available (checked above).
        unsafe { check_lanes() }
    }

    #[target_feature(enable = "avx2")]
    fn check_lanes() {
        let values = super::super::tests::probes();
        let (mut quantiles, mut cdfs) = (0, 0);
        for chunk in values.chunks_exact(4) {
            let x: [f64; 4] = chunk.try_into().unwrap();
            let (z, central) = quantile_central(from_array(&x));
            let (p, done) = cdf_central(from_array(&x));
            let (z, p) = (to_array(z), to_array(p));
            for lane in 0..4 {
                if central & (1 << lane) != 0 {
                    let want = standard_normal_quantile(x[lane]);
                    assert_eq!(z[lane].to_bits(), want.to_bits(), "Φ⁻¹({})", x[lane]);
                    quantiles += 1;
                } else {
                    let central = (x[lane] - 0.5).abs() <= 0.425;
                    assert!(!central, "{} is central", x[lane]);
                }
                if done & (1 << lane) != 0 {
                    let want = standard_normal_cdf(x[lane]);
                    assert_eq!(p[lane].to_bits(), want.to_bits(), "Φ({})", x[lane]);
                    cdfs += 1;
                } else {
                    let near = x[lane].abs() / SQRT_2 < 1.25;
                    assert!(!near, "{} is near", x[lane]);
                }
            }
        }
        assert!(quantiles > 20_000 && cdfs > 40_000, "{quantiles} {cdfs}");
    }
}
