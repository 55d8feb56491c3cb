//! Search latency in process: Cadenza's catalog search against the `LIKE '%q%'` scan many
//! self-hosted servers use, over the same SQLite file and the same queries.

use anyhow::Context;
use cadenza_api::{PageRequest, SearchType};
use cadenza_catalog::{Catalog, SqliteCatalog};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::latency::Summary;

/// Queries run untimed first, so both engines start with warm caches.
const WARM_UP: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// `SqliteCatalog::search`, exactly what `GET /search` runs (type=all).
    Cadenza,
    /// Songs, artists and albums whose names contain the text, `LIKE '%q%'`.
    Like,
}

/// The groups a Cadenza search asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    All,
    Song,
    Artist,
    Album,
}

impl Group {
    fn search_type(self) -> SearchType {
        match self {
            Group::All => SearchType::All,
            Group::Song => SearchType::Song,
            Group::Artist => SearchType::Artist,
            Group::Album => SearchType::Album,
        }
    }
}

/// One search: whether anything matched.
trait Searcher {
    fn search(&mut self, q: &str, limit: u32) -> anyhow::Result<bool>;
}

struct CadenzaSearch(SqliteCatalog, SearchType);

impl Searcher for CadenzaSearch {
    fn search(&mut self, q: &str, limit: u32) -> anyhow::Result<bool> {
        let page = PageRequest { limit, offset: 0 };
        let r = self
            .0
            .search(q, self.1, page, 0)
            .with_context(|| format!("searching for {q:?}"))?;
        Ok(r.songs.total + r.artists.total + r.albums.total > 0)
    }
}

/// The baseline, generous to itself: it stops at `limit` rows per group and, unlike
/// Cadenza, counts no totals, and keeps a 256 MiB mmap and a 16 MiB page cache where
/// Cadenza's readers now use no mmap and 4 MiB (to stay small in memory).
struct LikeSearch(Connection);

const LIKE_SQL: [&str; 3] = [
    "SELECT s.id, s.title, a.name, al.title FROM songs s \
     JOIN artists a ON a.id = s.artist_id JOIN albums al ON al.id = s.album_id \
     WHERE s.title LIKE ?1 ESCAPE '\\' OR a.name LIKE ?1 ESCAPE '\\' OR al.title LIKE ?1 ESCAPE '\\' \
     LIMIT ?2",
    "SELECT id, name, '', '' FROM artists WHERE name LIKE ?1 ESCAPE '\\' LIMIT ?2",
    "SELECT al.id, al.title, a.name, '' FROM albums al JOIN artists a ON a.id = al.artist_id \
     WHERE al.title LIKE ?1 ESCAPE '\\' OR a.name LIKE ?1 ESCAPE '\\' LIMIT ?2",
];

impl LikeSearch {
    fn open(db: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", db.display()))?;
        conn.pragma_update(None, "mmap_size", 256i64 << 20)
            .and_then(|()| conn.pragma_update(None, "cache_size", -16_384i64))
            .context("configuring the baseline connection")?;
        Ok(LikeSearch(conn))
    }
}

impl Searcher for LikeSearch {
    fn search(&mut self, q: &str, limit: u32) -> anyhow::Result<bool> {
        let pattern = format!("%{}%", like_escape(q));
        let mut found = false;
        for sql in LIKE_SQL {
            let mut stmt = self
                .0
                .prepare_cached(sql)
                .context("preparing a LIKE query")?;
            let mut rows = stmt
                .query((&pattern, limit))
                .with_context(|| format!("LIKE search for {q:?}"))?;
            while let Some(row) = rows.next().context("reading LIKE results")? {
                // Read the columns, as a server building its answer would.
                let _: (i64, String, String, String) =
                    (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
                found = true;
            }
        }
        Ok(found)
    }
}

/// What timing one statement found.
pub struct SqlTiming {
    pub rows: usize,
    pub median: Duration,
    /// Times SQLite re-compiled the statement (a plan that depends on bound values, or an
    /// expired schema): each costs a full parse.
    pub reprepares: i32,
}

/// Runs `sql` `repeat` times on a read-only connection configured like the baseline's,
/// binding `params` (as text) anew each time, as a cached statement in a server would be.
pub fn time_sql(
    db: &Path,
    sql: &str,
    params: &[String],
    repeat: usize,
) -> anyhow::Result<SqlTiming> {
    let conn = LikeSearch::open(db)?.0;
    let mut stmt = conn
        .prepare(sql)
        .with_context(|| format!("preparing {sql}"))?;
    let mut rows = 0;
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        rows = 0;
        let mut result = stmt
            .query(rusqlite::params_from_iter(params))
            .with_context(|| format!("running {sql}"))?;
        while result
            .next()
            .with_context(|| format!("running {sql}"))?
            .is_some()
        {
            rows += 1;
        }
        times.push(started.elapsed());
    }
    Ok(SqlTiming {
        rows,
        median: crate::latency::median(times).context("no runs")?,
        reprepares: stmt.get_status(rusqlite::StatementStatus::RePrepare),
    })
}

