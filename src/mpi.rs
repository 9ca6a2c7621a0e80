//! Scale-out over MPI ranks (cargo feature `mpi`): `mpirun -n R tariffsim run ...` splits the
//! blocks of a run into R contiguous ranges, one per rank, and gathers the ranks' exact partial
//! results to rank 0, which merges them and writes the result files. The result is
//! bit-identical to a single-process run because partial statistics merge exactly.
//!
//! Without the feature (or with one rank) this module does nothing and `run` works as usual.
//! Crate-private: the run driver (`run::Run::execute_ranks`) is the way in.

/// The MPI world of this process, when it was started by `mpirun` with more than one rank.
pub struct MpiWorld {
    #[cfg(feature = "mpi")]
    universe: ::mpi::environment::Universe,
    rank: u64,
    size: u64,
}

impl MpiWorld {
    /// Starts MPI when the binary was built with the `mpi` feature and launched by `mpirun`
    /// with several ranks; `None` otherwise (a run in one process).
    pub fn init() -> Option<MpiWorld> {
        init()
    }

    /// This process's rank, from 0.
    pub fn rank(&self) -> u64 {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether this rank writes results.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }
}

/// Starts MPI when the binary was built with the `mpi` feature and launched with several
/// ranks; `None` otherwise.
#[cfg(feature = "mpi")]
pub(crate) fn init() -> Option<MpiWorld> {
    use ::mpi::traits::Communicator;
    // Funneled: only the main thread calls MPI; rayon's workers never do.
    let (universe, _) = ::mpi::initialize_with_threading(::mpi::Threading::Funneled)?;
    let world = universe.world();
    let (rank, size) = (world.rank() as u64, world.size() as u64);
    if size < 2 {
        return None;
    }
    Some(MpiWorld {
        universe,
        rank,
        size,
    })
}

/// Starts MPI: without the `mpi` feature there is nothing to start.
#[cfg(not(feature = "mpi"))]
pub(crate) fn init() -> Option<MpiWorld> {
    None
}

/// Gathers every rank's bytes on rank 0, in rank order; `None` on the other ranks.
#[cfg(feature = "mpi")]
pub(crate) fn gather_to_root(world: &MpiWorld, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    use ::mpi::datatype::PartitionMut;
    use ::mpi::traits::{Communicator, Root};
    use ::mpi::Count;
    let comm = world.universe.world();
    let root = comm.process_at_rank(0);
    let len = bytes.len() as Count;
    if world.is_root() {
        let mut lengths = vec![0 as Count; world.size as usize];
        root.gather_into_root(&len, &mut lengths[..]);
        let displs: Vec<Count> = lengths
            .iter()
            .scan(0, |acc, &x| {
                let at = *acc;
                *acc += x;
                Some(at)
            })
            .collect();
        let total: usize = lengths.iter().map(|&l| l as usize).sum();
        let mut buf = vec![0u8; total];
        {
            let mut partition = PartitionMut::new(&mut buf[..], &lengths[..], &displs[..]);
            root.gather_varcount_into_root(bytes, &mut partition);
        }
        Some(
            lengths
                .iter()
                .zip(&displs)
                .map(|(&l, &d)| buf[d as usize..(d + l) as usize].to_vec())
                .collect(),
        )
    } else {
        root.gather_into(&len);
        root.gather_varcount_into(bytes);
        None
    }
}

/// Gathers every rank's bytes on rank 0: without the `mpi` feature there is one rank.
#[cfg(not(feature = "mpi"))]
pub(crate) fn gather_to_root(_world: &MpiWorld, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    Some(vec![bytes.to_vec()])
}
