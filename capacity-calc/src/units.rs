//! Units: parsing quantities people type (`5MB`, `5 MiB`, `160kbps`, `1e9`,
//! `1B`, `90%`, `3m30s`) into exact base-unit values, and rendering results
//! in readable units.
//!
//! Sizes and durations are read by `cadenza-units`, so they are typed the same
//! way here as in every other Cadenza program: byte prefixes are SI
//! (1 KB = 1000 B) unless written with an `i` (1 KiB = 1024 B). Output uses SI
//! unless [`ByteUnits::Iec`] is asked for. Rates are always SI (network
//! convention: 10 Gbit/s = 10^10 bit/s).

use cadenza_units::split_number;

use crate::ratio::{parse_fraction, Ratio};

/// What a quantity measures; decides how it is parsed and displayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A plain count (users, songs).
    Count,
    Bytes,
    BytesPerDay,
    BitsPerSecond,
    /// Events per second (requests, stream starts).
    PerSecond,
    /// Events per day (streams per user).
    PerDay,
    /// A share between 0 and 1, shown as a percentage.
    Share,
    /// A yearly growth rate, shown as a percentage per year.
    GrowthRate,
    /// A multiplier such as a replication factor.
    Factor,
    Seconds,
    Years,
    Servers,
    Nodes,
}

/// Which byte prefixes to use in output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ByteUnits {
    /// KB = 10^3 B … PB = 10^15 B.
    #[default]
    Si,
    /// KiB = 2^10 B … PiB = 2^50 B.
    Iec,
}

const SI_BYTES: [(&str, u32); 7] = [
    ("B", 0),
    ("KB", 1),
    ("MB", 2),
    ("GB", 3),
    ("TB", 4),
    ("PB", 5),
    ("EB", 6),
];
const IEC_BYTES: [(&str, u32); 7] = [
    ("B", 0),
    ("KiB", 1),
    ("MiB", 2),
    ("GiB", 3),
    ("TiB", 4),
    ("PiB", 5),
    ("EiB", 6),
];
const BITRATES: [(&str, u32); 6] = [
    ("bit/s", 0),
    ("kbit/s", 1),
    ("Mbit/s", 2),
    ("Gbit/s", 3),
    ("Tbit/s", 4),
    ("Pbit/s", 5),
];

