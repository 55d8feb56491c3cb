//! Credentials for third-party (Subsonic) clients: app passwords and API keys. No HTTP here.
//!
//! The Subsonic token mode sends `t = md5(password + salt)`, so the server must be able to
//! produce the password itself. Login passwords stay one-way (argon2); instead the server
//! makes each app password itself as `HMAC(key, seed)`, where `key` comes from the server's
//! secret and `seed` is random and stored in the catalog. The catalog row alone gives
//! nothing away (without the secret a seed is just random bytes), nothing reversible is
//! stored, and every copy of the server that shares the secret computes the same password.
//! Changing the secret therefore retires every app password (as it does share links).
//!
//! API keys are random and stored as their SHA-256, like session tokens.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rand::RngCore;
use sha2::Sha256;

use crate::auth::token_hash;

/// Characters of an app password: no look-alikes (0/O, 1/l/I), as people type them on phones.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const GROUPS: usize = 4;
const GROUP_CHARS: usize = 6;
/// Prefix of API keys, so a key pasted in the wrong place is recognisable.
pub const API_KEY_PREFIX: &str = "cz_";

/// The key app passwords are derived with.
#[derive(Clone)]
pub struct AppPasswordKey([u8; 32]);

impl AppPasswordKey {
    /// Derives the key from the server's secret, for this purpose only (share links use the
    /// secret for signatures; the label keeps the two apart).
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"cadenza subsonic app passwords v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// The app password a stored seed stands for: 24 characters in four groups,
    /// e.g. `k7qm2x-...`; about 119 bits.
    pub fn password(&self, seed: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(seed.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut out = String::with_capacity(GROUPS * (GROUP_CHARS + 1));
        for (i, b) in bytes.iter().take(GROUPS * GROUP_CHARS).enumerate() {
            if i > 0 && i % GROUP_CHARS == 0 {
                out.push('-');
            }
            out.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
        }
        out
    }
}

/// A fresh random seed for a new app password (what the catalog stores).
pub fn new_seed() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh API key and what the catalog stores for it.
pub fn new_api_key() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("{API_KEY_PREFIX}{}", hex::encode(bytes));
    let stored = api_key_secret(&key);
    (key, stored)
}

/// What the catalog stores for an API key.
pub fn api_key_secret(key: &str) -> String {
    token_hash(key)
}

/// Whether `token` is md5(`password` + `salt`) in hex (either case), compared in constant time.
pub fn token_matches(password: &str, salt: &str, token: &str) -> bool {
    let mut md5 = Md5::new();
    md5.update(password.as_bytes());
    md5.update(salt.as_bytes());
    let expected = hex::encode(md5.finalize());
    constant_time_eq(expected.as_bytes(), token.to_ascii_lowercase().as_bytes())
}

/// Whether two secrets are equal, without the time telling where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_passwords_come_from_secret_and_seed_only() {
        let key = AppPasswordKey::from_secret(b"server secret 0123456789");
        let seed = new_seed();
        let password = key.password(&seed);
        assert_eq!(password.len(), 24 + 3);
        assert_eq!(password.split('-').count(), 4);
        assert!(password.bytes().all(|b| b == b'-' || ALPHABET.contains(&b)));
        assert_eq!(password, key.password(&seed), "same on every server copy");
        assert_ne!(password, key.password(&new_seed()));
        let other = AppPasswordKey::from_secret(b"another secret 0123456789");
        assert_ne!(
            password,
            other.password(&seed),
            "useless without the secret"
        );
    }

    #[test]
    fn tokens_are_md5_of_password_and_salt() {
        // The example of the Subsonic API documentation.
        assert!(token_matches(
            "sesame",
            "c19b2d",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(token_matches(
            "sesame",
            "c19b2d",
            "26719A1196D2A940705A59634EB18EAB"
        ));
        assert!(!token_matches(
            "sesame",
            "c19b2e",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(!token_matches("sesame", "c19b2d", ""));
    }

    #[test]
    fn api_keys_are_stored_hashed() {
        let (key, stored) = new_api_key();
        assert!(key.starts_with(API_KEY_PREFIX));
        assert_eq!(stored, api_key_secret(&key));
        assert_ne!(stored, key);
        assert_ne!(new_api_key().0, key);
    }
}
