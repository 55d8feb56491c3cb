//! Operations endpoints at the root, without a token: `/healthz`, `/readyz`, `/metrics`.

use std::sync::Arc;

use cadenza_api::Readiness;
use warp::filters::BoxedFilter;
use warp::http::header::CONTENT_TYPE;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::route::route;
use super::{ctx, json, respond, ApiError, ApiResult, Ctx};
use crate::app::App;
use crate::metrics::{Kind, Sample};

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let health = route!("healthz")
        .and(warp::get())
        .then(|route| respond(route, async { Ok("ok\n".into_response()) }));
    let ready = route!("readyz")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, ready(cx)));
    let metrics = route!("metrics")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, metrics(cx)));
    health.or(ready).unify().or(metrics).unify().boxed()
}

/// Ready when the catalog answers and a quorum of volumes is reachable; degraded (but still
/// ready) while any volume is not.
async fn ready(cx: Ctx) -> ApiResult<Response> {
    let catalog = match cx.db(|c| c.ping()).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("readiness: the catalog does not answer: {}", e.message);
            false
        }
    };
    let nodes = cx.db(|c| Ok::<_, ApiError>(c.nodes())).await?;
    let catalog_read_only = nodes.iter().any(|n| n.primary && !n.up);
    let store = &cx.app.store;
    let reachable = store.reachable_volumes().await;
    let readiness = Readiness {
        ready: catalog && reachable >= store.quorum(),
        catalog,
        catalog_read_only,
        catalog_databases: nodes.iter().map(crate::catalog_health::database).collect(),
        volumes_reachable: reachable as u32,
        volumes_total: store.volume_count() as u32,
        quorum: store.quorum() as u32,
        degraded: reachable < store.volume_count(),
    };
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json(status, &readiness))
}

async fn metrics(cx: Ctx) -> ApiResult<Response> {
    let c = cx.app.store.counters();
    let feeds = cx.app.feeds.counters();
    let reachable = cx.app.store.reachable_volumes().await;
    let gauge = |name, help, value: u64| Sample {
        name,
        help,
        kind: Kind::Gauge,
        value,
    };
    let counter = |name, help, value: u64| Sample {
        name,
        help,
        kind: Kind::Counter,
        value,
    };
    let extra = [
        counter(
            "cadenza_replica_failovers_total",
            "Reads that skipped a missing, unreadable or corrupt replica.",
            c.failovers,
        ),
        counter(
            "cadenza_corrupt_replicas_total",
            "Replicas found with the wrong size or hash.",
            c.corrupt_replicas,
        ),
        counter(
            "cadenza_replica_verifications_total",
            "Replicas hashed whole before serving (first read in this process, or changed).",
            c.replica_verifications,
        ),
        counter(
            "cadenza_store_bytes_read_total",
            "Bytes read from the blob store (cache hits included).",
            c.bytes_read,
        ),
        counter(
            "cadenza_cache_hits_total",
            "Blob reads served from the in-memory cache.",
            c.cache_hits,
        ),
        counter(
            "cadenza_cache_misses_total",
            "Cacheable blob reads that went to a volume.",
            c.cache_misses,
        ),
        Sample {
            name: "cadenza_cache_bytes",
            help: "Bytes held in the in-memory blob cache.",
            kind: Kind::Gauge,
            value: c.cache_bytes,
        },
        counter(
            "cadenza_blob_commits_total",
            "Blobs written to their replicas.",
            c.commits,
        ),
        counter(
            "cadenza_blob_commit_failures_total",
            "Blob commits that failed (and were rolled back).",
            c.commit_failures,
        ),
        counter(
            "cadenza_hedged_reads_total",
            "Reads that asked a second replica because an S3 replica was slow to answer.",
            c.hedged_reads,
        ),
        counter(
            "cadenza_stream_resumes_total",
            "Streams that broke off and carried on from another replica.",
            c.stream_resumes,
        ),
        counter(
            "cadenza_blob_degraded_commits_total",
            "Blob commits that met the write quorum with fewer than R replicas.",
            c.degraded_commits,
        ),
        counter(
            "cadenza_repaired_replicas_total",
            "Replicas copied by repairs.",
            c.repaired_replicas,
        ),
        counter(
            "cadenza_podcast_feed_readings_total",
            "Podcast feed readings started by this process.",
            feeds.readings,
        ),
        counter(
            "cadenza_podcast_feed_failures_total",
            "Podcast feed readings that failed (the feed could not be fetched or read).",
            feeds.failed_readings,
        ),
        Sample {
            name: "cadenza_podcast_feeds_failing",
            help: "Feeds whose reading failed in this process's last round over all feeds.",
            kind: Kind::Gauge,
            value: feeds.failing_feeds,
        },
        gauge(
            "cadenza_volumes",
            "Volumes configured (failure domains blobs are placed over).",
            cx.app.store.volume_count() as u64,
        ),
        gauge(
            "cadenza_volumes_reachable",
            "Volumes that answered just now; fewer than cadenza_volumes means degraded.",
            reachable as u64,
        ),
    ];
    let nodes = cx.db(|c| Ok::<_, ApiError>(c.nodes())).await?;
    let edge = cx.app.edge_stats().await;
    let mut text = cx.app.metrics.render(&extra, &nodes);
    text.push_str(&crate::metrics::cluster_text(
        cx.app.instance(),
        cx.app.cdn.is_some(),
        edge.as_ref(),
    ));
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        warp::http::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    Ok(response)
}
