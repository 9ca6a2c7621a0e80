//! The one evaluation path of ARCHITECTURE.md: points of the unit cube → copula → quantile
//! functions → scenario pick → kernel → outputs, for a block of draws. The run driver feeds
//! it the sampler's blocks; sensitivity feeds it the points of its Saltelli design (blocks of
//! one), so both compute the same numbers the same way.

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{s, Array2, ArrayView2};

use super::{Kernel, KernelScratch, ValueColumns};
use crate::dist::LocatedPoints;
use crate::model::Model;
use crate::sampling::copula::CopulaScratch;

/// A model made ready to evaluate points: its kernel and the coordinate of every uncertain
/// parameter, built once and shared by every worker.
pub struct Evaluator<'m> {
    /// Unique among the evaluators of this process (for per-thread buffer caches).
    id: u64,
    model: &'m Model,
    kernel: Kernel<'m>,
    /// (parameter index, coordinate) of every uncertain parameter.
    uncertain: Vec<(usize, usize)>,
}

/// Buffers of one worker, reused for every block so that the hot loop does not allocate.
///
/// Values and outputs are stored column by column (value j of draw d at `j * capacity + d`):
/// each quantile function fills a contiguous column, the kernel reads and writes whole
/// columns, and the statistics read outputs column by column.
pub struct BlockBuffers {
    /// Draw × coordinate, row-major: the points, made correlated in place by the copula.
    points: Array2<f64>,
    /// Value × draw.
    values: Array2<f64>,
    /// Output × draw.
    outputs: Array2<f64>,
    scenarios: Vec<u32>,
    copula_scratch: CopulaScratch,
    kernel_scratch: KernelScratch,
    /// Where each point of the block falls in the quantile functions' pieces.
    located: LocatedPoints,
}

impl BlockBuffers {
    /// Capacity: the most draws one call of [`Evaluator::evaluate`] takes.
    pub fn capacity(&self) -> usize {
        self.scenarios.len()
    }

    /// The first `n` points, row-major (draw d's coordinates at `d * dim ..`), to fill before
    /// [`Evaluator::evaluate`].
    pub fn points_mut(&mut self, n: usize) -> &mut [f64] {
        let dim = self.points.ncols();
        &mut self.points.as_slice_mut().expect("buffers are contiguous")[..n * dim]
    }

    /// Draw × coordinate view of the first `n` points (after the copula, once evaluated).
    pub fn points(&self, n: usize) -> ArrayView2<'_, f64> {
        self.points.slice(s![..n, ..])
    }

    /// Draw × value view of the first `n` draws (parameters then constants).
    pub fn values(&self, n: usize) -> ArrayView2<'_, f64> {
        self.values.slice(s![.., ..n]).reversed_axes()
    }

    /// Draw × output view of the first `n` draws.
    pub fn outputs(&self, n: usize) -> ArrayView2<'_, f64> {
        self.outputs.slice(s![.., ..n]).reversed_axes()
    }

    /// With `--line-outputs`: the export loss of every line for the draws of the last block
    /// evaluated (line after line, as many draws each as the block had); empty otherwise.
    pub fn line_losses(&self) -> &[f64] {
        self.kernel_scratch.line_losses()
    }

    /// The scenario each of the first `n` draws picked.
    pub fn scenarios(&self, n: usize) -> &[u32] {
        &self.scenarios[..n]
    }
}

impl<'m> Evaluator<'m> {
    /// Prepares `model` for evaluation.
    pub fn new(model: &'m Model) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Evaluator {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            model,
            kernel: Kernel::new(model),
            uncertain: model
                .params
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.coordinate.map(|c| (i, c)))
                .collect(),
        }
    }

    /// An identifier no other evaluator of this process has.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The model evaluated.
    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Outputs per draw.
    pub fn n_outputs(&self) -> usize {
        self.kernel.n_outputs()
    }

    /// Buffers for blocks of up to `capacity` draws; the values of parameters without
    /// uncertainty (and of constants) are filled in once here.
    pub fn buffers(&self, capacity: usize) -> BlockBuffers {
        let defaults = self.model.median_values();
        let mut values = Array2::zeros((defaults.len(), capacity));
        for (mut column, &d) in values.outer_iter_mut().zip(&defaults) {
            column.fill(d);
        }
        BlockBuffers {
            points: Array2::zeros((capacity, self.model.dimension)),
            values,
            outputs: Array2::zeros((self.kernel.n_outputs(), capacity)),
            scenarios: vec![0; capacity],
            copula_scratch: CopulaScratch::default(),
            kernel_scratch: KernelScratch::default(),
            located: LocatedPoints::default(),
        }
    }

    /// The outputs at the median input (every coordinate at 1/2).
    pub fn median_outputs(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.kernel.n_outputs()];
        self.kernel.evaluate(
            &self.model.median_values(),
            self.model.pick_scenario(0.5),
            &mut out,
        );
        out
    }

    /// Evaluates the first `n` points of `buf` (filled through [`BlockBuffers::points_mut`]):
    /// copula, scenario pick, quantile functions, kernel.
    pub fn evaluate(&self, buf: &mut BlockBuffers, n: usize) {
        let model = self.model;
        let dim = model.dimension;
        let stride = buf.capacity();
        debug_assert!(n <= stride);
        let flat = buf.points.as_slice_mut().expect("buffers are contiguous");
        if !model.copula.is_identity() {
            model
                .copula
                .apply_block(flat, n, dim, &mut buf.copula_scratch);
        }
        for (d, row) in flat[..n * dim].chunks_exact(dim).enumerate() {
            buf.scenarios[d] = model.pick_scenario(row[0]) as u32;
        }
        // One parameter at a time over the block: the same quantile function in a tight loop,
        // filling the parameter's column.
        // The pieces' intervals depend only on u: found once for the whole block, in memory
        // order (issue 16).
        buf.located.locate(&flat[..n * dim]);
        let values = buf.values.as_slice_mut().expect("buffers are contiguous");
        for &(param, coord) in &self.uncertain {
            let dist = &model.params[param].dist;
            let column = &mut values[param * stride..][..n];
            dist.quantile_located(&buf.located, coord, dim, &flat[coord..], dim, column);
        }
        self.kernel.evaluate_block(
            &ValueColumns {
                data: values,
                stride,
            },
            &buf.scenarios[..n],
            buf.outputs.as_slice_mut().expect("buffers are contiguous"),
            &mut buf.kernel_scratch,
        );
    }
}
