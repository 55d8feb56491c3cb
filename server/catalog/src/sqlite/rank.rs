//! `cadenza_rank(table, w0, w1, ...)`: the FTS5 ranking function search orders by.
//!
//! It is FTS5's bm25 without the IDF factor. bm25 learns how rare each query phrase is
//! by walking the phrase's whole doclist once per query, so `"the"* "beatles"*` (a few
//! hundred hits) still reads every song containing a word that starts with "the": tens of
//! milliseconds at a million songs, whatever the window ranked. Every hit of our AND-only
//! queries contains every phrase, so IDF only shifts weight between phrases; what orders
//! metadata hits is which column matched (the weights) and how short that column is,
//! which this keeps. The cost per row is the row's own instances, nothing else.
//!
//! Lower scores are better, like bm25, so queries `ORDER BY` it ascending.
//!
//! `cadenza_rank_top(table, n, w0, w1, ...)` gives the same score to every row that could
//! still be among the best `n` of the rows scored before it in the query, and +infinity to
//! the others. A column's length costs a lookup in the table's docsize b-tree (over half the
//! cost of scoring a row at a million songs); a row's matches alone bound its score from
//! above (a column is at least as long as the hits of any one phrase in it), so a row whose
//! bound cannot beat the `n`-th best score so far is left out without that lookup.
//! Equal scores go to the row scored first, so a query ordered newest first keeps the
//! newest of equals, as `search::best` does.

use rusqlite::ffi::{self, Fts5Context, Fts5ExtensionApi};
use rusqlite::Connection;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ffi::{c_int, c_void};
use std::ptr;

/// bm25's term-frequency saturation and length normalisation constants.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Registers `cadenza_rank` and `cadenza_rank_top` on the connection (each connection
/// needs them).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    // SAFETY: the handle is valid for the life of `conn`, which outlives this call; the
    // functions and their names are 'static; FTS5 takes no ownership of the null user data.
    unsafe {
        let db = conn.handle();
        let api = fts5_api(db)?;
        let Some(create) = (*api).xCreateFunction else {
            return Err(failure(
                ffi::SQLITE_MISUSE,
                "FTS5 cannot register functions",
            ));
        };
        let functions: [(&std::ffi::CStr, ffi::fts5_extension_function); 2] = [
            (c"cadenza_rank", Some(rank)),
            (c"cadenza_rank_top", Some(rank_top)),
        ];
        for (name, function) in functions {
            let rc = create(api, name.as_ptr(), ptr::null_mut(), function, None);
            if rc != ffi::SQLITE_OK {
                return Err(failure(rc, &format!("registering {name:?}")));
            }
        }
    }
    Ok(())
}

fn failure(code: c_int, what: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(what.to_owned()))
}

/// The FTS5 API of a connection, fetched the documented way: `SELECT fts5(?1)` with a
/// pointer bound under the type "fts5_api_ptr".
///
/// # Safety
/// `db` must be a valid open connection.
unsafe fn fts5_api(db: *mut ffi::sqlite3) -> rusqlite::Result<*mut ffi::fts5_api> {
    let mut stmt = ptr::null_mut();
    // SAFETY: valid db, NUL-terminated SQL, out-pointer to a local.
    let rc = unsafe {
        ffi::sqlite3_prepare_v2(
            db,
            c"SELECT fts5(?1)".as_ptr(),
            -1,
            &mut stmt,
            ptr::null_mut(),
        )
    };
    if rc != ffi::SQLITE_OK || stmt.is_null() {
        return Err(failure(rc, "preparing SELECT fts5(?1)"));
    }
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    // SAFETY: `api` lives until after the step that writes it; the statement is
    // finalized before returning; the type name is 'static.
    unsafe {
        ffi::sqlite3_bind_pointer(
            stmt,
            1,
            (&mut api as *mut *mut ffi::fts5_api).cast::<c_void>(),
            c"fts5_api_ptr".as_ptr(),
            None,
        );
        ffi::sqlite3_step(stmt);
        ffi::sqlite3_finalize(stmt);
    }
    if api.is_null() {
        return Err(failure(ffi::SQLITE_ERROR, "this SQLite has no FTS5"));
    }
    Ok(api)
}

/// Per-query data kept between rows: column weights, average column lengths and, for
/// `cadenza_rank_top`, the best scores so far.
struct QueryData {
    weights: Vec<f64>,
    avg_len: Vec<f64>,
    top: Option<Best>,
}

