//! What the formats share about statements: splitting a file's text, and telling the
//! statements that decide whether a migration can run inside a transaction.

use super::{Format, FormatError};
use crate::migration::{DownRead, SqlScript, Statement};

/// The statements of a file's text (a leading byte-order mark dropped), lines counted from 1.
pub(super) fn of(text: &str) -> Vec<Statement> {
    of_section(text.strip_prefix('\u{feff}').unwrap_or(text), 1)
}

/// The statements of a part of a file that starts on line `first_line`.
pub(super) fn of_section(text: &str, first_line: usize) -> Vec<Statement> {
    crate::source::split::split(text, first_line)
}

/// Where a section's marker line starts, where its text starts and the line it starts on.
#[derive(Clone, Copy, Debug)]
pub(super) struct Marker {
    pub at: usize,
    pub start: usize,
    pub line: usize,
}

/// The up and down statements of a file with two marked sections: each runs to the other's
/// marker when that comes after it, else to the end of the text.
pub(super) fn sections(
    text: &str,
    up: Marker,
    down: Option<Marker>,
) -> (Vec<Statement>, Option<Vec<Statement>>) {
    let section = |this: Marker, other: Option<Marker>| {
        let end = other.filter(|o| o.at > this.at).map_or(text.len(), |o| o.at);
        of_section(&text[this.start.min(end)..end], this.line)
    };
    (section(up, down), down.map(|down| section(down, Some(up))))
}

/// The script of a file with two marked sections; the up one must be there.
pub(super) fn script(
    text: &str,
    format: Format,
    marker: &'static str,
    (up, down): (Option<Marker>, Option<Marker>),
    transaction: bool,
) -> Result<SqlScript, FormatError> {
    let up = up.ok_or(FormatError::NoUp { format, marker })?;
    let (up, down) = sections(text, up, down);
    Ok(SqlScript { down, ..SqlScript::up_only(up, transaction) })
}

/// A line with nothing to run on it.
pub(super) fn blank_or_comment(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with("--")
}

fn words(sql: &str, n: usize) -> Vec<String> {
    sql.split(|c: char| c.is_whitespace() || c == ';' || c == '(')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// A statement that starts, ends or abandons a transaction itself (`BEGIN`, `START
/// TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`): a file with one manages its own transaction.
pub(super) fn controls_transaction(statement: &Statement) -> bool {
    let words = words(&statement.sql, 2);
    match words.first().map(String::as_str) {
        Some("BEGIN") => words.get(1).is_none_or(|w| w == "TRANSACTION" || w == "WORK"),
        Some("START") => words.get(1).is_some_and(|w| w == "TRANSACTION"),
        Some("COMMIT" | "END" | "ROLLBACK") => {
            words.get(1).is_none_or(|w| w == "TRANSACTION" || w == "WORK")
        }
        _ => false,
    }
}

/// A statement PostgreSQL refuses to run inside a transaction block.
pub(super) fn refuses_transaction(statement: &Statement) -> bool {
    let words = words(&statement.sql, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"]
        | ["DROP", "INDEX", "CONCURRENTLY", ..]
        | ["VACUUM", ..]
        | ["CREATE" | "DROP", "DATABASE" | "TABLESPACE", ..]
        | ["ALTER", "SYSTEM", ..] => true,
        ["REINDEX", ..] => statement.sql.to_ascii_uppercase().contains("CONCURRENTLY"),
        ["ALTER", "TABLE", ..] => {
            let upper = statement.sql.to_ascii_uppercase();
            upper.contains("DETACH PARTITION") && upper.trim_end().ends_with("CONCURRENTLY")
        }
        _ => false,
    }
}

/// A file of a tool that leaves transactions to the database (golang-migrate, Flyway): in
/// one transaction, unless [`fit_one_transaction`] says the database would not have run it
/// in one.
pub(super) fn database_rule(text: &str) -> SqlScript {
    let up = of(text);
    let transaction = fit_one_transaction(&up);
    SqlScript::up_only(up, transaction)
}

/// The down file of such a tool, read when a revert needs it, by the same rule.
pub(super) fn database_rule_down(_: &std::path::Path, text: &str) -> Result<DownRead, String> {
    let statements = of(text);
    Ok(DownRead { transaction: fit_one_transaction(&statements), statements })
}

/// Whether a tool that leaves transactions to the database (golang-migrate, Flyway) ends up
/// running these statements in one: not when the file manages its own transaction, nor when
/// a statement cannot run inside one.
pub(super) fn fit_one_transaction(statements: &[Statement]) -> bool {
    !statements.iter().any(|s| controls_transaction(s) || refuses_transaction(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(sql: &str) -> Statement {
        Statement { sql: sql.into(), line: 1 }
    }

    #[test]
    fn transaction_control_and_refusals() {
        for sql in ["BEGIN", "begin transaction", "START TRANSACTION", "COMMIT", "end", "ROLLBACK"]
        {
            assert!(controls_transaction(&st(sql)), "{sql}");
        }
        for sql in ["BEGIN ATOMIC", "END IF", "create table begin_x (id int)", "commit_log"] {
            assert!(!controls_transaction(&st(sql)), "{sql}");
        }
        for sql in [
            "create index concurrently i on t (x)",
            "CREATE UNIQUE INDEX CONCURRENTLY i ON t (x)",
            "drop index concurrently i",
            "VACUUM t",
            "reindex index concurrently i",
            "create database x",
            "ALTER SYSTEM SET work_mem = '1MB'",
        ] {
            assert!(refuses_transaction(&st(sql)), "{sql}");
        }
        for sql in ["create index i on t (x)", "select 'concurrently'", "reindex table t"] {
            assert!(!refuses_transaction(&st(sql)), "{sql}");
        }
    }
}
