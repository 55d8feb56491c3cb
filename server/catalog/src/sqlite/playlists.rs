//! Playlists: owners change them, others read public ones, private ones do not exist for
//! anyone but their owner. Track positions stay dense, 0..n-1.

use super::error::{not_found, Context};
use super::rows::{self, PLAYLIST_COLUMNS, PLAYLIST_JOINS, SONG_COLUMNS, SONG_JOINS};
use super::text::{fts_text, required};
use super::users::ensure_user;
use crate::{CatalogError, CatalogResult, PlaylistEdit};
use cadenza_api::{
    CreatePlaylist, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, SongId,
    UpdatePlaylist, UserId,
};
use rusqlite::{Connection, OptionalExtension};

const MAX_PLAYLIST_NAME_CHARS: usize = 200;
const MAX_PLAYLIST_COMMENT_CHARS: usize = 2_000;
/// Keeps one playlist (and its detail response) a sane size.
pub(crate) const MAX_PLAYLIST_TRACKS: usize = 10_000;

pub(crate) fn playlists(
    conn: &Connection,
    viewer: UserId,
    req: PageRequest,
) -> CatalogResult<Page<Playlist>> {
    let req = rows::clamp(req);
    let (ids, total) = rows::paged_ids(
        conn,
        "SELECT id FROM playlists WHERE owner_id = ?1 OR public \
         ORDER BY name COLLATE NOCASE, id LIMIT ?2 OFFSET ?3",
        "SELECT count(*) FROM playlists WHERE owner_id = ?1 OR public",
        &[&viewer],
        req,
        "listing playlists",
    )?;
    Ok(rows::page(rows::playlists_by_ids(conn, &ids)?, total, req))
}

pub(crate) fn playlist(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
) -> CatalogResult<PlaylistDetail> {
    let playlist = visible(conn, id, viewer)?;
    let sql = format!(
        "SELECT {SONG_COLUMNS} FROM playlist_tracks pt CROSS JOIN songs s ON s.id = pt.song_id \
         {SONG_JOINS} WHERE pt.playlist_id = ?1 ORDER BY pt.position"
    );
    let tracks = rows::collect(
        conn,
        &sql,
        id,
        rows::song_from_row,
        "reading playlist tracks",
    )?;
    Ok(PlaylistDetail { playlist, tracks })
}

