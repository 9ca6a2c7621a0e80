//! Standard normal CDF and quantile, accurate to about one part in 1e15 relative in both tails.
//!
//! Hand-written rather than taken from a crate: `f64::erfc` is not stable in Rust 1.95, and the
//! crates at hand (statrs, libm) compute Φ(z) as `erfc(-z/√2)/2`, which loses up to three digits
//! in the far tail because the rounding of `z/√2` and of `z²` is amplified by `exp(-z²/2)`.
//! Here the exponential is split exactly (Cody 1969; fdlibm `s_erf.c`), so Φ(-37) keeps its
//! relative accuracy.

// Coefficients are kept digit for digit as published, even past double precision.
#![allow(clippy::excessive_precision)]

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

/// √2, for converting between the normal and the error-function scale.
const SQRT_2: f64 = std::f64::consts::SQRT_2;

// Rational approximations of erf/erfc from Sun Microsystems' fdlibm `s_erf.c` (1993), the
// published coefficients used by most C libraries; relative error below one ulp per piece.
const ERX: f64 = 8.450_629_115_104_675e-1;
const PP: [f64; 5] = [
    1.283_791_670_955_125_6e-1,
    -3.250_421_072_470_015e-1,
    -2.848_174_957_559_851e-2,
    -5.770_270_296_489_442e-3,
    -2.376_301_665_665_016_3e-5,
];
const QQ: [f64; 5] = [
    3.979_172_239_591_553_5e-1,
    6.502_224_998_876_729e-2,
    5.081_306_281_875_766e-3,
    1.324_947_380_043_216_4e-4,
    -3.960_228_278_775_368e-6,
];
const PA: [f64; 7] = [
    -2.362_118_560_752_659_4e-3,
    4.148_561_186_837_483_3e-1,
    -3.722_078_760_357_013e-1,
    3.183_466_199_011_617_5e-1,
    -1.108_946_942_823_966_8e-1,
    3.547_830_432_561_823_6e-2,
    -2.166_375_594_868_790_8e-3,
];
const QA: [f64; 6] = [
    1.064_208_804_008_442_3e-1,
    5.403_979_177_021_71e-1,
    7.182_865_441_419_627e-2,
    1.261_712_198_087_616_4e-1,
    1.363_708_391_202_905e-2,
    1.198_449_984_679_910_8e-2,
];
const RA: [f64; 8] = [
    -9.864_944_034_847_148e-3,
    -6.938_585_727_071_818e-1,
    -1.055_862_622_532_329_1e1,
    -6.237_533_245_032_600_6e1,
    -1.623_966_694_625_734_7e2,
    -1.846_050_929_067_110_3e2,
    -8.128_743_550_630_659e1,
    -9.814_329_344_169_145,
];
const SA: [f64; 8] = [
    1.965_127_166_743_925_7e1,
    1.376_577_541_435_190_4e2,
    4.345_658_774_752_292_3e2,
    6.453_872_717_332_679e2,
    4.290_081_400_275_678_3e2,
    1.086_350_055_417_794_3e2,
    6.570_249_770_319_282,
    -6.042_441_521_485_81e-2,
];
const RB: [f64; 7] = [
    -9.864_942_924_700_099e-3,
    -7.992_832_376_805_23e-1,
    -1.775_795_491_775_475_2e1,
    -1.606_363_848_558_219_2e2,
    -6.375_664_433_683_896e2,
    -1.025_095_131_611_077_2e3,
    -4.835_191_916_086_514e2,
];
const SB: [f64; 7] = [
    3.033_806_074_348_246e1,
    3.257_925_129_965_739e2,
    1.536_729_586_084_437e3,
    3.199_858_219_508_595_7e3,
    2.553_050_406_433_164_4e3,
    4.745_285_412_069_553_7e2,
    -2.244_095_244_658_581_8e1,
];

