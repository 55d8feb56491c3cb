//! Counters for `GET /metrics`, rendered in the Prometheus text format by hand: a few atomics
//! and one map of request counts keyed by route template (never the raw path, so the number
//! of series stays bounded).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, RequestStats>>,
    stream_bytes: AtomicU64,
    streams_started: AtomicU64,
    active_streams: AtomicI64,
    uploads: Mutex<BTreeMap<&'static str, u64>>,
    upload_errors: Mutex<BTreeMap<String, u64>>,
    login_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Default, Clone, Copy)]
struct RequestStats {
    count: u64,
    seconds: f64,
}

/// One extra sample from another component (the blob store's counters).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// Method label: the standard methods by name, anything else lumped together so a client
/// inventing methods cannot create series.
pub fn method_label(method: &warp::http::Method) -> &'static str {
    use warp::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn record_request(
        &self,
        method: &'static str,
        route: &'static str,
        status: u16,
        took: Duration,
    ) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let stats = requests
            .entry(RequestKey {
                method,
                route,
                status,
            })
            .or_default();
        stats.count += 1;
        stats.seconds += took.as_secs_f64();
    }

    /// Marks a stream as running until the guard is dropped (at the end of the body, or when
    /// the client goes away and the server drops the body).
    pub fn stream_started(self: &Arc<Self>) -> StreamGuard {
        self.streams_started.fetch_add(1, Ordering::Relaxed);
        self.active_streams.fetch_add(1, Ordering::Relaxed);
        StreamGuard {
            metrics: Arc::clone(self),
        }
    }

    pub fn active_streams(&self) -> i64 {
        self.active_streams.load(Ordering::Relaxed)
    }

    pub fn stream_bytes(&self) -> u64 {
        self.stream_bytes.load(Ordering::Relaxed)
    }

    /// `outcome` is `created` or `duplicate`.
    pub fn upload_done(&self, outcome: &'static str) {
        let mut uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        *uploads.entry(outcome).or_default() += 1;
    }

    /// `code` is the error code of the answer (a small fixed set).
    pub fn upload_failed(&self, code: &str) {
        let mut errors = self.upload_errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(code.to_string()).or_default() += 1;
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything, plus `extra` samples.
    pub fn render(&self, extra: &[Sample]) -> String {
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "cadenza_http_requests_total",
            "HTTP requests by method, route template and status.",
            Kind::Counter,
        );
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (key, stats) in &requests {
            let _ = writeln!(
                out,
                "cadenza_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                key.method,
                escape(key.route),
                key.status,
                stats.count
            );
        }
        header(
            &mut out,
            "cadenza_http_request_seconds_total",
            "Time spent answering (until the headers are sent), per method and route template.",
            Kind::Counter,
        );
        let mut durations: BTreeMap<(&str, &str), RequestStats> = BTreeMap::new();
        for (key, stats) in &requests {
            let d = durations.entry((key.method, key.route)).or_default();
            d.count += stats.count;
            d.seconds += stats.seconds;
        }
        for ((method, route), stats) in &durations {
            let _ = writeln!(
                out,
                "cadenza_http_request_seconds_total{{method=\"{method}\",route=\"{}\"}} {}",
                escape(route),
                stats.seconds
            );
        }
        simple(
            &mut out,
            "cadenza_stream_bytes_total",
            "Audio bytes sent by streams, share links and WebSockets.",
            Kind::Counter,
            self.stream_bytes() as f64,
        );
        simple(
            &mut out,
            "cadenza_streams_total",
            "Audio streams started.",
            Kind::Counter,
            self.streams_started.load(Ordering::Relaxed) as f64,
        );
        simple(
            &mut out,
            "cadenza_active_streams",
            "Audio streams currently sending.",
            Kind::Gauge,
            self.active_streams() as f64,
        );
        header(
            &mut out,
            "cadenza_uploads_total",
            "Accepted uploads: created new, or duplicates of stored bytes.",
            Kind::Counter,
        );
        for (outcome, count) in self
            .uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "cadenza_uploads_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        header(
            &mut out,
            "cadenza_upload_errors_total",
            "Refused or failed uploads by error code.",
            Kind::Counter,
        );
        for (code, count) in self
            .upload_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "cadenza_upload_errors_total{{code=\"{}\"}} {count}",
                escape(code)
            );
        }
        simple(
            &mut out,
            "cadenza_login_failures_total",
            "Failed logins (wrong credentials or throttled).",
            Kind::Counter,
            self.login_failures.load(Ordering::Relaxed) as f64,
        );
        for sample in extra {
            simple(
                &mut out,
                sample.name,
                sample.help,
                sample.kind,
                sample.value,
            );
        }
        out
    }
}

/// Decrements the active-stream gauge when dropped; counts the bytes sent meanwhile.
#[derive(Debug)]
pub struct StreamGuard {
    metrics: Arc<Metrics>,
}

impl StreamGuard {
    pub fn sent(&self, bytes: u64) {
        self.metrics
            .stream_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.metrics.active_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: Kind) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
}

fn simple(out: &mut String, name: &str, help: &str, kind: Kind, value: f64) {
    header(out, name, help, kind);
    let _ = writeln!(out, "{name} {value}");
}

/// Escapes a label value (backslash, quote, newline) per the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_template_and_status() {
        let m = Metrics::new();
        m.record_request("GET", "/api/v1/songs/{id}", 200, Duration::from_millis(5));
        m.record_request("GET", "/api/v1/songs/{id}", 200, Duration::from_millis(5));
        m.record_request("GET", "/api/v1/songs/{id}", 404, Duration::from_millis(1));
        m.record_request("OTHER", UNMATCHED, 404, Duration::ZERO);
        let text = m.render(&[]);
        assert!(text.contains(
            "cadenza_http_requests_total{method=\"GET\",route=\"/api/v1/songs/{id}\",status=\"200\"} 2\n"
        ), "{text}");
        assert!(text.contains("status=\"404\"} 1\n"));
        assert!(text.contains("route=\"unmatched\""));
        assert!(text.contains("# TYPE cadenza_http_requests_total counter\n"));
    }

    #[test]
    fn stream_guards_track_active_streams_and_bytes() {
        let m = Metrics::new();
        let a = m.stream_started();
        let b = m.stream_started();
        a.sent(100);
        b.sent(23);
        assert_eq!(m.active_streams(), 2);
        drop(a);
        assert_eq!(m.active_streams(), 1);
        drop(b);
        assert_eq!(m.active_streams(), 0);
        let text = m.render(&[]);
        assert!(text.contains("cadenza_stream_bytes_total 123\n"), "{text}");
        assert!(text.contains("cadenza_streams_total 2\n"));
        assert!(text.contains("cadenza_active_streams 0\n"));
    }

    #[test]
    fn uploads_errors_and_extra_samples_render() {
        let m = Metrics::new();
        m.upload_done("created");
        m.upload_failed("payload_too_large");
        m.upload_failed("payload_too_large");
        let text = m.render(&[Sample {
            name: "cadenza_replica_failovers_total",
            help: "Reads that moved to another replica.",
            kind: Kind::Counter,
            value: 3.0,
        }]);
        assert!(text.contains("cadenza_uploads_total{outcome=\"created\"} 1\n"));
        assert!(text.contains("cadenza_upload_errors_total{code=\"payload_too_large\"} 2\n"));
        assert!(text.contains(
            "# TYPE cadenza_replica_failovers_total counter\ncadenza_replica_failovers_total 3\n"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(method_label(&warp::http::Method::GET), "GET");
        let odd = warp::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
    }
}
