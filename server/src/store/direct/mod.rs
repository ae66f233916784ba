//! The embedded SQLite file's fast path: statements run straight on rusqlite connections in the
//! calling thread, instead of through sqlx's SQLite driver, which runs every statement on a
//! thread per connection and answers through channels (two thread switches per statement, the
//! largest cost of a code exchange once its signatures are paid). The SQL is still built by
//! sea-orm from the same queries PostgreSQL runs, so each statement is written once.
//!
//! Two users: the writer thread runs the one-statement writes (and pairs of inserts) on a
//! connection of its own, in the same group commit as the other jobs (`writer`); and the
//! flows' reads of one row (`Store::first`, `Store::code_to_redeem`,
//! `Store::session_with_consent`) run on a small stack of read-only connections, an indexed
//! lookup taking tens of microseconds of the caller's thread. `rows` reads the models.

use rusqlite::config::DbConfig;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Row};
use sea_orm::{DbErr, RuntimeErr, Statement, sea_query::Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{StoreError, StoreResult};

mod rows;
pub(super) use rows::FromDirect;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;
/// Idle read connections kept; more are opened when more threads read at once.
const IDLE_READERS: usize = 8;
/// How long a statement waits for another process's lock (the CLI writing the same file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// WAL pages written before the committing connection copies them into the file (a
/// checkpoint, with two fsyncs that hold up every write for a few milliseconds). SQLite's
/// default, 1,000, made a dozen such stalls a second under code-exchange load; at 4,000 (a WAL of up
/// to 16 MiB) code exchanges ran 3.5% faster, the p99 a few milliseconds longer.
pub(super) const WAL_CHECKPOINT_PAGES: u32 = 4000;

/// The file a `sqlite:` URL names, as sqlx reads it.
pub(super) fn file_of(url: &str) -> StoreResult<PathBuf> {
    use std::str::FromStr;
    let opts = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Encoding(format!("database.url: {e}")))?;
    Ok(opts.get_filename().to_owned())
}

fn open(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner's stability guarantee: plans never depend on bound values. Without it
    // SQLite (3.48 on) reads a bound `LIMIT ?` (sea-query binds every limit) while planning,
    // and a statement whose plan read a value is marked expired whenever any value is bound
    // again, so a cached statement was parsed and planned anew on every run: 9% of the
    // server's time in a code exchange.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// The writer thread's own connection to a file the writer's sea-orm connection created and
/// put in WAL mode: the same durability (`synchronous=NORMAL`), foreign keys and checkpoints.
pub(super) fn open_writer(path: &Path) -> StoreResult<Connection> {
    let conn = open(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(error)?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES};"
    ))
    .map_err(error)?;
    Ok(conn)
}