/// Horner evaluation of c[0] + c[1] s + c[2] s² + …, for finite s.
///
/// Starts from the last coefficient rather than from 0·s + c[n−1]: the same value for finite s
/// (0·s = ±0 and ±0 + c = c, no coefficient being zero), two operations fewer. Every caller's s
/// is finite on the paths whose result is kept.
#[inline(always)]
fn poly(c: &[f64], s: f64) -> f64 {
    let (&last, rest) = c.split_last().expect("a polynomial has coefficients");
    rest.iter().rev().fold(last, |acc, &ci| acc * s + ci)
}

/// 1 + s (q[0] + q[1] s + …), the fdlibm denominators.
#[inline(always)]
fn poly1(q: &[f64], s: f64) -> f64 {
    1.0 + s * poly(q, s)
}

/// Where `lower_tail_central` applies: x = |z|/√2 below this.
const ERF_CENTRAL_LIMIT: f64 = 0.84375;

/// Φ(−√2·x) for 0 ≤ x < 0.84375 (fdlibm's first erf piece). Shared by `lower_tail` and the
/// column pass of `standard_normal_cdf_column` (and mirrored operation for operation in
/// `avx2`), so all give the same bits.
#[inline(always)]
fn lower_tail_central(x: f64) -> f64 {
    // Φ ≥ 0.11 here: 1/2 − erf(x)/2 cancels at most a few bits.
    let t = x * x;
    let erf = x + x * (poly(&PP, t) / poly1(&QQ, t));
    0.5 - 0.5 * erf
}

/// Where `lower_tail_near` applies: x from `ERF_CENTRAL_LIMIT` up to this.
const ERF_NEAR_LIMIT: f64 = 1.25;

/// Φ(−√2·x) for 0.84375 ≤ x < 1.25 (fdlibm's second erfc piece), mirrored in `avx2`.
#[inline(always)]
fn lower_tail_near(x: f64) -> f64 {
    let s = x - 1.0;
    let erfc = (1.0 - ERX) - poly(&PA, s) / poly1(&QA, s);
    0.5 * erfc
}

/// Lower-tail probability Φ(z) for z ≤ 0, with full relative accuracy down to underflow.
fn lower_tail(z: f64) -> f64 {
    let a = -z; // a ≥ 0
    let x = a / SQRT_2;
    if x < ERF_CENTRAL_LIMIT {
        return lower_tail_central(x);
    }
    if x < ERF_NEAR_LIMIT {
        return lower_tail_near(x);
    }
    if a > 38.5 {
        // Φ(−38.5) ≈ 2e−324: below the smallest subnormal.
        return 0.0;
    }
    let s = 1.0 / (x * x);
    let rs = if x < 1.0 / 0.35 {
        poly(&RA, s) / poly1(&SA, s)
    } else {
        poly(&RB, s) / poly1(&SB, s)
    };
    // exp(−a²/2) with a = ah + (a − ah), ah holding ~20 significant bits so ah² is exact:
    // the split keeps the rounding of a² (≈1500 ulps at a = 38) out of the exponent.
    let ah = f64::from_bits(a.to_bits() & 0xffff_ffff_0000_0000);
    let e1 = (-0.5 * ah * ah - 0.5625).exp();
    let e2 = (-0.5 * (a - ah) * (a + ah) + rs).exp();
    0.5 * e1 * e2 * (SQRT_2 / a)
}

/// Standard normal CDF Φ(z), about 1e-15 relative accuracy in both tails (fdlibm erfc with an
/// exactly split exponent); Φ(NaN) = NaN.
pub fn standard_normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z <= 0.0 {
        lower_tail(z)
    } else {
        1.0 - lower_tail(-z)
    }
}

/// Upper-tail probability 1 − Φ(z) with full relative accuracy for large z.
pub(crate) fn standard_normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z >= 0.0 {
        lower_tail(-z)
    } else {
        1.0 - lower_tail(z)
    }
}

/// Standard normal density φ(z).
pub(crate) fn standard_normal_pdf(z: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * z * z).exp()
}

