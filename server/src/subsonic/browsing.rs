//! Browsing by tags and by "folders": getMusicFolders, getIndexes, getMusicDirectory,
//! getArtists, getArtist, getAlbum, getSong, getGenres, getTopSongs, getSimilarSongs(2).
//!
//! Cadenza has no folders; the file-structure endpoints show artists as folders of albums
//! and albums as folders of songs, which is what clients browse them as.

use std::collections::BTreeMap;

use cadenza_api::{Artist, Song};
use cadenza_catalog::{all_pages, Item};
use serde_json::{json, Value};

use super::ids::Id;
use super::model::{self, Marks, SongList};
use super::params::MAX_COUNT;
use super::response::Reply;
use super::{Call, Error, Result};

/// The one music folder: the whole library.
const FOLDER_ID: i64 = 1;
const FOLDER_NAME: &str = "Music";

pub async fn music_folders(_: Call) -> Result<Reply> {
    Ok(Reply::with(
        "musicFolders",
        json!({ "musicFolder": [{ "id": FOLDER_ID, "name": FOLDER_NAME }] }),
    ))
}

/// Artists grouped under the uppercase first letter of their name (`#` for the rest).
fn index(artists: &[Artist], marks: &Marks) -> Vec<Value> {
    let mut groups: BTreeMap<String, Vec<model::ArtistId3<'_>>> = BTreeMap::new();
    for artist in artists {
        let letter = artist
            .name
            .chars()
            .next()
            .filter(|c| c.is_alphabetic())
            .map_or_else(|| "#".to_string(), |c| c.to_uppercase().collect());
        groups
            .entry(letter)
            .or_default()
            .push(model::artist_id3(artist, marks));
    }
    groups
        .into_iter()
        .map(|(name, artists)| json!({ "name": name, "artist": artists }))
        .collect()
}

async fn artists_with_marks(call: &Call) -> Result<(Vec<Artist>, Marks)> {
    let user = call.user.id;
    let (artists, marks) = call
        .db(move |c| {
            let artists = all_pages(|page| c.artists(page))?;
            let items: Vec<Item> = artists.iter().map(|a| Item::Artist(a.id)).collect();
            let marks = c.annotations(user, &items)?;
            Ok((artists, marks))
        })
        .await?;
    Ok((artists, Marks(marks)))
}

pub async fn indexes(call: Call) -> Result<Reply> {
    let since = call.params.int("ifModifiedSince")?.unwrap_or(0);
    let updated_ms = call
        .db(|c| c.library_updated_at())
        .await?
        .unwrap_or(0)
        .saturating_mul(1000);
    if since > 0 && updated_ms <= since {
        return Ok(Reply::with(
            "indexes",
            json!({ "lastModified": updated_ms, "ignoredArticles": "" }),
        ));
    }
    let (artists, marks) = artists_with_marks(&call).await?;
    Ok(Reply::with(
        "indexes",
        json!({
            "lastModified": updated_ms,
            "ignoredArticles": "",
            "index": index(&artists, &marks),
        }),
    ))
}

pub async fn artists(call: Call) -> Result<Reply> {
    let (artists, marks) = artists_with_marks(&call).await?;
    Ok(Reply::with(
        "artists",
        json!({ "ignoredArticles": "", "index": index(&artists, &marks) }),
    ))
}

pub async fn music_directory(call: Call) -> Result<Reply> {
    let id = Id::parse(call.params.required("id")?)?;
    match id {
        Id::Artist(artist) => {
            let detail = call.db(move |c| c.artist(artist)).await?;
            let mut items = vec![Item::Artist(artist)];
            items.extend(detail.albums.iter().map(|a| Item::Album(a.id)));
            let marks = call.marks(items).await?;
            let mut directory = model::value(&model::artist_id3(&detail.artist, &marks))?;
            directory["child"] = model::value(&model::album_children(&detail.albums, &marks))?;
            Ok(Reply::with("directory", directory))
        }
        Id::Album(album) => {
            let detail = call.db(move |c| c.album(album)).await?;
            let mut items = model::song_items(&detail.tracks);
            items.push(Item::Album(album));
            let marks = call.marks(items).await?;
            let mut directory = model::value(&model::album_child(&detail.album, &marks))?;
            directory["child"] = model::value(&model::children(&detail.tracks, &marks))?;
            Ok(Reply::with(
                "directory",
                json!({
                    "id": directory["id"],
                    "parent": directory["parent"],
                    "name": detail.album.title,
                    "starred": directory["starred"],
                    "child": directory["child"],
                }),
            ))
        }
        other => Err(Error::not_found(format!("{other} is not a folder"))),
    }
}

