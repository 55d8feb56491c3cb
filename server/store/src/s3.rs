//! S3 volumes: a bucket (and optional key prefix) on any S3 endpoint, reached through
//! object_store's S3 client with explicit credentials, bounded waits and few retries.
//!
//! - **Credentials** are always explicit: static keys, or anonymous (unsigned requests). The
//!   client is given a static credential provider either way, so object_store's fallback chain
//!   (web identity, container and cloud instance-metadata endpoints) is never reached.
//! - **Waits**: every request but a read's body is bounded by [`REQUEST_TIMEOUT`]; reads use a
//!   second client without a whole-request timeout (a song streams to a slow listener for
//!   minutes) and the read path bounds the wait for the response head and for each chunk
//!   instead ([`FIRST_BYTE_TIMEOUT`], [`STALL_TIMEOUT`]). Retries are few: another replica is
//!   a better answer to a failing endpoint than waiting on it.
//! - **Writes** complete only with verified bytes: small blobs are hashed whole and then PUT
//!   (one request, atomic); large ones go up as a multipart upload that is completed only if
//!   the bytes hash right, and aborted otherwise. Either way the object carries its SHA-256 as
//!   user metadata (`x-amz-meta-sha256`), which cheap checks and every read compare.
//! - **Leftovers**: an upload cut short (a killed server) is an incomplete multipart upload,
//!   invisible in listings and to object_store, which has no call to list them. So before its
//!   first part goes up, each upload writes a small marker object under `uploads/` holding
//!   its upload id, and deletes it when the upload completes or aborts. A marker that outlives
//!   [`crate::StoreConfig::stale_upload_age`] names an upload nobody will finish: the
//!   replication check reports it and, with repair, aborts the upload and deletes the marker.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsCredential};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, GetRange, GetResult,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    RetryConfig, StaticCredentialProvider,
};
use sha2::{Digest, Sha256};

use crate::volume::{hash_of, Opened, ReplicaMeta, WriteError};
use crate::{BlobHash, StoreError, VolumeConfig};

/// Longest wait to connect to an endpoint.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest time one request other than a read may take (a part of [`PART_SIZE`] included).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a read's response head; hedging (see `remote_read`) usually acts sooner.
pub(crate) const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the next chunk of a read that is being waited on; then the read resumes
/// from another replica where it stopped.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Blobs up to this size are one PUT; bigger ones are a multipart upload of parts this big
/// (S3's minimum part size is 5 MiB).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// User metadata key holding the blob's SHA-256 (sent as `x-amz-meta-sha256`).
const HASH_METADATA: &str = "sha256";
/// Markers of multipart uploads in progress (see the module docs).
pub(crate) const UPLOADS_PREFIX: &str = "uploads";

/// Where an S3 volume lives and how to sign requests to it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`); empty for the bucket root.
    pub prefix: String,
    /// e.g. `http://127.0.0.1:8333`; `None` for AWS itself (by region).
    pub endpoint: Option<String>,
    /// Signing region; `us-east-1` when `None` (what most S3-compatible servers accept).
    pub region: Option<String>,
    /// Bucket in the path (`endpoint/bucket/key`) rather than in the host name.
    pub path_style: bool,
    /// Plain HTTP allowed (needed for an `http://` endpoint).
    pub allow_http: bool,
    pub credentials: S3Credentials,
}

/// How requests to an S3 volume are signed. There is deliberately no "find credentials
/// somewhere" variant: see the module docs.
#[derive(Clone, PartialEq, Eq)]
pub enum S3Credentials {
    Keys {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    },
    /// Unsigned requests, for endpoints that accept them.
    Anonymous,
}

