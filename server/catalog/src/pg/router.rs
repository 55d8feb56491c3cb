//! Which database answers: writes go to the primary, reads to a replica when one is fresh
//! enough, and a health check in the background keeps track of who is up and how far
//! behind each replica is. The module comment of `postgres.rs` explains the rules and why
//! they never show a user a stale view of their own writes.

use super::connect::Target;
use super::error::{classify, describe, storage, Failure};
use super::pool::{Mode, Pool, Tx};
use crate::{CatalogError, CatalogNode, CatalogResult};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the health check asks every database how it is.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long the health check waits to connect before calling a database unreachable.
const CHECK_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A write that deadlocked or failed to serialize is tried this many times in all.
const WRITE_ATTEMPTS: usize = 3;
/// Retry-After of a write refused because the primary is down, in seconds.
pub const READ_ONLY_RETRY_SECS: u64 = 5;

/// Whose data a read shows, which decides where it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The shared catalog (songs, albums, search, the hot chart): any replica within
    /// `max_replica_lag` that has replayed this process's own writes.
    Catalog,
    /// What a user writes themselves (sessions, playlists, positions): the primary while it
    /// is up, so the next request sees the last write, whichever server copy made it.
    Own,
}

pub(crate) struct Router {
    primary: Node,
    replicas: Vec<Node>,
    max_lag: Duration,
    /// Writes this process has committed, counted when each commit returns.
    writes: AtomicU64,
    /// How far the writes counted so far are known to reach in the primary's WAL.
    written: Mutex<Written>,
    next_replica: AtomicUsize,
}

/// A WAL position at or past the commit of every write counted up to `writes`. A replica
/// that has not replayed that far could hide one of them, so catalog reads avoid it.
///
/// The position is not read after each write (that would be one more round trip per
/// write): the health check reads the primary's insert position, which is past every
/// commit that returned before it asked, and pins it to the writes counted by then. A
/// write newer than the last check has no known position yet, so catalog reads go to the
/// primary until the next check, as they would anyway: a replica's position, measured
/// at the last check, is older than that write.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    writes: u64,
    position: u64,
}

pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) pool: Pool,
    primary: bool,
    status: Mutex<Status>,
}

#[derive(Debug, Clone, Default)]
struct Status {
    up: bool,
    /// How far behind the primary (replicas; `None` while unknown).
    lag: Option<Duration>,
    /// WAL position replayed (replicas) or written (primary) at the last check.
    position: u64,
    error: Option<String>,
}

impl Node {
    fn new(target: Target, connections: usize, primary: bool) -> Node {
        Node {
            name: target.name,
            pool: Pool::new(target.config, connections),
            primary,
            status: Mutex::new(Status::default()),
        }
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn up(&self) -> bool {
        self.status().up
    }

    /// Marks the node down after `error`; its connections are not reused.
    fn down(&self, error: &str) {
        let mut status = self.status();
        let was_up = status.up;
        status.up = false;
        status.error = Some(error.to_string());
        drop(status);
        self.pool.forget_all();
        if was_up {
            let what = if self.primary {
                "writes are refused until it is back"
            } else {
                "reads go to the other databases"
            };
            tracing::warn!(
                "catalog database {} is unreachable ({error}); {what}",
                self.name
            );
        }
    }

    fn checked(&self, position: u64, lag: Option<Duration>) {
        let mut status = self.status();
        let was_up = status.up;
        *status = Status {
            up: true,
            lag,
            position,
            error: None,
        };
        drop(status);
        if !was_up {
            tracing::info!("catalog database {} answers again", self.name);
        }
    }
}

impl Router {
    /// A router over a primary that has just answered and replicas not checked yet.
    pub(crate) fn new(
        primary: Target,
        replicas: Vec<Target>,
        max_lag: Duration,
        connections: usize,
    ) -> Router {
        let primary = Node::new(primary, connections, true);
        primary.status().up = true;
        Router {
            primary,
            replicas: replicas
                .into_iter()
                .map(|t| Node::new(t, connections, false))
                .collect(),
            max_lag,
            writes: AtomicU64::new(0),
            written: Mutex::new(Written::default()),
            next_replica: AtomicUsize::new(0),
        }
    }

    pub(crate) fn primary(&self) -> &Node {
        &self.primary
    }

