//! Reading rows into wire types: the one SELECT per type, and fetching a page of rows by id
//! in a single query (pages are chosen first by id, then filled; no N+1 queries).

use super::error::{out_of_range, Context};
use super::pool::{Params, Tx};
use crate::CatalogResult;
use cadenza_api::{artist_credit, Album, Artist, ArtistRef, PageRequest, Playlist, Podcast, Song};
use postgres::Row;

/// An integer column as the wire type wants it (`u32` for a count, `u64` for a size...).
pub(crate) fn int<T: TryFrom<i64>>(row: &Row, idx: usize) -> CatalogResult<T> {
    let v: i64 = row.try_get(idx).ctx("reading a row")?;
    T::try_from(v).map_err(|_| out_of_range(idx, v))
}

pub(crate) fn opt_int<T: TryFrom<i64>>(row: &Row, idx: usize) -> CatalogResult<Option<T>> {
    let v: Option<i64> = row.try_get(idx).ctx("reading a row")?;
    v.map(|v| T::try_from(v).map_err(|_| out_of_range(idx, v)))
        .transpose()
}

pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a Row,
    idx: usize,
) -> CatalogResult<T> {
    row.try_get(idx).ctx("reading a row")
}

// ------------------------------------------------------------------ songs

/// A song `s`: its own columns, the artists and genres it credits after its first (arrays
/// in credit order, empty for most songs: subselects on the credit tables' keys, so a page
/// of songs stays one query) and its album's artist.
pub(crate) const SONG_COLUMNS: &str = "s.id, s.title, ar.name, s.artist_id, al.title, s.album_id, \
     s.track, s.disc, g.name, s.year, s.duration_ms, s.codec, s.content_type, s.bitrate, \
     s.sample_rate, s.channels, s.size, s.hash, s.created_at, \
     ARRAY(SELECT sa.artist_id FROM song_artists sa WHERE sa.song_id = s.id \
           ORDER BY sa.position), \
     ARRAY(SELECT x.name FROM song_artists sa JOIN artists x ON x.id = sa.artist_id \
           WHERE sa.song_id = s.id ORDER BY sa.position), \
     ARRAY(SELECT x.name FROM song_genres sg JOIN genres x ON x.id = sg.genre_id \
           WHERE sg.song_id = s.id ORDER BY sg.position), \
     al.artist_id, aa.name";

/// `FROM` clause matching [`SONG_COLUMNS`]: a song with its artist, album (and its artist)
/// and genre names.
pub(crate) const SONG_JOINS: &str = "JOIN artists ar ON ar.id = s.artist_id \
     JOIN albums al ON al.id = s.album_id JOIN artists aa ON aa.id = al.artist_id \
     LEFT JOIN genres g ON g.id = s.genre_id";

pub(crate) fn song_from_row(row: &Row) -> CatalogResult<Song> {
    let first = ArtistRef {
        id: get(row, 3)?,
        name: get(row, 2)?,
    };
    let other_ids: Vec<i64> = get(row, 19)?;
    let other_names: Vec<String> = get(row, 20)?;
    let artists: Vec<ArtistRef> = std::iter::once(first)
        .chain(
            other_ids
                .into_iter()
                .zip(other_names)
                .map(|(id, name)| ArtistRef { id, name }),
        )
        .collect();
    let names: Vec<&str> = artists.iter().map(|a| a.name.as_str()).collect();
    let genre: Option<String> = get(row, 8)?;
    let other_genres: Vec<String> = get(row, 21)?;
    Ok(Song {
        id: get(row, 0)?,
        title: get(row, 1)?,
        artist: artist_credit(&names),
        artist_id: get(row, 3)?,
        album: get(row, 4)?,
        album_id: get(row, 5)?,
        track: opt_int(row, 6)?,
        disc: opt_int(row, 7)?,
        genres: genre.iter().cloned().chain(other_genres).collect(),
        genre,
        year: opt_int(row, 9)?,
        duration_ms: int(row, 10)?,
        codec: get(row, 11)?,
        content_type: get(row, 12)?,
        bitrate_kbps: opt_int(row, 13)?,
        sample_rate: opt_int(row, 14)?,
        channels: opt_int(row, 15)?,
        size: int(row, 16)?,
        hash: get(row, 17)?,
        created_at: get(row, 18)?,
        artists,
        album_artist: Some(ArtistRef {
            id: get(row, 22)?,
            name: get(row, 23)?,
        }),
    })
}

