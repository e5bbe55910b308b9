//! Reading each tool's history table, in both dialects. Every value is cast to an integer or
//! text in SQL, so that the column types each tool and database chose (`bool` or `int`,
//! `varchar` or `text`, `bytea` or `blob`) read the same.

use super::checksum::unhex;
use super::{AdoptError, ToolChecksum, ToolHistory, ToolRecord};
use crate::driver::{Dialect, Driver, Value};
use crate::migration::Key;
use crate::source::Format;
use crate::version::Version;
use std::collections::BTreeMap;

fn columns_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info(?1)",
        Dialect::Postgres => {
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) \
             AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        }
    }
}

fn int(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST({column} AS INTEGER)"),
        Dialect::Postgres => format!("({column})::bigint"),
    }
}

fn text(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST({column} AS TEXT)"),
        Dialect::Postgres => format!("({column})::text"),
    }
}

fn flag(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST({column} AS INTEGER)"),
        Dialect::Postgres => format!("({column})::int::bigint"),
    }
}

fn bytes_hex(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("hex({column})"),
        Dialect::Postgres => format!("encode({column}, 'hex')"),
    }
}

/// The columns each tool's table has (what tells golang-migrate's `schema_migrations` from
/// dbmate's).
fn expected(tool: Format) -> &'static [&'static str] {
    match tool {
        Format::Diesel => &["version", "run_on"],
        Format::Sqlx => {
            &["version", "description", "installed_on", "success", "checksum", "execution_time"]
        }
        Format::GolangMigrate => &["version", "dirty"],
        Format::Dbmate => &["version"],
        Format::Goose => &["id", "version_id", "is_applied", "tstamp"],
        Format::Flyway => &[
            "installed_rank",
            "version",
            "description",
            "type",
            "script",
            "checksum",
            "installed_by",
            "installed_on",
            "execution_time",
            "success",
        ],
        Format::Refinery => &["version", "name", "applied_on", "checksum"],
        Format::Godwit => &[],
    }
}

/// Flyway's table before Flyway 5.
const OLD_FLYWAY_TABLE: &str = "schema_version";

