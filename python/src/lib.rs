//! `tariffsim._tariffsim`: the Rust side of the Python package, a thin layer over the crate's
//! facade (`tariffsim::Model`, `RunConfig`, `Summary`). The pure-Python layer
//! (`python/tariffsim/__init__.py`) builds pandas objects from what this returns.
//!
//! Every computation runs with the GIL released, in a worker thread, while the calling thread
//! checks for signals every 50 ms: Ctrl-C cancels a run at its next block (a [`Cancel`]
//! observer) and raises `KeyboardInterrupt`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tariffsim::run::{Observer, StopRule};
use tariffsim::sensitivity::{self, ModelSensitivityOptions, SobolOptions};
use tariffsim::sweep::{self, Sweep, SweepAxis, SweepError};
use tariffsim::{Cancel, DrawCollector, Draws, Error, Model, RunConfig, SamplerKind, Summary};

/// Model errors (a model file, an override, run settings) become `ValueError` with the
/// message the CLI prints (`file:line:col: key: rule; accepted: ...`); failures to read or
/// write files become `OSError`.
fn to_py(e: Error) -> PyErr {
    if e.is_invalid_input() {
        PyValueError::new_err(e.to_string())
    } else if let Error::Model(tariffsim::model::ModelError::Io { source, .. }) = &e {
        // A missing model file is the FileNotFoundError Python users expect from `open`
        // (an OSError, as the other read failures).
        if source.kind() == std::io::ErrorKind::NotFound {
            PyFileNotFoundError::new_err(e.to_string())
        } else {
            PyOSError::new_err(e.to_string())
        }
    } else if matches!(
        e,
        Error::Model(tariffsim::model::ModelError::Io { .. }) | Error::Report(_)
    ) {
        PyOSError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// Runs `work` on a worker thread with the GIL released; polls for signals meanwhile. On a
/// signal (Ctrl-C) `cancel` is set, the worker is waited for (it stops at its next block) and
/// the signal's exception is raised.
fn interruptible<T: Send>(
    py: Python<'_>,
    cancel: &Cancel,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    py.detach(|| {
        std::thread::scope(|scope| {
            let worker = scope.spawn(work);
            let mut interrupted = None;
            while !worker.is_finished() {
                std::thread::sleep(Duration::from_millis(50));
                if interrupted.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        cancel.cancel();
                        interrupted = Some(e);
                    }
                }
            }
            let result = worker
                .join()
                .map_err(|_| PyRuntimeError::new_err("tariffsim: a worker thread panicked"))?;
            match interrupted {
                Some(e) => Err(e),
                None => Ok(result),
            }
        })
    })
}

fn sampler(name: &str) -> PyResult<SamplerKind> {
    SamplerKind::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = SamplerKind::ALL.iter().map(|s| s.name()).collect();
        PyValueError::new_err(format!(
            "sampler {name:?}: unknown sampler; accepted: {}",
            names.join(", ")
        ))
    })
}

/// A validated model.
#[pyclass(name = "Model", module = "tariffsim._tariffsim", frozen)]
struct PyModel {
    model: Arc<Model>,
}

#[pymethods]
impl PyModel {
    /// The embedded default model (models/korea_us_2025.toml).
    #[staticmethod]
    fn default() -> PyResult<PyModel> {
        Model::default_model().map(PyModel::new).map_err(to_py)
    }

    /// Reads and validates a model file.
    #[staticmethod]
    fn from_path(path: PathBuf) -> PyResult<PyModel> {
        Model::from_path(path).map(PyModel::new).map_err(to_py)
    }

    /// Validates model text; `name` stands for the file in messages.
    #[staticmethod]
    #[pyo3(signature = (text, name = "model"))]
    fn from_str(text: &str, name: &str) -> PyResult<PyModel> {
        Model::from_toml_str(text, name)
            .map(PyModel::new)
            .map_err(to_py)
    }

    /// A copy with `(path, TOML value text)` overrides applied and validated.
    fn with_overrides(&self, overrides: Vec<(String, String)>) -> PyResult<PyModel> {
        self.model
            .with_overrides(&overrides)
            .map(PyModel::new)
            .map_err(to_py)
    }

    /// (name, file, sha256, units, parameter paths, uncertain parameter paths, output names,
    /// scenario ids, warnings).
    #[allow(clippy::type_complexity)]
    fn describe(
        &self,
    ) -> (
        String,
        String,
        String,
        String,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    ) {
        let m = &self.model;
        (
            m.name.clone(),
            m.source.file.clone(),
            m.source.sha256.clone(),
            m.units.clone(),
            m.params.iter().map(|p| p.path.clone()).collect(),
            m.params
                .iter()
                .filter(|p| p.coordinate.is_some())
                .map(|p| p.path.clone())
                .collect(),
            tariffsim::outputs::output_names(m),
            m.scenarios.iter().map(|s| s.id.clone()).collect(),
            m.warnings.clone(),
        )
    }

