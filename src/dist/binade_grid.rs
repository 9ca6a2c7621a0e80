//! A fast path for the quantile functions that cost tens of ns (Beta, PERT, Student-t,
//! lognormal, normal, truncated normal): a polynomial per quarter binade of the tail
//! probability w = min(u, 1 − u), over u ∈ [2⁻¹⁶, 1 − 2⁻¹⁶], built from exact quantiles and
//! verified when the model is compiled.
//!
//! Why binades. A quantile function is analytic on (0, 1) with its singularities at 0 and 1
//! (x ∝ u^{1/α} for a Beta, −√(−2 ln u) for a normal, u^{−1/ν} for a Student-t), so how well a
//! polynomial fits it on [w, w + h] depends on h/w, not on h. Cutting every binade
//! [2^e, 2^{e+1}) of w into the same number of intervals gives all of them the same h/w ≤ ¼,
//! from the centre (e = −2) to the deep tail (e = −16), so one small table serves both. A
//! uniform grid in u cannot: the previous design (1024 cubic intervals on [1/128, 127/128])
//! missed 1e-11 near the ends of its range for 45 of the default model's 74 parameters, which
//! then took the exact path for every u, and narrowed to [1/8, 7/8] for the other 29.
//!
//! Why this polynomial. Degree 9 on 4 intervals per binade. The worst interval, the first of
//! a binade, has the singularity at w = 0 four interval widths from its start, so interpolation
//! converges like ρ^{−10} with ρ = 9 + √80 ≈ 18 (≈ 3e-13 of the scale of the quantile). On
//! the default model's 74 parameters the largest check error is 2e-15 to 3e-13 (relative, or
//! absolute near 0), and 4e-12 on the most extreme test shape (Student-t with df = 0.7).
//! Degree 7 missed 1e-11 on the first interval of every binade for normals, lognormals and
//! Student-t (cubics would need ~256 intervals per binade); 8 intervals of degree 7 should
//! pass by the same estimate (ρ ≈ 34) but take 1.6 times the memory and exact evaluations.
//! The nodes are the Chebyshev extrema of the interval, ends included, so adjacent pieces
//! meet and the quantile stays continuous across intervals and binades.
//!
//! Locating u needs no logarithm: w = u, or 1 − u (exact for u ≥ ½); the exponent bits of w and
//! the top two bits of its mantissa are the interval's index, the other 50 mantissa bits its
//! position t in the interval, exactly.
//!
//! Verification. Every interval is compared with the exact quantile midway between each pair
//! of adjacent nodes, where the error of an interpolant peaks (the node polynomial's peak in
//! each gap is within 3 % of its midpoint value); with 10 nodes ½ is such a midpoint and ¼, ¾
//! are nodes, so this includes the earlier three-point rule. A check must agree to half of
//! 1e-11 relative (1e-13 absolute near 0), leaving room for the peak being a little off the
//! check; 1e-11 is two orders inside the 1e-9 of MODEL.md §6. An interval that fails (a shape
//! too extreme, a non-finite exact value) holds NaN and its u take the exact path; the others
//! still serve.

/// Smallest binade covered: w ∈ [2⁻¹⁶, 2⁻¹⁵). Below it (a probability of 2⁻¹⁵ per value, both
/// tails together) the exact path serves: about 1 exact call in 440 draws of the 74 uncertain
/// parameters of the default model.
const LOWEST_EXPONENT: i32 = -16;
/// Binades [2^e, 2^{e+1}) for e = −16 ..= −2, the last ending at ½.
const BINADES: usize = (-1 - LOWEST_EXPONENT) as usize;
const INTERVALS_PER_BINADE_LOG2: u32 = 2;
const INTERVALS_PER_BINADE: usize = 1 << INTERVALS_PER_BINADE_LOG2;
/// Intervals per half (u < ½ and u > ½).
const INTERVALS: usize = BINADES * INTERVALS_PER_BINADE;
/// Degree of the polynomial on each interval.
const DEGREE: usize = 9;
const COEFFICIENTS: usize = DEGREE + 1;

/// Mantissa bits below the interval index: the position within the interval.
const POSITION_BITS: u32 = 52 - INTERVALS_PER_BINADE_LOG2;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
/// Biased exponent and top mantissa bits of w = 2^LOWEST_EXPONENT: the key of interval 0.
const FIRST_KEY: u64 = ((1023 + LOWEST_EXPONENT) as u64) << INTERVALS_PER_BINADE_LOG2;
/// Maps the position bits p to t = 2p/2^POSITION_BITS − 1 ∈ [−1, 1), exactly.
const POSITION_SCALE: f64 = 2.0 / (1u64 << POSITION_BITS) as f64;

