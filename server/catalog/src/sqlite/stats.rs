//! Blob references and catalog statistics (admin, capacity planning).

use super::error::Context;
use super::rows::{self, get_u64};
use crate::{BlobRef, CatalogResult, CatalogStats};
use cadenza_api::{Artist, BlobStatus};
use rusqlite::Connection;
use std::collections::HashSet;

const DAY: i64 = 86_400;
/// Window of `plays_per_user_per_day`.
const PLAY_WINDOW_DAYS: i64 = 30;
const LARGEST_ARTISTS: u32 = 10;

/// Every distinct blob the catalog uses, once each (its first user names it). Songs may
/// share a blob, so songs are narrowed to the first of each hash in SQL (one pass over
/// `songs_by_hash`) rather than read a million rows to keep a few hundred.
pub(crate) fn blob_refs(conn: &Connection) -> CatalogResult<Vec<BlobRef>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT hash, size, content_type, created_at, 'song ' || id || ': ' || title FROM songs \
             WHERE id IN (SELECT min(id) FROM songs GROUP BY hash) \
             UNION ALL \
             SELECT hash, size, content_type, created_at, 'episode ' || id || ': ' || title FROM episodes \
             UNION ALL \
             SELECT cover_hash, cover_size, cover_content_type, created_at, \
                    'cover of album ' || id || ': ' || title FROM albums WHERE cover_hash IS NOT NULL",
        )
        .ctx("listing blobs")?;
    let mut seen = HashSet::new();
    let mut refs = Vec::new();
    let mut rows = stmt.query([]).ctx("listing blobs")?;
    while let Some(r) = rows.next().ctx("listing blobs")? {
        let hash: String = r.get(0).ctx("listing blobs")?;
        if seen.insert(hash.clone()) {
            refs.push(BlobRef {
                hash,
                size: get_u64(r, 1).ctx("listing blobs")?,
                content_type: r.get(2).ctx("listing blobs")?,
                created_at: r.get(3).ctx("listing blobs")?,
                used_by: r.get(4).ctx("listing blobs")?,
            });
        }
    }
    Ok(refs)
}

pub(crate) fn blob_status(conn: &Connection, hash: &str) -> CatalogResult<BlobStatus> {
    let song_id: Option<i64> = conn
        .prepare_cached("SELECT min(id) FROM songs WHERE hash = ?1")
        .and_then(|mut s| s.query_row([hash], |r| r.get(0)))
        .ctx("looking up a blob")?;
    let episode_id: Option<i64> = conn
        .prepare_cached("SELECT min(id) FROM episodes WHERE hash = ?1")
        .and_then(|mut s| s.query_row([hash], |r| r.get(0)))
        .ctx("looking up a blob")?;
    let exists =
        song_id.is_some() || episode_id.is_some() || super::library::blob_referenced(conn, hash)?;
    Ok(BlobStatus {
        hash: hash.to_owned(),
        exists,
        song_id,
        episode_id,
        // The upload limit is the server's setting, not the catalog's.
        max_upload_bytes: None,
    })
}

/// Catalog figures. The per-row metadata sizes are measured, not estimated: SQLite's
/// `dbstat` table gives the bytes of every b-tree (table, index, full-text shadow table),
/// and each is charged to songs (songs, albums, artists, genres and their search indexes)
/// or to users (users, tokens, playlists, plays, resume positions), then divided by the
/// number of songs or users. So the figures include index and page overhead: what one more
/// song or user really costs on disk.
pub(crate) fn stats(conn: &Connection, now: i64) -> CatalogResult<CatalogStats> {
    let n = |sql: &str| rows::count(conn, sql, &[], "counting catalog rows");
    let songs = n("SELECT count(*) FROM songs")?;
    let users = n("SELECT count(*) FROM users")?;

    // Songs may share a blob: blobs and bytes count each hash once (one pass over the
    // covering `songs_by_hash`, then one row per blob); the average song size is over songs.
    let (song_blobs, song_bytes) = sum(
        conn,
        "SELECT count(*), total(size) FROM songs \
         WHERE id IN (SELECT min(id) FROM songs GROUP BY hash)",
    )?;
    let (_, all_song_bytes) = sum(conn, "SELECT count(*), total(size) FROM songs")?;
    let (episode_blobs, episode_bytes) = sum(
        conn,
        "SELECT count(*), total(size) FROM (SELECT hash, max(size) AS size FROM episodes \
         WHERE hash NOT IN (SELECT hash FROM songs) GROUP BY hash)",
    )?;
    let (cover_blobs, cover_bytes) = sum(
        conn,
        "SELECT count(*), total(size) FROM (SELECT cover_hash, max(cover_size) AS size FROM albums \
         WHERE cover_hash IS NOT NULL AND cover_hash NOT IN (SELECT hash FROM songs) \
         AND cover_hash NOT IN (SELECT hash FROM episodes) GROUP BY cover_hash)",
    )?;

    let page_size = n("PRAGMA page_size")?;
    let page_count = n("PRAGMA page_count")?;
    let (song_tree_bytes, user_tree_bytes) = tree_bytes(conn)?;
    let recent = recent_plays(conn, now)?;

    Ok(CatalogStats {
        songs,
        albums: n("SELECT count(*) FROM albums")?,
        artists: n("SELECT count(*) FROM artists")?,
        genres: n("SELECT count(*) FROM genres")?,
        users,
        playlists: n("SELECT count(*) FROM playlists")?,
        podcasts: n("SELECT count(*) FROM podcasts")?,
        episodes: n("SELECT count(*) FROM episodes")?,
        plays: n("SELECT count(*) FROM plays")?,
        blobs: song_blobs + episode_blobs + cover_blobs,
        logical_bytes: song_bytes + episode_bytes + cover_bytes,
        avg_song_bytes: all_song_bytes.checked_div(songs).unwrap_or(0),
        catalog_bytes: page_size * page_count,
        song_metadata_bytes: song_tree_bytes.checked_div(songs).unwrap_or(0),
        user_metadata_bytes: user_tree_bytes.checked_div(users).unwrap_or(0),
        plays_per_user_per_day: if users == 0 {
            0.0
        } else {
            recent.plays as f64 / users as f64 / recent.days
        },
        recent_plays: recent.plays,
        play_window_days: recent.days,
        largest_artists: largest_artists(conn)?,
    })
}

