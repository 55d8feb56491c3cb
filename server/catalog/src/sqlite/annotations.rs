//! Stars and ratings: one row per listener and item, in a table per kind of item.

use std::collections::HashMap;

use super::error::{not_found, Context};
use super::rows;
use super::users::ensure_user;
use crate::item_table::{item, kind, Kind, ALBUM, ARTIST, SONG};
use crate::{Annotation, CatalogResult, Item, Starred};
use cadenza_api::UserId;
use rusqlite::Connection;

fn ensure_item(conn: &Connection, item: Item) -> CatalogResult<()> {
    let (kind, id) = kind(item);
    let exists: bool = conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE id = ?1)",
            kind.items
        ))
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .ctx("checking an item")?;
    if exists {
        Ok(())
    } else {
        Err(not_found(kind.name, id))
    }
}

/// Drops rows that no longer say anything (unstarred and unrated).
fn prune(conn: &Connection, kind: &Kind, user: UserId, id: i64) -> CatalogResult<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM {} WHERE user_id = ?1 AND {} = ?2 AND starred_at IS NULL AND rating IS NULL",
        kind.table, kind.column
    ))
    .and_then(|mut s| s.execute((user, id)))
    .ctx("updating stars")?;
    Ok(())
}

pub(crate) fn set_starred(
    conn: &Connection,
    user: UserId,
    items: &[Item],
    starred: bool,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(conn, user)?;
    for &item in items {
        ensure_item(conn, item)?;
        let (kind, id) = kind(item);
        if starred {
            conn.prepare_cached(&format!(
                "INSERT INTO {t} (user_id, {c}, starred_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (user_id, {c}) DO UPDATE SET starred_at = coalesce(starred_at, ?3)",
                t = kind.table,
                c = kind.column
            ))
            .and_then(|mut s| s.execute((user, id, now)))
            .ctx("starring")?;
        } else {
            conn.prepare_cached(&format!(
                "UPDATE {} SET starred_at = NULL WHERE user_id = ?1 AND {} = ?2",
                kind.table, kind.column
            ))
            .and_then(|mut s| s.execute((user, id)))
            .ctx("unstarring")?;
            prune(conn, kind, user, id)?;
        }
    }
    Ok(())
}

pub(crate) fn set_rating(
    conn: &Connection,
    user: UserId,
    item: Item,
    rating: Option<u8>,
) -> CatalogResult<()> {
    crate::validate::rating(rating)?;
    ensure_user(conn, user)?;
    ensure_item(conn, item)?;
    let (kind, id) = kind(item);
    conn.prepare_cached(&format!(
        "INSERT INTO {t} (user_id, {c}, rating) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id, {c}) DO UPDATE SET rating = ?3",
        t = kind.table,
        c = kind.column
    ))
    .and_then(|mut s| s.execute((user, id, rating)))
    .ctx("rating")?;
    prune(conn, kind, user, id)
}

/// One statement for all three kinds (a search asks about songs, albums and artists at
/// once): each kind's ids arrive as a JSON list, and an empty list costs nothing.
fn annotations_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        [&SONG, &ALBUM, &ARTIST]
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                format!(
                    "SELECT {i}, a.{c}, a.starred_at, a.rating FROM json_each(?{p}) j \
                     CROSS JOIN {t} a ON a.user_id = ?1 AND a.{c} = j.value",
                    p = i + 2,
                    t = kind.table,
                    c = kind.column
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    })
}

pub(crate) fn annotations(
    conn: &Connection,
    user: UserId,
    items: &[Item],
) -> CatalogResult<HashMap<Item, Annotation>> {
    let mut found = HashMap::new();
    if items.is_empty() {
        return Ok(found);
    }
    let kinds = [&SONG, &ALBUM, &ARTIST];
    let ids = kinds.map(|kind| {
        let ids: Vec<i64> = items
            .iter()
            .filter_map(|&item| {
                let (k, id) = self::kind(item);
                (k.name == kind.name).then_some(id)
            })
            .collect();
        rows::id_list(&ids)
    });
    let mut stmt = conn
        .prepare_cached(annotations_sql())
        .ctx("reading stars")?;
    let rows = stmt
        .query_map((user, &ids[0], &ids[1], &ids[2]), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                Annotation {
                    starred_at: r.get(2)?,
                    rating: r.get(3)?,
                },
            ))
        })
        .ctx("reading stars")?;
    for row in rows {
        let (k, id, annotation) = row.ctx("reading stars")?;
        // The first column is the kind's place in `kinds`, as the statement numbers them.
        if let Some(kind) = usize::try_from(k).ok().and_then(|k| kinds.get(k)) {
            found.insert(item(kind, id), annotation);
        }
    }
    Ok(found)
}

/// Ids and star times of one kind, most recently starred first.
fn starred_ids(conn: &Connection, kind: &Kind, user: UserId) -> CatalogResult<Vec<(i64, i64)>> {
    rows::collect(
        conn,
        &format!(
            "SELECT {c}, starred_at FROM {t} WHERE user_id = ?1 AND starred_at IS NOT NULL \
             ORDER BY starred_at DESC, {c} DESC",
            t = kind.table,
            c = kind.column
        ),
        user,
        |r| Ok((r.get(0)?, r.get(1)?)),
        "listing stars",
    )
}

pub(crate) fn starred(conn: &Connection, user: UserId) -> CatalogResult<Starred> {
    let songs = starred_ids(conn, &SONG, user)?;
    let albums = starred_ids(conn, &ALBUM, user)?;
    let artists = starred_ids(conn, &ARTIST, user)?;
    let ids = |v: &[(i64, i64)]| v.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    Ok(Starred {
        songs: crate::with_times(rows::songs_by_ids(conn, &ids(&songs))?, &songs, |s| s.id),
        albums: crate::with_times(rows::albums_by_ids(conn, &ids(&albums))?, &albums, |a| a.id),
        artists: crate::with_times(rows::artists_by_ids(conn, &ids(&artists))?, &artists, |a| {
            a.id
        }),
    })
}
