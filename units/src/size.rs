//! Byte sizes: `5000000`, `5MB`, `5 MiB`, `1.5TB`, `5e6`, `100 bytes`.

use std::str::FromStr;

use crate::decimal::{split_number, Decimal};
use crate::{plain, NumberOrText, UnitError};

/// What to write instead, ending every size error.
pub const SIZE_HINT: &str = "give a size such as 512MiB, 5MB, 1.5TB or 5000000 (bytes)";

/// Parses a size into bytes. `u128`, so that the capacity model's exabytes fit; settings that
/// need a `u64` take a [`ByteSize`].
pub fn parse_size(text: &str) -> Result<u128, UnitError> {
    plain(text)
        .and_then(bytes)
        .map_err(|problem| UnitError::new(text, problem, SIZE_HINT))
}

fn bytes(text: &str) -> Result<u128, String> {
    let (number, unit) = split_number(text);
    let (base, power) = byte_unit(unit)?;
    if number.is_empty() {
        return Err("has no number".to_string());
    }
    Decimal::parse(number)?
        .times(base.pow(power))?
        .ok_or_else(|| "is not a whole number of bytes".to_string())
}

/// `(base, power)` for a byte unit: `MB` is (1000, 2), `MiB` (1024, 2), `B` or none (1000, 0).
fn byte_unit(unit: &str) -> Result<(u128, u32), String> {
    let lower = unit.to_ascii_lowercase();
    if unit.is_empty() || unit == "B" || lower == "byte" || lower == "bytes" {
        return Ok((1000, 0));
    }
    let mut chars = unit.chars();
    let first = chars.next().unwrap_or('B');
    let rest = chars.as_str();
    let unknown = || format!("has an unknown unit '{unit}'");
    let power = match first.to_ascii_uppercase() {
        'K' => 1,
        'M' => 2,
        'G' => 3,
        'T' => 4,
        'P' => 5,
        'E' => 6,
        _ => return Err(unknown()),
    };
    let prefix = first.to_ascii_uppercase();
    match rest {
        "B" => Ok((1000, power)),
        "iB" | "IB" => Ok((1024, power)),
        "" | "i" | "I" => Err(format!(
            "has no 'B': write {prefix}B for 10^{} bytes or {prefix}iB for 2^{} bytes",
            3 * power,
            10 * power
        )),
        "b" | "bit" | "bits" => Err(format!(
            "is in bits ('{unit}'); sizes are bytes: write {prefix}B"
        )),
        "ib" | "Ib" => Err(format!(
            "is in bits ('{unit}'); sizes are bytes: write {prefix}iB"
        )),
        _ => Err(unknown()),
    }
}

/// A size setting in bytes, read from a flag, a variable or a config file, where it may also
/// be a bare TOML number (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "NumberOrText")]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = parse_size(text)?;
        u64::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| UnitError::new(text, "is too large", SIZE_HINT))
    }
}

impl TryFrom<NumberOrText> for ByteSize {
    type Error = UnitError;
    fn try_from(value: NumberOrText) -> Result<Self, Self::Error> {
        value.into_text().parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> u128 {
        parse_size(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        parse_size(text).expect_err(text).to_string()
    }

    #[test]
    fn sizes_follow_one_convention() {
        assert_eq!(ok("5000000"), 5_000_000, "a bare number is bytes");
        assert_eq!(ok("5MB"), 5_000_000);
        assert_eq!(ok("5 MB"), 5_000_000);
        assert_eq!(ok("5 MiB"), 5 << 20);
        assert_eq!(ok("512MiB"), 512 << 20);
        assert_eq!(ok("1kB"), 1000);
        assert_eq!(ok("1KB"), 1000);
        assert_eq!(ok("1KiB"), 1024);
        assert_eq!(ok("1KIB"), 1024);
        assert_eq!(ok("100 bytes"), 100);
        assert_eq!(ok("100 B"), 100);
        assert_eq!(ok("1.5TB"), 1_500_000_000_000);
        assert_eq!(ok("0.5KiB"), 512);
        assert_eq!(ok("5e6"), 5_000_000);
        assert_eq!(ok("1_000 MB"), 1_000_000_000);
        assert_eq!(ok("2EB"), 2 * 10u128.pow(18));
        assert_eq!(ok("1PiB"), 1 << 50);
        assert_eq!(ok("100EB"), 10u128.pow(20), "beyond u64 still parses");
    }

    #[test]
    fn mistakes_name_the_text_and_show_good_ones() {
        let e = err("5 XB");
        assert!(e.starts_with("'5 XB' has an unknown unit 'XB'"), "{e}");
        assert!(e.ends_with(SIZE_HINT), "{e}");
        assert!(err("5Mb").contains("is in bits ('Mb'); sizes are bytes: write MB"));
        assert!(err("5mb").contains("write MB"));
        assert!(err("5kib").contains("write KiB"));
        assert!(err("2G").contains("write GB for 10^9 bytes or GiB for 2^30 bytes"));
        assert!(err("0.5").contains("not a whole number of bytes"));
        assert!(err("-1MB").contains("is negative"));
        assert!(err("1,000").contains("commas"));
        assert!(err("").contains("is empty"));
        assert!(err("MiB").contains("has no number"));
        assert!(err("lots").contains("unknown unit 'lots'"));
        assert!(err("1e40 EB").contains("too large"));
    }

    #[test]
    fn settings_take_text_or_a_number() {
        assert_eq!("1GiB".parse(), Ok(ByteSize(1 << 30)));
        assert_eq!("42".parse(), Ok(ByteSize(42)));
        let e = "99999999999TiB"
            .parse::<ByteSize>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("too large"), "{e}");
        #[derive(serde::Deserialize)]
        struct File {
            a: ByteSize,
            b: ByteSize,
        }
        let file: File = toml::from_str("a = 100\nb = \"10MB\"").unwrap();
        assert_eq!((file.a, file.b), (ByteSize(100), ByteSize(10_000_000)));
        let e = toml::from_str::<File>("a = -1\nb = 1")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("'-1' is negative"), "{e}");
    }
}
