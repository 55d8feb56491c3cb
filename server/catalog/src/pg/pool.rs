//! Connections to one PostgreSQL server: a bounded pool, each connection with its prepared
//! statements, and [`Tx`], the transaction every query of the catalog runs in.
//!
//! Hand-written rather than r2d2: r2d2's `get` keeps retrying a refused connection until its
//! timeout (a down primary would hold every write that long instead of answering "read-only"
//! at once, which the router relies on), it tests each connection with an extra round trip
//! when handing it out, and it runs helper threads for every pool. Here a connection is
//! made on demand up to the limit, a failure to connect is returned at once, and every
//! connection made before a node went down is dropped instead of reused ([`Pool::forget_all`]).

use super::error::{classify, storage, Failure};
use crate::{CatalogError, CatalogResult};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) struct Pool {
    config: postgres::Config,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Conn>,
    /// Connections open, idle or lent.
    open: usize,
    /// Bumped when the server went away: older connections are not reused.
    epoch: u64,
}

/// One connection and the statements prepared on it (a statement is parsed and planned
/// once per connection, not once per query: that would cost a round trip each time).
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    epoch: u64,
}

impl Pool {
    pub(crate) fn new(config: postgres::Config, max: usize) -> Pool {
        Pool {
            config,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                epoch: 0,
            }),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// An idle connection, a new one while under the limit, or the next one given back.
    pub(crate) fn get(&self) -> Result<Lent<'_>, postgres::Error> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(self.lend(conn));
            }
            if state.open < self.max {
                state.open += 1;
                let epoch = state.epoch;
                drop(state);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(self.lend(Conn {
                        client,
                        statements: HashMap::new(),
                        epoch,
                    })),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Drops the idle connections and keeps the lent ones from coming back: the server
    /// went away, and a connection from before may be cut however alive it looks.
    pub(crate) fn forget_all(&self) {
        let mut state = self.lock();
        state.epoch += 1;
        let dropped = state.idle.len();
        state.idle.clear();
        state.open -= dropped;
        drop(state);
        self.freed.notify_all();
    }

    fn lend(&self, conn: Conn) -> Lent<'_> {
        Lent {
            pool: self,
            conn: Some(conn),
            broken: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection lent by a [`Pool`]; it goes back when dropped, unless it broke.
pub(crate) struct Lent<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    broken: bool,
}

/// How a [`Tx`] runs its statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A read-committed transaction, for writes of several statements.
    Write,
    /// A read-only snapshot, for reads of several statements that must agree.
    Read,
    /// Each statement on its own (autocommit), for work done in one statement, or whose
    /// statements need not see one snapshot: no `BEGIN` and `COMMIT`, two round trips
    /// fewer.
    Single,
}

impl Lent<'_> {
    /// Runs `f` as `mode` says: in a transaction committed when `f` succeeds and rolled back
    /// when it fails, or statement by statement. On failure, also says what kind of failure
    /// the last statement met.
    pub(crate) fn transaction<T>(
        &mut self,
        mode: Mode,
        f: impl FnOnce(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> Result<T, (CatalogError, Failure)> {
        let conn = self.conn.as_mut().expect("a lent connection is present");
        if mode == Mode::Single {
            let mut tx = Tx {
                session: Session::Auto(&mut conn.client),
                statements: &mut conn.statements,
                failure: Failure::Statement,
            };
            let result = f(&mut tx).map_err(|e| (e, tx.failure));
            if let Err((_, failure)) = &result {
                self.broken |= *failure == Failure::Unreachable;
            }
            return result;
        }
        let mut builder = conn.client.build_transaction();
        if mode == Mode::Read {
            // One snapshot for every statement, so a page and its total agree.
            builder = builder
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true);
        }
        let tx = match builder.start() {
            Ok(tx) => tx,
            Err(e) => {
                let failure = classify(&e);
                self.broken |= failure == Failure::Unreachable;
                return Err((storage("starting a transaction", &e), failure));
            }
        };
        let mut tx = Tx {
            session: Session::Open(tx),
            statements: &mut conn.statements,
            failure: Failure::Statement,
        };
        let result = f(&mut tx);
        let failure = tx.failure;
        let outcome = match result {
            Ok(value) => match tx.finish() {
                Ok(()) => Ok(value),
                Err(e) => {
                    let failure = classify(&e);
                    Err((storage("committing a transaction", &e), failure))
                }
            },
            // Dropping the transaction rolls it back.
            Err(e) => Err((e, failure)),
        };
        drop(tx);
        if let Err((_, failure)) = &outcome {
            self.broken |= *failure == Failure::Unreachable;
        }
        outcome
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if self.broken || conn.client.is_closed() || conn.epoch != state.epoch {
            if conn.epoch == state.epoch {
                state.open -= 1;
            }
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

/// The transaction a catalog function runs in (or, in [`Mode::Single`], the connection it
/// runs its statements on one by one). Statements are prepared once per connection and
/// reused; a failing statement records its [`Failure`] for the router.
pub(crate) struct Tx<'a> {
    session: Session<'a>,
    statements: &'a mut HashMap<String, Statement>,
    failure: Failure,
}

enum Session<'a> {
    Open(postgres::Transaction<'a>),
    Auto(&'a mut Client),
    Finished,
}

/// Runs `$body` with `$c` bound to whatever runs statements now (both implement
/// `postgres::GenericClient`, whose methods are generic, so it cannot be a trait object).
macro_rules! on_session {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.session {
            Session::Open($c) => $body,
            Session::Auto($c) => $body,
            Session::Finished => unreachable!("statements run only before the commit"),
        }
    };
}

impl Tx<'_> {
    fn finish(&mut self) -> Result<(), postgres::Error> {
        match std::mem::replace(&mut self.session, Session::Finished) {
            Session::Open(tx) => tx.commit(),
            Session::Auto(_) | Session::Finished => Ok(()),
        }
    }

    fn note<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
        if let Err(e) = &result {
            self.failure = classify(e);
        }
        result
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let prepared = on_session!(self, c => c.prepare(sql));
        let statement = self.note(prepared)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        let rows = on_session!(self, c => c.query(&statement, params));
        self.note(rows)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        let row = on_session!(self, c => c.query_opt(&statement, params));
        self.note(row)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        let row = on_session!(self, c => c.query_one(&statement, params));
        self.note(row)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        let n = on_session!(self, c => c.execute(&statement, params));
        self.note(n)
    }

    /// Several statements without parameters, not prepared (schema changes, bulk steps).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), postgres::Error> {
        let done = on_session!(self, c => c.batch_execute(sql));
        self.note(done)
    }
}
