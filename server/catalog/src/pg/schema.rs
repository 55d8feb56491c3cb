//! The PostgreSQL schema, as a list of migrations applied in order at open.
//!
//! `cadenza_schema.version` records how many have run. Migrations are append-only: never
//! edit one that has shipped, add the next instead. Version 1 is the SQLite schema at its
//! version 6 in PostgreSQL's terms:
//!
//! - Ids are identity columns backed by sequences, which never hand an id out twice (the
//!   property SQLite's AUTOINCREMENT gives songs, albums and episodes: their URLs are
//!   cached as immutable).
//! - Full-text search is a `search` tsvector on each searchable row with a GIN index, in the
//!   `cadenza_search` configuration: PostgreSQL's parser on text the catalog writes already
//!   split into words (see `search.rs`), then `unaccent` and lower-casing. The vector is
//!   written by the catalog, not generated, because a song's holds its artist, album and
//!   genre names too, like songs_fts does.
//! - Listings sort with `cadenza_nocase`, which folds ASCII letters only and compares bytes:
//!   SQLite's `COLLATE NOCASE`, so both backends list in the same order.
//! - Song counters are kept by statement-level triggers over transition tables, so a
//!   `COPY` of a million songs updates each album once, not once per song.

use super::error::Context;
use super::pool::Tx;
use crate::{CatalogError, CatalogResult};

const MIGRATIONS: &[&str] = &[V1, V2, SONG_CREDITS, PLAYLIST_MOVE];

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Any number, the same in every server: two servers starting at once migrate one after
/// the other.
const MIGRATION_LOCK: i64 = 0x0063_6164_656e_7a61;

/// Checks the database can hold a catalog and brings the schema up to [`SCHEMA_VERSION`]
/// in one transaction. Refuses a schema written by newer code.
pub(crate) fn migrate(tx: &mut Tx<'_>, database: &str) -> CatalogResult<()> {
    let encoding: String = tx
        .query_one("SELECT current_setting('server_encoding')", &[])
        .ctx("reading the database encoding")?
        .get(0);
    if encoding != "UTF8" {
        return Err(CatalogError::Storage(format!(
            "the catalog database {database} has the encoding {encoding}, and names in any \
             script need UTF8: create it with CREATE DATABASE ... ENCODING 'UTF8' \
             TEMPLATE template0"
        )));
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .ctx("waiting for other servers migrating the catalog")?;
    tx.batch("CREATE TABLE IF NOT EXISTS cadenza_schema (version integer NOT NULL)")
        .ctx("creating the schema version table")?;
    let current: i32 = match tx
        .query_opt("SELECT version FROM cadenza_schema", &[])
        .ctx("reading the schema version")?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO cadenza_schema (version) VALUES (0)", &[])
                .ctx("recording the schema version")?;
            0
        }
    };
    if current > SCHEMA_VERSION {
        return Err(CatalogError::Storage(format!(
            "the catalog database {database} has schema version {current}, but this build \
             only knows versions up to {SCHEMA_VERSION}; run a newer cadenza-server (or \
             restore a backup made by this version)"
        )));
    }
    if current < SCHEMA_VERSION {
        ensure_unaccent(tx, database)?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i + 1;
        tx.batch(sql)
            .ctx(&format!("applying catalog migration {version}"))?;
    }
    if current < SCHEMA_VERSION {
        tx.execute("UPDATE cadenza_schema SET version = $1", &[&SCHEMA_VERSION])
            .ctx("recording the schema version")?;
    }
    Ok(())
}

/// Search folds diacritics with the `unaccent` extension. It is a trusted extension, so a
/// database owner may create it; when that fails the message gives the SQL to run.
fn ensure_unaccent(tx: &mut Tx<'_>, database: &str) -> CatalogResult<()> {
    let present: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent')",
            &[],
        )
        .ctx("checking for the unaccent extension")?
        .get(0);
    if present {
        return Ok(());
    }
    tx.batch("SAVEPOINT unaccent")
        .ctx("checking for the unaccent extension")?;
    if let Err(e) = tx.batch("CREATE EXTENSION unaccent") {
        return Err(CatalogError::Storage(format!(
            "the catalog needs the PostgreSQL extension `unaccent` (for searches that ignore \
             accents), and creating it failed: {}. Run `CREATE EXTENSION unaccent;` in the \
             database {database} as a superuser (it ships with PostgreSQL: Debian's \
             postgresql-15 package, or postgresql-contrib elsewhere)",
            super::error::describe(&e)
        )));
    }
    tx.batch("RELEASE SAVEPOINT unaccent")
        .ctx("creating the unaccent extension")
}

