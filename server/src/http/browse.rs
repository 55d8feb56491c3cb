//! Browsing the catalog: songs, albums, artists, genres, the hot chart, and recording plays.

use std::sync::Arc;

use cadenza_api::{AlbumId, ArtistId, RecordPlay, SongId};
use serde::Deserialize;
use serde_json::Value;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{
    body, ctx, no_content, ok_json, read_json, respond, unix_now, ApiError, ApiResult, BodyStream,
    Ctx, MAX_PAGE,
};
use crate::app::App;

/// Hot chart window when `days` is not given, and the longest allowed.
const HOT_DEFAULT_DAYS: u32 = 7;
const HOT_MAX_DAYS: u32 = 3650;
const HOT_DEFAULT_LIMIT: u32 = 20;

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let songs = api_route!("songs")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, songs(cx)));
    let song = api_route!("songs" / {id: SongId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, song(cx, id)));
    let albums = api_route!("albums")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, albums(cx)));
    let album = api_route!("albums" / {id: AlbumId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, album(cx, id)));
    let artists = api_route!("artists")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, artists(cx)));
    let artist = api_route!("artists" / {id: ArtistId})
        .and(warp::get())
        .and(ctx(app))
        .then(|route, id, cx| respond(route, artist(cx, id)));
    let genres = api_route!("genres")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, genres(cx)));
    let genre_songs = api_route!("genres" / {name: String} / "songs")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, name, cx| respond(route, genre_songs(cx, name)));
    let hot = api_route!("hot")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx| respond(route, hot(cx)));
    let plays = api_route!("plays")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, record_play(cx, body)));
    songs
        .or(song)
        .unify()
        .or(albums)
        .unify()
        .or(album)
        .unify()
        .or(artists)
        .unify()
        .or(artist)
        .unify()
        .or(genres)
        .unify()
        .or(genre_songs)
        .unify()
        .or(hot)
        .unify()
        .or(plays)
        .unify()
        .boxed()
}

async fn songs(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.songs(page)).await?)
}

async fn song(cx: Ctx, id: SongId) -> ApiResult<Response> {
    cx.user().await?;
    ok_json(&cx.db(move |c| c.song(id)).await?)
}

async fn albums(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.albums(page)).await?)
}

async fn album(cx: Ctx, id: AlbumId) -> ApiResult<Response> {
    cx.user().await?;
    ok_json(&cx.db(move |c| c.album(id)).await?)
}

async fn artists(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.artists(page)).await?)
}

async fn artist(cx: Ctx, id: ArtistId) -> ApiResult<Response> {
    cx.user().await?;
    ok_json(&cx.db(move |c| c.artist(id)).await?)
}

async fn genres(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    ok_json(&cx.db(|c| c.genres()).await?)
}

async fn genre_songs(cx: Ctx, name: String) -> ApiResult<Response> {
    cx.user().await?;
    let name = decode_segment(&name)?;
    let page = cx.page()?;
    ok_json(&cx.db(move |c| c.genre_songs(&name, page)).await?)
}

/// warp hands path segments over still percent-encoded (`Hip%20Hop`).
pub fn decode_segment(segment: &str) -> ApiResult<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::bad_request("the path is not valid UTF-8 once percent-decoded"))
}

async fn hot(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    #[derive(Deserialize)]
    struct HotQuery {
        days: Option<u32>,
        limit: Option<u32>,
    }
    let q: HotQuery = cx.query()?;
    let days = q.days.unwrap_or(HOT_DEFAULT_DAYS);
    if days == 0 || days > HOT_MAX_DAYS {
        return Err(ApiError::bad_request(format!(
            "days must be between 1 and {HOT_MAX_DAYS}"
        )));
    }
    let limit = q.limit.unwrap_or(HOT_DEFAULT_LIMIT).min(MAX_PAGE);
    let since = unix_now() - i64::from(days) * 86_400;
    ok_json(&cx.db(move |c| c.hot(since, limit)).await?)
}

/// `POST /plays`. A `play_id` the user already reported is answered exactly like the first
/// report: a client cannot tell a lost reply from a lost request, so both must look alike.
/// The catalog checks `play_id` and `played_at` (400 naming the field).
async fn record_play(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    let user = cx.user().await?;
    let play = parse_play(read_json(body).await?)?;
    let now = unix_now();
    cx.db(move |c| c.report_play(user.id, &play, now)).await?;
    no_content()
}

/// Reads a play report. serde_json does not say which field holds a value of the wrong type,
/// so on failure each field is left out in turn: the first whose absence changes the error
/// is the one named.
fn parse_play(body: Value) -> ApiResult<RecordPlay> {
    let error = match RecordPlay::deserialize(&body) {
        Ok(play) => return Ok(play),
        Err(e) => e.to_string(),
    };
    let culprit = body.as_object().and_then(|fields| {
        fields.keys().find(|key| {
            let mut without = fields.clone();
            without.remove(key.as_str());
            let error_without = RecordPlay::deserialize(&Value::Object(without)).err();
            error_without.map(|e| e.to_string()).as_ref() != Some(&error)
        })
    });
    Err(ApiError::bad_request(match culprit {
        Some(field) => format!("`{field}` in the JSON body is not valid: {error}"),
        None => format!("the JSON body is not valid: {error}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play_error(body: &str) -> String {
        let body = serde_json::from_str(body).unwrap();
        let error = parse_play(body).unwrap_err();
        assert_eq!(error.status, 400);
        error.message
    }

    #[test]
    fn a_play_report_with_a_wrong_type_names_the_field() {
        let play = parse_play(serde_json::json!({"song_id": 3, "played_at": 5})).unwrap();
        assert_eq!((play.song_id, play.played_at), (3, Some(5)));
        for (body, field) in [
            (r#"{"song_id": 3, "played_at": "yesterday"}"#, "`played_at`"),
            (
                r#"{"song_id": 3, "played_ms": -1, "play_id": "0123456789"}"#,
                "`played_ms`",
            ),
            (r#"{"play_id": 12345678, "song_id": 3}"#, "`play_id`"),
            (r#"{"song_id": "3", "played_ms": 10}"#, "`song_id`"),
        ] {
            let message = play_error(body);
            assert!(message.contains(field), "{body}: {message}");
        }
        let missing = play_error(r#"{"played_ms": 10}"#);
        assert!(missing.contains("missing field `song_id`"), "{missing}");
        let not_an_object = play_error(r#""play 3""#);
        assert!(
            not_an_object.starts_with("the JSON body is not valid"),
            "{not_an_object}"
        );
    }

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(decode_segment("Hip%20Hop%2FRap").unwrap(), "Hip Hop/Rap");
        assert_eq!(decode_segment("Bj%C3%B6rk").unwrap(), "Björk");
        assert_eq!(decode_segment("plain").unwrap(), "plain");
        assert_eq!(decode_segment("100%").unwrap(), "100%");
        assert_eq!(decode_segment("%zz").unwrap(), "%zz");
        assert_eq!(decode_segment("a%2").unwrap(), "a%2");
        assert!(decode_segment("%FF").is_err());
    }
}