// Wichura (1988), Algorithm AS 241 "The percentage points of the normal distribution",
// Applied Statistics 37(3), 477–484: PPND16, relative accuracy about 1e-16.
const A: [f64; 8] = [
    3.387_132_872_796_366_5,
    1.331_416_678_917_843_8e2,
    1.971_590_950_306_551_3e3,
    1.373_169_376_550_946e4,
    4.592_195_393_154_987e4,
    6.726_577_092_700_87e4,
    3.343_057_558_358_813e4,
    2.509_080_928_730_122_7e3,
];
const B: [f64; 7] = [
    4.231_333_070_160_091e1,
    6.871_870_074_920_579e2,
    5.394_196_021_424_751e3,
    2.121_379_430_158_659_7e4,
    3.930_789_580_009_271e4,
    2.872_908_573_572_194_3e4,
    5.226_495_278_852_545e3,
];
const C: [f64; 8] = [
    1.423_437_110_749_683_6,
    4.630_337_846_156_546,
    5.769_497_221_460_691,
    3.647_848_324_763_204_5,
    1.270_458_252_452_368_4,
    2.417_807_251_774_506e-1,
    2.272_384_498_926_918_4e-2,
    7.745_450_142_783_414e-4,
];
const D: [f64; 7] = [
    2.053_191_626_637_759,
    1.676_384_830_183_803_8,
    6.897_673_349_851e-1,
    1.481_039_764_274_800_8e-1,
    1.519_866_656_361_645_7e-2,
    5.475_938_084_995_345e-4,
    1.050_750_071_644_416_9e-9,
];
const E: [f64; 8] = [
    6.657_904_643_501_103,
    5.463_784_911_164_114,
    1.784_826_539_917_291_3,
    2.965_605_718_285_048_7e-1,
    2.653_218_952_657_612_4e-2,
    1.242_660_947_388_078_4e-3,
    2.711_555_568_743_487_6e-5,
    2.010_334_399_292_288_1e-7,
];
const F: [f64; 7] = [
    5.998_322_065_558_88e-1,
    1.369_298_809_227_358e-1,
    1.487_536_129_085_061_5e-2,
    7.868_691_311_456_133e-4,
    1.846_318_317_510_054_8e-5,
    1.421_511_758_316_446e-7,
    2.044_263_103_389_939_7e-15,
];

/// Where `quantile_central` applies: |u − ½| up to this.
const QUANTILE_CENTRAL_LIMIT: f64 = 0.425;

/// Φ⁻¹(½ + q) for |q| ≤ 0.425 (AS241's central piece). Shared by `standard_normal_quantile` and
/// the column pass of `standard_normal_quantile_column` (and mirrored in `avx2`), so all give
/// the same bits.
#[inline(always)]
fn quantile_central(q: f64) -> f64 {
    let r = 0.180625 - q * q;
    q * poly(&A, r) / poly1(&B, r)
}

/// Standard normal quantile Φ⁻¹(u) (Wichura 1988, AS241 PPND16, ~1e-16 relative); returns
/// −∞ for u ≤ 0, +∞ for u ≥ 1 and NaN for NaN.
pub fn standard_normal_quantile(u: f64) -> f64 {
    if u.is_nan() {
        return f64::NAN;
    }
    if u <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if u >= 1.0 {
        return f64::INFINITY;
    }
    let q = u - 0.5;
    if q.abs() <= QUANTILE_CENTRAL_LIMIT {
        return quantile_central(q);
    }
    // 1 − u is exact for u ≥ 1/2 (Sterbenz), so the upper tail keeps full relative accuracy.
    let p = if q < 0.0 { u } else { 1.0 - u };
    let r = (-p.ln()).sqrt();
    let z = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly1(&D, r)
    } else {
        quantile_far_tail(r)
    };
    if q < 0.0 {
        -z
    } else {
        z
    }
}

