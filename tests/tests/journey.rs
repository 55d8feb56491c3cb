//! The whole path a user takes, through the real binaries: an empty server, an admin who logs
//! in and ingests the fixture library, a listener who searches, browses, streams, builds a
//! playlist and plays songs, a replica damaged behind the server's back, found and repaired,
//! and a restart that keeps everything.

use std::path::Path;
use std::process::{Command, Stdio};

use cadenza_api::{ByteRange, Client, PageRequest, ReplicationReport, Role, SearchType, Song};
use cadenza_fixtures::GoodFile;
use cadenza_tests::{bin, fixtures_dir, postgres_args, Server, ADMIN_PASSWORD};

const LISTENER: &str = "alice";
const LISTENER_PASSWORD: &str = "correct horse battery staple";

/// `cadenza-admin` with its own config folder, so `login` stores its token there.
fn admin_cli(server: &Server, config_home: &Path, args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(bin("cadenza-admin"))
        .args(args)
        .env("CADENZA_SERVER", &server.url)
        .env_remove("CADENZA_TOKEN")
        .env("XDG_CONFIG_HOME", config_home)
        .env("HOME", config_home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cadenza-admin");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for cadenza-admin");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!(
        "$ cadenza-admin {}\n{stdout}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn replication(server: &Server, home: &Path, extra: &[&str]) -> (i32, ReplicationReport) {
    let mut args = vec!["replication", "check", "--deep", "--json"];
    args.extend_from_slice(extra);
    let (code, stdout) = admin_cli(server, home, &args, "");
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("replication --json printed no report ({e}): {stdout}"));
    (code, report)
}

async fn find_song(client: &Client, title: &str) -> Song {
    let results = client
        .search(title, SearchType::Song, PageRequest::default())
        .await
        .expect("search");
    results
        .songs
        .items
        .into_iter()
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("search did not find {title:?}"))
}

#[tokio::test]
async fn a_user_journey_from_empty_server_to_restart() {
    journey(Server::start()).await;
}

/// The same journey with the catalog in PostgreSQL: a primary and a streaming replica
/// that serves the catalog's reads.
#[tokio::test]
async fn a_user_journey_on_postgres_with_a_replica() {
    if cadenza_pgtest::skip("the journey") {
        return;
    }
    let cluster = cadenza_pgtest::Cluster::start_with_replicas(1).expect("a test cluster");
    let server = Server::start_with(&postgres_args(&cluster));
    journey(server).await;
}

