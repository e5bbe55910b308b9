//! Databases behind one small trait. A driver supplies a connection, statements (a
//! migration's, confined to a pack's grant while a pack runs, and godwit's own), step
//! transactions, the migration lock and what its database needs to keep migrations away from
//! `godwit_history`. The engine owns everything else: the algorithm is in `migrator`, the
//! history table's rows and SQL in `history`, the writes a step commits in `write.rs` and a
//! pack's grant in `grant.rs`. So a new backend is its connection and a few short methods, some
//! with defaults that fit a database without a network between it and godwit. It behaves like
//! the others because it must pass the conformance suite in `tests/tests/e2e/conformance.rs`.

pub(crate) mod connection;
mod error;
mod grant;
mod postgres;
mod sqlite;
mod steps;
mod value;
mod write;

pub use self::connection::{ConnectError, dialect_of, redact};
pub(crate) use self::connection::{ConnectOptions, Connection, on_database};
pub use self::error::{DbError, Undefined};
pub use self::grant::{Access, Confine, Grant, TableName};
pub use self::steps::{StepFailure, StepWork, StepsRun, one_by_one};
pub use self::value::{ParamRows, Rows, Value};
pub use self::write::{Write, WriteKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The primitives a database provides to the engine. Every method runs on one connection.
pub trait Driver: Send {
    fn dialect(&self) -> Dialect;
    /// The database, for messages (passwords removed).
    fn target(&self) -> &str;
    /// `godwit_history` as SQL names it here (schema-qualified and quoted where needed).
    fn history_table(&self) -> &str;
    /// A schema the history table goes in, created with it when missing.
    fn history_schema(&self) -> Option<&str> {
        None
    }

    /// Takes the migration lock without waiting; `Ok(false)` when another process holds it.
    fn try_lock(&mut self) -> Result<bool, DbError>;
    fn unlock(&mut self) -> Result<(), DbError>;
    /// Takes the lock of one transform run apart from the deploy (`name` says which), without
    /// waiting and apart from the migration lock; `false` when another connection holds it.
    /// It ends with the connection.
    fn try_lock_transform(&mut self, name: &str) -> Result<bool, DbError>;
    fn unlock_transform(&mut self, name: &str) -> Result<(), DbError>;

    /// Confines the statements that follow, of SQL files and guests alike, to what a pack's
    /// grant allows, until called with `None` (before godwit records the step). The database
    /// enforces it; a denied statement fails with the pack, the denied action and object.
    fn confine(&mut self, to: Option<Confine<'_>>) -> Result<(), DbError>;
    /// Runs one statement of a migration.
    fn execute(&mut self, sql: &str) -> Result<(), DbError>;
    /// Runs one statement of a migration with positional parameters (`?1` or `$1`); returns
    /// the number of rows it changed.
    fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs one statement once per parameter row, prepared once.
    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        let mut changed = 0;
        for params in rows.iter() {
            changed += self.execute_with(sql, params)?;
        }
        Ok(changed)
    }
    /// Runs a migration's query with positional parameters and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;

    /// godwit's own statements (its history table), never confined and never refused for
    /// touching the history: a script without parameters...
    fn own_batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// ... a query ...
    fn own_query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError>;
    /// ... and a statement, returning the rows it changed.
    fn own_execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;

    /// Starts the transaction of one step (a migration and its history row).
    fn begin(&mut self) -> Result<(), DbError>;
    /// Commits the step's transaction. The step is atomic from here on, but may become durable
    /// and visible to other connections only at the next [`Driver::sync`]: that is where
    /// drivers put the cost of flushing to disk, once per run instead of once per migration.
    fn commit(&mut self) -> Result<(), DbError>;
    /// Ends a step: godwit's writes to the history, then the commit. A database whose
    /// permissions cannot keep a migration away from the history table checks here, before
    /// the writes, that the step left the table alone; a driver may send it all at once.
    fn finish(&mut self, writes: &[Write]) -> Result<(), DbError> {
        for write in writes {
            self.own_execute(write.sql(), write.params())?;
        }
        self.commit()
    }
    /// Undoes the current step only; steps committed before it are kept.
    fn rollback(&mut self) -> Result<(), DbError>;
    /// Makes every committed step durable and visible. The engine calls it at the end of every
    /// run, whatever its outcome, and before statements that must run outside a transaction.
    fn sync(&mut self) -> Result<(), DbError>;

    /// How many steps [`Driver::run_steps`] may send before it reads an answer.
    fn pipeline_depth(&self) -> usize {
        1
    }
    /// Runs `steps` one after another, each in a transaction of its own committed with its
    /// history writes, and stops at the first that fails: its transaction is rolled back and
    /// no step after it runs. A driver may send several before reading any answer.
    fn run_steps(&mut self, steps: &[StepWork<'_>]) -> StepsRun {
        one_by_one(self, steps)
    }

    /// The history table is now as godwit wants it (created, upgraded or found) and no
    /// migration of the run has started: a driver that checks the table in
    /// [`Driver::finish`] remembers it here.
    fn history_ready(&mut self) -> Result<(), DbError> {
        Ok(())
    }
}
