//! Making a staged blob durable on its R placement volumes, deleting blobs, existence checks.

use std::path::Path;
use std::sync::Arc;

use futures::future::join_all;
use futures::TryStreamExt;
use tokio_util::io::ReaderStream;

use crate::volume::WriteError;
use crate::{BlobHash, BlobStore, Inner, StagedBlob, StoreError};

/// Read size when copying a staging file to a volume.
const STAGING_READ_CHUNK: usize = 256 * 1024;

impl BlobStore {
    /// Writes the staged bytes to all R placement volumes. Each replica write is atomic
    /// (temporary name, then rename; one PUT or a completed multipart upload on S3) and
    /// completes only if the bytes written hash to the blob. The commit succeeds when at least
    /// the write quorum W of the R replicas holds the blob; the rest stay under-replicated.
    /// A replica already present whose bytes verify is kept (so committing a known blob is a
    /// no-op); a corrupt one is replaced. With fewer than W replicas the replicas this commit
    /// wrote are removed again and the first error is returned. The work runs to its end even if the
    /// caller stops waiting (client gone), so it never stops half-way.
    pub async fn commit(&self, staged: &StagedBlob) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        let (id, size, path) = (staged.id, staged.size, staged.path.clone());
        tokio::spawn(async move { inner.commit(id, size, &path).await })
            .await
            .map_err(|e| StoreError::io("blob commit task failed", std::io::Error::other(e)))?
    }

    /// Removes the blob from every volume (and from memory). Deleting a blob that is not
    /// stored is not an error; a volume that fails makes the whole call fail after all
    /// volumes were tried. Runs to its end even if the caller stops waiting.
    pub async fn delete(&self, hash: &str) -> Result<(), StoreError> {
        let id = BlobHash::parse(hash)?;
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.delete(id).await })
            .await
            .map_err(|e| StoreError::io("blob delete task failed", std::io::Error::other(e)))?
    }

    /// Whether any volume holds an object for this hash (no size or content check).
    /// Fails only if no volume has it and some volume could not be asked.
    pub async fn exists(&self, hash: &str) -> Result<bool, StoreError> {
        let id = BlobHash::parse(hash)?;
        let mut failure = None;
        for (volume, _) in self.inner.read_order(&id) {
            match self.inner.volumes[volume].head(&id).await {
                Ok(Some(_)) => return Ok(true),
                Ok(None) => {}
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(false),
        }
    }
}

impl Inner {
    async fn commit(&self, id: BlobHash, size: u64, staged: &Path) -> Result<(), StoreError> {
        let _guard = self.lock_blob(&id).await;
        let targets = self.placement(&id);
        let results = join_all(
            targets
                .iter()
                .map(|&volume| self.commit_replica(&id, size, staged, volume)),
        )
        .await;
        let mut written = Vec::new();
        let mut held = 0;
        let mut failure = None;
        for (&volume, result) in targets.iter().zip(results) {
            match result {
                Ok(true) => {
                    written.push(volume);
                    held += 1;
                }
                Ok(false) => held += 1,
                Err(e) => {
                    tracing::warn!(blob = %id, volume = %self.names[volume], error = %e,
                        "writing replica failed");
                    failure.get_or_insert(e);
                }
            }
        }
        let Some(failure) = failure else {
            self.count(&self.counters.commits, 1);
            tracing::debug!(blob = %id, size, new_replicas = written.len(), "blob committed");
            return Ok(());
        };
        if held >= self.write_quorum {
            self.count(&self.counters.commits, 1);
            self.count(&self.counters.degraded_commits, 1);
            tracing::warn!(blob = %id, replicas = held, wanted = targets.len(), error = %failure,
                "blob committed under-replicated (write quorum met); `replication check --repair` completes it");
            return Ok(());
        }
        self.count(&self.counters.commit_failures, 1);
        for volume in written {
            if let Err(e) = self.volumes[volume].delete(&id).await {
                tracing::error!(blob = %id, volume = %self.names[volume], error = %e,
                    "could not roll back a replica of a failed commit; the replication check will report it as orphaned");
            }
        }
        Err(failure)
    }

