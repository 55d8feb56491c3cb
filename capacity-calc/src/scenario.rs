//! Scenarios: a named set of assumptions, built from defaults, a TOML file,
//! flags and `--set` overrides, remembering where each value came from.
//!
//! A scenario file is flat TOML: `name`, an optional `description`, and any
//! input keys with values as strings with units (`"5 MB"`, `"90%"`) or plain
//! numbers in base units:
//!
//! ```toml
//! name = "Cadenza launch"
//! users = "2M"
//! songs = 500_000
//! song_size = "7 MB"
//! cdn_hit_ratio = 0.95
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::calibration::Calibrated;
use crate::error::{Error, InputError, Place};
use crate::estimate::{estimate_with, Estimate, Origin, DEFAULT_NAME};
use crate::inputs::{input, unknown_key, Assumptions, InputSpec, INPUTS};
use crate::ratio::Ratio;

/// A named set of assumptions and the origin of each value.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub assumptions: Assumptions,
    /// Inputs not listed here are defaults.
    origins: BTreeMap<&'static str, Origin>,
    /// Every measured value calibration was given, used or not.
    pub calibration: Vec<Calibrated>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::defaults()
    }
}

fn origin_of(place: &Place) -> Origin {
    match place {
        Place::Flag => Origin::Flag,
        Place::Set => Origin::Set,
        Place::Scenario(_) => Origin::ScenarioFile,
        Place::Sweep | Place::Calibration | Place::Value => Origin::Given,
    }
}

impl Scenario {
    /// The built-in Spotify-scale scenario.
    pub fn defaults() -> Scenario {
        Scenario {
            name: DEFAULT_NAME.to_string(),
            description: None,
            assumptions: Assumptions::default(),
            origins: BTreeMap::new(),
            calibration: Vec::new(),
        }
    }

    /// Wraps assumptions built in code; values that differ from the defaults
    /// are reported as given.
    pub fn from_assumptions(name: &str, assumptions: Assumptions) -> Scenario {
        let defaults = Assumptions::default();
        let origins = INPUTS
            .iter()
            .filter(|spec| spec.get(&assumptions) != spec.get(&defaults))
            .map(|spec| (spec.key, Origin::Given))
            .collect();
        Scenario {
            name: name.to_string(),
            description: None,
            assumptions,
            origins,
            calibration: Vec::new(),
        }
    }

    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadScenario {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_toml(&text, path)
    }

    /// Parses scenario text; `path` names the file in error messages and
    /// gives the name when the file has none.
    pub fn from_toml(text: &str, path: &Path) -> Result<Scenario, Error> {
        let syntax = |message: String| Error::ScenarioSyntax {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| syntax(e.to_string()))?;
        let mut scenario = Scenario::defaults();
        scenario.name = path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let place = Place::Scenario(PathBuf::from(path));
        for (key, value) in &table {
            let text = match (key.as_str(), value) {
                ("name", toml::Value::String(name)) => {
                    scenario.name = name.clone();
                    continue;
                }
                ("description", toml::Value::String(description)) => {
                    scenario.description = Some(description.clone());
                    continue;
                }
                ("name" | "description", _) => {
                    return Err(syntax(format!("{key} must be a string")));
                }
                (_, toml::Value::String(s)) => s.clone(),
                (_, toml::Value::Integer(i)) => i.to_string(),
                (_, toml::Value::Float(f)) => f.to_string(),
                (_, other) => {
                    let problem = if input(key).is_some() {
                        format!(
                            "must be a number or a string such as \"5MB\", not a {}",
                            other.type_str()
                        )
                    } else {
                        unknown_key(key)
                    };
                    return Err(InputError::new(place.clone(), key, problem).into());
                }
            };
            scenario.set(key, &text, place.clone())?;
        }
        Ok(scenario)
    }

    /// Sets input `key` from text, recording where it came from.
    pub fn set(&mut self, key: &str, text: &str, place: Place) -> Result<(), InputError> {
        let spec =
            input(key).ok_or_else(|| InputError::new(place.clone(), key, unknown_key(key)))?;
        spec.set_text(&mut self.assumptions, text)
            .map_err(|problem| InputError::new(place.clone(), spec.key, problem))?;
        self.origins.insert(spec.key, origin_of(&place));
        Ok(())
    }

