//! `GET /search?q=&type=&limit=&offset=`: full-text search, grouped by kind.

use std::sync::Arc;

use cadenza_api::{PageRequest, SearchType};
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{ctx, ok_json, respond, ApiResult, Ctx, MAX_PAGE};
use crate::app::App;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    api_route!("search")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, search(cx)))
        .boxed()
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default, rename = "type")]
    kind: SearchType,
    limit: Option<u32>,
    offset: Option<u32>,
}

async fn search(cx: Ctx) -> ApiResult<Response> {
    let user = cx.user().await?;
    let q: SearchQuery = cx.query()?;
    let page = PageRequest {
        limit: q
            .limit
            .unwrap_or(PageRequest::default().limit)
            .min(MAX_PAGE),
        offset: q.offset.unwrap_or(0),
    };
    // The catalog treats the text as plain words, never as FTS syntax.
    let results = cx
        .db(move |c| c.search(&q.q, q.kind, page, user.id))
        .await?;
    ok_json(&results)
}
