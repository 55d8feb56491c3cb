//! Full-text search over songs, artists, albums, playlists and podcasts (SQLite FTS5).
//!
//! User text never reaches FTS5 as syntax: [`match_expression`] splits it into words and
//! double-quotes each one as a prefix term, so `AND(`, `NEAR`, `*`, `"`, `-x` and `a:b` are
//! just words to look for. Each group is paged in two steps (Navidrome's lesson): the page's
//! rowids come from the FTS table alone, ordered by `cadenza_rank` (bm25 without IDF, see
//! rank.rs), then only those rows are read.

use super::error::Context;
use super::rows::{self, count};
use super::text::{fts_text, is_cjk};
use crate::CatalogResult;
use cadenza_api::{Page, PageRequest, SearchResults, SearchType, UserId};
use rusqlite::Connection;

/// Words of a query that are looked up; the rest are ignored.
pub(crate) const MAX_QUERY_TOKENS: usize = 16;
/// Longest word looked up; longer ones are cut (nothing in a catalog is that long).
pub(crate) const MAX_TOKEN_CHARS: usize = 48;

/// The FTS5 MATCH expression for user text, or `None` when it holds no word to look for.
///
/// A word is a run of letters and digits (combining marks included, so a decomposed `ö`
/// stays inside its word); everything else separates words. Each word becomes a quoted
/// prefix term, `"beat"*`, and the terms are ANDed. CJK runs are spaced out like the
/// indexed text, so `"龍 一"*` matches inside `坂本龍一`. A word that starts another word
/// of the query (`m` in `mi m`, a repeated word) adds nothing but work, so it is dropped.
pub(crate) fn match_expression(query: &str) -> Option<String> {
    let words: Vec<String> = words(query)
        .take(MAX_QUERY_TOKENS)
        .map(|w| w.chars().take(MAX_TOKEN_CHARS).collect())
        .collect();
    let folded: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let implied = |i: usize| {
        folded.iter().enumerate().any(|(j, other)| {
            j != i && other.starts_with(&folded[i]) && (other.len() > folded[i].len() || j < i)
        })
    };
    let mut expr = String::new();
    for (i, word) in words.iter().enumerate() {
        if implied(i) {
            continue;
        }
        let word = if word.chars().any(is_cjk) {
            fts_text(word)
        } else {
            word.clone()
        };
        if !expr.is_empty() {
            expr.push(' ');
        }
        expr.push('"');
        expr.push_str(&word.replace('"', "\"\""));
        expr.push_str("\"*");
    }
    (!expr.is_empty()).then_some(expr)
}

fn words(query: &str) -> impl Iterator<Item = &str> {
    query
        .split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c)))
        .filter(|w| w.chars().any(char::is_alphanumeric))
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// How many of the newest matches are scored when a query matches more.
///
/// Ordering by score means scoring every row ordered (about a microsecond each, see
/// rank.rs), so ranking every song a one-letter prefix matches (a large share of the
/// catalog) would cost time in proportion to the catalog. Queries matching at most this many rows (nearly every query of
/// three letters or more) are ranked exactly; broader ones rank their newest `RANK_WINDOW`
/// matches, which is what a user still typing sees anyway.
pub(crate) const RANK_WINDOW: u64 = 2_000;

/// Most matches a group's total counts. Counting is a walk over every match, so an uncapped
/// count for a one-letter prefix would walk a large share of the catalog. Broader
/// searches report this total with `total_is_lower_bound` set ("10,000+"); paging past
/// it still works.
pub(crate) const TOTAL_CAP: u64 = 10_000;

/// How many matches a group has: exact, or at least `count` when counting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Total {
    count: u64,
    lower_bound: bool,
}

impl Total {
    fn exact(count: u64) -> Total {
        Total {
            count,
            lower_bound: false,
        }
    }

    /// `counted` matches found by a count that stopped after `TOTAL_CAP + 1`.
    fn capped(counted: u64) -> Total {
        Total {
            count: counted.min(TOTAL_CAP),
            lower_bound: counted > TOTAL_CAP,
        }
    }
}

fn group<T>(items: Vec<T>, total: Total, req: PageRequest) -> Page<T> {
    Page {
        total_is_lower_bound: total.lower_bound,
        ..rows::page(items, total.count, req)
    }
}

/// A full-text table searched by [`ranked`].
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

