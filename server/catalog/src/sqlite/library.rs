//! Adding and deleting songs, with the artists, albums and genres they hang from.

use super::error::{not_found, to_i64, Context};
use super::text::{fts_text, name_key};
use crate::credits;
pub(crate) use crate::credits::Credits;
use crate::validate::tags;
use crate::{CatalogResult, NewSong};
use cadenza_api::SongId;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// What inserting one song did.
pub(crate) enum Inserted {
    Created(SongId),
    /// A song with the same hash was already there.
    Existing(SongId),
}

/// Ids of artists, albums and genres already resolved in this transaction, so a bulk
/// insert looks each name up once.
#[derive(Default)]
pub(crate) struct Names {
    artists: HashMap<String, i64>,
    albums: HashMap<(i64, String), i64>,
    genres: HashMap<String, i64>,
}

/// Whether the full-text row is written now or left for a later rebuild.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Indexing {
    Now,
    Deferred,
}

/// The first song stored with these bytes (songs may share a blob; uploads never add a
/// second one, see [`insert_song`]).
pub(crate) fn song_id_by_hash(conn: &Connection, hash: &str) -> CatalogResult<Option<SongId>> {
    conn.prepare_cached("SELECT id FROM songs WHERE hash = ?1 ORDER BY id LIMIT 1")
        .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
        .ctx("looking up a song by hash")
}

/// What a `songs` row holds besides the song's own fields: its checked title and sizes, and
/// the ids its artist, album and genre resolved to.
pub(crate) struct SongRow<'a> {
    pub(crate) title: &'a str,
    pub(crate) artist_id: i64,
    pub(crate) album_id: i64,
    pub(crate) genre_id: Option<i64>,
    pub(crate) duration_ms: i64,
    pub(crate) size: i64,
}

/// Inserts the `songs` row (uploads and fresh loads alike); returns its id.
pub(crate) fn insert_song_row(
    conn: &Connection,
    song: &NewSong,
    row: &SongRow,
    now: i64,
) -> CatalogResult<i64> {
    conn.prepare_cached(
        "INSERT INTO songs (title, artist_id, album_id, track, disc, genre_id, year, duration_ms, \
         codec, content_type, bitrate, sample_rate, channels, size, hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            row.title,
            row.artist_id,
            row.album_id,
            song.track,
            song.disc,
            row.genre_id,
            song.year,
            row.duration_ms,
            song.codec.trim(),
            song.content_type.trim(),
            song.bitrate_kbps,
            song.sample_rate,
            song.channels,
            row.size,
            song.hash,
            now,
        ])
    })
    .ctx("inserting a song")?;
    Ok(conn.last_insert_rowid())
}

/// Inserts one song unless its hash is known; creates its artist, album and genre as
/// needed and gives the album this song's year, genre and cover when it has none yet.
pub(crate) fn insert_song(
    conn: &Connection,
    song: &NewSong,
    now: i64,
    names: &mut Names,
    indexing: Indexing,
) -> CatalogResult<Inserted> {
    let tags = tags(song)?;
    if let Some(id) = song_id_by_hash(conn, &song.hash)? {
        return Ok(Inserted::Existing(id));
    }
    let duration_ms = to_i64("duration", song.duration_ms)?;
    let size = to_i64("size", song.size)?;
    let cover_size = song
        .cover
        .as_ref()
        .map(|c| to_i64("cover size", c.size))
        .transpose()?;

    let artist_id = names.artist(conn, &tags.artist)?;
    let album_artist = tags.album_artist.as_deref().unwrap_or(&tags.artist);
    let album_artist_id = names.artist(conn, album_artist)?;
    let album_id = names.album(conn, album_artist_id, &tags.album, album_artist, now)?;
    let genre_id = tags
        .genre
        .as_deref()
        .map(|g| names.genre(conn, g))
        .transpose()?;

    let id = insert_song_row(
        conn,
        song,
        &SongRow {
            title: &tags.title,
            artist_id,
            album_id,
            genre_id,
            duration_ms,
            size,
        },
        now,
    )?;

    fill_album(conn, album_id, song, genre_id, cover_size)?;

    let others = tags
        .other_artists
        .iter()
        .map(|name| names.artist(conn, name))
        .collect::<CatalogResult<Vec<_>>>()?;
    insert_credits(conn, Credits::Artists, id, artist_id, &others)?;
    if let Some(first) = genre_id {
        let others = tags
            .other_genres
            .iter()
            .map(|name| names.genre(conn, name))
            .collect::<CatalogResult<Vec<_>>>()?;
        insert_credits(conn, Credits::Genres, id, first, &others)?;
    }

    if indexing == Indexing::Now {
        let (artists, genres) = tags.search_text();
        index_song(
            conn,
            id,
            &tags.title,
            &artists,
            &tags.album,
            genres.as_deref(),
        )?;
    }
    Ok(Inserted::Created(id))
}

