//! Album lists and random songs for third-party clients.

use super::{song, user, Subject};
use crate::{AlbumList, Item, SongFilter};
use cadenza_api::PageRequest;

fn album_lists_follow_their_orders(subject: &Subject) {
    let cat = &**subject;
    let alice = user(cat, "alice");
    let mut ids = Vec::new();
    for (i, (album, artist, year, genre)) in [
        ("Charlie", "Zed", 1990, "Rock"),
        ("alpha", "Yan", 2005, "Jazz"),
        ("Bravo", "Xu", 1999, "Rock"),
    ]
    .iter()
    .enumerate()
    {
        let mut s = song(i as u64, "T", artist, album);
        s.year = Some(*year);
        s.genre = Some(genre.to_string());
        ids.push(cat.insert_song(&s, 0).unwrap().0);
    }
    let page = PageRequest {
        limit: 10,
        offset: 0,
    };
    let titles = |list: AlbumList| -> Vec<String> {
        cat.album_list(&list, page, alice)
            .unwrap()
            .into_iter()
            .map(|a| a.title)
            .collect()
    };
    assert_eq!(titles(AlbumList::ByName), ["alpha", "Bravo", "Charlie"]);
    assert_eq!(titles(AlbumList::ByArtist), ["Bravo", "alpha", "Charlie"]);
    assert_eq!(titles(AlbumList::Newest), ["Bravo", "alpha", "Charlie"]);
    assert_eq!(
        titles(AlbumList::ByYear {
            from: 2010,
            to: 1995
        }),
        ["alpha", "Bravo"]
    );
    assert_eq!(
        titles(AlbumList::ByGenre("rock".into())),
        ["Bravo", "Charlie"]
    );
    assert_eq!(titles(AlbumList::Random).len(), 3);
    assert!(titles(AlbumList::Frequent).is_empty());

    cat.record_play(alice, ids[0].id, None, 5).unwrap();
    cat.record_play(alice, ids[0].id, None, 6).unwrap();
    cat.record_play(alice, ids[2].id, None, 9).unwrap();
    assert_eq!(titles(AlbumList::Frequent), ["Charlie", "Bravo"]);
    assert_eq!(titles(AlbumList::Recent), ["Bravo", "Charlie"]);

    cat.set_starred(alice, &[Item::Album(ids[1].album_id)], true, 1)
        .unwrap();
    cat.set_rating(alice, Item::Album(ids[2].album_id), Some(5))
        .unwrap();
    assert_eq!(titles(AlbumList::Starred), ["alpha"]);
    assert_eq!(titles(AlbumList::Highest), ["Bravo"]);

    let random = cat.random_songs(&SongFilter::default(), 10).unwrap();
    let mut got: Vec<i64> = random.iter().map(|s| s.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids.iter().map(|s| s.id).collect::<Vec<_>>());
    let rock = SongFilter {
        genre: Some("Rock".into()),
        from_year: Some(1995),
        to_year: None,
    };
    let picked = cat.random_songs(&rock, 10).unwrap();
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].id, ids[2].id);

    assert_eq!(cat.artist_by_name(" yan ").unwrap(), Some(ids[1].artist_id));
    assert_eq!(cat.artist_by_name("nobody").unwrap(), None);
    assert_eq!(cat.library_updated_at().unwrap(), Some(0));
}

super::both!(album_lists_follow_their_orders,);
