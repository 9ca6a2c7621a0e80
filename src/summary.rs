//! The typed result of a run: [`Summary`] has exactly the layout of `summary.json`
//! (MODEL.md §9), so `serde_json` writes the file from it and reads it back into it.
//!
//! Undefined statistics (the sd of one draw, the mean of a scenario never drawn, an output
//! that is NaN) are NaN in the types and `null` in JSON.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::outputs::output_names;
use crate::stats::serde_finite;
use crate::stats::{interpolate_levels, ConvergencePoint, RunStats, SCENARIO_OUTPUTS};
use crate::stats::{BIN_BITS, TORNADO_OUTPUTS};

pub use crate::stats::{Moments, OutputSummary};

/// How a run was made, for replication: the input of the `run` object of `summary.json`.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Number of draws.
    pub draws: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler label: `mc`, `lhs`, `sobol`, with `+antithetic` when pairs are mirrored.
    pub sampler: String,
    /// Threads used.
    pub threads: usize,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// How a target-SE run stopped (None for a run of a fixed number of draws).
    pub stopping: Option<crate::run::StoppingReport>,
}

/// Everything `summary.json` holds about a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Which model was run.
    pub model: ModelInfo,
    /// How it was run.
    pub run: RunDetails,
    /// Per output name (MODEL.md §5), its statistics over all draws.
    pub outputs: IndexMap<String, OutputSummary>,
    /// Problems a reader of the results must know about (see [`run_warnings`]).
    pub warnings: Vec<String>,
    /// Per scenario id, how often it was drawn and the outputs conditional on it.
    pub scenarios: IndexMap<String, ScenarioSummary>,
    /// Per output of [`TORNADO_OUTPUTS`], the inputs by decreasing |rank correlation|.
    pub tornado: IndexMap<String, Vec<TornadoEntry>>,
    /// Quantiles on a fine grid of levels, for charts.
    pub distributions: Distributions,
    /// The running mean of `export_loss`.
    pub convergence: ConvergenceTrace,
    /// The first draws of the run, for scatter plots.
    pub sample: SampleDraws,
    /// Every parameter of the model with its distribution.
    pub parameters: Vec<ParameterInfo>,
    /// The model's correlations (`[[correlations]]`, Gaussian copula on normal scores), for
    /// the report's assumptions; empty in summaries written before they were recorded.
    #[serde(default)]
    pub correlations: Vec<CorrelationInfo>,
    /// The market-stress thresholds of the model.
    pub market: MarketInfo,
    /// What the deal costs per scenario (issue 17), from common random numbers; computed by
    /// [`crate::deal`] (it evaluates draws again) and handed to the writer of a run's results.
    /// Absent for a model with one scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_costs: Option<DealCosts>,
}

/// The `model` object: which model file was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// The file as given (or the embedded default's name).
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Money units of the model.
    pub units: String,
    /// Exporting country code.
    pub exporter: String,
    /// Importing country code.
    pub importer: String,
    /// The calendar month of month 1 (`[model] start_month`), for month labels (MODEL.md §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_month: Option<String>,
}

/// The `run` object: the settings needed to replicate the run, and how statistics were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    /// Number of draws.
    pub draws: u64,
    /// Seed.
    pub seed: u64,
    /// Sampler name: `mc`, `lhs` or `sobol`.
    pub sampler: String,
    /// Whether antithetic pairs were used.
    pub antithetic: bool,
    /// Worker threads (results do not depend on it).
    pub threads: usize,
    /// Version of tariffsim that made the run.
    pub version: String,
    /// Wall time in seconds.
    #[serde(with = "serde_finite")]
    pub elapsed_s: f64,
    /// Draws per block.
    pub block_size: u64,
    /// How quantiles are estimated.
    pub quantile_method: String,
    /// How the standard errors of quantiles are estimated.
    pub quantile_se_method: String,
    /// The stopping rule of a run to a target standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_se: Option<TargetSe>,
}

/// How a run to a target standard error of a mean stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetSe {
    /// The output whose mean was targeted.
    pub output: String,
    /// The target as given.
    #[serde(with = "serde_finite")]
    pub target: f64,
    /// Whether the target is relative to |mean|.
    pub relative: bool,
    /// The cap on draws.
    pub max_draws: u64,
    /// Draws actually run.
    pub draws: u64,
    /// Mean of the output at the stop.
    #[serde(with = "serde_finite")]
    pub mean: f64,
    /// Standard error of that mean at the stop.
    #[serde(with = "serde_finite")]
    pub se: f64,
    /// How that standard error is estimated.
    pub se_method: String,
    /// Whether the target was met (false: stopped at the cap).
    pub converged: bool,
}

