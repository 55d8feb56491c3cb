//! Browsing: pages of songs, albums and artists, and the detail of one.

use super::{song, Subject};
use crate::CatalogError;
use cadenza_api::PageRequest;

fn listings_are_sorted_paged_and_totalled(subject: &Subject) {
    let cat = &**subject;
    let names = ["delta", "Alpha", "charlie", "Bravo", "echo"];
    for (i, name) in names.iter().enumerate() {
        let mut s = song(
            i as u64,
            name,
            &format!("Artist {name}"),
            &format!("Album {name}"),
        );
        s.genre = Some(if i % 2 == 0 { "Even" } else { "Odd" }.into());
        cat.insert_song(&s, 0).unwrap();
    }
    let page = cat
        .songs(PageRequest {
            limit: 2,
            offset: 1,
        })
        .unwrap();
    let titles: Vec<&str> = page.items.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        (titles, page.total, page.limit, page.offset),
        (vec!["Bravo", "charlie"], 5, 2, 1)
    );
    let past = cat
        .songs(PageRequest {
            limit: 2,
            offset: 9,
        })
        .unwrap();
    assert_eq!((past.items.len(), past.total), (0, 5));
    let none = cat
        .songs(PageRequest {
            limit: 0,
            offset: 0,
        })
        .unwrap();
    assert_eq!((none.items.len(), none.total), (0, 5));
    let huge = cat
        .songs(PageRequest {
            limit: u32::MAX,
            offset: 0,
        })
        .unwrap();
    assert_eq!((huge.items.len(), huge.limit), (5, crate::paging::MAX_PAGE));

    let albums = cat
        .albums(PageRequest {
            limit: 10,
            offset: 0,
        })
        .unwrap();
    assert_eq!(albums.items[0].title, "Album Alpha");
    assert_eq!(
        (
            albums.total,
            albums.items[0].song_count,
            albums.items[0].genre.as_deref()
        ),
        (5, 1, Some("Odd"))
    );
    let artists = cat
        .artists(PageRequest {
            limit: 3,
            offset: 3,
        })
        .unwrap();
    let names: Vec<&str> = artists.items.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        (names, artists.total),
        (vec!["Artist delta", "Artist echo"], 5)
    );

    let genres = cat.genres().unwrap();
    let counts: Vec<(&str, u32, u32)> = genres
        .iter()
        .map(|g| (g.name.as_str(), g.song_count, g.album_count))
        .collect();
    assert_eq!(counts, [("Even", 3, 3), ("Odd", 2, 2)]);
    let even = cat
        .genre_songs(
            "EVEN",
            PageRequest {
                limit: 2,
                offset: 0,
            },
        )
        .unwrap();
    let titles: Vec<&str> = even.items.iter().map(|s| s.title.as_str()).collect();
    assert_eq!((titles, even.total), (vec!["charlie", "delta"], 3));
    let err = cat
        .genre_songs("Polka", PageRequest::default())
        .unwrap_err();
    assert!(matches!(&err, CatalogError::NotFound(m) if m == "genre \"Polka\" does not exist"));
}

fn details_of_missing_rows_are_named(subject: &Subject) {
    let cat = &**subject;
    for (err, what) in [
        (cat.song(5).unwrap_err(), "song 5"),
        (cat.album(6).unwrap_err(), "album 6"),
        (cat.artist(7).unwrap_err(), "artist 7"),
        (cat.song_blob(8).unwrap_err(), "song 8"),
        (cat.episode_blob(9).unwrap_err(), "episode 9"),
    ] {
        assert_eq!(err.to_string(), format!("{what} does not exist"));
    }
    let s = cat.insert_song(&song(1, "T", "A", "B"), 77).unwrap().0;
    let blob = cat.song_blob(s.id).unwrap();
    assert_eq!(
        (blob.size, blob.created_at, blob.content_type.as_str()),
        (1_001, 77, "audio/mpeg")
    );
    assert_eq!(blob.used_by, format!("song {}: T", s.id));
    assert_eq!(cat.album_cover(s.album_id).unwrap(), None);
}

super::both!(
    listings_are_sorted_paged_and_totalled,
    details_of_missing_rows_are_named,
);
