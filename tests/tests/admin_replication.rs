//! `cadenza-admin replication check` against a real server whose volumes are damaged
//! behind its back: a deleted replica, a corrupted one, and a blob lost everywhere.

mod admin_support;

use std::path::{Path, PathBuf};

use admin_support::*;
use cadenza_api::{PageRequest, Song};
use cadenza_tests::{fixtures_dir, Server};

const SONGS: [&str; 3] = [
    "audio/Kid Carrier/Dial Tone Blues/01 Busy Signal.mp3",
    "audio/坂本龍一/静かな波形/01 序曲.flac",
    "audio/The Oscillators/Opus Numbers/01 Opus No. 1.opus",
];

fn replica(server: &Server, volume: usize, hash: &str) -> PathBuf {
    let volumes = server.volume_dirs();
    assert!(
        volumes.len() >= 3,
        "expected three volumes, found {volumes:?}"
    );
    Server::blob_path(&volumes[volume], hash)
}

fn find<'a>(songs: &'a [Song], fixture: &str) -> &'a Song {
    let hash = sha256(&fixtures_dir().join(fixture));
    songs
        .iter()
        .find(|s| s.hash == hash)
        .unwrap_or_else(|| panic!("{fixture} was not ingested"))
}

/// Same size, different bytes: only a deep check can tell.
fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0xA5;
    }
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_deleted_and_a_corrupted_replica_are_reported_repaired_and_then_clean() {
    let server = Server::start();
    let token = admin_token(&server).await;
    let client = server.admin().await;
    let paths: Vec<String> = SONGS
        .iter()
        .map(|p| fixtures_dir().join(p).display().to_string())
        .collect();
    let mut args = vec!["ingest"];
    args.extend(paths.iter().map(String::as_str));
    admin(&server, &token, &args).expect_code(0);
    let songs = client
        .songs(PageRequest {
            limit: 10,
            offset: 0,
        })
        .await
        .unwrap()
        .items;

    // A clean store first.
    let clean = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(0);
    assert!(
        clean.stdout.contains("All blobs are fully replicated."),
        "{}",
        clean.stdout
    );

    let deleted = find(&songs, SONGS[0]).hash.clone();
    let corrupted = find(&songs, SONGS[1]).hash.clone();
    std::fs::remove_file(replica(&server, 0, &deleted)).unwrap();
    corrupt(&replica(&server, 1, &corrupted));

    // The check shows both, per volume, and exits 1.
    let check = admin(
        &server,
        &token,
        &["replication", "check", "--deep", "--json"],
    )
    .expect_code(1);
    assert!(
        check.stdout.contains("\"missing_replicas\": 1"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("\"corrupt_replicas\": 1"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("\"under_replicated\": 2"),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains(&deleted), "{}", check.stdout);
    assert!(check.stdout.contains(&corrupted), "{}", check.stdout);
    let text = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(1);
    assert!(text.stdout.contains(&deleted[..12]), "{}", text.stdout);
    assert!(text.stdout.contains(&corrupted[..12]), "{}", text.stdout);
    assert!(text.stdout.contains("missing"), "{}", text.stdout);
    assert!(text.stdout.contains("corrupt"), "{}", text.stdout);

    // --repair copies verified bytes back and reports what it did.
    let repair = admin(
        &server,
        &token,
        &["replication", "check", "--deep", "--repair"],
    )
    .expect_code(0);
    assert!(
        repair.stdout.contains("Repaired (2 copies)"),
        "{}",
        repair.stdout
    );
    assert_eq!(sha256(&replica(&server, 0, &deleted)), deleted);
    assert_eq!(sha256(&replica(&server, 1, &corrupted)), corrupted);

    // And a second check is clean.
    let after = admin(&server, &token, &["replication", "check", "--deep"]).expect_code(0);
    assert!(
        after.stdout.contains("All blobs are fully replicated."),
        "{}",
        after.stdout
    );

    // A blob with no replica left is lost: said loudly, exit 1 even with --repair.
    let lost = find(&songs, SONGS[2]).hash.clone();
    for volume in 0..3 {
        let path = replica(&server, volume, &lost);
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
    let loss = admin(&server, &token, &["replication", "check", "--repair"]).expect_code(1);
    assert!(loss.stderr.contains("DATA LOSS"), "{}", loss.stderr);
    assert!(loss.stderr.contains(&lost), "{}", loss.stderr);
}
