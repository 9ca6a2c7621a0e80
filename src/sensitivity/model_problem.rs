//! Sobol indices of a trade model: the model as a [`Problem`], the inputs and groups to report,
//! and the `sensitivity.json` document.
//!
//! The inputs are the independent uniform coordinates of a draw: coordinate 0 picks the deal
//! scenario (so the choice of deal is an input like any other and its share of the variance
//! is measured), coordinate c ≥ 1 drives one uncertain parameter.
//!
//! Correlated parameters: Sobol indices assume independent inputs. The Gaussian copula maps
//! independent uniforms to correlated ones inside each cluster of parameters joined by
//! `[[correlations]]` (u' = Φ(L·Φ⁻¹(u)) with L lower-triangular), so the cluster's underlying
//! independent coordinates, taken together, are a valid independent input: moving all of
//! them moves exactly the cluster's parameters with their joint distribution, and nothing
//! else. One coordinate of a cluster on its own is not a parameter (the second coordinate
//! feeds the first and the second parameter's mixture), so per-parameter indices of cluster
//! members would be meaningless; they are not reported. Each cluster is reported as the group
//! `correlated:<path>+<path>...`, and a named group that holds part of a cluster is extended to
//! the whole cluster, with a note.

use crate::report::json_number as num;
use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::{sobol_indices, Group, IndexEstimate, Problem, SensitivityError, SobolOptions};
use crate::kernel::{BlockBuffers, Evaluator};
use crate::model::Model;
use crate::outputs::HEADLINE;

/// A model seen as a function of the independent uniform coordinates of a draw, with the
/// headline outputs (MODEL.md §5) as its outputs.
pub struct ModelProblem<'m> {
    evaluator: Evaluator<'m>,
}

thread_local! {
    /// Per-thread buffers for blocks of one point: `Problem::evaluate` takes `&self` and runs
    /// on rayon workers. Buffers hold the values of a model's fixed parameters, so they are
    /// rebuilt when a thread meets another evaluator.
    static BUFFERS: RefCell<Option<(u64, BlockBuffers)>> = const { RefCell::new(None) };
}

impl<'m> ModelProblem<'m> {
    /// `model` as a [`Problem`].
    pub fn new(model: &'m Model) -> Self {
        ModelProblem {
            evaluator: Evaluator::new(model),
        }
    }
}

impl Problem for ModelProblem<'_> {
    fn dim(&self) -> usize {
        self.evaluator.model().dimension
    }

    fn n_outputs(&self) -> usize {
        HEADLINE.len()
    }

    /// The engine's evaluation path ([`Evaluator`]) on a block of one point.
    fn evaluate(&self, u: &[f64], out: &mut [f64]) {
        let id = self.evaluator.id();
        BUFFERS.with(|cell| {
            let mut slot = cell.borrow_mut();
            if !matches!(&*slot, Some((owner, _)) if *owner == id) {
                *slot = Some((id, self.evaluator.buffers(1)));
            }
            let Some((_, buf)) = slot.as_mut() else {
                return;
            };
            buf.points_mut(1).copy_from_slice(u);
            self.evaluator.evaluate(buf, 1);
            for (o, y) in out.iter_mut().enumerate().take(HEADLINE.len()) {
                *y = buf.outputs(1)[[0, o]];
            }
        })
    }
}

/// Why a model's sensitivity analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum ModelSensitivityError {
    /// A group specification (`NAME=path1,path2`) was rejected.
    #[error("sensitivity group `{given}`: {message}")]
    Group {
        /// The specification as given.
        given: String,
        /// The rule broken and what is accepted.
        message: String,
    },
    /// The estimator failed.
    #[error(transparent)]
    Sobol(#[from] SensitivityError),
}

/// Settings of [`model_sensitivity`].
#[derive(Debug, Clone)]
pub struct ModelSensitivityOptions {
    /// Base sample size N (a power of two keeps the Sobol nets balanced).
    pub samples: usize,
    /// Seed of the Sobol scrambling and of the bootstrap.
    pub seed: u64,
    /// Extra groups: name and parameter paths (`*` matches one path segment).
    pub groups: Vec<(String, Vec<String>)>,
    /// Estimator settings.
    pub sobol: SobolOptions,
}

