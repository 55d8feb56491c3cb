//! Playlists: owners change them, others read public ones, private ones do not exist for
//! anyone but their owner. Track positions stay dense, 0..n-1.
//!
//! Every change locks the playlist's row first (`FOR UPDATE` in [`owned`], or inside
//! `cadenza_move_track` for a move), so two edits of one playlist from two server copies
//! run one after the other, as SQLite's single writer runs them.

use super::error::{storage, Context};
use super::pool::Tx;
use super::rows::{self, get, PLAYLIST_COLUMNS, PLAYLIST_JOINS, SONG_COLUMNS, SONG_JOINS};
use super::search::index_text;
use crate::paging::{clamp, page, total_from_page};
use crate::{not_found, validate, CatalogResult, PlaylistEdit};
use cadenza_api::{
    CreatePlaylist, Page, PageRequest, Playlist, PlaylistDetail, PlaylistId, SongId,
    UpdatePlaylist, UserId,
};
use postgres::error::SqlState;

pub(crate) fn playlists(
    tx: &mut Tx<'_>,
    viewer: UserId,
    req: PageRequest,
) -> CatalogResult<Page<Playlist>> {
    let req = clamp(req);
    let ids = rows::page_ids(
        tx,
        "SELECT id FROM playlists WHERE owner_id = $1 OR public \
         ORDER BY cadenza_nocase(name), id LIMIT $2 OFFSET $3",
        &[&viewer],
        req,
        "listing playlists",
    )?;
    let total = match total_from_page(ids.len(), req) {
        Some(t) => t,
        None => rows::count(
            tx,
            "SELECT count(*) FROM playlists WHERE owner_id = $1 OR public",
            &[&viewer],
            "counting playlists",
        )?,
    };
    Ok(page(rows::playlists_by_ids(tx, &ids)?, total, req))
}

pub(crate) fn playlist(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
) -> CatalogResult<PlaylistDetail> {
    let playlist = visible(tx, id, viewer)?;
    // The song ids first, then the songs by id in that order, the shape of
    // `rows::songs_by_ids`: joined to playlist_tracks directly, PostgreSQL found its
    // generic plan dearer than one planned for each playlist id and planned the statement
    // again on every call, which cost more than running it (and an edit holds the
    // playlist's lock meanwhile).
    let sql = format!(
        "SELECT {SONG_COLUMNS} FROM unnest(ARRAY(SELECT song_id FROM playlist_tracks \
         WHERE playlist_id = $1 ORDER BY position)) WITH ORDINALITY j (id, n) \
         JOIN songs s ON s.id = j.id {SONG_JOINS} ORDER BY j.n"
    );
    let tracks = rows::collect(
        tx,
        &sql,
        &[&id],
        rows::song_from_row,
        "reading playlist tracks",
    )?;
    Ok(PlaylistDetail { playlist, tracks })
}

pub(crate) fn create_playlist(
    tx: &mut Tx<'_>,
    owner: UserId,
    new: &CreatePlaylist,
    now: i64,
) -> CatalogResult<Playlist> {
    let name = validate::playlist_name(&new.name)?;
    // The owner's existence is checked by the insert itself, not by a statement (and a
    // round trip) of its own.
    let row = tx
        .query_opt(
            "INSERT INTO playlists (owner_id, name, public, created_at, updated_at, search) \
             SELECT $1, $2, $3, $4, $4, cadenza_document($5) \
             WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) RETURNING id",
            &[&owner, &name, &new.public, &now, &index_text(&name)],
        )
        .map_err(|e| {
            // The owner was deleted between the check and the insert.
            if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                not_found("user", owner)
            } else {
                storage("creating a playlist", &e)
            }
        })?;
    match row {
        Some(row) => visible(tx, get(&row, 0)?, owner),
        None => Err(not_found("user", owner)),
    }
}