/// Records the entries a song credits after its `first` (kept on the `songs` row), in
/// order, each once.
pub(crate) fn insert_credits(
    conn: &Connection,
    credits: Credits,
    song: SongId,
    first: i64,
    others: &[i64],
) -> CatalogResult<()> {
    let (table, column) = credits.table();
    for (position, id) in (1i64..).zip(credits::others(first, others)) {
        conn.prepare_cached(&format!(
            "INSERT INTO {table} (song_id, position, {column}) VALUES (?1, ?2, ?3)"
        ))
        .and_then(|mut s| s.execute((song, position, id)))
        .ctx("crediting a song")?;
    }
    Ok(())
}

/// The entries a song credits after its first.
fn other_credits(conn: &Connection, credits: Credits, song: SongId) -> CatalogResult<Vec<i64>> {
    let (table, column) = credits.table();
    super::rows::collect(
        conn,
        &format!("SELECT {column} FROM {table} WHERE song_id = ?1 ORDER BY position"),
        song,
        |r| r.get(0),
        "reading a song's credits",
    )
}

/// Gives the album the song's year, genre and cover where it has none yet.
pub(crate) fn fill_album(
    conn: &Connection,
    album_id: i64,
    song: &NewSong,
    genre_id: Option<i64>,
    cover_size: Option<i64>,
) -> CatalogResult<()> {
    if song.year.is_none() && genre_id.is_none() && song.cover.is_none() {
        return Ok(());
    }
    let cover = song.cover.as_ref();
    // SET expressions all see the row as it was, so the CASEs test the old cover.
    conn.prepare_cached(
        "UPDATE albums SET year = coalesce(year, ?2), genre_id = coalesce(genre_id, ?3), \
         cover_size = CASE WHEN cover_hash IS NULL THEN ?5 ELSE cover_size END, \
         cover_content_type = CASE WHEN cover_hash IS NULL THEN ?6 ELSE cover_content_type END, \
         cover_hash = coalesce(cover_hash, ?4) WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            album_id,
            song.year,
            genre_id,
            cover.map(|c| &c.hash),
            cover_size,
            cover.map(|c| c.content_type.trim()),
        ])
    })
    .ctx("filling in album details")?;
    Ok(())
}

/// Adds a song's full-text row (under its negated id, see `search::song_rowid`).
pub(crate) fn index_song(
    conn: &Connection,
    id: SongId,
    title: &str,
    artist: &str,
    album: &str,
    genre: Option<&str>,
) -> CatalogResult<()> {
    conn.prepare_cached(
        "INSERT INTO songs_fts (rowid, title, artist, album, genre) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute((
            super::search::song_rowid(id),
            fts_text(title),
            fts_text(artist),
            fts_text(album),
            genre.map(fts_text),
        ))
    })
    .ctx("indexing a song for search")?;
    Ok(())
}

impl Names {
    pub(crate) fn artist(&mut self, conn: &Connection, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.artists.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM artists WHERE name_key = ?1")
            .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
            .ctx("looking up an artist")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO artists (name, name_key) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((name, &key)))
                    .ctx("creating an artist")?;
                let id = conn.last_insert_rowid();
                conn.prepare_cached("INSERT INTO artists_fts (rowid, name) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((id, fts_text(name))))
                    .ctx("indexing an artist for search")?;
                id
            }
        };
        self.artists.insert(key, id);
        Ok(id)
    }

    fn album(
        &mut self,
        conn: &Connection,
        artist_id: i64,
        title: &str,
        artist_name: &str,
        now: i64,
    ) -> CatalogResult<i64> {
        let key = (artist_id, name_key(title));
        if let Some(&id) = self.albums.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM albums WHERE artist_id = ?1 AND title_key = ?2")
            .and_then(|mut s| s.query_row((artist_id, &key.1), |r| r.get(0)).optional())
            .ctx("looking up an album")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO albums (title, title_key, artist_id, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute((title, &key.1, artist_id, now)))
                .ctx("creating an album")?;
                let id = conn.last_insert_rowid();
                conn.prepare_cached(
                    "INSERT INTO albums_fts (rowid, title, artist) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute((id, fts_text(title), fts_text(artist_name))))
                .ctx("indexing an album for search")?;
                id
            }
        };
        self.albums.insert(key, id);
        Ok(id)
    }

    fn genre(&mut self, conn: &Connection, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.genres.get(&key) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM genres WHERE name_key = ?1")
            .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
            .ctx("looking up a genre")?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO genres (name, name_key) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute((name, &key)))
                    .ctx("creating a genre")?;
                conn.last_insert_rowid()
            }
        };
        self.genres.insert(key, id);
        Ok(id)
    }
}