// Hand-written so secrets never reach a log line.
impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Credentials::Keys { access_key_id, .. } => f
                .debug_struct("Keys")
                .field("access_key_id", access_key_id)
                .finish_non_exhaustive(),
            S3Credentials::Anonymous => f.write_str("Anonymous"),
        }
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("location", &self.location())
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl S3Settings {
    /// `s3://bucket/prefix (endpoint)`, for stats and reports.
    pub fn location(&self) -> String {
        let mut location = format!("s3://{}", self.bucket);
        if !self.prefix.is_empty() {
            location.push('/');
            location.push_str(&self.prefix);
        }
        if let Some(endpoint) = &self.endpoint {
            location.push_str(&format!(" at {endpoint}"));
        }
        location
    }

    fn client(&self, options: ClientOptions, retries: usize) -> Result<AmazonS3, String> {
        let credential = match &self.credentials {
            S3Credentials::Keys {
                access_key_id,
                secret_access_key,
                session_token,
            } => AwsCredential {
                key_id: access_key_id.clone(),
                secret_key: secret_access_key.clone(),
                token: session_token.clone(),
            },
            // Never used to sign (signing is skipped); given so no other provider is built.
            S3Credentials::Anonymous => AwsCredential {
                key_id: String::new(),
                secret_key: String::new(),
                token: None,
            },
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or("us-east-1"))
            .with_credentials(Arc::new(StaticCredentialProvider::new(credential)))
            .with_skip_signature(self.credentials == S3Credentials::Anonymous)
            .with_virtual_hosted_style_request(!self.path_style)
            .with_allow_http(self.allow_http)
            .with_client_options(options.with_allow_http(self.allow_http))
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_millis(500),
                    base: 2.0,
                },
                max_retries: retries,
                retry_timeout: REQUEST_TIMEOUT,
            });
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// The S3 side of a volume: the clients the generic object_store interface does not cover.
#[derive(Debug)]
pub(crate) struct S3Backend {
    /// Requests bounded by [`REQUEST_TIMEOUT`]: metadata, PUTs, parts, deletes, listings.
    writer: Arc<PrefixStore<AmazonS3>>,
    /// Reads (see the module docs on waits).
    reader: Arc<PrefixStore<AmazonS3>>,
}

impl VolumeConfig {
    /// A volume in an S3 bucket. Nothing is contacted here, and nothing is created: a missing
    /// bucket shows when the volume is first probed.
    pub fn s3(name: &str, settings: &S3Settings) -> Result<Self, StoreError> {
        if settings.bucket.is_empty() {
            return Err(StoreError::Config(format!(
                "S3 volume {name:?} has no bucket name"
            )));
        }
        if let Some(endpoint) = &settings.endpoint {
            if endpoint.starts_with("http://") && !settings.allow_http {
                return Err(StoreError::Config(format!(
                    "S3 volume {name:?}: the endpoint {endpoint} is plain HTTP but allow_http is off"
                )));
            }
        }
        let build = |options: ClientOptions, retries| {
            settings.client(options, retries).map_err(|e| {
                StoreError::Config(format!("S3 volume {name:?} ({}): {e}", settings.location()))
            })
        };
        let base = ClientOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_pool_idle_timeout(Duration::from_secs(20));
        let writer = build(base.clone().with_timeout(REQUEST_TIMEOUT), 2)?;
        let reader = build(base.with_timeout_disabled(), 0)?;
        let prefix = Path::from(settings.prefix.as_str());
        let writer = Arc::new(PrefixStore::new(writer, prefix.clone()));
        let reader = Arc::new(PrefixStore::new(reader, prefix));
        Ok(VolumeConfig {
            name: name.to_string(),
            store: writer.clone(),
            location: settings.location(),
            local_dir: None,
            s3: Some(Arc::new(S3Backend { writer, reader })),
        })
    }
}

fn timed_out(what: &str, after: Duration) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!("{what}: no answer within {after:?}").into(),
    }
}

/// The SHA-256 an object's metadata says it has, if it says one.
fn stored_hash(attributes: &Attributes) -> Option<BlobHash> {
    let value = attributes.get(&Attribute::Metadata(HASH_METADATA.into()))?;
    BlobHash::parse(value.as_ref()).ok()
}

fn hash_attributes(hash: &BlobHash) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::Metadata(HASH_METADATA.into()), hash.hex().into());
    attributes
}

