//! Full-text search over songs, artists, albums, playlists and podcasts (SQLite FTS5).
//!
//! User text never reaches FTS5 as syntax: [`match_expression`] splits it into words and
//! double-quotes each one as a prefix term, so `AND(`, `NEAR`, `*`, `"`, `-x` and `a:b` are
//! just words to look for. Each group is paged in two steps (Navidrome's lesson): the page's
//! rowids come from the FTS table alone, ordered by `cadenza_rank` (bm25 without IDF, see
//! rank.rs), then only those rows are read.

use super::error::Context;
use super::rows::{self, count};
use crate::query::{self, group, Matches, Total, RANK_WINDOW};
use crate::CatalogResult;
use cadenza_api::{PageRequest, SearchResults, SearchType, UserId};
use rusqlite::Connection;

/// The FTS5 MATCH expression for user text, or `None` when it holds no word to look for:
/// each of [`query::terms`] as a quoted prefix term, `"beat"*`, ANDed.
pub(crate) fn match_expression(query: &str) -> Option<String> {
    let mut expr = String::new();
    for word in query::terms(query) {
        if !expr.is_empty() {
            expr.push(' ');
        }
        expr.push('"');
        expr.push_str(&word.replace('"', "\"\""));
        expr.push_str("\"*");
    }
    (!expr.is_empty()).then_some(expr)
}

/// A full-text table searched through [`query::ranked`].
struct Indexed {
    table: &'static str,
    /// Column weights for `cadenza_rank`: a title hit counts most.
    weights: &'static str,
    /// Whether a row's rowid is its id negated, as in songs_fts (see [`song_rowid`]).
    negated: bool,
}

impl Indexed {
    /// The id of the row with this rowid (and the rowid of the row with this id).
    fn id(&self, rowid: i64) -> i64 {
        if self.negated {
            -rowid
        } else {
            rowid
        }
    }

    /// `ORDER BY rowid` direction that gives the newest rows first.
    fn newest_first(&self) -> &'static str {
        if self.negated {
            "ASC"
        } else {
            "DESC"
        }
    }

    /// Comparison with a rowid that selects the rows older than it.
    fn older_than(&self) -> &'static str {
        if self.negated {
            ">"
        } else {
            "<"
        }
    }
}

/// Title, artist, album, genre.
const SONGS: Indexed = Indexed {
    table: "songs_fts",
    weights: "10.0, 4.0, 2.0, 1.0",
    negated: true,
};
const ARTISTS: Indexed = Indexed {
    table: "artists_fts",
    weights: "1.0",
    negated: false,
};
/// Title, artist.
const ALBUMS: Indexed = Indexed {
    table: "albums_fts",
    weights: "10.0, 3.0",
    negated: false,
};
/// Title, author.
const PODCASTS: Indexed = Indexed {
    table: "podcasts_fts",
    weights: "10.0, 3.0",
    negated: false,
};

/// The songs_fts rowid of a song: its id negated (schema version 5), so FTS5 walks the
/// newest songs first going forwards, which costs about half of walking backwards (ranking
/// starts from the newest matches, see [`RANK_WINDOW`]). The other tables are small
/// enough that the direction does not matter, and keep their ids.
pub(crate) fn song_rowid(id: i64) -> i64 {
    SONGS.id(id)
}

/// Searches the groups listed in `groups` (for `All`, every group); the others come back as
/// empty pages.
pub(crate) fn search(
    conn: &Connection,
    query: &str,
    groups: &[SearchType],
    req: PageRequest,
    viewer: UserId,
) -> CatalogResult<SearchResults> {
    let req = rows::clamp(req);
    let expr = match_expression(query);
    let all = groups.contains(&SearchType::All);
    let wants = |k: SearchType| expr.is_some() && (all || groups.contains(&k));
    let e = expr.as_deref().unwrap_or_default();

    let songs = if wants(SearchType::Song) {
        let (ids, total) = ranked(conn, &SONGS, e, req)?;
        group(rows::songs_by_ids(conn, &ids)?, total, req)
    } else {
        rows::empty_page(req)
    };
    let artists = if wants(SearchType::Artist) {
        let (ids, total) = ranked(conn, &ARTISTS, e, req)?;
        group(rows::artists_by_ids(conn, &ids)?, total, req)
    } else {
        rows::empty_page(req)
    };
    let albums = if wants(SearchType::Album) {
        let (ids, total) = ranked(conn, &ALBUMS, e, req)?;
        group(rows::albums_by_ids(conn, &ids)?, total, req)
    } else {
        rows::empty_page(req)
    };
    let playlists = if wants(SearchType::Playlist) {
        let (ids, total) = visible_playlists(conn, e, viewer, req)?;
        group(rows::playlists_by_ids(conn, &ids)?, total, req)
    } else {
        rows::empty_page(req)
    };
    let podcasts = if wants(SearchType::Podcast) {
        let (ids, total) = ranked(conn, &PODCASTS, e, req)?;
        group(rows::podcasts_by_ids(conn, &ids)?, total, req)
    } else {
        rows::empty_page(req)
    };
    Ok(SearchResults {
        query: query.to_owned(),
        songs,
        artists,
        albums,
        playlists,
        podcasts,
    })
}

/// The matches of an FTS5 expression in one full-text table.
struct Fts<'a> {
    conn: &'a Connection,
    fts: &'a Indexed,
    expr: &'a str,
}

const SEARCHING: &str = "searching the catalog";