pub async fn artist(call: Call) -> Result<Reply> {
    let id = Id::artist(call.params.required("id")?)?;
    let detail = call.db(move |c| c.artist(id)).await?;
    let mut items = vec![Item::Artist(id)];
    items.extend(detail.albums.iter().map(|a| Item::Album(a.id)));
    let marks = call.marks(items).await?;
    let mut artist = model::value(&model::artist_id3(&detail.artist, &marks))?;
    artist["album"] = model::value(&model::albums_id3(&detail.albums, &marks))?;
    Ok(Reply::with("artist", artist))
}

pub async fn album(call: Call) -> Result<Reply> {
    let id = Id::album(call.params.required("id")?)?;
    let detail = call.db(move |c| c.album(id)).await?;
    let mut items = model::song_items(&detail.tracks);
    items.push(Item::Album(id));
    let marks = call.marks(items).await?;
    let album =
        model::album_id3(&detail.album, &marks).with_songs(model::children(&detail.tracks, &marks));
    call.reply("album", &album)
}

pub async fn song(call: Call) -> Result<Reply> {
    let id = Id::song(call.params.required("id")?)?;
    let song = call.db(move |c| c.song(id)).await?;
    let marks = call.marks(vec![Item::Song(id)]).await?;
    call.reply("song", &model::child(&song, &marks))
}

pub async fn genres(call: Call) -> Result<Reply> {
    let genres = call.db(|c| c.genres()).await?;
    let genres: Vec<Value> = genres
        .iter()
        .map(|g| json!({ "value": g.name, "songCount": g.song_count, "albumCount": g.album_count }))
        .collect();
    Ok(Reply::with("genres", json!({ "genre": genres })))
}

/// An artist's most played songs (the catalog keeps the top ten).
pub async fn top_songs(call: Call) -> Result<Reply> {
    let name = call.params.required("artist")?.to_string();
    let count = call.params.count("count", 50, MAX_COUNT)? as usize;
    let songs = call
        .db(move |c| match c.artist_by_name(&name)? {
            Some(id) => Ok(c.artist(id)?.top_songs),
            None => Ok(Vec::new()),
        })
        .await?;
    let songs = &songs[..songs.len().min(count)];
    let marks = call.marks(model::song_items(songs)).await?;
    let song = model::children(songs, &marks);
    call.reply("topSongs", &SongList { song })
}

/// Songs like the given artist's, song's or album's: there is no similarity data, so these
/// are the artist's most played songs.
async fn similar(call: &Call, id: Id) -> Result<(Vec<Song>, Marks)> {
    let count = call.params.count("count", 50, MAX_COUNT)? as usize;
    let songs = call
        .db(move |c| {
            let artist = match id {
                Id::Artist(a) => a,
                Id::Song(s) => c.song(s)?.artist_id,
                Id::Album(a) => c.album(a)?.album.artist_id,
                other => {
                    return Err(cadenza_catalog::CatalogError::NotFound(format!(
                        "{other} is not a song, album or artist"
                    )))
                }
            };
            Ok(c.artist(artist)?.top_songs)
        })
        .await?;
    let songs: Vec<_> = songs
        .into_iter()
        .filter(|s| id != Id::Song(s.id))
        .take(count)
        .collect();
    let marks = call.marks(model::song_items(&songs)).await?;
    Ok((songs, marks))
}

pub async fn similar_songs2(call: Call) -> Result<Reply> {
    let id = Id::Artist(Id::artist(call.params.required("id")?)?);
    let (songs, marks) = similar(&call, id).await?;
    let song = model::children(&songs, &marks);
    call.reply("similarSongs2", &SongList { song })
}

pub async fn similar_songs(call: Call) -> Result<Reply> {
    let id = Id::parse(call.params.required("id")?)?;
    let (songs, marks) = similar(&call, id).await?;
    let song = model::children(&songs, &marks);
    call.reply("similarSongs", &SongList { song })
}