/// Parses a group `NAME=path1,path2`.
pub fn parse_group(given: &str) -> Result<(String, Vec<String>), ModelSensitivityError> {
    let bad = |message: &str| ModelSensitivityError::Group {
        given: given.into(),
        message: message.into(),
    };
    let (name, paths) = given
        .split_once('=')
        .ok_or_else(|| bad("accepted: NAME=path1,path2,... (e.g. autos=sectors.autos.*)"))?;
    let name = name.trim();
    let paths: Vec<String> = paths
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if name.is_empty() || paths.is_empty() {
        return Err(bad(
            "a group needs a name and at least one path; accepted: NAME=path1,path2,...",
        ));
    }
    Ok((name.to_string(), paths))
}

/// Whether parameter `path` matches `pattern`, where a `*` segment matches any one segment.
fn matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('.'), path.split('.'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// The groups every model gets, as (name, path patterns).
fn default_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("timing", vec!["scenarios.*.effective_month"]),
        (
            "tariffs",
            vec![
                "interim.*.*",
                "scenarios.*.tariff.*",
                "scenarios.*.competitor_tariff.*",
            ],
        ),
        (
            "elasticities",
            vec!["sectors.*.sigma", "sectors.*.epsilon", "sectors.*.eta"],
        ),
        ("purchases", vec!["scenarios.*.purchases"]),
        ("macro", vec!["macro.*"]),
        ("market", vec!["market.*"]),
    ]
}

/// One reported input or group: its name and the coordinates it moves.
#[derive(Debug, Clone)]
struct Input {
    name: String,
    coords: Vec<usize>,
    /// Parameter paths it covers (for the JSON).
    members: Vec<String>,
    note: Option<String>,
}

/// What the analysis reports: single parameters, correlated clusters, named groups, notes.
struct Plan {
    parameters: Vec<Input>,
    clusters: Vec<Input>,
    groups: Vec<Input>,
    notes: Vec<String>,
}

fn plan(model: &Model, extra: &[(String, Vec<String>)]) -> Result<Plan, ModelSensitivityError> {
    let mut coordinate_names = vec!["scenario".to_string(); model.dimension];
    for p in &model.params {
        if let Some(c) = p.coordinate {
            coordinate_names[c] = p.path.clone();
        }
    }
    let clusters_coords = model.copula.clusters();
    let cluster_of = |c: usize| clusters_coords.iter().position(|cl| cl.contains(&c));
    let mut notes = vec![
        "Indices are shares of the output's variance: first_order = the input alone, total = the input with all its interactions. Intervals are percentile bootstrap intervals over the base samples.".to_string(),
        "scenario is the uniform coordinate that picks the deal scenario: its indices measure how much of the variance the choice of deal explains.".to_string(),
    ];
    let mut clusters = Vec::new();
    for cl in &clusters_coords {
        let members: Vec<String> = cl.iter().map(|&c| coordinate_names[c].clone()).collect();
        clusters.push(Input {
            name: format!("correlated:{}", members.join("+")),
            coords: cl.clone(),
            members,
            note: Some("parameters linked by [[correlations]]: Sobol indices assume independent inputs, so the cluster is reported as one input (its independent copula coordinates moved together); its members have no separate indices".into()),
        });
    }
    if !clusters.is_empty() {
        notes.push(format!(
            "{} cluster(s) of correlated parameters are reported as groups named correlated:<path>+...; their members are listed under correlated_clusters and have no per-parameter indices, which would be meaningless for dependent inputs.",
            clusters.len()
        ));
    }
    let parameters: Vec<Input> = (0..model.dimension)
        .filter(|&c| cluster_of(c).is_none())
        .map(|c| Input {
            name: coordinate_names[c].clone(),
            coords: vec![c],
            members: vec![coordinate_names[c].clone()],
            note: None,
        })
        .collect();

    // Named groups: defaults, then the model file's [[groups]], then --group (a later group of
    // the same name replaces an earlier one).
    let mut named: Vec<(String, Vec<usize>, bool)> = vec![("scenario".into(), vec![0], false)];
    for (name, patterns) in default_groups() {
        let params: Vec<usize> = (0..model.params.len())
            .filter(|&i| patterns.iter().any(|p| matches(p, &model.params[i].path)))
            .collect();
        named.push((name.to_string(), params, false));
    }
    let coordinate_params = |params: &[usize]| -> Vec<usize> {
        params
            .iter()
            .filter_map(|&i| model.params[i].coordinate)
            .collect()
    };
    let mut named: Vec<(String, Vec<usize>, bool)> = named
        .into_iter()
        .map(|(n, p, f)| {
            let coords = if n == "scenario" {
                p
            } else {
                coordinate_params(&p)
            };
            (n, coords, f)
        })
        .collect();
    for g in &model.groups {
        named.push((g.name.clone(), coordinate_params(&g.params), true));
    }
    for (name, patterns) in extra {
        let mut params = Vec::new();
        for pattern in patterns {
            let found: Vec<usize> = (0..model.params.len())
                .filter(|&i| matches(pattern, &model.params[i].path))
                .collect();
            if found.is_empty() && pattern != "scenario" {
                return Err(ModelSensitivityError::Group {
                    given: format!("{name}={}", patterns.join(",")),
                    message: format!(
                        "`{pattern}` matches no parameter of the model; accepted: parameter paths of docs/model.md §4 (Parameter paths) (a `*` segment matches any one segment) or `scenario`"
                    ),
                });
            }
            params.extend(found);
        }
        let mut coords = coordinate_params(&params);
        if patterns.iter().any(|p| p == "scenario") {
            coords.push(0);
        }
        named.push((name.clone(), coords, true));
    }
    let mut groups: Vec<Input> = Vec::new();
    for (name, coords, explicit) in named {
        let mut set: BTreeSet<usize> = coords.into_iter().collect();
        if set.is_empty() {
            if explicit {
                notes.push(format!(
                    "group {name} has no uncertain parameter (only point masses), so it has no indices"
                ));
            }
            groups.retain(|g| g.name != name);
            continue;
        }
        let mut note = None;
        let touched: BTreeSet<usize> = set.iter().filter_map(|&c| cluster_of(c)).collect();
        let mut extended = Vec::new();
        for k in touched {
            if clusters_coords[k].iter().any(|c| !set.contains(c)) {
                extended.push(clusters[k].name.clone());
                set.extend(clusters_coords[k].iter().copied());
            }
        }
        if !extended.is_empty() {
            let text = format!(
                "extended to the whole of {} (correlated parameters cannot be separated)",
                extended.join(", ")
            );
            notes.push(format!("group {name}: {text}"));
            note = Some(text);
        }
        let coords: Vec<usize> = set.into_iter().collect();
        let members = coords
            .iter()
            .map(|&c| coordinate_names[c].clone())
            .collect();
        if let Some(i) = groups.iter().position(|g| g.name == name) {
            notes.push(format!(
                "group {name} is defined more than once; the last definition is used"
            ));
            groups.remove(i);
        }
        groups.push(Input {
            name,
            coords,
            members,
            note,
        });
    }
    Ok(Plan {
        parameters,
        clusters,
        groups,
        notes,
    })
}

