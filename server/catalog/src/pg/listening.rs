//! What listeners are playing now, and the play queue they saved to move between devices.

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get, int};
use super::users::ensure_user;
use crate::{not_found, to_i64, validate, CatalogResult, NowPlaying, PlayQueue};
use cadenza_api::{SongId, UserId};

fn ensure_song(tx: &mut Tx<'_>, id: SongId) -> CatalogResult<()> {
    if rows::exists(tx, "songs", id, "checking a song")? {
        Ok(())
    } else {
        Err(not_found("song", id))
    }
}

pub(crate) fn set_now_playing(
    tx: &mut Tx<'_>,
    user: UserId,
    song: SongId,
    client: &str,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(tx, user)?;
    ensure_song(tx, song)?;
    tx.execute(
        "INSERT INTO now_playing (user_id, song_id, client, started_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET song_id = excluded.song_id, \
         client = excluded.client, started_at = excluded.started_at",
        &[&user, &song, &validate::client_name(client), &now],
    )
    .ctx("noting what is playing")?;
    Ok(())
}

pub(crate) fn now_playing(tx: &mut Tx<'_>, now: i64) -> CatalogResult<Vec<NowPlaying>> {
    let doing = "reading what is playing";
    let entries = rows::collect(
        tx,
        "SELECT u.username, n.song_id, n.client, n.started_at FROM now_playing n \
         JOIN users u ON u.id = n.user_id JOIN songs s ON s.id = n.song_id \
         WHERE n.started_at + s.duration_ms / 1000 + $2 >= $1 \
         ORDER BY n.started_at DESC, n.user_id",
        &[&now, &validate::NOW_PLAYING_GRACE_SECS],
        |r| {
            Ok((
                get::<String>(r, 0)?,
                get::<i64>(r, 1)?,
                get::<String>(r, 2)?,
                get::<i64>(r, 3)?,
            ))
        },
        doing,
    )?;
    let mut playing = Vec::with_capacity(entries.len());
    for (username, song, client, started_at) in entries {
        if let Some(song) = rows::song(tx, song)? {
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
    tx: &mut Tx<'_>,
    user: UserId,
    songs: &[SongId],
    current: Option<SongId>,
    position_ms: u64,
    client: &str,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(tx, user)?;
    validate::queue_length(songs.len())?;
    for &song in songs.iter().chain(current.iter()) {
        ensure_song(tx, song)?;
    }
    tx.execute("DELETE FROM play_queues WHERE user_id = $1", &[&user])
        .ctx("clearing the play queue")?;
    if songs.is_empty() {
        return Ok(());
    }
    let position_ms = to_i64("position", position_ms)?;
    tx.execute(
        "INSERT INTO play_queues (user_id, current_song_id, position_ms, changed_at, changed_by) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &user,
            &current,
            &position_ms,
            &now,
            &validate::client_name(client),
        ],
    )
    .ctx("saving the play queue")?;
    let songs = songs.to_vec();
    tx.execute(
        "INSERT INTO play_queue_songs (user_id, position, song_id) \
         SELECT $1, n - 1, id FROM unnest($2::int8[]) WITH ORDINALITY j (id, n)",
        &[&user, &songs],
    )
    .ctx("saving the play queue")?;
    Ok(())
}

pub(crate) fn play_queue(tx: &mut Tx<'_>, user: UserId) -> CatalogResult<Option<PlayQueue>> {
    let doing = "reading the play queue";
    let Some(head) = tx
        .query_opt(
            "SELECT current_song_id, position_ms, changed_at, changed_by FROM play_queues \
             WHERE user_id = $1",
            &[&user],
        )
        .ctx(doing)?
    else {
        return Ok(None);
    };
    let ids = rows::ids(
        tx,
        "SELECT song_id FROM play_queue_songs WHERE user_id = $1 ORDER BY position",
        &[&user],
        doing,
    )?;
    Ok(Some(PlayQueue {
        songs: rows::songs_by_ids(tx, &ids)?,
        current: get(&head, 0)?,
        position_ms: int(&head, 1)?,
        changed_at: get(&head, 2)?,
        changed_by: get(&head, 3)?,
    }))
}
