//! Accounts and sessions: argon2 password hashes, bearer tokens stored only as SHA-256 hashes,
//! role checks, and a brake on password guessing. No HTTP in here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use cadenza_api::{LoginResponse, Role, User};
use cadenza_catalog::{Catalog, CatalogError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// argon2 accepts long inputs, but hashing megabytes per guess is a cheap way to burn our CPU.
pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MAX_USERNAME_CHARS: usize = 64;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("this needs a login: send `Authorization: Bearer <token>` (get a token from POST /api/v1/auth/login)")]
    MissingToken,
    #[error("the token is unknown or has expired; log in again")]
    InvalidToken,
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("this needs an admin account; ask an admin to run it or to give you the admin role")]
    NotAdmin,
    #[error("too many failed logins for this account from your address; try again in {} s", .retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Checks a new password; the message says what is wrong.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short; use at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is too long; use at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    Ok(())
}

pub fn check_username(username: &str) -> Result<(), String> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(format!(
            "a username needs 1 to {MAX_USERNAME_CHARS} characters"
        ));
    }
    if username.trim() != username || username.chars().any(char::is_control) {
        return Err(
            "a username cannot start or end with spaces or contain control characters".into(),
        );
    }
    Ok(())
}

/// An argon2id PHC string (`$argon2id$v=19$...`) for `password`. Slow on purpose: call it on
/// the blocking pool.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A fresh bearer token: 32 random bytes in hex. Only its [`token_hash`] is ever stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A password for the first admin account: 20 characters from an unambiguous alphabet.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The `Authorization: Bearer <token>` value's token, if the header has that form.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user a token belongs to, if it is live at `now`. Blocking (catalog call).
pub fn authenticate(catalog: &dyn Catalog, token: &str, now: i64) -> Result<User, AuthError> {
    catalog
        .token_user(&token_hash(token), now)?
        .ok_or(AuthError::InvalidToken)
}

/// The user of the token whose catalog hash is `token_hash`, if it is live at `now`, and
/// whether it is still live `ahead` seconds later (only then may a cache trust it that long).
/// Blocking (catalog call; two for a token that is unknown or about to expire).
pub fn authenticate_ahead(
    catalog: &dyn Catalog,
    token_hash: &str,
    now: i64,
    ahead: i64,
) -> Result<(User, bool), AuthError> {
    if let Some(user) = catalog.token_user(token_hash, now.saturating_add(ahead))? {
        return Ok((user, true));
    }
    catalog
        .token_user(token_hash, now)?
        .map(|user| (user, false))
        .ok_or(AuthError::InvalidToken)
}

pub fn require_admin(user: &User) -> Result<(), AuthError> {
    match user.role {
        Role::Admin => Ok(()),
        Role::Listener => Err(AuthError::NotAdmin),
    }
}

/// Checks a username and password and opens a session. Blocking (argon2 + catalog).
///
/// An unknown username costs the same argon2 verification as a known one (against
/// `dummy_hash`), so timing does not tell whether an account exists.
pub fn login(
    catalog: &dyn Catalog,
    dummy_hash: &str,
    username: &str,
    password: &str,
    ttl: Duration,
    now: i64,
) -> Result<LoginResponse, AuthError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::WrongCredentials);
    }
    let credentials = catalog.credentials(username)?;
    let hash = credentials
        .as_ref()
        .map_or(dummy_hash, |c| c.password_hash.as_str());
    let matches = verify_password(password, hash);
    let user = match credentials {
        Some(c) if matches => c.user,
        _ => return Err(AuthError::WrongCredentials),
    };
    let token = new_token();
    let expires_at = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    catalog.insert_token(&token_hash(&token), user.id, expires_at)?;
    Ok(LoginResponse {
        token,
        expires_at,
        user,
    })
}

/// Counts failed logins per (address, username) and refuses further tries for a while after
/// too many. Per account *and* address, so one guesser cannot lock everybody out of an
/// account (nor everybody behind one proxy out of theirs). In memory: each server copy
/// brakes on its own, which is enough to make online guessing slow.
#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<(IpAddr, String), Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
}

