//! Which user a bearer token belongs to, remembered for a few seconds so that a streaming
//! client's requests (one per range, many per song) need no catalog lookup.
//!
//! Revocation: this server forgets a token at once when it is logged out, and every token of
//! a user whose password, role or account changes. Other copies of the server behind a load
//! balancer (which share the catalog, not this memory) see such a change within [`TOKEN_TTL`].
//! A token is only kept if it stays valid for the whole TTL (see
//! [`crate::auth::authenticate_ahead`]), so caching never stretches its expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza_api::{User, UserId};
use sha2::{Digest, Sha256};

use crate::ttl_cache::{Generation, TtlCache};

/// How long a checked token is trusted without asking the catalog again: the longest another
/// server copy keeps accepting a revoked token.
pub const TOKEN_TTL: Duration = Duration::from_secs(5);
/// Tokens remembered at most (a few hundred bytes each).
pub const TOKEN_CAPACITY: usize = 10_000;

/// A token's SHA-256: the cache never holds the token itself. Its hex form is what the
/// catalog stores ([`crate::auth::token_hash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

pub struct TokenCache {
    cache: TtlCache<TokenKey, Arc<User>>,
}

impl TokenCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            cache: TtlCache::new(ttl, capacity),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.cache.ttl()
    }

    pub fn get(&self, key: &TokenKey) -> Option<Arc<User>> {
        self.cache.get(key, Instant::now())
    }

    /// Read before the catalog lookup whose answer goes to [`Self::insert`].
    pub fn generation(&self) -> Generation {
        self.cache.generation()
    }

    pub fn insert(&self, key: TokenKey, user: Arc<User>, seen: Generation) {
        self.cache.insert(key, user, Instant::now(), seen);
    }

    /// Call after the token is deleted from the catalog (logout).
    pub fn revoke(&self, key: &TokenKey) {
        self.cache.remove(key);
    }

    /// Call after the user's tokens were revoked or their role changed in the catalog.
    pub fn revoke_user(&self, user: UserId) {
        self.cache.retain(|_, cached| cached.id != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cadenza_api::Role;

    fn user(id: UserId) -> Arc<User> {
        Arc::new(User {
            id,
            username: format!("user{id}"),
            role: Role::Listener,
            created_at: 0,
        })
    }

    #[test]
    fn key_is_the_catalogs_token_hash() {
        assert_eq!(
            TokenKey::of("abc").hex(),
            crate::auth::token_hash("abc"),
            "the cache and the catalog name a token the same way"
        );
    }

    #[test]
    fn revoking_forgets_a_token_or_all_of_a_users() {
        let cache = TokenCache::new(TOKEN_TTL, 100);
        let (a1, a2, b) = (TokenKey::of("a1"), TokenKey::of("a2"), TokenKey::of("b"));
        cache.insert(a1, user(1), cache.generation());
        cache.insert(a2, user(1), cache.generation());
        cache.insert(b, user(2), cache.generation());
        cache.revoke(&a1);
        assert!(cache.get(&a1).is_none());
        assert_eq!(cache.get(&a2).map(|u| u.id), Some(1));
        cache.revoke_user(1);
        assert!(cache.get(&a2).is_none());
        assert_eq!(
            cache.get(&b).map(|u| u.id),
            Some(2),
            "other users keep theirs"
        );
    }
}
