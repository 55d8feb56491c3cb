//! Browsing: pages of songs, albums and artists, and the detail of one.
//!
//! Every listing picks the page's ids from an index first and then fills just those rows,
//! so deep offsets never join rows that are thrown away.

use super::error::{not_found, Context};
use super::rows::{
    self, get_u64, ALBUM_COLUMNS, ALBUM_JOINS, ARTIST_COLUMNS, SONG_COLUMNS, SONG_JOINS,
};
use super::text::name_key;
use crate::{BlobRef, CatalogError, CatalogResult};
use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, Genre, Page, PageRequest, Song,
    SongId,
};
use rusqlite::{Connection, OptionalExtension};

/// Songs on an artist page.
const TOP_SONGS: u32 = 10;

pub(crate) fn song(conn: &Connection, id: SongId) -> CatalogResult<Song> {
    rows::song(conn, id)?.ok_or_else(|| not_found("song", id))
}

pub(crate) fn song_by_hash(conn: &Connection, hash: &str) -> CatalogResult<Option<Song>> {
    match super::library::song_id_by_hash(conn, hash)? {
        Some(id) => rows::song(conn, id),
        None => Ok(None),
    }
}

/// All songs by title.
pub(crate) fn songs(conn: &Connection, req: PageRequest) -> CatalogResult<Page<Song>> {
    let req = rows::clamp(req);
    let ids = rows::page_ids(
        conn,
        "SELECT id FROM songs ORDER BY title COLLATE NOCASE, id LIMIT ?1 OFFSET ?2",
        &[],
        req,
        "listing songs",
    )?;
    let total = match rows::total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(conn, "SELECT count(*) FROM songs", &[], "counting songs")?,
    };
    Ok(rows::page(rows::songs_by_ids(conn, &ids)?, total, req))
}

pub(crate) fn albums(conn: &Connection, req: PageRequest) -> CatalogResult<Page<Album>> {
    let req = rows::clamp(req);
    let ids = rows::page_ids(
        conn,
        "SELECT id FROM albums ORDER BY title COLLATE NOCASE, id LIMIT ?1 OFFSET ?2",
        &[],
        req,
        "listing albums",
    )?;
    let total = match rows::total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(conn, "SELECT count(*) FROM albums", &[], "counting albums")?,
    };
    Ok(rows::page(rows::albums_by_ids(conn, &ids)?, total, req))
}

fn album_row(conn: &Connection, id: AlbumId) -> CatalogResult<Album> {
    conn.prepare_cached(&format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al {ALBUM_JOINS} WHERE al.id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], rows::album_from_row).optional())
    .ctx("reading an album")?
    .ok_or_else(|| not_found("album", id))
}

/// The album with its tracks by disc, track number, then title.
pub(crate) fn album(conn: &Connection, id: AlbumId) -> CatalogResult<AlbumDetail> {
    let album = album_row(conn, id)?;
    let sql = format!(
        "SELECT {SONG_COLUMNS} FROM songs s {SONG_JOINS} WHERE s.album_id = ?1 \
         ORDER BY coalesce(s.disc, 1), s.track IS NULL, s.track, s.title COLLATE NOCASE, s.id"
    );
    let tracks = rows::collect(conn, &sql, id, rows::song_from_row, "reading album tracks")?;
    Ok(AlbumDetail { album, tracks })
}

pub(crate) fn album_cover(conn: &Connection, id: AlbumId) -> CatalogResult<Option<BlobRef>> {
    let cover = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Option<BlobRef>> {
        let Some(hash) = r.get::<_, Option<String>>(0)? else {
            return Ok(None);
        };
        Ok(Some(BlobRef {
            hash,
            size: get_u64(r, 1)?,
            content_type: r.get(2)?,
            created_at: r.get(3)?,
            used_by: format!("cover of album {id}: {}", r.get::<_, String>(4)?),
        }))
    };
    conn.prepare_cached(
        "SELECT cover_hash, cover_size, cover_content_type, created_at, title \
         FROM albums WHERE id = ?1",
    )
    .and_then(|mut s| s.query_row([id], cover).optional())
    .ctx("reading an album cover")?
    .ok_or_else(|| not_found("album", id))
}

