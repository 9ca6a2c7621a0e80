//! The public facade: load a model, change it, run it, get a typed [`Summary`].

use std::path::Path;

use crate::error::Error;
use crate::model::{self, Model};
use crate::run::{Observer, Run, RunConfig};
use crate::summary::{RunInfo, Summary};

impl Model {
    /// The embedded default model, `models/korea_us_2025.toml`.
    pub fn default_model() -> Result<Model, Error> {
        Ok(model::compile_model(
            model::DEFAULT_MODEL_TEXT,
            model::DEFAULT_MODEL_FILE,
        )?)
    }

    /// Reads and validates the model file at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Model, Error> {
        Ok(model::load_model(path.as_ref())?)
    }

    /// Validates the model text `text`; `name` stands for the file in messages and in the
    /// summary (e.g. `"scenario.toml"`).
    pub fn from_toml_str(text: &str, name: &str) -> Result<Model, Error> {
        Ok(model::compile_model(text, name)?)
    }

    /// A copy of the model with overrides applied, each `(path, value)`: a parameter path
    /// (MODEL.md §7) and a number, a distribution as an inline TOML table
    /// (`{ dist = "uniform", low = 2, high = 4 }`), or one key of the parameter's distribution
    /// (`sectors.autos.sigma.high`); or `scenarios.<id>.probability`. The result is validated
    /// as a model file is.
    pub fn with_overrides<P, V>(&self, overrides: &[(P, V)]) -> Result<Model, Error>
    where
        P: AsRef<str>,
        V: std::fmt::Display,
    {
        let given: Vec<String> = overrides
            .iter()
            .map(|(p, v)| format!("{}={v}", p.as_ref()))
            .collect();
        model::apply_overrides(self, &given).map_err(|error| Error::Override {
            file: self.source.file.clone(),
            error,
        })
    }

    /// Runs the model: the same draws, statistics and summary as `tariffsim run` with the
    /// same settings, bit for bit.
    pub fn run(&self, config: &RunConfig) -> Result<Summary, Error> {
        self.run_with(config, &[])
    }

    /// [`Model::run`] with observers ([`Observer`]) that see every finished block, e.g. a
    /// [`DrawCollector`](crate::DrawCollector) to keep the draws or a
    /// [`Cancel`](crate::Cancel) token to stop the run.
    pub fn run_with(
        &self,
        config: &RunConfig,
        observers: &[&dyn Observer],
    ) -> Result<Summary, Error> {
        let mut run = Run::new(self, config);
        for &o in observers {
            run = run.observe(o);
        }
        let outcome = run.execute()?;
        let info = RunInfo {
            draws: outcome.stats.draws(),
            seed: config.seed,
            sampler: config.sampler_label(),
            threads: outcome.threads,
            elapsed_s: outcome.elapsed.as_secs_f64(),
            stopping: outcome.stopping,
        };
        let mut summary = Summary::new(self, &info, &outcome.stats);
        // What the deal costs (issue 17), as `tariffsim run` writes it into summary.json.
        summary.deal_costs = crate::deal::DealCosts::for_run(
            self,
            &info.sampler,
            info.seed,
            info.draws,
            info.threads,
        )?;
        Ok(summary)
    }
}
