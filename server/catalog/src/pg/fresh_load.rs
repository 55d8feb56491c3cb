//! Filling an empty PostgreSQL catalog with many songs at once (synthetic catalogs for
//! benchmarks), the counterpart of SQLite's `FreshLoad`.
//!
//! Everything happens in one transaction, so a load that fails or is dropped leaves the
//! catalog empty:
//! - Each batch of songs goes to a temporary table with `COPY` (text format) and from there
//!   into `songs` with its search document, so PostgreSQL builds documents while the caller
//!   makes the next batch. Artists, albums and genres are resolved in memory (nobody else
//!   writes the new catalog) with the same rules as an upload (the first year, genre and
//!   cover an album sees stay) and written at the end.
//! - The songs' indexes, foreign keys and counting trigger are off during the load and made
//!   again by [`finish`](PgFreshLoad::finish): one sort or one join each instead of a
//!   million index insertions or look-ups. Counters are counted in memory and written with
//!   the names (updating them afterwards rewrote every album with its index entries).

use super::error::{describe, Context};
use super::library::document;
use super::search::index_text;
use crate::credits::{self, Credits};
use crate::text::name_key;
use crate::validate::tags;
use crate::{to_i64, CatalogError, CatalogResult, NewSong, PgCatalog, PgOptions};
use cadenza_api::SongId;
use std::collections::HashMap;
use std::io::Write;

/// A new PostgreSQL catalog being filled; see the module docs.
pub struct PgFreshLoad {
    /// Open transaction on `client`, begun in [`create`](Self::create).
    client: postgres::Client,
    artists: Names,
    genres: Names,
    albums: HashMap<(i64, String), i64>,
    album_rows: Vec<AlbumRow>,
    /// Rows of `song_artists` and `song_genres`, written by `finish` once their names exist.
    artist_credits: CreditRows,
    genre_credits: CreditRows,
    next_song: i64,
    /// `CREATE` statements of the songs' indexes and foreign keys dropped for the load.
    deferred: Vec<String>,
    failed: bool,
}

#[derive(Default)]
struct Names {
    keyed: HashMap<String, i64>,
    /// (id, name as first spelled, key) in id order.
    rows: Vec<(i64, String, String)>,
    /// Songs counted for each, by id - 1 (counters are written with the rows: updating
    /// them afterwards would rewrite every row and its search index entries).
    songs: Vec<i64>,
}

/// Credit rows as the columns `finish` unnests.
#[derive(Default)]
struct CreditRows {
    songs: Vec<i64>,
    positions: Vec<i64>,
    entries: Vec<i64>,
}

impl CreditRows {
    /// Records what `song` credits after `first` and counts each credited entry in `names`.
    fn add(&mut self, names: &mut Names, song: i64, first: i64, others: &[i64]) {
        for (position, id) in (1i64..).zip(credits::others(first, others)) {
            self.songs.push(song);
            self.positions.push(position);
            self.entries.push(id);
            names.count(id);
        }
    }

    fn insert(&self, client: &mut postgres::Client, credits: Credits) -> CatalogResult<()> {
        if self.songs.is_empty() {
            return Ok(());
        }
        let (table, column) = credits.table();
        client
            .execute(
                &format!(
                    "INSERT INTO {table} (song_id, position, {column}) \
                     SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[])"
                ),
                &[&self.songs, &self.positions, &self.entries],
            )
            .ctx("finishing the catalog load: song credits")?;
        Ok(())
    }
}

struct AlbumRow {
    title: String,
    key: String,
    artist_id: i64,
    artist_name: String,
    year: Option<i64>,
    genre_id: Option<i64>,
    cover: Option<(String, i64, String)>,
    created_at: i64,
    songs: i64,
    duration_ms: i64,
}

impl Names {
    fn id(&mut self, name: &str) -> i64 {
        let key = name_key(name);
        if let Some(&id) = self.keyed.get(&key) {
            return id;
        }
        let id = self.rows.len() as i64 + 1;
        self.rows.push((id, name.to_string(), key.clone()));
        self.songs.push(0);
        self.keyed.insert(key, id);
        id
    }

    fn count(&mut self, id: i64) {
        self.songs[(id - 1) as usize] += 1;
    }
}

