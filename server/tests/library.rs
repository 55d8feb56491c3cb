//! Uploading the fixture library, browsing and searching it, upload errors, and a restart.

mod common;

use cadenza_api::{PageRequest, SearchType, TagOverrides};
use cadenza_fixtures::RejectReason;
use common::{file_name, files_under, good_files, upload, TestServer};
use reqwest::Method;

fn page(limit: u32) -> PageRequest {
    PageRequest { limit, offset: 0 }
}

#[tokio::test]
async fn library_upload_browse_search_and_restart() {
    let mut server = TestServer::start();
    let admin = server.admin().await;
    let files = good_files();

    let mut songs = Vec::new();
    for file in &files {
        let uploaded = upload(&admin, file).await;
        assert!(uploaded.created, "{} is new", file.path);
        let song = &uploaded.song;
        assert_eq!(song.title, file.title, "{}", file.path);
        assert_eq!(song.artist, file.artist, "{}", file.path);
        assert_eq!(song.size, file.size_bytes, "{}", file.path);
        let drift = song.duration_ms.abs_diff(file.duration_ms);
        assert!(
            drift <= file.duration_tolerance_ms,
            "{}: duration {} ms, manifest {} ms",
            file.path,
            song.duration_ms,
            file.duration_ms
        );
        assert!(
            song.content_type.starts_with("audio/"),
            "{}",
            song.content_type
        );
        if file.tags_missing {
            assert!(!uploaded.missing_tags.is_empty(), "{}", file.path);
        }
        songs.push(uploaded.song);
    }

    // The same bytes again: a no-op answering the existing song.
    let again = upload(&admin, &files[0]).await;
    assert!(!again.created);
    assert_eq!(again.song, songs[0]);
    let all = admin.songs(page(500)).await.unwrap();
    assert_eq!(all.total, files.len() as u64, "no duplicate row");

    // Search: prefix as you type, diacritics folded, grouped by kind.
    let results = admin
        .search("glac", SearchType::All, page(10))
        .await
        .unwrap();
    assert!(
        results.songs.items.iter().any(|s| s.title == "Glacier Hum"),
        "{results:?}"
    );
    let results = admin
        .search("bjork", SearchType::Artist, page(10))
        .await
        .unwrap();
    let names: Vec<&str> = results
        .artists
        .items
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert!(names.contains(&"Björk"), "{names:?}");
    assert!(names.iter().all(|n| n.contains("Björk")), "{names:?}");
    assert!(
        results.songs.items.is_empty(),
        "only artists were asked for"
    );
    for nasty in [
        "\"",
        "AND(",
        "*",
        "NEAR",
        "title:x OR",
        "🌌",
        &"x".repeat(10_000),
    ] {
        let found = admin.search(nasty, SearchType::All, page(5)).await;
        assert!(found.is_ok(), "search {nasty:.20}: {found:?}");
    }

    // Browse: albums with ordered tracks, artists, genres, covers.
    let bjork_song = songs.iter().find(|s| s.artist == "Björk").unwrap();
    let album = admin.album(bjork_song.album_id).await.unwrap();
    assert_eq!(album.album.title, "Frequency Garden");
    let tracks: Vec<Option<u32>> = album.tracks.iter().map(|t| t.track).collect();
    assert_eq!(tracks, vec![Some(1), Some(2), Some(3)]);
    assert!(album.album.has_cover);
    let (cover, content_type) = admin.album_cover(album.album.id).await.unwrap();
    assert_eq!(content_type, "image/png");
    assert!(cover.starts_with(b"\x89PNG"), "a PNG image");
    let artist = admin.artist(bjork_song.artist_id).await.unwrap();
    assert_eq!(artist.albums.len(), 1);
    let genres = admin.genres().await.unwrap();
    let electronic = genres.iter().find(|g| g.name == "Electronic").unwrap();
    let in_genre = admin.genre_songs("Electronic", page(50)).await.unwrap();
    assert_eq!(in_genre.total, u64::from(electronic.song_count));
    let untagged = songs
        .iter()
        .find(|s| s.artist == cadenza_fixtures::UNKNOWN_ARTIST)
        .expect("an untagged fixture");
    let bare_album = admin.album(untagged.album_id).await.unwrap();
    if !bare_album.album.has_cover {
        let err = admin.album_cover(untagged.album_id).await.unwrap_err();
        assert_eq!(err.status(), Some(404), "{err}");
    }
    let status = admin.blob_status(&bjork_song.hash).await.unwrap();
    assert!(status.exists);
    assert_eq!(status.song_id, Some(bjork_song.id));
    let unknown = admin.blob_status(&"0".repeat(64)).await.unwrap();
    assert!(!unknown.exists);
    let err = admin.blob_status("not-a-hash").await.unwrap_err();
    assert_eq!(err.status(), Some(400));

    // Deleting a song removes its row and its blob (no other song uses the bytes).
    let doomed = songs.last().unwrap().clone();
    admin.delete_song(doomed.id).await.unwrap();
    assert_eq!(admin.song(doomed.id).await.unwrap_err().status(), Some(404));
    assert!(!server.blob_path("vol1", &doomed.hash).exists());
    assert!(!admin.blob_status(&doomed.hash).await.unwrap().exists);

    // A restart keeps the catalog, the blobs, the sessions and the share-link secret.
    let link = admin.share_song(bjork_song.id, None).await.unwrap();
    let token = admin.token().unwrap().to_string();
    let status = server.restart().expect("it was running");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let same_session = server.client().with_token(token);
    let after = same_session.songs(page(500)).await.unwrap();
    assert_eq!(after.total, files.len() as u64 - 1);
    let audio = same_session
        .stream_song(bjork_song.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(audio.len() as u64, bjork_song.size);
    let shared = reqwest::get(format!("{}{}", server.url, link.path))
        .await
        .unwrap();
    assert_eq!(shared.status(), 200, "share links survive restarts");
    assert!(server.log().contains("all connections closed"));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_leave_nothing() {
    let server = TestServer::start_with(&["--max-upload", "20000"]);
    let admin = server.admin().await;

    for bad in cadenza_fixtures::bad_files().unwrap() {
        let path = bad.absolute_path();
        let err = admin
            .upload_song_file(&path, &TagOverrides::default())
            .await
            .expect_err(&bad.path);
        let expected = match bad.reason {
            RejectReason::NotAudio | RejectReason::UnsupportedFormat => 415,
            RejectReason::Empty | RejectReason::Truncated | RejectReason::BogusTag => 422,
        };
        assert_eq!(err.status(), Some(expected), "{}: {err}", bad.path);
        assert!(!err.to_string().is_empty());
    }

    // Over the limit, declared up front: refused before the body is read.
    let big = good_files()
        .into_iter()
        .find(|f| f.size_bytes > 20_000)
        .expect("a fixture over 20000 bytes");
    let err = admin
        .upload_song_file(&big.absolute_path(), &TagOverrides::default())
        .await
        .expect_err("too large");
    assert_eq!(err.status(), Some(413), "{err}");
    assert!(err.to_string().contains("20000"), "{err}");

    // Over the limit without a Content-Length (chunked): refused once the limit passes.
    let bytes = common::read(&big.absolute_path());
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(4096).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let err = admin
        .upload_song(body, None, &TagOverrides::default())
        .await
        .expect_err("too large");
    assert_eq!(err.status(), Some(413), "{err}");

    // A small good file still goes through on this server.
    let small = good_files()
        .into_iter()
        .find(|f| f.size_bytes < 20_000)
        .unwrap();
    let overrides = TagOverrides {
        filename: file_name(&small.absolute_path()),
        ..TagOverrides::default()
    };
    admin
        .upload_song_file(&small.absolute_path(), &overrides)
        .await
        .unwrap();

    // Only that one song exists, and nothing is left in staging.
    assert_eq!(admin.songs(page(10)).await.unwrap().total, 1);
    assert!(files_under(&server.data_dir.join("staging")).is_empty());
    let stats = admin.stats().await.unwrap();
    assert!(stats.volumes.iter().all(|v| v.blobs <= 2), "{stats:?}");

    let metrics = server.metrics().await;
    assert!(
        common::metric_value(
            &metrics,
            "cadenza_upload_errors_total{code=\"payload_too_large\"}"
        ) >= 2.0,
        "{metrics}"
    );
    assert!(
        common::metric_value(&metrics, "cadenza_upload_errors_total{code=\"not_audio\"}") >= 1.0
    );
    assert_eq!(
        common::metric_value(&metrics, "cadenza_uploads_total{outcome=\"created\"}"),
        1.0
    );
}

#[tokio::test]
async fn auth_rules_and_error_bodies() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let anonymous = server.client();

    // No token: 401 with a JSON body that says to log in.
    let err = anonymous.songs(page(10)).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(err.to_string().contains("log"), "{err}");
    // Health, readiness and metrics need none.
    anonymous.health().await.unwrap();
    assert!(anonymous.readiness().await.unwrap().ready);

    // Wrong password and unknown user look the same.
    let mut guesser = server.client();
    let wrong = guesser.login("admin", "wrong password").await.unwrap_err();
    let unknown = guesser.login("nobody", "wrong password").await.unwrap_err();
    assert_eq!(wrong.status(), Some(401));
    assert_eq!(wrong.to_string(), unknown.to_string());

    // Repeated failures for one account from one address are slowed down to a stop.
    let mut throttled = None;
    for _ in 0..12 {
        match guesser.login("mallory", "a guess").await {
            Err(e) if e.status() == Some(429) => {
                throttled = Some(e);
                break;
            }
            Err(e) => assert_eq!(e.status(), Some(401), "{e}"),
            Ok(_) => panic!("mallory does not exist"),
        }
    }
    let throttled = throttled.expect("429 after too many failures");
    assert!(throttled.to_string().contains("try again"), "{throttled}");
    // Other accounts are not affected.
    server.login("admin", common::ADMIN_PASSWORD).await;

    // A listener may browse but not administer.
    let mut alice = server.listener(&admin, "alice").await;
    assert_eq!(alice.me().await.unwrap().username, "alice");
    alice.songs(page(10)).await.unwrap();
    let err = alice.users().await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(err.to_string().contains("admin"), "{err}");
    let err = alice
        .create_user("eve", "eve's password", cadenza_api::Role::Admin)
        .await
        .unwrap_err();
    assert!(err.is_forbidden());

    // Logging out revokes the token.
    let token = alice.token().unwrap().to_string();
    alice.logout().await.unwrap();
    let revoked = server.client().with_token(token);
    assert!(revoked.me().await.unwrap_err().is_unauthorized());

    // Users: create, conflict, weak password, role, password reset, delete.
    let bob = admin
        .create_user("bob", "bob's password", cadenza_api::Role::Listener)
        .await
        .unwrap();
    let err = admin
        .create_user("bob", "another password", cadenza_api::Role::Listener)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    let err = admin
        .create_user("carol", "short", cadenza_api::Role::Listener)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let promoted = admin
        .set_role(bob.id, cadenza_api::Role::Admin)
        .await
        .unwrap();
    assert_eq!(promoted.role, cadenza_api::Role::Admin);
    admin
        .reset_password(bob.id, "bob's new password")
        .await
        .unwrap();
    let bob_client = server.login("bob", "bob's new password").await;
    bob_client.users().await.unwrap();
    let me = admin.me().await.unwrap();
    admin.delete_user(bob.id).await.unwrap();
    // The last admin can be neither demoted nor deleted.
    let err = admin
        .set_role(me.id, cadenza_api::Role::Listener)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
    assert_eq!(
        admin.delete_user(me.id).await.unwrap_err().status(),
        Some(409)
    );
    let users = admin.users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["admin", "alice"]
    );

    // Errors from routing and parsing are JSON too.
    let cases = [
        (Method::GET, "/nowhere", None, 404),
        (Method::GET, "/songs/not-a-number", None, 404),
        (Method::PUT, "/songs/1", None, 405),
        (Method::POST, "/playlists", Some("{not json"), 400),
        (Method::POST, "/playlists", Some(""), 400),
        (Method::POST, "/playlists", Some("{\"public\": true}"), 400),
        (Method::GET, "/hot?days=zero", None, 400),
        (Method::GET, "/songs/999999", None, 404),
    ];
    for (method, route, body, status) in cases {
        let mut request = common::raw(&admin, method.clone(), route);
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {route}");
        let error: cadenza_api::ErrorBody = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {route}: not a JSON error body: {e}"));
        assert!(!error.error.message.is_empty());
    }
    let response = reqwest::get(format!("{}/api/v2/anything", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let error: cadenza_api::ErrorBody = response.json().await.unwrap();
    assert_eq!(error.error.code, "not_found");

    let metrics = server.metrics().await;
    assert!(
        common::metric_value(
            &metrics,
            "cadenza_http_requests_total{method=\"GET\",route=\"/api/v1/songs\",status=\"401\"}"
        ) >= 1.0,
        "{metrics}"
    );
    assert!(common::metric_value(&metrics, "cadenza_login_failures_total") >= 2.0);
}