pub(crate) fn song(tx: &mut Tx<'_>, id: i64) -> CatalogResult<Option<Song>> {
    let sql = format!("SELECT {SONG_COLUMNS} FROM songs s {SONG_JOINS} WHERE s.id = $1");
    tx.query_opt(&sql, &[&id])
        .ctx("reading a song")?
        .map(|r| song_from_row(&r))
        .transpose()
}

/// The songs with these ids, in the order given (unknown ids are skipped).
pub(crate) fn songs_by_ids(tx: &mut Tx<'_>, ids: &[i64]) -> CatalogResult<Vec<Song>> {
    by_ids(
        tx,
        &format!(
            "SELECT {SONG_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY j (id, n) \
             JOIN songs s ON s.id = j.id {SONG_JOINS} ORDER BY j.n"
        ),
        ids,
        song_from_row,
        "reading songs",
    )
}

// ------------------------------------------------------------------ albums

pub(crate) const ALBUM_COLUMNS: &str = "al.id, al.title, ar.name, al.artist_id, al.year, g.name, \
     al.song_count, al.duration_ms, al.cover_hash IS NOT NULL, al.created_at";

pub(crate) const ALBUM_JOINS: &str =
    "JOIN artists ar ON ar.id = al.artist_id LEFT JOIN genres g ON g.id = al.genre_id";

pub(crate) fn album_from_row(row: &Row) -> CatalogResult<Album> {
    Ok(Album {
        id: get(row, 0)?,
        title: get(row, 1)?,
        artist: get(row, 2)?,
        artist_id: get(row, 3)?,
        year: opt_int(row, 4)?,
        genre: get(row, 5)?,
        song_count: int(row, 6)?,
        duration_ms: int(row, 7)?,
        has_cover: get(row, 8)?,
        created_at: get(row, 9)?,
    })
}

pub(crate) fn albums_by_ids(tx: &mut Tx<'_>, ids: &[i64]) -> CatalogResult<Vec<Album>> {
    by_ids(
        tx,
        &format!(
            "SELECT {ALBUM_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY j (id, n) \
             JOIN albums al ON al.id = j.id {ALBUM_JOINS} ORDER BY j.n"
        ),
        ids,
        album_from_row,
        "reading albums",
    )
}

// ------------------------------------------------------------------ artists

pub(crate) use crate::credits::artist_albums;

/// An artist's albums are those filed under them plus those they appear on.
pub(crate) const ARTIST_COLUMNS: &str = concat!(
    "a.id, a.name, (SELECT count(*) FROM (",
    artist_albums!("a.id"),
    ") u), a.song_count"
);

pub(crate) fn artist_from_row(row: &Row) -> CatalogResult<Artist> {
    Ok(Artist {
        id: get(row, 0)?,
        name: get(row, 1)?,
        album_count: int(row, 2)?,
        song_count: int(row, 3)?,
    })
}

pub(crate) fn artists_by_ids(tx: &mut Tx<'_>, ids: &[i64]) -> CatalogResult<Vec<Artist>> {
    by_ids(
        tx,
        &format!(
            "SELECT {ARTIST_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY j (id, n) \
             JOIN artists a ON a.id = j.id ORDER BY j.n"
        ),
        ids,
        artist_from_row,
        "reading artists",
    )
}

// ------------------------------------------------------------------ playlists

pub(crate) const PLAYLIST_COLUMNS: &str = "p.id, p.name, p.owner_id, u.username, p.public, \
     (SELECT count(*) FROM playlist_tracks WHERE playlist_id = p.id), \
     (SELECT coalesce(sum(s.duration_ms), 0)::int8 FROM playlist_tracks pt \
      JOIN songs s ON s.id = pt.song_id WHERE pt.playlist_id = p.id), \
     p.created_at, p.updated_at, p.comment";

pub(crate) const PLAYLIST_JOINS: &str = "JOIN users u ON u.id = p.owner_id";

