//! App passwords and API keys of third-party clients. The catalog stores only what checking
//! one needs (`secret`, see SQLite's V7 migration) and never hands it out in listings.

use super::error::Context;
use super::pool::Tx;
use super::rows::{self, get};
use super::users::{ensure_user, lookup_text, user_from_row, USER_COLUMNS};
use crate::text::name_key;
use crate::{validate, AppPasswordSecrets, CatalogError, CatalogResult};
use cadenza_api::{ClientCredential, CredentialId, CredentialKind, User, UserId};
use postgres::Row;

const COLUMNS: &str = "id, user_id, kind, name, created_at, last_used_at";

fn credential_from_row(row: &Row) -> CatalogResult<ClientCredential> {
    let kind: String = get(row, 2)?;
    Ok(ClientCredential {
        id: get(row, 0)?,
        user_id: get(row, 1)?,
        kind: kind
            .parse()
            .map_err(|e: String| CatalogError::Storage(format!("reading a credential: {e}")))?,
        name: get(row, 3)?,
        created_at: get(row, 4)?,
        last_used_at: get(row, 5)?,
    })
}

pub(crate) fn create(
    tx: &mut Tx<'_>,
    user: UserId,
    kind: CredentialKind,
    name: &str,
    secret: &str,
    now: i64,
) -> CatalogResult<ClientCredential> {
    ensure_user(tx, user)?;
    // Two creations at once must not both pass the limit.
    tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user])
        .ctx("locking a user")?;
    let held = rows::count(
        tx,
        "SELECT count(*) FROM client_credentials WHERE user_id = $1",
        &[&user],
        "counting credentials",
    )?;
    let name = validate::credential(user, name, secret, held)?;
    if secret.contains('\0') {
        return Err(CatalogError::Invalid(
            "credential secret contains a NUL character".into(),
        ));
    }
    let sql = format!(
        "INSERT INTO client_credentials (user_id, kind, name, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    let row = tx
        .query_one(&sql, &[&user, &kind.as_str(), &name, &secret, &now])
        .ctx("storing a credential")?;
    credential_from_row(&row)
}

pub(crate) fn list(tx: &mut Tx<'_>, user: UserId) -> CatalogResult<Vec<ClientCredential>> {
    ensure_user(tx, user)?;
    rows::collect(
        tx,
        &format!("SELECT {COLUMNS} FROM client_credentials WHERE user_id = $1 ORDER BY id"),
        &[&user],
        credential_from_row,
        "listing credentials",
    )
}

pub(crate) fn delete(tx: &mut Tx<'_>, user: UserId, id: CredentialId) -> CatalogResult<()> {
    let deleted = tx
        .execute(
            "DELETE FROM client_credentials WHERE id = $1 AND user_id = $2",
            &[&id, &user],
        )
        .ctx("revoking a credential")?;
    if deleted == 0 {
        return Err(CatalogError::NotFound(format!(
            "user {user} has no app password or API key {id}"
        )));
    }
    Ok(())
}

pub(crate) fn app_password_secrets(
    tx: &mut Tx<'_>,
    username: &str,
) -> CatalogResult<Option<AppPasswordSecrets>> {
    let Some(username) = lookup_text(username) else {
        return Ok(None);
    };
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username_key = $1");
    let Some(row) = tx
        .query_opt(&sql, &[&name_key(username)])
        .ctx("reading a user")?
    else {
        return Ok(None);
    };
    let user = user_from_row(&row)?;
    let secrets = rows::collect(
        tx,
        "SELECT id, secret FROM client_credentials \
         WHERE user_id = $1 AND kind = 'app_password' ORDER BY id",
        &[&user.id],
        |r| Ok((get(r, 0)?, get(r, 1)?)),
        "reading app passwords",
    )?;
    Ok(Some((user, secrets)))
}

pub(crate) fn api_key_user(
    tx: &mut Tx<'_>,
    secret: &str,
) -> CatalogResult<Option<(User, CredentialId)>> {
    let Some(secret) = lookup_text(secret) else {
        return Ok(None);
    };
    tx.query_opt(
        "SELECT u.id, u.username, u.role, u.created_at, c.id FROM client_credentials c \
         JOIN users u ON u.id = c.user_id WHERE c.kind = 'api_key' AND c.secret = $1",
        &[&secret],
    )
    .ctx("checking an API key")?
    .map(|r| Ok((user_from_row(&r)?, get(&r, 4)?)))
    .transpose()
}

pub(crate) fn touch(tx: &mut Tx<'_>, id: CredentialId, now: i64) -> CatalogResult<()> {
    tx.execute(
        "UPDATE client_credentials SET last_used_at = $2 WHERE id = $1",
        &[&id, &now],
    )
    .ctx("recording a credential's use")?;
    Ok(())
}
