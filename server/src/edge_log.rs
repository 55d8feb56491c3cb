//! The edge's access log, read for what only the edge knows: which CDN requests were served
//! from its cache, and how many requests each server behind it answered.
//!
//! nginx writes one line per request in the `cadenza_edge` format (tab-separated, see
//! [`FORMAT`] and `deploy/nginx.conf.in`); the query string is left out because signed links
//! and `?token=` carry secrets. Every server copy pointed at the log reads it from the start,
//! so each reports the same cluster-wide totals. Reading is incremental: each call reads only
//! what was appended since the last one (a log that shrank was rotated: it is read again from
//! the start and the totals restart).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cadenza_api::{EdgeStats, ServerRequests};

use crate::cdn::CDN_PREFIX;

/// The nginx `log_format` this module reads (`deploy/nginx.conf.in` declares it).
/// Fields after these (the edge adds `$http_range`, for people reading the log) are ignored.
pub const FORMAT: &str =
    "$msec\\t$status\\t$upstream_cache_status\\t$upstream_addr\\t$body_bytes_sent\\t$request_method\\t$uri";

/// Most bytes read per call, so a huge backlog is taken in steps rather than into memory.
const MAX_READ: u64 = 64 << 20;

pub struct EdgeLog {
    path: PathBuf,
    tally: Mutex<Tally>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    /// Bytes of the file taken into account (always at the end of a whole line).
    offset: u64,
    requests: u64,
    /// CDN requests by `$upstream_cache_status` (`-` when the edge answered by itself).
    cdn: BTreeMap<String, (u64, u64)>,
    cdn_refused: u64,
    /// Requests by the server that answered them (the last address nginx tried).
    servers: BTreeMap<String, u64>,
    first_at: Option<f64>,
    last_at: Option<f64>,
}

impl EdgeLog {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            tally: Mutex::new(Tally::default()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes in what was appended since the last call and returns the totals (blocking I/O).
    pub fn read(&self) -> io::Result<EdgeStats> {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            // nginx creates the log on its first request; nothing to count yet.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(tally.stats(&self.path)),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < tally.offset {
            *tally = Tally::default();
        }
        file.seek(SeekFrom::Start(tally.offset))?;
        let mut text = Vec::new();
        file.take(MAX_READ).read_to_end(&mut text)?;
        // Only whole lines: nginx may be writing the last one right now.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in text[..whole].split(|&b| b == b'\n') {
            tally.add(&String::from_utf8_lossy(line));
        }
        tally.offset += whole as u64;
        Ok(tally.stats(&self.path))
    }
}

