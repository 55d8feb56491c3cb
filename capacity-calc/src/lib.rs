//! Capacity estimates for a music streaming service.
//!
//! Given assumptions (users, songs, song size, replication, bitrate, CDN hit
//! ratio, ...) the model computes storage, metadata, bandwidth and server
//! counts, each with the formula it came from and the inputs it used. All
//! arithmetic is exact (reduced `u128` fractions): the defaults reproduce the
//! classic figures — 100 M songs × 5 MB = 500 TB, × 3 = 1.5 PB — exactly.
//!
//! ```
//! use cadenza_capacity::{estimate, Assumptions, ByteUnits, Ratio};
//!
//! let e = estimate(&Assumptions::default()).unwrap();
//! assert_eq!(e.value("replicated_audio"), Some(Ratio::integer(1_500_000_000_000_000)));
//! assert_eq!(e.output("replicated_audio").unwrap().display(ByteUnits::Si), "1.5 PB");
//! ```
//!
//! Scenarios combine defaults, a TOML file, `--set` overrides and measured
//! values ([`Calibration`]); [`cli::run`] does all of it for the command line.

pub mod calibration;
pub mod cli;
pub mod error;
pub mod estimate;
mod formula;
pub mod inputs;
pub mod model;
pub mod ratio;
pub mod render;
pub mod scenario;
pub mod series;
pub mod sweep;
pub mod units;

pub use calibration::{Calibrated, Calibration, Measured, PlayRate};
pub use cli::{run, CapacityArgs, ModelArgs};
pub use error::{Error, InputError, Place};
pub use estimate::{estimate, Estimate, InputValue, Origin};
pub use inputs::{input, Assumptions, InputSpec, INPUTS};
pub use model::{evaluate, output_spec, Output, OutputSpec, Section, Term, OUTPUTS};
pub use ratio::Ratio;
pub use render::{render_estimate, render_sweep, Format};
pub use scenario::Scenario;
pub use series::{project, Series, SeriesRow};
pub use sweep::{sweep, SweepSpec};
pub use units::{ByteUnits, Unit};
