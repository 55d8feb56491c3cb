//! Stars and ratings: one row per listener and item, in a table per kind of item.

use std::collections::HashMap;

use super::error::{not_found, Context};
use super::rows;
use super::users::ensure_user;
use crate::{Annotation, CatalogError, CatalogResult, Item, Starred};
use cadenza_api::UserId;
use rusqlite::Connection;

/// The table, item column and item table of a kind of item.
struct Kind {
    name: &'static str,
    table: &'static str,
    column: &'static str,
    items: &'static str,
}

const SONG: Kind = Kind {
    name: "song",
    table: "song_annotations",
    column: "song_id",
    items: "songs",
};
const ALBUM: Kind = Kind {
    name: "album",
    table: "album_annotations",
    column: "album_id",
    items: "albums",
};
const ARTIST: Kind = Kind {
    name: "artist",
    table: "artist_annotations",
    column: "artist_id",
    items: "artists",
};

fn kind(item: Item) -> (&'static Kind, i64) {
    match item {
        Item::Song(id) => (&SONG, id),
        Item::Album(id) => (&ALBUM, id),
        Item::Artist(id) => (&ARTIST, id),
    }
}

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
    if let Some(r) = rating {
        if !(1..=5).contains(&r) {
            return Err(CatalogError::Invalid(format!(
                "a rating is 1 to 5 (or none), not {r}"
            )));
        }
    }
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

pub(crate) fn annotations(
    conn: &Connection,
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
            "SELECT a.{c}, a.starred_at, a.rating FROM json_each(?2) j \
             CROSS JOIN {t} a ON a.user_id = ?1 AND a.{c} = j.value",
            t = kind.table,
            c = kind.column
        );
        let mut stmt = conn.prepare_cached(&sql).ctx("reading stars")?;
        let rows = stmt
            .query_map((user, rows::id_list(&ids)), |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Annotation {
                        starred_at: r.get(1)?,
                        rating: r.get(2)?,
                    },
                ))
            })
            .ctx("reading stars")?;
        for row in rows {
            let (id, annotation) = row.ctx("reading stars")?;
            let item = match kind.name {
                "song" => Item::Song(id),
                "album" => Item::Album(id),
                _ => Item::Artist(id),
            };
            found.insert(item, annotation);
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

/// Pairs rows read by id with their star times (both in the same order).
fn with_times<T>(items: Vec<T>, times: &[(i64, i64)], id: impl Fn(&T) -> i64) -> Vec<(T, i64)> {
    let at: HashMap<i64, i64> = times.iter().copied().collect();
    items
        .into_iter()
        .filter_map(|item| at.get(&id(&item)).map(|&t| (item, t)))
        .collect()
}

pub(crate) fn starred(conn: &Connection, user: UserId) -> CatalogResult<Starred> {
    let songs = starred_ids(conn, &SONG, user)?;
    let albums = starred_ids(conn, &ALBUM, user)?;
    let artists = starred_ids(conn, &ARTIST, user)?;
    let ids = |v: &[(i64, i64)]| v.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    Ok(Starred {
        songs: with_times(rows::songs_by_ids(conn, &ids(&songs))?, &songs, |s| s.id),
        albums: with_times(rows::albums_by_ids(conn, &ids(&albums))?, &albums, |a| a.id),
        artists: with_times(rows::artists_by_ids(conn, &ids(&artists))?, &artists, |a| {
            a.id
        }),
    })
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song, user};
    use crate::{Annotation, Catalog, CatalogError, Item};

    #[test]
    fn stars_and_ratings_are_per_listener_and_follow_deletions() {
        let cat = memory();
        let alice = user(&cat, "alice");
        let bob = user(&cat, "bob");
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
}
