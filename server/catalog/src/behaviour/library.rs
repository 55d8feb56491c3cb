//! Adding and deleting songs, with the artists, albums and genres they hang from.

use super::{cover, hash, song, user, Subject};
use crate::CatalogError;
use cadenza_api::CreatePlaylist;

fn inserting_the_same_bytes_twice_returns_the_first_song(subject: &Subject) {
    let cat = &**subject;
    let (first, created) = cat
        .insert_song(&song(1, "Jóga", "Björk", "Homogenic"), 10)
        .unwrap();
    assert!(created);
    assert_eq!(
        (
            first.title.as_str(),
            first.artist.as_str(),
            first.created_at
        ),
        ("Jóga", "Björk", 10)
    );
    let mut again = song(1, "Other title", "Other", "Other");
    again.size = 1;
    let (second, created) = cat.insert_song(&again, 20).unwrap();
    assert!(!created);
    assert_eq!(second, first);
    assert_eq!(cat.songs(Default::default()).unwrap().total, 1);
    assert_eq!(cat.song_by_hash(&hash(1)).unwrap(), Some(first));
    assert_eq!(cat.song_by_hash(&hash(2)).unwrap(), None);
}

fn songs_group_into_albums_and_artists_ignoring_case(subject: &Subject) {
    let cat = &**subject;
    let (a, _) = cat
        .insert_song(&song(1, "One", "The Band", "First"), 0)
        .unwrap();
    let (b, _) = cat
        .insert_song(&song(2, "Two", "THE BAND ", "first"), 0)
        .unwrap();
    let (c, _) = cat
        .insert_song(&song(3, "Three", "The Band", "Second"), 0)
        .unwrap();
    assert_eq!(a.artist_id, b.artist_id);
    assert_eq!(a.album_id, b.album_id);
    assert_eq!(b.artist, "The Band", "the first spelling is kept");
    assert_ne!(a.album_id, c.album_id);
    let artist = cat.artist(a.artist_id).unwrap().artist;
    assert_eq!((artist.song_count, artist.album_count), (3, 2));
    let album = cat.album(a.album_id).unwrap().album;
    assert_eq!((album.song_count, album.duration_ms), (2, 360_000));
}

fn compilations_are_filed_under_the_album_artist(subject: &Subject) {
    let cat = &**subject;
    let mut one = song(1, "Hit", "Singer A", "Now 1");
    one.album_artist = Some("Various Artists".into());
    let mut two = song(2, "Other Hit", "Singer B", "Now 1");
    two.album_artist = Some("Various Artists".into());
    let (a, _) = cat.insert_song(&one, 0).unwrap();
    let (b, _) = cat.insert_song(&two, 0).unwrap();
    assert_eq!(a.album_id, b.album_id);
    assert_ne!(a.artist_id, b.artist_id);
    let album = cat.album(a.album_id).unwrap().album;
    assert_eq!(album.artist, "Various Artists");
    // The track artist sees the album they appear on.
    let singer = cat.artist(a.artist_id).unwrap();
    assert_eq!(singer.albums.len(), 1);
    assert_eq!(singer.artist.album_count, 1);
}

fn the_first_cover_year_and_genre_seen_stay_with_the_album(subject: &Subject) {
    let cat = &**subject;
    let mut one = song(1, "A", "X", "Album");
    one.cover = Some(cover(1));
    one.year = Some(1999);
    let mut two = song(2, "B", "X", "Album");
    two.cover = Some(cover(2));
    two.year = Some(2005);
    two.genre = Some("Rock".into());
    let (a, _) = cat.insert_song(&one, 0).unwrap();
    cat.insert_song(&two, 0).unwrap();
    let album = cat.album(a.album_id).unwrap().album;
    assert_eq!(
        (album.year, album.genre.as_deref(), album.has_cover),
        (Some(1999), Some("Rock"), true)
    );
    let c = cat.album_cover(a.album_id).unwrap().unwrap();
    assert_eq!(
        (c.hash, c.size, c.content_type.as_str()),
        (cover(1).hash, cover(1).size, "image/jpeg")
    );
    assert!(matches!(
        cat.album_cover(999),
        Err(CatalogError::NotFound(_))
    ));
}

