//! godwit's writes to its history table, made for the driver that runs them. The engine hands
//! a step's writes to [`Driver::finish`](crate::driver::Driver::finish) together, so a driver can check the table once and
//! send them with the commit.

use super::row::RecordState;
use super::sql::{self, RowKey};
use crate::checksum::Checksum;
use crate::driver::{Driver, Value, Write, WriteKind};
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
    /// when the driver that runs the step fills it in ([`Write::with_elapsed`]).
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

/// Records a migration.
pub fn record(db: &dyn Driver, record: &NewRecord<'_>) -> Write {
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
    let sql = table(db).insert(dotted.is_some());
    Write::new(sql, params, WriteKind::Insert, Some(EXECUTION_MS))
}

/// Forgets the row of `key` in `stream`.
pub fn forget(db: &dyn Driver, stream: &Stream, key: &Key) -> Write {
    let (row, value) = key_value(key);
    let params = vec![Value::Text(stream.as_stored().to_owned()), value];
    Write::new(table(db).delete(row), params, WriteKind::Delete, None)
}

/// Records a new checksum for an applied migration.
pub fn set_checksum(db: &dyn Driver, stream: &Stream, key: &Key, checksum: &Checksum) -> Write {
    let (row, value) = key_value(key);
    let params = vec![
        Value::Text(stream.as_stored().to_owned()),
        value,
        Value::Text(checksum.as_str().to_owned()),
    ];
    Write::new(table(db).update(&["checksum"], row), params, WriteKind::Update, None)
}

/// Records how far a batched migration got, and whether it is now applied.
pub fn set_progress(
    db: &dyn Driver,
    stream: &Stream,
    key: &Key,
    cursor: Option<&str>,
    rows_done: i64,
    state: RecordState,
) -> Write {
    let (row, value) = key_value(key);
    let params = vec![
        Value::Text(stream.as_stored().to_owned()),
        value,
        cursor.map_or(Value::Null, |c| Value::Text(c.to_owned())),
        Value::Integer(rows_done),
        Value::Text(state.as_str().to_owned()),
    ];
    let sql = table(db).update(&["cursor", "rows_done", "state"], row);
    Write::new(sql, params, WriteKind::Update, None)
}