impl Unit {
    /// Machine-readable unit name used in JSON output.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Bytes => "B",
            Unit::BytesPerDay => "B/day",
            Unit::BitsPerSecond => "bit/s",
            Unit::PerSecond => "1/s",
            Unit::PerDay => "1/day",
            Unit::Share => "ratio",
            Unit::GrowthRate => "ratio/year",
            Unit::Factor => "factor",
            Unit::Seconds => "s",
            Unit::Years => "years",
            Unit::Servers => "servers",
            Unit::Nodes => "nodes",
        }
    }

    /// Placeholder shown in `--help`.
    pub fn value_name(self) -> &'static str {
        match self {
            Unit::Count | Unit::Servers | Unit::Nodes => "COUNT",
            Unit::Bytes | Unit::BytesPerDay => "SIZE",
            Unit::BitsPerSecond => "BITRATE",
            Unit::PerSecond => "PER_SECOND",
            Unit::PerDay => "PER_DAY",
            Unit::Share => "RATIO",
            Unit::GrowthRate => "PERCENT",
            Unit::Factor => "FACTOR",
            Unit::Seconds => "DURATION",
            Unit::Years => "YEARS",
        }
    }

    /// What to type, for error messages.
    pub fn examples(self) -> &'static str {
        match self {
            Unit::Count | Unit::Servers | Unit::Nodes => {
                "give a count such as 1000000, 1_000_000, 1e6, 1M or 1B"
            }
            Unit::Bytes | Unit::BytesPerDay => cadenza_units::SIZE_HINT,
            Unit::BitsPerSecond => "give a rate such as 160kbps, 160 kbit/s, 10Gbit/s or 1.25 GB/s",
            Unit::PerSecond => "give a rate such as 5000, 5k or 5000/s",
            Unit::PerDay => "give a number per day such as 20 or 12.5",
            Unit::Share => "give a ratio between 0 and 1, e.g. 0.9 or 90%",
            Unit::GrowthRate => "give a yearly rate such as 20% or 0.2",
            Unit::Factor => "give a factor such as 3, 3x or 1.5",
            Unit::Seconds => cadenza_units::DURATION_HINT,
            Unit::Years => "give a whole number of years, e.g. 3",
        }
    }

    /// Parses typed text into the base unit (bytes, bit/s, seconds, a plain
    /// ratio). The error is a phrase about `text`, ending with examples.
    pub fn parse(self, text: &str) -> Result<Ratio, String> {
        cadenza_units::plain(text)
            .and_then(|trimmed| self.parse_non_negative(trimmed))
            .map_err(|problem| format!("'{}' {problem}; {}", text.trim(), self.examples()))
    }

    fn parse_non_negative(self, text: &str) -> Result<Ratio, String> {
        match self {
            Unit::Count | Unit::Servers | Unit::Nodes => whole(parse_count(text)?),
            Unit::Bytes | Unit::BytesPerDay => cadenza_units::parse_size(text)
                .map(Ratio::integer)
                .map_err(|e| e.problem().to_string()),
            Unit::BitsPerSecond => whole(parse_bitrate(text)?),
            Unit::PerSecond => {
                let text = strip_any_suffix(text, &["req/s", "rps", "/s"]);
                parse_count(text)
            }
            Unit::PerDay => parse_fraction(strip_any_suffix(text, &["/day", "/d"])),
            Unit::Share | Unit::GrowthRate => {
                parse_share(strip_any_suffix(text, &["/year", "/yr"]))
            }
            Unit::Factor => parse_fraction(strip_any_suffix(text, &["x", "X", "×"])),
            Unit::Seconds => cadenza_units::parse_duration(text)
                .map(|d| Ratio::new(d.as_nanos(), 1_000_000_000).expect("10^9 is not zero"))
                .map_err(|e| e.problem().to_string()),
            Unit::Years => whole(parse_fraction(strip_any_suffix(
                text,
                &["years", "year", "yrs", "yr", "y"],
            ))?),
        }
    }

    /// Readable rendering with a unit that keeps about three significant
    /// digits: `500 TB`, `1.5 PB`, `3.89 Tbit/s`, `1,000,000,000`, `90%`.
    pub fn format(self, value: Ratio, bytes: ByteUnits) -> String {
        match self {
            Unit::Count | Unit::Servers | Unit::Nodes => format_count(value),
            Unit::Bytes => format_bytes(value, bytes),
            Unit::BytesPerDay => format!("{}/day", format_bytes(value, bytes)),
            Unit::BitsPerSecond => format_scaled(value, 1000, &BITRATES),
            Unit::PerSecond => format!("{}/s", format_count(value)),
            Unit::PerDay => format!("{}/day", format_count(value)),
            Unit::Share => format!("{}%", percent(value).round_to_string(2)),
            Unit::GrowthRate => format!("{}%/year", percent(value).round_to_string(2)),
            Unit::Factor => value.round_to_string(3),
            Unit::Seconds => format!("{} s", value.round_to_string(2)),
            Unit::Years if value == Ratio::ONE => "1 year".to_string(),
            Unit::Years => format!("{} years", value.round_to_string(2)),
        }
    }

    /// Exact text that [`Unit::parse`] reads back to the same value; used to
    /// write scenario files.
    pub fn format_exact(self, value: Ratio) -> String {
        match self {
            Unit::Count | Unit::Servers | Unit::Nodes if value.is_integer() => {
                group_digits(value.numer(), '_')
            }
            Unit::Bytes | Unit::BytesPerDay => exact_scaled(value, 1000, &SI_BYTES)
                .or_else(|| exact_scaled(value, 1024, &IEC_BYTES))
                .unwrap_or_else(|| value.to_exact_string()),
            Unit::BitsPerSecond => {
                exact_scaled(value, 1000, &BITRATES).unwrap_or_else(|| value.to_exact_string())
            }
            Unit::Share | Unit::GrowthRate => {
                let pct = percent(value);
                if pct.to_exact_string().contains('/') {
                    value.to_exact_string()
                } else {
                    format!("{}%", pct.to_exact_string())
                }
            }
            Unit::Seconds => format!("{}s", value.to_exact_string()),
            _ => value.to_exact_string(),
        }
    }
}