/// The tail piece for r = √(−ln p) > 5, i.e. p < 1.4e−11. Out of line so that the compiler
/// keeps the common piece a plain branch instead of selecting between the two coefficient sets
/// (15 selects per call).
#[cold]
#[inline(never)]
fn quantile_far_tail(r: f64) -> f64 {
    let r = r - 5.0;
    poly(&E, r) / poly1(&F, r)
}

/// `z[i] = standard_normal_quantile(u[i])` for a column of values, bit for bit, at a fraction of
/// the cost: a first pass evaluates the central piece (|u − ½| ≤ 0.425, 85 % of uniform values)
/// for every element without branches, so the compiler vectorises it, and flags the others in
/// `outside` (scratch of the same length); a second pass redoes only those with the scalar
/// function (the tails need a logarithm).
#[inline(always)]
pub fn standard_normal_quantile_column(u: &[f64], z: &mut [f64], outside: &mut [u8]) {
    let (z, outside) = (&mut z[..u.len()], &mut outside[..u.len()]);
    for ((z, outside), &u) in z.iter_mut().zip(outside.iter_mut()).zip(u) {
        let q = u - 0.5;
        *z = quantile_central(q);
        // NaN u gives NaN q, which fails the test and is left to the scalar function as well.
        let central = q.abs() <= QUANTILE_CENTRAL_LIMIT;
        *outside = u8::from(!central);
    }
    redo_flagged_quantiles(u, z, outside);
}

/// The second pass of `standard_normal_quantile_column`. Out of line: inlined, the calls of
/// the scalar function inside it would make the caller reload the first pass's constants after
/// each call.
#[inline(never)]
fn redo_flagged_quantiles(u: &[f64], z: &mut [f64], outside: &[u8]) {
    for_each_flagged(outside, |i| z[i] = standard_normal_quantile(u[i]));
}

/// `p[i] = standard_normal_cdf(z[i])` for a column of values, bit for bit; as
/// `standard_normal_quantile_column`, a branch-free pass over the central piece (|z| < 0.84375·√2,
/// 77 % of standard normal values) and a scalar pass over the rest.
#[inline(always)]
pub fn standard_normal_cdf_column(z: &[f64], p: &mut [f64]) {
    standard_normal_cdf_central_or_nan(z, p);
    redo_nan_cdfs(z, p);
}

/// The second pass of `standard_normal_cdf_column`, out of line for the reason given at
/// `redo_flagged_quantiles`.
#[inline(never)]
fn redo_nan_cdfs(z: &[f64], p: &mut [f64]) {
    for (p, &z) in p.iter_mut().zip(z) {
        if p.is_nan() {
            *p = standard_normal_cdf(z);
        }
    }
}

/// The first pass of `standard_normal_cdf_column`: `p[i] = standard_normal_cdf(z[i])` where z[i]
/// is in the central piece, NaN elsewhere (including NaN z). The caller finishes the NaN entries
/// with `standard_normal_cdf`, e.g. in a loop that copies the column out anyway.
#[inline(always)]
pub(crate) fn standard_normal_cdf_central_or_nan(z: &[f64], p: &mut [f64]) {
    for (p, &z) in p[..z.len()].iter_mut().zip(z) {
        // As the scalar path: lower_tail(z) for z ≤ 0 and 1 − lower_tail(−z) above; lower_tail
        // negates its argument, so its a is −z or z respectively.
        let lower = z <= 0.0;
        let a = if lower { -z } else { z };
        let x = a / SQRT_2;
        let tail = lower_tail_central(x);
        let cdf = if lower { tail } else { 1.0 - tail };
        // NaN z gives NaN x, which fails the test and is marked as well.
        *p = if x < ERF_CENTRAL_LIMIT { cdf } else { f64::NAN };
    }
}

