//! Damaged replicas: reads fail over, the report finds the damage, repair fixes it, and a
//! restart keeps the repaired state. Also readiness and storage stats.

mod common;

use cadenza_api::{BlobHealth, ReplicaState, ReplicationRequest};
use cadenza_store::{BlobStore, StoreConfig, VolumeConfig};
use common::{good_files, upload, TestServer};

const VOLUMES: [&str; 3] = ["vol1", "vol2", "vol3"];

/// The default volumes in the store's preference order for `hash` (placement depends only on
/// the volume names, so a scratch store with the same names computes the server's).
fn placement(hash: &str) -> Vec<&'static str> {
    let scratch = tempfile::tempdir().unwrap();
    let volumes = VOLUMES
        .iter()
        .map(|name| VolumeConfig::local_dir(name, &scratch.path().join(name)).unwrap())
        .collect();
    let store = BlobStore::new(StoreConfig {
        volumes,
        replication: 3,
        staging_dir: scratch.path().join("staging"),
        cache_bytes: 0,
        write_quorum: 3,
        stale_upload_age: cadenza_store::STALE_UPLOAD_AGE,
    })
    .unwrap();
    store
        .placement(hash)
        .into_iter()
        .map(|i| VOLUMES[i])
        .collect()
}

#[tokio::test]
async fn damaged_replicas_are_found_served_around_and_repaired() {
    // No cache: every read goes to the volumes, so failover is really exercised.
    let mut server = TestServer::start_with(&["--cache", "0"]);
    let admin = server.admin().await;
    let mut songs = Vec::new();
    for file in good_files().iter().take(3) {
        songs.push((
            upload(&admin, file).await.song,
            common::read(&file.absolute_path()),
        ));
    }
    let ready = admin.readiness().await.unwrap();
    assert!(ready.ready, "{ready:?}");
    assert_eq!((ready.volumes_total, ready.quorum), (3, 2));

    let clean = admin
        .replication(
            ReplicationRequest {
                deep: true,
                repair: false,
            },
            |_, _| {},
        )
        .await
        .unwrap();
    assert!(clean.is_clean(), "{clean:?}");
    assert_eq!(clean.replication_factor, 3);

    // On the wire: NDJSON, progress lines first, the report last.
    let response = common::raw(&admin, reqwest::Method::POST, "/admin/replication")
        .json(&ReplicationRequest::default())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[reqwest::header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    let text = response.text().await.unwrap();
    let events: Vec<cadenza_api::ReplicationEvent> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(events.len() >= 2, "{text}");
    assert!(matches!(
        events.first(),
        Some(cadenza_api::ReplicationEvent::Progress { .. })
    ));
    assert!(matches!(
        events.last(),
        Some(cadenza_api::ReplicationEvent::Report(_))
    ));
    assert!(clean.blobs_checked >= 3, "audio and covers: {clean:?}");

    // Damage one song where reads look first: its first-choice replica deleted, the second
    // overwritten with garbage of the same size (only a deep check or a read can tell).
    let (victim, original) = &songs[0];
    let order = placement(&victim.hash);
    let (gone, bad, good) = (order[0], order[1], order[2]);
    let missing = server.blob_path(gone, &victim.hash);
    let corrupt = server.blob_path(bad, &victim.hash);
    std::fs::remove_file(&missing).unwrap();
    std::fs::write(&corrupt, vec![0x55u8; original.len()]).unwrap();

    // Reads still succeed, from the third replica, and the failovers are counted.
    for _ in 0..2 {
        let audio = admin
            .stream_song(victim.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(audio, original.as_slice(), "served from the good replica");
    }
    let ranged = admin
        .stream_song(
            victim.id,
            Some(cadenza_api::ByteRange {
                start: 100,
                end: Some(199),
            }),
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(ranged, &original[100..200]);
    assert!(server.metric("cadenza_replica_failovers_total").await >= 1.0);

    // The cheap check sees the missing replica; the deep one also the corrupt one.
    let cheap = admin
        .replication(ReplicationRequest::default(), |_, _| {})
        .await
        .unwrap();
    let problem = cheap
        .problems
        .iter()
        .find(|p| p.hash == victim.hash)
        .expect("the damaged blob is reported");
    assert_eq!(problem.health, BlobHealth::UnderReplicated);
    assert!(problem
        .used_by
        .as_deref()
        .unwrap_or("")
        .contains(&victim.title));

    let mut progress_calls = 0;
    let deep = admin
        .replication(
            ReplicationRequest {
                deep: true,
                repair: false,
            },
            |checked, total| {
                progress_calls += 1;
                assert!(checked <= total);
            },
        )
        .await
        .unwrap();
    assert!(
        progress_calls >= 1,
        "progress lines arrive before the report"
    );
    assert_eq!(deep.problems.len(), 1, "{deep:?}");
    let states: Vec<(String, ReplicaState)> = deep.problems[0]
        .replicas
        .iter()
        .map(|r| (r.volume.clone(), r.state))
        .collect();
    assert!(
        states.contains(&(gone.into(), ReplicaState::Missing)),
        "{states:?}"
    );
    assert!(
        states.contains(&(bad.into(), ReplicaState::Corrupt)),
        "{states:?}"
    );
    assert!(
        states.contains(&(good.into(), ReplicaState::Ok)),
        "{states:?}"
    );
    assert_eq!((deep.missing_replicas, deep.corrupt_replicas), (1, 1));
    assert!(deep.repaired.is_empty(), "no repair unless asked");

    // Repair copies the verified bytes to both bad replicas.
    let repaired = admin
        .replication(
            ReplicationRequest {
                deep: true,
                repair: true,
            },
            |_, _| {},
        )
        .await
        .unwrap();
    let mut targets: Vec<(String, ReplicaState)> = repaired
        .repaired
        .iter()
        .map(|a| (a.to_volume.clone(), a.reason))
        .collect();
    targets.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (gone.to_string(), ReplicaState::Missing),
        (bad.to_string(), ReplicaState::Corrupt),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(targets, expected);
    assert!(repaired.repaired.iter().all(|a| a.from_volume == good));
    assert!(repaired.unrepairable.is_empty());
    for volume in VOLUMES {
        assert_eq!(
            std::fs::read(server.blob_path(volume, &victim.hash)).unwrap(),
            *original,
            "{volume} holds the right bytes again"
        );
    }
    let after = admin
        .replication(
            ReplicationRequest {
                deep: true,
                repair: false,
            },
            |_, _| {},
        )
        .await
        .unwrap();
    assert!(after.is_clean(), "{after:?}");

    // Stats: every blob three times over.
    let stats = admin.stats().await.unwrap();
    assert_eq!(stats.songs, 3);
    assert_eq!(stats.replication_factor, 3);
    assert_eq!(stats.volumes.len(), 3);
    assert!(stats
        .volumes
        .iter()
        .all(|v| v.reachable && v.blobs == stats.blobs));
    assert_eq!(stats.stored_bytes, 3 * stats.logical_bytes);

    // Still clean after a restart.
    let status = server.restart().unwrap();
    assert!(status.success());
    let admin = server.admin().await;
    let report = admin
        .replication(
            ReplicationRequest {
                deep: true,
                repair: false,
            },
            |_, _| {},
        )
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
}

#[tokio::test]
async fn readiness_needs_a_quorum_of_volumes() {
    let server = TestServer::start();
    let client = server.client();
    assert!(client.readiness().await.unwrap().ready);

    // Replace two volume folders with plain files: those volumes cannot be reached.
    for volume in ["vol2", "vol3"] {
        let dir = server.volume_dir(volume);
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::write(&dir, b"not a folder").unwrap();
    }
    let readiness = client.readiness().await.unwrap();
    assert!(!readiness.ready, "{readiness:?}");
    assert!(readiness.catalog);
    assert_eq!(readiness.volumes_reachable, 1);
    let status = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 503);
    // Still alive, though.
    client.health().await.unwrap();
}
