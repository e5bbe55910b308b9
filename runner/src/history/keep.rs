//! Keeping another tool's history table up to date while godwit applies and reverts the
//! migrations of that tool's folder, in the same transaction as godwit's own row, so that the
//! team can go back to the tool at any point without losing track. Each tool's row is written
//! as that tool writes it (sqlx's SHA-384, Flyway's CRC32 and ranks, refinery's SipHash;
//! golang-migrate's one row follows the newest applied SQL migration). Components and
//! migration directories are godwit's own: the tool could not run them, so they are not
//! written to its table.

use super::adopt::checksum::{flyway_crc32, refinery_checksum};
use crate::driver::{Dialect, Driver, Value, Write};
use crate::history::RecordState;
use crate::migration::{Key, Migration, Script};
use crate::source::Format;
use crate::version::Version;
use sha2::{Digest, Sha384};

/// Another tool's table, kept up to date.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keep {
    pub tool: Format,
    pub table: String,
}

impl Keep {
    pub fn new(tool: Format, table: Option<String>) -> Keep {
        let table = table.unwrap_or_else(|| super::adopt::default_table(tool).to_owned());
        Keep { tool, table }
    }

    /// The writes that record `migration` as applied (`applied`) or reverted in the tool's
    /// table; `ms` is how long it took.
    pub(crate) fn writes(
        &self,
        db: &dyn Driver,
        migration: &Migration,
        applied: bool,
        ms: i64,
    ) -> Vec<Write> {
        if !matches!(migration.script, Script::Sql(_)) {
            return Vec::new();
        }
        let table = Table { dialect: db.dialect(), name: &self.table };
        let version = Value::Integer(migration.version().and_then(Version::number).unwrap_or(0));
        let text = || Value::Text(version_text(self.tool, migration));
        match (self.tool, applied) {
            (Format::Godwit, _) => Vec::new(),
            (Format::Diesel | Format::Dbmate, true) => {
                let sql =
                    format!("INSERT INTO {} (version) VALUES ({})", self.table, table.p(1, "text"));
                vec![Write::foreign(sql, vec![text()])]
            }
            (Format::Diesel | Format::Dbmate, false) => {
                vec![table.delete("version", "text", text())]
            }
            (Format::Sqlx, true) => vec![table.sqlx(migration, ms)],
            (Format::Sqlx | Format::Refinery, false) => {
                vec![table.delete("version", "bigint", version)]
            }
            (Format::Goose, true) => {
                let sql = format!(
                    "INSERT INTO {} (version_id, is_applied) VALUES ({}, {})",
                    self.table,
                    table.p(1, "bigint"),
                    table.yes()
                );
                vec![Write::foreign(sql, vec![version])]
            }
            (Format::Goose, false) => vec![table.delete("version_id", "bigint", version)],
            (Format::GolangMigrate, _) => table.golang_migrate(db.history_table()),
            (Format::Refinery, true) => vec![table.refinery(migration)],
            (Format::Flyway, _) => vec![table.flyway(migration, text(), applied, ms)],
        }
    }
}

/// The tool's table, and how parameters are written in the database's dialect.
struct Table<'a> {
    dialect: Dialect,
    name: &'a str,
}

