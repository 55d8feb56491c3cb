//! Play events and the hot chart built from them.

use super::error::{not_found, to_i64, Context};
use super::rows;
use super::users::ensure_user;
use crate::CatalogResult;
use cadenza_api::{HotEntry, SongId, UserId};
use rusqlite::Connection;

/// Longest hot chart returned.
const MAX_HOT: u32 = 500;

pub(crate) fn record_play(
    conn: &Connection,
    user: UserId,
    song: SongId,
    played_ms: Option<u64>,
    at: i64,
) -> CatalogResult<()> {
    ensure_user(conn, user)?;
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM songs WHERE id = ?1)")
        .and_then(|mut s| s.query_row([song], |r| r.get(0)))
        .ctx("checking a song")?;
    if !exists {
        return Err(not_found("song", song));
    }
    let played_ms = played_ms.map(|ms| to_i64("played_ms", ms)).transpose()?;
    conn.prepare_cached(
        "INSERT INTO plays (user_id, song_id, played_ms, at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| s.execute((user, song, played_ms, at)))
    .ctx("recording a play")?;
    Ok(())
}

/// Songs with the most plays at or after `since`; ties go to the title, then the id.
pub(crate) fn hot(conn: &Connection, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>> {
    let limit = limit.min(MAX_HOT);
    let mut stmt = conn
        .prepare_cached(
            "WITH counted AS (SELECT song_id, count(*) AS plays FROM plays WHERE at >= ?1 \
                              GROUP BY song_id) \
             SELECT c.song_id, c.plays FROM counted c JOIN songs s ON s.id = c.song_id \
             ORDER BY c.plays DESC, s.title COLLATE NOCASE, s.id LIMIT ?2",
        )
        .ctx("building the hot chart")?;
    let ranked = stmt
        .query_map((since, limit), |r| {
            Ok((r.get::<_, i64>(0)?, rows::get_u64(r, 1)?))
        })
        .ctx("building the hot chart")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("building the hot chart")?;
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut songs = rows::songs_by_ids(conn, &ids)?.into_iter().peekable();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, plays)| {
            songs
                .next_if(|s| s.id == id)
                .map(|song| HotEntry { song, plays })
        })
        .collect())
}
