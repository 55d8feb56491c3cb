//! Browsing: pages of songs, albums and artists, and the detail of one.
//!
//! Every listing picks the page's ids from an index first and then fills just those rows,
//! so deep offsets never join rows that are thrown away.

use super::error::Context;
use super::pool::Tx;
use super::rows::{
    self, artist_albums, get, int, ALBUM_COLUMNS, ALBUM_JOINS, ARTIST_COLUMNS, SONG_COLUMNS,
    SONG_JOINS,
};
use super::users::lookup_text;
use crate::paging::{clamp, page, total_from_page};
use crate::text::name_key;
use crate::{not_found, BlobRef, CatalogError, CatalogResult};
use cadenza_api::{
    Album, AlbumDetail, AlbumId, Artist, ArtistDetail, ArtistId, Genre, Page, PageRequest, Song,
    SongId,
};

/// Songs on an artist page.
const TOP_SONGS: i64 = 10;

pub(crate) fn song(tx: &mut Tx<'_>, id: SongId) -> CatalogResult<Song> {
    rows::song(tx, id)?.ok_or_else(|| not_found("song", id))
}

pub(crate) fn song_by_hash(tx: &mut Tx<'_>, hash: &str) -> CatalogResult<Option<Song>> {
    match super::library::song_id_by_hash(tx, hash)? {
        Some(id) => rows::song(tx, id),
        None => Ok(None),
    }
}

/// A listing of a whole table by name: the page's ids, then the total unless the page
/// proves it.
fn listing(
    tx: &mut Tx<'_>,
    table: &str,
    name: &str,
    req: PageRequest,
    doing: &str,
) -> CatalogResult<(Vec<i64>, u64, PageRequest)> {
    let req = clamp(req);
    let ids = rows::page_ids(
        tx,
        &format!("SELECT id FROM {table} ORDER BY cadenza_nocase({name}), id LIMIT $1 OFFSET $2"),
        &[],
        req,
        doing,
    )?;
    let total = match total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(tx, &format!("SELECT count(*) FROM {table}"), &[], doing)?,
    };
    Ok((ids, total, req))
}

/// All songs by title.
pub(crate) fn songs(tx: &mut Tx<'_>, req: PageRequest) -> CatalogResult<Page<Song>> {
    let (ids, total, req) = listing(tx, "songs", "title", req, "listing songs")?;
    Ok(page(rows::songs_by_ids(tx, &ids)?, total, req))
}

pub(crate) fn albums(tx: &mut Tx<'_>, req: PageRequest) -> CatalogResult<Page<Album>> {
    let (ids, total, req) = listing(tx, "albums", "title", req, "listing albums")?;
    Ok(page(rows::albums_by_ids(tx, &ids)?, total, req))
}

pub(crate) fn artists(tx: &mut Tx<'_>, req: PageRequest) -> CatalogResult<Page<Artist>> {
    let (ids, total, req) = listing(tx, "artists", "name", req, "listing artists")?;
    Ok(page(rows::artists_by_ids(tx, &ids)?, total, req))
}

/// The album with its tracks by disc, track number, then title.
pub(crate) fn album(tx: &mut Tx<'_>, id: AlbumId) -> CatalogResult<AlbumDetail> {
    let sql = format!("SELECT {ALBUM_COLUMNS} FROM albums al {ALBUM_JOINS} WHERE al.id = $1");
    let album = match tx.query_opt(&sql, &[&id]).ctx("reading an album")? {
        Some(row) => rows::album_from_row(&row)?,
        None => return Err(not_found("album", id)),
    };
    let sql = format!(
        "SELECT {SONG_COLUMNS} FROM songs s {SONG_JOINS} WHERE s.album_id = $1 \
         ORDER BY coalesce(s.disc, 1), s.track IS NULL, s.track, cadenza_nocase(s.title), s.id"
    );
    let tracks = rows::collect(
        tx,
        &sql,
        &[&id],
        rows::song_from_row,
        "reading album tracks",
    )?;
    Ok(AlbumDetail { album, tracks })
}

pub(crate) fn album_cover(tx: &mut Tx<'_>, id: AlbumId) -> CatalogResult<Option<BlobRef>> {
    let row = tx
        .query_opt(
            "SELECT cover_hash, cover_size, cover_content_type, created_at, title \
             FROM albums WHERE id = $1",
            &[&id],
        )
        .ctx("reading an album cover")?
        .ok_or_else(|| not_found("album", id))?;
    let Some(hash) = get::<Option<String>>(&row, 0)? else {
        return Ok(None);
    };
    Ok(Some(BlobRef {
        hash,
        size: int(&row, 1)?,
        content_type: get(&row, 2)?,
        created_at: get(&row, 3)?,
        used_by: format!("cover of album {id}: {}", get::<String>(&row, 4)?),
    }))
}