fn album_tracks_follow_disc_then_track_order(subject: &Subject) {
    let cat = &**subject;
    let tracks = [
        (1, "D2T1", Some(2), Some(1)),
        (2, "D1T2", Some(1), Some(2)),
        (3, "D1T1", Some(1), Some(1)),
        (4, "Untracked", None, None),
        (5, "D2T2", Some(2), Some(2)),
    ];
    let mut album_id = 0;
    for (n, title, disc, track) in tracks {
        let mut s = song(n, title, "Live Band", "Live at the Lab");
        s.disc = disc;
        s.track = track;
        album_id = cat.insert_song(&s, 0).unwrap().0.album_id;
    }
    let titles: Vec<String> = cat
        .album(album_id)
        .unwrap()
        .tracks
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(titles, ["D1T1", "D1T2", "Untracked", "D2T1", "D2T2"]);
}

fn bad_songs_are_refused_with_the_field_named(subject: &Subject) {
    let cat = &**subject;
    let cases = [
        (song(1, " ", "A", "B"), "song title is empty"),
        (song(1, "T", "", "B"), "artist name is empty"),
        (song(1, "T", "A", "\t"), "album title is empty"),
        (
            NewSongExt::with_hash(song(1, "T", "A", "B"), "XYZ"),
            "not a lowercase hex SHA-256",
        ),
    ];
    for (s, msg) in cases {
        let err = cat.insert_song(&s, 0).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid(m) if m.contains(msg)),
            "{err}"
        );
    }
    let mut huge = song(1, "T", "A", "B");
    huge.size = u64::MAX;
    assert!(matches!(
        cat.insert_song(&huge, 0),
        Err(CatalogError::Invalid(_))
    ));
    assert_eq!(cat.songs(Default::default()).unwrap().total, 0);
    assert_eq!(
        cat.artists(Default::default()).unwrap().total,
        0,
        "nothing half-written"
    );
}

trait NewSongExt {
    fn with_hash(self, hash: &str) -> Self;
}
impl NewSongExt for crate::NewSong {
    fn with_hash(mut self, hash: &str) -> Self {
        self.hash = hash.into();
        self
    }
}

fn deleting_the_last_song_cleans_up_and_returns_unused_blobs(subject: &Subject) {
    let cat = &**subject;
    let mut one = song(1, "Solo", "Lonely", "Only Album");
    one.cover = Some(cover(7));
    one.genre = Some("Drone".into());
    let (s, _) = cat.insert_song(&one, 0).unwrap();
    let freed = cat.delete_song(s.id).unwrap();
    assert_eq!(freed, vec![hash(1), cover(7).hash]);
    assert!(
        matches!(cat.song(s.id), Err(CatalogError::NotFound(m)) if m == format!("song {} does not exist", s.id))
    );
    assert!(matches!(
        cat.album(s.album_id),
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        cat.artist(s.artist_id),
        Err(CatalogError::NotFound(_))
    ));
    assert!(cat.genres().unwrap().is_empty());
    assert!(cat
        .search("lonely", Default::default(), Default::default(), 0)
        .unwrap()
        .artists
        .items
        .is_empty());
    assert!(matches!(
        cat.delete_song(s.id),
        Err(CatalogError::NotFound(_))
    ));
}

