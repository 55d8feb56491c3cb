//! The capacity model: one formula per output, evaluated exactly.
//!
//! Each output is defined once, in [`OUTPUTS`], by the formula text that
//! reports print; [`evaluate`] runs those formulas in order, so an output may
//! use any input and any output listed before it.

use crate::error::Error;
use crate::formula::{EvalError, Formula};
use crate::inputs::{Assumptions, INPUTS};
use crate::ratio::Ratio;
use crate::units::{ByteUnits, Unit};

/// Groups outputs in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Storage,
    Traffic,
    Servers,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Storage => "Storage",
            Section::Traffic => "Traffic",
            Section::Servers => "Servers",
        }
    }

    pub const ALL: [Section; 3] = [Section::Storage, Section::Traffic, Section::Servers];
}

/// One output of the model.
#[derive(Debug)]
pub struct OutputSpec {
    /// Name in formulas, JSON and sweep tables.
    pub key: &'static str,
    /// Human description.
    pub label: &'static str,
    pub section: Section,
    pub unit: Unit,
    /// The formula that computes it, over input keys and earlier outputs.
    pub formula: &'static str,
}

const fn out(
    key: &'static str,
    label: &'static str,
    section: Section,
    unit: Unit,
    formula: &'static str,
) -> OutputSpec {
    OutputSpec {
        key,
        label,
        section,
        unit,
        formula,
    }
}

use Section::{Servers, Storage, Traffic};

/// Every output, in evaluation and report order.
pub static OUTPUTS: &[OutputSpec] = &[
    out(
        "raw_audio",
        "Audio, one copy",
        Storage,
        Unit::Bytes,
        "songs × song_size",
    ),
    out(
        "replicated_audio",
        "Audio, all replicas",
        Storage,
        Unit::Bytes,
        "raw_audio × replication",
    ),
    out(
        "song_metadata",
        "Song metadata, one copy",
        Storage,
        Unit::Bytes,
        "songs × metadata_per_song",
    ),
    out(
        "song_metadata_replicated",
        "Song metadata, all replicas",
        Storage,
        Unit::Bytes,
        "song_metadata × metadata_replication",
    ),
    out(
        "user_metadata",
        "User metadata, one copy",
        Storage,
        Unit::Bytes,
        "users × metadata_per_user",
    ),
    out(
        "user_metadata_replicated",
        "User metadata, all replicas",
        Storage,
        Unit::Bytes,
        "user_metadata × metadata_replication",
    ),
    // A node holds at most one copy of a file, so there are never fewer
    // nodes than copies.
    out(
        "storage_nodes",
        "Storage nodes for the audio",
        Storage,
        Unit::Nodes,
        "max(ceil(replicated_audio / (node_disk × disk_fill)), ceil(replication))",
    ),
    out(
        "daily_active_users",
        "Daily active users",
        Traffic,
        Unit::Count,
        "users × dau_share",
    ),
    out(
        "daily_streams",
        "Streams started per day",
        Traffic,
        Unit::PerDay,
        "daily_active_users × streams_per_dau",
    ),
    out(
        "stream_size",
        "Bytes sent per stream",
        Traffic,
        Unit::Bytes,
        "bitrate × song_length / 8",
    ),
    out(
        "listening_hour",
        "Bytes per listening hour",
        Traffic,
        Unit::Bytes,
        "bitrate × 3600 / 8",
    ),
    out(
        "daily_egress",
        "Bytes streamed per day",
        Traffic,
        Unit::BytesPerDay,
        "daily_streams × stream_size",
    ),
    out(
        "avg_cdn_bandwidth",
        "CDN to listeners, daily average",
        Traffic,
        Unit::BitsPerSecond,
        "daily_egress × 8 / 86400",
    ),
    out(
        "peak_cdn_bandwidth",
        "CDN to listeners, peak",
        Traffic,
        Unit::BitsPerSecond,
        "avg_cdn_bandwidth × peak_factor",
    ),
    out(
        "avg_origin_bandwidth",
        "Origin to CDN (cache misses), daily average",
        Traffic,
        Unit::BitsPerSecond,
        "avg_cdn_bandwidth × (1 − cdn_hit_ratio)",
    ),
    out(
        "peak_origin_bandwidth",
        "Origin to CDN (cache misses), peak",
        Traffic,
        Unit::BitsPerSecond,
        "peak_cdn_bandwidth × (1 − cdn_hit_ratio)",
    ),
    out(
        "peak_stream_starts",
        "Stream starts per second, peak",
        Traffic,
        Unit::PerSecond,
        "daily_streams / 86400 × peak_factor",
    ),
    out(
        "peak_search_qps",
        "Searches per second, peak",
        Traffic,
        Unit::PerSecond,
        "daily_active_users × searches_per_dau / 86400 × peak_factor",
    ),
    // Little's law: streams starting per second × seconds each lasts.
    out(
        "peak_listeners",
        "Listeners streaming at once, peak",
        Traffic,
        Unit::Count,
        "daily_streams × song_length / 86400 × peak_factor",
    ),
    out(
        "peak_origin_listeners",
        "Streams the origin serves at once, peak (cache misses)",
        Traffic,
        Unit::Count,
        "peak_listeners × (1 − cdn_hit_ratio)",
    ),
    out(
        "servers_for_bandwidth",
        "Web servers to carry the peak origin egress",
        Servers,
        Unit::Servers,
        "ceil(peak_origin_bandwidth / (server_egress × (1 − headroom)))",
    ),
    out(
        "servers_for_requests",
        "Web servers to answer the peak API requests",
        Servers,
        Unit::Servers,
        "ceil((peak_stream_starts + peak_search_qps) / (server_rps × (1 − headroom)))",
    ),
    out(
        "servers_for_listeners",
        "Web servers to hold the peak origin streams",
        Servers,
        Unit::Servers,
        "ceil(peak_origin_listeners / (server_listeners × (1 − headroom)))",
    ),
    out(
        "web_servers",
        "Web servers needed at peak, with headroom",
        Servers,
        Unit::Servers,
        "max(servers_for_bandwidth, servers_for_requests, servers_for_listeners)",
    ),
];