/// Entries kept before old ones are swept, so a flood of usernames cannot grow the map forever.
const THROTTLE_SWEEP_AT: usize = 10_000;

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when this address has used up its tries for this account.
    pub fn check(&self, ip: IpAddr, username: &str, now: Instant) -> Result<(), AuthError> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(&(ip, username.to_string())) {
            Some(f) if f.count >= self.max_failures => {
                let elapsed = now.saturating_duration_since(f.first);
                if elapsed < self.window {
                    Err(AuthError::Throttled {
                        retry_after: self.window - elapsed,
                    })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, ip: IpAddr, username: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= THROTTLE_SWEEP_AT {
            let window = self.window;
            failures.retain(|_, f| now.saturating_duration_since(f.first) < window);
        }
        let entry = failures
            .entry((ip, username.to_string()))
            .or_insert(Failures {
                count: 0,
                first: now,
            });
        if now.saturating_duration_since(entry.first) >= self.window {
            *entry = Failures {
                count: 0,
                first: now,
            };
        }
        entry.count += 1;
    }

    pub fn succeeded(&self, ip: IpAddr, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&(ip, username.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> User {
        User {
            id: 1,
            username: "u".into(),
            role,
            created_at: 0,
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("Correct horse", &hash));
        assert!(!verify_password("correct horse", "not a phc string"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer   abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }

    #[test]
    fn only_admins_pass_the_admin_check() {
        assert!(require_admin(&user(Role::Admin)).is_ok());
        let err = require_admin(&user(Role::Listener)).unwrap_err();
        assert!(matches!(err, AuthError::NotAdmin));
        assert!(err.to_string().contains("admin"));
    }

    #[test]
    fn password_and_username_rules() {
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("long enough").is_ok());
        assert!(check_password_strength(&"x".repeat(2000)).is_err());
        assert!(check_username("alice").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username(" alice").is_err());
        assert!(check_username("a\nb").is_err());
        let generated = random_password();
        assert_eq!(generated.len(), 20);
        assert!(check_password_strength(&generated).is_ok());
    }

    #[test]
    fn login_opens_a_session_that_expires() {
        let catalog = cadenza_catalog::SqliteCatalog::open_in_memory().unwrap();
        let hash = hash_password("alice's password").unwrap();
        let alice = catalog.create_user("alice", &hash, Role::Listener).unwrap();
        let dummy = hash_password("whatever else").unwrap();
        let ttl = Duration::from_secs(100);
        let now = 1_000;

        let session = login(&catalog, &dummy, "alice", "alice's password", ttl, now).unwrap();
        assert_eq!(session.user, alice);
        assert_eq!(session.expires_at, now + 100);
        assert_eq!(
            authenticate(&catalog, &session.token, now + 99).unwrap(),
            alice
        );
        assert!(matches!(
            authenticate(&catalog, &session.token, now + 100),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            authenticate(&catalog, "not a token", now),
            Err(AuthError::InvalidToken)
        ));

        catalog.delete_token(&token_hash(&session.token)).unwrap();
        assert!(
            matches!(
                authenticate(&catalog, &session.token, now + 1),
                Err(AuthError::InvalidToken)
            ),
            "logged out"
        );
    }

    #[test]
    fn authenticate_ahead_says_whether_a_token_outlives_the_cache() {
        let catalog = cadenza_catalog::SqliteCatalog::open_in_memory().unwrap();
        let alice = catalog
            .create_user("alice", "not a real hash", Role::Listener)
            .unwrap();
        catalog
            .insert_token(&token_hash("t"), alice.id, 1_100)
            .unwrap();
        let hash = token_hash("t");
        let (user, cacheable) = authenticate_ahead(&catalog, &hash, 1_000, 10).unwrap();
        assert_eq!((user, cacheable), (alice.clone(), true));
        let (user, cacheable) = authenticate_ahead(&catalog, &hash, 1_095, 10).unwrap();
        assert_eq!((user, cacheable), (alice, false), "expires within the TTL");
        assert!(matches!(
            authenticate_ahead(&catalog, &hash, 1_100, 10),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            authenticate_ahead(&catalog, &token_hash("other"), 1_000, 10),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn failed_logins_do_not_tell_whether_the_user_exists() {
        let catalog = cadenza_catalog::SqliteCatalog::open_in_memory().unwrap();
        let hash = hash_password("alice's password").unwrap();
        catalog.create_user("alice", &hash, Role::Listener).unwrap();
        let dummy = hash_password("whatever else").unwrap();
        let ttl = Duration::from_secs(100);
        let wrong = login(&catalog, &dummy, "alice", "guess", ttl, 0).unwrap_err();
        let unknown = login(&catalog, &dummy, "mallory", "guess", ttl, 0).unwrap_err();
        assert!(matches!(wrong, AuthError::WrongCredentials));
        assert!(matches!(unknown, AuthError::WrongCredentials));
        assert_eq!(wrong.to_string(), unknown.to_string());
        let dummy_password =
            login(&catalog, &dummy, "mallory", "whatever else", ttl, 0).unwrap_err();
        assert!(
            matches!(dummy_password, AuthError::WrongCredentials),
            "the dummy hash's own password opens nothing"
        );
    }

    #[test]
    fn throttle_blocks_after_too_many_failures_then_forgets() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.check(ip, "alice", t0).is_ok());
            throttle.failed(ip, "alice", t0);
        }
        let err = throttle.check(ip, "alice", t0).unwrap_err();
        assert!(matches!(err, AuthError::Throttled { .. }));
        assert!(err.to_string().contains("try again"), "{err}");
        assert!(throttle.check(other, "alice", t0).is_ok(), "per address");
        assert!(throttle.check(ip, "bob", t0).is_ok(), "per account");
        let later = t0 + Duration::from_secs(61);
        assert!(throttle.check(ip, "alice", later).is_ok(), "window passed");
        throttle.failed(ip, "bob", t0);
        throttle.succeeded(ip, "bob");
        throttle.failed(ip, "bob", t0);
        throttle.failed(ip, "bob", t0);
        assert!(throttle.check(ip, "bob", t0).is_ok(), "success resets");
    }
}
