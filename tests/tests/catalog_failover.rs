//! A server whose catalog is a PostgreSQL primary with a streaming replica, through the real
//! binaries: the replica stopped mid-run, then the primary. Listening, browsing and search
//! go on throughout; while the primary is down writes answer 503 `catalog_read_only` with
//! `Retry-After` and change nothing; when it is back they work again without a restart.
//! The database password never shows in the log, `/readyz`, `/metrics` or an error.

use std::future::Future;
use std::time::{Duration, Instant};

use cadenza_api::{Client, ClientError, PageRequest, Readiness, SearchType, Song, TagOverrides};
use cadenza_pgtest::Cluster;
use cadenza_tests::{fixtures_dir, Server};

const DB_PASSWORD: &str = "s3cret-catalog-Passw0rd";
/// How long a node's state may take to show (the health check runs twice a second; a
/// loaded CI machine is slow, not broken).
const SETTLE: Duration = Duration::from_secs(60);

/// Waits until `check` returns `Some`, or fails naming `what`.
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + SETTLE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn readiness(client: &Client) -> Readiness {
    client.readiness().await.expect("readyz answers")
}

async fn raw(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// What a listener does: search, browse, stream the song whole.
async fn listen(client: &Client, song: &Song, original: &[u8]) {
    let found = client
        .search(&song.title, SearchType::Song, PageRequest::default())
        .await
        .expect("search");
    assert!(found.songs.items.iter().any(|s| s.id == song.id));
    assert!(
        client
            .songs(PageRequest::default())
            .await
            .expect("browse")
            .total
            >= 1
    );
    let streamed = client.stream_song(song.id, None).await.expect("stream");
    assert_eq!(streamed.bytes().await.expect("body"), original);
}

#[tokio::test]
async fn listening_goes_on_while_the_replica_and_then_the_primary_are_down() {
    if cadenza_pgtest::skip("the catalog failover test") {
        return;
    }
    let cluster = Cluster::start_with_replicas(1).expect("a test cluster");
    cluster.create_role("cadenza_app", DB_PASSWORD).unwrap();
    cluster
        .execute("CREATE DATABASE music OWNER cadenza_app")
        .unwrap();
    cluster.wait_for_replicas().unwrap();
    let url = |port: u16| format!("postgres://cadenza_app:{DB_PASSWORD}@127.0.0.1:{port}/music");
    let server = Server::start_logging(&[
        "--catalog".to_string(),
        url(cluster.primary_port()),
        "--catalog-replica".to_string(),
        url(cluster.replica_port(0)),
        "--max-replica-lag".to_string(),
        "5s".to_string(),
    ]);
    let admin = server.admin().await;
    let file = fixtures_dir().join("audio/Unsorted/untitled.mp3");
    let uploaded = admin
        .upload_song_file(&file, &TagOverrides::default())
        .await
        .expect("upload");
    let song = uploaded.song;
    let original = std::fs::read(&file).unwrap();
    let before = admin.create_playlist("Before", false).await.unwrap();

    // Everything up: both databases answer and the replica serves reads.
    let ready = eventually("the replica serving reads", || async {
        let r = readiness(&admin).await;
        (r.catalog_databases.len() == 2 && r.catalog_databases[1].serving_reads).then_some(r)
    })
    .await;
    assert!(ready.ready && !ready.catalog_read_only, "{ready:?}");
    assert_eq!(ready.catalog_databases[0].role, "primary");
    let (_, metrics) = raw(&format!("{}/metrics", server.url.trim_end_matches('/'))).await;
    assert!(
        metrics.contains("cadenza_catalog_replica_lag_seconds{database=\"127.0.0.1:"),
        "{metrics}"
    );

    // The replica goes down: reads go to the primary, writes go on.
    cluster.stop_replica(0);
    eventually("the replica marked down", || async {
        let r = readiness(&admin).await;
        (!r.catalog_databases[1].up).then_some(())
    })
    .await;
    listen(&admin, &song, &original).await;
    admin.create_playlist("Replica down", true).await.unwrap();
    cluster.start_replica(0).unwrap();
    eventually("the replica serving reads again", || async {
        let r = readiness(&admin).await;
        r.catalog_databases[1].serving_reads.then_some(())
    })
    .await;

    // The primary goes down: listening, browsing, search and the user's own data go on
    // from the replica; writes are refused with 503 and Retry-After, and change nothing.
    cluster.wait_for_replicas().unwrap();
    cluster.stop_primary();
    listen(&admin, &song, &original).await;
    // New sessions need the primary (a login stores its token); existing ones go on.
    let refused = server
        .client()
        .login("admin", cadenza_tests::ADMIN_PASSWORD)
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Api { status: 503, code, .. }) if code == "catalog_read_only"),
        "{refused:?}"
    );
    let err = admin.create_playlist("Refused", false).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Api { status: 503, code, .. } if code == "catalog_read_only"),
        "{err}"
    );
    let response = admin
        .request(reqwest::Method::POST, "/plays")
        .unwrap()
        .json(&serde_json::json!({ "song_id": song.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "catalog_read_only");
    let mine = admin.playlists(PageRequest::default()).await.unwrap();
    let names: Vec<&str> = mine.items.iter().map(|p| p.name.as_str()).collect();
    assert!(
        names.contains(&"Before") && !names.contains(&"Refused"),
        "{names:?}"
    );
    assert_eq!(
        admin.playlist(before.id).await.unwrap().playlist.name,
        "Before"
    );
    let ready = readiness(&admin).await;
    assert!(ready.ready && ready.catalog_read_only, "{ready:?}");
    assert!(!ready.catalog_databases[0].up);
    // The replica has replayed all the primary sent: with nothing newer to be behind, it
    // shows no lag, however long ago the last write was.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let replica = &readiness(&admin).await.catalog_databases[1];
    assert!(replica.up && replica.serving_reads, "{replica:?}");
    assert_eq!(replica.lag_seconds, Some(0.0), "{replica:?}");

    // The primary is back: writes work again, with no restart.
    cluster.start_primary().unwrap();
    let made = eventually("writes working again", || async {
        admin.create_playlist("After", false).await.ok()
    })
    .await;
    assert_eq!(
        admin.playlist(made.id).await.unwrap().playlist.name,
        "After"
    );
    admin.record_play(song.id, Some(1_000)).await.unwrap();
    assert!(!readiness(&admin).await.catalog_read_only);

    // The password went nowhere: not in the log, /readyz, /metrics or an error.
    let (_, ready) = raw(&format!("{}/readyz", server.url.trim_end_matches('/'))).await;
    let (_, metrics) = raw(&format!("{}/metrics", server.url.trim_end_matches('/'))).await;
    let log = server.log();
    assert!(
        log.contains("127.0.0.1:"),
        "the log names the databases: {log}"
    );
    for (what, text) in [
        ("log", log.as_str()),
        ("readyz", ready.as_str()),
        ("metrics", metrics.as_str()),
        ("error", &err.to_string()),
    ] {
        assert!(!text.contains(DB_PASSWORD), "the password is in the {what}");
    }
}

#[test]
fn a_catalog_that_cannot_be_reached_stops_the_server_with_one_line() {
    if cadenza_pgtest::skip("the bad catalog test") {
        return;
    }
    let cluster = Cluster::start().expect("a test cluster");
    cluster.create_role("cadenza_app", DB_PASSWORD).unwrap();
    cluster
        .execute("CREATE DATABASE music OWNER cadenza_app")
        .unwrap();
    let port = cluster.primary_port();
    // A port nothing listens on: one that was free a moment ago.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!("postgres://cadenza_app:{DB_PASSWORD}@127.0.0.1:{closed}/music"),
            format!("127.0.0.1:{closed}/music"),
            "is PostgreSQL running there",
        ),
        (
            format!("postgres://cadenza_app:wrong-{DB_PASSWORD}@127.0.0.1:{port}/music"),
            format!("127.0.0.1:{port}/music"),
            "password",
        ),
        (
            format!("postgres://cadenza_app:{DB_PASSWORD}@127.0.0.1:{port}/nosuchdb"),
            format!("127.0.0.1:{port}/nosuchdb"),
            "CREATE DATABASE",
        ),
    ];
    for (url, names, says) in cases {
        let data = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(cadenza_tests::bin("cadenza-server"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["--listen", "127.0.0.1:0"])
            .env("CADENZA_CATALOG", &url)
            .env("CADENZA_ADMIN_PASSWORD", cadenza_tests::ADMIN_PASSWORD)
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("cadenza-server: "), "{stderr}");
        assert!(last.contains(&names) && last.contains(says), "{last}");
        assert!(
            !stderr.contains(DB_PASSWORD) && !stdout.contains(DB_PASSWORD),
            "{stderr}"
        );
        assert!(!stdout.contains("listening"), "{stdout}");
    }
}