/// Result of [`model_sensitivity`].
#[derive(Debug, Clone)]
pub struct ModelSensitivity {
    /// The `sensitivity.json` document.
    pub json: Value,
    /// Inputs (parameters and correlated clusters) of `export_loss` by decreasing total index:
    /// (name, first order, total).
    pub export_loss_ranking: Vec<(String, f64, f64)>,
    /// Named groups of `export_loss` in the same form.
    pub export_loss_groups: Vec<(String, f64, f64)>,
    /// Function evaluations spent.
    pub evaluations: usize,
}

impl ModelSensitivity {
    /// `sensitivity.csv`, the long (tidy) form of `sensitivity.json`: one row per output ×
    /// input × index (`first_order`, `total`) with its estimate and bootstrap interval; `kind`
    /// says whether the input is a `parameter` or a `group` (named groups and correlated
    /// clusters). Undefined values are empty cells (issue 15, item 12).
    pub fn to_csv(&self) -> Result<Vec<u8>, crate::report::ReportError> {
        let mut csv = crate::report::CsvRows::new([
            "output", "input", "kind", "index", "estimate", "ci_low", "ci_high",
        ])?;
        let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let empty = Map::new();
        for (output, o) in self.json["outputs"].as_object().unwrap_or(&empty) {
            for (kind, key) in [("parameter", "parameters"), ("group", "groups")] {
                for (input, e) in o[key].as_object().unwrap_or(&empty) {
                    for index in ["first_order", "total"] {
                        let ci = &e[format!("{index}_ci")];
                        csv.row_or_empty(
                            [output.as_str(), input.as_str(), kind, index],
                            [number(&e[index]), number(&ci[0]), number(&ci[1])],
                        )?;
                    }
                }
            }
        }
        csv.finish()
    }
}

fn estimate_json(e: &IndexEstimate, note: Option<&String>) -> Value {
    let mut v = json!({
        "first_order": num(e.first_order),
        "first_order_ci": [num(e.first_order_ci[0]), num(e.first_order_ci[1])],
        "total": num(e.total),
        "total_ci": [num(e.total_ci[0]), num(e.total_ci[1])],
    });
    if let Some(n) = note {
        v["note"] = Value::String(n.clone());
    }
    v
}

