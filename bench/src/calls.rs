//! The catalog's other calls, one at a time in process: browsing pages and details, song
//! lookups, as-you-type and hostile searches, the hot chart and stats (and, when asked,
//! recording plays), each timed by the wall clock and by this thread's CPU time.
//!
//! Other processes share the machine's cores, so wall-clock percentiles measure the
//! scheduler as much as the catalog; CPU time is what a call costs.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use cadenza_api::{PageRequest, SearchType, Song};
use cadenza_catalog::{Catalog, CatalogResult, SqliteCatalog};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{Connection, OpenFlags};

use crate::latency::{ms, Summary};

/// Results per page, as the player asks.
const PAGE: u32 = 20;
/// Stats read the whole catalog: a few runs say enough.
const STATS_CALLS: usize = 3;

/// What one case measured.
pub struct Case {
    pub name: String,
    pub wall: Summary,
    /// `None` where the platform has no per-thread CPU clock.
    pub cpu: Option<Summary>,
    /// Searches: songs found per call, on average.
    pub song_hits: Option<u64>,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<38} calls={:<4} wall_p50_ms={} wall_p99_ms={}",
            self.name,
            self.wall.count,
            ms(self.wall.p50),
            ms(self.wall.p99)
        )?;
        if let Some(cpu) = &self.cpu {
            write!(f, " cpu_p50_ms={} cpu_p99_ms={}", ms(cpu.p50), ms(cpu.p99))?;
        }
        if let Some(hits) = self.song_hits {
            write!(f, " avg_song_hits={hits}")?;
        }
        Ok(())
    }
}

/// The wall and CPU time of each call of one case.
#[derive(Default)]
struct Timings {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Timings {
    fn time<T>(&mut self, call: impl FnOnce() -> CatalogResult<T>) -> anyhow::Result<T> {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        let result = call();
        self.wall.push(wall.elapsed());
        if let (Some(start), Some(end)) = (cpu, thread_cpu()) {
            self.cpu.push(end.saturating_sub(start));
        }
        Ok(result?)
    }

    fn case(self, name: impl Into<String>, song_hits: Option<u64>) -> anyhow::Result<Case> {
        let name = name.into();
        Ok(Case {
            wall: Summary::of(self.wall).with_context(|| format!("{name}: no calls"))?,
            cpu: Summary::of(self.cpu),
            song_hits,
            name,
        })
    }
}

/// This thread's CPU time so far.
#[cfg(unix)]
fn thread_cpu() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec it is given.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (status == 0).then(|| {
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        )
    })
}

#[cfg(not(unix))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// The ids calls are made with, read once from the catalog file.
struct Ids {
    songs: Vec<i64>,
    albums: Vec<i64>,
    artists: Vec<i64>,
    genres: Vec<String>,
    /// Who records plays: the first account.
    user: Option<i64>,
}

impl Ids {
    fn read(db: &Path) -> anyhow::Result<Ids> {
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening the catalog {}", db.display()))?;
        let column = |sql: &str| -> anyhow::Result<Vec<i64>> {
            let mut stmt = conn.prepare(sql)?;
            let ids = stmt.query_map([], |r| r.get(0))?;
            Ok(ids.collect::<Result<_, _>>()?)
        };
        let ids = Ids {
            songs: column("SELECT id FROM songs ORDER BY id")?,
            albums: column("SELECT id FROM albums ORDER BY id")?,
            artists: column("SELECT id FROM artists ORDER BY id")?,
            genres: {
                let mut stmt = conn.prepare("SELECT name FROM genres ORDER BY id")?;
                let names = stmt.query_map([], |r| r.get(0))?;
                names.collect::<Result<_, _>>()?
            },
            user: column("SELECT id FROM users ORDER BY id LIMIT 1")?
                .first()
                .copied(),
        };
        // Every song has an album and an artist: a catalog with songs has both.
        if ids.songs.is_empty() || ids.albums.is_empty() || ids.artists.is_empty() {
            bail!("the catalog {} has no songs to time calls on", db.display());
        }
        Ok(ids)
    }
}

/// One of `items`, which must not be empty.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Which name of a song a search types.
type NameOf = fn(&Song) -> &str;

/// A random offset into `total` items.
fn offset(rng: &mut ChaCha8Rng, total: usize) -> u32 {
    u32::try_from(rng.random_range(0..total.max(1))).unwrap_or(u32::MAX)
}

