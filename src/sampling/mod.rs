//! Samplers: deterministic points of the unit cube, addressed by draw index, per fixed-size block.
//!
//! They know nothing about economics (ARCHITECTURE.md, "Sampler").

pub mod copula;
mod monte_carlo;

pub use monte_carlo::MonteCarlo;

/// A deterministic source of points in the open unit cube (0,1)^dim, addressed by global draw index.
pub trait PointSet: Send + Sync {
    /// Dimension of every point.
    fn dim(&self) -> usize;
    /// Fill `out` (row-major, out.len() = n * dim) with the points of draws `first .. first + n`,
    /// all of which lie in block `block` (blocks are fixed-size ranges of draw indices chosen by the engine).
    /// The result must depend only on the sampler's construction (seed, total draws, dim) and the draw
    /// indices — never on the thread or on how calls are split — and every coordinate must be strictly inside (0,1).
    fn fill_block(&self, block: u64, first: u64, out: &mut [f64]);
}

/// Maps 64 random bits to the open interval (0,1): the 53 high bits plus half an ulp, so 0 and 1 never occur.
#[inline]
pub fn bits_to_open_unit(x: u64) -> f64 {
    ((x >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}
