//! Users and their session tokens.

use super::error::{not_found, Context};
use super::text::{name_key, required};
use crate::{CatalogError, CatalogResult, UserCredentials};
use cadenza_api::{Role, User, UserId};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

const MAX_USERNAME_CHARS: usize = 64;
pub(crate) const USER_COLUMNS: &str = "id, username, role, created_at";

pub(crate) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    let role = role
        .parse::<Role>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, e.into()))?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        role,
        created_at: row.get(3)?,
    })
}

pub(crate) fn create_user(
    conn: &Connection,
    username: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> CatalogResult<User> {
    let username = required("username", username, MAX_USERNAME_CHARS)?;
    if username.chars().any(char::is_control) {
        return Err(CatalogError::Invalid(
            "username contains control characters".into(),
        ));
    }
    if password_hash.is_empty() {
        return Err(CatalogError::Invalid("password hash is empty".into()));
    }
    let key = name_key(&username);
    let taken: Option<String> = conn
        .prepare_cached("SELECT username FROM users WHERE username_key = ?1")
        .and_then(|mut s| s.query_row([&key], |r| r.get(0)).optional())
        .ctx("checking the username")?;
    if let Some(existing) = taken {
        return Err(CatalogError::Conflict(format!(
            "user \"{existing}\" already exists"
        )));
    }
    conn.prepare_cached(
        "INSERT INTO users (username, username_key, password_hash, role, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute((&username, &key, password_hash, role.as_str(), now)))
    .ctx("creating a user")?;
    Ok(User {
        id: conn.last_insert_rowid(),
        username,
        role,
        created_at: now,
    })
}

pub(crate) fn user(conn: &Connection, id: UserId) -> CatalogResult<User> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], user_from_row).optional())
        .ctx("reading a user")?
        .ok_or_else(|| not_found("user", id))
}

/// Fails with `NotFound` unless the user exists.
pub(crate) fn ensure_user(conn: &Connection, id: UserId) -> CatalogResult<()> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .ctx("checking a user")?;
    if exists {
        Ok(())
    } else {
        Err(not_found("user", id))
    }
}

pub(crate) fn credentials(
    conn: &Connection,
    username: &str,
) -> CatalogResult<Option<UserCredentials>> {
    let key = name_key(username);
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE username_key = ?1"
    ))
    .and_then(|mut s| {
        s.query_row([&key], |r| {
            Ok(UserCredentials {
                user: user_from_row(r)?,
                password_hash: r.get(4)?,
            })
        })
        .optional()
    })
    .ctx("reading credentials")
}

pub(crate) fn users(conn: &Connection) -> CatalogResult<Vec<User>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username_key"
        ))
        .ctx("listing users")?;
    let rows = stmt.query_map([], user_from_row).ctx("listing users")?;
    rows.collect::<rusqlite::Result<_>>().ctx("listing users")
}

pub(crate) fn user_count(conn: &Connection) -> CatalogResult<u64> {
    super::rows::count(conn, "SELECT count(*) FROM users", &[], "counting users")
}

pub(crate) fn set_role(conn: &Connection, id: UserId, role: Role) -> CatalogResult<User> {
    let changed = conn
        .prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute((id, role.as_str())))
        .ctx("changing a role")?;
    if changed == 0 {
        return Err(not_found("user", id));
    }
    user(conn, id)
}

pub(crate) fn set_password_hash(conn: &Connection, id: UserId, hash: &str) -> CatalogResult<()> {
    if hash.is_empty() {
        return Err(CatalogError::Invalid("password hash is empty".into()));
    }
    let changed = conn
        .prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute((id, hash)))
        .ctx("changing a password")?;
    if changed == 0 {
        return Err(not_found("user", id));
    }
    conn.prepare_cached("DELETE FROM tokens WHERE user_id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("revoking the sessions of a user whose password changed")?;
    Ok(())
}

/// Tokens, playlists, plays and resume positions go with the user (foreign-key cascades).
pub(crate) fn delete_user(conn: &Connection, id: UserId) -> CatalogResult<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM users WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("deleting a user")?;
    if deleted == 0 {
        return Err(not_found("user", id));
    }
    Ok(())
}

