//! A local volume's recently opened replica files, kept open (and mapped) for a while.
//!
//! A song played by many listeners, or read in 64 KiB ranges, would otherwise pay a path
//! lookup, an open, an `mmap`, an `munmap` and a close per request (about 5% of the server's
//! time at 25,000 ranges/s, before mapping). A hit costs one `fstat`, which also keeps the
//! usual checks honest: the metadata handed out is the file's current one (size, modification
//! time, inode), so a replica changed in place is verified again, and a file that was deleted
//! or replaced by a rename (no links left) is dropped and opened afresh from its path.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::local_file::LocalFile;
use crate::BlobHash;

/// Open files kept per volume. Each holds a descriptor and an address-space mapping, no
/// memory of its own beyond the pages the page cache already has.
const MAX_ENTRIES: usize = 1024;

/// Bytes of mapped files kept per volume. The pages of a mapping that were sent count in the
/// process's resident size (as file-backed pages: the page cache holds them either way, and
/// the kernel can take them back), so this bounds what the cache adds to it.
const MAX_MAPPED_BYTES: u64 = 256 * 1024 * 1024;

/// How long a file stays open after it was opened. Bounds how long the disk space of a
/// replica deleted behind the server's back stays allocated (Cadenza's own deletes and
/// rewrites drop the entry at once).
const MAX_AGE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(crate) struct OpenFiles {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    files: HashMap<BlobHash, (LocalFile, Instant)>,
    /// The sum of the files' lengths.
    bytes: u64,
}

impl Entries {
    fn remove(&mut self, hash: &BlobHash) {
        if let Some((file, _)) = self.files.remove(hash) {
            self.bytes -= file.metadata.len();
        }
    }

    fn retain_younger_than(&mut self, age: Duration) {
        self.files.retain(|_, (_, opened)| opened.elapsed() <= age);
        self.bytes = self.files.values().map(|(f, _)| f.metadata.len()).sum();
    }
}

impl std::fmt::Debug for OpenFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFiles")
            .field("entries", &self.entries().files.len())
            .finish()
    }
}

impl OpenFiles {
    /// The open replica, with its current metadata; `None` if it is not open (any more).
    pub(crate) fn get(&self, hash: &BlobHash) -> Option<LocalFile> {
        let file = {
            let mut entries = self.entries();
            let (file, opened) = entries.files.get(hash)?;
            if opened.elapsed() > MAX_AGE {
                entries.remove(hash);
                return None;
            }
            file.clone()
        };
        match file.refresh() {
            Some(file) => Some(file),
            None => {
                self.forget(hash);
                None
            }
        }
    }

    pub(crate) fn insert(&self, hash: BlobHash, file: &LocalFile) {
        let len = file.metadata.len();
        if len > MAX_MAPPED_BYTES {
            return;
        }
        let mut entries = self.entries();
        entries.remove(&hash);
        let full = |e: &Entries| e.files.len() >= MAX_ENTRIES || e.bytes + len > MAX_MAPPED_BYTES;
        if full(&entries) {
            entries.retain_younger_than(MAX_AGE);
        }
        if full(&entries) {
            // Simpler than an LRU and as good here: what is hot is opened again at once.
            *entries = Entries::default();
        }
        entries.bytes += len;
        entries.files.insert(hash, (file.clone(), Instant::now()));
    }

    /// Drops the replica's entry: it is being deleted or rewritten.
    pub(crate) fn forget(&self, hash: &BlobHash) {
        self.entries().remove(hash);
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        crate::lock(&self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_file;
    use crate::test_support::file_with;

    async fn opened(path: &std::path::Path) -> LocalFile {
        local_file::open(path.to_path_buf()).await.unwrap()
    }

    #[tokio::test]
    async fn an_open_file_is_handed_out_with_its_current_metadata() {
        let (_dir, path) = file_with(b"abc");
        let files = OpenFiles::default();
        let hash = BlobHash::of(b"abc");
        assert!(files.get(&hash).is_none());
        files.insert(hash, &opened(&path).await);
        // Changed in place: the same open file, with the size it has now.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .set_len(10)
            .unwrap();
        assert_eq!(files.get(&hash).unwrap().metadata.len(), 10);
        files.forget(&hash);
        assert!(files.get(&hash).is_none());
    }

    #[tokio::test]
    async fn deleted_or_replaced_files_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let files = OpenFiles::default();
        let (deleted, replaced) = (BlobHash::of(b"1"), BlobHash::of(b"2"));
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"1").unwrap();
        std::fs::write(&b, b"2").unwrap();
        files.insert(deleted, &opened(&a).await);
        files.insert(replaced, &opened(&b).await);
        std::fs::remove_file(&a).unwrap();
        let fresh = dir.path().join("fresh");
        std::fs::write(&fresh, b"2").unwrap();
        std::fs::rename(&fresh, &b).unwrap();
        assert!(files.get(&deleted).is_none());
        assert!(files.get(&replaced).is_none());
        assert_eq!(
            files.entries().files.len(),
            0,
            "both gone, not just skipped"
        );
        assert_eq!(files.entries().bytes, 0);
    }

    #[tokio::test]
    async fn a_full_table_makes_room() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"x").unwrap();
        let file = opened(&path).await;
        let files = OpenFiles::default();
        for i in 0..=MAX_ENTRIES as u32 {
            files.insert(BlobHash::of(&i.to_le_bytes()), &file);
        }
        assert!(files.entries().files.len() <= MAX_ENTRIES);
        assert!(files
            .get(&BlobHash::of(&(MAX_ENTRIES as u32).to_le_bytes()))
            .is_some());
    }

    #[tokio::test]
    async fn mapped_bytes_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (big, half) = (dir.path().join("big"), dir.path().join("half"));
        // Sparse: no disk space, but the lengths count.
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_MAPPED_BYTES + 1)
            .unwrap();
        std::fs::File::create(&half)
            .unwrap()
            .set_len(MAX_MAPPED_BYTES / 2 + 1)
            .unwrap();
        let files = OpenFiles::default();
        let (a, b, c) = (BlobHash::of(b"a"), BlobHash::of(b"b"), BlobHash::of(b"c"));
        files.insert(a, &opened(&big).await);
        assert!(files.get(&a).is_none(), "too big to keep");
        files.insert(b, &opened(&half).await);
        files.insert(c, &opened(&half).await);
        assert!(files.get(&c).is_some());
        assert!(files.entries().bytes <= MAX_MAPPED_BYTES);
    }
}
