//! Builds a large synthetic catalog and times the queries the server runs most.
//!
//! ```text
//! cargo run --release -p cadenza-catalog --example catalog_bench -- [SONGS] [DB_PATH]
//! ```
//! Defaults: 1,000,000 songs in a temporary directory. An existing DB_PATH with the right
//! number of songs is reused, so query timings can be repeated without rebuilding.
//! `BENCH_DEFER_INDEX=1` loads through `bulk_insert_songs_unindexed` + `rebuild_search_index`
//! (the fast path for big loads); `BENCH_SLOWEST=1` prints the three slowest queries of each
//! search case.
//!
//! Each line gives p50/p99 of this thread's CPU time and of wall time over at least 200
//! calls. The vocabulary is synthetic: 30,000 syllable words on a Zipf curve, shortest most
//! frequent, so the commonest word is in about a third of all songs (harsher than English,
//! where "the" is). "Typing" cases replay every keystroke (from the second letter) of the
//! artist or title of a random song. Nothing is asserted: this measures, it does not test.

use cadenza_api::{PageRequest, SearchType};
use cadenza_catalog::{Catalog, NewSong, SqliteCatalog};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let songs: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let tmp = tempfile::tempdir()?;
    let path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("catalog.db"));
    let words = Words::new();

    let cat = SqliteCatalog::open(&path)?;
    let have = cat
        .songs(PageRequest {
            limit: 0,
            offset: 0,
        })?
        .total;
    if have != songs {
        build(&cat, &words, have, songs)?;
    }
    let stats_started = Instant::now();
    let stats = cat.stats(0)?;
    let stats_time = stats_started.elapsed();
    println!(
        "catalog: {} songs, {} albums, {} artists, {} MB on disk ({} B/song measured), stats took {:.0?}",
        stats.songs,
        stats.albums,
        stats.artists,
        stats.catalog_bytes >> 20,
        stats.song_metadata_bytes,
        stats_time
    );

    let mut rng = Rng(42);
    let user = match cat.credentials("bench")? {
        Some(c) => c.user.id,
        None => {
            cat.create_user("bench", "x", cadenza_api::Role::Listener)?
                .id
        }
    };
    let page = PageRequest {
        limit: 20,
        offset: 0,
    };

    // What users type: every keystroke of an existing artist or title from the second
    // letter on (as-you-type), first keystrokes alone, two whole words, misses, CJK and
    // hostile text. Songs are picked from the whole catalog.
    let typed = |rng: &mut Rng, pick: fn(&cadenza_api::Song) -> &str| -> Vec<String> {
        let song = cat.song(1 + rng.below(songs) as i64).expect("song exists");
        let text: Vec<char> = pick(&song).chars().collect();
        (2..=text.len())
            .map(|n| text[..n].iter().collect::<String>())
            .filter(|q| !q.ends_with(' '))
            .collect()
    };
    type Make<'a> = Box<dyn FnMut(&mut Rng) -> Vec<String> + 'a>;
    let mut cases: Vec<(&str, Make)> = vec![
        (
            "typing an artist",
            Box::new(|rng: &mut Rng| typed(rng, |s| &s.artist)),
        ),
        (
            "typing a title",
            Box::new(|rng: &mut Rng| typed(rng, |s| &s.title)),
        ),
        (
            "first keystroke (1 letter)",
            Box::new(|rng: &mut Rng| vec![words.pick(rng).chars().take(1).collect()]),
        ),
        (
            "two whole words",
            Box::new(|rng: &mut Rng| vec![format!("{} {}", words.pick(rng), words.pick(rng))]),
        ),
        (
            "no match",
            Box::new(|rng: &mut Rng| vec![format!("zzq{}", rng.below(1000))]),
        ),
        (
            "CJK",
            Box::new(|rng: &mut Rng| {
                let name = CJK[rng.below(CJK.len() as u64) as usize];
                vec![name.chars().take(2).collect()]
            }),
        ),
        (
            "hostile 10 KB",
            Box::new(|_: &mut Rng| vec!["AND(\"* ".repeat(1_500)]),
        ),
    ];
    for kind in [SearchType::All, SearchType::Song] {
        for (name, make) in cases.iter_mut() {
            let mut times = Vec::new();
            let mut hits = 0;
            let mut slowest = Vec::new();
            while times.len() < 200 {
                for q in make(&mut rng) {
                    let t = Clock::start();
                    let r = cat.search(&q, kind, page, user)?;
                    let took = t.stop();
                    times.push(took);
                    hits += r.songs.total;
                    slowest.push((took, q.chars().take(30).collect::<String>(), r.songs.total));
                }
            }
            let n = times.len() as u64;
            report(
                &format!("search {kind:?} {name}"),
                &mut times,
                Some(hits / n),
            );
            if std::env::var_os("BENCH_SLOWEST").is_some() {
                slowest.sort_by_key(|s| std::cmp::Reverse(s.0.cpu));
                for (took, q, n) in slowest.iter().take(3) {
                    println!("      cpu {:>9.3?} {q:?} ({n} hits)", took.cpu);
                }
            }
        }
    }

    let total_albums = stats.albums.max(1);
    let total_artists = stats.artists.max(1);
    time("songs page (offset 0)", &mut rng, |_| {
        cat.songs(page).map(drop)
    })?;
    time("songs page (offset 500k)", &mut rng, |_| {
        cat.songs(PageRequest {
            limit: 20,
            offset: 500_000,
        })
        .map(drop)
    })?;
    time("albums page (random offset)", &mut rng, |rng| {
        let offset = rng.below(total_albums) as u32;
        cat.albums(PageRequest { limit: 50, offset }).map(drop)
    })?;
    time("album detail", &mut rng, |rng| {
        cat.album(1 + rng.below(total_albums) as i64).map(drop)
    })?;
    time("artist detail", &mut rng, |rng| {
        cat.artist(1 + rng.below(total_artists) as i64).map(drop)
    })?;
    time("artists page (random offset)", &mut rng, |rng| {
        let offset = rng.below(total_artists) as u32;
        cat.artists(PageRequest { limit: 50, offset }).map(drop)
    })?;
    time("genres", &mut rng, |_| cat.genres().map(drop))?;
    time("genre songs page", &mut rng, |rng| {
        cat.genre_songs(GENRES[rng.below(GENRES.len() as u64) as usize], page)
            .map(drop)
    })?;
    time("song by id", &mut rng, |rng| {
        cat.song(1 + rng.below(songs) as i64).map(drop)
    })?;
    time("record play", &mut rng, |rng| {
        cat.record_play(
            user,
            1 + rng.below(songs) as i64,
            None,
            NOW - rng.below(86_400) as i64,
        )
    })?;
    // A month of listening: 100,000 plays by 100 users over 30 days, Zipf-ish songs.
    if cat.stats(NOW)?.plays < 100_000 {
        let mut listeners = Vec::new();
        for i in 0..100 {
            let name = format!("listener{i}");
            listeners.push(match cat.credentials(&name)? {
                Some(c) => c.user.id,
                None => cat.create_user(&name, "x", cadenza_api::Role::Listener)?.id,
            });
        }
        let t = Instant::now();
        for i in 0..100_000usize {
            let zipf = (songs as f64).powf(rng.below(1 << 20) as f64 / (1u64 << 20) as f64);
            let song = 1 + (zipf as u64 % songs) as i64;
            let at = NOW - rng.below(30 * 86_400) as i64;
            cat.record_play(listeners[i % listeners.len()], song, Some(60_000), at)?;
        }
        println!("recorded 100,000 plays one by one in {:.1?}", t.elapsed());
    }
    time("hot chart, last 7 days of 100k plays", &mut rng, |_| {
        cat.hot(NOW - 7 * 86_400, 50).map(drop)
    })?;
    let mut stats_times = Vec::new();
    for _ in 0..3 {
        let t = Clock::start();
        cat.stats(NOW)?;
        stats_times.push(t.stop());
    }
    report("stats (admin, 3 runs)", &mut stats_times, None);
    Ok(())
}

