//! Databases behind one small trait. A driver supplies primitives (run a statement,
//! transactions, a lock, history rows); the engine in `migrator` owns the algorithm, so a new
//! backend is a few dozen lines and behaves like the others.

mod postgres;
mod sqlite;
mod tls;
mod value;

use crate::error::Error;
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::Key;
use crate::pack::Pack;
use std::fmt;
use std::time::Duration;

pub use self::postgres::PostgresDriver;
pub use self::sqlite::SqliteDriver;
pub use self::value::{ParamRows, Rows, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// An error reported by the database, with its code (SQLSTATE on PostgreSQL, the extended
/// result code name on SQLite) and, when the database gives one, the 1-based character
/// position in the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub message: String,
    pub code: Option<String>,
    pub position: Option<usize>,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> DbError {
        DbError { message: message.into(), code: None, position: None }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DbError {}

/// The primitives a database provides to the engine. Every method runs on one connection.
pub trait Driver: Send {
    fn dialect(&self) -> Dialect;
    /// The database, for messages (passwords removed).
    fn target(&self) -> &str;
    /// Takes the migration lock without waiting; `Ok(false)` when another process holds it.
    fn try_lock(&mut self) -> Result<bool, DbError>;
    fn unlock(&mut self) -> Result<(), DbError>;
    /// Creates the history table if it does not exist, and brings one written by an older
    /// godwit up to date.
    fn ensure_history(&mut self) -> Result<(), DbError>;
    /// Every history row; empty when the table does not exist yet (nothing is created).
    fn history(&mut self) -> Result<Vec<AppliedMigration>, DbError>;
    /// Confines the statements that follow, of SQL files and guests alike, to what a pack's
    /// grant allows, until called with `None` (before godwit records the step). The database
    /// enforces it; a denied statement fails with the pack, the denied action and object.
    fn confine(&mut self, pack: Option<&Pack>) -> Result<(), DbError>;
    /// Runs one statement of a migration.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;
    /// Runs one statement with positional parameters (`?1` or `$1`); returns the number of
    /// rows it changed.
    fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs one statement once per parameter row, prepared once.
    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        let mut changed = 0;
        for params in rows.iter() {
            changed += self.execute_with(sql, params)?;
        }
        Ok(changed)
    }
    /// Runs a query with positional parameters and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;
    /// Starts the transaction of one step (a migration and its history row).
    fn begin(&mut self) -> Result<(), DbError>;
    /// Ends the step's transaction. The step is atomic from here on, but may become durable
    /// and visible to other connections only at the next [`Driver::sync`]: that is where
    /// drivers put the cost of flushing to disk, once per run instead of once per migration.
    fn commit(&mut self) -> Result<(), DbError>;
    /// Undoes the current step only; steps committed before it are kept.
    fn rollback(&mut self) -> Result<(), DbError>;
    /// Makes every committed step durable and visible. The engine calls it at the end of every
    /// run, whatever its outcome, and before statements that must run outside a transaction.
    fn sync(&mut self) -> Result<(), DbError>;
    fn insert_record(&mut self, record: &NewRecord<'_>) -> Result<(), DbError>;
    /// Deletes the row of `key` in `stream` (empty for the project's own migrations).
    fn delete_record(&mut self, stream: &str, key: &Key) -> Result<(), DbError>;
    fn update_checksum(&mut self, stream: &str, key: &Key, checksum: &str) -> Result<(), DbError>;
    /// Records how far a batched migration got, and whether it is now applied.
    fn update_progress(
        &mut self,
        stream: &str,
        key: &Key,
        cursor: Option<&str>,
        rows_done: i64,
        state: RecordState,
    ) -> Result<(), DbError>;
}

/// How to connect, beyond the URL.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// PostgreSQL schema of the history table; the connection's current schema if `None`.
    pub schema: Option<String>,
    /// How long SQLite waits on a database another connection is writing.
    pub busy_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            schema: None,
            busy_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens the database named by `url`: `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`,
/// `postgres://...` or `postgresql://...`.
pub fn connect(url: &str, options: &ConnectOptions) -> Result<Box<dyn Driver>, Error> {
    if let Some(path) = sqlite_path(url) {
        if path.is_empty() {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "no database file after `sqlite:`".to_owned(),
            });
        }
        return Ok(Box::new(SqliteDriver::open(path, options)?));
    }
    if is_postgres(url) {
        return Ok(Box::new(PostgresDriver::connect(url, options)?));
    }
    Err(Error::InvalidUrl { url: redact(url), reason: "unknown scheme".to_owned() })
}

/// Whether [`connect`] leaves everything as it was: a PostgreSQL connection, or a SQLite file
/// that exists (a missing one would be created). A caller may then connect while it does
/// other work that could still fail.
pub fn connect_changes_nothing(url: &str) -> bool {
    is_postgres(url) || sqlite_path(url).is_some_and(|path| std::path::Path::new(path).is_file())
}

/// The file of a `sqlite:PATH` or `sqlite://PATH` URL.
fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite:").map(|rest| rest.strip_prefix("//").unwrap_or(rest))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/app?sslmode=require"),
            "postgres://bob:***@db:5432/app?sslmode=require"
        );
        assert_eq!(redact("postgres://bob@db/app"), "postgres://bob@db/app");
        assert_eq!(redact("sqlite:app.db"), "sqlite:app.db");
    }

    #[test]
    fn only_connections_that_create_nothing_may_open_early() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("app.db");
        std::fs::write(&existing, b"").unwrap();
        let missing = dir.path().join("new.db");
        assert!(connect_changes_nothing("postgres://u@h/db"));
        assert!(connect_changes_nothing("postgresql://u@h/db"));
        assert!(connect_changes_nothing(&format!("sqlite:{}", existing.display())));
        assert!(connect_changes_nothing(&format!("sqlite://{}", existing.display())));
        assert!(!connect_changes_nothing(&format!("sqlite:{}", missing.display())));
        assert!(!connect_changes_nothing(&format!("sqlite:{}", dir.path().display())));
        assert!(!connect_changes_nothing("sqlite::memory:"));
        assert!(!connect_changes_nothing("mysql://u@h/db"));
    }

    #[test]
    fn unknown_schemes_and_empty_paths_are_rejected() {
        let options = ConnectOptions::default();
        assert!(matches!(connect("mysql://x/y", &options), Err(Error::InvalidUrl { .. })));
        assert!(matches!(connect("sqlite:", &options), Err(Error::InvalidUrl { .. })));
    }
}
