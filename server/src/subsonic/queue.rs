//! Resuming: bookmarks (getBookmarks, createBookmark, deleteBookmark) over the episode
//! positions `/api/v1` keeps, and the saved play queue (savePlayQueue, getPlayQueue).

use serde_json::{json, Value};

use super::ids::{self, Id};
use super::model;
use super::response::Reply;
use super::{Call, Error, Result};
use crate::http::unix_now;

/// Positions are kept for podcast episodes; a song id gets this answer.
fn episode_id(raw: &str) -> Result<i64> {
    match Id::parse(raw)? {
        Id::Episode(id) => Ok(id),
        Id::Song(_) => Err(Error::generic(
            "bookmarks are kept for podcast episodes (ep-...), not songs; \
             savePlayQueue keeps a position in a song",
        )),
        other => Err(Error::not_found(format!(
            "{other} is not a podcast episode"
        ))),
    }
}

pub async fn bookmarks(call: Call) -> Result<Reply> {
    let user = call.user.id;
    let marks = call.db(move |c| c.bookmarks(user)).await?;
    let list: Vec<Value> = marks
        .iter()
        .map(|b| {
            json!({
                "position": b.position_ms,
                "username": call.user.username,
                "created": model::iso(b.changed_at),
                "changed": model::iso(b.changed_at),
                "entry": model::episode(&b.episode, None),
            })
        })
        .collect();
    Ok(Reply::with("bookmarks", json!({ "bookmark": list })))
}

pub async fn create_bookmark(call: Call) -> Result<Reply> {
    let episode = episode_id(call.params.required("id")?)?;
    let position = call
        .params
        .number("position")?
        .ok_or_else(|| Error::missing("position"))?;
    let (user, now) = (call.user.id, unix_now());
    call.db(move |c| c.set_position(user, episode, position, now))
        .await?;
    Ok(Reply::empty())
}

pub async fn delete_bookmark(call: Call) -> Result<Reply> {
    let episode = episode_id(call.params.required("id")?)?;
    let user = call.user.id;
    call.db(move |c| c.delete_position(user, episode)).await?;
    Ok(Reply::empty())
}

/// Saves the queue (`id` repeated, in order), the `current` song and the `position` in it
/// (ms); no `id` clears it.
pub async fn save(call: Call) -> Result<Reply> {
    let songs = call
        .params
        .all("id")
        .map(Id::song)
        .collect::<Result<Vec<i64>>>()?;
    let current = call.params.get("current").map(Id::song).transpose()?;
    let position = call.params.number("position")?.unwrap_or(0);
    let (user, now, client) = (call.user.id, unix_now(), call.client.clone());
    call.db(move |c| c.save_play_queue(user, &songs, current, position, &client, now))
        .await?;
    Ok(Reply::empty())
}

pub async fn get(call: Call) -> Result<Reply> {
    let user = call.user.id;
    let Some(queue) = call.db(move |c| c.play_queue(user)).await? else {
        return Ok(Reply::empty());
    };
    let marks = call.marks(model::song_items(&queue.songs)).await?;
    Ok(Reply::with(
        "playQueue",
        json!({
            "current": queue.current.map(ids::song),
            "position": queue.position_ms,
            "username": call.user.username,
            "changed": model::iso(queue.changed_at),
            "changedBy": queue.changed_by,
            "entry": model::children(&queue.songs, &marks),
        }),
    ))
}