pub(crate) fn insert_token(
    conn: &Connection,
    token_hash: &str,
    user: UserId,
    expires_at: i64,
) -> CatalogResult<()> {
    if token_hash.is_empty() {
        return Err(CatalogError::Invalid("token hash is empty".into()));
    }
    ensure_user(conn, user)?;
    conn.prepare_cached("INSERT INTO tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute((token_hash, user, expires_at)))
        .ctx("storing a session token")?;
    Ok(())
}

/// The session lookup every authenticated request makes.
pub(crate) const TOKEN_USER: &str = "SELECT u.id, u.username, u.role, u.created_at FROM tokens t \
     JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1 AND t.expires_at > ?2";

pub(crate) fn token_user(
    conn: &Connection,
    token_hash: &str,
    now: i64,
) -> CatalogResult<Option<User>> {
    conn.prepare_cached(TOKEN_USER)
        .and_then(|mut s| s.query_row((token_hash, now), user_from_row).optional())
        .ctx("checking a session token")
}

pub(crate) fn delete_token(conn: &Connection, token_hash: &str) -> CatalogResult<()> {
    conn.prepare_cached("DELETE FROM tokens WHERE token_hash = ?1")
        .and_then(|mut s| s.execute([token_hash]))
        .ctx("deleting a session token")?;
    Ok(())
}

pub(crate) fn delete_expired_tokens(conn: &Connection, now: i64) -> CatalogResult<u64> {
    let n = conn
        .prepare_cached("DELETE FROM tokens WHERE expires_at <= ?1")
        .and_then(|mut s| s.execute([now]))
        .ctx("deleting expired tokens")?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, user};
    use crate::{Catalog, CatalogError};
    use cadenza_api::{CreatePlaylist, Role};

    #[test]
    fn usernames_are_unique_ignoring_case() {
        let cat = memory();
        let bob = cat.create_user("Bob", "h1", Role::Admin).unwrap();
        assert_eq!((bob.username.as_str(), bob.role), ("Bob", Role::Admin));
        let err = cat.create_user("bob", "h2", Role::Listener).unwrap_err();
        assert!(
            matches!(&err, CatalogError::Conflict(m) if m == "user \"Bob\" already exists"),
            "{err}"
        );
        let creds = cat.credentials("BOB").unwrap().unwrap();
        assert_eq!(
            (creds.user.id, creds.password_hash.as_str()),
            (bob.id, "h1")
        );
        assert!(cat.credentials("alice").unwrap().is_none());
        assert_eq!(cat.user_count().unwrap(), 1);
    }

    #[test]
    fn a_password_change_revokes_the_users_sessions_only() {
        let cat = memory();
        let bob = cat.create_user("bob", "h1", Role::Listener).unwrap();
        let eve = cat.create_user("eve", "h2", Role::Listener).unwrap();
        cat.insert_token("bob-token", bob.id, 100).unwrap();
        cat.insert_token("eve-token", eve.id, 100).unwrap();
        cat.set_password_hash(bob.id, "h3").unwrap();
        assert_eq!(cat.token_user("bob-token", 10).unwrap(), None);
        assert_eq!(
            cat.token_user("eve-token", 10).unwrap().map(|u| u.id),
            Some(eve.id)
        );
    }

    #[test]
    fn bad_usernames_are_refused() {
        let cat = memory();
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(65)] {
            let err = cat.create_user(bad, "h", Role::Listener).unwrap_err();
            assert!(matches!(err, CatalogError::Invalid(_)), "{bad:?}: {err}");
        }
        assert_eq!(cat.user_count().unwrap(), 0);
    }

    #[test]
    fn roles_and_passwords_change_and_unknown_users_are_named() {
        let cat = memory();
        let id = user(&cat, "carol");
        assert_eq!(cat.set_role(id, Role::Admin).unwrap().role, Role::Admin);
        cat.set_password_hash(id, "new").unwrap();
        assert_eq!(
            cat.credentials("carol").unwrap().unwrap().password_hash,
            "new"
        );
        let err = cat.set_role(999, Role::Admin).unwrap_err();
        assert_eq!(err.to_string(), "user 999 does not exist");
        assert!(matches!(cat.user(999), Err(CatalogError::NotFound(_))));
        assert!(matches!(
            cat.set_password_hash(999, "x"),
            Err(CatalogError::NotFound(_))
        ));
        assert!(matches!(
            cat.delete_user(999),
            Err(CatalogError::NotFound(_))
        ));
    }

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let cat = memory();
        let id = user(&cat, "dave");
        cat.insert_token("t-live", id, 2_000).unwrap();
        cat.insert_token("t-old", id, 1_000).unwrap();
        assert_eq!(cat.token_user("t-live", 1_500).unwrap().unwrap().id, id);
        assert!(cat.token_user("t-old", 1_500).unwrap().is_none());
        assert!(
            cat.token_user("t-live", 2_000).unwrap().is_none(),
            "expired at its expiry time"
        );
        assert!(cat.token_user("nope", 0).unwrap().is_none());
        assert_eq!(cat.delete_expired_tokens(1_500).unwrap(), 1);
        cat.delete_token("t-live").unwrap();
        assert!(cat.token_user("t-live", 1_500).unwrap().is_none());
        assert!(matches!(
            cat.insert_token("t", 999, 1),
            Err(CatalogError::NotFound(_))
        ));
        cat.insert_token("dup", id, 5).unwrap();
        assert!(matches!(
            cat.insert_token("dup", id, 5),
            Err(CatalogError::Conflict(_))
        ));
    }

    #[test]
    fn deleting_a_user_takes_their_tokens_and_playlists() {
        let cat = memory();
        let id = user(&cat, "erin");
        let other = user(&cat, "frank");
        cat.insert_token("tok", id, i64::MAX).unwrap();
        let new = CreatePlaylist {
            name: "Mine".into(),
            public: true,
        };
        let list = cat.create_playlist(id, &new, 1).unwrap();
        cat.delete_user(id).unwrap();
        assert!(cat.token_user("tok", 0).unwrap().is_none());
        assert!(matches!(
            cat.playlist(list.id, other),
            Err(CatalogError::NotFound(_))
        ));
        assert_eq!(cat.users().unwrap().len(), 1);
    }
}