fn shared_blobs_and_busy_albums_survive_a_deletion(subject: &Subject) {
    let cat = &**subject;
    let mut one = song(1, "One", "Band", "Album");
    one.cover = Some(cover(1));
    one.year = Some(2001);
    one.genre = Some("Pop".into());
    let mut two = song(2, "Two", "Band", "Album");
    two.year = Some(2003);
    two.genre = Some("Jazz".into());
    // Another album with the same cover image.
    let mut three = song(3, "Three", "Band", "Other Album");
    three.cover = Some(cover(1));
    let (a, _) = cat.insert_song(&one, 0).unwrap();
    cat.insert_song(&two, 0).unwrap();
    let (c, _) = cat.insert_song(&three, 0).unwrap();
    assert_eq!(cat.delete_song(a.id).unwrap(), vec![hash(1)]);
    let album = cat.album(a.album_id).unwrap().album;
    assert_eq!(
        (album.song_count, album.year, album.genre.as_deref()),
        (1, Some(2003), Some("Jazz"))
    );
    assert!(album.has_cover, "the album keeps its cover while it exists");
    let genres: Vec<String> = cat.genres().unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(genres, ["Jazz"], "Pop had no songs left");
    // The cover is still used by the other album until both are gone.
    let freed = cat.delete_song(c.id).unwrap();
    assert_eq!(freed, vec![hash(3)]);
    let last = cat.album(a.album_id).unwrap().tracks[0].id;
    assert_eq!(cat.delete_song(last).unwrap(), vec![hash(2), cover(1).hash]);
    assert_eq!(cat.artists(Default::default()).unwrap().total, 0);
}

fn deleting_a_song_removes_it_from_playlists_and_plays(subject: &Subject) {
    let cat = &**subject;
    let owner = user(cat, "owner");
    let ids: Vec<i64> = (1..=4)
        .map(|n| {
            cat.insert_song(&song(n, &format!("S{n}"), "A", "B"), 0)
                .unwrap()
                .0
                .id
        })
        .collect();
    let list = cat
        .create_playlist(
            owner,
            &CreatePlaylist {
                name: "L".into(),
                public: false,
            },
            0,
        )
        .unwrap();
    // S2 appears twice.
    let order = [ids[0], ids[1], ids[2], ids[1], ids[3]];
    cat.add_tracks(list.id, owner, &order, None, 0).unwrap();
    cat.record_play(owner, ids[1], None, 5).unwrap();
    cat.delete_song(ids[1]).unwrap();
    let tracks: Vec<String> = cat
        .playlist(list.id, owner)
        .unwrap()
        .tracks
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(tracks, ["S1", "S3", "S4"]);
    assert_eq!(subject.positions(list.id), [0, 1, 2]);
    // Positions are dense again: the last one can be removed by its new index.
    let detail = cat.remove_track(list.id, owner, 2, 1).unwrap();
    assert_eq!(detail.playlist.song_count, 2);
    assert_eq!(cat.stats(10).unwrap().plays, 0);
}

fn a_deleted_newest_song_and_album_leave_their_ids_unused(subject: &Subject) {
    let cat = &**subject;
    // Stream and cover URLs are cached as immutable under these ids, so a new upload
    // must not take over the id of a deleted one.
    cat.insert_song(&song(1, "Kept", "A", "Kept Album"), 0)
        .unwrap();
    let mut gone = song(2, "Gone", "B", "Gone Album");
    gone.cover = Some(cover(2));
    let (gone, _) = cat.insert_song(&gone, 0).unwrap();
    cat.delete_song(gone.id).unwrap();
    let mut next = song(3, "Next", "C", "Next Album");
    next.cover = Some(cover(3));
    let (next, created) = cat.insert_song(&next, 0).unwrap();
    assert!(created);
    assert!(next.id > gone.id, "song {} reused", next.id);
    assert!(
        next.album_id > gone.album_id,
        "album {} reused",
        next.album_id
    );
    assert_eq!(
        cat.album_cover(next.album_id).unwrap().map(|b| b.hash),
        Some(cover(3).hash)
    );
    assert!(matches!(
        cat.album_cover(gone.album_id),
        Err(CatalogError::NotFound(_))
    ));
}