    /// Runs `f` in a write transaction on the primary. A deadlock or serialization failure
    /// runs it again; a primary that does not answer makes it [`CatalogError::ReadOnly`],
    /// with nothing written.
    pub(crate) fn write<T>(&self, f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>) -> CatalogResult<T> {
        self.write_as(Mode::Write, f)
    }

    /// Like [`write`](Self::write), for a write made in one statement (which is its own
    /// transaction), or whose statements after the first only read: two round trips
    /// fewer.
    pub(crate) fn write_single<T>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        self.write_as(Mode::Single, f)
    }

    fn write_as<T>(
        &self,
        mode: Mode,
        f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        let primary = &self.primary;
        if !primary.up() {
            return Err(self.read_only());
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = match primary.pool.get() {
                Ok(conn) => conn,
                Err(e) => return Err(self.write_failed(storage("connecting", &e), classify(&e))),
            };
            match conn.transaction(mode, &f) {
                Ok(value) => {
                    self.note_write();
                    return Ok(value);
                }
                Err((_, Failure::Retry)) if attempt < WRITE_ATTEMPTS => continue,
                Err((e, failure)) => return Err(self.write_failed(e, failure)),
            }
        }
    }

    fn write_failed(&self, error: CatalogError, failure: Failure) -> CatalogError {
        match failure {
            Failure::Unreachable => {
                self.primary.down(&error.to_string());
                self.read_only()
            }
            Failure::ReadOnly => {
                self.primary
                    .down(&format!("{error} (the primary is a standby)"));
                self.read_only()
            }
            Failure::Retry | Failure::Statement => error,
        }
    }

    fn read_only(&self) -> CatalogError {
        let reason = self.primary.status().error.clone();
        CatalogError::ReadOnly(format!(
            "the primary database {} does not answer{}; nothing was changed, try again in a \
             few seconds",
            self.primary.name,
            reason.map(|r| format!(" ({r})")).unwrap_or_default()
        ))
    }

    /// Counts a committed write, so this process's catalog reads avoid the replicas until
    /// the health check knows a WAL position past it (see [`Written`]).
    pub(crate) fn note_write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    /// The WAL position a replica must have replayed to show every write of this process,
    /// `u64::MAX` while a write is newer than the last health check of the primary.
    fn written(&self) -> u64 {
        // Counted before the check's values are read: a write that lands in between makes
        // the answer "unknown", never a position short of it.
        let writes = self.writes.load(Ordering::SeqCst);
        let known = *self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if writes > known.writes {
            u64::MAX
        } else {
            known.position
        }
    }

    /// Runs `f` in a read-only snapshot on the best database for `scope`, and on the next
    /// one when that one does not answer.
    pub(crate) fn read<T>(
        &self,
        scope: Scope,
        f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        self.read_from(&self.candidates(scope), Mode::Read, &f).0
    }

    /// Like [`read`](Self::read), for a read of one statement (or of statements that need
    /// not share a snapshot): no transaction around it, two round trips fewer.
    pub(crate) fn read_single<T>(
        &self,
        scope: Scope,
        f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        self.read_from(&self.candidates(scope), Mode::Single, &f).0
    }

    /// Like [`read`](Self::read) on the catalog, but a row a replica does not have (yet)
    /// is looked for on the primary: a link to a song uploaded a moment ago works at once.
    pub(crate) fn read_by_id<T>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> CatalogResult<T> {
        let (result, node) = self.read_from(&self.candidates(Scope::Catalog), Mode::Read, &f);
        match (result, node) {
            (Err(CatalogError::NotFound(m)), Some(node)) if !node.primary => {
                if self.primary.up() {
                    self.read_from(&[&self.primary], Mode::Read, &f).0
                } else {
                    Err(CatalogError::NotFound(m))
                }
            }
            (result, _) => result,
        }
    }

