//! PostgreSQL through the synchronous `postgres` crate. DDL is transactional, so every
//! migration and its history row commit together; the migration lock is a session-level
//! advisory lock, which the server releases when the connection ends, however it ends.
//!
//! Each step commits on its own (so its table locks are released at once) with
//! `synchronous_commit` off, which skips the WAL flush per commit; `sync` then commits one
//! transaction with it on, which flushes the WAL up to that point and so every step before.
//! A server crash before that can lose a suffix of the run's steps, each with its history
//! row, never half of one.

mod confine;
mod guard;

use super::sqlite::RawRow;
use super::tls::{self, SslMode};
use super::{ConnectOptions, DbError, Dialect, Driver, ParamRows, Rows, Value, redact};
use crate::error::Error;
use crate::history::{AppliedMigration, NewRecord, RecordState};
use crate::migration::Key;
use crate::pack::Pack;
use crate::version::Version;
use postgres::error::ErrorPosition;
use postgres::error::SqlState;
use postgres::types::{Format, FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub struct PostgresDriver {
    client: Client,
    target: String,
    schema: String,
    /// The history table, schema-qualified and quoted.
    table: String,
    /// Whether the schema was named by the user (and so is created if missing).
    explicit_schema: bool,
    lock_key: i64,
    insert: Option<Statement>,
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
    /// The history table's structure when the run began, to tell that no migration changed it.
    history_known: Option<guard::HistoryShape>,
    /// godwit's inserts minus deletes of history rows in the step's transaction.
    history_delta: i64,
    /// Whether the history was checked in this step's transaction.
    history_verified: bool,
    /// The connection's database, once a pack step asked for it.
    database: Option<String>,
}

/// What opens a step's transaction.
const BEGIN: &str = "BEGIN; SET LOCAL synchronous_commit TO off; ";

impl std::fmt::Debug for PostgresDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresDriver").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PostgresDriver {
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresDriver, Error> {
        let target = redact(url);
        let invalid = |reason: String| Error::InvalidUrl { url: target.clone(), reason };
        let (stripped, tls_params) = tls::split_url(url).map_err(invalid)?;
        let mut config: postgres::Config =
            stripped.parse().map_err(|e: postgres::Error| invalid(e.to_string()))?;
        // `connect_timeout` in the URL wins, as with libpq.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("godwit");
        let tls_config = match tls_params.mode {
            SslMode::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            mode => {
                config.ssl_mode(match mode {
                    SslMode::Prefer => postgres::config::SslMode::Prefer,
                    _ => postgres::config::SslMode::Require,
                });
                Some(tls::client_config(&tls_params).map_err(invalid)?)
            }
        };
        let connect_error = |source| Error::Connect { target: target.clone(), source };
        let mut client = connect_within(config, tls_config).map_err(connect_error)?;
        // A godwit killed in the middle of a long statement must not keep the migration lock
        // until the statement ends: the server checks every second that the client is still
        // there (PostgreSQL 14 and later, on Linux, macOS and the BSDs; ignored elsewhere).
        let _ = client.batch_execute("SET client_connection_check_interval = 1000");
        let (schema, explicit_schema) = match &options.schema {
            Some(schema) => (schema.clone(), true),
            None => {
                let row = client
                    .query_one("SELECT current_schema()", &[])
                    .map_err(|e| connect_error(db_error(&e)))?;
                let schema: Option<String> = row.get(0);
                let schema = schema.ok_or_else(|| {
                    connect_error(DbError::new(
                        "the connection has no current schema (empty search_path); pass --schema",
                    ))
                })?;
                (schema, false)
            }
        };
        let table = format!("{}.godwit_history", quote_ident(&schema));
        Ok(PostgresDriver {
            client,
            target,
            lock_key: lock_key(&schema),
            schema,
            table,
            explicit_schema,
            insert: None,
            unsynced: false,
            prepared: HashMap::new(),
            begin_pending: false,
            in_step: false,
            locked: false,
            confinement: None,
            history_known: None,
            history_delta: 0,
            history_verified: false,
            database: None,
        })
    }

    /// Whether the history table exists, and if so whether it has streams (`Some(true)`) or
    /// was written by a godwit from before packs (`Some(false)`).
    fn history_shape(&mut self) -> Result<Option<bool>, DbError> {
        let row = self
            .client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute \
                 WHERE attrelid = to_regclass($1) AND attname = 'stream' AND NOT attisdropped)",
                &[&self.table],
            )
            .map_err(|e| db_error(&e))?;
        Ok(row.get::<_, bool>(0).then(|| row.get(1)))
    }

    /// The history query; `stream` is the column, or `''::text` for a table from before packs.
    fn history_select(&self, stream: &str) -> String {
        format!(
            "SELECT version, name, kind, checksum, applied_at, execution_ms, state, \
             godwit_version, \"cursor\", rows_done, {stream} FROM {}",
            self.table
        )
    }

    /// Creates the history table, or brings one from an older godwit up to date.
    fn create_or_upgrade_history(&mut self) -> Result<(), DbError> {
        match self.history_shape()? {
            Some(true) => return Ok(()),
            Some(false) => return self.upgrade_history(),
            None => {}
        }
        if self.explicit_schema {
            let exists = self
                .client
                .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&self.schema])
                .map_err(|e| db_error(&e))?
                .is_some();
            if !exists {
                self.execute(&format!("CREATE SCHEMA {}", quote_ident(&self.schema)))?;
            }
        }
        self.execute(&format!(
            "CREATE TABLE {table} (
                version        BIGINT,
                name           TEXT        NOT NULL,
                kind           TEXT        NOT NULL,
                checksum       TEXT        NOT NULL,
                applied_at     TIMESTAMPTZ NOT NULL,
                execution_ms   BIGINT      NOT NULL,
                state          TEXT        NOT NULL,
                godwit_version TEXT        NOT NULL,
                \"cursor\"     TEXT,
                rows_done      BIGINT      NOT NULL DEFAULT 0,
                stream         TEXT        NOT NULL DEFAULT '',
                UNIQUE (stream, version)
            );
            CREATE UNIQUE INDEX godwit_history_repeatable
                ON {table} (stream, name) WHERE version IS NULL;",
            table = self.table
        ))
    }

    /// Gives a history table from before packs its stream column, and makes versions and
    /// repeatable names unique per stream; one transaction.
    fn upgrade_history(&mut self) -> Result<(), DbError> {
        let table = self.table.clone();
        let mut tx = self.client.transaction().map_err(|e| db_error(&e))?;
        let unique: Vec<String> = tx
            .query(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = $1::text::regclass \
                 AND contype = 'u'",
                &[&table],
            )
            .map_err(|e| db_error(&e))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut sql = format!("ALTER TABLE {table} ADD COLUMN stream TEXT NOT NULL DEFAULT '';");
        for name in unique {
            sql.push_str(&format!("ALTER TABLE {table} DROP CONSTRAINT {};", quote_ident(&name)));
        }
        sql.push_str(&format!(
            "ALTER TABLE {table} ADD UNIQUE (stream, version);
             DROP INDEX IF EXISTS {schema}.godwit_history_repeatable;
             CREATE UNIQUE INDEX godwit_history_repeatable
                 ON {table} (stream, name) WHERE version IS NULL;",
            schema = quote_ident(&self.schema)
        ));
        tx.batch_execute(&sql).map_err(|e| db_error(&e))?;
        tx.commit().map_err(|e| db_error(&e))
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

    /// Sends a held-back `BEGIN` on its own, before a statement that cannot carry it.
    fn open_pending(&mut self) -> Result<(), DbError> {
        if std::mem::take(&mut self.begin_pending) {
            self.client.batch_execute(BEGIN).map_err(|e| db_error(&e))?;
        }
        Ok(())
    }

    /// Runs one of godwit's statements; the number of rows it changed.
    fn run(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, DbError> {
        self.open_pending()?;
        self.client.execute(sql, params).map_err(|e| db_error(&e))
    }
}

/// Connects, giving up after `connect_timeout` per host for the whole of it. The driver's own
/// timeout covers only the TCP connection: a server (or a proxy) that accepts it and then
/// never answers would otherwise hold godwit forever. The attempt runs on a thread of its own,
/// left behind if it does not finish in time.
fn connect_within(
    config: postgres::Config,
    tls: Option<rustls::ClientConfig>,
) -> Result<Client, DbError> {
    let hosts = u32::try_from(config.get_hosts().len().max(1)).unwrap_or(u32::MAX);
    let limit = config.get_connect_timeout().map(|timeout| timeout.saturating_mul(hosts));
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let connected = match tls {
            None => config.connect(NoTls),
            Some(tls) => config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
        };
        let _ = sender.send(connected.map_err(|e| db_error(&e)));
    });
    let outcome = match limit {
        Some(limit) => receiver.recv_timeout(limit).map_err(|_| {
            DbError::new(format!(
                "the server did not complete the connection within {} s (connect_timeout)",
                limit.as_secs()
            ))
        }),
        None => receiver.recv().map_err(|e| DbError::new(e.to_string())),
    };
    outcome?
}