impl Table<'_> {
    /// Parameter `n`, cast to `ty` where the database needs it.
    fn p(&self, n: usize, ty: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}::{ty}"),
        }
    }

    fn yes(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "1",
            Dialect::Postgres => "true",
        }
    }

    fn no(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "false",
        }
    }

    /// Forgets the row whose `column` (of type `ty`) is `value`.
    fn delete(&self, column: &str, ty: &str, value: Value) -> Write {
        let sql = format!("DELETE FROM {} WHERE {column} = {}", self.name, self.p(1, ty));
        Write::foreign(sql, vec![value])
    }

    /// sqlx's row: the description, the SHA-384 of the file and the time in nanoseconds.
    fn sqlx(&self, migration: &Migration, ms: i64) -> Write {
        let sql = format!(
            "INSERT INTO {} (version, description, success, checksum, execution_time) \
             VALUES ({}, {}, {}, {}, {})",
            self.name,
            self.p(1, "bigint"),
            self.p(2, "text"),
            self.yes(),
            self.p(3, "bytea"),
            self.p(4, "bigint")
        );
        let text = super::adopt::tool_text(migration).unwrap_or_default();
        let params = vec![
            Value::Integer(migration.version().and_then(Version::number).unwrap_or(0)),
            Value::Text(migration.name.replace('_', " ")),
            Value::Blob(Sha384::digest(text.as_bytes()).to_vec()),
            Value::Integer(ms.saturating_mul(1_000_000)),
        ];
        Write::foreign(sql, params)
    }

    /// golang-migrate's one row: the newest applied SQL migration of godwit's history, clean.
    fn golang_migrate(&self, history: &str) -> Vec<Write> {
        let insert = format!(
            "INSERT INTO {} (version, dirty) SELECT max(version), {} FROM {history} \
             WHERE stream = '' AND version IS NOT NULL AND kind = 'sql' AND state = '{}' \
             HAVING max(version) IS NOT NULL",
            self.name,
            self.no(),
            RecordState::Applied.as_str()
        );
        vec![
            Write::foreign(format!("DELETE FROM {}", self.name), vec![]),
            Write::foreign(insert, vec![]),
        ]
    }

    /// refinery's row: the name, the time applied and the SipHash of the file.
    fn refinery(&self, migration: &Migration) -> Write {
        let text = super::adopt::tool_text(migration).unwrap_or_default();
        let version = migration.version().and_then(Version::number).unwrap_or(0);
        let sql = format!(
            "INSERT INTO {} (version, name, applied_on, checksum) VALUES ({}, {}, {}, {})",
            self.name,
            self.p(1, "bigint"),
            self.p(2, "text"),
            self.p(3, "text"),
            self.p(4, "text")
        );
        let now = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
        let params = vec![
            Value::Integer(version),
            Value::Text(migration.name.clone()),
            Value::Text(now),
            Value::Text(refinery_checksum(&migration.name, version, &text).to_string()),
        ];
        Write::foreign(sql, params)
    }

    /// Flyway's ranked row: the script applied (`SQL`) or its undo script run (`UNDO_SQL`),
    /// with the CRC32 of the script's lines.
    fn flyway(&self, migration: &Migration, version: Value, applied: bool, ms: i64) -> Write {
        let file = migration.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let (kind, script, text) = match applied {
            true => {
                ("SQL", file.to_owned(), super::adopt::tool_text(migration).unwrap_or_default())
            }
            false => {
                let undo = format!("U{}", file.get(1..).unwrap_or_default());
                let text = std::fs::read_to_string(migration.path.with_file_name(&undo))
                    .unwrap_or_default();
                ("UNDO_SQL", undo, text)
            }
        };
        let version = match &migration.key {
            Key::Versioned(_) => version,
            Key::Repeatable(_) => Value::Null,
        };
        let table = self.name;
        let sql = format!(
            "INSERT INTO {table} (installed_rank, version, description, type, script, checksum, \
             installed_by, execution_time, success) SELECT coalesce(max(installed_rank), 0) + 1, \
             {}, {}, '{kind}', {}, {}, 'godwit', {}, {} FROM {table}",
            self.p(1, "text"),
            self.p(2, "text"),
            self.p(3, "text"),
            self.p(4, "bigint"),
            self.p(5, "bigint"),
            self.yes()
        );
        let params = vec![
            version,
            Value::Text(migration.name.replace('_', " ")),
            Value::Text(script),
            Value::Integer(i64::from(flyway_crc32(&text))),
            Value::Integer(ms),
        ];
        Write::foreign(sql, params)
    }
}

/// The version as the tool writes it: diesel's and dbmate's as the digits of the name
/// (leading zeros kept), Flyway's as the name has it with `_` read as `.` (`V1_02__x.sql`
/// is `1.02`), the others' as the number.
fn version_text(tool: Format, migration: &Migration) -> String {
    let name = migration.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match tool {
        Format::Diesel => name.split('_').next().unwrap_or_default().replace('-', ""),
        Format::Dbmate => name.chars().take_while(char::is_ascii_digit).collect(),
        Format::Flyway => {
            let version = name.get(1..).and_then(|rest| rest.split_once("__")).map(|(v, _)| v);
            version.unwrap_or_default().replace('_', ".")
        }
        _ => migration.version().map(|v| v.to_string()).unwrap_or_default(),
    }
}
