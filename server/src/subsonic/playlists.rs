//! getPlaylists, getPlaylist, createPlaylist (create or replace), updatePlaylist,
//! deletePlaylist: the same playlists as `/api/v1`, with the same rules (owners change
//! them; others see public ones).

use cadenza_api::{CreatePlaylist, PlaylistDetail};
use cadenza_catalog::{all_pages, PlaylistEdit};
use serde_json::json;

use super::ids::Id;
use super::model;
use super::response::Reply;
use super::{Call, Result};
use crate::http::unix_now;

fn song_ids<'a>(call: &'a Call, key: &'a str) -> Result<Vec<i64>> {
    call.params.all(key).map(Id::song).collect()
}

/// A playlist with its songs as the `playlist` element.
async fn with_songs(call: &Call, detail: &PlaylistDetail) -> Result<Reply> {
    let marks = call.marks(model::song_items(&detail.tracks)).await?;
    let entry = model::children(&detail.tracks, &marks);
    call.reply(
        "playlist",
        &model::playlist(&detail.playlist).with_entries(entry),
    )
}

pub async fn list(call: Call) -> Result<Reply> {
    let user = call.user.id;
    let lists = call
        .db(move |c| all_pages(|page| c.playlists(user, page)))
        .await?;
    let lists: Vec<model::PlaylistElement<'_>> = lists.iter().map(model::playlist).collect();
    Ok(Reply::with("playlists", json!({ "playlist": lists })))
}

pub async fn get(call: Call) -> Result<Reply> {
    let id = Id::playlist(call.params.required("id")?)?;
    let user = call.user.id;
    let detail = call.db(move |c| c.playlist(id, user)).await?;
    with_songs(&call, &detail).await
}

/// With `playlistId`: replaces that playlist's songs (and renames it with `name`).
/// Without: creates a playlist called `name`. Either way the songs are `songId`s.
pub async fn create(call: Call) -> Result<Reply> {
    let songs = song_ids(&call, "songId")?;
    let user = call.user.id;
    let now = unix_now();
    let detail = match call.params.get("playlistId") {
        Some(raw) => {
            let id = Id::playlist(raw)?;
            let edit = PlaylistEdit {
                name: call.params.get("name").map(str::to_string),
                replace: Some(songs),
                ..PlaylistEdit::default()
            };
            call.db(move |c| c.edit_playlist(id, user, &edit, now))
                .await?
        }
        None => {
            let new = CreatePlaylist {
                name: call.params.required("name")?.to_string(),
                public: false,
            };
            call.db(move |c| {
                let list = c.create_playlist(user, &new, now)?;
                let edit = PlaylistEdit {
                    add: songs,
                    ..PlaylistEdit::default()
                };
                // All or nothing: a song that does not exist leaves no empty playlist behind.
                c.edit_playlist(list.id, user, &edit, now).inspect_err(|_| {
                    let _ = c.delete_playlist(list.id, user);
                })
            })
            .await?
        }
    };
    with_songs(&call, &detail).await
}

pub async fn update(call: Call) -> Result<Reply> {
    let id = Id::playlist(call.params.required("playlistId")?)?;
    let remove = call
        .params
        .all("songIndexToRemove")
        .map(|raw| {
            raw.trim().parse::<u32>().map_err(|_| {
                super::Error::generic(format!(
                    "`songIndexToRemove` must be a position in the playlist (0, 1, ...), not `{}`",
                    super::params::shorten(raw)
                ))
            })
        })
        .collect::<Result<Vec<u32>>>()?;
    let edit = PlaylistEdit {
        name: call.params.get("name").map(str::to_string),
        comment: call.params.get("comment").map(str::to_string),
        public: call.params.bool("public")?,
        remove,
        replace: None,
        add: song_ids(&call, "songIdToAdd")?,
    };
    let (user, now) = (call.user.id, unix_now());
    call.db(move |c| c.edit_playlist(id, user, &edit, now))
        .await?;
    Ok(Reply::empty())
}

pub async fn delete(call: Call) -> Result<Reply> {
    let id = Id::playlist(call.params.required("id")?)?;
    let user = call.user.id;
    call.db(move |c| c.delete_playlist(id, user)).await?;
    Ok(Reply::empty())
}
