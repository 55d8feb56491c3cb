//! Which blob a song or episode id streams, remembered so that range requests need no
//! catalog lookup. An id's bytes never change; the only change is deletion, which evicts the
//! entry on this server at once. Another server copy that deleted the song (they share the
//! catalog and volumes, not this memory) is noticed within [`BLOB_TTL`]; until then this copy
//! answers 503 instead of 404 once the bytes are gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza_api::{EpisodeId, SongId};
use cadenza_catalog::{BlobRef, Catalog, CatalogResult};

use crate::ttl_cache::{Generation, TtlCache};

pub const BLOB_TTL: Duration = Duration::from_secs(10);
/// Ids remembered at most (a few hundred bytes each).
pub const BLOB_CAPACITY: usize = 10_000;

/// What a streaming route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlobKey {
    Song(SongId),
    Episode(EpisodeId),
}

impl BlobKey {
    /// The catalog's answer (blocking).
    pub fn lookup(self, catalog: &dyn Catalog) -> CatalogResult<BlobRef> {
        match self {
            BlobKey::Song(id) => catalog.song_blob(id),
            BlobKey::Episode(id) => catalog.episode_blob(id),
        }
    }
}

pub struct BlobCache {
    cache: TtlCache<BlobKey, Arc<BlobRef>>,
}

impl BlobCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            cache: TtlCache::new(ttl, capacity),
        }
    }

    pub fn get(&self, key: &BlobKey) -> Option<Arc<BlobRef>> {
        self.cache.get(key, Instant::now())
    }

    /// Read before the catalog lookup whose answer goes to [`Self::insert`].
    pub fn generation(&self) -> Generation {
        self.cache.generation()
    }

    pub fn insert(&self, key: BlobKey, blob: Arc<BlobRef>, seen: Generation) {
        self.cache.insert(key, blob, Instant::now(), seen);
    }

    /// Call after the song or episode is deleted from the catalog.
    pub fn evict(&self, key: &BlobKey) {
        self.cache.remove(key);
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}
