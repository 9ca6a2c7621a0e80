//! `exp`, `ln` and `ln_1p` written so that a loop over a slice vectorises.
//!
//! Hand-written rather than taken from libm or a crate because the hot loop needs three things
//! at once that no available implementation gives: (1) no branches and no calls, so that LLVM
//! turns a loop over a block of draws into SIMD code (glibc's `exp`/`log` are scalar calls,
//! ~40 % of a draw's instructions before this module); (2) the same IEEE operations on every
//! instruction set, so results are bit-identical whether the SSE2 or the AVX2 version of a loop
//! runs (no FMA; a table is read only by index, the same doubles however it is read); (3)
//! accuracy within 1 ulp, so the kernel's 1e-12 solve tolerance is untouched.
//!
//! The algorithms are fdlibm's (Sun Microsystems, 1993; the basis of musl and of Java's
//! StrictMath): `exp` by argument reduction x = k·ln 2 + r, |r| ≤ ln 2 / 2, and a degree-5
//! Remez rational approximation of e^r; `ln` by reduction to m ∈ [√2/2, √2) and a degree-14
//! odd series in s = (m − 1)/(m + 1). Both are documented there as < 1 ulp; the tests below
//! check ≤ 1 ulp against glibc on millions of arguments. Special values are handled by
//! selects, not branches: NaN in, NaN out; exp(−∞) = 0, exp(+∞) = ∞; ln(0) = −∞, ln(∞) = ∞,
//! ln(x < 0) = NaN; subnormal inputs and outputs are exact to IEEE rounding.
//!
//! [`exp_tabled`] is a second e^x for the 12 monthly exponentials of MODEL.md §12's path only,
//! where the AVX-512 loop is bound by the FP ports: x = (16k + j)·ln 2/16 + r, |r| ≤ ln 2/32,
//! 2^(j/16) from a 16-entry table (one `vpermt2pd` on AVX-512, a gather on AVX2, an index in
//! scalar code; the same correctly rounded doubles, so the same bits), e^r − 1 by a degree-6
//! polynomial, no division: 25 vector operations against [`exp`]'s 27 with a division. Within
//! 1 ulp of glibc (measured on millions of arguments over [−50, 50] and the whole range,
//! subnormal results included); its results differ from [`exp`]'s in the last bit for some
//! arguments, which is why the rest of the engine keeps [`exp`].

// The coefficients keep fdlibm's published digits, so they can be checked against the source.
#![allow(clippy::excessive_precision)]

use std::f64::consts::LOG2_E;

/// 1.5·2^52: adding and subtracting it rounds a double of magnitude < 2^51 to an integer, and
/// the integer can then be read from the low bits of the sum, using only additions (SSE2 has no
/// vector conversion between 64-bit integers and doubles).
const ROUNDING_SHIFT: f64 = 6_755_399_441_055_744.0;

/// ln 2 split into a high part with 32 trailing zero bits (so k·LN2_HI is exact for |k| < 2^20)
/// and the rest (fdlibm).
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;

/// Remez coefficients of fdlibm's `e_exp.c`: R(r²) ≈ r·(e^r + 1)/(e^r − 1) − 2.
const EXP_P1: f64 = 1.666_666_666_666_660_190_37e-01;
const EXP_P2: f64 = -2.777_777_777_701_559_338_42e-03;
const EXP_P3: f64 = 6.613_756_321_437_934_361_17e-05;
const EXP_P4: f64 = -1.653_390_220_546_525_153_90e-06;
const EXP_P5: f64 = 4.138_136_797_057_238_460_39e-08;

/// Remez coefficients of fdlibm's `e_log.c`: ln(1+f) = 2s + s·R(s²), s = f/(2+f).
const LG1: f64 = 6.666_666_666_666_735_130e-01;
const LG2: f64 = 3.999_999_999_940_941_908e-01;
const LG3: f64 = 2.857_142_874_366_239_149e-01;
const LG4: f64 = 2.222_219_843_214_978_396e-01;
const LG5: f64 = 1.818_357_216_161_805_012e-01;
const LG6: f64 = 1.531_383_769_920_937_332e-01;
const LG7: f64 = 1.479_819_860_511_658_591e-01;

/// The integer held by `rounded + ROUNDING_SHIFT` (|integer| < 2^51), by integer subtraction.
#[inline(always)]
fn integer_bits(shifted: f64) -> i64 {
    (shifted.to_bits() as i64).wrapping_sub(ROUNDING_SHIFT.to_bits() as i64)
}

/// 2^k for −1022 ≤ k ≤ 1023, built from the exponent field.
#[inline(always)]
fn two_to(k: i64) -> f64 {
    f64::from_bits((k.wrapping_add(1023) as u64) << 52)
}

/// e^x, within 1 ulp; branch-free.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Beyond these, e^x is 0 or ∞ anyway; clamping keeps k within the range two_to can scale
    // by in two steps. NaN passes through (comparisons with NaN are false).
    let x = x.clamp(-746.0, 710.0);
    let shifted = x * LOG2_E + ROUNDING_SHIFT;
    let k = shifted - ROUNDING_SHIFT; // nearest integer to x / ln 2
    let hi = x - k * LN2_HI; // exact
    let lo = k * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi); // e^r ∈ [0.7, 1.42]

    // Scale by 2^k in two factors so that k from −1076 to 1024 stays representable: the
    // product overflows to ∞ or underflows (with IEEE rounding) exactly when e^x does.
    // k1 = round(k/2) and k are read from the shifted sums directly: `shifted` is k + shift
    // exactly (k is an integer below 2^51), and k·0.5 + shift is round(k/2) + shift, so the
    // round trips through k and round(k/2) that an earlier version took are not needed (the
    // same integers, three operations fewer; issue 16).
    let k1 = integer_bits(k * 0.5 + ROUNDING_SHIFT);
    let k2 = integer_bits(shifted) - k1;
    y * two_to(k1) * two_to(k2)
}

