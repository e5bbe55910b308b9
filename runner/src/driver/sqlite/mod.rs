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

mod authorizer;

use self::authorizer::Guard;
use super::{
    Confine, ConnectError, ConnectOptions, DbError, Dialect, Driver, ParamRows, Rows, Value,
};
use rusqlite::hooks::AuthContext;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement};
use std::fs::{File, TryLockError};
use std::sync::PoisonError;

#[derive(Debug)]
pub struct SqliteDriver {
    conn: Connection,
    target: String,
    /// The database file, opened only to hold the migration lock; `None` for `:memory:`.
    lock_file: Option<File>,
    locked: bool,
    /// The database file's path (`None` for `:memory:`), and the transforms' lock while held.
    path: Option<String>,
    transform_lock: Option<File>,
    /// Whether the run's outer transaction is open.
    group_open: bool,
    /// What SQLite's authorizer enforces on migrations' statements.
    guard: Guard,
}

impl SqliteDriver {
    pub fn open(path: &str, options: &ConnectOptions) -> Result<SqliteDriver, ConnectError> {
        let target = format!("sqlite:{path}");
        let connect_error =
            |source: DbError| ConnectError::Unreachable { target: target.clone(), source };
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
        let path = (path != ":memory:").then(|| path.to_owned());
        Ok(SqliteDriver {
            conn,
            target,
            lock_file,
            locked: false,
            path,
            transform_lock: None,
            group_open: false,
            guard,
        })
    }
}

impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn history_table(&self) -> &str {
        "godwit_history"
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

    /// SQLite writes one transaction at a time, so transforms run one at a time too: one lock
    /// for all of them, on a file beside the database (`<file>-godwit-transforms.lock`).
    fn try_lock_transform(&mut self, _name: &str) -> Result<bool, DbError> {
        let Some(path) = &self.path else {
            return Ok(true);
        };
        if self.transform_lock.is_some() {
            return Ok(true);
        }
        let lock_path = format!("{path}-godwit-transforms.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| DbError::new(format!("cannot open {lock_path}: {e}")))?;
        match file.try_lock() {
            Ok(()) => {
                self.transform_lock = Some(file);
                Ok(true)
            }
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(e)) => {
                Err(DbError::new(format!("cannot lock {lock_path}: {e}")))
            }
        }
    }

    fn unlock_transform(&mut self, _name: &str) -> Result<(), DbError> {
        // Closing the file releases its lock.
        self.transform_lock = None;
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        if let (Some(file), true) = (&self.lock_file, self.locked) {
            file.unlock()
                .map_err(|e| DbError::new(format!("cannot unlock the database file: {e}")))?;
            self.locked = false;
        }
        Ok(())
    }

    fn confine(&mut self, to: Option<Confine<'_>>) -> Result<(), DbError> {
        let mut confined = self.guard.pack.lock().unwrap_or_else(PoisonError::into_inner);
        let was_confined = confined.is_some();
        drop(confined);
        // Before a pack's confinement is lifted: triggers it created run later, for whoever
        // writes their table, so they must stay within the grant too.
        let audit = match (was_confined, to) {
            (true, None) => self.audit_triggers(),
            _ => Ok(()),
        };
        confined = self.guard.pack.lock().unwrap_or_else(PoisonError::into_inner);
        *confined = to.map(|to| (to.pack.to_owned(), to.grant.clone()));
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
            Ok(statement.execute(bind(params))? as u64)
        })
    }

    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        self.guard.run(&self.conn, |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut changed = 0;
            for params in rows.iter() {
                changed += statement.execute(bind(params))? as u64;
            }
            Ok(changed)
        })
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.guard.run(&self.conn, |conn| rows(&mut *conn.prepare_cached(sql)?, params))
    }

    fn own_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(db_error)
    }

    fn own_query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(db_error)?;
        rows(&mut statement, params).map_err(db_error)
    }

    fn own_execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(db_error)?;
        let changed = statement.execute(bind(params)).map_err(db_error)?;
        Ok(changed as u64)
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
}

/// Every row of a prepared statement run with `params`.
fn rows(statement: &mut Statement<'_>, params: &[Value]) -> rusqlite::Result<Rows> {
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let mut values = Vec::new();
    let mut cursor = statement.query(bind(params))?;
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
}

/// A parameter as rusqlite binds it: borrowed, as the value's own type.
struct Bind<'a>(&'a Value);

/// The parameters of a statement.
fn bind(params: &[Value]) -> impl rusqlite::Params + '_ {
    rusqlite::params_from_iter(params.iter().map(Bind))
}

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
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
