//! An admin moves a SQLite catalog to PostgreSQL with `cadenza-server catalog copy` and
//! starts the server on it: users log in with their old passwords, and a fixed list of
//! requests gets the same answers as before (search the same matches; ranking may differ),
//! and their app passwords and API keys come along. The fixtures include songs crediting
//! two artists and two genres: those credits answer the same too.

use std::process::{Command, Output};

use cadenza_api::{Client, PageRequest, SearchType, TagOverrides};
use cadenza_tests::{bin, fixtures_dir, Server};

const LISTENER_PASSWORD: &str = "correct horse battery staple";

fn copy(from: &std::path::Path, to: &str) -> Output {
    Command::new(bin("cadenza-server"))
        .args(["catalog", "copy", "--from"])
        .arg(format!("sqlite:{}", from.display()))
        .env("CADENZA_CATALOG", to)
        .output()
        .expect("run cadenza-server catalog copy")
}

/// The answers that must not change, as JSON text: the fixed list, then `extra` routes.
async fn answers(
    client: &Client,
    song: i64,
    album: i64,
    artist: i64,
    playlist: i64,
    extra: &[String],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let fixed = [
        "/songs?limit=500".to_string(),
        "/albums?limit=500".into(),
        "/artists?limit=500".into(),
        "/genres".into(),
        format!("/songs/{song}"),
        format!("/albums/{album}"),
        format!("/artists/{artist}"),
        "/playlists".into(),
        format!("/playlists/{playlist}"),
        "/hot?days=7".into(),
        "/me".into(),
    ];
    for route in fixed.into_iter().chain(extra.iter().cloned()) {
        let response = client
            .request(reqwest::Method::GET, &route)
            .unwrap()
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{route}");
        out.push((route, response.text().await.unwrap()));
    }
    out
}

async fn matches(client: &Client, q: &str) -> Vec<Vec<i64>> {
    let r = client
        .search(
            q,
            SearchType::All,
            PageRequest {
                limit: 200,
                offset: 0,
            },
        )
        .await
        .unwrap();
    let mut groups = vec![
        r.songs.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        r.artists.items.iter().map(|a| a.id).collect(),
        r.albums.items.iter().map(|a| a.id).collect(),
        r.playlists.items.iter().map(|p| p.id).collect(),
    ];
    groups.iter_mut().for_each(|g| g.sort_unstable());
    groups
}

#[tokio::test]
async fn a_sqlite_catalog_moved_to_postgres_answers_the_same() {
    if cadenza_pgtest::skip("the catalog copy test") {
        return;
    }
    let mut server = Server::start();
    let admin = server.admin().await;
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    let mut songs = Vec::new();
    for good in manifest
        .good_files()
        .filter(|g| !g.path.starts_with("audio/podcast/"))
    {
        let uploaded = admin
            .upload_song_file(&fixtures_dir().join(&good.path), &TagOverrides::default())
            .await
            .expect("upload");
        songs.push(uploaded.song);
    }
    admin
        .create_user("alice", LISTENER_PASSWORD, cadenza_api::Role::Listener)
        .await
        .unwrap();
    let alice = server.login("alice", LISTENER_PASSWORD).await;
    let list = alice.create_playlist("Moving day", false).await.unwrap();
    let ids: Vec<i64> = songs.iter().take(3).map(|s| s.id).collect();
    alice.add_to_playlist(list.id, &ids, None).await.unwrap();
    for id in &ids {
        alice.record_play(*id, Some(2_000)).await.unwrap();
    }
    alice
        .create_my_credential(cadenza_api::CredentialKind::ApiKey, "desk")
        .await
        .unwrap();
    let credentials_before = alice.my_credentials().await.unwrap();
    let (song, album, artist) = (songs[0].id, songs[0].album_id, songs[0].artist_id);
    // A song with two artists and two genres: its own answer, the page of its second
    // artist (who has it among their top songs) and the songs of its second genre.
    let credited = songs
        .iter()
        .find(|s| s.artists.len() == 2 && s.genres.len() == 2)
        .expect("a fixture crediting two artists and two genres");
    let credits = [
        format!("/songs/{}", credited.id),
        format!("/artists/{}", credited.artists[1].id),
        format!("/genres/{}/songs?limit=500", credited.genres[1]),
    ];
    let before = answers(&alice, song, album, artist, list.id, &credits).await;
    let second = alice.artist(credited.artists[1].id).await.unwrap();
    assert!(
        second.top_songs.iter().any(|s| s.id == credited.id),
        "{second:?}"
    );
    let second_artist = credited.artists[1].name.to_lowercase();
    let second_genre = credited.genres[1].to_lowercase();
    let queries = [
        "bjo",
        "tone",
        "moving",
        "坂本",
        "the",
        second_artist.as_str(),
        second_genre.as_str(),
    ];
    let mut found_before = Vec::new();
    for q in queries {
        found_before.push(matches(&alice, q).await);
    }
    let original = alice
        .stream_song(song, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    server.stop();

    let cluster = cadenza_pgtest::Cluster::start_with_replicas(1).expect("a test cluster");
    let database = cluster.create_database().unwrap();
    let url = cluster.primary_url(&database);
    let catalog = server.data_dir.join("catalog.sqlite");
    let out = copy(&catalog, &url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("checksum match"), "{stdout}");
    let again = copy(&catalog, &url);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("(0 new in this run)"));

    server.restart_with(&[
        "--catalog".to_string(),
        url.clone(),
        "--catalog-replica".to_string(),
        cluster.replica_url(0, &database),
    ]);
    let alice = server.login("alice", LISTENER_PASSWORD).await;
    let after = answers(&alice, song, album, artist, list.id, &credits).await;
    for ((route, was), (_, is)) in before.iter().zip(&after) {
        // /me and playlists carry no volatile fields; every answer must be the same text.
        assert_eq!(was, is, "{route}");
    }
    assert_eq!(alice.my_credentials().await.unwrap(), credentials_before);
    for (q, was) in queries.iter().zip(&found_before) {
        assert_eq!(&matches(&alice, q).await, was, "{q}");
    }
    let streamed = alice
        .stream_song(song, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(streamed, original);

    // A target holding another catalog is refused in one sentence, exit 2.
    let other = cluster.create_database().unwrap();
    cluster
        .execute_in(&other, "CREATE TABLE cadenza_schema (version integer NOT NULL); INSERT INTO cadenza_schema VALUES (999)")
        .unwrap();
    let refused = copy(&catalog, &cluster.primary_url(&other));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("schema version 999") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
