//! Immutable, content-addressed blobs (audio and covers) replicated R times over N volumes.
//!
//! - Every volume is an `Arc<dyn object_store::ObjectStore>` (a `LocalFileSystem` directory
//!   now; S3 later by configuration only). Blob path on a volume: `blobs/ab/cd/<sha256hex>`.
//!   The content hash is the identity; object-store ETags are ignored.
//! - Placement: rendezvous (highest-random-weight) hashing of (blob hash, volume name) picks R
//!   volumes in a stable preference order, so adding a volume moves only its share.
//! - Uploads stream into a local staging file (hashing as they go, enforcing a size limit)
//!   with [`BlobStore::stage`], are probed there, then [`BlobStore::commit`] writes all R
//!   replicas or none. The caller commits the catalog row afterwards (and, if that fails and
//!   no other row uses the hash, calls [`BlobStore::delete`]). Nothing is visible to listeners
//!   until the catalog row exists; a crash in between leaves at worst an orphaned blob, which
//!   the replication check reports.
//! - Reads ([`BlobStore::read`]) go to the first healthy replica in placement order and fail
//!   over when a replica is missing, unreadable or its bytes do not hash right; every replica
//!   is verified (hashed whole) once before it first serves, failovers and corruption are
//!   counted. Local volumes are read straight from the open file in big chunks; other
//!   backends through `object_store`'s byte stream.
//! - [`BlobStore::replication`] reports (cheap or deep) and repairs from verified replicas.

mod cache;
mod commit;
mod drain;
mod error;
mod hash;
mod local_file;
mod mapped;
mod open_files;
mod placement;
mod read;
mod remote_read;
mod replication;
mod s3;
mod staging;
mod stats;
#[cfg(test)]
mod test_support;
mod turns;
mod volume;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures::Stream;

pub use cadenza_api::{
    BlobHealth, BlobProblem, DrainSummary, Leftover, RepairAction, ReplicaState, ReplicaStatus,
    ReplicationReport, ReplicationRequest, VolumeReport, VolumeStats,
};
pub use error::StoreError;
pub use hash::BlobHash;
pub use read::BlobBody;
pub use replication::BlobInfo;
pub use s3::{S3Credentials, S3Settings};
pub use staging::StagedBlob;
pub use stats::StoreCounters;
pub use turns::TURN_BYTES;
pub use volume::VolumeConfig;

use cache::ByteLru;
use volume::{Fingerprint, Volume};

/// Blobs at most this big are served from (and kept in) the hot cache.
pub const CACHE_MAX_BLOB_BYTES: u64 = 1024 * 1024;

/// Configuration of a [`BlobStore`].
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub volumes: Vec<VolumeConfig>,
    /// Replicas per blob (R), 1..=volumes.len().
    pub replication: usize,
    /// Local directory for uploads in progress; created if missing, emptied of leftovers on start.
    pub staging_dir: PathBuf,
    /// Bytes of recently read small blobs kept in memory; 0 turns the cache off.
    pub cache_bytes: u64,
    /// Replicas a commit must write (W, 1..=R); placement volumes it could not write are
    /// left under-replicated for the replication check to repair. See [`majority`].
    pub write_quorum: usize,
    /// Markers of S3 uploads older than this name uploads nobody will finish (see `s3`); the
    /// replication check removes them with `repair`. [`STALE_UPLOAD_AGE`] unless testing.
    pub stale_upload_age: std::time::Duration,
}

/// A majority of R replicas: the default write quorum (R=3 gives 2, so one failure domain
/// may be down while uploads go on; R=2 gives 2).
pub fn majority(replication: usize) -> usize {
    replication / 2 + 1
}

