//! Reads with failover: the first replica (in placement order, then any other volume) that
//! exists, has the right size and whose bytes verified serves the read.

use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use crate::volume::Fetched;
use crate::{BlobHash, BlobStore, Inner, StoreError};

/// A blob's bytes, streamed from a volume (or from the hot cache).
pub type BlobBody = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

impl BlobStore {
    /// Reads `range` (`None` = all) of a blob of known `size` from the first healthy replica.
    ///
    /// Replicas are tried in placement order, then on the other volumes. One that is missing,
    /// has the wrong size, cannot be read or (checked once per process per replica version,
    /// by streaming it through SHA-256) does not hash right is skipped and counted. Full reads
    /// are hashed again while they stream; if the end does not verify, the stream ends with
    /// [`StoreError::Corrupt`] and the replica is re-verified (and so skipped) next time.
    /// Small blobs come whole from the hot cache when it is on.
    ///
    /// Errors: [`StoreError::InvalidHash`], [`StoreError::InvalidRange`] (the caller answers
    /// 416 before asking), [`StoreError::NotFound`] when no volume has the blob at all,
    /// [`StoreError::Unavailable`] when copies exist but none is intact and readable.
    pub async fn read(
        &self,
        hash: &str,
        size: u64,
        range: Option<Range<u64>>,
    ) -> Result<BlobBody, StoreError> {
        let id = BlobHash::parse(hash)?;
        if let Some(r) = &range {
            if r.start > r.end || r.end > size {
                return Err(StoreError::InvalidRange {
                    start: r.start,
                    end: r.end,
                    size,
                });
            }
        }
        // A range covering everything is a full read (and so gets verified while streaming).
        let range = range.filter(|r| *r != (0..size));
        let inner = &self.inner;
        if inner.cache().admits(size) {
            let cached = inner.cache().get(&id);
            let bytes = match cached {
                Some(bytes) => {
                    inner.count(&inner.counters.cache_hits, 1);
                    bytes
                }
                None => {
                    inner.count(&inner.counters.cache_misses, 1);
                    let bytes = inner.read_whole(&id, size).await?;
                    inner.cache().insert(id, bytes.clone());
                    bytes
                }
            };
            let bytes = match range {
                Some(r) => bytes.slice(r.start as usize..r.end as usize),
                None => bytes,
            };
            inner.count(&inner.counters.bytes_read, bytes.len() as u64);
            return Ok(futures::stream::iter([Ok(bytes)]).boxed());
        }
        if range.as_ref().is_some_and(|r| r.is_empty()) {
            return Ok(futures::stream::empty().boxed());
        }
        Inner::open_stream(inner, id, size, range).await
    }
}

/// Why each replica could not serve, for the final error.
#[derive(Default)]
struct Attempts {
    reasons: Vec<String>,
    /// Some volume had a copy or could not be asked: the blob is not simply absent.
    anything_found: bool,
}

impl Attempts {
    fn skip(&mut self, inner: &Inner, id: &BlobHash, volume: usize, placed: bool, why: Skip) {
        let name = &inner.names[volume];
        match why {
            // Absence from a volume outside the placement is normal, not a failover.
            Skip::Missing if !placed => return,
            Skip::Missing => {
                inner.failover(id, volume, "missing");
                self.reasons.push(format!("{name}: missing"));
                return;
            }
            Skip::WrongSize(found, expected) => {
                inner.corrupt(id, volume);
                let why = format!("size {found} bytes, expected {expected}");
                inner.failover(id, volume, &why);
                self.reasons.push(format!("{name}: {why}"));
            }
            Skip::WrongHash(found) => {
                inner.corrupt(id, volume);
                let why = format!("bytes hash to {found}");
                inner.failover(id, volume, &why);
                self.reasons.push(format!("{name}: {why}"));
            }
            Skip::Error(e) => {
                inner.failover(id, volume, &e.to_string());
                self.reasons.push(format!("{name}: {e}"));
            }
        }
        self.anything_found = true;
    }

    fn into_error(self, id: &BlobHash) -> StoreError {
        if self.anything_found {
            StoreError::Unavailable {
                hash: id.hex(),
                detail: self.reasons.join("; "),
            }
        } else {
            StoreError::NotFound { hash: id.hex() }
        }
    }
}

enum Skip {
    Missing,
    WrongSize(u64, u64),
    WrongHash(BlobHash),
    Error(StoreError),
}

