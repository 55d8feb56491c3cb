//! One volume: an `object_store` holding blobs under `blobs/`, and the few operations the store
//! needs on it (probe, list, open and read a replica, hash it, write verified bytes).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart,
};
use sha2::{Digest, Sha256};

use crate::hash::BLOBS_PREFIX;
use crate::local_file::{self, LocalFile};
use crate::open_files::OpenFiles;
use crate::s3::S3Backend;
use crate::{BlobHash, StoreError};

/// How a volume is reached. Anything `object_store` speaks works (S3 later by configuration).
#[derive(Debug, Clone)]
pub struct VolumeConfig {
    /// Stable name: placement scores use it, so renaming a volume moves its blobs.
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
    /// Shown in stats and reports: a directory path or an object-store URL.
    pub location: String,
    /// For a volume in a local directory, that directory (the one `store` writes to): reads
    /// then open the replica files directly (see `local_file`) instead of going through
    /// `store`. `None` for other backends.
    pub local_dir: Option<PathBuf>,
    /// For an S3 volume, its clients (see `s3`): reads, writes and checks take S3's paths.
    pub(crate) s3: Option<Arc<S3Backend>>,
}

impl VolumeConfig {
    /// A volume in a local directory (created if missing). Writes go to a temporary name and are
    /// renamed into place, and are fsynced: a blob is either whole on disk or absent.
    pub fn local_dir(name: &str, dir: &FsPath) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| {
            StoreError::io(
                format!("cannot create volume directory {}", dir.display()),
                source,
            )
        })?;
        // The directory object_store resolves blob paths against.
        let root = std::fs::canonicalize(dir).map_err(|source| {
            StoreError::io(
                format!("cannot resolve volume directory {}", dir.display()),
                source,
            )
        })?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|source| StoreError::volume(name, source))?
            .with_automatic_cleanup(true)
            .with_fsync(true);
        Ok(VolumeConfig {
            name: name.to_string(),
            store: Arc::new(store),
            location: dir.display().to_string(),
            local_dir: Some(root),
            s3: None,
        })
    }
}

/// Identifies one stored version of an object (size, modification time, and ETag or inode),
/// so a replica verified once need not be re-hashed until it is rewritten.
pub(crate) type Fingerprint = u64;

/// Objects modified more recently than this have no trustworthy fingerprint: file timestamps
/// tick coarsely (milliseconds), so a same-size rewrite within one tick would look unchanged.
/// Like git's "racily clean" index entries, such replicas are simply re-verified next time.
const SETTLE_MILLIS: i64 = 2_000;

/// What a volume says about one replica without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplicaMeta {
    pub(crate) size: u64,
    /// `None` while the replica is too fresh to be recognised by its metadata alone.
    pub(crate) fingerprint: Option<Fingerprint>,
    /// The SHA-256 the object's metadata claims (S3 volumes store it with every replica).
    pub(crate) stored_hash: Option<BlobHash>,
}

impl ReplicaMeta {
    fn of_object(meta: &ObjectMeta) -> Self {
        let modified = meta.last_modified.timestamp_millis();
        let version = (meta.size, &meta.last_modified, &meta.e_tag);
        ReplicaMeta {
            size: meta.size,
            fingerprint: settled(modified).then(|| hash_of(version)),
            stored_hash: None,
        }
    }

    /// A local file: size, modification time and inode (a replica replaced by a rename gets
    /// a new inode), the parts of object_store's own local ETag.
    pub(crate) fn of_file(meta: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0u64;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        ReplicaMeta {
            size: meta.len(),
            fingerprint: modified.and_then(|modified| {
                let millis = i64::try_from(modified.as_millis()).unwrap_or(i64::MAX);
                settled(millis).then(|| hash_of((meta.len(), modified, inode)))
            }),
            stored_hash: None,
        }
    }
}

fn settled(modified_millis: i64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    now.saturating_sub(modified_millis) >= SETTLE_MILLIS
}

pub(crate) fn hash_of(version: impl Hash) -> Fingerprint {
    let mut hasher = DefaultHasher::new();
    version.hash(&mut hasher);
    hasher.finish()
}

/// What hashing a whole replica found.
pub(crate) struct ReplicaDigest {
    pub(crate) hash: BlobHash,
    pub(crate) size: u64,
    pub(crate) fingerprint: Option<Fingerprint>,
}

