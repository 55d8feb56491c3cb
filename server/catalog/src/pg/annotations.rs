//! Stars and ratings: one row per listener and item, in a table per kind of item.

use std::collections::HashMap;

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get, opt_int};
use super::users::ensure_user;
use crate::item_table::{item, kind, Kind, ALBUM, ARTIST, SONG};
use crate::{not_found, validate, Annotation, CatalogResult, Item, Starred};
use cadenza_api::UserId;

fn ensure_item(tx: &mut Tx<'_>, item: Item) -> CatalogResult<()> {
    let (kind, id) = kind(item);
    if rows::exists(tx, kind.items, id, "checking an item")? {
        Ok(())
    } else {
        Err(not_found(kind.name, id))
    }
}

/// Drops rows that no longer say anything (unstarred and unrated).
fn prune(tx: &mut Tx<'_>, kind: &Kind, user: UserId, id: i64) -> CatalogResult<()> {
    let sql = format!(
        "DELETE FROM {} WHERE user_id = $1 AND {} = $2 AND starred_at IS NULL AND rating IS NULL",
        kind.table, kind.column
    );
    tx.execute(&sql, &[&user, &id]).ctx("updating stars")?;
    Ok(())
}

pub(crate) fn set_starred(
    tx: &mut Tx<'_>,
    user: UserId,
    items: &[Item],
    starred: bool,
    now: i64,
) -> CatalogResult<()> {
    ensure_user(tx, user)?;
    for &item in items {
        ensure_item(tx, item)?;
        let (kind, id) = kind(item);
        if starred {
            let sql = format!(
                "INSERT INTO {t} AS a (user_id, {c}, starred_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, {c}) DO UPDATE SET starred_at = coalesce(a.starred_at, $3)",
                t = kind.table,
                c = kind.column
            );
            tx.execute(&sql, &[&user, &id, &now]).ctx("starring")?;
        } else {
            let sql = format!(
                "UPDATE {} SET starred_at = NULL WHERE user_id = $1 AND {} = $2",
                kind.table, kind.column
            );
            tx.execute(&sql, &[&user, &id]).ctx("unstarring")?;
            prune(tx, kind, user, id)?;
        }
    }
    Ok(())
}

pub(crate) fn set_rating(
    tx: &mut Tx<'_>,
    user: UserId,
    item: Item,
    rating: Option<u8>,
) -> CatalogResult<()> {
    validate::rating(rating)?;
    ensure_user(tx, user)?;
    ensure_item(tx, item)?;
    let (kind, id) = kind(item);
    let sql = format!(
        "INSERT INTO {t} (user_id, {c}, rating) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, {c}) DO UPDATE SET rating = $3",
        t = kind.table,
        c = kind.column
    );
    let rating = rating.map(i64::from);
    tx.execute(&sql, &[&user, &id, &rating]).ctx("rating")?;
    prune(tx, kind, user, id)
}

pub(crate) fn annotations(
    tx: &mut Tx<'_>,
    user: UserId,
    items: &[Item],
) -> CatalogResult<HashMap<Item, Annotation>> {
    let mut found = HashMap::new();
    for kind in [&SONG, &ALBUM, &ARTIST] {
        let ids: Vec<i64> = items
            .iter()
            .filter_map(|&item| {
                let (k, id) = self::kind(item);
                (k.name == kind.name).then_some(id)
            })
            .collect();
        if ids.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT {c}, starred_at, rating FROM {t} WHERE user_id = $1 AND {c} = ANY($2)",
            t = kind.table,
            c = kind.column
        );
        let marks = rows::collect(
            tx,
            &sql,
            &[&user, &ids],
            |r| {
                Ok((
                    get::<i64>(r, 0)?,
                    Annotation {
                        starred_at: get(r, 1)?,
                        rating: opt_int(r, 2)?,
                    },
                ))
            },
            "reading stars",
        )?;
        for (id, annotation) in marks {
            found.insert(item(kind, id), annotation);
        }
    }
    Ok(found)
}

/// Ids and star times of one kind, most recently starred first.
fn starred_ids(tx: &mut Tx<'_>, kind: &Kind, user: UserId) -> CatalogResult<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT {c}, starred_at FROM {t} WHERE user_id = $1 AND starred_at IS NOT NULL \
         ORDER BY starred_at DESC, {c} DESC",
        t = kind.table,
        c = kind.column
    );
    rows::collect(
        tx,
        &sql,
        &[&user],
        |r| Ok((get(r, 0)?, get(r, 1)?)),
        "listing stars",
    )
}

pub(crate) fn starred(tx: &mut Tx<'_>, user: UserId) -> CatalogResult<Starred> {
    let songs = starred_ids(tx, &SONG, user)?;
    let albums = starred_ids(tx, &ALBUM, user)?;
    let artists = starred_ids(tx, &ARTIST, user)?;
    let ids = |v: &[(i64, i64)]| v.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    Ok(Starred {
        songs: crate::with_times(rows::songs_by_ids(tx, &ids(&songs))?, &songs, |s| s.id),
        albums: crate::with_times(rows::albums_by_ids(tx, &ids(&albums))?, &albums, |a| a.id),
        artists: crate::with_times(rows::artists_by_ids(tx, &ids(&artists))?, &artists, |a| {
            a.id
        }),
    })
}
