//! The catalog's behaviour, one suite for every backend: each test is a function of a
//! [`Subject`] that [`both!`] runs once on SQLite (in memory) and once on PostgreSQL (a
//! fresh database on a throwaway primary with a streaming replica, reads routed as in
//! production). Without PostgreSQL's binaries the second run says why it is skipped
//! (see `cadenza-pgtest`; CI installs them and may not skip).

mod annotations;
mod browse;
mod credentials;
mod library;
mod listening;
mod lists;
mod playlists;
mod plays;
mod podcasts;
mod search;
mod stats;
mod users;

use crate::{
    BulkInsert, Catalog, CatalogResult, NewCover, NewSong, PgCatalog, PgOptions, SqliteCatalog,
};
use cadenza_api::{Role, UserId};
use std::ops::Deref;

/// Runs each named `fn(&Subject)` on both backends.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&crate::behaviour::Subject::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(subject) = crate::behaviour::Subject::postgres(stringify!($name)) {
                    super::$name(&subject);
                }
            }
        }
    )*};
}
pub(crate) use both;

/// A catalog under test.
pub(crate) enum Subject {
    Sqlite(SqliteCatalog),
    Postgres(PgCatalog),
}

impl Deref for Subject {
    type Target = dyn Catalog;
    fn deref(&self) -> &Self::Target {
        match self {
            Subject::Sqlite(c) => c,
            Subject::Postgres(c) => c,
        }
    }
}

impl Subject {
    pub(crate) fn sqlite() -> Subject {
        Subject::Sqlite(SqliteCatalog::open_in_memory().unwrap())
    }

    /// A catalog in a new database of the shared test cluster, or `None` (with the reason
    /// printed) when PostgreSQL is not installed.
    pub(crate) fn postgres(test: &str) -> Option<Subject> {
        if cadenza_pgtest::skip(test) {
            return None;
        }
        Some(Subject::Postgres(open_postgres()))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Subject::Postgres(_))
    }

    pub(crate) fn bulk_insert_songs(&self, songs: &[NewSong]) -> BulkInsert {
        self.try_bulk_insert_songs(songs).unwrap()
    }

    pub(crate) fn try_bulk_insert_songs(&self, songs: &[NewSong]) -> CatalogResult<BulkInsert> {
        match self {
            Subject::Sqlite(c) => c.bulk_insert_songs(songs, 0),
            Subject::Postgres(c) => c.bulk_insert_songs(songs, 0),
        }
    }

    /// The raw stored positions of a playlist's tracks, in order.
    pub(crate) fn positions(&self, playlist: i64) -> Vec<i64> {
        let sql = "SELECT position FROM playlist_tracks WHERE playlist_id = $1 ORDER BY position";
        match self {
            Subject::Sqlite(c) => c.raw_column(&sql.replace('$', "?"), playlist),
            Subject::Postgres(c) => c.raw_column(sql, playlist),
        }
    }

    /// Deletes a row behind the catalog's back (for rows no method deletes yet).
    pub(crate) fn delete_row(&self, table: &str, id: i64) {
        let sql = format!("DELETE FROM {table} WHERE id = $1 RETURNING id");
        let deleted = match self {
            Subject::Sqlite(c) => c.raw_column(&sql.replace('$', "?"), id),
            Subject::Postgres(c) => c.raw_column(&sql, id),
        };
        assert_eq!(deleted, [id]);
    }
}

/// A PostgreSQL catalog on a new database of the shared cluster, reading from its replica.
pub(crate) fn open_postgres() -> PgCatalog {
    let cluster = cadenza_pgtest::Cluster::shared().unwrap();
    let database = cluster.create_database().unwrap();
    PgCatalog::open(&PgOptions {
        replicas: vec![cluster.replica_url(0, &database)],
        connections: 4,
        ..PgOptions::new(cluster.primary_url(&database))
    })
    .unwrap()
}

/// A distinct valid content hash for each `n`.
pub(crate) fn hash(n: u64) -> String {
    format!("{n:064x}")
}

/// A song with the given tags and a hash derived from `n`.
pub(crate) fn song(n: u64, title: &str, artist: &str, album: &str) -> NewSong {
    NewSong {
        title: title.into(),
        artist: artist.into(),
        other_artists: Vec::new(),
        album_artist: None,
        album: album.into(),
        track: None,
        disc: None,
        genre: None,
        other_genres: Vec::new(),
        year: None,
        duration_ms: 180_000,
        codec: "mp3".into(),
        content_type: "audio/mpeg".into(),
        bitrate_kbps: Some(320),
        sample_rate: Some(44_100),
        channels: Some(2),
        size: 1_000 + n,
        hash: hash(n),
        cover: None,
    }
}

pub(crate) fn cover(n: u64) -> NewCover {
    NewCover {
        hash: hash(1_000_000 + n),
        size: 500 + n,
        content_type: "image/jpeg".into(),
    }
}

/// Checks that `loaded` (filled by a fresh load) lists the same songs, albums, artists and
/// genres as a catalog built by uploading `songs` one by one at `now`; returns that one.
pub(crate) fn assert_lists_like_uploads(
    loaded: &dyn Catalog,
    songs: &[NewSong],
    now: i64,
) -> SqliteCatalog {
    let uploaded = SqliteCatalog::open_in_memory().unwrap();
    for s in songs {
        uploaded.insert_song(s, now).unwrap();
    }
    let page = cadenza_api::PageRequest {
        limit: 100,
        offset: 0,
    };
    assert_eq!(loaded.songs(page).unwrap(), uploaded.songs(page).unwrap());
    assert_eq!(loaded.albums(page).unwrap(), uploaded.albums(page).unwrap());
    assert_eq!(
        loaded.artists(page).unwrap(),
        uploaded.artists(page).unwrap()
    );
    assert_eq!(loaded.genres().unwrap(), uploaded.genres().unwrap());
    uploaded
}

pub(crate) fn user(cat: &dyn Catalog, name: &str) -> UserId {
    cat.create_user(name, "$argon2id$fake", Role::Listener)
        .unwrap()
        .id
}
