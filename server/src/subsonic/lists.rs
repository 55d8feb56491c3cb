//! Lists and search: getAlbumList(2), getRandomSongs, getSongsByGenre, getStarred(2),
//! search2, search3.

use cadenza_api::{Album, Artist, PageRequest, SearchType, Song};
use cadenza_catalog::{AlbumList, Catalog, CatalogResult, Item, SongFilter};

use super::model::{self, AlbumChildren, AlbumsId3, ArtistsId3, Marks, SongList};
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
    let album = model::album_children(&albums, &marks);
    call.reply("albumList", &model::AlbumList { album })
}

pub async fn album_list2(call: Call) -> Result<Reply> {
    let (albums, marks) = albums(&call).await?;
    let album = model::albums_id3(&albums, &marks);
    call.reply("albumList2", &model::AlbumList { album })
}

/// Songs with the caller's marks, read in the same trip to the catalog.
async fn songs_with_marks<F>(call: &Call, f: F) -> Result<(Vec<Song>, Marks)>
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
    Ok((songs, Marks(marks)))
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
    let (songs, marks) = songs_with_marks(&call, move |c| c.random_songs(&filter, count)).await?;
    let song = model::children(&songs, &marks);
    call.reply("randomSongs", &SongList { song })
}

pub async fn songs_by_genre(call: Call) -> Result<Reply> {
    let genre = call.params.required("genre")?.to_string();
    let page = PageRequest {
        limit: call.params.count("count", 10, MAX_COUNT)?,
        offset: call.params.offset("offset")?,
    };
    let (songs, marks) = songs_with_marks(&call, move |c| match c.genre_songs(&genre, page) {
        Ok(page) => Ok(page.items),
        // An unknown genre simply has no songs.
        Err(cadenza_catalog::CatalogError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e),
    })
    .await?;
    let song = model::children(&songs, &marks);
    call.reply("songsByGenre", &SongList { song })
}

/// The caller's starred songs, albums and artists (most recently starred first), with
/// their marks.
async fn starred_lists(call: &Call) -> Result<Found> {
    let user = call.user.id;
    call.db(move |c| {
        let starred = c.starred(user)?;
        let songs: Vec<Song> = starred.songs.into_iter().map(|(s, _)| s).collect();
        let albums: Vec<Album> = starred.albums.into_iter().map(|(a, _)| a).collect();
        let artists: Vec<Artist> = starred.artists.into_iter().map(|(a, _)| a).collect();
        let marks = c.annotations(user, &items_of(&artists, &albums, &songs))?;
        Ok(Found {
            artists,
            albums,
            songs,
            marks: Marks(marks),
        })
    })
    .await
}

/// The items of an answer's artists, albums and songs (for [`Marks`]).
fn items_of(artists: &[Artist], albums: &[Album], songs: &[Song]) -> Vec<Item> {
    let mut items = model::song_items(songs);
    items.extend(albums.iter().map(|a| Item::Album(a.id)));
    items.extend(artists.iter().map(|a| Item::Artist(a.id)));
    items
}

pub async fn starred(call: Call) -> Result<Reply> {
    let found = starred_lists(&call).await?;
    call.reply("starred", &found.folders())
}

pub async fn starred2(call: Call) -> Result<Reply> {
    let found = starred_lists(&call).await?;
    call.reply("starred2", &found.id3())
}

/// What search2 and search3 found.
struct Found {
    artists: Vec<Artist>,
    albums: Vec<Album>,
    songs: Vec<Song>,
    marks: Marks,
}

impl Found {
    /// With albums as folder `Child`s (search2, getStarred).
    fn folders(&self) -> model::Found<'_, AlbumChildren<'_>> {
        model::Found {
            album: model::album_children(&self.albums, &self.marks),
            artist: self.artists(),
            song: model::children(&self.songs, &self.marks),
        }
    }

    /// With albums as `AlbumID3`s (search3, getStarred2).
    fn id3(&self) -> model::Found<'_, AlbumsId3<'_>> {
        model::Found {
            album: model::albums_id3(&self.albums, &self.marks),
            artist: self.artists(),
            song: model::children(&self.songs, &self.marks),
        }
    }

    fn artists(&self) -> ArtistsId3<'_> {
        model::artists_id3(&self.artists, &self.marks)
    }
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
            let marks = c.annotations(user, &items_of(&artists, &albums, &songs))?;
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
    call.reply("searchResult2", &found.folders())
}

pub async fn search3(call: Call) -> Result<Reply> {
    let found = search(&call).await?;
    call.reply("searchResult3", &found.id3())
}
