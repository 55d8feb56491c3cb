//! The model's inputs: [`Assumptions`] and one [`InputSpec`] per field.
//!
//! The spec table is the single place that names an input: its key (used in
//! scenario files, `--set`, `--sweep` and formulas), its flag, unit, allowed
//! range, default and the source of that default. `--help`, validation,
//! parsing and scenario files are all driven from it.

use crate::error::{InputError, Place};
use crate::ratio::Ratio;
use crate::units::{ByteUnits, Unit};

/// Everything the estimate depends on, in base units: bytes, bit/s,
/// seconds, plain ratios. `Default` is the Spotify-scale scenario behind the
/// classic back-of-envelope numbers; see [`INPUTS`] for each default's source.
///
/// Serialises with the same keys that scenario files and `--set` use.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assumptions {
    /// Registered users.
    pub users: u64,
    /// Share of users active on a given day (DAU / users).
    pub dau_share: Ratio,
    /// Songs in the catalogue.
    pub songs: u64,
    /// Average stored size of one song, bytes.
    pub song_size: u64,
    /// Average song length, seconds.
    pub song_length: Ratio,
    /// Copies kept of each audio file (1.5 for 6+3 erasure coding).
    pub replication: Ratio,
    /// Metadata bytes per song (title, artist, album, tags, index entries).
    pub metadata_per_song: u64,
    /// Metadata bytes per user (profile, settings, playlists references).
    pub metadata_per_user: u64,
    /// Copies kept of the metadata database.
    pub metadata_replication: Ratio,
    /// Streams started per daily active user per day.
    pub streams_per_dau: Ratio,
    /// Searches per daily active user per day.
    pub searches_per_dau: Ratio,
    /// Average stream bitrate, bit/s.
    pub bitrate: u64,
    /// Peak-hour traffic divided by the daily average.
    pub peak_factor: Ratio,
    /// Share of streamed bytes the CDN serves from its cache.
    pub cdn_hit_ratio: Ratio,
    /// Network egress of one web/origin server, bit/s.
    pub server_egress: u64,
    /// API requests per second one web server handles.
    pub server_rps: u64,
    /// Listeners one web server streams to at once, each at the bitrate.
    pub server_listeners: u64,
    /// Share of each server's capacity kept free at peak.
    pub headroom: Ratio,
    /// Usable disk per storage node, bytes.
    pub node_disk: u64,
    /// Highest share of a node's disk to fill before adding nodes.
    pub disk_fill: Ratio,
    /// Yearly growth of the user base.
    pub user_growth: Ratio,
    /// Yearly growth of the catalogue.
    pub catalog_growth: Ratio,
    /// Years to project ahead.
    pub years: u32,
}

const fn frac(num: u128, den: u128) -> Ratio {
    // Only used with literal fractions with non-zero denominators below.
    match Ratio::new(num, den) {
        Some(r) => r,
        None => Ratio::ZERO,
    }
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            users: 1_000_000_000,
            dau_share: frac(1, 2),
            songs: 100_000_000,
            song_size: 5_000_000,
            song_length: Ratio::integer(210),
            replication: Ratio::integer(3),
            metadata_per_song: 100,
            metadata_per_user: 1_000,
            metadata_replication: Ratio::integer(3),
            streams_per_dau: Ratio::integer(20),
            searches_per_dau: Ratio::integer(5),
            bitrate: 160_000,
            peak_factor: Ratio::integer(3),
            cdn_hit_ratio: frac(9, 10),
            server_egress: 10_000_000_000,
            server_rps: 5_000,
            server_listeners: 62_500,
            headroom: frac(3, 10),
            node_disk: 16_000_000_000_000,
            disk_fill: frac(17, 20),
            user_growth: frac(1, 5),
            catalog_growth: frac(1, 5),
            years: 3,
        }
    }
}

/// Lower bound of an input.
#[derive(Clone, Copy, Debug)]
enum Min {
    /// Zero allowed.
    Zero,
    /// Must be above zero because something divides by it.
    AboveZero,
    /// At least this integer.
    AtLeast(u128),
}

/// Upper bound of an input.
#[derive(Clone, Copy, Debug)]
enum Max {
    None,
    /// At most this integer.
    AtMost(u128),
    /// Strictly below this integer.
    Below(u128),
}

