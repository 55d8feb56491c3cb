//! The player driven with key events against a real `cadenza-server` started here, with
//! fixture audio uploaded: login, search, playing, the queue, playlist edits, the cache,
//! offline play and an expired session. Audio goes to the silent output, which still decodes
//! and keeps real time.

mod support;

use std::time::Duration;

use cadenza::app::screen::{Row, ScreenKind};
use cadenza::app::{Mode, Pane, PlayState};
use cadenza::track::TrackId;
use crossterm::event::{KeyCode, KeyModifiers};
use support::{block_on, listener, seed, Player, Server};

const LONG: Duration = Duration::from_secs(20);

fn titles_in_queue(player: &Player) -> Vec<String> {
    player
        .app()
        .queue
        .items()
        .iter()
        .map(|i| i.track.title.clone())
        .collect()
}

fn playing_title(player: &Player) -> Option<String> {
    player.app().player.track.as_ref().map(|t| t.title.clone())
}

#[test]
fn search_play_queue_and_report_plays() {
    let server = Server::start();
    let songs = seed(&server, &["Frequency Garden", "Opus Numbers"]);
    assert_eq!(songs.len(), 5);
    let mut player = Player::start(None);
    player.log_in(&server);
    assert!(
        player.session_path.exists(),
        "the login is saved for the next start"
    );

    player.search("Glacier");
    let first = player.app().screen().selected_row().cloned();
    assert!(
        matches!(&first, Some(Row::Song(s)) if s.title == "Glacier Hum"),
        "{first:?}"
    );
    // Enter plays it: the queue becomes the result's songs, starting there.
    player.key(KeyCode::Enter);
    player.wait("Glacier Hum to play", LONG, |app| {
        app.player.state == PlayState::Playing && app.player.position > Duration::from_millis(300)
    });
    assert_eq!(playing_title(&player).as_deref(), Some("Glacier Hum"));
    assert_eq!(player.app().queue.len(), 1);

    // Queue an Opus song to play next and another after it.
    player.search("Opus No. 2");
    player.char('a');
    player.search("Opus No. 1");
    player.char('A');
    assert_eq!(
        titles_in_queue(&player),
        ["Glacier Hum", "Opus No. 1", "Opus No. 2"]
    );

    // Seek, then skip with n: the Opus song plays (decoded, in real time).
    player.key(KeyCode::Right);
    player.char('n');
    player.wait("Opus No. 1 to play", LONG, |app| {
        app.player.state == PlayState::Playing
            && app
                .player
                .track
                .as_ref()
                .is_some_and(|t| t.title == "Opus No. 1")
            && app.player.position > Duration::from_millis(200)
    });

    // It ends by itself and the next one follows.
    player.wait("Opus No. 2 to follow", LONG, |app| {
        app.player
            .track
            .as_ref()
            .is_some_and(|t| t.title == "Opus No. 2")
            && app.player.state == PlayState::Playing
    });

    // Remove the first queue item from the queue pane, then clear.
    player.key(KeyCode::Tab);
    assert_eq!(player.app().focus, Pane::Queue);
    player.key(KeyCode::Char('g'));
    player.char('d');
    assert_eq!(titles_in_queue(&player), ["Opus No. 1", "Opus No. 2"]);
    player.char('c');
    assert!(player.app().queue.is_empty());
    assert_eq!(player.app().player.state, PlayState::Stopped);

    // Every song heard past the threshold was reported: the hot chart counts them.
    let client = listener(&server);
    let hot = block_on(client.hot(30, 10)).expect("hot chart");
    let played: Vec<&str> = hot.iter().map(|h| h.song.title.as_str()).collect();
    assert!(played.contains(&"Opus No. 1"), "{played:?}");
    assert!(!played.contains(&"Geyser"), "never played: {played:?}");

    // What played is in the cache, under its hash.
    let opus = songs.iter().find(|s| s.title == "Opus No. 1").unwrap();
    assert!(player.cache_dir.join(&opus.hash).exists());
}

