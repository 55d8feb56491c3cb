//! Play reports that could not be sent (the server was unreachable), kept in a small JSON file
//! in the cache folder so they survive a restart, and sent once the server answers again.
//! Each report leaves the file only after the server has accepted it. A report may still
//! reach the server twice (its reply lost, or the player stopped before the file was
//! updated): its `play_id`, made once and kept, lets the server count it once.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use cadenza_api::{RecordPlay, SongId};
use serde::{Deserialize, Serialize};

pub const OUTBOX_FILE: &str = "pending-plays.json";

/// One play the server has not heard of yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPlay {
    /// Made when the play is heard and sent with every attempt, so the server counts it once;
    /// also how the entry is found once sent. Files written before ids existed lack it: such
    /// entries get one when the file is opened.
    #[serde(default)]
    pub play_id: String,
    /// The server it belongs to (plays are never sent to another one).
    pub server: String,
    pub song: SongId,
    pub played_ms: u64,
    /// When it was heard (Unix seconds, this machine's clock); unknown for entries written
    /// before this was kept, which the server then files at the time they arrive.
    #[serde(default)]
    pub played_at: Option<i64>,
}

impl PendingPlay {
    /// A play of `song` heard at `played_at`, with a new random `play_id`.
    pub fn new(server: &str, song: SongId, played_ms: u64, played_at: i64) -> PendingPlay {
        PendingPlay {
            play_id: new_play_id(),
            server: server.to_string(),
            song,
            played_ms,
            played_at: Some(played_at),
        }
    }

    /// The report to send for it (the same each time).
    pub fn report(&self) -> RecordPlay {
        RecordPlay {
            play_id: Some(self.play_id.clone()),
            played_at: self.played_at,
            ..RecordPlay::now(self.song, Some(self.played_ms))
        }
    }
}

/// 128 random bits in hex: no two plays of a user's devices will ever share one.
fn new_play_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
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
        let (saved, mut note) = match fs::read(&path) {
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
        if let Err(e) = outbox.give_ids_to_old_entries() {
            note = Some(format!(
                "unsent play reports could not be updated ({e}); if one reaches the server \
                 but its answer is lost, it may be counted twice"
            ));
        }
        (outbox, note)
    }

    /// Entries from before `play_id` existed get one, saved at once so every later attempt
    /// sends the same id.
    fn give_ids_to_old_entries(&self) -> io::Result<()> {
        let mut saved = self.lock();
        let mut given = false;
        for play in saved.plays.iter_mut().filter(|p| p.play_id.is_empty()) {
            play.play_id = new_play_id();
            given = true;
        }
        if given {
            self.save(&saved)?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Saved> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a play for later; it is on disk when this returns `Ok`.
    pub fn add(&self, play: PendingPlay) -> io::Result<()> {
        let mut saved = self.lock();
        saved.plays.push(play);
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
    pub fn remove(&self, play_id: &str) -> io::Result<()> {
        let mut saved = self.lock();
        saved.plays.retain(|p| p.play_id != play_id);
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

    fn play(server: &str, song: SongId, played_ms: u64) -> PendingPlay {
        PendingPlay::new(server, song, played_ms, 1_800_000_000 + song)
    }

    #[test]
    fn plays_survive_a_restart_with_their_ids_and_leave_once_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, note) = Outbox::open(dir.path());
        assert_eq!(note, None);
        let (first, second) = (play(SERVER, 7, 31_000), play(SERVER, 8, 40_000));
        assert_ne!(first.play_id, second.play_id);
        assert_eq!(first.play_id.len(), 32);
        outbox.add(first.clone()).unwrap();
        outbox.add(second.clone()).unwrap();
        outbox.add(play("http://elsewhere:1/", 9, 1_000)).unwrap();
        drop(outbox);

        let (outbox, _) = Outbox::open(dir.path());
        assert_eq!(
            outbox.pending(SERVER),
            [first.clone(), second.clone()],
            "oldest first, this server's only, ids and times as made"
        );
        outbox.remove(&first.play_id).unwrap();
        drop(outbox);

        let (outbox, _) = Outbox::open(dir.path());
        assert_eq!(outbox.pending(SERVER), std::slice::from_ref(&second));
        assert!(!outbox.is_empty());
        // What is sent for a kept play is the same at every attempt.
        let report = second.report();
        assert_eq!(report.play_id.as_deref(), Some(second.play_id.as_str()));
        assert_eq!(report.played_at, Some(1_800_000_008));
        assert_eq!((report.song_id, report.played_ms), (8, Some(40_000)));
        assert_eq!(outbox.pending(SERVER)[0].report(), report);
    }

    #[test]
    fn a_file_from_before_play_ids_loads_and_its_plays_keep_the_ids_they_are_given() {
        let dir = tempfile::tempdir().unwrap();
        let old = format!(
            r#"{{"next_id": 2, "plays": [
                {{"id": 1, "server": "{SERVER}", "song": 7, "played_ms": 31000}},
                {{"id": 2, "server": "{SERVER}", "song": 8, "played_ms": 40000}}
            ]}}"#
        );
        std::fs::write(dir.path().join(OUTBOX_FILE), old).unwrap();
        let (outbox, note) = Outbox::open(dir.path());
        assert_eq!(note, None);
        let pending = outbox.pending(SERVER);
        let songs: Vec<SongId> = pending.iter().map(|p| p.song).collect();
        assert_eq!(songs, [7, 8]);
        assert!(pending.iter().all(|p| p.play_id.len() == 32));
        assert_ne!(pending[0].play_id, pending[1].play_id);
        assert!(pending.iter().all(|p| p.played_at.is_none()), "unknown");
        drop(outbox);
        // Given once, on disk: a restart sends the same ids.
        let (outbox, _) = Outbox::open(dir.path());
        assert_eq!(outbox.pending(SERVER), pending);
        outbox.remove(&pending[0].play_id).unwrap();
        assert_eq!(outbox.pending(SERVER), &pending[1..]);
    }

    #[test]
    fn a_damaged_file_is_set_aside_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(OUTBOX_FILE), b"{ not json").unwrap();
        let (outbox, note) = Outbox::open(dir.path());
        assert!(outbox.is_empty());
        assert!(note.unwrap().contains("json.damaged"));
        assert!(dir.path().join("pending-plays.json.damaged").exists());
        outbox.add(play(SERVER, 1, 1)).unwrap();
        assert_eq!(Outbox::open(dir.path()).0.pending(SERVER).len(), 1);
    }
}