pub(crate) fn artists(conn: &Connection, req: PageRequest) -> CatalogResult<Page<Artist>> {
    let req = rows::clamp(req);
    let ids = rows::page_ids(
        conn,
        "SELECT id FROM artists ORDER BY name COLLATE NOCASE, id LIMIT ?1 OFFSET ?2",
        &[],
        req,
        "listing artists",
    )?;
    let total = match rows::total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(
            conn,
            "SELECT count(*) FROM artists",
            &[],
            "counting artists",
        )?,
    };
    Ok(rows::page(rows::artists_by_ids(conn, &ids)?, total, req))
}

/// The artist, the albums filed under them or that they appear on (oldest first), and
/// their most played songs of all time.
pub(crate) fn artist(conn: &Connection, id: ArtistId) -> CatalogResult<ArtistDetail> {
    let artist = conn
        .prepare_cached(&format!(
            "SELECT {ARTIST_COLUMNS} FROM artists a WHERE a.id = ?1"
        ))
        .and_then(|mut s| s.query_row([id], rows::artist_from_row).optional())
        .ctx("reading an artist")?
        .ok_or_else(|| not_found("artist", id))?;
    let sql = format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al {ALBUM_JOINS} \
         WHERE al.id IN (SELECT id FROM albums WHERE artist_id = ?1 \
                         UNION SELECT album_id FROM songs WHERE artist_id = ?1) \
         ORDER BY al.year IS NULL, al.year, al.title COLLATE NOCASE, al.id"
    );
    let albums = rows::collect(
        conn,
        &sql,
        id,
        rows::album_from_row,
        "reading an artist's albums",
    )?;
    let top: Vec<i64> = conn
        .prepare_cached(
            "SELECT s.id FROM songs s WHERE s.artist_id = ?1 \
             ORDER BY (SELECT count(*) FROM plays WHERE song_id = s.id) DESC, \
                      s.title COLLATE NOCASE, s.id LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map((id, TOP_SONGS), |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .ctx("reading an artist's top songs")?;
    Ok(ArtistDetail {
        artist,
        albums,
        top_songs: rows::songs_by_ids(conn, &top)?,
    })
}

pub(crate) fn genres(conn: &Connection) -> CatalogResult<Vec<Genre>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT g.name, g.song_count, (SELECT count(*) FROM albums WHERE genre_id = g.id) \
             FROM genres g ORDER BY g.name COLLATE NOCASE",
        )
        .ctx("listing genres")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Genre {
                name: r.get(0)?,
                song_count: r.get(1)?,
                album_count: r.get(2)?,
            })
        })
        .ctx("listing genres")?;
    rows.collect::<rusqlite::Result<_>>().ctx("listing genres")
}

