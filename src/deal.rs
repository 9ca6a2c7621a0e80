//! What the deal costs (issue 17, MODEL.md §15): per scenario, the tariff relief a deal buys
//! against no deal beside the package's cost, and how much of the won's move comes from the
//! investment flow rather than from trade.
//!
//! The relief is a counterfactual, so it is computed with common random numbers: each of the
//! first `n` draws of the run (same seed, sampler and points) is evaluated under every scenario
//! in turn, whichever scenario the draw picked, and the relief of scenario k is the mean over
//! those draws of L(no deal) − L(k). The elasticities, interim rates, market betas and every
//! scenario's own tariffs and months are the same in both terms of a difference, so it carries
//! none of their variance. (Conditional means from the run, E[L | no deal] − E[L | k], estimate
//! the same quantity, because the scenario pick is independent of every other coordinate, but
//! from disjoint sets of draws and with a much larger standard error.)
//!
//! The pass is deterministic: blocks of the engine, sums that are exact and so independent of
//! the order blocks finish in.

use std::sync::Mutex;

use crate::kernel::macro_outputs::{fx_flow_pct, gdp_crowd_out_pct};
use crate::kernel::{Kernel, KernelScratch, ValueColumns};
use crate::model::Model;
use crate::outputs::*;
use crate::run::{BlockView, Observer, Run, RunConfig, RunError, SamplerKind};
use crate::stats::ExactSum;
pub use crate::summary::{DealCosts, Estimate, FxChannels, GdpChannels, ScenarioCost};

/// Draws evaluated under every scenario (at most; fewer when the run has fewer): 64 blocks,
/// a power of two so that a Sobol run uses a balanced prefix of its points.
pub const DEAL_COST_DRAWS: u64 = 65_536;

/// The scenario taken as "no deal" (by id).
pub const REFERENCE_ID: &str = "no_deal";

/// Per-draw quantities summed per scenario, in this order.
const SUMS: [&str; 13] = [
    "export_loss",
    "relief",
    "relief_sq",
    "purchases",
    "investment_outflow",
    "defence_cost",
    "deal_cost",
    "fx_depreciation_pct",
    "fx_flow",
    "fx_noise",
    "gdp_impact_pct",
    "gdp_crowd_out",
    "stress_event",
];
const LOSS: usize = 0;
const RELIEF: usize = 1;
const RELIEF_SQ: usize = 2;
const FX: usize = 7;
const FX_FLOW: usize = 8;
const FX_NOISE: usize = 9;
const GDP: usize = 10;
const GDP_CROWD: usize = 11;
const STRESS: usize = 12;

/// Exact per-scenario sums of one or more blocks.
#[derive(Clone)]
struct Sums {
    draws: u64,
    /// [scenario][quantity].
    sums: Vec<[ExactSum; SUMS.len()]>,
}

impl Sums {
    fn new(scenarios: usize) -> Self {
        Sums {
            draws: 0,
            sums: vec![std::array::from_fn(|_| ExactSum::new()); scenarios],
        }
    }

    fn merge(&mut self, other: &Sums) {
        self.draws += other.draws;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            for (x, y) in a.iter_mut().zip(b) {
                x.merge(y);
            }
        }
    }
}

/// Evaluates every block it is handed under every scenario and keeps the sums.
struct EveryScenario<'m> {
    model: &'m Model,
    kernel: Kernel<'m>,
    reference: Option<usize>,
    total: Mutex<Sums>,
}

impl Observer for EveryScenario<'_> {
    fn block(&self, view: &BlockView<'_>) -> Result<(), RunError> {
        let model = self.model;
        let n = view.scenarios.len();
        let n_values = view.values.ncols();
        // The block's values in the kernel's column layout (one buffer per block, outside
        // the run's own hot loop).
        let mut data = vec![0.0; n_values * n];
        for (j, column) in view.values.columns().into_iter().enumerate() {
            for (x, &v) in data[j * n..(j + 1) * n].iter_mut().zip(column) {
                *x = v;
            }
        }
        let values = ValueColumns {
            data: &data,
            stride: n,
        };
        let column = |slot: crate::model::Slot| &data[slot.index() * n..(slot.index() + 1) * n];
        let mut outputs = vec![0.0; self.kernel.n_outputs() * n];
        let mut scratch = KernelScratch::default();
        let mut picked = vec![0u32; n];
        let mut reference_loss = vec![f64::NAN; n];
        let mut local = Sums::new(model.scenarios.len());
        local.draws = n as u64;
        // The reference first, so every other scenario can difference against it.
        let order = self
            .reference
            .into_iter()
            .chain((0..model.scenarios.len()).filter(|&k| Some(k) != self.reference));
        for k in order {
            picked.fill(k as u32);
            self.kernel
                .evaluate_block(&values, &picked, &mut outputs, &mut scratch);
            let out = |o: usize| &outputs[o * n..(o + 1) * n];
            let sums = &mut local.sums[k];
            let (beta, conversion) = (
                column(model.market.fx_flow_beta),
                column(model.market.fx_conversion),
            );
            let (crowd_out, multiplier) = (
                column(model.macro_params.investment_crowd_out),
                column(model.macro_params.gdp_multiplier),
            );
            let noise = column(model.market.fx_noise);
            for d in 0..n {
                let loss = out(EXPORT_LOSS)[d];
                let outflow = out(INVESTMENT_OUTFLOW)[d];
                if Some(k) == self.reference {
                    reference_loss[d] = loss;
                }
                let relief = reference_loss[d] - loss;
                let row = [
                    loss,
                    relief,
                    relief * relief,
                    out(PURCHASES)[d],
                    outflow,
                    out(DEFENCE_COST)[d],
                    out(DEAL_COST)[d],
                    out(FX_DEPRECIATION_PCT)[d],
                    fx_flow_pct(beta[d], conversion[d], outflow, model.gdp),
                    noise[d],
                    out(GDP_IMPACT_PCT)[d],
                    gdp_crowd_out_pct(crowd_out[d], outflow, multiplier[d], model.gdp),
                    out(STRESS_EVENT)[d],
                ];
                for (s, x) in sums.iter_mut().zip(row) {
                    s.add(x);
                }
            }
        }
        let mut total = self
            .total
            .lock()
            .map_err(|_| RunError::Observer("deal-cost sums poisoned".into()))?;
        total.merge(&local);
        Ok(())
    }
}