    /// Ensures one placement volume holds the blob. `Ok(true)` if this call wrote it.
    async fn commit_replica(
        &self,
        id: &BlobHash,
        size: u64,
        staged: &Path,
        volume: usize,
    ) -> Result<bool, StoreError> {
        let vol = &self.volumes[volume];
        if let Some(meta) = vol.head(id).await? {
            if meta.size == size {
                if self.is_verified(id, volume, meta.fingerprint) {
                    return Ok(false);
                }
                if let Some(digest) = vol.hash_replica(id).await? {
                    if digest.hash == *id && digest.size == size {
                        self.mark_verified(id, volume, digest.fingerprint);
                        return Ok(false);
                    }
                }
            }
            tracing::warn!(blob = %id, volume = %vol.name, "replacing a corrupt replica");
            self.corrupt(id, volume);
        }
        let file = tokio::fs::File::open(staged).await.map_err(|source| {
            StoreError::io(
                format!("cannot open staging file {}", staged.display()),
                source,
            )
        })?;
        let source = ReaderStream::with_capacity(file, STAGING_READ_CHUNK).map_err(|source| {
            StoreError::io(
                format!("cannot read staging file {}", staged.display()),
                source,
            )
        });
        match vol.write_verified(id, size, source).await {
            Ok(()) => Ok(true),
            Err(WriteError::Target(e)) => Err(vol.error(e)),
            Err(WriteError::SourceRead(e)) => Err(e),
            Err(WriteError::Mismatch(detail)) => Err(StoreError::io(
                format!("staging file {} changed after upload", staged.display()),
                std::io::Error::other(detail),
            )),
        }
    }