pub(crate) fn create_playlist(
    conn: &Connection,
    owner: UserId,
    new: &CreatePlaylist,
    now: i64,
) -> CatalogResult<Playlist> {
    let name = required("playlist name", &new.name, MAX_PLAYLIST_NAME_CHARS)?;
    ensure_user(conn, owner)?;
    conn.prepare_cached(
        "INSERT INTO playlists (owner_id, name, public, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .and_then(|mut s| s.execute((owner, &name, new.public, now)))
    .ctx("creating a playlist")?;
    let id = conn.last_insert_rowid();
    index(conn, id, &name)?;
    visible(conn, id, owner)
}

pub(crate) fn update_playlist(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
    update: &UpdatePlaylist,
    now: i64,
) -> CatalogResult<Playlist> {
    owned(conn, id, viewer)?;
    let name = update
        .name
        .as_deref()
        .map(|n| required("playlist name", n, MAX_PLAYLIST_NAME_CHARS))
        .transpose()?;
    conn.prepare_cached(
        "UPDATE playlists SET name = coalesce(?2, name), public = coalesce(?3, public), \
         updated_at = ?4 WHERE id = ?1",
    )
    .and_then(|mut s| s.execute((id, &name, update.public, now)))
    .ctx("updating a playlist")?;
    if let Some(name) = &name {
        conn.prepare_cached("DELETE FROM playlists_fts WHERE rowid = ?1")
            .and_then(|mut s| s.execute([id]))
            .ctx("re-indexing a renamed playlist")?;
        index(conn, id, name)?;
    }
    visible(conn, id, viewer)
}

pub(crate) fn delete_playlist(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
) -> CatalogResult<()> {
    owned(conn, id, viewer)?;
    conn.prepare_cached("DELETE FROM playlists WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("deleting a playlist")?;
    Ok(())
}

pub(crate) fn add_tracks(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
    songs: &[SongId],
    position: Option<u32>,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(conn, id, viewer)?;
    let len = track_count(conn, id)?;
    let at = match position {
        None => len,
        Some(p) if u64::from(p) <= len => u64::from(p),
        Some(p) => {
            return Err(CatalogError::Invalid(format!(
            "position {p} is out of range: playlist {id} has {len} tracks, so insert at 0..={len}"
        )))
        }
    };
    if len as usize + songs.len() > MAX_PLAYLIST_TRACKS {
        return Err(CatalogError::Invalid(format!(
            "playlist {id} would have {} tracks; the limit is {MAX_PLAYLIST_TRACKS}",
            len as usize + songs.len()
        )));
    }
    let mut exists = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM songs WHERE id = ?1)")
        .ctx("checking songs")?;
    for &song in songs {
        let found: bool = exists
            .query_row([song], |r| r.get(0))
            .ctx("checking songs")?;
        if !found {
            return Err(not_found("song", song));
        }
    }
    if !songs.is_empty() {
        conn.prepare_cached(
            "UPDATE playlist_tracks SET position = position + ?3 \
             WHERE playlist_id = ?1 AND position >= ?2",
        )
        .and_then(|mut s| s.execute((id, at as i64, songs.len() as i64)))
        .ctx("making room in a playlist")?;
        let mut insert = conn
            .prepare_cached(
                "INSERT INTO playlist_tracks (playlist_id, position, song_id) VALUES (?1, ?2, ?3)",
            )
            .ctx("adding playlist tracks")?;
        for (i, &song) in songs.iter().enumerate() {
            insert
                .execute((id, at as i64 + i as i64, song))
                .ctx("adding playlist tracks")?;
        }
        touch(conn, id, now)?;
    }
    playlist(conn, id, viewer)
}

pub(crate) fn remove_track(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
    position: u32,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(conn, id, viewer)?;
    check_position(conn, id, position)?;
    conn.prepare_cached("DELETE FROM playlist_tracks WHERE playlist_id = ?1 AND position = ?2")
        .and_then(|mut s| s.execute((id, position)))
        .ctx("removing a playlist track")?;
    renumber(conn, id)?;
    touch(conn, id, now)?;
    playlist(conn, id, viewer)
}

pub(crate) fn move_track(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
    from: u32,
    to: u32,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(conn, id, viewer)?;
    check_position(conn, id, from)?;
    check_position(conn, id, to)?;
    if from != to {
        let row: i64 = conn
            .prepare_cached(
                "SELECT id FROM playlist_tracks WHERE playlist_id = ?1 AND position = ?2",
            )
            .and_then(|mut s| s.query_row((id, from), |r| r.get(0)))
            .ctx("moving a playlist track")?;
        // Close the gap at `from`, open one at `to`, drop the track in.
        let (lo, hi, step) = if from < to {
            (from + 1, to, -1)
        } else {
            (to, from - 1, 1)
        };
        conn.prepare_cached(
            "UPDATE playlist_tracks SET position = position + ?4 \
             WHERE playlist_id = ?1 AND position BETWEEN ?2 AND ?3",
        )
        .and_then(|mut s| s.execute((id, lo, hi, step)))
        .ctx("moving a playlist track")?;
        conn.prepare_cached("UPDATE playlist_tracks SET position = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute((row, to)))
            .ctx("moving a playlist track")?;
        touch(conn, id, now)?;
    }
    playlist(conn, id, viewer)
}

pub(crate) fn edit_playlist(
    conn: &Connection,
    id: PlaylistId,
    viewer: UserId,
    edit: &PlaylistEdit,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(conn, id, viewer)?;
    if edit.name.is_some() || edit.public.is_some() {
        let fields = UpdatePlaylist {
            name: edit.name.clone(),
            public: edit.public,
        };
        update_playlist(conn, id, viewer, &fields, now)?;
    }
    if let Some(comment) = &edit.comment {
        let comment = comment.trim();
        if comment.chars().count() > MAX_PLAYLIST_COMMENT_CHARS {
            return Err(CatalogError::Invalid(format!(
                "a playlist comment is at most {MAX_PLAYLIST_COMMENT_CHARS} characters"
            )));
        }
        conn.prepare_cached(
            "UPDATE playlists SET comment = nullif(?2, ''), updated_at = ?3 WHERE id = ?1",
        )
        .and_then(|mut s| s.execute((id, comment, now)))
        .ctx("updating a playlist comment")?;
    }
    if !edit.remove.is_empty() {
        let mut positions = edit.remove.clone();
        positions.sort_unstable();
        positions.dedup();
        for &position in &positions {
            check_position(conn, id, position)?;
        }
        let mut delete = conn
            .prepare_cached("DELETE FROM playlist_tracks WHERE playlist_id = ?1 AND position = ?2")
            .ctx("removing playlist tracks")?;
        for position in positions {
            delete
                .execute((id, position))
                .ctx("removing playlist tracks")?;
        }
        renumber(conn, id)?;
        touch(conn, id, now)?;
    }
    if let Some(songs) = &edit.replace {
        conn.prepare_cached("DELETE FROM playlist_tracks WHERE playlist_id = ?1")
            .and_then(|mut s| s.execute([id]))
            .ctx("replacing playlist tracks")?;
        touch(conn, id, now)?;
        add_tracks(conn, id, viewer, songs, None, now)?;
    }
    if !edit.add.is_empty() {
        add_tracks(conn, id, viewer, &edit.add, None, now)?;
    }
    playlist(conn, id, viewer)
}

/// Closes gaps in a playlist's positions (after a removal or a song deletion).
pub(crate) fn renumber(conn: &Connection, id: PlaylistId) -> CatalogResult<()> {
    conn.prepare_cached(
        "UPDATE playlist_tracks SET position = r.pos \
         FROM (SELECT id, row_number() OVER (ORDER BY position, id) - 1 AS pos \
               FROM playlist_tracks WHERE playlist_id = ?1) AS r \
         WHERE playlist_tracks.id = r.id AND playlist_tracks.position <> r.pos",
    )
    .and_then(|mut s| s.execute([id]))
    .ctx("renumbering a playlist")?;
    Ok(())
}

fn index(conn: &Connection, id: PlaylistId, name: &str) -> CatalogResult<()> {
    conn.prepare_cached("INSERT INTO playlists_fts (rowid, name) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute((id, fts_text(name))))
        .ctx("indexing a playlist for search")?;
    Ok(())
}

fn touch(conn: &Connection, id: PlaylistId, now: i64) -> CatalogResult<()> {
    conn.prepare_cached("UPDATE playlists SET updated_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute((id, now)))
        .ctx("updating a playlist")?;
    Ok(())
}

fn track_count(conn: &Connection, id: PlaylistId) -> CatalogResult<u64> {
    rows::count(
        conn,
        "SELECT count(*) FROM playlist_tracks WHERE playlist_id = ?1",
        &[&id],
        "counting playlist tracks",
    )
}

fn check_position(conn: &Connection, id: PlaylistId, position: u32) -> CatalogResult<()> {
    let len = track_count(conn, id)?;
    if u64::from(position) < len {
        Ok(())
    } else if len == 0 {
        Err(CatalogError::Invalid(format!(
            "position {position} is out of range: playlist {id} is empty"
        )))
    } else {
        Err(CatalogError::Invalid(format!(
            "position {position} is out of range: playlist {id} has {len} tracks (0..={})",
            len - 1
        )))
    }
}

/// The playlist if `viewer` may see it; others' private playlists do not exist for them.
fn visible(conn: &Connection, id: PlaylistId, viewer: UserId) -> CatalogResult<Playlist> {
    let sql = format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p {PLAYLIST_JOINS} \
         WHERE p.id = ?1 AND (p.public OR p.owner_id = ?2)"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row((id, viewer), rows::playlist_from_row)
                .optional()
        })
        .ctx("reading a playlist")?
        .ok_or_else(|| not_found("playlist", id))
}

/// Succeeds when `viewer` owns the playlist: `Forbidden` when they may only see it,
/// `NotFound` when they may not even do that.
fn owned(conn: &Connection, id: PlaylistId, viewer: UserId) -> CatalogResult<()> {
    let row: Option<(UserId, bool)> = conn
        .prepare_cached("SELECT owner_id, public FROM playlists WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .ctx("reading a playlist")?;
    match row {
        Some((owner, _)) if owner == viewer => Ok(()),
        Some((_, true)) => Err(CatalogError::Forbidden(format!(
            "playlist {id} belongs to another user; only its owner can change it"
        ))),
        _ => Err(not_found("playlist", id)),
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, positions, song, user};
    use crate::{Catalog, CatalogError, SqliteCatalog};
    use cadenza_api::{CreatePlaylist, PageRequest, PlaylistDetail, UpdatePlaylist};

    fn titles(d: &PlaylistDetail) -> Vec<&str> {
        d.tracks.iter().map(|s| s.title.as_str()).collect()
    }

    /// Five songs A..E, their ids in order.
    fn five(cat: &SqliteCatalog) -> Vec<i64> {
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

    fn create(cat: &SqliteCatalog, owner: i64, name: &str, public: bool) -> i64 {
        let new = CreatePlaylist {
            name: name.into(),
            public,
        };
        cat.create_playlist(owner, &new, 100).unwrap().id
    }

    #[test]
    fn only_the_owner_changes_a_playlist_others_get_403_or_404() {
        let cat = memory();
        let s = five(&cat);
        let (alice, bob) = (user(&cat, "alice"), user(&cat, "bob"));
        let public = create(&cat, alice, "Open", true);
        let private = create(&cat, alice, "Diary", false);

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

    #[test]
    fn inserting_removing_and_moving_keep_positions_dense() {
        let cat = memory();
        let s = five(&cat);
        let me = user(&cat, "me");
        let p = create(&cat, me, "Order", false);
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
        assert_eq!(positions(&cat, p), [0, 1, 2, 3]);
        let d = cat.remove_track(p, me, 1, 9).unwrap();
        assert_eq!(titles(&d), ["E", "B", "C"]);
        assert_eq!(positions(&cat, p), [0, 1, 2]);
    }

    #[test]
    fn bad_positions_unknown_songs_and_names_are_refused() {
        let cat = memory();
        let s = five(&cat);
        let me = user(&cat, "me");
        let p = create(&cat, me, "P", true);
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

    #[test]
    fn playlist_listing_is_paged() {
        let cat = memory();
        let me = user(&cat, "me");
        for i in 0..7 {
            create(&cat, me, &format!("List {i}"), false);
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

    #[test]
    fn an_edit_applies_everything_at_once_or_nothing() {
        let cat = memory();
        let s = five(&cat);
        let (alice, bob) = (user(&cat, "alice"), user(&cat, "bob"));
        let list = create(&cat, alice, "Mix", false);
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
        assert_eq!(positions(&cat, list), [0, 1, 2, 3]);

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
}
