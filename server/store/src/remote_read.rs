//! Reads of blobs whose replicas include S3 volumes: the first byte does not wait for the
//! whole object, and a slow or failing endpoint does not stall the reader.
//!
//! - **No whole-object hash before serving.** A local replica is hashed whole once before it
//!   first serves (see `read::open_replica`); on S3 that would mean downloading a 100 MB FLAC
//!   before playing it. An S3 replica is checked against what its metadata says instead (the
//!   SHA-256 stored with it at upload, and whether a read of this version already found it
//!   bad), and a read of the whole blob is hashed as it streams: the last chunk is held back
//!   until the hash matches, so a mismatch ends the stream with an error, the replica is
//!   remembered as bad (by its ETag) and the next request fails over. Ranges of an S3 replica
//!   are served unverified until a whole read or `replication check --deep` has hashed it.
//! - **Hedged opens.** Replicas are opened in read order; when an S3 replica has not sent its
//!   response head within [`HEDGE_AFTER`], the next replica is opened too, and the first good
//!   answer wins (dropping the others cancels their requests). Each open gives up after
//!   `s3::FIRST_BYTE_TIMEOUT`.
//! - **Resumed streams.** Blobs never change, so a stream whose replica errors, ends early or
//!   sends nothing for `s3::STALL_TIMEOUT` while being waited on carries on from the same
//!   offset on another replica, without the reader noticing.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::read::{Attempts, BlobBody, Skip};
use crate::s3::STALL_TIMEOUT;
use crate::volume::{Fingerprint, Opened};
use crate::{BlobHash, Inner, Rejected, StoreError};

/// How long an S3 replica may take to answer before the next replica is asked as well.
/// Far above a healthy endpoint's time to first byte, far below what a listener notices.
pub(crate) const HEDGE_AFTER: Duration = Duration::from_millis(250);

impl Inner {
    /// What can be checked of an opened S3 replica without reading it (see the module docs).
    pub(crate) fn check_remote(
        &self,
        id: &BlobHash,
        volume: usize,
        size: u64,
        opened: Opened,
    ) -> Result<Opened, Skip> {
        if let Some(stored) = opened.meta.stored_hash {
            if stored != *id {
                return Err(Skip::WrongHash(stored));
            }
        }
        if let Some(fingerprint) = opened.meta.fingerprint {
            if let Some(why) = self.rejection(id, volume, fingerprint) {
                return Err(why.skip(size));
            }
        }
        Ok(opened)
    }

    /// Streams `range` (all for `None`) from the first replica to answer (see the module docs).
    pub(crate) async fn open_remote_stream(
        self: &Arc<Self>,
        id: BlobHash,
        size: u64,
        range: Option<Range<u64>>,
        order: Vec<(usize, bool)>,
    ) -> Result<BlobBody, StoreError> {
        let whole = range.is_none();
        let (volume, opened) = self.open_hedged(&id, size, range, &order).await?;
        if !self.volumes[volume].is_remote() {
            return Ok(self.served(id, volume, opened));
        }
        let range = opened.range.clone();
        let fingerprint = opened.meta.fingerprint;
        Ok(Box::pin(RemoteBody {
            stream: Some(self.volumes[volume].stream(opened)),
            inner: Arc::clone(self),
            id,
            size,
            offset: range.start,
            end: range.end,
            volume,
            fingerprint,
            sources: 1,
            tried: vec![volume],
            resuming: None,
            hasher: whole.then(Sha256::new),
            stall: None,
            done: false,
        }))
    }

