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
    Attribute, Attributes, CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, UploadPart,
};

use cadenza_seaweed::Weed;

use crate::{BlobHash, BlobStore, S3Credentials, S3Settings, StoreConfig, VolumeConfig};

pub(crate) struct TestStore {
    pub(crate) store: BlobStore,
    /// Each volume's directory, by volume index (none for S3 volumes).
    pub(crate) dirs: Vec<PathBuf>,
    /// Each volume's object store, to damage S3 replicas behind the store's back.
    raw: Vec<Arc<dyn ObjectStore>>,
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

    /// One store of each kind of volume: local files, the generic stream, and S3 (SeaweedFS;
    /// left out, with the reason printed, where no `weed` binary is installed).
    pub(crate) fn both(n: usize, r: usize, cache_bytes: u64) -> Vec<Self> {
        let mut stores = vec![
            Self::new(n, r, cache_bytes),
            Self::streaming(n, r, cache_bytes),
        ];
        stores.extend(Self::s3(n, r, cache_bytes));
        stores
    }

    /// `n` S3 volumes v0..vN, each a fresh key prefix in the test binary's shared SeaweedFS.
    pub(crate) fn s3(n: usize, r: usize, cache_bytes: u64) -> Option<Self> {
        let shared = match cadenza_seaweed::shared() {
            Ok(shared) => shared,
            Err(skip) => {
                eprintln!("SKIPPED (S3 volumes): {skip}");
                return None;
            }
        };
        let endpoints = vec![(shared.endpoint.clone(), shared.bucket.clone()); n];
        Some(Self::on_endpoints(
            &endpoints,
            r,
            cache_bytes,
            crate::STALE_UPLOAD_AGE,
        ))
    }

    /// Like [`Self::s3`], with every upload marker counting as abandoned at once.
    pub(crate) fn s3_no_stale_age(n: usize, r: usize) -> Option<Self> {
        let shared = cadenza_seaweed::shared()
            .inspect_err(|skip| eprintln!("SKIPPED (S3 volumes): {skip}"))
            .ok()?;
        let endpoints = vec![(shared.endpoint.clone(), shared.bucket.clone()); n];
        Some(Self::on_endpoints(
            &endpoints,
            r,
            0,
            std::time::Duration::ZERO,
        ))
    }

    /// One S3 volume on each server (each its own failure domain), R = `r`.
    pub(crate) fn on_servers(servers: &[Weed], r: usize) -> Self {
        let endpoints: Vec<(String, String)> = servers
            .iter()
            .map(|s| (s.endpoint(), s.bucket().to_string()))
            .collect();
        Self::on_endpoints(&endpoints, r, 0, crate::STALE_UPLOAD_AGE)
    }

    fn on_endpoints(
        endpoints: &[(String, String)],
        r: usize,
        cache_bytes: u64,
        stale_upload_age: std::time::Duration,
    ) -> Self {
        use std::sync::atomic::AtomicUsize;
        static STORES: AtomicUsize = AtomicUsize::new(0);
        let store = STORES.fetch_add(1, Ordering::Relaxed);
        let volumes = endpoints
            .iter()
            .enumerate()
            .map(|(i, (endpoint, bucket))| {
                let settings = S3Settings {
                    bucket: bucket.clone(),
                    prefix: format!("store{store}/vol{i}"),
                    endpoint: Some(endpoint.clone()),
                    region: None,
                    path_style: true,
                    allow_http: true,
                    credentials: S3Credentials::Anonymous,
                };
                VolumeConfig::s3(&format!("v{i}"), &settings).unwrap()
            })
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        Self::from_volumes(
            tmp,
            volumes,
            Vec::new(),
            (r, r),
            cache_bytes,
            stale_upload_age,
        )
    }

    /// `n` SeaweedFS servers, or `None` (the reason printed) where `weed` is not installed.
    pub(crate) fn servers(n: usize) -> Option<Vec<Weed>> {
        let started: Result<Vec<Weed>, _> = (0..n).map(|_| Weed::start("cadenza-test")).collect();
        started
            .inspect_err(|skip| eprintln!("SKIPPED (S3 volumes): {skip}"))
            .ok()
    }

    /// Like [`TestStore::new`], letting `wrap` replace volume configs (e.g. with failing ones).
    pub(crate) fn with_volumes(
        n: usize,
        r: usize,
        cache_bytes: u64,
        wrap: impl Fn(usize, VolumeConfig) -> VolumeConfig,
    ) -> Self {
        Self::with_quorum(n, r, r, cache_bytes, wrap)
    }

    /// Like [`TestStore::with_volumes`] with write quorum `w`.
    pub(crate) fn with_quorum(
        n: usize,
        r: usize,
        w: usize,
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
        Self::from_volumes(
            tmp,
            volumes,
            dirs,
            (r, w),
            cache_bytes,
            crate::STALE_UPLOAD_AGE,
        )
    }

    fn from_volumes(
        tmp: tempfile::TempDir,
        volumes: Vec<VolumeConfig>,
        dirs: Vec<PathBuf>,
        (r, w): (usize, usize),
        cache_bytes: u64,
        stale_upload_age: std::time::Duration,
    ) -> Self {
        let raw = volumes.iter().map(|v| Arc::clone(&v.store)).collect();
        let staging = tmp.path().join("staging");
        let store = BlobStore::new(StoreConfig {
            volumes,
            replication: r,
            staging_dir: staging.clone(),
            cache_bytes,
            write_quorum: w,
            stale_upload_age,
        })
        .unwrap();
        TestStore {
            store,
            dirs,
            raw,
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

    /// Whether the volumes are S3 ones (replicas are objects, not files).
    pub(crate) fn is_s3(&self) -> bool {
        self.dirs.is_empty()
    }

    /// Deletes a replica behind the store's back.
    pub(crate) async fn remove_replica(&self, volume: usize, hash: &str) {
        if self.is_s3() {
            let path = BlobHash::parse(hash).unwrap().path();
            self.raw[volume].delete(&path).await.unwrap();
        } else {
            std::fs::remove_file(self.replica(volume, hash)).unwrap();
        }
    }

    /// Replaces a replica's bytes behind the store's back. An S3 object keeps claiming the
    /// blob's hash in its metadata, as bit rot would leave it.
    pub(crate) async fn write_replica(&self, volume: usize, hash: &str, bytes: &[u8]) {
        if self.is_s3() {
            let id = BlobHash::parse(hash).unwrap();
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::Metadata("sha256".into()), id.hex().into());
            let options = PutOptions {
                attributes,
                ..Default::default()
            };
            let payload = PutPayload::from(bytes.to_vec());
            self.raw[volume]
                .put_opts(&id.path(), payload, options)
                .await
                .unwrap();
        } else {
            let path = self.replica(volume, hash);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }

    /// The replica's bytes as stored.
    pub(crate) async fn replica_bytes(&self, volume: usize, hash: &str) -> Option<Vec<u8>> {
        if self.is_s3() {
            let path = BlobHash::parse(hash).unwrap().path();
            match self.raw[volume].get(&path).await {
                Ok(result) => Some(result.bytes().await.unwrap().to_vec()),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => panic!("{e}"),
            }
        } else {
            std::fs::read(self.replica(volume, hash)).ok()
        }
    }

    /// Overwrites a replica with different bytes of the same length.
    pub(crate) async fn corrupt_replica(&self, volume: usize, hash: &str) {
        let mut bytes = self.replica_bytes(volume, hash).await.unwrap();
        for b in bytes.iter_mut() {
            *b = !*b;
        }
        self.write_replica(volume, hash, &bytes).await;
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
