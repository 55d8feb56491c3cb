//! Stars and ratings: per listener, following deletions.

use super::{song, user, Subject};
use crate::{Annotation, CatalogError, Item};

fn stars_and_ratings_are_per_listener_and_follow_deletions(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "alice");
    let bob = user(cat, "bob");
    let (a, _) = cat.insert_song(&song(1, "A", "X", "Album"), 0).unwrap();
    let (b, _) = cat.insert_song(&song(2, "B", "Y", "Other"), 0).unwrap();

    cat.set_starred(
        alice,
        &[Item::Song(a.id), Item::Album(a.album_id)],
        true,
        10,
    )
    .unwrap();
    cat.set_starred(alice, &[Item::Song(b.id)], true, 20)
        .unwrap();
    cat.set_starred(alice, &[Item::Song(a.id)], true, 30)
        .unwrap();
    let unknown = cat.set_starred(alice, &[Item::Song(b.id), Item::Artist(999)], true, 40);
    assert!(matches!(unknown, Err(CatalogError::NotFound(_))));
    cat.set_rating(alice, Item::Song(a.id), Some(4)).unwrap();
    assert!(matches!(
        cat.set_rating(alice, Item::Song(a.id), Some(6)),
        Err(CatalogError::Invalid(_))
    ));

    let starred = cat.starred(alice).unwrap();
    let songs: Vec<(i64, i64)> = starred.songs.iter().map(|(s, t)| (s.id, *t)).collect();
    assert_eq!(
        songs,
        vec![(b.id, 20), (a.id, 10)],
        "the first star's time is kept"
    );
    assert_eq!(starred.albums.len(), 1);
    assert!(cat.starred(bob).unwrap().songs.is_empty());

    let marks = cat
        .annotations(
            alice,
            &[
                Item::Song(a.id),
                Item::Song(b.id),
                Item::Artist(a.artist_id),
            ],
        )
        .unwrap();
    assert_eq!(
        marks[&Item::Song(a.id)],
        Annotation {
            starred_at: Some(10),
            rating: Some(4)
        }
    );
    assert!(!marks.contains_key(&Item::Artist(a.artist_id)));

    cat.set_starred(alice, &[Item::Song(a.id)], false, 50)
        .unwrap();
    cat.set_rating(alice, Item::Song(a.id), None).unwrap();
    assert!(cat
        .annotations(alice, &[Item::Song(a.id)])
        .unwrap()
        .is_empty());

    cat.delete_song(b.id).unwrap();
    let starred = cat.starred(alice).unwrap();
    assert!(
        starred.songs.is_empty(),
        "deleting the song removes its star"
    );
}

super::both!(stars_and_ratings_are_per_listener_and_follow_deletions,);
