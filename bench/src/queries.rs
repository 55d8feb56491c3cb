//! A fixed list of realistic search queries, built deterministically from a catalog's names.
//!
//! The mix follows what people type into a music search box: word prefixes while typing,
//! whole titles and artist names, artist plus title, unicode names as written and typed
//! without their accents, one-letter typos, a genre plus a word, and one- or two-letter
//! prefixes (the broadest queries, the worst case for an index).

use anyhow::{bail, Context};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TitlePrefix,
    FullTitle,
    Artist,
    ArtistAndTitle,
    AlbumPrefix,
    Unicode,
    Unaccented,
    Misspelled,
    GenreAndWord,
    ShortPrefix,
}

/// Every 20 queries: 3 title prefixes, 3 artist+title, 2 of each of the others except
/// 1 genre+word and 1 short prefix.
const MIX: [Kind; 20] = {
    use Kind::*;
    [
        TitlePrefix,
        FullTitle,
        Artist,
        ArtistAndTitle,
        AlbumPrefix,
        Unicode,
        Unaccented,
        Misspelled,
        TitlePrefix,
        GenreAndWord,
        ArtistAndTitle,
        FullTitle,
        Artist,
        Unicode,
        Unaccented,
        Misspelled,
        TitlePrefix,
        AlbumPrefix,
        ArtistAndTitle,
        ShortPrefix,
    ]
};

/// The names of one song.
#[derive(Debug, Clone)]
struct Row {
    title: String,
    artist: String,
    album: String,
    genre: Option<String>,
}

impl Row {
    fn names(&self) -> [&str; 3] {
        [&self.title, &self.artist, &self.album]
    }
}

/// Reads random songs of a catalog by id.
struct Sampler {
    conn: Connection,
    min_id: i64,
    max_id: i64,
}

