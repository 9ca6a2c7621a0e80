//! The sampler kinds and the block size: the unit of random streams, parallel work, shards
//! and checkpoints. Both belong to sampling, the layer every other one builds on.

use super::sobol::SOBOL_MAX_DIM;
use super::{Antithetic, LatinHypercube, MonteCarlo, PointSet, SamplerError, Sobol};

/// Draws per block: the unit of parallel work, of random streams, of shards and checkpoints.
pub const BLOCK_SIZE: u64 = 1024;

/// Number of blocks for `draws` draws.
pub fn block_count(draws: u64) -> u64 {
    draws.div_ceil(BLOCK_SIZE)
}

/// How the points of the unit cube are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplerKind {
    /// Independent uniforms, one ChaCha8 stream per block.
    MonteCarlo,
    /// Latin hypercube stratified over the run's declared number of draws.
    LatinHypercube,
    /// Owen-scrambled Sobol points (quasi-Monte Carlo), addressed by draw index.
    Sobol,
}

/// Suffix of a sampler label when antithetic pairs are on (`sobol+antithetic`).
const ANTITHETIC_SUFFIX: &str = "+antithetic";

/// The one table of sampler names (used in model-independent settings, `summary.json`,
/// partial results and the command line) and what each means.
const SAMPLERS: [(SamplerKind, &str, &str); 3] = [
    (SamplerKind::MonteCarlo, "mc", "Monte Carlo"),
    (
        SamplerKind::LatinHypercube,
        "lhs",
        "Latin hypercube over the run's draws",
    ),
    (
        SamplerKind::Sobol,
        "sobol",
        "Owen-scrambled Sobol, quasi-Monte Carlo",
    ),
];

impl SamplerKind {
    /// Every sampler, in the order the command line lists them.
    pub const ALL: [SamplerKind; 3] = [SAMPLERS[0].0, SAMPLERS[1].0, SAMPLERS[2].0];

    fn entry(self) -> &'static (SamplerKind, &'static str, &'static str) {
        // Every variant has exactly one row of SAMPLERS (checked by a test below).
        &SAMPLERS[self as usize]
    }

    /// The sampler's name (`mc`, `lhs`, `sobol`), as in `summary.json`.
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    /// A few words on what the sampler does (for help texts).
    pub fn description(self) -> &'static str {
        self.entry().2
    }

    /// The sampler called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        SamplerKind::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The label of a sampler with its antithetic flag, as stored in partial results
    /// (`mc`, `sobol+antithetic`, ...): runs with different labels do not mix.
    pub fn label(self, antithetic: bool) -> String {
        if antithetic {
            format!("{}{ANTITHETIC_SUFFIX}", self.name())
        } else {
            self.name().to_string()
        }
    }

    /// Inverse of [`SamplerKind::label`]: the sampler and the antithetic flag.
    pub fn from_label(label: &str) -> Option<(Self, bool)> {
        match label.strip_suffix(ANTITHETIC_SUFFIX) {
            Some(base) => Some((SamplerKind::from_name(base)?, true)),
            None => Some((SamplerKind::from_name(label)?, false)),
        }
    }

    /// Whether every prefix of the run's points is as good a sample as the whole: false for
    /// a Latin hypercube, which stratifies a declared number of draws, so a run stopped early
    /// leaves most of its strata empty.
    pub fn extensible(self) -> bool {
        self != SamplerKind::LatinHypercube
    }

    /// Whether a run of `draws` draws in `dim` coordinates is within this sampler's limits,
    /// checked without building its point set (a Latin hypercube's is as large as the run).
    pub fn check(self, dim: usize, draws: u64) -> Result<(), SamplerError> {
        if dim == 0 {
            return Err(SamplerError::ZeroDim);
        }
        match self {
            SamplerKind::Sobol if dim > SOBOL_MAX_DIM => Err(SamplerError::DimTooLarge {
                dim,
                max: SOBOL_MAX_DIM,
            }),
            SamplerKind::LatinHypercube if draws == 0 => Err(SamplerError::ZeroDraws),
            _ => Ok(()),
        }
    }

    /// The point set of a run of `draws` draws in `dim` coordinates.
    pub fn point_set(
        self,
        dim: usize,
        draws: u64,
        seed: u64,
        antithetic: bool,
    ) -> Result<Box<dyn PointSet>, SamplerError> {
        // With antithetic pairs, draw 2k and 2k + 1 share base point k: the base needs half the draws.
        let base_draws = if antithetic { draws.div_ceil(2) } else { draws };
        fn wrap<P: PointSet + 'static>(p: P, antithetic: bool) -> Box<dyn PointSet> {
            if antithetic {
                Box::new(Antithetic::new(p))
            } else {
                Box::new(p)
            }
        }
        Ok(match self {
            SamplerKind::MonteCarlo => wrap(MonteCarlo::new(dim, seed), antithetic),
            SamplerKind::LatinHypercube => {
                wrap(LatinHypercube::new(dim, base_draws, seed)?, antithetic)
            }
            SamplerKind::Sobol => wrap(Sobol::new(dim, seed)?, antithetic),
        })
    }
}

impl std::fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_sampler_and_names_round_trip() {
        for (i, s) in SamplerKind::ALL.into_iter().enumerate() {
            assert_eq!(SAMPLERS[i].0, s, "the table's order is the enum's");
            assert_eq!(SamplerKind::from_name(s.name()), Some(s));
            for a in [false, true] {
                assert_eq!(SamplerKind::from_label(&s.label(a)), Some((s, a)));
            }
        }
        assert_eq!(SamplerKind::from_name("qmc"), None);
    }
}