/// The advisory lock key: one per history table, so projects sharing a database in
/// different schemas do not wait for each other.
fn lock_key(schema: &str) -> i64 {
    let digest = Sha256::digest(format!("godwit:{schema}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
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

    fn try_lock(&mut self) -> Result<bool, DbError> {
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.lock_key])
            .map_err(|e| db_error(&e))?;
        self.locked = row.get(0);
        Ok(self.locked)
    }

    fn unlock(&mut self) -> Result<(), DbError> {
        self.locked = false;
        self.client
            .query_one("SELECT pg_advisory_unlock($1)", &[&self.lock_key])
            .map(drop)
            .map_err(|e| db_error(&e))
    }

    fn ensure_history(&mut self) -> Result<(), DbError> {
        self.create_or_upgrade_history()?;
        self.remember_history()
    }
    fn history(&mut self) -> Result<Vec<AppliedMigration>, DbError> {
        // Outside a transaction, the table is read at once and a missing table or column
        // told by the error: one query less on every run, which a no-op run notices.
        let rows = match self.in_step {
            true => None,
            false => match self.client.query(&self.history_select("stream"), &[]) {
                Ok(rows) => Some(rows),
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(Vec::new()),
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_COLUMN) => None,
                Err(e) => return Err(db_error(&e)),
            },
        };
        let rows = match rows {
            Some(rows) => rows,
            None => {
                let stream = match self.history_shape()? {
                    None => return Ok(Vec::new()),
                    Some(true) => "stream",
                    // Written by a godwit from before packs: read as it is.
                    Some(false) => "''::text",
                };
                self.client.query(&self.history_select(stream), &[]).map_err(|e| db_error(&e))?
            }
        };
        let mut history = rows
            .iter()
            .map(|row| {
                RawRow {
                    stream: row.try_get(10).map_err(|e| db_error(&e))?,
                    version: row.try_get(0).map_err(|e| db_error(&e))?,
                    name: row.try_get(1).map_err(|e| db_error(&e))?,
                    kind: row.try_get(2).map_err(|e| db_error(&e))?,
                    checksum: row.try_get(3).map_err(|e| db_error(&e))?,
                    applied_at: row.try_get::<_, Timestamp>(4).map_err(|e| db_error(&e))?.rfc3339(),
                    execution_ms: row.try_get(5).map_err(|e| db_error(&e))?,
                    state: row.try_get(6).map_err(|e| db_error(&e))?,
                    godwit_version: row.try_get(7).map_err(|e| db_error(&e))?,
                    cursor: row.try_get(8).map_err(|e| db_error(&e))?,
                    rows_done: row.try_get(9).map_err(|e| db_error(&e))?,
                }
                .into_applied()
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here rather than by the server, whose collation rules would cost more than
        // the read itself and could order names differently from SQLite.
        history.sort_by(|a, b| {
            (&a.stream, a.version.is_none(), a.version, &a.name).cmp(&(
                &b.stream,
                b.version.is_none(),
                b.version,
                &b.name,
            ))
        });
        Ok(history)
    }

    fn confine(&mut self, pack: Option<&Pack>) -> Result<(), DbError> {
        match pack {
            Some(pack) => self.confine_to(pack),
            None => self.lift(),
        }
    }

    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        if self.confinement.is_some() {
            return self.confined_execute(sql);
        }
        if !std::mem::take(&mut self.begin_pending) {
            return self.client.batch_execute(sql).map_err(|e| db_error(&e));
        }
        self.client.batch_execute(&format!("{BEGIN}{sql}")).map_err(|e| {
            let mut error = db_error(&e);
            // Positions count from the start of what was sent; the user's statement
            // starts after the BEGIN.
            let prefix = BEGIN.chars().count();
            error.position = error.position.and_then(|at| at.checked_sub(prefix));
            error
        })
    }

    fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        if self.confinement.is_some() {
            return self.confined_execute_with(sql, params);
        }
        self.open_pending()?;
        let statement = self.prepare_cached(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        self.client.execute(&statement, &as_sql(&params)).map_err(|e| db_error(&e))
    }

    fn execute_many(&mut self, sql: &str, rows: ParamRows<'_>) -> Result<u64, DbError> {
        if self.confinement.is_some() {
            return self.confined_execute_many(sql, rows);
        }
        let mut changed = 0;
        for params in rows.iter() {
            changed += self.execute_with(sql, params)?;
        }
        Ok(changed)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        if self.confinement.is_some() {
            return self.confined_query(sql, params);
        }
        self.open_pending()?;
        let statement = self.prepare_cached(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let found = self.client.query(&statement, &as_sql(&params)).map_err(|e| db_error(&e))?;
        let columns = statement.columns();
        let mut values = Vec::with_capacity(found.len() * columns.len());
        for row in &found {
            for (i, column) in columns.iter().enumerate() {
                values.push(column_value(row, i, column.name(), column.type_())?);
            }
        }
        Ok(Rows { columns: columns.iter().map(|c| c.name().to_owned()).collect(), values })
    }

    fn begin(&mut self) -> Result<(), DbError> {
        self.begin_pending = true;
        self.in_step = true;
        self.history_verified = false;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.in_step = false;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(()); // nothing ran in this transaction
        }
        self.execute("COMMIT")?;
        self.history_committed();
        self.unsynced = true;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), DbError> {
        if !self.unsynced {
            return Ok(());
        }
        // txid_current() gives the transaction an id, so its commit is a WAL record that
        // waits for the flush of everything before it.
        self.execute("BEGIN; SET LOCAL synchronous_commit TO on; SELECT txid_current(); COMMIT")?;
        self.unsynced = false;
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.in_step = false;
        self.history_delta = 0;
        if std::mem::take(&mut self.begin_pending) {
            return Ok(());
        }
        self.execute("ROLLBACK")
    }

    fn insert_record(&mut self, r: &NewRecord<'_>) -> Result<(), DbError> {
        self.verify_history()?;
        let statement = match &self.insert {
            Some(statement) => statement.clone(),
            None => {
                let sql = format!(
                    "INSERT INTO {} (version, name, kind, checksum, applied_at, execution_ms, \
                     state, godwit_version, stream) VALUES ($1, $2, $3, $4, now(), $5, $6, $7, $8)",
                    self.table
                );
                let statement = self.client.prepare(&sql).map_err(|e| db_error(&e))?;
                self.insert = Some(statement.clone());
                statement
            }
        };
        let version = r.version.map(Version::get);
        self.client
            .execute(
                &statement,
                &[
                    &version,
                    &r.name,
                    &r.kind,
                    &r.checksum,
                    &r.execution_ms,
                    &r.state.as_str(),
                    &crate::GODWIT_VERSION,
                    &r.stream,
                ],
            )
            .map(|_| self.history_written(1))
            .map_err(|e| db_error(&e))
    }

    fn delete_record(&mut self, stream: &str, key: &Key) -> Result<(), DbError> {
        self.verify_history()?;
        let (condition, key) = row_of(key);
        let sql = format!("DELETE FROM {} WHERE stream = $2 AND {condition}", self.table);
        let deleted = self.run(&sql, &[&Param(&key), &stream])?;
        self.history_written(-i64::try_from(deleted).unwrap_or(0));
        Ok(())
    }

    fn update_progress(
        &mut self,
        stream: &str,
        key: &Key,
        cursor: Option<&str>,
        rows_done: i64,
        state: RecordState,
    ) -> Result<(), DbError> {
        self.verify_history()?;
        let (condition, key) = row_of(key);
        let sql = format!(
            "UPDATE {} SET \"cursor\" = $3, rows_done = $4, state = $5 \
             WHERE stream = $2 AND {condition}",
            self.table
        );
        self.run(&sql, &[&Param(&key), &stream, &cursor, &rows_done, &state.as_str()]).map(drop)
    }

    fn update_checksum(&mut self, stream: &str, key: &Key, checksum: &str) -> Result<(), DbError> {
        self.verify_history()?;
        let (condition, key) = row_of(key);
        let sql =
            format!("UPDATE {} SET checksum = $3 WHERE stream = $2 AND {condition}", self.table);
        self.run(&sql, &[&Param(&key), &stream, &checksum]).map(drop)
    }
}