    fn read_from<'n, T>(
        &self,
        nodes: &[&'n Node],
        mode: Mode,
        f: &impl Fn(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> (CatalogResult<T>, Option<&'n Node>) {
        let mut failed = Vec::new();
        for &node in nodes {
            for attempt in 0..2 {
                let mut conn = match node.pool.get() {
                    Ok(conn) => conn,
                    Err(e) if classify(&e) == Failure::Unreachable => {
                        node.down(&describe(&e));
                        failed.push(format!("{}: {}", node.name, describe(&e)));
                        break;
                    }
                    Err(e) => return (Err(storage("connecting", &e)), Some(node)),
                };
                match conn.transaction(mode, f) {
                    Ok(value) => return (Ok(value), Some(node)),
                    Err((e, Failure::Unreachable)) => {
                        node.down(&e.to_string());
                        failed.push(format!("{}: {e}", node.name));
                        break;
                    }
                    // A standby cancelled the read to replay WAL: once more, then elsewhere.
                    Err((e, Failure::Retry)) => {
                        if attempt == 1 {
                            failed.push(format!("{}: {e}", node.name));
                        }
                    }
                    Err((e, _)) => return (Err(e), Some(node)),
                }
            }
        }
        let tried = if failed.is_empty() {
            "every database is marked down; the health check retries every half second".into()
        } else {
            failed.join("; ")
        };
        (Err(CatalogError::Unavailable(tried)), None)
    }

    /// The databases a read of `scope` may use, best first.
    fn candidates(&self, scope: Scope) -> Vec<&Node> {
        let primary_up = self.primary.up();
        let written = self.written();
        let mut fresh = Vec::new();
        let mut stale = Vec::new();
        let n = self.replicas.len();
        let start = if n == 0 {
            0
        } else {
            self.next_replica.fetch_add(1, Ordering::Relaxed) % n
        };
        for i in 0..n {
            let node = &self.replicas[(start + i) % n];
            let status = node.status();
            if !status.up {
                continue;
            }
            let within = status.lag.is_some_and(|lag| lag <= self.max_lag);
            if within && status.position >= written {
                fresh.push(node);
            } else {
                stale.push((status.lag.unwrap_or(Duration::MAX), node));
            }
        }
        stale.sort_by_key(|(lag, _)| *lag);
        let stale = stale.into_iter().map(|(_, node)| node);
        // Every database that is up is a candidate: the last ones answer when the better
        // ones fail mid-request (a stale answer beats none).
        let mut nodes = Vec::with_capacity(n + 1);
        match scope {
            Scope::Catalog => {
                nodes.extend(fresh);
                if primary_up {
                    nodes.push(&self.primary);
                }
                nodes.extend(stale);
            }
            Scope::Own => {
                if primary_up {
                    nodes.push(&self.primary);
                }
                nodes.extend(fresh);
                nodes.extend(stale);
            }
        }
        nodes
    }

    /// Each database's state, primary first.
    pub(crate) fn nodes(&self) -> Vec<CatalogNode> {
        let written = self.written();
        let primary_up = self.primary.up();
        std::iter::once(&self.primary)
            .chain(&self.replicas)
            .map(|node| {
                let status = node.status().clone();
                let serving = if node.primary {
                    status.up
                } else {
                    status.up
                        && (!primary_up
                            || (status.lag.is_some_and(|l| l <= self.max_lag)
                                && status.position >= written))
                };
                CatalogNode {
                    name: node.name.clone(),
                    primary: node.primary,
                    up: status.up,
                    lag_seconds: status.lag.map(|l| l.as_secs_f64()),
                    serving_reads: serving,
                    error: status.error,
                }
            })
            .collect()
    }

    /// One health check of every database (the background thread's loop body; also run
    /// once at open so the first requests can use the replicas).
    pub(crate) fn check(&self, probes: &mut Probes) {
        // Every write counted here has committed before the primary is asked below.
        let writes = self.writes.load(Ordering::SeqCst);
        let primary_position = match probes.ask(0, &self.primary, PRIMARY_CHECK) {
            Ok(row) => {
                let standby: bool = row.get(1);
                let position = parse_lsn(row.get(0)).unwrap_or(0);
                if standby {
                    self.primary.down("it is a standby (in recovery)");
                    None
                } else {
                    self.primary.checked(position, None);
                    match parse_lsn(row.get(2)) {
                        Some(inserted) => self.pin_writes(writes, inserted),
                        None => tracing::warn!(
                            "catalog primary {} gave no WAL insert position; this server's \
                             catalog reads stay on the primary until it does",
                            self.primary.name
                        ),
                    }
                    Some(position)
                }
            }
            Err(e) => {
                self.primary.down(&e);
                None
            }
        };
        for (i, replica) in self.replicas.iter().enumerate() {
            match probes.ask(i + 1, replica, REPLICA_CHECK) {
                Ok(row) => {
                    let position = parse_lsn(row.get(0)).unwrap_or(0);
                    let since_replay: Option<f64> = row.get(1);
                    // With the primary unreachable there is no newer position to be behind:
                    // a replica that has replayed all it received is as current as the
                    // catalog can be (the time since its last replayed commit only says
                    // how long nothing was written).
                    let received = parse_lsn(row.get(2));
                    let caught_up = match primary_position {
                        Some(p) => position >= p,
                        None => received.is_none_or(|r| position >= r),
                    };
                    let lag = if caught_up {
                        Some(Duration::ZERO)
                    } else {
                        since_replay.map(|s| Duration::from_secs_f64(s.max(0.0)))
                    };
                    let was_fresh = replica.status().lag.is_some_and(|l| l <= self.max_lag);
                    if was_fresh && lag.is_none_or(|l| l > self.max_lag) {
                        tracing::warn!(
                            "catalog replica {} is {} behind the primary (max_replica_lag {} s); \
                             its reads go to the primary until it catches up",
                            replica.name,
                            lag.map_or("an unknown time".into(), |l| format!(
                                "{:.1} s",
                                l.as_secs_f64()
                            )),
                            self.max_lag.as_secs_f64()
                        );
                    }
                    replica.checked(position, lag);
                }
                Err(e) => replica.down(&e),
            }
        }
    }

    /// Records that the first `writes` writes are at or before WAL position `inserted`.
    /// Only a check that saw new writes moves the position: with none, a replica need not
    /// catch up with other servers' writes to serve this one.
    fn pin_writes(&self, writes: u64, inserted: u64) {
        let mut known = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if writes > known.writes {
            *known = Written {
                writes,
                position: inserted,
            };
        }
    }

    pub(crate) fn probes(&self) -> Probes {
        Probes {
            clients: (0..=self.replicas.len()).map(|_| None).collect(),
        }
    }
}

/// The primary's written WAL position (for replica lag), whether it is a standby, and its
/// insert position, which is past the commit of every transaction that has returned.
const PRIMARY_CHECK: &str = "SELECT pg_current_wal_lsn()::text, pg_is_in_recovery(), \
     pg_current_wal_insert_lsn()::text";
/// A replica's replayed position, seconds since the last transaction it replayed was
/// committed on the primary (its lag when it is behind), and the position it has received.
const REPLICA_CHECK: &str = "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
     ELSE pg_current_wal_lsn() END)::text, \
     extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, \
     pg_last_wal_receive_lsn()::text";

/// The health check's own connections, one per database (never taken from the pools, which
/// busy requests may have emptied).
pub(crate) struct Probes {
    clients: Vec<Option<postgres::Client>>,
}

impl Probes {
    fn ask(&mut self, i: usize, node: &Node, sql: &str) -> Result<postgres::Row, String> {
        if self.clients[i].is_none() {
            let mut config = node.pool.config().clone();
            config.connect_timeout(CHECK_CONNECT_TIMEOUT);
            let client = config.connect(postgres::NoTls).map_err(|e| describe(&e))?;
            self.clients[i] = Some(client);
        }
        let Some(client) = self.clients[i].as_mut() else {
            return Err("no connection".into());
        };
        client.query_one(sql, &[]).map_err(|e| {
            self.clients[i] = None;
            describe(&e)
        })
    }
}

/// The background health check; stops when dropped.
pub(crate) struct Checker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checker {
    pub(crate) fn start(router: Arc<Router>, mut probes: Probes) -> Checker {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("catalog-health".into())
            .spawn(move || loop {
                match stopped.recv_timeout(CHECK_EVERY) {
                    Err(RecvTimeoutError::Timeout) => router.check(&mut probes),
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!(
                "cannot start the catalog health check; replica states stay as found at start"
            );
        }
        Checker {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `16/B374D848` as a number (WAL positions compare as 64-bit integers).
pub(crate) fn parse_lsn(text: Option<&str>) -> Option<u64> {
    let (high, low) = text?.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    Some(high << 32 | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_positions_compare_as_numbers() {
        assert_eq!(parse_lsn(Some("0/0")), Some(0));
        assert!(parse_lsn(Some("1/0")) > parse_lsn(Some("0/FFFFFFFF")));
        assert_eq!(parse_lsn(Some("16/B374D848")), Some(0x16_B374_D848));
        assert_eq!(parse_lsn(Some("junk")), None);
        assert_eq!(parse_lsn(None), None);
    }
}
