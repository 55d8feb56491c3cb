//! Blob references and catalog statistics.

use super::{cover, hash, song, user, Subject};
use crate::NewEpisode;
use cadenza_api::CreatePodcast;

const DAY: i64 = 86_400;

fn stats_count_rows_and_distinct_blobs(subject: &Subject) {
    let cat = &**subject;
    // Two albums sharing one cover; artist "Big" has 2 songs, "Small" one.
    let mut a = song(1, "A", "Big", "First");
    a.cover = Some(cover(1));
    a.size = 3_000;
    let mut b = song(2, "B", "Big", "Second");
    b.cover = Some(cover(1));
    b.size = 5_000;
    let mut c = song(3, "C", "Small", "Third");
    c.size = 1_000;
    c.genre = Some("Jazz".into());
    for s in [&a, &b, &c] {
        cat.insert_song(s, 0).unwrap();
    }
    let (p, _) = cat
        .create_podcast(
            &CreatePodcast {
                title: "P".into(),
                author: None,
                description: None,
                feed_url: None,
            },
            0,
        )
        .unwrap();
    // One episode re-uses a song's bytes, one is new.
    for (guid, n, size) in [("same", 3, 1_000), ("new", 9, 700)] {
        let ep = NewEpisode {
            guid: guid.into(),
            title: guid.into(),
            description: None,
            published_at: None,
            duration_ms: 1,
            codec: "mp3".into(),
            content_type: "audio/mpeg".into(),
            size,
            hash: hash(n),
        };
        cat.insert_episode(p.id, &ep, 0).unwrap();
    }

    let refs = cat.blob_refs().unwrap();
    assert_eq!(refs.len(), 5, "3 songs + 1 new episode + 1 shared cover");
    assert!(refs
        .iter()
        .any(|r| r.used_by.starts_with("cover of album") && r.hash == cover(1).hash));
    let status = cat.blob_status(&hash(3)).unwrap();
    assert!(status.exists && status.song_id.is_some() && status.episode_id.is_some());
    let status = cat.blob_status(&cover(1).hash).unwrap();
    assert!(status.exists && status.song_id.is_none());
    assert!(!cat.blob_status(&hash(42)).unwrap().exists);

    let s = cat.stats(10 * DAY).unwrap();
    assert_eq!(
        (s.songs, s.albums, s.artists, s.genres, s.podcasts, s.episodes),
        (3, 3, 2, 1, 1, 2)
    );
    assert_eq!(s.blobs, 5);
    assert_eq!(s.logical_bytes, 3_000 + 5_000 + 1_000 + 700 + cover(1).size);
    assert_eq!(s.avg_song_bytes, 3_000);
    assert!(s.catalog_bytes >= 4096 * 10, "{}", s.catalog_bytes);
    assert!(s.song_metadata_bytes > 100, "{}", s.song_metadata_bytes);
    assert_eq!(s.user_metadata_bytes, 0, "no users yet");
    let largest: Vec<(String, u64)> = s
        .largest_artists
        .into_iter()
        .map(|(a, b)| (a.name, b))
        .collect();
    assert_eq!(
        largest,
        [("Big".to_string(), 8_000), ("Small".to_string(), 1_000)]
    );
}

fn plays_per_user_per_day_uses_the_last_30_days_or_the_catalog_age(subject: &Subject) {
    let cat = &**subject;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (u1, u2) = (user(cat, "u1"), user(cat, "u2"));
    let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
    // A catalog younger than a day counts as one day old.
    for _ in 0..6 {
        cat.record_play(u1, s, None, now).unwrap();
    }
    cat.record_play(u2, s, None, now - 40 * DAY).unwrap();
    let stats = cat.stats(now).unwrap();
    assert!(
        (stats.plays_per_user_per_day - 3.0).abs() < 1e-9,
        "{}",
        stats.plays_per_user_per_day
    );
    assert!(stats.user_metadata_bytes > 0);
    // Seen 100 days later: the 30-day window holds no plays.
    assert_eq!(
        cat.stats(now + 100 * DAY).unwrap().plays_per_user_per_day,
        0.0
    );
    assert_eq!(stats.recent_plays, 6);
    assert!((stats.play_window_days - 1.0).abs() < 1e-3);
    // 20 days later the catalog is 20 days old: 6 plays in 20 days among 2 users.
    let later = cat.stats(now + 20 * DAY).unwrap();
    let per_day = later.plays_per_user_per_day;
    assert!((per_day - 6.0 / 2.0 / 20.0).abs() < 1e-6, "{per_day}");
    assert_eq!(later.recent_plays, 6);
    assert!((later.play_window_days - 20.0).abs() < 1e-3);
}

super::both!(
    stats_count_rows_and_distinct_blobs,
    plays_per_user_per_day_uses_the_last_30_days_or_the_catalog_age,
);