impl PgFreshLoad {
    /// Migrates the database at `url`, which must hold no catalog rows yet, and starts the
    /// load's transaction.
    pub fn create(url: &str) -> CatalogResult<PgFreshLoad> {
        drop(PgCatalog::open(&PgOptions::new(url))?);
        let target = super::connect::target(url, true)?;
        let mut client = target.config.connect(postgres::NoTls).map_err(|e| {
            CatalogError::Unavailable(format!(
                "cannot connect to {}: {}",
                target.name,
                describe(&e)
            ))
        })?;
        let rows: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM songs) + (SELECT count(*) FROM artists) \
                 + (SELECT count(*) FROM users)",
                &[],
            )
            .ctx("checking the catalog is empty")?
            .get(0);
        if rows > 0 {
            return Err(CatalogError::Conflict(format!(
                "the database {} already holds a catalog; a fresh load only fills an empty one",
                target.name
            )));
        }
        let doing = "preparing the catalog for loading";
        client.batch_execute("BEGIN").ctx(doing)?;
        let mut deferred = Vec::new();
        for row in client
            .query(
                "SELECT pg_get_constraintdef(oid), conname FROM pg_constraint \
                 WHERE conrelid = 'songs'::regclass AND contype = 'f'",
                &[],
            )
            .ctx(doing)?
        {
            let (definition, name): (String, String) = (row.get(0), row.get(1));
            deferred.push(format!(
                "ALTER TABLE songs ADD CONSTRAINT {name} {definition}"
            ));
            client
                .batch_execute(&format!("ALTER TABLE songs DROP CONSTRAINT {name}"))
                .ctx(doing)?;
        }
        for row in client
            .query(
                "SELECT indexdef, indexname FROM pg_indexes WHERE tablename = 'songs' \
                 AND indexname <> 'songs_pkey'",
                &[],
            )
            .ctx(doing)?
        {
            let (definition, name): (String, String) = (row.get(0), row.get(1));
            deferred.push(definition);
            client
                .batch_execute(&format!("DROP INDEX {name}"))
                .ctx(doing)?;
        }
        client
            .batch_execute(
                "SET LOCAL maintenance_work_mem = '512MB'; \
                 ALTER TABLE songs DISABLE TRIGGER songs_counted; \
                 ALTER TABLE song_artists DISABLE TRIGGER song_artists_counted; \
                 ALTER TABLE song_genres DISABLE TRIGGER song_genres_counted",
            )
            .ctx(doing)?;
        deferred.push(
            "ALTER TABLE songs ENABLE TRIGGER songs_counted; \
             ALTER TABLE song_artists ENABLE TRIGGER song_artists_counted; \
             ALTER TABLE song_genres ENABLE TRIGGER song_genres_counted"
                .into(),
        );
        client
            .batch_execute(
                "CREATE TEMP TABLE loading (id bigint, title text, artist_id bigint, \
                 album_id bigint, track bigint, disc bigint, genre_id bigint, year bigint, \
                 duration_ms bigint, codec text, content_type text, bitrate bigint, \
                 sample_rate bigint, channels bigint, size bigint, hash text, created_at bigint, \
                 title_text text, artist_text text, album_text text, genre_text text) \
                 ON COMMIT DROP",
            )
            .ctx(doing)?;
        Ok(PgFreshLoad {
            client,
            artists: Names::default(),
            genres: Names::default(),
            albums: HashMap::new(),
            album_rows: Vec::new(),
            artist_credits: CreditRows::default(),
            genre_credits: CreditRows::default(),
            next_song: 1,
            deferred,
            failed: false,
        })
    }

    /// Adds songs in order and returns their ids (songs may share a blob hash). Search does
    /// not find them until [`finish`](Self::finish). After an error the load is unusable.
    pub fn insert_songs(&mut self, songs: &[NewSong], now: i64) -> CatalogResult<Vec<SongId>> {
        if self.failed {
            return Err(CatalogError::Invalid(
                "this catalog load already failed; start a new one".into(),
            ));
        }
        let result = self.copy_songs(songs, now);
        self.failed |= result.is_err();
        result
    }

    fn copy_songs(&mut self, songs: &[NewSong], now: i64) -> CatalogResult<Vec<SongId>> {
        let mut data = Vec::with_capacity(songs.len() * 256);
        let mut ids = Vec::with_capacity(songs.len());
        for (i, song) in songs.iter().enumerate() {
            let row = self
                .song_row(song, now)
                .map_err(|e| crate::sqlite::at_index(i, e))?;
            data.extend_from_slice(row.as_bytes());
            ids.push(self.next_song - 1);
        }
        let doing = "loading songs";
        let mut writer = self.client.copy_in("COPY loading FROM STDIN").ctx(doing)?;
        writer
            .write_all(&data)
            .map_err(|e| CatalogError::Storage(format!("{doing}: {e}")))?;
        writer.finish().ctx(doing)?;
        self.client.batch_execute(INSERT_LOADED).ctx(doing)?;
        Ok(ids)
    }

    /// One line of `COPY loading` text for a song.
    fn song_row(&mut self, song: &NewSong, now: i64) -> CatalogResult<String> {
        let tags = tags(song)?;
        let duration_ms = to_i64("duration", song.duration_ms)?;
        let size = to_i64("size", song.size)?;
        let artist_id = self.artists.id(&tags.artist);
        self.artists.count(artist_id);
        let album_artist = tags.album_artist.as_deref().unwrap_or(&tags.artist);
        let album_artist_id = self.artists.id(album_artist);
        let genre_id = tags.genre.as_deref().map(|g| self.genres.id(g));
        if let Some(genre) = genre_id {
            self.genres.count(genre);
        }
        let album_key = (album_artist_id, name_key(&tags.album));
        let album_id = match self.albums.get(&album_key) {
            Some(&id) => id,
            None => {
                self.album_rows.push(AlbumRow {
                    title: tags.album.clone(),
                    key: album_key.1.clone(),
                    artist_id: album_artist_id,
                    artist_name: album_artist.to_string(),
                    year: None,
                    genre_id: None,
                    cover: None,
                    created_at: now,
                    songs: 0,
                    duration_ms: 0,
                });
                let id = self.album_rows.len() as i64;
                self.albums.insert(album_key, id);
                id
            }
        };
        let album = &mut self.album_rows[(album_id - 1) as usize];
        album.songs += 1;
        album.duration_ms += duration_ms;
        album.year = album.year.or(song.year.map(i64::from));
        album.genre_id = album.genre_id.or(genre_id);
        if album.cover.is_none() {
            if let Some(cover) = &song.cover {
                let size = to_i64("cover size", cover.size)?;
                album.cover = Some((cover.hash.clone(), size, cover.content_type.trim().into()));
            }
        }
        let id = self.next_song;
        self.next_song += 1;
        let others: Vec<i64> = tags
            .other_artists
            .iter()
            .map(|name| self.artists.id(name))
            .collect();
        self.artist_credits
            .add(&mut self.artists, id, artist_id, &others);
        if let Some(first) = genre_id {
            let others: Vec<i64> = tags
                .other_genres
                .iter()
                .map(|name| self.genres.id(name))
                .collect();
            self.genre_credits.add(&mut self.genres, id, first, &others);
        }
        let [title_text, artist_text, album_text, genre_text] = document(&tags);
        let int = |v: Option<i64>| v.map_or("\\N".to_string(), |v| v.to_string());
        let fields = [
            id.to_string(),
            copy_text(&tags.title),
            artist_id.to_string(),
            album_id.to_string(),
            int(song.track.map(i64::from)),
            int(song.disc.map(i64::from)),
            int(genre_id),
            int(song.year.map(i64::from)),
            duration_ms.to_string(),
            copy_text(song.codec.trim()),
            copy_text(song.content_type.trim()),
            int(song.bitrate_kbps.map(i64::from)),
            int(song.sample_rate.map(i64::from)),
            int(song.channels.map(i64::from)),
            size.to_string(),
            copy_text(&song.hash),
            now.to_string(),
            copy_text(&title_text),
            copy_text(&artist_text),
            copy_text(&album_text),
            copy_text(&genre_text),
        ];
        Ok(fields.join("\t") + "\n")
    }

    /// Writes the names and the songs with their search documents, makes the indexes and
    /// keys again and commits: afterwards it is a catalog like any other.
    pub fn finish(mut self) -> CatalogResult<()> {
        if self.failed {
            return Err(CatalogError::Invalid(
                "this catalog load already failed; start a new one".into(),
            ));
        }
        self.failed = true;
        let doing = "finishing the catalog load";
        let names = |rows: &[(i64, String, String)]| {
            let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let names: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
            let keys: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
            (ids, names, keys)
        };
        let (ids, artist_names, keys) = names(&self.artists.rows);
        let documents: Vec<String> = artist_names.iter().map(|n| index_text(n)).collect();
        self.client
            .execute(
                "INSERT INTO artists (id, name, name_key, song_count, search) \
                 SELECT id, name, key, songs, cadenza_document(doc) \
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::text[]) \
                      u (id, name, key, songs, doc)",
                &[&ids, &artist_names, &keys, &self.artists.songs, &documents],
            )
            .ctx(doing)?;
        let (ids, genre_names, keys) = names(&self.genres.rows);
        self.client
            .execute(
                "INSERT INTO genres (id, name, name_key, song_count) \
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[])",
                &[&ids, &genre_names, &keys, &self.genres.songs],
            )
            .ctx(doing)?;
        let albums = &self.album_rows;
        let ids: Vec<i64> = (1..=albums.len() as i64).collect();
        let titles: Vec<&str> = albums.iter().map(|a| a.title.as_str()).collect();
        let keys: Vec<&str> = albums.iter().map(|a| a.key.as_str()).collect();
        let artists: Vec<i64> = albums.iter().map(|a| a.artist_id).collect();
        let years: Vec<Option<i64>> = albums.iter().map(|a| a.year).collect();
        let genres: Vec<Option<i64>> = albums.iter().map(|a| a.genre_id).collect();
        let cover_hashes: Vec<Option<&str>> = albums
            .iter()
            .map(|a| a.cover.as_ref().map(|c| c.0.as_str()))
            .collect();
        let cover_sizes: Vec<Option<i64>> = albums
            .iter()
            .map(|a| a.cover.as_ref().map(|c| c.1))
            .collect();
        let cover_types: Vec<Option<&str>> = albums
            .iter()
            .map(|a| a.cover.as_ref().map(|c| c.2.as_str()))
            .collect();
        let created: Vec<i64> = albums.iter().map(|a| a.created_at).collect();
        let counts: Vec<i64> = albums.iter().map(|a| a.songs).collect();
        let durations: Vec<i64> = albums.iter().map(|a| a.duration_ms).collect();
        let title_docs: Vec<String> = albums.iter().map(|a| index_text(&a.title)).collect();
        let artist_docs: Vec<String> = albums.iter().map(|a| index_text(&a.artist_name)).collect();
        self.client
            .execute(
                "INSERT INTO albums (id, title, title_key, artist_id, year, genre_id, cover_hash, \
                 cover_size, cover_content_type, created_at, song_count, duration_ms, search) \
                 SELECT id, title, key, artist, year, genre, hash, size, type, created, songs, ms, \
                        cadenza_document(tdoc, adoc) \
                 FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                             $6::int8[], $7::text[], $8::int8[], $9::text[], $10::int8[], \
                             $11::int8[], $12::int8[], $13::text[], $14::text[]) \
                      u (id, title, key, artist, year, genre, hash, size, type, created, songs, ms, \
                         tdoc, adoc)",
                &[
                    &ids, &titles, &keys, &artists, &years, &genres, &cover_hashes, &cover_sizes,
                    &cover_types, &created, &counts, &durations, &title_docs, &artist_docs,
                ],
            )
            .ctx(doing)?;
        self.artist_credits
            .insert(&mut self.client, Credits::Artists)?;
        self.genre_credits
            .insert(&mut self.client, Credits::Genres)?;

        for sql in std::mem::take(&mut self.deferred) {
            self.client
                .batch_execute(&sql)
                .ctx("rebuilding the song indexes")?;
        }
        for table in ["artists", "genres", "albums", "songs"] {
            self.client
                .batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     greatest((SELECT max(id) FROM {table}), 1))"
                ))
                .ctx(doing)?;
        }
        self.client
            .batch_execute("COMMIT")
            .ctx("committing the loaded catalog")?;
        self.client
            .batch_execute("ANALYZE songs, albums, artists, genres, song_artists, song_genres")
            .ctx("analyzing the loaded catalog")?;
        self.failed = false;
        Ok(())
    }
}