impl ReplicaMeta {
    /// An S3 object: its ETag is derived from its content by the server, so size + ETag name
    /// one version without the settling window local files need.
    fn of_s3(result: &GetResult) -> Self {
        let meta = &result.meta;
        ReplicaMeta {
            size: meta.size,
            fingerprint: meta
                .e_tag
                .as_ref()
                .map(|e_tag| hash_of((meta.size, e_tag, &meta.last_modified))),
            stored_hash: stored_hash(&result.attributes),
        }
    }
}

impl S3Backend {
    /// Metadata of one replica (size, version, stored hash); `None` when it does not exist.
    pub(crate) async fn head(&self, hash: &BlobHash) -> object_store::Result<Option<ReplicaMeta>> {
        let options = GetOptions {
            head: true,
            ..Default::default()
        };
        match self.writer.get_opts(&hash.path(), options).await {
            Ok(result) => Ok(Some(ReplicaMeta::of_s3(&result))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens `range` (all for `None`) for reading: one GET, waited for at most
    /// [`FIRST_BYTE_TIMEOUT`]. The body is not read yet.
    pub(crate) async fn open(
        &self,
        hash: &BlobHash,
        range: Option<Range<u64>>,
    ) -> object_store::Result<Opened> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let path = hash.path();
        let get = self.reader.get_opts(&path, options);
        let result = tokio::time::timeout(FIRST_BYTE_TIMEOUT, get)
            .await
            .map_err(|_| timed_out("GET", FIRST_BYTE_TIMEOUT))??;
        let meta = ReplicaMeta::of_s3(&result);
        let range = result.range.clone();
        Ok(Opened::stream(meta, range, result.into_stream().boxed()))
    }

    /// Writes the replica of `hash` from `source`, completing the write only if exactly `size`
    /// bytes hashing to `hash` arrived (see the module docs).
    pub(crate) async fn write_verified<S>(
        &self,
        hash: &BlobHash,
        size: u64,
        source: S,
    ) -> Result<(), WriteError>
    where
        S: Stream<Item = Result<Bytes, StoreError>> + Unpin,
    {
        let mut parts = Parts::new(source, size);
        let first = parts.next_part().await?;
        if first.len() as u64 == size || first.len() < PART_SIZE {
            parts.finish(hash).await?;
            let options = PutOptions {
                mode: PutMode::Overwrite,
                attributes: hash_attributes(hash),
                ..Default::default()
            };
            self.writer
                .put_opts(&hash.path(), PutPayload::from(first), options)
                .await
                .map_err(WriteError::Target)?;
            return Ok(());
        }
        let path = hash.path();
        let options = PutMultipartOptions {
            attributes: hash_attributes(hash),
            ..Default::default()
        };
        let id = self
            .writer
            .create_multipart_opts(&path, options)
            .await
            .map_err(WriteError::Target)?;
        let marker = upload_marker(hash);
        let noted = self
            .writer
            .put(&marker, PutPayload::from(id.clone()))
            .await
            .map_err(WriteError::Target);
        let uploaded = match noted {
            Ok(_) => self.upload_parts(hash, &id, first, &mut parts).await,
            Err(e) => Err(e),
        };
        let outcome = match uploaded {
            Ok(done) => self
                .writer
                .complete_multipart(&path, &id, done)
                .await
                .map(|_| ())
                .map_err(WriteError::Target),
            Err(e) => {
                if let Err(abort) = self.writer.abort_multipart(&path, &id).await {
                    tracing::warn!(blob = %hash, error = %abort,
                        "could not abort a failed multipart upload; the replication check will find it");
                    return Err(e);
                }
                Err(e)
            }
        };
        if let Err(e) = self.writer.delete(&marker).await {
            tracing::warn!(blob = %hash, error = %e, "could not delete an upload marker");
        }
        outcome
    }

    /// Uploads `first` and the rest of `parts`, a few at a time; the parts' ids once every
    /// byte arrived and hashed right.
    async fn upload_parts<S>(
        &self,
        hash: &BlobHash,
        id: &str,
        first: Bytes,
        parts: &mut Parts<S>,
    ) -> Result<Vec<PartId>, WriteError>
    where
        S: Stream<Item = Result<Bytes, StoreError>> + Unpin,
    {
        let path = hash.path();
        let id = id.to_string();
        let mut in_flight = futures::stream::FuturesOrdered::new();
        let mut done = Vec::new();
        let mut next = Some(first);
        let mut index = 0;
        loop {
            while in_flight.len() < PARTS_IN_FLIGHT {
                let Some(part) = next.take() else { break };
                let (writer, path, id) = (self.writer.clone(), path.clone(), id.clone());
                in_flight.push_back(async move {
                    writer
                        .put_part(&path, &id, index, PutPayload::from(part))
                        .await
                });
                index += 1;
                let following = parts.next_part().await?;
                next = (!following.is_empty()).then_some(following);
            }
            match in_flight.next().await {
                Some(part) => done.push(part.map_err(WriteError::Target)?),
                None => break,
            }
        }
        parts.finish(hash).await?;
        Ok(done)
    }

    /// Lists the volume's prefix once: does the bucket exist and take our credentials?
    pub(crate) async fn check_bucket(&self) -> object_store::Result<()> {
        let list = self.writer.list_with_delimiter(None);
        tokio::time::timeout(FIRST_BYTE_TIMEOUT, list)
            .await
            .map_err(|_| timed_out("LIST", FIRST_BYTE_TIMEOUT))?
            .map(|_| ())
    }

    /// Markers of uploads under way or abandoned: (marker, upload id, marker's metadata).
    pub(crate) async fn upload_markers(
        &self,
    ) -> object_store::Result<Vec<(ObjectMeta, BlobHash, String)>> {
        let markers: Vec<ObjectMeta> = self
            .writer
            .list(Some(&Path::from(UPLOADS_PREFIX)))
            .try_collect()
            .await?;
        let mut found = Vec::with_capacity(markers.len());
        for meta in markers {
            let Some(hash) = marker_blob(&meta.location) else {
                tracing::warn!(object = %meta.location, "unexpected object under uploads/; ignored");
                continue;
            };
            let id = self.writer.get(&meta.location).await?.bytes().await?;
            found.push((meta, hash, String::from_utf8_lossy(&id).into_owned()));
        }
        Ok(found)
    }

    /// Aborts an abandoned upload and deletes its marker.
    pub(crate) async fn abort_upload(
        &self,
        marker: &Path,
        hash: &BlobHash,
        id: &str,
    ) -> object_store::Result<()> {
        match self
            .writer
            .abort_multipart(&hash.path(), &id.to_string())
            .await
        {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        match self.writer.delete(marker).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `uploads/<hash>.<nonce>`: one marker per upload, found again by listing.
fn upload_marker(hash: &BlobHash) -> Path {
    let nonce: u64 = rand_nonce();
    Path::from_iter([UPLOADS_PREFIX, &format!("{hash}.{nonce:016x}")])
}

fn marker_blob(marker: &Path) -> Option<BlobHash> {
    let name = marker.filename()?;
    BlobHash::parse(name.split('.').next()?).ok()
}

/// A nonce distinct between uploads of the same blob (by time and a process-wide counter).
fn rand_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    hash_of((
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    ))
}

/// A source cut into parts of [`PART_SIZE`], hashed and counted on the way.
struct Parts<S> {
    source: S,
    expected: u64,
    hasher: Sha256,
    seen: u64,
    carry: BytesMut,
}

impl<S> Parts<S>
where
    S: Stream<Item = Result<Bytes, StoreError>> + Unpin,
{
    fn new(source: S, expected: u64) -> Self {
        Parts {
            source,
            expected,
            hasher: Sha256::new(),
            seen: 0,
            carry: BytesMut::new(),
        }
    }

    /// The next [`PART_SIZE`] bytes (fewer at the end, empty when done). Reading stops once
    /// more bytes than expected arrived.
    async fn next_part(&mut self) -> Result<Bytes, WriteError> {
        while self.carry.len() < PART_SIZE && self.seen <= self.expected {
            match self.source.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(WriteError::SourceRead)?;
                    self.seen += chunk.len() as u64;
                    self.hasher.update(&chunk);
                    self.carry.extend_from_slice(&chunk);
                }
                None => break,
            }
        }
        let take = self.carry.len().min(PART_SIZE);
        Ok(self.carry.split_to(take).freeze())
    }

    /// Checks that the source ended with exactly the expected bytes.
    async fn finish(&mut self, hash: &BlobHash) -> Result<(), WriteError> {
        if self.seen == self.expected && self.source.next().await.is_some() {
            self.seen += 1;
        }
        let got = BlobHash::from_digest(self.hasher.clone().finalize().into());
        if self.seen != self.expected {
            Err(WriteError::Mismatch(format!(
                "{}{} bytes arrived, expected {}",
                self.seen.min(self.expected + 1),
                if self.seen > self.expected { "+" } else { "" },
                self.expected
            )))
        } else if got != *hash {
            Err(WriteError::Mismatch(format!("the bytes hash to {got}")))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::PART_SIZE;
    use crate::test_support::{content, TestStore};
    use crate::{BlobHash, ReplicationRequest, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_blobs_go_up_in_parts_with_their_hash_and_leave_no_marker() {
        let Some(t) = TestStore::s3(3, 2, 0) else {
            return;
        };
        let bytes = content(31, 2 * PART_SIZE + 123);
        let hash = t.put(&bytes).await;
        let id = BlobHash::parse(&hash).unwrap();
        for volume in t.store.placement(&hash) {
            let vol = &t.store.inner.volumes[volume];
            let meta = vol.head(&id).await.unwrap().unwrap();
            assert_eq!(
                (meta.size, meta.stored_hash),
                (bytes.len() as u64, Some(id))
            );
            assert!(vol.s3().unwrap().upload_markers().await.unwrap().is_empty());
        }
        assert_eq!(t.read_all(&hash, bytes.len() as u64).await.unwrap(), bytes);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_that_do_not_hash_right_never_become_an_object() {
        let Some(t) = TestStore::s3(1, 1, 0) else {
            return;
        };
        for len in [1000, 2 * PART_SIZE + 7] {
            let bytes = content(32, len);
            let claimed = BlobHash::of(b"something else");
            let vol = &t.store.inner.volumes[0];
            let source = futures::stream::iter([Ok::<_, StoreError>(Bytes::from(bytes))]);
            let err = vol.write_verified(&claimed, len as u64, source).await;
            assert!(matches!(err, Err(crate::volume::WriteError::Mismatch(_))));
            assert!(vol.head(&claimed).await.unwrap().is_none());
            assert!(vol.s3().unwrap().upload_markers().await.unwrap().is_empty());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upload_cut_short_leaves_no_object_and_the_check_removes_its_leftovers() {
        let Some(t) = TestStore::s3_no_stale_age(1, 1) else {
            return;
        };
        let bytes = content(33, 3 * PART_SIZE);
        let id = BlobHash::of(&bytes);
        // Two parts arrive, then the source hangs: the writer is killed mid-upload.
        let parts: Vec<Result<Bytes, StoreError>> = bytes[..2 * PART_SIZE]
            .chunks(PART_SIZE)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let source = futures::stream::iter(parts).chain(futures::stream::pending());
        let inner = Arc::clone(&t.store.inner);
        let size = bytes.len() as u64;
        let writer = tokio::spawn(async move {
            let _ = inner.volumes[0]
                .write_verified(&id, size, Box::pin(source))
                .await;
        });
        let s3 = t.store.inner.volumes[0].s3().unwrap();
        for _ in 0..600 {
            if !s3.upload_markers().await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        writer.abort();
        let _ = writer.await;
        assert!(t.store.inner.volumes[0].head(&id).await.unwrap().is_none());

        let check = |repair| {
            t.store.replication(
                Vec::new(),
                ReplicationRequest {
                    deep: false,
                    repair,
                },
                |_, _| {},
            )
        };
        let found = check(false).await.unwrap();
        assert_eq!(found.leftovers.len(), 1, "{found:?}");
        assert_eq!(found.leftovers[0].hash, id.hex());
        assert!(!found.leftovers[0].removed);
        let repaired = check(true).await.unwrap();
        assert!(repaired.leftovers[0].removed, "{repaired:?}");
        assert!(check(false).await.unwrap().leftovers.is_empty());
        assert!(s3.upload_markers().await.unwrap().is_empty());
    }
}
