//! A write the driver runs for the engine when it commits a step: a statement and its
//! parameters, in the driver's dialect. The history, the transforms table and the tables of
//! other tools kept up to date all hand the driver writes of this one shape, so the driver
//! knows none of them.

use super::Value;

/// What a write does to the number of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteKind {
    /// Adds one row to godwit's history.
    Insert,
    /// Removes the history rows it matches (one at most).
    Delete,
    /// Changes a history row in place.
    Update,
    /// A write to another table (another tool's history, the transforms table), which
    /// changes nothing in godwit's history.
    Foreign,
}

/// One statement and its parameters, committed with a step.
#[derive(Clone, Debug)]
pub struct Write {
    sql: String,
    params: Vec<Value>,
    kind: WriteKind,
    /// The parameter that takes the step's execution time when it is left `NULL`.
    elapsed: Option<usize>,
}

impl Write {
    /// A write of `kind`; `elapsed` is the index of a parameter the driver that runs the step
    /// fills in with its execution time, when it is `NULL`.
    pub fn new(sql: String, params: Vec<Value>, kind: WriteKind, elapsed: Option<usize>) -> Write {
        Write { sql, params, kind, elapsed }
    }

    /// A write to another table, run in the same transaction as godwit's own.
    pub fn foreign(sql: String, params: Vec<Value>) -> Write {
        Write::new(sql, params, WriteKind::Foreign, None)
    }

    /// This write with its execution time, if it waits for one, set to `ms`.
    pub fn with_elapsed(&self, ms: i64) -> Write {
        let mut write = self.clone();
        if let Some(at) = write.elapsed
            && let Some(value @ Value::Null) = write.params.get_mut(at)
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