/// "Now" for plays and stats, fixed so runs are comparable.
const NOW: i64 = 1_700_000_000;

fn build(
    cat: &SqliteCatalog,
    words: &Words,
    have: u64,
    songs: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    const BATCH: u64 = 10_000;
    let started = Instant::now();
    let mut rng = Rng(7 + have);
    let mut n = have;
    // BENCH_DEFER_INDEX=1 loads without the search index and rebuilds it at the end.
    let defer = std::env::var_os("BENCH_DEFER_INDEX").is_some();
    while n < songs {
        let batch: Vec<NewSong> = (n..(n + BATCH).min(songs))
            .map(|i| words.song(i, &mut rng))
            .collect();
        if defer {
            cat.bulk_insert_songs_unindexed(&batch, 1_700_000_000)?;
        } else {
            cat.bulk_insert_songs(&batch, 1_700_000_000)?;
        }
        n += batch.len() as u64;
        if n.is_multiple_of(100_000) {
            let secs = started.elapsed().as_secs_f64();
            println!("  {n} songs, {:.0} songs/s", (n - have) as f64 / secs);
        }
    }
    let t = Instant::now();
    if defer {
        cat.rebuild_search_index()?;
        println!(
            "rebuilt and optimized the search index in {:.1?}",
            t.elapsed()
        );
    } else {
        cat.optimize_search_index()?;
        println!("optimized the search index in {:.1?}", t.elapsed());
    }
    println!("built {} songs in {:.1?}", songs - have, started.elapsed());
    Ok(())
}

fn time(
    name: &str,
    rng: &mut Rng,
    mut f: impl FnMut(&mut Rng) -> Result<(), cadenza_catalog::CatalogError>,
) -> Result<(), cadenza_catalog::CatalogError> {
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Clock::start();
        f(rng)?;
        times.push(t.stop());
    }
    report(name, &mut times, None);
    Ok(())
}

