//! Loading many songs at once (fixture catalogs, imports) and rebuilding the search index.

use super::error::Context;
use super::library::{index_song, insert_song, Indexing, Inserted, Names};
use super::text::fts_text;
use crate::{CatalogError, CatalogResult, NewSong};
use cadenza_api::{SongId, UserId};
use rusqlite::Connection;
use std::path::Path;

/// What a bulk insert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkInsert {
    pub inserted: u64,
    /// Songs whose hash was already in the catalog (left unchanged).
    pub existing: u64,
}

/// Inserts every song in the caller's transaction; the first invalid song fails the
/// whole batch with its index in the message.
pub(crate) fn insert_songs(
    conn: &Connection,
    songs: &[NewSong],
    now: i64,
    indexing: Indexing,
) -> CatalogResult<BulkInsert> {
    let mut names = Names::default();
    let mut report = BulkInsert::default();
    let mut created = Vec::new();
    for (i, song) in songs.iter().enumerate() {
        let inserted = insert_song(conn, song, now, &mut names, Indexing::Deferred)
            .map_err(|e| at_index(i, e))?;
        match inserted {
            Inserted::Created(id) => {
                report.inserted += 1;
                created.push(id);
            }
            Inserted::Existing(_) => report.existing += 1,
        }
    }
    if indexing == Indexing::Now {
        index_songs(conn, created)?;
    }
    Ok(report)
}

/// A song's id and the text its full-text row holds.
const SONG_TEXT: &str = "SELECT s.id, s.title, ar.name, al.title, g.name FROM songs s \
    JOIN artists ar ON ar.id = s.artist_id JOIN albums al ON al.id = s.album_id \
    LEFT JOIN genres g ON g.id = s.genre_id";

/// Adds the full-text rows of these songs, newest first. Song rowids are negated ids (see
/// `search::song_rowid`), and FTS5 writes a segment whenever a rowid is lower than the one
/// before it: in ascending id order every song would make a segment of its own (a slower
/// build and a larger file).
fn index_songs(conn: &Connection, mut ids: Vec<SongId>) -> CatalogResult<()> {
    let doing = "indexing songs for search";
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut stmt = conn
        .prepare_cached(&format!("{SONG_TEXT} WHERE s.id = ?1"))
        .ctx(doing)?;
    for id in ids {
        let mut rows = stmt.query([id]).ctx(doing)?;
        if let Some(r) = rows.next().ctx(doing)? {
            index_row(conn, r)?;
        }
    }
    Ok(())
}

/// Indexes one row of [`SONG_TEXT`].
fn index_row(conn: &Connection, r: &rusqlite::Row<'_>) -> CatalogResult<()> {
    let doing = "indexing songs for search";
    let genre: Option<String> = r.get(4).ctx(doing)?;
    index_song(
        conn,
        r.get(0).ctx(doing)?,
        &r.get::<_, String>(1).ctx(doing)?,
        &r.get::<_, String>(2).ctx(doing)?,
        &r.get::<_, String>(3).ctx(doing)?,
        genre.as_deref(),
    )
}

pub(crate) fn at_index(i: usize, e: CatalogError) -> CatalogError {
    let say = |m: String| format!("song #{i} of the batch: {m}");
    match e {
        CatalogError::NotFound(m) => CatalogError::NotFound(say(m)),
        CatalogError::Forbidden(m) => CatalogError::Forbidden(say(m)),
        CatalogError::Conflict(m) => CatalogError::Conflict(say(m)),
        CatalogError::Invalid(m) => CatalogError::Invalid(say(m)),
        CatalogError::Storage(m) => CatalogError::Storage(say(m)),
    }
}

/// One play to record in bulk: who, which song, how much of it, when (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPlay {
    pub user: UserId,
    pub song: SongId,
    pub played_ms: Option<u64>,
    pub at: i64,
}

/// Records every play in the caller's transaction, checked like a single play.
pub(crate) fn record_plays(conn: &Connection, plays: &[NewPlay]) -> CatalogResult<()> {
    for (i, play) in plays.iter().enumerate() {
        super::plays::record_play(conn, play.user, play.song, play.played_ms, play.at)
            .map_err(|e| at_index(i, e))?;
    }
    Ok(())
}