/// Reads `tool`'s history from `table` (a name the driver's dialect accepts as is; for
/// Flyway's default, `schema_version` when only that one is there); the history says which
/// table it was read from.
pub(crate) fn read(
    db: &mut dyn Driver,
    tool: Format,
    table: &str,
) -> Result<ToolHistory, AdoptError> {
    super::check_table(table)?;
    let target = db.target().to_owned();
    let fail =
        |source| AdoptError::Read { target: target.clone(), table: table.to_owned(), source };
    let found =
        db.own_query(columns_sql(db.dialect()), &[Value::Text(table.to_owned())]).map_err(fail)?;
    let mut columns: Vec<String> = found
        .iter()
        .filter_map(|row| match row.first() {
            Some(Value::Text(name)) => Some(name.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    if columns.is_empty() {
        // Flyway before 5 named its table `schema_version`, and Flyway 5 reads that one when
        // its own is not there; so does godwit.
        if tool == Format::Flyway && table == super::default_table(tool) {
            return read(db, tool, OLD_FLYWAY_TABLE).map_err(|e| match e {
                AdoptError::NoTable { .. } => {
                    AdoptError::NoTable { target, tool, table: table.to_owned() }
                }
                other => other,
            });
        }
        return Err(AdoptError::NoTable { target, tool, table: table.to_owned() });
    }
    let wanted = expected(tool);
    columns.sort();
    let mut sorted: Vec<&str> = wanted.to_vec();
    sorted.sort_unstable();
    if columns != sorted {
        let expected = format!("{tool}'s ({})", wanted.join(", "));
        return Err(AdoptError::UnknownShape {
            target,
            table: table.to_owned(),
            columns,
            expected,
        });
    }
    let rows = db.own_query(&select(tool, db.dialect(), table), &[]).map_err(fail)?;
    let rows: Vec<Vec<Value>> = rows.iter().map(<[Value]>::to_vec).collect();
    let mut history =
        ToolHistory { tool, table: table.to_owned(), up_to: None, applied: Vec::new() };
    let rows = Rows { tool, table, rows: &rows };
    match tool {
        Format::Diesel | Format::Dbmate => history.applied = rows.versions()?,
        Format::Sqlx => history.applied = rows.sqlx()?,
        Format::GolangMigrate => history.up_to = rows.golang_migrate(target, columns)?,
        Format::Goose => history.applied = rows.goose()?,
        Format::Flyway => flyway(rows.rows, &mut history, table)?,
        Format::Refinery => history.applied = rows.refinery()?,
        Format::Godwit => {}
    }
    Ok(history)
}

/// The query that reads `tool`'s rows from `table`, every value cast as the readers expect.
fn select(tool: Format, d: Dialect, table: &str) -> String {
    match tool {
        Format::Diesel | Format::Dbmate => format!("SELECT {} FROM {table}", text(d, "version")),
        Format::Sqlx => format!(
            "SELECT {}, {}, {}, {} FROM {table} ORDER BY version",
            int(d, "version"),
            text(d, "description"),
            flag(d, "success"),
            bytes_hex(d, "checksum")
        ),
        Format::GolangMigrate => {
            format!("SELECT {}, {} FROM {table}", int(d, "version"), flag(d, "dirty"))
        }
        Format::Goose => format!(
            "SELECT {}, {} FROM {table} ORDER BY id",
            int(d, "version_id"),
            flag(d, "is_applied")
        ),
        Format::Flyway => format!(
            "SELECT {}, {}, {}, {}, {}, {} FROM {table} ORDER BY installed_rank",
            text(d, "version"),
            text(d, "description"),
            text(d, "type"),
            text(d, "script"),
            int(d, "checksum"),
            flag(d, "success")
        ),
        Format::Refinery => format!(
            "SELECT {}, {}, {} FROM {table} ORDER BY version",
            int(d, "version"),
            text(d, "name"),
            text(d, "checksum")
        ),
        // godwit's own history is not adopted; nothing of it is read here.
        Format::Godwit => format!("SELECT 1 FROM {table} WHERE 1 = 0"),
    }
}

/// A tool's rows, as `select` read them.
struct Rows<'a> {
    tool: Format,
    table: &'a str,
    rows: &'a [Vec<Value>],
}

impl Rows<'_> {
    fn version(&self, value: &Value) -> Result<Version, AdoptError> {
        let bad = || AdoptError::BadVersion { table: self.table.to_owned(), value: show(value) };
        match value {
            Value::Integer(n) => Version::new(*n).ok_or_else(bad),
            Value::Text(text) => text.trim().parse().map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// diesel's and dbmate's: a version a row.
    fn versions(&self) -> Result<Vec<ToolRecord>, AdoptError> {
        let mut applied = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            applied.push(record(self.version(&row[0])?, None, None));
        }
        applied.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(applied)
    }

    /// sqlx's: a version, its description and SHA-384 a row; a failed row stops the adoption.
    fn sqlx(&self) -> Result<Vec<ToolRecord>, AdoptError> {
        let (mut applied, mut failed) = (Vec::new(), Vec::new());
        for row in self.rows {
            let version = self.version(&row[0])?;
            if as_int(&row[2]) != Some(1) {
                failed.push(version.to_string());
                continue;
            }
            let checksum = as_text(&row[3]).and_then(unhex).map(ToolChecksum::Sha384);
            applied.push(record(version, as_text(&row[1]).map(str::to_owned), checksum));
        }
        if !failed.is_empty() {
            let (tool, table) = (self.tool, self.table.to_owned());
            return Err(AdoptError::Failed { tool, table, versions: failed });
        }
        Ok(applied)
    }

    /// golang-migrate's one row: the version everything up to is applied, unless dirty.
    fn golang_migrate(
        &self,
        target: String,
        columns: Vec<String>,
    ) -> Result<Option<Version>, AdoptError> {
        match self.rows {
            [] => Ok(None),
            [row] => {
                let version = self.version(&row[0]);
                if as_int(&row[1]) == Some(1) {
                    let version = as_int(&row[0]).unwrap_or(-1);
                    return Err(AdoptError::Dirty { target, tool: self.tool, version });
                }
                // golang-migrate writes -1 (or nothing) once everything is reverted.
                match as_int(&row[0]).is_none_or(|v| v >= 0) {
                    true => Ok(Some(version?)),
                    false => Ok(None),
                }
            }
            _ => Err(AdoptError::UnknownShape {
                target,
                table: self.table.to_owned(),
                columns,
                expected: format!("golang-migrate's single row ({} rows)", self.rows.len()),
            }),
        }
    }

    /// goose's log replayed: the last row of each version says whether it is applied.
    fn goose(&self) -> Result<Vec<ToolRecord>, AdoptError> {
        let mut state: BTreeMap<Version, bool> = BTreeMap::new();
        for row in self.rows {
            let version = self.version(&row[0])?;
            if version.number().is_some_and(|n| n > 0) {
                state.insert(version, as_int(&row[1]) == Some(1));
            }
        }
        let applied = state.into_iter().filter(|(_, on)| *on);
        Ok(applied.map(|(v, _)| record(v, None, None)).collect())
    }

    /// refinery's: a version, its name and SipHash a row.
    fn refinery(&self) -> Result<Vec<ToolRecord>, AdoptError> {
        let mut applied = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            let version = self.version(&row[0])?;
            let checksum =
                as_text(&row[2]).and_then(|t| t.trim().parse().ok()).map(ToolChecksum::SipHash13);
            applied.push(record(version, as_text(&row[1]).map(str::to_owned), checksum));
        }
        Ok(applied)
    }
}

fn record(version: Version, name: Option<String>, checksum: Option<ToolChecksum>) -> ToolRecord {
    ToolRecord { key: Key::Versioned(version), name, checksum }
}

/// Flyway's ranks replayed: a successful `SQL` row applies its version (or, without a version,
/// its repeatable at that checksum), `UNDO_SQL` and `DELETE` rows take a version back, a
/// `BASELINE` row marks everything up to its version; failed rows stop the adoption.
fn flyway(rows: &[Vec<Value>], history: &mut ToolHistory, table: &str) -> Result<(), AdoptError> {
    let mut versions: BTreeMap<Version, ToolRecord> = BTreeMap::new();
    let mut repeatables: BTreeMap<String, ToolRecord> = BTreeMap::new();
    let mut failed = Vec::new();
    for row in rows {
        let version = as_text(&row[0]).map(str::to_owned);
        let kind = as_text(&row[2]).unwrap_or_default().to_ascii_uppercase();
        let script = as_text(&row[3]).unwrap_or_default();
        let checksum = as_int(&row[4]).and_then(|c| i32::try_from(c).ok()).map(ToolChecksum::Crc32);
        if as_int(&row[5]) != Some(1) {
            failed.push(version.clone().unwrap_or_else(|| script.to_owned()));
            continue;
        }
        let parsed = match &version {
            Some(text) => Some(flyway_version(text).ok_or_else(|| AdoptError::BadVersion {
                table: table.to_owned(),
                value: text.clone(),
            })?),
            None => None,
        };
        match (kind.as_str(), parsed) {
            ("BASELINE", Some(v)) => history.up_to = history.up_to.max(Some(v)),
            ("UNDO_SQL" | "DELETE", Some(v)) => {
                versions.remove(&v);
            }
            ("SCHEMA" | "BASELINE" | "UNDO_SQL" | "DELETE", _) => {}
            (_, Some(v)) => {
                let name = as_text(&row[1]).map(str::to_owned);
                versions.insert(v, ToolRecord { key: Key::Versioned(v), name, checksum });
            }
            (_, None) => {
                let file = script.rsplit('/').next().unwrap_or(script);
                let name = file.strip_prefix("R__").unwrap_or(file);
                let name = name.strip_suffix(".sql").unwrap_or(name).to_owned();
                let record = ToolRecord {
                    key: Key::Repeatable(name.clone()),
                    name: Some(name.clone()),
                    checksum,
                };
                repeatables.insert(name, record);
            }
        }
    }
    if !failed.is_empty() {
        return Err(AdoptError::Failed {
            tool: Format::Flyway,
            table: table.to_owned(),
            versions: failed,
        });
    }
    history.applied = versions.into_values().chain(repeatables.into_values()).collect();
    Ok(())
}

/// A Flyway version: a number or dotted, as Flyway writes it (`1.2.3`, `1.0` being `1`).
fn flyway_version(text: &str) -> Option<Version> {
    Version::from_parts(text.trim().split(['.', '_'])).ok()
}

fn as_int(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => Some(*n),
        Value::Text(text) => text.trim().parse().ok(),
        Value::Boolean(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn as_text(value: &Value) -> Option<&str> {
    match value {
        Value::Text(text) => Some(text),
        _ => None,
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(n) => n.to_string(),
        Value::Text(text) => text.clone(),
        other => format!("{other:?}"),
    }
}
