//! Filling a brand-new catalog file with many songs at once (synthetic catalogs, imports
//! into an empty server), about ten times faster than inserting through the server's path.
//!
//! What makes it fast, and why each is safe here:
//! - No rollback journal and no syncs while loading, all in one transaction: the file is
//!   new, so a crash or an error loses nothing but the load, and the half-built file is
//!   removed (a load that did not [`finish`](FreshLoad::finish) leaves no catalog behind).
//! - The song indexes and the counting trigger are dropped for the load and rebuilt once
//!   at the end (sorting a million keys beats a million random b-tree inserts), and the
//!   counters are filled by one aggregate per table.
//! - Artists, albums and genres are resolved from memory: nobody else writes the file.
//! - The search index is built once at the end, in large in-memory segments.
//!
//! The schema comes from the same migrations the server runs, and the finished file is in
//! WAL mode like any catalog the server made.

use super::bulk;
use super::error::{to_i64, Context};
use super::library::{self, Credits};
use super::pool;
use super::schema;
use super::text::name_key;
use crate::validate::tags;
use crate::{CatalogError, CatalogResult, NewSong};
use cadenza_api::SongId;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Objects on `songs` that slow every insert down, dropped during the load and recreated
/// from their own schema text at the end.
const DEFERRED: [&str; 6] = [
    "songs_by_title",
    "songs_by_album",
    "songs_by_artist",
    "songs_by_genre",
    "songs_by_hash",
    "songs_counted",
];

/// Page cache of the loading connection, in KiB: the whole working set of a
/// million-song load.
const CACHE_KIB: i64 = 512 * 1024;

/// A new catalog file being filled; see the module docs.
pub struct FreshLoad {
    conn: Connection,
    path: PathBuf,
    /// `CREATE` statements of the [`DEFERRED`] objects.
    deferred: Vec<String>,
    artists: Names,
    genres: Names,
    /// (album artist id, title as given) and (album artist id, title key) to the album id.
    albums: HashMap<(i64, String), i64>,
    album_keys: HashMap<(i64, String), i64>,
    /// What each album has of year, genre and cover, by id (ids count from 1 in a new file).
    filled: Vec<Filled>,
    /// Set by the first failure: the file is then incomplete and only good for removal.
    failed: bool,
    finished: bool,
}

/// Name as given and name key, to id: most songs repeat the spelling of the song before.
#[derive(Default)]
struct Names {
    spelled: HashMap<String, i64>,
    keyed: HashMap<String, i64>,
}

/// Which album details are set: a later song fills only gaps, as on upload.
#[derive(Clone, Copy, Default)]
struct Filled {
    year: bool,
    genre: bool,
    cover: bool,
}

impl FreshLoad {
    /// Creates the catalog file at `path` (and its folder), which must not exist yet.
    pub fn create(path: &Path) -> CatalogResult<FreshLoad> {
        if path.exists() {
            return Err(CatalogError::Conflict(format!(
                "{} already exists; a fresh load only creates a new catalog file",
                path.display()
            )));
        }
        pool::create_parent_dir(path)?;
        let creating = format!("creating the catalog {}", path.display());
        let conn = Connection::open(path).ctx(&creating)?;
        let mut load = FreshLoad {
            conn,
            path: path.to_owned(),
            deferred: Vec::new(),
            artists: Names::default(),
            genres: Names::default(),
            albums: HashMap::new(),
            album_keys: HashMap::new(),
            filled: Vec::new(),
            failed: false,
            finished: false,
        };
        // On failure the load is dropped, which removes the new file.
        load.prepare()?;
        Ok(load)
    }

