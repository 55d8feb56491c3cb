//! Playlists: owners change them, others read public ones, private ones do not exist for
//! anyone but their owner. Track positions stay dense, 0..n-1.

use super::error::{not_found, Context};
use super::rows::{self, PLAYLIST_COLUMNS, PLAYLIST_JOINS, SONG_COLUMNS, SONG_JOINS};
use super::text::fts_text;
use super::users::ensure_user;
use crate::{validate, CatalogResult, PlaylistEdit};
use cadenza_api::{
    CreatePlaylist, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, SongId,
    UpdatePlaylist, UserId,
};
use rusqlite::{Connection, OptionalExtension};

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
    let name = validate::playlist_name(&new.name)?;
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
        .map(validate::playlist_name)
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
    let at = validate::insert_position(id, position, len, songs.len())?;
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
        let comment = validate::playlist_comment(comment)?;
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
    validate::check_position(id, position, track_count(conn, id)?)
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
    validate::owner_check(id, viewer, row)
}
