//! Who is calling: `u` with an app password (`p`, `p=enc:HEX`, or the token `t` + salt
//! `s`), or an API key (`apiKey`, with no `u`). Never the login password: it is stored
//! one-way and would cost an argon2 run per request (see `crate::client_credentials`).
//!
//! Checked credentials are remembered for a few seconds, like session tokens, so a player
//! fetching ranges does not read the catalog for each; a revocation on this copy is seen at
//! once, on other copies within [`AUTH_TTL`]. Failures count against the same per-address,
//! per-account brake as the login route.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cadenza_api::{CredentialId, User, UserId};

use super::params::Params;
use super::{Error, Result};
use crate::client_credentials::{api_key_secret, constant_time_eq, token_matches, AppPasswordKey};
use crate::http::auth::FAILED_LOGIN_DELAY;
use crate::http::{unix_now, Ctx};
use crate::ttl_cache::TtlCache;

pub const AUTH_TTL: Duration = Duration::from_secs(5);
const AUTH_CAPACITY: usize = 10_000;
/// `last_used_at` is written at most this often per credential (not on every range request).
const TOUCH_EVERY_SECS: i64 = 60;
/// The throttle's account name for API-key attempts (which name no user).
const API_KEY_ACCOUNT: &str = "\u{0}apiKey";

/// A user and their app passwords, as derived from the stored seeds.
type AppPasswords = Arc<(User, Vec<(CredentialId, String)>)>;

/// The Subsonic side of authentication, one per server process.
pub struct SubsonicAuth {
    key: AppPasswordKey,
    passwords: TtlCache<String, AppPasswords>,
    api_keys: TtlCache<String, (User, CredentialId)>,
    touched: Mutex<HashMap<CredentialId, i64>>,
}

impl SubsonicAuth {
    /// `secret` is the server's secret (the one share links are signed with).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: AppPasswordKey::from_secret(secret),
            passwords: TtlCache::new(AUTH_TTL, AUTH_CAPACITY),
            api_keys: TtlCache::new(AUTH_TTL, AUTH_CAPACITY),
            touched: Mutex::new(HashMap::new()),
        }
    }

    pub fn key(&self) -> &AppPasswordKey {
        &self.key
    }

    /// Forgets what this copy remembers of `user` (after a revocation or role change).
    pub fn forget_user(&self, user: UserId) {
        self.passwords.retain(|_, v| v.0.id != user);
        self.api_keys.retain(|_, v| v.0.id != user);
    }

    /// Whether `last_used_at` is due for a write (and notes that it is being written).
    fn due_for_touch(&self, id: CredentialId, now: i64) -> bool {
        let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        if touched.len() > AUTH_CAPACITY {
            touched.clear();
        }
        match touched.get(&id) {
            Some(&at) if now - at < TOUCH_EVERY_SECS => false,
            _ => {
                touched.insert(id, now);
                true
            }
        }
    }
}

/// The credentials a request carries.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    Password {
        user: String,
        password: String,
    },
    Token {
        user: String,
        token: String,
        salt: String,
    },
    ApiKey(String),
}

impl Credentials {
    fn of(params: &Params) -> Result<Credentials> {
        let conflict = || {
            Error::new(
                43,
                "multiple conflicting authentication mechanisms provided: send either `apiKey` \
                 alone, or `u` with `p`, or `u` with `t` and `s`",
            )
        };
        if let Some(key) = params.get("apiKey") {
            if ["u", "p", "t", "s"].iter().any(|k| params.has(k)) {
                return Err(conflict());
            }
            return Ok(Credentials::ApiKey(key.trim().to_string()));
        }
        let user = params.required("u")?.to_string();
        let token = params.has("t") || params.has("s");
        match (params.get("p"), token) {
            (Some(_), true) => Err(conflict()),
            (Some(p), false) => Ok(Credentials::Password {
                user,
                password: decode_password(p)?,
            }),
            (None, true) => Ok(Credentials::Token {
                user,
                token: params.required("t")?.to_string(),
                salt: params.required("s")?.to_string(),
            }),
            (None, false) => Err(Error::missing("p")),
        }
    }

    fn account(&self) -> &str {
        match self {
            Credentials::Password { user, .. } | Credentials::Token { user, .. } => user,
            Credentials::ApiKey(_) => API_KEY_ACCOUNT,
        }
    }
}

/// `p` as sent: clear text, or `enc:` and the UTF-8 bytes in hex (either case).
fn decode_password(p: &str) -> Result<String> {
    match p.strip_prefix("enc:") {
        None => Ok(p.to_string()),
        Some(hex_text) => hex::decode(hex_text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                Error::new(
                    40,
                    "`p=enc:` must be followed by the password's UTF-8 bytes in hexadecimal",
                )
            }),
    }
}

fn wrong_password(user: &str) -> Error {
    Error::new(
        40,
        format!(
            "wrong username or password for `{}`: Subsonic clients sign in with an app password, \
             not the login password (make one with `cadenza-admin users app-password USER` or \
             POST /api/v1/me/credentials)",
            super::params::shorten(user)
        ),
    )
}

fn wrong_key() -> Error {
    Error::new(
        44,
        "invalid API key: it is unknown or was revoked (make one with `cadenza-admin users \
         api-key USER` or POST /api/v1/me/credentials)",
    )
}

