//! Builders shared by the SQLite-only unit tests (the behaviour suite has the rest).

pub(crate) use crate::behaviour::{cover, hash, song, user};
use crate::SqliteCatalog;

pub(crate) fn memory() -> SqliteCatalog {
    SqliteCatalog::open_in_memory().unwrap()
}

impl SqliteCatalog {
    /// The first column of the rows `sql` (with `?1` = `param`) returns, for tests that look
    /// behind the catalog's back.
    pub(crate) fn raw_column(&self, sql: &str, param: i64) -> Vec<i64> {
        self.pool
            .write(|tx| super::rows::collect(tx, sql, param, |r| r.get(0), "test"))
            .unwrap()
    }
}