#[test]
fn playlists_are_created_edited_and_deleted_by_keys() {
    let server = Server::start();
    seed(&server, &["Frequency Garden"]);
    let mut player = Player::start(None);
    player.log_in(&server);
    let client = listener(&server);

    // C creates one.
    player.char('C');
    player.type_text("Road trip");
    player.key(KeyCode::Enter);
    player.wait("the playlist to be created", LONG, |app| {
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("created"))
    });

    // P adds the selected song (chosen in the picker).
    for title in ["Glacier Hum", "Geyser"] {
        player.search(title);
        player.char('P');
        player.wait("my playlists", LONG, |app| {
            app.picker.as_ref().is_some_and(|p| p.playlists.is_some())
        });
        player.rt.app.message = None;
        player.key(KeyCode::Enter);
        player.wait("the song to be added", LONG, |app| {
            app.message
                .as_ref()
                .is_some_and(|m| m.text.contains("added to “Road trip”"))
        });
    }

    // Open it from the sidebar's Playlists section.
    player.key(KeyCode::Esc);
    player.key(KeyCode::Esc);
    assert_eq!(player.app().focus, Pane::Sidebar);
    while player.app().section != 4 {
        player.char('j');
    }
    player.key(KeyCode::Enter);
    player.wait("the playlists", LONG, |app| {
        app.screen().kind == ScreenKind::Playlists && !app.screen().rows.is_empty()
    });
    player.key(KeyCode::Enter);
    player.wait("the playlist's songs", LONG, |app| {
        matches!(app.screen().kind, ScreenKind::Playlist(_)) && app.screen().rows.len() == 2
    });
    let ScreenKind::Playlist(id) = player.app().screen().kind else {
        unreachable!()
    };

    // J moves the first song down.
    player.char('J');
    // The row moves at once; `loading` stays on until the server has answered.
    assert!(matches!(&player.app().screen().rows[0], Row::Song(s) if s.title == "Geyser"));
    player.wait("the move", LONG, |app| {
        !app.screen().loading
            && app
                .screen()
                .rows
                .first()
                .is_some_and(|r| matches!(r, Row::Song(s) if s.title == "Geyser"))
    });
    let detail = block_on(client.playlist(id)).unwrap();
    let order: Vec<&str> = detail.tracks.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(order, ["Geyser", "Glacier Hum"]);

    // R renames.
    player.char('R');
    player.key_with(KeyCode::Char('u'), KeyModifiers::CONTROL);
    player.type_text("Night drive");
    player.key(KeyCode::Enter);
    player.wait("the rename", LONG, |app| {
        app.screen().title == "Night drive"
    });

    // d removes the selected song (Glacier Hum, now second and selected).
    player.char('d');
    player.wait("the removal", LONG, |app| {
        !app.screen().loading && app.screen().rows.len() == 1
    });
    let detail = block_on(client.playlist(id)).unwrap();
    assert_eq!(detail.playlist.name, "Night drive");
    assert_eq!(detail.tracks.len(), 1);
    assert_eq!(detail.tracks[0].title, "Geyser");

    // D deletes after a y.
    player.char('D');
    player.char('y');
    player.wait("the deletion", LONG, |app| {
        app.screen().kind == ScreenKind::Playlists
    });
    let left = block_on(client.playlists(Default::default())).unwrap();
    assert!(left.items.iter().all(|p| p.id != id), "{left:?}");
}

