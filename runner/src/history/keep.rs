//! Keeping another tool's history table up to date while godwit applies and reverts the
//! migrations of that tool's folder, in the same transaction as godwit's own row, so that the
//! team can go back to the tool at any point without losing track. Each tool's row is written
//! as that tool writes it (sqlx's SHA-384, Flyway's CRC32 and ranks, refinery's SipHash;
//! golang-migrate's one row follows the newest applied SQL migration). Components and
//! migration directories are godwit's own: the tool could not run them, so they are not
//! written to its table.

use super::adopt::checksum::{flyway_crc32, refinery_checksum};
use crate::driver::Write;
use crate::driver::{Dialect, Driver, Value};
use crate::history::RecordState;
use crate::migration::{Key, Migration, Script};
use crate::source::Format;
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
        let d = db.dialect();
        let p = |n: usize, ty: &str| match d {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}::{ty}"),
        };
        let (no, yes) = match d {
            Dialect::Sqlite => ("0", "1"),
            Dialect::Postgres => ("false", "true"),
        };
        let table = &self.table;
        let text = || super::adopt::tool_text(migration).unwrap_or_default();
        let version = migration.version().and_then(crate::Version::number);
        let write = |sql: String, params: Vec<Value>| crate::driver::Write::foreign(sql, params);
        let by_version = |sql: &str| {
            write(
                format!("DELETE FROM {table} WHERE {sql} = {}", p(1, "text")),
                vec![Value::Text(version_text(self.tool, migration))],
            )
        };
        match (self.tool, applied) {
            (Format::Godwit, _) => Vec::new(),
            (Format::Diesel | Format::Dbmate, true) => vec![write(
                format!("INSERT INTO {table} (version) VALUES ({})", p(1, "text")),
                vec![Value::Text(version_text(self.tool, migration))],
            )],
            (Format::Diesel | Format::Dbmate, false) => vec![by_version("version")],
            (Format::Sqlx, true) => vec![write(
                format!(
                    "INSERT INTO {table} (version, description, success, checksum, execution_time) \
                     VALUES ({}, {}, {yes}, {}, {})",
                    p(1, "bigint"),
                    p(2, "text"),
                    p(3, "bytea"),
                    p(4, "bigint")
                ),
                vec![
                    Value::Integer(version.unwrap_or(0)),
                    Value::Text(migration.name.replace('_', " ")),
                    Value::Blob(Sha384::digest(text().as_bytes()).to_vec()),
                    Value::Integer(ms.saturating_mul(1_000_000)),
                ],
            )],
            (Format::Sqlx | Format::Refinery, false) => {
                vec![write(
                    format!("DELETE FROM {table} WHERE version = {}", p(1, "bigint")),
                    vec![Value::Integer(version.unwrap_or(0))],
                )]
            }
            (Format::Goose, true) => vec![write(
                format!(
                    "INSERT INTO {table} (version_id, is_applied) VALUES ({}, {yes})",
                    p(1, "bigint")
                ),
                vec![Value::Integer(version.unwrap_or(0))],
            )],
            (Format::Goose, false) => vec![write(
                format!("DELETE FROM {table} WHERE version_id = {}", p(1, "bigint")),
                vec![Value::Integer(version.unwrap_or(0))],
            )],
            (Format::GolangMigrate, _) => vec![
                write(format!("DELETE FROM {table}"), vec![]),
                write(
                    format!(
                        "INSERT INTO {table} (version, dirty) SELECT max(version), {no} FROM {} \
                         WHERE stream = '' AND version IS NOT NULL AND kind = 'sql' AND state = '{}' \
                         HAVING max(version) IS NOT NULL",
                        db.history_table(),
                        RecordState::Applied.as_str()
                    ),
                    vec![],
                ),
            ],
            (Format::Refinery, true) => {
                let text = text();
                let version = version.unwrap_or(0);
                vec![write(
                    format!(
                        "INSERT INTO {table} (version, name, applied_on, checksum) VALUES ({}, {}, {}, {})",
                        p(1, "bigint"),
                        p(2, "text"),
                        p(3, "text"),
                        p(4, "text")
                    ),
                    vec![
                        Value::Integer(version),
                        Value::Text(migration.name.clone()),
                        Value::Text(
                            humantime::format_rfc3339_nanos(std::time::SystemTime::now())
                                .to_string(),
                        ),
                        Value::Text(refinery_checksum(&migration.name, version, &text).to_string()),
                    ],
                )]
            }
            (Format::Flyway, _) => {
                let file = migration.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                let (kind, script, text) = match applied {
                    true => ("SQL", file.to_owned(), text()),
                    false => {
                        let undo = format!("U{}", file.get(1..).unwrap_or_default());
                        let text = std::fs::read_to_string(migration.path.with_file_name(&undo))
                            .unwrap_or_default();
                        ("UNDO_SQL", undo, text)
                    }
                };
                let version = match &migration.key {
                    Key::Versioned(_) => Value::Text(version_text(self.tool, migration)),
                    Key::Repeatable(_) => Value::Null,
                };
                vec![write(
                    format!(
                        "INSERT INTO {table} (installed_rank, version, description, type, script, checksum, \
                         installed_by, execution_time, success) SELECT coalesce(max(installed_rank), 0) + 1, \
                         {}, {}, '{kind}', {}, {}, 'godwit', {}, {yes} FROM {table}",
                        p(1, "text"),
                        p(2, "text"),
                        p(3, "text"),
                        p(4, "bigint"),
                        p(5, "bigint")
                    ),
                    vec![
                        version,
                        Value::Text(migration.name.replace('_', " ")),
                        Value::Text(script),
                        Value::Integer(i64::from(flyway_crc32(&text))),
                        Value::Integer(ms),
                    ],
                )]
            }
        }
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
