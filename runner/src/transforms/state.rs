//! The state of transforms run apart from the deploy, in a table beside the history
//! (`godwit_transforms`): which are queued for a worker, running, paused, cancelled or failed,
//! and what the last batch said (its size, the rate, why it held off, the last error). The
//! rows done and the cursor stay in the history row, committed with each batch; this table is
//! what every runner can see and what `pause`, `resume`, `cancel` and `retry` change.

use crate::driver::{DbError, Dialect, Driver, Value};
use crate::migration::{Key, Migration};
use crate::stream::Stream;
use std::fmt;

/// Where a transform run apart from the deploy stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TransformState {
    /// Waiting for a worker (`godwit transforms run`).
    Queued,
    /// A worker is running its batches.
    Running,
    /// Stopped at a batch boundary by `godwit transforms pause`; `resume` queues it again.
    Paused,
    /// Abandoned by `godwit transforms cancel`; `retry` queues it again.
    Cancelled,
    /// Stopped by an error (`last_error`); `retry` resumes it from its cursor.
    Failed,
    /// Finished: the migration is applied.
    Done,
}

impl TransformState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransformState::Queued => "queued",
            TransformState::Running => "running",
            TransformState::Paused => "paused",
            TransformState::Cancelled => "cancelled",
            TransformState::Failed => "failed",
            TransformState::Done => "done",
        }
    }

    fn parse(text: &str) -> Option<TransformState> {
        [
            TransformState::Queued,
            TransformState::Running,
            TransformState::Paused,
            TransformState::Cancelled,
            TransformState::Failed,
            TransformState::Done,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for TransformState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the transforms table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TransformRow {
    /// The pack's name, or empty for the project's.
    pub stream: String,
    /// The version, or a repeatable's name.
    pub key: String,
    pub label: String,
    pub state: TransformState,
    /// The last batch's size and the run's rows per second.
    pub batch_size: Option<i64>,
    pub rate: Option<f64>,
    pub estimated_total: Option<i64>,
    /// Why the worker holds off, while it does.
    pub throttled: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: String,
}

impl TransformRow {
    /// Whether this row is `migration`'s.
    pub fn is_of(&self, migration: &Migration) -> bool {
        self.is_for(&migration.stream, &migration.key)
    }

    /// Whether this row is the transform of the migration `stream` and `key` name (a history
    /// row's, say).
    pub fn is_for(&self, stream: &Stream, key: &Key) -> bool {
        self.stream == stream.as_stored() && self.key == key_text(key)
    }
}

/// What a worker says after each batch.
#[derive(Clone, Debug, Default)]
pub(crate) struct Progress<'a> {
    pub batch_size: Option<u32>,
    pub rate: Option<f64>,
    pub estimated_total: Option<u64>,
    pub throttled: Option<&'a str>,
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Versioned(v) => v.to_string(),
        Key::Repeatable(name) => name.clone(),
    }
}

/// The table, beside the history table (in its schema on PostgreSQL).
fn table(db: &dyn Driver) -> String {
    let history = db.history_table();
    let prefix = history.strip_suffix("godwit_history").unwrap_or("");
    format!("{prefix}godwit_transforms")
}

fn now(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        Dialect::Postgres => "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    }
}

fn param(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Sqlite => format!("?{n}"),
        Dialect::Postgres => format!("${n}"),
    }
}

/// Creates the table if it does not exist.
pub(crate) fn ensure(db: &mut dyn Driver) -> Result<(), DbError> {
    let (int, real) = match db.dialect() {
        Dialect::Sqlite => ("INTEGER", "REAL"),
        Dialect::Postgres => ("BIGINT", "DOUBLE PRECISION"),
    };
    db.own_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            stream          TEXT NOT NULL,
            key             TEXT NOT NULL,
            label           TEXT NOT NULL,
            state           TEXT NOT NULL,
            batch_size      {int},
            rate            {real},
            estimated_total {int},
            throttled       TEXT,
            last_error      TEXT,
            updated_at      TEXT NOT NULL,
            PRIMARY KEY (stream, key)
        )",
        table(db)
    ))
}

/// Whether the table exists.
fn exists(db: &mut dyn Driver) -> Result<bool, DbError> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'godwit_transforms'"
                .to_owned()
        }
        Dialect::Postgres => {
            let t = table(db).replace('\'', "''");
            format!("SELECT count(*) FROM (SELECT to_regclass('{t}') AS t) r WHERE t IS NOT NULL")
        }
    };
    let rows = db.own_query(&sql, &[])?;
    Ok(matches!(rows.values.first(), Some(Value::Integer(n)) if *n > 0))
}