/// Moves a batch from the temporary table into `songs`, building the search documents.
const INSERT_LOADED: &str = "INSERT INTO songs (id, title, artist_id, album_id, track, disc, \
     genre_id, year, duration_ms, codec, content_type, bitrate, sample_rate, channels, size, \
     hash, created_at, search) \
     SELECT id, title, artist_id, album_id, track, disc, genre_id, year, duration_ms, codec, \
            content_type, bitrate, sample_rate, channels, size, hash, created_at, \
            cadenza_document(title_text, artist_text, album_text, genre_text) \
     FROM loading; \
     TRUNCATE loading";

/// A text field in COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{cover, song};
    use crate::Catalog;
    use cadenza_api::{PageRequest, SearchType};

    #[test]
    fn a_loaded_catalog_matches_one_built_by_uploads() {
        if cadenza_pgtest::skip("the PostgreSQL fresh load") {
            return;
        }
        let mut songs: Vec<_> = (0..40u64)
            .map(|n| {
                song(
                    n,
                    &format!("Track {n}\twith a tab"),
                    ["Björk", "björk ", "坂本龍一"][n as usize % 3],
                    "Album",
                )
            })
            .collect();
        songs[3].cover = Some(cover(1));
        songs[4].year = Some(1997);
        songs[5].genre = Some("Ambient".into());
        songs[6].album_artist = Some("Various".into());
        songs[7].other_artists = vec!["Guest Star".into(), "björk".into(), "坂本龍一".into()];
        songs[7].genre = Some("Ambient".into());
        songs[7].other_genres = vec!["Drone".into(), "ambient".into()];
        songs[8].other_artists = vec!["Guest Star".into()];
        songs[8].other_genres = vec!["Dropped without a first genre".into()];
        let cluster = cadenza_pgtest::Cluster::shared().unwrap();
        let url = cluster.primary_url(&cluster.create_database().unwrap());
        let mut load = PgFreshLoad::create(&url).unwrap();
        let ids = load.insert_songs(&songs[..25], 5).unwrap();
        assert_eq!(ids, (1..=25).collect::<Vec<i64>>());
        load.insert_songs(&songs[25..], 5).unwrap();
        load.finish().unwrap();

        let loaded = PgCatalog::open(&PgOptions::new(url.as_str())).unwrap();
        let uploaded = crate::behaviour::assert_lists_like_uploads(&loaded, &songs, 5);
        let page = PageRequest {
            limit: 100,
            offset: 0,
        };
        for q in [
            "track 7", "bjork", "龍一", "ambient", "album", "tab", "guest", "drone", "dropped",
        ] {
            let total =
                |c: &dyn Catalog| c.search(q, SearchType::All, page, 0).unwrap().songs.total;
            assert_eq!(total(&loaded), total(&uploaded), "searching {q}");
        }
        // Credits answer like an upload's: the song, the guest's page, the second genre.
        assert_eq!(loaded.song(8).unwrap(), uploaded.song(8).unwrap());
        let credited = loaded.song(8).unwrap();
        assert_eq!((credited.artists.len(), credited.genres.len()), (3, 2));
        let guest = loaded.song(9).unwrap().artists[1].id;
        assert_eq!(
            loaded.artist(guest).unwrap(),
            uploaded.artist(guest).unwrap()
        );
        assert_eq!(
            loaded.genre_songs("drone", page).unwrap(),
            uploaded.genre_songs("drone", page).unwrap()
        );
        // An upload afterwards gets the next id and the counters stay right.
        let (next, _) = loaded
            .insert_song(&song(99, "Later", "Björk", "Album"), 6)
            .unwrap();
        assert_eq!(next.id, 41);
        // Björk's album: 26 of the first 40 songs (one more is hers but filed under
        // Various), and this one.
        assert_eq!(loaded.album(next.album_id).unwrap().album.song_count, 27);
        assert!(matches!(
            PgFreshLoad::create(&url),
            Err(CatalogError::Conflict(_))
        ));
    }
}