/// The output named `key`.
pub fn output_spec(key: &str) -> Option<&'static OutputSpec> {
    OUTPUTS.iter().find(|spec| spec.key == key)
}

/// A named value: an input or output as used by a formula.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub name: &'static str,
    pub value: Ratio,
    pub unit: Unit,
}

impl Term {
    pub fn display(&self, bytes: ByteUnits) -> String {
        self.unit.format(self.value, bytes)
    }
}

/// One computed output with everything needed to explain it.
#[derive(Clone, Debug)]
pub struct Output {
    pub spec: &'static OutputSpec,
    /// Exact value in the unit's base (bytes, bit/s, per second, ...).
    pub value: Ratio,
    /// The values the formula read, in order of first use.
    pub inputs: Vec<Term>,
}

impl Output {
    pub fn key(&self) -> &'static str {
        self.spec.key
    }

    /// The value in a readable unit.
    pub fn display(&self, bytes: ByteUnits) -> String {
        self.spec.unit.format(self.value, bytes)
    }

    /// The formula with each name replaced by its value.
    pub fn substituted(&self, bytes: ByteUnits) -> String {
        crate::formula::substitute(self.spec.formula, &|name| {
            self.inputs
                .iter()
                .find(|term| term.name == name)
                .map(|term| term.display(bytes))
        })
    }
}

