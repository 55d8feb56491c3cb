//! Browsing: pages of songs, albums and artists, and the detail of one.
//!
//! Every listing picks the page's ids from an index first and then fills just those rows,
//! so deep offsets never join rows that are thrown away.

use super::error::{not_found, Context};
use super::rows::{
    self, artist_albums, get_u64, ALBUM_COLUMNS, ALBUM_JOINS, ARTIST_COLUMNS, SONG_COLUMNS,
    SONG_JOINS,
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
    rows::whole_table_page(conn, "songs", "title", req, rows::songs_by_ids)
}

pub(crate) fn albums(conn: &Connection, req: PageRequest) -> CatalogResult<Page<Album>> {
    rows::whole_table_page(conn, "albums", "title", req, rows::albums_by_ids)
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
    rows::whole_table_page(conn, "artists", "name", req, rows::artists_by_ids)
}

/// The artist, the albums filed under them or that they appear on (oldest first), and
/// their most played songs of all time (songs crediting them among others included).
pub(crate) fn artist(conn: &Connection, id: ArtistId) -> CatalogResult<ArtistDetail> {
    let artist = conn
        .prepare_cached(&format!(
            "SELECT {ARTIST_COLUMNS} FROM artists a WHERE a.id = ?1"
        ))
        .and_then(|mut s| s.query_row([id], rows::artist_from_row).optional())
        .ctx("reading an artist")?
        .ok_or_else(|| not_found("artist", id))?;
    let sql = format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al {ALBUM_JOINS} WHERE al.id IN ({}) \
         ORDER BY al.year IS NULL, al.year, al.title COLLATE NOCASE, al.id",
        artist_albums!("?1")
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
                OR s.id IN (SELECT song_id FROM song_artists WHERE artist_id = ?1) \
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
    // Two ordered runs merged: the songs whose first genre it is (by the genre index, in
    // title order) and the few that list it later.
    let ids = rows::page_ids(
        conn,
        "SELECT id, title FROM songs WHERE genre_id = ?1 \
         UNION ALL SELECT s.id, s.title FROM song_genres sg JOIN songs s ON s.id = sg.song_id \
             WHERE sg.genre_id = ?1 \
         ORDER BY 2 COLLATE NOCASE, 1 LIMIT ?2 OFFSET ?3",
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
