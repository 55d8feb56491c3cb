//! Builders shared by the unit tests.

use crate::{Catalog, NewCover, NewSong, SqliteCatalog};
use cadenza_api::{Role, UserId};

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

pub(crate) fn user(cat: &SqliteCatalog, name: &str) -> UserId {
    cat.create_user(name, "$argon2id$fake", Role::Listener)
        .unwrap()
        .id
}

pub(crate) fn memory() -> SqliteCatalog {
    SqliteCatalog::open_in_memory().unwrap()
}

/// The raw stored positions of a playlist's tracks, in order.
pub(crate) fn positions(cat: &SqliteCatalog, playlist: i64) -> Vec<i64> {
    cat.pool
        .read(|tx| {
            super::rows::collect(
                tx,
                "SELECT position FROM playlist_tracks WHERE playlist_id = ?1 ORDER BY position",
                playlist,
                |r| r.get(0),
                "test",
            )
        })
        .unwrap()
}
