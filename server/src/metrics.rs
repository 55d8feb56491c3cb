//! What `GET /metrics` shows, kept in the Prometheus project's client (`prometheus-client`)
//! and written in the Prometheus text format (version 0.0.4).
//!
//! Requests are labelled by method and route template (never the raw path), so the number of
//! series stays bounded. Latency histograms come in two kinds, because a response is two
//! things: `cadenza_http_request_duration_seconds` times every request until its headers are
//! ready (what the server makes a client wait for); `cadenza_stream_duration_seconds` times
//! an audio stream's body until its last byte is sent or the client goes away (seconds to
//! minutes, paced by the client). The streaming path pays one atomic add per chunk, as
//! before; the histograms are touched once per request and once per stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use cadenza_catalog::CatalogNode;

/// Route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The text format's `Content-Type`.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds (seconds) for time to headers: API calls take milliseconds (search's target
/// is 10 ms, so that is a bound), uploads are read whole before the answer and take seconds.
const REQUEST_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Upper bounds (seconds) for whole streams: a 64 KB range takes milliseconds, a song
/// fetched at a listener's pace minutes, a WebSocket session or an episode up to an hour.
const STREAM_BUCKETS: [f64; 16] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
    3600.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabels>,
    stream_bytes: Counter,
    streams_started: Counter,
    active_streams: Gauge,
    /// The two series of `cadenza_stream_duration_seconds`, resolved once so that ending a
    /// stream looks nothing up.
    http_stream_seconds: Histogram,
    websocket_seconds: Histogram,
    uploads: Family<OutcomeLabels, Counter>,
    upload_errors: Family<CodeLabels, Counter>,
    login_failures: Counter,
}