/// What the deal costs for the run `config` of `model` (see the module documentation).
impl DealCosts {
    /// Evaluates the first `min(config.draws, DEAL_COST_DRAWS)` draws of the run `config`
    /// under every scenario of `model`. `None` when the model has a single scenario (there is
    /// nothing to compare) or the run cannot be repeated.
    pub fn compute(model: &Model, config: &RunConfig) -> Result<Option<DealCosts>, RunError> {
        if model.scenarios.len() < 2 {
            return Ok(None);
        }
        let draws = config.draws.min(DEAL_COST_DRAWS);
        let config = RunConfig {
            draws,
            ..config.clone()
        };
        let reference = model.scenarios.iter().position(|s| s.id == REFERENCE_ID);
        let sink = EveryScenario {
            model,
            kernel: Kernel::new(model),
            reference,
            total: Mutex::new(Sums::new(model.scenarios.len())),
        };
        Run::new(model, &config).observe(&sink).execute()?;
        let total = sink
            .total
            .into_inner()
            .map_err(|_| RunError::Observer("deal-cost sums poisoned".into()))?;
        let n = total.draws as f64;
        let scenarios = model
            .scenarios
            .iter()
            .zip(&total.sums)
            .map(|(sc, s)| {
                let mean = |q: usize| s[q].value() / n;
                let (relief, relief_se) = match reference {
                    None => (f64::NAN, f64::NAN),
                    Some(_) => {
                        let m = mean(RELIEF);
                        let var = if n > 1.0 {
                            ((s[RELIEF_SQ].value() - n * m * m) / (n - 1.0)).max(0.0)
                        } else {
                            f64::NAN
                        };
                        (m, (var / n).sqrt())
                    }
                };
                let fx = mean(FX);
                let (flow, noise) = (mean(FX_FLOW), mean(FX_NOISE));
                let gdp = mean(GDP);
                // + 0.0: a channel that is off sums to −0.0, written as 0.
                let crowd = mean(GDP_CROWD) + 0.0;
                (
                    sc.id.clone(),
                    ScenarioCost {
                        export_loss: mean(LOSS),
                        tariff_relief: Estimate {
                            mean: relief,
                            se: relief_se,
                        },
                        purchases: mean(3),
                        investment_outflow: mean(4),
                        defence_cost: mean(5),
                        deal_cost: mean(6),
                        fx_depreciation_pct: FxChannels {
                            total: fx,
                            trade: fx - flow - noise,
                            investment_flow: flow,
                            noise,
                        },
                        gdp_impact_pct: GdpChannels {
                            total: gdp,
                            trade: gdp - crowd,
                            crowd_out: crowd,
                        },
                        stress_probability: mean(STRESS),
                    },
                )
            })
            .collect();
        Ok(Some(DealCosts {
            reference: reference.map(|k| model.scenarios[k].id.clone()),
            draws: total.draws,
            method: format!(
                "common random numbers: each of the first {} draws of the run is evaluated under every scenario; tariff_relief = mean over these draws of export_loss({REFERENCE_ID}) - export_loss(scenario), with its standard error; every figure is a mean over the same draws",
                total.draws
            ),
            scenarios,
        }))
    }

    /// [`DealCosts::compute`] for a finished run described by its sampler label, seed, draws
    /// and threads (as recorded in `summary.json`); `None` for an unknown label.
    pub fn for_run(
        model: &Model,
        sampler: &str,
        seed: u64,
        draws: u64,
        threads: usize,
    ) -> Result<Option<DealCosts>, RunError> {
        let Some((sampler, antithetic)) = SamplerKind::from_label(sampler) else {
            return Ok(None);
        };
        if draws == 0 {
            return Ok(None);
        }
        // A merged or MPI run records the threads of all its processes; this pass runs in one
        // (the figures do not depend on the thread count).
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        DealCosts::compute(
            model,
            &RunConfig {
                draws,
                seed,
                threads: threads.clamp(1, cores),
                sampler,
                antithetic,
            },
        )
    }
}