impl Matches for Fts<'_> {
    /// Scored by `cadenza_rank_top` (see rank.rs: it saves most column-length lookups).
    ///
    /// Sorting happens in [`query::ranked`] rather than in SQL: an `ORDER BY score` over a
    /// subquery that also reports its size makes SQLite copy the window into temporary
    /// b-trees, which cost as much as scoring it.
    fn window(&mut self, wanted: u64) -> CatalogResult<Vec<(f64, i64)>> {
        let (table, weights, newest_first) =
            (self.fts.table, self.fts.weights, self.fts.newest_first());
        let sql = format!(
            "SELECT cadenza_rank_top({table}, ?2, {weights}), rowid FROM {table} \
             WHERE {table} MATCH ?1 ORDER BY rowid {newest_first} LIMIT {RANK_WINDOW}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx(SEARCHING)?;
        let mut rows = stmt.query((self.expr, wanted as i64)).ctx(SEARCHING)?;
        let mut scored = Vec::new();
        while let Some(r) = rows.next().ctx(SEARCHING)? {
            let rowid = r.get(1).ctx(SEARCHING)?;
            scored.push((r.get(0).ctx(SEARCHING)?, self.fts.id(rowid)));
        }
        Ok(scored)
    }

    fn count_older(&mut self, id: i64, limit: u64) -> CatalogResult<u64> {
        let (table, older) = (self.fts.table, self.fts.older_than());
        let sql = format!(
            "SELECT count(*) FROM \
               (SELECT 1 FROM {table} WHERE {table} MATCH ?1 AND rowid {older} ?2 LIMIT ?3)"
        );
        let (rowid, limit) = (self.fts.id(id), limit as i64);
        count(self.conn, &sql, &[&self.expr, &rowid, &limit], SEARCHING)
    }

    fn count(&mut self, limit: u64) -> CatalogResult<u64> {
        let table = self.fts.table;
        let sql =
            format!("SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ?1 LIMIT ?2)");
        count(self.conn, &sql, &[&self.expr, &(limit as i64)], SEARCHING)
    }

    fn newest(&mut self, limit: u64, offset: u64) -> CatalogResult<Vec<i64>> {
        let (table, newest_first) = (self.fts.table, self.fts.newest_first());
        let sql = format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ?1 \
             ORDER BY rowid {newest_first} LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql).ctx(SEARCHING)?;
        let rows = stmt
            .query_map((self.expr, limit as i64, offset as i64), |r| {
                r.get::<_, i64>(0)
            })
            .ctx(SEARCHING)?;
        rows.map(|rowid| rowid.map(|r| self.fts.id(r)))
            .collect::<rusqlite::Result<_>>()
            .ctx(SEARCHING)
    }
}

/// One page of ids from a full-text table, best first, with the number of matches.
fn ranked(
    conn: &Connection,
    fts: &Indexed,
    expr: &str,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    query::ranked(&mut Fts { conn, fts, expr }, req)
}

/// Playlists matching, restricted to public ones and the viewer's own. There are few
/// playlists, so they are ranked exactly.
fn visible_playlists(
    conn: &Connection,
    expr: &str,
    viewer: UserId,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    let (ids, total) = rows::paged_ids(
        conn,
        "SELECT f.rowid FROM playlists_fts f JOIN playlists p ON p.id = f.rowid \
         WHERE playlists_fts MATCH ?1 AND (p.public OR p.owner_id = ?2) \
         ORDER BY cadenza_rank(playlists_fts), f.rowid LIMIT ?3 OFFSET ?4",
        "SELECT count(*) FROM playlists_fts f JOIN playlists p ON p.id = f.rowid \
         WHERE playlists_fts MATCH ?1 AND (p.public OR p.owner_id = ?2)",
        &[&expr, &viewer],
        req,
        "searching playlists",
    )?;
    Ok((ids, Total::exact(total)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::testkit::{song, user};
    use crate::{Catalog, SqliteCatalog};
    use cadenza_api::{CreatePlaylist, CreatePodcast};

    #[test]
    fn user_text_becomes_quoted_prefix_terms() {
        assert_eq!(
            match_expression("  Let it  be ").as_deref(),
            Some(r#""Let"* "it"* "be"*"#)
        );
        assert_eq!(
            match_expression("坂本龍一").as_deref(),
            Some(r#""坂 本 龍 一"*"#)
        );
        for nothing in ["", "\"\"", "🎵🎶", "\u{0}"] {
            assert_eq!(match_expression(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn an_all_search_on_two_readers_matches_each_group_searched_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cat = SqliteCatalog::open_with_readers(&dir.path().join("c.db"), 2).unwrap();
        for (n, title, artist) in [(1, "Beat It", "Beat Crew"), (2, "Heartbeat", "Beatles")] {
            cat.insert_song(&song(n, title, artist, "Beat Album"), 0)
                .unwrap();
        }
        let owner = user(&cat, "owner");
        let list = CreatePlaylist {
            name: "Beat mix".into(),
            public: true,
        };
        cat.create_playlist(owner, &list, 0).unwrap();
        let pod = CreatePodcast {
            title: "Beat Talk".into(),
            author: None,
            description: None,
            feed_url: None,
        };
        cat.create_podcast(&pod, 0).unwrap();
        let find = |kind| {
            cat.search("beat", kind, PageRequest::default(), owner)
                .unwrap()
        };
        let all = find(SearchType::All);
        assert_eq!(all.songs, find(SearchType::Song).songs);
        assert_eq!(all.artists, find(SearchType::Artist).artists);
        assert_eq!(all.albums, find(SearchType::Album).albums);
        assert_eq!(all.playlists, find(SearchType::Playlist).playlists);
        assert_eq!(all.podcasts, find(SearchType::Podcast).podcasts);
        let found = [
            all.songs.total,
            all.artists.total,
            all.albums.total,
            all.playlists.total,
            all.podcasts.total,
        ];
        assert_eq!(found, [2, 2, 2, 1, 1], "every group found its matches");
        assert_eq!(all.query, "beat");
    }
}
