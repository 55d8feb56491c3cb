//! Podcasts, their episodes, and each listener's resume position.

use super::{hash, user, Subject};
use crate::{CatalogError, NewEpisode};
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

fn podcasts_are_idempotent_by_feed_url(subject: &Subject) {
    let cat = &**subject;
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

fn episodes_are_idempotent_by_guid_within_a_podcast(subject: &Subject) {
    let cat = &**subject;
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

fn resume_positions_belong_to_each_listener(subject: &Subject) {
    let cat = &**subject;
    let (alice, bob) = (user(cat, "alice"), user(cat, "bob"));
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

fn a_deleted_newest_episode_leaves_its_id_unused(subject: &Subject) {
    let cat = &**subject;
    // `/episodes/{id}/stream` is cached as immutable: an id must never mean other bytes.
    // Nothing deletes episodes yet, so the row goes the way a future removal would.
    let (p, _) = cat.create_podcast(&feed(None), 1).unwrap();
    cat.insert_episode(p.id, &episode("a", None, 1), 1).unwrap();
    let (gone, _) = cat.insert_episode(p.id, &episode("b", None, 2), 1).unwrap();
    subject.delete_row("episodes", gone.id);
    let (next, created) = cat.insert_episode(p.id, &episode("c", None, 3), 1).unwrap();
    assert!(created);
    assert!(next.id > gone.id, "episode {} reused", next.id);
    assert_eq!(cat.episode_blob(next.id).unwrap().hash, hash(3));
}

fn bookmarks_newest_episodes_and_deleting_a_podcast(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "alice");
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

fn one_holder_at_a_time_reads_a_feed(subject: &Subject) {
    let cat = &**subject;
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

super::both!(
    podcasts_are_idempotent_by_feed_url,
    episodes_are_idempotent_by_guid_within_a_podcast,
    resume_positions_belong_to_each_listener,
    a_deleted_newest_episode_leaves_its_id_unused,
    bookmarks_newest_episodes_and_deleting_a_podcast,
    one_holder_at_a_time_reads_a_feed,
);
