//! CDN mode (see [`crate::cdn`]): the redirect an authorised stream request gets, and
//! `GET|HEAD /cdn/blobs/{sha256}?e=&s=`, the signed link itself, for the edge's cache misses
//! (and for clients talking to a server with no edge in front).

use std::sync::Arc;

use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::header::{HeaderValue, CACHE_CONTROL, LOCATION};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::route::route;
use super::stream::{public_until, serve_blob};
use super::{ctx, respond, unix_now, ApiError, ApiResult, Ctx};
use crate::app::App;
use crate::blob_cache::BlobKey;
use crate::cdn::{blob_path, CdnLinkError};
use cadenza_catalog::BlobRef;

impl From<CdnLinkError> for ApiError {
    fn from(e: CdnLinkError) -> Self {
        match e {
            CdnLinkError::BadSignature => {
                ApiError::new(StatusCode::FORBIDDEN, "cdn_link_invalid", e.to_string())
            }
            CdnLinkError::Expired => {
                ApiError::new(StatusCode::GONE, "cdn_link_expired", e.to_string())
            }
        }
    }
}

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    route!("cdn" / "blobs" / {hash: String})
        .and(warp::get().or(warp::head()).unify())
        .and(ctx(app))
        .then(|route, hash, cx| respond(route, blob(cx, hash)))
        .boxed()
}

/// In CDN mode, the answer to an authorised stream request: a redirect to the blob's signed
/// link. Private and never stored, because the link inside is this caller's to use.
pub fn redirect(cx: &Ctx, blob: &BlobRef) -> Option<Response> {
    let signer = cx.app.cdn.as_ref()?;
    let link = signer.link(&blob.hash, unix_now());
    let mut response = Response::new(Default::default());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    // The link is a path: a client resolves it against the address it used (the edge's).
    headers.insert(LOCATION, HeaderValue::from_str(&link).ok()?);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Some(response)
}

#[derive(Deserialize)]
struct LinkQuery {
    e: Option<String>,
    s: Option<String>,
}

async fn blob(cx: Ctx, hash: String) -> ApiResult<Response> {
    let Some(signer) = &cx.app.cdn else {
        return Err(ApiError::not_found(
            "CDN links are off on this server (no cdn_secret configured); \
             stream through /api/v1/songs/{id}/stream",
        ));
    };
    let q: LinkQuery = cx.query()?;
    let (Some(expires), Some(sig)) = (q.e, q.s) else {
        return Err(CdnLinkError::BadSignature.into());
    };
    let expires: i64 = expires
        .trim()
        .parse()
        .map_err(|_| ApiError::from(CdnLinkError::BadSignature))?;
    let now = unix_now();
    signer.verify(&blob_path(&hash), expires, &sig, now)?;
    let status = cx.db(move |c| c.blob_status(&hash)).await?;
    let key = match (status.song_id, status.episode_id) {
        (Some(id), _) => BlobKey::Song(id),
        (None, Some(id)) => BlobKey::Episode(id),
        (None, None) => {
            return Err(ApiError::not_found(format!(
                "no song or episode streams the blob {}; it was deleted",
                status.hash
            )))
        }
    };
    let blob = cx.blob(key).await?;
    serve_blob(&cx, &blob, public_until(expires, now)?, true).await
}