/// Folds the write-ahead log of the catalog file at `path` into the database and empties
/// it, so a finished data dir holds one plain file (for copying, archiving, measuring).
/// Run it when no server has the catalog open.
pub fn truncate_write_ahead_log(path: &Path) -> CatalogResult<()> {
    let doing = format!("checkpointing the catalog {}", path.display());
    let conn = Connection::open(path).ctx(&doing)?;
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .ctx(&doing)?;
    if busy != 0 {
        return Err(CatalogError::Storage(format!(
            "{doing}: another connection is using it; stop the server first"
        )));
    }
    Ok(())
}

/// Bytes of postings a full-text table gathers in memory before writing a segment while
/// the index is rebuilt (FTS5's default is 1 MiB, which makes hundreds of small segments
/// to merge for a million songs).
const REBUILD_HASH_BYTES: i64 = 256 << 20;
const DEFAULT_HASH_BYTES: i64 = 1 << 20;
const DEFAULT_AUTOMERGE: i64 = 4;

const FTS_TABLES: [&str; 5] = [
    "songs_fts",
    "artists_fts",
    "albums_fts",
    "playlists_fts",
    "podcasts_fts",
];

/// Empties every full-text table and fills it again from the catalog rows.
pub(crate) fn rebuild_search_index(conn: &Connection) -> CatalogResult<()> {
    for table in FTS_TABLES {
        conn.execute(
            &format!("INSERT INTO {table} ({table}) VALUES ('delete-all')"),
            [],
        )
        .ctx("emptying the search index")?;
        // Large segments and no merging while filling; one optimize merges at the end.
        fts_setting(conn, table, "hashsize", REBUILD_HASH_BYTES)?;
        fts_setting(conn, table, "automerge", 0)?;
    }
    let doing = "rebuilding the song search index";
    // Newest first: see `index_songs`.
    let mut stmt = conn
        .prepare(&format!("{SONG_TEXT} ORDER BY s.id DESC"))
        .ctx(doing)?;
    let mut rows = stmt.query([]).ctx(doing)?;
    while let Some(r) = rows.next().ctx(doing)? {
        index_row(conn, r)?;
    }
    reindex(
        conn,
        "SELECT id, name, NULL FROM artists",
        "INSERT INTO artists_fts (rowid, name) VALUES (?1, ?2)",
    )?;
    reindex(
        conn,
        "SELECT al.id, al.title, ar.name FROM albums al JOIN artists ar ON ar.id = al.artist_id",
        "INSERT INTO albums_fts (rowid, title, artist) VALUES (?1, ?2, ?3)",
    )?;
    reindex(
        conn,
        "SELECT id, name, NULL FROM playlists",
        "INSERT INTO playlists_fts (rowid, name) VALUES (?1, ?2)",
    )?;
    reindex(
        conn,
        "SELECT id, title, author FROM podcasts",
        "INSERT INTO podcasts_fts (rowid, title, author) VALUES (?1, ?2, ?3)",
    )?;
    optimize_search_index(conn)?;
    for table in FTS_TABLES {
        fts_setting(conn, table, "hashsize", DEFAULT_HASH_BYTES)?;
        fts_setting(conn, table, "automerge", DEFAULT_AUTOMERGE)?;
    }
    Ok(())
}

/// Sets an FTS5 configuration option (stored in the table, so it outlives the connection).
fn fts_setting(conn: &Connection, table: &str, key: &str, value: i64) -> CatalogResult<()> {
    conn.execute(
        &format!("INSERT INTO {table} ({table}, rank) VALUES (?1, ?2)"),
        (key, value),
    )
    .ctx("configuring the search index")?;
    Ok(())
}

/// Merges each full-text index into a single segment. A large load leaves dozens of
/// segments that every query must visit; merging them makes searches several times faster.
pub(crate) fn optimize_search_index(conn: &Connection) -> CatalogResult<()> {
    for table in FTS_TABLES {
        conn.execute(
            &format!("INSERT INTO {table} ({table}) VALUES ('optimize')"),
            [],
        )
        .ctx("optimizing the search index")?;
    }
    Ok(())
}

