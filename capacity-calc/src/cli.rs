//! Command-line arguments, shared by `cadenza-capacity` and
//! `cadenza-admin capacity` (which flattens [`CapacityArgs`] and adds
//! `--calibrate`), and [`run`], which turns them into a report.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::calibration::Calibration;
use crate::error::{Error, InputError, Place};
use crate::inputs::INPUTS;
use crate::render::{render_estimate, render_sweep, Format};
use crate::scenario::Scenario;
use crate::sweep::{sweep, SweepSpec};
use crate::units::ByteUnits;

/// One flag per model input (`--users`, `--song-size`, ...), generated from
/// [`INPUTS`] so `--help` shows each default and its source. Values are kept
/// as typed and parsed by [`ModelArgs::apply`], so errors name the flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelArgs {
    /// `(input key, text as typed)` for each flag given.
    pub values: Vec<(&'static str, String)>,
}

impl ModelArgs {
    /// Applies the flags to a scenario.
    pub fn apply(&self, scenario: &mut Scenario) -> Result<(), InputError> {
        for (key, text) in &self.values {
            scenario.set(key, text, Place::Flag)?;
        }
        Ok(())
    }
}

impl FromArgMatches for ModelArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = ModelArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for spec in INPUTS {
            let given = matches
                .try_get_one::<String>(spec.key)
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, e))?;
            if let Some(text) = given {
                self.values.retain(|(key, _)| *key != spec.key);
                self.values.push((spec.key, text.clone()));
            }
        }
        Ok(())
    }
}

