//! What listeners are playing now, and the play queue they saved to move between devices.

use super::error::{not_found, to_i64, Context};
use super::rows::{self, get_u64};
use super::users::ensure_user;
use crate::{CatalogError, CatalogResult, NowPlaying, PlayQueue};
use cadenza_api::{SongId, UserId};
use rusqlite::{Connection, OptionalExtension};

/// An entry stays "now playing" this long after its song should have ended (pauses).
const NOW_PLAYING_GRACE_SECS: i64 = 300;
const MAX_CLIENT_CHARS: usize = 200;
/// Same bound as a playlist: a queue is a playlist nobody named.
const MAX_QUEUE_SONGS: usize = super::playlists::MAX_PLAYLIST_TRACKS;

fn client_name(client: &str) -> String {
    let name: String = client.trim().chars().take(MAX_CLIENT_CHARS).collect();
    if name.is_empty() {
        "unknown client".into()
    } else {
        name
    }
}

fn ensure_song(conn: &Connection, id: SongId) -> CatalogResult<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM songs WHERE id = ?1)")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .ctx("checking a song")?;
    if exists {
        Ok(())
    } else {
        Err(not_found("song", id))
    }
}

pub(crate) fn set_now_playing(
    conn: &Connection,
    user: UserId,
    song: SongId,
    client: &str,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(conn, user)?;
    ensure_song(conn, song)?;
    conn.prepare_cached(
        "INSERT INTO now_playing (user_id, song_id, client, started_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (user_id) DO UPDATE SET song_id = excluded.song_id, \
         client = excluded.client, started_at = excluded.started_at",
    )
    .and_then(|mut s| s.execute((user, song, client_name(client), now)))
    .ctx("noting what is playing")?;
    Ok(())
}