    /// Runs the model; bit-identical to `tariffsim run` with the same arguments.
    #[pyo3(signature = (draws, seed, threads, sampler_name, antithetic, save_draws))]
    // One argument per keyword of the Python method (which checks nothing itself).
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        draws: u64,
        seed: u64,
        threads: usize,
        sampler_name: &str,
        antithetic: bool,
        save_draws: bool,
    ) -> PyResult<PyRunResult> {
        let config = RunConfig {
            draws,
            seed,
            threads,
            sampler: sampler(sampler_name)?,
            antithetic,
        };
        let model = &*self.model;
        let cancel = Cancel::new();
        let collector = save_draws.then(|| DrawCollector::new(model, draws));
        let result = interruptible(py, &cancel, || {
            let mut observers: Vec<&dyn Observer> = vec![&cancel];
            if let Some(c) = &collector {
                observers.push(c);
            }
            model.run_with(&config, &observers)
        })?;
        let summary = result.map_err(to_py)?;
        Ok(PyRunResult {
            summary,
            draws: collector.map(DrawCollector::into_draws),
        })
    }

    /// Runs every point of the grid of `axes` ([(path, [TOML value texts])]) with the same
    /// seed and draws; returns sweep.json's content, plus the grid's `warnings`, as JSON text.
    /// Ctrl-C stops the grid
    /// point being run at its next block.
    #[pyo3(signature = (axes, draws, seed, threads, sampler_name, antithetic))]
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &self,
        py: Python<'_>,
        axes: Vec<(String, Vec<String>)>,
        draws: u64,
        seed: u64,
        threads: usize,
        sampler_name: &str,
        antithetic: bool,
    ) -> PyResult<String> {
        let config = RunConfig {
            draws,
            seed,
            threads,
            sampler: sampler(sampler_name)?,
            antithetic,
        };
        let axes: Vec<SweepAxis> = axes
            .into_iter()
            .map(|(path, values)| SweepAxis { path, values })
            .collect();
        let model = &*self.model;
        let to_err = |e: SweepError| match e {
            SweepError::Override(error) => to_py(Error::Override {
                file: model.source.file.clone(),
                error,
            }),
            SweepError::Run(e) => to_py(Error::Run(e)),
            SweepError::Axis { .. } => PyValueError::new_err(e.to_string()),
            SweepError::Report(e) => to_py(Error::Report(e)),
        };
        let grid = Sweep::new(model, &axes).map_err(to_err)?;
        let cancel = Cancel::new();
        let points = interruptible(py, &cancel, || {
            grid.run_observed(&config, &StopRule::AllDraws, &[&cancel], |_, _| {})
        })?
        .map_err(to_err)?;
        let mut json = sweep::sweep_json(model, &config, &axes, &points);
        // What the CLI prints as warnings (e.g. a correlation dropped by a grid value).
        json["warnings"] = serde_json::Value::from(grid.warnings());
        Ok(json.to_string())
    }

    /// Backtest and update (MODEL.md §13): the observations are read from the file
    /// `observed_path`, or parsed from `observed_text` (CSV text named `name` in messages).
    /// Returns (backtest.json, updated/summary.json or None) as JSON text; the same bits as
    /// `tariffsim backtest` (both call `tariffsim::backtest::run_backtest_documents`).
    #[pyo3(signature = (observed_path, observed_text, name, draws, seed, threads, sampler_name, antithetic))]
    #[allow(clippy::too_many_arguments)]
    fn backtest(
        &self,
        py: Python<'_>,
        observed_path: Option<PathBuf>,
        observed_text: Option<String>,
        name: &str,
        draws: u64,
        seed: u64,
        threads: usize,
        sampler_name: &str,
        antithetic: bool,
    ) -> PyResult<(String, Option<String>)> {
        use tariffsim::backtest::{self, BacktestError};
        let config = RunConfig {
            draws,
            seed,
            threads,
            sampler: sampler(sampler_name)?,
            antithetic,
        };
        let model = backtest::backtest_model(&self.model).map_err(|error| {
            to_py(Error::Override {
                file: self.model.source.file.clone(),
                error,
            })
        })?;
        let (observations, file) = match (&observed_path, &observed_text) {
            (Some(path), _) => (
                backtest::read_observations(path, &model),
                path.display().to_string(),
            ),
            (None, Some(text)) => (
                backtest::parse_observations(text, name, &model),
                name.to_string(),
            ),
            (None, None) => {
                return Err(PyValueError::new_err(
                    "observed: accepted: a path to an observation CSV or a DataFrame",
                ))
            }
        };
        let observations = observations.map_err(|e| {
            PyValueError::new_err(format!("{e}\n{}: the observations were not used", e.file))
        })?;
        let cancel = Cancel::new();
        let result = interruptible(py, &cancel, || {
            backtest::run_backtest_documents(&model, &config, &observations, &[&cancel])
        })?
        .map_err(|e| match e {
            BacktestError::Underflow(m) => PyValueError::new_err(format!("{file}: {m}")),
            BacktestError::Run(e) => to_py(Error::Run(e)),
        })?;
        Ok((
            result.backtest_json.to_string(),
            result.updated_json.map(|v| v.to_string()),
        ))
    }

    /// Sobol sensitivity indices; returns sensitivity.json's content as JSON text. The
    /// analysis takes no observer, so Ctrl-C raises when it ends rather than stopping it.
    #[pyo3(signature = (samples, seed, threads, groups, bootstrap))]
    fn sensitivity(
        &self,
        py: Python<'_>,
        samples: usize,
        seed: u64,
        threads: usize,
        groups: Vec<(String, Vec<String>)>,
        bootstrap: usize,
    ) -> PyResult<String> {
        let options = ModelSensitivityOptions {
            samples,
            seed,
            groups,
            sobol: SobolOptions {
                bootstrap_resamples: bootstrap,
                ..SobolOptions::default()
            },
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start {threads} threads: {e}")))?;
        let model = &*self.model;
        let cancel = Cancel::new();
        let result = interruptible(py, &cancel, || {
            pool.install(|| sensitivity::model_sensitivity(model, &options))
        })?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(result.json.to_string())
    }
}

