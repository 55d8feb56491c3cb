//! Request parameters: the query string and (the formPost extension) an
//! `application/x-www-form-urlencoded` body, in one list where keys may repeat
//! (`songId=1&songId=2`).

use bytes::BytesMut;
use futures::StreamExt;
use warp::http::header::CONTENT_TYPE;

use super::{Error, Result, API_VERSION};
use crate::http::{BodyStream, Ctx, MAX_JSON_BODY};

/// Largest `count`/`size` any list returns; larger values are clamped, not refused.
pub const MAX_COUNT: u32 = 500;
/// How much of a too-large form body is read and thrown away before answering.
const DRAIN_MAX: u64 = 16 << 20;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The query string followed by the form body (when the request has one).
    pub async fn read(cx: &Ctx, mut body: BodyStream) -> Result<Params> {
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(&cx.query)
            .map_err(|e| Error::generic(format!("the query string is not valid: {e}")))?;
        let form = cx.header(CONTENT_TYPE).is_none_or(|t| {
            t.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        });
        let mut bytes = BytesMut::new();
        let mut read = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| Error::generic(format!("the request body broke off: {e}")))?;
            read += chunk.len() as u64;
            // A refused body is still read (up to a bound) so the client, still sending,
            // gets the answer instead of a reset connection.
            if read > DRAIN_MAX {
                break;
            }
            if read <= MAX_JSON_BODY {
                bytes.extend_from_slice(&chunk);
            }
        }
        if read > MAX_JSON_BODY {
            return Err(Error::generic(format!(
                "the form body is larger than {MAX_JSON_BODY} bytes; send fewer parameters"
            )));
        }
        if form && !bytes.is_empty() {
            let posted: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                .map_err(|e| Error::generic(format!("the form body is not valid: {e}")))?;
            pairs.extend(posted);
        }
        Ok(Params(pairs))
    }

    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or error 10 when it is missing or empty.
    pub fn required(&self, key: &str) -> Result<&str> {
        self.get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::missing(key))
    }

    /// A non-negative whole number; huge values saturate, negative ones are 0.
    pub fn number(&self, key: &str) -> Result<Option<u64>> {
        let Some(raw) = self.get(key).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::generic(format!(
                "parameter `{key}` must be a whole number, not `{}`",
                shorten(raw)
            )));
        }
        if raw.starts_with('-') {
            return Ok(Some(0));
        }
        Ok(Some(digits.parse().unwrap_or(u64::MAX)))
    }

    /// A count: `default` when absent, at most `max`.
    pub fn count(&self, key: &str, default: u32, max: u32) -> Result<u32> {
        Ok(self
            .number(key)?
            .map_or(default, |n| n.min(u64::from(max)) as u32))
    }

    /// An offset: 0 when absent, saturated at `u32::MAX`.
    pub fn offset(&self, key: &str) -> Result<u32> {
        Ok(self
            .number(key)?
            .map_or(0, |n| n.min(u64::from(u32::MAX)) as u32))
    }

    /// A signed whole number (years, times).
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        let Some(raw) = self.get(key).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        raw.parse().map(Some).map_err(|_| {
            Error::generic(format!(
                "parameter `{key}` must be a whole number, not `{}`",
                shorten(raw)
            ))
        })
    }

    /// `true`/`false` in any case (py-sonic sends `True`), or `1`/`0`.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        let Some(raw) = self.get(key).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(Error::generic(format!(
                "parameter `{key}` must be true or false, not `{}`",
                shorten(raw)
            ))),
        }
    }
}

/// Refuses clients of another major version of the protocol (codes 20 and 30).
pub fn check_version(params: &Params) -> Result<()> {
    let version = params.required("v")?;
    let major = version
        .trim()
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| {
            Error::generic(format!(
                "`v` must be a protocol version such as {API_VERSION}, not `{}`",
                shorten(version)
            ))
        })?;
    match major {
        0 => Err(Error::new(
            20,
            format!("client protocol {version} is too old; this server speaks {API_VERSION}"),
        )),
        1 => Ok(()),
        _ => Err(Error::new(
            30,
            format!("client protocol {version} is newer than this server's {API_VERSION}"),
        )),
    }
}

/// A user-supplied value cut short for an error message.
pub fn shorten(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_clamped_not_refused() {
        let p = Params::from_pairs(&[
            ("size", "99999999999999999999999999"),
            ("offset", "-5"),
            ("count", "7"),
            ("bad", "7x"),
        ]);
        assert_eq!(p.count("size", 10, 500).unwrap(), 500);
        assert_eq!(p.offset("offset").unwrap(), 0);
        assert_eq!(p.count("count", 10, 500).unwrap(), 7);
        assert_eq!(p.count("absent", 10, 500).unwrap(), 10);
        assert_eq!(p.offset("size").unwrap(), u32::MAX);
        assert_eq!(p.count("bad", 10, 500).unwrap_err().code, 0);
    }

    #[test]
    fn lists_booleans_and_required_values() {
        let p = Params::from_pairs(&[
            ("songId", "tr-1"),
            ("x", "True"),
            ("songId", "tr-2"),
            ("empty", " "),
        ]);
        assert_eq!(p.all("songId").collect::<Vec<_>>(), ["tr-1", "tr-2"]);
        assert_eq!(p.bool("x").unwrap(), Some(true));
        assert_eq!(p.required("empty").unwrap_err().code, 10);
        assert_eq!(p.required("songId").unwrap(), "tr-1");
    }

    #[test]
    fn versions_of_another_major_are_refused() {
        let v = |v: &str| check_version(&Params::from_pairs(&[("v", v)]));
        assert!(v("1.16.1").is_ok());
        assert!(v("1.2").is_ok());
        assert_eq!(v("2.0.0").unwrap_err().code, 30);
        assert_eq!(v("0.9").unwrap_err().code, 20);
        assert_eq!(v("latest").unwrap_err().code, 0);
        assert_eq!(check_version(&Params::default()).unwrap_err().code, 10);
    }
}