    fn prepare(&mut self) -> CatalogResult<()> {
        let conn = &mut self.conn;
        let doing = "preparing the catalog for loading";
        let mode: String = conn
            .query_row("PRAGMA journal_mode = OFF", [], |r| r.get(0))
            .ctx(doing)?;
        if !mode.eq_ignore_ascii_case("off") {
            return Err(CatalogError::Storage(format!(
                "{doing}: the journal stayed `{mode}`"
            )));
        }
        conn.pragma_update(None, "synchronous", "OFF").ctx(doing)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .ctx(doing)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .ctx(doing)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .ctx(doing)?;
        schema::migrate(conn)?;
        for name in DEFERRED {
            let (kind, sql): (String, String) = conn
                .query_row(
                    "SELECT type, sql FROM sqlite_schema WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ctx(&format!("reading the schema of {name}"))?;
            conn.execute_batch(&format!("DROP {kind} {name}"))
                .ctx(doing)?;
            self.deferred.push(sql);
        }
        conn.execute_batch("BEGIN").ctx(doing)
    }

    /// Adds songs in order and returns their ids. Songs may share a blob hash (nothing is
    /// deduplicated); artists, albums and genres are created as on upload. Search does not
    /// find them until [`finish`](Self::finish). After an error the load is unusable.
    pub fn insert_songs(&mut self, songs: &[NewSong], now: i64) -> CatalogResult<Vec<SongId>> {
        if self.failed || self.finished {
            return Err(CatalogError::Invalid(
                "this catalog load already failed or finished; start a new one".into(),
            ));
        }
        let mut ids = Vec::with_capacity(songs.len());
        for (i, song) in songs.iter().enumerate() {
            match self.insert_song(song, now) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    self.failed = true;
                    return Err(bulk::at_index(i, e));
                }
            }
        }
        Ok(ids)
    }

    fn insert_song(&mut self, song: &NewSong, now: i64) -> CatalogResult<SongId> {
        let tags = tags(song)?;
        let duration_ms = to_i64("duration", song.duration_ms)?;
        let size = to_i64("size", song.size)?;
        let cover_size = song
            .cover
            .as_ref()
            .map(|c| to_i64("cover size", c.size))
            .transpose()?;
        let conn = &self.conn;
        let artist_id = self.artists.id(conn, &tags.artist, create_artist)?;
        let album_artist = tags.album_artist.as_deref().unwrap_or(&tags.artist);
        let album_artist_id = self.artists.id(conn, album_artist, create_artist)?;
        let genre_id = match tags.genre.as_deref() {
            Some(genre) => Some(self.genres.id(conn, genre, create_genre)?),
            None => None,
        };
        let album_id = self.album(album_artist_id, &tags.album, now)?;
        let conn = &self.conn;
        let filled = filled(&mut self.filled, album_id)?;
        let gaps = (song.year.is_some() && !filled.year)
            || (genre_id.is_some() && !filled.genre)
            || (song.cover.is_some() && !filled.cover);
        if gaps {
            library::fill_album(conn, album_id, song, genre_id, cover_size)?;
            *filled = Filled {
                year: filled.year || song.year.is_some(),
                genre: filled.genre || genre_id.is_some(),
                cover: filled.cover || song.cover.is_some(),
            };
        }
        let id = library::insert_song_row(
            conn,
            song,
            &library::SongRow {
                title: &tags.title,
                artist_id,
                album_id,
                genre_id,
                duration_ms,
                size,
            },
            now,
        )?;
        let mut others = Vec::with_capacity(tags.other_artists.len());
        for name in &tags.other_artists {
            others.push(self.artists.id(conn, name, create_artist)?);
        }
        library::insert_credits(conn, Credits::Artists, id, artist_id, &others)?;
        if let Some(first) = genre_id {
            let mut others = Vec::with_capacity(tags.other_genres.len());
            for name in &tags.other_genres {
                others.push(self.genres.id(conn, name, create_genre)?);
            }
            library::insert_credits(conn, Credits::Genres, id, first, &others)?;
        }
        Ok(id)
    }

    fn album(&mut self, artist_id: i64, title: &str, now: i64) -> CatalogResult<i64> {
        let spelled = (artist_id, title.to_owned());
        if let Some(&id) = self.albums.get(&spelled) {
            return Ok(id);
        }
        let key = (artist_id, name_key(title));
        let id = match self.album_keys.get(&key) {
            Some(&id) => id,
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO albums (title, title_key, artist_id, created_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .and_then(|mut s| s.execute((title, &key.1, artist_id, now)))
                    .ctx("creating an album")?;
                let id = self.conn.last_insert_rowid();
                self.album_keys.insert(key, id);
                id
            }
        };
        self.albums.insert(spelled, id);
        Ok(id)
    }

    /// Rebuilds the indexes, counters and search index, commits, and switches the file to
    /// WAL mode: afterwards it is a catalog like any other ([`crate::SqliteCatalog::open`]).
    pub fn finish(mut self) -> CatalogResult<()> {
        if self.failed || self.finished {
            return Err(CatalogError::Invalid(
                "this catalog load already failed or finished; start a new one".into(),
            ));
        }
        match self.complete() {
            Ok(()) => {
                self.finished = true;
                Ok(())
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn complete(&mut self) -> CatalogResult<()> {
        let conn = &self.conn;
        for sql in &self.deferred {
            conn.execute_batch(sql).ctx("rebuilding the song indexes")?;
        }
        conn.execute_batch(
            "UPDATE albums SET song_count = t.n, duration_ms = t.ms FROM \
                 (SELECT album_id, count(*) AS n, sum(duration_ms) AS ms FROM songs \
                  GROUP BY album_id) AS t WHERE albums.id = t.album_id; \
             UPDATE artists SET song_count = t.n FROM \
                 (SELECT artist_id, count(*) AS n FROM \
                      (SELECT artist_id FROM songs UNION ALL SELECT artist_id FROM song_artists) \
                  GROUP BY artist_id) AS t \
                 WHERE artists.id = t.artist_id; \
             UPDATE genres SET song_count = t.n FROM \
                 (SELECT genre_id, count(*) AS n FROM \
                      (SELECT genre_id FROM songs WHERE genre_id IS NOT NULL \
                       UNION ALL SELECT genre_id FROM song_genres) \
                  GROUP BY genre_id) AS t WHERE genres.id = t.genre_id;",
        )
        .ctx("counting songs per album, artist and genre")?;
        bulk::rebuild_search_index(conn)?;
        conn.execute_batch("COMMIT")
            .ctx("committing the loaded catalog")?;
        conn.pragma_update(None, "locking_mode", "NORMAL")
            .ctx("unlocking the loaded catalog")?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .ctx("switching the loaded catalog to WAL mode")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CatalogError::Storage(format!(
                "the catalog {} cannot use WAL mode (got `{mode}`); put it on a local file system",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Drop for FreshLoad {
    /// A load that did not finish leaves an incomplete file that must not pass for a
    /// catalog: remove it (best effort; the connection closes first).
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let conn = std::mem::replace(
            &mut self.conn,
            match Connection::open_in_memory() {
                Ok(conn) => conn,
                Err(_) => return,
            },
        );
        drop(conn);
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
}

/// The details entry of an album, grown as albums are made.
fn filled(filled: &mut Vec<Filled>, album_id: i64) -> CatalogResult<&mut Filled> {
    let index = usize::try_from(album_id - 1)
        .map_err(|_| CatalogError::Storage(format!("album id {album_id} in a new file")))?;
    if index >= filled.len() {
        filled.resize(index + 1, Filled::default());
    }
    Ok(&mut filled[index])
}

impl Names {
    fn id(
        &mut self,
        conn: &Connection,
        name: &str,
        create: fn(&Connection, &str, &str) -> CatalogResult<i64>,
    ) -> CatalogResult<i64> {
        if let Some(&id) = self.spelled.get(name) {
            return Ok(id);
        }
        let key = name_key(name);
        let id = match self.keyed.get(&key) {
            Some(&id) => id,
            None => {
                let id = create(conn, name, &key)?;
                self.keyed.insert(key, id);
                id
            }
        };
        self.spelled.insert(name.to_owned(), id);
        Ok(id)
    }
}

fn create_artist(conn: &Connection, name: &str, key: &str) -> CatalogResult<i64> {
    conn.prepare_cached("INSERT INTO artists (name, name_key) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute((name, key)))
        .ctx("creating an artist")?;
    Ok(conn.last_insert_rowid())
}

fn create_genre(conn: &Connection, name: &str, key: &str) -> CatalogResult<i64> {
    conn.prepare_cached("INSERT INTO genres (name, name_key) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute((name, key)))
        .ctx("creating a genre")?;
    Ok(conn.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::FreshLoad;
    use crate::sqlite::testkit::{cover, hash, song};
    use crate::{Catalog, CatalogError, SqliteCatalog};
    use cadenza_api::{PageRequest, SearchType};

    fn load(dir: &std::path::Path, songs: &[crate::NewSong]) -> SqliteCatalog {
        let path = dir.join("catalog.sqlite");
        let mut load = FreshLoad::create(&path).unwrap();
        let ids = load.insert_songs(songs, 5).unwrap();
        assert_eq!(ids, (1..=songs.len() as i64).collect::<Vec<_>>());
        load.finish().unwrap();
        SqliteCatalog::open(&path).unwrap()
    }

    /// Songs 0..n over `blobs` shared hashes, three albums by two artists.
    fn shared(n: u64, blobs: u64) -> Vec<crate::NewSong> {
        (0..n)
            .map(|i| {
                let mut s = song(
                    i % blobs,
                    &format!("Song {i}"),
                    ["Ann", "Bo"][i as usize % 2],
                    "X",
                );
                s.album = format!("Album {}", i % 3);
                s.genre = Some(["Jazz", "Pop"][i as usize % 2].into());
                s.year = Some(2000 + (i % 3) as i32);
                s.duration_ms = 1000 + i;
                s.size = 100 + i % blobs;
                s
            })
            .collect()
    }

    #[test]
    fn a_loaded_catalog_matches_one_built_by_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let mut songs: Vec<_> = (0..40)
            .map(|n| {
                song(
                    n,
                    &format!("Track {n}"),
                    ["Björk", "björk ", "坂本龍一"][n as usize % 3],
                    "Album",
                )
            })
            .collect();
        songs[3].cover = Some(cover(1));
        songs[4].year = Some(1997);
        songs[5].genre = Some("Ambient".into());
        songs[6].other_artists = vec!["Guest Star".into(), "坂本龍一".into()];
        songs[6].genre = Some("Ambient".into());
        songs[6].other_genres = vec!["Drone".into()];
        let loaded = load(dir.path(), &songs);
        let uploaded = crate::behaviour::assert_lists_like_uploads(&loaded, &songs, 5);
        let page = PageRequest {
            limit: 100,
            offset: 0,
        };
        for id in 1..=2 {
            assert_eq!(loaded.album(id).unwrap(), uploaded.album(id).unwrap());
        }
        for q in [
            "track 7", "bjork", "龍一", "ambient", "album", "guest", "drone",
        ] {
            assert_eq!(
                loaded.search(q, SearchType::All, page, 0).unwrap(),
                uploaded.search(q, SearchType::All, page, 0).unwrap(),
                "searching {q}"
            );
        }
        // The file is an ordinary WAL catalog with the current schema (the guest star is
        // the third artist).
        let stats = loaded.stats(10).unwrap();
        assert_eq!((stats.songs, stats.albums, stats.artists), (40, 2, 3));
    }

    #[test]
    fn songs_sharing_a_blob_count_it_once_and_keep_it_until_the_last_goes() {
        let dir = tempfile::tempdir().unwrap();
        let cat = load(dir.path(), &shared(30, 4));
        let stats = cat.stats(10).unwrap();
        assert_eq!((stats.songs, stats.blobs), (30, 4));
        assert_eq!(stats.logical_bytes, 100 + 101 + 102 + 103);
        let refs = cat.blob_refs().unwrap();
        let mut hashes: Vec<_> = refs.iter().map(|r| r.hash.clone()).collect();
        hashes.sort();
        assert_eq!(hashes, (0..4).map(hash).collect::<Vec<_>>());
        assert!(refs.iter().all(|r| r.used_by.starts_with("song ")));
        // Album 1 is Ann's "Album 0": songs 0, 6, 12, 18, 24.
        let album = cat.album(1).unwrap();
        assert_eq!(album.album.song_count, 5);
        assert_eq!(album.album.duration_ms, 1000 * 5 + 60);
        assert_eq!(album.album.year, Some(2000));

        // Blob 0 is used by songs 0, 4, 8, ... (ids 1, 5, 9, ...): it is freed by the last.
        let users: Vec<i64> = (0..30).filter(|i| i % 4 == 0).map(|i| i + 1).collect();
        let (last, others) = users.split_last().unwrap();
        for &id in others {
            assert_eq!(
                cat.delete_song(id).unwrap(),
                Vec::<String>::new(),
                "song {id}"
            );
            assert!(cat.blob_status(&hash(0)).unwrap().exists);
        }
        assert_eq!(cat.delete_song(*last).unwrap(), vec![hash(0)]);
        assert!(!cat.blob_status(&hash(0)).unwrap().exists);
        assert_eq!(cat.stats(10).unwrap().blobs, 3);
    }

    #[test]
    fn uploading_shared_bytes_again_returns_the_first_song() {
        let dir = tempfile::tempdir().unwrap();
        let cat = load(dir.path(), &shared(10, 2));
        let (song, created) = cat.insert_song(&shared(1, 2)[0], 99).unwrap();
        assert!(!created);
        assert_eq!((song.id, song.created_at), (1, 5));
        assert_eq!(cat.song_by_hash(&hash(1)).unwrap().map(|s| s.id), Some(2));
        assert_eq!(cat.blob_status(&hash(1)).unwrap().song_id, Some(2));
        assert_eq!(cat.songs(PageRequest::default()).unwrap().total, 10);
    }

    #[test]
    fn an_existing_file_is_refused_and_a_failed_load_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        std::fs::write(&path, b"").unwrap();
        let err = FreshLoad::create(&path).err().unwrap();
        assert!(
            matches!(&err, CatalogError::Conflict(m) if m.contains("already exists")),
            "{err}"
        );

        let path = dir.path().join("other.sqlite");
        let mut load = FreshLoad::create(&path).unwrap();
        let mut songs = shared(3, 3);
        songs[2].title = " ".into();
        let err = load.insert_songs(&songs, 0).unwrap_err();
        assert!(err.to_string().contains("song #2 of the batch"), "{err}");
        assert!(
            load.insert_songs(&songs[..1], 0).is_err(),
            "unusable after a failure"
        );
        assert!(path.exists());
        drop(load);
        assert!(!path.exists(), "the incomplete file is removed");
    }
}
