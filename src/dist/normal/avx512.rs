//! Eight-lane AVX-512 versions of the pieces of `standard_normal_quantile` and
//! `standard_normal_cdf` that need no logarithm or exponential: `avx2.rs` with twice the lanes
//! and mask registers for the comparisons.
//!
//! Every function performs its scalar twin's operations in the same order, so each lane gets
//! the scalar's bits (no FMA: the multiplies and adds are separate intrinsics).
//! `tests::lanes_match_the_scalar_pieces` checks it.

use std::arch::x86_64::*;

use super::{
    A, B, ERF_CENTRAL_LIMIT, ERF_NEAR_LIMIT, ERX, PA, PP, QA, QQ, QUANTILE_CENTRAL_LIMIT, SQRT_2,
};

/// Eight copies of `x`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn splat(x: f64) -> __m512d {
    _mm512_set1_pd(x)
}

/// `super::poly` per lane: Horner from the last coefficient.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn poly(c: &[f64], s: __m512d) -> __m512d {
    let (&last, rest) = c.split_last().expect("a polynomial has coefficients");
    rest.iter().rev().fold(splat(last), |acc, &ci| {
        _mm512_add_pd(_mm512_mul_pd(acc, s), splat(ci))
    })
}

/// `super::poly1` per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn poly1(q: &[f64], s: __m512d) -> __m512d {
    _mm512_add_pd(splat(1.0), _mm512_mul_pd(s, poly(q, s)))
}

/// All eight lanes.
pub(crate) const ALL_LANES: u32 = 0xff;

/// Φ⁻¹(u) per lane where |u − ½| ≤ 0.425 (`super::quantile_central`), and the lanes where that
/// holds; the other lanes (tails, NaN, u outside (0, 1)) hold meaningless values.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
pub(crate) fn quantile_central(u: __m512d) -> (__m512d, u32) {
    let q = _mm512_sub_pd(u, splat(0.5));
    let r = _mm512_sub_pd(splat(0.180625), _mm512_mul_pd(q, q));
    let z = _mm512_div_pd(_mm512_mul_pd(q, poly(&A, r)), poly1(&B, r));
    // |q| by clearing the sign bit, as `f64::abs`.
    let central = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(_mm512_abs_pd(q), splat(QUANTILE_CENTRAL_LIMIT));
    (z, u32::from(central))
}

/// Φ(z) per lane where |z|/√2 < 1.25 (`standard_normal_cdf` through `super::lower_tail_central`
/// and `super::lower_tail_near`), and the lanes where that holds; the others (the tails and NaN)
/// hold meaningless values. The near piece is evaluated only when a lane needs it.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
pub(crate) fn cdf_central(z: __m512d) -> (__m512d, u32) {
    // As the scalar: lower_tail(z) for z ≤ 0 and 1 − lower_tail(−z) above; lower_tail negates
    // its argument, so its a is −z or z respectively.
    let lower = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(z, splat(0.0));
    let a = _mm512_mask_blend_pd(lower, z, _mm512_xor_pd(z, splat(-0.0)));
    let x = _mm512_div_pd(a, splat(SQRT_2));
    let central = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, splat(ERF_CENTRAL_LIMIT));
    let mut tail = lower_tail_central(x);
    let (central_lanes, mut done) = (u32::from(central), ALL_LANES);
    if central_lanes != ALL_LANES {
        let near = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, splat(ERF_NEAR_LIMIT));
        done = u32::from(near);
        if done & !central_lanes != 0 {
            tail = _mm512_mask_blend_pd(central, lower_tail_near(x), tail);
        }
    }
    let cdf = _mm512_mask_blend_pd(lower, _mm512_sub_pd(splat(1.0), tail), tail);
    (cdf, done)
}

/// `super::lower_tail_central` per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn lower_tail_central(x: __m512d) -> __m512d {
    let t = _mm512_mul_pd(x, x);
    let ratio = _mm512_div_pd(poly(&PP, t), poly1(&QQ, t));
    let erf = _mm512_add_pd(x, _mm512_mul_pd(x, ratio));
    _mm512_sub_pd(splat(0.5), _mm512_mul_pd(splat(0.5), erf))
}

/// `super::lower_tail_near` per lane.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn lower_tail_near(x: __m512d) -> __m512d {
    let s = _mm512_sub_pd(x, splat(1.0));
    let ratio = _mm512_div_pd(poly(&PA, s), poly1(&QA, s));
    let erfc = _mm512_sub_pd(splat(1.0 - ERX), ratio);
    _mm512_mul_pd(splat(0.5), erfc)
}

/// Eight values as a vector.
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
pub(crate) fn from_array(v: &[f64; 8]) -> __m512d {
    // SAFETY: `v` holds eight values; loadu has no alignment requirement.
    unsafe { _mm512_loadu_pd(v.as_ptr()) }
}

/// The eight lanes as an array.
#[cfg(test)]
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn to_array(v: __m512d) -> [f64; 8] {
    let mut out = [0.0; 8];
    // SAFETY: `out` has room for the eight lanes; storeu has no alignment requirement.
    unsafe { _mm512_storeu_pd(out.as_mut_ptr(), v) };
    out
}

#[cfg(test)]
mod tests {
    use super::super::{standard_normal_cdf, standard_normal_quantile};
    use super::*;

    #[test]
    fn lanes_match_the_scalar_pieces() {
        if crate::fastmath::SimdLevel::detected() < crate::fastmath::SimdLevel::Avx512 {
            return;
        }
        // SAFETY: AVX-512 F/DQ/VL/BW are available (checked above).
        unsafe { check_lanes() }
    }

    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    fn check_lanes() {
        let values = super::super::tests::probes();
        let (mut quantiles, mut cdfs) = (0, 0);
        for chunk in values.chunks_exact(8) {
            let x: [f64; 8] = chunk.try_into().unwrap();
            let (z, central) = quantile_central(from_array(&x));
            let (p, done) = cdf_central(from_array(&x));
            let (z, p) = (to_array(z), to_array(p));
            for lane in 0..8 {
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
