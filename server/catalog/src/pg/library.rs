//! Adding and deleting songs, with the artists, albums and genres they hang from.

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get};
use super::search::index_text;
use crate::credits::{self, Credits};
use crate::text::name_key;
use crate::validate::{tags, Tags};
use crate::{not_found, to_i64, CatalogResult, NewSong};
use cadenza_api::SongId;
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

/// The first song stored with these bytes.
pub(crate) fn song_id_by_hash(tx: &mut Tx<'_>, hash: &str) -> CatalogResult<Option<SongId>> {
    let Some(hash) = super::users::lookup_text(hash) else {
        return Ok(None);
    };
    tx.query_opt(
        "SELECT id FROM songs WHERE hash = $1 ORDER BY id LIMIT 1",
        &[&hash],
    )
    .ctx("looking up a song by hash")?
    .map(|r| get(&r, 0))
    .transpose()
}

/// Inserts one song unless its hash is known; creates its artist, album and genre as
/// needed and gives the album this song's year, genre and cover when it has none yet.
///
/// Unlike SQLite, PostgreSQL lets several writers in at once: uploads of the same bytes
/// are serialised by a lock on the hash (so only the first adds a song), and a name two
/// uploads create at the same moment is created once (`ON CONFLICT`).
pub(crate) fn insert_song(
    tx: &mut Tx<'_>,
    song: &NewSong,
    now: i64,
    names: &mut Names,
) -> CatalogResult<Inserted> {
    let tags = tags(song)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        &[&song.hash],
    )
    .ctx("waiting for another upload of the same bytes")?;
    if let Some(id) = song_id_by_hash(tx, &song.hash)? {
        return Ok(Inserted::Existing(id));
    }
    let duration_ms = to_i64("duration", song.duration_ms)?;
    let size = to_i64("size", song.size)?;
    let cover_size = song
        .cover
        .as_ref()
        .map(|c| to_i64("cover size", c.size))
        .transpose()?;

    let artist_id = names.artist(tx, &tags.artist)?;
    let album_artist = tags.album_artist.as_deref().unwrap_or(&tags.artist);
    let album_artist_id = names.artist(tx, album_artist)?;
    let album_id = names.album(tx, album_artist_id, &tags.album, album_artist, now)?;
    let genre_id = tags
        .genre
        .as_deref()
        .map(|g| names.genre(tx, g))
        .transpose()?;
    let bitrate = song.bitrate_kbps.map(i64::from);
    let sample_rate = song.sample_rate.map(i64::from);
    let channels = song.channels.map(i64::from);
    let (track, disc, year) = (
        song.track.map(i64::from),
        song.disc.map(i64::from),
        song.year.map(i64::from),
    );
    let [title_text, artist_text, album_text, genre_text] = document(&tags);
    let row = tx
        .query_one(
            "INSERT INTO songs (title, artist_id, album_id, track, disc, genre_id, year, \
             duration_ms, codec, content_type, bitrate, sample_rate, channels, size, hash, \
             created_at, search) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             cadenza_document($17, $18, $19, $20)) RETURNING id",
            &[
                &tags.title,
                &artist_id,
                &album_id,
                &track,
                &disc,
                &genre_id,
                &year,
                &duration_ms,
                &song.codec.trim(),
                &song.content_type.trim(),
                &bitrate,
                &sample_rate,
                &channels,
                &size,
                &song.hash,
                &now,
                &title_text,
                &artist_text,
                &album_text,
                &genre_text,
            ],
        )
        .ctx("inserting a song")?;
    let id: i64 = get(&row, 0)?;
    fill_album(tx, album_id, song, year, genre_id, cover_size)?;

    let others = tags
        .other_artists
        .iter()
        .map(|name| names.artist(tx, name))
        .collect::<CatalogResult<Vec<_>>>()?;
    insert_credits(tx, Credits::Artists, id, artist_id, &others)?;
    if let Some(first) = genre_id {
        let others = tags
            .other_genres
            .iter()
            .map(|name| names.genre(tx, name))
            .collect::<CatalogResult<Vec<_>>>()?;
        insert_credits(tx, Credits::Genres, id, first, &others)?;
    }
    Ok(Inserted::Created(id))
}

/// The search document of a song: title, artists, album, genres, as index text (every
/// artist and genre it credits, so it is found under any).
pub(crate) fn document(tags: &Tags) -> [String; 4] {
    let (artists, genres) = tags.search_text();
    [
        index_text(&tags.title),
        index_text(&artists),
        index_text(&tags.album),
        genres.as_deref().map(index_text).unwrap_or_default(),
    ]
}

