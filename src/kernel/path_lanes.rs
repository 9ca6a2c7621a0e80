//! MODEL.md §12's monthly path with a group of draws held in vector registers through all the
//! months (AVX-512: 8 draws, AVX2: 4), months innermost: each draw's keep, λ, the three logs
//! of its targets, its deal month, ln V_t and Σ_t V_t are loaded or computed once and stay in
//! registers for the 12 months, where the month-by-month loop over the block's columns loads
//! and stores them every month. LLVM does not vectorise that loop nest from the scalar code
//! (tried), hence intrinsics. Every lane runs the scalar code's IEEE operations in its order
//! (the vector [`fastmath::vector`] exp, table-driven exp of the months and ln are
//! bit-identical to the scalar ones), so the
//! results are the same bits at every level (tested against the scalar path). The draws
//! beyond the last whole group go through the scalar code.

use crate::fastmath::vector::{exp_avx2, exp_tabled_avx2, ln_avx2};
use crate::fastmath::vector::{exp_avx512, exp_tabled_avx512, ln_avx512};
use std::arch::x86_64::*;

/// The columns of one series over the block's draws 0..n (the inputs of
/// [`super::path_from_factors`]).
#[derive(Clone, Copy)]
pub(super) struct SeriesColumns<'a> {
    pub keep: &'a [f64],
    pub lambda: &'a [f64],
    pub month: &'a [f64],
    pub partial: &'a [f64],
    pub v_interim: &'a [f64],
    pub v_deal: &'a [f64],
}

/// Generates the group loops of one instruction set: its vector width, its loads,
/// stores and arithmetic, and the month target's select.
macro_rules! path_groups {
    (
        $features:literal, $width:literal,
        $factors:ident, $path:ident,
        load: $load:ident, store: $store:ident, set: $set:ident,
        add: $add:ident, sub: $sub:ident, mul: $mul:ident, div: $div:ident,
        exp: $exp:ident, path_exp: $path_exp:ident, ln: $ln:ident,
        target: $target:expr
    ) => {
        /// keep = 2^(−1/h) = exp(−ln 2 / h) and λ = 1 − keep for the draws of the whole
        /// groups of 0..n ([`super::half_life_factors`]); returns how many draws were done.
        #[target_feature(enable = $features)]
        // factors_avx2 is tested, not dispatched: half_life_factors' loop compiled for AVX2
        // runs at AVX2.
        #[cfg_attr(not(test), allow(dead_code))]
        pub(super) fn $factors(keep: &mut [f64], lambda: &mut [f64], half_life: &[f64]) -> usize {
            let n = half_life.len();
            let done = n - n % $width;
            let (keep, lambda) = (&mut keep[..done], &mut lambda[..done]);
            for d in (0..done).step_by($width) {
                // SAFETY: d + width ≤ done, the length of the three slices.
                unsafe {
                    let h = $load(half_life.as_ptr().add(d));
                    let k = $exp($div($set(-std::f64::consts::LN_2), h));
                    $store(keep.as_mut_ptr().add(d), k);
                    $store(lambda.as_mut_ptr().add(d), $sub($set(1.0), k));
                }
            }
            done
        }

        /// §12 for the draws of the whole groups of 0..n: Σ_t V_t into `sum` and, when
        /// `MONTHLY`, V_t into `v_months[t·n + d]`; returns how many draws were done.
        #[target_feature(enable = $features)]
        pub(super) fn $path<const MONTHLY: bool>(
            c: SeriesColumns<'_>,
            n: usize,
            months: usize,
            sum: &mut [f64],
            v_months: &mut [f64],
        ) -> usize {
            let done = n - n % $width;
            let (keep, lambda) = (&c.keep[..done], &c.lambda[..done]);
            let (month, partial) = (&c.month[..done], &c.partial[..done]);
            let (v_interim, v_deal) = (&c.v_interim[..done], &c.v_deal[..done]);
            let sum = &mut sum[..done];
            if MONTHLY {
                assert!(v_months.len() >= months * n);
            }
            let one = $set(1.0);
            for d in (0..done).step_by($width) {
                // SAFETY: d + width ≤ done, the length of every column sliced above, and
                // (t·n + d) + width ≤ months·n, checked above, for the monthly stores.
                unsafe {
                    let v_i = $load(v_interim.as_ptr().add(d));
                    let v_s = $load(v_deal.as_ptr().add(d));
                    let a = $load(partial.as_ptr().add(d));
                    let ln_i = $ln(v_i);
                    let ln_s = $ln(v_s);
                    let ln_p = $ln($add($mul(a, v_i), $mul($sub(one, a), v_s)));
                    let m = $load(month.as_ptr().add(d));
                    let keep = $load(keep.as_ptr().add(d));
                    let lambda = $load(lambda.as_ptr().add(d));
                    let mut ln_v = $set(0.0);
                    let mut total = $set(0.0);
                    // t as a double, counted up by 1.0 (exact): cheaper than converting t.
                    let mut start = $set(0.0);
                    for t in 0..months {
                        let a_t = $sub(m, start);
                        start = $add(start, one);
                        let target = $target(a_t, ln_i, ln_s, ln_p);
                        ln_v = $add($mul(keep, ln_v), $mul(lambda, target));
                        let v = $path_exp(ln_v);
                        if MONTHLY {
                            $store(v_months.as_mut_ptr().add(t * n + d), v);
                        }
                        total = $add(total, v);
                    }
                    $store(sum.as_mut_ptr().add(d), total);
                }
            }
            done
        }
    };
}

