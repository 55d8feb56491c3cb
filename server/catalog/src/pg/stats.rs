//! Blob references and catalog statistics (admin, capacity planning).

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get, int};
use crate::{BlobRef, CatalogResult, CatalogStats};
use cadenza_api::{Artist, BlobStatus};
use std::collections::HashSet;

const DAY: i64 = 86_400;
/// Window of `plays_per_user_per_day`.
const PLAY_WINDOW_DAYS: i64 = 30;
const LARGEST_ARTISTS: i64 = 10;

/// Every distinct blob the catalog uses, once each (its first user names it).
pub(crate) fn blob_refs(tx: &mut Tx<'_>) -> CatalogResult<Vec<BlobRef>> {
    let rows = tx
        .query(
            "SELECT hash, size, content_type, created_at, 'song ' || id || ': ' || title \
             FROM songs WHERE id IN (SELECT min(id) FROM songs GROUP BY hash) \
             UNION ALL \
             SELECT hash, size, content_type, created_at, 'episode ' || id || ': ' || title \
             FROM episodes \
             UNION ALL \
             SELECT cover_hash, cover_size, cover_content_type, created_at, \
                    'cover of album ' || id || ': ' || title FROM albums WHERE cover_hash IS NOT NULL",
            &[],
        )
        .ctx("listing blobs")?;
    let mut seen = HashSet::new();
    let mut refs = Vec::new();
    for r in &rows {
        let hash: String = get(r, 0)?;
        if seen.insert(hash.clone()) {
            refs.push(BlobRef {
                hash,
                size: int(r, 1)?,
                content_type: get(r, 2)?,
                created_at: get(r, 3)?,
                used_by: get(r, 4)?,
            });
        }
    }
    Ok(refs)
}

pub(crate) fn blob_status(tx: &mut Tx<'_>, hash: &str) -> CatalogResult<BlobStatus> {
    let row = tx
        .query_one(
            "SELECT (SELECT min(id) FROM songs WHERE hash = $1), \
                    (SELECT min(id) FROM episodes WHERE hash = $1), \
                    EXISTS (SELECT 1 FROM albums WHERE cover_hash = $1)",
            &[&hash],
        )
        .ctx("looking up a blob")?;
    let song_id: Option<i64> = get(&row, 0)?;
    let episode_id: Option<i64> = get(&row, 1)?;
    let cover: bool = get(&row, 2)?;
    Ok(BlobStatus {
        hash: hash.to_owned(),
        exists: song_id.is_some() || episode_id.is_some() || cover,
        song_id,
        episode_id,
        // The upload limit is the server's setting, not the catalog's.
        max_upload_bytes: None,
    })
}