/// One extra sample from another component (the blob store's counters).
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// The full name as scraped (a counter's ends in `_total`).
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
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

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::default();
        let request_seconds: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS));
        let stream_bytes = Counter::default();
        let streams_started = Counter::default();
        let active_streams = Gauge::default();
        let stream_seconds: HistogramFamily<TransportLabels> =
            Family::new_with_constructor(|| Histogram::new(STREAM_BUCKETS));
        let transport =
            |transport| stream_seconds.get_or_create_owned(&TransportLabels { transport });
        let (http_stream_seconds, websocket_seconds) = (transport("http"), transport("websocket"));
        let uploads = Family::default();
        let upload_errors = Family::default();
        let login_failures = Counter::default();

        // Names without `_total` and help without a full stop: the client adds both.
        let mut registry = Registry::default();
        registry.register(
            "cadenza_http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "cadenza_http_request_duration_seconds",
            "Time from a request's arrival until its response headers are ready, per method \
             and route template (a stream's body is timed by cadenza_stream_duration_seconds)",
            request_seconds.clone(),
        );
        registry.register(
            "cadenza_stream_bytes",
            "Audio bytes sent by streams, share links and WebSockets",
            stream_bytes.clone(),
        );
        registry.register(
            "cadenza_streams",
            "Audio streams started",
            streams_started.clone(),
        );
        registry.register(
            "cadenza_active_streams",
            "Audio streams currently sending",
            active_streams.clone(),
        );
        registry.register(
            "cadenza_stream_duration_seconds",
            "Time from the start of an audio stream's body until its last byte was sent or \
             the client went away, by transport (http: one GET or range; websocket: a whole session)",
            stream_seconds,
        );
        registry.register(
            "cadenza_uploads",
            "Accepted uploads: created new, or duplicates of stored bytes",
            uploads.clone(),
        );
        registry.register(
            "cadenza_upload_errors",
            "Refused or failed uploads by error code",
            upload_errors.clone(),
        );
        registry.register(
            "cadenza_login_failures",
            "Failed logins (wrong credentials or throttled)",
            login_failures.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            stream_bytes,
            streams_started,
            active_streams,
            http_stream_seconds,
            websocket_seconds,
            uploads,
            upload_errors,
            login_failures,
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Counts a request and times it until its headers were ready.
    pub fn record_request(
        &self,
        method: &'static str,
        route: &'static str,
        status: u16,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
    }

    /// Marks an HTTP stream as running until the guard is dropped (at the end of the body,
    /// or when the client goes away and the server drops the body).
    pub fn stream_started(self: &Arc<Self>) -> StreamGuard {
        self.start(self.http_stream_seconds.clone())
    }

    /// Marks a WebSocket session as a running stream until the guard is dropped.
    pub fn websocket_started(self: &Arc<Self>) -> StreamGuard {
        self.start(self.websocket_seconds.clone())
    }

    fn start(self: &Arc<Self>, duration: Histogram) -> StreamGuard {
        self.streams_started.inc();
        self.active_streams.inc();
        StreamGuard {
            metrics: Arc::clone(self),
            started: Instant::now(),
            duration,
        }
    }

    pub fn active_streams(&self) -> i64 {
        self.active_streams.get()
    }

    pub fn stream_bytes(&self) -> u64 {
        self.stream_bytes.get()
    }

    /// `outcome` is `created` or `duplicate`.
    pub fn upload_done(&self, outcome: &'static str) {
        self.uploads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// `code` is the error code of the answer (a small fixed set).
    pub fn upload_failed(&self, code: &'static str) {
        self.upload_errors.get_or_create(&CodeLabels { code }).inc();
    }

    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    /// The Prometheus text exposition of everything, plus `extra` samples and the
    /// catalog's databases.
    pub fn render(&self, extra: &[Sample], catalog: &[CatalogNode]) -> String {
        let mut extras = Registry::default();
        crate::catalog_health::register(&mut extras, catalog);
        for sample in extra {
            let help = sample.help.strip_suffix('.').unwrap_or(sample.help);
            match sample.kind {
                Kind::Counter => {
                    let name = sample.name.strip_suffix("_total").unwrap_or(sample.name);
                    extras.register(name, help, ConstCounter::new(sample.value));
                }
                Kind::Gauge => extras.register(sample.name, help, ConstGauge::new(sample.value)),
            }
        }
        let mut out = String::with_capacity(8192);
        // Writing into a String cannot fail; the encoder's only errors are the writer's.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        let _ = prometheus_text::encode(&mut out, &extras);
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct InstanceLabels {
    instance: String,
    cdn: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
}

/// The cluster's part of `/metrics`: which copy answered the scrape (and whether CDN mode is
/// on), and, when the edge log is read, CDN hits and misses and requests per server.
/// Built per scrape: the edge's figures are totals read from its log, not counted here.
pub fn cluster_text(instance: &str, cdn: bool, edge: Option<&cadenza_api::EdgeStats>) -> String {
    let mut registry = Registry::default();
    let info: Family<InstanceLabels, Gauge> = Family::default();
    info.get_or_create(&InstanceLabels {
        instance: instance.to_string(),
        cdn: if cdn { "on" } else { "off" },
    })
    .set(1);
    registry.register(
        "cadenza_instance",
        "This server copy's name (X-Cadenza-Server) and whether CDN mode is on",
        info,
    );
    if let Some(edge) = edge {
        let requests: Family<CacheLabels, Counter> = Family::default();
        let bytes: Family<CacheLabels, Counter> = Family::default();
        for (cache, n, b) in [
            ("hit", edge.cdn_hits, edge.cdn_hit_bytes),
            ("miss", edge.cdn_misses, edge.cdn_miss_bytes),
        ] {
            requests.get_or_create(&CacheLabels { cache }).inc_by(n);
            bytes.get_or_create(&CacheLabels { cache }).inc_by(b);
        }
        requests
            .get_or_create(&CacheLabels { cache: "refused" })
            .inc_by(edge.cdn_refused);
        let servers: Family<UpstreamLabels, Counter> = Family::default();
        for server in &edge.servers {
            servers
                .get_or_create(&UpstreamLabels {
                    upstream: server.addr.clone(),
                })
                .inc_by(server.requests);
        }
        registry.register(
            "cadenza_edge_cdn_requests",
            "CDN requests the edge logged: served from its cache (hit), fetched from a server \
             (miss), refused for a bad or expired signature (refused)",
            requests,
        );
        registry.register(
            "cadenza_edge_cdn_bytes",
            "Bytes of CDN responses the edge logged, served from its cache or fetched",
            bytes,
        );
        registry.register(
            "cadenza_edge_upstream_requests",
            "Requests the edge logged per server that answered them",
            servers,
        );
        registry.register(
            "cadenza_edge_requests",
            "Every request the edge logged",
            ConstCounter::new(edge.requests),
        );
    }
    let mut out = String::with_capacity(1024);
    let _ = prometheus_text::encode(&mut out, &registry);
    out
}

/// Decrements the active-stream gauge and times the stream when dropped; counts the bytes
/// sent meanwhile.
#[derive(Debug)]
pub struct StreamGuard {
    metrics: Arc<Metrics>,
    started: Instant,
    duration: Histogram,
}

impl StreamGuard {
    pub fn sent(&self, bytes: u64) {
        self.metrics.stream_bytes.inc_by(bytes);
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.metrics.active_streams.dec();
        self.duration.observe(self.started.elapsed().as_secs_f64());
    }
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
        let text = m.render(&[], &[]);
        assert!(text.contains(
            "cadenza_http_requests_total{method=\"GET\",route=\"/api/v1/songs/{id}\",status=\"200\"} 2\n"
        ), "{text}");
        assert!(text.contains("status=\"404\"} 1\n"));
        assert!(text.contains("route=\"unmatched\""));
        assert!(text.contains("# TYPE cadenza_http_requests_total counter\n"));
    }

    #[test]
    fn request_latency_is_a_histogram_per_method_and_route() {
        let m = Metrics::new();
        let route = "/api/v1/search";
        m.record_request("GET", route, 200, Duration::from_millis(3));
        m.record_request("GET", route, 200, Duration::from_millis(7));
        m.record_request("GET", route, 500, Duration::from_millis(40));
        let text = m.render(&[], &[]);
        let series = |suffix: &str| {
            format!(
                "cadenza_http_request_duration_seconds_{suffix}{{method=\"GET\",route=\"{route}\""
            )
        };
        let value = |line: &str| -> f64 {
            let found = text
                .lines()
                .find(|l| l.starts_with(line))
                .unwrap_or_else(|| {
                    panic!("no {line} in:\n{text}");
                });
            found.rsplit_once(' ').unwrap().1.parse().unwrap()
        };
        assert!(text.contains("# TYPE cadenza_http_request_duration_seconds histogram\n"));
        assert_eq!(value(&(series("bucket") + ",le=\"0.0025\"}")), 0.0);
        assert_eq!(value(&(series("bucket") + ",le=\"0.005\"}")), 1.0);
        assert_eq!(value(&(series("bucket") + ",le=\"0.01\"}")), 2.0);
        assert_eq!(value(&(series("bucket") + ",le=\"0.05\"}")), 3.0);
        assert_eq!(value(&(series("bucket") + ",le=\"+Inf\"}")), 3.0);
        assert_eq!(value(&(series("count") + "}")), 3.0);
        assert!((value(&(series("sum") + "}")) - 0.050).abs() < 1e-9);
    }

    #[test]
    fn stream_guards_track_active_streams_bytes_and_duration() {
        let m = Metrics::new();
        let a = m.stream_started();
        let b = m.stream_started();
        let ws = m.websocket_started();
        a.sent(100);
        b.sent(23);
        assert_eq!(m.active_streams(), 3);
        drop(a);
        assert_eq!(m.active_streams(), 2);
        drop(b);
        drop(ws);
        assert_eq!(m.active_streams(), 0);
        let text = m.render(&[], &[]);
        assert!(text.contains("cadenza_stream_bytes_total 123\n"), "{text}");
        assert!(text.contains("cadenza_streams_total 3\n"));
        assert!(text.contains("cadenza_active_streams 0\n"));
        assert!(text.contains("cadenza_stream_duration_seconds_count{transport=\"http\"} 2\n"));
        assert!(text.contains("cadenza_stream_duration_seconds_count{transport=\"websocket\"} 1\n"));
    }

    #[test]
    fn uploads_errors_and_extra_samples_render() {
        let m = Metrics::new();
        m.upload_done("created");
        m.upload_failed("payload_too_large");
        m.upload_failed("payload_too_large");
        let text = m.render(
            &[
                Sample {
                    name: "cadenza_replica_failovers_total",
                    help: "Reads that moved to another replica.",
                    kind: Kind::Counter,
                    value: 3,
                },
                Sample {
                    name: "cadenza_cache_bytes",
                    help: "Bytes held in the in-memory blob cache.",
                    kind: Kind::Gauge,
                    value: 4096,
                },
            ],
            &[],
        );
        assert!(text.contains("cadenza_uploads_total{outcome=\"created\"} 1\n"));
        assert!(text.contains("cadenza_upload_errors_total{code=\"payload_too_large\"} 2\n"));
        assert!(text.contains(
            "# TYPE cadenza_replica_failovers_total counter\ncadenza_replica_failovers_total 3\n"
        ));
        assert!(text.contains(
            "# HELP cadenza_cache_bytes Bytes held in the in-memory blob cache.\n\
             # TYPE cadenza_cache_bytes gauge\ncadenza_cache_bytes 4096\n"
        ));
    }

    #[test]
    fn cluster_metrics_name_the_instance_and_the_edge_figures() {
        let text = cluster_text("web-1:4533", true, None);
        assert!(
            text.contains("cadenza_instance{instance=\"web-1:4533\",cdn=\"on\"} 1\n"),
            "{text}"
        );
        assert!(
            !text.contains("cadenza_edge"),
            "no edge log, no edge figures"
        );
        let edge = cadenza_api::EdgeStats {
            requests: 9,
            cdn_hits: 4,
            cdn_hit_bytes: 4000,
            cdn_misses: 1,
            cdn_miss_bytes: 1000,
            cdn_refused: 2,
            servers: vec![cadenza_api::ServerRequests {
                addr: "127.0.0.1:7001".into(),
                requests: 3,
            }],
            ..Default::default()
        };
        let text = cluster_text("web-1:4533", false, Some(&edge));
        for line in [
            "cadenza_instance{instance=\"web-1:4533\",cdn=\"off\"} 1\n",
            "cadenza_edge_cdn_requests_total{cache=\"hit\"} 4\n",
            "cadenza_edge_cdn_requests_total{cache=\"miss\"} 1\n",
            "cadenza_edge_cdn_requests_total{cache=\"refused\"} 2\n",
            "cadenza_edge_cdn_bytes_total{cache=\"hit\"} 4000\n",
            "cadenza_edge_upstream_requests_total{upstream=\"127.0.0.1:7001\"} 3\n",
            "cadenza_edge_requests_total 9\n",
        ] {
            assert!(text.contains(line), "no {line:?} in:\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.record_request("GET", "a\"b\\c\nd", 200, Duration::ZERO);
        let text = m.render(&[], &[]);
        assert!(text.contains("route=\"a\\\"b\\\\c\\nd\""), "{text}");
        assert_eq!(method_label(&warp::http::Method::GET), "GET");
        let odd = warp::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "OTHER");
    }
}
