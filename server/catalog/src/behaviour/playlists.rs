//! Playlists: owners change them, others read public ones; positions stay dense.

use super::{song, user, Subject};
use crate::{Catalog, CatalogError};
use cadenza_api::{CreatePlaylist, PageRequest, PlaylistDetail, UpdatePlaylist};

fn titles(d: &PlaylistDetail) -> Vec<&str> {
    d.tracks.iter().map(|s| s.title.as_str()).collect()
}

/// Five songs A..E, their ids in order.
fn five(cat: &dyn Catalog) -> Vec<i64> {
    ["A", "B", "C", "D", "E"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            cat.insert_song(&song(i as u64 + 1, t, "X", "Y"), 0)
                .unwrap()
                .0
                .id
        })
        .collect()
}

fn create(cat: &dyn Catalog, owner: i64, name: &str, public: bool) -> i64 {
    let new = CreatePlaylist {
        name: name.into(),
        public,
    };
    cat.create_playlist(owner, &new, 100).unwrap().id
}

fn only_the_owner_changes_a_playlist_others_get_403_or_404(subject: &Subject) {
    let cat = &**subject;
    let s = five(cat);
    let (alice, bob) = (user(cat, "alice"), user(cat, "bob"));
    let public = create(cat, alice, "Open", true);
    let private = create(cat, alice, "Diary", false);

    assert_eq!(cat.playlist(public, bob).unwrap().playlist.owner, "alice");
    let err = cat.playlist(private, bob).unwrap_err();
    assert!(
        matches!(&err, CatalogError::NotFound(m) if m == &format!("playlist {private} does not exist"))
    );

    let rename = UpdatePlaylist {
        name: Some("Mine now".into()),
        public: None,
    };
    type Attempt<'a> = Box<dyn Fn(i64) -> Result<(), CatalogError> + 'a>;
    let attempts: Vec<(i64, Attempt)> = vec![
        (
            0,
            Box::new(|id| cat.update_playlist(id, bob, &rename, 1).map(drop)),
        ),
        (
            1,
            Box::new(|id| cat.add_tracks(id, bob, &[s[0]], None, 1).map(drop)),
        ),
        (2, Box::new(|id| cat.delete_playlist(id, bob))),
    ];
    for (i, attempt) in &attempts {
        let err = attempt(public).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Forbidden(m) if m.contains("only its owner")),
            "{i}: {err}"
        );
        assert!(
            matches!(attempt(private), Err(CatalogError::NotFound(_))),
            "{i}"
        );
    }
    cat.add_tracks(public, alice, &s[..2], None, 1).unwrap();
    assert!(matches!(
        cat.remove_track(public, bob, 0, 1),
        Err(CatalogError::Forbidden(_))
    ));
    assert!(matches!(
        cat.move_track(public, bob, 0, 1, 1),
        Err(CatalogError::Forbidden(_))
    ));
    assert!(matches!(
        cat.move_track(private, bob, 0, 1, 1),
        Err(CatalogError::NotFound(_))
    ));

    // Lists: bob sees the public one, alice both.
    let names = |viewer| -> Vec<String> {
        cat.playlists(viewer, PageRequest::default())
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.name)
            .collect()
    };
    assert_eq!(names(bob), ["Open"]);
    assert_eq!(names(alice), ["Diary", "Open"]);
    // Made private, it vanishes for bob.
    let hide = UpdatePlaylist {
        name: None,
        public: Some(false),
    };
    let hidden = cat.update_playlist(public, alice, &hide, 2).unwrap();
    assert_eq!(
        (hidden.public, hidden.name.as_str(), hidden.updated_at),
        (false, "Open", 2)
    );
    assert!(matches!(
        cat.playlist(public, bob),
        Err(CatalogError::NotFound(_))
    ));
    cat.delete_playlist(public, alice).unwrap();
    assert!(matches!(
        cat.playlist(public, alice),
        Err(CatalogError::NotFound(_))
    ));
}

fn inserting_removing_and_moving_keep_positions_dense(subject: &Subject) {
    let cat = &**subject;
    let s = five(cat);
    let me = user(cat, "me");
    let p = create(cat, me, "Order", false);
    let d = cat.add_tracks(p, me, &[s[0], s[1], s[2]], None, 1).unwrap();
    assert_eq!(titles(&d), ["A", "B", "C"]);
    let d = cat.add_tracks(p, me, &[s[3], s[4]], Some(1), 2).unwrap();
    assert_eq!(titles(&d), ["A", "D", "E", "B", "C"]);
    assert_eq!(
        (
            d.playlist.song_count,
            d.playlist.duration_ms,
            d.playlist.updated_at
        ),
        (5, 900_000, 2)
    );
    let d = cat.add_tracks(p, me, &[s[0]], Some(5), 3).unwrap();
    assert_eq!(titles(&d), ["A", "D", "E", "B", "C", "A"]);
    let d = cat.remove_track(p, me, 0, 4).unwrap();
    assert_eq!(titles(&d), ["D", "E", "B", "C", "A"]);
    let d = cat.move_track(p, me, 0, 4, 5).unwrap();
    assert_eq!(titles(&d), ["E", "B", "C", "A", "D"]);
    let d = cat.move_track(p, me, 3, 1, 6).unwrap();
    assert_eq!(titles(&d), ["E", "A", "B", "C", "D"]);
    let d = cat.move_track(p, me, 2, 2, 7).unwrap();
    assert_eq!(titles(&d), ["E", "A", "B", "C", "D"]);
    let d = cat.remove_track(p, me, 4, 8).unwrap();
    assert_eq!(titles(&d), ["E", "A", "B", "C"]);
    assert_eq!(subject.positions(p), [0, 1, 2, 3]);
    let d = cat.remove_track(p, me, 1, 9).unwrap();
    assert_eq!(titles(&d), ["E", "B", "C"]);
    assert_eq!(subject.positions(p), [0, 1, 2]);
}