impl Inner {
    /// The whole blob from the first replica whose bytes hash right (small blobs only).
    async fn read_whole(&self, id: &BlobHash, size: u64) -> Result<Bytes, StoreError> {
        let mut attempts = Attempts::default();
        for (volume, placed) in self.read_order(id) {
            let skip = match self.volumes[volume].get_bytes(id, size).await {
                Ok(Fetched::Bytes(bytes, fingerprint)) => {
                    let found = BlobHash::of(&bytes);
                    if found == *id {
                        self.mark_verified(id, volume, fingerprint);
                        return Ok(bytes);
                    }
                    Skip::WrongHash(found)
                }
                Ok(Fetched::WrongSize(found)) => Skip::WrongSize(found, size),
                Err(object_store::Error::NotFound { .. }) => Skip::Missing,
                Err(e) => Skip::Error(self.volumes[volume].error(e)),
            };
            attempts.skip(self, id, volume, placed, skip);
        }
        Err(attempts.into_error(id))
    }

    /// Checks one replica before it serves: exists, right size, and (once per version) hashes
    /// right. `Ok(())` means it may serve.
    async fn check_replica(&self, id: &BlobHash, volume: usize, size: u64) -> Result<(), Skip> {
        let vol = &self.volumes[volume];
        let meta = match vol.head(id).await {
            Ok(Some(meta)) => meta,
            Ok(None) => return Err(Skip::Missing),
            Err(e) => return Err(Skip::Error(e)),
        };
        if meta.size != size {
            return Err(Skip::WrongSize(meta.size, size));
        }
        if self.is_verified(id, volume, crate::volume::Volume::fingerprint(&meta)) {
            return Ok(());
        }
        match vol.hash_replica(id).await {
            Ok(Some(digest)) if digest.size != size => Err(Skip::WrongSize(digest.size, size)),
            Ok(Some(digest)) if digest.hash != *id => Err(Skip::WrongHash(digest.hash)),
            Ok(Some(digest)) => {
                self.mark_verified(id, volume, digest.fingerprint);
                Ok(())
            }
            Ok(None) => Err(Skip::Missing),
            Err(e) => Err(Skip::Error(e)),
        }
    }

    async fn open_stream(
        self: &Arc<Self>,
        id: BlobHash,
        size: u64,
        range: Option<Range<u64>>,
    ) -> Result<BlobBody, StoreError> {
        let mut attempts = Attempts::default();
        for (volume, placed) in self.read_order(&id) {
            if let Err(skip) = self.check_replica(&id, volume, size).await {
                attempts.skip(self, &id, volume, placed, skip);
                continue;
            }
            let stream = match self.volumes[volume].get_stream(&id, range.clone()).await {
                Ok(stream) => stream.boxed(),
                Err(object_store::Error::NotFound { .. }) => {
                    attempts.skip(self, &id, volume, placed, Skip::Missing);
                    continue;
                }
                Err(e) => {
                    let e = self.volumes[volume].error(e);
                    attempts.skip(self, &id, volume, placed, Skip::Error(e));
                    continue;
                }
            };
            let inner = Arc::clone(self);
            return Ok(match range {
                Some(_) => stream
                    .inspect_ok(move |chunk| {
                        inner.count(&inner.counters.bytes_read, chunk.len() as u64)
                    })
                    .boxed(),
                None => Box::pin(VerifyingStream {
                    inner,
                    stream,
                    id,
                    volume,
                    size,
                    seen: 0,
                    hasher: Sha256::new(),
                    done: false,
                }),
            });
        }
        Err(attempts.into_error(&id))
    }
}

/// Passes a full read through while hashing it; ends with an error instead of a clean end if
/// the bytes were not the blob (the replica changed since it was verified).
struct VerifyingStream {
    inner: Arc<Inner>,
    stream: BoxStream<'static, Result<Bytes, StoreError>>,
    id: BlobHash,
    volume: usize,
    size: u64,
    seen: u64,
    hasher: Sha256,
    done: bool,
}