    /// Opens the first of `candidates` that answers with a good replica, asking the next one
    /// as well whenever an S3 replica keeps it waiting for [`HEDGE_AFTER`].
    async fn open_hedged(
        &self,
        id: &BlobHash,
        size: u64,
        range: Option<Range<u64>>,
        candidates: &[(usize, bool)],
    ) -> Result<(usize, Opened), StoreError> {
        let mut attempts = Attempts::default();
        let launch = |i: usize| {
            let (volume, placed) = candidates[i];
            let range = range.clone();
            async move {
                let opened = self.open_replica(id, volume, size, range).await;
                (volume, placed, opened)
            }
        };
        if candidates.is_empty() {
            return Err(attempts.into_error(id));
        }
        let mut pending = FuturesUnordered::new();
        pending.push(launch(0));
        let mut next = 1;
        loop {
            let last = candidates[next - 1].0;
            let hedge = next < candidates.len() && self.volumes[last].is_remote();
            tokio::select! {
                answer = pending.next() => match answer {
                    Some((volume, _, Ok(opened))) => return Ok((volume, opened)),
                    Some((volume, placed, Err(skip))) => {
                        attempts.skip(self, id, volume, placed, skip);
                        if next < candidates.len() {
                            pending.push(launch(next));
                            next += 1;
                        } else if pending.is_empty() {
                            return Err(attempts.into_error(id));
                        }
                    }
                    None => return Err(attempts.into_error(id)),
                },
                _ = tokio::time::sleep(HEDGE_AFTER), if hedge => {
                    self.count(&self.counters.hedged_reads, 1);
                    pending.push(launch(next));
                    next += 1;
                }
            }
        }
    }
}

/// An S3 replica's bytes on their way to the reader: counted, hashed when the whole blob is
/// read, and resumed from another replica when the source fails (see the module docs).
struct RemoteBody {
    stream: Option<BoxStream<'static, Result<Bytes, StoreError>>>,
    inner: Arc<Inner>,
    id: BlobHash,
    size: u64,
    /// The next byte owed, and the end of the range.
    offset: u64,
    end: u64,
    /// The replica serving now, and the version of it that was opened.
    volume: usize,
    fingerprint: Option<Fingerprint>,
    /// Replicas that served some of the bytes.
    sources: usize,
    tried: Vec<usize>,
    resuming: Option<BoxFuture<'static, Result<(usize, Opened), StoreError>>>,
    /// Whole reads only.
    hasher: Option<Sha256>,
    /// Armed while the stream is waited on.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl RemoteBody {
    fn fail(&mut self, error: StoreError) -> Poll<Option<Result<Bytes, StoreError>>> {
        self.done = true;
        Poll::Ready(Some(Err(error)))
    }

    /// The current replica failed part-way: carry on from `offset` on another one.
    fn resume(&mut self, why: &str) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        inner.failover(&self.id, self.volume, why);
        inner.count(&inner.counters.stream_resumes, 1);
        inner.forget_verified(&self.id, self.volume);
        self.stream = None;
        self.stall = None;
        let candidates: Vec<(usize, bool)> = inner
            .read_order(&self.id)
            .into_iter()
            .filter(|(volume, _)| !self.tried.contains(volume))
            .collect();
        if candidates.is_empty() {
            return Err(StoreError::Unavailable {
                hash: self.id.hex(),
                detail: format!(
                    "the read broke off at byte {} ({why}) and no other replica is left",
                    self.offset
                ),
            });
        }
        let (id, size, range) = (self.id, self.size, self.offset..self.end);
        self.resuming = Some(Box::pin(async move {
            inner.open_hedged(&id, size, Some(range), &candidates).await
        }));
        Ok(())
    }

    /// The last byte arrived: the whole blob's hash decides whether it is served.
    fn verify(&mut self, hasher: Sha256) -> Result<(), StoreError> {
        let found = BlobHash::from_digest(hasher.finalize().into());
        if found == self.id {
            if self.sources == 1 {
                let fingerprint = self.fingerprint;
                self.inner.mark_verified(&self.id, self.volume, fingerprint);
            }
            return Ok(());
        }
        let inner = &self.inner;
        let detail = if self.sources == 1 {
            inner.corrupt(&self.id, self.volume);
            let why = Rejected::Hash(found);
            inner.set_rejection(&self.id, self.volume, self.fingerprint.map(|f| (f, why)));
            inner.failover(&self.id, self.volume, &format!("bytes hash to {found}"));
            format!("the bytes hash to {found}")
        } else {
            inner.forget_verified(&self.id, self.volume);
            format!(
                "the bytes of {} replicas together hash to {found}; the deep check will tell which is bad",
                self.sources
            )
        };
        Err(StoreError::Corrupt {
            hash: self.id.hex(),
            volume: inner.names[self.volume].clone(),
            detail,
        })
    }
}