fn sum(conn: &Connection, sql: &str) -> CatalogResult<(u64, u64)> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row([], |r| Ok((get_u64(r, 0)?, r.get::<_, f64>(1)? as u64))))
        .ctx("summing blob sizes")
}

/// Bytes of the b-trees holding song metadata and user metadata.
fn tree_bytes(conn: &Connection) -> CatalogResult<(u64, u64)> {
    const SONG_TABLES: &[&str] = &["songs", "albums", "artists", "genres"];
    const USER_TABLES: &[&str] = &[
        "users",
        "tokens",
        "playlists",
        "playlist_tracks",
        "plays",
        "episode_positions",
    ];
    let mut stmt = conn
        .prepare_cached(
            "SELECT coalesce(s.tbl_name, d.name), d.pgsize FROM dbstat AS d \
             LEFT JOIN sqlite_schema s ON s.name = d.name WHERE d.aggregate = TRUE",
        )
        .ctx("measuring table sizes")?;
    let mut rows = stmt.query([]).ctx("measuring table sizes")?;
    let (mut song, mut user) = (0u64, 0u64);
    while let Some(r) = rows.next().ctx("measuring table sizes")? {
        let table: String = r.get(0).ctx("measuring table sizes")?;
        let bytes = get_u64(r, 1).ctx("measuring table sizes")?;
        // Full-text shadow tables are named `<table>_fts_<part>`.
        let base = table.split("_fts").next().unwrap_or(&table);
        if SONG_TABLES.contains(&base) {
            song += bytes;
        } else if USER_TABLES.contains(&base) {
            user += bytes;
        }
    }
    Ok((song, user))
}

/// Plays in a window, for the plays per user per day.
struct RecentPlays {
    plays: u64,
    days: f64,
}

/// Plays in the last 30 days; a younger catalog counts over its own age (from the first
/// user), at least one day.
fn recent_plays(conn: &Connection, now: i64) -> CatalogResult<RecentPlays> {
    let first: Option<i64> = conn
        .query_row("SELECT min(created_at) FROM users", [], |r| r.get(0))
        .ctx("reading the catalog's age")?;
    let age = now.saturating_sub(first.unwrap_or(now));
    let window = age.clamp(DAY, PLAY_WINDOW_DAYS * DAY);
    let plays = rows::count(
        conn,
        "SELECT count(*) FROM plays WHERE at >= ?1",
        &[&(now - window)],
        "counting recent plays",
    )?;
    Ok(RecentPlays {
        plays,
        days: window as f64 / DAY as f64,
    })
}

fn largest_artists(conn: &Connection) -> CatalogResult<Vec<(Artist, u64)>> {
    let ranked: Vec<(i64, u64)> = conn
        .prepare_cached(
            "SELECT artist_id, total(size) AS bytes FROM songs GROUP BY artist_id \
             ORDER BY bytes DESC, artist_id LIMIT ?1",
        )
        .and_then(|mut s| {
            s.query_map([LARGEST_ARTISTS], |r| {
                Ok((r.get(0)?, r.get::<_, f64>(1)? as u64))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .ctx("finding the largest artists")?;
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut artists = rows::artists_by_ids(conn, &ids)?.into_iter().peekable();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, bytes)| artists.next_if(|a| a.id == id).map(|a| (a, bytes)))
        .collect())
}