/// The fit's nodes and checks are multiples of 2⁻⁵³, so that 1 − w is exact for the upper half
/// (as at run time, where w = 1 − u with u ≥ ½ is always one), and both halves of a symmetric
/// distribution get the same nodes.
const NODES_PER_UNIT: f64 = 9_007_199_254_740_992.0;

const RELATIVE_TOLERANCE: f64 = 1e-11;
const ABSOLUTE_TOLERANCE: f64 = 1e-13;
/// Fraction of the tolerance a check must meet (see the module comment).
const CHECK_MARGIN: f64 = 0.5;

/// Coefficients of one interval's polynomial in t ∈ [−1, 1), constant term first; all NaN
/// when the interval failed verification.
#[derive(Debug, Clone, Copy)]
#[repr(transparent)]
struct Piece([f64; COEFFICIENTS]);

impl Piece {
    const FAILED: Piece = Piece([f64::NAN; COEFFICIENTS]);

    #[inline(always)]
    fn eval(&self, t: f64) -> f64 {
        let c = &self.0;
        let mut acc = c[DEGREE];
        for k in (0..DEGREE).rev() {
            acc = acc * t + c[k];
        }
        acc
    }

    fn verified(&self) -> bool {
        !self.0[0].is_nan()
    }
}

/// Verified polynomial pieces of a quantile function over u ∈ [2⁻¹⁶, ½) (`halves[0]`, in
/// w = u) and u ∈ (½, 1 − 2⁻¹⁶] (`halves[1]`, in w = 1 − u): 2 × 60 pieces × 80 bytes =
/// 9.4 KiB per parameter.
#[derive(Debug, Clone)]
pub(crate) struct BinadeGrid {
    halves: [[Piece; INTERVALS]; 2],
    /// Whether some interval failed verification (its pieces give NaN).
    failed: bool,
}

/// Interval index and position t ∈ [−1, 1) of a tail probability w; the index is ≥ INTERVALS
/// when w is outside [2⁻¹⁶, ½) (also for 0, negative, subnormal, infinite and NaN w).
#[inline(always)]
fn locate(w: f64) -> (usize, f64) {
    let bits = w.to_bits();
    let index = (bits >> POSITION_BITS).wrapping_sub(FIRST_KEY) as usize;
    // The masked position is < 2^50, so the signed conversion (one instruction) is exact.
    let t = (bits & POSITION_MASK) as i64 as f64 * POSITION_SCALE - 1.0;
    (index, t)
}

/// Whether `got` agrees with the exact quantile `want` to a fraction `margin` of the
/// tolerance: 1e-11 relative, or 1e-13 absolute where the quantile is near 0. False when
/// either is NaN.
pub(crate) fn within_tolerance(got: f64, want: f64, margin: f64) -> bool {
    (got - want).abs() <= margin * (RELATIVE_TOLERANCE * want.abs()).max(ABSOLUTE_TOLERANCE)
}

impl BinadeGrid {
    /// Builds and verifies the pieces for the exact quantile function `exact` (2,162 calls of
    /// it); None when no interval passes.
    pub(crate) fn build(exact: impl Fn(f64) -> f64) -> Option<Self> {
        let halves = [build_half(&exact), build_half(|w| exact(1.0 - w))];
        let grid = BinadeGrid {
            failed: !halves.iter().flatten().all(Piece::verified),
            halves,
        };
        grid.halves
            .iter()
            .flatten()
            .any(Piece::verified)
            .then_some(grid)
    }

    /// The interpolated quantile at u, or None when u is outside [2⁻¹⁶, 1 − 2⁻¹⁶], exactly ½
    /// or NaN, or its interval failed verification.
    #[inline(always)]
    pub(crate) fn get(&self, u: f64) -> Option<f64> {
        let upper = u >= 0.5;
        // 1 − u is exact for u ≥ ½.
        let w = if upper { 1.0 - u } else { u };
        let (index, t) = locate(w);
        let x = self.halves[upper as usize].get(index)?.eval(t);
        // A failed interval's coefficients are NaN.
        (!x.is_nan()).then_some(x)
    }

