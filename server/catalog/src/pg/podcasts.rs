//! Podcasts, their episodes, and each listener's resume position.

use super::error::Context;
use super::library::blob_referenced;
use super::pool::Tx;
use super::rows::{self, get, int, opt_int, PODCAST_COLUMNS};
use super::search::index_text;
use super::users::ensure_user;
use crate::paging::MAX_PAGE;
use crate::paging::{clamp, page, total_from_page};
use crate::{not_found, to_i64, validate, Bookmark, CatalogError, CatalogResult, NewEpisode};
use cadenza_api::{
    CreatePodcast, Episode, EpisodeId, Page, PageRequest, Podcast, PodcastDetail, PodcastId, UserId,
};
use postgres::Row;

/// Episode columns; `$2` in the query must be the viewer, for their resume position.
const EPISODE_COLUMNS: &str = "e.id, e.podcast_id, e.guid, e.title, e.description, \
     e.published_at, e.duration_ms, e.codec, e.content_type, e.size, e.hash, \
     (SELECT position_ms FROM episode_positions WHERE user_id = $2 AND episode_id = e.id)";

fn episode_from_row(row: &Row) -> CatalogResult<Episode> {
    Ok(Episode {
        id: get(row, 0)?,
        podcast_id: get(row, 1)?,
        guid: get(row, 2)?,
        title: get(row, 3)?,
        description: get(row, 4)?,
        published_at: get(row, 5)?,
        duration_ms: int(row, 6)?,
        codec: get(row, 7)?,
        content_type: get(row, 8)?,
        size: int(row, 9)?,
        hash: get(row, 10)?,
        position_ms: opt_int(row, 11)?,
    })
}

pub(crate) fn create_podcast(
    tx: &mut Tx<'_>,
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
        let existing = tx
            .query_opt("SELECT id FROM podcasts WHERE feed_url = $1", &[url])
            .ctx("looking up a podcast feed")?;
        if let Some(row) = existing {
            return Ok((podcast_row(tx, get(&row, 0)?)?, false));
        }
    }
    let row = tx
        .query_one(
            "INSERT INTO podcasts (title, author, description, feed_url, created_at, search) \
             VALUES ($1, $2, $3, $4, $5, cadenza_document($6, $7)) RETURNING id",
            &[
                &title,
                &author,
                &description,
                &feed_url,
                &now,
                &index_text(&title),
                &author.as_deref().map(index_text),
            ],
        )
        .ctx("creating a podcast")?;
    Ok((podcast_row(tx, get(&row, 0)?)?, true))
}

pub(crate) fn podcasts(tx: &mut Tx<'_>, req: PageRequest) -> CatalogResult<Page<Podcast>> {
    let req = clamp(req);
    let ids = rows::page_ids(
        tx,
        "SELECT id FROM podcasts ORDER BY cadenza_nocase(title), id LIMIT $1 OFFSET $2",
        &[],
        req,
        "listing podcasts",
    )?;
    let total = match total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(
            tx,
            "SELECT count(*) FROM podcasts",
            &[],
            "counting podcasts",
        )?,
    };
    Ok(page(rows::podcasts_by_ids(tx, &ids)?, total, req))
}

fn podcast_row(tx: &mut Tx<'_>, id: PodcastId) -> CatalogResult<Podcast> {
    let sql = format!("SELECT {PODCAST_COLUMNS} FROM podcasts c WHERE c.id = $1");
    match tx.query_opt(&sql, &[&id]).ctx("reading a podcast")? {
        Some(row) => rows::podcast_from_row(&row),
        None => Err(not_found("podcast", id)),
    }
}

/// The podcast with its episodes, newest first (undated ones last).
pub(crate) fn podcast(
    tx: &mut Tx<'_>,
    id: PodcastId,
    viewer: UserId,
) -> CatalogResult<PodcastDetail> {
    let podcast = podcast_row(tx, id)?;
    let sql = format!(
        "SELECT {EPISODE_COLUMNS} FROM episodes e WHERE e.podcast_id = $1 \
         ORDER BY e.published_at IS NULL, e.published_at DESC, e.id DESC"
    );
    let episodes = rows::collect(
        tx,
        &sql,
        &[&id, &viewer],
        episode_from_row,
        "listing episodes",
    )?;
    Ok(PodcastDetail { podcast, episodes })
}

pub(crate) fn insert_episode(
    tx: &mut Tx<'_>,
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
    if !rows::exists(tx, "podcasts", podcast, "checking a podcast")? {
        return Err(not_found("podcast", podcast));
    }
    let existing = tx
        .query_opt(
            "SELECT id FROM episodes WHERE podcast_id = $1 AND guid = $2",
            &[&podcast, &guid],
        )
        .ctx("looking up an episode")?;
    if let Some(row) = existing {
        return Ok((episode_row(tx, get(&row, 0)?, None)?, false));
    }
    let row = tx
        .query_one(
            "INSERT INTO episodes (podcast_id, guid, title, description, published_at, \
             duration_ms, codec, content_type, size, hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &podcast,
                &guid,
                &title,
                &description,
                &new.published_at,
                &duration_ms,
                &new.codec.trim(),
                &new.content_type.trim(),
                &size,
                &new.hash,
                &now,
            ],
        )
        .ctx("adding an episode")?;
    Ok((episode_row(tx, get(&row, 0)?, None)?, true))
}

/// One episode with `viewer`'s resume position (none when `viewer` is `None`).
fn episode_row(tx: &mut Tx<'_>, id: EpisodeId, viewer: Option<UserId>) -> CatalogResult<Episode> {
    let sql = format!("SELECT {EPISODE_COLUMNS} FROM episodes e WHERE e.id = $1");
    match tx
        .query_opt(&sql, &[&id, &viewer])
        .ctx("reading an episode")?
    {
        Some(row) => episode_from_row(&row),
        None => Err(not_found("episode", id)),
    }
}

