//! Full-text search over songs, artists, albums, playlists and podcasts (tsvector + GIN).
//!
//! The same contract as the SQLite search (see `query.rs`): prefix matching of every word,
//! case and diacritics ignored, any input safe, CJK found inside names, results grouped,
//! broad queries ranked over their newest matches and counted up to a cap.
//!
//! - Words are split by the catalog, not by PostgreSQL's parser, on both sides: the
//!   documents hold [`index_text`] (the words of a name by `query::words`, lower-cased, CJK
//!   spaced out) and a query holds the same words. PostgreSQL's parser would otherwise keep
//!   `AC/DC` as one file-path token, `B-52's` as a hyphenated word, and an e-mail address
//!   whole, none of which a typed word finds the way FTS5 finds it.
//! - User text never reaches `to_tsquery` as syntax: [`tsquery`] writes each word as a
//!   quoted prefix term, `'beat':*`, quotes and backslashes escaped, joined by `&`. A CJK
//!   word is quoted with its spaces, which `to_tsquery` turns into a phrase (`'龍' <-> '一'`).
//! - Diacritics are folded by the `unaccent` dictionary of the `cadenza_search`
//!   configuration, which folds a few letters FTS5's `remove_diacritics 2` keeps (`ø`, `ł`,
//!   `đ`, `ß`, ligatures, ...); the behaviour tests list them.
//! - Ranking is `ts_rank` with SQLite's column weights (title 10, artist 4, album 2,
//!   genre 1) and no length normalisation: `ts_rank` can only divide by the length of the
//!   whole document, so a long album title would sink a title match, where bm25 weighs
//!   each column's length on its own. Equal scores go newest first.

use super::pool::Tx;
use super::rows::{self, count, get};
use crate::paging::{clamp, empty_page, total_from_page};
use crate::query::{self, group, Matches, Total, RANK_WINDOW};
use crate::text::fts_text;
use crate::CatalogResult;
use cadenza_api::{PageRequest, SearchResults, SearchType, UserId};

/// Text as a search document holds it: its words, lower-cased, CJK spaced out.
pub(crate) fn index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in query::words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&fts_text(&word.to_lowercase()));
    }
    out
}

/// The `to_tsquery` text for user text, or `None` when it holds no word to look for.
pub(crate) fn tsquery(query: &str) -> Option<String> {
    let mut text = String::new();
    for word in query::terms(query) {
        if !text.is_empty() {
            text.push_str(" & ");
        }
        text.push('\'');
        for c in word.to_lowercase().chars() {
            if matches!(c, '\'' | '\\') {
                text.push('\\');
            }
            text.push(c);
        }
        text.push_str("':*");
    }
    (!text.is_empty()).then_some(text)
}

/// A searchable table.
struct Searched {
    table: &'static str,
    /// `ts_rank` weights of D, C, B, A: SQLite's column weights scaled to at most 1.
    weights: &'static str,
}

/// Title (A), artist (B), album (C), genre (D).
const SONGS: Searched = Searched {
    table: "songs",
    weights: "{0.1, 0.2, 0.4, 1.0}",
};
const ARTISTS: Searched = Searched {
    table: "artists",
    weights: "{0.1, 0.2, 0.4, 1.0}",
};
/// Title (A), artist (B).
const ALBUMS: Searched = Searched {
    table: "albums",
    weights: "{0.1, 0.2, 0.3, 1.0}",
};
/// Title (A), author (B).
const PODCASTS: Searched = Searched {
    table: "podcasts",
    weights: "{0.1, 0.2, 0.3, 1.0}",
};

const SEARCHING: &str = "searching the catalog";

/// The matches of a tsquery in one table.
struct Tsv<'a, 't> {
    tx: &'a mut Tx<'t>,
    searched: &'a Searched,
    query: &'a str,
}

impl Matches for Tsv<'_, '_> {
    fn window(&mut self, _wanted: u64) -> CatalogResult<Vec<(f64, i64)>> {
        let (table, weights) = (self.searched.table, self.searched.weights);
        // Higher ts_rank is better; the contract's scores are lower-is-better.
        let sql = format!(
            "SELECT -ts_rank('{weights}', search, q, 0)::float8, id \
             FROM {table}, to_tsquery('cadenza_search', $1) q \
             WHERE search @@ q ORDER BY id DESC LIMIT {RANK_WINDOW}"
        );
        rows::collect(
            self.tx,
            &sql,
            &[&self.query],
            |r| Ok((get(r, 0)?, get(r, 1)?)),
            SEARCHING,
        )
    }

