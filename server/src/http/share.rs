//! Share links: `POST /songs/{id}/share` makes one; `GET /share/songs/{id}/stream` serves it
//! without a token (Range and conditional requests included).

use std::sync::Arc;

use cadenza_api::{ShareLink, ShareRequest, SongId};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::header::HOST;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::stream::{public_until, serve_blob};
use super::{
    body, ctx, ok_json, read_json_or_default, respond, unix_now, ApiError, ApiResult, BodyStream,
    Ctx,
};
use crate::app::App;
use crate::blob_cache::BlobKey;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let create = api_route!("songs" / {id: SongId} / "share")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, create(cx, id, body)));
    let stream = api_route!("share" / "songs" / {id: SongId} / "stream")
        .and(warp::get().or(warp::head()).unify())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, stream(cx, id)));
    create.or(stream).unify().boxed()
}

async fn create(cx: Ctx, id: SongId, body: BodyStream) -> ApiResult<Response> {
    cx.user().await?;
    let request: ShareRequest = read_json_or_default(body).await?;
    // The song must exist: a link to nothing would only fail later, for someone else.
    cx.db(move |c| c.song(id)).await?;
    let config = &cx.app.config;
    let ttl = match request.ttl_secs {
        Some(0) => return Err(ApiError::bad_request("ttl_secs must be at least 1")),
        Some(secs) => secs.min(config.share_max_ttl.as_secs()),
        None => config.share_ttl.as_secs(),
    };
    let expires_at = unix_now().saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let path = cx.app.share.path(id, expires_at);
    let url = format!("{}{path}", base_url(&cx)?);
    ok_json(&ShareLink {
        url,
        path,
        expires_at,
    })
}

/// Where clients reach this server: the configured public URL, else the request's Host
/// (https when a proxy says so with `X-Forwarded-Proto`).
fn base_url(cx: &Ctx) -> ApiResult<String> {
    if let Some(url) = &cx.app.config.public_url {
        return Ok(url.clone());
    }
    let host = cx
        .header(HOST)
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "cannot build a share link without a Host header; send one, or have the admin set public_url",
            )
        })?;
    let scheme = match cx.header("x-forwarded-proto") {
        Some(proto) if proto.trim().eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}"))
}

#[derive(Deserialize)]
struct ShareQuery {
    expires: Option<String>,
    sig: Option<String>,
}

async fn stream(cx: Ctx, id: SongId) -> ApiResult<Response> {
    let q: ShareQuery = cx.query()?;
    let (Some(expires), Some(sig)) = (q.expires, q.sig) else {
        return Err(crate::share::ShareError::BadSignature.into());
    };
    let expires: i64 = expires
        .trim()
        .parse()
        .map_err(|_| ApiError::from(crate::share::ShareError::BadSignature))?;
    let now = unix_now();
    cx.app.share.verify(id, expires, &sig, now)?;
    let blob = cx.blob(BlobKey::Song(id)).await?;
    serve_blob(&cx, &blob, public_until(expires, now)?, true).await
}