#[test]
fn cached_songs_play_offline_and_damage_is_repaired() {
    let server = Server::start();
    let songs = seed(&server, &["Frequency Garden"]);
    let geyser = songs.iter().find(|s| s.title == "Geyser").unwrap().clone();
    let mut player = Player::start(None);
    player.log_in(&server);

    player.search("Geyser");
    player.key(KeyCode::Enter);
    player.wait("Geyser to be cached", LONG, |app| {
        app.player.cached == Some(true) && app.player.state == PlayState::Playing
    });
    let cached = player.cache_dir.join(&geyser.hash);
    assert!(cached.exists());

    // A damaged copy is noticed by its hash, thrown away and fetched again.
    std::fs::write(&cached, b"not audio at all").unwrap();
    player.char('c');
    player.search("Geyser");
    player.key(KeyCode::Enter);
    player.wait("Geyser to play again", LONG, |app| {
        app.player.state == PlayState::Playing && app.player.position > Duration::from_millis(200)
    });
    assert!(
        player
            .app()
            .message
            .as_ref()
            .is_some_and(|m| m.text.contains("damaged")),
        "{:?}",
        player.app().message
    );
    player.wait("the good copy to be cached", LONG, |_| {
        cadenza::cache::hash_file(&cached).is_ok_and(|h| h == geyser.hash)
    });

    // Damage of the same size passes the quick check before playing; the hash check that runs
    // alongside playback catches it, and the song is fetched and played again.
    let size = std::fs::metadata(&cached).unwrap().len() as usize;
    std::fs::write(&cached, vec![0x55u8; size]).unwrap();
    player.char('c');
    player.rt.app.message = None;
    player.search("Geyser");
    player.key(KeyCode::Enter);
    player.wait("the damage to be noticed", LONG, |app| {
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("damaged"))
    });
    player.wait("Geyser to play from a fresh copy", LONG, |app| {
        app.player.state == PlayState::Playing && app.player.position > Duration::from_millis(200)
    });
    player.wait("the good copy to be cached again", LONG, |_| {
        cadenza::cache::hash_file(&cached).is_ok_and(|h| h == geyser.hash)
    });

    // Without a server the player says so and still plays what is cached.
    let url = server.url.clone();
    let data = server.stop();
    let mut player = player.restart();
    player.wait("the offline notice", LONG, |app| {
        app.outage.as_ref().is_some_and(|o| o.offline())
    });
    assert!(player
        .app()
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("cannot reach the server")));
    player.key(KeyCode::Esc);
    assert_eq!(player.app().focus, Pane::Sidebar);
    while player.app().section != 7 {
        player.char('j');
    }
    player.key(KeyCode::Enter);
    assert_eq!(player.app().screen().kind, ScreenKind::Cached);
    let cached_titles: Vec<String> = player
        .app()
        .screen()
        .rows
        .iter()
        .filter_map(|r| r.track().map(|(t, _)| t.title))
        .collect();
    assert_eq!(cached_titles, ["Geyser"]);
    player.key(KeyCode::Enter);
    player.wait("Geyser to play offline", LONG, |app| {
        app.player.state == PlayState::Playing && app.player.position > Duration::from_millis(200)
    });
    assert_eq!(
        player.app().player.track.as_ref().map(|t| t.id),
        Some(TrackId::Song(geyser.id))
    );

    // The server comes back: the first answer ends the notice and the error line.
    let _server = Server::restart_at(data, &url);
    player.search("Geyser");
    player.wait("the search to answer", LONG, |app| app.outage.is_none());
    let message = player.app().message.clone();
    assert!(
        !message.as_ref().is_some_and(|m| m.error),
        "no error left on the status line: {message:?}"
    );
}

#[test]
fn a_revoked_token_asks_to_log_in_again() {
    let server = Server::start();
    seed(&server, &["Frequency Garden"]);
    let mut player = Player::start(None);
    player.log_in(&server);
    let session = cadenza::session::Session::load(&player.session_path).expect("saved");

    // The token is revoked elsewhere (as if it expired).
    let revoker = cadenza_api::Client::new(&server.url)
        .unwrap()
        .with_token(session.token.clone());
    block_on(async move {
        let mut revoker = revoker;
        revoker.logout().await.expect("logout")
    });

    player.char('/');
    player.type_text("Glacier");
    player.key(KeyCode::Enter);
    player.wait("the login form", LONG, |app| {
        matches!(app.mode, Mode::Login(_))
    });
    let Mode::Login(form) = &player.app().mode else {
        unreachable!()
    };
    assert!(form.error.as_deref().unwrap_or("").contains("log in again"));
    assert!(!player.session_path.exists(), "the dead token is forgotten");
    // Logging in again works and the search can be repeated.
    player.log_in(&server);
    player.search("Glacier");
}