impl PyModel {
    fn new(model: Model) -> PyModel {
        PyModel {
            model: Arc::new(model),
        }
    }
}

/// The result of a run: the typed summary and, when asked for, every draw.
#[pyclass(name = "RunResult", module = "tariffsim._tariffsim", frozen)]
struct PyRunResult {
    summary: Summary,
    draws: Option<Draws>,
}

#[pymethods]
impl PyRunResult {
    /// summary.json, as the CLI writes it.
    fn summary_json(&self) -> String {
        self.summary.to_json_pretty()
    }

    /// The draws as (scenario ids, scenario index per draw as u32 bytes, [(column name, f64
    /// little-endian bytes)] for the parameters then the outputs), or None.
    #[allow(clippy::type_complexity)]
    fn draw_columns<'py>(
        &self,
        py: Python<'py>,
    ) -> Option<(
        Vec<String>,
        Bound<'py, PyBytes>,
        Vec<(String, Bound<'py, PyBytes>)>,
    )> {
        let draws = self.draws.as_ref()?;
        let scenario: Vec<u8> = draws
            .scenario
            .iter()
            .flat_map(|k| k.to_le_bytes())
            .collect();
        let columns = draws
            .parameters
            .iter()
            .chain(&draws.outputs)
            .map(|(name, column)| {
                let bytes: Vec<u8> = column.iter().flat_map(|x| x.to_le_bytes()).collect();
                (name.clone(), PyBytes::new(py, &bytes))
            })
            .collect();
        Some((
            draws.scenario_ids.clone(),
            PyBytes::new(py, &scenario),
            columns,
        ))
    }

    /// Writes the CLI's result files into `dir`: summary.json, quantiles.csv, draws.csv (when
    /// the draws were saved) and, with `report`, report.html.
    #[pyo3(signature = (dir, report = false))]
    fn write(&self, py: Python<'_>, dir: PathBuf, report: bool) -> PyResult<()> {
        py.detach(|| -> PyResult<()> {
            // The folder lock of the CLI: a second writer (a CLI run, another notebook) into
            // the same folder is refused instead of interleaving files.
            let _lock =
                tariffsim::folder::lock(&dir).map_err(|e| PyOSError::new_err(e.to_string()))?;
            write_result_files(&dir, &self.summary, self.draws.as_ref(), report).map_err(to_py)
        })
    }
}

/// The files of [`PyRunResult::write`], written under the folder's lock.
fn write_result_files(
    dir: &std::path::Path,
    summary: &Summary,
    draws: Option<&Draws>,
    report: bool,
) -> Result<(), Error> {
    tariffsim::report::write_summary(dir, summary)?;
    if let Some(d) = draws {
        d.write_csv_file(&dir.join("draws.csv"))?;
    }
    if report {
        tariffsim::report::write_report(dir, None)?;
    }
    Ok(())
}

/// The Rust core of the `tariffsim` Python package.
#[pymodule]
fn _tariffsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<PyRunResult>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
