//! Reading replicas that `object_store` hands over as open local files
//! (`GetResultPayload::File`), in big chunks on the blocking pool.
//!
//! `GetResult::into_stream` reads such files 8 KiB at a time, each read a separate trip to
//! the blocking pool: a 5 MB song took about 650 trips, which capped streaming far below what
//! the disk and the page cache deliver. Here one trip reads up to [`CHUNK`] bytes, so a
//! 64 KiB range is one trip and a whole song about twenty.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

use crate::{BlobHash, StoreError};

/// Bytes read per trip to the blocking pool. Big enough that the per-trip cost (a thread
/// hand-off and a wake-up) is small next to copying the bytes, small enough that a
/// slow client does not pin much memory per stream.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Streams `range` of `file` in chunks of at most [`CHUNK`] bytes. The stream ends early, without
/// an error, if the file ends before `range.end`: the caller checks the length it was promised.
pub(crate) fn stream(
    file: File,
    path: PathBuf,
    range: Range<u64>,
    volume: String,
) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    let cursor = Cursor {
        file,
        next: range.start,
        end: range.end,
        positioned: false,
    };
    futures::stream::try_unfold(Some(cursor), move |cursor| {
        let path = path.clone();
        let volume = volume.clone();
        async move {
            let Some(mut cursor) = cursor.filter(|c| c.next < c.end) else {
                return Ok(None);
            };
            let at = cursor.next;
            let (cursor, read) = blocking(move || {
                let read = cursor.read_chunk();
                (cursor, read)
            })
            .await
            .map_err(|e| read_error(&volume, &path, at, e))?;
            match read {
                Ok(chunk) if chunk.is_empty() => Ok(None),
                Ok(chunk) => Ok(Some((Bytes::from(chunk), Some(cursor)))),
                Err(e) => Err(read_error(&volume, &path, at, e)),
            }
        }
    })
}

/// What hashing a whole file found: its SHA-256 and its length.
pub(crate) struct FileDigest {
    pub(crate) hash: BlobHash,
    pub(crate) size: u64,
}

/// Hashes the whole file on the blocking pool (one trip) and hands the file back, so the
/// bytes that were verified are read from the same open file.
pub(crate) async fn hash(
    file: File,
    path: &Path,
    volume: &str,
) -> Result<(File, FileDigest), StoreError> {
    let (file, digest) = blocking(move || {
        let mut file = file;
        let digest = hash_from_start(&mut file);
        (file, digest)
    })
    .await
    .map_err(|e| read_error(volume, path, 0, e))?;
    let digest = digest.map_err(|e| read_error(volume, path, 0, e))?;
    Ok((file, digest))
}

struct Cursor {
    file: File,
    next: u64,
    end: u64,
    /// Whether the file offset is at `next` (the file may come straight from hashing).
    positioned: bool,
}

impl Cursor {
    /// Up to [`CHUNK`] bytes from `next`; empty at end of file.
    fn read_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        if !self.positioned {
            self.file.seek(SeekFrom::Start(self.next))?;
            self.positioned = true;
        }
        let want = (self.end - self.next).min(CHUNK as u64);
        // `read_to_end` fills the spare capacity without zeroing it first.
        let mut chunk = Vec::with_capacity(want as usize);
        (&mut self.file).take(want).read_to_end(&mut chunk)?;
        self.next += chunk.len() as u64;
        Ok(chunk)
    }
}

fn hash_from_start(file: &mut File) -> std::io::Result<FileDigest> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
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

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::test_support::content;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    async fn read(path: &Path, range: Range<u64>) -> Vec<Bytes> {
        let file = File::open(path).unwrap();
        stream(file, path.to_path_buf(), range, "v".into())
            .try_collect()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn streams_ranges_in_chunks_of_at_most_chunk_bytes() {
        let bytes = content(1, 2 * CHUNK + 123);
        let (_dir, path) = file_with(&bytes);
        let all = read(&path, 0..bytes.len() as u64).await;
        assert_eq!(
            all.iter().map(Bytes::len).collect::<Vec<_>>(),
            [CHUNK, CHUNK, 123]
        );
        assert_eq!(all.concat(), bytes);
        let end = bytes.len() as u64;
        for range in [5..70_000, CHUNK as u64 - 1..CHUNK as u64 + 1, end - 1..end] {
            let chunks = read(&path, range.clone()).await;
            assert_eq!(
                chunks.concat(),
                &bytes[range.start as usize..range.end as usize]
            );
        }
        assert!(read(&path, 9..9).await.is_empty());
    }

    #[tokio::test]
    async fn a_file_shorter_than_the_range_ends_the_stream_early() {
        let bytes = content(2, 1000);
        let (_dir, path) = file_with(&bytes);
        assert_eq!(read(&path, 900..5000).await.concat(), &bytes[900..]);
        assert!(read(&path, 2000..3000).await.is_empty());
    }

    #[tokio::test]
    async fn hashes_the_whole_file_and_hands_it_back_for_streaming() {
        let bytes = content(3, CHUNK + 77);
        let (_dir, path) = file_with(&bytes);
        let file = File::open(&path).unwrap();
        let (file, digest) = hash(file, &path, "v").await.unwrap();
        assert_eq!(digest.hash, BlobHash::of(&bytes));
        assert_eq!(digest.size, bytes.len() as u64);
        // The offset left at the end by hashing does not leak into the stream.
        let chunks: Vec<Bytes> = stream(file, path, 10..20, "v".into())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(chunks.concat(), &bytes[10..20]);
    }

    #[tokio::test]
    async fn read_errors_name_the_volume_the_file_and_the_offset() {
        // A directory opens on Unix but cannot be read: a real I/O error mid-stream.
        let dir = tempfile::tempdir().unwrap();
        let file = File::open(dir.path()).unwrap();
        let err = stream(file, dir.path().to_path_buf(), 0..10, "v7".into())
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