/// Read-only connections to the file, lent to one caller at a time.
pub(super) struct Reads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl Reads {
    pub(super) fn new(path: PathBuf) -> Self {
        Reads {
            path,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Run `statement` and map its first row, if any, with `map`.
    pub(super) fn one<T>(
        &self,
        statement: Statement,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let lent = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match lent {
            Some(c) => c,
            None => open(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(error)?,
        };
        let result = query_one(&conn, &statement, map);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_READERS
            && !self.closed.load(Ordering::Acquire)
        {
            idle.push(conn);
        }
        result.map_err(error)
    }

    /// Close the idle connections; later reads fail as if the database were down.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

fn query_one<T>(
    conn: &Connection,
    statement: &Statement,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut stmt = conn.prepare_cached(&statement.sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(binds(statement)))?;
    match rows.next()? {
        Some(row) => map(row).map(Some),
        None => Ok(None),
    }
}

/// A transaction-control statement (`BEGIN IMMEDIATE`, `SAVEPOINT job` …), parsed once per
/// connection.
pub(super) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([]))
}

/// Run `statements` in order; how many rows each changed.
pub(super) fn run_all(conn: &Connection, statements: &[Statement]) -> StoreResult<Vec<u64>> {
    statements
        .iter()
        .map(|s| {
            let mut stmt = conn.prepare_cached(&s.sql)?;
            Ok(stmt.execute(rusqlite::params_from_iter(binds(s)))? as u64)
        })
        .collect::<rusqlite::Result<_>>()
        .map_err(error)
}

/// The first row `statement` returns (a SELECT, or a write with RETURNING), mapped with `map`.
pub(super) fn first_row<T>(
    conn: &Connection,
    statement: &Statement,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Option<T>> {
    query_one(conn, statement, map).map_err(error)
}

/// Run `job`; with `savepoint`, in a savepoint of its own: released when it succeeds, rolled
/// back when it fails. The second value is true when a failure could not be undone (the batch
/// must roll back).
pub(super) fn isolated<T>(
    conn: &Connection,
    savepoint: bool,
    job: impl FnOnce(&Connection) -> StoreResult<T>,
) -> (StoreResult<T>, bool) {
    if !savepoint {
        return (job(conn), false);
    }
    if let Err(e) = control(conn, "SAVEPOINT job") {
        return (Err(error(e)), true);
    }
    match job(conn) {
        Ok(v) => match control(conn, "RELEASE job") {
            Ok(_) => (Ok(v), false),
            Err(e) => (Err(error(e)), true),
        },
        Err(e) => {
            let undone =
                control(conn, "ROLLBACK TO job").and_then(|_| control(conn, "RELEASE job"));
            (Err(e), undone.is_err())
        }
    }
}

/// A sea-query value bound as SQLite stores it (what sqlx's SQLite binder does: booleans as
/// integers, JSON as text).
struct Bind<'a>(&'a Value);

fn binds(statement: &Statement) -> impl Iterator<Item = Bind<'_>> {
    statement.values.iter().flat_map(|v| v.0.iter()).map(Bind)
}

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        let int = |v: Option<i64>| v.map_or(ToSqlOutput::Borrowed(ValueRef::Null), |i| i.into());
        Ok(match self.0 {
            Value::Bool(v) => int(v.map(i64::from)),
            Value::TinyInt(v) => int(v.map(i64::from)),
            Value::SmallInt(v) => int(v.map(i64::from)),
            Value::Int(v) => int(v.map(i64::from)),
            Value::BigInt(v) => int(*v),
            Value::TinyUnsigned(v) => int(v.map(i64::from)),
            Value::SmallUnsigned(v) => int(v.map(i64::from)),
            Value::Unsigned(v) => int(v.map(i64::from)),
            Value::BigUnsigned(Some(v)) => ToSqlOutput::from(
                i64::try_from(*v)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            ),
            Value::Float(Some(v)) => ToSqlOutput::from(f64::from(*v)),
            Value::Double(Some(v)) => ToSqlOutput::from(*v),
            Value::String(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Char(Some(c)) => ToSqlOutput::Owned(Owned::Text(c.to_string())),
            Value::Bytes(Some(b)) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Json(Some(j)) => ToSqlOutput::Owned(Owned::Text(j.to_string())),
            Value::BigUnsigned(None)
            | Value::Float(None)
            | Value::Double(None)
            | Value::String(None)
            | Value::Char(None)
            | Value::Bytes(None)
            | Value::Json(None) => ToSqlOutput::Borrowed(ValueRef::Null),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("no SQLite binding for {other:?}").into(),
                ));
            }
        })
    }
}

fn closed() -> StoreError {
    StoreError::from(DbErr::Conn(RuntimeErr::Internal(
        "the database is closed".into(),
    )))
}

/// A rusqlite error as the store reports it: a unique key is `Conflict`, a database that
/// cannot be reached or written (busy, locked, I/O, full, gone) is unavailable, anything else
/// a database error.
pub(super) fn error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{self, ErrorCode};
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict;
        }
        if matches!(
            f.code,
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
        ) {
            return StoreError::from(DbErr::Conn(RuntimeErr::Internal(e.to_string())));
        }
    }
    StoreError::from(DbErr::Custom(format!("sqlite: {e}")))
}

