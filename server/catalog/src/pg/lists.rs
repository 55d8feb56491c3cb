//! Album lists and random songs in the orders third-party clients browse by.

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get};
use super::users::lookup_text;
use crate::paging::{clamp, MAX_PAGE};
use crate::text::name_key;
use crate::{AlbumList, CatalogResult, SongFilter};
use cadenza_api::{Album, ArtistId, PageRequest, Song, UserId};

pub(crate) fn album_list(
    tx: &mut Tx<'_>,
    list: &AlbumList,
    req: PageRequest,
    viewer: UserId,
) -> CatalogResult<Vec<Album>> {
    let req = clamp(req);
    let doing = "listing albums";
    let ids = match list {
        AlbumList::Random => rows::ids(
            tx,
            "SELECT id FROM albums ORDER BY random() LIMIT $1",
            &[&i64::from(req.limit)],
            doing,
        )?,
        AlbumList::Newest => rows::page_ids(
            tx,
            "SELECT id FROM albums ORDER BY id DESC LIMIT $1 OFFSET $2",
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
                tx,
                &format!(
                    "SELECT s.album_id FROM plays p JOIN songs s ON s.id = p.song_id \
                     WHERE p.user_id = $1 GROUP BY s.album_id ORDER BY {order}, s.album_id \
                     LIMIT $2 OFFSET $3"
                ),
                &[&viewer],
                req,
                doing,
            )?
        }
        AlbumList::ByName => rows::page_ids(
            tx,
            "SELECT id FROM albums ORDER BY cadenza_nocase(title), id LIMIT $1 OFFSET $2",
            &[],
            req,
            doing,
        )?,
        AlbumList::ByArtist => rows::page_ids(
            tx,
            "SELECT al.id FROM albums al JOIN artists ar ON ar.id = al.artist_id \
             ORDER BY cadenza_nocase(ar.name), cadenza_nocase(al.title), al.id \
             LIMIT $1 OFFSET $2",
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
            let (low, high) = (i64::from(*low), i64::from(*high));
            rows::page_ids(
                tx,
                &format!(
                    "SELECT id FROM albums WHERE year BETWEEN $1 AND $2 \
                     ORDER BY year {order}, cadenza_nocase(title), id LIMIT $3 OFFSET $4"
                ),
                &[&low, &high],
                req,
                doing,
            )?
        }
        AlbumList::ByGenre(genre) => match lookup_text(genre) {
            None => Vec::new(),
            Some(genre) => rows::page_ids(
                tx,
                "SELECT al.id FROM albums al JOIN genres g ON g.id = al.genre_id \
                 WHERE g.name_key = $1 ORDER BY cadenza_nocase(al.title), al.id \
                 LIMIT $2 OFFSET $3",
                &[&name_key(genre)],
                req,
                doing,
            )?,
        },
        AlbumList::Starred => rows::page_ids(
            tx,
            "SELECT album_id FROM album_annotations WHERE user_id = $1 \
             AND starred_at IS NOT NULL ORDER BY starred_at DESC, album_id LIMIT $2 OFFSET $3",
            &[&viewer],
            req,
            doing,
        )?,
        AlbumList::Highest => rows::page_ids(
            tx,
            "SELECT album_id FROM album_annotations WHERE user_id = $1 \
             AND rating IS NOT NULL ORDER BY rating DESC, album_id LIMIT $2 OFFSET $3",
            &[&viewer],
            req,
            doing,
        )?,
    };
    rows::albums_by_ids(tx, &ids)
}

pub(crate) fn random_songs(
    tx: &mut Tx<'_>,
    filter: &SongFilter,
    count: u32,
) -> CatalogResult<Vec<Song>> {
    let count = i64::from(count.min(MAX_PAGE));
    let doing = "picking random songs";
    let ids: Vec<i64> = if *filter == SongFilter::default() {
        sample_ids(tx, count)?
    } else {
        // A filtered pick sorts the matching songs; the unfiltered one above never
        // touches more rows than it returns.
        let genre = match filter.genre.as_deref() {
            Some(genre) => match lookup_text(genre) {
                Some(genre) => Some(name_key(genre)),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let (from, to) = (
            filter.from_year.map(i64::from),
            filter.to_year.map(i64::from),
        );
        rows::ids(
            tx,
            "SELECT id FROM songs \
             WHERE ($1::text IS NULL OR genre_id = (SELECT id FROM genres WHERE name_key = $1)) \
               AND ($2::int8 IS NULL OR year >= $2) AND ($3::int8 IS NULL OR year <= $3) \
             ORDER BY random() LIMIT $4",
            &[&genre, &from, &to, &count],
            doing,
        )?
    };
    rows::songs_by_ids(tx, &ids)
}

/// Distinct random song ids: each probe takes the first id at or above a random point of
/// the id range (ids have gaps where songs were deleted, so a few probes may repeat).
fn sample_ids(tx: &mut Tx<'_>, count: i64) -> CatalogResult<Vec<i64>> {
    let doing = "picking random songs";
    let total = rows::count(tx, "SELECT count(*) FROM songs", &[], doing)?;
    let wanted = u64::try_from(count).unwrap_or(0).min(total) as usize;
    let mut ids = Vec::with_capacity(wanted);
    let mut seen = std::collections::HashSet::new();
    // Bounded: with many repeats (a tiny library) the rest is filled in random order below.
    for _ in 0..wanted * 4 {
        if ids.len() == wanted {
            break;
        }
        let id = tx
            .query_opt(
                "SELECT id FROM songs WHERE id >= \
                 (SELECT min(id) + floor(random() * (max(id) - min(id) + 1))::int8 FROM songs) \
                 ORDER BY id LIMIT 1",
                &[],
            )
            .ctx(doing)?
            .map(|r| get::<i64>(&r, 0))
            .transpose()?;
        if let Some(id) = id.filter(|id| seen.insert(*id)) {
            ids.push(id);
        }
    }
    if ids.len() < wanted {
        let rest = rows::ids(
            tx,
            "SELECT id FROM songs ORDER BY random() LIMIT $1",
            &[&(wanted as i64)],
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

pub(crate) fn artist_by_name(tx: &mut Tx<'_>, name: &str) -> CatalogResult<Option<ArtistId>> {
    let Some(name) = lookup_text(name) else {
        return Ok(None);
    };
    tx.query_opt(
        "SELECT id FROM artists WHERE name_key = $1",
        &[&name_key(name)],
    )
    .ctx("looking up an artist")?
    .map(|r| get(&r, 0))
    .transpose()
}

pub(crate) fn library_updated_at(tx: &mut Tx<'_>) -> CatalogResult<Option<i64>> {
    tx.query_opt("SELECT created_at FROM songs ORDER BY id DESC LIMIT 1", &[])
        .ctx("reading the newest song")?
        .map(|r| get(&r, 0))
        .transpose()
}
