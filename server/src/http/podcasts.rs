//! Podcasts for listeners: browsing, episodes, and per-user resume positions.
//! (Creating podcasts and uploading episodes is in `admin`; episode audio in `stream`.)

use std::sync::Arc;

use cadenza_api::{EpisodeId, PodcastId, ResumePosition};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{
    body, ctx, no_content, ok_json, read_json, respond, unix_now, ApiResult, BodyStream, Ctx,
};
use crate::app::App;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let list = api_route!("podcasts")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, list(cx)));
    let podcast = api_route!("podcasts" / {id: PodcastId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, podcast(cx, id)));
    let episode = api_route!("episodes" / {id: EpisodeId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, episode(cx, id)));
    let get_position = api_route!("episodes" / {id: EpisodeId} / "position")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, get_position(cx, id)));
    let set_position = api_route!("episodes" / {id: EpisodeId} / "position")
        .and(warp::put())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, set_position(cx, id, body)));
    list.or(podcast)
        .unify()
        .or(episode)
        .unify()
        .or(get_position)
        .unify()
        .or(set_position)
        .unify()
        .boxed()
}

async fn list(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.podcasts(page)).await?)
}

async fn podcast(cx: Ctx, id: PodcastId) -> ApiResult<Response> {
    let user = cx.user().await?;
    ok_json(&cx.db(move |c| c.podcast(id, user.id)).await?)
}

async fn episode(cx: Ctx, id: EpisodeId) -> ApiResult<Response> {
    let user = cx.user().await?;
    ok_json(&cx.db(move |c| c.episode(id, user.id)).await?)
}

async fn get_position(cx: Ctx, id: EpisodeId) -> ApiResult<Response> {
    let user = cx.user().await?;
    let position_ms = cx.db(move |c| c.position(user.id, id)).await?;
    ok_json(&ResumePosition { position_ms })
}

async fn set_position(cx: Ctx, id: EpisodeId, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let ResumePosition { position_ms } = read_json(body).await?;
    let now = unix_now();
    cx.db(move |c| c.set_position(user.id, id, position_ms, now))
        .await?;
    no_content()
}