impl Tally {
    fn add(&mut self, line: &str) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [msec, status, cache, upstream, bytes, _method, uri, ..] = fields[..] else {
            return; // a blank line, or another format
        };
        let (Ok(at), Ok(status), Ok(bytes)) = (
            msec.parse::<f64>(),
            status.parse::<u16>(),
            bytes.parse::<u64>(),
        ) else {
            return;
        };
        self.requests += 1;
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        if uri.starts_with(CDN_PREFIX) {
            let entry = self.cdn.entry(cache.to_string()).or_default();
            entry.0 += 1;
            entry.1 += bytes;
            if matches!(status, 403 | 410) {
                self.cdn_refused += 1;
            }
        }
        // "a:1, b:2" after a retry; "a:1 : b:2" after an internal redirect.
        if let Some(answered) = upstream
            .rsplit([',', ' '])
            .map(str::trim)
            .find(|a| !a.is_empty() && *a != ":")
            .filter(|a| *a != "-")
        {
            *self.servers.entry(answered.to_string()).or_default() += 1;
        }
    }

    fn stats(&self, path: &Path) -> EdgeStats {
        let sum = |statuses: &[&str]| {
            statuses
                .iter()
                .filter_map(|s| self.cdn.get(*s))
                .fold((0, 0), |(n, b), (n2, b2)| (n + n2, b + b2))
        };
        // nginx's cache statuses: served from the cache, or fetched from a server.
        let (hits, hit_bytes) = sum(&["HIT", "STALE", "UPDATING", "REVALIDATED"]);
        let (misses, miss_bytes) = sum(&["MISS", "EXPIRED", "BYPASS"]);
        EdgeStats {
            log: path.display().to_string(),
            requests: self.requests,
            cdn_hits: hits,
            cdn_misses: misses,
            cdn_refused: self.cdn_refused,
            cdn_hit_bytes: hit_bytes,
            cdn_miss_bytes: miss_bytes,
            first_at: self.first_at,
            last_at: self.last_at,
            servers: self
                .servers
                .iter()
                .map(|(addr, requests)| ServerRequests {
                    addr: addr.clone(),
                    requests: *requests,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn line(at: f64, status: u16, cache: &str, upstream: &str, bytes: u64, uri: &str) -> String {
        format!("{at:.3}\t{status}\t{cache}\t{upstream}\t{bytes}\tGET\t{uri}\n")
    }

    #[test]
    fn the_edge_config_logs_in_this_format() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nginx.conf.in");
        let conf = std::fs::read_to_string(path).expect("deploy/nginx.conf.in");
        assert!(
            conf.contains(&format!("log_format cadenza_edge \"{FORMAT}")),
            "the edge's log_format starts with {FORMAT}"
        );
    }

    #[test]
    fn counts_hits_misses_refusals_and_the_server_that_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edge.log");
        let log = EdgeLog::new(&path);
        let empty = log.read().unwrap();
        assert_eq!((empty.requests, empty.cdn_hits), (0, 0), "no file yet");

        let cdn = format!("/cdn/blobs/{HASH}");
        let mut file = File::create(&path).unwrap();
        let lines = [
            line(100.0, 206, "MISS", "127.0.0.1:1", 1000, &cdn),
            line(101.0, 206, "HIT", "-", 1000, &cdn),
            line(102.0, 206, "HIT", "-", 500, &cdn),
            line(103.0, 403, "-", "-", 150, &cdn),
            line(
                104.0,
                302,
                "-",
                "127.0.0.1:1, 127.0.0.1:2",
                0,
                "/api/v1/songs/1/stream",
            ),
            line(105.0, 200, "-", "127.0.0.1:2", 90, "/api/v1/search"),
        ];
        file.write_all(lines.concat().as_bytes()).unwrap();
        // Half a line: not counted until it is whole.
        file.write_all(b"106.000\t200\t-\t127.0.0.1:3").unwrap();
        file.flush().unwrap();
        let stats = log.read().unwrap();
        assert_eq!(stats.requests, 6);
        assert_eq!((stats.cdn_hits, stats.cdn_hit_bytes), (2, 1500));
        assert_eq!((stats.cdn_misses, stats.cdn_miss_bytes), (1, 1000));
        assert_eq!(stats.cdn_refused, 1);
        assert_eq!((stats.first_at, stats.last_at), (Some(100.0), Some(105.0)));
        let servers: Vec<(&str, u64)> = stats
            .servers
            .iter()
            .map(|s| (s.addr.as_str(), s.requests))
            .collect();
        assert_eq!(servers, [("127.0.0.1:1", 1), ("127.0.0.1:2", 2)]);

        file.write_all(b"\t9\tGET\t/api/v1/me\n").unwrap();
        let stats = log.read().unwrap();
        assert_eq!(stats.requests, 7, "the finished line counts once");
        assert_eq!(stats.servers.last().unwrap().addr, "127.0.0.1:3");
        assert_eq!(
            log.read().unwrap(),
            stats,
            "nothing new, nothing counted twice"
        );

        // Rotated: a shorter file starts the count again.
        std::fs::write(&path, line(200.0, 206, "HIT", "-", 7, &cdn)).unwrap();
        let stats = log.read().unwrap();
        assert_eq!((stats.requests, stats.cdn_hits), (1, 1));
    }
}