impl From<&crate::run::StoppingReport> for TargetSe {
    fn from(stop: &crate::run::StoppingReport) -> Self {
        TargetSe {
            output: stop.output.clone(),
            target: stop.target,
            relative: stop.relative,
            max_draws: stop.max_draws,
            draws: stop.draws,
            mean: stop.mean,
            se: stop.se,
            se_method: format!(
                "batch means over blocks of {} draws, checked after every {} blocks",
                crate::sampling::BLOCK_SIZE,
                crate::run::GROUP_BLOCKS
            ),
            converged: stop.converged,
        }
    }
}

/// One correlation of the model: the two parameter paths, ρ and the line that sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInfo {
    /// The two parameter paths.
    pub between: [String; 2],
    /// Correlation of their normal scores.
    #[serde(with = "serde_finite")]
    pub rho: f64,
    /// Line of the model file that sets it (0 when set otherwise).
    pub line: usize,
}

/// The correlation ratio η of an output with a categorical input (the scenario): the square
/// root of the share of the output's variance that lies between the categories,
/// η² = Σ_k f_k (m_k − m)² / sd², from each category's share f_k and conditional mean m_k.
/// It is in [0, 1], has no sign and does not depend on the order of the categories, unlike a
/// correlation with the category's index (issue 15, item 13). NaN when undefined.
pub fn correlation_ratio(groups: impl IntoIterator<Item = (f64, f64)>, mean: f64, sd: f64) -> f64 {
    let between: f64 = groups
        .into_iter()
        .filter(|(f, m)| *f > 0.0 && m.is_finite())
        .map(|(f, m)| f * (m - mean) * (m - mean))
        .sum();
    if sd.is_nan() || sd <= 0.0 || !between.is_finite() {
        return f64::NAN;
    }
    (between / (sd * sd)).sqrt().min(1.0)
}

/// One scenario of the deal: its probability, how often it was drawn, and the conditional
/// mean and sd of every output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// Display name.
    pub name: String,
    /// Why the scenario is plausible (`rationale` in the model file); empty when not given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rationale: String,
    /// Probability in the model file.
    #[serde(with = "serde_finite")]
    pub probability: f64,
    /// Share of the draws that picked it.
    #[serde(with = "serde_finite")]
    pub frequency: f64,
    /// Draws that picked it.
    pub draws: u64,
    /// Per output name, its mean and sd over those draws.
    pub outputs: IndexMap<String, Moments>,
}

/// One row of a tornado chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TornadoEntry {
    /// Parameter path (or `scenario`).
    pub parameter: String,
    /// Rank correlation of the input with the output; for `scenario`, a category, the
    /// correlation ratio η in [0, 1] (no sign, independent of the scenarios' order).
    #[serde(with = "serde_finite")]
    pub correlation: f64,
}

/// The `distributions` object: quantiles of every output at the levels of
/// [`distribution_grid`], overall and per scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distributions {
    /// The levels, increasing.
    #[serde(with = "serde_finite")]
    pub levels: Vec<f64>,
    /// Per output name, its quantiles at `levels`.
    #[serde(with = "serde_finite")]
    pub outputs: IndexMap<String, Vec<f64>>,
    /// Per scenario id, per output of [`SCENARIO_OUTPUTS`], its quantiles at `levels`.
    #[serde(with = "serde_finite")]
    pub scenarios: IndexMap<String, IndexMap<String, Vec<f64>>>,
}

/// The `convergence` object: the running mean of one output and its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceTrace {
    /// The output traced.
    pub output: String,
    /// Draws at each point.
    pub draws: Vec<u64>,
    /// Running mean at each point.
    #[serde(with = "serde_finite")]
    pub mean: Vec<f64>,
    /// Its standard error.
    #[serde(with = "serde_finite")]
    pub se: Vec<f64>,
}

