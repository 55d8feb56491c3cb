//! Error types. Every error names where the bad value came from (a flag,
//! `--set`, a scenario file, a sweep, a calibration) so the user can fix it.

use std::fmt;
use std::path::PathBuf;

use crate::inputs::input;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A model flag such as `--cdn-hit-ratio`.
    Flag,
    /// `--set key=value`.
    Set,
    /// A scenario file.
    Scenario(PathBuf),
    /// `--sweep`.
    Sweep,
    /// A measured value handed to [`crate::Calibration`].
    Calibration,
    /// A field set directly on [`crate::Assumptions`].
    Value,
}

/// A bad input value, named by where it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub place: Place,
    /// The input key (or the unknown key as given).
    pub key: String,
    /// What is wrong and what to give instead.
    pub problem: String,
}

impl InputError {
    pub fn new(place: Place, key: &str, problem: String) -> InputError {
        InputError {
            place,
            key: key.to_string(),
            problem,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        let problem = &self.problem;
        match &self.place {
            Place::Flag => {
                let flag = input(key).map_or(key.as_str(), |spec| spec.flag);
                write!(f, "--{flag}: {problem}")
            }
            Place::Set => write!(f, "--set {key}: {problem}"),
            Place::Scenario(path) => write!(f, "{}: {key}: {problem}", path.display()),
            Place::Sweep => write!(f, "--sweep {key}: {problem}"),
            Place::Calibration => write!(f, "calibration {key}: {problem}"),
            Place::Value => write!(f, "{key}: {problem}"),
        }
    }
}

/// Anything that stops an estimate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),

    #[error(
        "{output}: the inputs are too large to compute exactly ({formula}); use smaller values"
    )]
    Overflow {
        output: &'static str,
        formula: &'static str,
    },

    #[error("cannot read scenario file {}: {source}", path.display())]
    ReadScenario {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("scenario file {} is not valid: {message}", path.display())]
    ScenarioSyntax { path: PathBuf, message: String },

    #[error("--sweep: {0}")]
    Sweep(String),

    /// A formula in the model itself is broken: a bug, not bad input.
    #[error("internal error in the formula for {output}: {message}")]
    Formula {
        output: &'static str,
        message: String,
    },
}

impl Error {
    /// True when the user can fix it by changing the input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Formula { .. })
    }
}
