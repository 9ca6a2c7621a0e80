//! Samplers: deterministic points of the unit cube, addressed by draw index, per fixed-size block.
//!
//! They know nothing about economics (ARCHITECTURE.md, "Sampler"). This layer owns the block
//! size and the list of sampler kinds, which every layer above uses.

pub mod copula;
mod kind;
pub mod lhs;
mod monte_carlo;
pub mod sobol;

pub use kind::{block_count, SamplerKind, BLOCK_SIZE};
pub use lhs::LatinHypercube;
pub use monte_carlo::MonteCarlo;
pub use sobol::{unit_from_u64, Antithetic, SamplerError, Sobol};

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