/// Calls `f(i)` for every i with `flags[i] ≠ 0` (flags are 0 or 1), in increasing order. Reads
/// eight flags at a time: with 15–25 % of them set, most words have one, but the test per word
/// and a bit scan per set flag cost less than a test and a branch per element.
#[inline(always)]
fn for_each_flagged(flags: &[u8], mut f: impl FnMut(usize)) {
    let mut words = flags.chunks_exact(8);
    for (w, word) in words.by_ref().enumerate() {
        let mut bits = u64::from_le_bytes(word.try_into().expect("chunks of 8"));
        while bits != 0 {
            f(w * 8 + bits.trailing_zeros() as usize / 8);
            bits &= bits - 1;
        }
    }
    let done = flags.len() - words.remainder().len();
    for (i, &flag) in words.remainder().iter().enumerate() {
        if flag != 0 {
            f(done + i);
        }
    }
}

/// Quantile of the upper tail: the z with 1 − Φ(z) = p, accurate for tiny p.
pub(crate) fn standard_normal_isf(p: f64) -> f64 {
    -standard_normal_quantile(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values across every piece and boundary of Φ⁻¹ and Φ, and the special values (shared
    /// with the AVX2 lanes' test).
    pub(super) fn probes() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.075,
            0.925,
            0.074_999_999_999_999_99,
            0.925_000_000_000_000_1,
            f64::MIN_POSITIVE,
            1e-300,
            1.0 - f64::EPSILON / 2.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.84375 * SQRT_2,
            -0.84375 * SQRT_2,
            1.25 * SQRT_2,
            -1.25 * SQRT_2,
            40.0,
            -40.0,
        ];
        // A deterministic spread over (−9, 9) and over (0, 1), dense near the piece limits.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            v.push(unit);
            v.push(18.0 * unit - 9.0);
            v.push(1.77 * (2.0 * unit - 1.0));
        }
        v
    }

    #[test]
    fn column_functions_match_the_scalar_ones_bit_for_bit() {
        let values = probes();
        let mut out = vec![0.0; values.len()];
        let mut outside = vec![0; values.len()];
        standard_normal_quantile_column(&values, &mut out, &mut outside);
        for (&u, z) in values.iter().zip(&out) {
            let want = standard_normal_quantile(u);
            assert_eq!(z.to_bits(), want.to_bits(), "Φ⁻¹({u})");
        }
        standard_normal_cdf_column(&values, &mut out);
        for (&z, p) in values.iter().zip(&out) {
            let want = standard_normal_cdf(z);
            assert_eq!(p.to_bits(), want.to_bits(), "Φ({z})");
        }
    }

    #[test]
    fn cdf_known_values() {
        // Values from mpmath at 50 digits.
        let cases = [
            (0.0, 0.5),
            (-1.0, 0.158_655_253_931_457_05),
            (-3.0, 1.349_898_031_630_094_6e-3),
            (-10.0, 7.619_853_024_160_526e-24),
            (-37.0, 5.725_571_222_524_6e-300),
        ];
        for (z, want) in cases {
            let got = standard_normal_cdf(z);
            assert!(
                ((got - want) / want).abs() < 1e-14,
                "Φ({z}) = {got}, want {want}"
            );
        }
        assert_eq!(standard_normal_sf(10.0), standard_normal_cdf(-10.0));
        assert!(standard_normal_cdf(f64::NAN).is_nan());
    }

    #[test]
    fn quantile_inverts_cdf() {
        for &u in &[1e-300, 1e-20, 1e-9, 0.01, 0.3, 0.5, 0.7, 0.99, 1.0 - 1e-9] {
            let z = standard_normal_quantile(u);
            // Compare in the smaller tail, where the relative error is meaningful.
            let (back, want) = if u < 0.5 {
                (standard_normal_cdf(z), u)
            } else {
                (standard_normal_sf(z), 1.0 - u)
            };
            assert!(
                ((back - want) / want).abs() < 1e-13,
                "u = {u}: z = {z}, tail {back}"
            );
        }
        assert_eq!(standard_normal_quantile(0.5), 0.0);
        assert_eq!(standard_normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(standard_normal_quantile(1.0), f64::INFINITY);
    }
}
