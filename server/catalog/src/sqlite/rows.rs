//! Reading rows into wire types: the one SELECT per type, and fetching a page of rows by
//! id in a single query (pages are chosen first by id, then filled; no N+1 queries).

use super::error::{not_found, Context};
use crate::{BlobRef, CatalogResult};
use cadenza_api::{
    artist_credit, Album, Artist, ArtistRef, Page, PageRequest, Playlist, Podcast, Song,
};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

pub(crate) use crate::paging::{clamp, empty_page, page, total_from_page};

/// A JSON array of ids, bound as one parameter and unpacked with `json_each`, which keeps
/// one cached statement for any page size and carries the order along (`json_each.key`).
pub(crate) fn id_list(ids: &[i64]) -> String {
    let mut s = String::with_capacity(ids.len() * 8 + 2);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

/// Reads a non-negative integer column as u64.
pub(crate) fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, e.into()))
}

pub(crate) fn get_opt_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<u64>> {
    match row.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(v) => u64::try_from(v)
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Integer, e.into())),
    }
}

// ------------------------------------------------------------------ songs

/// The artists a song `s` credits after its first, as a JSON array of `[id, name]` in
/// credit order (`[]` for most songs).
macro_rules! other_artists {
    () => {
        "(SELECT json_group_array(json_array(sa.artist_id, x.name) ORDER BY sa.position) \
          FROM song_artists sa JOIN artists x ON x.id = sa.artist_id WHERE sa.song_id = s.id)"
    };
}
/// The genres of a song `s` after its first, as a JSON array of names in tag order.
macro_rules! other_genres {
    () => {
        "(SELECT json_group_array(x.name ORDER BY sg.position) \
          FROM song_genres sg JOIN genres x ON x.id = sg.genre_id WHERE sg.song_id = s.id)"
    };
}
pub(crate) use {other_artists, other_genres};

pub(crate) const SONG_COLUMNS: &str = concat!(
    "s.id, s.title, ar.name, s.artist_id, al.title, s.album_id, \
     s.track, s.disc, g.name, s.year, s.duration_ms, s.codec, s.content_type, s.bitrate, \
     s.sample_rate, s.channels, s.size, s.hash, s.created_at, ",
    other_artists!(),
    ", ",
    other_genres!(),
    ", al.artist_id, aa.name"
);

/// `FROM` clause matching [`SONG_COLUMNS`]: a song with its artist, album (and its
/// artist) and genre names.
pub(crate) const SONG_JOINS: &str = "JOIN artists ar ON ar.id = s.artist_id \
     JOIN albums al ON al.id = s.album_id JOIN artists aa ON aa.id = al.artist_id \
     LEFT JOIN genres g ON g.id = s.genre_id";

pub(crate) fn song_from_row(row: &Row<'_>) -> rusqlite::Result<Song> {
    let first = ArtistRef {
        id: row.get(3)?,
        name: row.get(2)?,
    };
    let others: Vec<(i64, String)> = get_json(row, 19)?;
    let artists: Vec<ArtistRef> = std::iter::once(first)
        .chain(others.into_iter().map(|(id, name)| ArtistRef { id, name }))
        .collect();
    let names: Vec<&str> = artists.iter().map(|a| a.name.as_str()).collect();
    let genre: Option<String> = row.get(8)?;
    let other_genres: Vec<String> = get_json(row, 20)?;
    Ok(Song {
        id: row.get(0)?,
        title: row.get(1)?,
        artist: artist_credit(&names),
        artist_id: row.get(3)?,
        album: row.get(4)?,
        album_id: row.get(5)?,
        track: row.get(6)?,
        disc: row.get(7)?,
        genres: genre.iter().cloned().chain(other_genres).collect(),
        genre,
        year: row.get(9)?,
        duration_ms: get_u64(row, 10)?,
        codec: row.get(11)?,
        content_type: row.get(12)?,
        bitrate_kbps: row.get(13)?,
        sample_rate: row.get(14)?,
        channels: row.get(15)?,
        size: get_u64(row, 16)?,
        hash: row.get(17)?,
        created_at: row.get(18)?,
        artists,
        album_artist: Some(ArtistRef {
            id: row.get(21)?,
            name: row.get(22)?,
        }),
    })
}

/// A JSON column (see [`other_artists`]) read into `T`.
pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into()))
}

pub(crate) fn song(conn: &Connection, id: i64) -> CatalogResult<Option<Song>> {
    let sql = format!("SELECT {SONG_COLUMNS} FROM songs s {SONG_JOINS} WHERE s.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).ctx("reading a song")?;
    let mut rows = stmt.query_map([id], song_from_row).ctx("reading a song")?;
    rows.next().transpose().ctx("reading a song")
}

/// The songs with these ids, in the order given (unknown ids are skipped).
pub(crate) fn songs_by_ids(conn: &Connection, ids: &[i64]) -> CatalogResult<Vec<Song>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {SONG_COLUMNS} FROM json_each(?1) j CROSS JOIN songs s ON s.id = j.value \
         {SONG_JOINS} ORDER BY j.key"
    );
    collect(conn, &sql, id_list(ids), song_from_row, "reading songs")
}