fn like_escape(q: &str) -> String {
    q.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Latency of one pass over `queries`.
pub struct Pass {
    pub summary: Summary,
    /// Queries that found at least one song, artist or album.
    pub with_results: usize,
    /// Every query's time, in list order.
    pub times: Vec<Duration>,
}

/// Runs `rounds` timed passes over `queries` (after a short untimed warm-up).
pub fn run(
    db: &Path,
    engine: Engine,
    group: Group,
    queries: &[String],
    limit: u32,
    rounds: usize,
) -> anyhow::Result<Vec<Pass>> {
    let mut searcher: Box<dyn Searcher> = match engine {
        Engine::Cadenza => Box::new(CadenzaSearch(
            SqliteCatalog::open(db).with_context(|| format!("opening {}", db.display()))?,
            group.search_type(),
        )),
        Engine::Like => Box::new(LikeSearch::open(db)?),
    };
    for q in queries.iter().take(WARM_UP) {
        searcher.search(q, limit)?;
    }
    let mut passes = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let mut times: Vec<Duration> = Vec::with_capacity(queries.len());
        let mut with_results = 0;
        for q in queries {
            let started = Instant::now();
            let found = searcher.search(q, limit)?;
            times.push(started.elapsed());
            with_results += usize::from(found);
        }
        let summary = Summary::of(times.clone()).context("no queries to run")?;
        passes.push(Pass {
            summary,
            with_results,
            times,
        });
    }
    Ok(passes)
}

/// What an `All` search returns for each query, one line each: the query, then for songs,
/// artists, albums, playlists and podcasts the total (`+` when it is a lower bound) and the
/// ids of the page in order. Two builds' outputs are equal exactly when they return the same.
pub fn results(db: &Path, queries: &[&str], page: PageRequest) -> anyhow::Result<String> {
    use std::fmt::Write;
    fn group<T>(out: &mut String, p: &cadenza_api::Page<T>, id: impl Fn(&T) -> i64) {
        let ids: Vec<String> = p.items.iter().map(|i| id(i).to_string()).collect();
        let bound = if p.total_is_lower_bound { "+" } else { "" };
        let _ = write!(out, "\t{}{bound}:{}", p.total, ids.join(","));
    }
    let cat = SqliteCatalog::open(db).with_context(|| format!("opening {}", db.display()))?;
    let mut out = String::new();
    for q in queries {
        let r = cat
            .search(q, SearchType::All, page, 0)
            .with_context(|| format!("searching for {q:?}"))?;
        out.push_str(q);
        group(&mut out, &r.songs, |s| s.id);
        group(&mut out, &r.artists, |a| a.id);
        group(&mut out, &r.albums, |a| a.id);
        group(&mut out, &r.playlists, |p| p.id);
        group(&mut out, &r.podcasts, |p| p.id);
        out.push('\n');
    }
    Ok(out)
}

/// `m` of the `queries`, spread over the list so every kind of query is represented
/// (a stride coprime with the list length visits distinct positions).
pub fn sample(queries: &[String], m: usize) -> Vec<String> {
    let n = queries.len();
    if m >= n {
        return queries.to_vec();
    }
    let stride = (n / 2..n).find(|s| gcd(*s, n) == 1).unwrap_or(1);
    (0..m).map(|j| queries[(j * stride) % n].clone()).collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::song;

    #[test]
    fn samples_are_distinct_and_spread() {
        let qs: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let s = sample(&qs, 200);
        let distinct: std::collections::HashSet<_> = s.iter().collect();
        assert_eq!(distinct.len(), 200);
        // Every position in the 20-query mix is represented.
        let kinds: std::collections::HashSet<usize> =
            s.iter().map(|q| q.parse::<usize>().unwrap() % 20).collect();
        assert_eq!(kinds.len(), 20);
        assert_eq!(sample(&qs[..3], 10).len(), 3);
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn both_engines_find_the_same_plain_names() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.sqlite");
        let cat = SqliteCatalog::open(&db).unwrap();
        cat.bulk_insert_songs(
            &[
                song(1, "Crazy Train", "Ozzy", None),
                song(2, "Glass", "Brave Hero", None),
            ],
            0,
        )
        .unwrap();
        drop(cat);
        let queries: Vec<String> = ["crazy", "brave hero", "nothing here"]
            .map(String::from)
            .to_vec();
        for engine in [Engine::Cadenza, Engine::Like] {
            let passes = run(&db, engine, Group::All, &queries, 20, 2).unwrap();
            assert_eq!(passes.len(), 2);
            assert_eq!(passes[0].with_results, 2, "{engine:?}");
            assert_eq!(passes[0].summary.count, 3);
        }
    }
}
