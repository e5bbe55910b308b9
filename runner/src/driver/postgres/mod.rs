//! PostgreSQL through the synchronous `postgres` crate. DDL is transactional, so every
//! migration and its history row commit together; the migration lock is a session-level
//! advisory lock, which the server releases when the connection ends, however it ends.
//!
//! Each step commits on its own (so its table locks are released at once) with
//! `synchronous_commit` off for the session while a run's steps commit, which skips the WAL
//! flush per commit; `sync` then commits one transaction with it on, which flushes the WAL up
//! to that point and so every step before, and gives the session its own setting back.
//! A server crash before that can lose a suffix of the run's steps, each with its history
//! row, never half of one.

mod client;
mod confine;
mod connect;
mod definer;
mod history_check;
mod pipeline;
mod plain;
mod tls;
mod types;

use self::client::Client;
use self::history_check::Check;
use self::types::{column_value, db_error, own_column_value};
use super::Write;
use super::{Confine, DbError, Dialect, Driver, ParamRows, Rows, StepWork, StepsRun, Value};
use std::collections::HashMap;
use tokio_postgres::Statement;

/// The advisory lock key of the transform named `$1`: 64 bits of its MD5.
const TRANSFORM_KEY: &str =
    "('x' || substr(md5('godwit transform ' || $1::text), 1, 16))::bit(64)::bigint";

/// How many parameter rows of one `execute_many` are sent before their answers are read.
const ROWS_PER_ROUND_TRIP: usize = 1024;

pub struct PostgresDriver {
    client: Client,
    target: String,
    schema: String,
    /// The history table, schema-qualified and quoted.
    table: String,
    /// Whether the schema was named by the user (and so is created if missing).
    explicit_schema: bool,
    lock_key: i64,
    /// Whether steps were committed since the last `sync`.
    unsynced: bool,
    /// Statements guests ran, prepared once each.
    prepared: HashMap<String, Statement>,
    /// A step's `BEGIN`, held back to travel with its first statement: one round trip less
    /// per migration.
    begin_pending: bool,
    /// Whether a step's transaction is open (or about to be, with its held-back `BEGIN`).
    in_step: bool,
    /// Whether this connection holds the migration lock.
    locked: bool,
    /// The pack whose step is running; its statements run under the pack's role.
    confinement: Option<confine::Confinement>,
    /// The history table as godwit left it, to tell that no migration changed it.
    history_known: Option<history_check::HistoryShape>,
    /// What opens a step's transaction (see `begin_sql`).
    begin: String,
    /// The checks of the history table at the end of each step (see `check_sql`): the quick
    /// one of steps sent together, and the full one.
    quick_check: String,
    full_check: String,
    /// Whether statements ran outside a step's transaction since the last history check,
    /// where the step's own write counters do not see them.
    untracked: bool,
    /// Steps sent in pipelines so far, which numbers them.
    step_serial: u64,
    /// Whether godwit turned `synchronous_commit` off for the session (until `sync`).
    async_commit: bool,
    /// The connection's database, once a pack step asked for it.
    database: Option<String>,
}

