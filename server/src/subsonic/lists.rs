//! Lists and search: getAlbumList(2), getRandomSongs, getSongsByGenre, getStarred(2),
//! search2, search3.

use cadenza_api::{Album, Artist, PageRequest, SearchType, Song};
use cadenza_catalog::{AlbumList, Catalog, CatalogResult, Item, SongFilter};
use serde_json::{json, Value};

use super::model::{self, Marks};
use super::params::{shorten, MAX_COUNT};
use super::response::Reply;
use super::{Call, Error, Result};

/// The `type` of getAlbumList(2).
fn list_kind(call: &Call) -> Result<AlbumList> {
    let kind = call.params.required("type")?;
    let year = |key: &str| -> Result<i32> {
        let year = call.params.int(key)?.ok_or_else(|| Error::missing(key))?;
        i32::try_from(year).map_err(|_| Error::generic(format!("`{key}` {year} is not a year")))
    };
    Ok(match kind {
        "random" => AlbumList::Random,
        "newest" => AlbumList::Newest,
        "highest" => AlbumList::Highest,
        "frequent" => AlbumList::Frequent,
        "recent" => AlbumList::Recent,
        "alphabeticalByName" => AlbumList::ByName,
        "alphabeticalByArtist" => AlbumList::ByArtist,
        "starred" => AlbumList::Starred,
        "byYear" => AlbumList::ByYear {
            from: year("fromYear")?,
            to: year("toYear")?,
        },
        "byGenre" => AlbumList::ByGenre(call.params.required("genre")?.to_string()),
        other => {
            return Err(Error::generic(format!(
                "unknown album list type `{}`; use random, newest, highest, frequent, recent, \
                 alphabeticalByName, alphabeticalByArtist, starred, byYear or byGenre",
                shorten(other)
            )))
        }
    })
}

async fn albums(call: &Call) -> Result<(Vec<Album>, Marks)> {
    let list = list_kind(call)?;
    let page = PageRequest {
        limit: call.params.count("size", 10, MAX_COUNT)?,
        offset: call.params.offset("offset")?,
    };
    let user = call.user.id;
    let (albums, marks) = call
        .db(move |c| {
            let albums = c.album_list(&list, page, user)?;
            let items: Vec<Item> = albums.iter().map(|a| Item::Album(a.id)).collect();
            Ok((albums, c.annotations(user, &items)?))
        })
        .await?;
    Ok((albums, Marks(marks)))
}

pub async fn album_list(call: Call) -> Result<Reply> {
    let (albums, marks) = albums(&call).await?;
    let albums: Vec<Value> = albums
        .iter()
        .map(|a| model::album_child(a, &marks))
        .collect();
    Ok(Reply::with("albumList", json!({ "album": albums })))
}

pub async fn album_list2(call: Call) -> Result<Reply> {
    let (albums, marks) = albums(&call).await?;
    let albums: Vec<Value> = albums.iter().map(|a| model::album_id3(a, &marks)).collect();
    Ok(Reply::with("albumList2", json!({ "album": albums })))
}

/// Songs with the caller's marks, read in the same trip to the catalog.
async fn songs_with_marks<F>(call: &Call, f: F) -> Result<Vec<Value>>
where
    F: FnOnce(&dyn Catalog) -> CatalogResult<Vec<Song>> + Send + 'static,
{
    let user = call.user.id;
    let (songs, marks) = call
        .db(move |c| {
            let songs = f(c)?;
            let marks = c.annotations(user, &model::song_items(&songs))?;
            Ok((songs, marks))
        })
        .await?;
    Ok(model::children(&songs, &Marks(marks)))
}

pub async fn random_songs(call: Call) -> Result<Reply> {
    let count = call.params.count("size", 10, MAX_COUNT)?;
    let year = |key: &str| -> Result<Option<i32>> {
        Ok(call
            .params
            .int(key)?
            .map(|y| y.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32))
    };
    let filter = SongFilter {
        genre: call.params.get("genre").map(str::to_string),
        from_year: year("fromYear")?,
        to_year: year("toYear")?,
    };
    let songs = songs_with_marks(&call, move |c| c.random_songs(&filter, count)).await?;
    Ok(Reply::with("randomSongs", json!({ "song": songs })))
}

