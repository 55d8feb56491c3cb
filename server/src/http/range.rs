//! Which bytes of an immutable blob to send: conditional requests (`If-None-Match`,
//! `If-Modified-Since`, `If-Range`) and single byte ranges (RFC 9110 §13, §14).
//!
//! Only single ranges are served as 206. A request for several ranges gets the whole file
//! with 200, which RFC 9110 §14.2 allows (a server may ignore `Range`); audio players ask for
//! one range at a time, and multipart/byteranges bodies would only add code and overhead.
//! A malformed `Range` is ignored the same way.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// 304: the client's copy is current.
    NotModified,
    /// 200 with the whole blob.
    Full,
    /// 206 with bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The request headers that decide the plan (raw values, as sent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions<'a> {
    pub range: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
}

/// The blob's validators: its strong ETag (with quotes) and modification time (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    pub etag: &'a str,
    pub last_modified: i64,
    pub len: u64,
}

/// The strong ETag of a blob: its content hash in quotes.
pub fn etag_for(hash: &str) -> String {
    format!("\"{hash}\"")
}

pub fn http_date(unix_secs: i64) -> String {
    let secs = u64::try_from(unix_secs).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn parse_http_date(value: &str) -> Option<i64> {
    let time: SystemTime = httpdate::parse_http_date(value.trim()).ok()?;
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

pub fn plan(pre: &Preconditions<'_>, v: &Validators<'_>) -> Plan {
    // §13.2.2: If-None-Match first; If-Modified-Since only when it is absent.
    if let Some(inm) = pre.if_none_match {
        if etag_list_matches(inm, v.etag) {
            return Plan::NotModified;
        }
    } else if let Some(ims) = pre.if_modified_since.and_then(parse_http_date) {
        if v.last_modified <= ims {
            return Plan::NotModified;
        }
    }
    let Some(range) = pre.range else {
        return Plan::Full;
    };
    if let Some(if_range) = pre.if_range {
        if !if_range_holds(if_range, v) {
            return Plan::Full;
        }
    }
    match parse_range(range, v.len) {
        RangeSpec::Ignore => Plan::Full,
        RangeSpec::Bytes { start, end } => Plan::Partial { start, end },
        RangeSpec::Unsatisfiable => Plan::Unsatisfiable,
    }
}

/// `If-None-Match`: `*` or a list of entity tags, compared weakly (`W/"x"` matches `"x"`).
pub fn etag_list_matches(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == ours)
}

/// `If-Range`: a strong ETag that must match exactly, or the exact `Last-Modified` date
/// (our blobs never change, so that date is as good as a strong validator).
fn if_range_holds(header: &str, v: &Validators<'_>) -> bool {
    let header = header.trim();
    if header.starts_with('"') {
        return header == v.etag;
    }
    if header.starts_with("W/") {
        return false; // weak tags may not be used with If-Range (§13.1.5)
    }
    parse_http_date(header) == Some(v.last_modified)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// Not a single byte range we serve (other unit, several ranges, malformed): send all.
    Ignore,
    Bytes {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Parses `Range` against a blob of `len` bytes: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
///
/// Numbers too large for u64 saturate: they are still valid syntax and mean "past the end"
/// (a first position → 416, a last position or suffix → up to the end).
pub fn parse_range(header: &str, len: u64) -> RangeSpec {
    let header = header.trim();
    let Some((unit, set)) = header.split_once('=') else {
        return RangeSpec::Ignore;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeSpec::Ignore;
    }
    let mut ranges = set.split(',').map(str::trim).filter(|r| !r.is_empty());
    let (Some(spec), None) = (ranges.next(), ranges.next()) else {
        return RangeSpec::Ignore;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix: the last `n` bytes.
        let Some(n) = digits(last) else {
            return RangeSpec::Ignore;
        };
        if n == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Bytes {
            start: len.saturating_sub(n),
            end: len - 1,
        };
    }
    let Some(start) = digits(first) else {
        return RangeSpec::Ignore;
    };
    let end = if last.is_empty() {
        None
    } else {
        match digits(last) {
            Some(end) if end >= start => Some(end),
            _ => return RangeSpec::Ignore, // `5-2` or garbage: invalid, so ignored (§14.1.1)
        }
    };
    if start >= len {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Bytes {
        start,
        end: end.map_or(len - 1, |e| e.min(len - 1)),
    }
}

/// A run of ASCII digits as u64, saturating on overflow; `None` if anything else is there.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc123\"";
    const MODIFIED: i64 = 1_700_000_000;

    fn v(len: u64) -> Validators<'static> {
        Validators {
            etag: ETAG,
            last_modified: MODIFIED,
            len,
        }
    }

    fn bytes(start: u64, end: u64) -> RangeSpec {
        RangeSpec::Bytes { start, end }
    }

    #[test]
    fn single_range_forms() {
        assert_eq!(parse_range("bytes=0-99", 1000), bytes(0, 99));
        assert_eq!(parse_range("bytes=10-", 1000), bytes(10, 999));
        assert_eq!(parse_range("bytes=-100", 1000), bytes(900, 999));
        assert_eq!(parse_range("bytes=0-0", 1000), bytes(0, 0));
        assert_eq!(parse_range("bytes=999-", 1000), bytes(999, 999));
        assert_eq!(
            parse_range("bytes=500-5000", 1000),
            bytes(500, 999),
            "end is clamped"
        );
        assert_eq!(
            parse_range(" Bytes = 1 - 2 ", 1000),
            bytes(1, 2),
            "spaces and case"
        );
    }

    #[test]
    fn suffix_larger_than_the_file_is_the_whole_file() {
        assert_eq!(parse_range("bytes=-5000", 1000), bytes(0, 999));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(parse_range("bytes=1000-", 1000), RangeSpec::Unsatisfiable);
        assert_eq!(
            parse_range("bytes=1000-2000", 1000),
            RangeSpec::Unsatisfiable
        );
        assert_eq!(parse_range("bytes=-0", 1000), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=-10", 0), RangeSpec::Unsatisfiable);
    }

    #[test]
    fn invalid_or_unsupported_ranges_are_ignored() {
        for header in [
            "bytes=5-2",
            "bytes=abc",
            "bytes=-",
            "bytes=1-x",
            "bytes=x-1",
            "bytes=--5",
            "bytes=+1-2",
            "bytes=",
            "items=0-1",
            "0-1",
            "bytes=0-1,5-6",
            "bytes=0-1, -5",
        ] {
            assert_eq!(parse_range(header, 1000), RangeSpec::Ignore, "{header}");
        }
    }

    #[test]
    fn overflowing_numbers_saturate() {
        let huge = "99999999999999999999999999";
        assert_eq!(
            parse_range(&format!("bytes={huge}-"), 1000),
            RangeSpec::Unsatisfiable
        );
        assert_eq!(parse_range(&format!("bytes=0-{huge}"), 1000), bytes(0, 999));
        assert_eq!(parse_range(&format!("bytes=-{huge}"), 1000), bytes(0, 999));
        assert_eq!(
            parse_range(&format!("bytes={huge}-{huge}"), 1000),
            RangeSpec::Unsatisfiable
        );
    }

    #[test]
    fn plans_without_conditions() {
        let none = Preconditions::default();
        assert_eq!(plan(&none, &v(10)), Plan::Full);
        let ranged = Preconditions {
            range: Some("bytes=2-3"),
            ..none
        };
        assert_eq!(plan(&ranged, &v(10)), Plan::Partial { start: 2, end: 3 });
        let past = Preconditions {
            range: Some("bytes=20-"),
            ..none
        };
        assert_eq!(plan(&past, &v(10)), Plan::Unsatisfiable);
    }

    #[test]
    fn if_none_match_gives_304_and_beats_range() {
        for inm in [ETAG, "*", "\"other\", \"abc123\"", "W/\"abc123\""] {
            let pre = Preconditions {
                if_none_match: Some(inm),
                range: Some("bytes=0-1"),
                ..Default::default()
            };
            assert_eq!(plan(&pre, &v(10)), Plan::NotModified, "{inm}");
        }
        let pre = Preconditions {
            if_none_match: Some("\"other\""),
            ..Default::default()
        };
        assert_eq!(plan(&pre, &v(10)), Plan::Full);
    }

    #[test]
    fn if_modified_since_only_without_if_none_match() {
        let same = http_date(MODIFIED);
        let older = http_date(MODIFIED - 60);
        let pre = Preconditions {
            if_modified_since: Some(&same),
            ..Default::default()
        };
        assert_eq!(plan(&pre, &v(10)), Plan::NotModified);
        let pre = Preconditions {
            if_modified_since: Some(&older),
            ..Default::default()
        };
        assert_eq!(plan(&pre, &v(10)), Plan::Full);
        let pre = Preconditions {
            if_modified_since: Some(&same),
            if_none_match: Some("\"other\""),
            ..Default::default()
        };
        assert_eq!(plan(&pre, &v(10)), Plan::Full, "If-None-Match decides");
        let pre = Preconditions {
            if_modified_since: Some("yesterday-ish"),
            ..Default::default()
        };
        assert_eq!(plan(&pre, &v(10)), Plan::Full, "bad dates are ignored");
    }

    #[test]
    fn if_range_decides_between_range_and_whole_file() {
        let with = |if_range: &'static str| Preconditions {
            range: Some("bytes=2-3"),
            if_range: Some(if_range),
            ..Default::default()
        };
        let partial = Plan::Partial { start: 2, end: 3 };
        assert_eq!(plan(&with(ETAG), &v(10)), partial);
        assert_eq!(plan(&with("\"stale\""), &v(10)), Plan::Full);
        assert_eq!(
            plan(&with("W/\"abc123\""), &v(10)),
            Plan::Full,
            "weak never"
        );
        let date: &'static str = Box::leak(http_date(MODIFIED).into_boxed_str());
        assert_eq!(plan(&with(date), &v(10)), partial);
        let old: &'static str = Box::leak(http_date(MODIFIED - 1).into_boxed_str());
        assert_eq!(plan(&with(old), &v(10)), Plan::Full);
        assert_eq!(plan(&with("garbage"), &v(10)), Plan::Full);
        let no_range = Preconditions {
            if_range: Some(ETAG),
            ..Default::default()
        };
        assert_eq!(plan(&no_range, &v(10)), Plan::Full);
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784111777)
        );
        assert_eq!(etag_for("ab"), "\"ab\"");
    }
}
