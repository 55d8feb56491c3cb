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
//! - User text never reaches `to_tsquery` as syntax: [`tsquery_of`] writes each word as a
//!   quoted prefix term, `'beat':*`, quotes and backslashes escaped, joined by `&`. A CJK
//!   word is quoted with its spaces, which `to_tsquery` turns into a phrase (`'龍' <-> '一'`).
//! - Diacritics are folded by the `unaccent` dictionary of the `cadenza_search`
//!   configuration, which folds a few letters FTS5's `remove_diacritics 2` keeps (`ø`, `ł`,
//!   `đ`, `ß`, ligatures, ...); the behaviour tests list them.
//! - Ranking is `ts_rank` with SQLite's column weights (title 10, artist 4, album 2,
//!   genre 1) and no length normalisation: `ts_rank` can only divide by the length of the
//!   whole document, so a long album title would sink a title match, where bm25 weighs
//!   each column's length on its own. Equal scores go newest first.

use super::error::Context;
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

/// Words shorter than this are left out of the index look-up of a query that has a longer
/// one (see [`Tsquery`]).
const INDEXED_WORD_CHARS: usize = 4;

/// A search as two `to_tsquery` texts: every word of it, and the words the GIN index looks
/// up. A short word is a prefix of a great many words (`the`, `li`), and the index reads
/// every match of a prefix before it can intersect it with the other words: in a query with
/// two or more longer words, the short ones are left to the check of each row the index
/// found, which applies the whole query, so the matches are the same. With one longer word
/// the planner, which cannot see how few rows pass that check, would count on finding the
/// newest matches soon while walking the songs newest first, and walk all of them.
struct Tsquery {
    all: String,
    indexed: Option<String>,
}

impl Tsquery {
    fn new(query: &str) -> Option<Tsquery> {
        let terms = query::terms(query);
        let all = tsquery_of(terms.iter().cloned())?;
        let long = |t: &String| t.chars().count() >= INDEXED_WORD_CHARS;
        let longer = terms.iter().filter(|t| long(t)).count();
        let indexed = if longer >= 2 && longer < terms.len() {
            tsquery_of(terms.into_iter().filter(long))
        } else {
            None
        };
        Some(Tsquery { all, indexed })
    }

    /// The condition on a table's `search` column: `$1` is the whole query, `$2` the
    /// indexed words when they differ from it (see [`Tsquery::params`]).
    fn condition(&self) -> &'static str {
        match self.indexed {
            None => "search @@ to_tsquery('cadenza_search', $1)",
            Some(_) => {
                "search @@ to_tsquery('cadenza_search', $2) \
                 AND ts_match_vq(search, to_tsquery('cadenza_search', $1))"
            }
        }
    }

    /// The query texts the condition reads, and the number of the next parameter.
    fn params(&self) -> (Vec<&(dyn postgres::types::ToSql + Sync)>, usize) {
        match &self.indexed {
            None => (vec![&self.all], 2),
            Some(indexed) => (vec![&self.all, indexed], 3),
        }
    }
}

