//! Podcasts, their episodes, and each listener's resume position.

use super::error::{not_found, to_i64, Context};
use super::rows::{self, get_opt_u64, get_u64, PODCAST_COLUMNS};
use super::text::fts_text;
use super::users::ensure_user;
use crate::validate;
use crate::{Bookmark, CatalogError, CatalogResult, NewEpisode};
use cadenza_api::{
    CreatePodcast, Episode, EpisodeId, Page, PageRequest, Podcast, PodcastDetail, PodcastId, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row};

/// Episode columns; `?2` in the query must be the viewer, for their resume position.
const EPISODE_COLUMNS: &str = "e.id, e.podcast_id, e.guid, e.title, e.description, \
     e.published_at, e.duration_ms, e.codec, e.content_type, e.size, e.hash, \
     (SELECT position_ms FROM episode_positions WHERE user_id = ?2 AND episode_id = e.id)";

fn episode_from_row(row: &Row<'_>) -> rusqlite::Result<Episode> {
    Ok(Episode {
        id: row.get(0)?,
        podcast_id: row.get(1)?,
        guid: row.get(2)?,
        title: row.get(3)?,
        description: row.get(4)?,
        published_at: row.get(5)?,
        duration_ms: get_u64(row, 6)?,
        codec: row.get(7)?,
        content_type: row.get(8)?,
        size: get_u64(row, 9)?,
        hash: row.get(10)?,
        position_ms: get_opt_u64(row, 11)?,
    })
}

pub(crate) fn create_podcast(
    conn: &Connection,
    new: &CreatePodcast,
    now: i64,
) -> CatalogResult<(Podcast, bool)> {
    let validate::PodcastFields {
        title,
        author,
        description,
        feed_url,
    } = validate::podcast(new)?;
    if let Some(url) = &feed_url {
        let existing: Option<PodcastId> = conn
            .prepare_cached("SELECT id FROM podcasts WHERE feed_url = ?1")
            .and_then(|mut s| s.query_row([url], |r| r.get(0)).optional())
            .ctx("looking up a podcast feed")?;
        if let Some(id) = existing {
            return Ok((podcast_row(conn, id)?, false));
        }
    }
    conn.prepare_cached(
        "INSERT INTO podcasts (title, author, description, feed_url, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute((&title, &author, &description, &feed_url, now)))
    .ctx("creating a podcast")?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO podcasts_fts (rowid, title, author) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute((id, fts_text(&title), author.as_deref().map(fts_text))))
        .ctx("indexing a podcast for search")?;
    Ok((podcast_row(conn, id)?, true))
}

pub(crate) fn podcasts(conn: &Connection, req: PageRequest) -> CatalogResult<Page<Podcast>> {
    rows::whole_table_page(conn, "podcasts", "title", req, rows::podcasts_by_ids)
}

fn podcast_row(conn: &Connection, id: PodcastId) -> CatalogResult<Podcast> {
    conn.prepare_cached(&format!(
        "SELECT {PODCAST_COLUMNS} FROM podcasts c WHERE c.id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], rows::podcast_from_row).optional())
    .ctx("reading a podcast")?
    .ok_or_else(|| not_found("podcast", id))
}

/// The podcast with its episodes, newest first (undated ones last).
pub(crate) fn podcast(
    conn: &Connection,
    id: PodcastId,
    viewer: UserId,
) -> CatalogResult<PodcastDetail> {
    let podcast = podcast_row(conn, id)?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EPISODE_COLUMNS} FROM episodes e WHERE e.podcast_id = ?1 \
             ORDER BY e.published_at IS NULL, e.published_at DESC, e.id DESC"
        ))
        .ctx("listing episodes")?;
    let episodes = stmt
        .query_map((id, viewer), episode_from_row)
        .ctx("listing episodes")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("listing episodes")?;
    Ok(PodcastDetail { podcast, episodes })
}

pub(crate) fn insert_episode(
    conn: &Connection,
    podcast: PodcastId,
    new: &NewEpisode,
    now: i64,
) -> CatalogResult<(Episode, bool)> {
    let validate::EpisodeFields {
        guid,
        title,
        description,
        duration_ms,
        size,
    } = validate::episode(new)?;
    let podcast_exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM podcasts WHERE id = ?1)")
        .and_then(|mut s| s.query_row([podcast], |r| r.get(0)))
        .ctx("checking a podcast")?;
    if !podcast_exists {
        return Err(not_found("podcast", podcast));
    }
    let existing: Option<EpisodeId> = conn
        .prepare_cached("SELECT id FROM episodes WHERE podcast_id = ?1 AND guid = ?2")
        .and_then(|mut s| s.query_row((podcast, &guid), |r| r.get(0)).optional())
        .ctx("looking up an episode")?;
    if let Some(id) = existing {
        return Ok((episode_row(conn, id, None)?, false));
    }
    conn.prepare_cached(
        "INSERT INTO episodes (podcast_id, guid, title, description, published_at, duration_ms, \
         codec, content_type, size, hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(rusqlite::params![
            podcast,
            guid,
            title,
            description,
            new.published_at,
            duration_ms,
            new.codec.trim(),
            new.content_type.trim(),
            size,
            new.hash,
            now
        ])
    })
    .ctx("adding an episode")?;
    Ok((episode_row(conn, conn.last_insert_rowid(), None)?, true))
}

/// One episode with `viewer`'s resume position (none when `viewer` is `None`).
fn episode_row(conn: &Connection, id: EpisodeId, viewer: Option<UserId>) -> CatalogResult<Episode> {
    conn.prepare_cached(&format!(
        "SELECT {EPISODE_COLUMNS} FROM episodes e WHERE e.id = ?1"
    ))
    .and_then(|mut s| s.query_row((id, viewer), episode_from_row).optional())
    .ctx("reading an episode")?
    .ok_or_else(|| not_found("episode", id))
}