/// A replica opened for reading: its metadata and the bytes of `range`, not read yet.
pub(crate) struct Opened {
    pub(crate) meta: ReplicaMeta,
    /// Within the replica (clamped to its size).
    pub(crate) range: Range<u64>,
    payload: Payload,
}

impl Opened {
    /// A replica read as a byte stream (any backend but a local directory).
    pub(crate) fn stream(
        meta: ReplicaMeta,
        range: Range<u64>,
        stream: BoxStream<'static, object_store::Result<Bytes>>,
    ) -> Self {
        Opened {
            meta,
            range,
            payload: Payload::Stream(stream),
        }
    }
}

enum Payload {
    /// A local volume's open file (see [`local_file`]).
    File(Box<LocalFile>),
    /// Any other backend's byte stream.
    Stream(BoxStream<'static, object_store::Result<Bytes>>),
}

pub(crate) enum Fetched {
    Bytes(Bytes, Option<Fingerprint>),
    WrongSize(u64),
}

/// Why writing a replica failed: the source's fault or the target volume's.
/// In every case the write was aborted and nothing is left on the target.
pub(crate) enum WriteError {
    /// Reading the source failed.
    SourceRead(StoreError),
    /// The source's bytes are not the blob (wrong size or hash); says what arrived.
    Mismatch(String),
    /// The target volume refused the write.
    Target(object_store::Error),
}

/// Parts of multipart writes. 5 MiB is S3's minimum part size; local volumes take any size.
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Names local volumes in errors from reading their files, as object_store names its stores.
const LOCAL_STORE: &str = "local directory";

/// An error opening or reading a local replica file, as object_store would report it.
fn local_error(path: &FsPath, source: std::io::Error) -> object_store::Error {
    let path = path.display().to_string();
    match source.kind() {
        std::io::ErrorKind::NotFound => object_store::Error::NotFound {
            path,
            source: Box::new(source),
        },
        _ => object_store::Error::Generic {
            store: LOCAL_STORE,
            source: format!("{path}: {source}").into(),
        },
    }
}

/// Written on first contact so the probe has an object to look at.
const MARKER: &str = "cadenza-volume";

/// Longest wait for a volume to answer a probe (readiness must not hang on a stalled endpoint).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug)]
pub(crate) struct Volume {
    /// Shared with every stream that reads from the volume (named in its errors).
    pub(crate) name: Arc<str>,
    pub(crate) location: String,
    store: Arc<dyn ObjectStore>,
    local_dir: Option<PathBuf>,
    /// Replica files of a local volume recently opened for reading.
    open_files: OpenFiles,
    s3: Option<Arc<S3Backend>>,
}

impl Volume {
    pub(crate) fn new(config: VolumeConfig) -> Self {
        Volume {
            name: config.name.into(),
            location: config.location,
            store: config.store,
            local_dir: config.local_dir,
            open_files: OpenFiles::default(),
            s3: config.s3,
        }
    }

    /// An S3 volume: reads are not hashed whole before they serve (see `remote_read`).
    pub(crate) fn is_remote(&self) -> bool {
        self.s3.is_some()
    }

    pub(crate) fn s3(&self) -> Option<&S3Backend> {
        self.s3.as_deref()
    }

    pub(crate) fn error(&self, source: object_store::Error) -> StoreError {
        StoreError::volume(&self.name, source)
    }

    /// Where a local volume keeps the replica (the path object_store writes it to).
    fn local_path(&self, hash: &BlobHash) -> Option<PathBuf> {
        let dir = self.local_dir.as_ref()?;
        Some(dir.join(hash.path().as_ref()))
    }

    /// Reachable means a round trip to the store works within [`PROBE_TIMEOUT`]: read the
    /// marker, writing it if absent.
    pub(crate) async fn probe(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(PROBE_TIMEOUT, self.probe_marker()).await {
            Ok(probed) => probed,
            Err(_) => Err(self.error(object_store::Error::Generic {
                store: "volume probe",
                source: format!("no answer within {PROBE_TIMEOUT:?}").into(),
            })),
        }
    }