    /// [`BinadeGrid::get`] over a column of located points: `out[d]` = the interpolated
    /// quantile at the point located at `located[offset + d·stride]`, or NaN where `get` gives
    /// None (the caller takes the exact path there). The polynomials run four points at a time
    /// with AVX2 gathers of the coefficients: the same multiplies and adds as `get`, in the same
    /// order, no FMA, so the same bits.
    pub(crate) fn column(
        &self,
        located: &LocatedPoints,
        offset: usize,
        stride: usize,
        out: &mut [f64],
    ) {
        let n = out.len();
        assert!(n == 0 || offset + (n - 1) * stride < located.ts.len());
        let table: &[Piece] = self.halves.as_flattened();
        let (ts, pieces) = (&located.ts[offset..], &located.pieces[offset..]);
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx512() {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW (checked just above); the reads stay
            // in bounds (asserted above) and every piece index is below 2·INTERVALS
            // (`locate_into`).
            unsafe { horner_avx512(table, ts, pieces, stride, out) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx2() {
            // SAFETY: the CPU supports AVX2 (checked just above); the reads stay in bounds
            // (asserted above) and every piece index is below 2·INTERVALS (`locate_into`).
            unsafe { horner_avx2(table, ts, pieces, stride, out) };
            return;
        }
        for (d, x) in out.iter_mut().enumerate() {
            *x = table[pieces[d * stride] as usize].eval(ts[d * stride]);
        }
    }

    /// Whether some interval failed verification (its points then come out NaN).
    pub(crate) fn has_failed_intervals(&self) -> bool {
        self.failed
    }

    /// How many intervals of each half passed verification (of 60).
    #[cfg(test)]
    pub(crate) fn verified_intervals(&self) -> [usize; 2] {
        self.halves
            .each_ref()
            .map(|half| half.iter().filter(|p| p.verified()).count())
    }
}

/// Interval (a piece of either half: 0..2·INTERVALS) and position t of many points, found
/// once for a whole block: the search depends only on u, not on the distribution, so it runs
/// over the block's points in memory order (vectorised), and each parameter's column then
/// reads its own. A point outside the grid (or ½, or NaN) gets piece 0 at t = NaN, so that its
/// value comes out NaN and takes the exact path.
#[derive(Debug, Clone, Default)]
pub struct LocatedPoints {
    ts: Vec<f64>,
    pieces: Vec<u32>,
}

impl LocatedPoints {
    /// Locates every number of `points`.
    pub fn locate(&mut self, points: &[f64]) {
        self.locate_strided(points, 1, points.len());
    }

    /// Locates `points[d·stride]` for d < n.
    pub fn locate_strided(&mut self, points: &[f64], stride: usize, n: usize) {
        // Grown on the first block only: the engine's blocks do not allocate after that.
        if self.ts.len() < n {
            self.ts.resize(n, 0.0);
            self.pieces.resize(n, 0);
        }
        let (ts, pieces) = (&mut self.ts[..n], &mut self.pieces[..n]);
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx512() && stride == 1 {
            // SAFETY: the CPU supports AVX-512 F/DQ/VL/BW, checked just above.
            unsafe { locate_avx512(&points[..n], ts, pieces) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::fastmath::has_avx2() && stride == 1 {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { locate_avx2(&points[..n], ts, pieces) };
            return;
        }
        for ((t, p), &u) in ts
            .iter_mut()
            .zip(pieces.iter_mut())
            .zip(points.iter().step_by(stride))
        {
            (*p, *t) = locate_into(u);
        }
    }
}

/// The piece and position of u (see [`LocatedPoints`]).
#[inline(always)]
fn locate_into(u: f64) -> (u32, f64) {
    let upper = u >= 0.5;
    // 1 − u is exact for u ≥ ½.
    let w = if upper { 1.0 - u } else { u };
    let (index, t) = locate(w);
    let inside = index < INTERVALS;
    let piece = if inside {
        (upper as usize * INTERVALS + index) as u32
    } else {
        0
    };
    (piece, if inside { t } else { f64::NAN })
}

/// [`LocatedPoints::locate`]'s loop compiled for AVX2, so that it runs four points at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn locate_avx2(points: &[f64], ts: &mut [f64], pieces: &mut [u32]) {
    for ((t, p), &u) in ts.iter_mut().zip(pieces.iter_mut()).zip(points) {
        (*p, *t) = locate_into(u);
    }
}

/// [`LocatedPoints::locate`]'s loop compiled for AVX-512, eight points at a time (with its
/// conversion of the 64-bit position to a double in one instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn locate_avx512(points: &[f64], ts: &mut [f64], pieces: &mut [u32]) {
    for ((t, p), &u) in ts.iter_mut().zip(pieces.iter_mut()).zip(points) {
        (*p, *t) = locate_into(u);
    }
}

/// `horner_avx2` eight points at a time, without gathers: each point's ten coefficients are
/// contiguous (a `Piece`), so they are loaded as one row of eight and one of two and the 8×10
/// block is transposed in registers (24 + 8 shuffles), then the same multiplies and adds as
/// [`Piece::eval`] run in the same order, so the same bits. Gathers were the first form: on
/// this class of CPU (Sapphire Rapids, microcode that slows gathers) twelve gathers per eight
/// points made this no faster than the scalar loop (perf, cpu-clock samples at 5·10⁵ draws of
/// the default model: scalar 1,400, AVX2 gathers 1,068, AVX-512 gathers 1,041). The caller
/// guarantees that the reads are in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn horner_avx512(
    table: &[Piece],
    ts: &[f64],
    pieces: &[u32],
    stride: usize,
    out: &mut [f64],
) {
    use std::arch::x86_64::*;
    let base = table.as_ptr() as *const f64;
    let n = out.len();
    // Indices of the shuffles: pairs of lanes from two vectors (a: 0..8, b: 8..16).
    let (pairs_lo, pairs_hi) = (
        _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13),
        _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15),
    );
    let (halves_lo, halves_hi) = (
        _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11),
        _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15),
    );
    let (evens, odds) = (
        _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14),
        _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15),
    );
    let mut d = 0;
    while d + 8 <= n {
        // SAFETY: the caller checked offset + (n − 1)·stride < len, so the eight points
        // (d + k)·stride (k < 8, d + 7 < n) are in bounds; each piece index p < 2·INTERVALS =
        // table.len(), so the ten doubles at p·10 lie inside `table` (Piece is transparent
        // over [f64; 10]).
        unsafe {
            let at = |k: usize| (d + k) * stride;
            let row = |k: usize| base.add(*pieces.get_unchecked(at(k)) as usize * COEFFICIENTS);
            let t = _mm512_setr_pd(
                *ts.get_unchecked(at(0)),
                *ts.get_unchecked(at(1)),
                *ts.get_unchecked(at(2)),
                *ts.get_unchecked(at(3)),
                *ts.get_unchecked(at(4)),
                *ts.get_unchecked(at(5)),
                *ts.get_unchecked(at(6)),
                *ts.get_unchecked(at(7)),
            );
            let rows: [*const f64; 8] = std::array::from_fn(row);
            // Coefficients 0..8 of the eight points: rows r_k, transposed.
            let r: [__m512d; 8] = std::array::from_fn(|k| _mm512_loadu_pd(rows[k]));
            let lo01 = _mm512_unpacklo_pd(r[0], r[1]); // c0 c2 c4 c6 of points 0, 1
            let hi01 = _mm512_unpackhi_pd(r[0], r[1]); // c1 c3 c5 c7
            let lo23 = _mm512_unpacklo_pd(r[2], r[3]);
            let hi23 = _mm512_unpackhi_pd(r[2], r[3]);
            let lo45 = _mm512_unpacklo_pd(r[4], r[5]);
            let hi45 = _mm512_unpackhi_pd(r[4], r[5]);
            let lo67 = _mm512_unpacklo_pd(r[6], r[7]);
            let hi67 = _mm512_unpackhi_pd(r[6], r[7]);
            // Points 0..4: c0|c4, c2|c6, c1|c5, c3|c7; then the same for points 4..8.
            let a04 = _mm512_permutex2var_pd(lo01, pairs_lo, lo23);
            let a26 = _mm512_permutex2var_pd(lo01, pairs_hi, lo23);
            let a15 = _mm512_permutex2var_pd(hi01, pairs_lo, hi23);
            let a37 = _mm512_permutex2var_pd(hi01, pairs_hi, hi23);
            let b04 = _mm512_permutex2var_pd(lo45, pairs_lo, lo67);
            let b26 = _mm512_permutex2var_pd(lo45, pairs_hi, lo67);
            let b15 = _mm512_permutex2var_pd(hi45, pairs_lo, hi67);
            let b37 = _mm512_permutex2var_pd(hi45, pairs_hi, hi67);
            let c = [
                _mm512_permutex2var_pd(a04, halves_lo, b04),
                _mm512_permutex2var_pd(a15, halves_lo, b15),
                _mm512_permutex2var_pd(a26, halves_lo, b26),
                _mm512_permutex2var_pd(a37, halves_lo, b37),
                _mm512_permutex2var_pd(a04, halves_hi, b04),
                _mm512_permutex2var_pd(a15, halves_hi, b15),
                _mm512_permutex2var_pd(a26, halves_hi, b26),
                _mm512_permutex2var_pd(a37, halves_hi, b37),
            ];
            // Coefficients 8 and 9: a pair per point, four pairs per vector, then split.
            let pair = |k: usize| _mm_loadu_pd(rows[k].add(8));
            let quad =
                |k: usize| _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(pair(k)), pair(k + 1));
            let tail_a = _mm512_insertf64x4::<1>(_mm512_castpd256_pd512(quad(0)), quad(2));
            let tail_b = _mm512_insertf64x4::<1>(_mm512_castpd256_pd512(quad(4)), quad(6));
            let c8 = _mm512_permutex2var_pd(tail_a, evens, tail_b);
            let c9 = _mm512_permutex2var_pd(tail_a, odds, tail_b);
            // Piece::eval: acc = c9, then acc·t + c_k for k = 8 down to 0.
            let mut acc = _mm512_add_pd(_mm512_mul_pd(c9, t), c8);
            for k in (0..8).rev() {
                acc = _mm512_add_pd(_mm512_mul_pd(acc, t), c[k]);
            }
            _mm512_storeu_pd(out.as_mut_ptr().add(d), acc);
        }
        d += 8;
    }
    for (i, x) in out.iter_mut().enumerate().skip(d) {
        *x = table[pieces[i * stride] as usize].eval(ts[i * stride]);
    }
}

