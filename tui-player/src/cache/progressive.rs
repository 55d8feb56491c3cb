//! A file that is still downloading, readable while it grows. The downloader writes byte
//! ranges into `<hash>.part` and marks them here; readers block until the bytes they need have
//! arrived, and ask for a range that is not coming soon (a seek far ahead).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use symphonia::core::io::MediaSource;

/// Sorted, non-overlapping, non-adjacent `start..end` byte ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    pub fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let (mut start, mut end) = (start, end);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for &(s, e) in &self.0 {
            if e < start || s > end {
                kept.push((s, e));
            } else {
                start = start.min(s);
                end = end.max(e);
            }
        }
        kept.push((start, end));
        kept.sort_unstable();
        self.0 = kept;
    }

    /// Bytes available from `pos` on without a hole.
    pub fn contiguous_from(&self, pos: u64) -> u64 {
        self.0
            .iter()
            .find(|&&(s, e)| s <= pos && pos < e)
            .map_or(0, |&(_, e)| e - pos)
    }

    /// The first missing range at or after `from` (wrapping to the start), within `0..total`.
    pub fn first_gap(&self, from: u64, total: u64) -> Option<(u64, u64)> {
        let gap_after = |from: u64| -> Option<(u64, u64)> {
            let mut pos = from;
            for &(s, e) in &self.0 {
                if e <= pos {
                    continue;
                }
                if s > pos {
                    return Some((pos, s));
                }
                pos = e;
            }
            (pos < total).then_some((pos, total))
        };
        gap_after(from.min(total)).or_else(|| gap_after(0))
    }

    pub fn covered(&self) -> u64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }
}

#[derive(Debug, Default)]
struct State {
    have: RangeSet,
    /// Where a reader is waiting for bytes that are not there.
    wanted: Option<u64>,
    /// The download gave up; readers get this error.
    failed: Option<String>,
    /// The verified, complete file (after the rename).
    complete: Option<PathBuf>,
    cancelled: bool,
}

/// The shared state of one download.
#[derive(Debug)]
pub struct Progressive {
    part: PathBuf,
    /// Opened at creation: it stays valid when the finished file is renamed into the cache.
    file: File,
    total: u64,
    state: Mutex<State>,
    changed: Condvar,
}

/// How long a reader waits for bytes before giving up on the stream.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

impl Progressive {
    /// Creates `part` with room for `total` bytes.
    pub fn create(part: &Path, total: u64) -> io::Result<Arc<Self>> {
        let file = File::create(part)?;
        file.set_len(total)?;
        let file = File::open(part)?;
        Ok(Arc::new(Self {
            part: part.to_owned(),
            file,
            total,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn part_path(&self) -> &Path {
        &self.part
    }

    /// Writer side: `len` bytes at `offset` are now in the part file.
    pub fn mark(&self, offset: u64, len: u64) {
        self.lock()
            .have
            .insert(offset, (offset + len).min(self.total));
        self.changed.notify_all();
    }

    pub fn fail(&self, reason: String) {
        self.lock().failed = Some(reason);
        self.changed.notify_all();
    }

    pub fn finish(&self, complete: PathBuf) {
        self.lock().complete = Some(complete);
        self.changed.notify_all();
    }

    /// Stops the download (the track is no longer wanted).
    pub fn cancel(&self) {
        self.lock().cancelled = true;
        self.changed.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// Bytes downloaded so far.
    pub fn downloaded(&self) -> u64 {
        self.lock().have.covered()
    }

    pub fn contiguous_from(&self, pos: u64) -> u64 {
        self.lock().have.contiguous_from(pos)
    }

    /// Writer side: the next range to fetch, preferring what a reader waits for, then the
    /// first hole after `cursor`; `None` when every byte is there.
    pub fn next_range(&self, cursor: u64) -> Option<(u64, u64)> {
        let state = self.lock();
        if let Some(wanted) = state.wanted {
            if let Some(gap) = state.have.first_gap(wanted, self.total) {
                return Some(gap);
            }
        }
        state.have.first_gap(cursor, self.total)
    }

    /// Writer side: a reader waits at a position outside `cursor..cursor + window`, so the
    /// current request should be dropped for a new one.
    pub fn wants_elsewhere(&self, cursor: u64, window: u64) -> bool {
        let state = self.lock();
        state.cancelled
            || state.wanted.is_some_and(|w| {
                state.have.contiguous_from(w) == 0 && (w < cursor || w > cursor + window)
            })
    }

    /// Blocks until at least `min` bytes from `pos` are there (or the file ends, or fails).
    pub fn wait_for(&self, pos: u64, min: u64, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            let need = min.min(self.total.saturating_sub(pos));
            if state.complete.is_some() || state.have.contiguous_from(pos) >= need {
                if state.wanted == Some(pos) {
                    state.wanted = None;
                }
                return Ok(());
            }
            if let Some(reason) = &state.failed {
                return Err(io::Error::other(reason.clone()));
            }
            if state.cancelled {
                return Err(io::Error::other("the download was cancelled"));
            }
            state.wanted = Some(pos);
            self.changed.notify_all();
            let now = Instant::now();
            if now >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the audio stopped arriving from the server",
                ));
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Blocks until the whole file is downloaded and verified; returns its cache path.
    pub fn wait_complete(&self, timeout: Duration) -> io::Result<PathBuf> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(path) = &state.complete {
                return Ok(path.clone());
            }
            if let Some(reason) = &state.failed {
                return Err(io::Error::other(reason.clone()));
            }
            let now = Instant::now();
            if now >= deadline || state.cancelled {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the download did not finish",
                ));
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Writer side: waits until a reader wants something or `timeout` passes.
    pub fn wait_change(&self, timeout: Duration) {
        let state = self.lock();
        let _ = self.changed.wait_timeout(state, timeout);
    }

    /// A reader positioned at the start.
    pub fn reader(self: &Arc<Self>) -> io::Result<ProgressiveReader> {
        Ok(ProgressiveReader {
            shared: self.clone(),
            pos: 0,
        })
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// `Read + Seek` over a [`Progressive`] file. Readers share one file handle (which survives
/// the rename into the cache) and read at their own positions.
pub struct ProgressiveReader {
    shared: Arc<Progressive>,
    pos: u64,
}

impl Read for ProgressiveReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let total = self.shared.total;
        if self.pos >= total || buf.is_empty() {
            return Ok(0);
        }
        self.shared.wait_for(self.pos, 1, READ_TIMEOUT)?;
        let available = match self.shared.contiguous_from(self.pos) {
            0 => total - self.pos, // complete: everything is there
            n => n,
        };
        let len = (buf.len() as u64).min(available) as usize;
        let read = read_at(&self.shared.file, &mut buf[..len], self.pos)?;
        self.pos += read as u64;
        Ok(read)
    }
}

impl Seek for ProgressiveReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let total = self.shared.total as i128;
        let target = match to {
            SeekFrom::Start(n) => i128::from(n),
            SeekFrom::End(n) => total + i128::from(n),
            SeekFrom::Current(n) => i128::from(self.pos) + i128::from(n),
        };
        if target < 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        }
        self.pos = target as u64;
        Ok(self.pos)
    }
}