/// The `to_tsquery` text for words of user text, or `None` when there is none.
fn tsquery_of(terms: impl IntoIterator<Item = String>) -> Option<String> {
    let mut text = String::new();
    for word in terms {
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
    query: &'a Tsquery,
}

/// `sql` for `searched`, in which `{table}` stands for its table, `{cond}` for the search
/// condition and `{p0}`, `{p1}` for the parameters in `extra`; with every parameter: the
/// query texts, then `extra`.
fn statement<'p>(
    searched: &Searched,
    query: &'p Tsquery,
    sql: &str,
    extra: &[&'p (dyn postgres::types::ToSql + Sync)],
) -> (String, Vec<&'p (dyn postgres::types::ToSql + Sync)>) {
    let (mut params, next) = query.params();
    let mut sql = sql
        .replace("{table}", searched.table)
        .replace("{cond}", query.condition());
    for i in 0..extra.len() {
        sql = sql.replace(&format!("{{p{i}}}"), &format!("${}", next + i));
    }
    params.extend_from_slice(extra);
    (sql, params)
}

impl Matches for Tsv<'_, '_> {
    fn window(&mut self, _wanted: u64) -> CatalogResult<Vec<(f64, i64)>> {
        // Higher ts_rank is better; the contract's scores are lower-is-better. The rank is
        // computed for the window's rows alone, not for every match a GIN index scan finds
        // before they are sorted; and the query is a condition on the table, not a join
        // with a function, so the planner estimates how many rows match.
        let template = format!(
            "SELECT -ts_rank('{}', m.search, to_tsquery('cadenza_search', $1), 0)::float8, \
             m.id FROM (SELECT id, search FROM {{table}} WHERE {{cond}} \
             ORDER BY id DESC LIMIT {RANK_WINDOW}) m ORDER BY m.id DESC",
            self.searched.weights
        );
        let (sql, params) = statement(self.searched, self.query, &template, &[]);
        rows::collect(
            self.tx,
            &sql,
            &params,
            |r| Ok((get(r, 0)?, get(r, 1)?)),
            SEARCHING,
        )
    }

    fn count_older(&mut self, id: i64, limit: u64) -> CatalogResult<u64> {
        let limit = limit as i64;
        let (sql, params) = statement(
            self.searched,
            self.query,
            "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {cond} AND id < {p0} \
             LIMIT {p1}) t",
            &[&id, &limit],
        );
        count(self.tx, &sql, &params, SEARCHING)
    }

    fn count(&mut self, limit: u64) -> CatalogResult<u64> {
        let limit = limit as i64;
        let (sql, params) = statement(
            self.searched,
            self.query,
            "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {cond} LIMIT {p0}) t",
            &[&limit],
        );
        count(self.tx, &sql, &params, SEARCHING)
    }

    fn newest(&mut self, limit: u64, offset: u64) -> CatalogResult<Vec<i64>> {
        let (limit, offset) = (limit as i64, offset as i64);
        let (sql, params) = statement(
            self.searched,
            self.query,
            "SELECT id FROM {table} WHERE {cond} ORDER BY id DESC LIMIT {p0} OFFSET {p1}",
            &[&limit, &offset],
        );
        rows::ids(self.tx, &sql, &params, SEARCHING)
    }
}

fn ranked(
    tx: &mut Tx<'_>,
    searched: &Searched,
    query: &Tsquery,
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
    let Some(q) = Tsquery::new(text) else {
        return Ok(SearchResults {
            query: text.to_owned(),
            songs: empty_page(req),
            artists: empty_page(req),
            albums: empty_page(req),
            playlists: empty_page(req),
            podcasts: empty_page(req),
        });
    };
    let q = &q;
    // A match count differs by orders of magnitude between queries, and with it the better
    // plan: walking the newest songs for a broad word, the GIN index for a rare one. A
    // cached generic plan knows neither and walked a million songs for a word in three of
    // them; a plan made for each query's own words is worth its planning.
    tx.batch("SET LOCAL plan_cache_mode = force_custom_plan")
        .ctx("choosing search plans")?;
    let all = groups.contains(&SearchType::All);
    let wants = |k: SearchType| all || groups.contains(&k);

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
        let (ids, total) = visible_playlists(tx, &q.all, viewer, req)?;
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

    fn tsquery(text: &str) -> Option<String> {
        Tsquery::new(text).map(|q| q.all)
    }

    #[test]
    fn short_words_are_checked_on_each_row_when_a_longer_one_finds_the_rows() {
        let indexed = |text: &str| Tsquery::new(text).and_then(|q| q.indexed);
        assert_eq!(
            indexed("John Li & the Candles").as_deref(),
            Some("'john':* & 'candles':*")
        );
        assert_eq!(
            indexed("the wild sons").as_deref(),
            Some("'wild':* & 'sons':*")
        );
        // All short, all long, or one long word: the index looks up the whole query.
        assert_eq!(indexed("the li"), None);
        assert_eq!(indexed("rise on"), None);
        assert_eq!(indexed("burn without"), None);
        assert_eq!(indexed("lo"), None);
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