/// Records the entries a song credits after its `first` (kept on the `songs` row), in
/// order, each once, in one statement.
fn insert_credits(
    tx: &mut Tx<'_>,
    credits: Credits,
    song: SongId,
    first: i64,
    others: &[i64],
) -> CatalogResult<()> {
    let others = credits::others(first, others);
    if others.is_empty() {
        return Ok(());
    }
    let (table, column) = credits.table();
    tx.execute(
        &format!(
            "INSERT INTO {table} (song_id, position, {column}) \
             SELECT $1, n, id FROM unnest($2::int8[]) WITH ORDINALITY u (id, n)"
        ),
        &[&song, &others],
    )
    .ctx("crediting a song")?;
    Ok(())
}

/// The entries a song credits after its first.
fn other_credits(tx: &mut Tx<'_>, credits: Credits, song: SongId) -> CatalogResult<Vec<i64>> {
    let (table, column) = credits.table();
    rows::ids(
        tx,
        &format!("SELECT {column} FROM {table} WHERE song_id = $1 ORDER BY position"),
        &[&song],
        "reading a song's credits",
    )
}

/// Gives the album the song's year, genre and cover where it has none yet.
fn fill_album(
    tx: &mut Tx<'_>,
    album_id: i64,
    song: &NewSong,
    year: Option<i64>,
    genre_id: Option<i64>,
    cover_size: Option<i64>,
) -> CatalogResult<()> {
    if year.is_none() && genre_id.is_none() && song.cover.is_none() {
        return Ok(());
    }
    let cover = song.cover.as_ref();
    let (hash, content_type) = (
        cover.map(|c| c.hash.as_str()),
        cover.map(|c| c.content_type.trim()),
    );
    // SET expressions all see the row as it was, so the CASEs test the old cover.
    tx.execute(
        "UPDATE albums SET year = coalesce(year, $2), genre_id = coalesce(genre_id, $3), \
         cover_size = CASE WHEN cover_hash IS NULL THEN $5 ELSE cover_size END, \
         cover_content_type = CASE WHEN cover_hash IS NULL THEN $6 ELSE cover_content_type END, \
         cover_hash = coalesce(cover_hash, $4) WHERE id = $1",
        &[
            &album_id,
            &year,
            &genre_id,
            &hash,
            &cover_size,
            &content_type,
        ],
    )
    .ctx("filling in album details")?;
    Ok(())
}

impl Names {
    pub(crate) fn artist(&mut self, tx: &mut Tx<'_>, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.artists.get(&key) {
            return Ok(id);
        }
        let id = find_or_create(
            tx,
            "INSERT INTO artists (name, name_key, search) VALUES ($1, $2, cadenza_document($3)) \
             ON CONFLICT (name_key) DO NOTHING RETURNING id",
            "SELECT id FROM artists WHERE name_key = $1",
            &[&name, &key, &index_text(name)],
            &[&key],
            "creating an artist",
        )?;
        self.artists.insert(key, id);
        Ok(id)
    }

    fn album(
        &mut self,
        tx: &mut Tx<'_>,
        artist_id: i64,
        title: &str,
        artist_name: &str,
        now: i64,
    ) -> CatalogResult<i64> {
        let key = (artist_id, name_key(title));
        if let Some(&id) = self.albums.get(&key) {
            return Ok(id);
        }
        let id = find_or_create(
            tx,
            "INSERT INTO albums (title, title_key, artist_id, created_at, search) \
             VALUES ($1, $2, $3, $4, cadenza_document($5, $6)) \
             ON CONFLICT (artist_id, title_key) DO NOTHING RETURNING id",
            "SELECT id FROM albums WHERE title_key = $1 AND artist_id = $2",
            &[
                &title,
                &key.1,
                &artist_id,
                &now,
                &index_text(title),
                &index_text(artist_name),
            ],
            &[&key.1, &artist_id],
            "creating an album",
        )?;
        self.albums.insert(key, id);
        Ok(id)
    }

    fn genre(&mut self, tx: &mut Tx<'_>, name: &str) -> CatalogResult<i64> {
        let key = name_key(name);
        if let Some(&id) = self.genres.get(&key) {
            return Ok(id);
        }
        let id = find_or_create(
            tx,
            "INSERT INTO genres (name, name_key) VALUES ($1, $2) \
             ON CONFLICT (name_key) DO NOTHING RETURNING id",
            "SELECT id FROM genres WHERE name_key = $1",
            &[&name, &key],
            &[&key],
            "creating a genre",
        )?;
        self.genres.insert(key, id);
        Ok(id)
    }
}

