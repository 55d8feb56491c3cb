//! The local audio cache: files named by content hash in one folder, bounded in bytes, evicted
//! least recently used first, with a small JSON index of what each file is so cached music
//! can be listed and played with no server at all.

pub mod progressive;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::track::Track;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    track: Track,
    size: u64,
    /// Ordinal of the last use: higher is more recent.
    last_used: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    clock: u64,
    entries: HashMap<String, Entry>,
}

/// What a cached file turned out to be when checked before playing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Present and its bytes hash to its name.
    Verified(PathBuf),
    /// Present with the size the index expects; not hashed yet (see [`Cache::quick_lookup`]).
    Present(PathBuf),
    /// Present but damaged: it has been deleted.
    Corrupt,
    Missing,
}

#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
}

const INDEX_FILE: &str = "index.json";

fn valid_hash(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of a file, lowercase hex.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl Cache {
    /// Opens (creating) the cache in `dir`, holding at most `max_bytes` of audio. Leftover
    /// partial downloads and files the index does not know are removed.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut index: Index = match fs::read(dir.join(INDEX_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Index::default(),
            Err(e) => return Err(e),
        };
        // The index and the folder must agree: a file without an entry cannot be listed, and
        // an entry without a file cannot be played.
        index
            .entries
            .retain(|hash, _| valid_hash(hash) && dir.join(hash).is_file());
        for item in fs::read_dir(dir)?.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let known = index.entries.contains_key(&name) || name == INDEX_FILE;
            if !known && (name.ends_with(".part") || valid_hash(&name)) {
                let _ = fs::remove_file(item.path());
            }
        }
        let cache = Self {
            dir: dir.to_owned(),
            max_bytes,
            index: Mutex::new(index),
        };
        cache.evict(&[]);
        cache.save();
        Ok(cache)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn path_of(&self, hash: &str) -> PathBuf {
        self.dir.join(hash)
    }

    pub fn part_path_of(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.part"))
    }

    /// Whether the index lists `hash` (cheap; no hashing).
    pub fn contains(&self, hash: &str) -> bool {
        self.lock().entries.contains_key(hash)
    }

    pub fn used_bytes(&self) -> u64 {
        self.lock().entries.values().map(|e| e.size).sum()
    }

    /// Cached tracks, most recently used first.
    pub fn tracks(&self) -> Vec<Track> {
        let index = self.lock();
        let mut entries: Vec<&Entry> = index.entries.values().collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        entries.into_iter().map(|e| e.track.clone()).collect()
    }

    /// The cheap check before playing: the file is there with the size the index expects (a
    /// copy of another size is damaged: deleted). Marks it as just used. Hashing the whole file
    /// costs CPU in proportion to its size, so the player starts on this and runs [`Cache::lookup`] alongside.
    pub fn quick_lookup(&self, hash: &str) -> Lookup {
        let expected = match self.lock().entries.get(hash) {
            Some(entry) if valid_hash(hash) => entry.size,
            _ => return Lookup::Missing,
        };
        let path = self.path_of(hash);
        match fs::metadata(&path) {
            Ok(meta) if meta.len() == expected => {
                self.touch(hash);
                Lookup::Present(path)
            }
            Ok(_) => {
                self.remove(hash);
                Lookup::Corrupt
            }
            Err(_) => {
                self.remove(hash);
                Lookup::Missing
            }
        }
    }

    /// Checks the cached copy of `hash` by hashing it; a damaged copy is deleted. Marks a good
    /// copy as just used.
    pub fn lookup(&self, hash: &str) -> Lookup {
        if !valid_hash(hash) || !self.contains(hash) {
            return Lookup::Missing;
        }
        let path = self.path_of(hash);
        match hash_file(&path) {
            Ok(actual) if actual == hash => {
                self.touch(hash);
                Lookup::Verified(path)
            }
            Ok(_) => {
                self.remove(hash);
                Lookup::Corrupt
            }
            Err(_) => {
                self.remove(hash);
                Lookup::Missing
            }
        }
    }

    pub fn touch(&self, hash: &str) {
        {
            let mut index = self.lock();
            index.clock += 1;
            let now = index.clock;
            if let Some(entry) = index.entries.get_mut(hash) {
                entry.last_used = now;
            }
        }
        self.save();
    }

    /// Moves a verified download into the cache and evicts older files to stay in bounds
    /// (never those in `keep`, e.g. what is playing).
    pub fn insert(&self, track: &Track, part: &Path, keep: &[&str]) -> io::Result<PathBuf> {
        let path = self.path_of(&track.hash);
        fs::rename(part, &path)?;
        let size = fs::metadata(&path)?.len();
        {
            let mut index = self.lock();
            index.clock += 1;
            let last_used = index.clock;
            index.entries.insert(
                track.hash.clone(),
                Entry {
                    track: track.clone(),
                    size,
                    last_used,
                },
            );
        }
        let mut keep = keep.to_vec();
        keep.push(&track.hash);
        self.evict(&keep);
        self.save();
        Ok(path)
    }

    pub fn remove(&self, hash: &str) {
        self.lock().entries.remove(hash);
        let _ = fs::remove_file(self.path_of(hash));
        self.save();
    }

    /// Deletes least recently used files until the cache fits its bound.
    fn evict(&self, keep: &[&str]) {
        let mut index = self.lock();
        let mut used: u64 = index.entries.values().map(|e| e.size).sum();
        if used <= self.max_bytes {
            return;
        }
        let mut by_age: Vec<(u64, String, u64)> = index
            .entries
            .iter()
            .filter(|(hash, _)| !keep.contains(&hash.as_str()))
            .map(|(hash, e)| (e.last_used, hash.clone(), e.size))
            .collect();
        by_age.sort();
        for (_, hash, size) in by_age {
            if used <= self.max_bytes {
                break;
            }
            index.entries.remove(&hash);
            let _ = fs::remove_file(self.dir.join(&hash));
            used -= size;
        }
    }

    fn save(&self) {
        let bytes = match serde_json::to_vec(&*self.lock()) {
            Ok(bytes) => bytes,
            Err(_) => return,
        };
        // Write then rename, so a crash never leaves half an index.
        let tmp = self.dir.join("index.json.tmp");
        if fs::write(&tmp, bytes).is_ok() {
            let _ = fs::rename(&tmp, self.dir.join(INDEX_FILE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::TrackId;

    fn track(n: i64, bytes: &[u8]) -> Track {
        Track {
            id: TrackId::Song(n),
            title: format!("song {n}"),
            artist: "a".into(),
            album: "b".into(),
            duration_ms: 1000,
            hash: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
            content_type: "audio/wav".into(),
            codec: "wav".into(),
        }
    }

    fn add(cache: &Cache, t: &Track, bytes: &[u8]) {
        let part = cache.part_path_of(&t.hash);
        fs::write(&part, bytes).unwrap();
        cache.insert(t, &part, &[]).unwrap();
    }

    #[test]
    fn evicts_least_recently_used_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), 250).unwrap();
        let (a, b, c) = (vec![1u8; 100], vec![2u8; 100], vec![3u8; 100]);
        let (ta, tb, tc) = (track(1, &a), track(2, &b), track(3, &c));
        add(&cache, &ta, &a);
        add(&cache, &tb, &b);
        // Using `a` makes `b` the oldest.
        assert!(matches!(cache.lookup(&ta.hash), Lookup::Verified(_)));
        add(&cache, &tc, &c);
        assert!(cache.contains(&ta.hash));
        assert!(!cache.contains(&tb.hash), "b was least recently used");
        assert!(!cache.path_of(&tb.hash).exists());
        assert_eq!(cache.used_bytes(), 200);

        // The index survives a restart and lists titles, newest first.
        drop(cache);
        let cache = Cache::open(dir.path(), 250).unwrap();
        let titles: Vec<String> = cache.tracks().into_iter().map(|t| t.title).collect();
        assert_eq!(titles, vec!["song 3", "song 1"]);
    }

    #[test]
    fn a_corrupt_file_is_detected_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), 1 << 20).unwrap();
        let bytes = vec![9u8; 500];
        let t = track(1, &bytes);
        add(&cache, &t, &bytes);
        fs::write(cache.path_of(&t.hash), b"flipped bits").unwrap();
        assert_eq!(cache.lookup(&t.hash), Lookup::Corrupt);
        assert!(!cache.contains(&t.hash));
        assert!(!cache.path_of(&t.hash).exists());
        assert_eq!(cache.lookup(&t.hash), Lookup::Missing);
    }

    #[test]
    fn the_quick_lookup_checks_presence_and_size_and_leaves_bytes_to_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), 1 << 20).unwrap();
        let bytes = vec![9u8; 500];
        let t = track(1, &bytes);
        assert_eq!(cache.quick_lookup(&t.hash), Lookup::Missing);
        add(&cache, &t, &bytes);
        assert_eq!(
            cache.quick_lookup(&t.hash),
            Lookup::Present(cache.path_of(&t.hash))
        );
        // Same size, other bytes: only hashing tells.
        fs::write(cache.path_of(&t.hash), vec![8u8; 500]).unwrap();
        assert!(matches!(cache.quick_lookup(&t.hash), Lookup::Present(_)));
        assert_eq!(cache.lookup(&t.hash), Lookup::Corrupt);
        // Another size is caught at once.
        add(&cache, &t, &bytes);
        fs::write(cache.path_of(&t.hash), b"short").unwrap();
        assert_eq!(cache.quick_lookup(&t.hash), Lookup::Corrupt);
        assert!(!cache.contains(&t.hash));
    }

    #[test]
    fn leftovers_are_cleaned_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let stray = dir.path().join(format!("{}.part", "a".repeat(64)));
        fs::write(&stray, b"half").unwrap();
        let _cache = Cache::open(dir.path(), 1000).unwrap();
        assert!(!stray.exists());
    }
}