/// 2^(j/16), j = 0..15, correctly rounded (computed with mpmath at 60 digits): the table of
/// [`exp_tabled`].
const EXP_TABLE: [f64; 16] = [
    f64::from_bits(0x3ff0_0000_0000_0000),
    f64::from_bits(0x3ff0_b558_6cf9_890f),
    f64::from_bits(0x3ff1_72b8_3c7d_517b),
    f64::from_bits(0x3ff2_387a_6e75_6238),
    f64::from_bits(0x3ff3_06fe_0a31_b715),
    f64::from_bits(0x3ff3_dea6_4c12_3422),
    f64::from_bits(0x3ff4_bfda_d536_2a27),
    f64::from_bits(0x3ff5_ab07_dd48_5429),
    f64::from_bits(0x3ff6_a09e_667f_3bcd),
    f64::from_bits(0x3ff7_a114_73eb_0187),
    f64::from_bits(0x3ff8_ace5_422a_a0db),
    f64::from_bits(0x3ff9_c491_82a3_f090),
    f64::from_bits(0x3ffa_e89f_995a_d3ad),
    f64::from_bits(0x3ffc_199b_dd85_529c),
    f64::from_bits(0x3ffd_5818_dcfb_a487),
    f64::from_bits(0x3ffe_a4af_a2a4_90da),
];
/// 16/ln 2, and ln 2/16 split as fdlibm's [`LN2_HI`] and [`LN2_LO`] (exact divisions by 16):
/// n·TABLE_LN2_HI is exact for |n| < 2^20 (here |n| ≤ 17,221).
const SIXTEEN_OVER_LN2: f64 = 16.0 * LOG2_E;
const TABLE_LN2_HI: f64 = LN2_HI / 16.0;
const TABLE_LN2_LO: f64 = LN2_LO / 16.0;
/// e^r − 1 ≈ r + r²·(C2 + C3·r + C4·r² + C5·r³ + C6·r⁴) on |r| ≤ ln 2/32: a Chebyshev fit
/// (mpmath `chebyfit` of (e^r − 1 − r)/r², degree 4), relative error 2.8e-17 (0.13 ulp of
/// 1) after rounding the coefficients to doubles.
const EXP_C2: f64 = 0.5;
const EXP_C3: f64 = 0.166_666_666_653_016_9;
const EXP_C4: f64 = 0.041_666_666_664_960_45;
const EXP_C5: f64 = 0.008_333_449_701_253_456;
const EXP_C6: f64 = 0.001_388_903_434_859_946_4;
/// The clamp of [`exp_tabled`]: e^±746 is ∞ and 0 anyway; within it k = floor(n/16) stays
/// in [−1077, 1076], which the two scaling factors cover.
const EXP_TABLED_BOUND: f64 = 746.0;

/// e^x within 1 ulp (measured against glibc, tests), with fewer operations than [`exp`] on
/// AVX-512 (25 against 27, one of them a division): for the 12 monthly exponentials of
/// MODEL.md §12's path ([`vector::exp_tabled_avx512`] is bit-identical). With
/// n = round(16·x/ln 2) = 16k + j and r = x − n·ln 2/16 (|r| ≤ ln 2/32),
/// e^x = 2^k·2^(j/16)·e^r: 2^(j/16) from a 16-entry table (one `vpermt2pd` on AVX-512),
/// e^r − 1 by a degree-6 polynomial, and y = T + T·(e^r − 1) scaled by 2^k as [`exp`] does
/// (two exact-then-rounding factors here, one `vscalefpd` there). Branch-free; NaN in, NaN
/// out; exp(−∞) = 0, exp(+∞) = ∞; overflow to ∞ and subnormal results rounded once, as
/// [`exp`].
#[inline(always)]
pub fn exp_tabled(x: f64) -> f64 {
    let x = x.clamp(-EXP_TABLED_BOUND, EXP_TABLED_BOUND);
    let shifted = x * SIXTEEN_OVER_LN2 + ROUNDING_SHIFT;
    let n = shifted - ROUNDING_SHIFT; // nearest integer to 16·x / ln 2
    let r = (x - n * TABLE_LN2_HI) - n * TABLE_LN2_LO;
    let q = EXP_C5 + r * EXP_C6;
    let q = EXP_C4 + r * q;
    let q = EXP_C3 + r * q;
    let q = EXP_C2 + r * q;
    let p = r + (r * r) * q;
    // The shifted sum's low bits are n's (two's complement; the shift's low 51 bits are
    // zero), so j = n mod 16 and floor(n/16), floor(n/32) read from them directly.
    let bits = shifted.to_bits();
    let t = EXP_TABLE[(bits & 15) as usize];
    let y = t + t * p; // ∈ [0.97, 2.03]
                       // y·2^k, k = floor(n/16) ∈ [−1077, 1076], in two factors 2^k1, k1 = floor(k/2), and
                       // 2^(k − k1), both normal: y·2^k1 is exact and the second product rounds y·2^k once,
                       // as vscalefpd does. The exponent fields wrap modulo 2^64 like the integers they hold.
    let k1 = (bits & !31) << 47; // floor(n/32) in the exponent field
    let k = (bits & !15) << 48; // floor(n/16) in the exponent field
    let bias = 1023_u64 << 52;
    let scale1 = f64::from_bits(k1.wrapping_add(bias));
    let scale2 = f64::from_bits(k.wrapping_sub(k1).wrapping_add(bias));
    y * scale1 * scale2
}

