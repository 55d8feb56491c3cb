//! Serving blobs over HTTP: `GET|HEAD /songs/{id}/stream`, `/episodes/{id}/stream`,
//! `/albums/{id}/cover`, and (through [`serve_blob`]) share links.
//!
//! Bytes stream from the store chunk by chunk; nothing is buffered whole. The ETag is the
//! content hash, so it is strong and identical on every server copy.
//!
//! Caching: audio never changes under its URL (a song id always means the same bytes), so
//! responses are `immutable` for a year. Token-authenticated answers are `private`: a shared
//! cache (CDN) must not hand them to someone else. Share links are `public`, because the
//! signed URL itself is the authorisation, but only for as long as the link lives.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use cadenza_api::{AlbumId, EpisodeId, SongId};
use cadenza_catalog::BlobRef;
use cadenza_store::{BlobBody, StoreError};
use futures::Stream;
use warp::filters::BoxedFilter;
use warp::http::header::{
    HeaderValue, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, LAST_MODIFIED, RANGE,
};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::range::{etag_for, http_date, plan, Plan, Preconditions, Validators};
use super::route::api_route;
use super::{ctx, respond, ApiError, ApiResult, Ctx};
use crate::app::App;
use crate::blob_cache::BlobKey;
use crate::metrics::StreamGuard;

/// A year: the longest `max-age` caches honour in practice (RFC 8246 examples use it).
pub const IMMUTABLE_MAX_AGE: u64 = 31_536_000;

/// `Cache-Control` of token-authenticated audio and covers (a year is [`IMMUTABLE_MAX_AGE`]).
pub const PRIVATE_IMMUTABLE: &str = "private, max-age=31536000, immutable";

fn private_immutable() -> HeaderValue {
    HeaderValue::from_static(PRIVATE_IMMUTABLE)
}

/// `Cache-Control` of a signed link (share or CDN): public, because the URL itself is the
/// authorisation, but never past the link's own expiry.
pub fn public_until(expires: i64, now: i64) -> ApiResult<HeaderValue> {
    let max_age = u64::try_from(expires - now)
        .unwrap_or(0)
        .min(IMMUTABLE_MAX_AGE);
    HeaderValue::from_str(&format!("public, max-age={max_age}, immutable"))
        .map_err(|e| ApiError::internal("building Cache-Control", &e))
}

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let get_or_head = || warp::get().or(warp::head()).unify();
    let song = api_route!("songs" / {id: SongId} / "stream")
        .and(get_or_head())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, song(cx, id)));
    let episode = api_route!("episodes" / {id: EpisodeId} / "stream")
        .and(get_or_head())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, episode(cx, id)));
    let cover = api_route!("albums" / {id: AlbumId} / "cover")
        .and(get_or_head())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, cover(cx, id)));
    song.or(episode).unify().or(cover).unify().boxed()
}

async fn song(cx: Ctx, id: SongId) -> ApiResult<Response> {
    let blob = cx.streaming_blob(BlobKey::Song(id)).await?;
    if let Some(redirect) = super::cdn::redirect(&cx, &blob) {
        return Ok(redirect);
    }
    serve_blob(&cx, &blob, private_immutable(), true).await
}

async fn episode(cx: Ctx, id: EpisodeId) -> ApiResult<Response> {
    let blob = cx.streaming_blob(BlobKey::Episode(id)).await?;
    if let Some(redirect) = super::cdn::redirect(&cx, &blob) {
        return Ok(redirect);
    }
    serve_blob(&cx, &blob, private_immutable(), true).await
}

async fn cover(cx: Ctx, id: AlbumId) -> ApiResult<Response> {
    let blob = cx
        .db_as_streaming_user(move |c| c.album_cover(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("album {id} has no cover image")))?;
    serve_blob(&cx, &blob, private_immutable(), false).await
}

