//! Opening a database from its URL, and the [`Connection`] the engine runs on. A connection
//! holds its driver in a slot: while a component migration runs, the driver is lent to the
//! guest (moved into the sandbox) and comes back when the call returns.

use super::postgres::PostgresDriver;
use super::sqlite::SqliteDriver;
use super::{DbError, Dialect, Driver};
use std::time::Duration;

/// Why a database could not be opened, or can no longer be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {target}")]
    Unreachable {
        target: String,
        #[source]
        source: DbError,
    },
    /// The connection names no schema to keep the history in.
    #[error(
        "{target} has no current schema to keep godwit's history in (its search_path is empty)"
    )]
    NoSchema { target: String },
    /// A component migration panicked the host while it held the connection.
    #[error("the connection to {target} was lost while a component migration held it")]
    Lost { target: String },
}

/// How to connect, beyond the URL.
#[derive(Clone, Debug)]
#[non_exhaustive]
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

impl ConnectOptions {
    /// The PostgreSQL schema of the history table.
    pub fn schema(mut self, schema: Option<String>) -> ConnectOptions {
        self.schema = schema;
        self
    }

    /// How long SQLite waits on a database another connection is writing.
    pub fn busy_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.busy_timeout = timeout;
        self
    }
}

/// An open database.
pub struct Connection {
    /// Empty only while the driver is lent to a guest, or after a guest call panicked.
    driver: Option<Box<dyn Driver>>,
    target: String,
    dialect: Dialect,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection over any driver.
    pub fn new(driver: Box<dyn Driver>) -> Connection {
        Connection {
            target: driver.target().to_owned(),
            dialect: driver.dialect(),
            driver: Some(driver),
        }
    }

    /// The database, for messages (passwords removed).
    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The driver, for what the engine does not do itself.
    pub fn driver(&mut self) -> Result<&mut dyn Driver, ConnectError> {
        match &mut self.driver {
            Some(driver) => Ok(driver.as_mut()),
            None => Err(ConnectError::Lost { target: self.target.clone() }),
        }
    }

    /// Moves the driver out, to lend it to a guest for one call.
    pub(crate) fn lend(&mut self) -> Result<Box<dyn Driver>, ConnectError> {
        self.driver.take().ok_or_else(|| ConnectError::Lost { target: self.target.clone() })
    }

    /// Takes the driver back after a guest call.
    pub(crate) fn give_back(&mut self, driver: Box<dyn Driver>) {
        self.driver = Some(driver);
    }
}

/// Opens the database named by `url`: `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`,
/// `postgres://...` or `postgresql://...`.
pub fn connect(url: &str, options: &ConnectOptions) -> Result<Connection, ConnectError> {
    if let Some(path) = sqlite_path(url) {
        if path.is_empty() {
            return Err(ConnectError::InvalidUrl {
                url: url.to_owned(),
                reason: "no database file after `sqlite:`".to_owned(),
            });
        }
        return Ok(Connection::new(Box::new(SqliteDriver::open(path, options)?)));
    }
    if is_postgres(url) {
        return Ok(Connection::new(Box::new(PostgresDriver::connect(url, options)?)));
    }
    Err(ConnectError::InvalidUrl { url: redact(url), reason: "unknown scheme".to_owned() })
}

/// Whether [`connect`] leaves everything as it was: a PostgreSQL connection, or a SQLite file
/// that exists (a missing one would be created). A caller may then connect while it does
/// other work that could still fail.
pub fn connect_changes_nothing(url: &str) -> bool {
    is_postgres(url) || sqlite_path(url).is_some_and(|path| std::path::Path::new(path).is_file())
}

/// The dialect of the database `url` names, without connecting; `None` for an unknown scheme.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    match (sqlite_path(url), is_postgres(url)) {
        (Some(_), _) => Some(Dialect::Sqlite),
        (None, true) => Some(Dialect::Postgres),
        (None, false) => None,
    }
}

/// The file of a `sqlite:PATH` or `sqlite://PATH` URL.
fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite:").map(|rest| rest.strip_prefix("//").unwrap_or(rest))
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A PostgreSQL URL naming another database on the same server (its path, or a `dbname`
/// parameter, replaced); `None` for another scheme.
pub(crate) fn on_database(url: &str, database: &str) -> Option<String> {
    if !is_postgres(url) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let (head, query) = match rest.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (rest, None),
    };
    let authority = head.split_once('/').map_or(head, |(authority, _)| authority);
    let query = query.map(|q| {
        let kept = q.split('&').filter(|p| !p.starts_with("dbname="));
        kept.collect::<Vec<_>>().join("&")
    });
    let query = query.filter(|q| !q.is_empty()).map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{scheme}://{authority}/{database}{query}"))
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
    fn another_database_on_the_same_server() {
        let on = |url| on_database(url, "scratch").unwrap();
        assert_eq!(on("postgres://u@h:5/app?host=/tmp"), "postgres://u@h:5/scratch?host=/tmp");
        assert_eq!(on("postgresql://u@h"), "postgresql://u@h/scratch");
        assert_eq!(
            on("postgres://u@h/?dbname=app&sslmode=disable"),
            "postgres://u@h/scratch?sslmode=disable"
        );
        assert_eq!(on_database("sqlite:a.db", "x"), None);
    }

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
        assert!(matches!(connect("mysql://x/y", &options), Err(ConnectError::InvalidUrl { .. })));
        assert!(matches!(connect("sqlite:", &options), Err(ConnectError::InvalidUrl { .. })));
    }
}