/// ln x, within 1 ulp; branch-free.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    // Subnormals are scaled into the normal range first, so that the exponent field holds the
    // binary exponent.
    let subnormal = x < f64::MIN_POSITIVE;
    let scaled = if subnormal {
        x * 18_014_398_509_481_984.0
    } else {
        x
    }; // 2^54
    let extra = if subnormal { -54.0 } else { 0.0 };
    // Reduce to m ∈ [√2/2, √2): adding (0x3ff00000 − 0x3fe6a09e) to the high word carries into
    // the exponent exactly when the mantissa is at least √2's (fdlibm's trick, in 64 bits).
    let bits = scaled
        .to_bits()
        .wrapping_add((0x3ff0_0000_u64 - 0x3fe6_a09e) << 32);
    let exponent = ((bits >> 52) as i64) - 0x3ff;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_u64 << 32));
    let k = f64::from_bits(ROUNDING_SHIFT.to_bits().wrapping_add(exponent as u64)) - ROUNDING_SHIFT
        + extra;
    let f = m - 1.0;
    let half_f_squared = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let y = s * (half_f_squared + r) + k * LN2_LO - half_f_squared + f + k * LN2_HI;
    // Special values by select: 0 → −∞, +∞ → +∞, negative or NaN → NaN. Written as three
    // independent compare-and-selects: the earlier chained form (x > 0 && x < ∞, then x == 0,
    // then x == ∞) was turned by LLVM into a floating-point class test done with ~28 integer
    // vector instructions; this form takes 6, with the same result for every x (tested).
    let special = if x == 0.0 {
        f64::NEG_INFINITY
    } else {
        f64::NAN
    };
    let finite = if x > 0.0 { y } else { special };
    if x == f64::INFINITY {
        x
    } else {
        finite
    }
}

/// ln(1 + x), accurate also for tiny x; branch-free.
#[inline(always)]
pub fn ln_1p(x: f64) -> f64 {
    // u = 1 + x rounds; ln u − ((u − 1) − x)/u removes the rounding to first order (Goldberg,
    // "What every computer scientist should know about floating-point arithmetic", Thm. 4).
    let u = 1.0 + x;
    let correction = if u > 0.0 && u < f64::INFINITY {
        ((u - 1.0) - x) / u
    } else {
        0.0
    };
    if u == 1.0 {
        x
    } else {
        ln(u) - correction
    }
}

/// The instruction sets the vectorised loops are compiled for. Every loop runs the same IEEE
/// operations in the same order on each (no FMA), so the level changes speed, never bits
/// (tested by running the engine at every level, `tests/inputs/simd_levels.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// SSE2, which every x86-64 CPU has (and any other architecture: plain Rust).
    Generic,
    /// AVX2: four doubles per vector.
    Avx2,
    /// AVX-512 (F, DQ, VL, BW): eight doubles per vector.
    Avx512,
}

/// The environment variable that caps the instruction set (`generic`, `avx2`, `avx512` or
/// `auto`); for benchmarks and for checking that every level gives the same bits.
pub const SIMD_ENV: &str = "TARIFFSIM_SIMD";

impl SimdLevel {
    /// The best level this CPU supports.
    pub fn detected() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512bw")
            {
                return SimdLevel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::Generic
    }

    /// The level `TARIFFSIM_SIMD` asks for, capped at what the CPU has; `auto` or unset = the
    /// CPU's best. An unknown value is an error naming the accepted ones (the CLI checks it at
    /// start, so a typo does not silently run another level).
    pub fn from_env() -> Result<SimdLevel, String> {
        let detected = SimdLevel::detected();
        let asked = match std::env::var(SIMD_ENV) {
            Err(std::env::VarError::NotPresent) => return Ok(detected),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!(
                    "{SIMD_ENV}: not valid UTF-8; accepted: generic, avx2, avx512, auto"
                ))
            }
            Ok(value) => value,
        };
        let level = match asked.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => detected,
            "generic" | "sse2" => SimdLevel::Generic,
            "avx2" => SimdLevel::Avx2,
            "avx512" => SimdLevel::Avx512,
            other => {
                return Err(format!(
                    "{SIMD_ENV} = {other:?}: unknown instruction set; accepted: generic, avx2, avx512, auto"
                ))
            }
        };
        Ok(level.min(detected))
    }

    /// The level in force for this process: [`SimdLevel::from_env`] read once (an invalid
    /// value, which the CLI refuses before any work, falls back to the CPU's best).
    pub fn current() -> SimdLevel {
        static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
        *LEVEL.get_or_init(|| SimdLevel::from_env().unwrap_or_else(|_| SimdLevel::detected()))
    }
}

/// Whether the crate's AVX2 versions of its vectorised loops run. One definition for every
/// dispatch, so all stages agree on the instruction set.
#[inline]
pub(crate) fn has_avx2() -> bool {
    SimdLevel::current() >= SimdLevel::Avx2
}

/// Whether the crate's AVX-512 versions run: those are compiled with
/// `#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]`, the set
/// [`SimdLevel::detected`] checks.
#[inline]
pub(crate) fn has_avx512() -> bool {
    SimdLevel::current() >= SimdLevel::Avx512
}