#[test]
fn podcast_episodes_resume_and_save_their_position() {
    let server = Server::start();
    seed(&server, &["Frequency Garden"]);
    let episode_file = cadenza_fixtures::fixtures_dir().join("audio/podcast/cadenza-weekly-01.mp3");
    let episode = block_on(async {
        let mut admin = cadenza_api::Client::new(&server.url).unwrap();
        admin.login("admin", support::ADMIN_PASSWORD).await.unwrap();
        let podcast = admin
            .create_podcast(&cadenza_api::CreatePodcast {
                title: "Cadenza Weekly".into(),
                author: Some("Cadenza Radio".into()),
                description: None,
                feed_url: None,
            })
            .await
            .unwrap();
        let bytes = std::fs::read(&episode_file).unwrap();
        let size = bytes.len() as u64;
        let meta = cadenza_api::EpisodeMeta {
            guid: "weekly-01".into(),
            title: Some("Why sines never go out of tune".into()),
            ..Default::default()
        };
        admin
            .upload_episode(podcast.id, bytes, Some(size), &meta)
            .await
            .unwrap()
            .episode
    });
    // The listener stopped at 4 s last time.
    let client = listener(&server);
    block_on(client.set_episode_position(episode.id, 4000)).unwrap();

    let mut player = Player::start(None);
    player.log_in(&server);
    player.key(KeyCode::Esc);
    while player.app().section != 5 {
        player.char('j');
    }
    player.key(KeyCode::Enter);
    player.wait("the podcasts", LONG, |app| !app.screen().rows.is_empty());
    player.key(KeyCode::Enter);
    player.wait("the episodes", LONG, |app| {
        matches!(app.screen().kind, ScreenKind::Podcast(_)) && !app.screen().rows.is_empty()
    });
    player.key(KeyCode::Enter);
    player.wait("the episode to play", LONG, |app| {
        app.player.state == PlayState::Playing
    });
    let started = player.app().player.position;
    assert!(
        started >= Duration::from_millis(3900),
        "resumed at {started:?}, not at the saved 4 s; queued {:?}; row {:?}",
        player.app().queue.items().first().map(|i| i.resume_ms),
        player.app().screen().selected_row()
    );
    player.wait("some listening", LONG, |app| {
        app.player.position >= Duration::from_millis(5000)
    });
    // Pausing saves the position on the server.
    player.char(' ');
    let paused_at = player.app().player.position.as_millis() as u64;
    let began = std::time::Instant::now();
    let saved = loop {
        let saved = block_on(client.episode_position(episode.id))
            .unwrap()
            .position_ms;
        if saved != 4000 || began.elapsed() > LONG {
            break saved;
        }
        player.rt.step(Some(Duration::from_millis(50)));
    };
    assert!(
        saved.abs_diff(paused_at) < 500,
        "saved {saved} ms, paused at {paused_at} ms"
    );
    assert!(matches!(
        player.app().player.track.as_ref().map(|t| t.id),
        Some(TrackId::Episode(id)) if id == episode.id
    ));
}

