//! The error type of the public facade ([`crate::Model`] and friends).

use crate::model::{ModelError, OverrideError};
use crate::report::ReportError;
use crate::run::RunError;

/// Why a model could not be loaded, changed, run or written out. Messages name the model file,
/// line, column and key at fault and the rule broken, never a command-line flag.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file cannot be read, or breaks a rule of MODEL.md (one `file:line:col: key:
    /// rule; accepted: ...` line per problem).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An override (`path = value`) was rejected.
    #[error("{file}: {error}")]
    Override {
        /// The model file the override was applied to.
        file: String,
        /// The override and the rule it broke.
        error: OverrideError,
    },
    /// The run settings cannot be run on this model (the message names the settings), or an
    /// observer of the run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Result files could not be written.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl Error {
    /// Whether the error is the user's input (a model file, an override, run settings) rather
    /// than a failure of the machine (a file that cannot be read or written): the CLI exits
    /// with 2 for the first, 1 for the second, and Python raises `ValueError` for the first.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::Model(ModelError::Invalid { .. }) | Error::Override { .. } => true,
            Error::Run(RunError::Invalid { .. }) => true,
            Error::Model(ModelError::Io { .. }) | Error::Run(_) | Error::Report(_) => false,
        }
    }
}
