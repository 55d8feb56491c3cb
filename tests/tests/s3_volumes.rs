//! Cadenza on S3 volumes, through the real binaries: three SeaweedFS servers (each its own
//! failure domain) with R=3; one of them stopped and started again; and the guarantee that
//! with no credentials configured nothing on the network is asked for any.

mod admin_support;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use admin_support::*;
use cadenza_api::{Client, PageRequest, Song};
use cadenza_tests::{bin, fixtures_dir, Server};

/// Every AWS variable that could point a client at credentials or a metadata service.
const AWS_VARS: [&str; 9] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CONFIG_FILE",
];

/// A loopback listener that counts every connection made to it.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, count)
}

#[test]
fn without_credentials_the_server_refuses_to_start_and_contacts_nothing() {
    // The S3 endpoint and every metadata-service variable point at a listener the test owns.
    let (url, connections) = counting_listener();
    let data = tempfile::tempdir().unwrap();
    let mut command = Command::new(bin("cadenza-server"));
    command
        .arg("--data-dir")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0", "--replication", "1"])
        .arg("--volume")
        .arg(format!("a=s3://music/blobs?endpoint={url}"))
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)
        .env("AWS_METADATA_ENDPOINT", &url)
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", format!("{url}/creds"))
        .env("ECS_CONTAINER_METADATA_URI", &url)
        .env_remove("CADENZA_CONFIG")
        .env_remove("CADENZA_VOLUMES")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in AWS_VARS {
        command.env_remove(var);
    }
    let mut child = command.spawn().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the server must not start: {stderr}");
    assert!(stderr.contains("has no credentials"), "{stderr}");
    assert!(stderr.contains("anonymous=true"), "{stderr}");
    assert!(stderr.contains("AWS_ACCESS_KEY_ID"), "{stderr}");
    // Give a connection made just before exit time to be accepted, then count.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing was contacted"
    );
    assert!(
        !data.path().join("volumes").exists(),
        "no directories for S3 volumes"
    );
}

async fn all_songs(client: &Client) -> Vec<Song> {
    client
        .songs(PageRequest {
            limit: 100,
            offset: 0,
        })
        .await
        .unwrap()
        .items
}

