//! Playlists across two users, plays and the hot chart, podcasts and resume positions.

mod common;

use cadenza_api::{CreatePodcast, EpisodeMeta, PageRequest, UpdatePlaylist};
use common::{good_file, good_files, upload, TestServer};

fn page() -> PageRequest {
    PageRequest {
        limit: 100,
        offset: 0,
    }
}

#[tokio::test]
async fn playlists_belong_to_their_owner() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let mut songs = Vec::new();
    for file in good_files().iter().take(4) {
        songs.push(upload(&admin, file).await.song);
    }
    let ids: Vec<i64> = songs.iter().map(|s| s.id).collect();
    let alice = server.listener(&admin, "alice").await;
    let bob = server.listener(&admin, "bob").await;

    let private = alice
        .create_playlist("Alice's secret", false)
        .await
        .unwrap();
    let public = alice.create_playlist("Alice's mix", true).await.unwrap();
    assert_eq!(public.owner, "alice");

    // Alice builds her mix: append, insert at a position, move, remove.
    let detail = alice
        .add_to_playlist(public.id, &ids[..3], None)
        .await
        .unwrap();
    assert_eq!(track_ids(&detail), vec![ids[0], ids[1], ids[2]]);
    let detail = alice
        .add_to_playlist(public.id, &[ids[3]], Some(0))
        .await
        .unwrap();
    assert_eq!(track_ids(&detail), vec![ids[3], ids[0], ids[1], ids[2]]);
    let detail = alice.move_in_playlist(public.id, 0, 3).await.unwrap();
    assert_eq!(track_ids(&detail), vec![ids[0], ids[1], ids[2], ids[3]]);
    let detail = alice.remove_from_playlist(public.id, 1).await.unwrap();
    assert_eq!(track_ids(&detail), vec![ids[0], ids[2], ids[3]]);
    assert_eq!(detail.playlist.song_count, 3);
    let err = alice.remove_from_playlist(public.id, 10).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = alice
        .add_to_playlist(public.id, &[999_999], None)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // Bob sees the public one only, and may not change it.
    let listed = bob.playlists(page()).await.unwrap();
    let names: Vec<&str> = listed.items.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"Alice's mix"), "{names:?}");
    assert!(!names.contains(&"Alice's secret"), "{names:?}");
    assert_eq!(bob.playlist(public.id).await.unwrap().tracks.len(), 3);
    assert!(bob.playlist(private.id).await.unwrap_err().is_not_found());
    let rename = UpdatePlaylist {
        name: Some("Bob's now".into()),
        public: None,
    };
    assert!(bob
        .update_playlist(public.id, &rename)
        .await
        .unwrap_err()
        .is_forbidden());
    assert!(bob
        .delete_playlist(public.id)
        .await
        .unwrap_err()
        .is_forbidden());
    assert!(bob
        .add_to_playlist(public.id, &[ids[0]], None)
        .await
        .unwrap_err()
        .is_forbidden());
    assert!(bob
        .move_in_playlist(public.id, 0, 1)
        .await
        .unwrap_err()
        .is_forbidden());
    assert!(bob
        .remove_from_playlist(public.id, 0)
        .await
        .unwrap_err()
        .is_forbidden());
    // A private playlist is not even admitted to exist.
    assert!(bob
        .update_playlist(private.id, &rename)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(bob
        .delete_playlist(private.id)
        .await
        .unwrap_err()
        .is_not_found());

    // Alice renames and hides it; then Bob loses sight of it.
    let renamed = alice
        .update_playlist(
            public.id,
            &UpdatePlaylist {
                name: Some("Alice's quiet mix".into()),
                public: Some(false),
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Alice's quiet mix");
    assert!(!renamed.public);
    assert!(bob.playlist(public.id).await.unwrap_err().is_not_found());
    alice.delete_playlist(public.id).await.unwrap();
    assert!(alice.playlist(public.id).await.unwrap_err().is_not_found());
    assert_eq!(alice.playlists(page()).await.unwrap().total, 1);
}

fn track_ids(detail: &cadenza_api::PlaylistDetail) -> Vec<i64> {
    detail.tracks.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn plays_feed_the_hot_chart() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let files = good_files();
    let a = upload(&admin, &files[0]).await.song;
    let b = upload(&admin, &files[1]).await.song;
    let c = upload(&admin, &files[2]).await.song;
    let alice = server.listener(&admin, "alice").await;

    for _ in 0..3 {
        alice.record_play(b.id, Some(1000)).await.unwrap();
    }
    alice.record_play(a.id, None).await.unwrap();
    admin.record_play(b.id, None).await.unwrap();
    admin.record_play(a.id, None).await.unwrap();
    admin.record_play(c.id, None).await.unwrap();
    let err = alice.record_play(999_999, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let hot = alice.hot(7, 2).await.unwrap();
    let chart: Vec<(i64, u64)> = hot.iter().map(|e| (e.song.id, e.plays)).collect();
    assert_eq!(chart, vec![(b.id, 4), (a.id, 2)]);
    let err = alice.hot(0, 10).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let artist = alice.artist(b.artist_id).await.unwrap();
    assert_eq!(artist.top_songs.first().map(|s| s.id), Some(b.id));
    assert_eq!(admin.stats().await.unwrap().plays, 7);
}

#[tokio::test]
async fn podcasts_episodes_and_resume_positions() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let new = CreatePodcast {
        title: "Cadenza Radio".into(),
        author: Some("The Cadenza team".into()),
        description: None,
        feed_url: Some("https://example.com/feed.xml".into()),
    };
    let podcast = admin.create_podcast(&new).await.unwrap();
    let again = admin.create_podcast(&new).await.unwrap();
    assert_eq!(again.id, podcast.id, "same feed URL, same podcast");

    let file = good_file("cadenza-weekly-01.mp3");
    let bytes = common::read(&file.absolute_path());
    let meta = EpisodeMeta {
        guid: "weekly-01".into(),
        title: Some("Episode one".into()),
        description: Some("Sines".into()),
        published_at: Some(1_700_000_000),
    };
    let uploaded = admin
        .upload_episode(podcast.id, bytes.clone(), Some(bytes.len() as u64), &meta)
        .await
        .unwrap();
    assert!(uploaded.created);
    assert_eq!(uploaded.episode.title, "Episode one");
    assert_eq!(uploaded.episode.size, bytes.len() as u64);
    let duplicate = admin
        .upload_episode(podcast.id, bytes.clone(), None, &meta)
        .await
        .unwrap();
    assert!(!duplicate.created);
    assert_eq!(duplicate.episode.id, uploaded.episode.id);
    let no_guid = EpisodeMeta::default();
    let err = admin
        .upload_episode(podcast.id, bytes.clone(), None, &no_guid)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = admin
        .upload_episode(999_999, bytes.clone(), None, &meta)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let alice = server.listener(&admin, "alice").await;
    let listed = alice.podcasts(page()).await.unwrap();
    assert_eq!(listed.total, 1);
    let detail = alice.podcast(podcast.id).await.unwrap();
    assert_eq!(detail.episodes.len(), 1);
    let episode = &detail.episodes[0];
    let audio = alice
        .stream_episode(episode.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(audio, bytes);

    assert_eq!(
        alice
            .episode_position(episode.id)
            .await
            .unwrap()
            .position_ms,
        0
    );
    alice
        .set_episode_position(episode.id, 12_345)
        .await
        .unwrap();
    assert_eq!(
        alice
            .episode_position(episode.id)
            .await
            .unwrap()
            .position_ms,
        12_345
    );
    let seen = alice.podcast(podcast.id).await.unwrap();
    assert_eq!(seen.episodes[0].position_ms, Some(12_345));
    assert_eq!(
        admin
            .episode_position(episode.id)
            .await
            .unwrap()
            .position_ms,
        0,
        "positions are per user"
    );
    assert!(alice
        .set_episode_position(999_999, 1)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(alice.create_podcast(&new).await.unwrap_err().is_forbidden());
}