// ------------------------------------------------------------------ albums

pub(crate) const ALBUM_COLUMNS: &str = "al.id, al.title, ar.name, al.artist_id, al.year, g.name, \
     al.song_count, al.duration_ms, al.cover_hash IS NOT NULL, al.created_at";

pub(crate) const ALBUM_JOINS: &str =
    "JOIN artists ar ON ar.id = al.artist_id LEFT JOIN genres g ON g.id = al.genre_id";

pub(crate) fn album_from_row(row: &Row<'_>) -> rusqlite::Result<Album> {
    Ok(Album {
        id: row.get(0)?,
        title: row.get(1)?,
        artist: row.get(2)?,
        artist_id: row.get(3)?,
        year: row.get(4)?,
        genre: row.get(5)?,
        song_count: row.get(6)?,
        duration_ms: get_u64(row, 7)?,
        has_cover: row.get(8)?,
        created_at: row.get(9)?,
    })
}

pub(crate) fn albums_by_ids(conn: &Connection, ids: &[i64]) -> CatalogResult<Vec<Album>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {ALBUM_COLUMNS} FROM json_each(?1) j CROSS JOIN albums al ON al.id = j.value \
         {ALBUM_JOINS} ORDER BY j.key"
    );
    collect(conn, &sql, id_list(ids), album_from_row, "reading albums")
}

// ------------------------------------------------------------------ artists

pub(crate) use crate::credits::artist_albums;

/// An artist's albums are those filed under them plus those they appear on.
pub(crate) const ARTIST_COLUMNS: &str = concat!(
    "a.id, a.name, (SELECT count(*) FROM (",
    artist_albums!("a.id"),
    ")), a.song_count"
);

pub(crate) fn artist_from_row(row: &Row<'_>) -> rusqlite::Result<Artist> {
    Ok(Artist {
        id: row.get(0)?,
        name: row.get(1)?,
        album_count: row.get(2)?,
        song_count: row.get(3)?,
    })
}

pub(crate) fn artists_by_ids(conn: &Connection, ids: &[i64]) -> CatalogResult<Vec<Artist>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {ARTIST_COLUMNS} FROM json_each(?1) j CROSS JOIN artists a ON a.id = j.value \
         ORDER BY j.key"
    );
    collect(conn, &sql, id_list(ids), artist_from_row, "reading artists")
}

// ------------------------------------------------------------------ playlists

pub(crate) const PLAYLIST_COLUMNS: &str = "p.id, p.name, p.owner_id, u.username, p.public, \
     (SELECT count(*) FROM playlist_tracks WHERE playlist_id = p.id), \
     (SELECT total(s.duration_ms) FROM playlist_tracks pt JOIN songs s ON s.id = pt.song_id \
      WHERE pt.playlist_id = p.id), \
     p.created_at, p.updated_at, p.comment";

pub(crate) const PLAYLIST_JOINS: &str = "JOIN users u ON u.id = p.owner_id";

pub(crate) fn playlist_from_row(row: &Row<'_>) -> rusqlite::Result<Playlist> {
    let duration: f64 = row.get(6)?;
    Ok(Playlist {
        id: row.get(0)?,
        name: row.get(1)?,
        owner_id: row.get(2)?,
        owner: row.get(3)?,
        public: row.get(4)?,
        song_count: row.get(5)?,
        duration_ms: duration as u64,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        comment: row.get(9)?,
    })
}

pub(crate) fn playlists_by_ids(conn: &Connection, ids: &[i64]) -> CatalogResult<Vec<Playlist>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {PLAYLIST_COLUMNS} FROM json_each(?1) j CROSS JOIN playlists p ON p.id = j.value \
         {PLAYLIST_JOINS} ORDER BY j.key"
    );
    collect(
        conn,
        &sql,
        id_list(ids),
        playlist_from_row,
        "reading playlists",
    )
}

// ------------------------------------------------------------------ podcasts

pub(crate) const PODCAST_COLUMNS: &str = "c.id, c.title, c.author, c.description, c.feed_url, \
     (SELECT count(*) FROM episodes WHERE podcast_id = c.id), c.created_at, c.refreshed_at, \
     c.refresh_error";

pub(crate) fn podcast_from_row(row: &Row<'_>) -> rusqlite::Result<Podcast> {
    Ok(Podcast {
        id: row.get(0)?,
        title: row.get(1)?,
        author: row.get(2)?,
        description: row.get(3)?,
        feed_url: row.get(4)?,
        episode_count: row.get(5)?,
        created_at: row.get(6)?,
        refreshed_at: row.get(7)?,
        refresh_error: row.get(8)?,
    })
}