    async fn probe_marker(&self) -> Result<(), StoreError> {
        let marker = Path::from(MARKER);
        match self.store.head(&marker).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                let body = PutPayload::from(format!("cadenza blob volume {}\n", self.name));
                self.store
                    .put(&marker, body)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.error(e))
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// `None` when the volume has no such object.
    pub(crate) async fn head(&self, hash: &BlobHash) -> Result<Option<ReplicaMeta>, StoreError> {
        if let Some(s3) = &self.s3 {
            return s3.head(hash).await.map_err(|e| self.error(e));
        }
        if let Some(path) = self.local_path(hash) {
            return match local_file::stat(path.clone()).await {
                Ok(meta) => Ok(meta.as_ref().map(ReplicaMeta::of_file)),
                Err(e) => Err(self.error(local_error(&path, e))),
            };
        }
        match self.store.head(&hash.path()).await {
            Ok(meta) => Ok(Some(ReplicaMeta::of_object(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Every blob on the volume with its size (objects under `blobs/` that are not blobs are
    /// logged and skipped).
    pub(crate) async fn list_blobs(&self) -> Result<HashMap<BlobHash, u64>, StoreError> {
        let mut listing = self.store.list(Some(&Path::from(BLOBS_PREFIX)));
        let mut blobs = HashMap::new();
        while let Some(meta) = listing.try_next().await.map_err(|e| self.error(e))? {
            match BlobHash::from_path(&meta.location) {
                Some(hash) => {
                    blobs.insert(hash, meta.size);
                }
                None => tracing::warn!(
                    volume = %self.name,
                    object = %meta.location,
                    "object under blobs/ is not named after its hash; ignored"
                ),
            }
        }
        Ok(blobs)
    }

    /// Opens the replica to read `range` (all of it for `None`): one request (none at all for
    /// a hot local file), which also brings the replica's metadata. Errors, NotFound included,
    /// are the caller's to classify. On other backends a range past the end of a replica that
    /// is too short is an error too (see [`Self::head`]).
    pub(crate) async fn open(
        &self,
        hash: &BlobHash,
        range: Option<Range<u64>>,
    ) -> Result<Opened, object_store::Error> {
        if let Some(s3) = &self.s3 {
            return s3.open(hash, range).await;
        }
        let open_file = match self.open_files.get(hash) {
            Some(file) => Some(file),
            None => match self.local_path(hash) {
                Some(path) => {
                    let file = local_file::open(path.clone())
                        .await
                        .map_err(|e| local_error(&path, e))?;
                    self.open_files.insert(*hash, &file);
                    Some(file)
                }
                None => None,
            },
        };
        if let Some(file) = open_file {
            let meta = ReplicaMeta::of_file(&file.metadata);
            let range = range.unwrap_or(0..meta.size);
            return Ok(Opened {
                meta,
                range: range.start.min(meta.size)..range.end.min(meta.size),
                payload: Payload::File(Box::new(file)),
            });
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&hash.path(), options).await?;
        let meta = ReplicaMeta::of_object(&result.meta);
        let range = result.range.clone();
        Ok(Opened {
            meta,
            range,
            payload: Payload::Stream(result.into_stream()),
        })
    }

    /// Hashes the whole replica behind `opened`. A local file is hashed through the same open
    /// file, so what streams afterwards is what was hashed; other backends fetch the object
    /// again. `None` when the replica disappeared before it could be fetched again.
    pub(crate) async fn verify(
        &self,
        hash: &BlobHash,
        opened: Opened,
    ) -> Result<(Opened, Option<ReplicaDigest>), StoreError> {
        let digest = match &opened.payload {
            Payload::File(file) => {
                let digest = local_file::hash(file, &self.name).await?;
                Some(ReplicaDigest {
                    hash: digest.hash,
                    size: digest.size,
                    fingerprint: opened.meta.fingerprint,
                })
            }
            Payload::Stream(_) => self.hash_replica(hash).await?,
        };
        Ok((opened, digest))
    }

    /// The bytes of the range `opened` was opened for.
    pub(crate) fn stream(&self, opened: Opened) -> BoxStream<'static, Result<Bytes, StoreError>> {
        match opened.payload {
            Payload::File(file) => {
                local_file::stream(&file, opened.range, self.name.clone()).boxed()
            }
            Payload::Stream(stream) => {
                let name = self.name.clone();
                stream
                    .map_err(move |e| StoreError::volume(&name, e))
                    .boxed()
            }
        }
    }

    /// Hashes the whole replica. `None` when it does not exist.
    pub(crate) async fn hash_replica(
        &self,
        hash: &BlobHash,
    ) -> Result<Option<ReplicaDigest>, StoreError> {
        let opened = match self.open(hash, None).await {
            Ok(opened) => opened,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(e)),
        };
        let (hash, size) = match opened.payload {
            Payload::File(file) => {
                let digest = local_file::hash(&file, &self.name).await?;
                (digest.hash, digest.size)
            }
            Payload::Stream(stream) => {
                let mut stream = stream.map_err(|e| self.error(e));
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                while let Some(chunk) = stream.try_next().await? {
                    size += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                (BlobHash::from_digest(hasher.finalize().into()), size)
            }
        };
        Ok(Some(ReplicaDigest {
            hash,
            size,
            fingerprint: opened.meta.fingerprint,
        }))
    }

    /// The whole replica in memory (for blobs small enough for the hot cache); a replica of
    /// another size is reported without being read.
    pub(crate) async fn get_bytes(
        &self,
        hash: &BlobHash,
        size: u64,
    ) -> Result<Fetched, object_store::Error> {
        let opened = self.open(hash, None).await?;
        if opened.meta.size != size {
            return Ok(Fetched::WrongSize(opened.meta.size));
        }
        let fingerprint = opened.meta.fingerprint;
        let bytes = match opened.payload {
            Payload::File(file) => {
                local_file::read(&file, 0..size, &self.name)
                    .await
                    .map_err(|e| object_store::Error::Generic {
                        store: LOCAL_STORE,
                        source: Box::new(e),
                    })?
            }
            Payload::Stream(stream) => {
                let chunks: Vec<Bytes> = stream.try_collect().await?;
                Bytes::from(chunks.concat())
            }
        };
        Ok(Fetched::Bytes(bytes, fingerprint))
    }

    /// Writes `source` as the replica of `hash`, hashing on the way: the write is completed
    /// (made visible, atomically) only if exactly `size` bytes hashing to `hash` arrived;
    /// otherwise it is aborted and nothing is left.
    pub(crate) async fn write_verified<S>(
        &self,
        hash: &BlobHash,
        size: u64,
        mut source: S,
    ) -> Result<(), WriteError>
    where
        S: Stream<Item = Result<Bytes, StoreError>> + Unpin,
    {
        if let Some(s3) = &self.s3 {
            return s3.write_verified(hash, size, source).await;
        }
        let upload = self
            .store
            .put_multipart(&hash.path())
            .await
            .map_err(WriteError::Target)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        let streamed: Result<(), WriteError> = async {
            while let Some(chunk) = source.next().await {
                let chunk = chunk.map_err(WriteError::SourceRead)?;
                written += chunk.len() as u64;
                if written > size {
                    break;
                }
                hasher.update(&chunk);
                writer
                    .wait_for_capacity(1)
                    .await
                    .map_err(WriteError::Target)?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        let streamed = streamed.and_then(|()| {
            let got = BlobHash::from_digest(hasher.finalize().into());
            if written != size {
                Err(WriteError::Mismatch(format!(
                    "{written}{} bytes arrived, expected {size}",
                    if written > size { "+" } else { "" }
                )))
            } else if got != *hash {
                Err(WriteError::Mismatch(format!("the bytes hash to {got}")))
            } else {
                Ok(())
            }
        });
        if let Err(e) = streamed {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(volume = %self.name, blob = %hash, error = %abort,
                    "could not clean up an aborted write");
            }
            return Err(e);
        }
        let finished = writer.finish().await;
        // A replica opened earlier is now another file (or the same bytes under a new inode).
        self.open_files.forget(hash);
        finished.map(|_| ()).map_err(WriteError::Target)
    }

    /// Deletes the replica; a replica that is already gone is not an error.
    pub(crate) async fn delete(&self, hash: &BlobHash) -> Result<(), StoreError> {
        // An open file would keep the deleted replica's disk space allocated.
        self.open_files.forget(hash);
        match self.store.delete(&hash.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Object count and bytes under `blobs/`.
    pub(crate) async fn usage(&self) -> Result<(u64, u64), StoreError> {
        let mut listing = self.store.list(Some(&Path::from(BLOBS_PREFIX)));
        let (mut blobs, mut bytes) = (0u64, 0u64);
        while let Some(meta) = listing.try_next().await.map_err(|e| self.error(e))? {
            blobs += 1;
            bytes += meta.size;
        }
        Ok((blobs, bytes))
    }
}
