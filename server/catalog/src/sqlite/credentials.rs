//! App passwords and API keys of third-party clients. The catalog stores only what checking
//! one needs (`secret`, see the V7 migration) and never hands it out in listings.

use super::error::{not_found, Context};
use super::text::{name_key, required};
use super::users::{ensure_user, user_from_row, USER_COLUMNS};
use crate::{AppPasswordSecrets, CatalogError, CatalogResult};
use cadenza_api::{ClientCredential, CredentialId, CredentialKind, User, UserId};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};

const MAX_NAME_CHARS: usize = 100;
/// Enough for every client and device a listener owns; stops a script from filling the table.
pub(crate) const MAX_PER_USER: u64 = 100;

const COLUMNS: &str = "id, user_id, kind, name, created_at, last_used_at";

fn credential_from_row(row: &Row<'_>) -> rusqlite::Result<ClientCredential> {
    let kind: String = row.get(2)?;
    Ok(ClientCredential {
        id: row.get(0)?,
        user_id: row.get(1)?,
        kind: kind.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(2, Type::Text, e.into())
        })?,
        name: row.get(3)?,
        created_at: row.get(4)?,
        last_used_at: row.get(5)?,
    })
}

pub(crate) fn create(
    conn: &Connection,
    user: UserId,
    kind: CredentialKind,
    name: &str,
    secret: &str,
    now: i64,
) -> CatalogResult<ClientCredential> {
    let name = required("credential name", name, MAX_NAME_CHARS)?;
    if secret.is_empty() {
        return Err(CatalogError::Invalid("credential secret is empty".into()));
    }
    ensure_user(conn, user)?;
    let held = super::rows::count(
        conn,
        "SELECT count(*) FROM client_credentials WHERE user_id = ?1",
        &[&user],
        "counting credentials",
    )?;
    if held >= MAX_PER_USER {
        return Err(CatalogError::Invalid(format!(
            "user {user} already has {held} app passwords and API keys; revoke unused ones first"
        )));
    }
    conn.prepare_cached(
        "INSERT INTO client_credentials (user_id, kind, name, secret, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute((user, kind.as_str(), &name, secret, now)))
    .ctx("storing a credential")?;
    one(conn, conn.last_insert_rowid())
}

fn one(conn: &Connection, id: CredentialId) -> CatalogResult<ClientCredential> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM client_credentials WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], credential_from_row).optional())
    .ctx("reading a credential")?
    .ok_or_else(|| not_found("credential", id))
}

pub(crate) fn list(conn: &Connection, user: UserId) -> CatalogResult<Vec<ClientCredential>> {
    ensure_user(conn, user)?;
    super::rows::collect(
        conn,
        &format!("SELECT {COLUMNS} FROM client_credentials WHERE user_id = ?1 ORDER BY id"),
        user,
        credential_from_row,
        "listing credentials",
    )
}

pub(crate) fn delete(conn: &Connection, user: UserId, id: CredentialId) -> CatalogResult<()> {
    let deleted = conn
        .prepare_cached("DELETE FROM client_credentials WHERE id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute((id, user)))
        .ctx("revoking a credential")?;
    if deleted == 0 {
        return Err(CatalogError::NotFound(format!(
            "user {user} has no app password or API key {id}"
        )));
    }
    Ok(())
}

pub(crate) fn app_password_secrets(
    conn: &Connection,
    username: &str,
) -> CatalogResult<Option<AppPasswordSecrets>> {
    let user = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username_key = ?1"
        ))
        .and_then(|mut s| s.query_row([name_key(username)], user_from_row).optional())
        .ctx("reading a user")?;
    let Some(user) = user else { return Ok(None) };
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, secret FROM client_credentials \
             WHERE user_id = ?1 AND kind = 'app_password' ORDER BY id",
        )
        .ctx("reading app passwords")?;
    let secrets = stmt
        .query_map([user.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx("reading app passwords")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading app passwords")?;
    Ok(Some((user, secrets)))
}

pub(crate) fn api_key_user(
    conn: &Connection,
    secret: &str,
) -> CatalogResult<Option<(User, CredentialId)>> {
    conn.prepare_cached(
        "SELECT u.id, u.username, u.role, u.created_at, c.id FROM client_credentials c \
         JOIN users u ON u.id = c.user_id WHERE c.kind = 'api_key' AND c.secret = ?1",
    )
    .and_then(|mut s| {
        s.query_row([secret], |r| Ok((user_from_row(r)?, r.get(4)?)))
            .optional()
    })
    .ctx("checking an API key")
}

pub(crate) fn touch(conn: &Connection, id: CredentialId, now: i64) -> CatalogResult<()> {
    conn.prepare_cached("UPDATE client_credentials SET last_used_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute((id, now)))
        .ctx("recording a credential's use")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{memory, user};
    use crate::{Catalog, CatalogError};
    use cadenza_api::CredentialKind;

    #[test]
    fn credentials_are_listed_without_secrets_checked_and_revoked() {
        let cat = memory();
        let alice = user(&cat, "Alice");
        let bob = user(&cat, "bob");
        let phone = cat
            .create_client_credential(alice, CredentialKind::AppPassword, "phone", "seed-1", 10)
            .unwrap();
        let key = cat
            .create_client_credential(alice, CredentialKind::ApiKey, " desktop ", "hash-1", 11)
            .unwrap();
        assert_eq!((key.name.as_str(), key.last_used_at), ("desktop", None));

        let (found, secrets) = cat.app_password_secrets("alice").unwrap().unwrap();
        assert_eq!(found.id, alice, "usernames match as logins do");
        assert_eq!(secrets, vec![(phone.id, "seed-1".to_string())]);
        assert!(cat.app_password_secrets("carol").unwrap().is_none());
        let (owner, id) = cat.api_key_user("hash-1").unwrap().unwrap();
        assert_eq!((owner.id, id), (alice, key.id));
        assert!(
            cat.api_key_user("seed-1").unwrap().is_none(),
            "kinds stay apart"
        );

        cat.touch_client_credential(key.id, 99).unwrap();
        let listed = cat.client_credentials(alice).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].last_used_at, Some(99));

        let other = cat.delete_client_credential(bob, key.id).unwrap_err();
        assert!(
            matches!(other, CatalogError::NotFound(_)),
            "not bob's to revoke"
        );
        cat.delete_client_credential(alice, key.id).unwrap();
        assert!(cat.api_key_user("hash-1").unwrap().is_none());
        assert!(matches!(
            cat.create_client_credential(alice, CredentialKind::ApiKey, "  ", "h", 1),
            Err(CatalogError::Invalid(_))
        ));

        cat.delete_user(alice).unwrap();
        assert!(cat.app_password_secrets("alice").unwrap().is_none());
        assert!(matches!(
            cat.client_credentials(alice),
            Err(CatalogError::NotFound(_))
        ));
    }
}