async fn journey(mut server: Server) {
    let home = tempfile::tempdir().expect("temp config home");
    let home = home.path();

    // The admin logs in and ingests the music in the fixture folder.
    let (code, _) = admin_cli(
        &server,
        home,
        &["login", "--username", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "admin login");
    let manifest = cadenza_fixtures::load_manifest().expect("fixture manifest");
    let good: Vec<GoodFile> = manifest
        .good_files()
        .filter(|g| !g.path.starts_with("audio/podcast/"))
        .cloned()
        .collect();
    let music_dirs: Vec<String> = std::fs::read_dir(fixtures_dir().join("audio"))
        .expect("fixtures/audio")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("podcast"))
        .map(|p| p.display().to_string())
        .collect();
    let mut ingest = vec!["ingest", "--jobs", "3"];
    ingest.extend(music_dirs.iter().map(String::as_str));
    let (code, _) = admin_cli(&server, home, &ingest, "");
    assert_eq!(code, 0, "ingesting only good files succeeds");

    // A listener account.
    let (code, _) = admin_cli(
        &server,
        home,
        &[
            "users",
            "add",
            LISTENER,
            "--role",
            "listener",
            "--password-stdin",
        ],
        &format!("{LISTENER_PASSWORD}\n"),
    );
    assert_eq!(code, 0, "users add");
    let alice = server.login(LISTENER, LISTENER_PASSWORD).await;
    assert_eq!(alice.me().await.expect("me").role, Role::Listener);

    // Search as you type, without diacritics.
    let hits = alice
        .search("bjo", SearchType::All, PageRequest::default())
        .await
        .expect("search");
    let bjork = hits
        .artists
        .items
        .iter()
        .find(|a| a.name == "Björk")
        .expect("`bjo` finds the artist Björk")
        .clone();
    let songs = alice
        .songs(PageRequest {
            limit: 200,
            offset: 0,
        })
        .await
        .expect("songs");
    assert_eq!(
        songs.total as usize,
        good.len(),
        "every good fixture is a song"
    );

    // Browse artist → album → tracks, in track order, with the manifest's durations.
    let artist = alice.artist(bjork.id).await.expect("artist");
    let album = artist
        .albums
        .iter()
        .find(|a| a.title == "Frequency Garden")
        .expect("Björk's album");
    let detail = alice.album(album.id).await.expect("album");
    let titles: Vec<&str> = detail.tracks.iter().map(|s| s.title.as_str()).collect();
    let mut expected: Vec<_> = good
        .iter()
        .filter(|g| g.album.as_deref() == Some("Frequency Garden"))
        .collect();
    expected.sort_by_key(|g| g.track);
    let expected_titles: Vec<&str> = expected.iter().map(|g| g.title.as_str()).collect();
    assert_eq!(titles, expected_titles);
    for (song, fixture) in detail.tracks.iter().zip(&expected) {
        assert!(
            fixture.duration_matches(std::time::Duration::from_millis(song.duration_ms)),
            "{}: {} ms, expected {} ms",
            song.title,
            song.duration_ms,
            fixture.duration_ms
        );
    }

    // Stream a song whole and in ranges; the bytes are the fixture's.
    let song = detail.tracks[0].clone();
    let original = std::fs::read(fixtures_dir().join(&expected[0].path)).expect("fixture bytes");
    let whole = alice.stream_song(song.id, None).await.expect("stream");
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes().await.expect("body"), original);
    let part = alice
        .stream_song(
            song.id,
            Some(ByteRange {
                start: 100,
                end: Some(1123),
            }),
        )
        .await
        .expect("range");
    assert_eq!(part.status, 206);
    assert_eq!(part.total_size, Some(original.len() as u64));
    assert_eq!(part.bytes().await.expect("range body"), original[100..1124]);

    // A playlist of two songs, reordered.
    let second = find_song(&alice, "Busy Signal").await;
    let playlist = alice
        .create_playlist("Road trip", false)
        .await
        .expect("create playlist");
    alice
        .add_to_playlist(playlist.id, &[song.id, second.id], None)
        .await
        .expect("add tracks");
    let moved = alice
        .move_in_playlist(playlist.id, 1, 0)
        .await
        .expect("move");
    let order: Vec<i64> = moved.tracks.iter().map(|s| s.id).collect();
    assert_eq!(order, vec![second.id, song.id]);

    // Plays feed the hot chart.
    for _ in 0..3 {
        alice
            .record_play(second.id, Some(2000))
            .await
            .expect("play");
    }
    alice.record_play(song.id, None).await.expect("play");
    let hot = alice.hot(7, 10).await.expect("hot chart");
    assert_eq!(
        hot.first().map(|h| (h.song.id, h.plays)),
        Some((second.id, 3))
    );

    // Replication is clean; then one replica disappears and another rots.
    let (code, report) = replication(&server, home, &[]);
    assert_eq!(code, 0, "a fresh store is clean");
    assert!(report.is_clean(), "{report:?}");
    let volumes = server.volume_dirs();
    assert_eq!(volumes.len(), 3, "the embedded default has three volumes");
    std::fs::remove_file(Server::blob_path(&volumes[0], &song.hash)).expect("delete a replica");
    let rotten = Server::blob_path(&volumes[1], &second.hash);
    let mut bytes = std::fs::read(&rotten).expect("read a replica");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&rotten, bytes).expect("corrupt a replica");

    // Reads still succeed while a replica is bad.
    let again = alice
        .stream_song(second.id, None)
        .await
        .expect("stream with a bad replica");
    let second_original = std::fs::read(
        good.iter()
            .find(|g| g.title == "Busy Signal")
            .map(|g| fixtures_dir().join(&g.path))
            .expect("fixture of Busy Signal"),
    )
    .expect("fixture bytes");
    assert_eq!(again.bytes().await.expect("body"), second_original);

    let (code, report) = replication(&server, home, &[]);
    assert_eq!(code, 1, "damage makes the check fail");
    let damaged: Vec<&str> = report.problems.iter().map(|p| p.hash.as_str()).collect();
    assert!(
        damaged.contains(&song.hash.as_str()),
        "missing replica reported: {report:?}"
    );
    assert!(
        damaged.contains(&second.hash.as_str()),
        "corrupt replica reported: {report:?}"
    );
    let (code, report) = replication(&server, home, &["--repair"]);
    assert_eq!(code, 0, "repair fixes both: {report:?}");
    assert_eq!(report.repaired.len(), 2, "{report:?}");
    let (code, report) = replication(&server, home, &[]);
    assert_eq!(code, 0);
    assert!(report.is_clean(), "clean after repair: {report:?}");

    // A restart keeps the catalog, the playlist, the plays and the audio.
    server.restart();
    let alice = server.login(LISTENER, LISTENER_PASSWORD).await;
    let songs = alice
        .songs(PageRequest {
            limit: 200,
            offset: 0,
        })
        .await
        .expect("songs");
    assert_eq!(songs.total as usize, good.len());
    let kept = alice
        .playlist(playlist.id)
        .await
        .expect("playlist after restart");
    let order: Vec<i64> = kept.tracks.iter().map(|s| s.id).collect();
    assert_eq!(order, vec![second.id, song.id]);
    let hot = alice.hot(7, 10).await.expect("hot chart");
    assert_eq!(
        hot.first().map(|h| (h.song.id, h.plays)),
        Some((second.id, 3))
    );
    let whole = alice
        .stream_song(song.id, None)
        .await
        .expect("stream after restart");
    assert_eq!(whole.bytes().await.expect("body"), original);
}
