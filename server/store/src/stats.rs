//! What the store tells operators: counters for /metrics, per-volume usage, reachability.

use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::join_all;

use crate::{BlobStore, StoreError, VolumeStats};

/// A snapshot of the store's counters (monotonic since start, except `cache_bytes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounters {
    /// Reads that had to skip a replica (missing, wrong size, corrupt or unreadable).
    pub failovers: u64,
    /// Replicas found corrupt (wrong size or hash) by reads, commits and checks.
    pub corrupt_replicas: u64,
    /// Bytes handed to readers, cache hits included.
    pub bytes_read: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Bytes held in the hot cache now.
    pub cache_bytes: u64,
    pub commits: u64,
    pub commit_failures: u64,
    /// Commits that met the write quorum with fewer than R replicas.
    pub degraded_commits: u64,
    /// Replicas copied by repairs.
    pub repaired_replicas: u64,
    /// Replicas hashed whole before they served a read (first read in this process, or the
    /// replica changed).
    pub replica_verifications: u64,
    /// Reads that asked a second replica because an S3 replica was slow to answer.
    pub hedged_reads: u64,
    /// Streams that broke off and carried on from another replica.
    pub stream_resumes: u64,
}

#[derive(Default)]
pub(crate) struct AtomicCounters {
    pub(crate) failovers: AtomicU64,
    pub(crate) corrupt_replicas: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) commit_failures: AtomicU64,
    pub(crate) degraded_commits: AtomicU64,
    pub(crate) repaired_replicas: AtomicU64,
    pub(crate) replica_verifications: AtomicU64,
    pub(crate) hedged_reads: AtomicU64,
    pub(crate) stream_resumes: AtomicU64,
}

impl BlobStore {
    pub fn counters(&self) -> StoreCounters {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StoreCounters {
            failovers: get(&c.failovers),
            corrupt_replicas: get(&c.corrupt_replicas),
            bytes_read: get(&c.bytes_read),
            cache_hits: get(&c.cache_hits),
            cache_misses: get(&c.cache_misses),
            cache_bytes: self.inner.cache().used_bytes(),
            commits: get(&c.commits),
            commit_failures: get(&c.commit_failures),
            degraded_commits: get(&c.degraded_commits),
            repaired_replicas: get(&c.repaired_replicas),
            replica_verifications: get(&c.replica_verifications),
            hedged_reads: get(&c.hedged_reads),
            stream_resumes: get(&c.stream_resumes),
        }
    }

    /// Blob count and bytes per volume (by listing `blobs/`), in configuration order.
    /// An unreachable volume reports `reachable: false` and zeros.
    pub async fn volume_stats(&self) -> Vec<VolumeStats> {
        join_all(self.inner.volumes.iter().map(|volume| async move {
            let usage = match volume.probe().await {
                Ok(()) => volume.usage().await,
                Err(e) => Err(e),
            };
            let (reachable, (blobs, bytes)) = match usage {
                Ok(usage) => (true, usage),
                Err(e) => {
                    tracing::warn!(volume = %volume.name, error = %e, "volume unreachable");
                    (false, (0, 0))
                }
            };
            VolumeStats {
                name: volume.name.to_string(),
                location: volume.location.clone(),
                reachable,
                blobs,
                bytes,
            }
        }))
        .await
    }

    /// Whether each volume answers a probe (reads a marker object, writing it on first contact).
    pub async fn volume_reachability(&self) -> Vec<bool> {
        join_all(self.inner.volumes.iter().map(|volume| async move {
            match volume.probe().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(volume = %volume.name, error = %e, "volume unreachable");
                    false
                }
            }
        }))
        .await
    }

    /// How many volumes answer a probe, for `/readyz` (compare with [`Self::quorum`]).
    pub async fn reachable_volumes(&self) -> usize {
        self.volume_reachability()
            .await
            .into_iter()
            .filter(|&up| up)
            .count()
    }

    /// Checks each S3 volume's bucket once (for start-up): a bucket that does not exist or
    /// refuses the credentials is a configuration error (Cadenza creates no buckets); an
    /// endpoint that does not answer is only logged, and the volume counts as unreachable
    /// until it does.
    pub async fn check_buckets(&self) -> Result<(), StoreError> {
        for volume in &self.inner.volumes {
            let Some(s3) = volume.s3() else { continue };
            let refused = |what: &str, e| {
                Err(StoreError::Config(format!(
                    "S3 volume `{}` ({}): {what}: {e}",
                    volume.name, volume.location
                )))
            };
            match s3.check_bucket().await {
                Ok(()) => {}
                Err(e @ object_store::Error::NotFound { .. }) => {
                    return refused("the bucket does not exist; create it first", e)
                }
                Err(
                    e @ (object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }),
                ) => return refused("the endpoint refuses these credentials", e),
                Err(e) => tracing::warn!(volume = %volume.name, location = %volume.location,
                    error = %e, "S3 volume unreachable at start-up; serving from the others"),
            }
        }
        Ok(())
    }

    /// Reachable volumes needed to be ready: a majority of the N volumes, and at least
    /// N - R + 1 so that every blob keeps a reachable placement replica. N=3, R=3 gives 2.
    pub fn quorum(&self) -> usize {
        let n = self.inner.volumes.len();
        (n / 2 + 1).max(n - self.inner.replication + 1)
    }

    /// The number of volumes N.
    pub fn volume_count(&self) -> usize {
        self.inner.volumes.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::TestStore;

    #[tokio::test]
    async fn volume_stats_count_blobs_and_bytes() {
        let t = TestStore::new(3, 2, 0);
        let a = t.put(b"12345").await;
        let b = t.put(b"1234567890").await;
        let stats = t.store.volume_stats().await;
        assert_eq!(stats.len(), 3);
        assert_eq!(stats.iter().map(|s| s.blobs).sum::<u64>(), 4);
        assert_eq!(stats.iter().map(|s| s.bytes).sum::<u64>(), 30);
        for (v, s) in stats.iter().enumerate() {
            assert_eq!(s.name, format!("v{v}"));
            assert_eq!(s.location, t.dirs[v].display().to_string());
            assert!(s.reachable);
            let expected = [&a, &b]
                .iter()
                .filter(|h| t.store.placement(h).contains(&v))
                .count();
            assert_eq!(s.blobs, expected as u64);
        }
    }

    #[tokio::test]
    async fn reachability_and_quorum() {
        let t = TestStore::new(3, 3, 0);
        assert_eq!(t.store.quorum(), 2);
        assert_eq!(t.store.reachable_volumes().await, 3);
        std::fs::remove_dir_all(&t.dirs[0]).unwrap();
        std::fs::write(&t.dirs[0], b"not a directory").unwrap();
        assert_eq!(t.store.reachable_volumes().await, 2);
        assert_eq!(t.store.volume_reachability().await, vec![false, true, true]);
        let stats = t.store.volume_stats().await;
        assert!(!stats[0].reachable && stats[1].reachable);
        assert_eq!((stats[0].blobs, stats[0].bytes), (0, 0));
    }

    #[test]
    fn quorum_is_a_majority_that_keeps_every_blob_readable() {
        for (n, r, quorum) in [
            (1, 1, 1),
            (2, 1, 2),
            (2, 2, 2),
            (3, 3, 2),
            (3, 1, 3),
            (5, 3, 3),
            (10, 3, 8),
        ] {
            let t = TestStore::new(n, r, 0);
            assert_eq!(t.store.quorum(), quorum, "N={n} R={r}");
        }
    }
}
