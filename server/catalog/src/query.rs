//! The search contract every backend keeps: which words a query looks for, how broad
//! queries are ranked and counted, and how a `type=all` search is split.
//!
//! A backend only says how to find matches (its [`Matches`]); the order of a group, its
//! pages and its total come from [`ranked`] here, so SQLite and PostgreSQL page alike.

use crate::text::{fts_text, is_cjk};
use crate::{paging, CatalogResult};
use cadenza_api::{Page, PageRequest, SearchResults, SearchType};

/// Words of a query that are looked up; the rest are ignored.
pub(crate) const MAX_QUERY_TOKENS: usize = 16;
/// Longest word looked up; longer ones are cut (nothing in a catalog is that long).
pub(crate) const MAX_TOKEN_CHARS: usize = 48;

/// How many of the newest matches are scored when a query matches more.
///
/// Ordering by score means scoring every row ordered (about a microsecond each), so ranking
/// every song a one-letter prefix matches (a large share of the catalog) would cost time in
/// proportion to the catalog. Queries matching at most this many rows (nearly every query of three letters or
/// more) are ranked exactly; broader ones rank their newest `RANK_WINDOW` matches, which is
/// what a user still typing sees anyway.
pub(crate) const RANK_WINDOW: u64 = 2_000;

/// Most matches a group's total counts. Counting is a walk over every match, so an uncapped
/// count for a one-letter prefix would walk a large share of the catalog. Broader
/// searches report this total with `total_is_lower_bound` set ("10,000+"); paging past
/// it still works.
pub(crate) const TOTAL_CAP: u64 = 10_000;

/// The words a query looks for, each to be matched as a prefix of an indexed word.
///
/// A word is a run of letters and digits (combining marks included, so a decomposed `ö`
/// stays inside its word); everything else separates words, so no character is syntax. CJK
/// runs are spaced out like the indexed text ([`fts_text`]), so `龍一` looks for the phrase
/// `龍 一` anywhere inside `坂本龍一`. A word that starts another word of the query (`m` in
/// `mi m`, a repeated word) adds nothing but work, so it is dropped.
pub(crate) fn terms(query: &str) -> Vec<String> {
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
    words
        .iter()
        .enumerate()
        .filter(|&(i, _)| !implied(i))
        .map(|(_, word)| {
            if word.chars().any(is_cjk) {
                fts_text(word)
            } else {
                word.clone()
            }
        })
        .collect()
}

/// The words of `text` by the rule of [`terms`], without limits.
pub(crate) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c)))
        .filter(|w| w.chars().any(char::is_alphanumeric))
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// How many matches a group has: exact, or at least `count` when counting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Total {
    pub(crate) count: u64,
    pub(crate) lower_bound: bool,
}