fn report(name: &str, times: &mut [Took], avg_hits: Option<u64>) {
    let pick = |times: &mut [Took], key: fn(&Took) -> Duration| {
        let mut v: Vec<Duration> = times.iter().map(key).collect();
        v.sort();
        let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        (at(0.50), at(0.99))
    };
    let (cpu50, cpu99) = pick(times, |t| t.cpu);
    let (wall50, wall99) = pick(times, |t| t.wall);
    let hits = avg_hits
        .map(|h| format!("  (avg {h} song hits)"))
        .unwrap_or_default();
    println!(
        "{name:<40} cpu p50 {cpu50:>9.3?} p99 {cpu99:>9.3?} | wall p50 {wall50:>9.3?} p99 {wall99:>9.3?}{hits}"
    );
}

/// Wall time and this thread's CPU time. Other builds share the machine's two cores, so
/// wall-clock percentiles measure the scheduler as much as the catalog; CPU time is what
/// a query costs.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

struct Clock {
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: thread_cpu(),
        }
    }

    fn stop(self) -> Took {
        Took {
            wall: self.wall.elapsed(),
            cpu: thread_cpu().saturating_sub(self.cpu),
        }
    }
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

const GENRES: &[&str] = &[
    "Rock",
    "Pop",
    "Jazz",
    "Classical",
    "Electronic",
    "Hip-Hop",
    "Folk",
    "Ambient",
    "Metal",
    "Blues",
    "Soul",
    "Reggae",
    "Country",
    "Punk",
    "Techno",
    "House",
    "Latin",
    "World",
    "Funk",
    "Disco",
];
const CJK: &[&str] = &[
    "坂本龍一",
    "静かな波形",
    "東京の夜",
    "雨の正弦波",
    "夏の終わり",
    "月光",
    "星空の下で",
];

/// A synthetic vocabulary: syllable words picked on a Zipf curve (short words most\n/// often), a few accented.
struct Words {
    list: Vec<String>,
}

impl Words {
    fn new() -> Words {
        const SYL: &[&str] = &[
            "ka", "lo", "mi", "ra", "sun", "beat", "ne", "to", "vi", "sa", "do", "re", "la", "mo",
            "ri", "tan", "gel", "or", "an", "el", "is", "ur", "bel", "cor", "dan", "fin", "gar",
            "hol", "jor", "kel", "lum", "mar", "nor", "pol", "quin", "ros", "sel", "tor", "vel",
            "wil", "xan", "yor", "zel", "bjö", "mé", "ñu", "çe",
        ];
        let mut rng = Rng(1);
        let mut list = Vec::new();
        while list.len() < 30_000 {
            let n = 1 + rng.below(3) as usize;
            let w: String = (0..n)
                .map(|_| SYL[rng.below(SYL.len() as u64) as usize])
                .collect();
            list.push(w);
        }
        list.sort();
        list.dedup();
        // Shuffle, then order by length: like natural language, the most frequent words
        // (the head of the Zipf curve) are the shortest.
        for i in (1..list.len()).rev() {
            list.swap(i, rng.below(i as u64 + 1) as usize);
        }
        list.sort_by_key(|w| w.chars().count());
        Words { list }
    }

    /// Zipf-ish: small indices are much more common.
    fn pick(&self, rng: &mut Rng) -> &str {
        let u = (rng.below(1 << 20) as f64 + 1.0) / (1u64 << 20) as f64;
        let i = ((self.list.len() as f64).powf(u) - 1.0) as usize;
        &self.list[i.min(self.list.len() - 1)]
    }

    fn phrase(&self, rng: &mut Rng, max_words: u64) -> String {
        let n = 1 + rng.below(max_words);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let w = self.pick(rng);
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        }
        s
    }

    /// Song `i`: about 10 songs per album, 2 albums per artist; 1% CJK names.
    fn song(&self, i: u64, rng: &mut Rng) -> NewSong {
        let album_no = i / 10;
        let artist_no = album_no / 2;
        let mut named = Rng(artist_no * 7919 + 3);
        let artist = if artist_no.is_multiple_of(100) {
            format!(
                "{}{}",
                CJK[(artist_no / 100 % CJK.len() as u64) as usize],
                artist_no
            )
        } else {
            format!("{} {}", self.phrase(&mut named, 2), artist_no)
        };
        let mut named_album = Rng(album_no * 104_729 + 11);
        let album = self.phrase(&mut named_album, 3);
        NewSong {
            title: self.phrase(rng, 4),
            artist,
            album_artist: None,
            album,
            track: Some((i % 10 + 1) as u32),
            disc: Some(1),
            genre: Some(GENRES[(album_no % GENRES.len() as u64) as usize].to_string()),
            year: Some(1960 + (album_no % 60) as i32),
            duration_ms: 120_000 + rng.below(240_000),
            codec: "mp3".into(),
            content_type: "audio/mpeg".into(),
            bitrate_kbps: Some(320),
            sample_rate: Some(44_100),
            channels: Some(2),
            size: 3_000_000 + rng.below(6_000_000),
            hash: format!("{i:064x}"),
            cover: None,
        }
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
