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

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song, user};
    use crate::{Catalog, CatalogError};

    #[test]
    fn the_hot_chart_counts_plays_inside_the_window_and_breaks_ties_by_title() {
        let cat = memory();
        let u = user(&cat, "u");
        let id = |n, title: &str| cat.insert_song(&song(n, title, "A", "B"), 0).unwrap().0.id;
        let (zulu, alpha, mid, old) = (id(1, "Zulu"), id(2, "alpha"), id(3, "Mid"), id(4, "Old"));
        for (song, at) in [
            (zulu, 100),
            (zulu, 150),
            (alpha, 120),
            (alpha, 130),
            (mid, 140),
            (old, 10),
            (old, 20),
            (old, 30),
        ] {
            cat.record_play(u, song, Some(1_000), at).unwrap();
        }
        let chart: Vec<(String, u64)> = cat
            .hot(100, 10)
            .unwrap()
            .into_iter()
            .map(|e| (e.song.title, e.plays))
            .collect();
        assert_eq!(
            chart,
            [
                ("alpha".to_string(), 2),
                ("Zulu".to_string(), 2),
                ("Mid".to_string(), 1)
            ]
        );
        assert_eq!(cat.hot(0, 1).unwrap()[0].song.title, "Old");
        assert!(cat.hot(1_000, 10).unwrap().is_empty());
        // All-time plays order the artist's top songs.
        let top: Vec<String> = cat
            .artist(cat.song(old).unwrap().artist_id)
            .unwrap()
            .top_songs
            .into_iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(top, ["Old", "alpha", "Zulu", "Mid"]);
    }

    #[test]
    fn plays_of_unknown_songs_or_users_are_not_found() {
        let cat = memory();
        let u = user(&cat, "u");
        let err = cat.record_play(u, 77, None, 0).unwrap_err();
        assert!(matches!(&err, CatalogError::NotFound(m) if m == "song 77 does not exist"));
        let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
        assert!(matches!(
            cat.record_play(99, s, None, 0),
            Err(CatalogError::NotFound(_))
        ));
    }
}
