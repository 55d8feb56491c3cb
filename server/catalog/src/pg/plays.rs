//! Play events and the hot chart built from them.

use super::error::{storage, Context};
use super::pool::Tx;
use super::rows::{self, get, int};
use crate::{not_found, to_i64, validate, CatalogError, CatalogResult, PlayOutcome};
use cadenza_api::{HotEntry, RecordPlay, SongId, UserId};
use postgres::error::SqlState;

/// Longest hot chart returned.
const MAX_HOT: u32 = 500;

/// Checks a client's report and records it once per `play_id` (see [`crate::Catalog::report_play`]).
///
/// One statement when the play is new (the caller runs it without a transaction, in
/// [`Mode::Single`](super::pool::Mode::Single)); a second one, a read, only when nothing was
/// inserted, to say why.
pub(crate) fn report_play(
    tx: &mut Tx<'_>,
    user: UserId,
    play: &RecordPlay,
    now: i64,
) -> CatalogResult<PlayOutcome> {
    let play_id = play.play_id.as_deref();
    if let Some(id) = play_id {
        validate::play_id(id)?;
    }
    let at = validate::played_at(play, now)?;
    if insert_play(tx, user, play.song_id, play.played_ms, at, play_id)? {
        return Ok(PlayOutcome::Recorded);
    }
    // Not inserted: the user or the song is missing, or the user already has this id.
    match why_not_inserted(tx, user, play.song_id, play_id)? {
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
    tx: &mut Tx<'_>,
    user: UserId,
    song: SongId,
    played_ms: Option<u64>,
    at: i64,
) -> CatalogResult<()> {
    if !insert_play(tx, user, song, played_ms, at, None)? {
        // Without a play_id nothing conflicts: the user or the song is missing.
        why_not_inserted(tx, user, song, None)?;
    }
    Ok(())
}

/// Inserts a play if its user and song exist; `false` when it did not insert it (one of
/// them is missing, or the user already has a play with this `play_id`).
///
/// The existence checks are part of the insert rather than statements of their own: each
/// would cost a round trip to the database on every play.
fn insert_play(
    tx: &mut Tx<'_>,
    user: UserId,
    song: SongId,
    played_ms: Option<u64>,
    at: i64,
    play_id: Option<&str>,
) -> CatalogResult<bool> {
    let played_ms = played_ms.map(|ms| to_i64("played_ms", ms)).transpose()?;
    // Only a play with an id can conflict (the unique index holds those alone), and
    // `ON CONFLICT` costs every insert a speculative-insertion record in the WAL, which the
    // replicas replay too: plays without an id are plain inserts.
    const INSERT: &str = "INSERT INTO plays (user_id, song_id, played_ms, at, play_id) \
         SELECT $1, $2, $3, $4, $5 \
         WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) \
         AND EXISTS (SELECT 1 FROM songs WHERE id = $2)";
    const ONCE: &str = " ON CONFLICT (user_id, play_id) WHERE play_id IS NOT NULL DO NOTHING";
    let sql = if play_id.is_some() {
        format!("{INSERT}{ONCE}")
    } else {
        INSERT.to_owned()
    };
    let inserted = tx
        .execute(&sql, &[&user, &song, &played_ms, &at, &play_id])
        .map_err(|e| {
            // The user or song was deleted between the check and the insert.
            if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                CatalogError::NotFound(format!(
                    "the user {user} or the song {song} of a play does not exist"
                ))
            } else {
                storage("recording a play", &e)
            }
        })?;
    Ok(inserted == 1)
}

/// After [`insert_play`] inserted nothing: a missing user or song (checked in that order,
/// as the SQLite catalog does), else the song of the user's earlier play with `play_id`.
fn why_not_inserted(
    tx: &mut Tx<'_>,
    user: UserId,
    song: SongId,
    play_id: Option<&str>,
) -> CatalogResult<Option<SongId>> {
    let row = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1), \
             EXISTS (SELECT 1 FROM songs WHERE id = $2), \
             (SELECT song_id FROM plays WHERE user_id = $1 AND play_id = $3)",
            &[&user, &song, &play_id],
        )
        .ctx("looking up an earlier report")?;
    if !get::<bool>(&row, 0)? {
        return Err(not_found("user", user));
    }
    if !get::<bool>(&row, 1)? {
        return Err(not_found("song", song));
    }
    get(&row, 2)
}

/// Songs with the most plays at or after `since`; ties go to the title, then the id.
/// Titles for the tie-break are read only for songs with at least as many plays as the last
/// place, not for every song played in the window.
pub(crate) fn hot(tx: &mut Tx<'_>, since: i64, limit: u32) -> CatalogResult<Vec<HotEntry>> {
    let limit = i64::from(limit.min(MAX_HOT));
    if limit == 0 {
        return Ok(Vec::new());
    }
    let ranked = rows::collect(
        tx,
        "WITH counted AS MATERIALIZED \
             (SELECT song_id, count(*) AS plays FROM plays WHERE at >= $1 GROUP BY song_id), \
         last_place AS \
             (SELECT coalesce((SELECT plays FROM counted ORDER BY plays DESC \
                               LIMIT 1 OFFSET $2::int8 - 1), 0) AS plays) \
         SELECT c.song_id, c.plays FROM counted c JOIN songs s ON s.id = c.song_id \
         WHERE c.plays >= (SELECT plays FROM last_place) \
         ORDER BY c.plays DESC, cadenza_nocase(s.title), s.id LIMIT $2",
        &[&since, &limit],
        |r| Ok((get::<i64>(r, 0)?, int::<u64>(r, 1)?)),
        "building the hot chart",
    )?;
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let mut songs = rows::songs_by_ids(tx, &ids)?.into_iter().peekable();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, plays)| {
            songs
                .next_if(|s| s.id == id)
                .map(|song| HotEntry { song, plays })
        })
        .collect())
}
