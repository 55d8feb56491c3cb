//! The hot-content cache: verified bytes of recently read small blobs, bounded in total bytes.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use crate::BlobHash;

/// Least-recently-used map from blob to bytes. Recency is a counter; `order` maps each entry's
/// last-use tick to its key, so the oldest is the first key of the BTreeMap.
pub(crate) struct ByteLru {
    capacity: u64,
    max_entry: u64,
    used: u64,
    tick: u64,
    entries: HashMap<BlobHash, (Bytes, u64)>,
    order: BTreeMap<u64, BlobHash>,
}

impl ByteLru {
    /// `capacity` 0 disables the cache. Entries above `max_entry` bytes are never kept, so one
    /// big blob cannot flush everything else.
    pub(crate) fn new(capacity: u64, max_entry: u64) -> Self {
        ByteLru {
            capacity,
            max_entry: max_entry.min(capacity),
            used: 0,
            tick: 0,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// Whether a blob of this size would be kept (so worth reading whole).
    pub(crate) fn admits(&self, size: u64) -> bool {
        self.capacity > 0 && size <= self.max_entry
    }

    pub(crate) fn used_bytes(&self) -> u64 {
        self.used
    }

    pub(crate) fn get(&mut self, key: &BlobHash) -> Option<Bytes> {
        self.tick += 1;
        let (bytes, last_used) = self.entries.get_mut(key)?;
        self.order.remove(last_used);
        *last_used = self.tick;
        self.order.insert(self.tick, *key);
        Some(bytes.clone())
    }

    pub(crate) fn insert(&mut self, key: BlobHash, bytes: Bytes) {
        let size = bytes.len() as u64;
        if !self.admits(size) {
            return;
        }
        self.remove(&key);
        while self.used + size > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = self.entries.remove(&oldest) {
                self.used -= evicted.len() as u64;
            }
        }
        self.tick += 1;
        self.used += size;
        self.order.insert(self.tick, key);
        self.entries.insert(key, (bytes, self.tick));
    }

    pub(crate) fn remove(&mut self, key: &BlobHash) {
        if let Some((bytes, last_used)) = self.entries.remove(key) {
            self.order.remove(&last_used);
            self.used -= bytes.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> BlobHash {
        BlobHash::of(&[i])
    }

    fn bytes(len: usize) -> Bytes {
        Bytes::from(vec![7u8; len])
    }

    #[test]
    fn evicts_least_recently_used_to_stay_within_bytes() {
        let mut lru = ByteLru::new(100, 50);
        lru.insert(key(1), bytes(40));
        lru.insert(key(2), bytes(40));
        assert!(lru.get(&key(1)).is_some()); // 2 is now the oldest
        lru.insert(key(3), bytes(40));
        assert_eq!(lru.used_bytes(), 80);
        assert!(lru.get(&key(2)).is_none());
        assert!(lru.get(&key(1)).is_some());
        assert!(lru.get(&key(3)).is_some());
    }

    #[test]
    fn refuses_entries_above_the_bound_and_zero_capacity() {
        let mut lru = ByteLru::new(100, 50);
        lru.insert(key(1), bytes(51));
        assert!(lru.get(&key(1)).is_none());
        assert_eq!(lru.used_bytes(), 0);

        let mut off = ByteLru::new(0, 1 << 20);
        assert!(!off.admits(1));
        off.insert(key(1), bytes(1));
        assert!(off.get(&key(1)).is_none());
    }

    #[test]
    fn reinserting_and_removing_keep_the_byte_count_exact() {
        let mut lru = ByteLru::new(100, 100);
        lru.insert(key(1), bytes(30));
        lru.insert(key(1), bytes(30));
        assert_eq!(lru.used_bytes(), 30);
        lru.remove(&key(1));
        assert_eq!(lru.used_bytes(), 0);
        for i in 0..50 {
            lru.insert(key(i), bytes(30));
            assert!(lru.used_bytes() <= 100);
        }
        assert_eq!(lru.used_bytes(), 90);
    }
}