#[test]
fn a_song_deleted_on_the_server_gets_a_one_line_message() {
    let server = Server::start();
    let songs = seed(&server, &["Frequency Garden"]);
    let geyser = songs.iter().find(|s| s.title == "Geyser").unwrap().id;
    let mut player = Player::start(None);
    player.log_in(&server);
    player.search("Geyser");
    block_on(async {
        let mut admin = cadenza_api::Client::new(&server.url).unwrap();
        admin.login("admin", support::ADMIN_PASSWORD).await.unwrap();
        admin.delete_song(geyser).await.unwrap();
    });
    player.key(KeyCode::Enter);
    player.wait("the error", LONG, |app| {
        app.message.as_ref().is_some_and(|m| m.error)
    });
    let message = player.app().message.clone().unwrap().text;
    assert!(
        message.contains("“Geyser” is no longer on the server"),
        "{message}"
    );
    assert_eq!(player.app().player.state, PlayState::Stopped);
    // The player carries on: another song plays.
    player.search("Glacier");
    player.key(KeyCode::Enter);
    player.wait("Glacier Hum to play", LONG, |app| {
        app.player.state == PlayState::Playing
    });
}

/// Moves the selection of the search results to the first row that `is_it` picks.
fn select_result(player: &mut Player, is_it: impl Fn(&Row) -> bool) {
    let at = player
        .app()
        .screen()
        .rows
        .iter()
        .position(&is_it)
        .unwrap_or_else(|| panic!("not in the results: {:?}", player.app().screen().rows));
    player.char('g');
    while player.app().screen().selected != at {
        player.char('j');
    }
}

#[test]
fn a_on_an_album_or_playlist_row_queues_its_songs_in_order() {
    let server = Server::start();
    seed(&server, &["Frequency Garden", "Opus Numbers"]);
    let client = listener(&server);
    let playlist = block_on(async {
        let list = client.create_playlist("Opus mix", true).await?;
        let found = client
            .search("Opus No", cadenza_api::SearchType::All, Default::default())
            .await?;
        let mut ids: Vec<_> = found
            .songs
            .items
            .iter()
            .map(|s| (s.title.clone(), s.id))
            .collect();
        ids.sort();
        // Second before first, so the queue order is the playlist's, not the album's.
        let songs: Vec<_> = ids.iter().rev().map(|(_, id)| *id).collect();
        client.add_to_playlist(list.id, &songs, None).await?;
        Ok::<_, cadenza_api::ClientError>(list)
    })
    .expect("a playlist of the two Opus songs");
    let mut player = Player::start(None);
    player.log_in(&server);

    // a on the album: its three songs in track order, and playback starts (nothing played).
    player.search("Frequency Garden");
    select_result(
        &mut player,
        |r| matches!(r, Row::Album(a) if a.title == "Frequency Garden"),
    );
    player.char('a');
    player.wait("the album's songs in the queue", LONG, |app| {
        app.queue.len() == 3
    });
    assert_eq!(
        titles_in_queue(&player),
        ["Glacier Hum", "Northern Lights 🌌", "Geyser"]
    );
    player.wait("the album to start", LONG, |app| {
        app.player.state == PlayState::Playing
    });
    assert_eq!(playing_title(&player).as_deref(), Some("Glacier Hum"));

    // A on the playlist: its songs, in the playlist's order, right after the current one.
    player.search("Opus mix");
    select_result(
        &mut player,
        |r| matches!(r, Row::Playlist(p) if p.id == playlist.id),
    );
    player.char('A');
    player.wait("the playlist's songs in the queue", LONG, |app| {
        app.queue.len() == 5
    });
    assert_eq!(
        titles_in_queue(&player),
        [
            "Glacier Hum",
            "Opus No. 2",
            "Opus No. 1",
            "Northern Lights 🌌",
            "Geyser"
        ]
    );
    assert!(player
        .app()
        .message
        .as_ref()
        .is_some_and(|m| m.text.contains("2 songs of “Opus mix” play next")));
    assert_eq!(playing_title(&player).as_deref(), Some("Glacier Hum"));
}

fn plays_of(server: &Server, title: &str) -> u64 {
    let hot = block_on(listener(server).hot(30, 50)).expect("hot chart");
    hot.iter()
        .find(|h| h.song.title == title)
        .map_or(0, |h| h.plays)
}

