//! A bounded in-memory map whose entries expire: what the token and blob caches are built on.
//!
//! Removals bump a generation counter. A caller that fills a miss from the catalog reads the
//! generation *before* its lookup and hands it back to [`TtlCache::insert`]; if anything was
//! removed in between (a logout, a deleted song), the insert is dropped, so a lookup that
//! raced with a revocation cannot put the revoked answer back.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    state: Mutex<State<K, V>>,
}

struct State<K, V> {
    entries: HashMap<K, (V, Instant)>,
    generation: u64,
}

/// Which removals a lookup has seen; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// Entries live `ttl` after they are inserted; at most `capacity` are kept (0 disables
    /// the cache).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            state: Mutex::new(State {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The live value for `key` at `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        match self.lock().entries.get(key) {
            Some((value, until)) if now < *until => Some(value.clone()),
            _ => None,
        }
    }

    /// Read before a catalog lookup whose answer will be inserted.
    pub fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// Keeps `value` until `now + ttl`, unless something was removed since `seen` was read.
    /// When full, expired entries go first, then an arbitrary eighth of the live ones (so the
    /// sweep runs once per many inserts, not on every one).
    pub fn insert(&self, key: K, value: V, now: Instant, seen: Generation) {
        if self.capacity == 0 {
            return;
        }
        let mut state = self.lock();
        if state.generation != seen.0 {
            return;
        }
        if state.entries.len() >= self.capacity && !state.entries.contains_key(&key) {
            state.entries.retain(|_, (_, until)| now < *until);
            let excess = state.entries.len() + 1;
            if excess > self.capacity {
                let drop = (excess - self.capacity).max(self.capacity / 8);
                let victims: Vec<K> = state.entries.keys().take(drop).cloned().collect();
                for victim in victims {
                    state.entries.remove(&victim);
                }
            }
        }
        state.entries.insert(key, (value, now + self.ttl));
    }

    pub fn remove(&self, key: &K) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.remove(key);
    }

    /// Removes every entry `keep` says no to.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.retain(|k, (v, _)| keep(k, v));
    }

    /// Entries held, live or expired but not yet swept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State<K, V>> {
        // The state is consistent after every statement; a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TtlCache::new(TTL, 10);
        let t0 = Instant::now();
        cache.insert(1, "a", t0, cache.generation());
        assert_eq!(cache.get(&1, t0), Some("a"));
        assert_eq!(
            cache.get(&1, t0 + TTL - Duration::from_millis(1)),
            Some("a")
        );
        assert_eq!(cache.get(&1, t0 + TTL), None);
        assert_eq!(cache.get(&2, t0), None);
    }

    #[test]
    fn removal_wins_over_a_lookup_that_started_before_it() {
        let cache = TtlCache::new(TTL, 10);
        let t0 = Instant::now();
        let seen = cache.generation();
        cache.remove(&1);
        cache.insert(1, "stale", t0, seen);
        assert_eq!(cache.get(&1, t0), None, "insert after a removal is dropped");
        cache.insert(1, "fresh", t0, cache.generation());
        assert_eq!(cache.get(&1, t0), Some("fresh"));
        cache.retain(|_, v| *v != "fresh");
        assert_eq!(cache.get(&1, t0), None);
    }

    #[test]
    fn size_stays_bounded() {
        let cache = TtlCache::new(TTL, 16);
        let t0 = Instant::now();
        for i in 0..1000 {
            cache.insert(i, i, t0, cache.generation());
            assert!(cache.len() <= 16, "{} entries after {i}", cache.len());
        }
        assert_eq!(cache.get(&999, t0), Some(999), "the newest entry is kept");
        // Expired entries make room before live ones are dropped.
        let later = t0 + TTL;
        cache.insert(5000, 5000, later, cache.generation());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = TtlCache::new(TTL, 0);
        let t0 = Instant::now();
        cache.insert(1, 1, t0, cache.generation());
        assert!(cache.is_empty());
    }
}
