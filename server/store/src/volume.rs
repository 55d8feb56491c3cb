//! One volume: an `object_store` holding blobs under `blobs/`, and the few operations the store
//! needs on it (probe, list, open and read a replica, hash it, write verified bytes).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    GetOptions, GetRange, GetResultPayload, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload,
    WriteMultipart,
};
use sha2::{Digest, Sha256};

use crate::hash::BLOBS_PREFIX;
use crate::local_file;
use crate::{BlobHash, StoreError};

/// How a volume is reached. Anything `object_store` speaks works (S3 later by configuration).
#[derive(Debug, Clone)]
pub struct VolumeConfig {
    /// Stable name: placement scores use it, so renaming a volume moves its blobs.
    pub name: String,
    pub store: Arc<dyn ObjectStore>,
    /// Shown in stats and reports: a directory path or an object-store URL.
    pub location: String,
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
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|source| StoreError::volume(name, source))?
            .with_automatic_cleanup(true)
            .with_fsync(true);
        Ok(VolumeConfig {
            name: name.to_string(),
            store: Arc::new(store),
            location: dir.display().to_string(),
        })
    }
}

/// Identifies one stored version of an object (size, modification time, ETag), so a replica
/// verified once need not be re-hashed until it is rewritten.
pub(crate) type Fingerprint = u64;

/// Objects modified more recently than this have no trustworthy fingerprint: file timestamps
/// tick coarsely (milliseconds), so a same-size rewrite within one tick would look unchanged.
/// Like git's "racily clean" index entries, such replicas are simply re-verified next time.
const SETTLE_MILLIS: i64 = 2_000;

/// `None` while the object is too fresh to be recognised by its metadata alone.
fn fingerprint(meta: &ObjectMeta) -> Option<Fingerprint> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    if now - meta.last_modified.timestamp_millis() < SETTLE_MILLIS {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    (meta.size, &meta.last_modified, &meta.e_tag).hash(&mut hasher);
    Some(hasher.finish())
}

/// What hashing a whole replica found.
pub(crate) struct ReplicaDigest {
    pub(crate) hash: BlobHash,
    pub(crate) size: u64,
    pub(crate) fingerprint: Option<Fingerprint>,
}

/// A replica opened for reading: its metadata and the bytes of `range`, not read yet.
pub(crate) struct Opened {
    pub(crate) meta: ObjectMeta,
    pub(crate) range: Range<u64>,
    payload: Payload,
}

enum Payload {
    /// A local volume's open file: read in big chunks (see [`local_file`]).
    File(std::fs::File, std::path::PathBuf),
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

/// Written on first contact so the probe has an object to look at.
const MARKER: &str = "cadenza-volume";

#[derive(Debug)]
pub(crate) struct Volume {
    pub(crate) name: String,
    pub(crate) location: String,
    store: Arc<dyn ObjectStore>,
}

impl Volume {
    pub(crate) fn new(config: VolumeConfig) -> Self {
        Volume {
            name: config.name,
            location: config.location,
            store: config.store,
        }
    }

    pub(crate) fn error(&self, source: object_store::Error) -> StoreError {
        StoreError::volume(&self.name, source)
    }

    /// Reachable means a round trip to the store works: read the marker, writing it if absent.
    pub(crate) async fn probe(&self) -> Result<(), StoreError> {
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
    pub(crate) async fn head(&self, hash: &BlobHash) -> Result<Option<ObjectMeta>, StoreError> {
        match self.store.head(&hash.path()).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    pub(crate) fn fingerprint(meta: &ObjectMeta) -> Option<Fingerprint> {
        fingerprint(meta)
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

    /// Opens the replica to read `range` (all of it for `None`): one request, which also
    /// brings the object's metadata. Errors, NotFound included, are the caller's to classify;
    /// a range past the end of a replica that is too short is an error too (see [`Self::head`]).
    pub(crate) async fn open(
        &self,
        hash: &BlobHash,
        range: Option<Range<u64>>,
    ) -> Result<Opened, object_store::Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&hash.path(), options).await?;
        let payload = match result.payload {
            GetResultPayload::File(file, path) => Payload::File(file, path),
            GetResultPayload::Stream(stream) => Payload::Stream(stream),
        };
        Ok(Opened {
            meta: result.meta,
            range: result.range,
            payload,
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
        match opened.payload {
            Payload::File(file, path) => {
                let (file, digest) = local_file::hash(file, &path, &self.name).await?;
                let digest = ReplicaDigest {
                    hash: digest.hash,
                    size: digest.size,
                    fingerprint: fingerprint(&opened.meta),
                };
                let opened = Opened {
                    payload: Payload::File(file, path),
                    ..opened
                };
                Ok((opened, Some(digest)))
            }
            Payload::Stream(_) => {
                let digest = self.hash_replica(hash).await?;
                Ok((opened, digest))
            }
        }
    }

    /// The bytes of the range `opened` was opened for.
    pub(crate) fn stream(&self, opened: Opened) -> BoxStream<'static, Result<Bytes, StoreError>> {
        match opened.payload {
            Payload::File(file, path) => {
                local_file::stream(file, path, opened.range, self.name.clone()).boxed()
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
        let fingerprint = fingerprint(&opened.meta);
        let (hash, size) = match opened.payload {
            Payload::File(file, path) => {
                let (_, digest) = local_file::hash(file, &path, &self.name).await?;
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
            fingerprint,
        }))
    }

    /// The whole replica in memory (for blobs small enough for the hot cache); a replica of
    /// another size is reported without being read.
    pub(crate) async fn get_bytes(
        &self,
        hash: &BlobHash,
        size: u64,
    ) -> Result<Fetched, object_store::Error> {
        let result = self.store.get(&hash.path()).await?;
        if result.meta.size != size {
            return Ok(Fetched::WrongSize(result.meta.size));
        }
        let fingerprint = fingerprint(&result.meta);
        Ok(Fetched::Bytes(result.bytes().await?, fingerprint))
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
        writer
            .finish()
            .await
            .map(|_| ())
            .map_err(WriteError::Target)
    }

    /// Deletes the replica; a replica that is already gone is not an error.
    pub(crate) async fn delete(&self, hash: &BlobHash) -> Result<(), StoreError> {
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