pub(crate) fn now_playing(conn: &Connection, now: i64) -> CatalogResult<Vec<NowPlaying>> {
    let doing = "reading what is playing";
    let mut stmt = conn
        .prepare_cached(
            "SELECT u.username, n.song_id, n.client, n.started_at FROM now_playing n \
             JOIN users u ON u.id = n.user_id JOIN songs s ON s.id = n.song_id \
             WHERE n.started_at + s.duration_ms / 1000 + ?2 >= ?1 \
             ORDER BY n.started_at DESC, n.user_id",
        )
        .ctx(doing)?;
    let entries = stmt
        .query_map((now, NOW_PLAYING_GRACE_SECS), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .ctx(doing)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx(doing)?;
    let mut playing = Vec::with_capacity(entries.len());
    for (username, song, client, started_at) in entries {
        if let Some(song) = rows::song(conn, song)? {
            playing.push(NowPlaying {
                username,
                song,
                client,
                started_at,
            });
        }
    }
    Ok(playing)
}

pub(crate) fn save_play_queue(
    conn: &Connection,
    user: UserId,
    songs: &[SongId],
    current: Option<SongId>,
    position_ms: u64,
    client: &str,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(conn, user)?;
    if songs.len() > MAX_QUEUE_SONGS {
        return Err(CatalogError::Invalid(format!(
            "a play queue holds at most {MAX_QUEUE_SONGS} songs, not {}",
            songs.len()
        )));
    }
    for &song in songs.iter().chain(current.iter()) {
        ensure_song(conn, song)?;
    }
    conn.prepare_cached("DELETE FROM play_queues WHERE user_id = ?1")
        .and_then(|mut s| s.execute([user]))
        .ctx("clearing the play queue")?;
    if songs.is_empty() {
        return Ok(());
    }
    let position_ms = to_i64("position", position_ms)?;
    conn.prepare_cached(
        "INSERT INTO play_queues (user_id, current_song_id, position_ms, changed_at, changed_by) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute((user, current, position_ms, now, client_name(client))))
    .ctx("saving the play queue")?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO play_queue_songs (user_id, position, song_id) VALUES (?1, ?2, ?3)",
        )
        .ctx("saving the play queue")?;
    for (position, &song) in songs.iter().enumerate() {
        insert
            .execute((user, position as i64, song))
            .ctx("saving the play queue")?;
    }
    Ok(())
}

pub(crate) fn play_queue(conn: &Connection, user: UserId) -> CatalogResult<Option<PlayQueue>> {
    let doing = "reading the play queue";
    let head: Option<(Option<SongId>, u64, i64, String)> = conn
        .prepare_cached(
            "SELECT current_song_id, position_ms, changed_at, changed_by FROM play_queues \
             WHERE user_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([user], |r| {
                Ok((r.get(0)?, get_u64(r, 1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .ctx(doing)?;
    let Some((current, position_ms, changed_at, changed_by)) = head else {
        return Ok(None);
    };
    let ids: Vec<i64> = rows::collect(
        conn,
        "SELECT song_id FROM play_queue_songs WHERE user_id = ?1 ORDER BY position",
        user,
        |r| r.get(0),
        doing,
    )?;
    Ok(Some(PlayQueue {
        songs: rows::songs_by_ids(conn, &ids)?,
        current,
        position_ms,
        changed_at,
        changed_by,
    }))
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song, user};
    use crate::{Catalog, CatalogError};

    #[test]
    fn now_playing_lasts_about_a_song_and_one_entry_per_listener() {
        let cat = memory();
        let alice = user(&cat, "alice");
        let (a, _) = cat.insert_song(&song(1, "A", "X", "Y"), 0).unwrap();
        let (b, _) = cat.insert_song(&song(2, "B", "X", "Y"), 0).unwrap();
        cat.set_now_playing(alice, a.id, "phone", 1_000).unwrap();
        cat.set_now_playing(alice, b.id, "  ", 1_010).unwrap();
        let playing = cat.now_playing(1_100).unwrap();
        assert_eq!(playing.len(), 1);
        assert_eq!(
            (playing[0].song.id, playing[0].client.as_str()),
            (b.id, "unknown client")
        );
        // 180 s song + 300 s grace.
        assert_eq!(cat.now_playing(1_010 + 480).unwrap().len(), 1);
        assert!(cat.now_playing(1_010 + 481).unwrap().is_empty());
        assert!(matches!(
            cat.set_now_playing(alice, 999, "x", 0),
            Err(CatalogError::NotFound(_))
        ));
    }

    #[test]
    fn a_play_queue_is_saved_replaced_cleared_and_survives_deletions() {
        let cat = memory();
        let alice = user(&cat, "alice");
        let (a, _) = cat.insert_song(&song(1, "A", "X", "Y"), 0).unwrap();
        let (b, _) = cat.insert_song(&song(2, "B", "X", "Y"), 0).unwrap();
        assert!(cat.play_queue(alice).unwrap().is_none());
        cat.save_play_queue(alice, &[b.id, a.id, b.id], Some(a.id), 1_500, "desk", 7)
            .unwrap();
        let queue = cat.play_queue(alice).unwrap().unwrap();
        let ids: Vec<i64> = queue.songs.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![b.id, a.id, b.id]);
        assert_eq!(
            (queue.current, queue.position_ms, queue.changed_by.as_str()),
            (Some(a.id), 1_500, "desk")
        );
        assert!(matches!(
            cat.save_play_queue(alice, &[999], None, 0, "desk", 8),
            Err(CatalogError::NotFound(_))
        ));
        assert_eq!(
            cat.play_queue(alice).unwrap().unwrap().songs.len(),
            3,
            "unchanged"
        );

        cat.delete_song(a.id).unwrap();
        let queue = cat.play_queue(alice).unwrap().unwrap();
        assert_eq!(queue.songs.len(), 2);
        assert_eq!(queue.current, None);

        cat.save_play_queue(alice, &[], None, 0, "desk", 9).unwrap();
        assert!(cat.play_queue(alice).unwrap().is_none());
    }
}