fn percent(value: Ratio) -> Ratio {
    // 100 * a reduced fraction of u128 can only overflow beyond any real input.
    value
        .checked_mul(Ratio::integer(100))
        .unwrap_or(Ratio::integer(u128::MAX))
}

fn whole(value: Ratio) -> Result<Ratio, String> {
    if value.is_integer() {
        Ok(value)
    } else {
        Err(format!(
            "is not a whole number (it is {})",
            value.round_to_string(3)
        ))
    }
}

fn strip_any_suffix<'a>(text: &'a str, suffixes: &[&str]) -> &'a str {
    suffixes
        .iter()
        .find_map(|s| text.strip_suffix(s))
        .unwrap_or(text)
        .trim_end()
}

fn number(text: &str) -> Result<Ratio, String> {
    let text = text.replace('+', "");
    if text.contains(',') {
        return Err("uses commas; write 1_000_000 or 1e6 instead".to_string());
    }
    Ratio::parse_decimal(&text)
}

fn scale(value: Ratio, factor: u128) -> Result<Ratio, String> {
    value
        .checked_mul(Ratio::integer(factor))
        .ok_or_else(|| "is too large".to_string())
}

fn parse_count(text: &str) -> Result<Ratio, String> {
    let (digits, suffix) = split_number(text);
    let factor: u128 = match suffix {
        "" => 1,
        "k" | "K" => 1_000,
        "M" | "m" => 1_000_000,
        "B" | "G" | "bn" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "has an unknown suffix '{other}' (use k, M, B for billion, or T)"
            ))
        }
    };
    scale(number(digits)?, factor)
}

fn prefix_power(letter: char) -> Option<u32> {
    match letter.to_ascii_uppercase() {
        'K' => Some(1),
        'M' => Some(2),
        'G' => Some(3),
        'T' => Some(4),
        'P' => Some(5),
        'E' => Some(6),
        _ => None,
    }
}

fn parse_bitrate(text: &str) -> Result<Ratio, String> {
    let (digits, unit) = split_number(text);
    let mut chars = unit.chars();
    let (power, rest) = match chars.next().and_then(prefix_power) {
        Some(p) => (p, chars.as_str()),
        None => (0, unit),
    };
    let bits_per_unit: u128 = match rest {
        "" | "bps" | "bit/s" | "bits/s" | "b/s" | "bit" | "bits" => 1,
        "B/s" | "Bps" | "byte/s" | "bytes/s" => 8,
        _ => {
            return Err(format!(
                "has an unknown unit '{unit}' (use bps, kbit/s, Mbit/s, Gbit/s or MB/s)"
            ))
        }
    };
    scale(number(digits)?, 1000u128.pow(power) * bits_per_unit)
}

fn parse_share(text: &str) -> Result<Ratio, String> {
    match text.strip_suffix('%') {
        Some(pct) => number(pct.trim())?
            .checked_div(Ratio::integer(100))
            .ok_or_else(|| "is too large".to_string()),
        None => {
            if text.contains('/') {
                parse_fraction(text)
            } else {
                number(text)
            }
        }
    }
}

