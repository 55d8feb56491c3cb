//! Play events and the hot chart built from them.

use super::error::{not_found, to_i64, Context};
use super::rows;
use super::users::ensure_user;
use crate::{validate, CatalogResult, PlayOutcome};
use cadenza_api::{HotEntry, RecordPlay, SongId, UserId};
use rusqlite::{Connection, OptionalExtension};

/// Longest hot chart returned.
const MAX_HOT: u32 = 500;

/// Checks a client's report and records it once per `play_id` (see [`crate::Catalog::report_play`]).
pub(crate) fn report_play(
    conn: &Connection,
    user: UserId,
    play: &RecordPlay,
    now: i64,
) -> CatalogResult<PlayOutcome> {
    let play_id = play.play_id.as_deref();
    if let Some(id) = play_id {
        validate::play_id(id)?;
    }
    let at = validate::played_at(play, now)?;
    if insert_play(conn, user, play.song_id, play.played_ms, at, play_id)? {
        return Ok(PlayOutcome::Recorded);
    }
    // Not inserted: the user already has this id.
    let earlier: Option<SongId> = conn
        .prepare_cached("SELECT song_id FROM plays WHERE user_id = ?1 AND play_id = ?2")
        .and_then(|mut s| s.query_row((user, play_id), |r| r.get(0)).optional())
        .ctx("looking up an earlier report")?;
    match earlier {
        Some(song) if song != play.song_id => Err(validate::play_id_reused(
            play_id.unwrap_or_default(),
            song,
            play.song_id,
        )),
        _ => Ok(PlayOutcome::AlreadyRecorded),
    }
}

/// Files a play at `at` as given (see [`crate::Catalog::record_play`]).
pub(crate) fn record_play(
    conn: &Connection,
    user: UserId,
    song: SongId,
    played_ms: Option<u64>,
    at: i64,
) -> CatalogResult<()> {
    insert_play(conn, user, song, played_ms, at, None).map(drop)
}

/// Inserts a play; `false` when the user already has a play with this `play_id`.
fn insert_play(
    conn: &Connection,
    user: UserId,
    song: SongId,
    played_ms: Option<u64>,
    at: i64,
    play_id: Option<&str>,
) -> CatalogResult<bool> {
    ensure_user(conn, user)?;
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM songs WHERE id = ?1)")
        .and_then(|mut s| s.query_row([song], |r| r.get(0)))
        .ctx("checking a song")?;
    if !exists {
        return Err(not_found("song", song));
    }
    let played_ms = played_ms.map(|ms| to_i64("played_ms", ms)).transpose()?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO plays (user_id, song_id, played_ms, at, play_id) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (user_id, play_id) WHERE play_id IS NOT NULL DO NOTHING",
        )
        .and_then(|mut s| s.execute((user, song, played_ms, at, play_id)))
        .ctx("recording a play")?;
    Ok(inserted == 1)
}

/// Songs with the most plays at or after `since`; ties go to the title, then the id.
///
/// Counting is one pass over the time range of `plays_by_time` (`INDEXED BY`, because left
/// alone the planner walks every play in song order to spare the GROUP BY a sort). Titles
/// for the tie-break are read only for songs with at least as many plays as the last
/// place, not for every song played in the window.
pub(crate) fn hot(conn: &Connection, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>> {
    let limit = limit.min(MAX_HOT);
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            "WITH counted AS MATERIALIZED \
                 (SELECT song_id, count(*) AS plays FROM plays INDEXED BY plays_by_time \
                  WHERE at >= ?1 GROUP BY song_id), \
             last_place AS \
                 (SELECT coalesce((SELECT plays FROM counted ORDER BY plays DESC \
                                   LIMIT 1 OFFSET ?2 - 1), 0) AS plays) \
             SELECT c.song_id, c.plays FROM counted c JOIN songs s ON s.id = c.song_id \
             WHERE c.plays >= (SELECT plays FROM last_place) \
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
