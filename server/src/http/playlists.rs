//! Playlists: everyone reads their own and public ones; only the owner changes one
//! (others get 403, or 404 for a private playlist they may not know about).

use std::sync::Arc;

use cadenza_api::{AddTracks, CreatePlaylist, MoveTrack, PlaylistId, UpdatePlaylist};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{
    body, ctx, json, no_content, ok_json, read_json, respond, unix_now, ApiResult, BodyStream, Ctx,
};
use crate::app::App;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let list = api_route!("playlists")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, list(cx)));
    let create = api_route!("playlists")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, create(cx, body)));
    let get = api_route!("playlists" / {id: PlaylistId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, get(cx, id)));
    let update = api_route!("playlists" / {id: PlaylistId})
        .and(warp::patch())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, update(cx, id, body)));
    let delete = api_route!("playlists" / {id: PlaylistId})
        .and(warp::delete())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, delete(cx, id)));
    let add = api_route!("playlists" / {id: PlaylistId} / "tracks")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, add(cx, id, body)));
    let remove = api_route!("playlists" / {id: PlaylistId} / "tracks" / {position: u32})
        .and(warp::delete())
        .and(ctx(app))
        .then(|route, id, position, cx| respond(route, remove(cx, id, position)));
    let move_track = api_route!("playlists" / {id: PlaylistId} / "move")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, id, cx, body| respond(route, move_track(cx, id, body)));
    list.or(create)
        .unify()
        .or(get)
        .unify()
        .or(update)
        .unify()
        .or(delete)
        .unify()
        .or(add)
        .unify()
        .or(remove)
        .unify()
        .or(move_track)
        .unify()
        .boxed()
}

async fn list(cx: Ctx) -> ApiResult<Response> {
    let user = cx.user().await?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.playlists(user.id, page)).await?)
}

async fn create(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let new: CreatePlaylist = read_json(body).await?;
    let now = unix_now();
    let playlist = cx
        .db(move |c| c.create_playlist(user.id, &new, now))
        .await?;
    Ok(json(StatusCode::CREATED, &playlist))
}

async fn get(cx: Ctx, id: PlaylistId) -> ApiResult<Response> {
    let user = cx.user().await?;
    ok_json(&cx.db(move |c| c.playlist(id, user.id)).await?)
}

async fn update(cx: Ctx, id: PlaylistId, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let update: UpdatePlaylist = read_json(body).await?;
    let now = unix_now();
    ok_json(
        &cx.db(move |c| c.update_playlist(id, user.id, &update, now))
            .await?,
    )
}

async fn delete(cx: Ctx, id: PlaylistId) -> ApiResult<Response> {
    let user = cx.user().await?;
    cx.db(move |c| c.delete_playlist(id, user.id)).await?;
    no_content()
}

async fn add(cx: Ctx, id: PlaylistId, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let add: AddTracks = read_json(body).await?;
    let now = unix_now();
    ok_json(
        &cx.db(move |c| c.add_tracks(id, user.id, &add.song_ids, add.position, now))
            .await?,
    )
}

async fn remove(cx: Ctx, id: PlaylistId, position: u32) -> ApiResult<Response> {
    let user = cx.user().await?;
    let now = unix_now();
    ok_json(
        &cx.db(move |c| c.remove_track(id, user.id, position, now))
            .await?,
    )
}

async fn move_track(cx: Ctx, id: PlaylistId, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let MoveTrack { from, to } = read_json(body).await?;
    let now = unix_now();
    ok_json(
        &cx.db(move |c| c.move_track(id, user.id, from, to, now))
            .await?,
    )
}