/// The artist, the albums filed under them or that they appear on (oldest first), and
/// their most played songs of all time (songs crediting them among others included).
pub(crate) fn artist(tx: &mut Tx<'_>, id: ArtistId) -> CatalogResult<ArtistDetail> {
    let sql = format!("SELECT {ARTIST_COLUMNS} FROM artists a WHERE a.id = $1");
    let artist = match tx.query_opt(&sql, &[&id]).ctx("reading an artist")? {
        Some(row) => rows::artist_from_row(&row)?,
        None => return Err(not_found("artist", id)),
    };
    let sql = format!(
        "SELECT {ALBUM_COLUMNS} FROM albums al {ALBUM_JOINS} WHERE al.id IN ({}) \
         ORDER BY al.year IS NULL, al.year, cadenza_nocase(al.title), al.id",
        artist_albums!("$1")
    );
    let albums = rows::collect(
        tx,
        &sql,
        &[&id],
        rows::album_from_row,
        "reading an artist's albums",
    )?;
    let top = rows::ids(
        tx,
        "SELECT s.id FROM songs s WHERE s.artist_id = $1 \
            OR s.id IN (SELECT song_id FROM song_artists WHERE artist_id = $1) \
         ORDER BY (SELECT count(*) FROM plays WHERE song_id = s.id) DESC, \
                  cadenza_nocase(s.title), s.id LIMIT $2",
        &[&id, &TOP_SONGS],
        "reading an artist's top songs",
    )?;
    Ok(ArtistDetail {
        artist,
        albums,
        top_songs: rows::songs_by_ids(tx, &top)?,
    })
}

pub(crate) fn genres(tx: &mut Tx<'_>) -> CatalogResult<Vec<Genre>> {
    rows::collect(
        tx,
        "SELECT g.name, g.song_count, (SELECT count(*) FROM albums WHERE genre_id = g.id) \
         FROM genres g ORDER BY cadenza_nocase(g.name)",
        &[],
        |r| {
            Ok(Genre {
                name: get(r, 0)?,
                song_count: int(r, 1)?,
                album_count: int(r, 2)?,
            })
        },
        "listing genres",
    )
}

/// Songs of a genre (matched case-insensitively) by title.
pub(crate) fn genre_songs(
    tx: &mut Tx<'_>,
    genre: &str,
    req: PageRequest,
) -> CatalogResult<Page<Song>> {
    let req = clamp(req);
    let missing = || CatalogError::NotFound(format!("genre \"{}\" does not exist", genre.trim()));
    let key = lookup_text(genre).map(name_key).ok_or_else(missing)?;
    let row = tx
        .query_opt(
            "SELECT id, song_count FROM genres WHERE name_key = $1",
            &[&key],
        )
        .ctx("looking up a genre")?
        .ok_or_else(missing)?;
    let (genre_id, total): (i64, u64) = (get(&row, 0)?, int(&row, 1)?);
    // Two ordered runs merged: the songs whose first genre it is (by the genre index, in
    // title order) and the few that list it later.
    let ids = rows::page_ids(
        tx,
        "SELECT id FROM (SELECT id, title FROM songs WHERE genre_id = $1 \
             UNION ALL SELECT s.id, s.title FROM song_genres sg JOIN songs s ON s.id = sg.song_id \
             WHERE sg.genre_id = $1) u \
         ORDER BY cadenza_nocase(title), id LIMIT $2 OFFSET $3",
        &[&genre_id],
        req,
        "listing a genre's songs",
    )?;
    Ok(page(rows::songs_by_ids(tx, &ids)?, total, req))
}

/// What streams a song or an episode: `table` is `songs` or `episodes`.
pub(crate) fn blob(tx: &mut Tx<'_>, table: &str, kind: &str, id: i64) -> CatalogResult<BlobRef> {
    let sql =
        format!("SELECT hash, size, content_type, created_at, title FROM {table} WHERE id = $1");
    let row = tx
        .query_opt(&sql, &[&id])
        .ctx(&format!("reading a {kind}"))?
        .ok_or_else(|| not_found(kind, id))?;
    Ok(BlobRef {
        hash: get(&row, 0)?,
        size: int(&row, 1)?,
        content_type: get(&row, 2)?,
        created_at: get(&row, 3)?,
        used_by: format!("{kind} {id}: {}", get::<String>(&row, 4)?),
    })
}
