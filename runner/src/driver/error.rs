//! What a database says when a statement fails, in one shape for every driver: the message,
//! the code (SQLSTATE on PostgreSQL, the result code's name on SQLite) and where in the
//! statement. A few meanings the engine acts on are read from it here, once.

use std::fmt;

/// An error reported by the database, with its code (SQLSTATE on PostgreSQL, the extended
/// result code name on SQLite) and, when the database gives one, the 1-based character
/// position in the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub message: String,
    pub code: Option<String>,
    pub position: Option<usize>,
}

/// What a statement named that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    Table,
    Column,
}

impl DbError {
    pub fn new(message: impl Into<String>) -> DbError {
        DbError { message: message.into(), code: None, position: None }
    }

    /// With a code.
    pub fn with_code(message: impl Into<String>, code: &str) -> DbError {
        DbError { message: message.into(), code: Some(code.to_owned()), position: None }
    }

    /// Whether the statement failed because a table or a column it names does not exist.
    pub fn undefined(&self) -> Option<Undefined> {
        match self.code.as_deref()? {
            "42P01" => Some(Undefined::Table),
            "42703" => Some(Undefined::Column),
            "SQLITE_ERROR" if self.message.starts_with("no such table") => Some(Undefined::Table),
            "SQLITE_ERROR" if self.message.starts_with("no such column") => Some(Undefined::Column),
            _ => None,
        }
    }

    /// Whether the statement lost a race with other sessions rather than being wrong, so the
    /// same work may succeed if tried again: a lock it waited on too long (`lock_timeout`,
    /// SQLite's busy timeout), a statement cancelled by `statement_timeout`, a deadlock, a
    /// serialization failure.
    pub fn transient(&self) -> bool {
        self.code.as_deref().is_some_and(|code| {
            matches!(code, "55P03" | "57014" | "40001" | "40P01")
                || code.starts_with("SQLITE_BUSY")
                || code.starts_with("SQLITE_LOCKED")
        })
    }

    /// Whether the connection ended under the statement (the server shut down or restarted,
    /// an administrator ended the session, the network went away), as opposed to the
    /// statement being wrong. The server rolls back what the connection had not committed.
    pub fn connection_lost(&self) -> bool {
        // SQLSTATE class 08 is "connection exception"; 57P01-57P03 are the server shutting
        // down (an administrator's command, a crash, or not accepting connections yet).
        self.code.as_deref().is_some_and(|code| {
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_are_read_from_both_databases_codes() {
        let pg = |code| DbError::with_code("x", code);
        assert_eq!(pg("42P01").undefined(), Some(Undefined::Table));
        assert_eq!(pg("42703").undefined(), Some(Undefined::Column));
        assert_eq!(
            DbError::with_code("no such table: godwit_history", "SQLITE_ERROR").undefined(),
            Some(Undefined::Table)
        );
        assert_eq!(
            DbError::with_code("no such column: stream", "SQLITE_ERROR").undefined(),
            Some(Undefined::Column)
        );
        assert_eq!(DbError::with_code("syntax error", "SQLITE_ERROR").undefined(), None);
        assert!(pg("57P01").connection_lost());
        assert!(pg("08006").connection_lost());
        assert!(!pg("42P01").connection_lost());
        assert!(!DbError::new("closed").connection_lost());
    }
}