/// Deletes a song and whatever it leaves empty; returns the blob hashes nothing uses any more.
pub(crate) fn delete_song(conn: &Connection, id: SongId) -> CatalogResult<Vec<String>> {
    let (artist_id, album_id, genre_id, hash): (i64, i64, Option<i64>, String) = conn
        .prepare_cached("SELECT artist_id, album_id, genre_id, hash FROM songs WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
        })
        .ctx("reading a song")?
        .ok_or_else(|| not_found("song", id))?;
    let playlists: Vec<i64> = super::rows::collect(
        conn,
        "SELECT DISTINCT playlist_id FROM playlist_tracks WHERE song_id = ?1",
        id,
        |r| r.get(0),
        "finding playlists with the song",
    )?;
    let other_artists = other_credits(conn, Credits::Artists, id)?;
    let other_genres = other_credits(conn, Credits::Genres, id)?;

    // Cascades remove its playlist entries, plays and credits; triggers fix counters and
    // search.
    conn.prepare_cached("DELETE FROM songs WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("deleting a song")?;
    for playlist in playlists {
        super::playlists::renumber(conn, playlist)?;
    }

    let mut unused = Vec::new();
    if !blob_referenced(conn, &hash)? {
        unused.push(hash);
    }
    let (album_songs, album_artist, cover): (i64, i64, Option<String>) = conn
        .prepare_cached("SELECT song_count, artist_id, cover_hash FROM albums WHERE id = ?1")
        .and_then(|mut s| s.query_row([album_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .ctx("reading the song's album")?;
    if album_songs == 0 {
        conn.prepare_cached("DELETE FROM albums WHERE id = ?1")
            .and_then(|mut s| s.execute([album_id]))
            .ctx("deleting an empty album")?;
        if let Some(cover) = cover {
            if !blob_referenced(conn, &cover)? && !unused.contains(&cover) {
                unused.push(cover);
            }
        }
    } else {
        refresh_album(conn, album_id)?;
    }
    for artist in [artist_id, album_artist].into_iter().chain(other_artists) {
        delete_artist_if_empty(conn, artist)?;
    }
    for genre in genre_id.into_iter().chain(other_genres) {
        conn.prepare_cached(
            "DELETE FROM genres WHERE id = ?1 AND song_count = 0 \
             AND NOT EXISTS (SELECT 1 FROM albums WHERE genre_id = ?1)",
        )
        .and_then(|mut s| s.execute([genre]))
        .ctx("deleting an empty genre")?;
    }
    Ok(unused)
}

/// After a deletion the album's year and genre come from its first remaining track
/// (in album order) that has one.
fn refresh_album(conn: &Connection, album_id: i64) -> CatalogResult<()> {
    conn.prepare_cached(
        "UPDATE albums SET \
         year = (SELECT year FROM songs WHERE album_id = ?1 AND year IS NOT NULL \
                 ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1), \
         genre_id = (SELECT genre_id FROM songs WHERE album_id = ?1 AND genre_id IS NOT NULL \
                 ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1) \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute([album_id]))
    .ctx("updating an album's year and genre")?;
    Ok(())
}

fn delete_artist_if_empty(conn: &Connection, artist_id: i64) -> CatalogResult<()> {
    conn.prepare_cached(
        "DELETE FROM artists WHERE id = ?1 AND song_count = 0 \
         AND NOT EXISTS (SELECT 1 FROM albums WHERE artist_id = ?1)",
    )
    .and_then(|mut s| s.execute([artist_id]))
    .ctx("deleting an empty artist")?;
    Ok(())
}

/// Whether any song, episode or album cover still uses the blob.
pub(crate) fn blob_referenced(conn: &Connection, hash: &str) -> CatalogResult<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM songs WHERE hash = ?1) \
             OR EXISTS (SELECT 1 FROM episodes WHERE hash = ?1) \
             OR EXISTS (SELECT 1 FROM albums WHERE cover_hash = ?1)",
    )
    .and_then(|mut s| s.query_row([hash], |r| r.get(0)))
    .ctx("checking whether a blob is still used")
}
