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

impl Lent<'_> {
    /// Runs `f` in a transaction (read-only snapshot, or read-committed for writes),
    /// committed when `f` succeeds and rolled back when it fails. On failure, also says what
    /// kind of failure the last statement met.
    pub(crate) fn transaction<T>(
        &mut self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> CatalogResult<T>,
    ) -> Result<T, (CatalogError, Failure)> {
        let conn = self.conn.as_mut().expect("a lent connection is present");
        let mut builder = conn.client.build_transaction();
        if read_only {
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
            tx: Some(tx),
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

    /// A statement outside any transaction (health checks, the WAL position after a write).
    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let conn = self.conn.as_mut().expect("a lent connection is present");
        let result = conn.client.query_one(sql, params);
        if let Err(e) = &result {
            self.broken |= classify(e) == Failure::Unreachable;
        }
        result
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

/// The transaction a catalog function runs in. Statements are prepared once per connection
/// and reused; a failing statement records its [`Failure`] for the router.
pub(crate) struct Tx<'a> {
    tx: Option<postgres::Transaction<'a>>,
    statements: &'a mut HashMap<String, Statement>,
    failure: Failure,
}

impl<'a> Tx<'a> {
    fn inner(&mut self) -> &mut postgres::Transaction<'a> {
        self.tx
            .as_mut()
            .expect("the transaction is open until finish")
    }

    fn finish(&mut self) -> Result<(), postgres::Error> {
        match self.tx.take() {
            Some(tx) => tx.commit(),
            None => Ok(()),
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
        let prepared = self.inner().prepare(sql);
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
        let rows = self.inner().query(&statement, params);
        self.note(rows)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        let row = self.inner().query_opt(&statement, params);
        self.note(row)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        let row = self.inner().query_one(&statement, params);
        self.note(row)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        let n = self.inner().execute(&statement, params);
        self.note(n)
    }

    /// Several statements without parameters, not prepared (schema changes, bulk steps).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), postgres::Error> {
        let done = self.inner().batch_execute(sql);
        self.note(done)
    }
}
