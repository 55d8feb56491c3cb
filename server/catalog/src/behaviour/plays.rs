//! Play events and the hot chart built from them.

use super::{song, user, Subject};
use crate::{Catalog, CatalogError, PlayOutcome};
use cadenza_api::RecordPlay;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn report(song: i64, play_id: Option<&str>, played_at: Option<i64>) -> RecordPlay {
    RecordPlay {
        play_id: play_id.map(String::from),
        played_at,
        ..RecordPlay::now(song, Some(30_000))
    }
}

fn hot_counts(cat: &dyn Catalog, since: i64) -> Vec<(i64, u64)> {
    cat.hot(since, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.song.id, e.plays))
        .collect()
}

fn a_play_id_reported_twice_counts_once_per_user(subject: &Subject) {
    let cat = &**subject;
    let (u, v) = (user(cat, "u"), user(cat, "v"));
    let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
    let t = cat.insert_song(&song(2, "T", "A", "B"), 0).unwrap().0.id;
    let id = "0123456789abcdef";
    let first = cat.report_play(u, &report(s, Some(id), None), NOW);
    assert_eq!(first.unwrap(), PlayOutcome::Recorded);
    // The resend after a lost reply, a few seconds later with its original time.
    let again = cat.report_play(u, &report(s, Some(id), Some(NOW)), NOW + 30);
    assert_eq!(again.unwrap(), PlayOutcome::AlreadyRecorded);
    assert_eq!(hot_counts(cat, 0), [(s, 1)]);
    // Ids are per user, and reports without one are never merged.
    let other = cat.report_play(v, &report(s, Some(id), None), NOW);
    assert_eq!(other.unwrap(), PlayOutcome::Recorded);
    for _ in 0..2 {
        let plain = cat.report_play(u, &RecordPlay::now(s, None), NOW);
        assert_eq!(plain.unwrap(), PlayOutcome::Recorded);
    }
    assert_eq!(hot_counts(cat, 0), [(s, 4)]);
    // The same id for another song is a client bug, said so, and changes nothing.
    let err = cat
        .report_play(u, &report(t, Some(id), None), NOW)
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::Conflict(m) if m.contains("already reported for song")),
        "{err}"
    );
    assert_eq!(hot_counts(cat, 0), [(s, 4)]);
}

fn a_late_report_is_filed_under_its_played_at(subject: &Subject) {
    let cat = &**subject;
    let u = user(cat, "u");
    let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
    let heard = NOW - 3 * DAY;
    let late = cat.report_play(u, &report(s, Some("late-play-0001"), Some(heard)), NOW);
    assert_eq!(late.unwrap(), PlayOutcome::Recorded);
    assert!(hot_counts(cat, NOW - DAY).is_empty(), "not in the last day");
    assert_eq!(hot_counts(cat, heard), [(s, 1)]);
    assert!(hot_counts(cat, heard + 1).is_empty(), "at its time exactly");
    // Without played_at the play is filed now.
    cat.report_play(u, &report(s, None, None), NOW).unwrap();
    assert_eq!(hot_counts(cat, NOW), [(s, 1)]);
}

