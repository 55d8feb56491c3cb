//! Play reports a client sends again (same `play_id`) or late (`played_at`), through the
//! real binary: what the hot chart counts, and the 400s that name the field at fault.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use cadenza_api::{Client, ClientError, RecordPlay};
use common::{good_files, upload, TestServer};
use reqwest::Method;

const DAY: i64 = 86_400;

fn now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

fn play(song_id: i64, play_id: &str, played_at: Option<i64>) -> RecordPlay {
    RecordPlay {
        play_id: Some(play_id.into()),
        played_at,
        ..RecordPlay::now(song_id, Some(45_000))
    }
}

async fn hot(client: &Client, days: u32) -> Vec<(i64, u64)> {
    let chart = client.hot(days, 10).await.unwrap();
    chart.iter().map(|e| (e.song.id, e.plays)).collect()
}

fn bad_request(result: Result<(), ClientError>) -> String {
    match result {
        Err(ClientError::Api {
            status: 400,
            message,
            ..
        }) => message,
        other => panic!("expected a 400, got {other:?}"),
    }
}

#[tokio::test]
async fn a_report_sent_again_counts_once_and_a_late_one_counts_on_its_day() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let files = good_files();
    let a = upload(&admin, &files[0]).await.song;
    let b = upload(&admin, &files[1]).await.song;
    let alice = server.listener(&admin, "alice").await;

    // The reply to the first report is lost; the player sends the same report again, twice.
    let report = play(a.id, "5f0c2a9e3b7d4e18a6c1", Some(now() - 60));
    for _ in 0..3 {
        alice.report_play(&report).await.expect("a resend succeeds");
    }
    assert_eq!(hot(&alice, 1).await, [(a.id, 1)]);
    // Ids belong to a user: the admin's play with the same id is a play of its own.
    admin.report_play(&report).await.unwrap();
    assert_eq!(hot(&alice, 1).await, [(a.id, 2)]);
    // Reusing an id for another song is a client bug: refused, and nothing is counted.
    let reused = alice
        .report_play(&play(b.id, "5f0c2a9e3b7d4e18a6c1", None))
        .await
        .unwrap_err();
    assert_eq!(reused.status(), Some(409), "{reused}");

    // Heard three days ago, reported now: outside the last day, inside the last week.
    let heard = now() - 3 * DAY;
    alice
        .report_play(&play(b.id, "late-c9d8e7f6a5b4", Some(heard)))
        .await
        .unwrap();
    alice
        .report_play(&play(b.id, "late-c9d8e7f6a5b4", Some(heard)))
        .await
        .unwrap();
    assert_eq!(hot(&alice, 1).await, [(a.id, 2)]);
    assert_eq!(hot(&alice, 2).await, [(a.id, 2)]);
    assert_eq!(hot(&alice, 4).await, [(a.id, 2), (b.id, 1)]);
    // Old clients (no id, no time) still count every report, now.
    alice.record_play(b.id, None).await.unwrap();
    alice.record_play(b.id, None).await.unwrap();
    assert_eq!(hot(&alice, 1).await, [(a.id, 2), (b.id, 2)]);
    assert_eq!(admin.stats().await.unwrap().plays, 5);
}

#[tokio::test]
async fn bad_play_reports_are_400s_that_name_the_field() {
    let server = TestServer::start();
    let admin = server.admin().await;
    let song = upload(&admin, &good_files()[0]).await.song;

    let ahead = bad_request(
        admin
            .report_play(&play(song.id, "future-0123456789", Some(now() + 3_600)))
            .await,
    );
    assert!(
        ahead.starts_with("played_at ") && ahead.contains("clock"),
        "{ahead}"
    );
    let stale = bad_request(
        admin
            .report_play(&play(song.id, "stale-0123456789", Some(now() - 31 * DAY)))
            .await,
    );
    assert!(
        stale.starts_with("played_at ") && stale.contains("30 days"),
        "{stale}"
    );
    let short = bad_request(admin.report_play(&play(song.id, "abc", None)).await);
    assert!(short.starts_with("play_id must be 8 to 64"), "{short}");
    let long = bad_request(
        admin
            .report_play(&play(song.id, &"f".repeat(65), None))
            .await,
    );
    assert!(long.contains("65 bytes"), "{long}");

    // A value of the wrong type is named too (the typed client cannot send one).
    let response = admin
        .request(Method::POST, "/plays")
        .unwrap()
        .json(&serde_json::json!({"song_id": song.id, "played_at": "yesterday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: cadenza_api::ErrorBody = response.json().await.unwrap();
    assert!(
        body.error
            .message
            .starts_with("`played_at` in the JSON body"),
        "{}",
        body.error.message
    );

    assert_eq!(admin.stats().await.unwrap().plays, 0, "none was recorded");
    // Four weeks late is still inside the window.
    admin
        .report_play(&play(song.id, "edge-0123456789", Some(now() - 29 * DAY)))
        .await
        .unwrap();
    assert_eq!(admin.stats().await.unwrap().plays, 1);
}