pub(crate) fn podcasts_by_ids(conn: &Connection, ids: &[i64]) -> CatalogResult<Vec<Podcast>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {PODCAST_COLUMNS} FROM json_each(?1) j CROSS JOIN podcasts c ON c.id = j.value \
         ORDER BY j.key"
    );
    collect(
        conn,
        &sql,
        id_list(ids),
        podcast_from_row,
        "reading podcasts",
    )
}

// ------------------------------------------------------------------ audio

/// What holds streamable audio: songs and episodes keep it in the same columns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audio {
    Song,
    Episode,
}

/// The blob a song or an episode streams.
pub(crate) fn audio_blob(conn: &Connection, audio: Audio, id: i64) -> CatalogResult<BlobRef> {
    let (table, noun, doing) = match audio {
        Audio::Song => ("songs", "song", "reading a song"),
        Audio::Episode => ("episodes", "episode", "reading an episode"),
    };
    conn.prepare_cached(&format!(
        "SELECT hash, size, content_type, created_at, title FROM {table} WHERE id = ?1"
    ))
    .and_then(|mut s| {
        s.query_row([id], |r| {
            Ok(BlobRef {
                hash: r.get(0)?,
                size: get_u64(r, 1)?,
                content_type: r.get(2)?,
                created_at: r.get(3)?,
                used_by: format!("{noun} {id}: {}", r.get::<_, String>(4)?),
            })
        })
        .optional()
    })
    .ctx(doing)?
    .ok_or_else(|| not_found(noun, id))
}

// ------------------------------------------------------------------ helpers

/// Runs a cached one-parameter query and collects its mapped rows.
pub(crate) fn collect<T, P: rusqlite::ToSql>(
    conn: &Connection,
    sql: &str,
    param: P,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    doing: &str,
) -> CatalogResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).ctx(doing)?;
    let rows = stmt.query_map([param], map).ctx(doing)?;
    rows.collect::<rusqlite::Result<Vec<T>>>().ctx(doing)
}

/// Ids of one page: `sql` must select the id as its first column and take
/// `LIMIT ?1 OFFSET ?2` after any parameters in `params`.
pub(crate) fn page_ids(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    req: PageRequest,
    doing: &str,
) -> CatalogResult<Vec<i64>> {
    let mut stmt = conn.prepare_cached(sql).ctx(doing)?;
    let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
    all.push(&req.limit);
    all.push(&req.offset);
    let rows = stmt
        .query_map(all.as_slice(), |r| r.get::<_, i64>(0))
        .ctx(doing)?;
    rows.collect::<rusqlite::Result<Vec<i64>>>().ctx(doing)
}

/// One page of ids with the listing's total: `ids_sql` as for [`page_ids`]; `count_sql`
/// counts the same rows with the same `params`, and runs only when the page does not prove
/// the total.
pub(crate) fn paged_ids(
    conn: &Connection,
    ids_sql: &str,
    count_sql: &str,
    params: &[&dyn rusqlite::ToSql],
    req: PageRequest,
    doing: &str,
) -> CatalogResult<(Vec<i64>, u64)> {
    let ids = page_ids(conn, ids_sql, params, req, doing)?;
    let total = match total_from_page(ids.len(), req) {
        Some(total) => total,
        None => count(conn, count_sql, params, doing)?,
    };
    Ok((ids, total))
}

/// A page of every row of `table` by `column` (case-insensitively, then id): the page's ids
/// from the column's index, then `fill` reads just those rows.
pub(crate) fn whole_table_page<T>(
    conn: &Connection,
    table: &str,
    column: &str,
    req: PageRequest,
    fill: fn(&Connection, &[i64]) -> CatalogResult<Vec<T>>,
) -> CatalogResult<Page<T>> {
    let req = clamp(req);
    let (ids, total) = paged_ids(
        conn,
        &format!("SELECT id FROM {table} ORDER BY {column} COLLATE NOCASE, id LIMIT ?1 OFFSET ?2"),
        &format!("SELECT count(*) FROM {table}"),
        &[],
        req,
        &format!("listing {table}"),
    )?;
    Ok(page(fill(conn, &ids)?, total, req))
}

/// A single `count(*)`-style number.
pub(crate) fn count(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    doing: &str,
) -> CatalogResult<u64> {
    let mut stmt = conn.prepare_cached(sql).ctx(doing)?;
    let n: i64 = stmt.query_row(params, |r| r.get(0)).ctx(doing)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_json_arrays() {
        assert_eq!(id_list(&[]), "[]");
        assert_eq!(id_list(&[3, 1, -2]), "[3,1,-2]");
    }
}
