//! Reading the replicas of local-directory volumes straight from their files.
//!
//! Going through `object_store` cost a trip to the blocking pool (a thread hand-off and a
//! wake-up, two context switches) for `head`, for `get` and then for every 8 KiB read: ~650
//! trips for a 5 MB song, 12 for a 64 KiB range. Here:
//! - the file is opened and read on the async worker itself when that cannot wait for the
//!   disk: `openat2(RESOLVE_CACHED)` opens only if the path is in the kernel's lookup cache
//!   and `preadv2(RWF_NOWAIT)` reads only what is in the page cache. A hot range read takes
//!   no trip at all, as a static file server's does.
//! - anything else (cold files, other systems, a kernel or sandbox without those calls) goes
//!   to the blocking pool, one trip per [`CHUNK`] bytes.
//!
//! Reads are positional (`pread`), so the open file is shared, never sought. A chunk whose
//! pages are all in the page cache is not read at all: it is a slice of the file's mapping
//! (see `mapped`).

use std::fs::{File, Metadata};
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

use crate::{mapped, BlobHash, StoreError};

/// Bytes read per chunk (inline or per trip to the blocking pool). Big enough that the
/// per-chunk cost is small next to copying the bytes, small enough that a slow client does
/// not pin much memory per stream (about one chunk each) and an inline read stays short
/// (tens of microseconds). Measured on whole 5 MB songs: 64 KiB to 1 MiB stream equally
/// fast; peak memory at 256 streams grows with the chunk (over 8 KiB reads: +35 MB at
/// 128 KiB, +70 MB at 256 KiB, +170 MB at 1 MiB).
pub(crate) const CHUNK: usize = 128 * 1024;

/// An open replica file and its metadata, read when it was opened (or last refreshed).
#[derive(Clone)]
pub(crate) struct LocalFile {
    file: Arc<File>,
    /// The whole file, mapped, when it could be.
    mapped: Option<Bytes>,
    pub(crate) metadata: Metadata,
    /// Shared: a hot file is handed out (and named in errors) many times a second.
    pub(crate) path: Arc<Path>,
}

impl LocalFile {
    /// The same open file with its current metadata; `None` when it can no longer be read
    /// from its path (deleted, or replaced by a rename: no links left) or `fstat` fails.
    pub(crate) fn refresh(mut self) -> Option<LocalFile> {
        self.metadata = self.file.metadata().ok()?;
        #[cfg(unix)]
        if std::os::unix::fs::MetadataExt::nlink(&self.metadata) == 0 {
            return None;
        }
        Some(self)
    }
}

/// Opens `path` for reading. A directory counts as not found (as in `object_store`).
pub(crate) async fn open(path: PathBuf) -> std::io::Result<LocalFile> {
    let opened = match nowait::open(&path) {
        Some(file) => file.metadata().map(|metadata| (file, metadata, path)),
        None => {
            blocking(move || {
                let file = File::open(&path)?;
                let metadata = file.metadata()?;
                Ok((file, metadata, path))
            })
            .await?
        }
    };
    let (file, metadata, path) = opened?;
    if metadata.is_dir() {
        return Err(std::io::Error::new(ErrorKind::NotFound, "is a directory"));
    }
    Ok(LocalFile {
        mapped: mapped::map(&file, metadata.len()),
        file: Arc::new(file),
        metadata,
        path: path.into(),
    })
}

