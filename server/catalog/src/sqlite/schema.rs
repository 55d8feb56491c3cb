//! The schema, as a list of migrations applied in order at open.
//!
//! `PRAGMA user_version` records how many have run. Migrations are append-only: never
//! edit one that has shipped, add the next instead.

use super::error::Context;
use crate::{CatalogError, CatalogResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// Every migration, oldest first; `MIGRATIONS[i]` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7];

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`SCHEMA_VERSION`] in one transaction, so a crash mid-way
/// leaves the previous version intact. Refuses a database written by newer code.
pub(crate) fn migrate(conn: &mut Connection) -> CatalogResult<()> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Brings the database up to `version` (tests check one migration at a time with it).
fn migrate_to(conn: &mut Connection, version: u32) -> CatalogResult<()> {
    // A migration that rebuilds a table drops the old one; with foreign keys on, that drop
    // would first cascade-delete every play and playlist entry pointing at it. The pragma
    // is ignored inside a transaction, so it is switched around the whole migration.
    let foreign_keys: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .ctx("reading the foreign key setting")?;
    conn.pragma_update(None, "foreign_keys", false)
        .ctx("pausing foreign keys for the schema migration")?;
    let migrated = migrate_in_transaction(conn, version);
    conn.pragma_update(None, "foreign_keys", foreign_keys)
        .ctx("restoring foreign keys after the schema migration")?;
    migrated
}

fn migrate_in_transaction(conn: &mut Connection, target: u32) -> CatalogResult<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting the schema migration")?;
    let current: u32 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ctx("reading the schema version")?;
    if current > SCHEMA_VERSION {
        return Err(CatalogError::Storage(format!(
            "the catalog database has schema version {current}, but this build only knows \
             versions up to {SCHEMA_VERSION}; run a newer cadenza-server (or restore a backup \
             made by this version)"
        )));
    }
    let pending = MIGRATIONS.iter().enumerate().take(target as usize);
    let mut refill = false;
    for (i, sql) in pending.skip(current as usize) {
        let version = i + 1;
        tx.execute_batch(sql)
            .ctx(&format!("applying catalog migration {version}"))?;
        refill |= EMPTY_THE_SONG_INDEX.contains(&version);
    }
    if refill {
        // The index text is written by Rust (`text::fts_text`), so the refill is too; once,
        // however many of the migrations emptied it.
        super::bulk::rebuild_search_index(&tx)?;
    }
    // Only after a migration: the check reads every referencing row, which on a large
    // catalog would add a full scan to every start.
    let broken: Option<String> = if current < target {
        tx.query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .ctx("checking references after the schema migration")?
    } else {
        None
    };
    if let Some(table) = broken {
        return Err(CatalogError::Storage(format!(
            "the catalog migration left rows in `{table}` pointing at missing rows; \
             the database was not changed (restore a backup or report this)"
        )));
    }
    if current < target {
        tx.pragma_update(None, "user_version", target)
            .ctx("recording the schema version")?;
    }
    tx.commit().ctx("committing the schema migration")
}

/// Version 1.
///
/// Counters (`song_count`, `duration_ms`) are kept by triggers so listings and genre
/// totals never aggregate a million songs. Full-text tables are contentless (they hold
/// only the index, not a second copy of the text); rows are added by the Rust code that
/// writes the text (it spaces out CJK, see `text::fts_text`) and removed by triggers, so a
/// cascade can never leave a ghost hit behind.
const V1: &str = r#"
CREATE TABLE artists (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,      -- text::name_key: case-folded, spaces collapsed
    song_count  INTEGER NOT NULL DEFAULT 0 -- songs with this track artist
);
CREATE INDEX artists_by_name ON artists (name COLLATE NOCASE);