    /// Applies one `--set key=value` override.
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), InputError> {
        let (key, value) = assignment.split_once('=').ok_or_else(|| {
            InputError::new(
                Place::Set,
                assignment,
                "has no '='; write KEY=VALUE, e.g. --set users=2B".to_string(),
            )
        })?;
        self.set(key.trim(), value, Place::Set)
    }

    /// Where input `key` came from.
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// Replaces an assumption with a measured value.
    pub(crate) fn set_measured(
        &mut self,
        spec: &'static InputSpec,
        value: Ratio,
        note: Option<String>,
    ) {
        let assumed = spec.get(&self.assumptions);
        spec.set(&mut self.assumptions, value);
        self.origins
            .insert(spec.key, Origin::Measured { assumed, note });
    }

    /// Estimates this scenario.
    pub fn estimate(&self) -> Result<Estimate, Error> {
        let mut estimate = estimate_with(
            &self.assumptions,
            &self.name,
            self.description.as_deref(),
            &|spec| self.origin(spec.key),
        )?;
        estimate.calibration = self.calibration.clone();
        Ok(estimate)
    }

    /// The scenario as a commented TOML file that [`Scenario::from_toml`]
    /// reads back to the same assumptions.
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::from(
            "# Cadenza capacity scenario: cadenza-capacity --scenario THIS_FILE\n\
             # Values take units: 5MB, 5 MiB, 160kbps, 10Gbit/s, 90%, 1e9, 1B, 3m30s.\n",
        );
        out.push_str(&format!("name = {}\n", quote(&self.name)));
        if let Some(description) = &self.description {
            out.push_str(&format!("description = {}\n", quote(description)));
        }
        let mut group = "";
        for spec in INPUTS {
            if spec.group != group {
                group = spec.group;
                out.push_str(&format!("\n# --- {group} ---\n"));
            }
            out.push_str(&format!(
                "# {}. Default {}: {}.\n{} = {}\n",
                spec.help,
                spec.default_text(),
                spec.source,
                spec.key,
                quote(&spec.unit.format_exact(spec.get(&self.assumptions)))
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> &'static Path {
        Path::new("launch.toml")
    }

    #[test]
    fn reads_units_numbers_and_names() {
        let s = Scenario::from_toml(
            "name = \"Cadenza launch\"\ndescription = \"first year\"\nusers = \"2M\"\n\
             songs = 500_000\nsong_size = \"7 MB\"\ncdn_hit_ratio = 0.95\npeak-factor = 2\n",
            path(),
        )
        .unwrap();
        assert_eq!(s.name, "Cadenza launch");
        assert_eq!(s.description.as_deref(), Some("first year"));
        assert_eq!(s.assumptions.users, 2_000_000);
        assert_eq!(s.assumptions.songs, 500_000);
        assert_eq!(s.assumptions.song_size, 7_000_000);
        assert_eq!(s.assumptions.cdn_hit_ratio, Ratio::new(19, 20).unwrap());
        assert_eq!(s.assumptions.peak_factor, Ratio::integer(2));
        assert_eq!(s.origin("users"), Origin::ScenarioFile);
        assert_eq!(s.origin("bitrate"), Origin::Default);
    }

    #[test]
    fn unnamed_files_take_the_file_name() {
        let s = Scenario::from_toml("users = 10", path()).unwrap();
        assert_eq!(s.name, "launch");
    }

    #[test]
    fn file_errors_name_file_and_key() {
        let err = |text| Scenario::from_toml(text, path()).unwrap_err().to_string();
        assert!(
            err("cdn_hit_ratio = 1.5").starts_with("launch.toml: cdn_hit_ratio: '1.5' is above 1")
        );
        assert!(err("usres = 5").contains("did you mean 'users'"));
        assert!(err("users = [1]").contains("must be a number or a string"));
        assert!(err("users = -5").contains("negative"));
        assert!(err("users = ").contains("launch.toml is not valid"));
        assert!(err("name = 5").contains("name must be a string"));
    }

    #[test]
    fn overrides_and_their_origins() {
        let mut s = Scenario::defaults();
        s.apply_override("users=2B").unwrap();
        s.apply_override("cdn-hit-ratio = 95%").unwrap();
        assert_eq!(s.assumptions.users, 2_000_000_000);
        assert_eq!(s.assumptions.cdn_hit_ratio, Ratio::new(19, 20).unwrap());
        assert_eq!(s.origin("users"), Origin::Set);
        assert!(s
            .apply_override("users")
            .unwrap_err()
            .to_string()
            .contains("no '='"));
        let e = s.apply_override("headroom=1").unwrap_err().to_string();
        assert!(e.starts_with("--set headroom: '1' is not below 1"), "{e}");
        s.set("songs", "5", Place::Flag).unwrap();
        assert_eq!(s.origin("songs"), Origin::Flag);
    }

    #[test]
    fn written_files_read_back_identically() {
        let mut s = Scenario::defaults();
        s.name = "quoted \"name\"".to_string();
        s.apply_override("song_size=4.5MiB").unwrap();
        s.apply_override("dau_share=1/3").unwrap();
        let text = s.to_toml();
        let back = Scenario::from_toml(&text, path()).unwrap();
        assert_eq!(back.assumptions, s.assumptions);
        assert_eq!(back.name, s.name);
        assert!(
            text.contains("song_size = \"4718592 B\"") || text.contains("song_size = \"4608 KiB\""),
            "{text}"
        );
    }

    #[test]
    fn assumptions_serde_matches_scenario_keys() {
        // Assumptions serialise to TOML that is itself a valid scenario.
        let a = Assumptions::default();
        let text = toml::to_string(&a).unwrap();
        let s = Scenario::from_toml(&text, path()).unwrap();
        assert_eq!(s.assumptions, a);
        let back: Assumptions = toml::from_str(&text).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn from_assumptions_marks_changes_as_given() {
        let a = Assumptions {
            songs: 1,
            ..Assumptions::default()
        };
        let s = Scenario::from_assumptions("mine", a);
        assert_eq!(s.origin("songs"), Origin::Given);
        assert_eq!(s.origin("users"), Origin::Default);
        assert_eq!(s.estimate().unwrap().name, "mine");
    }
}