/// Describes one input: how it is named, parsed, bounded and defaulted.
#[derive(Debug)]
pub struct InputSpec {
    /// Key in scenario files, `--set`, `--sweep` and formulas.
    pub key: &'static str,
    /// Long flag without the leading `--`.
    pub flag: &'static str,
    pub unit: Unit,
    /// Heading under which `--help` lists it.
    pub group: &'static str,
    /// What the input means.
    pub help: &'static str,
    /// Why the default is what it is.
    pub source: &'static str,
    min: Min,
    max: Max,
    /// Stored as an integer field, so fractions are refused.
    whole: bool,
    /// Refusal advice when the value is out of range.
    range_hint: &'static str,
    get: fn(&Assumptions) -> Ratio,
    set: fn(&mut Assumptions, Ratio),
}

fn to_u64(value: Ratio) -> u64 {
    // Bounds checked in InputSpec::check guarantee a whole value in range.
    u64::try_from(value.floor()).unwrap_or(u64::MAX)
}

const U64_MAX: u128 = u64::MAX as u128;
const USERS: &str = "Users and catalogue";
const STORAGE: &str = "Storage";
const TRAFFIC: &str = "Traffic";
const SERVERS: &str = "Servers";
const GROWTH: &str = "Growth";

/// Every input, in the order `--help` and reports list them.
pub static INPUTS: &[InputSpec] = &[
    InputSpec {
        key: "users",
        flag: "users",
        unit: Unit::Count,
        group: USERS,
        help: "Registered users",
        source: "classic Spotify-scale back-of-envelope figure",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.users),
        set: |a, v| a.users = to_u64(v),
    },
    InputSpec {
        key: "dau_share",
        flag: "dau-share",
        unit: Unit::Share,
        group: USERS,
        help: "Share of users active on a given day (DAU/users)",
        source: "assumption: daily-habit apps keep 30-60% of users active each day",
        min: Min::Zero,
        max: Max::AtMost(1),
        whole: false,
        range_hint: "",
        get: |a| a.dau_share,
        set: |a, v| a.dau_share = v,
    },
    InputSpec {
        key: "songs",
        flag: "songs",
        unit: Unit::Count,
        group: USERS,
        help: "Songs in the catalogue",
        source: "classic figure; Spotify lists 100M+ tracks",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.songs),
        set: |a, v| a.songs = to_u64(v),
    },
    InputSpec {
        key: "song_size",
        flag: "song-size",
        unit: Unit::Bytes,
        group: STORAGE,
        help: "Average stored size of one song",
        source: "classic figure (about 4 min at 160 kbit/s)",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.song_size),
        set: |a, v| a.song_size = to_u64(v),
    },
    InputSpec {
        key: "replication",
        flag: "replication",
        unit: Unit::Factor,
        group: STORAGE,
        help: "Copies kept of each audio file (1.5 for 6+3 erasure coding)",
        source: "classic figure; 3 copies survive two lost disks (Ceph and HDFS default)",
        min: Min::AtLeast(1),
        max: Max::None,
        whole: false,
        range_hint: "a replication factor is at least 1 (1 = a single copy), e.g. 3 or 1.5",
        get: |a| a.replication,
        set: |a, v| a.replication = v,
    },
    InputSpec {
        key: "metadata_per_song",
        flag: "metadata-per-song",
        unit: Unit::Bytes,
        group: STORAGE,
        help: "Metadata bytes per song (title, artist, album, tags, index)",
        source: "classic figure",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.metadata_per_song),
        set: |a, v| a.metadata_per_song = to_u64(v),
    },
    InputSpec {
        key: "metadata_per_user",
        flag: "metadata-per-user",
        unit: Unit::Bytes,
        group: STORAGE,
        help: "Metadata bytes per user (profile, settings, playlist references)",
        source: "classic figure",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.metadata_per_user),
        set: |a, v| a.metadata_per_user = to_u64(v),
    },
    InputSpec {
        key: "metadata_replication",
        flag: "metadata-replication",
        unit: Unit::Factor,
        group: STORAGE,
        help: "Copies kept of the metadata database",
        source: "assumption: a primary and two replicas",
        min: Min::AtLeast(1),
        max: Max::None,
        whole: false,
        range_hint: "a replication factor is at least 1 (1 = a single copy), e.g. 3",
        get: |a| a.metadata_replication,
        set: |a, v| a.metadata_replication = v,
    },
    InputSpec {
        key: "node_disk",
        flag: "node-disk",
        unit: Unit::Bytes,
        group: STORAGE,
        help: "Usable disk per storage node",
        source: "assumption: one 16 TB drive per node, a common large HDD",
        min: Min::AboveZero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "storage nodes are counted by dividing by it; give a size such as 16TB",
        get: |a| Ratio::from(a.node_disk),
        set: |a, v| a.node_disk = to_u64(v),
    },
    InputSpec {
        key: "disk_fill",
        flag: "disk-fill",
        unit: Unit::Share,
        group: STORAGE,
        help: "Highest share of a node's disk to fill before adding nodes",
        source: "Ceph's default nearfull ratio is 0.85",
        min: Min::AboveZero,
        max: Max::AtMost(1),
        whole: false,
        range_hint: "give a ratio above 0 and at most 1, e.g. 0.85 or 85%",
        get: |a| a.disk_fill,
        set: |a, v| a.disk_fill = v,
    },
    InputSpec {
        key: "streams_per_dau",
        flag: "streams-per-dau",
        unit: Unit::PerDay,
        group: TRAFFIC,
        help: "Streams started per daily active user per day",
        source: "assumption: about 70 min of listening a day at 3.5 min a song",
        min: Min::Zero,
        max: Max::None,
        whole: false,
        range_hint: "",
        get: |a| a.streams_per_dau,
        set: |a, v| a.streams_per_dau = v,
    },
    InputSpec {
        key: "searches_per_dau",
        flag: "searches-per-dau",
        unit: Unit::PerDay,
        group: TRAFFIC,
        help: "Searches per daily active user per day",
        source: "assumption: most listening comes from playlists and the queue",
        min: Min::Zero,
        max: Max::None,
        whole: false,
        range_hint: "",
        get: |a| a.searches_per_dau,
        set: |a, v| a.searches_per_dau = v,
    },
    InputSpec {
        key: "song_length",
        flag: "song-length",
        unit: Unit::Seconds,
        group: TRAFFIC,
        help: "Average length of a streamed song",
        source: "assumption: a typical pop track runs 3-4 minutes",
        min: Min::Zero,
        max: Max::None,
        whole: false,
        range_hint: "",
        get: |a| a.song_length,
        set: |a, v| a.song_length = v,
    },
    InputSpec {
        key: "bitrate",
        flag: "bitrate",
        unit: Unit::BitsPerSecond,
        group: TRAFFIC,
        help: "Average stream bitrate (bytes per listening hour = kbit/s x 450)",
        source: "Spotify's 'high' quality Ogg Vorbis; its tiers are 24/96/160/320 kbit/s",
        min: Min::Zero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "",
        get: |a| Ratio::from(a.bitrate),
        set: |a, v| a.bitrate = to_u64(v),
    },
    InputSpec {
        key: "peak_factor",
        flag: "peak-factor",
        unit: Unit::Factor,
        group: TRAFFIC,
        help: "Peak-hour traffic divided by the daily average",
        source: "consumer traffic peaks at 2-5x the daily average",
        min: Min::AtLeast(1),
        max: Max::None,
        whole: false,
        range_hint: "the peak cannot be below the average; give a factor of at least 1, e.g. 3",
        get: |a| a.peak_factor,
        set: |a, v| a.peak_factor = v,
    },
    InputSpec {
        key: "cdn_hit_ratio",
        flag: "cdn-hit-ratio",
        unit: Unit::Share,
        group: TRAFFIC,
        help: "Share of streamed bytes the CDN serves from cache (origin gets the rest)",
        source: "assumption: byte hit ratio of a CDN in front of a long-tail catalogue",
        min: Min::Zero,
        max: Max::AtMost(1),
        whole: false,
        range_hint: "",
        get: |a| a.cdn_hit_ratio,
        set: |a, v| a.cdn_hit_ratio = v,
    },
    InputSpec {
        key: "server_egress",
        flag: "server-egress",
        unit: Unit::BitsPerSecond,
        group: SERVERS,
        help: "Network egress of one web/origin server",
        source: "assumption: one 10 GbE port per server",
        min: Min::AboveZero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "servers are counted by dividing by it; give a rate such as 10Gbit/s",
        get: |a| Ratio::from(a.server_egress),
        set: |a, v| a.server_egress = to_u64(v),
    },
    InputSpec {
        key: "server_rps",
        flag: "server-rps",
        unit: Unit::PerSecond,
        group: SERVERS,
        help: "API requests per second one web server handles",
        source:
            "assumption: half the 9,900 req/s Polaris served from 2 cores, for auth and DB work",
        min: Min::AboveZero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "servers are counted by dividing by it; give a rate such as 5000",
        get: |a| Ratio::from(a.server_rps),
        set: |a, v| a.server_rps = to_u64(v),
    },
    InputSpec {
        key: "server_listeners",
        flag: "server-listeners",
        unit: Unit::Count,
        group: SERVERS,
        help: "Listeners one web server streams to at once",
        source: "assumption: what one 10 GbE port carries at 160 kbit/s (the network, not the \
                 CPU, is the limit); measure it with the listener benchmark and pass it to \
                 cadenza-admin capacity --calibrate --listeners-per-server",
        min: Min::AboveZero,
        max: Max::AtMost(U64_MAX),
        whole: true,
        range_hint: "servers are counted by dividing by it; give a count such as 20000",
        get: |a| Ratio::from(a.server_listeners),
        set: |a, v| a.server_listeners = to_u64(v),
    },
    InputSpec {
        key: "headroom",
        flag: "headroom",
        unit: Unit::Share,
        group: SERVERS,
        help: "Share of each server's capacity kept free at peak",
        source: "assumption: room to lose a rack or absorb a burst",
        min: Min::Zero,
        max: Max::Below(1),
        whole: false,
        range_hint: "100% headroom leaves no usable capacity; give a share below 1, e.g. 30%",
        get: |a| a.headroom,
        set: |a, v| a.headroom = v,
    },
    InputSpec {
        key: "user_growth",
        flag: "user-growth",
        unit: Unit::GrowthRate,
        group: GROWTH,
        help: "Yearly growth of the user base",
        source: "Spotify's monthly users grew about 22%/year from 2019 to 2023 (271M to 602M)",
        min: Min::Zero,
        max: Max::None,
        whole: false,
        range_hint: "",
        get: |a| a.user_growth,
        set: |a, v| a.user_growth = v,
    },
    InputSpec {
        key: "catalog_growth",
        flag: "catalog-growth",
        unit: Unit::GrowthRate,
        group: GROWTH,
        help: "Yearly growth of the catalogue",
        source: "assumption: Spotify's catalogue doubled from 50M to 100M tracks in about 4 years",
        min: Min::Zero,
        max: Max::None,
        whole: false,
        range_hint: "",
        get: |a| a.catalog_growth,
        set: |a, v| a.catalog_growth = v,
    },
    InputSpec {
        key: "years",
        flag: "years",
        unit: Unit::Years,
        group: GROWTH,
        help: "Years to project ahead",
        source: "a usual hardware planning horizon",
        min: Min::Zero,
        max: Max::AtMost(50),
        whole: true,
        range_hint: "give a whole number of years from 0 to 50",
        get: |a| Ratio::from(a.years),
        set: |a, v| a.years = u32::try_from(v.floor()).unwrap_or(u32::MAX),
    },
];