pub(crate) fn episode(tx: &mut Tx<'_>, id: EpisodeId, viewer: UserId) -> CatalogResult<Episode> {
    episode_row(tx, id, Some(viewer))
}

fn ensure_episode(tx: &mut Tx<'_>, id: EpisodeId) -> CatalogResult<()> {
    if rows::exists(tx, "episodes", id, "checking an episode")? {
        Ok(())
    } else {
        Err(not_found("episode", id))
    }
}

/// The saved position, 0 when the user has none yet.
pub(crate) fn position(tx: &mut Tx<'_>, user: UserId, episode: EpisodeId) -> CatalogResult<u64> {
    ensure_episode(tx, episode)?;
    let row = tx
        .query_opt(
            "SELECT position_ms FROM episode_positions WHERE user_id = $1 AND episode_id = $2",
            &[&user, &episode],
        )
        .ctx("reading a resume position")?;
    Ok(match row {
        Some(r) => u64::try_from(get::<i64>(&r, 0)?).unwrap_or(0),
        None => 0,
    })
}

pub(crate) fn set_position(
    tx: &mut Tx<'_>,
    user: UserId,
    episode: EpisodeId,
    position_ms: u64,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(tx, user)?;
    ensure_episode(tx, episode)?;
    let position_ms = to_i64("position_ms", position_ms)?;
    tx.execute(
        "INSERT INTO episode_positions (user_id, episode_id, position_ms, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, episode_id) \
         DO UPDATE SET position_ms = excluded.position_ms, updated_at = excluded.updated_at",
        &[&user, &episode, &position_ms, &now],
    )
    .ctx("saving a resume position")?;
    Ok(())
}

pub(crate) fn delete_position(
    tx: &mut Tx<'_>,
    user: UserId,
    episode: EpisodeId,
) -> CatalogResult<()> {
    let deleted = tx
        .execute(
            "DELETE FROM episode_positions WHERE user_id = $1 AND episode_id = $2",
            &[&user, &episode],
        )
        .ctx("forgetting a resume position")?;
    if deleted == 0 {
        return Err(CatalogError::NotFound(format!(
            "there is no saved position in episode {episode}"
        )));
    }
    Ok(())
}

pub(crate) fn bookmarks(tx: &mut Tx<'_>, user: UserId) -> CatalogResult<Vec<Bookmark>> {
    let sql = format!(
        "SELECT {EPISODE_COLUMNS}, p.position_ms, p.updated_at FROM episode_positions p \
         JOIN episodes e ON e.id = p.episode_id WHERE p.user_id = $1 \
         ORDER BY p.updated_at DESC, e.id"
    );
    // `$2`, the viewer of EPISODE_COLUMNS, is the same user.
    rows::collect(
        tx,
        &sql,
        &[&user, &user],
        |r| {
            Ok(Bookmark {
                episode: episode_from_row(r)?,
                position_ms: int(r, 12)?,
                changed_at: get(r, 13)?,
            })
        },
        "listing saved positions",
    )
}

pub(crate) fn newest_episodes(
    tx: &mut Tx<'_>,
    limit: u32,
    viewer: UserId,
) -> CatalogResult<Vec<Episode>> {
    let sql = format!(
        "SELECT {EPISODE_COLUMNS} FROM episodes e \
         ORDER BY e.published_at IS NULL, e.published_at DESC, e.id DESC LIMIT $1"
    );
    let limit = i64::from(limit.min(MAX_PAGE));
    rows::collect(
        tx,
        &sql,
        &[&limit, &viewer],
        episode_from_row,
        "listing the newest episodes",
    )
}

pub(crate) fn delete_podcast(tx: &mut Tx<'_>, id: PodcastId) -> CatalogResult<Vec<String>> {
    podcast_row(tx, id)?;
    let hashes: Vec<String> = rows::collect(
        tx,
        "SELECT DISTINCT hash FROM episodes WHERE podcast_id = $1",
        &[&id],
        |r| get(r, 0),
        "reading a podcast's episodes",
    )?;
    // Cascades remove the episodes and everyone's positions in them.
    tx.execute("DELETE FROM podcasts WHERE id = $1", &[&id])
        .ctx("deleting a podcast")?;
    let mut unused = Vec::new();
    for hash in hashes {
        if !blob_referenced(tx, &hash)? {
            unused.push(hash);
        }
    }
    Ok(unused)
}

pub(crate) fn claim_feed(
    tx: &mut Tx<'_>,
    id: PodcastId,
    holder: &str,
    now: i64,
    lease_secs: i64,
) -> CatalogResult<bool> {
    podcast_row(tx, id)?;
    let claimed = tx
        .execute(
            "UPDATE podcasts SET lease_holder = $2, lease_until = $3 WHERE id = $1 \
             AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until <= $4)",
            &[&id, &holder, &now.saturating_add(lease_secs), &now],
        )
        .ctx("taking a podcast feed")?;
    Ok(claimed == 1)
}

pub(crate) fn finish_feed(
    tx: &mut Tx<'_>,
    id: PodcastId,
    holder: &str,
    now: i64,
    error: Option<&str>,
) -> CatalogResult<()> {
    let error = error.map(validate::refresh_error);
    tx.execute(
        "UPDATE podcasts SET lease_holder = NULL, lease_until = NULL, refresh_error = $3, \
         refreshed_at = CASE WHEN $3::text IS NULL THEN $4 ELSE refreshed_at END \
         WHERE id = $1 AND lease_holder = $2",
        &[&id, &holder, &error, &now],
    )
    .ctx("recording a feed reading")?;
    Ok(())
}
