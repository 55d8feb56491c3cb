//! Moving a catalog from SQLite to PostgreSQL: every row of every table (users with their
//! password hashes and tokens, songs with the artists and genres they credit, albums,
//! artists, genres, playlists, plays, podcasts, episodes, resume positions), with their ids.
//!
//! - The source is opened read-only and never changed.
//! - The target's schema comes from the server's own migrations. Rows go in batches of
//!   [`BATCH`], each committed on its own and inserted with `ON CONFLICT DO NOTHING`, so a
//!   copy that stopped half-way is resumed by running it again, and running it twice changes
//!   nothing. Counters (songs per album, artist, genre) are left to the target's triggers,
//!   which count exactly the songs and credits a batch inserts.
//! - A target that already holds rows of another catalog (an id with other content) is
//!   refused before anything is written.
//! - At the end every table is compared: the same number of rows, and the same SHA-256 over
//!   every row's columns in key order. Sequences continue after the highest id either side
//!   ever used, so no id is handed out twice (stream and cover URLs are cached under them).

use crate::pg::{connect, search::index_text};
use crate::{sqlite, PgCatalog, PgOptions};
use postgres::types::ToSql;
use rusqlite::{OpenFlags, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::Path;
use thiserror::Error;

/// Rows per committed batch.
const BATCH: usize = 5_000;

#[derive(Debug, Error)]
pub enum CopyError {
    /// The target cannot take the catalog: unreachable, refused, or holding another one.
    #[error("{0}")]
    Target(String),
    /// The source cannot be read.
    #[error("{0}")]
    Source(String),
    /// Copying failed part-way (what is committed stays; run the copy again to resume).
    #[error("{0}")]
    Copy(String),
    /// The copy finished but a table differs.
    #[error("{0}")]
    Mismatch(String),
}

/// What a finished copy found: every table with its row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
    /// Rows inserted by this run (0 when a previous run had copied everything).
    pub inserted: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bool,
}
use Kind::{Bool, Int, Text};

/// One table: its columns as both databases name them, the key that orders and identifies
/// rows, and how the target's search document is made (from the row's text columns, named
/// by position, or from extra text selected after the columns).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    key: &'static [&'static str],
    /// SQL selecting the extra text fields of the search document (`s` is the row), or "".
    document: &'static str,
    /// Whether an id sequence follows the rows.
    sequence: bool,
}