    async fn delete(&self, id: BlobHash) -> Result<(), StoreError> {
        let _guard = self.lock_blob(&id).await;
        self.cache().remove(&id);
        let results = join_all(
            self.volumes
                .iter()
                .enumerate()
                .map(|(volume, vol)| async move {
                    self.forget_verified(&id, volume);
                    vol.delete(&id).await
                }),
        )
        .await;
        results.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::test_support::{content, FailingStore, TestStore, WriteFailure};
    use crate::StoreError;

    #[tokio::test]
    async fn commit_writes_r_replicas_on_the_placement_volumes() {
        let t = TestStore::new(4, 2, 0);
        let hash = t.put(b"two of four").await;
        let mut placed = t.store.placement(&hash);
        placed.sort();
        assert_eq!(t.holders(&hash), placed);
        assert!(t.store.exists(&hash).await.unwrap());
        assert_eq!(
            std::fs::read(t.replica(placed[0], &hash)).unwrap(),
            b"two of four"
        );
    }

    #[tokio::test]
    async fn committing_a_known_blob_again_is_a_no_op() {
        let t = TestStore::new(3, 3, 0);
        let hash = t.put(b"same bytes").await;
        let before: Vec<_> = (0..3)
            .map(|v| {
                std::fs::metadata(t.replica(v, &hash))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect();
        assert_eq!(t.put(b"same bytes").await, hash);
        let after: Vec<_> = (0..3)
            .map(|v| {
                std::fs::metadata(t.replica(v, &hash))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect();
        assert_eq!(before, after, "verified replicas are not rewritten");
        assert_eq!(t.store.counters().commits, 2);
    }

    #[tokio::test]
    async fn committing_again_replaces_a_corrupt_replica() {
        let t = TestStore::new(3, 3, 0);
        let hash = t.put(b"original").await;
        crate::test_support::corrupt_same_size(&t.replica(1, &hash));
        t.put(b"original").await;
        assert_eq!(std::fs::read(t.replica(1, &hash)).unwrap(), b"original");
        assert_eq!(t.store.counters().corrupt_replicas, 1);
    }

    async fn failed_commit_leaves_nothing(mode: WriteFailure) {
        // Volume 2 fails; with R = N = 3 every blob needs it, and the other two writes (which
        // run concurrently) must be rolled back.
        let t = TestStore::with_volumes(3, 3, 0, |i, config| {
            if i == 2 {
                FailingStore::wrap(config, mode).0
            } else {
                config
            }
        });
        let bytes = content(1, 300_000);
        let staged = t.store.stage_bytes(Bytes::from(bytes)).await.unwrap();
        let err = t.store.commit(&staged).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Volume { volume, .. } if volume == "v2"),
            "{err}"
        );
        assert!(err.to_string().contains("injected write failure"), "{err}");
        assert_eq!(t.volume_files(), Vec::<std::path::PathBuf>::new());
        assert!(!t.store.exists(&staged.hash).await.unwrap());
        assert!(matches!(
            t.store.read(&staged.hash, staged.size, None).await,
            Err(StoreError::NotFound { .. })
        ));
        assert_eq!(t.store.counters().commit_failures, 1);
    }

    #[tokio::test]
    async fn a_volume_refusing_writes_rolls_back_the_commit() {
        failed_commit_leaves_nothing(WriteFailure::Refuse).await;
    }

    #[tokio::test]
    async fn a_volume_failing_at_completion_rolls_back_the_commit() {
        failed_commit_leaves_nothing(WriteFailure::AtCompletion).await;
    }

    #[tokio::test]
    async fn a_commit_that_meets_the_write_quorum_succeeds_under_replicated() {
        // R = 3, W = 2: one volume refusing writes (a failure domain down) does not stop
        // uploads; two do, and then nothing is left.
        for failing in [1, 2] {
            let t = TestStore::with_quorum(3, 3, 2, 0, |i, config| {
                if i < failing {
                    FailingStore::wrap(config, WriteFailure::Refuse).0
                } else {
                    config
                }
            });
            let bytes = content(5, 200_000);
            let staged = t
                .store
                .stage_bytes(Bytes::from(bytes.clone()))
                .await
                .unwrap();
            let committed = t.store.commit(&staged).await;
            if failing == 1 {
                committed.unwrap();
                assert_eq!(t.holders(&staged.hash), vec![1, 2]);
                assert_eq!(t.store.counters().degraded_commits, 1);
                assert_eq!(t.read_all(&staged.hash, staged.size).await.unwrap(), bytes);
                let info = crate::BlobInfo {
                    hash: staged.hash.clone(),
                    size: staged.size,
                    used_by: "song 1".into(),
                };
                let report = t
                    .store
                    .replication(vec![info], Default::default(), |_, _| {})
                    .await
                    .unwrap();
                assert_eq!(report.under_replicated, 1, "{report:?}");
            } else {
                assert!(committed.is_err());
                assert_eq!(t.volume_files(), Vec::<std::path::PathBuf>::new());
                assert_eq!(t.store.counters().commit_failures, 1);
            }
        }
    }

    #[tokio::test]
    async fn interrupted_upload_leaves_nothing_anywhere() {
        let t = TestStore::new(3, 3, 0);
        let body = futures::stream::iter([
            Ok(Bytes::from(content(2, 100_000))),
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection reset",
            )),
        ]);
        let err = t.store.stage(body, 10 << 20).await.unwrap_err();
        assert!(matches!(err, StoreError::Body(_)), "{err}");
        assert_eq!(std::fs::read_dir(&t.staging).unwrap().count(), 0);
        assert_eq!(t.volume_files(), Vec::<std::path::PathBuf>::new());
    }

    #[tokio::test]
    async fn a_large_blob_is_written_in_parts_and_reads_back() {
        // Bigger than one multipart part (5 MiB) so the part logic runs.
        let t = TestStore::new(3, 2, 0);
        let bytes = content(3, 6 * 1024 * 1024 + 17);
        let hash = t.put(&bytes).await;
        assert_eq!(t.holders(&hash).len(), 2);
        assert_eq!(t.read_all(&hash, bytes.len() as u64).await.unwrap(), bytes);
    }

    #[tokio::test]
    async fn delete_removes_every_copy_including_strays() {
        let t = TestStore::new(3, 2, 1 << 20);
        let hash = t.put(b"to be deleted").await;
        let stray = (0..3)
            .find(|v| !t.store.placement(&hash).contains(v))
            .unwrap();
        std::fs::create_dir_all(t.replica(stray, &hash).parent().unwrap()).unwrap();
        std::fs::write(t.replica(stray, &hash), b"to be deleted").unwrap();
        t.read_all(&hash, 13).await.unwrap(); // now cached too
        t.store.delete(&hash).await.unwrap();
        assert_eq!(t.holders(&hash), Vec::<usize>::new());
        assert!(!t.store.exists(&hash).await.unwrap());
        assert!(matches!(
            t.read_all(&hash, 13).await,
            Err(StoreError::NotFound { .. })
        ));
        t.store.delete(&hash).await.unwrap(); // deleting again is fine
    }

    #[tokio::test]
    async fn invalid_hashes_never_reach_a_volume() {
        let t = TestStore::new(1, 1, 0);
        for bad in ["../../etc/passwd", "ABC", ""] {
            assert!(matches!(
                t.store.exists(bad).await,
                Err(StoreError::InvalidHash { .. })
            ));
            assert!(matches!(
                t.store.delete(bad).await,
                Err(StoreError::InvalidHash { .. })
            ));
            assert!(matches!(
                t.store.read(bad, 1, None).await,
                Err(StoreError::InvalidHash { .. })
            ));
        }
    }
}