/// The input named `key` (`cdn_hit_ratio`, or the flag form `cdn-hit-ratio`).
pub fn input(key: &str) -> Option<&'static InputSpec> {
    let key = key.trim().trim_start_matches("--").replace('-', "_");
    INPUTS.iter().find(|spec| spec.key == key)
}

/// The problem text for a key that names no input, with the nearest match.
pub fn unknown_key(key: &str) -> String {
    let wanted = key.trim().replace('-', "_");
    let nearest = INPUTS
        .iter()
        .map(|spec| (edit_distance(&wanted, spec.key), spec.key))
        .min()
        .filter(|(distance, _)| *distance <= 3);
    let keys: Vec<&str> = INPUTS.iter().map(|spec| spec.key).collect();
    match nearest {
        Some((_, near)) => format!(
            "'{key}' is not an input; did you mean '{near}'? Inputs: {}",
            keys.join(", ")
        ),
        None => format!("'{key}' is not an input; inputs: {}", keys.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl InputSpec {
    pub fn get(&self, assumptions: &Assumptions) -> Ratio {
        (self.get)(assumptions)
    }

    /// Parses `text` and checks it is in range; the error describes the
    /// problem and what to type instead.
    pub fn parse(&self, text: &str) -> Result<Ratio, String> {
        let value = self.unit.parse(text)?;
        self.check(value, text.trim())?;
        Ok(value)
    }

    /// True for inputs stored as whole numbers (counts, bytes, bit/s).
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// Stores an already-checked value.
    pub fn set(&self, assumptions: &mut Assumptions, value: Ratio) {
        (self.set)(assumptions, value)
    }

    /// Parses, checks and stores.
    pub fn set_text(&self, assumptions: &mut Assumptions, text: &str) -> Result<(), String> {
        let value = self.parse(text)?;
        self.set(assumptions, value);
        Ok(())
    }

    /// Range check; `shown` is how the value appears in the message.
    pub fn check(&self, value: Ratio, shown: &str) -> Result<(), String> {
        let hint = if self.range_hint.is_empty() {
            self.unit.examples()
        } else {
            self.range_hint
        };
        match self.min {
            Min::AboveZero if value.is_zero() => {
                return Err(format!("'{shown}' is zero; {hint}"));
            }
            Min::AtLeast(min) if value < Ratio::integer(min) => {
                return Err(format!("'{shown}' is below {min}; {hint}"));
            }
            _ => {}
        }
        match self.max {
            Max::AtMost(max) if value > Ratio::integer(max) => {
                return Err(format!("'{shown}' is above {max}; {hint}"));
            }
            Max::Below(max) if value >= Ratio::integer(max) => {
                return Err(format!("'{shown}' is not below {max}; {hint}"));
            }
            _ => {}
        }
        if self.whole && !value.is_integer() {
            return Err(format!("'{shown}' is not a whole number; {hint}"));
        }
        Ok(())
    }

    /// The default value, readable.
    pub fn default_text(&self) -> String {
        self.unit
            .format(self.get(&Assumptions::default()), ByteUnits::Si)
    }

    /// One line for `--help`: meaning, default and its source.
    pub fn help_line(&self) -> String {
        format!(
            "{} [default: {}; {}]",
            self.help,
            self.default_text(),
            self.source
        )
    }
}

impl Assumptions {
    /// Checks every input is in range. Assumptions built from parsed text
    /// are always valid; this guards values set directly on the struct.
    pub fn validate(&self) -> Result<(), InputError> {
        for spec in INPUTS {
            let value = spec.get(self);
            spec.check(value, &spec.unit.format_exact(value))
                .map_err(|problem| InputError::new(Place::Value, spec.key, problem))?;
        }
        Ok(())
    }

    /// Sets the input `key` from text such as `"5MB"`; `place` says where the
    /// text came from, for the error message.
    pub fn set(&mut self, key: &str, text: &str, place: Place) -> Result<(), InputError> {
        let spec =
            input(key).ok_or_else(|| InputError::new(place.clone(), key, unknown_key(key)))?;
        spec.set_text(self, text)
            .map_err(|problem| InputError::new(place, spec.key, problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_flags_are_unique_and_match() {
        for (i, spec) in INPUTS.iter().enumerate() {
            assert_eq!(spec.flag.replace('-', "_"), spec.key);
            assert!(INPUTS[..i].iter().all(|other| other.key != spec.key));
            assert!(!spec.help.is_empty() && !spec.source.is_empty());
        }
    }

    #[test]
    fn defaults_are_valid_and_round_trip_through_text() {
        let defaults = Assumptions::default();
        defaults.validate().unwrap();
        for spec in INPUTS {
            let value = spec.get(&defaults);
            let text = spec.unit.format_exact(value);
            assert_eq!(spec.parse(&text), Ok(value), "{}: {text}", spec.key);
            let mut changed = Assumptions::default();
            spec.set(&mut changed, value);
            assert_eq!(changed, defaults, "{} setter", spec.key);
        }
    }

    #[test]
    fn every_field_is_reachable_through_its_spec() {
        // Setting each input to a distinct value must change a distinct field.
        let mut changed = Assumptions::default();
        for spec in INPUTS {
            let before = changed.clone();
            let bumped = spec.get(&changed).checked_add(Ratio::ONE).unwrap();
            let bumped = if spec.key == "dau_share"
                || spec.key == "cdn_hit_ratio"
                || spec.key == "disk_fill"
            {
                Ratio::new(1, 7).unwrap()
            } else if spec.key == "headroom" {
                Ratio::new(1, 9).unwrap()
            } else {
                bumped
            };
            spec.set(&mut changed, bumped);
            assert_ne!(before, changed, "{}", spec.key);
            assert_eq!(spec.get(&changed), bumped, "{}", spec.key);
        }
        changed.validate().unwrap();
    }

    #[test]
    fn range_errors_name_the_problem() {
        let spec = |k| input(k).unwrap();
        let e = spec("cdn_hit_ratio").parse("1.5").unwrap_err();
        assert_eq!(
            e,
            "'1.5' is above 1; give a ratio between 0 and 1, e.g. 0.9 or 90%"
        );
        assert!(spec("cdn_hit_ratio")
            .parse("150%")
            .unwrap_err()
            .contains("above 1"));
        assert!(spec("server_egress")
            .parse("0")
            .unwrap_err()
            .contains("is zero"));
        assert!(spec("node_disk")
            .parse("0 TB")
            .unwrap_err()
            .contains("is zero"));
        assert!(spec("server_rps")
            .parse("0")
            .unwrap_err()
            .contains("is zero"));
        assert!(spec("disk_fill")
            .parse("0%")
            .unwrap_err()
            .contains("is zero"));
        assert!(spec("headroom")
            .parse("100%")
            .unwrap_err()
            .contains("not below 1"));
        assert!(spec("replication")
            .parse("0.5")
            .unwrap_err()
            .contains("below 1"));
        assert!(spec("peak_factor")
            .parse("0.5")
            .unwrap_err()
            .contains("below 1"));
        assert!(spec("server_rps")
            .parse("2.5")
            .unwrap_err()
            .contains("whole"));
        assert!(spec("years").parse("51").unwrap_err().contains("above 50"));
        assert!(spec("users").parse("-1").unwrap_err().contains("negative"));
        assert!(spec("users").parse("1e20").unwrap_err().contains("above"));
        assert_eq!(spec("cdn_hit_ratio").parse("1"), Ok(Ratio::ONE));
        assert_eq!(spec("headroom").parse("0"), Ok(Ratio::ZERO));
    }

    #[test]
    fn lookup_accepts_flag_spelling_and_suggests() {
        assert_eq!(input("cdn-hit-ratio").unwrap().key, "cdn_hit_ratio");
        assert_eq!(input("--song-size").unwrap().key, "song_size");
        assert!(input("nope").is_none());
        assert!(unknown_key("user").contains("did you mean 'users'"));
        assert!(unknown_key("zzzzzzzzzzzz").contains("inputs: users"));
    }

    #[test]
    fn set_reports_place_and_key() {
        let mut a = Assumptions::default();
        a.set("song-size", "4 MiB", Place::Set).unwrap();
        assert_eq!(a.song_size, 4 * 1024 * 1024);
        let e = a.set("cdn_hit_ratio", "2", Place::Flag).unwrap_err();
        assert!(
            e.to_string().starts_with("--cdn-hit-ratio: '2' is above 1"),
            "{e}"
        );
        let e = a.set("songz", "2", Place::Set).unwrap_err();
        assert!(e.to_string().contains("did you mean 'songs'"), "{e}");
    }

    #[test]
    fn validate_catches_direct_field_edits() {
        let a = Assumptions {
            cdn_hit_ratio: Ratio::integer(2),
            ..Assumptions::default()
        };
        let e = a.validate().unwrap_err().to_string();
        assert!(e.contains("cdn_hit_ratio") && e.contains("above 1"), "{e}");
        let a = Assumptions {
            server_egress: 0,
            ..Assumptions::default()
        };
        assert!(a
            .validate()
            .unwrap_err()
            .to_string()
            .contains("server_egress"));
    }
}