/// Times `calls` calls (at least) of every case on the catalog at `db`. With `writes`, also
/// times recording plays: it adds `calls` plays by the first account to the catalog.
pub fn run(db: &Path, calls: usize, seed: u64, writes: bool) -> anyhow::Result<Vec<Case>> {
    let ids = Ids::read(db)?;
    let cat = SqliteCatalog::open(db).with_context(|| format!("opening {}", db.display()))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs() as i64;
    let calls = calls.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let page = |offset| PageRequest {
        limit: PAGE,
        offset,
    };
    let mut cases = Vec::new();

    for kind in [SearchType::All, SearchType::Song] {
        let as_typed: [(&str, NameOf); 2] =
            [("an artist", |s| &s.artist), ("a title", |s| &s.title)];
        for (what, name_of) in as_typed {
            // Every keystroke of a random song's name, from the second letter on.
            let mut timings = Timings::default();
            let mut hits = 0;
            while timings.wall.len() < calls {
                let song = cat.song(*pick(&mut rng, &ids.songs))?;
                let typed: Vec<char> = name_of(&song).chars().collect();
                for n in 2..=typed.len() {
                    let q: String = typed[..n].iter().collect();
                    if q.ends_with(' ') {
                        continue;
                    }
                    hits += timings
                        .time(|| cat.search(&q, kind, page(0), 0))?
                        .songs
                        .total;
                }
            }
            let average = hits / timings.wall.len() as u64;
            cases.push(timings.case(format!("search {kind:?}: typing {what}"), Some(average))?);
        }
        let fixed = [
            ("no match", "zzqxjv".to_string()),
            ("hostile 10 KB", "AND(\"* ".repeat(1_500)),
        ];
        for (what, q) in fixed {
            let mut timings = Timings::default();
            let mut hits = 0;
            for _ in 0..calls {
                hits += timings
                    .time(|| cat.search(&q, kind, page(0), 0))?
                    .songs
                    .total;
            }
            let average = hits / calls as u64;
            cases.push(timings.case(format!("search {kind:?}: {what}"), Some(average))?);
        }
    }

    let mut case = |name: &str,
                    runs: usize,
                    call: &mut dyn FnMut(&mut ChaCha8Rng) -> CatalogResult<()>|
     -> anyhow::Result<()> {
        let mut timings = Timings::default();
        for _ in 0..runs {
            timings.time(|| call(&mut rng))?;
        }
        cases.push(timings.case(name, None)?);
        Ok(())
    };
    let middle = u32::try_from(ids.songs.len() / 2).unwrap_or(u32::MAX);
    case("songs page (first)", calls, &mut |_| {
        cat.songs(page(0)).map(drop)
    })?;
    case("songs page (middle)", calls, &mut |_| {
        cat.songs(page(middle)).map(drop)
    })?;
    case("song by id", calls, &mut |rng| {
        cat.song(*pick(rng, &ids.songs)).map(drop)
    })?;
    case("albums page (random offset)", calls, &mut |rng| {
        cat.albums(page(offset(rng, ids.albums.len()))).map(drop)
    })?;
    case("album detail", calls, &mut |rng| {
        cat.album(*pick(rng, &ids.albums)).map(drop)
    })?;
    case("artists page (random offset)", calls, &mut |rng| {
        cat.artists(page(offset(rng, ids.artists.len()))).map(drop)
    })?;
    case("artist detail", calls, &mut |rng| {
        cat.artist(*pick(rng, &ids.artists)).map(drop)
    })?;
    case("genres", calls, &mut |_| cat.genres().map(drop))?;
    if !ids.genres.is_empty() {
        case("genre songs page", calls, &mut |rng| {
            cat.genre_songs(pick(rng, &ids.genres).as_str(), page(0))
                .map(drop)
        })?;
    }
    case("hot chart (last 7 days)", calls, &mut |_| {
        cat.hot(now - 7 * 86_400, 50).map(drop)
    })?;
    case("stats (admin)", STATS_CALLS, &mut |_| {
        cat.stats(now).map(drop)
    })?;
    if writes {
        let Some(user) = ids.user else {
            bail!(
                "the catalog {} has no account to record plays for",
                db.display()
            );
        };
        case("record a play", calls, &mut |rng| {
            let song = *pick(rng, &ids.songs);
            let at = now - rng.random_range(0..86_400);
            cat.record_play(user, song, Some(60_000), at)
        })?;
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::song;
    use cadenza_api::Role;

    #[test]
    fn every_case_runs_and_searches_find_what_was_typed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.sqlite");
        let cat = SqliteCatalog::open(&db).unwrap();
        let songs = [
            song(1, "Crazy Train", "Ozzy", Some("Metal")),
            song(2, "Glass Harbor", "Brave Hero", Some("Pop")),
            song(3, "Northern Lights", "Brave Hero", Some("Pop")),
        ];
        cat.bulk_insert_songs(&songs, 0).unwrap();
        cat.create_user("listener", "x", Role::Listener).unwrap();
        drop(cat);

        let cases = run(&db, 4, 1, true).unwrap();
        let case = |name: &str| {
            cases
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no case {name}"))
        };
        for c in &cases {
            let runs = if c.name.starts_with("stats") { 3 } else { 4 };
            assert!(c.wall.count >= runs, "{c}");
            assert_eq!(c.cpu.as_ref().map(|cpu| cpu.count), Some(c.wall.count));
        }
        // Typing a name finds the song at every keystroke; gibberish finds nothing.
        assert!(case("search Song: typing a title").song_hits >= Some(1));
        assert!(case("search All: typing an artist").song_hits >= Some(1));
        assert_eq!(case("search All: no match").song_hits, Some(0));
        assert_eq!(case("search Song: hostile 10 KB").song_hits, Some(0));
        assert!(case("album detail").to_string().contains("wall_p99_ms="));
        let cat = SqliteCatalog::open(&db).unwrap();
        assert_eq!(cat.stats(0).unwrap().plays, 4, "four plays recorded");
    }

    #[test]
    fn an_empty_catalog_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.sqlite");
        drop(SqliteCatalog::open(&db).unwrap());
        let err = run(&db, 1, 1, false).err().expect("no songs");
        assert!(err.to_string().contains("has no songs"), "{err}");
    }
}