pub async fn songs_by_genre(call: Call) -> Result<Reply> {
    let genre = call.params.required("genre")?.to_string();
    let page = PageRequest {
        limit: call.params.count("count", 10, MAX_COUNT)?,
        offset: call.params.offset("offset")?,
    };
    let songs = songs_with_marks(&call, move |c| match c.genre_songs(&genre, page) {
        Ok(page) => Ok(page.items),
        // An unknown genre simply has no songs.
        Err(cadenza_catalog::CatalogError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    })
    .await?;
    Ok(Reply::with("songsByGenre", json!({ "song": songs })))
}

async fn starred_lists(call: &Call) -> Result<(cadenza_catalog::Starred, Marks)> {
    let user = call.user.id;
    let (starred, marks) = call
        .db(move |c| {
            let starred = c.starred(user)?;
            let mut items = model::song_items(
                &starred
                    .songs
                    .iter()
                    .map(|(s, _)| s.clone())
                    .collect::<Vec<_>>(),
            );
            items.extend(starred.albums.iter().map(|(a, _)| Item::Album(a.id)));
            items.extend(starred.artists.iter().map(|(a, _)| Item::Artist(a.id)));
            let marks = c.annotations(user, &items)?;
            Ok((starred, marks))
        })
        .await?;
    Ok((starred, Marks(marks)))
}

fn starred_songs(starred: &cadenza_catalog::Starred, marks: &Marks) -> Vec<Value> {
    starred
        .songs
        .iter()
        .map(|(s, _)| model::child(s, marks))
        .collect()
}

fn starred_artists(starred: &cadenza_catalog::Starred, marks: &Marks) -> Vec<Value> {
    starred
        .artists
        .iter()
        .map(|(a, _)| model::artist_id3(a, marks))
        .collect()
}

pub async fn starred(call: Call) -> Result<Reply> {
    let (starred, marks) = starred_lists(&call).await?;
    let albums: Vec<Value> = starred
        .albums
        .iter()
        .map(|(a, _)| model::album_child(a, &marks))
        .collect();
    Ok(Reply::with(
        "starred",
        json!({
            "artist": starred_artists(&starred, &marks),
            "album": albums,
            "song": starred_songs(&starred, &marks),
        }),
    ))
}

pub async fn starred2(call: Call) -> Result<Reply> {
    let (starred, marks) = starred_lists(&call).await?;
    let albums: Vec<Value> = starred
        .albums
        .iter()
        .map(|(a, _)| model::album_id3(a, &marks))
        .collect();
    Ok(Reply::with(
        "starred2",
        json!({
            "artist": starred_artists(&starred, &marks),
            "album": albums,
            "song": starred_songs(&starred, &marks),
        }),
    ))
}

/// What search2 and search3 found.
struct Found {
    artists: Vec<Artist>,
    albums: Vec<Album>,
    songs: Vec<Song>,
    marks: Marks,
}

fn group_page(call: &Call, group: &str, default: u32) -> Result<PageRequest> {
    Ok(PageRequest {
        limit: call
            .params
            .count(&format!("{group}Count"), default, MAX_COUNT)?,
        offset: call.params.offset(&format!("{group}Offset"))?,
    })
}

/// Searches, or lists everything for an empty query (clients sync their offline copy that
/// way, page by page). The text is plain words for the catalog, never query syntax.
async fn search(call: &Call) -> Result<Found> {
    let query = call
        .params
        .get("query")
        .ok_or_else(|| Error::missing("query"))?;
    // Some clients send `""` for "everything".
    let query = query.trim().trim_matches('"').trim().to_string();
    let artist_page = group_page(call, "artist", 20)?;
    let album_page = group_page(call, "album", 20)?;
    let song_page = group_page(call, "song", 20)?;
    let user = call.user.id;
    let (artists, albums, songs, marks) = call
        .db(move |c| {
            let (artists, albums, songs) = if query.is_empty() {
                let list_or_skip = |page: PageRequest| page.limit > 0;
                (
                    if list_or_skip(artist_page) {
                        c.artists(artist_page)?.items
                    } else {
                        Vec::new()
                    },
                    if list_or_skip(album_page) {
                        c.albums(album_page)?.items
                    } else {
                        Vec::new()
                    },
                    if list_or_skip(song_page) {
                        c.songs(song_page)?.items
                    } else {
                        Vec::new()
                    },
                )
            } else if artist_page == album_page && album_page == song_page {
                let all = c.search(&query, SearchType::All, song_page, user)?;
                (all.artists.items, all.albums.items, all.songs.items)
            } else {
                let group = |kind: SearchType, page: PageRequest| {
                    if page.limit == 0 {
                        return Ok(None);
                    }
                    c.search(&query, kind, page, user).map(Some)
                };
                (
                    group(SearchType::Artist, artist_page)?
                        .map_or_else(Vec::new, |r| r.artists.items),
                    group(SearchType::Album, album_page)?.map_or_else(Vec::new, |r| r.albums.items),
                    group(SearchType::Song, song_page)?.map_or_else(Vec::new, |r| r.songs.items),
                )
            };
            let mut items = model::song_items(&songs);
            items.extend(albums.iter().map(|a| Item::Album(a.id)));
            items.extend(artists.iter().map(|a| Item::Artist(a.id)));
            let marks = c.annotations(user, &items)?;
            Ok((artists, albums, songs, marks))
        })
        .await?;
    Ok(Found {
        artists,
        albums,
        songs,
        marks: Marks(marks),
    })
}

pub async fn search2(call: Call) -> Result<Reply> {
    let found = search(&call).await?;
    let m = &found.marks;
    Ok(Reply::with(
        "searchResult2",
        json!({
            "artist": found.artists.iter().map(|a| model::artist_id3(a, m)).collect::<Vec<_>>(),
            "album": found.albums.iter().map(|a| model::album_child(a, m)).collect::<Vec<_>>(),
            "song": model::children(&found.songs, m),
        }),
    ))
}

pub async fn search3(call: Call) -> Result<Reply> {
    let found = search(&call).await?;
    let m = &found.marks;
    Ok(Reply::with(
        "searchResult3",
        json!({
            "artist": found.artists.iter().map(|a| model::artist_id3(a, m)).collect::<Vec<_>>(),
            "album": found.albums.iter().map(|a| model::album_id3(a, m)).collect::<Vec<_>>(),
            "song": model::children(&found.songs, m),
        }),
    ))
}
