//! Durations: `90` (seconds), `45s`, `15m`, `1h30m`, `3.5min`, `30d`, `3:30`, `1:02:03`; and the
//! `m:ss` display every screen uses.

use std::str::FromStr;
use std::time::Duration;

use humantime::DurationError;

use crate::decimal::{split_number, Decimal};
use crate::{plain, NumberOrText, UnitError};

/// What to write instead, ending every duration error.
pub const DURATION_HINT: &str =
    "give a duration such as 90 (seconds), 45s, 15m, 1h30m, 30d or 3:30";

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Parses a duration; see the crate's opening comment for the forms.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    plain(text)
        .and_then(|t| {
            if t.contains(':') {
                clock(t)
            } else if split_number(t).1.is_empty() {
                seconds(t, NANOS_PER_SEC)
            } else {
                humantime::parse_duration(t).map_err(|e| problem(t, e))
            }
        })
        .map_err(|problem| UnitError::new(text, problem, DURATION_HINT))
}

/// `number` (a decimal) times `unit_nanos`, in whole nanoseconds.
fn seconds(number: &str, unit_nanos: u128) -> Result<Duration, String> {
    let nanos = Decimal::parse(number)?
        .times(unit_nanos)?
        .ok_or_else(|| "is finer than a nanosecond".to_string())?;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).map_err(|_| "is too large".to_string())?;
    // The remainder is below 10^9, so it fits.
    Ok(Duration::new(secs, (nanos % NANOS_PER_SEC) as u32))
}

/// `m:ss` or `h:mm:ss`; the seconds may have decimals.
fn clock(text: &str) -> Result<Duration, String> {
    let bad = || {
        "is not a clock time: write m:ss or h:mm:ss, with minutes and seconds below 60".to_string()
    };
    let parts: Vec<&str> = text.split(':').map(str::trim).collect();
    let Some((last, leading)) = parts.split_last().filter(|(_, l)| l.len() <= 2) else {
        return Err(bad());
    };
    let mut minutes: u64 = 0;
    for (i, part) in leading.iter().enumerate() {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let value: u64 = part.parse().map_err(|_| "is too large".to_string())?;
        if i > 0 && value >= 60 {
            return Err(bad());
        }
        minutes = minutes
            .checked_mul(60)
            .and_then(|m| m.checked_add(value))
            .ok_or_else(|| "is too large".to_string())?;
    }
    if last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let secs = seconds(last, NANOS_PER_SEC)?;
    if secs >= Duration::from_secs(60) {
        return Err(bad());
    }
    minutes
        .checked_mul(60)
        .map(Duration::from_secs)
        .and_then(|m| m.checked_add(secs))
        .ok_or_else(|| "is too large".to_string())
}

/// humantime's error as a phrase about the text.
fn problem(text: &str, error: DurationError) -> String {
    let at = |offset: usize| text.get(offset..).unwrap_or("").trim();
    match error {
        DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            "has a number with no unit after it".to_string()
        }
        DurationError::UnknownUnit { unit, .. } => {
            format!("has an unknown time unit '{unit}' (use ms, s, m or min, h, d or w)")
        }
        DurationError::NumberExpected(offset) if at(offset) == text => {
            "does not start with a number".to_string()
        }
        DurationError::NumberExpected(offset) => {
            format!("has '{}' where a number was expected", at(offset))
        }
        DurationError::InvalidCharacter(offset) => {
            format!("cannot be read from '{}' on", at(offset))
        }
        DurationError::NumberOverflow => "is too large, or finer than a nanosecond".to_string(),
        DurationError::Empty => "is empty".to_string(),
    }
}

/// A duration setting, read from a flag, a variable or a config file, where it may also be a
/// bare TOML number (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "NumberOrText")]
pub struct Span(pub Duration);

impl Span {
    pub const fn from_secs(secs: u64) -> Span {
        Span(Duration::from_secs(secs))
    }
}

impl FromStr for Span {
    type Err = UnitError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_duration(text).map(Span)
    }
}

impl TryFrom<NumberOrText> for Span {
    type Error = UnitError;
    fn try_from(value: NumberOrText) -> Result<Self, Self::Error> {
        value.into_text().parse()
    }
}

/// `m:ss`, or `h:mm:ss` past an hour, as players show times; fractions of a second are cut.
pub fn format_clock(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> u64 {
        let d = parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(d.subsec_nanos(), 0, "{text}");
        d.as_secs()
    }

    fn err(text: &str) -> String {
        parse_duration(text).expect_err(text).to_string()
    }

    #[test]
    fn durations_follow_one_convention() {
        assert_eq!(secs("90"), 90, "a bare number is seconds");
        assert_eq!(secs("210s"), 210);
        assert_eq!(secs("3.5min"), 210);
        assert_eq!(secs("3m30s"), 210);
        assert_eq!(secs("3 min 30 s"), 210);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("12h"), 43_200);
        assert_eq!(secs("30d"), 30 * 86_400);
        assert_eq!(secs("2w"), 14 * 86_400);
        assert_eq!(secs("3:30"), 210);
        assert_eq!(secs("0:05"), 5);
        assert_eq!(secs("1:00:00"), 3600);
        assert_eq!(secs("1:02:03"), 3723);
        assert_eq!(secs("90:00"), 5400, "the first part may pass 59");
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1:30.5"), Ok(Duration::from_millis(90_500)));
    }

    #[test]
    fn mistakes_name_the_text_and_show_good_ones() {
        let e = err("3 fortnights");
        assert!(
            e.starts_with("'3 fortnights' has an unknown time unit 'fortnights'"),
            "{e}"
        );
        assert!(e.ends_with(DURATION_HINT), "{e}");
        assert!(err("1:75").contains("below 60"));
        assert!(err("1:60:00").contains("below 60"));
        assert!(err("1:2:3:4").contains("h:mm:ss"));
        assert!(err("1:").contains("m:ss"));
        assert!(err(":30").contains("m:ss"));
        assert!(err("-5s").contains("is negative"));
        assert!(err("soon").contains("'soon' does not start with a number"));
        assert!(err("1h and 5m").contains("'and 5m' where a number was expected"));
        assert!(err("3m 30").contains("no unit"));
        assert!(err("0.0000000001").contains("finer than a nanosecond"));
        assert!(err("1e30").contains("too large"));
        assert!(err("").contains("is empty"));
    }

    #[test]
    fn settings_take_text_or_a_number() {
        #[derive(serde::Deserialize)]
        struct File {
            a: Span,
            b: Span,
            c: Span,
        }
        let file: File = toml::from_str("a = 60\nb = \"12h\"\nc = 1.5").unwrap();
        assert_eq!(file.a, Span::from_secs(60));
        assert_eq!(file.b, Span::from_secs(43_200));
        assert_eq!(file.c, Span(Duration::from_millis(1500)));
        assert_eq!("30d".parse(), Ok(Span::from_secs(30 * 86_400)));
    }

    #[test]
    fn clocks_read_like_a_player() {
        let ms = Duration::from_millis;
        assert_eq!(format_clock(ms(0)), "0:00");
        assert_eq!(format_clock(ms(3_030)), "0:03");
        assert_eq!(format_clock(ms(65_400)), "1:05");
        assert_eq!(format_clock(ms(125_000)), "2:05");
        assert_eq!(format_clock(ms(3_725_000)), "1:02:05");
        for text in ["0:05", "2:05", "1:02:05"] {
            assert_eq!(format_clock(parse_duration(text).unwrap()), text);
        }
    }
}