/// An upload does not take an hour: markers older than that are leftovers.
pub const STALE_UPLOAD_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The replicated blob store. Cheap to clone (shared state); `Send + Sync`.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    volumes: Vec<Volume>,
    names: Vec<String>,
    replication: usize,
    write_quorum: usize,
    stale_upload_age: std::time::Duration,
    staging_dir: PathBuf,
    cache: Mutex<ByteLru>,
    /// Replicas whose bytes were hashed and matched, by the fingerprint of the version seen.
    verified: Mutex<HashMap<(BlobHash, usize), Fingerprint>>,
    /// Replicas whose bytes were hashed and did not match, by the fingerprint of the version
    /// seen: requests that waited on that verification fail over without hashing it again.
    rejected: Mutex<HashMap<(BlobHash, usize), (Fingerprint, Rejected)>>,
    /// One verification per replica at a time (see `read::open_replica`); an entry lives while
    /// a verification holds or waits for it.
    verifying: Mutex<HashMap<(BlobHash, usize), VerificationTurn>>,
    /// Volumes being drained (see `drain`): placement leaves them out.
    draining: Mutex<std::collections::HashSet<usize>>,
    /// Commit, delete and repair of one blob never interleave (striped by hash).
    blob_locks: Vec<tokio::sync::Mutex<()>>,
    counters: stats::AtomicCounters,
}

const BLOB_LOCK_STRIPES: usize = 64;

impl BlobStore {
    /// Checks the configuration, creates the staging directory and deletes staging files a
    /// crashed run left behind. Volumes are not contacted here (see [`Self::reachable_volumes`]).
    pub fn new(config: StoreConfig) -> Result<Self, StoreError> {
        let count = config.volumes.len();
        if count == 0 {
            return Err(StoreError::Config("at least one volume is required".into()));
        }
        if !(1..=count).contains(&config.replication) {
            return Err(StoreError::Config(format!(
                "replication factor {} must be between 1 and the number of volumes ({count})",
                config.replication
            )));
        }
        if !(1..=config.replication).contains(&config.write_quorum) {
            return Err(StoreError::Config(format!(
                "write quorum {} must be between 1 and the replication factor ({})",
                config.write_quorum, config.replication
            )));
        }
        let mut names: Vec<String> = Vec::with_capacity(count);
        for volume in &config.volumes {
            if volume.name.trim().is_empty() {
                return Err(StoreError::Config(format!(
                    "the volume at {} has an empty name",
                    volume.location
                )));
            }
            if names.contains(&volume.name) {
                return Err(StoreError::Config(format!(
                    "two volumes are named {:?}; names must be unique (placement is by name)",
                    volume.name
                )));
            }
            names.push(volume.name.clone());
        }
        std::fs::create_dir_all(&config.staging_dir).map_err(|source| {
            StoreError::io(
                format!(
                    "cannot create staging directory {}",
                    config.staging_dir.display()
                ),
                source,
            )
        })?;
        // Only files nothing has written to for a while: server copies on one host share the
        // data dir, and another copy's upload in progress must survive this one's start.
        let stale = staging::clean_stale(&config.staging_dir, staging::STALE_AGE)?;
        if stale > 0 {
            tracing::info!(count = stale, dir = %config.staging_dir.display(),
                "deleted staging files left by an interrupted run");
        }
        Ok(BlobStore {
            inner: Arc::new(Inner {
                volumes: config.volumes.into_iter().map(Volume::new).collect(),
                names,
                replication: config.replication,
                write_quorum: config.write_quorum,
                stale_upload_age: config.stale_upload_age,
                staging_dir: config.staging_dir,
                cache: Mutex::new(ByteLru::new(config.cache_bytes, CACHE_MAX_BLOB_BYTES)),
                verified: Mutex::new(HashMap::new()),
                rejected: Mutex::new(HashMap::new()),
                verifying: Mutex::new(HashMap::new()),
                draining: Mutex::new(Default::default()),
                blob_locks: (0..BLOB_LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
                counters: Default::default(),
            }),
        })
    }

    /// The replication factor R.
    pub fn replication_factor(&self) -> usize {
        self.inner.replication
    }

    /// Volume names in configuration order (the indexes [`Self::placement`] returns).
    pub fn volume_names(&self) -> &[String] {
        &self.inner.names
    }

    /// The R volume indexes that hold `hash`, in rendezvous (preference) order; a volume
    /// being drained takes no part.
    pub fn placement(&self, hash: &str) -> Vec<usize> {
        self.inner.placement_of(hash)
    }

    /// Streams an upload body into a staging file, hashing (SHA-256) and counting as it goes.
    /// Fails with [`StoreError::TooLarge`] once more than `max_bytes` arrive and with
    /// [`StoreError::Body`] when the body errors (client gone); either way, and when the
    /// returned future is dropped, the partial file is deleted.
    pub async fn stage<S, E>(&self, body: S, max_bytes: u64) -> Result<StagedBlob, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::error::Error + Send + Sync + 'static,
    {
        staging::stage(&self.inner.staging_dir, body, max_bytes).await
    }

    /// Stages bytes already in memory (cover images).
    pub async fn stage_bytes(&self, bytes: Bytes) -> Result<StagedBlob, StoreError> {
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        staging::stage(&self.inner.staging_dir, body, u64::MAX).await
    }
}

/// Held while verifying one replica (see `Inner::verification_turn`).
type VerificationTurn = Arc<tokio::sync::Mutex<()>>;

/// Why a replica's bytes are not the blob's (remembered per version of the replica).
#[derive(Debug, Clone, Copy)]
enum Rejected {
    /// The replica's length.
    Size(u64),
    /// What its bytes hash to.
    Hash(BlobHash),
}

/// Locks a map that single inserts and removes keep consistent, so a panic elsewhere while
/// it was held (poisoning) is no reason to stop using it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inner {
    fn placement(&self, hash: &BlobHash) -> Vec<usize> {
        self.placement_of(&hash.hex())
    }