/// Songs of a genre (matched case-insensitively) by title.
pub(crate) fn genre_songs(
    conn: &Connection,
    genre: &str,
    req: PageRequest,
) -> CatalogResult<Page<Song>> {
    let req = rows::clamp(req);
    let found: Option<(i64, i64)> = conn
        .prepare_cached("SELECT id, song_count FROM genres WHERE name_key = ?1")
        .and_then(|mut s| {
            s.query_row([name_key(genre)], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .ctx("looking up a genre")?;
    let (genre_id, total) = found.ok_or_else(|| {
        CatalogError::NotFound(format!("genre \"{}\" does not exist", genre.trim()))
    })?;
    let ids = rows::page_ids(
        conn,
        "SELECT id FROM songs WHERE genre_id = ?1 ORDER BY title COLLATE NOCASE, id LIMIT ?2 OFFSET ?3",
        &[&genre_id],
        req,
        "listing a genre's songs",
    )?;
    Ok(rows::page(
        rows::songs_by_ids(conn, &ids)?,
        u64::try_from(total).unwrap_or(0),
        req,
    ))
}

pub(crate) fn song_blob(conn: &Connection, id: SongId) -> CatalogResult<BlobRef> {
    conn.prepare_cached(
        "SELECT hash, size, content_type, created_at, title FROM songs WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            Ok(BlobRef {
                hash: r.get(0)?,
                size: get_u64(r, 1)?,
                content_type: r.get(2)?,
                created_at: r.get(3)?,
                used_by: format!("song {id}: {}", r.get::<_, String>(4)?),
            })
        })
        .optional()
    })
    .ctx("reading a song")?
    .ok_or_else(|| not_found("song", id))
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song};
    use crate::{Catalog, CatalogError};
    use cadenza_api::PageRequest;

    #[test]
    fn listings_are_sorted_paged_and_totalled() {
        let cat = memory();
        let names = ["delta", "Alpha", "charlie", "Bravo", "echo"];
        for (i, name) in names.iter().enumerate() {
            let mut s = song(
                i as u64,
                name,
                &format!("Artist {name}"),
                &format!("Album {name}"),
            );
            s.genre = Some(if i % 2 == 0 { "Even" } else { "Odd" }.into());
            cat.insert_song(&s, 0).unwrap();
        }
        let page = cat
            .songs(PageRequest {
                limit: 2,
                offset: 1,
            })
            .unwrap();
        let titles: Vec<&str> = page.items.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            (titles, page.total, page.limit, page.offset),
            (vec!["Bravo", "charlie"], 5, 2, 1)
        );
        let past = cat
            .songs(PageRequest {
                limit: 2,
                offset: 9,
            })
            .unwrap();
        assert_eq!((past.items.len(), past.total), (0, 5));
        let none = cat
            .songs(PageRequest {
                limit: 0,
                offset: 0,
            })
            .unwrap();
        assert_eq!((none.items.len(), none.total), (0, 5));
        let huge = cat
            .songs(PageRequest {
                limit: u32::MAX,
                offset: 0,
            })
            .unwrap();
        assert_eq!((huge.items.len(), huge.limit), (5, crate::paging::MAX_PAGE));

        let albums = cat
            .albums(PageRequest {
                limit: 10,
                offset: 0,
            })
            .unwrap();
        assert_eq!(albums.items[0].title, "Album Alpha");
        assert_eq!(
            (
                albums.total,
                albums.items[0].song_count,
                albums.items[0].genre.as_deref()
            ),
            (5, 1, Some("Odd"))
        );
        let artists = cat
            .artists(PageRequest {
                limit: 3,
                offset: 3,
            })
            .unwrap();
        let names: Vec<&str> = artists.items.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            (names, artists.total),
            (vec!["Artist delta", "Artist echo"], 5)
        );

        let genres = cat.genres().unwrap();
        let counts: Vec<(&str, u32, u32)> = genres
            .iter()
            .map(|g| (g.name.as_str(), g.song_count, g.album_count))
            .collect();
        assert_eq!(counts, [("Even", 3, 3), ("Odd", 2, 2)]);
        let even = cat
            .genre_songs(
                "EVEN",
                PageRequest {
                    limit: 2,
                    offset: 0,
                },
            )
            .unwrap();
        let titles: Vec<&str> = even.items.iter().map(|s| s.title.as_str()).collect();
        assert_eq!((titles, even.total), (vec!["charlie", "delta"], 3));
        let err = cat
            .genre_songs("Polka", PageRequest::default())
            .unwrap_err();
        assert!(matches!(&err, CatalogError::NotFound(m) if m == "genre \"Polka\" does not exist"));
    }

    #[test]
    fn details_of_missing_rows_are_named() {
        let cat = memory();
        for (err, what) in [
            (cat.song(5).unwrap_err(), "song 5"),
            (cat.album(6).unwrap_err(), "album 6"),
            (cat.artist(7).unwrap_err(), "artist 7"),
            (cat.song_blob(8).unwrap_err(), "song 8"),
            (cat.episode_blob(9).unwrap_err(), "episode 9"),
        ] {
            assert_eq!(err.to_string(), format!("{what} does not exist"));
        }
        let s = cat.insert_song(&song(1, "T", "A", "B"), 77).unwrap().0;
        let blob = cat.song_blob(s.id).unwrap();
        assert_eq!(
            (blob.size, blob.created_at, blob.content_type.as_str()),
            (1_001, 77, "audio/mpeg")
        );
        assert_eq!(blob.used_by, format!("song {}: T", s.id));
        assert_eq!(cat.album_cover(s.album_id).unwrap(), None);
    }
}