/// The same error for the writer's answers, which carry a `DbErr`.
pub(super) fn db_err(e: rusqlite::Error) -> DbErr {
    match error(e) {
        StoreError::Db(e) => e,
        other => DbErr::Custom(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, sea_query::Values};

    /// `statements` in order; with `savepoint`, all or none (as the writer runs them).
    fn execute(
        conn: &Connection,
        statements: &[Statement],
        savepoint: bool,
    ) -> (StoreResult<Vec<u64>>, bool) {
        isolated(conn, savepoint, |conn| run_all(conn, statements))
    }

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, Values(values).0)
    }

    fn scratch() -> (Connection, PathBuf) {
        let dir = std::env::temp_dir().join(format!("ostiary-direct-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE v (id TEXT PRIMARY KEY, n INTEGER, \
             flag INTEGER, note TEXT, doc TEXT)",
        )
        .unwrap();
        (conn, dir)
    }

    #[test]
    fn values_are_bound_as_sqlite_stores_them_and_read_back_by_a_read_only_connection() {
        let (conn, dir) = scratch();
        let insert = statement(
            "INSERT INTO v (id, n, flag, note, doc) VALUES (?, ?, ?, ?, ?)",
            vec![
                Value::String(Some("a".into())),
                Value::BigInt(Some(1 << 40)),
                Value::Bool(Some(true)),
                Value::String(None),
                Value::Json(Some(Box::new(serde_json::json!({"k": 1})))),
            ],
        );
        let (changed, poisoned) = execute(&conn, &[insert], false);
        assert_eq!(changed.unwrap(), vec![1]);
        assert!(!poisoned);
        let reads = Reads::new(dir.join("d.db"));
        let select = statement(
            "SELECT n, flag, note, doc FROM v WHERE id = ?",
            vec![Value::String(Some("a".into()))],
        );
        let row = reads
            .one(select, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .unwrap();
        assert_eq!(row, Some((1 << 40, true, None, r#"{"k":1}"#.to_owned())));
        reads.close();
        let again = statement("SELECT n FROM v", vec![]);
        let err = reads.one(again, |r| r.get::<_, i64>(0)).unwrap_err();
        assert!(err.is_unavailable(), "a closed store reads nothing: {err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_cached_read_with_a_bound_limit_is_planned_once_however_often_it_runs() {
        let (conn, dir) = scratch();
        conn.execute("INSERT INTO v (id, n) VALUES ('a', 1)", [])
            .unwrap();
        let reads = Reads::new(dir.join("d.db"));
        let sql = "SELECT n FROM v WHERE id = ? LIMIT ?";
        for _ in 0..3 {
            let select = statement(
                sql,
                vec![Value::String(Some("a".into())), Value::BigUnsigned(Some(1))],
            );
            assert_eq!(reads.one(select, |r| r.get::<_, i64>(0)).unwrap(), Some(1));
        }
        let lent = reads
            .idle
            .lock()
            .unwrap()
            .pop()
            .expect("the reader went back idle");
        let cached = lent.prepare_cached(sql).unwrap();
        assert_eq!(cached.get_status(rusqlite::StatementStatus::RePrepare), 0);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_writer_checkpoints_the_wal_every_few_thousand_pages_not_every_thousand() {
        let (_conn, dir) = scratch();
        let writer = open_writer(&dir.join("d.db")).unwrap();
        let pages: u32 = writer
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pages, WAL_CHECKPOINT_PAGES);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_duplicate_key_is_a_conflict_and_a_failed_pair_leaves_nothing() {
        let (conn, dir) = scratch();
        let insert = |id: &str| {
            statement(
                "INSERT INTO v (id) VALUES (?)",
                vec![Value::String(Some(id.into()))],
            )
        };
        assert!(execute(&conn, &[insert("a")], false).0.is_ok());
        let (result, poisoned) = execute(&conn, &[insert("b"), insert("a")], true);
        assert!(matches!(result, Err(StoreError::Conflict)));
        assert!(!poisoned, "the savepoint was undone");
        let count: i64 = conn
            .query_row("SELECT count(*) FROM v", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 1, "the pair's first insert was undone with it");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_value_sqlite_cannot_store_is_an_error_not_a_panic() {
        let (conn, dir) = scratch();
        let insert = statement(
            "INSERT INTO v (id, n) VALUES ('x', ?)",
            vec![Value::BigUnsigned(Some(u64::MAX))],
        );
        let (result, _) = execute(&conn, &[insert], false);
        assert!(matches!(result, Err(StoreError::Db(_))));
        std::fs::remove_dir_all(dir).ok();
    }
}