/// `out[d]` ← piece `pieces[d·stride]` of `table` at t = `ts[d·stride]`, four at a time
/// (Piece::eval's Horner steps, as separate multiplies and adds, so the same bits). As in
/// [`horner_avx512`], the coefficients are loaded as rows (c0–c3, c4–c7, c8–c9 of each point)
/// and transposed in registers, not gathered: gathers are slow on the CPUs this runs on. The
/// caller guarantees that the reads are in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horner_avx2(table: &[Piece], ts: &[f64], pieces: &[u32], stride: usize, out: &mut [f64]) {
    use std::arch::x86_64::*;
    /// Columns of the 4×4 block whose rows are `r`.
    #[inline(always)]
    unsafe fn transpose(r: [__m256d; 4]) -> [__m256d; 4] {
        let lo01 = _mm256_unpacklo_pd(r[0], r[1]); // column 0 and 2 of rows 0, 1
        let hi01 = _mm256_unpackhi_pd(r[0], r[1]); // column 1 and 3
        let lo23 = _mm256_unpacklo_pd(r[2], r[3]);
        let hi23 = _mm256_unpackhi_pd(r[2], r[3]);
        [
            _mm256_permute2f128_pd::<0x20>(lo01, lo23),
            _mm256_permute2f128_pd::<0x20>(hi01, hi23),
            _mm256_permute2f128_pd::<0x31>(lo01, lo23),
            _mm256_permute2f128_pd::<0x31>(hi01, hi23),
        ]
    }
    let base = table.as_ptr() as *const f64;
    let n = out.len();
    let mut d = 0;
    while d + 4 <= n {
        // SAFETY: the caller checked offset + (n − 1)·stride < len, so the four points
        // (d + k)·stride (k < 4, d + 3 < n) are in bounds; each piece index p < 2·INTERVALS =
        // table.len(), so the ten doubles at p·10 lie inside `table` (Piece is transparent
        // over [f64; 10]).
        unsafe {
            let at = |k: usize| (d + k) * stride;
            let rows: [*const f64; 4] = std::array::from_fn(|k| {
                base.add(*pieces.get_unchecked(at(k)) as usize * COEFFICIENTS)
            });
            let t = _mm256_setr_pd(
                *ts.get_unchecked(at(0)),
                *ts.get_unchecked(at(1)),
                *ts.get_unchecked(at(2)),
                *ts.get_unchecked(at(3)),
            );
            let low = transpose(std::array::from_fn(|k| _mm256_loadu_pd(rows[k])));
            let high = transpose(std::array::from_fn(|k| _mm256_loadu_pd(rows[k].add(4))));
            // c8, c9 of points 0 and 2 in one vector, of 1 and 3 in the other, then split.
            let pair = |k: usize| _mm_loadu_pd(rows[k].add(8));
            let tail02 = _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(pair(0)), pair(2));
            let tail13 = _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(pair(1)), pair(3));
            let c8 = _mm256_unpacklo_pd(tail02, tail13);
            let c9 = _mm256_unpackhi_pd(tail02, tail13);
            // Piece::eval: acc = c9, then acc·t + c_k for k = 8 down to 0.
            let mut acc = _mm256_add_pd(_mm256_mul_pd(c9, t), c8);
            for k in (0..8).rev() {
                let c = if k < 4 { low[k] } else { high[k - 4] };
                acc = _mm256_add_pd(_mm256_mul_pd(acc, t), c);
            }
            _mm256_storeu_pd(out.as_mut_ptr().add(d), acc);
        }
        d += 4;
    }
    for (i, x) in out.iter_mut().enumerate().skip(d) {
        *x = table[pieces[i * stride] as usize].eval(ts[i * stride]);
    }
}

