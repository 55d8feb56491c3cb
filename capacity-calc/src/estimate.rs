//! [`Estimate`]: the full answer for one scenario — the inputs and where each
//! came from, every output with its formula, and the projection over years.

use crate::calibration::Calibrated;
use crate::error::Error;
use crate::inputs::{Assumptions, InputSpec, INPUTS};
use crate::model::{evaluate, Output, Section};
use crate::ratio::Ratio;
use crate::series::{project, Series};
use crate::units::ByteUnits;

/// Where an input's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// Set by a library caller directly on [`Assumptions`].
    Given,
    /// Read from a scenario file.
    ScenarioFile,
    /// A model flag such as `--users`.
    Flag,
    /// `--set key=value`.
    Set,
    /// Measured on a live server, replacing the value that was assumed.
    Measured {
        assumed: Ratio,
        /// How the measurement became this input, when not one-to-one.
        note: Option<String>,
    },
}

impl Origin {
    /// Short name: `default`, `scenario`, `--set`, `measured`, ...
    pub fn label(&self, spec: &InputSpec) -> String {
        match self {
            Origin::Default => "default".to_string(),
            Origin::Given => "given".to_string(),
            Origin::ScenarioFile => "scenario".to_string(),
            Origin::Flag => format!("--{}", spec.flag),
            Origin::Set => "--set".to_string(),
            Origin::Measured { .. } => "measured".to_string(),
        }
    }

    /// Why the value is what it is: a default's source, a measurement's
    /// assumed value, or what the input means.
    pub fn explanation(&self, spec: &InputSpec, bytes: ByteUnits) -> String {
        match self {
            Origin::Default => spec.source.to_string(),
            Origin::Measured { assumed, note } => {
                let assumed = format!("assumed {}", spec.unit.format(*assumed, bytes));
                match note {
                    Some(note) => format!("{assumed}; {note}"),
                    None => assumed,
                }
            }
            _ => spec.help.to_string(),
        }
    }
}

/// One input as used by an estimate.
#[derive(Clone, Debug)]
pub struct InputValue {
    pub spec: &'static InputSpec,
    pub value: Ratio,
    pub origin: Origin,
}

impl InputValue {
    pub fn key(&self) -> &'static str {
        self.spec.key
    }

    pub fn display(&self, bytes: ByteUnits) -> String {
        self.spec.unit.format(self.value, bytes)
    }
}

/// The result of estimating one scenario.
#[derive(Clone, Debug)]
pub struct Estimate {
    /// Scenario name shown in report titles.
    pub name: String,
    pub description: Option<String>,
    pub assumptions: Assumptions,
    /// Every input, in [`INPUTS`] order, with its origin.
    pub inputs: Vec<InputValue>,
    /// Every output, in [`crate::OUTPUTS`] order.
    pub outputs: Vec<Output>,
    /// Year 0 (today) to `years` ahead.
    pub projection: Series,
    /// Values measured on a live server, used or not (see [`crate::Calibration`]).
    pub calibration: Vec<Calibrated>,
}

/// Name given to estimates of the built-in defaults.
pub const DEFAULT_NAME: &str = "Spotify-scale defaults";

/// Estimates one set of assumptions. Inputs equal to their default are
/// reported as defaults, the others as given.
pub fn estimate(assumptions: &Assumptions) -> Result<Estimate, Error> {
    let defaults = Assumptions::default();
    estimate_with(assumptions, DEFAULT_NAME, None, &|spec| {
        if spec.get(assumptions) == spec.get(&defaults) {
            Origin::Default
        } else {
            Origin::Given
        }
    })
}

pub(crate) fn estimate_with(
    assumptions: &Assumptions,
    name: &str,
    description: Option<&str>,
    origin: &dyn Fn(&InputSpec) -> Origin,
) -> Result<Estimate, Error> {
    let outputs = evaluate(assumptions)?;
    let projection = project(assumptions)?;
    let inputs = INPUTS
        .iter()
        .map(|spec| InputValue {
            spec,
            value: spec.get(assumptions),
            origin: origin(spec),
        })
        .collect();
    Ok(Estimate {
        name: name.to_string(),
        description: description.map(str::to_string),
        assumptions: assumptions.clone(),
        inputs,
        outputs,
        projection,
        calibration: Vec::new(),
    })
}

impl Estimate {
    /// The output named `key`, e.g. `"replicated_audio"`.
    pub fn output(&self, key: &str) -> Option<&Output> {
        self.outputs.iter().find(|o| o.key() == key)
    }

    /// The exact value of output `key`.
    pub fn value(&self, key: &str) -> Option<Ratio> {
        self.output(key).map(|o| o.value)
    }

    /// The input named `key`.
    pub fn input(&self, key: &str) -> Option<&InputValue> {
        self.inputs.iter().find(|i| i.key() == key)
    }

    /// Outputs of one section, in order.
    pub fn section(&self, section: Section) -> impl Iterator<Item = &Output> {
        self.outputs
            .iter()
            .filter(move |o| o.spec.section == section)
    }

    /// Inputs that were measured rather than assumed.
    pub fn measured(&self) -> impl Iterator<Item = &InputValue> {
        self.inputs
            .iter()
            .filter(|i| matches!(i.origin, Origin::Measured { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_reported_as_defaults() {
        let e = estimate(&Assumptions::default()).unwrap();
        assert!(e.inputs.iter().all(|i| i.origin == Origin::Default));
        assert_eq!(e.inputs.len(), INPUTS.len());
        assert_eq!(
            e.value("raw_audio"),
            Some(Ratio::integer(500 * 10u128.pow(12)))
        );
        assert_eq!(e.section(Section::Storage).count(), 7);
        assert_eq!(e.measured().count(), 0);
    }

    #[test]
    fn changed_inputs_are_reported_as_given() {
        let a = Assumptions {
            users: 5,
            ..Assumptions::default()
        };
        let e = estimate(&a).unwrap();
        assert_eq!(e.input("users").unwrap().origin, Origin::Given);
        assert_eq!(e.input("songs").unwrap().origin, Origin::Default);
    }
}