/// The `sample` object: the first draws of the run, column by column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleDraws {
    /// Draw index.
    pub draw: Vec<u64>,
    /// Scenario id.
    pub scenario: Vec<String>,
    /// `export_loss`.
    #[serde(with = "serde_finite")]
    pub export_loss: Vec<f64>,
    /// `fx_depreciation_pct`.
    #[serde(with = "serde_finite")]
    pub fx_depreciation_pct: Vec<f64>,
    /// `equity_drawdown_pct`.
    #[serde(with = "serde_finite")]
    pub equity_drawdown_pct: Vec<f64>,
}

/// One parameter of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterInfo {
    /// Parameter path (MODEL.md §7).
    pub path: String,
    /// Its distribution, as written in a model file.
    pub distribution: String,
    /// The distribution's kind (`pert`, `normal`, `fixed`, ...).
    pub kind: String,
    /// Its mean, when it has one.
    #[serde(with = "serde_finite")]
    pub mean: Option<f64>,
    /// Line of the model file that defines it.
    pub line: usize,
}

/// The `market` object: the thresholds of a market-stress event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketInfo {
    /// Depreciation (%) that alone counts as stress.
    #[serde(with = "serde_finite")]
    pub fx_stress_pct: f64,
    /// Drawdown (%) that alone counts as stress.
    #[serde(with = "serde_finite")]
    pub equity_stress_pct: f64,
    /// Weight of the FX leg in the stress index.
    #[serde(with = "serde_finite")]
    pub fx_weight: f64,
}