/// Checks the request's credentials; the caller on success.
pub async fn authenticate(cx: &Ctx, params: &Params) -> Result<User> {
    let credentials = Credentials::of(params)?;
    let app = &cx.app;
    let ip = cx.remote.map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let account = credentials.account().to_string();
    if let Err(e) = app.logins.check(ip, &account, Instant::now()) {
        app.metrics.login_failed();
        return Err(Error::new(40, e.to_string()));
    }
    let found = match &credentials {
        Credentials::ApiKey(key) => check_api_key(cx, key).await?,
        Credentials::Password { user, password } => {
            let passwords = app_passwords(cx, user).await?;
            passwords.and_then(|p| {
                p.1.iter()
                    .find(|(_, pw)| constant_time_eq(pw.as_bytes(), password.as_bytes()))
                    .map(|(id, _)| (p.0.clone(), *id))
            })
        }
        Credentials::Token { user, token, salt } => {
            let passwords = app_passwords(cx, user).await?;
            passwords.and_then(|p| {
                p.1.iter()
                    .find(|(_, pw)| token_matches(pw, salt, token))
                    .map(|(id, _)| (p.0.clone(), *id))
            })
        }
    };
    match found {
        Some((user, credential)) => {
            app.logins.succeeded(ip, &account);
            touch(cx, credential);
            Ok(user)
        }
        None => {
            app.logins.failed(ip, &account, Instant::now());
            app.metrics.login_failed();
            tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            Err(match credentials {
                Credentials::ApiKey(_) => wrong_key(),
                _ => wrong_password(&account),
            })
        }
    }
}

async fn app_passwords(cx: &Ctx, username: &str) -> Result<Option<AppPasswords>> {
    let auth = &cx.app.subsonic;
    let cache_key = username.trim().to_lowercase();
    if let Some(found) = auth.passwords.get(&cache_key, Instant::now()) {
        return Ok(Some(found));
    }
    let seen = auth.passwords.generation();
    let name = username.to_string();
    let found = cx
        .db(move |c| c.app_password_secrets(&name))
        .await
        .map_err(Error::from)?;
    Ok(found.map(|(user, seeds)| {
        let passwords = seeds
            .into_iter()
            .map(|(id, seed)| (id, auth.key.password(&seed)))
            .collect();
        let entry = Arc::new((user, passwords));
        auth.passwords
            .insert(cache_key, Arc::clone(&entry), Instant::now(), seen);
        entry
    }))
}

async fn check_api_key(cx: &Ctx, key: &str) -> Result<Option<(User, CredentialId)>> {
    let auth = &cx.app.subsonic;
    let secret = api_key_secret(key);
    if let Some(found) = auth.api_keys.get(&secret, Instant::now()) {
        return Ok(Some(found));
    }
    let seen = auth.api_keys.generation();
    let lookup = secret.clone();
    let found = cx
        .db(move |c| c.api_key_user(&lookup))
        .await
        .map_err(Error::from)?;
    if let Some(found) = &found {
        auth.api_keys
            .insert(secret, found.clone(), Instant::now(), seen);
    }
    Ok(found)
}

/// Records the credential's use in the background, at most once a minute.
fn touch(cx: &Ctx, credential: CredentialId) {
    let now = unix_now();
    if !cx.app.subsonic.due_for_touch(credential, now) {
        return;
    }
    let catalog = Arc::clone(&cx.app.catalog);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = catalog.touch_client_credential(credential, now) {
            tracing::warn!("cannot record the use of credential {credential}: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(pairs: &[(&str, &str)]) -> Result<Credentials> {
        Credentials::of(&Params::from_pairs(pairs))
    }

    #[test]
    fn the_mechanisms_and_their_conflicts() {
        assert_eq!(
            creds(&[("u", "joe"), ("p", "enc:736573616D65")]).unwrap(),
            Credentials::Password {
                user: "joe".into(),
                password: "sesame".into()
            }
        );
        assert!(matches!(
            creds(&[("u", "joe"), ("t", "x"), ("s", "y")]).unwrap(),
            Credentials::Token { .. }
        ));
        assert_eq!(
            creds(&[("apiKey", "k")]).unwrap(),
            Credentials::ApiKey("k".into())
        );
        assert_eq!(
            creds(&[("apiKey", "k"), ("u", "joe")]).unwrap_err().code,
            43
        );
        assert_eq!(
            creds(&[("u", "joe"), ("p", "x"), ("t", "y"), ("s", "z")])
                .unwrap_err()
                .code,
            43
        );
        assert_eq!(creds(&[("u", "joe"), ("t", "y")]).unwrap_err().code, 10);
        assert_eq!(creds(&[("u", "joe")]).unwrap_err().code, 10);
        assert_eq!(creds(&[]).unwrap_err().code, 10);
        assert_eq!(
            creds(&[("u", "joe"), ("p", "enc:zz")]).unwrap_err().code,
            40
        );
    }

    #[test]
    fn last_use_is_written_once_a_minute() {
        let auth = SubsonicAuth::new(b"0123456789abcdef0123");
        assert!(auth.due_for_touch(1, 1_000));
        assert!(!auth.due_for_touch(1, 1_059));
        assert!(auth.due_for_touch(2, 1_059));
        assert!(auth.due_for_touch(1, 1_060));
    }
}