/// `1234567` → `"1,234,567"` (with `sep`).
pub fn group_digits(n: u128, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn format_count(value: Ratio) -> String {
    if value.is_integer() {
        group_digits(value.numer(), ',')
    } else if value >= Ratio::integer(100) {
        group_digits(value.round(), ',')
    } else {
        value.round_to_string(2)
    }
}

fn format_bytes(value: Ratio, units: ByteUnits) -> String {
    match units {
        ByteUnits::Si => format_scaled(value, 1000, &SI_BYTES),
        ByteUnits::Iec => format_scaled(value, 1024, &IEC_BYTES),
    }
}

/// Picks the largest unit in which the value rounds to at least 1, and keeps
/// three significant digits (so 999.6 TB shows as 1 PB, not 1000 TB).
fn format_scaled(value: Ratio, base: u128, units: &[(&str, u32)]) -> String {
    for &(name, power) in units.iter().rev() {
        let Some(x) = Ratio::new(1, base.pow(power)).and_then(|s| value.checked_mul(s)) else {
            continue;
        };
        let places = if x >= Ratio::integer(100) {
            0
        } else if x >= Ratio::integer(10) {
            1
        } else {
            2
        };
        let shown = x.round_to_string(places);
        if power == 0 || parse_fraction(&shown).is_ok_and(|v| v >= Ratio::ONE) {
            return format!("{shown} {name}");
        }
    }
    format!("{} {}", value.round_to_string(2), units[0].0)
}

/// The value in the largest unit that divides it exactly, e.g. `5 MB`.
fn exact_scaled(value: Ratio, base: u128, units: &[(&str, u32)]) -> Option<String> {
    if !value.is_integer() {
        return None;
    }
    if value.is_zero() {
        return Some(format!("0 {}", units[0].0));
    }
    units.iter().rev().find_map(|&(name, power)| {
        let scale = base.pow(power);
        value
            .numer()
            .is_multiple_of(scale)
            .then(|| format!("{} {name}", value.numer() / scale))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(unit: Unit, text: &str) -> u128 {
        let value = unit.parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(value.is_integer(), "{text} gave {value:?}");
        value.numer()
    }

    fn err(unit: Unit, text: &str) -> String {
        unit.parse(text).expect_err(text)
    }

    #[test]
    fn counts() {
        assert_eq!(ok(Unit::Count, "1e9"), 1_000_000_000);
        assert_eq!(ok(Unit::Count, "1_000_000"), 1_000_000);
        assert_eq!(ok(Unit::Count, "1B"), 1_000_000_000);
        assert_eq!(ok(Unit::Count, "100M"), 100_000_000);
        assert_eq!(ok(Unit::Count, "1.5M"), 1_500_000);
        assert_eq!(ok(Unit::Count, "10k"), 10_000);
        assert_eq!(ok(Unit::Count, " 42 "), 42);
        assert_eq!(ok(Unit::Count, "2 T"), 2_000_000_000_000);
        assert!(err(Unit::Count, "1.5").contains("not a whole number"));
        assert!(err(Unit::Count, "-5").contains("is negative"));
        assert!(err(Unit::Count, "5Q").contains("unknown suffix 'Q'"));
        assert!(err(Unit::Count, "1,000").contains("commas"));
        assert!(err(Unit::Count, "").contains("is empty"));
        assert!(err(Unit::Count, "lots").contains("give a count such as"));
    }

    #[test]
    fn bytes() {
        assert_eq!(ok(Unit::Bytes, "5MB"), 5_000_000);
        assert_eq!(ok(Unit::Bytes, "5 MB"), 5_000_000);
        assert_eq!(ok(Unit::Bytes, "5 MiB"), 5 * 1024 * 1024);
        assert_eq!(ok(Unit::Bytes, "1 KB"), 1000);
        assert_eq!(ok(Unit::Bytes, "1kB"), 1000);
        assert_eq!(ok(Unit::Bytes, "1KiB"), 1024);
        assert_eq!(ok(Unit::Bytes, "100"), 100);
        assert_eq!(ok(Unit::Bytes, "100 B"), 100);
        assert_eq!(ok(Unit::Bytes, "100 bytes"), 100);
        assert_eq!(ok(Unit::Bytes, "1.5TB"), 1_500_000_000_000);
        assert_eq!(ok(Unit::Bytes, "16 TB"), 16_000_000_000_000);
        assert_eq!(ok(Unit::Bytes, "1PB"), 10u128.pow(15));
        assert_eq!(ok(Unit::Bytes, "2EB"), 2 * 10u128.pow(18));
        assert_eq!(ok(Unit::Bytes, "1PiB"), 1u128 << 50);
        assert_eq!(ok(Unit::Bytes, "5e6"), 5_000_000);
        assert!(err(Unit::Bytes, "5Mb").contains("bits"));
        assert!(err(Unit::Bytes, "5 XB").contains("unknown unit 'XB'"));
        assert!(err(Unit::Bytes, "0.5").contains("not a whole number of bytes"));
        assert!(err(Unit::Bytes, "-1MB").contains("negative"));
    }

    #[test]
    fn bitrates() {
        assert_eq!(ok(Unit::BitsPerSecond, "160kbps"), 160_000);
        assert_eq!(ok(Unit::BitsPerSecond, "160 kbit/s"), 160_000);
        assert_eq!(ok(Unit::BitsPerSecond, "160k"), 160_000);
        assert_eq!(ok(Unit::BitsPerSecond, "10Gbit/s"), 10_000_000_000);
        assert_eq!(ok(Unit::BitsPerSecond, "10 Gbps"), 10_000_000_000);
        assert_eq!(ok(Unit::BitsPerSecond, "1.25 GB/s"), 10_000_000_000);
        assert_eq!(ok(Unit::BitsPerSecond, "320000"), 320_000);
        assert_eq!(ok(Unit::BitsPerSecond, "96 Kbps"), 96_000);
        assert!(err(Unit::BitsPerSecond, "160 furlongs").contains("unknown unit"));
        assert!(err(Unit::BitsPerSecond, "0.5bps").contains("not a whole number"));
    }

    #[test]
    fn shares_factors_and_rates() {
        let share = |t| Unit::Share.parse(t).unwrap();
        assert_eq!(share("0.9"), Ratio::new(9, 10).unwrap());
        assert_eq!(share("90%"), Ratio::new(9, 10).unwrap());
        assert_eq!(share("90 %"), Ratio::new(9, 10).unwrap());
        assert_eq!(share("9/10"), Ratio::new(9, 10).unwrap());
        assert_eq!(share("1"), Ratio::ONE);
        // Range checks belong to the input, not the unit.
        assert_eq!(share("1.5"), Ratio::new(3, 2).unwrap());
        assert_eq!(Unit::Factor.parse("3x"), Ok(Ratio::integer(3)));
        assert_eq!(Unit::Factor.parse("1.5"), Ok(Ratio::new(3, 2).unwrap()));
        assert_eq!(
            Unit::GrowthRate.parse("20%/year"),
            Ok(Ratio::new(1, 5).unwrap())
        );
        assert_eq!(
            Unit::PerDay.parse("12.5/day"),
            Ok(Ratio::new(25, 2).unwrap())
        );
        assert_eq!(Unit::PerSecond.parse("5k/s"), Ok(Ratio::integer(5000)));
        assert_eq!(
            Unit::PerSecond.parse("5000 req/s"),
            Ok(Ratio::integer(5000))
        );
        assert_eq!(Unit::PerSecond.parse("5000rps"), Ok(Ratio::integer(5000)));
        assert_eq!(Unit::Years.parse("3 years"), Ok(Ratio::integer(3)));
        assert!(err(Unit::Years, "2.5").contains("whole"));
        assert!(err(Unit::Share, "ninety").contains("between 0 and 1"));
    }

    #[test]
    fn durations() {
        let secs = |t| ok(Unit::Seconds, t);
        assert_eq!(secs("210"), 210);
        assert_eq!(secs("210s"), 210);
        assert_eq!(secs("3.5min"), 210);
        assert_eq!(secs("3m30s"), 210);
        assert_eq!(secs("3 min 30 s"), 210);
        assert_eq!(secs("3:30"), 210);
        assert_eq!(secs("1:00:00"), 3600);
        assert_eq!(secs("1h"), 3600);
        assert!(err(Unit::Seconds, "3 fortnights").contains("unknown time unit"));
    }

    #[test]
    fn readable_output() {
        let b = |n: u128| Unit::Bytes.format(Ratio::integer(n), ByteUnits::Si);
        assert_eq!(b(500 * 10u128.pow(12)), "500 TB");
        assert_eq!(b(15 * 10u128.pow(14)), "1.5 PB");
        assert_eq!(b(10 * 10u128.pow(9)), "10 GB");
        assert_eq!(b(10u128.pow(12)), "1 TB");
        assert_eq!(b(100), "100 B");
        assert_eq!(b(0), "0 B");
        assert_eq!(b(999_600_000_000_000), "1 PB");
        assert_eq!(b(4_200_000), "4.2 MB");
        assert_eq!(
            Unit::Bytes.format(Ratio::integer(1u128 << 50), ByteUnits::Iec),
            "1 PiB"
        );
        assert_eq!(
            Unit::Bytes.format(Ratio::integer(15 * 10u128.pow(14)), ByteUnits::Iec),
            "1.33 PiB"
        );
        let bw = Ratio::new(35_000_000_000_000_000, 9_000).unwrap();
        assert_eq!(Unit::BitsPerSecond.format(bw, ByteUnits::Si), "3.89 Tbit/s");
        assert_eq!(
            Unit::Count.format(Ratio::integer(1_000_000_000), ByteUnits::Si),
            "1,000,000,000"
        );
        assert_eq!(
            Unit::PerSecond.format(Ratio::new(1_000_000, 3).unwrap(), ByteUnits::Si),
            "333,333/s"
        );
        assert_eq!(
            Unit::Share.format(Ratio::new(9, 10).unwrap(), ByteUnits::Si),
            "90%"
        );
        assert_eq!(
            Unit::Factor.format(Ratio::new(3, 2).unwrap(), ByteUnits::Si),
            "1.5"
        );
    }

    #[test]
    fn exact_text_round_trips() {
        let cases = [
            (Unit::Bytes, Ratio::integer(5_000_000)),
            (Unit::Bytes, Ratio::integer(5 * 1024 * 1024)),
            (Unit::Bytes, Ratio::integer(1234567)),
            (Unit::BitsPerSecond, Ratio::integer(160_000)),
            (Unit::Share, Ratio::new(9, 10).unwrap()),
            (Unit::Share, Ratio::new(1, 3).unwrap()),
            (Unit::GrowthRate, Ratio::new(1, 5).unwrap()),
            (Unit::Count, Ratio::integer(1_000_000_000)),
            (Unit::Seconds, Ratio::integer(210)),
            (Unit::Factor, Ratio::new(3, 2).unwrap()),
            (Unit::PerDay, Ratio::new(25, 2).unwrap()),
            (Unit::PerSecond, Ratio::integer(5000)),
            (Unit::Years, Ratio::integer(3)),
        ];
        for (unit, value) in cases {
            let text = unit.format_exact(value);
            assert_eq!(unit.parse(&text), Ok(value), "{unit:?} {text}");
        }
        assert_eq!(Unit::Bytes.format_exact(Ratio::integer(5_000_000)), "5 MB");
        assert_eq!(Unit::Share.format_exact(Ratio::new(9, 10).unwrap()), "90%");
    }
}