impl Sampler {
    fn open(db: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening the catalog {}", db.display()))?;
        let (min_id, max_id): (Option<i64>, Option<i64>) = conn
            .query_row("SELECT min(id), max(id) FROM songs", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .with_context(|| format!("reading the songs of {}", db.display()))?;
        let (Some(min_id), Some(max_id)) = (min_id, max_id) else {
            bail!(
                "the catalog {} has no songs to build queries from",
                db.display()
            );
        };
        Ok(Sampler {
            conn,
            min_id,
            max_id,
        })
    }

    fn row(&self, rng: &mut ChaCha8Rng) -> anyhow::Result<Row> {
        let id = rng.random_range(self.min_id..=self.max_id);
        let row = self
            .conn
            .query_row(
                "SELECT s.title, a.name, al.title, g.name FROM songs s \
                 JOIN artists a ON a.id = s.artist_id JOIN albums al ON al.id = s.album_id \
                 LEFT JOIN genres g ON g.id = s.genre_id WHERE s.id >= ?1 ORDER BY s.id LIMIT 1",
                [id],
                |r| {
                    Ok(Row {
                        title: r.get(0)?,
                        artist: r.get(1)?,
                        album: r.get(2)?,
                        genre: r.get(3)?,
                    })
                },
            )
            .optional()
            .context("reading a song to build a query from")?;
        row.context("no song at or after a sampled id (the catalog changed while reading)")
    }

    /// A title, artist or album name that satisfies `want`; `None` after many misses (a
    /// catalog without such names).
    fn name_with(
        &self,
        rng: &mut ChaCha8Rng,
        want: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Option<String>> {
        for _ in 0..500 {
            let row = self.row(rng)?;
            let found = row.names().into_iter().find(|n| want(n)).map(str::to_owned);
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// `count` queries from the catalog at `db`; the same catalog and seed give the same list.
pub fn generate(db: &Path, count: usize, seed: u64) -> anyhow::Result<Vec<String>> {
    let sampler = Sampler::open(db)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut queries = Vec::with_capacity(count);
    let mut i = 0usize;
    while queries.len() < count {
        let kind = MIX[i % MIX.len()];
        i += 1;
        if i > count * 10 {
            bail!(
                "could not build {count} queries from {}: too few usable names",
                db.display()
            );
        }
        if let Some(q) = one(&sampler, &mut rng, kind)? {
            let q = clean(&q);
            if !q.is_empty() {
                queries.push(q);
            }
        }
    }
    Ok(queries)
}

fn one(s: &Sampler, rng: &mut ChaCha8Rng, kind: Kind) -> anyhow::Result<Option<String>> {
    let q = match kind {
        Kind::TitlePrefix => {
            let row = s.row(rng)?;
            words(&row.title)
                .first()
                .map(|w| prefix(w, rng.random_range(3..7)))
        }
        Kind::FullTitle => Some(s.row(rng)?.title),
        Kind::Artist => Some(s.row(rng)?.artist),
        Kind::ArtistAndTitle => {
            let row = s.row(rng)?;
            let artist = words(&row.artist);
            let title = words(&row.title);
            match (artist.last(), title.first()) {
                (Some(a), Some(t)) => Some(format!("{a} {t}")),
                _ => None,
            }
        }
        Kind::AlbumPrefix => {
            let row = s.row(rng)?;
            let mut w = words(&row.album);
            let last = w.pop().map(|l| prefix(&l, rng.random_range(2..5)));
            w.extend(last);
            Some(w.join(" "))
        }
        Kind::Unicode => s.name_with(rng, |n| !n.is_ascii())?,
        Kind::Unaccented => s
            .name_with(rng, |n| !n.is_ascii() && unaccented(n).is_some())?
            .and_then(|n| unaccented(&n)),
        Kind::Misspelled => {
            let long =
                |w: &str| w.chars().count() >= 5 && w.chars().all(|c| c.is_ascii_alphabetic());
            match s.name_with(rng, |n| words(n).iter().any(|w| long(w)))? {
                Some(name) => {
                    let ws = words(&name);
                    let candidates: Vec<&String> = ws.iter().filter(|w| long(w)).collect();
                    Some(misspell(
                        candidates[rng.random_range(0..candidates.len())],
                        rng,
                    ))
                }
                None => None,
            }
        }
        Kind::GenreAndWord => {
            let row = s.row(rng)?;
            match (row.genre, words(&row.title).last()) {
                (Some(g), Some(w)) => Some(format!("{g} {w}")),
                _ => None,
            }
        }
        Kind::ShortPrefix => {
            let row = s.row(rng)?;
            words(&row.artist)
                .first()
                .map(|w| prefix(w, rng.random_range(1..3)))
        }
    };
    // Most people type in lower case.
    Ok(q.map(|q| {
        if rng.random_range(0..10) < 7 {
            q.to_lowercase()
        } else {
            q
        }
    }))
}

fn words(name: &str) -> Vec<String> {
    name.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

fn prefix(word: &str, chars: usize) -> String {
    word.chars().take(chars).collect()
}

/// One typing slip: two neighbours swapped, a letter dropped, doubled or replaced.
fn misspell(word: &str, rng: &mut ChaCha8Rng) -> String {
    let mut c: Vec<char> = word.chars().collect();
    // Keep the first letter: people rarely get that wrong.
    let at = rng.random_range(1..c.len() - 1);
    match rng.random_range(0..4) {
        0 if c[at] != c[at + 1] => c.swap(at, at + 1),
        2 => c.insert(at, c[at]),
        3 => {
            let vowels: Vec<char> = "aeiouy".chars().filter(|&v| v != c[at]).collect();
            c[at] = vowels[rng.random_range(0..vowels.len())];
        }
        _ => {
            c.remove(at);
        }
    }
    c.into_iter().collect()
}

/// The name as typed on a keyboard without accents (`Renée Ødegaard` → `Renee Odegaard`),
/// or `None` when it holds letters with no ASCII spelling (Greek, Cyrillic, CJK...).
fn unaccented(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let lower = c.to_lowercase().next()?;
        let folded = match lower {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'ď' => "d",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
            'ğ' => "g",
            'ì' | 'í' | 'î' | 'ï' | 'ı' | 'ī' => "i",
            'ł' => "l",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' | 'ō' => "o",
            'œ' => "oe",
            'ř' | 'ŕ' => "r",
            'ś' | 'š' | 'ş' => "s",
            'ß' => "ss",
            'ť' | 'ţ' => "t",
            'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            '’' | '‘' => "'",
            _ => return None,
        };
        out.push_str(folded);
    }
    Some(out)
}

/// One line per query: no control characters, single spaces.
fn clean(q: &str) -> String {
    q.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `q` percent-encoded for a URL query value (RFC 3986 unreserved characters stay).
pub fn url_encode(q: &str) -> String {
    let mut out = String::with_capacity(q.len() * 3);
    for b in q.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("catalog.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT);
             CREATE TABLE genres (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE songs (id INTEGER PRIMARY KEY, title TEXT, artist_id INT, album_id INT, genre_id INT);
             INSERT INTO artists VALUES (1, 'Renée Ødegaard'), (2, 'The Lonely Pilots'), (3, '坂本龍一');
             INSERT INTO albums VALUES (1, 'Drive into the Heart'), (2, 'Θάλασσα');
             INSERT INTO genres VALUES (1, 'Jazz');
             INSERT INTO songs VALUES (1, 'Crazy Train', 1, 1, 1), (2, 'Lighthouse of Clock', 2, 2, NULL),
                                      (3, 'Frühling', 3, 1, 1);",
        )
        .unwrap();
        path
    }

    #[test]
    fn queries_are_deterministic_and_cover_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let db = catalog(dir.path());
        let a = generate(&db, 200, 3).unwrap();
        assert_eq!(a, generate(&db, 200, 3).unwrap());
        assert_ne!(a, generate(&db, 200, 4).unwrap());
        assert_eq!(a.len(), 200);
        assert!(a
            .iter()
            .all(|q| !q.is_empty() && !q.contains('\n') && q.trim() == q));
        assert!(a.iter().any(|q| !q.is_ascii()), "unicode names");
        assert!(
            a.iter().any(|q| q.eq_ignore_ascii_case("renee odegaard")),
            "unaccented"
        );
        assert!(a.iter().any(|q| q.contains(' ')), "multi-word");
        assert!(a.iter().any(|q| q.chars().count() <= 2), "short prefixes");
    }

    #[test]
    fn an_empty_catalog_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE songs (id INTEGER PRIMARY KEY)")
            .unwrap();
        let err = generate(&path, 10, 1).unwrap_err();
        assert!(err.to_string().contains("has no songs"), "{err}");
    }

    #[test]
    fn typing_slips_and_accents() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let m = misspell("station", &mut rng);
            assert_ne!(m, "station");
            assert!(m.starts_with('s'));
            assert!((6..=8).contains(&m.len()));
        }
        assert_eq!(
            unaccented("Renée Ødegaard").as_deref(),
            Some("Renee odegaard")
        );
        assert_eq!(unaccented("Θάλασσα"), None);
        assert_eq!(url_encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(clean(" a \t b\n"), "a b");
    }
}