/// Every row, oldest first; none when the table does not exist.
pub fn list(db: &mut dyn Driver) -> Result<Vec<TransformRow>, DbError> {
    if !exists(db)? {
        return Ok(Vec::new());
    }
    let rows = db.own_query(
        &format!(
            "SELECT stream, key, label, state, batch_size, rate, estimated_total, throttled, \
             last_error, updated_at FROM {} ORDER BY stream, key",
            table(db)
        ),
        &[],
    )?;
    let text = |v: &Value| match v {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    };
    let int = |v: &Value| match v {
        Value::Integer(n) => Some(*n),
        _ => None,
    };
    let mut out = Vec::new();
    for row in rows.values.chunks(rows.columns.len().max(1)) {
        let state = state_value(&row[3])?;
        out.push(TransformRow {
            stream: text(&row[0]).unwrap_or_default(),
            key: text(&row[1]).unwrap_or_default(),
            label: text(&row[2]).unwrap_or_default(),
            state,
            batch_size: int(&row[4]),
            rate: match &row[5] {
                Value::Real(x) => Some(*x),
                Value::Integer(n) => Some(*n as f64),
                _ => None,
            },
            estimated_total: int(&row[6]),
            throttled: text(&row[7]),
            last_error: text(&row[8]),
            updated_at: text(&row[9]).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The condition that finds the row of the transform of (`stream`, `key`), which
/// [`row_params`] fill in as the first two parameters.
fn by_row(d: Dialect) -> String {
    format!("stream = {} AND key = {}", param(d, 1), param(d, 2))
}

fn row_params(stream: &Stream, key: &Key) -> Vec<Value> {
    vec![Value::Text(stream.as_stored().to_owned()), Value::Text(key_text(key))]
}

/// Queues `migration`'s transform for a worker (replacing an earlier row of it).
pub(crate) fn queue(db: &mut dyn Driver, migration: &Migration) -> Result<(), DbError> {
    let d = db.dialect();
    let t = table(db);
    db.own_execute(
        &format!("DELETE FROM {t} WHERE {}", by_row(d)),
        &row_params(&migration.stream, &migration.key),
    )?;
    db.own_execute(
        &format!(
            "INSERT INTO {t} (stream, key, label, state, updated_at) VALUES ({}, {}, {}, 'queued', {})",
            param(d, 1),
            param(d, 2),
            param(d, 3),
            now(d)
        ),
        &[
            Value::Text(migration.stream.as_stored().to_owned()),
            Value::Text(key_text(&migration.key)),
            Value::Text(migration.label.clone()),
        ],
    )?;
    Ok(())
}

/// Moves the transform of (`stream`, `key`) to `to` if it is in one of `from`; whether it did.
pub(crate) fn change(
    db: &mut dyn Driver,
    stream: &Stream,
    key: &Key,
    from: &[TransformState],
    to: TransformState,
    last_error: Option<&str>,
) -> Result<bool, DbError> {
    let d = db.dialect();
    let states = from.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let clear = match to {
        TransformState::Failed => format!("last_error = {}", param(d, 3)),
        _ => "throttled = NULL".to_owned(),
    };
    let sql = format!(
        "UPDATE {} SET state = '{}', {clear}, updated_at = {} WHERE {} AND state IN ({states})",
        table(db),
        to.as_str(),
        now(d),
        by_row(d),
    );
    let mut params = row_params(stream, key);
    if to == TransformState::Failed {
        params.push(last_error.map_or(Value::Null, |e| Value::Text(e.to_owned())));
    }
    Ok(db.own_execute(&sql, &params)? > 0)
}

/// Deletes the row of the transform of (`stream`, `key`): written with the history row of the
/// revert that undoes its migration.
pub(crate) fn forget(db: &dyn Driver, stream: &Stream, key: &Key) -> crate::driver::Write {
    let sql = format!("DELETE FROM {} WHERE {}", table(db), by_row(db.dialect()));
    crate::driver::Write::foreign(sql, row_params(stream, key))
}

/// The state of one transform, if it has a row; the table must exist. A worker asks before
/// every batch, so it is one query for one row.
pub(crate) fn state_of(
    db: &mut dyn Driver,
    migration: &Migration,
) -> Result<Option<TransformState>, DbError> {
    let sql = format!("SELECT state FROM {} WHERE {}", table(db), by_row(db.dialect()));
    let params = row_params(&migration.stream, &migration.key);
    let rows = db.own_query(&sql, &params)?;
    rows.values.first().map(state_value).transpose()
}

/// A `state` column's value, refused when godwit could not have written it.
fn state_value(value: &Value) -> Result<TransformState, DbError> {
    match value {
        Value::Text(text) => TransformState::parse(text),
        _ => None,
    }
    .ok_or_else(|| DbError::new(format!("godwit_transforms holds an unknown state {value:?}")))
}

/// What the worker says after a batch or while it holds off.
pub(crate) fn progress(
    db: &mut dyn Driver,
    migration: &Migration,
    progress: &Progress<'_>,
) -> Result<(), DbError> {
    let d = db.dialect();
    let sql = format!(
        "UPDATE {} SET batch_size = coalesce({}, batch_size), rate = coalesce({}, rate), \
         estimated_total = coalesce({}, estimated_total), throttled = {}, updated_at = {} \
         WHERE stream = {} AND key = {}",
        table(db),
        param(d, 1),
        param(d, 2),
        param(d, 3),
        param(d, 4),
        now(d),
        param(d, 5),
        param(d, 6),
    );
    let int = |n: Option<u64>| {
        n.map_or(Value::Null, |n| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)))
    };
    db.own_execute(
        &sql,
        &[
            int(progress.batch_size.map(u64::from)),
            progress.rate.map_or(Value::Null, Value::Real),
            int(progress.estimated_total),
            progress.throttled.map_or(Value::Null, |t| Value::Text(t.to_owned())),
            Value::Text(migration.stream.as_stored().to_owned()),
            Value::Text(key_text(&migration.key)),
        ],
    )?;
    Ok(())
}
