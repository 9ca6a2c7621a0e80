//! The one paged-count structure behind [`super::LogHistogram`] (counts) and
//! [`super::WeightedHistogram`] (fixed-point weights): log-linear bins stored sparsely, with a
//! hard bound on memory, plus an exact table of values while there are few of them.
//!
//! **Bins.** A value's bin is its sign, binary exponent and the top [`BIN_BITS`] bits of its
//! mantissa, so a bin spans a relative width of at most 2^-11 ≈ 4.9e-4.
//!
//! **Storage.** Counts are kept in chunks of [`CHUNK_BINS`] neighbouring bins, allocated when
//! a value first falls in them; a binade (2048 bins) that is reached only a few times costs a
//! chunk or two instead of a whole 16 KiB page. A chunk of counts starts narrow (`u16`, 128
//! bytes) and is widened to `u64` (512 bytes) the first time one of its bins would pass 65,535:
//! the counts are the same either way, only the memory differs (weights, `u128`, start wide).
//! Each sign has a flat chunk table over the binades from the lowest to the highest it reached
//! (32 slots, 128 bytes, a binade): a direct index from a value's bits to its chunk, so the
//! insert of a value is its bits → chunk key → slot → count.
//!
//! **Floor.** Binades more than [`FLOOR_BINADES`] below the largest magnitude seen (`top`) are
//! pooled into one bin per sign, (0, 2^(floor − 1023)). The floor depends only on the largest
//! magnitude of all the values, so pooling commutes with inserts and merges: any split of the
//! draws over threads, shards or restarts gives the same counts, bit for bit. A quantile that
//! falls in the pooled bin is off by less than 2^-48 of the largest magnitude (≈ 3.6e-15 of
//! it: the size of a rounding error of a value of that magnitude); every other quantile keeps
//! the relative error below 2^-11.
//!
//! **Bound.** At most 2 × (FLOOR_BINADES + 1) = 98 binades, each at most 32 chunks of at most
//! 512 + 128 bytes (a widened chunk leaves its narrow slot for reuse) plus 128 bytes of chunk
//! table: 98 × 20.1 KiB ≈ 1.93 MiB of counts per output, under 4 MiB with the slack of
//! growing vectors, whatever the data and the number of draws. An output spread over a few
//! binades (the usual case) takes 4 KiB per binade it fills while no count passes 65,535
//! (32 KiB after), and a chunk of 128 bytes per 1/32 binade reached only rarely.

use std::ops::AddAssign;

/// Mantissa bits that select a bin inside a binade.
pub const BIN_BITS: u32 = 11;
/// Outputs with at most this many distinct values get exact quantiles.
pub const EXACT_CAPACITY: usize = 64;
/// Binades kept below the largest magnitude; lower ones are pooled (see the module docs).
pub const FLOOR_BINADES: usize = 48;
/// Bins in one chunk of storage.
pub const CHUNK_BINS: usize = 64;
pub(crate) const BINS_PER_PAGE: usize = 1 << BIN_BITS;
const CHUNKS_PER_PAGE: usize = BINS_PER_PAGE / CHUNK_BINS;
/// log2 of [`CHUNK_BINS`].
const CHUNK_BITS: u32 = CHUNK_BINS.trailing_zeros();
const MANTISSA_BITS: u32 = 52;
const SHIFT: u32 = MANTISSA_BITS - BIN_BITS;
/// Number of biased exponents of an f64.
const EXPONENTS: usize = 2048;
/// Flag of a chunk slot that points into the wide chunks.
const WIDE: u32 = 1 << 31;

/// An unsigned count or fixed-point weight: exact, commutative sums.
pub trait Count: Copy + Default + PartialEq + PartialOrd + AddAssign + std::fmt::Debug {
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// A number of values as a count.
    fn from_len(n: usize) -> Self;
    /// The count as a narrow count, when it is one (weights never are).
    fn to_narrow(self) -> Option<u16>;
    /// A narrow count at full width.
    fn from_narrow(c: u16) -> Self;
    /// Sum, or None on overflow.
    fn checked_add(self, other: Self) -> Option<Self>;
    /// The value as an f64 (one rounding).
    fn to_f64(self) -> f64;
}

