//! Album lists and random songs in the orders third-party clients browse by.

use super::error::Context;
use super::rows;
use super::text::name_key;
use crate::{AlbumList, CatalogResult, SongFilter};
use cadenza_api::{Album, ArtistId, PageRequest, Song, UserId};
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn album_list(
    conn: &Connection,
    list: &AlbumList,
    req: PageRequest,
    viewer: UserId,
) -> CatalogResult<Vec<Album>> {
    let req = rows::clamp(req);
    let doing = "listing albums";
    let ids = match list {
        AlbumList::Random => rows::collect(
            conn,
            "SELECT id FROM albums ORDER BY random() LIMIT ?1",
            req.limit,
            |r| r.get(0),
            doing,
        )?,
        AlbumList::Newest => rows::page_ids(
            conn,
            "SELECT id FROM albums ORDER BY id DESC LIMIT ?1 OFFSET ?2",
            &[],
            req,
            doing,
        )?,
        AlbumList::Frequent | AlbumList::Recent => {
            let order = match list {
                AlbumList::Frequent => "count(*) DESC, max(p.at) DESC",
                _ => "max(p.at) DESC",
            };
            rows::page_ids(
                conn,
                &format!(
                    "SELECT s.album_id FROM plays p JOIN songs s ON s.id = p.song_id \
                     WHERE p.user_id = ?1 GROUP BY s.album_id ORDER BY {order}, s.album_id \
                     LIMIT ?2 OFFSET ?3"
                ),
                &[&viewer],
                req,
                doing,
            )?
        }
        AlbumList::ByName => rows::page_ids(
            conn,
            "SELECT id FROM albums ORDER BY title COLLATE NOCASE, id LIMIT ?1 OFFSET ?2",
            &[],
            req,
            doing,
        )?,
        AlbumList::ByArtist => rows::page_ids(
            conn,
            "SELECT al.id FROM albums al JOIN artists ar ON ar.id = al.artist_id \
             ORDER BY ar.name COLLATE NOCASE, al.title COLLATE NOCASE, al.id \
             LIMIT ?1 OFFSET ?2",
            &[],
            req,
            doing,
        )?,
        AlbumList::ByYear { from, to } => {
            let (low, high, order) = if from <= to {
                (from, to, "ASC")
            } else {
                (to, from, "DESC")
            };
            rows::page_ids(
                conn,
                &format!(
                    "SELECT id FROM albums WHERE year BETWEEN ?1 AND ?2 \
                     ORDER BY year {order}, title COLLATE NOCASE, id LIMIT ?3 OFFSET ?4"
                ),
                &[low, high],
                req,
                doing,
            )?
        }
        AlbumList::ByGenre(genre) => rows::page_ids(
            conn,
            "SELECT al.id FROM albums al JOIN genres g ON g.id = al.genre_id \
             WHERE g.name_key = ?1 ORDER BY al.title COLLATE NOCASE, al.id LIMIT ?2 OFFSET ?3",
            &[&name_key(genre)],
            req,
            doing,
        )?,
        AlbumList::Starred => rows::page_ids(
            conn,
            "SELECT album_id FROM album_annotations WHERE user_id = ?1 \
             AND starred_at IS NOT NULL ORDER BY starred_at DESC, album_id LIMIT ?2 OFFSET ?3",
            &[&viewer],
            req,
            doing,
        )?,
        AlbumList::Highest => rows::page_ids(
            conn,
            "SELECT album_id FROM album_annotations WHERE user_id = ?1 \
             AND rating IS NOT NULL ORDER BY rating DESC, album_id LIMIT ?2 OFFSET ?3",
            &[&viewer],
            req,
            doing,
        )?,
    };
    rows::albums_by_ids(conn, &ids)
}

pub(crate) fn random_songs(
    conn: &Connection,
    filter: &SongFilter,
    count: u32,
) -> CatalogResult<Vec<Song>> {
    let count = count.min(rows::MAX_PAGE);
    let doing = "picking random songs";
    let ids: Vec<i64> = if *filter == SongFilter::default() {
        sample_ids(conn, count)?
    } else {
        // A filtered pick sorts the matching songs; the unfiltered one above never
        // touches more rows than it returns.
        let mut stmt = conn
            .prepare_cached(
                "SELECT id FROM songs \
                 WHERE (?1 IS NULL OR genre_id = (SELECT id FROM genres WHERE name_key = ?1)) \
                   AND (?2 IS NULL OR year >= ?2) AND (?3 IS NULL OR year <= ?3) \
                 ORDER BY random() LIMIT ?4",
            )
            .ctx(doing)?;
        let genre = filter.genre.as_deref().map(name_key);
        let rows = stmt
            .query_map((genre, filter.from_year, filter.to_year, count), |r| {
                r.get(0)
            })
            .ctx(doing)?;
        rows.collect::<rusqlite::Result<_>>().ctx(doing)?
    };
    rows::songs_by_ids(conn, &ids)
}

/// Distinct random song ids: each probe takes the first id at or above a random point of
/// the id range (ids have gaps where songs were deleted, so a few probes may repeat).
fn sample_ids(conn: &Connection, count: u32) -> CatalogResult<Vec<i64>> {
    let doing = "picking random songs";
    let total = rows::count(conn, "SELECT count(*) FROM songs", &[], doing)?;
    let wanted = u64::from(count).min(total) as usize;
    let mut probe = conn
        .prepare_cached(
            "SELECT id FROM songs WHERE id >= \
             (SELECT min(id) + abs(random()) % (max(id) - min(id) + 1) FROM songs) \
             ORDER BY id LIMIT 1",
        )
        .ctx(doing)?;
    let mut ids = Vec::with_capacity(wanted);
    let mut seen = std::collections::HashSet::new();
    // Bounded: with many repeats (a tiny library) the rest is filled in id order below.
    for _ in 0..wanted * 4 {
        if ids.len() == wanted {
            break;
        }
        let id: Option<i64> = probe.query_row([], |r| r.get(0)).optional().ctx(doing)?;
        if let Some(id) = id.filter(|id| seen.insert(*id)) {
            ids.push(id);
        }
    }
    if ids.len() < wanted {
        let rest: Vec<i64> = rows::collect(
            conn,
            "SELECT id FROM songs ORDER BY random() LIMIT ?1",
            wanted as i64,
            |r| r.get(0),
            doing,
        )?;
        for id in rest {
            if ids.len() < wanted && seen.insert(id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

pub(crate) fn artist_by_name(conn: &Connection, name: &str) -> CatalogResult<Option<ArtistId>> {
    conn.prepare_cached("SELECT id FROM artists WHERE name_key = ?1")
        .and_then(|mut s| s.query_row([name_key(name)], |r| r.get(0)).optional())
        .ctx("looking up an artist")
}

pub(crate) fn library_updated_at(conn: &Connection) -> CatalogResult<Option<i64>> {
    conn.prepare_cached("SELECT created_at FROM songs ORDER BY id DESC LIMIT 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .ctx("reading the newest song")
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, song, user};
    use crate::{AlbumList, Catalog, Item, SongFilter};
    use cadenza_api::PageRequest;

    #[test]
    fn album_lists_follow_their_orders() {
        let cat = memory();
        let alice = user(&cat, "alice");
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
}
