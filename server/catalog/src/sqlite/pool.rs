//! Connections: one writer behind a mutex and a few read-only readers.
//!
//! In WAL mode readers see the last committed state and never wait for the writer, so a
//! long upload transaction does not stall browsing. Writes are serialised here, in process,
//! which is cheaper and fairer than SQLite's busy-retry loop.

use super::error::Context;
use super::schema;
use crate::{CatalogError, CatalogResult};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache of the writer connection, in KiB: it touches index pages all over the file
/// during large imports.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page cache of each connection otherwise, in KiB. Small on purpose: the OS caches the
/// file anyway, and a search reads few pages twice (4 readers x 16 MiB, the earlier
/// setting, was most of the server's idle memory after a search load).
const CACHE_KIB: i64 = 4 * 1024;
/// Prepared statements kept per connection; the catalog uses fewer distinct ones.
const STATEMENT_CACHE: usize = 128;

pub(crate) struct Pool {
    writer: Mutex<Connection>,
    /// Empty for an in-memory catalog, whose single connection also serves reads.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// Creates the folder the catalog file goes in, when missing.
pub(crate) fn create_parent_dir(path: &Path) -> CatalogResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            CatalogError::Storage(format!(
                "creating the catalog directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

impl Pool {
    /// Opens (creating when missing) the database file, migrates it, and opens `readers`
    /// read-only connections beside the writer.
    pub(crate) fn open(path: &Path, readers: usize) -> CatalogResult<Pool> {
        create_parent_dir(path)?;
        let opening = format!("opening the catalog {}", path.display());
        let mut writer = Connection::open(path).ctx(&opening)?;
        configure(&writer).ctx(&opening)?;
        // The writer touches index pages all over the file during large imports.
        writer
            .pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
            .ctx(&opening)?;
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .ctx("switching the catalog to WAL mode")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CatalogError::Storage(format!(
                "the catalog {} cannot use WAL mode (got `{mode}`); put it on a local file system",
                path.display()
            )));
        }
        schema::migrate(&mut writer)?;

        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = (0..readers.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(path, flags).ctx(&opening)?;
                configure(&conn).ctx(&opening)?;
                Ok(Mutex::new(conn))
            })
            .collect::<CatalogResult<Vec<_>>>()?;
        Ok(Pool {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database on a single connection (tests, tools). Reads queue
    /// behind writes here: an in-memory database cannot be shared in WAL mode.
    pub(crate) fn in_memory() -> CatalogResult<Pool> {
        let mut conn = Connection::open_in_memory().ctx("opening an in-memory catalog")?;
        configure(&conn).ctx("opening an in-memory catalog")?;
        schema::migrate(&mut conn)?;
        Ok(Pool {
            writer: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` in an immediate write transaction, committed when `f` succeeds and rolled
    /// back when it fails.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a catalog write")?;
        let value = f(&tx)?;
        tx.commit().ctx("committing a catalog write")?;
        Ok(value)
    }

    /// Runs `f` in a read transaction, so every query in it sees the same snapshot
    /// (a page and its total agree).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        let mut conn = self.reader();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .ctx("starting a catalog read")?;
        let value = f(&tx)?;
        tx.commit().ctx("ending a catalog read")?;
        Ok(value)
    }

    /// How many read-only connections there are (0 for an in-memory catalog).
    pub(crate) fn readers(&self) -> usize {
        self.readers.len()
    }

    /// A free reader if there is one, else waits for the next in turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return lock(&self.writer);
        }
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(guard) = self.readers[(start + i) % n].try_lock() {
                return guard;
            }
        }
        lock(&self.readers[start])
    }
}

impl Drop for Pool {
    /// Closes the readers first, then checkpoints the whole write-ahead log into the
    /// database file and empties it, so a closed catalog is one plain file (a bulk load
    /// otherwise leaves hundreds of MB of WAL that every later open reads through). A
    /// read-only connection that closes last cannot checkpoint, hence the order.
    fn drop(&mut self) {
        self.readers.clear();
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        // Busy when another process still reads the file: its last close checkpoints.
        if let Err(e) = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::debug!("checkpointing the catalog on close: {e}");
        }
    }
}

/// Locks a connection. A panic elsewhere while holding it poisons the mutex but leaves
/// the connection usable (its transaction guard rolled back while unwinding); any
/// transaction still open is rolled back here to be sure.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    let guard = m.lock().unwrap_or_else(PoisonError::into_inner);
    if !guard.is_autocommit() {
        if let Err(e) = guard.execute_batch("ROLLBACK") {
            tracing::warn!("rolling back a transaction left open by a panic: {e}");
        }
    }
    guard
}

/// Per-connection settings (WAL itself is a property of the file).
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // No memory map: FTS5 reads its index through blob handles, which copy pages either
    // way, so a map does not make search faster. Mapped pages would stay in the resident
    // set once per connection, where plain reads go into the bounded page cache below.
    conn.pragma_update(None, "mmap_size", 0)?;
    // Negative means KiB.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Without the query planner stability guarantee SQLite marks statements with a
    // `column = ?` term to be re-planned for the bound value, and the statement cache's
    // clear_bindings expires them: every cached statement was re-compiled on each use
    // (996 re-prepares in 1,000 token lookups). Our plans do not depend on values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    super::rank::register(conn)
}

#[cfg(test)]
mod tests {
    use crate::sqlite::testkit::{song, user};
    use crate::sqlite::users;
    use crate::{Catalog, CatalogError, SqliteCatalog};
    use rusqlite::StatementStatus;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_file_catalog_survives_reopening_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dirs/catalog.db");
        {
            let cat = SqliteCatalog::open(&path).unwrap();
            cat.insert_song(&song(1, "Kept", "A", "B"), 0).unwrap();
            user(&cat, "admin");
        }
        let cat = SqliteCatalog::open(&path).unwrap();
        assert_eq!(
            cat.songs(Default::default()).unwrap().items[0].title,
            "Kept"
        );
        assert_eq!(cat.user_count().unwrap(), 1);
        let mode: String = cat
            .pool
            .read(|tx| {
                Ok(tx
                    .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                    .unwrap())
            })
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn cached_statements_are_not_recompiled_on_each_use() {
        let dir = tempfile::tempdir().unwrap();
        let cat = SqliteCatalog::open_with_readers(&dir.path().join("c.db"), 1).unwrap();
        let id = user(&cat, "admin");
        cat.insert_token("hash", id, 100).unwrap();
        let reprepares = cat
            .pool
            .read(|tx| {
                for now in 0..5 {
                    // The statement goes back into the cache after each lookup.
                    let found = users::token_user(tx, "hash", now)?;
                    assert_eq!(found.map(|u| u.id), Some(id));
                }
                let stmt = tx.prepare_cached(users::TOKEN_USER).unwrap();
                Ok(stmt.get_status(StatementStatus::RePrepare))
            })
            .unwrap();
        assert_eq!(
            reprepares, 0,
            "SQLite re-compiled the cached session lookup: is the query planner stability guarantee off?"
        );
    }

    #[test]
    fn closing_leaves_no_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let wal = dir.path().join("c.db-wal");
        let cat = SqliteCatalog::open_with_readers(&path, 2).unwrap();
        let songs: Vec<_> = (0..200).map(|i| song(i, "Logged", "A", "B")).collect();
        cat.bulk_insert_songs(&songs, 0).unwrap();
        // A reader holds a snapshot, as the server's readers do between requests.
        assert_eq!(cat.songs(Default::default()).unwrap().total, 200);
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        drop(cat);
        let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(left, 0, "the WAL outlived the catalog");
        let cat = SqliteCatalog::open(&path).unwrap();
        assert_eq!(cat.songs(Default::default()).unwrap().total, 200);
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(SqliteCatalog::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = SqliteCatalog::open(&path).err().unwrap();
        assert!(
            matches!(&err, CatalogError::Storage(m) if m.contains("schema version 999")),
            "{err}"
        );
    }

    #[test]
    fn readers_do_not_wait_for_an_open_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let cat = SqliteCatalog::open_with_readers(&dir.path().join("c.db"), 2).unwrap();
        cat.insert_song(&song(1, "Before", "A", "B"), 0).unwrap();
        let (in_tx, wait_in_tx) = mpsc::channel();
        let (release, wait_release) = mpsc::channel::<()>();
        let cat = &cat;
        std::thread::scope(|s| {
            let writer = s.spawn(move || {
                cat.pool.write(|tx| {
                    let mut names = super::super::library::Names::default();
                    let during = song(2, "During", "A", "B");
                    super::super::library::insert_song(
                        tx,
                        &during,
                        0,
                        &mut names,
                        super::super::library::Indexing::Now,
                    )?;
                    in_tx.send(()).unwrap();
                    wait_release.recv_timeout(Duration::from_secs(10)).unwrap();
                    Ok(())
                })
            });
            wait_in_tx.recv().unwrap();
            // The write transaction is open and uncommitted: readers see the old state,
            // from several threads at once, without waiting for it.
            let readers: Vec<_> = (0..4)
                .map(|_| s.spawn(move || cat.songs(Default::default()).unwrap().total))
                .collect();
            for r in readers {
                assert_eq!(r.join().unwrap(), 1);
            }
            assert!(cat
                .search("before", Default::default(), Default::default(), 0)
                .is_ok());
            release.send(()).unwrap();
            writer.join().unwrap().unwrap();
        });
        assert_eq!(cat.songs(Default::default()).unwrap().total, 2);
    }

    #[test]
    fn a_failed_write_rolls_back_everything() {
        let dir = tempfile::tempdir().unwrap();
        let cat = SqliteCatalog::open(&dir.path().join("c.db")).unwrap();
        let result: Result<(), CatalogError> = cat.pool.write(|tx| {
            super::super::users::create_user(tx, "ghost", "h", cadenza_api::Role::Admin, 0)?;
            Err(CatalogError::Invalid("changed my mind".into()))
        });
        assert!(result.is_err());
        assert_eq!(cat.user_count().unwrap(), 0);
    }
}