/// The `n` best `(score, arrival)` pairs scored so far; the worst of them on top.
struct Best {
    n: usize,
    kept: BinaryHeap<Scored>,
    arrived: u64,
}

#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f64,
    arrival: u64,
}

/// Worse is greater: a higher score, or an equal score that arrived later.
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then(self.arrival.cmp(&other.arrival))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scored {}

impl Best {
    fn new(n: usize) -> Best {
        Best {
            n,
            kept: BinaryHeap::with_capacity(n + 1),
            arrived: 0,
        }
    }

    /// Whether a row scoring at best `bound`, arriving now, may still be among the best.
    fn may_enter(&self, bound: f64) -> bool {
        self.kept.len() < self.n
            || self.kept.peek().is_some_and(|worst| {
                Scored {
                    score: bound,
                    arrival: self.arrived,
                } < *worst
            })
    }

    /// Records the exact score of the row arriving now.
    fn add(&mut self, score: f64) {
        self.kept.push(Scored {
            score,
            arrival: self.arrived,
        });
        if self.kept.len() > self.n {
            self.kept.pop();
        }
    }
}

unsafe extern "C" fn drop_query_data(p: *mut c_void) {
    // SAFETY: `p` came from `Box::into_raw` in `query_data` and FTS5 frees it once.
    drop(unsafe { Box::from_raw(p.cast::<QueryData>()) });
}

/// The FTS5 callbacks. They must not unwind into C, so they only do checked arithmetic
/// and report FTS5 errors as SQL errors.
unsafe extern "C" fn rank(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes valid pointers for the duration of the call.
    let score = unsafe { score(&*api, fts, Args::new(n_val, ap_val), Mode::Exact) };
    unsafe { answer(ctx, score) }
}

unsafe extern "C" fn rank_top(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes valid pointers for the duration of the call.
    let score = unsafe { score(&*api, fts, Args::new(n_val, ap_val), Mode::Top) };
    unsafe { answer(ctx, score) }
}