impl Total {
    pub(crate) fn exact(count: u64) -> Total {
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

/// A page of one group of search results.
pub(crate) fn group<T>(items: Vec<T>, total: Total, req: PageRequest) -> Page<T> {
    Page {
        total_is_lower_bound: total.lower_bound,
        ..paging::page(items, total.count, req)
    }
}

/// The matches of one query in one group, as a backend finds them. Ids are row ids; "newest"
/// means highest id.
pub(crate) trait Matches {
    /// `(score, id)` of the newest [`RANK_WINDOW`] matches, newest first; lower scores are
    /// better. Only matches that may be among the best `wanted` need an exact score (a
    /// backend may give the others +infinity).
    fn window(&mut self, wanted: u64) -> CatalogResult<Vec<(f64, i64)>>;
    /// How many matches are older than `id`, counting at most `limit`.
    fn count_older(&mut self, id: i64, limit: u64) -> CatalogResult<u64>;
    /// How many matches there are, counting at most `limit`.
    fn count(&mut self, limit: u64) -> CatalogResult<u64>;
    /// Ids of matches newest first, `limit` of them after skipping `offset`.
    fn newest(&mut self, limit: u64, offset: u64) -> CatalogResult<Vec<i64>>;
}

/// One page of ids, best first, and the number of matches (counted up to [`TOTAL_CAP`]).
///
/// The order is: the newest [`RANK_WINDOW`] matches by score, then any older matches newest
/// first. That order is the same whichever page is asked for, so pages never overlap or
/// skip. The window query scores only its rows, and how many it holds and the oldest among
/// them tell the rest: a window that is not full holds every match, and a full one means
/// only the matches older than its oldest row still need counting. Either way no match is
/// walked twice, which matters when common words make the walk long.
pub(crate) fn ranked(
    matches: &mut impl Matches,
    req: PageRequest,
) -> CatalogResult<(Vec<i64>, Total)> {
    let (offset, limit) = (u64::from(req.offset), u64::from(req.limit));
    let mut ids = Vec::new();
    // Matches in the window and the oldest id among them.
    let mut window: Option<(u64, i64)> = None;
    if offset < RANK_WINDOW {
        let scored = matches.window(offset + limit)?;
        window = Some((scored.len() as u64, scored.last().map_or(0, |s| s.1)));
        let end = (offset + limit).min(scored.len() as u64) as usize;
        ids = best(scored, end).split_off((offset as usize).min(end));
    }
    // Counts stop one past the cap, so exactly TOTAL_CAP matches still count as exact.
    let total = match window {
        Some((n, _)) if n < RANK_WINDOW => Total::exact(n),
        Some((n, oldest)) => {
            let rest = (TOTAL_CAP + 1).saturating_sub(n);
            Total::capped(n + matches.count_older(oldest, rest)?)
        }
        // Past the window: count from scratch.
        None => Total::capped(matches.count(TOTAL_CAP + 1)?),
    };
    let end = offset + limit;
    if end > RANK_WINDOW && total.count > RANK_WINDOW {
        let from = offset.max(RANK_WINDOW);
        ids.extend(matches.newest(end - from, from)?);
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

/// The ids of the `n` best-scored entries, best first: lower scores first, equal scores
/// newest first.
pub(crate) fn best(mut scored: Vec<(f64, i64)>, n: usize) -> Vec<i64> {
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

/// The groups of a `type=all` search, split in two halves of similar cost that a backend
/// may run on two connections at once (a broad word costs songs, artists and albums about
/// the same, and a multi-word query mostly costs songs).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_scores_come_first_and_ties_go_newest_first() {
        let scored = vec![(2.0, 1), (1.0, 2), (2.0, 3), (-1.0, 4), (1.0, 5)];
        assert_eq!(best(scored.clone(), 5), [4, 5, 2, 3, 1]);
        assert_eq!(best(scored.clone(), 3), [4, 5, 2]);
        assert_eq!(best(scored.clone(), 1), [4]);
        assert!(best(scored, 0).is_empty());
    }

    #[test]
    fn user_text_becomes_words_and_nothing_is_syntax() {
        assert_eq!(terms("  Let it  be "), ["Let", "it", "be"]);
        assert_eq!(
            terms(r#"AND( "x" NEAR(a b) -y a:b ^c *"#),
            ["AND", "x", "NEAR", "b", "y", "c"],
            "`a` starts `AND`, the second `b` repeats the first"
        );
        assert_eq!(terms("Mi mi M k"), ["Mi", "k"]);
        assert_eq!(terms("the the"), ["the"]);
        assert_eq!(terms("坂本龍一"), ["坂 本 龍 一"]);
        assert_eq!(terms("bjo\u{308}rk"), ["bjo\u{308}rk"]);
        for nothing in ["", "   ", "\"\"", "***", "🎵🎶", "-:^()", "\u{0}"] {
            assert!(terms(nothing).is_empty(), "{nothing:?}");
        }
        let long: String = (0..2_000).map(|i| format!("x{i}y ")).collect();
        assert_eq!(terms(&long).len(), MAX_QUERY_TOKENS);
        assert_eq!(terms(&"x".repeat(10_000))[0].len(), MAX_TOKEN_CHARS);
    }
}