/// First-order and total Sobol indices of every headline output for every uncertain
/// parameter, correlated cluster and group of `model`.
pub fn model_sensitivity(
    model: &Model,
    options: &ModelSensitivityOptions,
) -> Result<ModelSensitivity, ModelSensitivityError> {
    let plan = plan(model, &options.groups)?;
    // Inputs with the same coordinates (e.g. `scenario` as a parameter and as a group) are
    // evaluated once.
    let mut unique: Vec<Group> = Vec::new();
    let mut index_of = |coords: &[usize]| -> usize {
        match unique.iter().position(|g| g.coords == coords) {
            Some(i) => i,
            None => {
                unique.push(Group::new(format!("#{}", unique.len()), coords.to_vec()));
                unique.len() - 1
            }
        }
    };
    let all: Vec<(&Input, usize)> = plan
        .parameters
        .iter()
        .chain(&plan.clusters)
        .chain(&plan.groups)
        .map(|i| (i, index_of(&i.coords)))
        .collect();
    let problem = ModelProblem::new(model);
    let r = sobol_indices(
        &problem,
        &unique,
        options.samples,
        options.seed,
        &options.sobol,
    )?;
    let n_params = plan.parameters.len();
    let n_clusters = plan.clusters.len();
    let mut outputs = Map::new();
    let mut ranking = Vec::new();
    let mut group_ranking = Vec::new();
    for (k, name) in HEADLINE.iter().enumerate() {
        let o = &r.outputs[k];
        let mut parameters = Map::new();
        let mut groups = Map::new();
        for (pos, (input, u)) in all.iter().enumerate() {
            let e = &o.groups[*u];
            if pos < n_params {
                parameters.insert(input.name.clone(), estimate_json(e, input.note.as_ref()));
            } else {
                groups.insert(input.name.clone(), estimate_json(e, input.note.as_ref()));
            }
            if k == crate::outputs::EXPORT_LOSS {
                let row = (input.name.clone(), e.first_order, e.total);
                if pos < n_params + n_clusters {
                    ranking.push(row);
                } else {
                    group_ranking.push(row);
                }
            }
        }
        outputs.insert(
            name.to_string(),
            json!({
                "mean": num(o.mean),
                "variance": num(o.variance),
                "parameters": parameters,
                "groups": groups,
            }),
        );
    }
    let by_total = |a: &(String, f64, f64), b: &(String, f64, f64)| {
        let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
        key(b.2).total_cmp(&key(a.2))
    };
    ranking.sort_by(by_total);
    group_ranking.sort_by(by_total);
    let clusters: Map<String, Value> = plan
        .clusters
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                json!({"members": c.members, "note": c.note}),
            )
        })
        .collect();
    let group_members: Map<String, Value> = plan
        .groups
        .iter()
        .map(|g| (g.name.clone(), json!(g.members)))
        .collect();
    let json = json!({
        "model": {
            "name": model.name,
            "file": model.source.file,
            "sha256": model.source.sha256,
            "overrides": model.overrides,
        },
        "samples": r.samples,
        "seed": options.seed,
        "evaluations": r.evaluations,
        "bootstrap_resamples": r.bootstrap_resamples,
        "confidence": r.confidence,
        "version": env!("CARGO_PKG_VERSION"),
        "method": "Saltelli design on a 2·dim scrambled Sobol sequence; first order: Saltelli et al. (2010); total: Jansen (1999); inputs are the independent uniform coordinates of a draw (coordinate 0 picks the scenario)",
        "notes": plan.notes,
        "correlated_clusters": clusters,
        "group_members": group_members,
        "outputs": outputs,
    });
    Ok(ModelSensitivity {
        json,
        export_loss_ranking: ranking,
        export_loss_groups: group_ranking,
        evaluations: r.evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_one_segment() {
        assert!(matches("sectors.*.sigma", "sectors.autos.sigma"));
        assert!(!matches("sectors.*.sigma", "sectors.autos.epsilon"));
        assert!(!matches("macro.*", "macro.a.b"));
        assert!(matches("interim.*.*", "interim.tariff.default"));
    }

    #[test]
    fn group_arguments_parse_and_reject() {
        let (n, p) = parse_group("autos=sectors.autos.sigma, sectors.autos.epsilon").unwrap();
        assert_eq!(n, "autos");
        assert_eq!(p, ["sectors.autos.sigma", "sectors.autos.epsilon"]);
        assert!(parse_group("autos").is_err());
        assert!(parse_group("=a").is_err());
    }
}