    fn count_older(&mut self, id: i64, limit: u64) -> CatalogResult<u64> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} WHERE search @@ to_tsquery('cadenza_search', $1) \
             AND id < $2 LIMIT $3) t",
            self.searched.table
        );
        count(
            self.tx,
            &sql,
            &[&self.query, &id, &(limit as i64)],
            SEARCHING,
        )
    }

    fn count(&mut self, limit: u64) -> CatalogResult<u64> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} WHERE search @@ to_tsquery('cadenza_search', $1) \
             LIMIT $2) t",
            self.searched.table
        );
        count(self.tx, &sql, &[&self.query, &(limit as i64)], SEARCHING)
    }

    fn newest(&mut self, limit: u64, offset: u64) -> CatalogResult<Vec<i64>> {
        let sql = format!(
            "SELECT id FROM {} WHERE search @@ to_tsquery('cadenza_search', $1) \
             ORDER BY id DESC LIMIT $2 OFFSET $3",
            self.searched.table
        );
        rows::ids(
            self.tx,
            &sql,
            &[&self.query, &(limit as i64), &(offset as i64)],
            SEARCHING,
        )
    }
}

fn ranked(
    tx: &mut Tx<'_>,
    searched: &Searched,
    query: &str,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    query::ranked(
        &mut Tsv {
            tx,
            searched,
            query,
        },
        req,
    )
}

/// Searches the groups listed in `groups` (for `All`, every group); the others come back as
/// empty pages.
pub(crate) fn search(
    tx: &mut Tx<'_>,
    text: &str,
    groups: &[SearchType],
    req: PageRequest,
    viewer: UserId,
) -> CatalogResult<SearchResults> {
    let req = clamp(req);
    let q = tsquery(text);
    let all = groups.contains(&SearchType::All);
    let wants = |k: SearchType| q.is_some() && (all || groups.contains(&k));
    let q = q.as_deref().unwrap_or_default();

    let songs = if wants(SearchType::Song) {
        let (ids, total) = ranked(tx, &SONGS, q, req)?;
        group(rows::songs_by_ids(tx, &ids)?, total, req)
    } else {
        empty_page(req)
    };
    let artists = if wants(SearchType::Artist) {
        let (ids, total) = ranked(tx, &ARTISTS, q, req)?;
        group(rows::artists_by_ids(tx, &ids)?, total, req)
    } else {
        empty_page(req)
    };
    let albums = if wants(SearchType::Album) {
        let (ids, total) = ranked(tx, &ALBUMS, q, req)?;
        group(rows::albums_by_ids(tx, &ids)?, total, req)
    } else {
        empty_page(req)
    };
    let playlists = if wants(SearchType::Playlist) {
        let (ids, total) = visible_playlists(tx, q, viewer, req)?;
        group(rows::playlists_by_ids(tx, &ids)?, total, req)
    } else {
        empty_page(req)
    };
    let podcasts = if wants(SearchType::Podcast) {
        let (ids, total) = ranked(tx, &PODCASTS, q, req)?;
        group(rows::podcasts_by_ids(tx, &ids)?, total, req)
    } else {
        empty_page(req)
    };
    Ok(SearchResults {
        query: text.to_owned(),
        songs,
        artists,
        albums,
        playlists,
        podcasts,
    })
}

/// Playlists matching, restricted to public ones and the viewer's own. There are few
/// playlists, so they are ranked exactly; equal scores go oldest first, as in SQLite.
fn visible_playlists(
    tx: &mut Tx<'_>,
    q: &str,
    viewer: UserId,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    let doing = "searching playlists";
    let ids = rows::page_ids(
        tx,
        "SELECT p.id FROM playlists p, to_tsquery('cadenza_search', $1) q \
         WHERE p.search @@ q AND (p.public OR p.owner_id = $2) \
         ORDER BY ts_rank(p.search, q, 0) DESC, p.id LIMIT $3 OFFSET $4",
        &[&q, &viewer],
        req,
        doing,
    )?;
    let total = match total_from_page(ids.len(), req) {
        Some(t) => t,
        None => count(
            tx,
            "SELECT count(*) FROM playlists p WHERE p.search @@ to_tsquery('cadenza_search', $1) \
             AND (p.public OR p.owner_id = $2)",
            &[&q, &viewer],
            doing,
        )?,
    };
    Ok((ids, Total::exact(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_hold_the_words_folded_and_split() {
        assert_eq!(index_text("AC/DC"), "ac dc");
        assert_eq!(index_text("The B-52's"), "the b 52 s");
        assert_eq!(index_text("坂本龍一 Live"), "坂 本 龍 一 live");
        assert_eq!(index_text("  Björk  "), "björk");
        assert_eq!(index_text("🎵"), "");
    }

    #[test]
    fn queries_are_quoted_prefix_terms_and_never_syntax() {
        assert_eq!(tsquery("Beat it").as_deref(), Some("'beat':* & 'it':*"));
        assert_eq!(
            tsquery("a&b|c!d<->e").as_deref(),
            Some("'a':* & 'b':* & 'c':* & 'd':* & 'e':*")
        );
        assert_eq!(tsquery("龍一").as_deref(), Some("'龍 一':*"));
        for nothing in ["", "'", "\\", "&|!():*", "\u{0}", "🎵"] {
            assert_eq!(tsquery(nothing), None, "{nothing:?}");
        }
    }
}