const TABLES: &[Table] = &[
    Table {
        name: "artists",
        columns: &[("id", Int), ("name", Text), ("name_key", Text)],
        key: &["id"],
        document: "s.name",
        sequence: true,
    },
    Table {
        name: "genres",
        columns: &[("id", Int), ("name", Text), ("name_key", Text)],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "albums",
        columns: &[
            ("id", Int),
            ("title", Text),
            ("title_key", Text),
            ("artist_id", Int),
            ("year", Int),
            ("genre_id", Int),
            ("cover_hash", Text),
            ("cover_size", Int),
            ("cover_content_type", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        document: "s.title, (SELECT name FROM artists WHERE id = s.artist_id)",
        sequence: true,
    },
    Table {
        name: "songs",
        columns: &[
            ("id", Int),
            ("title", Text),
            ("artist_id", Int),
            ("album_id", Int),
            ("track", Int),
            ("disc", Int),
            ("genre_id", Int),
            ("year", Int),
            ("duration_ms", Int),
            ("codec", Text),
            ("content_type", Text),
            ("bitrate", Int),
            ("sample_rate", Int),
            ("channels", Int),
            ("size", Int),
            ("hash", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        // Every artist and genre the song credits, in credit order (`credit_text`).
        document: "s.title, \
                   (SELECT name FROM artists WHERE id = s.artist_id) \
                   || coalesce((SELECT ', ' || group_concat(x.name, ', ' ORDER BY sa.position) \
                                FROM song_artists sa JOIN artists x ON x.id = sa.artist_id \
                                WHERE sa.song_id = s.id), ''), \
                   (SELECT title FROM albums WHERE id = s.album_id), \
                   (SELECT name FROM genres WHERE id = s.genre_id) \
                   || coalesce((SELECT ', ' || group_concat(x.name, ', ' ORDER BY sg.position) \
                                FROM song_genres sg JOIN genres x ON x.id = sg.genre_id \
                                WHERE sg.song_id = s.id), '')",
        sequence: true,
    },
    Table {
        name: "song_artists",
        columns: &[("song_id", Int), ("position", Int), ("artist_id", Int)],
        key: &["song_id", "position"],
        document: "",
        sequence: false,
    },
    Table {
        name: "song_genres",
        columns: &[("song_id", Int), ("position", Int), ("genre_id", Int)],
        key: &["song_id", "position"],
        document: "",
        sequence: false,
    },
    Table {
        name: "users",
        columns: &[
            ("id", Int),
            ("username", Text),
            ("username_key", Text),
            ("password_hash", Text),
            ("role", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "tokens",
        columns: &[("token_hash", Text), ("user_id", Int), ("expires_at", Int)],
        key: &["token_hash"],
        document: "",
        sequence: false,
    },
    Table {
        name: "playlists",
        columns: &[
            ("id", Int),
            ("owner_id", Int),
            ("name", Text),
            ("public", Bool),
            ("created_at", Int),
            ("updated_at", Int),
            ("comment", Text),
        ],
        key: &["id"],
        document: "s.name",
        sequence: true,
    },
    Table {
        name: "playlist_tracks",
        columns: &[
            ("id", Int),
            ("playlist_id", Int),
            ("position", Int),
            ("song_id", Int),
        ],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "podcasts",
        columns: &[
            ("id", Int),
            ("title", Text),
            ("author", Text),
            ("description", Text),
            ("feed_url", Text),
            ("created_at", Int),
            ("refreshed_at", Int),
            ("refresh_error", Text),
            ("lease_holder", Text),
            ("lease_until", Int),
        ],
        key: &["id"],
        document: "s.title, s.author",
        sequence: true,
    },
    Table {
        name: "episodes",
        columns: &[
            ("id", Int),
            ("podcast_id", Int),
            ("guid", Text),
            ("title", Text),
            ("description", Text),
            ("published_at", Int),
            ("duration_ms", Int),
            ("codec", Text),
            ("content_type", Text),
            ("size", Int),
            ("hash", Text),
            ("created_at", Int),
        ],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "episode_positions",
        columns: &[
            ("user_id", Int),
            ("episode_id", Int),
            ("position_ms", Int),
            ("updated_at", Int),
        ],
        key: &["user_id", "episode_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "plays",
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("song_id", Int),
            ("played_ms", Int),
            ("at", Int),
            ("play_id", Text),
        ],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "client_credentials",
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("kind", Text),
            ("name", Text),
            ("secret", Text),
            ("created_at", Int),
            ("last_used_at", Int),
        ],
        key: &["id"],
        document: "",
        sequence: true,
    },
    Table {
        name: "song_annotations",
        columns: &[
            ("user_id", Int),
            ("song_id", Int),
            ("starred_at", Int),
            ("rating", Int),
        ],
        key: &["user_id", "song_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "album_annotations",
        columns: &[
            ("user_id", Int),
            ("album_id", Int),
            ("starred_at", Int),
            ("rating", Int),
        ],
        key: &["user_id", "album_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "artist_annotations",
        columns: &[
            ("user_id", Int),
            ("artist_id", Int),
            ("starred_at", Int),
            ("rating", Int),
        ],
        key: &["user_id", "artist_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "now_playing",
        columns: &[
            ("user_id", Int),
            ("song_id", Int),
            ("client", Text),
            ("started_at", Int),
        ],
        key: &["user_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "play_queues",
        columns: &[
            ("user_id", Int),
            ("current_song_id", Int),
            ("position_ms", Int),
            ("changed_at", Int),
            ("changed_by", Text),
        ],
        key: &["user_id"],
        document: "",
        sequence: false,
    },
    Table {
        name: "play_queue_songs",
        columns: &[("user_id", Int), ("position", Int), ("song_id", Int)],
        key: &["user_id", "position"],
        document: "",
        sequence: false,
    },
];

/// A source row's values and the index text of its search document's fields.
type SourceRow = (Vec<Value>, Vec<String>);

/// One value of a row, as both databases can hold it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl Table {
    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn order(&self) -> String {
        self.key
            .iter()
            .map(|k| format!("s.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The canonical bytes of a row for the checksum.
    fn digest_row(hasher: &mut Sha256, row: &[Value]) {
        for value in row {
            match value {
                Value::Null => hasher.update(b"\\N"),
                Value::Int(v) => hasher.update(v.to_string().as_bytes()),
                Value::Text(t) => hasher.update(t.as_bytes()),
            }
            hasher.update([0x1f]);
        }
        hasher.update([0x1e]);
    }
}

/// Copies the SQLite catalog at `from` into the PostgreSQL database `to` (see the module
/// docs). `progress` hears each table as it is copied.
pub fn copy_sqlite_to_postgres(
    from: &Path,
    to: &str,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<CopyReport, CopyError> {
    let source = open_source(from)?;
    let target = connect::target(to, true).map_err(|e| CopyError::Target(e.to_string()))?;
    // The schema, made by the server's own migrations (refusing a newer one).
    drop(PgCatalog::open(&PgOptions::new(to)).map_err(|e| CopyError::Target(e.to_string()))?);
    let mut pg = target
        .config
        .connect(postgres::NoTls)
        .map_err(|e| CopyError::Target(format!("cannot connect to {}: {e}", target.name)))?;
    let failed = |doing: &str, e: postgres::Error| {
        CopyError::Copy(format!(
            "{doing}: {}; what was copied so far is kept, run the copy again to resume",
            crate::pg::error::describe(&e)
        ))
    };
    check_target(&source, &mut pg, &target.name)?;

    let mut inserted = 0;
    for table in TABLES {
        let total = count_sqlite(&source, table.name)?;
        let mut done = 0u64;
        let mut after: Option<Vec<Value>> = None;
        loop {
            let rows = read_batch(&source, table, after.as_deref())?;
            if rows.is_empty() {
                break;
            }
            after = rows.last().map(|(row, _)| key_of(table, row));
            let mut tx = pg
                .transaction()
                .map_err(|e| failed("starting a batch", e))?;
            inserted += insert_batch(&mut tx, table, &rows)
                .map_err(|e| failed(&format!("copying {}", table.name), e))?;
            tx.commit()
                .map_err(|e| failed(&format!("committing {}", table.name), e))?;
            done += rows.len() as u64;
            progress(table.name, done, total);
        }
        if table.sequence {
            let seq = sqlite_sequence(&source, table.name)?;
            pg.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'id'), \
                     greatest($1::int8, (SELECT coalesce(max(id), 0) FROM {0}), 1))",
                    table.name
                ),
                &[&seq],
            )
            .map_err(|e| failed(&format!("advancing the ids of {}", table.name), e))?;
        }
    }
    let tables = verify(&source, &mut pg)?;
    Ok(CopyReport { tables, inserted })
}

fn open_source(path: &Path) -> Result<rusqlite::Connection, CopyError> {
    if !path.exists() {
        return Err(CopyError::Source(format!(
            "there is no catalog at {}",
            path.display()
        )));
    }
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| CopyError::Source(format!("cannot open {}: {e}", path.display())))?;
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| CopyError::Source(format!("{} is not a catalog: {e}", path.display())))?;
    if version != sqlite::SCHEMA_VERSION {
        return Err(CopyError::Source(format!(
            "{} has catalog schema version {version} and this build copies version {}; \
             start this cadenza-server on it once to migrate it (or use the matching build)",
            path.display(),
            sqlite::SCHEMA_VERSION
        )));
    }
    Ok(conn)
}

fn source_error(e: rusqlite::Error) -> CopyError {
    CopyError::Source(format!("reading the source catalog: {e}"))
}

fn count_sqlite(conn: &rusqlite::Connection, table: &str) -> Result<u64, CopyError> {
    let n: i64 = conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .map_err(source_error)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The highest id SQLite ever gave the table (AUTOINCREMENT keeps it past deletions).
fn sqlite_sequence(conn: &rusqlite::Connection, table: &str) -> Result<i64, CopyError> {
    let seq: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .optional()
        .map_err(source_error)?;
    Ok(seq.unwrap_or(0))
}

/// Refuses a target that holds rows of another catalog: a user or song whose id exists on
/// both sides with other content, or ids the source does not have.
fn check_target(
    source: &rusqlite::Connection,
    pg: &mut postgres::Client,
    name: &str,
) -> Result<(), CopyError> {
    for (table, column) in [
        ("users", "username_key"),
        ("songs", "hash"),
        ("artists", "name_key"),
    ] {
        let rows = pg
            .query(
                &format!("SELECT id, {column} FROM {table} ORDER BY id LIMIT 1000"),
                &[],
            )
            .map_err(|e| CopyError::Target(format!("reading {name}: {e}")))?;
        for row in rows {
            let (id, value): (i64, String) = (row.get(0), row.get(1));
            let there: Option<String> = source
                .query_row(
                    &format!("SELECT {column} FROM {table} WHERE id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(source_error)?;
            if there.as_deref() != Some(value.as_str()) {
                return Err(CopyError::Target(format!(
                    "the database {name} already holds another catalog ({table} {id} is \
                     `{value}` there); copy into an empty database"
                )));
            }
        }
    }
    Ok(())
}

/// The next rows after `after` (in key order), each with its search document fields.
fn read_batch(
    conn: &rusqlite::Connection,
    table: &Table,
    after: Option<&[Value]>,
) -> Result<Vec<SourceRow>, CopyError> {
    let n = table.columns.len();
    let document = if table.document.is_empty() {
        String::new()
    } else {
        format!(", {}", table.document)
    };
    let keys = table.key.len();
    let condition = match after {
        None => String::new(),
        Some(_) => {
            let cols = table.order();
            let marks: Vec<String> = (1..=keys).map(|i| format!("?{i}")).collect();
            format!("WHERE ({cols}) > ({})", marks.join(", "))
        }
    };
    let sql = format!(
        "SELECT {}{document} FROM {} s {condition} ORDER BY {} LIMIT {BATCH}",
        table.column_list(),
        table.name,
        table.order()
    );
    let mut stmt = conn.prepare(&sql).map_err(source_error)?;
    let params: Vec<Box<dyn rusqlite::ToSql>> = after
        .unwrap_or_default()
        .iter()
        .map(|v| -> Box<dyn rusqlite::ToSql> {
            match v {
                Value::Null => Box::new(rusqlite::types::Null),
                Value::Int(i) => Box::new(*i),
                Value::Text(t) => Box::new(t.clone()),
            }
        })
        .collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(source_error)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(source_error)? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(sqlite_value(r.get_ref(i).map_err(source_error)?));
        }
        let mut fields = Vec::new();
        for i in n..r.as_ref().column_count() {
            let text: Option<String> = r.get(i).map_err(source_error)?;
            fields.push(text.as_deref().map(index_text).unwrap_or_default());
        }
        out.push((values, fields));
    }
    Ok(out)
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Int(f as i64),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

fn key_of(table: &Table, row: &[Value]) -> Vec<Value> {
    table
        .key
        .iter()
        .map(|k| {
            let i = table
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .unwrap_or_default();
            row[i].clone()
        })
        .collect()
}

/// Inserts rows that are not there yet; returns how many were.
fn insert_batch(
    tx: &mut postgres::Transaction<'_>,
    table: &Table,
    rows: &[SourceRow],
) -> Result<u64, postgres::Error> {
    // One array per column, unnested into rows: one statement per batch.
    let mut ints: Vec<Vec<Option<i64>>> = Vec::new();
    let mut texts: Vec<Vec<Option<String>>> = Vec::new();
    let mut bools: Vec<Vec<Option<bool>>> = Vec::new();
    let mut selects = Vec::new();
    let mut slots = Vec::new();
    for (i, (name, kind)) in table.columns.iter().enumerate() {
        let (array, pg_type) = match kind {
            Int => {
                ints.push(rows.iter().map(|(r, _)| int(&r[i])).collect());
                (ints.len() - 1, "int8")
            }
            Text => {
                texts.push(rows.iter().map(|(r, _)| text(&r[i])).collect());
                (texts.len() - 1, "text")
            }
            Bool => {
                bools.push(
                    rows.iter()
                        .map(|(r, _)| int(&r[i]).map(|v| v != 0))
                        .collect(),
                );
                (bools.len() - 1, "bool")
            }
        };
        slots.push((*kind, array));
        selects.push((*name, pg_type));
    }
    let fields = rows.first().map_or(0, |(_, f)| f.len());
    let documents: Vec<Vec<String>> = (0..fields)
        .map(|f| rows.iter().map(|(_, d)| d[f].clone()).collect())
        .collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    for (kind, array) in &slots {
        match kind {
            Int => params.push(&ints[*array]),
            Text => params.push(&texts[*array]),
            Bool => params.push(&bools[*array]),
        }
    }
    for document in &documents {
        params.push(document);
    }
    let mut names: Vec<String> = selects.iter().map(|(n, _)| n.to_string()).collect();
    let mut unnest: Vec<String> = selects
        .iter()
        .enumerate()
        .map(|(i, (_, t))| format!("${}::{t}[]", i + 1))
        .collect();
    let mut values: Vec<String> = selects.iter().map(|(n, _)| format!("u.{n}")).collect();
    if fields > 0 {
        names.push("search".into());
        let docs: Vec<String> = (0..fields).map(|f| format!("u.doc{f}")).collect();
        values.push(format!("cadenza_document({})", docs.join(", ")));
        for f in 0..fields {
            unnest.push(format!("${}::text[]", selects.len() + f + 1));
        }
    }
    let aliases: Vec<String> = selects
        .iter()
        .map(|(n, _)| n.to_string())
        .chain((0..fields).map(|f| format!("doc{f}")))
        .collect();
    let sql = format!(
        "INSERT INTO {} ({}) SELECT {} FROM unnest({}) AS u ({}) ON CONFLICT DO NOTHING",
        table.name,
        names.join(", "),
        values.join(", "),
        unnest.join(", "),
        aliases.join(", ")
    );
    tx.execute(&sql, &params)
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Text(t) => t.parse().ok(),
        Value::Null => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Null => None,
    }
}

/// Compares every table: row counts and a checksum over all columns in key order.
fn verify(
    source: &rusqlite::Connection,
    pg: &mut postgres::Client,
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let mut tables = Vec::new();
    for table in TABLES {
        let order = table.order();
        let sql = format!(
            "SELECT {} FROM {} s ORDER BY {order}",
            table.column_list(),
            table.name
        );
        let (mut here, mut there) = (Sha256::new(), Sha256::new());
        let mut stmt = source.prepare(&sql).map_err(source_error)?;
        let mut rows = stmt.query([]).map_err(source_error)?;
        let mut source_rows = 0u64;
        while let Some(r) = rows.next().map_err(source_error)? {
            let mut values = Vec::with_capacity(table.columns.len());
            for i in 0..table.columns.len() {
                values.push(sqlite_value(r.get_ref(i).map_err(source_error)?));
            }
            Table::digest_row(&mut here, &values);
            source_rows += 1;
        }
        let pg_sql = sql.replace(
            &format!("ORDER BY {order}"),
            &format!("ORDER BY {}", collated(table)),
        );
        let target_rows = pg
            .query(&pg_sql, &[])
            .map_err(|e| CopyError::Copy(format!("reading {} back: {e}", table.name)))?;
        for r in &target_rows {
            let values: Vec<Value> = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| match kind {
                    Int => r.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
                    Bool => r
                        .get::<_, Option<bool>>(i)
                        .map_or(Value::Null, |b| Value::Int(i64::from(b))),
                    Text => r
                        .get::<_, Option<String>>(i)
                        .map_or(Value::Null, Value::Text),
                })
                .collect();
            Table::digest_row(&mut there, &values);
        }
        let target_count = target_rows.len() as u64;
        if target_count != source_rows {
            return Err(CopyError::Mismatch(format!(
                "{} has {source_rows} rows in the source and {target_count} in the target",
                table.name
            )));
        }
        if here.finalize() != there.finalize() {
            return Err(CopyError::Mismatch(format!(
                "{} has the same {source_rows} rows on both sides but different contents \
                 (the target was changed during the copy, or held rows of another catalog)",
                table.name
            )));
        }
        tables.push((table.name, source_rows));
    }
    // Counters are the target's own (its triggers counted the copied songs): compare them.
    for (table, column) in [
        ("albums", "song_count"),
        ("artists", "song_count"),
        ("genres", "song_count"),
        ("albums", "duration_ms"),
    ] {
        let sql = format!("SELECT coalesce(sum({column}), 0)::int8 FROM {table}");
        let here: i64 = source
            .query_row(&sql.replace("::int8", ""), [], |r| r.get(0))
            .map_err(source_error)?;
        let there: i64 = pg
            .query_one(&sql, &[])
            .map_err(|e| CopyError::Copy(format!("reading {table} back: {e}")))?
            .get(0);
        if here != there {
            return Err(CopyError::Mismatch(format!(
                "{table}.{column} adds up to {here} in the source and {there} in the target"
            )));
        }
    }
    Ok(tables)
}

/// The key order in PostgreSQL that matches SQLite's (text keys compare bytewise there).
fn collated(table: &Table) -> String {
    table
        .key
        .iter()
        .map(|k| {
            let text = table
                .columns
                .iter()
                .any(|(c, kind)| c == k && *kind == Text);
            if text {
                format!("s.{k} COLLATE \"C\"")
            } else {
                format!("s.{k}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{cover, hash, song};
    use crate::{Catalog, NewEpisode, SqliteCatalog};
    use cadenza_api::{CreatePlaylist, CreatePodcast, PageRequest, RecordPlay, Role, SearchType};

    /// A small catalog with a row in every table (a song crediting three artists and three
    /// genres among them), and a deleted newest song.
    fn source(path: &Path) -> SqliteCatalog {
        let cat = SqliteCatalog::open(path).unwrap();
        let mut ids = Vec::new();
        for n in 0..30u64 {
            let mut s = song(
                n,
                &format!("Track {n}"),
                ["Björk", "坂本龍一", "AC/DC"][n as usize % 3],
                &format!("Album {}", n % 4),
            );
            s.genre = (n % 2 == 0).then(|| "Rock".into());
            s.cover = (n % 4 == 0).then(|| cover(n));
            s.track = Some(n as u32);
            if n == 2 {
                s.other_artists = vec!["Guest Star".into(), "Björk".into()];
                s.other_genres = vec!["Pop".into(), "Drone".into()];
            }
            ids.push(cat.insert_song(&s, 100 + n as i64).unwrap().0.id);
        }
        let gone = cat
            .insert_song(&song(99, "Gone", "X", "Y"), 0)
            .unwrap()
            .0
            .id;
        cat.delete_song(gone).unwrap();
        let alice = cat
            .create_user("Alice", "$argon2id$hash-a", Role::Admin)
            .unwrap();
        let bob = cat
            .create_user("bob", "$argon2id$hash-b", Role::Listener)
            .unwrap();
        cat.insert_token("token-of-alice", alice.id, i64::MAX)
            .unwrap();
        let list = CreatePlaylist {
            name: "Road trip".into(),
            public: false,
        };
        let p = cat.create_playlist(alice.id, &list, 5).unwrap();
        cat.add_tracks(p.id, alice.id, &[ids[3], ids[1], ids[3]], None, 6)
            .unwrap();
        for (i, &id) in ids.iter().take(10).enumerate() {
            let play = RecordPlay {
                play_id: Some(format!("play-id-{i:08}")),
                played_at: Some(1_000 + i as i64),
                ..RecordPlay::now(id, Some(30_000))
            };
            cat.report_play(bob.id, &play, 2_000).unwrap();
            cat.record_play(alice.id, id, None, 1_500).unwrap();
        }
        let pod = CreatePodcast {
            title: "Cadenza Weekly".into(),
            author: Some("Team".into()),
            description: Some("notes".into()),
            feed_url: Some("https://x/feed".into()),
        };
        let (pod, _) = cat.create_podcast(&pod, 7).unwrap();
        let episode = NewEpisode {
            guid: "g1".into(),
            title: "One".into(),
            description: None,
            published_at: Some(50),
            duration_ms: 60_000,
            codec: "mp3".into(),
            content_type: "audio/mpeg".into(),
            size: 5_000,
            hash: hash(500),
        };
        let (e, _) = cat.insert_episode(pod.id, &episode, 8).unwrap();
        cat.set_position(bob.id, e.id, 12_000, 9).unwrap();
        cat
    }

    #[test]
    fn a_sqlite_catalog_is_copied_whole_resumably_and_answers_the_same() {
        if cadenza_pgtest::skip("the catalog copy") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let sqlite = source(&path);
        let before = std::fs::read(&path).unwrap();
        let cluster = cadenza_pgtest::Cluster::shared().unwrap();
        let url = cluster.primary_url(&cluster.create_database().unwrap());

        let mut seen = Vec::new();
        let report =
            copy_sqlite_to_postgres(&path, &url, |t, _, _| seen.push(t.to_string())).unwrap();
        assert_eq!(report.tables.len(), TABLES.len());
        assert!(seen.contains(&"plays".to_string()));
        let rows = |name: &str| report.tables.iter().find(|(t, _)| *t == name).unwrap().1;
        assert_eq!(
            (rows("songs"), rows("users"), rows("tokens"), rows("plays")),
            (30, 2, 1, 20)
        );
        assert_eq!((rows("song_artists"), rows("song_genres")), (2, 2));
        assert_eq!(
            report.inserted,
            report.tables.iter().map(|(_, n)| n).sum::<u64>()
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the source is untouched"
        );

        let pg = PgCatalog::open(&PgOptions::new(url.as_str())).unwrap();
        let page = PageRequest {
            limit: 100,
            offset: 0,
        };
        assert_eq!(pg.songs(page).unwrap(), sqlite.songs(page).unwrap());
        assert_eq!(pg.albums(page).unwrap(), sqlite.albums(page).unwrap());
        assert_eq!(pg.artists(page).unwrap(), sqlite.artists(page).unwrap());
        assert_eq!(pg.genres().unwrap(), sqlite.genres().unwrap());
        assert_eq!(pg.hot(0, 50).unwrap(), sqlite.hot(0, 50).unwrap());
        assert_eq!(pg.users().unwrap(), sqlite.users().unwrap());
        // The same matches (ranking may differ between the engines).
        for q in [
            "track 1", "bjork", "龍一", "dc", "rock", "road", "weekly", "guest", "pop", "drone",
        ] {
            let found = |cat: &dyn Catalog| {
                let r = cat.search(q, SearchType::All, page, 1).unwrap();
                let mut ids = [
                    r.songs.items.iter().map(|s| s.id).collect::<Vec<_>>(),
                    r.artists.items.iter().map(|a| a.id).collect(),
                    r.albums.items.iter().map(|a| a.id).collect(),
                    r.playlists.items.iter().map(|p| p.id).collect(),
                    r.podcasts.items.iter().map(|p| p.id).collect(),
                ];
                ids.iter_mut().for_each(|g| g.sort_unstable());
                (
                    ids,
                    [
                        r.songs.total,
                        r.artists.total,
                        r.albums.total,
                        r.playlists.total,
                    ],
                )
            };
            assert_eq!(found(&pg), found(&sqlite), "{q}");
        }
        // The credited song, its guest's page and its last genre answer the same.
        let credited = sqlite.song(3).unwrap();
        assert_eq!(
            (
                credited.title.as_str(),
                credited.artists.len(),
                credited.genres.len()
            ),
            ("Track 2", 3, 3)
        );
        assert_eq!(pg.song(credited.id).unwrap(), credited);
        let guest = credited.artists[1].id;
        assert_eq!(pg.artist(guest).unwrap(), sqlite.artist(guest).unwrap());
        assert_eq!(
            pg.genre_songs("drone", page).unwrap(),
            sqlite.genre_songs("drone", page).unwrap()
        );
        assert_eq!(pg.playlist(1, 1).unwrap(), sqlite.playlist(1, 1).unwrap());
        assert_eq!(pg.podcast(1, 2).unwrap(), sqlite.podcast(1, 2).unwrap());
        assert_eq!(
            pg.token_user("token-of-alice", 0)
                .unwrap()
                .unwrap()
                .username,
            "Alice"
        );
        assert_eq!(
            pg.credentials("alice").unwrap().unwrap().password_hash,
            "$argon2id$hash-a"
        );
        let (s, p) = (sqlite.stats(3_000).unwrap(), pg.stats(3_000).unwrap());
        assert_eq!(
            (p.songs, p.albums, p.plays, p.blobs),
            (s.songs, s.albums, s.plays, s.blobs)
        );
        // Ids continue after the deleted newest song, as in SQLite.
        let (next, _) = pg.insert_song(&song(200, "Next", "X", "Y"), 0).unwrap();
        assert_eq!(next.id, 32);

        // A target that went its own way since is not overwritten.
        let diverged = copy_sqlite_to_postgres(&path, &url, |_, _, _| {});
        assert!(
            matches!(&diverged, Err(CopyError::Target(m)) if m.contains("songs 32")),
            "{diverged:?}"
        );
        // Running it again changes nothing; a copy cut short is completed.
        pg.delete_song(next.id).unwrap();
        cluster
            .execute_in(
                url.rsplit('/').next().unwrap(),
                "DELETE FROM plays WHERE id > 5; DELETE FROM tokens",
            )
            .unwrap();
        let resumed = copy_sqlite_to_postgres(&path, &url, |_, _, _| {}).unwrap();
        assert_eq!(resumed.inserted, 15 + 1);
        let again = copy_sqlite_to_postgres(&path, &url, |_, _, _| {}).unwrap();
        assert_eq!(again.inserted, 0);
    }

    #[test]
    fn a_target_with_another_catalog_or_no_server_is_refused_before_writing() {
        if cadenza_pgtest::skip("the catalog copy") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        drop(source(&path));
        let cluster = cadenza_pgtest::Cluster::shared().unwrap();
        let db = cluster.create_database().unwrap();
        let url = cluster.primary_url(&db);
        let other = PgCatalog::open(&PgOptions::new(url.as_str())).unwrap();
        other
            .create_user("mallory", "$argon2id$m", Role::Admin)
            .unwrap();
        let err = copy_sqlite_to_postgres(&path, &url, |_, _, _| {}).unwrap_err();
        assert!(
            matches!(&err, CopyError::Target(m) if m.contains("already holds another catalog") && m.contains("mallory")),
            "{err}"
        );
        assert_eq!(
            other.songs(PageRequest::default()).unwrap().total,
            0,
            "nothing written"
        );

        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = copy_sqlite_to_postgres(
            &path,
            &format!("postgres://u:pw-secret@127.0.0.1:{closed}/x"),
            |_, _, _| {},
        )
        .unwrap_err();
        assert!(
            matches!(&err, CopyError::Target(m) if m.contains(&format!("127.0.0.1:{closed}/x"))),
            "{err}"
        );
        assert!(!err.to_string().contains("pw-secret"), "{err}");
        let err = copy_sqlite_to_postgres(&dir.path().join("nope.sqlite"), &url, |_, _, _| {})
            .unwrap_err();
        assert!(matches!(err, CopyError::Source(_)), "{err}");
    }
}