/// Whether some value of `xs` is NaN: a column's check for the points the grid left to the
/// exact path. A fold without early exit, so that it vectorises (8 or 4 values per compare
/// with AVX-512 or AVX2); almost every column has none, and then every value is read anyway.
pub(crate) fn any_nan(xs: &[f64]) -> bool {
    #[inline(always)]
    fn scan(xs: &[f64]) -> bool {
        xs.iter().fold(false, |nan, x| nan | x.is_nan())
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
        fn scan_avx512(xs: &[f64]) -> bool {
            scan(xs)
        }
        #[target_feature(enable = "avx2")]
        fn scan_avx2(xs: &[f64]) -> bool {
            scan(xs)
        }
        if crate::fastmath::has_avx512() {
            // SAFETY: the CPU has AVX-512 F/DQ/VL/BW (checked just above).
            return unsafe { scan_avx512(xs) };
        }
        if crate::fastmath::has_avx2() {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { scan_avx2(xs) };
        }
    }
    scan(xs)
}

/// The nearest multiple of 2⁻⁵³ to w (the scalings by powers of two are exact).
fn snap(w: f64) -> f64 {
    (w * NODES_PER_UNIT).round() / NODES_PER_UNIT
}

/// Pieces for q(w), w ∈ [2⁻¹⁶, ½), each fitted and verified.
fn build_half(q: impl Fn(f64) -> f64) -> [Piece; INTERVALS] {
    // Chebyshev extrema on [0, 1], both ends included.
    let node_fractions: [f64; COEFFICIENTS] = std::array::from_fn(|k| {
        0.5 - 0.5 * (k as f64 * std::f64::consts::PI / DEGREE as f64).cos()
    });
    let mut pieces = [Piece::FAILED; INTERVALS];
    // The last node of an interval is the first of the next: evaluated once.
    let mut shared_node = q(2f64.powi(LOWEST_EXPONENT));
    for (index, piece) in pieces.iter_mut().enumerate() {
        let binade_start = 2f64.powi(LOWEST_EXPONENT + (index / INTERVALS_PER_BINADE) as i32);
        let width = binade_start / INTERVALS_PER_BINADE as f64;
        let start = binade_start + (index % INTERVALS_PER_BINADE) as f64 * width;
        // Position in [−1, 1] of a w of this interval, as `locate` computes it, exactly: w −
        // start is exact (both lie in one binade) and 2/width a power of two. The end node gets
        // t = 1, which `locate` never returns: there the next interval serves.
        let two_over_width = 2.0 / width;
        let position = |w: f64| (w - start) * two_over_width - 1.0;
        let mut ts = [0.0; COEFFICIENTS];
        let mut xs = [0.0; COEFFICIENTS];
        xs[0] = shared_node;
        ts[0] = -1.0;
        for k in 1..COEFFICIENTS {
            let w = snap(start + node_fractions[k] * width);
            ts[k] = position(w);
            xs[k] = q(w);
        }
        shared_node = xs[DEGREE];
        if xs.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let candidate = Piece(interpolating_polynomial(&ts, &xs));
        let accurate = (0..DEGREE).all(|k| {
            let w = snap(start + 0.5 * (node_fractions[k] + node_fractions[k + 1]) * width);
            let (check_index, t) = locate(w);
            debug_assert_eq!(check_index, index);
            within_tolerance(candidate.eval(t), q(w), CHECK_MARGIN)
        });
        if accurate {
            *piece = candidate;
        }
    }
    pieces
}

