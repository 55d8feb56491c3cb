//! scrobble, getNowPlaying, star, unstar, setRating.

use cadenza_api::RecordPlay;
use cadenza_catalog::Item;
use serde_json::{json, Value};

use super::ids::Id;
use super::model;
use super::response::Reply;
use super::{Call, Error, Result};
use crate::http::unix_now;

/// `submission=false` says what is playing now; `true` (the default) records plays.
///
/// A play with a `time` gets an id made of the song and that time, so a client that sends
/// the same scrobble again (it does after a lost reply) has it counted once, the way
/// `/api/v1/plays` handles `play_id`.
pub async fn scrobble(call: Call) -> Result<Reply> {
    if !call.params.has("id") {
        return Err(Error::missing("id"));
    }
    let times = call
        .params
        .all("time")
        .map(|t| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| Error::generic("`time` must be milliseconds since 1970"))
        })
        .collect::<Result<Vec<i64>>>()?;
    let submission = call.params.bool("submission")?.unwrap_or(true);
    // Each song with its time (the i-th `time` belongs to the i-th `id`). Clients scrobble
    // podcast episodes too: bookmarks keep their positions and they are no plays in the
    // charts, so they are accepted and left out.
    let mut songs: Vec<(i64, Option<i64>)> = Vec::new();
    for (i, raw) in call.params.all("id").enumerate() {
        match Id::parse(raw)? {
            Id::Song(id) => songs.push((id, times.get(i).copied())),
            Id::Episode(_) => {}
            other => return Err(Error::not_found(format!("{other} is not a song"))),
        }
    }
    let Some(&(first, _)) = songs.first() else {
        return Ok(Reply::empty());
    };
    let (user, now) = (call.user.id, unix_now());
    if !submission {
        let client = call.client.clone();
        call.db(move |c| c.set_now_playing(user, first, &client, now))
            .await?;
        return Ok(Reply::empty());
    }
    let plays: Vec<RecordPlay> = songs
        .into_iter()
        .map(|(song, time)| match time {
            Some(ms) => RecordPlay {
                song_id: song,
                played_ms: None,
                play_id: Some(format!("subsonic-{song}-{ms}")),
                played_at: Some(ms.div_euclid(1000)),
            },
            None => RecordPlay::now(song, None),
        })
        .collect();
    call.db(move |c| {
        for play in &plays {
            c.report_play(user, play, now)?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::empty())
}

pub async fn now_playing(call: Call) -> Result<Reply> {
    let now = unix_now();
    let playing = call.db(move |c| c.now_playing(now)).await?;
    let items = playing.iter().map(|p| Item::Song(p.song.id)).collect();
    let marks = call.marks(items).await?;
    let entries: Vec<Value> = playing
        .iter()
        .map(|p| {
            let mut entry = model::value(&model::child(&p.song, &marks))?;
            entry["username"] = json!(p.username);
            entry["minutesAgo"] = json!((now - p.started_at).max(0) / 60);
            entry["playerId"] = json!(1);
            entry["playerName"] = json!(p.client);
            Ok(entry)
        })
        .collect::<Result<_>>()?;
    Ok(Reply::with("nowPlaying", json!({ "entry": entries })))
}

/// `id` (any kind), `albumId` and `artistId`, each repeatable.
fn items(call: &Call) -> Result<Vec<Item>> {
    let mut items = call
        .params
        .all("id")
        .map(Id::item)
        .collect::<Result<Vec<_>>>()?;
    for raw in call.params.all("albumId") {
        items.push(Item::Album(Id::album(raw)?));
    }
    for raw in call.params.all("artistId") {
        items.push(Item::Artist(Id::artist(raw)?));
    }
    if items.is_empty() {
        return Err(Error::missing("id"));
    }
    Ok(items)
}

async fn set_starred(call: Call, starred: bool) -> Result<Reply> {
    let items = items(&call)?;
    let (user, now) = (call.user.id, unix_now());
    call.db(move |c| c.set_starred(user, &items, starred, now))
        .await?;
    Ok(Reply::empty())
}

pub async fn star(call: Call) -> Result<Reply> {
    set_starred(call, true).await
}

pub async fn unstar(call: Call) -> Result<Reply> {
    set_starred(call, false).await
}

/// 1 to 5 rates; 0 removes the rating.
pub async fn set_rating(call: Call) -> Result<Reply> {
    let item = Id::item(call.params.required("id")?)?;
    let rating = call
        .params
        .int("rating")?
        .ok_or_else(|| Error::missing("rating"))?;
    let rating = match rating {
        0 => None,
        1..=5 => Some(rating as u8),
        other => {
            return Err(Error::generic(format!(
                "`rating` is 0 (none) to 5, not {other}"
            )))
        }
    };
    let user = call.user.id;
    call.db(move |c| c.set_rating(user, item, rating)).await?;
    Ok(Reply::empty())
}
