//! SQLite through rusqlite.
//!
//! Committing costs SQLite several disk flushes, which would dominate a run of many small
//! migrations. So a run's steps share one outer transaction, each step inside its own
//! savepoint: a failing step is rolled back alone, the steps before it stay, and `sync`
//! commits them all with one flush. A crash before that loses the run's steps together,
//! leaving the database and its history consistent, as before the run.
//!
//! The migration lock is an advisory `flock` on the database file
//! itself: SQLite's own locks are POSIX record locks, which `flock` does not interact with,
//! and the kernel releases it when the process dies, so a killed run never leaves a stale lock.

mod guard;

use self::guard::Guard;
use super::{ConnectOptions, DbError, Dialect, Driver, ParamRows, Rows, Value};
use crate::checksum::Checksum;
use crate::error::Error;
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::Key;
use crate::pack::Pack;
use crate::version::Version;
use rusqlite::hooks::AuthContext;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use std::fs::{File, TryLockError};
use std::sync::PoisonError;

const CREATE_HISTORY: &str = "
CREATE TABLE IF NOT EXISTS godwit_history (
    version        INTEGER,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    checksum       TEXT    NOT NULL,
    applied_at     TEXT    NOT NULL,
    execution_ms   INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    godwit_version TEXT    NOT NULL,
    cursor         TEXT,
    rows_done      INTEGER NOT NULL DEFAULT 0,
    stream         TEXT    NOT NULL DEFAULT '',
    UNIQUE (stream, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS godwit_history_repeatable
    ON godwit_history (stream, name) WHERE version IS NULL;";

/// The columns every history table has had, copied as they are when the table is upgraded.
const COLUMNS_V1: &str = "version, name, kind, checksum, applied_at, execution_ms, state, \
     godwit_version, cursor, rows_done";

/// A history table from before packs had `UNIQUE (version)` and no stream; SQLite cannot drop
/// a constraint, so the table is rebuilt, in one savepoint.
fn upgrade_history() -> String {
    format!(
        "SAVEPOINT godwit_upgrade;
         DROP INDEX godwit_history_repeatable;
         ALTER TABLE godwit_history RENAME TO godwit_history_v1;
         {CREATE_HISTORY}
         INSERT INTO godwit_history ({COLUMNS_V1}) SELECT {COLUMNS_V1} FROM godwit_history_v1;
         DROP TABLE godwit_history_v1;
         RELEASE godwit_upgrade;"
    )
}

/// The history, in stream then version order; `{stream}` is `stream`, or `''` for a table an
/// older godwit wrote (read as it is: reading changes nothing).
const SELECT_HISTORY: &str = "SELECT {stream}, version, name, kind, checksum, applied_at, \
     execution_ms, state, godwit_version, cursor, rows_done FROM godwit_history \
     ORDER BY 1, version IS NULL, version, name";

const INSERT_RECORD: &str = "INSERT INTO godwit_history \
     (stream, version, name, kind, checksum, applied_at, execution_ms, state, godwit_version) \
     VALUES (?8, ?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?5, ?6, ?7)";

#[derive(Debug)]
pub struct SqliteDriver {
    conn: Connection,
    target: String,
    /// The database file, opened only to hold the migration lock; `None` for `:memory:`.
    lock_file: Option<File>,
    locked: bool,
    /// Whether the run's outer transaction is open.
    group_open: bool,
    /// What SQLite's authorizer enforces on migrations' statements.
    guard: Guard,
}

impl SqliteDriver {
    pub fn open(path: &str, options: &ConnectOptions) -> Result<SqliteDriver, Error> {
        let target = format!("sqlite:{path}");
        let connect_error = |source: DbError| Error::Connect { target: target.clone(), source };
        let mut conn = Connection::open(path).map_err(|e| connect_error(db_error(e)))?;
        conn.busy_timeout(options.busy_timeout).map_err(|e| connect_error(db_error(e)))?;
        let guard = Guard::default();
        let authorizer = guard.clone();
        conn.authorizer(Some(move |context: AuthContext<'_>| authorizer.authorize(context)))
            .map_err(|e| connect_error(db_error(e)))?;
        // Opening is lazy: touch the file now so that a directory, a non-database file or a
        // permission problem is reported as a connection error, not as a failed migration.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| connect_error(db_error(e)))?;
        let lock_file = match path {
            ":memory:" => None,
            _ => Some(File::open(path).map_err(|e| connect_error(DbError::new(e.to_string())))?),
        };
        Ok(SqliteDriver { conn, target, lock_file, locked: false, group_open: false, guard })
    }

    /// Whether the history table exists, and if so whether it has streams (`Some(true)`) or
    /// was written by a godwit from before packs (`Some(false)`).
    fn history_shape(&self) -> Result<Option<bool>, DbError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('godwit_history') \
                 WHERE name = 'stream') FROM sqlite_schema \
                 WHERE type = 'table' AND name = 'godwit_history'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error)
    }
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn try_lock(&mut self) -> Result<bool, DbError> {
        let Some(file) = &self.lock_file else {
            return Ok(true);
        };
        match file.try_lock() {
            Ok(()) => {
                self.locked = true;
                Ok(true)
            }
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => {
                Err(DbError::new(format!("cannot lock the database file: {e}")))
            }
        }
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        if let (Some(file), true) = (&self.lock_file, self.locked) {
            file.unlock()
                .map_err(|e| DbError::new(format!("cannot unlock the database file: {e}")))?;
            self.locked = false;
        }
        Ok(())
    }

    fn ensure_history(&mut self) -> Result<(), DbError> {
        match self.history_shape()? {
            Some(true) => Ok(()),
            Some(false) => self.conn.execute_batch(&upgrade_history()).map_err(|error| {
                let _ =
                    self.conn.execute_batch("ROLLBACK TO godwit_upgrade; RELEASE godwit_upgrade");
                db_error(error)
            }),
            None => self.conn.execute_batch(CREATE_HISTORY).map_err(db_error),
        }
    }

    fn history(&mut self) -> Result<Vec<AppliedMigration>, DbError> {
        let sql = match self.history_shape()? {
            None => return Ok(Vec::new()),
            Some(true) => SELECT_HISTORY.replace("{stream}", "stream"),
            Some(false) => SELECT_HISTORY.replace("{stream}", "''"),
        };
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok(RawRow {
                    stream: row.get(0)?,
                    version: row.get(1)?,
                    name: row.get(2)?,
                    kind: row.get(3)?,
                    checksum: row.get(4)?,
                    applied_at: row.get(5)?,
                    execution_ms: row.get(6)?,
                    state: row.get(7)?,
                    godwit_version: row.get(8)?,
                    cursor: row.get(9)?,
                    rows_done: row.get(10)?,
                })
            })
            .map_err(db_error)?;
        rows.map(|row| row.map_err(db_error).and_then(RawRow::into_applied)).collect()
    }

    fn confine(&mut self, pack: Option<&Pack>) -> Result<(), DbError> {
        let mut confined = self.guard.pack.lock().unwrap_or_else(PoisonError::into_inner);
        let was_confined = confined.is_some();
        drop(confined);
        // Before a pack's confinement is lifted: triggers it created run later, for whoever
        // writes their table, so they must stay within the grant too.
        let audit = match (was_confined, pack) {
            (true, None) => self.audit_triggers(),
            _ => Ok(()),
        };
        confined = self.guard.pack.lock().unwrap_or_else(PoisonError::into_inner);
        *confined = pack.map(|pack| (pack.name.clone(), pack.grant.clone()));
        drop(confined);
        self.conn.flush_prepared_statement_cache();
        audit
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.guard.run(&self.conn, |conn| conn.execute_batch(sql))
    }

    fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.guard.run(&self.conn, |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            Ok(statement.execute(rusqlite::params_from_iter(params))? as u64)
        })
    }

    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        self.guard.run(&self.conn, |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut changed = 0;
            for params in rows.iter() {
                changed += statement.execute(rusqlite::params_from_iter(params))? as u64;
            }
            Ok(changed)
        })
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.guard.run(&self.conn, |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
            let width = columns.len();
            let mut values = Vec::new();
            let mut cursor = statement.query(rusqlite::params_from_iter(params))?;
            while let Some(row) = cursor.next()? {
                for i in 0..width {
                    values.push(match row.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(v) => Value::Integer(v),
                        ValueRef::Real(v) => Value::Real(v),
                        ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
                            Ok(text) => text.to_owned(),
                            Err(_) => String::from_utf8_lossy(t).into_owned(),
                        }),
                        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                    });
                }
            }
            Ok(Rows { columns, values })
        })
    }

    fn begin(&mut self) -> Result<(), DbError> {
        if !self.group_open {
            self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)?;
            self.group_open = true;
        }
        self.conn.execute_batch("SAVEPOINT godwit_step").map_err(db_error)
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn.execute_batch("RELEASE godwit_step").map_err(db_error)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        if self.group_open && self.conn.is_autocommit() {
            // Some errors (a full disk, an I/O error) make SQLite roll back the whole
            // transaction, and with it the steps this run committed before.
            self.group_open = false;
            return Err(lost_run());
        }
        self.conn.execute_batch("ROLLBACK TO godwit_step; RELEASE godwit_step").map_err(db_error)
    }

    fn sync(&mut self) -> Result<(), DbError> {
        if !std::mem::take(&mut self.group_open) {
            return Ok(());
        }
        if self.conn.is_autocommit() {
            return Err(lost_run());
        }
        self.conn.execute_batch("COMMIT").map_err(db_error)
    }

    fn insert_record(&mut self, r: &NewRecord<'_>) -> Result<(), DbError> {
        let mut statement = self.conn.prepare_cached(INSERT_RECORD).map_err(db_error)?;
        statement
            .execute(params![
                r.version.map(Version::get),
                r.name,
                r.kind,
                r.checksum,
                r.execution_ms,
                r.state.as_str(),
                crate::GODWIT_VERSION,
                r.stream
            ])
            .map(drop)
            .map_err(db_error)
    }

    fn delete_record(&mut self, stream: &str, key: &Key) -> Result<(), DbError> {
        let (condition, key) = row_of(key);
        let sql = format!("DELETE FROM godwit_history WHERE stream = ?2 AND {condition}");
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement.execute(params![key, stream]).map(drop).map_err(db_error)
    }

    fn update_progress(
        &mut self,
        stream: &str,
        key: &Key,
        cursor: Option<&str>,
        rows_done: i64,
        state: RecordState,
    ) -> Result<(), DbError> {
        let (condition, key) = row_of(key);
        let sql = format!(
            "UPDATE godwit_history SET cursor = ?3, rows_done = ?4, state = ?5 \
             WHERE stream = ?2 AND {condition}"
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement
            .execute(params![key, stream, cursor, rows_done, state.as_str()])
            .map(drop)
            .map_err(db_error)
    }

    fn update_checksum(&mut self, stream: &str, key: &Key, checksum: &str) -> Result<(), DbError> {
        let (condition, key) = row_of(key);
        let sql =
            format!("UPDATE godwit_history SET checksum = ?3 WHERE stream = ?2 AND {condition}");
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement.execute(params![key, stream, checksum]).map(drop).map_err(db_error)
    }
}

