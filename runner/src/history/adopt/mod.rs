//! Other tools' history tables, read so that godwit can take over where the tool left off:
//! which migrations it applied, with the checksum it kept where it kept one, and whether it
//! left the database dirty or a migration failed. Each tool's table is read as that tool
//! reads it (goose replays its log, golang-migrate keeps one current version, Flyway replays
//! its ranks with baselines and undos).

pub(crate) mod checksum;
mod tables;

pub use self::checksum::ToolChecksum;
pub(crate) use self::tables::read;

use crate::driver::DbError;
use crate::migration::Key;
use crate::source::Format;
use crate::version::Version;

/// What another tool's history table says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolHistory {
    pub tool: Format,
    pub table: String,
    /// Every migration up to this version is applied (golang-migrate's current version,
    /// Flyway's baseline).
    pub up_to: Option<Version>,
    /// The migrations it lists as applied, in the order it applied them.
    pub applied: Vec<ToolRecord>,
}

/// One migration a tool applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolRecord {
    pub key: Key,
    /// The name the tool recorded, when it recorded one.
    pub name: Option<String>,
    pub checksum: Option<ToolChecksum>,
}

/// Why another tool's history cannot be taken over.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdoptError {
    #[error("{target} has no {table} table: {tool} has not run on this database")]
    NoTable { target: String, tool: Format, table: String },
    #[error(
        "{table} in {target} has the columns {}, not {}",
        columns.join(", "),
        expected
    )]
    UnknownShape { target: String, table: String, columns: Vec<String>, expected: String },
    #[error("{tool} left {target} dirty at version {version}: that migration failed part-way")]
    Dirty { target: String, tool: Format, version: i64 },
    #[error(
        "{tool} recorded {} as failed in {table}",
        versions.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
    )]
    Failed { tool: Format, table: String, versions: Vec<String> },
    #[error("{table} holds `{value}`, which is not a version godwit reads")]
    BadVersion { table: String, value: String },
    #[error("{}", changed(*tool, files))]
    Mismatch { tool: Format, files: Vec<Mismatch> },
    #[error(
        "which tool's history to take over? the migrations directory is godwit's own; name the tool (diesel, sqlx, golang-migrate, goose, dbmate, flyway, refinery)"
    )]
    NoTool,
    #[error(
        "`{0}` is not a table name godwit reads (letters, digits, `_`, and `.` between a schema and a table)"
    )]
    BadTable(String),
    #[error("cannot read {table} in {target}")]
    Read {
        target: String,
        table: String,
        #[source]
        source: DbError,
    },
}

fn changed(tool: Format, files: &[Mismatch]) -> String {
    match files {
        [one] => one.to_string(),
        _ => {
            let mut text = format!("{} applied files changed since {tool} ran them:", files.len());
            for file in files {
                text.push_str(&format!("\n  {file}"));
            }
            text
        }
    }
}

/// An applied file whose text is not what the tool recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub path: std::path::PathBuf,
    pub version: String,
    pub recorded: String,
    pub now: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (version {}) is not what was applied: the recorded checksum is {}, the file's is {}",
            self.path.display(),
            self.version,
            self.recorded,
            self.now
        )
    }
}

/// The text a tool checksums of a migration it ran: its up file (diesel's `up.sql`), as it is
/// on disk now; `None` when it cannot be read.
pub(crate) fn tool_text(migration: &crate::migration::Migration) -> Option<String> {
    let path = match migration.path.is_dir() {
        true => migration.path.join("up.sql"),
        false => migration.path.clone(),
    };
    std::fs::read_to_string(path).ok()
}

/// Checks a table name given for a tool's history: it is written into SQL as it is.
pub(crate) fn check_table(table: &str) -> Result<(), AdoptError> {
    let part = |p: &str| {
        !p.is_empty()
            && !p.starts_with(|c: char| c.is_ascii_digit())
            && p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    };
    let parts: Vec<&str> = table.split('.').collect();
    match parts.len() <= 2 && parts.iter().all(|p| part(p)) {
        true => Ok(()),
        false => Err(AdoptError::BadTable(table.to_owned())),
    }
}

/// The table a tool keeps its history in, unless told otherwise.
pub fn default_table(tool: Format) -> &'static str {
    match tool {
        Format::Godwit => "godwit_history",
        Format::Diesel => "__diesel_schema_migrations",
        Format::Sqlx => "_sqlx_migrations",
        Format::GolangMigrate | Format::Dbmate => "schema_migrations",
        Format::Goose => "goose_db_version",
        Format::Flyway => "flyway_schema_history",
        Format::Refinery => "refinery_schema_history",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_names_are_identifiers() {
        for good in
            ["schema_migrations", "public.flyway_schema_history", "__diesel_schema_migrations"]
        {
            assert!(super::check_table(good).is_ok(), "{good}");
        }
        for bad in ["", "x;drop", "a.b.c", "1table", "t where 1=1", "\"t\""] {
            assert!(super::check_table(bad).is_err(), "{bad}");
        }
    }
}
