//! godwit's writes to its history table, made for the driver that runs them. The engine hands
//! a step's writes to [`Driver::finish`] together, so a driver can check the table once and
//! send them with the commit.

use super::row::RecordState;
use super::sql::{self, RowKey};
use crate::checksum::Checksum;
use crate::driver::{Driver, Value};
use crate::migration::{Key, Kind, Migration};
use crate::stream::Stream;
use crate::version::Version;

/// A row to insert.
#[derive(Clone, Debug)]
pub struct NewRecord<'a> {
    pub stream: &'a Stream,
    pub version: Option<Version>,
    pub name: &'a str,
    pub kind: Kind,
    pub checksum: &'a Checksum,
    /// How long the migration took; `None` when the database measures it (the time since
    /// its step's transaction began), as a driver that sends a whole step at once does, or
    /// when the driver that runs the step fills it in ([`HistoryWrite::with_elapsed`]).
    pub execution_ms: Option<i64>,
    pub state: RecordState,
}

impl<'a> NewRecord<'a> {
    pub fn of(
        migration: &'a Migration,
        state: RecordState,
        execution_ms: Option<i64>,
    ) -> NewRecord<'a> {
        NewRecord {
            stream: &migration.stream,
            version: migration.version(),
            name: &migration.name,
            kind: migration.kind,
            checksum: &migration.checksum,
            execution_ms,
            state,
        }
    }
}

/// Where an insert's execution time is among its parameters.
const EXECUTION_MS: usize = 5;

/// What a write does to the number of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteKind {
    /// Adds one row.
    Insert,
    /// Removes the rows it matches (one at most).
    Delete,
    /// Changes a row in place.
    Update,
    /// A write to another tool's history table (kept up to date beside godwit's), which
    /// changes nothing in godwit's.
    Foreign,
}

/// One of godwit's writes to its history table: a statement and its parameters, in the
/// dialect of the driver it was made for.
#[derive(Clone, Debug)]
pub struct HistoryWrite {
    sql: String,
    params: Vec<Value>,
    kind: WriteKind,
}

/// How the row of `key` is found, and the value the condition compares: the version (a
/// number, or dotted text), or a repeatable's name.
fn key_value(key: &Key) -> (RowKey, Value) {
    match key {
        Key::Versioned(version) => match version.number() {
            Some(n) => (RowKey::Number, Value::Integer(n)),
            None => (RowKey::Dotted, Value::Text(version.to_string())),
        },
        Key::Repeatable(name) => (RowKey::Repeatable, Value::Text(name.clone())),
    }
}

fn table(db: &dyn Driver) -> sql::Sql<'_> {
    sql::Sql { dialect: db.dialect(), table: db.history_table() }
}

impl HistoryWrite {
    /// Records a migration.
    pub fn insert(db: &dyn Driver, record: &NewRecord<'_>) -> HistoryWrite {
        let number = record.version.and_then(Version::number);
        let mut params = vec![
            Value::Text(record.stream.as_stored().to_owned()),
            number.map_or(Value::Null, Value::Integer),
            Value::Text(record.name.to_owned()),
            Value::Text(record.kind.as_str().to_owned()),
            Value::Text(record.checksum.as_str().to_owned()),
            record.execution_ms.map_or(Value::Null, Value::Integer),
            Value::Text(record.state.as_str().to_owned()),
            Value::Text(crate::GODWIT_VERSION.to_owned()),
        ];
        let dotted = record.version.filter(Version::is_dotted);
        params.extend(dotted.map(|v| Value::Text(v.to_string())));
        HistoryWrite { sql: table(db).insert(dotted.is_some()), params, kind: WriteKind::Insert }
    }

    /// A write to another tool's table, run in the same transaction as godwit's own.
    pub(crate) fn foreign(sql: String, params: Vec<Value>) -> HistoryWrite {
        HistoryWrite { sql, params, kind: WriteKind::Foreign }
    }

    /// Forgets the row of `key` in `stream`.
    pub fn delete(db: &dyn Driver, stream: &Stream, key: &Key) -> HistoryWrite {
        let (row, value) = key_value(key);
        HistoryWrite {
            sql: table(db).delete(row),
            params: vec![Value::Text(stream.as_stored().to_owned()), value],
            kind: WriteKind::Delete,
        }
    }

    /// Records a new checksum for an applied migration.
    pub fn set_checksum(
        db: &dyn Driver,
        stream: &Stream,
        key: &Key,
        checksum: &Checksum,
    ) -> HistoryWrite {
        let (row, value) = key_value(key);
        HistoryWrite {
            sql: table(db).update(&["checksum"], row),
            params: vec![
                Value::Text(stream.as_stored().to_owned()),
                value,
                Value::Text(checksum.as_str().to_owned()),
            ],
            kind: WriteKind::Update,
        }
    }

    /// Records how far a batched migration got, and whether it is now applied.
    pub fn set_progress(
        db: &dyn Driver,
        stream: &Stream,
        key: &Key,
        cursor: Option<&str>,
        rows_done: i64,
        state: RecordState,
    ) -> HistoryWrite {
        let (row, value) = key_value(key);
        HistoryWrite {
            sql: table(db).update(&["cursor", "rows_done", "state"], row),
            params: vec![
                Value::Text(stream.as_stored().to_owned()),
                value,
                cursor.map_or(Value::Null, |c| Value::Text(c.to_owned())),
                Value::Integer(rows_done),
                Value::Text(state.as_str().to_owned()),
            ],
            kind: WriteKind::Update,
        }
    }

    /// This write with the execution time an insert left to be measured set to `ms`.
    pub fn with_elapsed(&self, ms: i64) -> HistoryWrite {
        let mut write = self.clone();
        if write.kind == WriteKind::Insert
            && let Some(value @ Value::Null) = write.params.get_mut(EXECUTION_MS)
        {
            *value = Value::Integer(ms);
        }
        write
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn params(&self) -> &[Value] {
        &self.params
    }

    pub fn kind(&self) -> WriteKind {
        self.kind
    }
}
