//! Now playing, and saved play queues.

use super::{song, user, Subject};
use crate::CatalogError;

fn now_playing_lasts_about_a_song_and_one_entry_per_listener(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "alice");
    let (a, _) = cat.insert_song(&song(1, "A", "X", "Y"), 0).unwrap();
    let (b, _) = cat.insert_song(&song(2, "B", "X", "Y"), 0).unwrap();
    cat.set_now_playing(alice, a.id, "phone", 1_000).unwrap();
    cat.set_now_playing(alice, b.id, "  ", 1_010).unwrap();
    let playing = cat.now_playing(1_100).unwrap();
    assert_eq!(playing.len(), 1);
    assert_eq!(
        (playing[0].song.id, playing[0].client.as_str()),
        (b.id, "unknown client")
    );
    // 180 s song + 300 s grace.
    assert_eq!(cat.now_playing(1_010 + 480).unwrap().len(), 1);
    assert!(cat.now_playing(1_010 + 481).unwrap().is_empty());
    assert!(matches!(
        cat.set_now_playing(alice, 999, "x", 0),
        Err(CatalogError::NotFound(_))
    ));
}

fn a_play_queue_is_saved_replaced_cleared_and_survives_deletions(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "alice");
    let (a, _) = cat.insert_song(&song(1, "A", "X", "Y"), 0).unwrap();
    let (b, _) = cat.insert_song(&song(2, "B", "X", "Y"), 0).unwrap();
    assert!(cat.play_queue(alice).unwrap().is_none());
    cat.save_play_queue(alice, &[b.id, a.id, b.id], Some(a.id), 1_500, "desk", 7)
        .unwrap();
    let queue = cat.play_queue(alice).unwrap().unwrap();
    let ids: Vec<i64> = queue.songs.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![b.id, a.id, b.id]);
    assert_eq!(
        (queue.current, queue.position_ms, queue.changed_by.as_str()),
        (Some(a.id), 1_500, "desk")
    );
    assert!(matches!(
        cat.save_play_queue(alice, &[999], None, 0, "desk", 8),
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(
        cat.play_queue(alice).unwrap().unwrap().songs.len(),
        3,
        "unchanged"
    );

    cat.delete_song(a.id).unwrap();
    let queue = cat.play_queue(alice).unwrap().unwrap();
    assert_eq!(queue.songs.len(), 2);
    assert_eq!(queue.current, None);

    cat.save_play_queue(alice, &[], None, 0, "desk", 9).unwrap();
    assert!(cat.play_queue(alice).unwrap().is_none());
}

super::both!(
    now_playing_lasts_about_a_song_and_one_entry_per_listener,
    a_play_queue_is_saved_replaced_cleared_and_survives_deletions,
);