fn times_outside_the_window_and_malformed_ids_are_refused_and_record_nothing(subject: &Subject) {
    let cat = &**subject;
    let u = user(cat, "u");
    let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
    let refused = |play: RecordPlay, field: &str| {
        let err = cat.report_play(u, &play, NOW).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid(m) if m.starts_with(field)),
            "{play:?}: {err}"
        );
    };
    let ahead = RecordPlay::MAX_AHEAD_SECS;
    let oldest = RecordPlay::MAX_AGE_SECS;
    refused(report(s, None, Some(NOW + ahead + 1)), "played_at");
    refused(report(s, None, Some(NOW - oldest - 1)), "played_at");
    refused(report(s, None, Some(i64::MIN)), "played_at");
    refused(report(s, None, Some(i64::MAX)), "played_at");
    refused(report(s, Some("short"), None), "play_id");
    refused(report(s, Some(&"a".repeat(65)), None), "play_id");
    refused(report(s, Some("has spaces in it"), None), "play_id");
    refused(report(s, Some("ünïcödé-id"), None), "play_id");
    assert_eq!(cat.stats(NOW).unwrap().plays, 0);
    // The edges themselves are accepted.
    for (id, at) in [("edge-ahead", NOW + ahead), ("edge-oldest", NOW - oldest)] {
        let ok = cat.report_play(u, &report(s, Some(id), Some(at)), NOW);
        assert_eq!(ok.unwrap(), PlayOutcome::Recorded);
    }
    let longest = "x".repeat(RecordPlay::PLAY_ID_MAX_LEN);
    cat.report_play(u, &report(s, Some(&longest), None), NOW)
        .unwrap();
    assert_eq!(cat.stats(NOW).unwrap().plays, 3);
}

fn the_hot_chart_counts_plays_inside_the_window_and_breaks_ties_by_title(subject: &Subject) {
    let cat = &**subject;
    let u = user(cat, "u");
    let id = |n, title: &str| cat.insert_song(&song(n, title, "A", "B"), 0).unwrap().0.id;
    let (zulu, alpha, mid, old) = (id(1, "Zulu"), id(2, "alpha"), id(3, "Mid"), id(4, "Old"));
    for (song, at) in [
        (zulu, 100),
        (zulu, 150),
        (alpha, 120),
        (alpha, 130),
        (mid, 140),
        (old, 10),
        (old, 20),
        (old, 30),
    ] {
        cat.record_play(u, song, Some(1_000), at).unwrap();
    }
    let chart: Vec<(String, u64)> = cat
        .hot(100, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.song.title, e.plays))
        .collect();
    assert_eq!(
        chart,
        [
            ("alpha".to_string(), 2),
            ("Zulu".to_string(), 2),
            ("Mid".to_string(), 1)
        ]
    );
    assert_eq!(cat.hot(0, 1).unwrap()[0].song.title, "Old");
    assert!(cat.hot(1_000, 10).unwrap().is_empty());
    // All-time plays order the artist's top songs.
    let top: Vec<String> = cat
        .artist(cat.song(old).unwrap().artist_id)
        .unwrap()
        .top_songs
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(top, ["Old", "alpha", "Zulu", "Mid"]);
}

fn plays_of_unknown_songs_or_users_are_not_found(subject: &Subject) {
    let cat = &**subject;
    let u = user(cat, "u");
    let err = cat.record_play(u, 77, None, 0).unwrap_err();
    assert!(matches!(&err, CatalogError::NotFound(m) if m == "song 77 does not exist"));
    let s = cat.insert_song(&song(1, "S", "A", "B"), 0).unwrap().0.id;
    assert!(matches!(
        cat.record_play(99, s, None, 0),
        Err(CatalogError::NotFound(_))
    ));
    // Reports too, with or without a play_id; a missing user is named before a missing song.
    for play_id in [None, Some("0123456789abcdef")] {
        let err = cat
            .report_play(u, &report(77, play_id, None), NOW)
            .unwrap_err();
        assert!(
            matches!(&err, CatalogError::NotFound(m) if m == "song 77 does not exist"),
            "{err}"
        );
        let err = cat
            .report_play(99, &report(77, play_id, None), NOW)
            .unwrap_err();
        assert!(
            matches!(&err, CatalogError::NotFound(m) if m == "user 99 does not exist"),
            "{err}"
        );
    }
    assert_eq!(cat.stats(NOW).unwrap().plays, 0);
}

super::both!(
    a_play_id_reported_twice_counts_once_per_user,
    a_late_report_is_filed_under_its_played_at,
    times_outside_the_window_and_malformed_ids_are_refused_and_record_nothing,
    the_hot_chart_counts_plays_inside_the_window_and_breaks_ties_by_title,
    plays_of_unknown_songs_or_users_are_not_found,
);
