//! Podcasts, their episodes, and each listener's resume position.

use super::error::{not_found, to_i64, Context};
use super::rows::{self, get_opt_u64, get_u64, PODCAST_COLUMNS};
use super::text::{check_hash, fts_text, optional, required, MAX_NAME_CHARS};
use super::users::ensure_user;
use crate::{Bookmark, CatalogError, CatalogResult, NewEpisode};
use cadenza_api::{
    CreatePodcast, Episode, EpisodeId, Page, PageRequest, Podcast, PodcastDetail, PodcastId, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row};

const MAX_DESCRIPTION_CHARS: usize = 20_000;
const MAX_URL_CHARS: usize = 2_000;
const MAX_GUID_CHARS: usize = 2_000;

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
    let title = required("podcast title", &new.title, MAX_NAME_CHARS)?;
    let author = optional("podcast author", new.author.as_deref(), MAX_NAME_CHARS)?;
    let description = optional(
        "podcast description",
        new.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    let feed_url = optional("feed URL", new.feed_url.as_deref(), MAX_URL_CHARS)?;
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
    let guid = required("episode guid", &new.guid, MAX_GUID_CHARS)?;
    let title = required("episode title", &new.title, MAX_NAME_CHARS)?;
    let description = optional(
        "episode description",
        new.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    required("codec", &new.codec, 64)?;
    required("content type", &new.content_type, 255)?;
    check_hash("episode hash", &new.hash)?;
    let duration_ms = to_i64("duration", new.duration_ms)?;
    let size = to_i64("size", new.size)?;
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
        .query_map((limit.min(rows::MAX_PAGE), viewer), episode_from_row)
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
    let error: Option<String> = error.map(|e| e.chars().take(MAX_DESCRIPTION_CHARS).collect());
    conn.prepare_cached(
        "UPDATE podcasts SET lease_holder = NULL, lease_until = NULL, refresh_error = ?3, \
         refreshed_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE refreshed_at END \
         WHERE id = ?1 AND lease_holder = ?2",
    )
    .and_then(|mut s| s.execute((id, holder, &error, now)))
    .ctx("recording a feed reading")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{hash, memory, user};
    use crate::{Catalog, CatalogError, NewEpisode};
    use cadenza_api::{CreatePodcast, PageRequest};

    fn feed(url: Option<&str>) -> CreatePodcast {
        CreatePodcast {
            title: "Cadenza Weekly".into(),
            author: Some("The Team".into()),
            description: None,
            feed_url: url.map(Into::into),
        }
    }

    fn episode(guid: &str, published_at: Option<i64>, n: u64) -> NewEpisode {
        NewEpisode {
            guid: guid.into(),
            title: format!("Episode {guid}"),
            description: Some("notes".into()),
            published_at,
            duration_ms: 60_000,
            codec: "mp3".into(),
            content_type: "audio/mpeg".into(),
            size: 57_101,
            hash: hash(n),
        }
    }

    #[test]
    fn podcasts_are_idempotent_by_feed_url() {
        let cat = memory();
        let (a, created) = cat
            .create_podcast(&feed(Some("https://x/feed.xml")), 1)
            .unwrap();
        assert!(created);
        let (b, created) = cat
            .create_podcast(&feed(Some("https://x/feed.xml")), 2)
            .unwrap();
        assert!(!created);
        assert_eq!(a, b);
        // Without a feed URL every call makes a new podcast.
        let (c, _) = cat.create_podcast(&feed(None), 3).unwrap();
        let (d, _) = cat.create_podcast(&feed(None), 3).unwrap();
        assert_ne!(c.id, d.id);
        assert_eq!(cat.podcasts(PageRequest::default()).unwrap().total, 3);
        let mut untitled = feed(None);
        untitled.title = " ".into();
        assert!(matches!(
            cat.create_podcast(&untitled, 0),
            Err(CatalogError::Invalid(_))
        ));
    }

    #[test]
    fn episodes_are_idempotent_by_guid_within_a_podcast() {
        let cat = memory();
        let (p, _) = cat.create_podcast(&feed(Some("a")), 1).unwrap();
        let (q, _) = cat.create_podcast(&feed(Some("b")), 1).unwrap();
        let (e1, created) = cat
            .insert_episode(p.id, &episode("g1", Some(100), 1), 5)
            .unwrap();
        assert!(created);
        let (again, created) = cat
            .insert_episode(p.id, &episode("g1", Some(999), 2), 6)
            .unwrap();
        assert!(!created);
        assert_eq!(again, e1);
        // The same guid in another podcast is another episode.
        let (other, created) = cat
            .insert_episode(q.id, &episode("g1", None, 3), 6)
            .unwrap();
        assert!(created && other.id != e1.id);
        cat.insert_episode(p.id, &episode("g2", Some(200), 4), 7)
            .unwrap();
        cat.insert_episode(p.id, &episode("g0", None, 5), 7)
            .unwrap();
        let detail = cat.podcast(p.id, 0).unwrap();
        assert_eq!(detail.podcast.episode_count, 3);
        let guids: Vec<&str> = detail.episodes.iter().map(|e| e.guid.as_str()).collect();
        assert_eq!(guids, ["g2", "g1", "g0"], "newest first, undated last");
        let err = cat
            .insert_episode(999, &episode("x", None, 9), 0)
            .unwrap_err();
        assert_eq!(err.to_string(), "podcast 999 does not exist");
        let blob = cat.episode_blob(e1.id).unwrap();
        assert_eq!(
            (blob.hash, blob.size, blob.created_at),
            (hash(1), 57_101, 5)
        );
        assert!(matches!(
            cat.podcast(999, 0),
            Err(CatalogError::NotFound(_))
        ));
    }

    #[test]
    fn resume_positions_belong_to_each_listener() {
        let cat = memory();
        let (alice, bob) = (user(&cat, "alice"), user(&cat, "bob"));
        let (p, _) = cat.create_podcast(&feed(None), 1).unwrap();
        let (e, _) = cat.insert_episode(p.id, &episode("g", None, 1), 1).unwrap();
        assert_eq!(e.position_ms, None);
        assert_eq!(cat.position(alice, e.id).unwrap(), 0);
        cat.set_position(alice, e.id, 30_000, 2).unwrap();
        cat.set_position(alice, e.id, 45_000, 3).unwrap();
        cat.set_position(bob, e.id, 5_000, 3).unwrap();
        assert_eq!(cat.position(alice, e.id).unwrap(), 45_000);
        assert_eq!(cat.position(bob, e.id).unwrap(), 5_000);
        assert_eq!(cat.episode(e.id, alice).unwrap().position_ms, Some(45_000));
        assert_eq!(
            cat.podcast(p.id, bob).unwrap().episodes[0].position_ms,
            Some(5_000)
        );
        let err = cat.set_position(alice, 999, 1, 1).unwrap_err();
        assert_eq!(err.to_string(), "episode 999 does not exist");
        assert!(matches!(
            cat.position(alice, 999),
            Err(CatalogError::NotFound(_))
        ));
        assert!(matches!(
            cat.set_position(999, e.id, 1, 1),
            Err(CatalogError::NotFound(_))
        ));
        cat.delete_user(alice).unwrap();
        assert_eq!(cat.position(bob, e.id).unwrap(), 5_000);
    }

    #[test]
    fn a_deleted_newest_episode_leaves_its_id_unused() {
        // `/episodes/{id}/stream` is cached as immutable: an id must never mean other bytes.
        // Nothing deletes episodes yet, so the row goes the way a future removal would.
        let cat = memory();
        let (p, _) = cat.create_podcast(&feed(None), 1).unwrap();
        cat.insert_episode(p.id, &episode("a", None, 1), 1).unwrap();
        let (gone, _) = cat.insert_episode(p.id, &episode("b", None, 2), 1).unwrap();
        cat.pool
            .write(|tx| {
                assert_eq!(
                    tx.execute("DELETE FROM episodes WHERE id = ?1", [gone.id])
                        .unwrap(),
                    1
                );
                Ok(())
            })
            .unwrap();
        let (next, created) = cat.insert_episode(p.id, &episode("c", None, 3), 1).unwrap();
        assert!(created);
        assert!(next.id > gone.id, "episode {} reused", next.id);
        assert_eq!(cat.episode_blob(next.id).unwrap().hash, hash(3));
    }

    #[test]
    fn bookmarks_newest_episodes_and_deleting_a_podcast() {
        let cat = memory();
        let alice = user(&cat, "alice");
        let (p, _) = cat.create_podcast(&feed(Some("a")), 1).unwrap();
        let (q, _) = cat.create_podcast(&feed(Some("b")), 1).unwrap();
        let (old, _) = cat
            .insert_episode(p.id, &episode("o", Some(100), 1), 1)
            .unwrap();
        let (new, _) = cat
            .insert_episode(q.id, &episode("n", Some(200), 2), 1)
            .unwrap();
        let newest: Vec<i64> = cat
            .newest_episodes(10, alice)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(newest, [new.id, old.id]);

        cat.set_position(alice, old.id, 1_000, 5).unwrap();
        cat.set_position(alice, new.id, 2_000, 6).unwrap();
        let marks = cat.bookmarks(alice).unwrap();
        assert_eq!(
            marks
                .iter()
                .map(|b| (b.episode.id, b.position_ms, b.changed_at))
                .collect::<Vec<_>>(),
            [(new.id, 2_000, 6), (old.id, 1_000, 5)]
        );
        assert_eq!(marks[0].episode.position_ms, Some(2_000));
        cat.delete_position(alice, new.id).unwrap();
        assert!(matches!(
            cat.delete_position(alice, new.id),
            Err(CatalogError::NotFound(_))
        ));

        let unused = cat.delete_podcast(p.id).unwrap();
        assert_eq!(unused, [hash(1)]);
        assert!(cat.bookmarks(alice).unwrap().is_empty());
        assert!(matches!(
            cat.delete_podcast(p.id),
            Err(CatalogError::NotFound(_))
        ));
        let total = cat
            .podcasts(PageRequest {
                limit: 10,
                offset: 0,
            })
            .unwrap()
            .total;
        assert_eq!(total, 1);
    }

    #[test]
    fn one_holder_at_a_time_reads_a_feed() {
        let cat = memory();
        let (p, _) = cat.create_podcast(&feed(Some("a")), 1).unwrap();
        assert!(cat.claim_feed(p.id, "one", 100, 60).unwrap());
        assert!(!cat.claim_feed(p.id, "two", 159, 60).unwrap(), "leased");
        assert!(cat.claim_feed(p.id, "one", 150, 60).unwrap(), "renewed");
        assert!(cat.claim_feed(p.id, "two", 210, 60).unwrap(), "expired");
        cat.finish_feed(p.id, "one", 220, None).unwrap();
        let listed = cat.podcast(p.id, 0).unwrap().podcast;
        assert_eq!(listed.refreshed_at, None, "a lost lease records nothing");
        cat.finish_feed(p.id, "two", 230, Some("it answered 404"))
            .unwrap();
        let listed = cat.podcast(p.id, 0).unwrap().podcast;
        assert_eq!(
            (listed.refreshed_at, listed.refresh_error.as_deref()),
            (None, Some("it answered 404"))
        );
        assert!(cat.claim_feed(p.id, "one", 231, 60).unwrap(), "released");
        cat.finish_feed(p.id, "one", 240, None).unwrap();
        let listed = cat.podcast(p.id, 0).unwrap().podcast;
        assert_eq!(
            (listed.refreshed_at, listed.refresh_error),
            (Some(240), None)
        );
        assert!(matches!(
            cat.claim_feed(99, "one", 1, 1),
            Err(CatalogError::NotFound(_))
        ));
    }
}