/// Monomial coefficients (constant first) of the polynomial through (ts[k], xs[k]), by
/// Newton's divided differences; the nodes lie in [−1, 1] and are well separated.
fn interpolating_polynomial(
    ts: &[f64; COEFFICIENTS],
    xs: &[f64; COEFFICIENTS],
) -> [f64; COEFFICIENTS] {
    let mut divided = *xs;
    for level in 1..COEFFICIENTS {
        for k in (level..COEFFICIENTS).rev() {
            divided[k] = (divided[k] - divided[k - 1]) / (ts[k] - ts[k - level]);
        }
    }
    // Expand d₀ + (t − t₀)(d₁ + (t − t₁)(d₂ + …)) from the innermost factor outwards: after
    // the step for node k, `coefficients` holds d_k + (t − t_k)(…) of degree DEGREE − k.
    let mut coefficients = [0.0; COEFFICIENTS];
    coefficients[0] = divided[DEGREE];
    for k in (0..DEGREE).rev() {
        for j in (1..=DEGREE - k).rev() {
            coefficients[j] = coefficients[j - 1] - ts[k] * coefficients[j];
        }
        coefficients[0] = divided[k] - ts[k] * coefficients[0];
    }
    coefficients
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set's locate and Horner loops give the bits of the plain loops, on
    /// points inside and outside the grid (NaN, 0, 1, ½, subnormal), read with strides and
    /// lengths that end inside a vector of 4 and of 8.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_vector_loops_give_the_bits_of_the_plain_ones() {
        use crate::fastmath::SimdLevel;
        let grid = BinadeGrid::build(crate::dist::standard_normal_quantile).expect("a grid");
        let table: &[Piece] = grid.halves.as_flattened();
        let mut state = 99u64;
        let specials = [
            0.0,
            1.0,
            0.5,
            f64::NAN,
            1e-310,
            2f64.powi(-16),
            1.0 - 2f64.powi(-16),
        ];
        let points: Vec<f64> = (0..4000)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                match i % 29 {
                    0 => specials[(state >> 61) as usize % specials.len()],
                    1 => u * 1e-4,
                    _ => u,
                }
            })
            .collect();
        let level = SimdLevel::detected();
        for n in [4000, 3999, 1001, 13, 7, 0] {
            let mut want = LocatedPoints::default();
            want.ts.resize(n, 0.0);
            want.pieces.resize(n, 0);
            for ((t, p), &u) in want.ts.iter_mut().zip(&mut want.pieces).zip(&points) {
                (*p, *t) = locate_into(u);
            }
            let same = |got: &LocatedPoints, what: &str| {
                assert_eq!(got.pieces[..n], want.pieces[..n], "{what}, n = {n}");
                for (g, w) in got.ts[..n].iter().zip(&want.ts[..n]) {
                    assert_eq!(g.to_bits(), w.to_bits(), "{what}, n = {n}");
                }
            };
            let mut got = LocatedPoints::default();
            got.ts.resize(n, 0.0);
            got.pieces.resize(n, 0);
            if level >= SimdLevel::Avx2 {
                // SAFETY: the CPU has AVX2 (checked just above).
                unsafe { locate_avx2(&points[..n], &mut got.ts, &mut got.pieces) };
                same(&got, "locate avx2");
            }
            if level >= SimdLevel::Avx512 {
                // SAFETY: the CPU has AVX-512 (checked just above).
                unsafe { locate_avx512(&points[..n], &mut got.ts, &mut got.pieces) };
                same(&got, "locate avx512");
            }
            for stride in [1, 3, 117] {
                let m = if n == 0 { 0 } else { (n - 1) / stride + 1 };
                let eval = |out: &mut [f64], f: &dyn Fn(&mut [f64])| f(out);
                let mut plain = vec![0.0; m];
                for (d, x) in plain.iter_mut().enumerate() {
                    *x = table[want.pieces[d * stride] as usize].eval(want.ts[d * stride]);
                }
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                if level >= SimdLevel::Avx2 {
                    let mut out = vec![0.0; m];
                    // SAFETY: the CPU has AVX2; the reads are in bounds ((m − 1)·stride < n).
                    eval(&mut out, &|o| unsafe {
                        horner_avx2(table, &want.ts, &want.pieces, stride, o)
                    });
                    assert_eq!(
                        bits(&out),
                        bits(&plain),
                        "horner avx2, n {n}, stride {stride}"
                    );
                }
                if level >= SimdLevel::Avx512 {
                    let mut out = vec![0.0; m];
                    // SAFETY: the CPU has AVX-512; the reads are in bounds ((m − 1)·stride < n).
                    eval(&mut out, &|o| unsafe {
                        horner_avx512(table, &want.ts, &want.pieces, stride, o)
                    });
                    assert_eq!(
                        bits(&out),
                        bits(&plain),
                        "horner avx512, n {n}, stride {stride}"
                    );
                }
            }
        }
    }

    #[test]
    fn locate_reads_interval_and_position_from_the_bits() {
        // Interval 0 starts at 2⁻¹⁶; the last interval of a binade ends at the next binade.
        assert_eq!(locate(2f64.powi(-16)), (0, -1.0));
        assert_eq!(locate(2f64.powi(-16) * 1.125), (0, 0.0));
        assert_eq!(locate(2f64.powi(-16) * 1.25), (1, -1.0));
        assert_eq!(locate(2f64.powi(-15)), (4, -1.0));
        assert_eq!(locate(0.5 - 0.5f64.powi(54)).0, INTERVALS - 1);
        let (_, t) = locate(0.5 - 0.5f64.powi(54));
        assert!(t < 1.0 && t > 1.0 - 1e-14);
        // Outside [2⁻¹⁶, ½): no interval.
        for w in [
            0.5,
            0.75,
            2f64.powi(-16) * (1.0 - f64::EPSILON),
            1e-300,
            0.0,
            -0.25,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert!(locate(w).0 >= INTERVALS, "{w:e}");
        }
    }

    #[test]
    fn the_interpolant_reproduces_a_polynomial_of_its_degree() {
        let p = |t: f64| {
            (1..=DEGREE).fold(0.3, |acc, k| {
                acc + (k as f64 * 0.1 - 0.4) * t.powi(k as i32)
            })
        };
        let ts: [f64; COEFFICIENTS] =
            std::array::from_fn(|k| -(k as f64 * std::f64::consts::PI / DEGREE as f64).cos());
        let xs = ts.map(p);
        let piece = Piece(interpolating_polynomial(&ts, &xs));
        for i in 0..=100 {
            let t = -1.0 + 0.02 * i as f64;
            assert!((piece.eval(t) - p(t)).abs() < 1e-14, "t = {t}");
        }
    }

    #[test]
    fn an_interval_that_fails_verification_falls_back_alone() {
        // The normal quantile with a jump of 1e-9 relative at w = 0.01, inside interval 37
        // ([0.009765625, 0.01171875)) of each half. Only that interval may fail.
        let step_at = 0.01;
        let q = |u: f64| {
            let x = crate::dist::standard_normal_quantile(u);
            if u.min(1.0 - u) >= step_at {
                x * (1.0 + 1e-9)
            } else {
                x
            }
        };
        let grid = BinadeGrid::build(q).expect("most intervals pass");
        assert_eq!(grid.verified_intervals(), [INTERVALS - 1; 2]);
        let failed = locate(step_at).0;
        assert_eq!(failed, 37);
        for half in &grid.halves {
            for (i, piece) in half.iter().enumerate() {
                assert_eq!(piece.verified(), i != failed, "interval {i}");
            }
        }
        // Its u (both tails) get None, so `Distribution::quantile` takes the exact path; its
        // neighbours are served.
        for u in [0.0099, 0.0101, 0.0115, 1.0 - 0.0101] {
            assert_eq!(grid.get(u), None, "{u}");
        }
        for u in [0.0097, 0.0118, 1.0 - 0.0097] {
            let x = grid.get(u).expect("verified interval");
            assert!(within_tolerance(x, q(u), 1.0), "{u}: {x} vs {}", q(u));
        }
    }

    #[test]
    fn adjacent_pieces_meet() {
        // Both interpolate the exact quantile at their common edge (t = 1 of one, t = −1 of
        // the next, also across binades), so they agree there up to rounding.
        for src in crate::dist::fast_path_tests::SHAPES {
            let d = crate::dist::fast_path_tests::dist(src);
            let grid = d.fast.as_ref().expect("grid");
            for half in &grid.halves {
                for pair in half.windows(2) {
                    let (end, start) = (pair[0].eval(1.0), pair[1].eval(-1.0));
                    assert!(
                        (end - start).abs() <= 1e-14 * start.abs().max(1e-2),
                        "{src}: {end:e} vs {start:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_function_no_interval_fits_gives_no_grid() {
        // Non-finite everywhere, and a sawtooth far too rough for any piece.
        assert!(BinadeGrid::build(|_| f64::INFINITY).is_none());
        assert!(BinadeGrid::build(|u| (u * 1e9).sin()).is_none());
    }

    #[test]
    fn within_tolerance_is_relative_with_an_absolute_floor() {
        assert!(within_tolerance(1.0 + 0.9e-11, 1.0, 1.0));
        assert!(!within_tolerance(1.0 + 1.1e-11, 1.0, 1.0));
        assert!(!within_tolerance(1.0 + 0.6e-11, 1.0, 0.5));
        assert!(within_tolerance(1e-20 + 0.9e-13, 1e-20, 1.0));
        assert!(!within_tolerance(1.1e-13, 0.0, 1.0));
        assert!(!within_tolerance(f64::NAN, 1.0, 1.0));
        assert!(!within_tolerance(1.0, f64::NAN, 1.0));
    }
}
