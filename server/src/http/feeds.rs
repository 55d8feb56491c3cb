//! Podcast feeds read by the server, for admins: `POST /admin/podcasts/feeds` adds a feed
//! and downloads its episodes; `POST /admin/podcasts/refresh` reads every feed now. Both
//! answer when the work is done, with what it did.

use std::sync::Arc;

use cadenza_api::AddFeed;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{body, ctx, ok_json, read_json, respond, ApiError, ApiResult, BodyStream, Ctx};
use crate::app::App;
use crate::podcasts::{self, FeedError};

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let add = api_route!("admin" / "podcasts" / "feeds")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, add(cx, body)));
    let refresh = api_route!("admin" / "podcasts" / "refresh")
        .and(warp::post())
        .and(ctx(app))
        .then(|route, cx| respond(route, refresh(cx)));
    add.or(refresh).unify().boxed()
}

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Url(_) => ApiError::bad_request(e.to_string()),
            FeedError::Fetch { .. } | FeedError::Status { .. } | FeedError::Parse { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "feed_unreadable", e.to_string())
            }
            FeedError::Catalog(e) => e.into(),
            FeedError::Task(e) => e.into(),
        }
    }
}

async fn add(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    let admin = cx.admin().await?;
    let AddFeed { feed_url } = read_json(body).await?;
    let report = podcasts::add_feed(&cx.app, &feed_url).await?;
    tracing::info!(
        admin = %admin.username,
        podcast = report.podcast.id,
        "read the feed {feed_url}: {} new episodes",
        report.added.len()
    );
    ok_json(&report)
}

async fn refresh(cx: Ctx) -> ApiResult<Response> {
    cx.admin().await?;
    ok_json(&podcasts::refresh_all(&cx.app).await)
}