/// The metadata of `path`; `None` when there is no such file.
pub(crate) async fn stat(path: PathBuf) -> std::io::Result<Option<Metadata>> {
    match tokio::fs::metadata(path).await {
        Ok(metadata) if metadata.is_dir() => Ok(None),
        Ok(metadata) => Ok(Some(metadata)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Streams `range` of the file in chunks of at most [`CHUNK`] bytes. The stream ends early,
/// without an error, if the file ends before `range.end`: the caller checks the length it
/// was promised.
pub(crate) fn stream(
    file: &LocalFile,
    range: Range<u64>,
    volume: Arc<str>,
) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    let state = (Arc::clone(&file.file), range.start);
    let (end, path, mapped) = (range.end, file.path.clone(), file.mapped.clone());
    futures::stream::try_unfold(state, move |(file, next)| {
        let (path, volume, mapped) = (path.clone(), volume.clone(), mapped.clone());
        async move {
            if next >= end {
                return Ok(None);
            }
            let want = (end - next).min(CHUNK as u64) as usize;
            let resident = mapped.as_ref().and_then(|mapped| {
                let start = usize::try_from(next).ok()?;
                mapped::resident_slice(mapped, start..start + want)
            });
            let chunk = match resident {
                Some(chunk) => chunk,
                None => read_at(&file, next, want)
                    .await
                    .map_err(|e| read_error(&volume, &path, next, e))?,
            };
            if chunk.is_empty() {
                return Ok(None);
            }
            let next = next + chunk.len() as u64;
            Ok(Some((chunk, (file, next))))
        }
    })
}

/// `range` of the file in one piece (small blobs, for the hot cache). Shorter if the file
/// ends first.
pub(crate) async fn read(
    file: &LocalFile,
    range: Range<u64>,
    volume: &str,
) -> Result<Bytes, StoreError> {
    let mut out = Vec::with_capacity((range.end - range.start) as usize);
    let mut next = range.start;
    while next < range.end {
        let want = (range.end - next).min(CHUNK as u64) as usize;
        let chunk = read_at(&file.file, next, want)
            .await
            .map_err(|e| read_error(volume, &file.path, next, e))?;
        if chunk.is_empty() {
            break;
        }
        next += chunk.len() as u64;
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// What hashing a whole file found: its SHA-256 and its length.
pub(crate) struct FileDigest {
    pub(crate) hash: BlobHash,
    pub(crate) size: u64,
}

/// Hashes the whole file in one trip to the blocking pool (hashing is CPU work; it does not
/// belong on the async workers).
pub(crate) async fn hash(file: &LocalFile, volume: &str) -> Result<FileDigest, StoreError> {
    let handle = Arc::clone(&file.file);
    blocking(move || hash_all(&handle))
        .await
        .and_then(|digest| digest)
        .map_err(|e| read_error(volume, &file.path, 0, e))
}

fn hash_all(file: &File) -> std::io::Result<FileDigest> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match pread(file, &mut buffer, size) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(FileDigest {
        hash: BlobHash::from_digest(hasher.finalize().into()),
        size,
    })
}

/// Up to `len` bytes at `offset`; empty at end of file. Inline from the page cache when
/// possible, else one trip to the blocking pool.
async fn read_at(file: &Arc<File>, offset: u64, len: usize) -> std::io::Result<Bytes> {
    let mut buffer = vec![0u8; len];
    if let Some(n) = nowait::read(file, &mut buffer, offset) {
        buffer.truncate(n);
        return Ok(Bytes::from(buffer));
    }
    let file = Arc::clone(file);
    blocking(move || {
        let filled = pread_full(&file, &mut buffer, offset)?;
        buffer.truncate(filled);
        Ok(Bytes::from(buffer))
    })
    .await?
}

/// Fills `buffer` from `offset`, or as much of it as the file holds; returns the bytes read.
fn pread_full(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match pread(file, &mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(unix)]
fn pread(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn pread(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

/// Runs `work` on tokio's blocking pool; a task that panicked or was cancelled becomes an
/// I/O error (the read fails, the server does not).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)
}

fn read_error(volume: &str, path: &Path, at: u64, source: std::io::Error) -> StoreError {
    StoreError::io(
        format!(
            "volume {volume}: cannot read {} at byte {at}",
            path.display()
        ),
        source,
    )
}

/// Calls that refuse to wait for the disk. `None` means "would wait, or not available here":
/// use the blocking pool.
#[cfg(target_os = "linux")]
mod nowait {
    use std::fs::File;
    use std::io::IoSliceMut;
    use std::path::Path;

    use rustix::fs::{Mode, OFlags, ResolveFlags, CWD};
    use rustix::io::ReadWriteFlags;

    /// Opens only if every path component is in the kernel's lookup cache (Linux 5.12+).
    pub(super) fn open(path: &Path) -> Option<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        rustix::fs::openat2(CWD, path, flags, Mode::empty(), ResolveFlags::CACHED)
            .ok()
            .map(File::from)
    }

    /// Reads what the page cache holds at `offset` (Linux 4.14+); `Some(0)` is end of file.
    pub(super) fn read(file: &File, buffer: &mut [u8], offset: u64) -> Option<usize> {
        let mut slices = [IoSliceMut::new(buffer)];
        rustix::io::preadv2(file, &mut slices, offset, ReadWriteFlags::NOWAIT).ok()
    }
}

#[cfg(not(target_os = "linux"))]
mod nowait {
    use std::fs::File;
    use std::path::Path;

    pub(super) fn open(_path: &Path) -> Option<File> {
        None
    }

    pub(super) fn read(_file: &File, _buffer: &mut [u8], _offset: u64) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::test_support::{content, file_with};

    async fn chunks(path: &Path, range: Range<u64>) -> Vec<Bytes> {
        let file = open(path.to_path_buf()).await.unwrap();
        stream(&file, range, "v".into())
            .try_collect()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn streams_ranges_in_chunks_of_at_most_chunk_bytes() {
        let bytes = content(1, 2 * CHUNK + 123);
        let (_dir, path) = file_with(&bytes);
        let all = chunks(&path, 0..bytes.len() as u64).await;
        assert_eq!(
            all.iter().map(Bytes::len).collect::<Vec<_>>(),
            [CHUNK, CHUNK, 123]
        );
        assert_eq!(all.concat(), bytes);
        let end = bytes.len() as u64;
        for range in [5..70_000, CHUNK as u64 - 1..CHUNK as u64 + 1, end - 1..end] {
            let got = chunks(&path, range.clone()).await;
            assert_eq!(
                got.concat(),
                &bytes[range.start as usize..range.end as usize]
            );
        }
        assert!(chunks(&path, 9..9).await.is_empty());
    }

    #[tokio::test]
    async fn a_file_shorter_than_the_range_ends_the_stream_early() {
        let bytes = content(2, 1000);
        let (_dir, path) = file_with(&bytes);
        assert_eq!(chunks(&path, 900..5000).await.concat(), &bytes[900..]);
        assert!(chunks(&path, 2000..3000).await.is_empty());
        let file = open(path).await.unwrap();
        assert_eq!(read(&file, 900..5000, "v").await.unwrap(), &bytes[900..]);
    }

    #[test]
    fn blocking_reads_fill_the_buffer_or_stop_at_the_end_of_the_file() {
        let bytes = content(3, 3 * CHUNK);
        let (_dir, path) = file_with(&bytes);
        let file = File::open(&path).unwrap();
        let mut buffer = vec![0u8; 2 * CHUNK];
        assert_eq!(pread_full(&file, &mut buffer, 7).unwrap(), 2 * CHUNK);
        assert_eq!(buffer, &bytes[7..7 + 2 * CHUNK]);
        let tail = bytes.len() as u64 - 5;
        assert_eq!(pread_full(&file, &mut buffer, tail).unwrap(), 5);
        assert_eq!(&buffer[..5], &bytes[bytes.len() - 5..]);
        assert_eq!(
            pread_full(&file, &mut buffer, 10 * CHUNK as u64).unwrap(),
            0
        );
    }

    #[test]
    fn inline_calls_give_the_right_bytes_or_decline() {
        // Whether they succeed depends on the kernel, the sandbox and the page cache; when
        // they do, what they return must be right.
        let bytes = content(5, CHUNK);
        let (dir, path) = file_with(&bytes);
        assert!(nowait::open(&dir.path().join("nope")).is_none());
        let file = nowait::open(&path).unwrap_or_else(|| File::open(&path).unwrap());
        let mut buffer = vec![0u8; 1000];
        if let Some(n) = nowait::read(&file, &mut buffer, 100) {
            assert_eq!(&buffer[..n], &bytes[100..100 + n]);
        }
        assert_eq!(
            nowait::read(&file, &mut buffer, 10 * CHUNK as u64).unwrap_or(0),
            0
        );
    }

    #[tokio::test]
    async fn hashes_the_whole_file() {
        let bytes = content(4, CHUNK + 77);
        let (_dir, path) = file_with(&bytes);
        let file = open(path).await.unwrap();
        let digest = hash(&file, "v").await.unwrap();
        assert_eq!(digest.hash, BlobHash::of(&bytes));
        assert_eq!(digest.size, bytes.len() as u64);
    }

    #[tokio::test]
    async fn missing_files_and_directories_are_not_found() {
        let dir = tempfile::tempdir().unwrap();
        for path in [dir.path().join("nope"), dir.path().to_path_buf()] {
            let err = open(path.clone()).await.err().unwrap();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{}", path.display());
        }
        assert!(stat(dir.path().join("nope")).await.unwrap().is_none());
        assert!(stat(dir.path().to_path_buf()).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn read_errors_name_the_volume_the_file_and_the_offset() {
        // A directory opens on Unix but cannot be read: a real I/O error mid-stream.
        let dir = tempfile::tempdir().unwrap();
        let file = LocalFile {
            file: Arc::new(File::open(dir.path()).unwrap()),
            mapped: None,
            metadata: std::fs::metadata(dir.path()).unwrap(),
            path: dir.path().into(),
        };
        let err = stream(&file, 0..10, Arc::from("v7"))
            .try_collect::<Vec<Bytes>>()
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("volume v7"), "{message}");
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("at byte 0"), "{message}");
    }
}