impl Summary {
    /// The summary of a run of `model` made as `info` says, from its merged statistics.
    pub fn new(model: &Model, info: &RunInfo, stats: &RunStats) -> Summary {
        let names = output_names(model);
        let outputs = names
            .iter()
            .enumerate()
            .map(|(o, name)| {
                let mut summary = stats.output_summary(o);
                summary.unit = Some(crate::outputs::unit(name, &model.units));
                (name.clone(), summary)
            })
            .collect();
        let draws = stats.draws().max(1) as f64;
        let scenarios = model
            .scenarios
            .iter()
            .enumerate()
            .map(|(k, sc)| {
                let count = stats.scenario_counts()[k];
                let per_output = names
                    .iter()
                    .enumerate()
                    .map(|(o, name)| (name.clone(), stats.scenario_moments(k, o)))
                    .collect();
                let summary = ScenarioSummary {
                    name: sc.name.clone(),
                    rationale: sc.rationale.clone(),
                    probability: sc.probability,
                    frequency: count as f64 / draws,
                    draws: count,
                    outputs: per_output,
                };
                (sc.id.clone(), summary)
            })
            .collect();
        let levels = distribution_grid();
        let quantiles_at = |h: &crate::stats::LogHistogram| -> Vec<f64> {
            h.quantiles_and_tail_means(&levels)
                .iter()
                .map(|r| r.0)
                .collect()
        };
        let distributions = Distributions {
            outputs: names
                .iter()
                .enumerate()
                .map(|(o, name)| (name.clone(), quantiles_at(stats.histogram(o))))
                .collect(),
            scenarios: model
                .scenarios
                .iter()
                .enumerate()
                .map(|(k, sc)| {
                    let per = SCENARIO_OUTPUTS
                        .iter()
                        .enumerate()
                        .map(|(i, &o)| {
                            (
                                names[o].clone(),
                                quantiles_at(stats.scenario_histogram(k, i)),
                            )
                        })
                        .collect();
                    (sc.id.clone(), per)
                })
                .collect(),
            levels: levels.clone(),
        };
        // Coordinate 0 picks the scenario; the others drive one uncertain parameter each.
        let mut coordinate_names = vec!["scenario".to_string(); model.dimension];
        for p in &model.params {
            if let Some(c) = p.coordinate {
                coordinate_names[c] = p.path.clone();
            }
        }
        let tornado = TORNADO_OUTPUTS
            .iter()
            .enumerate()
            .map(|(t, &o)| {
                let mut rows: Vec<TornadoEntry> = coordinate_names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| TornadoEntry {
                        parameter: name.clone(),
                        // The scenario (coordinate 0) is a category: its correlation ratio η,
                        // as in the report and the terminal tornado (issue 15, item 13), not
                        // a rank correlation with its index, whose sign and size depend on
                        // the order of the scenarios in the file.
                        correlation: if j == 0 {
                            let all = stats.output_summary(o);
                            correlation_ratio(
                                (0..model.scenarios.len()).map(|k| {
                                    (
                                        stats.scenario_counts()[k] as f64 / draws,
                                        stats.scenario_moments(k, o).mean,
                                    )
                                }),
                                all.mean,
                                all.sd,
                            )
                        } else {
                            stats.tornado_correlation(t, j)
                        },
                    })
                    .filter(|r| r.correlation.is_finite())
                    .collect();
                rows.sort_by(|a, b| b.correlation.abs().total_cmp(&a.correlation.abs()));
                (names[o].clone(), rows)
            })
            .collect();
        let trace = thin_convergence(&stats.convergence());
        let sample = stats.sample();
        let (sampler, antithetic) = crate::sampling::SamplerKind::from_label(&info.sampler)
            .map_or((info.sampler.clone(), false), |(s, a)| {
                (s.name().to_string(), a)
            });
        Summary {
            model: ModelInfo {
                name: model.name.clone(),
                file: model.source.file.clone(),
                sha256: model.source.sha256.clone(),
                units: model.units.clone(),
                exporter: model.exporter.clone(),
                importer: model.importer.clone(),
                start_month: model.start_month.map(|m| m.to_string()),
            },
            run: RunDetails {
                draws: info.draws,
                seed: info.seed,
                sampler,
                antithetic,
                threads: info.threads,
                version: env!("CARGO_PKG_VERSION").to_string(),
                elapsed_s: info.elapsed_s,
                block_size: crate::sampling::BLOCK_SIZE,
                quantile_method: format!(
                    "log-linear histogram, relative bin width 2^-{BIN_BITS}; rank = ceil(q*n) (inverse empirical CDF)"
                ),
                quantile_se_method: format!(
                    "sectioning: quantiles of every full block of {} draws; SE = sd of the block quantiles / sqrt(blocks)",
                    crate::sampling::BLOCK_SIZE
                ),
                target_se: info.stopping.as_ref().map(TargetSe::from),
            },
            outputs,
            warnings: run_warnings(model, stats),
            scenarios,
            tornado,
            distributions,
            convergence: ConvergenceTrace {
                output: "export_loss".to_string(),
                draws: trace.iter().map(|p| p.draws).collect(),
                mean: trace.iter().map(|p| p.mean).collect(),
                se: trace.iter().map(|p| p.se).collect(),
            },
            sample: SampleDraws {
                draw: sample.iter().map(|s| s.0).collect(),
                scenario: sample
                    .iter()
                    .map(|s| model.scenarios[s.1 as usize].id.clone())
                    .collect(),
                export_loss: sample.iter().map(|s| s.2).collect(),
                fx_depreciation_pct: sample.iter().map(|s| s.3).collect(),
                equity_drawdown_pct: sample.iter().map(|s| s.4).collect(),
            },
            parameters: model
                .params
                .iter()
                .map(|p| ParameterInfo {
                    path: p.path.clone(),
                    distribution: p.dist.describe(),
                    kind: p.dist.kind().to_string(),
                    mean: p.dist.mean(),
                    line: p.line,
                })
                .collect(),
            correlations: model
                .correlations
                .iter()
                .map(|&(i, j, rho, line)| CorrelationInfo {
                    between: [model.params[i].path.clone(), model.params[j].path.clone()],
                    rho,
                    line,
                })
                .collect(),
            market: MarketInfo {
                fx_stress_pct: model.market.fx_stress_pct,
                equity_stress_pct: model.market.equity_stress_pct,
                fx_weight: model.market.fx_weight,
            },
            deal_costs: None,
        }
    }

    /// The quantile of output `output` at level `p`, from the fine grid of
    /// [`Summary::distributions`] (0.001, 0.005, 0.01, 0.02, …, 0.99, 0.995, 0.999): exact at
    /// a grid level, linearly interpolated in `p` between two levels, NaN outside
    /// [0.001, 0.999] or for an output the model does not have.
    pub fn distribution_quantile(&self, output: &str, p: f64) -> f64 {
        match self.distributions.outputs.get(output) {
            Some(values) => interpolate_levels(&self.distributions.levels, values, p),
            None => f64::NAN,
        }
    }

    /// `summary.json` as written by `tariffsim run`: pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        // Every map key is a string and every number is finite or null: encoding cannot fail.
        serde_json::to_string_pretty(self).expect("a Summary always encodes as JSON")
    }
}