impl Args for ModelArgs {
    fn augment_args(cmd: Command) -> Command {
        INPUTS.iter().fold(cmd, |cmd, spec| {
            cmd.arg(
                Arg::new(spec.key)
                    .long(spec.flag)
                    .value_name(spec.unit.value_name())
                    .help(spec.help_line())
                    .help_heading(spec.group)
                    .action(ArgAction::Set)
                    // Let "-5" reach the parser, which says it is negative.
                    .allow_negative_numbers(true),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// Everything `cadenza-capacity` accepts.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct CapacityArgs {
    /// Start from a named scenario in a TOML file (keys as for --set; see --print-scenario)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Override one input, e.g. --set users=2B or --set cdn_hit_ratio=95%; repeatable, applied after the flags
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Vary one input and show how the outputs grow: users=1e6..1e9:x10, cdn_hit_ratio=80%..95%:+5% or replication=1.5,2,3
    #[arg(long, value_name = "KEY=FROM..TO:STEP")]
    pub sweep: Option<String>,

    /// Print JSON: every value exact (string) and approximate (number), with formulas
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,

    /// Print Markdown tables, for design documents
    #[arg(long)]
    pub markdown: bool,

    /// Show sizes in binary units (KiB, MiB, ... with 1 KiB = 1024 B) instead of SI
    #[arg(long)]
    pub iec: bool,

    /// Print the inputs in effect as a commented scenario file, then exit
    #[arg(long, conflicts_with_all = ["sweep", "json", "markdown"])]
    pub print_scenario: bool,

    #[command(flatten)]
    pub model: ModelArgs,
}

impl CapacityArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.markdown {
            Format::Markdown
        } else {
            Format::Table
        }
    }

    pub fn byte_units(&self) -> ByteUnits {
        if self.iec {
            ByteUnits::Iec
        } else {
            ByteUnits::Si
        }
    }

    /// The scenario these arguments describe: defaults or `--scenario`, then
    /// the flags, then `--set` in order, then any measured values.
    pub fn scenario(&self, calibration: Option<&Calibration>) -> Result<Scenario, Error> {
        let mut scenario = match &self.scenario {
            Some(path) => Scenario::load(path)?,
            None => Scenario::defaults(),
        };
        self.model.apply(&mut scenario)?;
        for assignment in &self.set {
            scenario.apply_override(assignment)?;
        }
        if let Some(calibration) = calibration {
            scenario.calibrate(calibration)?;
        }
        Ok(scenario)
    }
}

/// Produces the report the arguments ask for. `calibration` carries values
/// measured on a live server (`cadenza-admin capacity --calibrate`).
pub fn run(args: &CapacityArgs, calibration: Option<&Calibration>) -> Result<String, Error> {
    let scenario = args.scenario(calibration)?;
    if args.print_scenario {
        return Ok(scenario.to_toml());
    }
    let (format, bytes) = (args.format(), args.byte_units());
    match &args.sweep {
        Some(text) => {
            let spec = SweepSpec::parse(text)?;
            let series = sweep(&scenario.assumptions, &spec)?;
            Ok(render_sweep(&scenario.name, &series, format, bytes))
        }
        None => Ok(render_estimate(&scenario.estimate()?, format, bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::Measured;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CapacityArgs,
    }

    fn parse(argv: &[&str]) -> CapacityArgs {
        Cli::try_parse_from(std::iter::once("test").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn help_states_every_default_with_its_source() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        for spec in INPUTS {
            assert!(help.contains(&format!("--{}", spec.flag)), "{}", spec.flag);
            assert!(
                help.contains(&format!("default: {}", spec.default_text())),
                "{}",
                spec.key
            );
        }
        assert!(help.contains("default: 1,000,000,000; classic"));
        assert!(help.contains("default: 160 kbit/s; Spotify"));
    }

    #[test]
    fn flags_then_set_then_calibration() {
        let args = parse(&["--users", "2B", "--set", "users=3B", "--song-size", "4MB"]);
        let calibration = Calibration {
            avg_song_bytes: Some(Measured {
                value: 6_000_000,
                sample: 500,
            }),
            ..Calibration::default()
        };
        let s = args.scenario(Some(&calibration)).unwrap();
        assert_eq!(s.assumptions.users, 3_000_000_000);
        assert_eq!(s.assumptions.song_size, 6_000_000);
        match s.origin("song_size") {
            crate::estimate::Origin::Measured { assumed, .. } => {
                assert_eq!(assumed, crate::ratio::Ratio::integer(4_000_000))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_show_measured_beside_assumed() {
        let calibration = Calibration {
            avg_song_bytes: Some(Measured {
                value: 7_000_000,
                sample: 500,
            }),
            ..Calibration::default()
        };
        let table = run(&parse(&[]), Some(&calibration)).unwrap();
        assert!(table.contains("Measured on a live server, replacing assumptions: song_size."));
        // Two rows: the calibration list, then the assumptions.
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.trim_start().starts_with("song_size"))
            .collect();
        let [measured, assumption] = rows[..] else {
            panic!("{table}");
        };
        assert!(
            measured.contains("7 MB") && measured.contains("over 500 songs"),
            "{measured}"
        );
        assert!(measured.ends_with("used"), "{measured}");
        assert!(
            assumption.contains("7 MB")
                && assumption.contains("measured")
                && assumption.contains("assumed 5 MB; measured over 500 songs"),
            "{assumption}"
        );
        let markdown = run(&parse(&["--markdown"]), Some(&calibration)).unwrap();
        let rows: Vec<&str> = markdown
            .lines()
            .filter(|l| l.starts_with("| `song_size`"))
            .collect();
        let [measured, assumption] = rows[..] else {
            panic!("{markdown}");
        };
        assert!(measured.contains("| over 500 songs |"), "{measured}");
        assert!(
            assumption.contains("| measured ") && assumption.contains("assumed 5 MB"),
            "{assumption}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&run(&parse(&["--json"]), Some(&calibration)).unwrap()).unwrap();
        let song_size = json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == "song_size")
            .unwrap();
        assert_eq!(song_size["origin"], "measured");
        assert_eq!(song_size["exact"], "7000000");
        assert_eq!(song_size["assumed"]["exact"], "5000000");
        let calibrated = &json["calibration"][0];
        assert_eq!(calibrated["key"], "song_size");
        assert_eq!(calibrated["measured"]["exact"], "7000000");
        assert_eq!(calibrated["sample"], "over 500 songs");
        assert_eq!(calibrated["used"], true);
        assert!(calibrated["why_not"].is_null());
    }

    #[test]
    fn flag_errors_name_the_flag() {
        let args = parse(&["--cdn-hit-ratio", "1.5"]);
        let e = run(&args, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--cdn-hit-ratio: '1.5' is above 1; give a ratio between 0 and 1, e.g. 0.9 or 90%"
        );
        assert!(e.is_bad_input());
        let e = run(&parse(&["--users", "-5"]), None).unwrap_err();
        assert!(
            e.to_string().starts_with("--users: '-5' is negative"),
            "{e}"
        );
    }

    #[test]
    fn formats() {
        let table = run(&parse(&[]), None).unwrap();
        assert!(table.contains("replicated_audio") && table.contains("1.5 PB"));
        let markdown = run(&parse(&["--markdown"]), None).unwrap();
        assert!(markdown.starts_with("# Capacity estimate"));
        let row = markdown
            .lines()
            .find(|l| l.contains("`replicated_audio`"))
            .unwrap();
        assert!(
            row.contains("**1.5 PB**") && row.contains("500 TB × 3"),
            "{row}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&run(&parse(&["--json", "--iec"]), None).unwrap()).unwrap();
        assert_eq!(json["units"], "iec");
        let sweep = run(&parse(&["--sweep", "users=1e6..1e8:x10", "--json"]), None).unwrap();
        let sweep: serde_json::Value = serde_json::from_str(&sweep).unwrap();
        assert_eq!(sweep["sweep"]["rows"].as_array().unwrap().len(), 3);
        let toml = run(&parse(&["--print-scenario", "--users", "7"]), None).unwrap();
        assert!(toml.contains("users = \"7\""), "{toml}");
    }
}