impl std::fmt::Debug for PostgresDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresDriver").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PostgresDriver {
    fn new(
        client: Client,
        target: String,
        schema: String,
        explicit_schema: bool,
    ) -> PostgresDriver {
        PostgresDriver {
            client,
            target,
            lock_key: connect::lock_key(&schema),
            begin: PostgresDriver::begin_sql(None),
            quick_check: PostgresDriver::check_sql(&connect::history_table(&schema), Check::Quick),
            full_check: PostgresDriver::check_sql(&connect::history_table(&schema), Check::Full),
            table: connect::history_table(&schema),
            schema,
            explicit_schema,
            unsynced: false,
            prepared: HashMap::new(),
            begin_pending: false,
            in_step: false,
            locked: false,
            confinement: None,
            history_known: None,
            untracked: false,
            step_serial: 0,
            async_commit: false,
            database: None,
        }
    }

    fn prepare_cached(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(|e| db_error(&e))?;
        if self.prepared.len() >= 256 {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// What begins a step now: its `BEGIN`, after turning `synchronous_commit` off for the
    /// session if godwit has not yet.
    fn opening(&mut self) -> String {
        match std::mem::replace(&mut self.async_commit, true) {
            true => self.begin.clone(),
            false => format!("SET synchronous_commit TO off; {}", self.begin),
        }
    }

    /// Sends a held-back `BEGIN` on its own, before a statement that cannot carry it.
    fn open_pending(&mut self) -> Result<(), DbError> {
        if std::mem::take(&mut self.begin_pending) {
            let opening = self.opening();
            self.batch(&opening)?;
        }
        Ok(())
    }

    /// A script of godwit's own, as it is.
    fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).map_err(|e| db_error(&e))
    }

    /// Notes a migration's statement: one outside a step's transaction is one the step's
    /// write counters do not see.
    fn migration_statement(&mut self) {
        self.untracked |= !self.in_step;
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Driver for PostgresDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn history_table(&self) -> &str {
        &self.table
    }

    fn history_schema(&self) -> Option<&str> {
        self.explicit_schema.then_some(self.schema.as_str())
    }

    fn try_lock(&mut self) -> Result<bool, DbError> {
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.lock_key])
            .map_err(|e| db_error(&e))?;
        self.locked = row.get(0);
        Ok(self.locked)
    }

    fn try_lock_transform(&mut self, name: &str) -> Result<bool, DbError> {
        let row = self
            .client
            .query_one(&format!("SELECT pg_try_advisory_lock({TRANSFORM_KEY})"), &[&name])
            .map_err(|e| db_error(&e))?;
        Ok(row.get(0))
    }

    fn unlock_transform(&mut self, name: &str) -> Result<(), DbError> {
        self.client
            .query_one(&format!("SELECT pg_advisory_unlock({TRANSFORM_KEY})"), &[&name])
            .map(drop)
            .map_err(|e| db_error(&e))
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        self.locked = false;
        self.client
            .query_one("SELECT pg_advisory_unlock($1)", &[&self.lock_key])
            .map(drop)
            .map_err(|e| db_error(&e))
    }

    fn confine(&mut self, to: Option<Confine<'_>>) -> Result<(), DbError> {
        match to {
            Some(to) => self.confine_to(to),
            None => self.lift(),
        }
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.migration_statement();
        if self.confinement.is_some() {
            return self.confined_execute(sql);
        }
        if !std::mem::take(&mut self.begin_pending) {
            return self.batch(sql);
        }
        let opening = self.opening();
        self.client.batch_execute(&format!("{opening}; {sql}")).map_err(|e| {
            let mut error = db_error(&e);
            // Positions count from the start of what was sent; the user's statement
            // starts after the BEGIN.
            let prefix = opening.chars().count() + 2;
            error.position = error.position.and_then(|at| at.checked_sub(prefix));
            error
        })
    }

    fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.migration_statement();
        if self.confinement.is_some() {
            return self.confined_execute_with(sql, params);
        }
        self.plain_execute(sql, params)
    }

    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        self.migration_statement();
        if self.confinement.is_some() {
            return self.confined_execute_many(sql, rows);
        }
        self.plain_execute_many(sql, rows)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.migration_statement();
        if self.confinement.is_some() {
            return self.confined_query(sql, params);
        }
        self.plain_query(sql, params, column_value)
    }

    fn own_batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.open_pending()?;
        self.client.batch_execute(sql).map_err(|e| db_error(&e))
    }

    fn own_query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.plain_query(sql, params, own_column_value)
    }

    fn own_execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.plain_execute(sql, params)
    }

    fn finish(&mut self, writes: &[Write]) -> Result<(), DbError> {
        self.finish_open_step(StepWork { statements: Vec::new(), writes: writes.to_vec() })
    }

    fn pipeline_depth(&self) -> usize {
        64
    }

    fn run_steps(&mut self, steps: &[StepWork<'_>]) -> StepsRun {
        self.pipeline_steps(steps)
    }

    fn history_ready(&mut self) -> Result<(), DbError> {
        self.untracked = false;
        self.remember_history()
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.begin_pending = true;
        self.in_step = true;
        Ok(())
    }

    /// A commit without godwit's history check or writes; the engine ends steps with
    /// [`Driver::finish`].
    fn commit(&mut self) -> Result<(), DbError> {
        self.in_step = false;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(()); // nothing ran in this transaction
        }
        self.batch("COMMIT")?;
        self.unsynced = true;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), DbError> {
        // txid_current() gives the transaction an id, so its commit is a WAL record that
        // waits for the flush of everything before it.
        let sql = match (self.unsynced, self.async_commit) {
            (false, false) => return Ok(()),
            (false, true) => "RESET synchronous_commit",
            (true, _) => {
                "BEGIN; SET LOCAL synchronous_commit TO on; SELECT txid_current(); COMMIT; \
                 RESET synchronous_commit"
            }
        };
        self.batch(sql)?;
        self.unsynced = false;
        self.async_commit = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_step = false;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(());
        }
        self.batch("ROLLBACK")
    }
}