/// Answers a GET or HEAD for `blob`: 304, 200, 206 or 416, with validators and caching
/// headers. `audio` streams count in the stream metrics; covers do not.
pub async fn serve_blob(
    cx: &Ctx,
    blob: &BlobRef,
    cache_control: HeaderValue,
    audio: bool,
) -> ApiResult<Response> {
    let etag = etag_for(&blob.hash);
    let last_modified = http_date(blob.created_at);
    let header = |name| header_str(&cx.headers, name);
    let pre = Preconditions {
        range: header(RANGE),
        if_range: header(IF_RANGE),
        if_none_match: header(IF_NONE_MATCH),
        if_modified_since: header(IF_MODIFIED_SINCE),
    };
    let validators = Validators {
        etag: &etag,
        last_modified: blob.created_at,
        len: blob.size,
    };
    let mut headers = HeaderMap::with_capacity(8);
    insert(&mut headers, ETAG, &etag);
    insert(&mut headers, LAST_MODIFIED, &last_modified);
    headers.insert(CACHE_CONTROL, cache_control);
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let (status, start, end) = match plan(&pre, &validators) {
        Plan::NotModified => {
            let mut response = Response::new(Default::default());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = headers;
            return Ok(response);
        }
        Plan::Unsatisfiable => return Err(ApiError::unsatisfiable(blob.size)),
        Plan::Full => (StatusCode::OK, 0, blob.size),
        Plan::Partial { start, end } => {
            insert(
                &mut headers,
                CONTENT_RANGE,
                &format!("bytes {start}-{end}/{}", blob.size),
            );
            (StatusCode::PARTIAL_CONTENT, start, end + 1)
        }
    };
    insert(&mut headers, CONTENT_TYPE, &blob.content_type);
    insert(&mut headers, CONTENT_LENGTH, &(end - start).to_string());

    let mut response = if cx.method == Method::HEAD || start == end {
        Response::new(Default::default())
    } else {
        let body = cx
            .app
            .store
            .read(&blob.hash, blob.size, Some(start..end))
            .await
            .map_err(|e| store_read_error(blob, e))?;
        let guard = audio.then(|| cx.app.metrics.stream_started());
        warp::reply::stream(Metered::new(body, guard, blob.hash.clone())).into_response()
    };
    *response.status_mut() = status;
    // The body's own headers (none for a stream) give way to ours.
    let body_headers = std::mem::replace(response.headers_mut(), headers);
    for (name, value) in body_headers.iter() {
        if !response.headers().contains_key(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response)
}

fn store_read_error(blob: &BlobRef, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound { .. } | StoreError::Unavailable { .. } => {
            tracing::error!("cannot read {} ({}): {e}", blob.used_by, blob.hash);
            ApiError::unavailable(format!(
                "the bytes of {} cannot be read from any volume right now; \
                 an admin should run a replication check (cadenza-admin replication --repair)",
                blob.used_by
            ))
        }
        e => ApiError::internal(&format!("reading {}", blob.used_by), &e),
    }
}

fn header_str(headers: &HeaderMap, name: warp::http::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn insert(headers: &mut HeaderMap, name: warp::http::header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// A blob body that counts the bytes it hands out and holds the active-stream guard until
/// it is dropped (finished, failed or abandoned by the client).
///
/// warp wants `Sync` bodies; the store's stream is only `Send`. The mutex is never
/// contended (polling takes `&mut self`), it only makes the wrapper `Sync`.
pub struct Metered {
    inner: Mutex<BlobBody>,
    guard: Option<StreamGuard>,
    hash: String,
}

impl Metered {
    pub fn new(inner: BlobBody, guard: Option<StreamGuard>, hash: String) -> Self {
        Self {
            inner: Mutex::new(inner),
            guard,
            hash,
        }
    }
}

impl Stream for Metered {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let inner = this.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        let polled = inner.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(bytes))) => {
                if let Some(guard) = &this.guard {
                    guard.sent(bytes.len() as u64);
                }
            }
            Poll::Ready(Some(Err(e))) => {
                // Headers are out already: the connection is cut so the client sees a short
                // body (and retries) rather than wrong bytes.
                tracing::warn!("stream of blob {} failed part-way: {e}", this.hash);
            }
            _ => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_cache_control_says_a_year() {
        assert_eq!(
            PRIVATE_IMMUTABLE,
            format!("private, max-age={IMMUTABLE_MAX_AGE}, immutable")
        );
    }
}
