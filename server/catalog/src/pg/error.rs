//! Mapping PostgreSQL errors to [`CatalogError`], and telling a dead connection from a
//! failed statement (the first makes the router try another node).

use crate::{CatalogError, CatalogResult};
use postgres::error::SqlState;
use std::error::Error as _;

/// What kind of failure a statement met, as far as routing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server did not answer or went away (refused, reset, shutting down): another node
    /// may answer, and this one is marked down until the health check sees it back.
    Unreachable,
    /// A standby cancelled the read to replay WAL, or two writers deadlocked or failed to
    /// serialize: running the same transaction again will most likely work.
    Retry,
    /// Connected to a server that cannot write (a standby given as the primary).
    ReadOnly,
    /// Anything else: the statement itself failed.
    Statement,
}

pub(crate) fn classify(e: &postgres::Error) -> Failure {
    if e.is_closed() {
        return Failure::Unreachable;
    }
    match e.code() {
        Some(code) => {
            let code = code.code();
            if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03") {
                Failure::Unreachable
            } else if matches!(code, "40001" | "40P01") {
                Failure::Retry
            } else if code == SqlState::READ_ONLY_SQL_TRANSACTION.code() {
                Failure::ReadOnly
            } else {
                Failure::Statement
            }
        }
        // No SQLSTATE: an I/O failure or timeout on the socket, or a client-side error
        // (a value that does not convert), which has no I/O source.
        None if e.source().is_some_and(|s| s.is::<std::io::Error>()) => Failure::Unreachable,
        None if e.to_string().contains("timed out") => Failure::Unreachable,
        None => Failure::Statement,
    }
}

/// The server's own message (with its detail) when there is one, else the client's.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Adds what was being done to an error: `.ctx("inserting a song")`.
pub(crate) trait Context<T> {
    fn ctx(self, doing: &str) -> CatalogResult<T>;
}

impl<T> Context<T> for Result<T, postgres::Error> {
    fn ctx(self, doing: &str) -> CatalogResult<T> {
        self.map_err(|e| storage(doing, &e))
    }
}

/// A unique violation becomes `Conflict`, an unreachable server `Unavailable`, anything
/// else `Storage`.
pub(crate) fn storage(doing: &str, e: &postgres::Error) -> CatalogError {
    let message = format!("{doing}: {}", describe(e));
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        CatalogError::Conflict(message)
    } else if classify(e) == Failure::Unreachable {
        CatalogError::Unavailable(message)
    } else {
        CatalogError::Storage(message)
    }
}

/// A value read from the database that does not fit the wire type (a corrupt row).
pub(crate) fn out_of_range(column: usize, value: i64) -> CatalogError {
    CatalogError::Storage(format!(
        "reading a row: column {column} holds {value}, which is out of range"
    ))
}