impl Count for u64 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    fn from_len(n: usize) -> Self {
        n as u64
    }
    fn to_narrow(self) -> Option<u16> {
        u16::try_from(self).ok()
    }
    fn from_narrow(c: u16) -> Self {
        c.into()
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        u64::checked_add(self, other)
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Count for u128 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    fn from_len(n: usize) -> Self {
        n as u128
    }
    fn to_narrow(self) -> Option<u16> {
        None
    }
    fn from_narrow(c: u16) -> Self {
        c.into()
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        u128::checked_add(self, other)
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

/// The chunk table of one sign: a direct index from a value's chunk key (exponent × 32 +
/// chunk, see [`chunk_key`]) to its chunk slot, over whole binades from `lo`. A value's count
/// is then one subtraction, one bounds check and one load away from its bits.
#[derive(Debug, Clone, Default)]
struct Side {
    /// Chunk key of `slots[0]` (a multiple of [`CHUNKS_PER_PAGE`]).
    lo: usize,
    /// Chunk slot + 1 (0: none; [`WIDE`]: a wide chunk) per chunk key from `lo`.
    slots: Vec<u32>,
}

/// Counts per log-linear bin, sparse and bounded, with min, max, exact zeros and an exact
/// table of values while there are at most [`EXACT_CAPACITY`] of them.
#[derive(Debug, Clone)]
pub struct PagedCounts<C> {
    /// [positive, negative] chunk tables. They only cover binades in floor..=top (a binade
    /// is added when reached, storage rebuilt when the floor rises past it), so a value found
    /// in a table needs no floor or top test.
    sides: [Side; 2],
    /// Chunks of counts below 2^16 (slots without [`WIDE`]).
    narrow: Vec<[u16; CHUNK_BINS]>,
    /// Narrow chunks freed by widening, to reuse.
    free_narrow: Vec<u32>,
    /// Chunks of full-width counts (slots with [`WIDE`]).
    wide: Vec<[C; CHUNK_BINS]>,
    /// Largest biased exponent of a non-zero value seen (0 before any).
    top: usize,
    /// Values of a smaller exponent are pooled in `pooled` (0: nothing pooled yet).
    floor: usize,
    /// [positive, negative] counts below the floor.
    pooled: [C; 2],
    /// Sorted (value, count) pairs; `None` once more than [`EXACT_CAPACITY`] distinct values were seen.
    exact: Option<Vec<(f64, C)>>,
    /// Exact zeros, counted apart so that a quantile that is 0 comes out as exactly 0.
    zeros: C,
    total: C,
    min: f64,
    max: f64,
}

/// The serialized form: only allocated chunks, as (negative, exponent, chunk, counts).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PagedData<C> {
    pub(crate) chunks: Vec<(bool, u16, u8, Vec<C>)>,
    pub(crate) top: u16,
    pub(crate) pooled: [C; 2],
    pub(crate) exact: Option<Vec<(f64, C)>>,
    pub(crate) zeros: C,
    pub(crate) total: C,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

/// The bin of a non-zero, non-NaN value: (negative, biased exponent, bin in the binade).
#[inline]
pub(crate) fn bin_of(x: f64) -> (bool, usize, usize) {
    let bits = x.to_bits();
    let exponent = ((bits >> MANTISSA_BITS) & 0x7ff) as usize;
    let bin = ((bits >> SHIFT) as usize) & (BINS_PER_PAGE - 1);
    (bits >> 63 == 1, exponent, bin)
}

/// The chunk key of a value's bits: biased exponent × 32 + chunk in the binade (the sign
/// bit dropped), i.e. bits 47..63.
#[inline(always)]
fn chunk_key(bits: u64) -> usize {
    ((bits >> (SHIFT + CHUNK_BITS)) & 0xffff) as usize
}

/// Counts the values of `xs` that take the short path (bits → chunk key → slot → narrow
/// count) and the zeros, up to the first value that does not (no chunk for it, a wide chunk,
/// or a count at 65,535): (values done, zeros among them). `sign`: the sign of every non-zero
/// value, when the caller knows it (then one table's bounds are hoisted out of the loop).
/// A table only holds binades in floor..=top, so a hit needs no other test.
#[inline(always)]
fn count_short(
    sides: &[Side; 2],
    narrow: &mut [[u16; CHUNK_BINS]],
    xs: &[f64],
    sign: Option<usize>,
) -> (usize, usize) {
    let mut zeros = 0;
    for (j, &x) in xs.iter().enumerate() {
        let bits = x.to_bits();
        // ±0 (every bit but the sign clear): one bin for zero.
        if bits << 1 == 0 {
            zeros += 1;
            continue;
        }
        let side = &sides[sign.unwrap_or((bits >> 63) as usize)];
        if let Some(&slot) = side.slots.get(chunk_key(bits).wrapping_sub(side.lo)) {
            // slot − 1 < WIDE − 1: an allocated narrow chunk.
            if slot.wrapping_sub(1) < WIDE - 1 {
                let bin = (bits >> SHIFT) as usize % CHUNK_BINS;
                if let Some(count) = narrow.get_mut(slot as usize - 1) {
                    if count[bin] < u16::MAX {
                        count[bin] += 1;
                        continue;
                    }
                }
            }
        }
        return (j, zeros);
    }
    (xs.len(), zeros)
}

/// Lower and upper edge (by magnitude) of bin `bin` of binade `exponent`.
fn bin_edges(exponent: usize, bin: usize) -> (f64, f64) {
    let base = (exponent as u64) << MANTISSA_BITS;
    let lo = f64::from_bits(base | ((bin as u64) << SHIFT));
    let hi = f64::from_bits(base + (((bin as u64) + 1) << SHIFT));
    (lo, hi)
}

fn floor_of(top: usize) -> usize {
    top.saturating_sub(FLOOR_BINADES)
}

impl<C: Count> Default for PagedCounts<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Count> PagedCounts<C> {
    /// No counts.
    pub fn new() -> Self {
        PagedCounts {
            sides: [Side::default(), Side::default()],
            narrow: Vec::new(),
            free_narrow: Vec::new(),
            wide: Vec::new(),
            top: 0,
            floor: 0,
            pooled: [C::ZERO; 2],
            exact: Some(Vec::new()),
            zeros: C::ZERO,
            total: C::ZERO,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Total count (or weight).
    pub fn total(&self) -> C {
        self.total
    }

    /// Smallest and largest value counted ((inf, −inf) when empty).
    pub fn range(&self) -> (f64, f64) {
        (self.min, self.max)
    }

    /// The exact table of values, while there are at most [`EXACT_CAPACITY`] of them.
    pub fn exact(&self) -> Option<&[(f64, C)]> {
        self.exact.as_deref()
    }

    /// Adds `c` at value `x` (not NaN; c > 0).
    #[inline]
    pub fn add(&mut self, x: f64, c: C) {
        let x = x + 0.0; // −0 becomes +0: one bin for zero.
        self.total += c;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if let Some(exact) = &mut self.exact {
            match exact.binary_search_by(|(v, _)| v.total_cmp(&x)) {
                Ok(i) => exact[i].1 += c,
                Err(i) if exact.len() < EXACT_CAPACITY => exact.insert(i, (x, c)),
                Err(_) => self.exact = None,
            }
        }
        if x == 0.0 {
            self.zeros += c;
            return;
        }
        let (negative, exponent, bin) = bin_of(x);
        self.add_bin(negative, exponent, bin, c);
    }

    /// Adds one for every value of `xs` (none NaN): [`PagedCounts::add`] with count 1 for each,
    /// the same counts, but with the range and total taken once for the slice and a short path
    /// for a value whose chunk exists and is narrow (the usual case once a run is warm).
    #[inline(always)]
    pub fn add_each(&mut self, xs: &[f64]) {
        debug_assert!(!xs.iter().any(|x| x.is_nan()));
        if self.exact.is_some() {
            xs.iter().for_each(|&x| self.add(x, C::ONE));
            return;
        }
        // Eight running minima and maxima, one per lane of a vector, combined at the end: the
        // values are neither NaN nor −0 (x + 0 is +0 for ±0), so min and max are selections of
        // a unique value, whatever the order in which they see the values.
        const LANES: usize = 8;
        let (mut min, mut max) = ([f64::INFINITY; LANES], [f64::NEG_INFINITY; LANES]);
        let mut chunks = xs.chunks_exact(LANES);
        for chunk in &mut chunks {
            for j in 0..LANES {
                min[j] = min[j].min(chunk[j] + 0.0);
                max[j] = max[j].max(chunk[j] + 0.0);
            }
        }
        for &x in chunks.remainder() {
            min[0] = min[0].min(x + 0.0);
            max[0] = max[0].max(x + 0.0);
        }
        let min = min.into_iter().fold(f64::INFINITY, f64::min);
        let max = max.into_iter().fold(f64::NEG_INFINITY, f64::max);
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        self.total += C::from_len(xs.len());
        // A slice of one sign (zeros aside; the usual case: most outputs keep their sign)
        // looks up one chunk table, whose bounds then stay in registers.
        let sign = if min >= 0.0 {
            Some(0)
        } else if max <= 0.0 {
            Some(1)
        } else {
            None
        };
        let mut rest = xs;
        while !rest.is_empty() {
            let (done, zeros) = match sign {
                Some(0) => count_short(&self.sides, &mut self.narrow, rest, Some(0)),
                Some(_) => count_short(&self.sides, &mut self.narrow, rest, Some(1)),
                None => count_short(&self.sides, &mut self.narrow, rest, None),
            };
            self.zeros += C::from_len(zeros);
            let Some(&x) = rest.get(done) else { break };
            let (negative, exponent, bin) = bin_of(x);
            self.add_bin(negative, exponent, bin, C::ONE);
            rest = &rest[done + 1..];
        }
    }

    #[inline]
    fn add_bin(&mut self, negative: bool, exponent: usize, bin: usize, c: C) {
        if exponent > self.top {
            self.raise_top(exponent);
        }
        if exponent < self.floor {
            self.pooled[negative as usize] += c;
            return;
        }
        let key = exponent * CHUNKS_PER_PAGE + bin / CHUNK_BINS;
        let side = &self.sides[negative as usize];
        let i = match key.checked_sub(side.lo) {
            Some(i) if i < side.slots.len() => i,
            _ => self.reach(negative, exponent) + bin / CHUNK_BINS,
        };
        let s = negative as usize;
        let mut slot = self.sides[s].slots[i];
        if slot == 0 {
            slot = self.new_chunk(c.to_narrow().is_none());
            self.sides[s].slots[i] = slot;
        }
        if slot & WIDE == 0 {
            let count = &mut self.narrow[slot as usize - 1][bin % CHUNK_BINS];
            if let Some(sum) = c.to_narrow().and_then(|c| count.checked_add(c)) {
                *count = sum;
                return;
            }
            slot = self.widen(s, i);
        }
        self.wide[(slot & !WIDE) as usize - 1][bin % CHUNK_BINS] += c;
    }

    /// A new chunk of zeros: its slot.
    #[cold]
    fn new_chunk(&mut self, wide: bool) -> u32 {
        if wide {
            self.wide.push([C::ZERO; CHUNK_BINS]);
            return self.wide.len() as u32 | WIDE;
        }
        if let Some(slot) = self.free_narrow.pop() {
            self.narrow[slot as usize - 1] = [0; CHUNK_BINS];
            return slot;
        }
        self.narrow.push([0; CHUNK_BINS]);
        self.narrow.len() as u32
    }

    /// Moves the chunk at index `i` of side `s`'s table from narrow to wide counts: its new slot.
    #[cold]
    fn widen(&mut self, s: usize, i: usize) -> u32 {
        let old = self.sides[s].slots[i];
        let counts = self.narrow[old as usize - 1].map(C::from_narrow);
        self.free_narrow.push(old);
        self.wide.push(counts);
        let slot = self.wide.len() as u32 | WIDE;
        self.sides[s].slots[i] = slot;
        slot
    }

    /// The counts of the chunk in `slot`, at full width.
    fn chunk(&self, slot: u32) -> [C; CHUNK_BINS] {
        if slot & WIDE == 0 {
            self.narrow[slot as usize - 1].map(C::from_narrow)
        } else {
            self.wide[(slot & !WIDE) as usize - 1]
        }
    }

    /// Widens the sign's chunk table to binade `exponent` (and every binade between it and the
    /// table's range, 128 bytes each): the table index of the binade's first chunk.
    #[cold]
    fn reach(&mut self, negative: bool, exponent: usize) -> usize {
        let side = &mut self.sides[negative as usize];
        let key = exponent * CHUNKS_PER_PAGE;
        if side.slots.is_empty() {
            side.lo = key;
        }
        if key < side.lo {
            side.slots
                .splice(0..0, std::iter::repeat_n(0, side.lo - key));
            side.lo = key;
        }
        let i = key - side.lo;
        if i + CHUNKS_PER_PAGE > side.slots.len() {
            side.slots.resize(i + CHUNKS_PER_PAGE, 0);
        }
        i
    }

    /// A value of exponent `top` > self.top arrived: raises the floor and pools every binade
    /// now below it. The storage is rebuilt, which happens at most a few times per run (the
    /// largest magnitude grows quickly at first, then rarely).
    #[cold]
    fn raise_top(&mut self, top: usize) {
        self.top = top;
        let floor = floor_of(top);
        if floor <= self.floor {
            return;
        }
        self.floor = floor;
        let below = self
            .sides
            .iter()
            .any(|s| !s.slots.is_empty() && s.lo < floor * CHUNKS_PER_PAGE);
        if !below {
            return;
        }
        let mut old = std::mem::take(self);
        // Keep the non-bin fields; re-add the bins (those below the floor go to `pooled`).
        self.top = top;
        self.floor = floor;
        self.pooled = old.pooled;
        self.exact = old.exact.take();
        self.zeros = old.zeros;
        self.total = old.total;
        self.min = old.min;
        self.max = old.max;
        old.for_each_chunk(|negative, exponent, chunk, counts| {
            for (b, &c) in counts.iter().enumerate() {
                if c != C::ZERO {
                    self.add_bin(negative, exponent, chunk * CHUNK_BINS + b, c);
                }
            }
        });
    }

    /// Visits every allocated chunk as (negative, exponent, chunk in the binade, counts).
    fn for_each_chunk(&self, mut visit: impl FnMut(bool, usize, usize, &[C; CHUNK_BINS])) {
        for (s, side) in self.sides.iter().enumerate() {
            for (i, &slot) in side.slots.iter().enumerate() {
                if slot > 0 {
                    let key = side.lo + i;
                    let (exponent, k) = (key / CHUNKS_PER_PAGE, key % CHUNKS_PER_PAGE);
                    visit(s == 1, exponent, k, &self.chunk(slot));
                }
            }
        }
    }

    /// Adds every count of `other` (exact and commutative).
    pub fn merge(&mut self, other: &PagedCounts<C>) {
        if other.top > self.top {
            self.raise_top(other.top);
        }
        other.for_each_chunk(|negative, exponent, chunk, counts| {
            for (b, &c) in counts.iter().enumerate() {
                if c != C::ZERO {
                    self.add_bin(negative, exponent, chunk * CHUNK_BINS + b, c);
                }
            }
        });
        self.pooled[0] += other.pooled[0];
        self.pooled[1] += other.pooled[1];
        self.exact = match (self.exact.take(), &other.exact) {
            (Some(mut a), Some(b)) => {
                for &(x, c) in b {
                    match a.binary_search_by(|(v, _)| v.total_cmp(&x)) {
                        Ok(i) => a[i].1 += c,
                        Err(i) => a.insert(i, (x, c)),
                    }
                }
                (a.len() <= EXACT_CAPACITY).then_some(a)
            }
            _ => None,
        };
        self.zeros += other.zeros;
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.wide.capacity() * size_of::<[C; CHUNK_BINS]>()
            + self.narrow.capacity() * size_of::<[u16; CHUNK_BINS]>()
            + self.free_narrow.capacity() * 4
            + self
                .sides
                .iter()
                .map(|s| s.slots.capacity() * 4)
                .sum::<usize>()
            + self
                .exact
                .as_ref()
                .map_or(0, |e| e.capacity() * size_of::<(f64, C)>())
    }

    /// Visits the non-empty bins in increasing order of value as (count, low, high), low ≤ high
    /// the bin's edges as values (0 and 0 for exact zeros); stops when `visit` returns false.
    pub fn for_each_bin(&self, mut visit: impl FnMut(C, f64, f64) -> bool) {
        let floor_edge = f64::from_bits((self.floor as u64) << MANTISSA_BITS);
        // Negative side: the largest magnitude first, bins by decreasing magnitude.
        let side = &self.sides[1];
        for (i, &slot) in side.slots.iter().enumerate().rev() {
            if slot == 0 {
                continue;
            }
            let key = side.lo + i;
            let (e, k) = (key / CHUNKS_PER_PAGE, key % CHUNKS_PER_PAGE);
            let counts = self.chunk(slot);
            for (b, &c) in counts.iter().enumerate().rev() {
                if c != C::ZERO {
                    let (lo, hi) = bin_edges(e, k * CHUNK_BINS + b);
                    if !visit(c, -hi, -lo) {
                        return;
                    }
                }
            }
        }
        if self.pooled[1] != C::ZERO && !visit(self.pooled[1], -floor_edge, 0.0) {
            return;
        }
        if self.zeros != C::ZERO && !visit(self.zeros, 0.0, 0.0) {
            return;
        }
        if self.pooled[0] != C::ZERO && !visit(self.pooled[0], 0.0, floor_edge) {
            return;
        }
        let side = &self.sides[0];
        for (i, &slot) in side.slots.iter().enumerate() {
            if slot == 0 {
                continue;
            }
            let key = side.lo + i;
            let (e, k) = (key / CHUNKS_PER_PAGE, key % CHUNKS_PER_PAGE);
            let counts = self.chunk(slot);
            for (b, &c) in counts.iter().enumerate() {
                if c != C::ZERO {
                    let (lo, hi) = bin_edges(e, k * CHUNK_BINS + b);
                    if !visit(c, lo, hi) {
                        return;
                    }
                }
            }
        }
    }

    /// Non-empty bins in increasing order of value as (count, low, high), clamped to the
    /// observed range [min, max]; the exact table's values (as zero-width bins) while it lasts.
    pub fn bins(&self) -> Vec<(C, f64, f64)> {
        if let Some(exact) = &self.exact {
            return exact.iter().map(|&(x, c)| (c, x, x)).collect();
        }
        let (min, max) = (self.min, self.max);
        let mut bins = Vec::new();
        self.for_each_bin(|c, lo, hi| {
            let lo = lo.max(min);
            bins.push((c, lo, hi.min(max).max(lo)));
            true
        });
        bins
    }

    /// The serialized form.
    pub(crate) fn to_data(&self) -> PagedData<C> {
        let mut chunks = Vec::new();
        self.for_each_chunk(|negative, exponent, chunk, counts| {
            chunks.push((negative, exponent as u16, chunk as u8, counts.to_vec()));
        });
        PagedData {
            chunks,
            top: self.top as u16,
            pooled: self.pooled,
            exact: self.exact.clone(),
            zeros: self.zeros,
            total: self.total,
            min: self.min,
            max: self.max,
        }
    }

    /// Rebuilds counts from their serialized form, refusing anything `to_data` cannot have
    /// written (a chunk of another length, out of range, given twice or below the floor;
    /// counts that do not add up; an inconsistent exact table): partial results come from
    /// files that may have been damaged on the way (issue 15, item 1).
    pub(crate) fn from_data(d: PagedData<C>) -> Result<Self, String> {
        let top = d.top as usize;
        if top >= EXPONENTS {
            return Err(format!("histogram exponent {top} (accepted: 0..2047)"));
        }
        let mut h = PagedCounts::new();
        h.top = top;
        h.floor = floor_of(top);
        let mut seen = std::collections::HashSet::new();
        let mut binned = Some(C::ZERO);
        for (negative, exponent, chunk, counts) in d.chunks {
            let (e, k) = (exponent as usize, chunk as usize);
            if counts.len() != CHUNK_BINS {
                return Err(format!(
                    "histogram chunk of {} bins (accepted: {CHUNK_BINS})",
                    counts.len()
                ));
            }
            if e < h.floor || e > top || k >= CHUNKS_PER_PAGE {
                return Err(format!(
                    "histogram chunk {k} of exponent {e} (accepted: exponents {}..={top}, chunks 0..{})",
                    h.floor,
                    CHUNKS_PER_PAGE - 1
                ));
            }
            if !seen.insert((negative, e, k)) {
                return Err(format!("histogram chunk {k} of exponent {e} given twice"));
            }
            for (b, &c) in counts.iter().enumerate() {
                binned = binned.and_then(|s| s.checked_add(c));
                if c != C::ZERO {
                    h.add_bin(negative, e, k * CHUNK_BINS + b, c);
                }
            }
        }
        if h.floor == 0 && (d.pooled[0] != C::ZERO || d.pooled[1] != C::ZERO) {
            return Err("histogram pools values below a floor it does not have".into());
        }
        h.pooled = d.pooled;
        let binned = binned
            .and_then(|s| s.checked_add(d.pooled[0]))
            .and_then(|s| s.checked_add(d.pooled[1]))
            .and_then(|s| s.checked_add(d.zeros));
        if binned != Some(d.total) {
            return Err(format!(
                "histogram bins hold {binned:?} values but its count is {:?}",
                d.total
            ));
        }
        if d.total != C::ZERO && (d.min.is_nan() || d.max.is_nan() || d.min > d.max) {
            return Err(format!("histogram min {} above max {}", d.min, d.max));
        }
        if let Some(exact) = &d.exact {
            let sorted = exact.windows(2).all(|w| w[0].0.total_cmp(&w[1].0).is_lt());
            let total = exact.iter().try_fold(C::ZERO, |acc, &(x, c)| {
                (!x.is_nan()).then(|| acc.checked_add(c))?
            });
            if exact.len() > EXACT_CAPACITY || !sorted || total != Some(d.total) {
                return Err("histogram table of exact values is inconsistent".into());
            }
        }
        h.exact = d.exact;
        h.zeros = d.zeros;
        h.total = d.total;
        h.min = d.min;
        h.max = d.max;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let u = ((i as f64 + 0.5) * seed).fract();
                // Spread over many binades and both signs, with some exact zeros.
                match i % 7 {
                    0 => 0.0,
                    1 => -(u * 30.0).exp2(),
                    _ => (u * 80.0 - 60.0).exp2(),
                }
            })
            .collect()
    }

    fn bins_of(h: &PagedCounts<u64>) -> Vec<(u64, u64, u64)> {
        let mut out = Vec::new();
        h.for_each_bin(|c, lo, hi| {
            out.push((c, lo.to_bits(), hi.to_bits()));
            true
        });
        out
    }

    #[test]
    fn pooling_below_the_floor_commutes_with_merges() {
        let xs = values(20_000, 0.618_033_988_7);
        let mut whole = PagedCounts::<u64>::new();
        xs.iter().for_each(|&x| whole.add(x, 1));
        // 80 binades of positive values: the lowest ones are pooled.
        assert!(whole.pooled[0] > 0 && whole.floor > 0);
        for split in [1, 777, 10_000, 19_999] {
            // Small values first in one part, so that its floor starts lower.
            let (mut a, mut b) = (PagedCounts::<u64>::new(), PagedCounts::<u64>::new());
            let mut first: Vec<f64> = xs[..split].to_vec();
            first.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
            first.iter().for_each(|&x| a.add(x, 1));
            xs[split..].iter().for_each(|&x| b.add(x, 1));
            let mut ab = a.clone();
            ab.merge(&b);
            b.merge(&a);
            assert_eq!(bins_of(&ab), bins_of(&whole), "split {split}");
            assert_eq!(bins_of(&b), bins_of(&whole), "split {split}");
            assert_eq!(
                (ab.total, ab.pooled, ab.zeros),
                (whole.total, whole.pooled, whole.zeros)
            );
        }
    }

    #[test]
    fn memory_stays_within_the_stated_bound() {
        // Every bin of every binade within reach: the worst case.
        let mut h = PagedCounts::<u64>::new();
        for e in 900..1100u64 {
            for b in 0..BINS_PER_PAGE as u64 {
                for sign in [0u64, 1] {
                    h.add(f64::from_bits(sign << 63 | e << 52 | b << SHIFT), 1);
                }
            }
        }
        let binades = 2 * (FLOOR_BINADES + 1);
        let table: usize = h.sides.iter().map(|s| s.slots.len()).sum();
        assert_eq!(table, binades * CHUNKS_PER_PAGE);
        assert_eq!(h.narrow.len(), binades * CHUNKS_PER_PAGE);
        assert!(h.heap_bytes() <= 4 << 20, "{}", h.heap_bytes());
        // Widening every chunk: still within the bound.
        let mut wide = h.clone();
        for _ in 0..16 {
            wide.merge(&wide.clone());
        }
        assert_eq!(wide.wide.len(), binades * CHUNKS_PER_PAGE);
        assert!(wide.heap_bytes() <= 4 << 20, "{}", wide.heap_bytes());
        // A value reached once costs one narrow chunk, not a page of 16 KiB.
        let mut h = PagedCounts::<u64>::new();
        h.add(1.5, 1);
        h.add(1e-3, 1);
        assert_eq!((h.narrow.len(), h.wide.len()), (2, 0));
    }

    #[test]
    fn adding_a_slice_counts_as_adding_each_value() {
        let xs = values(30_000, 0.618_033_988_7);
        let mut one_by_one = PagedCounts::<u64>::new();
        xs.iter().for_each(|&x| one_by_one.add(x, 1));
        let mut sliced = PagedCounts::<u64>::new();
        for part in xs.chunks(1000) {
            sliced.add_each(part);
        }
        sliced.add_each(&[-0.0, 0.0]);
        one_by_one.add(-0.0, 1);
        one_by_one.add(0.0, 1);
        assert_eq!(bins_of(&sliced), bins_of(&one_by_one));
        assert_eq!(
            (sliced.total, sliced.zeros, sliced.pooled, sliced.range()),
            (
                one_by_one.total,
                one_by_one.zeros,
                one_by_one.pooled,
                one_by_one.range()
            )
        );
        // Past 65,535 in one bin: widened on the slice path too.
        let mut many = PagedCounts::<u64>::new();
        let mut expected = PagedCounts::<u64>::new();
        for _ in 0..70 {
            many.add_each(&[3.0; 1000]);
            expected.add(3.0, 1000);
        }
        many.add_each(&xs);
        xs.iter().for_each(|&x| expected.add(x, 1));
        assert_eq!(bins_of(&many), bins_of(&expected));
    }

    /// Adversarial values: ±0, subnormals, ±inf, the largest finite, binades far apart (so
    /// that the floor rises and pools what was counted), both signs, and ordinary values.
    fn adversarial() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e-300,
            -1e-310,
        ];
        xs.extend(values(3_000, 0.618_033_988_7));
        // Subnormals, each chunk of binade 0 touched.
        xs.extend((0..64u64).map(|k| f64::from_bits(k << 46 | 5)));
        xs.extend([1e100, -3e50, 7.5, -7.5, 1e150]);
        xs.extend(values(2_000, 0.754_877_666_2).iter().map(|x| x * 1e140));
        xs.extend([
            f64::MAX,
            -f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            2.0,
            1e300,
        ]);
        xs.extend(values(1_000, 0.414_213_562_3).iter().map(|x| x * 1e290));
        xs
    }

    /// The counts by definition: every value in its bin (zeros apart), binades more than
    /// FLOOR_BINADES below the largest magnitude of all the values pooled per sign.
    fn reference(xs: &[f64]) -> (PagedData<u64>, u64, [u64; 2]) {
        let top = xs
            .iter()
            .filter(|x| **x != 0.0)
            .map(|&x| bin_of(x).1)
            .max()
            .unwrap_or(0);
        let floor = floor_of(top);
        let mut chunks = std::collections::BTreeMap::<(bool, u16, u8), Vec<u64>>::new();
        let (mut zeros, mut pooled) = (0, [0, 0]);
        for &x in xs {
            if x == 0.0 {
                zeros += 1;
                continue;
            }
            let (negative, exponent, bin) = bin_of(x);
            if exponent < floor {
                pooled[negative as usize] += 1;
                continue;
            }
            let key = (negative, exponent as u16, (bin / CHUNK_BINS) as u8);
            chunks.entry(key).or_insert_with(|| vec![0; CHUNK_BINS])[bin % CHUNK_BINS] += 1;
        }
        let data = PagedData {
            chunks: chunks
                .into_iter()
                .map(|((negative, e, k), counts)| (negative, e, k, counts))
                .collect(),
            top: top as u16,
            pooled,
            exact: None,
            zeros,
            total: xs.len() as u64,
            min: xs.iter().fold(f64::INFINITY, |m, &x| m.min(x + 0.0)),
            max: xs.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x + 0.0)),
        };
        (data, zeros, pooled)
    }

    fn assert_same_data(a: &PagedData<u64>, b: &PagedData<u64>, what: &str) {
        assert_eq!(a.chunks, b.chunks, "{what}");
        assert_eq!(
            (a.top, a.pooled, a.zeros, a.total),
            (b.top, b.pooled, b.zeros, b.total),
            "{what}"
        );
        assert_eq!(
            (a.min.to_bits(), a.max.to_bits()),
            (b.min.to_bits(), b.max.to_bits()),
            "{what}"
        );
    }

    #[test]
    fn chunk_tables_count_adversarial_values_as_defined() {
        let all = adversarial();
        // Prefixes: subnormals and ordinary values (no pooling); up to 1e150 (the floor rose
        // past everything counted before); everything (±inf: top at the last exponent).
        let before_huge = all.iter().position(|&x| x == 1e100).unwrap();
        let before_max = all.iter().position(|&x| x == f64::MAX).unwrap();
        for end in [before_huge, before_max, all.len()] {
            check_adversarial(&all[..end]);
        }
    }

    fn check_adversarial(xs: &[f64]) {
        let (expected, _, _) = reference(xs);
        // One at a time; by slices of every length pattern (both signs, one sign, zeros); and
        // the serialized form (the chunks in (sign, exponent, chunk) order) of each.
        let mut one_by_one = PagedCounts::<u64>::new();
        xs.iter().for_each(|&x| one_by_one.add(x, 1));
        assert_same_data(&one_by_one.to_data(), &expected, "one by one");
        for len in [1, 7, 64, 1000] {
            let mut sliced = PagedCounts::<u64>::new();
            for part in xs.chunks(len) {
                sliced.add_each(part);
            }
            assert_same_data(&sliced.to_data(), &expected, &format!("slices of {len}"));
            let back = PagedCounts::from_data(sliced.to_data()).unwrap();
            assert_same_data(&back.to_data(), &expected, "round trip");
        }
        // Slices of one sign, with zeros, after the exact table is gone.
        let mut by_sign = PagedCounts::<u64>::new();
        let (positive, negative): (Vec<f64>, Vec<f64>) =
            xs.iter().partition(|&&x| x.is_sign_positive());
        for (p, n) in positive.chunks(100).zip(negative.chunks(37)) {
            by_sign.add_each(p);
            by_sign.add_each(n);
        }
        let cut = positive
            .len()
            .div_ceil(100)
            .min(negative.len().div_ceil(37));
        positive[(cut * 100).min(positive.len())..]
            .iter()
            .chain(&negative[(cut * 37).min(negative.len())..])
            .for_each(|&x| by_sign.add(x, 1));
        assert_same_data(&by_sign.to_data(), &expected, "by sign");
        // Merged in either order from two halves.
        let (mut a, mut b) = (PagedCounts::<u64>::new(), PagedCounts::<u64>::new());
        a.add_each(&xs[..xs.len() * 2 / 3]);
        b.add_each(&xs[xs.len() * 2 / 3..]);
        let mut ab = a.clone();
        ab.merge(&b);
        b.merge(&a);
        assert_same_data(&ab.to_data(), &expected, "a + b");
        assert_same_data(&b.to_data(), &expected, "b + a");
    }

    #[test]
    fn chunk_tables_widen_past_65535_as_defined() {
        // A bin of a subnormal, of a negative value and of an ordinary one, each past 65,535,
        // by slices and one at a time, among values that keep the other chunks narrow.
        let heavy = [f64::from_bits(3 << 40), -2.5, 1.0 + 1e-9];
        let mut xs = values(5_000, 0.618_033_988_7);
        for round in 0..70 {
            xs.extend(std::iter::repeat_n(heavy[round % 3], 2_900));
        }
        let (expected, _, _) = reference(&xs);
        assert!(expected
            .chunks
            .iter()
            .any(|c| c.3.iter().any(|&n| n > 65_535)));
        let mut sliced = PagedCounts::<u64>::new();
        for part in xs.chunks(1024) {
            sliced.add_each(part);
        }
        assert_same_data(&sliced.to_data(), &expected, "sliced");
        assert!(!sliced.wide.is_empty());
        let mut one_by_one = PagedCounts::<u64>::new();
        xs.iter().for_each(|&x| one_by_one.add(x, 1));
        assert_same_data(&one_by_one.to_data(), &expected, "one by one");
    }

    #[test]
    fn slices_keep_the_exact_table_of_one_value_at_a_time() {
        // Runs of equal values (the entry of the last value is tried first), ±0, a value
        // between two entries, then more than EXACT_CAPACITY distinct values inside a slice.
        let mut xs = vec![
            0.0, 0.0, -0.0, 1.0, 1.0, 0.0, 2.5, 0.5, 0.5, -0.0, 1.0, -3.0,
        ];
        xs.extend((0..500).map(|i| [0.0, 1.0, 0.0, 0.0, 7.0][i % 5]));
        let distinct: Vec<f64> = (0..100).map(|i| i as f64 * 0.25 - 3.0).collect();
        let mut one_by_one = PagedCounts::<u64>::new();
        let mut sliced = PagedCounts::<u64>::new();
        for part in xs.chunks(13) {
            sliced.add_each(part);
        }
        xs.iter().for_each(|&x| one_by_one.add(x, 1));
        assert_eq!(sliced.exact(), one_by_one.exact());
        assert!(sliced.exact().is_some());
        for part in [&distinct[..50], &distinct[50..]] {
            sliced.add_each(part);
            part.iter().for_each(|&x| one_by_one.add(x, 1));
            assert_eq!(sliced.exact(), one_by_one.exact());
        }
        assert!(sliced.exact().is_none());
        assert_eq!(bins_of(&sliced), bins_of(&one_by_one));
        assert_eq!(
            (sliced.total, sliced.zeros, sliced.min, sliced.max),
            (
                one_by_one.total,
                one_by_one.zeros,
                one_by_one.min,
                one_by_one.max
            )
        );
    }

    #[test]
    fn widened_chunks_keep_their_counts() {
        let mut narrow = PagedCounts::<u64>::new();
        let mut one = PagedCounts::<u64>::new();
        for i in 0..70_000u64 {
            narrow.add(if i % 2 == 0 { 2.0 } else { 2.01 }, 1);
        }
        one.add(2.0, 35_000);
        one.add(2.01, 35_000);
        one.add(2.0, 70_000);
        one.add(2.01, 70_000);
        for _ in 0..70_000 {
            narrow.add(2.0, 1);
            narrow.add(2.01, 1);
        }
        // 105,000 in each bin: past 65,535, so the chunk was widened on the way.
        assert_eq!((narrow.wide.len(), narrow.free_narrow.len()), (1, 1));
        assert_eq!(bins_of(&narrow), bins_of(&one));
        assert_eq!(bins_of(&narrow)[0].0, 105_000);
    }

    #[test]
    fn data_round_trips() {
        let mut h = PagedCounts::<u64>::new();
        values(5_000, 0.754_877_666_2)
            .iter()
            .for_each(|&x| h.add(x, 1));
        let back = PagedCounts::from_data(h.to_data()).unwrap();
        assert_eq!(bins_of(&back), bins_of(&h));
        let mut below = h.to_data();
        let low = below.chunks.iter().map(|c| c.1).min().unwrap();
        below.chunks[0].1 = low.min(below.top - FLOOR_BINADES as u16) - 1;
        assert!(PagedCounts::from_data(below).is_err());
    }
}