fn a_song_with_several_artists_and_genres_shows_and_lists_under_each(subject: &Subject) {
    let cat = &**subject;
    let mut duet = song(1, "Two Voices", "Alpha Singer", "Odd Couples");
    duet.other_artists = vec!["Beta Singer".into(), " ".into(), "alpha singer".into()];
    duet.album_artist = Some("Various Artists".into());
    duet.genre = Some("Rock".into());
    duet.other_genres = vec!["Pop".into()];
    let (s, _) = cat.insert_song(&duet, 0).unwrap();
    assert_eq!(s.artist, "Alpha Singer, Beta Singer");
    let names: Vec<&str> = s.artists.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["Alpha Singer", "Beta Singer"],
        "blank and repeated names drop"
    );
    assert_eq!(s.artists[0].id, s.artist_id);
    assert_eq!(
        (s.genre.as_deref(), s.genres.as_slice()),
        (
            Some("Rock"),
            ["Rock".to_string(), "Pop".to_string()].as_slice()
        )
    );
    let beta = s.artists[1].id;

    // Found under either artist, listed on both artist pages with the album.
    for query in ["alpha", "beta", "pop"] {
        let found = cat
            .search(query, Default::default(), Default::default(), 0)
            .unwrap();
        assert_eq!(found.songs.items, std::slice::from_ref(&s), "{query}");
    }
    for artist in [s.artist_id, beta] {
        let page = cat.artist(artist).unwrap();
        assert_eq!(page.top_songs, std::slice::from_ref(&s));
        assert_eq!(page.albums.len(), 1);
        assert_eq!(page.albums[0].artist, "Various Artists");
        assert_eq!((page.artist.song_count, page.artist.album_count), (1, 1));
    }
    for genre in ["Rock", "pop"] {
        let songs = cat.genre_songs(genre, Default::default()).unwrap();
        assert_eq!((songs.items, songs.total), (vec![s.clone()], 1), "{genre}");
    }

    // Deleting the song leaves no artist or genre without songs behind.
    cat.delete_song(s.id).unwrap();
    assert_eq!(cat.artists(Default::default()).unwrap().total, 0);
    assert!(cat.genres().unwrap().is_empty());
}

fn a_featured_artist_keeps_their_own_songs_when_a_duet_goes(subject: &Subject) {
    let cat = &**subject;
    let (solo, _) = cat
        .insert_song(&song(1, "Solo", "Beta Singer", "Own"), 0)
        .unwrap();
    let mut duet = song(2, "Duet", "Alpha Singer", "Shared");
    duet.other_artists = vec!["Beta Singer".into()];
    let (duet, _) = cat.insert_song(&duet, 0).unwrap();
    assert_eq!(
        duet.artists[1].id, solo.artist_id,
        "one artist row per name"
    );
    assert_eq!(cat.artist(solo.artist_id).unwrap().artist.song_count, 2);
    cat.delete_song(duet.id).unwrap();
    let beta = cat.artist(solo.artist_id).unwrap();
    assert_eq!((beta.artist.song_count, beta.albums.len()), (1, 1));
    assert!(
        cat.artist(duet.artist_id).is_err(),
        "Alpha had only the duet"
    );
}

super::both!(
    inserting_the_same_bytes_twice_returns_the_first_song,
    songs_group_into_albums_and_artists_ignoring_case,
    compilations_are_filed_under_the_album_artist,
    the_first_cover_year_and_genre_seen_stay_with_the_album,
    album_tracks_follow_disc_then_track_order,
    bad_songs_are_refused_with_the_field_named,
    deleting_the_last_song_cleans_up_and_returns_unused_blobs,
    shared_blobs_and_busy_albums_survive_a_deletion,
    deleting_a_song_removes_it_from_playlists_and_plays,
    a_deleted_newest_song_and_album_leave_their_ids_unused,
    a_song_with_several_artists_and_genres_shows_and_lists_under_each,
    a_featured_artist_keeps_their_own_songs_when_a_duet_goes,
);
