//! `/metrics` of the real server: the request latency histogram of a route it was called on.

mod common;

use common::TestServer;

/// One series of a histogram as scraped: buckets by upper bound (cumulative counts), `_sum`
/// and `_count`.
struct Histogram {
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

fn histogram(text: &str, name: &str, labels: &str) -> Histogram {
    let prefix = format!("{name}_bucket{{{labels},le=\"");
    let buckets = text
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").expect("a bucket line");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().expect("a numeric bucket bound")
            };
            (le, count.parse().expect("a bucket count"))
        })
        .collect();
    Histogram {
        buckets,
        sum: common::metric_value(text, &format!("{name}_sum{{{labels}}}")),
        count: common::metric_value(text, &format!("{name}_count{{{labels}}}")),
    }
}

#[tokio::test]
async fn request_latency_is_a_histogram_per_method_and_route() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let song = common::upload(&admin, &common::good_files()[0]).await.song;
    for _ in 0..3 {
        let body = admin
            .stream_song(song.id, None)
            .await
            .expect("stream the song")
            .bytes()
            .await
            .expect("the whole body");
        assert_eq!(body.len() as u64, song.size);
    }
    let missing = admin.stream_song(999_999, None).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let text = server.metrics().await;
    let labels = "method=\"GET\",route=\"/api/v1/songs/{id}/stream\"";
    let h = histogram(&text, "cadenza_http_request_duration_seconds", labels);
    assert!(
        text.contains("# TYPE cadenza_http_request_duration_seconds histogram\n"),
        "{text}"
    );
    assert!(
        h.buckets.len() >= 10,
        "too few buckets to read a p99 from:\n{text}"
    );
    assert!(
        h.buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "bounds rise and counts are cumulative:\n{text}"
    );
    assert!(
        h.buckets[0].0 <= 0.001,
        "the lowest bound resolves milliseconds"
    );
    assert_eq!(h.buckets.last(), Some(&(f64::INFINITY, h.count)));
    // Every GET of the route is in it once, whatever its status: 3 streams and one 404.
    let requests = |status: u16| {
        common::metric_value(
            &text,
            &format!("cadenza_http_requests_total{{{labels},status=\"{status}\"}}"),
        )
    };
    assert_eq!((requests(200), requests(404)), (3.0, 1.0), "{text}");
    assert_eq!(h.count, 4.0, "{text}");
    assert!(h.sum > 0.0 && h.sum.is_finite(), "{text}");

    // Another route has its own series: the upload above is the one POST to its route.
    let upload = histogram(
        &text,
        "cadenza_http_request_duration_seconds",
        "method=\"POST\",route=\"/api/v1/admin/songs\"",
    );
    assert_eq!(upload.count, 1.0, "{text}");
}
