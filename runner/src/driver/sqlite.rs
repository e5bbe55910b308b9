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

use super::{ConnectOptions, DbError, Dialect, Driver, ParamRows, Rows, Value};
use crate::checksum::Checksum;
use crate::error::Error;
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::Key;
use crate::version::Version;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use std::fs::{File, TryLockError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

const CREATE_HISTORY: &str = "
CREATE TABLE IF NOT EXISTS godwit_history (
    version        INTEGER UNIQUE,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    checksum       TEXT    NOT NULL,
    applied_at     TEXT    NOT NULL,
    execution_ms   INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    godwit_version TEXT    NOT NULL,
    cursor         TEXT,
    rows_done      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS godwit_history_repeatable
    ON godwit_history (name) WHERE version IS NULL;";

const SELECT_HISTORY: &str = "SELECT version, name, kind, checksum, applied_at, execution_ms, \
     state, godwit_version, cursor, rows_done FROM godwit_history ORDER BY version IS NULL, version, name";

const INSERT_RECORD: &str = "INSERT INTO godwit_history \
     (version, name, kind, checksum, applied_at, execution_ms, state, godwit_version) \
     VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?5, ?6, ?7)";

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

/// Statements of migrations (SQL files and guests alike) may not touch `godwit_history`:
/// while `on`, SQLite's authorizer denies any change to it as the statement is prepared, and
/// remembers what it denied for the error message. godwit's own history statements run
/// with the guard off.
#[derive(Debug, Clone, Default)]
struct Guard {
    on: Arc<AtomicBool>,
    denied: Arc<Mutex<Option<String>>>,
}

impl Guard {
    fn authorize(&self, context: AuthContext<'_>) -> Authorization {
        if !self.on.load(Ordering::Relaxed) {
            return Authorization::Allow;
        }
        let (what, table) = match context.action {
            AuthAction::Insert { table_name } => ("INSERT INTO", table_name),
            AuthAction::Update { table_name, .. } => ("UPDATE of", table_name),
            AuthAction::Delete { table_name } => ("DELETE FROM", table_name),
            AuthAction::DropTable { table_name } => ("DROP TABLE", table_name),
            AuthAction::AlterTable { table_name, .. } => ("ALTER TABLE", table_name),
            AuthAction::CreateIndex { table_name, .. } => ("CREATE INDEX on", table_name),
            AuthAction::DropIndex { table_name, .. } => ("DROP INDEX on", table_name),
            AuthAction::CreateTrigger { table_name, .. }
            | AuthAction::CreateTempTrigger { table_name, .. } => ("CREATE TRIGGER on", table_name),
            AuthAction::DropTrigger { table_name, .. } => ("DROP TRIGGER on", table_name),
            _ => return Authorization::Allow,
        };
        if !table.eq_ignore_ascii_case("godwit_history") {
            return Authorization::Allow;
        }
        let by = context.accessor.map(|t| format!(" (through {t})")).unwrap_or_default();
        *self.denied.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(format!("{what} godwit_history{by}"));
        Authorization::Deny
    }

    /// Runs a migration's statement with the guard on.
    fn run<T>(
        &self,
        conn: &Connection,
        body: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        self.on.store(true, Ordering::Relaxed);
        let result = body(conn);
        self.on.store(false, Ordering::Relaxed);
        let denied = self.denied.lock().unwrap_or_else(PoisonError::into_inner).take();
        result.map_err(|error| match denied {
            Some(what) => DbError {
                message: format!(
                    "a migration may not change godwit's history table: {what} was denied"
                ),
                code: Some("SQLITE_AUTH".to_owned()),
                position: None,
            },
            None => db_error(error),
        })
    }
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

    fn history_exists(&self) -> Result<bool, DbError> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'godwit_history'",
                [],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
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
        self.conn.execute_batch(CREATE_HISTORY).map_err(db_error)
    }

    fn history(&mut self) -> Result<Vec<AppliedMigration>, DbError> {
        if !self.history_exists()? {
            return Ok(Vec::new());
        }
        let mut statement = self.conn.prepare_cached(SELECT_HISTORY).map_err(db_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok(RawRow {
                    version: row.get(0)?,
                    name: row.get(1)?,
                    kind: row.get(2)?,
                    checksum: row.get(3)?,
                    applied_at: row.get(4)?,
                    execution_ms: row.get(5)?,
                    state: row.get(6)?,
                    godwit_version: row.get(7)?,
                    cursor: row.get(8)?,
                    rows_done: row.get(9)?,
                })
            })
            .map_err(db_error)?;
        rows.map(|row| row.map_err(db_error).and_then(RawRow::into_applied)).collect()
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
                crate::GODWIT_VERSION
            ])
            .map(drop)
            .map_err(db_error)
    }

    fn delete_record(&mut self, key: &Key) -> Result<(), DbError> {
        let result = match key {
            Key::Versioned(v) => {
                self.conn.execute("DELETE FROM godwit_history WHERE version = ?1", params![v.get()])
            }
            Key::Repeatable(name) => self.conn.execute(
                "DELETE FROM godwit_history WHERE version IS NULL AND name = ?1",
                params![name],
            ),
        };
        result.map(drop).map_err(db_error)
    }

    fn update_progress(
        &mut self,
        key: &Key,
        cursor: Option<&str>,
        rows_done: i64,
        state: RecordState,
    ) -> Result<(), DbError> {
        let (condition, key_value) = match key {
            Key::Versioned(v) => ("version = ?1", rusqlite::types::Value::Integer(v.get())),
            Key::Repeatable(name) => {
                ("version IS NULL AND name = ?1", rusqlite::types::Value::Text(name.clone()))
            }
        };
        let sql = format!(
            "UPDATE godwit_history SET cursor = ?2, rows_done = ?3, state = ?4 WHERE {condition}"
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        statement
            .execute(params![key_value, cursor, rows_done, state.as_str()])
            .map(drop)
            .map_err(db_error)
    }

    fn update_checksum(&mut self, key: &Key, checksum: &str) -> Result<(), DbError> {
        let result = match key {
            Key::Versioned(v) => self.conn.execute(
                "UPDATE godwit_history SET checksum = ?2 WHERE version = ?1",
                params![v.get(), checksum],
            ),
            Key::Repeatable(name) => self.conn.execute(
                "UPDATE godwit_history SET checksum = ?2 WHERE version IS NULL AND name = ?1",
                params![name, checksum],
            ),
        };
        result.map(drop).map_err(db_error)
    }
}

/// A history row as stored, before it is checked; shared with the PostgreSQL driver.
pub(super) struct RawRow {
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