/// Evaluates every output for one set of assumptions.
pub fn evaluate(assumptions: &Assumptions) -> Result<Vec<Output>, Error> {
    assumptions.validate()?;
    let mut known: Vec<Term> = INPUTS
        .iter()
        .map(|spec| Term {
            name: spec.key,
            value: spec.get(assumptions),
            unit: spec.unit,
        })
        .collect();
    let mut outputs = Vec::with_capacity(OUTPUTS.len());
    for spec in OUTPUTS {
        let internal = |message: String| Error::Formula {
            output: spec.key,
            message,
        };
        let formula = Formula::parse(spec.formula).map_err(internal)?;
        let value = formula
            .eval(&|name| known.iter().find(|t| t.name == name).map(|t| t.value))
            .map_err(|e| match e {
                EvalError::Overflow => Error::Overflow {
                    output: spec.key,
                    formula: spec.formula,
                },
                other => internal(format!("{other:?}")),
            })?;
        let inputs = formula
            .names()
            .iter()
            .filter_map(|name| known.iter().find(|t| t.name == name).cloned())
            .collect();
        known.push(Term {
            name: spec.key,
            value,
            unit: spec.unit,
        });
        outputs.push(Output {
            spec,
            value,
            inputs,
        });
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::input;

    fn value(outputs: &[Output], key: &str) -> Ratio {
        outputs
            .iter()
            .find(|o| o.key() == key)
            .unwrap_or_else(|| panic!("no output {key}"))
            .value
    }

    fn int(n: u128) -> Ratio {
        Ratio::integer(n)
    }

    fn frac(n: u128, d: u128) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    fn defaults() -> Vec<Output> {
        evaluate(&Assumptions::default()).unwrap()
    }

    #[test]
    fn formulas_only_use_inputs_and_earlier_outputs() {
        for (i, spec) in OUTPUTS.iter().enumerate() {
            let formula = Formula::parse(spec.formula).unwrap();
            for name in formula.names() {
                let known = input(name).is_some_and(|s| s.key == name)
                    || OUTPUTS[..i].iter().any(|o| o.key == name);
                assert!(known, "{} uses unknown or later name {name}", spec.key);
            }
            assert!(
                input(spec.key).is_none(),
                "{} clashes with an input",
                spec.key
            );
            assert!(OUTPUTS[..i].iter().all(|o| o.key != spec.key));
        }
    }

    // The five classic back-of-envelope figures, exactly.
    #[test]
    fn classic_raw_audio_is_500_tb() {
        assert_eq!(value(&defaults(), "raw_audio"), int(500 * 10u128.pow(12)));
    }

    #[test]
    fn classic_replicated_audio_is_1_5_pb() {
        assert_eq!(
            value(&defaults(), "replicated_audio"),
            int(1_500 * 10u128.pow(12))
        );
    }

    #[test]
    fn classic_song_metadata_is_10_gb() {
        assert_eq!(value(&defaults(), "song_metadata"), int(10 * 10u128.pow(9)));
    }

    #[test]
    fn classic_user_metadata_is_1_tb() {
        assert_eq!(value(&defaults(), "user_metadata"), int(10u128.pow(12)));
    }

    #[test]
    fn classic_listening_hour_is_72_mb() {
        // ANCHORS: bytes per listening hour = kbit/s × 450; 160 kbit/s → 72 MB.
        assert_eq!(value(&defaults(), "listening_hour"), int(160 * 450 * 1_000));
    }

    #[test]
    fn classic_figures_display_as_quoted() {
        let o = defaults();
        let shown = |key| {
            o.iter()
                .find(|x| x.key() == key)
                .unwrap()
                .display(ByteUnits::Si)
        };
        assert_eq!(shown("raw_audio"), "500 TB");
        assert_eq!(shown("replicated_audio"), "1.5 PB");
        assert_eq!(shown("song_metadata"), "10 GB");
        assert_eq!(shown("user_metadata"), "1 TB");
    }

    #[test]
    fn replicated_metadata() {
        let o = defaults();
        assert_eq!(
            value(&o, "song_metadata_replicated"),
            int(30 * 10u128.pow(9))
        );
        assert_eq!(
            value(&o, "user_metadata_replicated"),
            int(3 * 10u128.pow(12))
        );
    }

    #[test]
    fn storage_nodes() {
        // 1.5 PB / (16 TB × 0.85) = 110.29… → 111
        assert_eq!(value(&defaults(), "storage_nodes"), int(111));
        // A tiny library still needs one node per copy.
        let tiny = Assumptions {
            songs: 10,
            ..Assumptions::default()
        };
        assert_eq!(value(&evaluate(&tiny).unwrap(), "storage_nodes"), int(3));
        // Exactly full disks need no extra node.
        let exact = Assumptions {
            songs: 16,
            song_size: 1_000,
            replication: int(1),
            node_disk: 1_000,
            disk_fill: int(1),
            ..Assumptions::default()
        };
        assert_eq!(value(&evaluate(&exact).unwrap(), "storage_nodes"), int(16));
    }

    #[test]
    fn traffic() {
        let o = defaults();
        assert_eq!(value(&o, "daily_active_users"), int(500_000_000));
        assert_eq!(value(&o, "daily_streams"), int(10_000_000_000));
        // 160 kbit/s for 210 s = 4.2 MB; the classic 72 MB per listening hour.
        assert_eq!(value(&o, "stream_size"), int(4_200_000));
        assert_eq!(value(&o, "listening_hour"), int(72_000_000));
        assert_eq!(value(&o, "daily_egress"), int(42 * 10u128.pow(15)));
        // 42 PB × 8 / 86400 s = 3.888… Tbit/s
        let avg = frac(42 * 10u128.pow(15) * 8, 86_400);
        assert_eq!(value(&o, "avg_cdn_bandwidth"), avg);
        assert_eq!(
            value(&o, "peak_cdn_bandwidth"),
            avg.checked_mul(int(3)).unwrap()
        );
        assert_eq!(
            value(&o, "avg_origin_bandwidth"),
            avg.checked_mul(frac(1, 10)).unwrap()
        );
        assert_eq!(
            value(&o, "peak_origin_bandwidth"),
            avg.checked_mul(frac(3, 10)).unwrap()
        );
        assert_eq!(
            value(&o, "peak_stream_starts"),
            frac(10_000_000_000 * 3, 86_400)
        );
        assert_eq!(
            value(&o, "peak_search_qps"),
            frac(2_500_000_000 * 3, 86_400)
        );
    }

    #[test]
    fn servers() {
        let o = defaults();
        // peak origin 1.1667 Tbit/s / (10 Gbit/s × 0.7) = 166.67 → 167
        assert_eq!(value(&o, "servers_for_bandwidth"), int(167));
        // (347,222.2 + 86,805.6)/s / (5000 × 0.7) = 124.007… → 125
        assert_eq!(value(&o, "servers_for_requests"), int(125));
        // 10 G streams/day × 210 s / 86,400 s × 3 = 72.9 M at once, 10% of them from the
        // origin: 7.29 M / (62,500 × 0.7) = 166.67 → 167, as many as the bandwidth needs.
        assert_eq!(
            value(&o, "peak_listeners"),
            frac(10_000_000_000 * 210 * 3, 86_400)
        );
        assert_eq!(value(&o, "servers_for_listeners"), int(167));
        assert_eq!(value(&o, "web_servers"), int(167));
        // A server that holds fewer listeners than its network carries needs company.
        let measured = Assumptions {
            server_listeners: 2_000,
            ..Assumptions::default()
        };
        let o = evaluate(&measured).unwrap();
        // 7,291,666.7 / (2000 × 0.7) = 5208.3 → 5209
        assert_eq!(value(&o, "servers_for_listeners"), int(5209));
        assert_eq!(value(&o, "web_servers"), int(5209));
        // When requests dominate, they decide.
        let chatty = Assumptions {
            searches_per_dau: int(50),
            ..Assumptions::default()
        };
        let o = evaluate(&chatty).unwrap();
        // (347,222.2 + 868,055.6)/s / 3500 = 347.2 → 348
        assert_eq!(value(&o, "servers_for_requests"), int(348));
        assert_eq!(value(&o, "web_servers"), int(348));
    }

    #[test]
    fn a_perfect_cdn_sends_nothing_to_origin() {
        let a = Assumptions {
            cdn_hit_ratio: Ratio::ONE,
            ..Assumptions::default()
        };
        let o = evaluate(&a).unwrap();
        assert_eq!(value(&o, "peak_origin_bandwidth"), Ratio::ZERO);
        assert_eq!(value(&o, "servers_for_bandwidth"), Ratio::ZERO);
    }

    #[test]
    fn outputs_explain_themselves() {
        let o = defaults();
        let replicated = o.iter().find(|x| x.key() == "replicated_audio").unwrap();
        assert_eq!(replicated.substituted(ByteUnits::Si), "500 TB × 3");
        let nodes = o.iter().find(|x| x.key() == "storage_nodes").unwrap();
        assert_eq!(
            nodes.substituted(ByteUnits::Si),
            "max(ceil(1.5 PB / (16 TB × 85%)), ceil(3))"
        );
        let names: Vec<_> = nodes.inputs.iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            ["replicated_audio", "node_disk", "disk_fill", "replication"]
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrong_number() {
        let a = Assumptions {
            users: u64::MAX,
            metadata_per_user: u64::MAX,
            metadata_replication: int(u128::from(u64::MAX)),
            ..Assumptions::default()
        };
        let e = evaluate(&a).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Overflow {
                    output: "user_metadata_replicated",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.is_bad_input());
    }

    #[test]
    fn invalid_assumptions_are_refused() {
        let a = Assumptions {
            headroom: Ratio::ONE,
            ..Assumptions::default()
        };
        assert!(matches!(evaluate(&a), Err(Error::Input(_))));
    }
}