/// The condition on `$1` that picks a key's row within its stream, and the value for `$1`:
/// the version, or the repeatable's name (compared as text).
fn row_of(key: &Key) -> (&'static str, Value) {
    match key {
        Key::Versioned(v) => ("version = $1", Value::Integer(v.get())),
        Key::Repeatable(name) => ("version IS NULL AND name = $1", Value::Text(name.clone())),
    }
}

/// A parameter in PostgreSQL's text format, which the server parses for whatever type the
/// statement gives the parameter; blobs go as binary `bytea`.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Blob(bytes) => out.extend_from_slice(bytes),
            value => out.extend_from_slice(value.postgres_text().unwrap_or_default().as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self.0 {
            Value::Blob(_) => Format::Binary,
            _ => Format::Text,
        }
    }

    to_sql_checked!();
}

fn as_sql<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A result column as a [`Value`]; types without an equivalent must be cast in the query.
fn column_value(row: &postgres::Row, i: usize, name: &str, ty: &Type) -> Result<Value, DbError> {
    let get = |e: postgres::Error| db_error(&e);
    Ok(match *ty {
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(get)?.map(Value::Boolean),
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(get)?.map(|v| Value::Integer(v.into())),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get)?.map(|v| Value::Integer(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get)?.map(Value::Integer),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(get)?.map(|v| Value::Real(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(get)?.map(Value::Real),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i).map_err(get)?.map(Value::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            row.try_get::<_, Option<String>>(i).map_err(get)?.map(Value::Text)
        }
        _ => {
            return Err(DbError::new(format!(
                "column `{name}` has type {ty}, which has no godwit value; cast it in the query (`{name}::text`)"
            )));
        }
    }
    .unwrap_or(Value::Null))
}

/// A `timestamptz` as the server sends it in binary: microseconds since 2000-01-01 UTC.
/// Decoded here, so that the server does not format a thousand dates per run.
struct Timestamp(i64);

impl Timestamp {
    /// RFC 3339 with second precision, as the SQLite history stores it.
    fn rfc3339(&self) -> String {
        const FROM_UNIX_EPOCH: i64 = 946_684_800;
        const YEAR_10000: i64 = 253_402_300_800;
        let unix = self.0.div_euclid(1_000_000).saturating_add(FROM_UNIX_EPOCH);
        match (self.0, u64::try_from(unix)) {
            (i64::MAX, _) => "infinity".to_owned(),
            (i64::MIN, _) => "-infinity".to_owned(),
            (_, Ok(seconds)) if unix < YEAR_10000 => humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
            )
            .to_string(),
            // Only a hand-edited row can hold such a time.
            _ => format!("{unix} s from 1970-01-01T00:00:00Z"),
        }
    }
}