fn bad_positions_unknown_songs_and_names_are_refused(subject: &Subject) {
    let cat = &**subject;
    let s = five(cat);
    let me = user(cat, "me");
    let p = create(cat, me, "P", true);
    let err = cat.remove_track(p, me, 0, 1).unwrap_err();
    assert!(
        matches!(&err, CatalogError::Invalid(m) if m.contains("is empty")),
        "{err}"
    );
    cat.add_tracks(p, me, &s[..2], None, 1).unwrap();
    for err in [
        cat.add_tracks(p, me, &[s[2]], Some(3), 1).unwrap_err(),
        cat.remove_track(p, me, 2, 1).unwrap_err(),
        cat.move_track(p, me, 0, 2, 1).unwrap_err(),
        cat.move_track(p, me, 7, 0, 1).unwrap_err(),
    ] {
        assert!(
            matches!(&err, CatalogError::Invalid(m) if m.contains("out of range")),
            "{err}"
        );
    }
    let err = cat.add_tracks(p, me, &[s[2], 4242], None, 1).unwrap_err();
    assert!(
        matches!(&err, CatalogError::NotFound(m) if m == "song 4242 does not exist"),
        "{err}"
    );
    assert_eq!(
        cat.playlist(p, me).unwrap().tracks.len(),
        2,
        "nothing added on failure"
    );

    for (name, msg) in [("  ", "is empty"), (&"n".repeat(201)[..], "limit is 200")] {
        let err = cat
            .create_playlist(
                me,
                &CreatePlaylist {
                    name: name.into(),
                    public: false,
                },
                0,
            )
            .unwrap_err();
        assert!(
            matches!(&err, CatalogError::Invalid(m) if m.contains(msg)),
            "{err}"
        );
    }
    let trimmed = cat
        .create_playlist(
            me,
            &CreatePlaylist {
                name: "  Road trip ".into(),
                public: false,
            },
            0,
        )
        .unwrap();
    assert_eq!(trimmed.name, "Road trip");
    let rename = UpdatePlaylist {
        name: Some("".into()),
        public: None,
    };
    assert!(matches!(
        cat.update_playlist(p, me, &rename, 0),
        Err(CatalogError::Invalid(_))
    ));
    let new = CreatePlaylist {
        name: "x".into(),
        public: false,
    };
    assert!(matches!(
        cat.create_playlist(999, &new, 0),
        Err(CatalogError::NotFound(_))
    ));
}

fn playlist_listing_is_paged(subject: &Subject) {
    let cat = &**subject;
    let me = user(cat, "me");
    for i in 0..7 {
        create(cat, me, &format!("List {i}"), false);
    }
    let page = cat
        .playlists(
            me,
            PageRequest {
                limit: 3,
                offset: 6,
            },
        )
        .unwrap();
    assert_eq!(
        (page.total, page.items.len(), page.items[0].name.as_str()),
        (7, 1, "List 6")
    );
    let page = cat
        .playlists(
            me,
            PageRequest {
                limit: 3,
                offset: 0,
            },
        )
        .unwrap();
    assert_eq!((page.total, page.items.len()), (7, 3));
}

fn an_edit_applies_everything_at_once_or_nothing(subject: &Subject) {
    let cat = &**subject;
    let s = five(cat);
    let (alice, bob) = (user(cat, "alice"), user(cat, "bob"));
    let list = create(cat, alice, "Mix", false);
    cat.add_tracks(list, alice, &s, None, 100).unwrap();

    let edit = crate::PlaylistEdit {
        name: Some("Renamed".into()),
        comment: Some(" for the road ".into()),
        public: Some(true),
        remove: vec![3, 0, 3],
        replace: None,
        add: vec![s[0]],
    };
    let detail = cat.edit_playlist(list, alice, &edit, 200).unwrap();
    assert_eq!(titles(&detail), ["B", "C", "E", "A"]);
    assert_eq!(detail.playlist.name, "Renamed");
    assert_eq!(detail.playlist.comment.as_deref(), Some("for the road"));
    assert!(detail.playlist.public);
    assert_eq!(subject.positions(list), [0, 1, 2, 3]);

    let bad = crate::PlaylistEdit {
        name: Some("Lost".into()),
        remove: vec![9],
        ..Default::default()
    };
    assert!(matches!(
        cat.edit_playlist(list, alice, &bad, 300),
        Err(CatalogError::Invalid(_))
    ));
    assert!(matches!(
        cat.edit_playlist(list, bob, &crate::PlaylistEdit::default(), 300),
        Err(CatalogError::Forbidden(_))
    ));
    let replace = crate::PlaylistEdit {
        replace: Some(vec![s[4], s[4]]),
        comment: Some(String::new()),
        ..Default::default()
    };
    let detail = cat.edit_playlist(list, alice, &replace, 400).unwrap();
    assert_eq!(titles(&detail), ["E", "E"]);
    assert_eq!(
        detail.playlist.name, "Renamed",
        "the failed edit left no trace"
    );
    assert_eq!(detail.playlist.comment, None);
}

super::both!(
    only_the_owner_changes_a_playlist_others_get_403_or_404,
    inserting_removing_and_moving_keep_positions_dense,
    bad_positions_unknown_songs_and_names_are_refused,
    playlist_listing_is_paged,
    an_edit_applies_everything_at_once_or_nothing,
);