pub(crate) fn playlist_from_row(row: &Row) -> CatalogResult<Playlist> {
    Ok(Playlist {
        id: get(row, 0)?,
        name: get(row, 1)?,
        owner_id: get(row, 2)?,
        owner: get(row, 3)?,
        public: get(row, 4)?,
        song_count: int(row, 5)?,
        duration_ms: int(row, 6)?,
        created_at: get(row, 7)?,
        updated_at: get(row, 8)?,
        comment: get(row, 9)?,
    })
}

pub(crate) fn playlists_by_ids(tx: &mut Tx<'_>, ids: &[i64]) -> CatalogResult<Vec<Playlist>> {
    by_ids(
        tx,
        &format!(
            "SELECT {PLAYLIST_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY j (id, n) \
             JOIN playlists p ON p.id = j.id {PLAYLIST_JOINS} ORDER BY j.n"
        ),
        ids,
        playlist_from_row,
        "reading playlists",
    )
}

// ------------------------------------------------------------------ podcasts

pub(crate) const PODCAST_COLUMNS: &str = "c.id, c.title, c.author, c.description, c.feed_url, \
     (SELECT count(*) FROM episodes WHERE podcast_id = c.id), c.created_at, c.refreshed_at, \
     c.refresh_error";

pub(crate) fn podcast_from_row(row: &Row) -> CatalogResult<Podcast> {
    Ok(Podcast {
        id: get(row, 0)?,
        title: get(row, 1)?,
        author: get(row, 2)?,
        description: get(row, 3)?,
        feed_url: get(row, 4)?,
        episode_count: int(row, 5)?,
        created_at: get(row, 6)?,
        refreshed_at: get(row, 7)?,
        refresh_error: get(row, 8)?,
    })
}

pub(crate) fn podcasts_by_ids(tx: &mut Tx<'_>, ids: &[i64]) -> CatalogResult<Vec<Podcast>> {
    by_ids(
        tx,
        &format!(
            "SELECT {PODCAST_COLUMNS} FROM unnest($1::int8[]) WITH ORDINALITY j (id, n) \
             JOIN podcasts c ON c.id = j.id ORDER BY j.n"
        ),
        ids,
        podcast_from_row,
        "reading podcasts",
    )
}

// ------------------------------------------------------------------ helpers

fn by_ids<T>(
    tx: &mut Tx<'_>,
    sql: &str,
    ids: &[i64],
    map: impl Fn(&Row) -> CatalogResult<T>,
    doing: &str,
) -> CatalogResult<Vec<T>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = ids.to_vec();
    collect(tx, sql, &[&ids], map, doing)
}

/// Runs a query and maps its rows.
pub(crate) fn collect<T>(
    tx: &mut Tx<'_>,
    sql: &str,
    params: Params<'_>,
    map: impl Fn(&Row) -> CatalogResult<T>,
    doing: &str,
) -> CatalogResult<Vec<T>> {
    tx.query(sql, params).ctx(doing)?.iter().map(map).collect()
}

/// The first column of every row as an id.
pub(crate) fn ids(
    tx: &mut Tx<'_>,
    sql: &str,
    params: Params<'_>,
    doing: &str,
) -> CatalogResult<Vec<i64>> {
    collect(tx, sql, params, |r| get(r, 0), doing)
}

/// Ids of one page: `sql` must select a single id column and take `LIMIT $n OFFSET $n+1`
/// after the parameters in `params`.
pub(crate) fn page_ids(
    tx: &mut Tx<'_>,
    sql: &str,
    params: Params<'_>,
    req: PageRequest,
    doing: &str,
) -> CatalogResult<Vec<i64>> {
    let (limit, offset) = (i64::from(req.limit), i64::from(req.offset));
    let mut all: Vec<&(dyn postgres::types::ToSql + Sync)> = params.to_vec();
    all.push(&limit);
    all.push(&offset);
    ids(tx, sql, &all, doing)
}

/// A single `count(*)`-style number.
pub(crate) fn count(
    tx: &mut Tx<'_>,
    sql: &str,
    params: Params<'_>,
    doing: &str,
) -> CatalogResult<u64> {
    let n: i64 = get(&tx.query_one(sql, params).ctx(doing)?, 0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Whether a row with this id exists in `table`.
pub(crate) fn exists(tx: &mut Tx<'_>, table: &str, id: i64, doing: &str) -> CatalogResult<bool> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)");
    get(&tx.query_one(&sql, &[&id]).ctx(doing)?, 0)
}