/// Replaces every x of `values` by ln(1 + x), vectorised (AVX2 when the CPU has it: the same
/// bits as the scalar [`ln_1p`], since the same IEEE operations run).
pub fn ln_1p_in_place(values: &mut [f64]) {
    #[inline(always)]
    fn each(values: &mut [f64]) {
        values.iter_mut().for_each(|x| *x = ln_1p(*x));
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn each_avx2(values: &mut [f64]) {
        each(values)
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { each_avx2(values) };
        return;
    }
    each(values)
}

/// [`exp`] and [`ln`] on whole vectors of draws (AVX-512: 8, AVX2: 4), for loops that keep a
/// group of draws in registers through many steps (the monthly path of MODEL.md §12), which
/// LLVM does not vectorise from the scalar functions. Each runs exactly the scalar function's
/// IEEE operations in its order — separate multiply and add (no FMA), the same rounding-shift
/// integers, the same selects for the special values — so every lane has the scalar bits
/// (tested on millions of arguments and every special class).
#[cfg(target_arch = "x86_64")]
pub(crate) mod vector {
    use super::*;
    use std::arch::x86_64::*;

    /// (0x3ff00000 − 0x3fe6a09e) in the high word: [`ln`]'s reduction to [√2/2, √2).
    const LN_REDUCE: i64 = ((0x3ff0_0000_u64 - 0x3fe6_a09e) << 32) as i64;
    const LN_MANTISSA: i64 = 0x000f_ffff_ffff_ffff;
    const LN_HALF_SQRT2_HIGH: i64 = (0x3fe6_a09e_u64 << 32) as i64;
    /// 2^54, the scaling of subnormal arguments of [`ln`].
    const SUBNORMAL_SCALE: f64 = 18_014_398_509_481_984.0;

    /// [`exp`] of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    pub(crate) fn exp_avx512(x: __m512d) -> __m512d {
        let set = _mm512_set1_pd;
        // max(−746, x) and min(710, ·) return their second operand when it is NaN, as clamp
        // lets NaN through.
        let x = _mm512_min_pd(set(710.0), _mm512_max_pd(set(-746.0), x));
        let shift = set(ROUNDING_SHIFT);
        let shifted = _mm512_add_pd(_mm512_mul_pd(x, set(LOG2_E)), shift);
        let k = _mm512_sub_pd(shifted, shift);
        let hi = _mm512_sub_pd(x, _mm512_mul_pd(k, set(LN2_HI)));
        let lo = _mm512_mul_pd(k, set(LN2_LO));
        let r = _mm512_sub_pd(hi, lo);
        let t = _mm512_mul_pd(r, r);
        let p = _mm512_add_pd(set(EXP_P4), _mm512_mul_pd(t, set(EXP_P5)));
        let p = _mm512_add_pd(set(EXP_P3), _mm512_mul_pd(t, p));
        let p = _mm512_add_pd(set(EXP_P2), _mm512_mul_pd(t, p));
        let p = _mm512_add_pd(set(EXP_P1), _mm512_mul_pd(t, p));
        let c = _mm512_sub_pd(r, _mm512_mul_pd(t, p));
        let quotient = _mm512_div_pd(_mm512_mul_pd(r, c), _mm512_sub_pd(set(2.0), c));
        let y = _mm512_sub_pd(set(1.0), _mm512_sub_pd(_mm512_sub_pd(lo, quotient), hi));
        // y·2^k in one vscalefpd, which rounds the exact product once, as the scalar's
        // y·2^k1·2^k2 does: y·2^k1 is exact (y ∈ [0.7, 1.42], −538 ≤ k1 ≤ 512) and the second
        // product rounds, overflowing to ∞ or rounding to a subnormal exactly when y·2^k does.
        // NaN: both give y's NaN. Nine operations fewer than building 2^k1 and 2^k2 (tested
        // bit for bit against the scalar).
        _mm512_scalef_pd(y, k)
    }

    /// [`exp_tabled`] of 8 lanes: 25 vector operations (clamp 2, reduction 6, polynomial 11,
    /// table 1, T + T·p 2, scaling 2) against [`exp_avx512`]'s 27 and its division.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    pub(crate) fn exp_tabled_avx512(x: __m512d) -> __m512d {
        let set = _mm512_set1_pd;
        // As exp_avx512's clamp (NaN through). vrangepd would clamp to ±746 in one operation
        // but returns the bound for a NaN (minNum), so it would need a select as well.
        let x = _mm512_min_pd(
            set(EXP_TABLED_BOUND),
            _mm512_max_pd(set(-EXP_TABLED_BOUND), x),
        );
        let shift = set(ROUNDING_SHIFT);
        let shifted = _mm512_add_pd(_mm512_mul_pd(x, set(SIXTEEN_OVER_LN2)), shift);
        let n = _mm512_sub_pd(shifted, shift);
        let hi = _mm512_sub_pd(x, _mm512_mul_pd(n, set(TABLE_LN2_HI)));
        let r = _mm512_sub_pd(hi, _mm512_mul_pd(n, set(TABLE_LN2_LO)));
        let q = _mm512_add_pd(set(EXP_C5), _mm512_mul_pd(r, set(EXP_C6)));
        let q = _mm512_add_pd(set(EXP_C4), _mm512_mul_pd(r, q));
        let q = _mm512_add_pd(set(EXP_C3), _mm512_mul_pd(r, q));
        let q = _mm512_add_pd(set(EXP_C2), _mm512_mul_pd(r, q));
        let p = _mm512_add_pd(r, _mm512_mul_pd(_mm512_mul_pd(r, r), q));
        // vpermt2pd reads the low 4 bits of each index lane: j = n mod 16 from the shifted
        // sum's bits, over the table's two registers.
        // SAFETY (of the loads): EXP_TABLE holds 16 doubles, two vectors of 8.
        let (low, high) = unsafe {
            (
                _mm512_loadu_pd(EXP_TABLE.as_ptr()),
                _mm512_loadu_pd(EXP_TABLE.as_ptr().add(8)),
            )
        };
        let t = _mm512_permutex2var_pd(low, _mm512_castpd_si512(shifted), high);
        let y = _mm512_add_pd(t, _mm512_mul_pd(t, p));
        // vscalefpd multiplies by 2^floor(n/16) and rounds once: the scalar's two factors.
        _mm512_scalef_pd(y, _mm512_mul_pd(n, set(1.0 / 16.0)))
    }

    /// [`ln`] of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    pub(crate) fn ln_avx512(x: __m512d) -> __m512d {
        let set = _mm512_set1_pd;
        let subnormal = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(x, set(f64::MIN_POSITIVE));
        let scaled = _mm512_mask_blend_pd(subnormal, x, _mm512_mul_pd(x, set(SUBNORMAL_SCALE)));
        let extra = _mm512_mask_blend_pd(subnormal, set(0.0), set(-54.0));
        let bits = _mm512_add_epi64(_mm512_castpd_si512(scaled), _mm512_set1_epi64(LN_REDUCE));
        let exponent = _mm512_sub_epi64(_mm512_srli_epi64::<52>(bits), _mm512_set1_epi64(0x3ff));
        let m = _mm512_castsi512_pd(_mm512_add_epi64(
            _mm512_and_si512(bits, _mm512_set1_epi64(LN_MANTISSA)),
            _mm512_set1_epi64(LN_HALF_SQRT2_HIGH),
        ));
        let shift_bits = _mm512_set1_epi64(ROUNDING_SHIFT.to_bits() as i64);
        let k = _mm512_sub_pd(
            _mm512_castsi512_pd(_mm512_add_epi64(shift_bits, exponent)),
            set(ROUNDING_SHIFT),
        );
        let k = _mm512_add_pd(k, extra);
        let f = _mm512_sub_pd(m, set(1.0));
        let half_f_squared = _mm512_mul_pd(_mm512_mul_pd(set(0.5), f), f);
        let s = _mm512_div_pd(f, _mm512_add_pd(set(2.0), f));
        let z = _mm512_mul_pd(s, s);
        let w = _mm512_mul_pd(z, z);
        let t1 = _mm512_add_pd(set(LG4), _mm512_mul_pd(w, set(LG6)));
        let t1 = _mm512_mul_pd(w, _mm512_add_pd(set(LG2), _mm512_mul_pd(w, t1)));
        let t2 = _mm512_add_pd(set(LG5), _mm512_mul_pd(w, set(LG7)));
        let t2 = _mm512_add_pd(set(LG3), _mm512_mul_pd(w, t2));
        let t2 = _mm512_mul_pd(z, _mm512_add_pd(set(LG1), _mm512_mul_pd(w, t2)));
        let r = _mm512_add_pd(t2, t1);
        let y = _mm512_mul_pd(s, _mm512_add_pd(half_f_squared, r));
        let y = _mm512_add_pd(y, _mm512_mul_pd(k, set(LN2_LO)));
        let y = _mm512_sub_pd(y, half_f_squared);
        let y = _mm512_add_pd(y, f);
        let y = _mm512_add_pd(y, _mm512_mul_pd(k, set(LN2_HI)));
        let zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(x, set(0.0));
        let special = _mm512_mask_blend_pd(zero, set(f64::NAN), set(f64::NEG_INFINITY));
        let positive = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(x, set(0.0));
        let finite = _mm512_mask_blend_pd(positive, special, y);
        let infinite = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(x, set(f64::INFINITY));
        _mm512_mask_blend_pd(infinite, finite, x)
    }

    /// [`exp`] of 4 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    #[cfg_attr(not(test), allow(dead_code))] // its 4-draw factors loop is not dispatched
    pub(crate) fn exp_avx2(x: __m256d) -> __m256d {
        let set = _mm256_set1_pd;
        let x = _mm256_min_pd(set(710.0), _mm256_max_pd(set(-746.0), x));
        let shift = set(ROUNDING_SHIFT);
        let shifted = _mm256_add_pd(_mm256_mul_pd(x, set(LOG2_E)), shift);
        let k = _mm256_sub_pd(shifted, shift);
        let hi = _mm256_sub_pd(x, _mm256_mul_pd(k, set(LN2_HI)));
        let lo = _mm256_mul_pd(k, set(LN2_LO));
        let r = _mm256_sub_pd(hi, lo);
        let t = _mm256_mul_pd(r, r);
        let p = _mm256_add_pd(set(EXP_P4), _mm256_mul_pd(t, set(EXP_P5)));
        let p = _mm256_add_pd(set(EXP_P3), _mm256_mul_pd(t, p));
        let p = _mm256_add_pd(set(EXP_P2), _mm256_mul_pd(t, p));
        let p = _mm256_add_pd(set(EXP_P1), _mm256_mul_pd(t, p));
        let c = _mm256_sub_pd(r, _mm256_mul_pd(t, p));
        let quotient = _mm256_div_pd(_mm256_mul_pd(r, c), _mm256_sub_pd(set(2.0), c));
        let y = _mm256_sub_pd(set(1.0), _mm256_sub_pd(_mm256_sub_pd(lo, quotient), hi));
        let shift_bits = _mm256_set1_epi64x(ROUNDING_SHIFT.to_bits() as i64);
        let half = _mm256_add_pd(_mm256_mul_pd(k, set(0.5)), shift);
        let k1 = _mm256_sub_epi64(_mm256_castpd_si256(half), shift_bits);
        let k_all = _mm256_sub_epi64(_mm256_castpd_si256(shifted), shift_bits);
        let k2 = _mm256_sub_epi64(k_all, k1);
        let bias = _mm256_set1_epi64x(1023);
        let scale1 = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(k1, bias)));
        let scale2 = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(k2, bias)));
        _mm256_mul_pd(_mm256_mul_pd(y, scale1), scale2)
    }

    /// [`exp_tabled`] of 4 lanes (the table by a gather, the scaling as the scalar's): the monthly
    /// path's exponential at AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn exp_tabled_avx2(x: __m256d) -> __m256d {
        let set = _mm256_set1_pd;
        let x = _mm256_min_pd(
            set(EXP_TABLED_BOUND),
            _mm256_max_pd(set(-EXP_TABLED_BOUND), x),
        );
        let shift = set(ROUNDING_SHIFT);
        let shifted = _mm256_add_pd(_mm256_mul_pd(x, set(SIXTEEN_OVER_LN2)), shift);
        let n = _mm256_sub_pd(shifted, shift);
        let hi = _mm256_sub_pd(x, _mm256_mul_pd(n, set(TABLE_LN2_HI)));
        let r = _mm256_sub_pd(hi, _mm256_mul_pd(n, set(TABLE_LN2_LO)));
        let q = _mm256_add_pd(set(EXP_C5), _mm256_mul_pd(r, set(EXP_C6)));
        let q = _mm256_add_pd(set(EXP_C4), _mm256_mul_pd(r, q));
        let q = _mm256_add_pd(set(EXP_C3), _mm256_mul_pd(r, q));
        let q = _mm256_add_pd(set(EXP_C2), _mm256_mul_pd(r, q));
        let p = _mm256_add_pd(r, _mm256_mul_pd(_mm256_mul_pd(r, r), q));
        let bits = _mm256_castpd_si256(shifted);
        let j = _mm256_and_si256(bits, _mm256_set1_epi64x(15));
        // SAFETY: every index is in 0..16, within EXP_TABLE.
        let t = unsafe { _mm256_i64gather_pd::<8>(EXP_TABLE.as_ptr(), j) };
        let y = _mm256_add_pd(t, _mm256_mul_pd(t, p));
        let k1 = _mm256_slli_epi64::<47>(_mm256_and_si256(bits, _mm256_set1_epi64x(!31)));
        let k = _mm256_slli_epi64::<48>(_mm256_and_si256(bits, _mm256_set1_epi64x(!15)));
        let bias = _mm256_set1_epi64x(1023 << 52);
        let scale1 = _mm256_castsi256_pd(_mm256_add_epi64(k1, bias));
        let scale2 = _mm256_castsi256_pd(_mm256_add_epi64(_mm256_sub_epi64(k, k1), bias));
        _mm256_mul_pd(_mm256_mul_pd(y, scale1), scale2)
    }

    /// [`ln`] of 4 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) fn ln_avx2(x: __m256d) -> __m256d {
        let set = _mm256_set1_pd;
        // blendv takes the second operand where the mask lane is all ones.
        let subnormal = _mm256_cmp_pd::<_CMP_LT_OQ>(x, set(f64::MIN_POSITIVE));
        let scaled = _mm256_blendv_pd(x, _mm256_mul_pd(x, set(SUBNORMAL_SCALE)), subnormal);
        let extra = _mm256_blendv_pd(set(0.0), set(-54.0), subnormal);
        let bits = _mm256_add_epi64(_mm256_castpd_si256(scaled), _mm256_set1_epi64x(LN_REDUCE));
        let exponent = _mm256_sub_epi64(_mm256_srli_epi64::<52>(bits), _mm256_set1_epi64x(0x3ff));
        let m = _mm256_castsi256_pd(_mm256_add_epi64(
            _mm256_and_si256(bits, _mm256_set1_epi64x(LN_MANTISSA)),
            _mm256_set1_epi64x(LN_HALF_SQRT2_HIGH),
        ));
        let shift_bits = _mm256_set1_epi64x(ROUNDING_SHIFT.to_bits() as i64);
        let k = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_add_epi64(shift_bits, exponent)),
            set(ROUNDING_SHIFT),
        );
        let k = _mm256_add_pd(k, extra);
        let f = _mm256_sub_pd(m, set(1.0));
        let half_f_squared = _mm256_mul_pd(_mm256_mul_pd(set(0.5), f), f);
        let s = _mm256_div_pd(f, _mm256_add_pd(set(2.0), f));
        let z = _mm256_mul_pd(s, s);
        let w = _mm256_mul_pd(z, z);
        let t1 = _mm256_add_pd(set(LG4), _mm256_mul_pd(w, set(LG6)));
        let t1 = _mm256_mul_pd(w, _mm256_add_pd(set(LG2), _mm256_mul_pd(w, t1)));
        let t2 = _mm256_add_pd(set(LG5), _mm256_mul_pd(w, set(LG7)));
        let t2 = _mm256_add_pd(set(LG3), _mm256_mul_pd(w, t2));
        let t2 = _mm256_mul_pd(z, _mm256_add_pd(set(LG1), _mm256_mul_pd(w, t2)));
        let r = _mm256_add_pd(t2, t1);
        let y = _mm256_mul_pd(s, _mm256_add_pd(half_f_squared, r));
        let y = _mm256_add_pd(y, _mm256_mul_pd(k, set(LN2_LO)));
        let y = _mm256_sub_pd(y, half_f_squared);
        let y = _mm256_add_pd(y, f);
        let y = _mm256_add_pd(y, _mm256_mul_pd(k, set(LN2_HI)));
        let zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(x, set(0.0));
        let special = _mm256_blendv_pd(set(f64::NAN), set(f64::NEG_INFINITY), zero);
        let positive = _mm256_cmp_pd::<_CMP_GT_OQ>(x, set(0.0));
        let finite = _mm256_blendv_pd(special, y, positive);
        let infinite = _mm256_cmp_pd::<_CMP_EQ_OQ>(x, set(f64::INFINITY));
        _mm256_blendv_pd(finite, x, infinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Distance in units in the last place between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn exp_within_one_ulp_of_glibc() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut worst = 0;
        for _ in 0..2_000_000 {
            let x: f64 = rng.random_range(-745.0..709.7);
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(-5.0..5.0);
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 1, "worst {worst} ulps");
    }

    /// [`exp_tabled`] against glibc on millions of arguments over [−50, 50] (the path's ln V_t
    /// lies well inside), over the whole finite range, and at the edges: the worst measured
    /// is 1 ulp (both roundings of the table value and of T + T·p can fall the same way;
    /// the polynomial adds 0.13 ulp at most).
    #[test]
    fn exp_tabled_within_one_ulp_of_glibc() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut worst = 0;
        for _ in 0..4_000_000 {
            let x: f64 = rng.random_range(-50.0..50.0);
            worst = worst.max(ulps(exp_tabled(x), x.exp()));
        }
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(-2.0..2.0);
            worst = worst.max(ulps(exp_tabled(x), x.exp()));
        }
        for _ in 0..2_000_000 {
            // Normal results: below −708.39, subnormal results have fewer bits to compare.
            let x: f64 = rng.random_range(-708.3..709.78);
            worst = worst.max(ulps(exp_tabled(x), x.exp()));
        }
        for n in -17_000..17_000 {
            let x = (n as f64 + 0.5) * std::f64::consts::LN_2 / 16.0;
            for x in [x, x.next_up(), x.next_down()] {
                worst = worst.max(ulps(exp_tabled(x), x.exp()));
            }
        }
        eprintln!("exp_tabled: worst {worst} ulps");
        assert!(worst <= 1, "worst {worst} ulps");
        // Subnormal results: within 1 ulp of the subnormal grid too.
        let mut worst_subnormal = 0;
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(-745.2..-708.3);
            worst_subnormal = worst_subnormal.max(ulps(exp_tabled(x), x.exp()));
        }
        assert!(
            worst_subnormal <= 1,
            "subnormal: worst {worst_subnormal} ulps"
        );
        assert_eq!(exp_tabled(0.0), 1.0);
        assert_eq!(exp_tabled(-0.0), 1.0);
        assert_eq!(exp_tabled(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_tabled(-746.0), 0.0);
        assert_eq!(exp_tabled(-1e300), 0.0);
        assert_eq!(exp_tabled(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_tabled(709.8), f64::INFINITY);
        assert_eq!(exp_tabled(1e300), f64::INFINITY);
        assert!(exp_tabled(f64::NAN).is_nan());
        assert_eq!(exp_tabled(f64::from_bits(1)), 1.0);
        assert_eq!(exp_tabled(-745.2), 0.0);
        assert_eq!(exp_tabled(-745.1), (-745.1f64).exp()); // the smallest subnormal
        assert!(ulps(exp_tabled(709.78), 709.78f64.exp()) <= 1);
    }

    /// The scaling reads k and round(k/2) from the shifted sums directly (issue 16): the same
    /// integers as the round trips of the earlier version, so the same bits for every x.
    #[test]
    fn exp_scaling_reads_the_same_integers_as_before() {
        let old = |x: f64| {
            let x = x.clamp(-746.0, 710.0);
            let k = (x * LOG2_E + ROUNDING_SHIFT) - ROUNDING_SHIFT;
            let half = (k * 0.5 + ROUNDING_SHIFT) - ROUNDING_SHIFT;
            let k1 = integer_bits(half + ROUNDING_SHIFT);
            (k1, integer_bits(k + ROUNDING_SHIFT) - k1)
        };
        let new = |x: f64| {
            let x = x.clamp(-746.0, 710.0);
            let shifted = x * LOG2_E + ROUNDING_SHIFT;
            let k = shifted - ROUNDING_SHIFT;
            let k1 = integer_bits(k * 0.5 + ROUNDING_SHIFT);
            (k1, integer_bits(shifted) - k1)
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(-800.0..800.0);
            assert_eq!(old(x), new(x), "{x}");
        }
        for x in [
            -746.0,
            -745.5,
            -0.0,
            0.0,
            1e-300,
            709.9,
            710.0,
            f64::MAX,
            -f64::MAX,
        ] {
            assert_eq!(old(x), new(x), "{x}");
        }
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(709.8), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(709.78), 709.78f64.exp());
        // Subnormal results round as IEEE does (glibc is correctly rounded there too).
        for &x in &[-708.5, -720.0, -740.0, -744.4, -745.1] {
            assert!(ulps(exp(x), x.exp()) <= 1, "{x}");
        }
        assert_eq!(exp(1e-300), 1.0);
    }

    #[test]
    fn ln_within_one_ulp_of_glibc() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut worst = 0;
        for _ in 0..2_000_000 {
            // Log-uniform over the whole positive range, subnormals included.
            let x = f64::from_bits(rng.random_range(1..0x7fef_ffff_ffff_ffff_u64));
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(0.5..2.0);
            worst = worst.max(ulps(ln(x), x.ln()));
        }
        assert!(worst <= 1, "worst {worst} ulps");
    }

    /// The special values by three selects (issue 16) give what the chained form gave, for
    /// every class of x.
    #[test]
    fn ln_selects_as_the_chained_form() {
        let chained = |x: f64, y: f64| {
            if x > 0.0 && x < f64::INFINITY {
                y
            } else if x == 0.0 {
                f64::NEG_INFINITY
            } else if x == f64::INFINITY {
                x
            } else {
                f64::NAN
            }
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let mut xs = vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 8.0,
            f64::MAX,
            -1.0,
            -f64::MIN_POSITIVE / 8.0,
        ];
        xs.extend((0..100_000).map(|_| f64::from_bits(rng.random::<u64>())));
        for x in xs {
            let want = chained(x, ln(x));
            let got = ln(x);
            assert!(
                want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                "{x:e}: {want} vs {got}"
            );
        }
    }

    #[test]
    fn ln_special_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(-0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NAN).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert_eq!(ln(f64::MIN_POSITIVE / 4.0), (f64::MIN_POSITIVE / 4.0).ln());
        assert_eq!(ln(std::f64::consts::E), 1.0);
    }

    #[test]
    fn slice_version_equals_scalar_version() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let xs: Vec<f64> = (0..1003).map(|_| rng.random_range(-0.9..5.0)).collect();
        let mut ys = xs.clone();
        ln_1p_in_place(&mut ys);
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(ln_1p(*x).to_bits(), y.to_bits());
        }
    }

    #[test]
    fn ln_1p_keeps_relative_accuracy_near_zero() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut worst = 0;
        for _ in 0..1_000_000 {
            let x: f64 = rng.random_range(-0.5..3.0);
            worst = worst.max(ulps(ln_1p(x), x.ln_1p()));
        }
        for &x in &[1e-300, 1e-17, 1e-12, 3e-9, 1e-5, -1e-10] {
            worst = worst.max(ulps(ln_1p(x), x.ln_1p()));
        }
        assert!(worst <= 2, "worst {worst} ulps");
        assert_eq!(ln_1p(0.0), 0.0);
        assert_eq!(ln_1p(-1.0), f64::NEG_INFINITY);
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod vector_tests {
    use super::vector::*;
    use super::*;
    use rand::{RngExt, SeedableRng};
    use std::arch::x86_64::*;

    /// Every class of argument the scalar functions treat apart, the boundaries of their range
    /// checks and of their results' range, the halfway points of exp's reduction, and millions
    /// of random ones: arbitrary bit patterns, the ranges the kernel uses, and log-uniform
    /// positives.
    fn arguments() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff8_dead_beef_0001),
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE.next_up(),
            f64::MIN_POSITIVE.next_down(),
            f64::MIN_POSITIVE / 2.0,
            f64::from_bits(1),
            -f64::from_bits(1),
            -f64::MIN_POSITIVE,
            f64::MAX,
            -f64::MAX,
            1.0,
            -1.0,
            1.0f64.next_up(),
            1.0f64.next_down(),
            std::f64::consts::SQRT_2,
            std::f64::consts::FRAC_1_SQRT_2,
            1e-300,
            -1e-300,
            1e300,
            // exp: the clamps, overflow, the subnormal results and their end.
            -746.0,
            710.0,
            709.782_712_893_384,
            709.79,
            -708.396_418_532_264_1,
            -745.133_219_101_941_1,
            -745.2,
            -744.44,
        ];
        for x in [-746.0, 710.0, 709.782_712_893_384, -708.396_418_532_264_1] {
            xs.extend([f64::next_up(x), f64::next_down(x)]);
        }
        // k·ln 2 and the halfway points (k + ½)·ln 2, where the rounding of x/ln 2 turns.
        for k in -1080..1030 {
            for x in [
                k as f64 * std::f64::consts::LN_2,
                (k as f64 + 0.5) * std::f64::consts::LN_2,
            ] {
                xs.extend([x, x.next_up(), x.next_down()]);
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
        xs.extend((0..2_000_000).map(|_| f64::from_bits(rng.random::<u64>())));
        xs.extend((0..1_000_000).map(|_| rng.random_range(-750.0..720.0)));
        xs.extend((0..1_000_000).map(|_| rng.random_range(-3.0..3.0)));
        xs.extend(
            (0..1_000_000).map(|_| f64::from_bits(rng.random_range(1..0x7ff0_0000_0000_0000_u64))),
        );
        xs.extend((0..1_000_000).map(|_| rng.random_range(0.2..1.5)));
        xs
    }

    macro_rules! lanes {
        ($name:ident, $features:literal, $width:literal, $load:ident, $store:ident, $f:ident) => {
            #[target_feature(enable = $features)]
            fn $name(xs: &[f64]) -> Vec<f64> {
                let mut out = vec![0.0; xs.len()];
                for (x, o) in xs.chunks_exact($width).zip(out.chunks_exact_mut($width)) {
                    // SAFETY: each chunk holds exactly one vector of lanes.
                    unsafe { $store(o.as_mut_ptr(), $f($load(x.as_ptr()))) };
                }
                out
            }
        };
    }
    const AVX512: &str = "avx512f,avx512dq,avx512vl,avx512bw";
    lanes!(
        exp_lanes_avx512,
        "avx512f,avx512dq,avx512vl,avx512bw",
        8,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        exp_avx512
    );
    lanes!(
        ln_lanes_avx512,
        "avx512f,avx512dq,avx512vl,avx512bw",
        8,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        ln_avx512
    );
    lanes!(
        exp_lanes_avx2,
        "avx2",
        4,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        exp_avx2
    );
    lanes!(
        ln_lanes_avx2,
        "avx2",
        4,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        ln_avx2
    );

    lanes!(
        exp_tabled_lanes_avx512,
        "avx512f,avx512dq,avx512vl,avx512bw",
        8,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        exp_tabled_avx512
    );
    lanes!(
        exp_tabled_lanes_avx2,
        "avx2",
        4,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        exp_tabled_avx2
    );

    /// [`arguments`] and, for [`exp_tabled`], the ends of its clamp, the points where
    /// n = round(16·x/ln 2) turns, and the path's range of ln V_t.
    fn tabled_arguments() -> Vec<f64> {
        let mut xs = arguments();
        for x in [-746.0, 746.0] {
            xs.extend([x, f64::next_up(x), f64::next_down(x)]);
        }
        for n in -17_300..17_300 {
            let x = (n as f64 + 0.5) * std::f64::consts::LN_2 / 16.0;
            xs.extend([x, x.next_up(), x.next_down()]);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        xs.extend((0..1_000_000).map(|_| rng.random_range(-50.0..50.0)));
        xs
    }

    #[test]
    fn avx512_exp_tabled_gives_the_scalar_bits() {
        if SimdLevel::detected() < SimdLevel::Avx512 {
            eprintln!("no {AVX512}: skipped");
            return;
        }
        let xs = tabled_arguments();
        // SAFETY: the CPU has AVX-512 (checked above).
        let e = unsafe { exp_tabled_lanes_avx512(&xs) };
        assert_same_bits("exp_tabled", &xs, exp_tabled, &e);
    }

    #[test]
    fn avx2_exp_tabled_gives_the_scalar_bits() {
        if SimdLevel::detected() < SimdLevel::Avx2 {
            eprintln!("no AVX2: skipped");
            return;
        }
        let xs = tabled_arguments();
        // SAFETY: the CPU has AVX2 (checked above).
        let e = unsafe { exp_tabled_lanes_avx2(&xs) };
        assert_same_bits("exp_tabled", &xs, exp_tabled, &e);
    }

    fn assert_same_bits(what: &str, xs: &[f64], scalar: fn(f64) -> f64, lanes: &[f64]) {
        let whole = xs.len() - xs.len() % 8;
        for (&x, &got) in xs[..whole].iter().zip(lanes) {
            let want = scalar(x);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{what}({x:e} = {:#x}): {got:e} vs {want:e}",
                x.to_bits()
            );
        }
    }

    #[test]
    fn avx512_exp_and_ln_give_the_scalar_bits() {
        if SimdLevel::detected() < SimdLevel::Avx512 {
            eprintln!("no {AVX512}: skipped");
            return;
        }
        let xs = arguments();
        // SAFETY: the CPU has AVX-512 (checked above).
        let (e, l) = unsafe { (exp_lanes_avx512(&xs), ln_lanes_avx512(&xs)) };
        assert_same_bits("exp", &xs, exp, &e);
        assert_same_bits("ln", &xs, ln, &l);
    }

    #[test]
    fn avx2_exp_and_ln_give_the_scalar_bits() {
        if SimdLevel::detected() < SimdLevel::Avx2 {
            eprintln!("no AVX2: skipped");
            return;
        }
        let xs = arguments();
        // SAFETY: the CPU has AVX2 (checked above).
        let (e, l) = unsafe { (exp_lanes_avx2(&xs), ln_lanes_avx2(&xs)) };
        assert_same_bits("exp", &xs, exp, &e);
        assert_same_bits("ln", &xs, ln, &l);
    }
}