CREATE TABLE genres (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    song_count  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE albums (
    id                 INTEGER PRIMARY KEY,
    title              TEXT NOT NULL,
    title_key          TEXT NOT NULL,
    artist_id          INTEGER NOT NULL REFERENCES artists (id), -- the album artist
    year               INTEGER,
    genre_id           INTEGER REFERENCES genres (id),
    cover_hash         TEXT,
    cover_size         INTEGER,
    cover_content_type TEXT,
    song_count         INTEGER NOT NULL DEFAULT 0,
    duration_ms        INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (artist_id, title_key)
);
CREATE INDEX albums_by_title ON albums (title COLLATE NOCASE);
CREATE INDEX albums_by_genre ON albums (genre_id);
CREATE INDEX albums_by_cover ON albums (cover_hash) WHERE cover_hash IS NOT NULL;

CREATE TABLE songs (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    artist_id     INTEGER NOT NULL REFERENCES artists (id),
    album_id      INTEGER NOT NULL REFERENCES albums (id),
    track         INTEGER,
    disc          INTEGER,
    genre_id      INTEGER REFERENCES genres (id),
    year          INTEGER,
    duration_ms   INTEGER NOT NULL,
    codec         TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bitrate       INTEGER,
    sample_rate   INTEGER,
    channels      INTEGER,
    size          INTEGER NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);
CREATE INDEX songs_by_title  ON songs (title COLLATE NOCASE);
CREATE INDEX songs_by_album  ON songs (album_id, disc, track);
CREATE INDEX songs_by_artist ON songs (artist_id, album_id);
CREATE INDEX songs_by_genre  ON songs (genre_id, title COLLATE NOCASE);

CREATE TRIGGER songs_counted AFTER INSERT ON songs BEGIN
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;
CREATE TRIGGER songs_uncounted AFTER DELETE ON songs BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
END;
CREATE TRIGGER songs_recounted AFTER UPDATE OF album_id, artist_id, genre_id, duration_ms ON songs
BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL,
    username_key   TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('listener', 'admin')),
    created_at     INTEGER NOT NULL
);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

CREATE TABLE playlists (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    public      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX playlists_by_owner ON playlists (owner_id);
CREATE INDEX playlists_by_name ON playlists (name COLLATE NOCASE);

-- Positions are dense 0..n-1 per playlist. They are not declared unique: shifting a range
-- would trip a unique index row by row, and playlists.rs renumbers after every change.
CREATE TABLE playlist_tracks (
    id           INTEGER PRIMARY KEY,
    playlist_id  INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    song_id      INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE
);
CREATE INDEX playlist_tracks_by_position ON playlist_tracks (playlist_id, position);
CREATE INDEX playlist_tracks_by_song ON playlist_tracks (song_id);

CREATE TABLE podcasts (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    author       TEXT,
    description  TEXT,
    feed_url     TEXT UNIQUE,
    created_at   INTEGER NOT NULL
);

CREATE TABLE episodes (
    id            INTEGER PRIMARY KEY,
    podcast_id    INTEGER NOT NULL REFERENCES podcasts (id) ON DELETE CASCADE,
    guid          TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT,
    published_at  INTEGER,
    duration_ms   INTEGER NOT NULL,
    codec         TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (podcast_id, guid)
);
CREATE INDEX episodes_by_hash ON episodes (hash);
CREATE INDEX episodes_by_date ON episodes (podcast_id, published_at);

CREATE TABLE episode_positions (
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    episode_id   INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    position_ms  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, episode_id)
) WITHOUT ROWID;
CREATE INDEX episode_positions_by_episode ON episode_positions (episode_id);

CREATE TABLE plays (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id    INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_ms  INTEGER,
    at         INTEGER NOT NULL
);
CREATE INDEX plays_by_time ON plays (at, song_id);   -- the hot chart reads only this index
CREATE INDEX plays_by_song ON plays (song_id);
CREATE INDEX plays_by_user ON plays (user_id);

-- Full-text search, ranked by rank.rs (column weights are in search.rs).
CREATE VIRTUAL TABLE songs_fts USING fts5 (
    title, artist, album, genre,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'
);
CREATE TRIGGER songs_unindexed AFTER DELETE ON songs BEGIN
    DELETE FROM songs_fts WHERE rowid = OLD.id;
END;

CREATE VIRTUAL TABLE artists_fts USING fts5 (
    name,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'
);
CREATE TRIGGER artists_unindexed AFTER DELETE ON artists BEGIN
    DELETE FROM artists_fts WHERE rowid = OLD.id;
END;

CREATE VIRTUAL TABLE albums_fts USING fts5 (
    title, artist,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'
);
CREATE TRIGGER albums_unindexed AFTER DELETE ON albums BEGIN
    DELETE FROM albums_fts WHERE rowid = OLD.id;
END;