    fn placement_of(&self, hash: &str) -> Vec<usize> {
        let draining = lock(&self.draining);
        if draining.is_empty() {
            return placement::rendezvous(hash, &self.names, self.replication);
        }
        let active: Vec<usize> = (0..self.names.len())
            .filter(|v| !draining.contains(v))
            .collect();
        let names: Vec<&str> = active.iter().map(|&v| self.names[v].as_str()).collect();
        placement::rendezvous(hash, &names, self.replication)
            .into_iter()
            .map(|i| active[i])
            .collect()
    }

    /// Placement volumes first, then every other volume (a blob may still sit where an older
    /// volume layout put it). The flag says whether the volume is a placement volume.
    fn read_order(&self, hash: &BlobHash) -> Vec<(usize, bool)> {
        let placed = self.placement(hash);
        let others = (0..self.volumes.len()).filter(|v| !placed.contains(v));
        placed
            .iter()
            .map(|&v| (v, true))
            .chain(others.map(|v| (v, false)))
            .collect()
    }

    async fn lock_blob(&self, hash: &BlobHash) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = usize::from(hash.stripe()) % self.blob_locks.len();
        self.blob_locks[stripe].lock().await
    }

    fn verified(&self) -> MutexGuard<'_, HashMap<(BlobHash, usize), Fingerprint>> {
        lock(&self.verified)
    }

    fn cache(&self) -> MutexGuard<'_, ByteLru> {
        lock(&self.cache)
    }

    fn is_verified(
        &self,
        hash: &BlobHash,
        volume: usize,
        fingerprint: Option<Fingerprint>,
    ) -> bool {
        fingerprint.is_some() && self.verified().get(&(*hash, volume)) == fingerprint.as_ref()
    }

    fn mark_verified(&self, hash: &BlobHash, volume: usize, fingerprint: Option<Fingerprint>) {
        let mut verified = self.verified();
        match fingerprint {
            Some(fingerprint) => verified.insert((*hash, volume), fingerprint),
            None => verified.remove(&(*hash, volume)),
        };
    }

    fn forget_verified(&self, hash: &BlobHash, volume: usize) {
        self.verified().remove(&(*hash, volume));
    }

    /// What the last verification of this version of the replica found wrong, if anything.
    fn rejection(
        &self,
        hash: &BlobHash,
        volume: usize,
        fingerprint: Fingerprint,
    ) -> Option<Rejected> {
        let rejected = lock(&self.rejected);
        let (seen, why) = rejected.get(&(*hash, volume))?;
        (*seen == fingerprint).then_some(*why)
    }

    /// Remembers (or, with `None`, forgets) why this version of the replica is wrong.
    fn set_rejection(
        &self,
        hash: &BlobHash,
        volume: usize,
        verdict: Option<(Fingerprint, Rejected)>,
    ) {
        let mut rejected = lock(&self.rejected);
        match verdict {
            Some(verdict) => rejected.insert((*hash, volume), verdict),
            None => rejected.remove(&(*hash, volume)),
        };
    }

    /// The lock that lets one request at a time verify this replica.
    fn verification_turn(&self, hash: &BlobHash, volume: usize) -> VerificationTurn {
        let mut verifying = lock(&self.verifying);
        // Entries nobody holds or waits for are done with.
        verifying.retain(|_, turn| Arc::strong_count(turn) > 1);
        Arc::clone(verifying.entry((*hash, volume)).or_default())
    }

    /// A replica that should have served did not: log it and count the failover.
    fn failover(&self, hash: &BlobHash, volume: usize, why: &str) {
        self.counters.failovers.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(blob = %hash, volume = %self.names[volume], "replica failed over: {why}");
    }

    /// A replica's bytes are wrong: forget it was ever good, count it.
    fn corrupt(&self, hash: &BlobHash, volume: usize) {
        self.forget_verified(hash, volume);
        self.counters
            .corrupt_replicas
            .fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, names: &[&str], replication: usize) -> StoreConfig {
        StoreConfig {
            volumes: names
                .iter()
                .map(|n| VolumeConfig::local_dir(n, &dir.join(n)).unwrap())
                .collect(),
            replication,
            staging_dir: dir.join("staging"),
            cache_bytes: 0,
            write_quorum: replication.max(1),
            stale_upload_age: STALE_UPLOAD_AGE,
        }
    }

    fn config_error(config: StoreConfig) -> String {
        match BlobStore::new(config) {
            Err(StoreError::Config(message)) => message,
            Err(other) => panic!("expected a configuration error, got {other}"),
            Ok(_) => panic!("expected a configuration error"),
        }
    }

    #[test]
    fn rejects_bad_configurations_with_clear_messages() {
        let dir = tempfile::tempdir().unwrap();
        assert!(config_error(config(dir.path(), &[], 1)).contains("at least one volume"));
        let r4 = config_error(config(dir.path(), &["a", "b", "c"], 4));
        assert!(
            r4.contains("replication factor 4") && r4.contains("(3)"),
            "{r4}"
        );
        assert!(config_error(config(dir.path(), &["a", "b"], 0)).contains("between 1"));
        let mut twins = config(dir.path(), &["a", "b"], 1);
        twins.volumes[1].name = "a".into();
        assert!(config_error(twins).contains("two volumes are named \"a\""));
        assert!(config_error(config(dir.path(), &[" "], 1)).contains("empty name"));
    }

    #[test]
    fn start_up_deletes_leftover_staging_files() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        // A crash's leftover, untouched for two hours; and an upload another server copy
        // sharing the folder is receiving right now, which must survive this one's start.
        let leftover = staging.join("cadenza-upload-x1.part");
        std::fs::write(&leftover, b"half an upload").unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&leftover)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        std::fs::write(staging.join("cadenza-upload-x2.part"), b"arriving").unwrap();
        std::fs::write(staging.join("unrelated"), b"kept").unwrap();
        let store = BlobStore::new(config(dir.path(), &["a"], 1)).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(&staging)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["cadenza-upload-x2.part", "unrelated"]);
        assert_eq!(store.volume_names(), ["a".to_string()]);
        assert_eq!((store.replication_factor(), store.volume_count()), (1, 1));
    }

    #[test]
    fn placement_is_exposed_by_volume_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(config(dir.path(), &["a", "b", "c", "d"], 3)).unwrap();
        let hash = BlobHash::of(b"x").hex();
        let placed = store.placement(&hash);
        assert_eq!(placed.len(), 3);
        assert_eq!(
            placed,
            placement::rendezvous(&hash, &["a", "b", "c", "d"], 3)
        );
    }

    #[test]
    fn store_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<BlobStore>();
    }
}
