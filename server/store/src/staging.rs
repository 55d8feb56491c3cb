//! Uploads land in a local staging file first: hashed and counted while they stream, limited in
//! size, and deleted whenever they do not make it (error, disconnect, drop).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::{BlobHash, StoreError};

/// Every staging file is `cadenza-upload-<random>.part`; one so named that nothing has
/// written to for [`STALE_AGE`] is a leftover of a crash.
const PREFIX: &str = "cadenza-upload-";
const SUFFIX: &str = ".part";

/// Staging files untouched this long are leftovers (an upload in progress writes all the time,
/// and none takes an hour to arrive).
pub(crate) const STALE_AGE: Duration = Duration::from_secs(3600);

/// A fully received upload in a local file. The file is deleted when this is dropped.
#[derive(Debug)]
pub struct StagedBlob {
    /// SHA-256 of the bytes, lowercase hex.
    pub hash: String,
    pub size: u64,
    /// The local staging file (for probing the media); valid while `self` lives.
    pub path: PathBuf,
    pub(crate) id: BlobHash,
    file: TempPath,
}

impl StagedBlob {
    /// Deletes the staging file now, reporting failure (dropping does the same silently).
    pub fn discard(self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.file.close().map_err(|source| {
            StoreError::io(
                format!("cannot delete staging file {}", path.display()),
                source,
            )
        })
    }
}

/// Receives `body` into a new staging file in `dir`.
pub(crate) async fn stage<S, E>(
    dir: &Path,
    mut body: S,
    max_bytes: u64,
) -> Result<StagedBlob, StoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    let (file, temp) = tempfile::Builder::new()
        .prefix(PREFIX)
        .suffix(SUFFIX)
        .tempfile_in(dir)
        .map_err(|source| {
            StoreError::io(
                format!("cannot create a staging file in {}", dir.display()),
                source,
            )
        })?
        .into_parts();
    // From here on, returning early (or being dropped) drops `temp`, which deletes the file.
    let write_error = |source| {
        StoreError::io(
            format!("cannot write staging file {}", temp.display()),
            source,
        )
    };
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| StoreError::Body(Box::new(e)))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(StoreError::TooLarge { limit: max_bytes });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(write_error)?;
    }
    // tokio writes in the background: flush so the whole file is on disk before anyone reads it.
    file.flush().await.map_err(write_error)?;
    drop(file);
    let id = BlobHash::from_digest(hasher.finalize().into());
    Ok(StagedBlob {
        hash: id.hex(),
        size,
        path: temp.to_path_buf(),
        id,
        file: temp,
    })
}

/// Deletes staging files older than `min_age` (all of them for zero); returns how many.
/// Only files with the staging name pattern are touched.
pub(crate) fn clean_stale(dir: &Path, min_age: Duration) -> Result<usize, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|source| {
        StoreError::io(
            format!("cannot read staging directory {}", dir.display()),
            source,
        )
    })?;
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .unwrap_or_default();
        if age < min_age {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!(file = %entry.path().display(), error = %e,
                "cannot delete stale staging file"),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(
        parts: Vec<Result<&'static [u8], std::io::Error>>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures::stream::iter(parts.into_iter().map(|p| p.map(Bytes::from_static)))
    }

    fn files_in(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[tokio::test]
    async fn hashes_and_counts_while_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(dir.path(), chunks(vec![Ok(b"ab"), Ok(b"c")]), 3)
            .await
            .unwrap();
        assert_eq!(staged.hash, BlobHash::of(b"abc").hex());
        assert_eq!(staged.size, 3);
        assert_eq!(std::fs::read(&staged.path).unwrap(), b"abc");
        let path = staged.path.clone();
        drop(staged);
        assert!(!path.exists(), "dropping a staged blob deletes its file");
    }

    #[tokio::test]
    async fn interrupted_body_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let broken = chunks(vec![
            Ok(b"first part"),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            )),
            Ok(b"never read"),
        ]);
        let err = stage(dir.path(), broken, 1 << 20).await.unwrap_err();
        assert!(matches!(err, StoreError::Body(_)), "{err}");
        assert!(err.to_string().contains("client went away"));
        assert_eq!(files_in(dir.path()), 0);
    }

    #[tokio::test]
    async fn too_large_body_is_refused_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let err = stage(dir.path(), chunks(vec![Ok(b"12345"), Ok(b"678")]), 6)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::TooLarge { limit: 6 }), "{err}");
        assert_eq!(files_in(dir.path()), 0);
        // Exactly at the limit is fine.
        let staged = stage(dir.path(), chunks(vec![Ok(b"123456")]), 6)
            .await
            .unwrap();
        assert_eq!(staged.size, 6);
    }

    #[tokio::test]
    async fn dropped_upload_future_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        // A body that sends one chunk and then stalls forever, like a client that stopped sending.
        let stalled = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))])
            .chain(futures::stream::pending());
        let upload = stage(dir.path(), Box::pin(stalled), 100);
        let timed_out = tokio::time::timeout(Duration::from_millis(50), upload).await;
        assert!(timed_out.is_err());
        assert_eq!(files_in(dir.path()), 0);
    }

    #[test]
    fn cleans_only_stale_staging_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cadenza-upload-abc.part"), b"x").unwrap();
        std::fs::write(dir.path().join("keep.txt"), b"x").unwrap();
        assert_eq!(
            clean_stale(dir.path(), Duration::from_secs(3600)).unwrap(),
            0
        );
        assert_eq!(clean_stale(dir.path(), Duration::ZERO).unwrap(), 1);
        assert_eq!(files_in(dir.path()), 1);
    }
}