fn kept_plays(player: &Player) -> usize {
    let path = player.cache_dir.join("pending-plays.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return 0;
    };
    let saved: serde_json::Value = serde_json::from_str(&text).expect("the outbox is JSON");
    saved["plays"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_play_heard_offline_is_kept_on_disk_and_reported_once_the_server_is_back() {
    let server = Server::start();
    seed(&server, &["Frequency Garden"]);
    let mut player = Player::start(None);
    player.log_in(&server);

    // Online: played, cached and reported at once.
    player.search("Geyser");
    player.key(KeyCode::Enter);
    player.wait("Geyser to be cached and reported", LONG, |app| {
        app.player.cached == Some(true) && app.player.reported
    });
    player.wait("the server to count it", LONG, |_| {
        plays_of(&server, "Geyser") == 1
    });
    player.char('c');

    // Offline: the report cannot go, so it is kept in the cache folder, across a restart.
    let url = server.url.clone();
    let data = server.stop();
    let mut player = player.restart();
    player.wait("the offline notice", LONG, |app| {
        app.outage.as_ref().is_some_and(|o| o.offline())
    });
    player.key(KeyCode::Esc);
    while player.app().section != 7 {
        player.char('j');
    }
    player.key(KeyCode::Enter);
    player.key(KeyCode::Enter);
    player.wait("the offline play to be kept", LONG, |app| {
        app.player.reported
            && app
                .message
                .as_ref()
                .is_some_and(|m| m.text.contains("this play is kept"))
    });
    assert_eq!(kept_plays(&player), 1);
    player.char('c');
    let player = player.restart();
    assert_eq!(kept_plays(&player), 1, "still there after a restart");

    // The server is back (same address): the next start sends it, and only once.
    let server = Server::restart_at(data, &url);
    let mut player = player.restart();
    player.wait("the kept play to be sent", LONG, |app| {
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("reported 1 play kept"))
    });
    assert_eq!(kept_plays(&player), 0);
    assert_eq!(plays_of(&server, "Geyser"), 2);
    let mut player = player.restart();
    player.wait("the connection", LONG, |app| app.user.is_some());
    let Player { rt, .. } = player;
    rt.shutdown();
    assert_eq!(plays_of(&server, "Geyser"), 2, "nothing sent twice");
}

#[test]
fn seeking_past_what_has_arrived_plays_from_there_before_the_download_ends() {
    let server = Server::start();
    seed(&server, &["Frequency Garden"]);
    let dir = tempfile::tempdir().unwrap();
    // 60 s of 16-bit mono: 5.3 MB, which takes over 40 s through the proxy below.
    let song = support::upload(&server, dir.path(), "long-tone.wav", &support::tone_wav(60));
    let proxy = support::throttled(&server.url, 128 * 1024);
    let mut player = Player::start(None);
    player.log_in_at(&proxy);

    player.search("Long Tone");
    player.key(KeyCode::Enter);
    player.wait("the stream to start", LONG, |app| {
        app.player.state == PlayState::Playing
    });
    assert_eq!(player.app().player.cached, Some(false), "it streams");
    // Ten steps of 5 s: to 50 s, about 4.4 MB in, far past what has arrived.
    for _ in 0..10 {
        player.key(KeyCode::Right);
    }
    player.wait("playback from 50 s", LONG, |app| {
        app.player.state == PlayState::Playing
            && app.player.position > Duration::from_millis(50_300)
    });
    let app = player.app();
    assert_eq!(
        app.player.track.as_ref().map(|t| t.id),
        Some(TrackId::Song(song.id))
    );
    assert_ne!(
        app.player.cached,
        Some(true),
        "the seek was served by a range request, not by waiting for the whole file"
    );
    assert!(
        !player.cache_dir.join(&song.hash).exists(),
        "the whole file has not arrived yet"
    );
    assert!(
        app.message.as_ref().is_none_or(|m| !m.error),
        "{:?}",
        app.message
    );
}