/// The groups of a `type=all` search, split in two halves of similar cost that run on two
/// connections at once (a broad word costs songs, artists and albums about the same, and a
/// multi-word query mostly costs songs).
pub(crate) const ALL_HALVES: [&[SearchType]; 2] = [
    &[SearchType::Song, SearchType::Playlist, SearchType::Podcast],
    &[SearchType::Artist, SearchType::Album],
];

/// The results of an `All` search from its two [`ALL_HALVES`].
pub(crate) fn join_halves(first: SearchResults, second: SearchResults) -> SearchResults {
    SearchResults {
        songs: first.songs,
        playlists: first.playlists,
        podcasts: first.podcasts,
        ..second
    }
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

/// One page of rowids from a full-text table, best first, and the number of matches
/// (counted up to [`TOTAL_CAP`]).
///
/// The order is: the newest [`RANK_WINDOW`] matches by score, then any older matches newest
/// first. That order is the same whichever page is asked for, so pages never overlap or
/// skip. The window query scores only its rows, and how many it holds and the oldest among
/// them tell the rest: a window that is not full holds every match, and a full one means
/// only the matches older than its oldest row still need counting. Either way no match is
/// walked twice, which matters when common words make the AND walk long.
fn ranked(
    conn: &Connection,
    fts: &Indexed,
    expr: &str,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    let doing = "searching the catalog";
    let (offset, limit) = (u64::from(req.offset), u64::from(req.limit));
    let (table, newest_first) = (fts.table, fts.newest_first());
    let mut ids = Vec::new();
    // Matches in the window and the oldest id among them.
    let mut window: Option<(u64, i64)> = None;
    if offset < RANK_WINDOW {
        let scored = window_scores(conn, fts, expr, offset + limit)?;
        window = Some((scored.len() as u64, scored.last().map_or(0, |s| s.1)));
        let end = (offset + limit).min(scored.len() as u64) as usize;
        ids = best(scored, end).split_off((offset as usize).min(end));
    }
    // Counts stop one past the cap, so exactly TOTAL_CAP matches still count as exact.
    let total = match window {
        Some((n, _)) if n < RANK_WINDOW => Total::exact(n),
        Some((n, oldest)) => {
            let older = fts.older_than();
            let sql = format!(
                "SELECT count(*) FROM \
                   (SELECT 1 FROM {table} WHERE {table} MATCH ?1 AND rowid {older} ?2 LIMIT ?3)"
            );
            let rest = (TOTAL_CAP + 1).saturating_sub(n) as i64;
            let oldest = fts.id(oldest);
            Total::capped(n + count(conn, &sql, &[&expr, &oldest, &rest], doing)?)
        }
        // Past the window: count from scratch.
        None => {
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ?1 LIMIT ?2)"
            );
            let cap = (TOTAL_CAP + 1) as i64;
            Total::capped(count(conn, &sql, &[&expr, &cap], doing)?)
        }
    };
    let end = offset + limit;
    if end > RANK_WINDOW && total.count > RANK_WINDOW {
        let from = offset.max(RANK_WINDOW);
        let sql = format!(
            "SELECT rowid FROM {table} WHERE {table} MATCH ?1 \
             ORDER BY rowid {newest_first} LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = conn.prepare_cached(&sql).ctx(doing)?;
        let older = stmt
            .query_map((expr, (end - from) as i64, from as i64), |r| {
                r.get::<_, i64>(0)
            })
            .ctx(doing)?;
        for rowid in older {
            ids.push(fts.id(rowid.ctx(doing)?));
        }
    }
    let total = if total.lower_bound {
        // A page past the cap proves more matches than it.
        Total {
            count: total.count.max(offset + ids.len() as u64),
            ..total
        }
    } else {
        total
    };
    Ok((ids, total))
}

/// `(score, id)` of the newest [`RANK_WINDOW`] matches, newest first. Only matches that
/// may be among the best `wanted` get their score; the others score +infinity (see
/// `cadenza_rank_top` in rank.rs: it saves most column-length lookups).
///
/// Sorting happens here rather than in SQL: an `ORDER BY score` over a subquery that also
/// reports its size makes SQLite copy the window into temporary b-trees, which cost as
/// much as scoring it.
fn window_scores(
    conn: &Connection,
    fts: &Indexed,
    expr: &str,
    wanted: u64,
) -> CatalogResult<Vec<(f64, i64)>> {
    let doing = "searching the catalog";
    let (table, weights, newest_first) = (fts.table, fts.weights, fts.newest_first());
    let sql = format!(
        "SELECT cadenza_rank_top({table}, ?2, {weights}), rowid FROM {table} \
         WHERE {table} MATCH ?1 ORDER BY rowid {newest_first} LIMIT {RANK_WINDOW}"
    );
    let mut stmt = conn.prepare_cached(&sql).ctx(doing)?;
    let mut rows = stmt.query((expr, wanted as i64)).ctx(doing)?;
    let mut scored = Vec::new();
    while let Some(r) = rows.next().ctx(doing)? {
        scored.push((r.get(0).ctx(doing)?, fts.id(r.get(1).ctx(doing)?)));
    }
    Ok(scored)
}

