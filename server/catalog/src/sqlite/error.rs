//! Mapping SQLite errors to [`CatalogError`] with a word on what was being done.

pub(crate) use crate::{not_found, to_i64};
use crate::{CatalogError, CatalogResult};
use rusqlite::ErrorCode;

/// Adds context to a rusqlite result: `.ctx("inserting song")`.
pub(crate) trait Context<T> {
    fn ctx(self, doing: &str) -> CatalogResult<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, doing: &str) -> CatalogResult<T> {
        self.map_err(|e| storage(doing, e))
    }
}

/// A unique or primary-key violation becomes `Conflict`, anything else `Storage`.
///
/// Call sites check the names users care about first and produce a friendlier conflict
/// message; this is the backstop that still never reports a taken name as a 500.
pub(crate) fn storage(doing: &str, e: rusqlite::Error) -> CatalogError {
    if is_unique_violation(&e) {
        CatalogError::Conflict(format!("{doing}: {e}"))
    } else {
        CatalogError::Storage(format!("{doing}: {e}"))
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn unique_violations_are_conflicts_and_other_failures_storage() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT UNIQUE); INSERT INTO t VALUES ('a');")
            .unwrap();
        let dup = conn
            .execute("INSERT INTO t VALUES ('a')", [])
            .ctx("adding x");
        assert!(matches!(dup, Err(CatalogError::Conflict(m)) if m.starts_with("adding x: ")));
        let bad = conn
            .execute("INSERT INTO nope VALUES (1)", [])
            .ctx("adding y");
        assert!(matches!(bad, Err(CatalogError::Storage(m)) if m.contains("no such table")));
    }

    #[test]
    fn not_found_names_the_row() {
        assert_eq!(not_found("song", 42).to_string(), "song 42 does not exist");
        assert!(to_i64("size", u64::MAX).is_err());
        assert_eq!(to_i64("size", 5).unwrap(), 5);
    }
}