pub(crate) fn update_playlist(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
    update: &UpdatePlaylist,
    now: i64,
) -> CatalogResult<Playlist> {
    owned(tx, id, viewer)?;
    let name = update
        .name
        .as_deref()
        .map(validate::playlist_name)
        .transpose()?;
    let search = name.as_deref().map(index_text);
    tx.execute(
        "UPDATE playlists SET name = coalesce($2, name), public = coalesce($3, public), \
         updated_at = $4, \
         search = CASE WHEN $5::text IS NULL THEN search ELSE cadenza_document($5) END \
         WHERE id = $1",
        &[&id, &name, &update.public, &now, &search],
    )
    .ctx("updating a playlist")?;
    visible(tx, id, viewer)
}

pub(crate) fn delete_playlist(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
) -> CatalogResult<()> {
    owned(tx, id, viewer)?;
    tx.execute("DELETE FROM playlists WHERE id = $1", &[&id])
        .ctx("deleting a playlist")?;
    Ok(())
}

pub(crate) fn add_tracks(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
    songs: &[SongId],
    position: Option<u32>,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(tx, id, viewer)?;
    let len = track_count(tx, id)?;
    let at = validate::insert_position(id, position, len, songs.len())? as i64;
    if !songs.is_empty() {
        // The first missing song in the order given, in one statement for all of them.
        let songs = songs.to_vec();
        let missing = tx
            .query_opt(
                "SELECT song FROM unnest($1::int8[]) WITH ORDINALITY t (song, n) \
                 WHERE NOT EXISTS (SELECT 1 FROM songs WHERE id = song) ORDER BY n LIMIT 1",
                &[&songs],
            )
            .ctx("checking songs")?;
        if let Some(row) = missing {
            return Err(not_found("song", get(&row, 0)?));
        }
    }
    if !songs.is_empty() {
        let n = songs.len() as i64;
        tx.execute(
            "UPDATE playlist_tracks SET position = position + $3 \
             WHERE playlist_id = $1 AND position >= $2",
            &[&id, &at, &n],
        )
        .ctx("making room in a playlist")?;
        let songs = songs.to_vec();
        tx.execute(
            "INSERT INTO playlist_tracks (playlist_id, position, song_id) \
             SELECT $1, $2 + n - 1, song FROM unnest($3::int8[]) WITH ORDINALITY t (song, n)",
            &[&id, &at, &songs],
        )
        .ctx("adding playlist tracks")?;
        touch(tx, id, now)?;
    }
    playlist(tx, id, viewer)
}

pub(crate) fn remove_track(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
    position: u32,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(tx, id, viewer)?;
    validate::check_position(id, position, track_count(tx, id)?)?;
    tx.execute(
        "DELETE FROM playlist_tracks WHERE playlist_id = $1 AND position = $2",
        &[&id, &i64::from(position)],
    )
    .ctx("removing a playlist track")?;
    renumber(tx, id)?;
    touch(tx, id, now)?;
    playlist(tx, id, viewer)
}

/// Moves a track in one call of `cadenza_move_track` (schema version 4), which locks the
/// playlist, checks and moves inside the database and commits on its own (the caller runs
/// this in [`Mode::Single`](super::pool::Mode::Single)); the playlist is read back after
/// the commit, so other edits of it do not wait for those reads.
pub(crate) fn move_track(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
    from: u32,
    to: u32,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    let row = tx
        .query_opt(
            "SELECT list_owner, list_public, track_count FROM cadenza_move_track($1, $2, $3, $4, $5)",
            &[&id, &viewer, &i64::from(from), &i64::from(to), &now],
        )
        .ctx("moving a playlist track")?;
    let (found, len) = match row {
        Some(r) => (Some((get(&r, 0)?, get(&r, 1)?)), get::<i64>(&r, 2)?),
        None => (None, 0),
    };
    validate::owner_check(id, viewer, found)?;
    let len = u64::try_from(len).unwrap_or_default();
    validate::check_position(id, from, len)?;
    validate::check_position(id, to, len)?;
    playlist(tx, id, viewer)
}