/// Copies (id, text, optional text) rows into a full-text table; `insert` takes `?1..?2`
/// or `?1..?3`.
fn reindex(conn: &Connection, select: &str, insert: &str) -> CatalogResult<()> {
    let doing = "rebuilding the search index";
    let mut read = conn.prepare(select).ctx(doing)?;
    let mut write = conn.prepare(insert).ctx(doing)?;
    let two = write.parameter_count() == 2;
    let mut rows = read.query([]).ctx(doing)?;
    while let Some(r) = rows.next().ctx(doing)? {
        let id: i64 = r.get(0).ctx(doing)?;
        let a: String = r.get(1).ctx(doing)?;
        let b: Option<String> = r.get(2).ctx(doing)?;
        if two {
            write.execute((id, fts_text(&a))).ctx(doing)?;
        } else {
            write
                .execute((id, fts_text(&a), b.as_deref().map(fts_text)))
                .ctx(doing)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song};
    use crate::{BulkInsert, Catalog, CatalogError};
    use cadenza_api::{PageRequest, SearchType};

    #[test]
    fn bulk_inserts_are_idempotent_and_searchable() {
        let cat = memory();
        let batch: Vec<_> = (0..50)
            .map(|n| {
                song(
                    n,
                    &format!("Track {n}"),
                    ["Ann", "Bo", "Cy", "Di", "Ed"][n as usize % 5],
                    "Album",
                )
            })
            .collect();
        let done = cat.bulk_insert_songs(&batch, 0).unwrap();
        assert_eq!(
            done,
            BulkInsert {
                inserted: 50,
                existing: 0
            }
        );
        let again = cat.bulk_insert_songs(&batch[..10], 0).unwrap();
        assert_eq!(
            again,
            BulkInsert {
                inserted: 0,
                existing: 10
            }
        );
        assert_eq!(cat.artists(PageRequest::default()).unwrap().total, 5);
        assert_eq!(
            cat.albums(PageRequest::default()).unwrap().total,
            5,
            "one album per album artist"
        );
        let found = cat
            .search("track 4", SearchType::Song, PageRequest::default(), 0)
            .unwrap();
        assert_eq!(found.songs.total, 11, "4 and 40..49");
    }

    #[test]
    fn a_batch_is_indexed_in_one_piece() {
        let cat = memory();
        // No merging, so every segment written stays visible.
        cat.pool
            .write(|tx| {
                super::fts_setting(tx, "songs_fts", "automerge", 0)?;
                super::fts_setting(tx, "songs_fts", "crisismerge", 1000)
            })
            .unwrap();
        let batch: Vec<_> = (0..500)
            .map(|n| song(n, &format!("Track {n}"), "Ann", "Album"))
            .collect();
        cat.bulk_insert_songs(&batch, 0).unwrap();
        // Rows of the index's shadow table: a handful of pages when the batch is written
        // as one segment, one or more per song when each song starts a new segment.
        let pages: i64 = cat
            .pool
            .read(|tx| {
                Ok(tx
                    .query_row("SELECT count(*) FROM songs_fts_data", [], |r| r.get(0))
                    .unwrap())
            })
            .unwrap();
        assert!(pages < 50, "{pages} pages for 500 songs");
        let found = cat
            .search("track", SearchType::Song, PageRequest::default(), 0)
            .unwrap();
        assert_eq!(found.songs.total, 500);
        assert_eq!(found.songs.items[0].title, "Track 499", "newest first");
    }

    #[test]
    fn an_invalid_song_fails_the_whole_batch_and_names_it() {
        let cat = memory();
        let mut batch: Vec<_> = (0..3).map(|n| song(n, "T", "A", "B")).collect();
        batch[2].title = String::new();
        let err = cat.bulk_insert_songs(&batch, 0).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid(m) if m == "song #2 of the batch: song title is empty"),
            "{err}"
        );
        assert_eq!(cat.songs(PageRequest::default()).unwrap().total, 0);
    }

    #[test]
    fn unindexed_songs_are_found_after_a_rebuild() {
        let cat = memory();
        cat.bulk_insert_songs(&[song(1, "Indexed", "Björk", "X")], 0)
            .unwrap();
        let batch: Vec<_> = (2..5)
            .map(|n| song(n, &format!("Later {n}"), "坂本龍一", "Y"))
            .collect();
        cat.bulk_insert_songs_unindexed(&batch, 0).unwrap();
        let count = |q| {
            cat.search(q, SearchType::All, PageRequest::default(), 0)
                .unwrap()
        };
        assert_eq!(count("later").songs.total, 0);
        assert_eq!(
            count("龍一").artists.total,
            1,
            "artists are indexed as they are created"
        );
        cat.rebuild_search_index().unwrap();
        assert_eq!(count("later").songs.total, 3);
        assert_eq!(count("龍一").songs.total, 3);
        assert_eq!(count("bjork").songs.total, 1);
        assert_eq!(count("bjork").artists.total, 1);
        assert_eq!(count("y").albums.total, 1);
    }
}