/// Version 1.
const V1: &str = r#"
CREATE TEXT SEARCH CONFIGURATION cadenza_search (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION cadenza_search
    ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword,
                      hword_asciipart, hword_part, hword_numpart
    WITH unaccent, simple;

-- A search document of up to four fields, weighted A (most) to D.
CREATE FUNCTION cadenza_document(a text, b text DEFAULT '', c text DEFAULT '', d text DEFAULT '')
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('cadenza_search', coalesce(a, '')), 'A')
        || setweight(to_tsvector('cadenza_search', coalesce(b, '')), 'B')
        || setweight(to_tsvector('cadenza_search', coalesce(c, '')), 'C')
        || setweight(to_tsvector('cadenza_search', coalesce(d, '')), 'D')
$$;

-- SQLite's COLLATE NOCASE: ASCII letters folded, then byte order.
CREATE FUNCTION cadenza_nocase(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C"
$$;

CREATE TABLE artists (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    name_key    text NOT NULL UNIQUE,       -- text::name_key: case-folded, spaces collapsed
    song_count  bigint NOT NULL DEFAULT 0,  -- songs with this track artist
    search      tsvector NOT NULL
);
CREATE INDEX artists_by_name ON artists (cadenza_nocase(name), id);
CREATE INDEX artists_search ON artists USING gin (search);

CREATE TABLE genres (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    name_key    text NOT NULL UNIQUE,
    song_count  bigint NOT NULL DEFAULT 0
);

CREATE TABLE albums (
    id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    title              text NOT NULL,
    title_key          text NOT NULL,
    artist_id          bigint NOT NULL REFERENCES artists (id), -- the album artist
    year               bigint,
    genre_id           bigint REFERENCES genres (id),
    cover_hash         text,
    cover_size         bigint,
    cover_content_type text,
    song_count         bigint NOT NULL DEFAULT 0,
    duration_ms        bigint NOT NULL DEFAULT 0,
    created_at         bigint NOT NULL,
    search             tsvector NOT NULL,
    UNIQUE (artist_id, title_key)
);
CREATE INDEX albums_by_title ON albums (cadenza_nocase(title), id);
CREATE INDEX albums_by_genre ON albums (genre_id);
CREATE INDEX albums_by_cover ON albums (cover_hash) WHERE cover_hash IS NOT NULL;
CREATE INDEX albums_search ON albums USING gin (search);

CREATE TABLE songs (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    title         text NOT NULL,
    artist_id     bigint NOT NULL REFERENCES artists (id),
    album_id      bigint NOT NULL REFERENCES albums (id),
    track         bigint,
    disc          bigint,
    genre_id      bigint REFERENCES genres (id),
    year          bigint,
    duration_ms   bigint NOT NULL,
    codec         text NOT NULL,
    content_type  text NOT NULL,
    bitrate       bigint,
    sample_rate   bigint,
    channels      bigint,
    size          bigint NOT NULL,
    hash          text NOT NULL,      -- songs may share a blob (synthetic catalogs)
    created_at    bigint NOT NULL,
    search        tsvector NOT NULL   -- title (A), artist (B), album (C), genre (D)
);
CREATE INDEX songs_by_title  ON songs (cadenza_nocase(title), id);
CREATE INDEX songs_by_album  ON songs (album_id, disc, track);
CREATE INDEX songs_by_artist ON songs (artist_id, album_id);
CREATE INDEX songs_by_genre  ON songs (genre_id, cadenza_nocase(title), id);
CREATE INDEX songs_by_hash   ON songs (hash, id);
CREATE INDEX songs_search    ON songs USING gin (search);

-- Counters of albums, artists and genres, one UPDATE per table per statement.
CREATE FUNCTION songs_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE albums a SET song_count = a.song_count + n.songs, duration_ms = a.duration_ms + n.ms
        FROM (SELECT album_id, count(*) AS songs, sum(duration_ms) AS ms FROM new_songs
              GROUP BY album_id) n WHERE a.id = n.album_id;
    UPDATE artists a SET song_count = a.song_count + n.songs
        FROM (SELECT artist_id, count(*) AS songs FROM new_songs GROUP BY artist_id) n
        WHERE a.id = n.artist_id;
    UPDATE genres g SET song_count = g.song_count + n.songs
        FROM (SELECT genre_id, count(*) AS songs FROM new_songs WHERE genre_id IS NOT NULL
              GROUP BY genre_id) n WHERE g.id = n.genre_id;
    RETURN NULL;
END $$;
CREATE FUNCTION songs_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE albums a SET song_count = a.song_count - n.songs, duration_ms = a.duration_ms - n.ms
        FROM (SELECT album_id, count(*) AS songs, sum(duration_ms) AS ms FROM old_songs
              GROUP BY album_id) n WHERE a.id = n.album_id;
    UPDATE artists a SET song_count = a.song_count - n.songs
        FROM (SELECT artist_id, count(*) AS songs FROM old_songs GROUP BY artist_id) n
        WHERE a.id = n.artist_id;
    UPDATE genres g SET song_count = g.song_count - n.songs
        FROM (SELECT genre_id, count(*) AS songs FROM old_songs WHERE genre_id IS NOT NULL
              GROUP BY genre_id) n WHERE g.id = n.genre_id;
    RETURN NULL;
END $$;
CREATE TRIGGER songs_counted AFTER INSERT ON songs REFERENCING NEW TABLE AS new_songs
    FOR EACH STATEMENT EXECUTE FUNCTION songs_counted();
CREATE TRIGGER songs_uncounted AFTER DELETE ON songs REFERENCING OLD TABLE AS old_songs
    FOR EACH STATEMENT EXECUTE FUNCTION songs_uncounted();
-- An update may move a song: uncount the old rows, count the new ones (no code updates
-- songs today; this keeps the counters right for whoever does).
CREATE FUNCTION songs_recounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE albums a SET song_count = a.song_count + n.songs, duration_ms = a.duration_ms + n.ms
        FROM (SELECT album_id, sum(songs) AS songs, sum(ms) AS ms FROM
                (SELECT album_id, -1 AS songs, -duration_ms AS ms FROM old_songs
                 UNION ALL SELECT album_id, 1, duration_ms FROM new_songs) c
              GROUP BY album_id) n WHERE a.id = n.album_id;
    UPDATE artists a SET song_count = a.song_count + n.songs
        FROM (SELECT artist_id, sum(songs) AS songs FROM
                (SELECT artist_id, -1 AS songs FROM old_songs
                 UNION ALL SELECT artist_id, 1 FROM new_songs) c
              GROUP BY artist_id) n WHERE a.id = n.artist_id;
    UPDATE genres g SET song_count = g.song_count + n.songs
        FROM (SELECT genre_id, sum(songs) AS songs FROM
                (SELECT genre_id, -1 AS songs FROM old_songs
                 UNION ALL SELECT genre_id, 1 FROM new_songs) c
              WHERE genre_id IS NOT NULL GROUP BY genre_id) n WHERE g.id = n.genre_id;
    RETURN NULL;
END $$;
CREATE TRIGGER songs_recounted AFTER UPDATE ON songs
    REFERENCING OLD TABLE AS old_songs NEW TABLE AS new_songs
    FOR EACH STATEMENT EXECUTE FUNCTION songs_recounted();

CREATE TABLE users (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    username       text NOT NULL,
    username_key   text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('listener', 'admin')),
    created_at     bigint NOT NULL
);

