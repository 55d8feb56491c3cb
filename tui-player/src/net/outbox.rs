//! Play reports that could not be sent (the server was unreachable), kept in a small JSON file
//! in the cache folder so they survive a restart, and sent once the server answers again.
//! Each report leaves the file only after the server has accepted it; sending is serialised,
//! so no report goes out twice from this player.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use cadenza_api::SongId;
use serde::{Deserialize, Serialize};

pub const OUTBOX_FILE: &str = "pending-plays.json";

/// One play the server has not heard of yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPlay {
    /// Unique within this file, so the right entry is removed once sent.
    pub id: u64,
    /// The server it belongs to (plays are never sent to another one).
    pub server: String,
    pub song: SongId,
    pub played_ms: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    next_id: u64,
    plays: Vec<PendingPlay>,
}

#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    saved: Mutex<Saved>,
}

impl Outbox {
    /// Opens `<dir>/pending-plays.json`. A damaged file is set aside (renamed `.damaged`),
    /// not fatal: the player must start either way. The second value says what happened then.
    pub fn open(dir: &Path) -> (Outbox, Option<String>) {
        let path = dir.join(OUTBOX_FILE);
        let (saved, note) = match fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(saved) => (saved, None),
                Err(e) => {
                    let aside = path.with_extension("json.damaged");
                    let _ = fs::rename(&path, &aside);
                    let note = format!(
                        "unsent play reports could not be read ({e}); the file was moved to {}",
                        aside.display()
                    );
                    (Saved::default(), Some(note))
                }
            },
            Err(_) => (Saved::default(), None),
        };
        let outbox = Outbox {
            path,
            saved: Mutex::new(saved),
        };
        (outbox, note)
    }

    fn lock(&self) -> MutexGuard<'_, Saved> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a play for later; it is on disk when this returns `Ok`.
    pub fn add(&self, server: &str, song: SongId, played_ms: u64) -> io::Result<()> {
        let mut saved = self.lock();
        saved.next_id += 1;
        let id = saved.next_id;
        saved.plays.push(PendingPlay {
            id,
            server: server.to_string(),
            song,
            played_ms,
        });
        self.save(&saved)
    }

    /// The plays waiting for `server`, oldest first.
    pub fn pending(&self, server: &str) -> Vec<PendingPlay> {
        self.lock()
            .plays
            .iter()
            .filter(|p| p.server == server)
            .cloned()
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().plays.is_empty()
    }

    /// Forgets a play (sent, or refused for good).
    pub fn remove(&self, id: u64) -> io::Result<()> {
        let mut saved = self.lock();
        saved.plays.retain(|p| p.id != id);
        self.save(&saved)
    }

    fn save(&self, saved: &Saved) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(saved).map_err(io::Error::other)?;
        // Write then rename, so a crash never leaves half a file.
        let tmp = self.path.with_extension("json.tmp");
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "http://127.0.0.1:4533/";

    #[test]
    fn plays_survive_a_restart_and_leave_once_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, note) = Outbox::open(dir.path());
        assert_eq!(note, None);
        outbox.add(SERVER, 7, 31_000).unwrap();
        outbox.add(SERVER, 8, 40_000).unwrap();
        outbox.add("http://elsewhere:1/", 9, 1_000).unwrap();
        drop(outbox);

        let (outbox, _) = Outbox::open(dir.path());
        let pending = outbox.pending(SERVER);
        let songs: Vec<SongId> = pending.iter().map(|p| p.song).collect();
        assert_eq!(songs, [7, 8], "oldest first, this server's only");
        outbox.remove(pending[0].id).unwrap();
        drop(outbox);

        let (outbox, _) = Outbox::open(dir.path());
        assert_eq!(
            outbox.pending(SERVER),
            vec![PendingPlay {
                id: 2,
                server: SERVER.into(),
                song: 8,
                played_ms: 40_000
            }]
        );
        assert!(!outbox.is_empty());
        // Ids are never reused, even after removals.
        outbox.add(SERVER, 10, 1).unwrap();
        assert_eq!(outbox.pending(SERVER).last().map(|p| p.id), Some(4));
    }

    #[test]
    fn a_damaged_file_is_set_aside_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OUTBOX_FILE), b"{ not json").unwrap();
        let (outbox, note) = Outbox::open(dir.path());
        assert!(outbox.is_empty());
        assert!(note.unwrap().contains("json.damaged"));
        assert!(dir.path().join("pending-plays.json.damaged").exists());
        outbox.add(SERVER, 1, 1).unwrap();
        assert_eq!(Outbox::open(dir.path()).0.pending(SERVER).len(), 1);
    }
}