impl Stream for VerifyingStream {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.stream.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                this.seen += chunk.len() as u64;
                this.hasher.update(&chunk);
                this.inner
                    .count(&this.inner.counters.bytes_read, chunk.len() as u64);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.done = true;
                let found =
                    BlobHash::from_digest(std::mem::take(&mut this.hasher).finalize().into());
                if this.seen == this.size && found == this.id {
                    return Poll::Ready(None);
                }
                let volume = this.inner.names[this.volume].clone();
                let detail = format!(
                    "served {} bytes hashing to {found} (expected {} bytes); \
                     the replica will be re-verified before it serves again",
                    this.seen, this.size
                );
                tracing::warn!(blob = %this.id, %volume, "{detail}");
                this.inner.corrupt(&this.id, this.volume);
                this.inner
                    .counters
                    .failovers
                    .fetch_add(1, Ordering::Relaxed);
                Poll::Ready(Some(Err(StoreError::Corrupt {
                    hash: this.id.hex(),
                    volume,
                    detail,
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::test_support::{content, corrupt_same_size, TestStore};

    /// Bigger than the cache bound, so reads stream from volumes.
    const BIG: usize = crate::CACHE_MAX_BLOB_BYTES as usize + 1000;

    async fn collect(body: BlobBody) -> Result<Vec<u8>, StoreError> {
        let chunks: Vec<Bytes> = body.try_collect().await?;
        Ok(chunks.concat())
    }

    #[tokio::test]
    async fn reads_whole_blobs_and_ranges() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(1, BIG);
        let hash = t.put(&bytes).await;
        let size = bytes.len() as u64;
        assert_eq!(t.read_all(&hash, size).await.unwrap(), bytes);
        let range = t.store.read(&hash, size, Some(10..5000)).await.unwrap();
        assert_eq!(collect(range).await.unwrap(), &bytes[10..5000]);
        let tail = t
            .store
            .read(&hash, size, Some(size - 3..size))
            .await
            .unwrap();
        assert_eq!(collect(tail).await.unwrap(), &bytes[BIG - 3..]);
        let empty = t.store.read(&hash, size, Some(7..7)).await.unwrap();
        assert_eq!(collect(empty).await.unwrap(), b"");
        assert!(matches!(
            t.store.read(&hash, size, Some(0..size + 1)).await,
            Err(StoreError::InvalidRange { .. })
        ));
        assert_eq!(t.store.counters().failovers, 0);
        assert_eq!(t.store.counters().bytes_read, size + 4990 + 3);
    }

    #[tokio::test]
    async fn a_missing_replica_fails_over() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(2, BIG);
        let hash = t.put(&bytes).await;
        let primary = t.store.placement(&hash)[0];
        std::fs::remove_file(t.replica(primary, &hash)).unwrap();
        assert_eq!(t.read_all(&hash, bytes.len() as u64).await.unwrap(), bytes);
        assert_eq!(t.store.counters().failovers, 1);
        assert_eq!(t.store.counters().corrupt_replicas, 0);
    }

    #[tokio::test]
    async fn a_same_size_corrupt_replica_is_never_served() {
        let t = TestStore::new(3, 3, 0);
        let bytes = content(3, BIG);
        let size = bytes.len() as u64;
        let hash = t.put(&bytes).await;
        let primary = t.store.placement(&hash)[0];
        corrupt_same_size(&t.replica(primary, &hash));
        assert_eq!(t.read_all(&hash, size).await.unwrap(), bytes);
        let range = t.store.read(&hash, size, Some(100..200)).await.unwrap();
        assert_eq!(collect(range).await.unwrap(), &bytes[100..200]);
        let counters = t.store.counters();
        assert!(counters.failovers >= 1, "{counters:?}");
        assert!(counters.corrupt_replicas >= 1, "{counters:?}");
    }

    #[tokio::test]
    async fn a_wrong_size_replica_fails_over() {
        let t = TestStore::new(2, 2, 0);
        let bytes = content(4, BIG);
        let hash = t.put(&bytes).await;
        let primary = t.store.placement(&hash)[0];
        std::fs::write(t.replica(primary, &hash), b"short").unwrap();
        assert_eq!(t.read_all(&hash, bytes.len() as u64).await.unwrap(), bytes);
        assert_eq!(t.store.counters().failovers, 1);
        assert_eq!(t.store.counters().corrupt_replicas, 1);
    }

    #[tokio::test]
    async fn all_replicas_corrupt_is_unavailable() {
        let t = TestStore::new(3, 3, 1 << 20);
        for (seed, len) in [(5, BIG), (6, 1000)] {
            // Streamed and cached paths alike.
            let bytes = content(seed, len);
            let hash = t.put(&bytes).await;
            for volume in 0..3 {
                corrupt_same_size(&t.replica(volume, &hash));
            }
            let err = t.read_all(&hash, len as u64).await.unwrap_err();
            assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
            assert!(err.to_string().contains("v0: bytes hash to"), "{err}");
        }
    }

    #[tokio::test]
    async fn a_blob_on_no_volume_is_not_found() {
        let t = TestStore::new(2, 1, 0);
        let hash = BlobHash::of(b"never stored").hex();
        let err = t.read_all(&hash, 12).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        assert_eq!(t.store.counters().failovers, 1); // its one placement volume lacked it
    }

    #[tokio::test]
    async fn a_copy_outside_the_placement_still_serves() {
        let t = TestStore::new(3, 1, 0);
        let bytes = content(7, BIG);
        let hash = t.put(&bytes).await;
        let home = t.store.placement(&hash)[0];
        let elsewhere = (home + 1) % 3;
        std::fs::create_dir_all(t.replica(elsewhere, &hash).parent().unwrap()).unwrap();
        std::fs::rename(t.replica(home, &hash), t.replica(elsewhere, &hash)).unwrap();
        assert_eq!(t.read_all(&hash, bytes.len() as u64).await.unwrap(), bytes);
    }

    #[tokio::test]
    async fn corruption_after_verification_ends_the_stream_with_an_error() {
        let t = TestStore::new(2, 2, 0);
        let bytes = content(8, BIG);
        let size = bytes.len() as u64;
        let hash = t.put(&bytes).await;
        let id = BlobHash::parse(&hash).unwrap();
        let primary = t.store.placement(&hash)[0];
        // Pretend the primary was verified earlier in the process, then rot it in place
        // without changing its metadata fingerprint (as bit rot would).
        let path = t.replica(primary, &hash);
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        corrupt_same_size(&path);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime - std::time::Duration::from_secs(10))
            .unwrap();
        let meta = t.store.inner.volumes[primary]
            .head(&id)
            .await
            .unwrap()
            .unwrap();
        t.store
            .inner
            .mark_verified(&id, primary, crate::volume::Volume::fingerprint(&meta));

        let err = t.read_all(&hash, size).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(t.store.counters().corrupt_replicas, 1);
        // The next read re-verifies the suspect replica and fails over.
        assert_eq!(t.read_all(&hash, size).await.unwrap(), bytes);
    }

    #[tokio::test]
    async fn small_blobs_come_from_the_hot_cache() {
        let t = TestStore::new(3, 3, 64 * 1024);
        let bytes = content(9, 10_000);
        let hash = t.put(&bytes).await;
        assert_eq!(t.read_all(&hash, 10_000).await.unwrap(), bytes);
        for volume in 0..3 {
            std::fs::remove_file(t.replica(volume, &hash)).unwrap();
        }
        // Served from memory although no volume has it any more.
        assert_eq!(t.read_all(&hash, 10_000).await.unwrap(), bytes);
        let range = t.store.read(&hash, 10_000, Some(5..9)).await.unwrap();
        assert_eq!(collect(range).await.unwrap(), &bytes[5..9]);
        let counters = t.store.counters();
        assert_eq!((counters.cache_hits, counters.cache_misses), (2, 1));
        assert_eq!(counters.cache_bytes, 10_000);
    }

    #[tokio::test]
    async fn corrupt_bytes_never_enter_the_cache() {
        let t = TestStore::new(2, 2, 64 * 1024);
        let bytes = content(10, 2_000);
        let hash = t.put(&bytes).await;
        let primary = t.store.placement(&hash)[0];
        corrupt_same_size(&t.replica(primary, &hash));
        assert_eq!(t.read_all(&hash, 2_000).await.unwrap(), bytes);
        assert_eq!(t.read_all(&hash, 2_000).await.unwrap(), bytes);
        assert_eq!(
            t.store.counters().failovers,
            1,
            "second read was a cache hit"
        );
    }

    #[test]
    fn read_futures_and_bodies_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let t = TestStore::new(1, 1, 0);
        let read = t.store.read("x", 1, None);
        assert_send(&read);
        let staged = t.store.stage_bytes(Bytes::new());
        assert_send(&staged);
        let check = t
            .store
            .replication(Vec::new(), Default::default(), |_, _| {});
        assert_send(&check);
    }
}
