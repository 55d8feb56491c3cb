//! Users and their session tokens.

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get};
use crate::text::name_key;
use crate::{not_found, validate, CatalogError, CatalogResult, UserCredentials};
use cadenza_api::{Role, User, UserId};
use postgres::Row;

pub(crate) const USER_COLUMNS: &str = "id, username, role, created_at";

pub(crate) fn user_from_row(row: &Row) -> CatalogResult<User> {
    let role: String = get(row, 2)?;
    let role = role
        .parse::<Role>()
        .map_err(|e| CatalogError::Storage(format!("reading a user: {e}")))?;
    Ok(User {
        id: get(row, 0)?,
        username: get(row, 1)?,
        role,
        created_at: get(row, 3)?,
    })
}

/// Text a user typed, usable as a query parameter: PostgreSQL text cannot hold NUL, and
/// nothing stored contains one, so such text matches nothing.
pub(crate) fn lookup_text(text: &str) -> Option<&str> {
    (!text.contains('\0')).then_some(text)
}

pub(crate) fn create_user(
    tx: &mut Tx<'_>,
    username: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> CatalogResult<User> {
    let username = validate::new_user(username, password_hash)?;
    let key = name_key(&username);
    let taken = tx
        .query_opt(
            "SELECT username FROM users WHERE username_key = $1",
            &[&key],
        )
        .ctx("checking the username")?;
    if let Some(row) = taken {
        let existing: String = get(&row, 0)?;
        return Err(CatalogError::Conflict(format!(
            "user \"{existing}\" already exists"
        )));
    }
    let row = tx
        .query_one(
            "INSERT INTO users (username, username_key, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&username, &key, &password_hash, &role.as_str(), &now],
        )
        .ctx("creating a user")?;
    Ok(User {
        id: get(&row, 0)?,
        username,
        role,
        created_at: now,
    })
}

pub(crate) fn user(tx: &mut Tx<'_>, id: UserId) -> CatalogResult<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    match tx.query_opt(&sql, &[&id]).ctx("reading a user")? {
        Some(row) => user_from_row(&row),
        None => Err(not_found("user", id)),
    }
}

/// Fails with `NotFound` unless the user exists.
pub(crate) fn ensure_user(tx: &mut Tx<'_>, id: UserId) -> CatalogResult<()> {
    if rows::exists(tx, "users", id, "checking a user")? {
        Ok(())
    } else {
        Err(not_found("user", id))
    }
}

pub(crate) fn credentials(
    tx: &mut Tx<'_>,
    username: &str,
) -> CatalogResult<Option<UserCredentials>> {
    let Some(username) = lookup_text(username) else {
        return Ok(None);
    };
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username_key = $1");
    tx.query_opt(&sql, &[&name_key(username)])
        .ctx("reading credentials")?
        .map(|row| {
            Ok(UserCredentials {
                user: user_from_row(&row)?,
                password_hash: get(&row, 4)?,
            })
        })
        .transpose()
}

pub(crate) fn users(tx: &mut Tx<'_>) -> CatalogResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username_key COLLATE \"C\"");
    rows::collect(tx, &sql, &[], user_from_row, "listing users")
}

pub(crate) fn user_count(tx: &mut Tx<'_>) -> CatalogResult<u64> {
    rows::count(tx, "SELECT count(*) FROM users", &[], "counting users")
}

pub(crate) fn set_role(tx: &mut Tx<'_>, id: UserId, role: Role) -> CatalogResult<User> {
    let changed = tx
        .execute(
            "UPDATE users SET role = $2 WHERE id = $1",
            &[&id, &role.as_str()],
        )
        .ctx("changing a role")?;
    if changed == 0 {
        return Err(not_found("user", id));
    }
    user(tx, id)
}

pub(crate) fn set_password_hash(tx: &mut Tx<'_>, id: UserId, hash: &str) -> CatalogResult<()> {
    validate::password_hash(hash)?;
    let changed = tx
        .execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&id, &hash],
        )
        .ctx("changing a password")?;
    if changed == 0 {
        return Err(not_found("user", id));
    }
    tx.execute("DELETE FROM tokens WHERE user_id = $1", &[&id])
        .ctx("revoking the sessions of a user whose password changed")?;
    Ok(())
}

/// Tokens, playlists, plays and resume positions go with the user (foreign-key cascades).
pub(crate) fn delete_user(tx: &mut Tx<'_>, id: UserId) -> CatalogResult<()> {
    let deleted = tx
        .execute("DELETE FROM users WHERE id = $1", &[&id])
        .ctx("deleting a user")?;
    if deleted == 0 {
        return Err(not_found("user", id));
    }
    Ok(())
}

pub(crate) fn insert_token(
    tx: &mut Tx<'_>,
    token_hash: &str,
    user: UserId,
    expires_at: i64,
) -> CatalogResult<()> {
    validate::token_hash(token_hash)?;
    ensure_user(tx, user)?;
    tx.execute(
        "INSERT INTO tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        &[&token_hash, &user, &expires_at],
    )
    .ctx("storing a session token")?;
    Ok(())
}

/// The session lookup every authenticated request makes (unless cached).
pub(crate) fn token_user(
    tx: &mut Tx<'_>,
    token_hash: &str,
    now: i64,
) -> CatalogResult<Option<User>> {
    let Some(token_hash) = lookup_text(token_hash) else {
        return Ok(None);
    };
    tx.query_opt(
        "SELECT u.id, u.username, u.role, u.created_at FROM tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.expires_at > $2",
        &[&token_hash, &now],
    )
    .ctx("checking a session token")?
    .map(|row| user_from_row(&row))
    .transpose()
}

pub(crate) fn delete_token(tx: &mut Tx<'_>, token_hash: &str) -> CatalogResult<()> {
    if let Some(token_hash) = lookup_text(token_hash) {
        tx.execute("DELETE FROM tokens WHERE token_hash = $1", &[&token_hash])
            .ctx("deleting a session token")?;
    }
    Ok(())
}

pub(crate) fn delete_expired_tokens(tx: &mut Tx<'_>, now: i64) -> CatalogResult<u64> {
    tx.execute("DELETE FROM tokens WHERE expires_at <= $1", &[&now])
        .ctx("deleting expired tokens")
}