pub(crate) fn episode(conn: &Connection, id: EpisodeId, viewer: UserId) -> CatalogResult<Episode> {
    episode_row(conn, id, Some(viewer))
}

fn ensure_episode(conn: &Connection, id: EpisodeId) -> CatalogResult<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM episodes WHERE id = ?1)")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .ctx("checking an episode")?;
    if exists {
        Ok(())
    } else {
        Err(not_found("episode", id))
    }
}

/// The saved position, 0 when the user has none yet.
pub(crate) fn position(conn: &Connection, user: UserId, episode: EpisodeId) -> CatalogResult<u64> {
    ensure_episode(conn, episode)?;
    let ms: Option<i64> = conn
        .prepare_cached(
            "SELECT position_ms FROM episode_positions WHERE user_id = ?1 AND episode_id = ?2",
        )
        .and_then(|mut s| s.query_row((user, episode), |r| r.get(0)).optional())
        .ctx("reading a resume position")?;
    Ok(ms.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

pub(crate) fn set_position(
    conn: &Connection,
    user: UserId,
    episode: EpisodeId,
    position_ms: u64,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(conn, user)?;
    ensure_episode(conn, episode)?;
    let position_ms = to_i64("position_ms", position_ms)?;
    conn.prepare_cached(
        "INSERT INTO episode_positions (user_id, episode_id, position_ms, updated_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, episode_id) \
         DO UPDATE SET position_ms = excluded.position_ms, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute((user, episode, position_ms, now)))
    .ctx("saving a resume position")?;
    Ok(())
}

pub(crate) fn delete_position(
    conn: &Connection,
    user: UserId,
    episode: EpisodeId,
) -> CatalogResult<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM episode_positions WHERE user_id = ?1 AND episode_id = ?2")
        .and_then(|mut s| s.execute((user, episode)))
        .ctx("forgetting a resume position")?;
    if deleted == 0 {
        return Err(CatalogError::NotFound(format!(
            "there is no saved position in episode {episode}"
        )));
    }
    Ok(())
}

pub(crate) fn bookmarks(conn: &Connection, user: UserId) -> CatalogResult<Vec<Bookmark>> {
    let doing = "listing saved positions";
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EPISODE_COLUMNS}, p.position_ms, p.updated_at FROM episode_positions p \
             JOIN episodes e ON e.id = p.episode_id WHERE p.user_id = ?1 \
             ORDER BY p.updated_at DESC, e.id"
        ))
        .ctx(doing)?;
    let rows = stmt
        .query_map((user, user), |r| {
            Ok(Bookmark {
                episode: episode_from_row(r)?,
                position_ms: get_u64(r, 12)?,
                changed_at: r.get(13)?,
            })
        })
        .ctx(doing)?;
    rows.collect::<rusqlite::Result<_>>().ctx(doing)
}

pub(crate) fn newest_episodes(
    conn: &Connection,
    limit: u32,
    viewer: UserId,
) -> CatalogResult<Vec<Episode>> {
    let doing = "listing the newest episodes";
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {EPISODE_COLUMNS} FROM episodes e \
             ORDER BY e.published_at IS NULL, e.published_at DESC, e.id DESC LIMIT ?1"
        ))
        .ctx(doing)?;
    let rows = stmt
        .query_map(
            (limit.min(crate::paging::MAX_PAGE), viewer),
            episode_from_row,
        )
        .ctx(doing)?;
    rows.collect::<rusqlite::Result<_>>().ctx(doing)
}

pub(crate) fn delete_podcast(conn: &Connection, id: PodcastId) -> CatalogResult<Vec<String>> {
    podcast_row(conn, id)?;
    let hashes: Vec<String> = rows::collect(
        conn,
        "SELECT DISTINCT hash FROM episodes WHERE podcast_id = ?1",
        id,
        |r| r.get(0),
        "reading a podcast's episodes",
    )?;
    // Cascades remove the episodes and everyone's positions in them.
    conn.prepare_cached("DELETE FROM podcasts WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("deleting a podcast")?;
    let mut unused = Vec::new();
    for hash in hashes {
        if !super::library::blob_referenced(conn, &hash)? {
            unused.push(hash);
        }
    }
    Ok(unused)
}

pub(crate) fn claim_feed(
    conn: &Connection,
    id: PodcastId,
    holder: &str,
    now: i64,
    lease_secs: i64,
) -> CatalogResult<bool> {
    podcast_row(conn, id)?;
    let claimed = conn
        .prepare_cached(
            "UPDATE podcasts SET lease_holder = ?2, lease_until = ?3 WHERE id = ?1 \
             AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until <= ?4)",
        )
        .and_then(|mut s| s.execute((id, holder, now.saturating_add(lease_secs), now)))
        .ctx("taking a podcast feed")?;
    Ok(claimed == 1)
}

pub(crate) fn finish_feed(
    conn: &Connection,
    id: PodcastId,
    holder: &str,
    now: i64,
    error: Option<&str>,
) -> CatalogResult<()> {
    let error: Option<String> = error.map(validate::refresh_error);
    conn.prepare_cached(
        "UPDATE podcasts SET lease_holder = NULL, lease_until = NULL, refresh_error = ?3, \
         refreshed_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE refreshed_at END \
         WHERE id = ?1 AND lease_holder = ?2",
    )
    .and_then(|mut s| s.execute((id, holder, &error, now)))
    .ctx("recording a feed reading")?;
    Ok(())
}