/// Largest output magnitude whose square is finite (√f64::MAX ≈ 1.34e154, rounded down):
/// beyond it the sums of squares overflow and sd and standard errors are meaningless.
pub const MAX_SQUARABLE: f64 = 1e154;

/// Problems a reader of the results must know about: draws whose outputs are not numbers
/// (they are left out of quantiles and make means undefined), outputs that are infinite or
/// so large that their squares overflow (sd and standard errors undefined; issue 15, item 6),
/// and correlations dropped by overrides.
pub fn run_warnings(model: &Model, stats: &RunStats) -> Vec<String> {
    let mut warnings = model.warnings.clone();
    for (o, name) in output_names(model).iter().enumerate() {
        let nan = stats.histogram(o).nan_count();
        if nan > 0 {
            warnings.push(format!(
                "{nan} draws gave `{name}` = NaN (an input at the edge of its domain?); they are left out of its quantiles and its mean is undefined"
            ));
        }
        let (min, max) = stats.range(o);
        if stats.histogram(o).count() == 0 {
            continue;
        }
        let extreme = if min.abs() > max.abs() { min } else { max };
        if extreme.is_infinite() {
            warnings.push(format!(
                "draws gave `{name}` = {extreme} (an input far outside its plausible range?); its mean, sd and standard errors are undefined"
            ));
        } else if extreme.abs() > MAX_SQUARABLE {
            warnings.push(format!(
                "draws gave `{name}` = {extreme:e}, beyond ±1e154 where squares overflow (an input far outside its plausible range?); its sd and standard errors are undefined"
            ));
        }
    }
    warnings
}

/// Quantile levels for distribution charts: 0.001, 0.005, 0.01, 0.02, …, 0.99, 0.995, 0.999.
pub fn distribution_grid() -> Vec<f64> {
    let mut grid = vec![0.001, 0.005];
    grid.extend((1..100).map(|i| i as f64 / 100.0));
    grid.extend([0.995, 0.999]);
    grid
}

/// At most ~200 points of the running mean, spaced evenly in log(draws).
fn thin_convergence(trace: &[ConvergencePoint]) -> Vec<ConvergencePoint> {
    if trace.len() <= 200 {
        return trace.to_vec();
    }
    let first = trace[0].draws as f64;
    let last = trace[trace.len() - 1].draws as f64;
    let mut out = Vec::new();
    let mut next = first;
    let step = (last / first).powf(1.0 / 199.0);
    for (i, p) in trace.iter().enumerate() {
        if p.draws as f64 >= next || i + 1 == trace.len() {
            out.push(*p);
            next = p.draws as f64 * step;
        }
    }
    out
}

// The `deal_costs` object (issue 17, MODEL.md §15): its layout; `crate::deal` computes it.

/// A mean with its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The mean over the common draws (NaN when undefined).
    #[serde(with = "serde_finite")]
    pub mean: f64,
    /// Its standard error: sd of the per-draw values / √n.
    #[serde(with = "serde_finite")]
    pub se: f64,
}

/// The won's mean depreciation (%) and its channels (MODEL.md §5, §15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxChannels {
    /// All channels.
    #[serde(with = "serde_finite")]
    pub total: f64,
    /// Trade: fx_beta·100·loss/gdp.
    #[serde(with = "serde_finite")]
    pub trade: f64,
    /// The dollars bought for the investment pledge.
    #[serde(with = "serde_finite")]
    pub investment_flow: f64,
    /// The noise term (the same draw under every scenario).
    #[serde(with = "serde_finite")]
    pub noise: f64,
}

/// The mean GDP impact (% of GDP) and its channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GdpChannels {
    /// All channels.
    #[serde(with = "serde_finite")]
    pub total: f64,
    /// Value added lost with the exports.
    #[serde(with = "serde_finite")]
    pub trade: f64,
    /// The domestic investment the pledge displaces.
    #[serde(with = "serde_finite")]
    pub crowd_out: f64,
}