/// Inserts a name row unless its key exists (also when another writer inserts it at the
/// same moment: the insert then waits for that one and does nothing), and returns its id.
fn find_or_create(
    tx: &mut Tx<'_>,
    insert: &str,
    select: &str,
    insert_params: super::pool::Params<'_>,
    select_params: super::pool::Params<'_>,
    doing: &str,
) -> CatalogResult<i64> {
    if let Some(row) = tx.query_opt(select, select_params).ctx(doing)? {
        return get(&row, 0);
    }
    if let Some(row) = tx.query_opt(insert, insert_params).ctx(doing)? {
        return get(&row, 0);
    }
    get(&tx.query_one(select, select_params).ctx(doing)?, 0)
}

/// Deletes a song and whatever it leaves empty; returns the blob hashes nothing uses any more.
pub(crate) fn delete_song(tx: &mut Tx<'_>, id: SongId) -> CatalogResult<Vec<String>> {
    let row = tx
        .query_opt(
            "SELECT artist_id, album_id, genre_id, hash FROM songs WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .ctx("reading a song")?
        .ok_or_else(|| not_found("song", id))?;
    let (artist_id, album_id, genre_id, hash): (i64, i64, Option<i64>, String) =
        (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?, get(&row, 3)?);
    let playlists = rows::ids(
        tx,
        "SELECT DISTINCT playlist_id FROM playlist_tracks WHERE song_id = $1",
        &[&id],
        "finding playlists with the song",
    )?;

    let other_artists = other_credits(tx, Credits::Artists, id)?;
    let other_genres = other_credits(tx, Credits::Genres, id)?;

    // Cascades remove its playlist entries, plays and credits; triggers fix the counters.
    tx.execute("DELETE FROM songs WHERE id = $1", &[&id])
        .ctx("deleting a song")?;
    for playlist in playlists {
        super::playlists::renumber(tx, playlist)?;
    }

    let mut unused = Vec::new();
    if !blob_referenced(tx, &hash)? {
        unused.push(hash);
    }
    let row = tx
        .query_one(
            "SELECT song_count, artist_id, cover_hash FROM albums WHERE id = $1",
            &[&album_id],
        )
        .ctx("reading the song's album")?;
    let (album_songs, album_artist, cover): (i64, i64, Option<String>) =
        (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?);
    if album_songs == 0 {
        tx.execute("DELETE FROM albums WHERE id = $1", &[&album_id])
            .ctx("deleting an empty album")?;
        if let Some(cover) = cover {
            if !blob_referenced(tx, &cover)? && !unused.contains(&cover) {
                unused.push(cover);
            }
        }
    } else {
        tx.execute(
            "UPDATE albums SET \
             year = (SELECT year FROM songs WHERE album_id = $1 AND year IS NOT NULL \
                     ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1), \
             genre_id = (SELECT genre_id FROM songs WHERE album_id = $1 AND genre_id IS NOT NULL \
                     ORDER BY coalesce(disc, 1), track IS NULL, track, id LIMIT 1) \
             WHERE id = $1",
            &[&album_id],
        )
        .ctx("updating an album's year and genre")?;
    }
    for artist in [artist_id, album_artist].into_iter().chain(other_artists) {
        tx.execute(
            "DELETE FROM artists WHERE id = $1 AND song_count = 0 \
             AND NOT EXISTS (SELECT 1 FROM albums WHERE artist_id = $1)",
            &[&artist],
        )
        .ctx("deleting an empty artist")?;
    }
    for genre in genre_id.into_iter().chain(other_genres) {
        tx.execute(
            "DELETE FROM genres WHERE id = $1 AND song_count = 0 \
             AND NOT EXISTS (SELECT 1 FROM albums WHERE genre_id = $1)",
            &[&genre],
        )
        .ctx("deleting an empty genre")?;
    }
    Ok(unused)
}

/// Whether any song, episode or album cover still uses the blob.
pub(crate) fn blob_referenced(tx: &mut Tx<'_>, hash: &str) -> CatalogResult<bool> {
    get(
        &tx.query_one(
            "SELECT EXISTS (SELECT 1 FROM songs WHERE hash = $1) \
                 OR EXISTS (SELECT 1 FROM episodes WHERE hash = $1) \
                 OR EXISTS (SELECT 1 FROM albums WHERE cover_hash = $1)",
            &[&hash],
        )
        .ctx("checking whether a blob is still used")?,
        0,
    )
}
