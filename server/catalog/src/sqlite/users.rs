//! Users and their session tokens.

use super::error::{not_found, Context};
use super::text::name_key;
use crate::{validate, CatalogError, CatalogResult, UserCredentials};
use cadenza_api::{Role, User, UserId};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

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
    let username = validate::new_user(username, password_hash)?;
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
    validate::password_hash(hash)?;
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
    validate::token_hash(token_hash)?;
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