/// The condition on `?1` that picks a key's row within its stream, and the value for `?1`.
fn row_of(key: &Key) -> (&'static str, rusqlite::types::Value) {
    match key {
        Key::Versioned(v) => ("version = ?1", rusqlite::types::Value::Integer(v.get())),
        Key::Repeatable(name) => {
            ("version IS NULL AND name = ?1", rusqlite::types::Value::Text(name.clone()))
        }
    }
}

/// A history row as stored, before it is checked; shared with the PostgreSQL driver.
pub(super) struct RawRow {
    pub stream: String,
    pub version: Option<i64>,
    pub name: String,
    pub kind: String,
    pub checksum: String,
    pub applied_at: String,
    pub execution_ms: i64,
    pub state: String,
    pub godwit_version: String,
    pub cursor: Option<String>,
    pub rows_done: i64,
}

impl RawRow {
    /// Rejects rows godwit could not have written, so a tampered table is reported, not trusted.
    pub fn into_applied(self) -> Result<AppliedMigration, DbError> {
        let bad = |what: &str| {
            DbError::new(format!(
                "godwit_history has a row godwit did not write ({what} for `{}`)",
                self.name
            ))
        };
        let version = match self.version {
            Some(v) => Some(Version::new(v).ok_or_else(|| bad("a negative version"))?),
            None => None,
        };
        let state = RecordState::parse(&self.state).ok_or_else(|| bad("an unknown state"))?;
        if self.checksum.len() != 64 || !self.checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("a malformed checksum"));
        }
        Ok(AppliedMigration {
            stream: self.stream,
            version,
            name: self.name,
            kind: self.kind,
            checksum: Checksum::from_stored(self.checksum),
            applied_at: self.applied_at,
            execution_ms: self.execution_ms,
            state,
            godwit_version: self.godwit_version,
            cursor: self.cursor,
            rows_done: self.rows_done,
        })
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Boolean(b) => ValueRef::Integer(i64::from(*b)),
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn lost_run() -> DbError {
    DbError::new(
        "SQLite rolled back the whole transaction after an error, undoing the migrations \
         this run had applied; the history shows what is applied",
    )
}

fn db_error(error: rusqlite::Error) -> DbError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => DbError {
            message: message.clone().unwrap_or_else(|| failure.to_string()),
            code: Some(code_name(failure.extended_code)),
            position: None,
        },
        rusqlite::Error::SqlInputError { error, msg, sql, offset } => DbError {
            message: msg.clone(),
            code: Some(code_name(error.extended_code)),
            // SQLite gives a byte offset into the statement; positions count characters from 1.
            position: usize::try_from(*offset)
                .ok()
                .and_then(|at| sql.get(..at))
                .map(|before| before.chars().count() + 1),
        },
        _ => DbError::new(error.to_string()),
    }
}

/// SQLite's name for a result code, as its documentation spells it.
fn code_name(extended: i32) -> String {
    let name = match extended & 0xff {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        23 => "SQLITE_AUTH",
        26 => "SQLITE_NOTADB",
        _ => return format!("SQLite code {extended}"),
    };
    name.to_owned()
}