CREATE TABLE tokens (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  bigint NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

CREATE TABLE playlists (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    owner_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    public      boolean NOT NULL DEFAULT false,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    search      tsvector NOT NULL
);
CREATE INDEX playlists_by_owner ON playlists (owner_id);
CREATE INDEX playlists_by_name ON playlists (cadenza_nocase(name), id);
CREATE INDEX playlists_search ON playlists USING gin (search);

-- Positions are dense 0..n-1 per playlist, renumbered after every change (not declared
-- unique: shifting a range would trip a unique index row by row).
CREATE TABLE playlist_tracks (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    playlist_id  bigint NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position     bigint NOT NULL,
    song_id      bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE
);
CREATE INDEX playlist_tracks_by_position ON playlist_tracks (playlist_id, position);
CREATE INDEX playlist_tracks_by_song ON playlist_tracks (song_id);

CREATE TABLE podcasts (
    id           bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    title        text NOT NULL,
    author       text,
    description  text,
    feed_url     text UNIQUE,
    created_at   bigint NOT NULL,
    search       tsvector NOT NULL    -- title (A), author (B)
);
CREATE INDEX podcasts_search ON podcasts USING gin (search);

CREATE TABLE episodes (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    podcast_id    bigint NOT NULL REFERENCES podcasts (id) ON DELETE CASCADE,
    guid          text NOT NULL,
    title         text NOT NULL,
    description   text,
    published_at  bigint,
    duration_ms   bigint NOT NULL,
    codec         text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL,
    hash          text NOT NULL,
    created_at    bigint NOT NULL,
    UNIQUE (podcast_id, guid)
);
CREATE INDEX episodes_by_hash ON episodes (hash);
CREATE INDEX episodes_by_date ON episodes (podcast_id, published_at);

CREATE TABLE episode_positions (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    episode_id   bigint NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    position_ms  bigint NOT NULL,
    updated_at   bigint NOT NULL,
    PRIMARY KEY (user_id, episode_id)
);
CREATE INDEX episode_positions_by_episode ON episode_positions (episode_id);

CREATE TABLE plays (
    id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id    bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    played_ms  bigint,
    at         bigint NOT NULL,
    play_id    text       -- a client's id for the play, kept once per user
);
CREATE INDEX plays_by_time ON plays (at, song_id);   -- the hot chart reads only this index
CREATE INDEX plays_by_song ON plays (song_id);
CREATE INDEX plays_by_user ON plays (user_id);
CREATE UNIQUE INDEX plays_by_report ON plays (user_id, play_id) WHERE play_id IS NOT NULL;
"#;

/// Version 2: SQLite's version 7 — what third-party (Subsonic) clients keep on the server,
/// and server-side podcast feeds (see that migration for the why of each table). Rows of
/// the per-listener tables go when their user or item goes, by cascade.
const V2: &str = r#"
ALTER TABLE playlists ADD COLUMN comment text;
ALTER TABLE podcasts ADD COLUMN refreshed_at bigint;
ALTER TABLE podcasts ADD COLUMN refresh_error text;
ALTER TABLE podcasts ADD COLUMN lease_holder text;
ALTER TABLE podcasts ADD COLUMN lease_until bigint;

CREATE TABLE client_credentials (
    id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('app_password', 'api_key')),
    name          text NOT NULL,
    secret        text NOT NULL,
    created_at    bigint NOT NULL,
    last_used_at  bigint
);
CREATE INDEX client_credentials_by_user ON client_credentials (user_id);
CREATE UNIQUE INDEX api_keys_by_secret ON client_credentials (secret) WHERE kind = 'api_key';