pub(crate) fn edit_playlist(
    tx: &mut Tx<'_>,
    id: PlaylistId,
    viewer: UserId,
    edit: &PlaylistEdit,
    now: i64,
) -> CatalogResult<PlaylistDetail> {
    owned(tx, id, viewer)?;
    if edit.name.is_some() || edit.public.is_some() {
        let fields = UpdatePlaylist {
            name: edit.name.clone(),
            public: edit.public,
        };
        update_playlist(tx, id, viewer, &fields, now)?;
    }
    if let Some(comment) = &edit.comment {
        let comment = validate::playlist_comment(comment)?;
        tx.execute(
            "UPDATE playlists SET comment = nullif($2, ''), updated_at = $3 WHERE id = $1",
            &[&id, &comment, &now],
        )
        .ctx("updating a playlist comment")?;
    }
    if !edit.remove.is_empty() {
        let mut positions = edit.remove.clone();
        positions.sort_unstable();
        positions.dedup();
        let len = track_count(tx, id)?;
        for &position in &positions {
            validate::check_position(id, position, len)?;
        }
        let positions: Vec<i64> = positions.into_iter().map(i64::from).collect();
        tx.execute(
            "DELETE FROM playlist_tracks WHERE playlist_id = $1 AND position = ANY($2)",
            &[&id, &positions],
        )
        .ctx("removing playlist tracks")?;
        renumber(tx, id)?;
        touch(tx, id, now)?;
    }
    if let Some(songs) = &edit.replace {
        tx.execute("DELETE FROM playlist_tracks WHERE playlist_id = $1", &[&id])
            .ctx("replacing playlist tracks")?;
        touch(tx, id, now)?;
        add_tracks(tx, id, viewer, songs, None, now)?;
    }
    if !edit.add.is_empty() {
        add_tracks(tx, id, viewer, &edit.add, None, now)?;
    }
    playlist(tx, id, viewer)
}

/// Closes gaps in a playlist's positions (after a removal or a song deletion).
pub(crate) fn renumber(tx: &mut Tx<'_>, id: PlaylistId) -> CatalogResult<()> {
    tx.execute(
        "UPDATE playlist_tracks SET position = r.pos \
         FROM (SELECT id, row_number() OVER (ORDER BY position, id) - 1 AS pos \
               FROM playlist_tracks WHERE playlist_id = $1) AS r \
         WHERE playlist_tracks.id = r.id AND playlist_tracks.position <> r.pos",
        &[&id],
    )
    .ctx("renumbering a playlist")?;
    Ok(())
}

fn touch(tx: &mut Tx<'_>, id: PlaylistId, now: i64) -> CatalogResult<()> {
    tx.execute(
        "UPDATE playlists SET updated_at = $2 WHERE id = $1",
        &[&id, &now],
    )
    .ctx("updating a playlist")?;
    Ok(())
}

fn track_count(tx: &mut Tx<'_>, id: PlaylistId) -> CatalogResult<u64> {
    rows::count(
        tx,
        "SELECT count(*) FROM playlist_tracks WHERE playlist_id = $1",
        &[&id],
        "counting playlist tracks",
    )
}

/// The playlist if `viewer` may see it; others' private playlists do not exist for them.
fn visible(tx: &mut Tx<'_>, id: PlaylistId, viewer: UserId) -> CatalogResult<Playlist> {
    let sql = format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p {PLAYLIST_JOINS} \
         WHERE p.id = $1 AND (p.public OR p.owner_id = $2)"
    );
    match tx
        .query_opt(&sql, &[&id, &viewer])
        .ctx("reading a playlist")?
    {
        Some(row) => rows::playlist_from_row(&row),
        None => Err(not_found("playlist", id)),
    }
}

/// Succeeds when `viewer` owns the playlist, and locks it until the transaction ends.
fn owned(tx: &mut Tx<'_>, id: PlaylistId, viewer: UserId) -> CatalogResult<()> {
    let row = tx
        .query_opt(
            "SELECT owner_id, public FROM playlists WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .ctx("reading a playlist")?;
    let found = match row {
        Some(r) => Some((get(&r, 0)?, get(&r, 1)?)),
        None => None,
    };
    validate::owner_check(id, viewer, found)
}