impl<'a> FromSql<'a> for Timestamp {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> Result<Timestamp, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Timestamp(i64::from_be_bytes(raw.try_into()?)))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ
    }
}

/// The server's message (with its detail and hint) and SQLSTATE, or the client-side cause
/// chain for connection and protocol errors.
fn db_error(error: &postgres::Error) -> DbError {
    if let Some(db) = error.as_db_error() {
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(&format!("\nDETAIL: {detail}"));
        }
        if let Some(hint) = db.hint() {
            message.push_str(&format!("\nHINT: {hint}"));
        }
        let position = match db.position() {
            Some(ErrorPosition::Original(at)) => usize::try_from(*at).ok(),
            _ => None,
        };
        return DbError { message, code: Some(db.code().code().to_owned()), position };
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    DbError::new(message)
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn binary_timestamps_read_as_rfc3339_seconds() {
        assert_eq!(Timestamp(0).rfc3339(), "2000-01-01T00:00:00Z");
        // 2026-11-19T15:08:48.853587Z (Unix time 1795100928), as the server sends it.
        let micros = (1_795_100_928 - 946_684_800) * 1_000_000 + 853_587;
        assert_eq!(Timestamp(micros).rfc3339(), "2026-11-19T15:08:48Z");
        assert_eq!(Timestamp(-1).rfc3339(), "1999-12-31T23:59:59Z");
        // `infinity` and times humantime cannot write are shown, not a panic.
        assert_eq!(Timestamp(i64::MAX).rfc3339(), "infinity");
        assert_eq!(Timestamp(i64::MIN).rfc3339(), "-infinity");
        assert_eq!(Timestamp(i64::MAX - 1).rfc3339(), "9224318721654 s from 1970-01-01T00:00:00Z");
        assert!(Timestamp(-1_000_000 * 946_684_801).rfc3339().starts_with("-1 s from 1970"));
    }
}