CREATE TABLE song_annotations (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    song_id     bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    starred_at  bigint,
    rating      bigint CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, song_id)
);
CREATE INDEX song_annotations_by_song ON song_annotations (song_id);

CREATE TABLE album_annotations (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    album_id    bigint NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    starred_at  bigint,
    rating      bigint CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, album_id)
);
CREATE INDEX album_annotations_by_album ON album_annotations (album_id);

CREATE TABLE artist_annotations (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    artist_id   bigint NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    starred_at  bigint,
    rating      bigint CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, artist_id)
);
CREATE INDEX artist_annotations_by_artist ON artist_annotations (artist_id);

CREATE TABLE now_playing (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    song_id     bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    client      text NOT NULL,
    started_at  bigint NOT NULL
);
CREATE INDEX now_playing_by_song ON now_playing (song_id);

CREATE TABLE play_queues (
    user_id          bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    current_song_id  bigint REFERENCES songs (id) ON DELETE SET NULL,
    position_ms      bigint NOT NULL,
    changed_at       bigint NOT NULL,
    changed_by       text NOT NULL
);
CREATE INDEX play_queues_by_song ON play_queues (current_song_id);
CREATE TABLE play_queue_songs (
    user_id   bigint NOT NULL REFERENCES play_queues (user_id) ON DELETE CASCADE,
    position  bigint NOT NULL,
    song_id   bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX play_queue_songs_by_song ON play_queue_songs (song_id);
"#;

/// Version 3: SQLite's version 8 — a song may credit several artists and genres.
/// `songs.artist_id` and `songs.genre_id` keep the first of each; the others are rows here,
/// numbered from 1 in credit order, so every existing catalog is already complete. A song
/// is browsed and counted under each of its artists and genres: statement-level triggers
/// keep `song_count` of both like `songs_counted` does (a batch of credits updates each
/// name once), and deleting a song removes its rows by cascade, which the triggers uncount.
const SONG_CREDITS: &str = r#"
CREATE TABLE song_artists (
    song_id    bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position   bigint NOT NULL CHECK (position > 0),  -- songs.artist_id is position 0
    artist_id  bigint NOT NULL REFERENCES artists (id),
    PRIMARY KEY (song_id, position)
);
CREATE INDEX song_artists_by_artist ON song_artists (artist_id, song_id);

CREATE TABLE song_genres (
    song_id    bigint NOT NULL REFERENCES songs (id) ON DELETE CASCADE,
    position   bigint NOT NULL CHECK (position > 0),  -- songs.genre_id is position 0
    genre_id   bigint NOT NULL REFERENCES genres (id),
    PRIMARY KEY (song_id, position)
);
CREATE INDEX song_genres_by_genre ON song_genres (genre_id, song_id);

CREATE FUNCTION song_artists_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE artists a SET song_count = a.song_count + n.songs
        FROM (SELECT artist_id, count(*) AS songs FROM new_credits GROUP BY artist_id) n
        WHERE a.id = n.artist_id;
    RETURN NULL;
END $$;
CREATE FUNCTION song_artists_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE artists a SET song_count = a.song_count - n.songs
        FROM (SELECT artist_id, count(*) AS songs FROM old_credits GROUP BY artist_id) n
        WHERE a.id = n.artist_id;
    RETURN NULL;
END $$;
CREATE TRIGGER song_artists_counted AFTER INSERT ON song_artists
    REFERENCING NEW TABLE AS new_credits
    FOR EACH STATEMENT EXECUTE FUNCTION song_artists_counted();
CREATE TRIGGER song_artists_uncounted AFTER DELETE ON song_artists
    REFERENCING OLD TABLE AS old_credits
    FOR EACH STATEMENT EXECUTE FUNCTION song_artists_uncounted();

CREATE FUNCTION song_genres_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE genres g SET song_count = g.song_count + n.songs
        FROM (SELECT genre_id, count(*) AS songs FROM new_credits GROUP BY genre_id) n
        WHERE g.id = n.genre_id;
    RETURN NULL;
END $$;
CREATE FUNCTION song_genres_uncounted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE genres g SET song_count = g.song_count - n.songs
        FROM (SELECT genre_id, count(*) AS songs FROM old_credits GROUP BY genre_id) n
        WHERE g.id = n.genre_id;
    RETURN NULL;
END $$;
CREATE TRIGGER song_genres_counted AFTER INSERT ON song_genres
    REFERENCING NEW TABLE AS new_credits
    FOR EACH STATEMENT EXECUTE FUNCTION song_genres_counted();
CREATE TRIGGER song_genres_uncounted AFTER DELETE ON song_genres
    REFERENCING OLD TABLE AS old_credits
    FOR EACH STATEMENT EXECUTE FUNCTION song_genres_uncounted();
"#;

/// Version 4: cheaper playlist reordering.
///
/// - A track move is one call. The lock on the playlist, the owner and position checks and
///   the move run inside the database, so the lock is held for no round trip: with the
///   checks and the move as statements of their own, every other edit of that playlist
///   waited for four round trips. Each statement of the function sees what committed
///   before it ran (read committed), so the count is taken after the lock is granted, as
///   in the statements it replaces. It answers the playlist's owner, whether it is public
///   and its track count (no row: no such playlist), and moves nothing unless `viewer`
///   owns it and both positions are below the count; the caller turns that into the usual
///   errors.
/// - Positions are no longer indexed (the playlist's tracks are found by playlist and
///   sorted, a few hundred rows at most), and pages keep room for new row versions: a move
///   rewrites the position of every track between its two ends, and PostgreSQL can then
///   make each rewrite a heap-only update, with no new entries in the table's indexes.
const PLAYLIST_MOVE: &str = r#"
CREATE INDEX playlist_tracks_by_playlist ON playlist_tracks (playlist_id);
DROP INDEX playlist_tracks_by_position;
ALTER TABLE playlist_tracks SET (fillfactor = 70);

CREATE FUNCTION cadenza_move_track(
    list bigint, viewer bigint, from_pos bigint, to_pos bigint, moved_at bigint
) RETURNS TABLE (list_owner bigint, list_public boolean, track_count bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT p.owner_id, p.public INTO list_owner, list_public
        FROM playlists p WHERE p.id = list FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT count(*) INTO track_count FROM playlist_tracks t WHERE t.playlist_id = list;
    IF list_owner = viewer AND from_pos <> to_pos AND greatest(from_pos, to_pos) < track_count THEN
        UPDATE playlist_tracks t SET position = CASE
                WHEN t.position = from_pos THEN to_pos
                WHEN from_pos < to_pos THEN t.position - 1
                ELSE t.position + 1 END
            WHERE t.playlist_id = list
            AND t.position BETWEEN least(from_pos, to_pos) AND greatest(from_pos, to_pos);
        UPDATE playlists p SET updated_at = moved_at WHERE p.id = list;
    END IF;
    RETURN NEXT;
END $$;
"#;

#[cfg(test)]
mod tests {
    use super::{SCHEMA_VERSION, SONG_CREDITS, V1, V2};
    use crate::{Catalog, PgCatalog, PgOptions};

    #[test]
    fn a_version_2_catalog_keeps_its_songs_and_counts_every_credit() {
        if cadenza_pgtest::skip("the PostgreSQL migrations") {
            return;
        }
        let cluster = cadenza_pgtest::Cluster::shared().unwrap();
        let db = cluster.create_database().unwrap();
        cluster
            .execute_in(
                &db,
                &format!(
                    "CREATE EXTENSION unaccent; {V1} {V2}
                     CREATE TABLE cadenza_schema (version integer NOT NULL);
                     INSERT INTO cadenza_schema VALUES (2);
                     INSERT INTO artists (id, name, name_key, search)
                         VALUES (1, 'A', 'a', ''), (2, 'B', 'b', '');
                     INSERT INTO genres (id, name, name_key)
                         VALUES (1, 'Rock', 'rock'), (2, 'Pop', 'pop');
                     INSERT INTO albums (id, title, title_key, artist_id, created_at, search)
                         VALUES (1, 'Duets', 'duets', 1, 0, '');
                     INSERT INTO songs (id, title, artist_id, album_id, genre_id, duration_ms,
                         codec, content_type, size, hash, created_at, search)
                         VALUES (3, 'Together', 1, 1, 1, 5, 'wav', 'audio/wav', 3, 'a', 0, '');"
                ),
            )
            .unwrap();

        let cat = PgCatalog::open(&PgOptions::new(cluster.primary_url(&db))).unwrap();
        let one = |sql: &str, param: i64| -> i64 { cat.raw_column(sql, param)[0] };
        assert_eq!(
            one("SELECT version + $1::int8 FROM cadenza_schema", 0),
            i64::from(SCHEMA_VERSION)
        );
        let song = cat.song(3).unwrap();
        assert_eq!((song.artists.len(), song.genres.len()), (1, 1));
        assert_eq!(one("SELECT song_count FROM artists WHERE id = $1", 1), 1);

        one(
            "INSERT INTO song_artists (song_id, position, artist_id) VALUES ($1, 1, 2) \
             RETURNING song_id",
            3,
        );
        one(
            "INSERT INTO song_genres (song_id, position, genre_id) VALUES ($1, 1, 2) \
             RETURNING song_id",
            3,
        );
        assert_eq!(one("SELECT song_count FROM artists WHERE id = $1", 2), 1);
        assert_eq!(one("SELECT song_count FROM genres WHERE id = $1", 2), 1);
        assert_eq!(cat.song(3).unwrap().artist, "A, B");
        let first = cluster.execute_in(
            &db,
            "INSERT INTO song_artists (song_id, position, artist_id) VALUES (3, 0, 2)",
        );
        assert!(first.is_err(), "position 0 is the songs row's");
        // Deleting the song cascades to its credits, and their triggers uncount them.
        one("DELETE FROM songs WHERE id = $1 RETURNING id", 3);
        let total = "SELECT ((SELECT count(*) FROM song_artists) \
             + (SELECT count(*) FROM song_genres) + (SELECT sum(song_count) FROM artists) \
             + (SELECT sum(song_count) FROM genres))::int8 + $1::int8";
        assert_eq!(one(total, 0), 0);
    }

    #[test]
    fn a_version_3_catalog_moves_its_playlist_tracks_after_the_upgrade() {
        if cadenza_pgtest::skip("the PostgreSQL migrations") {
            return;
        }
        let cluster = cadenza_pgtest::Cluster::shared().unwrap();
        let db = cluster.create_database().unwrap();
        let mut songs = String::new();
        let mut tracks = String::new();
        for (i, id) in (1..=4).enumerate() {
            songs.push_str(&format!(
                "INSERT INTO songs (id, title, artist_id, album_id, duration_ms, codec, \
                 content_type, size, hash, created_at, search) \
                 VALUES ({id}, 'S{id}', 1, 1, 5, 'wav', 'audio/wav', 3, 'h{id}', 0, '');"
            ));
            tracks.push_str(&format!(
                "INSERT INTO playlist_tracks (playlist_id, position, song_id) VALUES (1, {i}, {id});"
            ));
        }
        cluster
            .execute_in(
                &db,
                &format!(
                    "CREATE EXTENSION unaccent; {V1} {V2} {SONG_CREDITS}
                     CREATE TABLE cadenza_schema (version integer NOT NULL);
                     INSERT INTO cadenza_schema VALUES (3);
                     INSERT INTO users (id, username, username_key, password_hash, role, created_at)
                         VALUES (1, 'ann', 'ann', 'x', 'listener', 0),
                                (2, 'bob', 'bob', 'x', 'listener', 0);
                     INSERT INTO artists (id, name, name_key, search) VALUES (1, 'A', 'a', '');
                     INSERT INTO albums (id, title, title_key, artist_id, created_at, search)
                         VALUES (1, 'L', 'l', 1, 0, '');
                     {songs}
                     INSERT INTO playlists (id, owner_id, name, public, created_at, updated_at, search)
                         VALUES (1, 1, 'Mix', true, 0, 0, '');
                     {tracks}"
                ),
            )
            .unwrap();

        let cat = PgCatalog::open(&PgOptions::new(cluster.primary_url(&db))).unwrap();
        let order = |d: cadenza_api::PlaylistDetail| -> Vec<i64> {
            d.tracks.iter().map(|t| t.id).collect()
        };
        assert_eq!(order(cat.move_track(1, 1, 0, 3, 7).unwrap()), [2, 3, 4, 1]);
        assert_eq!(order(cat.move_track(1, 1, 2, 0, 8).unwrap()), [4, 2, 3, 1]);
        let detail = cat.playlist(1, 1).unwrap();
        assert_eq!(
            (order(detail.clone()), detail.playlist.updated_at),
            (vec![4, 2, 3, 1], 8)
        );
        // Someone else's public playlist, and a position past the end, change nothing.
        assert!(matches!(
            cat.move_track(1, 2, 0, 1, 9),
            Err(crate::CatalogError::Forbidden(_))
        ));
        assert!(cat.move_track(1, 1, 0, 4, 9).is_err());
        assert!(cat.move_track(9, 1, 0, 1, 9).is_err());
        assert_eq!(order(cat.playlist(1, 1).unwrap()), [4, 2, 3, 1]);
    }
}