/// The rowids of the `n` best-scored entries, best first: lower scores first, equal
/// scores newest first.
fn best(mut scored: Vec<(f64, i64)>, n: usize) -> Vec<i64> {
    let order = |a: &(f64, i64), b: &(f64, i64)| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1));
    if n == 0 {
        return Vec::new();
    }
    if n < scored.len() {
        scored.select_nth_unstable_by(n - 1, order);
        scored.truncate(n);
    }
    scored.sort_unstable_by(order);
    scored.into_iter().map(|(_, id)| id).collect()
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
    use crate::sqlite::testkit::{memory, song, user};
    use crate::{Catalog, SqliteCatalog};
    use cadenza_api::{CreatePlaylist, CreatePodcast};

    fn titles(cat: &SqliteCatalog, q: &str) -> Vec<String> {
        let r = cat
            .search(q, SearchType::Song, PageRequest::default(), 0)
            .unwrap();
        r.songs.items.into_iter().map(|s| s.title).collect()
    }

    #[test]
    fn user_text_becomes_quoted_prefix_terms() {
        assert_eq!(match_expression("beat").as_deref(), Some(r#""beat"*"#));
        assert_eq!(
            match_expression("  Let it  be ").as_deref(),
            Some(r#""Let"* "it"* "be"*"#)
        );
        assert_eq!(
            match_expression(r#"AND( "x" NEAR(a b) -y a:b ^c *"#).as_deref(),
            Some(r#""AND"* "x"* "NEAR"* "b"* "y"* "c"*"#),
            "`a` starts `AND`, the second `b` repeats the first"
        );
        // Repeats and words that start another word are implied by it.
        assert_eq!(
            match_expression("Mi mi M k").as_deref(),
            Some(r#""Mi"* "k"*"#)
        );
        assert_eq!(match_expression("the the").as_deref(), Some(r#""the"*"#));
        assert_eq!(
            match_expression("坂本龍一").as_deref(),
            Some(r#""坂 本 龍 一"*"#)
        );
        assert_eq!(
            match_expression("bjo\u{308}rk").as_deref(),
            Some("\"bjo\u{308}rk\"*")
        );
        for nothing in ["", "   ", "\"\"", "***", "🎵🎶", "-:^()", "\u{0}"] {
            assert_eq!(match_expression(nothing), None, "{nothing:?}");
        }
        let long: String = (0..2_000).map(|i| format!("x{i}y ")).collect();
        assert_eq!(
            match_expression(&long).unwrap().matches('*').count(),
            MAX_QUERY_TOKENS
        );
        let one_huge = "x".repeat(10_000);
        assert_eq!(
            match_expression(&one_huge).unwrap().len(),
            MAX_TOKEN_CHARS + 3
        );
    }

    fn library() -> SqliteCatalog {
        let cat = memory();
        let songs = [
            (1, "Hey Jude", "The Beatles", "Past Masters", Some("Rock")),
            (2, "Beat It", "Michael Jackson", "Thriller", Some("Pop")),
            (3, "Jóga", "Björk", "Homogenic", Some("Electronic")),
            (4, "序曲", "坂本龍一", "静かな波形", Some("Ambient")),
            (5, "Tokyo Sine", "坂本龍一", "静かな波形", Some("Ambient")),
            (
                6,
                "Rock Lobster",
                "The B-52's",
                "The B-52's",
                Some("New Wave"),
            ),
            (7, "Let It Be", "The Beatles", "Let It Be", Some("Rock")),
        ];
        for (n, title, artist, album, genre) in songs {
            let mut s = song(n, title, artist, album);
            s.genre = genre.map(Into::into);
            cat.insert_song(&s, 0).unwrap();
        }
        cat
    }

    #[test]
    fn prefixes_find_words_as_they_are_typed() {
        let cat = library();
        assert_eq!(titles(&cat, "jud"), ["Hey Jude"]);
        let beat = titles(&cat, "beat");
        assert_eq!(beat.len(), 3, "{beat:?}");
        assert_eq!(titles(&cat, "beatles let"), ["Let It Be"]);
        assert!(titles(&cat, "beatlesz").is_empty());
    }

    #[test]
    fn diacritics_and_case_do_not_matter() {
        let cat = library();
        assert_eq!(titles(&cat, "bjork"), ["Jóga"]);
        assert_eq!(titles(&cat, "BJÖRK"), ["Jóga"]);
        assert_eq!(titles(&cat, "joga"), ["Jóga"]);
        assert_eq!(titles(&cat, "bjo\u{308}rk"), ["Jóga"], "decomposed ö");
    }

    #[test]
    fn cjk_names_match_anywhere_inside() {
        let cat = library();
        for q in ["坂本", "坂本龍一", "龍一", "静か", "波形"] {
            assert_eq!(titles(&cat, q).len(), 2, "{q}");
        }
        assert_eq!(titles(&cat, "序"), ["序曲"]);
        assert_eq!(titles(&cat, "tokyo 坂本"), ["Tokyo Sine"]);
        let r = cat
            .search("龍一", SearchType::Artist, PageRequest::default(), 0)
            .unwrap();
        assert_eq!(r.artists.items[0].name, "坂本龍一");
        // No romanisation is stored, so the Latin reading finds nothing.
        assert!(titles(&cat, "sakamoto").is_empty());
    }

    #[test]
    fn title_matches_rank_above_other_columns() {
        let cat = library();
        // "rock" is the title of one song and the genre of two others; equal scores go
        // newest first.
        assert_eq!(
            titles(&cat, "rock"),
            ["Rock Lobster", "Let It Be", "Hey Jude"]
        );
        // "beat": Beat It (title) before the Beatles songs (artist).
        assert_eq!(titles(&cat, "beat")[0], "Beat It");
    }

    #[test]
    fn results_are_grouped_and_every_group_is_paged_with_a_total() {
        let cat = library();
        let owner = user(&cat, "owner");
        let other = user(&cat, "other");
        cat.create_playlist(
            owner,
            &CreatePlaylist {
                name: "Beatles forever".into(),
                public: true,
            },
            0,
        )
        .unwrap();
        cat.create_playlist(
            owner,
            &CreatePlaylist {
                name: "Beatles secret".into(),
                public: false,
            },
            0,
        )
        .unwrap();
        let pod = CreatePodcast {
            title: "Beat Talk".into(),
            author: None,
            description: None,
            feed_url: None,
        };
        cat.create_podcast(&pod, 0).unwrap();

        let all = cat
            .search(
                "beat",
                SearchType::All,
                PageRequest {
                    limit: 2,
                    offset: 0,
                },
                other,
            )
            .unwrap();
        assert_eq!(all.query, "beat");
        assert_eq!(
            (all.songs.total, all.songs.items.len(), all.songs.limit),
            (3, 2, 2)
        );
        assert_eq!(all.artists.items[0].name, "The Beatles");
        assert_eq!(
            all.albums.total, 2,
            "albums by the Beatles match on their artist"
        );
        let names: Vec<&str> = all
            .playlists
            .items
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["Beatles forever"],
            "another user's private playlist stays hidden"
        );
        assert_eq!(all.playlists.total, 1);
        assert_eq!(all.podcasts.items[0].title, "Beat Talk");
        let mine = cat
            .search(
                "beatles",
                SearchType::Playlist,
                PageRequest::default(),
                owner,
            )
            .unwrap();
        assert_eq!(mine.playlists.total, 2);

        let second = cat
            .search(
                "beat",
                SearchType::Song,
                PageRequest {
                    limit: 2,
                    offset: 2,
                },
                other,
            )
            .unwrap();
        assert_eq!((second.songs.total, second.songs.items.len()), (3, 1));
        let past = cat
            .search(
                "beat",
                SearchType::Song,
                PageRequest {
                    limit: 2,
                    offset: 10,
                },
                other,
            )
            .unwrap();
        assert_eq!((past.songs.total, past.songs.items.len()), (3, 0));
        let only_songs = cat
            .search("beat", SearchType::Song, PageRequest::default(), other)
            .unwrap();
        assert!(only_songs.artists.items.is_empty() && only_songs.podcasts.items.is_empty());
        let albums = cat
            .search("thrill", SearchType::Album, PageRequest::default(), other)
            .unwrap();
        assert_eq!(albums.albums.items[0].title, "Thriller");
    }

    #[test]
    fn broad_queries_rank_a_window_but_count_and_page_everything() {
        let cat = memory();
        let n = RANK_WINDOW + 150;
        // Titles of 2 to 5 words, so bm25 scores differ and a page order that changed with
        // the page asked for would show up as repeats.
        let batch: Vec<_> = (0..n)
            .map(|i| {
                song(
                    i,
                    &format!("Common{} {i}", " x".repeat(i as usize % 4)),
                    "Many",
                    "Lots",
                )
            })
            .collect();
        cat.bulk_insert_songs(&batch, 0).unwrap();
        let mut exact = song(n, "Common", "Rare", "Rare");
        exact.genre = Some("Common".into());
        cat.insert_song(&exact, 0).unwrap();
        let search = |limit, offset| {
            cat.search("common", SearchType::Song, PageRequest { limit, offset }, 0)
                .unwrap()
                .songs
        };
        let first = search(5, 0);
        assert_eq!(first.total, n + 1);
        assert_eq!(
            first.items[0].title, "Common",
            "the best match of the window comes first"
        );
        // Pages beyond the window still work and the last one is short.
        let last = search(100, n as u32 - 50);
        assert_eq!((last.items.len(), last.total), (51, n + 1));
        let past = search(100, n as u32 + 10);
        assert_eq!((past.items.len(), past.total), (0, n + 1));
        // Every song appears exactly once across the pages.
        let mut seen = std::collections::HashSet::new();
        for offset in (0..=n as u32).step_by(333) {
            for s in search(333, offset).items {
                assert!(seen.insert(s.id), "song {} on two pages", s.id);
            }
        }
        assert_eq!(seen.len() as u64, n + 1);
    }

    #[test]
    fn the_best_scores_come_first_and_ties_go_newest_first() {
        let scored = vec![(2.0, 1), (1.0, 2), (2.0, 3), (-1.0, 4), (1.0, 5)];
        assert_eq!(best(scored.clone(), 5), [4, 5, 2, 3, 1]);
        assert_eq!(best(scored.clone(), 3), [4, 5, 2]);
        assert_eq!(best(scored.clone(), 1), [4]);
        assert!(best(scored, 0).is_empty());
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

    #[test]
    fn totals_beyond_the_cap_are_reported_as_lower_bounds() {
        let cat = memory();
        // TOTAL_CAP + 1 songs say "common"; all but the first are by "Exact", so that
        // word matches exactly TOTAL_CAP songs.
        let batch: Vec<_> = (0..=TOTAL_CAP)
            .map(|i| {
                let artist = if i == 0 { "Other" } else { "Exact" };
                song(i, &format!("Common {i}"), artist, "Lots")
            })
            .collect();
        cat.bulk_insert_songs(&batch, 0).unwrap();
        let songs = |q, limit, offset| {
            cat.search(q, SearchType::All, PageRequest { limit, offset }, 0)
                .unwrap()
                .songs
        };
        fn total<T>(p: &Page<T>) -> (u64, bool) {
            (p.total, p.total_is_lower_bound)
        }

        let broad = songs("common", 20, 0);
        assert_eq!((total(&broad), broad.items.len()), ((TOTAL_CAP, true), 20));
        // Counted without a rank window (offset beyond it), the same.
        assert_eq!(total(&songs("common", 20, 3_000)), (TOTAL_CAP, true));
        // A page past the cap still comes back and proves more.
        let past = songs("common", 5, TOTAL_CAP as u32 - 2);
        assert_eq!(past.items.len(), 3);
        assert_eq!(total(&past), (TOTAL_CAP + 1, true));

        assert_eq!(total(&songs("exact", 20, 0)), (TOTAL_CAP, false));
        assert_eq!(total(&songs("exact", 20, 3_000)), (TOTAL_CAP, false));
        assert_eq!(total(&songs("other", 20, 0)), (1, false));
        let artists = cat
            .search("exact", SearchType::All, PageRequest::default(), 0)
            .unwrap()
            .artists;
        assert_eq!(total(&artists), (1, false));
    }

    #[test]
    fn deleted_songs_leave_the_results_and_ids_come_back_as_they_were() {
        let cat = library();
        let ids = |q| {
            cat.search(q, SearchType::Song, PageRequest::default(), 0)
                .unwrap()
                .songs
                .items
                .into_iter()
                .map(|s| (s.id, s.title))
                .collect::<Vec<_>>()
        };
        let beatles = ids("beatles");
        assert_eq!(beatles.len(), 2);
        for (id, title) in &beatles {
            assert!(*id > 0);
            assert_eq!(&cat.song(*id).unwrap().title, title, "song {id}");
        }
        // Newest first among equal scores, by id.
        assert!(beatles[0].0 > beatles[1].0, "{beatles:?}");
        cat.delete_song(beatles[0].0).unwrap();
        assert_eq!(ids("beatles"), beatles[1..]);
        let total = cat
            .search("beatles", SearchType::Song, PageRequest::default(), 0)
            .unwrap()
            .songs
            .total;
        assert_eq!(total, 1);
    }

    #[test]
    fn windows_count_and_pages_go_from_the_newest_matches_back() {
        let cat = memory();
        // Identical titles score alike, so the window holds the newest RANK_WINDOW and the
        // pages after it continue with the next older ones.
        let n = RANK_WINDOW + 40;
        let batch: Vec<_> = (0..n)
            .map(|i| song(i, "Same Title", "Artist", "Album"))
            .collect();
        cat.bulk_insert_songs(&batch, 0).unwrap();
        let page = |offset, limit| {
            cat.search("same", SearchType::Song, PageRequest { limit, offset }, 0)
                .unwrap()
                .songs
        };
        let first = page(0, 3);
        assert_eq!(first.total, n);
        let first_ids: Vec<i64> = first.items.iter().map(|s| s.id).collect();
        let max_id = first_ids[0];
        assert_eq!(first_ids, [max_id, max_id - 1, max_id - 2]);
        assert_eq!(max_id, n as i64, "ids start at 1");
        let across: Vec<i64> = page(RANK_WINDOW as u32 - 2, 4)
            .items
            .iter()
            .map(|s| s.id)
            .collect();
        let w = RANK_WINDOW as i64;
        assert_eq!(
            across,
            [max_id - w + 2, max_id - w + 1, max_id - w, max_id - w - 1]
        );
    }

    #[test]
    fn renamed_playlists_are_found_by_their_new_name_only() {
        let cat = library();
        let owner = user(&cat, "owner");
        let p = cat
            .create_playlist(
                owner,
                &CreatePlaylist {
                    name: "Morning".into(),
                    public: true,
                },
                0,
            )
            .unwrap();
        let update = cadenza_api::UpdatePlaylist {
            name: Some("Evening".into()),
            public: None,
        };
        cat.update_playlist(p.id, owner, &update, 1).unwrap();
        let find = |q| {
            cat.search(q, SearchType::Playlist, PageRequest::default(), owner)
                .unwrap()
                .playlists
                .total
        };
        assert_eq!((find("morning"), find("evening")), (0, 1));
        cat.delete_playlist(p.id, owner).unwrap();
        assert_eq!(find("evening"), 0);
    }

    #[test]
    fn hostile_text_gives_results_or_nothing_never_an_error() {
        let cat = library();
        let big = "a".repeat(10 * 1024);
        let many = "beat ".repeat(2_048);
        let hostile = [
            "\"",
            "\"\"",
            "'",
            "beat\"",
            "\"beat",
            "AND(",
            "AND",
            "OR",
            "NOT",
            "beat AND",
            "*",
            "**",
            "beat*",
            "NEAR(",
            "NEAR(a b, 2)",
            "-x",
            "-",
            "a:b",
            "title:beat",
            "^",
            "^beat",
            "(",
            ")",
            "{title}: beat",
            "+",
            "beat -jude",
            "\\",
            "%",
            "_",
            ";DROP TABLE songs;--",
            "🎵",
            "beat 🎵",
            "\u{0}",
            "beat\u{0}jude",
            "\u{202e}",
            "\u{feff}",
            "   ",
            "",
            &big,
            &many,
            "ß",
            "İ",
            "ﬁ",
        ];
        for q in hostile {
            for kind in [SearchType::All, SearchType::Song, SearchType::Playlist] {
                let r = cat.search(
                    q,
                    kind,
                    PageRequest {
                        limit: 10,
                        offset: 5,
                    },
                    0,
                );
                assert!(
                    r.is_ok(),
                    "{:?}: {r:?}",
                    q.chars().take(20).collect::<String>()
                );
            }
        }
        assert!(
            titles(&cat, "beat\"").len() == 3,
            "a stray quote is just a separator"
        );
        assert_eq!(
            titles(&cat, "jude:hey"),
            ["Hey Jude"],
            "column filters are not syntax"
        );
        assert!(
            cat.songs(PageRequest::default()).unwrap().total == 7,
            "no table was dropped"
        );
    }
}