/// Catalog figures. The per-row metadata sizes are measured: the on-disk size of each
/// table with its indexes (`pg_total_relation_size`), charged to songs (songs, albums,
/// artists, genres) or to users (users, tokens, playlists, plays, resume positions), then
/// divided by the number of songs or users.
pub(crate) fn stats(tx: &mut Tx<'_>, now: i64) -> CatalogResult<CatalogStats> {
    let mut n = |sql: &str| rows::count(tx, sql, &[], "counting catalog rows");
    let songs = n("SELECT count(*) FROM songs")?;
    let users = n("SELECT count(*) FROM users")?;
    let albums = n("SELECT count(*) FROM albums")?;
    let artists = n("SELECT count(*) FROM artists")?;
    let genres = n("SELECT count(*) FROM genres")?;
    let playlists = n("SELECT count(*) FROM playlists")?;
    let podcasts = n("SELECT count(*) FROM podcasts")?;
    let episodes = n("SELECT count(*) FROM episodes")?;
    let plays = n("SELECT count(*) FROM plays")?;
    let catalog_bytes = n("SELECT pg_database_size(current_database())")?;
    let song_tree_bytes = n(
        "SELECT (pg_total_relation_size('songs') + pg_total_relation_size('albums') \
         + pg_total_relation_size('artists') + pg_total_relation_size('genres'))::int8",
    )?;
    let user_tree_bytes = n(
        "SELECT (pg_total_relation_size('users') + pg_total_relation_size('tokens') \
         + pg_total_relation_size('playlists') + pg_total_relation_size('playlist_tracks') \
         + pg_total_relation_size('plays') + pg_total_relation_size('episode_positions'))::int8",
    )?;

    // Songs may share a blob: blobs and bytes count each hash once; the average song size
    // is over songs.
    let (song_blobs, song_bytes) = sum(
        tx,
        "SELECT count(*), coalesce(sum(size), 0)::int8 FROM songs \
         WHERE id IN (SELECT min(id) FROM songs GROUP BY hash)",
    )?;
    let (_, all_song_bytes) = sum(
        tx,
        "SELECT count(*), coalesce(sum(size), 0)::int8 FROM songs",
    )?;
    let (episode_blobs, episode_bytes) = sum(
        tx,
        "SELECT count(*), coalesce(sum(size), 0)::int8 FROM (SELECT hash, max(size) AS size \
         FROM episodes WHERE hash NOT IN (SELECT hash FROM songs) GROUP BY hash) e",
    )?;
    let (cover_blobs, cover_bytes) = sum(
        tx,
        "SELECT count(*), coalesce(sum(size), 0)::int8 FROM (SELECT cover_hash, \
         max(cover_size) AS size FROM albums WHERE cover_hash IS NOT NULL \
         AND cover_hash NOT IN (SELECT hash FROM songs) \
         AND cover_hash NOT IN (SELECT hash FROM episodes) GROUP BY cover_hash) c",
    )?;

    let recent = recent_plays(tx, now)?;

    Ok(CatalogStats {
        songs,
        albums,
        artists,
        genres,
        users,
        playlists,
        podcasts,
        episodes,
        plays,
        blobs: song_blobs + episode_blobs + cover_blobs,
        logical_bytes: song_bytes + episode_bytes + cover_bytes,
        avg_song_bytes: all_song_bytes.checked_div(songs).unwrap_or(0),
        catalog_bytes,
        song_metadata_bytes: song_tree_bytes.checked_div(songs).unwrap_or(0),
        user_metadata_bytes: user_tree_bytes.checked_div(users).unwrap_or(0),
        plays_per_user_per_day: if users == 0 {
            0.0
        } else {
            recent.plays as f64 / users as f64 / recent.days
        },
        recent_plays: recent.plays,
        play_window_days: recent.days,
        largest_artists: largest_artists(tx)?,
    })
}

fn sum(tx: &mut Tx<'_>, sql: &str) -> CatalogResult<(u64, u64)> {
    let row = tx.query_one(sql, &[]).ctx("summing blob sizes")?;
    Ok((int(&row, 0)?, int(&row, 1)?))
}

/// Plays in a window, for the plays per user per day.
struct RecentPlays {
    plays: u64,
    days: f64,
}

/// Plays in the last 30 days; a younger catalog counts over its own age (from the first
/// user), at least one day.
fn recent_plays(tx: &mut Tx<'_>, now: i64) -> CatalogResult<RecentPlays> {
    let first: Option<i64> = get(
        &tx.query_one("SELECT min(created_at) FROM users", &[])
            .ctx("reading the catalog's age")?,
        0,
    )?;
    let age = now.saturating_sub(first.unwrap_or(now));
    let window = age.clamp(DAY, PLAY_WINDOW_DAYS * DAY);
    let plays = rows::count(
        tx,
        "SELECT count(*) FROM plays WHERE at >= $1",
        &[&(now - window)],
        "counting recent plays",
    )?;
    Ok(RecentPlays {
        plays,
        days: window as f64 / DAY as f64,
    })
}

fn largest_artists(tx: &mut Tx<'_>) -> CatalogResult<Vec<(Artist, u64)>> {
    let ranked = rows::collect(
        tx,
        "SELECT artist_id, sum(size)::int8 AS bytes FROM songs GROUP BY artist_id \
         ORDER BY bytes DESC, artist_id LIMIT $1",
        &[&LARGEST_ARTISTS],
        |r| Ok((get::<i64>(r, 0)?, int::<u64>(r, 1)?)),
        "finding the largest artists",
    )?;
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut artists = rows::artists_by_ids(tx, &ids)?.into_iter().peekable();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, bytes)| artists.next_if(|a| a.id == id).map(|a| (a, bytes)))
        .collect())
}