impl MediaSource for ProgressiveReader {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.shared.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn ranges_merge_and_report_gaps() {
        let mut set = RangeSet::default();
        set.insert(10, 20);
        set.insert(30, 40);
        assert_eq!(set.contiguous_from(12), 8);
        assert_eq!(set.contiguous_from(20), 0);
        assert_eq!(set.first_gap(0, 50), Some((0, 10)));
        assert_eq!(set.first_gap(15, 50), Some((20, 30)));
        assert_eq!(set.first_gap(35, 50), Some((40, 50)));
        set.insert(20, 30);
        assert_eq!(set, RangeSet(vec![(10, 40)]));
        set.insert(0, 10);
        set.insert(40, 50);
        assert_eq!(set.first_gap(0, 50), None);
        assert_eq!(set.covered(), 50);
    }

    #[test]
    fn reader_waits_for_bytes_and_asks_for_far_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("x.part");
        let shared = Progressive::create(&part, 1000).unwrap();
        let mut reader = shared.reader().unwrap();

        let writer = {
            let shared = shared.clone();
            let part = part.clone();
            std::thread::spawn(move || {
                let mut file = std::fs::OpenOptions::new().write(true).open(&part).unwrap();
                file.write_all(&[7u8; 100]).unwrap();
                shared.mark(0, 100);
                // Wait until the reader asks for byte 900, then serve it.
                while shared.next_range(100) != Some((900, 1000)) {
                    shared.wait_change(Duration::from_millis(50));
                }
                file.seek(SeekFrom::Start(900)).unwrap();
                file.write_all(&[9u8; 100]).unwrap();
                shared.mark(900, 100);
            })
        };

        let mut buf = [0u8; 200];
        let n = reader.read(&mut buf).unwrap();
        assert_eq!(n, 100, "only what has arrived is returned");
        assert!(buf[..n].iter().all(|&b| b == 7));
        reader.seek(SeekFrom::Start(900)).unwrap();
        let n = reader.read(&mut buf).unwrap();
        assert_eq!(n, 100);
        assert!(buf[..n].iter().all(|&b| b == 9));
        assert_eq!(reader.read(&mut buf).unwrap(), 0, "end of file");
        writer.join().unwrap();
        assert_eq!(shared.next_range(0), Some((100, 900)));
    }

    #[test]
    fn a_failed_download_is_an_error_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Progressive::create(&dir.path().join("y.part"), 10).unwrap();
        shared.fail("the song was deleted on the server".into());
        let mut reader = shared.reader().unwrap();
        let err = reader.read(&mut [0u8; 4]).unwrap_err();
        assert!(err.to_string().contains("deleted"), "{err}");
    }
}
