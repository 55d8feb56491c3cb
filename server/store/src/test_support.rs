//! Shared fixtures for the store's unit tests: stores over temporary directories, helpers to
//! damage replicas, and a volume that fails writes on demand.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use crate::{BlobHash, BlobStore, StoreConfig, VolumeConfig};

pub(crate) struct TestStore {
    pub(crate) store: BlobStore,
    /// Each volume's directory, by volume index.
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) staging: PathBuf,
    _tmp: tempfile::TempDir,
}

impl TestStore {
    /// `n` local volumes named v0..vN, replication `r`.
    pub(crate) fn new(n: usize, r: usize, cache_bytes: u64) -> Self {
        Self::with_volumes(n, r, cache_bytes, |_, config| config)
    }

    /// Like [`TestStore::new`] with every volume behind [`StreamingStore`], so reads take the
    /// generic stream path that remote backends (S3) take instead of the local-file one.
    pub(crate) fn streaming(n: usize, r: usize, cache_bytes: u64) -> Self {
        Self::with_volumes(n, r, cache_bytes, |_, config| StreamingStore::wrap(config))
    }

    /// One store of each read path: local files, and the generic stream.
    pub(crate) fn both(n: usize, r: usize, cache_bytes: u64) -> [Self; 2] {
        [
            Self::new(n, r, cache_bytes),
            Self::streaming(n, r, cache_bytes),
        ]
    }

    /// Like [`TestStore::new`], letting `wrap` replace volume configs (e.g. with failing ones).
    pub(crate) fn with_volumes(
        n: usize,
        r: usize,
        cache_bytes: u64,
        wrap: impl Fn(usize, VolumeConfig) -> VolumeConfig,
    ) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..n).map(|i| tmp.path().join(format!("vol{i}"))).collect();
        let volumes = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| wrap(i, VolumeConfig::local_dir(&format!("v{i}"), dir).unwrap()))
            .collect();
        let staging = tmp.path().join("staging");
        let store = BlobStore::new(StoreConfig {
            volumes,
            replication: r,
            staging_dir: staging.clone(),
            cache_bytes,
        })
        .unwrap();
        TestStore {
            store,
            dirs,
            staging,
            _tmp: tmp,
        }
    }

    /// Stages and commits `bytes`; returns the hash.
    pub(crate) async fn put(&self, bytes: &[u8]) -> String {
        let staged = self
            .store
            .stage_bytes(Bytes::copy_from_slice(bytes))
            .await
            .unwrap();
        self.store.commit(&staged).await.unwrap();
        staged.hash.clone()
    }

    pub(crate) fn replica(&self, volume: usize, hash: &str) -> PathBuf {
        replica_path(&self.dirs[volume], hash)
    }

    /// Volume indexes whose directory holds a file for the blob.
    pub(crate) fn holders(&self, hash: &str) -> Vec<usize> {
        (0..self.dirs.len())
            .filter(|&v| self.replica(v, hash).exists())
            .collect()
    }

    /// Files anywhere under the volume directories other than volume markers (temporary
    /// upload files included), to prove nothing was left behind.
    pub(crate) fn volume_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending: Vec<PathBuf> = self.dirs.clone();
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if entry.file_name() != "cadenza-volume" {
                    files.push(path);
                }
            }
        }
        files
    }

    pub(crate) async fn read_all(
        &self,
        hash: &str,
        size: u64,
    ) -> Result<Vec<u8>, crate::StoreError> {
        let body = self.store.read(hash, size, None).await?;
        let chunks: Vec<Bytes> = body.try_collect().await?;
        Ok(chunks.concat())
    }
}

pub(crate) fn replica_path(dir: &FsPath, hash: &str) -> PathBuf {
    dir.join(BlobHash::parse(hash).unwrap().path().as_ref())
}

/// Overwrites a file in place with different bytes of the same length.
pub(crate) fn corrupt_same_size(path: &FsPath) {
    let mut bytes = std::fs::read(path).unwrap();
    for b in bytes.iter_mut() {
        *b = !*b;
    }
    std::fs::write(path, bytes).unwrap();
}

/// A file named `blob` in a new temporary directory, holding `bytes`.
pub(crate) fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Deterministic pseudo-random content of `len` bytes.
pub(crate) fn content(seed: u32, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = BlobHash::of(&seed.to_le_bytes()).hex().into_bytes();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = BlobHash::of(&block).hex().into_bytes();
    }
    out.truncate(len);
    out
}

/// How a [`FailingStore`] fails writes while its switch is on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteFailure {
    /// Refuses to start any write.
    Refuse,
    /// Accepts the bytes, then fails to complete (like a disk filling up at the end).
    AtCompletion,
}

/// Wraps a volume; reads and deletes pass through, writes fail while `failing` is set.
#[derive(Debug)]
pub(crate) struct FailingStore {
    inner: Arc<dyn ObjectStore>,
    mode: WriteFailure,
    pub(crate) failing: AtomicBool,
}

impl FailingStore {
    pub(crate) fn wrap(
        config: VolumeConfig,
        mode: WriteFailure,
    ) -> (VolumeConfig, Arc<FailingStore>) {
        let store = Arc::new(FailingStore {
            inner: config.store,
            mode,
            failing: AtomicBool::new(true),
        });
        let config = VolumeConfig {
            store: store.clone(),
            ..config
        };
        (config, store)
    }

    fn error() -> object_store::Error {
        object_store::Error::Generic {
            store: "FailingStore",
            source: "injected write failure".into(),
        }
    }
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        // The volume marker is not a blob write: keep the volume reachable.
        if self.failing.load(Ordering::SeqCst) && location.as_ref() != "cadenza-volume" {
            return Err(Self::error());
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if !self.failing.load(Ordering::SeqCst) {
            return self.inner.put_multipart_opts(location, opts).await;
        }
        match self.mode {
            WriteFailure::Refuse => Err(Self::error()),
            WriteFailure::AtCompletion => Ok(Box::new(FailingUpload(
                self.inner.put_multipart_opts(location, opts).await?,
            ))),
        }
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Writes its parts through, then fails instead of completing.
#[derive(Debug)]
struct FailingUpload(Box<dyn MultipartUpload>);

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.0.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        // The caller (WriteMultipart::finish) aborts after a failed completion.
        Err(FailingStore::error())
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.0.abort().await
    }
}

/// Wraps a local volume so that reads come back as a byte stream (`GetResultPayload::Stream`),
/// as from a remote backend, instead of an open file.
#[derive(Debug)]
pub(crate) struct StreamingStore {
    inner: Arc<dyn ObjectStore>,
}

impl StreamingStore {
    pub(crate) fn wrap(config: VolumeConfig) -> VolumeConfig {
        VolumeConfig {
            store: Arc::new(StreamingStore {
                inner: config.store,
            }),
            local_dir: None,
            ..config
        }
    }
}

impl fmt::Display for StreamingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for StreamingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let result = self.inner.get_opts(location, options).await?;
        let (meta, range, attributes) = (
            result.meta.clone(),
            result.range.clone(),
            result.attributes.clone(),
        );
        // Read lazily, at the first poll, as a remote body arrives after the response head.
        // (Not `into_stream`: its local-file reader yields empty chunks forever when the file
        // shrinks under it.)
        let body = futures::stream::once(result.bytes());
        Ok(GetResult {
            payload: GetResultPayload::Stream(Box::pin(body)),
            meta,
            range,
            attributes,
            extensions: Default::default(),
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