CREATE VIRTUAL TABLE playlists_fts USING fts5 (
    name,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER playlists_unindexed AFTER DELETE ON playlists BEGIN
    DELETE FROM playlists_fts WHERE rowid = OLD.id;
END;

CREATE VIRTUAL TABLE podcasts_fts USING fts5 (
    title, author,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER podcasts_unindexed AFTER DELETE ON podcasts BEGIN
    DELETE FROM podcasts_fts WHERE rowid = OLD.id;
END;
"#;

/// Version 2: songs may share a blob (`hash` is indexed, no longer unique), so a synthetic
/// catalog can point a million songs at a few hundred stored tones. Uploads still
/// deduplicate: `insert_song` looks the hash up and returns the existing song. SQLite
/// cannot drop a constraint, so the table is rebuilt with its ids, indexes and triggers.
const V2: &str = r#"
CREATE TABLE songs_v2 (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    artist_id     INTEGER NOT NULL REFERENCES artists (id),
    album_id      INTEGER NOT NULL REFERENCES albums (id),
    track         INTEGER,
    disc          INTEGER,
    genre_id      INTEGER REFERENCES genres (id),
    year          INTEGER,
    duration_ms   INTEGER NOT NULL,
    codec         TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bitrate       INTEGER,
    sample_rate   INTEGER,
    channels      INTEGER,
    size          INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
INSERT INTO songs_v2 (id, title, artist_id, album_id, track, disc, genre_id, year, duration_ms,
    codec, content_type, bitrate, sample_rate, channels, size, hash, created_at)
SELECT id, title, artist_id, album_id, track, disc, genre_id, year, duration_ms,
    codec, content_type, bitrate, sample_rate, channels, size, hash, created_at FROM songs;
DROP TABLE songs;
ALTER TABLE songs_v2 RENAME TO songs;

CREATE INDEX songs_by_title  ON songs (title COLLATE NOCASE);
CREATE INDEX songs_by_album  ON songs (album_id, disc, track);
CREATE INDEX songs_by_artist ON songs (artist_id, album_id);
CREATE INDEX songs_by_genre  ON songs (genre_id, title COLLATE NOCASE);
CREATE INDEX songs_by_hash   ON songs (hash);

CREATE TRIGGER songs_counted AFTER INSERT ON songs BEGIN
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;
CREATE TRIGGER songs_uncounted AFTER DELETE ON songs BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
END;
CREATE TRIGGER songs_recounted AFTER UPDATE OF album_id, artist_id, genre_id, duration_ms ON songs
BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;
CREATE TRIGGER songs_unindexed AFTER DELETE ON songs BEGIN
    DELETE FROM songs_fts WHERE rowid = OLD.id;
END;
"#;

/// Version 3: a client may tag a play with its own `play_id`, recorded once per user, so a
/// report sent again after a lost reply is not counted twice. Plays without one (older
/// clients, imports) are not constrained: the index holds only tagged plays.
const V3: &str = r#"
ALTER TABLE plays ADD COLUMN play_id TEXT;
CREATE UNIQUE INDEX plays_by_report ON plays (user_id, play_id) WHERE play_id IS NOT NULL;
"#;

/// Version 4: song, album and episode ids are never handed out twice. Their URLs
/// (`/songs/{id}/stream`, `/episodes/{id}/stream`, `/albums/{id}/cover`) are cached as
/// immutable for a year, but a plain `INTEGER PRIMARY KEY` gives the next row the id of a
/// deleted newest row, whose old bytes caches would then serve. `AUTOINCREMENT` keeps the
/// highest id ever used in `sqlite_sequence`; copying the rows seeds it with today's highest
/// id (ids deleted above that before this upgrade are not recorded anywhere).
///
/// The tables are rebuilt as in V2, with their ids, indexes and triggers. Songs go first:
/// dropping them drops their triggers, which name `albums`, and a rename refuses to run
/// while a trigger names a missing table; the triggers come back once all three are done.
const V4: &str = r#"
CREATE TABLE songs_v4 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT NOT NULL,
    artist_id     INTEGER NOT NULL REFERENCES artists (id),
    album_id      INTEGER NOT NULL REFERENCES albums (id),
    track         INTEGER,
    disc          INTEGER,
    genre_id      INTEGER REFERENCES genres (id),
    year          INTEGER,
    duration_ms   INTEGER NOT NULL,
    codec         TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bitrate       INTEGER,
    sample_rate   INTEGER,
    channels      INTEGER,
    size          INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
INSERT INTO songs_v4 (id, title, artist_id, album_id, track, disc, genre_id, year, duration_ms,
    codec, content_type, bitrate, sample_rate, channels, size, hash, created_at)
SELECT id, title, artist_id, album_id, track, disc, genre_id, year, duration_ms,
    codec, content_type, bitrate, sample_rate, channels, size, hash, created_at FROM songs;
DROP TABLE songs;
ALTER TABLE songs_v4 RENAME TO songs;

CREATE TABLE albums_v4 (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    title              TEXT NOT NULL,
    title_key          TEXT NOT NULL,
    artist_id          INTEGER NOT NULL REFERENCES artists (id), -- the album artist
    year               INTEGER,
    genre_id           INTEGER REFERENCES genres (id),
    cover_hash         TEXT,
    cover_size         INTEGER,
    cover_content_type TEXT,
    song_count         INTEGER NOT NULL DEFAULT 0,
    duration_ms        INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    UNIQUE (artist_id, title_key)
);
INSERT INTO albums_v4 (id, title, title_key, artist_id, year, genre_id, cover_hash, cover_size,
    cover_content_type, song_count, duration_ms, created_at)
SELECT id, title, title_key, artist_id, year, genre_id, cover_hash, cover_size,
    cover_content_type, song_count, duration_ms, created_at FROM albums;
DROP TABLE albums;
ALTER TABLE albums_v4 RENAME TO albums;

CREATE TABLE episodes_v4 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    podcast_id    INTEGER NOT NULL REFERENCES podcasts (id) ON DELETE CASCADE,
    guid          TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT,
    published_at  INTEGER,
    duration_ms   INTEGER NOT NULL,
    codec         TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (podcast_id, guid)
);
INSERT INTO episodes_v4 (id, podcast_id, guid, title, description, published_at, duration_ms,
    codec, content_type, size, hash, created_at)
SELECT id, podcast_id, guid, title, description, published_at, duration_ms,
    codec, content_type, size, hash, created_at FROM episodes;
DROP TABLE episodes;
ALTER TABLE episodes_v4 RENAME TO episodes;

CREATE INDEX songs_by_title  ON songs (title COLLATE NOCASE);
CREATE INDEX songs_by_album  ON songs (album_id, disc, track);
CREATE INDEX songs_by_artist ON songs (artist_id, album_id);
CREATE INDEX songs_by_genre  ON songs (genre_id, title COLLATE NOCASE);
CREATE INDEX songs_by_hash   ON songs (hash);
CREATE INDEX albums_by_title ON albums (title COLLATE NOCASE);
CREATE INDEX albums_by_genre ON albums (genre_id);
CREATE INDEX albums_by_cover ON albums (cover_hash) WHERE cover_hash IS NOT NULL;
CREATE INDEX episodes_by_hash ON episodes (hash);
CREATE INDEX episodes_by_date ON episodes (podcast_id, published_at);

CREATE TRIGGER songs_counted AFTER INSERT ON songs BEGIN
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;
CREATE TRIGGER songs_uncounted AFTER DELETE ON songs BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
END;
CREATE TRIGGER songs_recounted AFTER UPDATE OF album_id, artist_id, genre_id, duration_ms ON songs
BEGIN
    UPDATE albums SET song_count = song_count - 1, duration_ms = duration_ms - OLD.duration_ms
        WHERE id = OLD.album_id;
    UPDATE artists SET song_count = song_count - 1 WHERE id = OLD.artist_id;
    UPDATE genres SET song_count = song_count - 1 WHERE id = OLD.genre_id;
    UPDATE albums SET song_count = song_count + 1, duration_ms = duration_ms + NEW.duration_ms
        WHERE id = NEW.album_id;
    UPDATE artists SET song_count = song_count + 1 WHERE id = NEW.artist_id;
    UPDATE genres SET song_count = song_count + 1 WHERE id = NEW.genre_id;
END;
CREATE TRIGGER songs_unindexed AFTER DELETE ON songs BEGIN
    DELETE FROM songs_fts WHERE rowid = OLD.id;
END;
CREATE TRIGGER albums_unindexed AFTER DELETE ON albums BEGIN
    DELETE FROM albums_fts WHERE rowid = OLD.id;
END;
"#;

/// Version 5: a song's full-text rowid is its id negated, so the newest songs come first
/// in FTS5's forward order. Search ranks the newest matches of a query (see
/// `search::RANK_WINDOW`), and FTS5 walks a doclist backwards at about twice the cost of
/// walking it forwards, which multi-word queries with common words do most. The index is
/// emptied here and refilled by `migrate`, once.
const V5: &str = r#"
DROP TRIGGER songs_unindexed;
DROP TABLE songs_fts;
CREATE VIRTUAL TABLE songs_fts USING fts5 (
    title, artist, album, genre,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4'
);
CREATE TRIGGER songs_unindexed AFTER DELETE ON songs BEGIN
    DELETE FROM songs_fts WHERE rowid = -OLD.id;
END;
"#;

/// Version 6: songs_fts also keeps prefix indexes of 5 and 6 characters. A word typed in
/// full (`remix`, `harbor`, `parade`) is a prefix query too, and without an index of its
/// length FTS5 first merges the doclists of every word it starts into one list, all of it,
/// however few matches the query needs. The index grows by a few percent. Emptied and
/// refilled like V5.
const V6: &str = r#"
DROP TRIGGER songs_unindexed;
DROP TABLE songs_fts;
CREATE VIRTUAL TABLE songs_fts USING fts5 (
    title, artist, album, genre,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6'
);
CREATE TRIGGER songs_unindexed AFTER DELETE ON songs BEGIN
    DELETE FROM songs_fts WHERE rowid = -OLD.id;
END;
"#;

/// Version 7: what third-party (Subsonic) clients keep on the server, and server-side
/// podcast feeds.
///
/// - `client_credentials`: app passwords and API keys. `secret` holds what checking one
///   needs: the SHA-256 of an API key, or the random value an app password is derived
///   from with the server's secret (useless without it). Ids are never reused, so a
///   revoked credential's id never names a new one.
/// - Stars and ratings, one table per kind of item so that deleting a song, album or
///   artist cascades to its marks (each table is indexed by item for that cascade).
/// - `now_playing` (one row per listener) and the saved play queue.
/// - Playlists get a comment; podcasts the outcome of the last feed reading and a lease
///   (`lease_holder` until `lease_until`) so copies of the server never read one feed at
///   the same time.
const V7: &str = r#"
ALTER TABLE playlists ADD COLUMN comment TEXT;
ALTER TABLE podcasts ADD COLUMN refreshed_at INTEGER;
ALTER TABLE podcasts ADD COLUMN refresh_error TEXT;
ALTER TABLE podcasts ADD COLUMN lease_holder TEXT;
ALTER TABLE podcasts ADD COLUMN lease_until INTEGER;

CREATE TABLE client_credentials (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('app_password', 'api_key')),
    name          TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX client_credentials_by_user ON client_credentials (user_id);
CREATE UNIQUE INDEX api_keys_by_secret ON client_credentials (secret) WHERE kind = 'api_key';

CREATE TABLE song_annotations (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id     INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    starred_at  INTEGER,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, song_id)
) WITHOUT ROWID;
CREATE INDEX song_annotations_by_song ON song_annotations (song_id);

CREATE TABLE album_annotations (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    album_id    INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    starred_at  INTEGER,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, album_id)
) WITHOUT ROWID;
CREATE INDEX album_annotations_by_album ON album_annotations (album_id);