/// [`super::month_target`] of 8 lanes: ln V(interim) where m − t ≥ 1, ln V(scenario) where
/// m − t ≤ 0, the partial month's log otherwise (NaN included).
#[inline]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
fn month_target_avx512(a: __m512d, ln_i: __m512d, ln_s: __m512d, ln_p: __m512d) -> __m512d {
    let interim = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(a, _mm512_set1_pd(1.0));
    let deal = _mm512_cmp_pd_mask::<_CMP_LE_OQ>(a, _mm512_set1_pd(0.0));
    _mm512_mask_blend_pd(interim, _mm512_mask_blend_pd(deal, ln_p, ln_s), ln_i)
}

/// [`super::month_target`] of 4 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn month_target_avx2(a: __m256d, ln_i: __m256d, ln_s: __m256d, ln_p: __m256d) -> __m256d {
    let interim = _mm256_cmp_pd::<_CMP_GE_OQ>(a, _mm256_set1_pd(1.0));
    let deal = _mm256_cmp_pd::<_CMP_LE_OQ>(a, _mm256_set1_pd(0.0));
    _mm256_blendv_pd(_mm256_blendv_pd(ln_p, ln_s, deal), ln_i, interim)
}

path_groups!(
    "avx512f,avx512dq,avx512vl,avx512bw", 8,
    factors_avx512, path_avx512,
    load: _mm512_loadu_pd, store: _mm512_storeu_pd, set: _mm512_set1_pd,
    add: _mm512_add_pd, sub: _mm512_sub_pd, mul: _mm512_mul_pd, div: _mm512_div_pd,
    exp: exp_avx512, path_exp: exp_tabled_avx512, ln: ln_avx512,
    target: month_target_avx512
);

// The 4-draw form. Slower than the month-outer loop compiled for AVX2 with fastmath::exp
// (AVX2's 16 registers cannot hold a group's state and exp's 15 constants, so constants are
// re-broadcast every month), but with exp_tabled's table, which LLVM does not vectorise in the
// month-outer loop (a gather per lane), it is the faster form: dispatched at AVX2 (`path_timing`).
path_groups!(
    "avx2", 4,
    factors_avx2, path_avx2,
    load: _mm256_loadu_pd, store: _mm256_storeu_pd, set: _mm256_set1_pd,
    add: _mm256_add_pd, sub: _mm256_sub_pd, mul: _mm256_mul_pd, div: _mm256_div_pd,
    exp: exp_avx2, path_exp: exp_tabled_avx2, ln: ln_avx2,
    target: month_target_avx2
);