/// The deal-cost view of one scenario: means over the common draws, each draw evaluated under
/// this scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioCost {
    /// Mean export loss under this scenario.
    #[serde(with = "serde_finite")]
    pub export_loss: f64,
    /// Export loss avoided against the reference (no deal): L(ref) − L(this); NaN when the
    /// model has no reference scenario.
    pub tariff_relief: Estimate,
    /// Mean purchases paid within the horizon.
    #[serde(with = "serde_finite")]
    pub purchases: f64,
    /// Mean investment outflow within the horizon.
    #[serde(with = "serde_finite")]
    pub investment_outflow: f64,
    /// Mean defence cost-sharing within the horizon.
    #[serde(with = "serde_finite")]
    pub defence_cost: f64,
    /// Mean cost of the package: purchases + investment + defence.
    #[serde(with = "serde_finite")]
    pub deal_cost: f64,
    /// The won's depreciation by channel.
    pub fx_depreciation_pct: FxChannels,
    /// GDP impact by channel.
    pub gdp_impact_pct: GdpChannels,
    /// Share of the draws that end in a stress event under this scenario.
    #[serde(with = "serde_finite")]
    pub stress_probability: f64,
}

/// What the deal costs, per scenario, from common random numbers: the `deal_costs` object
/// of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealCosts {
    /// Id of the reference scenario ("no deal"), if the model has one.
    pub reference: Option<String>,
    /// Draws evaluated under every scenario.
    pub draws: u64,
    /// How the figures are computed, in words.
    pub method: String,
    /// Per scenario id, in file order.
    pub scenarios: IndexMap<String, ScenarioCost>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Issue 15, item 13: the scenario's measure in the tornado must not depend on the order
    /// of the scenarios, and must be 1 when the scenario explains all the variance.
    #[test]
    fn correlation_ratio_is_unsigned_and_order_free() {
        // Two scenarios of equal share with means 0 and 2 and no spread within: y = 0 or 2,
        // mean 1, sd 1 (population), η = 1.
        let eta = correlation_ratio([(0.5, 0.0), (0.5, 2.0)], 1.0, 1.0);
        assert!((eta - 1.0).abs() < 1e-12);
        let groups = [(0.2, 3.0), (0.5, 1.0), (0.3, -2.0)];
        let mean: f64 = groups.iter().map(|(f, m)| f * m).sum();
        let forward = correlation_ratio(groups, mean, 4.0);
        let mut reversed = groups;
        reversed.reverse();
        assert_eq!(forward, correlation_ratio(reversed, mean, 4.0));
        assert!(forward > 0.0 && forward < 1.0);
        // Equal conditional means: the scenario explains nothing.
        assert_eq!(correlation_ratio([(0.4, 1.0), (0.6, 1.0)], 1.0, 2.0), 0.0);
        assert!(correlation_ratio([(1.0, 1.0)], 1.0, 0.0).is_nan());
    }

    /// Statistics of one block of `n` draws whose every output is `x`.
    fn stats_of(model: &Model, x: f64, n: usize) -> RunStats {
        let outputs = output_names(model).len();
        let mut stats = RunStats::new(
            model.scenarios.len(),
            vec![0.0; outputs],
            model.dimension,
            1,
        );
        let points = Array2::from_elem((n, model.dimension), 0.5);
        let rows = Array2::from_elem((n, outputs), x);
        stats.add_block(0, 0, points.view(), rows.view(), &vec![0; n]);
        stats
    }

    /// Issue 15, item 6: outputs beyond ±1e154 (squares overflow) or infinite were reported
    /// with sd = 0 or null means and no warning; they are warned about like NaN.
    #[test]
    fn overflowing_and_infinite_outputs_are_warned_about() {
        let model = crate::model::compile_model(
            crate::model::DEFAULT_MODEL_TEXT,
            crate::model::DEFAULT_MODEL_FILE,
        )
        .unwrap();
        assert!(run_warnings(&model, &stats_of(&model, 1.0, 10)).is_empty());
        assert!(run_warnings(&model, &stats_of(&model, 1e150, 10)).is_empty());
        let big = run_warnings(&model, &stats_of(&model, -2e154, 10));
        assert!(
            big.iter()
                .any(|w| w.contains("`export_loss` = -2e154") && w.contains("overflow")),
            "{big:?}"
        );
        let inf = run_warnings(&model, &stats_of(&model, f64::INFINITY, 10));
        assert!(
            inf.iter()
                .any(|w| w.contains("`export_loss` = inf") && w.contains("undefined")),
            "{inf:?}"
        );
    }
}
