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

use rusqlite::ffi::{self, Fts5Context, Fts5ExtensionApi};
use rusqlite::Connection;
use std::ffi::{c_int, c_void};
use std::ptr;

/// bm25's term-frequency saturation and length normalisation constants.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Registers `cadenza_rank` on the connection (each connection needs it).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    // SAFETY: the handle is valid for the life of `conn`, which outlives this call; the
    // function and its name are 'static; FTS5 takes no ownership of the null user data.
    unsafe {
        let db = conn.handle();
        let api = fts5_api(db)?;
        let Some(create) = (*api).xCreateFunction else {
            return Err(failure(
                ffi::SQLITE_MISUSE,
                "FTS5 cannot register functions",
            ));
        };
        let rc = create(
            api,
            c"cadenza_rank".as_ptr(),
            ptr::null_mut(),
            Some(rank),
            None,
        );
        if rc != ffi::SQLITE_OK {
            return Err(failure(rc, "registering cadenza_rank"));
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

/// Per-query data kept between rows: column weights and average column lengths.
struct QueryData {
    weights: Vec<f64>,
    avg_len: Vec<f64>,
}

unsafe extern "C" fn drop_query_data(p: *mut c_void) {
    // SAFETY: `p` came from `Box::into_raw` in `query_data` and FTS5 frees it once.
    drop(unsafe { Box::from_raw(p.cast::<QueryData>()) });
}

/// The FTS5 callback. It must not unwind into C, so it only does checked arithmetic and
/// reports FTS5 errors as SQL errors.
unsafe extern "C" fn rank(
    api: *const Fts5ExtensionApi,
    fts: *mut Fts5Context,
    ctx: *mut ffi::sqlite3_context,
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: FTS5 passes valid pointers for the duration of the call.
    match unsafe { score(&*api, fts, n_val, ap_val) } {
        Ok(s) => unsafe { ffi::sqlite3_result_double(ctx, s) },
        Err(rc) => unsafe { ffi::sqlite3_result_error_code(ctx, rc) },
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
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
) -> Result<f64, c_int> {
    // SAFETY (whole body): every call goes through the API FTS5 gave us, with the context
    // of the current row and out-pointers to locals.
    unsafe {
        let data = query_data(api, fts, n_val, ap_val)?;
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
        let mut total = 0.0;
        for c in 0..n_col {
            let hits: Vec<u32> = (0..n_phrase).map(|p| tf[p * n_col + c]).collect();
            if hits.iter().all(|&h| h == 0) {
                continue;
            }
            let mut len: c_int = 0;
            check(call!(api, xColumnSize(fts, c as c_int, &mut len)))?;
            let norm = K1 * (1.0 - B + B * f64::from(len) / data.avg_len[c]);
            for h in hits.into_iter().filter(|&h| h > 0) {
                let h = f64::from(h);
                total += data.weights[c] * h * (K1 + 1.0) / (h + norm);
            }
        }
        Ok(-total)
    }
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
    n_val: c_int,
    ap_val: *mut *mut ffi::sqlite3_value,
) -> Result<&'a QueryData, c_int> {
    // SAFETY (whole body): as in `score`; the aux data pointer is ours (set below) and
    // lives until FTS5 calls `drop_query_data` after the query.
    unsafe {
        let existing = call!(api, xGetAuxdata(fts, 0)).cast::<QueryData>();
        if !existing.is_null() {
            return Ok(&*existing);
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
        let args: &[*mut ffi::sqlite3_value] = match usize::try_from(n_val) {
            Ok(n) if n > 0 && !ap_val.is_null() => std::slice::from_raw_parts(ap_val, n),
            _ => &[],
        };
        let weights = (0..n_col)
            .map(|c| args.get(c).map_or(1.0, |&v| ffi::sqlite3_value_double(v)))
            .collect();
        let data = Box::into_raw(Box::new(QueryData { weights, avg_len }));
        let rc = call!(api, xSetAuxdata(fts, data.cast(), Some(drop_query_data)));
        if rc != ffi::SQLITE_OK {
            // FTS5 has already called the destructor on failure.
            return Err(rc);
        }
        Ok(&*data)
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