/// # Safety
/// `ctx` as handed to a callback by FTS5.
unsafe fn answer(ctx: *mut ffi::sqlite3_context, score: Result<f64, c_int>) {
    // SAFETY: a valid result context for the duration of the callback.
    match score {
        Ok(s) => unsafe { ffi::sqlite3_result_double(ctx, s) },
        Err(rc) => unsafe { ffi::sqlite3_result_error_code(ctx, rc) },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `cadenza_rank(table, weights...)`: every row's score.
    Exact,
    /// `cadenza_rank_top(table, n, weights...)`: see the module comment.
    Top,
}

/// The SQL arguments of a call (after the table).
#[derive(Clone, Copy)]
struct Args {
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
}

impl Args {
    fn new(n_val: c_int, ap_val: *mut *mut ffi::sqlite3_value) -> Args {
        Args { n_val, ap_val }
    }

    /// # Safety
    /// The pointers FTS5 handed to the callback, during the callback.
    unsafe fn values<'a>(self) -> &'a [*mut ffi::sqlite3_value] {
        match usize::try_from(self.n_val) {
            // SAFETY: FTS5 passes `n_val` valid values.
            Ok(n) if n > 0 && !self.ap_val.is_null() => unsafe {
                std::slice::from_raw_parts(self.ap_val, n)
            },
            _ => &[],
        }
    }
}

/// Calls an optional FTS5 API entry, failing the query if this SQLite lacks it.
macro_rules! call {
    ($api:expr, $f:ident ( $($arg:expr),* )) => {
        match $api.$f {
            Some(f) => f($($arg),*),
            None => return Err(ffi::SQLITE_MISUSE),
        }
    };
}

/// # Safety
/// Pointers as handed to [`rank`] by FTS5.
unsafe fn score(
    api: &Fts5ExtensionApi,
    fts: *mut Fts5Context,
    args: Args,
    mode: Mode,
) -> Result<f64, c_int> {
    // SAFETY (whole body): every call goes through the API FTS5 gave us, with the context
    // of the current row and out-pointers to locals.
    unsafe {
        let data = query_data(api, fts, args, mode)?;
        let n_col = data.avg_len.len();
        let n_phrase = usize::try_from(call!(api, xPhraseCount(fts))).unwrap_or(0);
        // Hits per (phrase, column).
        let mut tf = vec![0u32; n_phrase * n_col];
        let mut n_inst: c_int = 0;
        check(call!(api, xInstCount(fts, &mut n_inst)))?;
        for i in 0..n_inst {
            let (mut phrase, mut col, mut off) = (0, 0, 0);
            check(call!(api, xInst(fts, i, &mut phrase, &mut col, &mut off)))?;
            let (Ok(p), Ok(c)) = (usize::try_from(phrase), usize::try_from(col)) else {
                continue;
            };
            if p < n_phrase && c < n_col {
                tf[p * n_col + c] += 1;
            }
        }
        let exact = |c: usize| {
            let mut len: c_int = 0;
            check(call!(api, xColumnSize(fts, c as c_int, &mut len)))?;
            Ok(f64::from(len))
        };
        let Some(top) = data.top.as_mut() else {
            return bm25(&tf, &data.weights, &data.avg_len, exact);
        };
        // The score with each column as short as its hits allow: no row does better.
        let bound = bm25(&tf, &data.weights, &data.avg_len, |_| Ok(0.0))?;
        let verdict = if top.may_enter(bound) {
            let score = bm25(&tf, &data.weights, &data.avg_len, exact)?;
            top.add(score);
            score
        } else {
            f64::INFINITY
        };
        top.arrived += 1;
        Ok(verdict)
    }
}

/// The score of a row from its hits per (phrase, column), `tf[phrase * columns + column]`,
/// and its column lengths. A column is never shorter than the hits of one phrase in it
/// (each starts at its own token), so a `len` that is too low only raises the score.
fn bm25(
    tf: &[u32],
    weights: &[f64],
    avg_len: &[f64],
    mut len: impl FnMut(usize) -> Result<f64, c_int>,
) -> Result<f64, c_int> {
    let n_col = avg_len.len();
    let mut total = 0.0;
    for c in 0..n_col {
        let hits = || tf.iter().skip(c).step_by(n_col.max(1)).copied();
        let Some(longest) = hits().max().filter(|&h| h > 0) else {
            continue;
        };
        let len = len(c)?.max(f64::from(longest));
        let norm = K1 * (1.0 - B + B * len / avg_len[c]);
        for h in hits().filter(|&h| h > 0) {
            let h = f64::from(h);
            total += weights[c] * h * (K1 + 1.0) / (h + norm);
        }
    }
    Ok(-total)
}

fn check(rc: c_int) -> Result<(), c_int> {
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}

/// The query's weights (the function's arguments, 1.0 when missing) and average column
/// lengths, computed on the first row and kept as FTS5 auxiliary data.
///
/// # Safety
/// Pointers as handed to [`rank`] by FTS5.
unsafe fn query_data<'a>(
    api: &Fts5ExtensionApi,
    fts: *mut Fts5Context,
    args: Args,
    mode: Mode,
) -> Result<&'a mut QueryData, c_int> {
    // SAFETY (whole body): as in `score`; the aux data pointer is ours (set below), lives
    // until FTS5 calls `drop_query_data` after the query, and only the one callback running
    // on this cursor uses it.
    unsafe {
        let existing = call!(api, xGetAuxdata(fts, 0)).cast::<QueryData>();
        if !existing.is_null() {
            return Ok(&mut *existing);
        }
        let n_col = usize::try_from(call!(api, xColumnCount(fts))).unwrap_or(0);
        let mut rows: i64 = 0;
        check(call!(api, xRowCount(fts, &mut rows)))?;
        let mut avg_len = Vec::with_capacity(n_col);
        for c in 0..n_col {
            let mut tokens: i64 = 0;
            check(call!(api, xColumnTotalSize(fts, c as c_int, &mut tokens)))?;
            avg_len.push(if rows > 0 {
                (tokens as f64 / rows as f64).max(1.0)
            } else {
                1.0
            });
        }
        let mut values = args.values();
        let mut top = None;
        if mode == Mode::Top {
            let Some((&n, rest)) = values.split_first() else {
                return Err(ffi::SQLITE_MISUSE);
            };
            let n = usize::try_from(ffi::sqlite3_value_int64(n)).map_err(|_| ffi::SQLITE_RANGE)?;
            top = Some(Best::new(n));
            values = rest;
        }
        let weights = (0..n_col)
            .map(|c| values.get(c).map_or(1.0, |&v| ffi::sqlite3_value_double(v)))
            .collect();
        let data = Box::into_raw(Box::new(QueryData {
            weights,
            avg_len,
            top,
        }));
        let rc = call!(api, xSetAuxdata(fts, data.cast(), Some(drop_query_data)));
        if rc != ffi::SQLITE_OK {
            // FTS5 has already called the destructor on failure.
            return Err(rc);
        }
        Ok(&mut *data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(conn: &Connection, q: &str) -> Vec<(i64, f64)> {
        let mut stmt = conn
            .prepare("SELECT rowid, cadenza_rank(t, 10.0, 1.0) AS s FROM t WHERE t MATCH ?1 ORDER BY s, rowid")
            .unwrap();
        stmt.query_map([q], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn weights_columns_and_prefers_short_fields() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5 (title, artist, content = '', contentless_delete = 1);
             INSERT INTO t (rowid, title, artist) VALUES
                 (1, 'something else entirely', 'love'),
                 (2, 'love', 'nobody'),
                 (3, 'love me tender love song of the night', 'elvis'),
                 (4, 'unrelated', 'nobody');",
        )
        .unwrap();
        let ranked: Vec<i64> = rows(&conn, "\"lov\"*").into_iter().map(|r| r.0).collect();
        // A title hit beats an artist hit; a short title beats a long one.
        assert_eq!(ranked, [2, 3, 1]);
        assert!(rows(&conn, "\"lov\"*").iter().all(|r| r.1 < 0.0));
        assert!(rows(&conn, "\"zzz\"*").is_empty());
    }

    #[test]
    fn top_scores_only_rows_that_can_be_among_the_best_and_scores_them_exactly() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5 (title, artist, content = '', contentless_delete = 1);",
        )
        .unwrap();
        // Titles and artists of varied lengths and hit counts, with many equal scores.
        let words = [
            "love", "me", "tender", "lovely", "night", "song", "of", "the",
        ];
        for id in 1..=400_i64 {
            let pick = |seed: i64, n: i64| -> String {
                (0..n)
                    .map(|k| words[((seed * 7 + k * 13 + seed * k) % 8) as usize])
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            conn.execute(
                "INSERT INTO t (rowid, title, artist) VALUES (?1, ?2, ?3)",
                (id, pick(id, 1 + id % 5), pick(id + 3, 1 + id % 3)),
            )
            .unwrap();
        }
        let scored = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Vec<(i64, f64)> {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let best = |mut rows: Vec<(i64, f64)>, n: usize| {
            // Newest (highest rowid) first among equals, as search::best.
            rows.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            rows.truncate(n);
            rows
        };
        for q in ["\"lov\"*", "\"lov\"* \"the\"*", "\"t\"*", "\"me\"*"] {
            let exact = scored(
                "SELECT rowid, cadenza_rank(t, 10.0, 1.0) FROM t WHERE t MATCH ?1 \
                 ORDER BY rowid DESC",
                &[&q],
            );
            assert!(exact.len() > 30, "{q}: {}", exact.len());
            for n in [1, 5, 20, exact.len() as i64 + 3] {
                let top = scored(
                    "SELECT rowid, cadenza_rank_top(t, ?2, 10.0, 1.0) FROM t WHERE t MATCH ?1 \
                     ORDER BY rowid DESC",
                    &[&q, &n],
                );
                assert_eq!(top.len(), exact.len());
                for (t, e) in top.iter().zip(&exact) {
                    assert!(t.1 == e.1 || t.1 == f64::INFINITY, "{q} n={n}: {t:?} {e:?}");
                }
                assert_eq!(
                    best(top.clone(), n as usize),
                    best(exact.clone(), n as usize)
                );
                let left_out = top.iter().filter(|t| t.1 == f64::INFINITY).count();
                if n == 1 {
                    assert!(left_out > 0, "{q}: nothing was left out");
                }
            }
        }
    }

    #[test]
    fn top_needs_a_count() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5 (a, content = '', contentless_delete = 1);
             INSERT INTO t (rowid, a) VALUES (1, 'x');",
        )
        .unwrap();
        for call in ["cadenza_rank_top(t)", "cadenza_rank_top(t, -1)"] {
            let r: rusqlite::Result<f64> = conn.query_row(
                &format!("SELECT {call} FROM t WHERE t MATCH 'x'"),
                [],
                |r| r.get(0),
            );
            assert!(r.is_err(), "{call}: {r:?}");
        }
    }

    #[test]
    fn works_without_weight_arguments_and_on_an_empty_table() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE e USING fts5 (a, content = '', contentless_delete = 1);",
        )
        .unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(cadenza_rank(e)) FROM e WHERE e MATCH 'x'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0);
        conn.execute("INSERT INTO e (rowid, a) VALUES (1, 'x y')", [])
            .unwrap();
        let s: f64 = conn
            .query_row("SELECT cadenza_rank(e) FROM e WHERE e MATCH 'x'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(s < 0.0);
    }
}