CREATE TABLE artist_annotations (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    artist_id   INTEGER NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    starred_at  INTEGER,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, artist_id)
) WITHOUT ROWID;
CREATE INDEX artist_annotations_by_artist ON artist_annotations (artist_id);

CREATE TABLE now_playing (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    song_id     INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    client      TEXT NOT NULL,
    started_at  INTEGER NOT NULL
);
CREATE INDEX now_playing_by_song ON now_playing (song_id);

CREATE TABLE play_queues (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    current_song_id  INTEGER REFERENCES songs (id) ON DELETE SET NULL,
    position_ms      INTEGER NOT NULL,
    changed_at       INTEGER NOT NULL,
    changed_by       TEXT NOT NULL
);
CREATE INDEX play_queues_by_song ON play_queues (current_song_id);
CREATE TABLE play_queue_songs (
    user_id   INTEGER NOT NULL REFERENCES play_queues (user_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    song_id   INTEGER NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, position)
) WITHOUT ROWID;
CREATE INDEX play_queue_songs_by_song ON play_queue_songs (song_id);
"#;

/// The versions whose migration leaves songs_fts empty, to be refilled by `migrate`.
const EMPTY_THE_SONG_INDEX: [usize; 2] = [5, 6];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        let tables: u32 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'songs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
    }

    #[test]
    fn a_newer_database_is_refused_with_a_clear_message() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(matches!(err, CatalogError::Storage(_)));
        assert!(err.to_string().contains("newer cadenza-server"), "{err}");
    }

    #[test]
    fn a_version_1_catalog_keeps_its_rows_and_lets_songs_share_a_blob() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let hash = "ab".repeat(32);
        conn.execute_batch(&format!(
            "INSERT INTO artists (id, name, name_key) VALUES (1, 'A', 'a');
             INSERT INTO albums (id, title, title_key, artist_id, created_at)
                 VALUES (1, 'B', 'b', 1, 0);
             INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES (7, 'S', 1, 1, 5, 'wav', 'audio/wav', 3, '{hash}', 0);
             INSERT INTO songs_fts (rowid, title) VALUES (7, 's');
             INSERT INTO users (id, username, username_key, password_hash, role, created_at)
                 VALUES (1, 'u', 'u', 'h', 'listener', 0);
             INSERT INTO plays (user_id, song_id, at) VALUES (1, 7, 0);
             INSERT INTO playlists (id, owner_id, name, created_at, updated_at) VALUES (1, 1, 'L', 0, 0);
             INSERT INTO playlist_tracks (playlist_id, position, song_id) VALUES (1, 0, 7);"
        ))
        .unwrap();

        migrate(&mut conn).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("PRAGMA user_version"), i64::from(SCHEMA_VERSION));
        assert_eq!(
            count("PRAGMA foreign_keys"),
            1,
            "restored after the migration"
        );
        assert_eq!(count("SELECT count(*) FROM plays WHERE song_id = 7"), 1);
        assert_eq!(
            count("SELECT count(*) FROM playlist_tracks WHERE song_id = 7"),
            1
        );
        // A second song on the same blob: allowed, and counted by the rebuilt trigger.
        conn.execute(
            "INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES (8, 'T', 1, 1, 5, 'wav', 'audio/wav', 3, ?1, 0)",
            [&hash],
        )
        .unwrap();
        assert_eq!(count("SELECT song_count FROM albums WHERE id = 1"), 2);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM songs WHERE hash = 'x'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("songs_by_hash"), "{plan}");
        // Deleting cascades again and the delete triggers are back.
        conn.execute("DELETE FROM songs WHERE id = 7", []).unwrap();
        assert_eq!(count("SELECT count(*) FROM plays"), 0);
        assert_eq!(count("SELECT song_count FROM albums WHERE id = 1"), 1);
    }

    #[test]
    fn a_version_2_catalog_keeps_its_plays_and_records_a_play_id_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(V2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO artists (id, name, name_key) VALUES (1, 'A', 'a');
             INSERT INTO albums (id, title, title_key, artist_id, created_at)
                 VALUES (1, 'B', 'b', 1, 0);
             INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES (7, 'S', 1, 1, 5, 'wav', 'audio/wav', 3, '{}', 0);
             INSERT INTO users (id, username, username_key, password_hash, role, created_at)
                 VALUES (1, 'u', 'u', 'h', 'listener', 0);
             INSERT INTO plays (user_id, song_id, played_ms, at) VALUES (1, 7, 1000, 50);
             INSERT INTO plays (user_id, song_id, played_ms, at) VALUES (1, 7, NULL, 60);",
            "cd".repeat(32)
        ))
        .unwrap();

        migrate(&mut conn).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("PRAGMA user_version"), i64::from(SCHEMA_VERSION));
        assert_eq!(
            count("SELECT count(*) FROM plays WHERE play_id IS NULL AND at IN (50, 60)"),
            2,
            "old plays keep their times and have no id"
        );
        let insert = "INSERT INTO plays (user_id, song_id, at, play_id) VALUES (1, 7, 70, ?1)";
        conn.execute(insert, ["0123456789abcdef"]).unwrap();
        let again = conn.execute(insert, ["0123456789abcdef"]).unwrap_err();
        assert!(again.to_string().contains("UNIQUE"), "{again}");
        conn.execute(insert, [None::<&str>]).unwrap();
        conn.execute(insert, [None::<&str>]).unwrap();
        assert_eq!(count("SELECT count(*) FROM plays"), 5);
    }

    /// Indexes and triggers by name with their SQL, and every table, view and virtual table.
    fn schema_objects(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare(
                "SELECT type, name, CASE WHEN type IN ('index', 'trigger') THEN sql END \
                 FROM sqlite_schema ORDER BY type, name",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_version_3_catalog_keeps_everything_and_never_hands_an_id_out_twice() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(V2).unwrap();
        conn.execute_batch(V3).unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        let song = |id: i64, album: i64, hash: u64| {
            format!(
                "INSERT INTO songs (id, title, artist_id, album_id, genre_id, duration_ms, codec,
                     content_type, size, hash, created_at)
                 VALUES ({id}, 'S{id}', 1, {album}, 1, 10, 'mp3', 'audio/mpeg', 3, '{hash:064x}', 0);
                 INSERT INTO songs_fts (rowid, title) VALUES ({id}, 's{id}');"
            )
        };
        conn.execute_batch(&format!(
            "INSERT INTO artists (id, name, name_key) VALUES (1, 'A', 'a');
             INSERT INTO genres (id, name, name_key) VALUES (1, 'G', 'g');
             INSERT INTO albums (id, title, title_key, artist_id, year, genre_id, cover_hash,
                 cover_size, cover_content_type, created_at)
                 VALUES (4, 'B', 'b', 1, 1999, 1, '{cover}', 9, 'image/png', 7);
             INSERT INTO albums (id, title, title_key, artist_id, created_at)
                 VALUES (9, 'C', 'c', 1, 8);
             INSERT INTO albums_fts (rowid, title) VALUES (4, 'b'), (9, 'c');
             {s5} {s6} {s8}
             INSERT INTO users (id, username, username_key, password_hash, role, created_at)
                 VALUES (1, 'u', 'u', 'h', 'listener', 0);
             INSERT INTO plays (user_id, song_id, at, play_id) VALUES (1, 8, 0, 'p1');
             INSERT INTO playlists (id, owner_id, name, created_at, updated_at)
                 VALUES (1, 1, 'L', 0, 0);
             INSERT INTO playlist_tracks (playlist_id, position, song_id) VALUES (1, 0, 8);
             INSERT INTO podcasts (id, title, created_at) VALUES (1, 'P', 0);
             INSERT INTO episodes (id, podcast_id, guid, title, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES (3, 1, 'g', 'E', 5, 'mp3', 'audio/mpeg', 2, 'e', 0);
             INSERT INTO episode_positions (user_id, episode_id, position_ms, updated_at)
                 VALUES (1, 3, 1500, 0);",
            cover = "cc".repeat(32),
            s5 = song(5, 4, 1),
            s6 = song(6, 4, 2),
            s8 = song(8, 9, 3),
        ))
        .unwrap();
        let before = schema_objects(&conn);

        migrate_to(&mut conn, 4).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("PRAGMA user_version"), 4);
        assert_eq!(count("PRAGMA foreign_keys"), 1, "restored");
        // Same tables, and the same indexes and triggers word for word; only the id
        // register is new.
        let mut after = schema_objects(&conn);
        after.retain(|(_, name, _)| name != "sqlite_sequence");
        assert_eq!(after, before);
        // Rows, ids and counters as they were.
        let songs: Vec<(i64, i64, String)> = conn
            .prepare("SELECT id, album_id, title FROM songs ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            songs,
            [
                (5, 4, "S5".into()),
                (6, 4, "S6".into()),
                (8, 9, "S8".into())
            ]
        );
        assert_eq!(
            count("SELECT song_count * 1000 + duration_ms FROM albums WHERE id = 4"),
            2020
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM albums WHERE id = 4 AND year = 1999 AND genre_id = 1 \
                   AND cover_size = 9 AND cover_content_type = 'image/png' AND created_at = 7"
            ),
            1
        );
        assert_eq!(count("SELECT song_count FROM artists WHERE id = 1"), 3);
        assert_eq!(count("SELECT count(*) FROM plays WHERE song_id = 8"), 1);
        assert_eq!(
            count("SELECT count(*) FROM playlist_tracks WHERE song_id = 8"),
            1
        );
        assert_eq!(
            count("SELECT position_ms FROM episode_positions WHERE episode_id = 3"),
            1500
        );
        assert_eq!(
            count("SELECT seq FROM sqlite_sequence WHERE name = 'songs'"),
            8
        );
        assert_eq!(
            count("SELECT seq FROM sqlite_sequence WHERE name = 'albums'"),
            9
        );
        assert_eq!(
            count("SELECT seq FROM sqlite_sequence WHERE name = 'episodes'"),
            3
        );

        // Deleting the newest rows cascades and fires the triggers as before...
        conn.execute_batch(
            "DELETE FROM songs WHERE id = 8; DELETE FROM albums WHERE id = 9;
             DELETE FROM episodes WHERE id = 3;",
        )
        .unwrap();
        assert_eq!(count("SELECT count(*) FROM plays"), 0);
        assert_eq!(count("SELECT count(*) FROM playlist_tracks"), 0);
        assert_eq!(count("SELECT count(*) FROM episode_positions"), 0);
        assert_eq!(count("SELECT song_count FROM artists WHERE id = 1"), 2);
        assert_eq!(
            count("SELECT count(*) FROM songs_fts WHERE songs_fts MATCH 's8'"),
            0
        );
        assert_eq!(
            count("SELECT count(*) FROM albums_fts WHERE albums_fts MATCH 'c'"),
            0
        );
        // ...and their ids are not handed out again.
        conn.execute_batch(
            "INSERT INTO albums (title, title_key, artist_id, created_at) VALUES ('D', 'd', 1, 0);
             INSERT INTO episodes (podcast_id, guid, title, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES (1, 'h', 'F', 5, 'mp3', 'audio/mpeg', 2, 'f', 0);",
        )
        .unwrap();
        assert_eq!(count("SELECT max(id) FROM albums"), 10);
        assert_eq!(count("SELECT max(id) FROM episodes"), 4);
        conn.execute(
            "INSERT INTO songs (title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at) VALUES ('T', 1, 10, 7, 'mp3', 'audio/mpeg', 3, 'x', 0)",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 9);
        assert_eq!(count("SELECT song_count FROM albums WHERE id = 10"), 1);
    }

    #[test]
    fn a_version_4_catalog_is_searched_by_negated_song_ids_and_keeps_deleting_from_the_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 4).unwrap();
        conn.execute_batch(
            "INSERT INTO artists (id, name, name_key) VALUES (1, 'Björk', 'bjork');
             INSERT INTO albums (id, title, title_key, artist_id, created_at)
                 VALUES (1, 'Homogenic', 'homogenic', 1, 0);
             INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at)
                 VALUES (5, 'Jóga', 1, 1, 5, 'wav', 'audio/wav', 3, 'a', 0),
                        (9, '序曲', 1, 1, 5, 'wav', 'audio/wav', 3, 'b', 0);
             INSERT INTO songs_fts (rowid, title, artist, album) VALUES (5, 'Jóga', 'Björk', 'Homogenic');",
        )
        .unwrap();

        migrate(&mut conn).unwrap();
        let ids = |q: &str| -> Vec<i64> {
            conn.prepare("SELECT -rowid FROM songs_fts WHERE songs_fts MATCH ?1 ORDER BY rowid")
                .unwrap()
                .query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(ids("bjork"), [9, 5], "every song, newest first");
        assert_eq!(ids("joga"), [5]);
        assert_eq!(
            ids("\"序 曲\""),
            [9],
            "CJK text spaced out as the Rust code writes it"
        );
        conn.execute("DELETE FROM songs WHERE id = 9", []).unwrap();
        assert_eq!(ids("bjork"), [5]);
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'songs_fts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("prefix = '1 2 3 4 5 6'"), "{sql}");
    }

    #[test]
    fn a_version_5_catalog_gets_the_longer_prefix_indexes_and_keeps_its_songs_searchable() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_to(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO artists (id, name, name_key) VALUES (1, 'Harbor Lights', 'harbor lights');
             INSERT INTO albums (id, title, title_key, artist_id, created_at)
                 VALUES (1, 'Remixes', 'remixes', 1, 0);
             INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, content_type,
                 size, hash, created_at)
                 VALUES (3, 'Parade', 1, 1, 5, 'wav', 'audio/wav', 3, 'a', 0);
             INSERT INTO songs_fts (rowid, title, artist, album)
                 VALUES (-3, 'Parade', 'Harbor Lights', 'Remixes');",
        )
        .unwrap();

        migrate(&mut conn).unwrap();
        let ids = |q: &str| -> Vec<i64> {
            conn.prepare("SELECT -rowid FROM songs_fts WHERE songs_fts MATCH ?1")
                .unwrap()
                .query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        for q in [
            "\"parade\"*",
            "\"harbo\"*",
            "\"remix\"*",
            "\"harbor\"* \"li\"*",
        ] {
            assert_eq!(ids(q), [3], "{q}");
        }
        conn.execute("DELETE FROM songs WHERE id = 3", []).unwrap();
        assert!(ids("\"parade\"*").is_empty());
    }
}