impl Stream for RemoteBody {
    type Item = Result<Bytes, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if let Some(resuming) = this.resuming.as_mut() {
                match resuming.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return this.fail(e),
                    Poll::Ready(Ok((volume, opened))) => {
                        this.resuming = None;
                        this.volume = volume;
                        this.fingerprint = opened.meta.fingerprint;
                        this.sources += 1;
                        this.tried.push(volume);
                        this.stream = Some(this.inner.volumes[volume].stream(opened));
                    }
                }
            }
            let Some(stream) = this.stream.as_mut() else {
                return Poll::Ready(None);
            };
            let why = match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.stall = None;
                    let len = chunk.len() as u64;
                    if len > this.end - this.offset {
                        format!("sent {} bytes too many", len - (this.end - this.offset))
                    } else {
                        this.offset += len;
                        this.inner.count(&this.inner.counters.bytes_read, len);
                        if let Some(hasher) = this.hasher.as_mut() {
                            hasher.update(&chunk);
                        }
                        if this.offset == this.end {
                            this.done = true;
                            if let Some(hasher) = this.hasher.take() {
                                if let Err(e) = this.verify(hasher) {
                                    return Poll::Ready(Some(Err(e)));
                                }
                            }
                        }
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                }
                Poll::Ready(Some(Err(e))) => e.to_string(),
                Poll::Ready(None) if this.offset < this.end => {
                    format!("ended {} bytes early", this.end - this.offset)
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    let stall = this
                        .stall
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(STALL_TIMEOUT)));
                    match stall.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) => format!("no bytes for {STALL_TIMEOUT:?}"),
                    }
                }
            };
            tracing::warn!(blob = %this.id, volume = %this.inner.names[this.volume],
                offset = this.offset, "read broke off; resuming from another replica: {why}");
            if let Err(e) = this.resume(&why) {
                return this.fail(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures::TryStreamExt;

    use crate::test_support::{content, TestStore};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn whole_s3_reads_are_hashed_while_streaming_not_before() {
        let Some(t) = TestStore::s3(3, 3, 0) else {
            return;
        };
        let bytes = content(21, 3 * 1024 * 1024 + 5);
        let size = bytes.len() as u64;
        let hash = t.put(&bytes).await;
        let mut body = t.store.read(&hash, size, None).await.unwrap();
        let first = body.try_next().await.unwrap().unwrap();
        assert!(!first.is_empty());
        // Nothing was hashed (or fetched) whole before the first chunk arrived.
        assert_eq!(t.store.counters().replica_verifications, 0);
        let rest: Vec<Bytes> = body.try_collect().await.unwrap();
        assert_eq!([vec![first], rest].concat().concat(), bytes);
        let counters = t.store.counters();
        assert_eq!((counters.failovers, counters.replica_verifications), (0, 0));
        assert_eq!(counters.bytes_read, size);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_survive_a_paused_and_a_stopped_endpoint() {
        let Some(mut servers) = TestStore::servers(3) else {
            return;
        };
        let t = TestStore::on_servers(&servers, 3);
        // Bigger than socket buffers, so a paused server stalls a stream part-way.
        let bytes = content(22, 24 * 1024 * 1024 + 3);
        let size = bytes.len() as u64;
        let hash = t.put(&bytes).await;
        let primary = t.store.placement(&hash)[0];

        // A paused endpoint does not answer: the next replica is asked too and serves.
        servers[primary].pause();
        assert_eq!(t.read_all(&hash, size).await.unwrap(), bytes);
        assert!(t.store.counters().hedged_reads >= 1);
        servers[primary].resume();

        // A stream whose endpoint stalls part-way carries on from another replica.
        let mut body = t.store.read(&hash, size, None).await.unwrap();
        let first = body.try_next().await.unwrap().unwrap();
        servers[primary].pause();
        let rest: Vec<Bytes> = body.try_collect().await.unwrap();
        assert_eq!([vec![first], rest].concat().concat(), bytes);
        assert!(
            t.store.counters().stream_resumes >= 1,
            "{:?}",
            t.store.counters()
        );
        servers[primary].resume();

        // A stopped endpoint refuses connections: reads fail over at once.
        servers[primary].stop();
        let before = t.store.counters().failovers;
        assert_eq!(t.read_all(&hash, size).await.unwrap(), bytes);
        let range = t.store.read(&hash, size, Some(1000..70_000)).await.unwrap();
        let chunks: Vec<Bytes> = range.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), &bytes[1000..70_000]);
        assert!(t.store.counters().failovers > before);
    }
}