/// Streams every song whole and checks its bytes against its hash.
async fn stream_all(client: &Client, songs: &[Song]) {
    for song in songs {
        let bytes = client
            .stream_song(song.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let digest = sha256_bytes(&bytes);
        assert_eq!(digest, song.hash, "song {} streamed wrong bytes", song.id);
    }
}

fn sha256_bytes(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(&path, bytes).unwrap();
    sha256(&path)
}

async fn metric(server: &Server, name: &str) -> f64 {
    let url = format!("{}/metrics", server.url.trim_end_matches('/'));
    let text = Command::new("curl")
        .args(["-sf", &url])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_seaweedfs_servers_ingest_stream_survive_one_stopped_and_repair() {
    let mut weeds = Vec::new();
    for _ in 0..3 {
        weeds.push(cadenza_seaweed::require_weed!("cadenza-e2e"));
    }
    let volumes: Vec<String> = weeds
        .iter()
        .zip(["a", "b", "c"])
        .map(|(weed, name)| format!("{name}={}", weed.volume_url("cadenza")))
        .collect();
    let mut args = vec!["--replication", "3", "--cache", "0"];
    for volume in &volumes {
        args.extend(["--volume", volume.as_str()]);
    }
    let server = Server::start_with(&args);
    assert!(
        !server.data_dir.join("volumes").exists(),
        "no directories for S3 volumes"
    );
    let token = admin_token(&server).await;
    let client = server.admin().await;

    let audio = fixtures_dir().join("audio");
    admin(&server, &token, &["ingest", audio.to_str().unwrap()]).expect_code(0);
    let songs = all_songs(&client).await;
    assert!(songs.len() >= 10, "{} songs", songs.len());
    stream_all(&client, &songs).await;
    let clean = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(0);
    assert!(
        clean.stdout.contains("All blobs are fully replicated."),
        "{}",
        clean.stdout
    );

    // One failure domain down: still ready (degraded), streams go on, uploads meet the
    // write quorum (2 of 3).
    let down = 0;
    weeds[down].stop();
    let readiness = client.readiness().await.unwrap();
    assert!(readiness.ready && readiness.degraded, "{readiness:?}");
    assert_eq!(readiness.volumes_reachable, 2);
    let failovers_before = metric(&server, "cadenza_replica_failovers_total").await;
    stream_all(&client, &songs).await;
    assert!(metric(&server, "cadenza_replica_failovers_total").await > failovers_before);
    let new_song = std::env::temp_dir().join(format!("cadenza-s3-e2e-{}.wav", std::process::id()));
    let samples = cadenza_fixtures::synth::wav::sine(440.0, 44_100, 1_500, 0.3);
    std::fs::write(
        &new_song,
        cadenza_fixtures::synth::wav::file(44_100, &samples, &[]),
    )
    .unwrap();
    admin(&server, &token, &["ingest", new_song.to_str().unwrap()]).expect_code(0);
    std::fs::remove_file(&new_song).ok();
    assert!(metric(&server, "cadenza_blob_degraded_commits_total").await >= 1.0);

    // The check lists what lacks a copy on the stopped volume; repair waits for it.
    let check = admin(&server, &token, &["replication", "check", "--json"]).expect_code(1);
    assert!(
        check.stdout.contains("\"under_replicated\""),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("\"unreachable\""), "{}", check.stdout);

    // Back up: repair copies verified bytes to it, and all is clean again.
    weeds[down].restart();
    let repair = admin(&server, &token, &["replication", "check", "--repair"]).expect_code(0);
    assert!(repair.stdout.contains("Repaired ("), "{}", repair.stdout);
    let after = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(0);
    assert!(
        after.stdout.contains("All blobs are fully replicated."),
        "{}",
        after.stdout
    );
    let readiness = client.readiness().await.unwrap();
    assert!(readiness.ready && !readiness.degraded, "{readiness:?}");
    let songs = all_songs(&client).await;
    stream_all(&client, &songs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_setup_migrates_online_to_s3_with_every_hash_verified() {
    let weed = cadenza_seaweed::require_weed!("cadenza-migrate");
    let s3 = format!("s3={}", weed.volume_url("blobs"));
    let mut server = Server::start_with(&r2(&["a=vols/a", "b=vols/b"]));
    let token = admin_token(&server).await;
    let audio = fixtures_dir().join("audio");
    admin(&server, &token, &["ingest", audio.to_str().unwrap()]).expect_code(0);

    // The S3 volume joins; then `a` is drained while the server serves.
    server.restart_with(&r2(&["a=vols/a", "b=vols/b", &s3]));
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let songs = all_songs(&client).await;
    let drain = admin(&server, &token, &["volumes", "drain", "a"]).expect_code(0);
    assert!(drain.stdout.contains("Drained a:"), "{}", drain.stdout);
    stream_all(&client, &songs).await;
    let a = server.data_dir.join("vols/a/blobs");
    let left: Vec<_> = walk(&a);
    assert!(left.is_empty(), "blobs left on a: {left:?}");

    // Without `a` in the configuration every blob is where the placement says, hash verified.
    server.restart_with(&r2(&["b=vols/b", &s3]));
    let token = admin_token(&server).await;
    let check = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(0);
    assert!(
        check.stdout.contains("All blobs are fully replicated."),
        "{}",
        check.stdout
    );
    stream_all(&server.admin().await, &songs).await;

    // Draining again leaves too few volumes for R=2: refused with the reason.
    let refused = admin(&server, &token, &["volumes", "drain", "b"]).expect_code(1);
    assert!(
        refused.stderr.contains("add a volume"),
        "{}",
        refused.stderr
    );
}

/// Server flags for R=2 without the memory cache (reads go to the volumes), with `volumes`.
fn r2<'a>(volumes: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--replication", "2", "--cache", "0"];
    for volume in volumes {
        args.extend(["--volume", volume]);
    }
    args
}

/// Files under `dir`, recursively (none if it does not exist).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
