//! What a guest may call: the `sql` and `log` interfaces of the contract, implemented over the
//! driver lent to the guest for one call, and an empty WASI context.

use super::bindings::godwit::migration::{log, options, sql, types};
use super::capture::Capture;
use crate::driver::{Dialect, Driver, ParamRows, Value};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

pub struct GuestState {
    driver: Option<Box<dyn Driver>>,
    pub limits: StoreLimits,
    wasi: WasiCtx,
    table: ResourceTable,
    stdout: Capture,
    stderr: Capture,
    logs: Vec<String>,
    /// The first error the database reported to the guest in this call: a guest that fails
    /// after it failed because of it (a lock timeout, a deadlock) may be retried.
    first_error: Option<crate::driver::DbError>,
    /// What the guest declared with `options.declare`, the last call's.
    declared: Option<super::RunOptions>,
    /// The statements it sent to change the database, when they are kept (its `up` and
    /// `down`, which are linted after the call; not a transform's batches).
    sent: Option<Vec<String>>,
}

impl GuestState {
    pub fn new(driver: Option<Box<dyn Driver>>, limits: StoreLimits, output: usize) -> GuestState {
        let stdout = Capture::new(output);
        let stderr = Capture::new(output);
        // No preopened directories, no environment, no arguments, no network, and clocks that
        // stand still: the contract gives a guest no time, so nothing it does depends on when
        // it runs.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(Frozen)
            .monotonic_clock(Frozen)
            .build();
        GuestState {
            driver,
            limits,
            wasi,
            table: ResourceTable::new(),
            stdout,
            stderr,
            logs: Vec::new(),
            first_error: None,
            declared: None,
            sent: None,
        }
    }

    /// Lends the connection for the next call.
    pub fn lend(&mut self, driver: Box<dyn Driver>) {
        self.driver = Some(driver);
    }

    /// What the guest wrote and the connection, after a call.
    pub fn give_back(&mut self) -> (Vec<String>, Option<Box<dyn Driver>>) {
        (self.take_output(), self.driver.take())
    }

    /// The first error the database reported in the call, forgotten for the next one.
    pub fn take_first_error(&mut self) -> Option<crate::driver::DbError> {
        self.first_error.take()
    }

    /// A database call's result for the guest, its error remembered if it is the first.
    fn seen<T>(&mut self, result: Result<T, crate::driver::DbError>) -> Result<T, types::DbError> {
        result.map_err(|error| {
            let converted = db_error(error.clone());
            self.first_error.get_or_insert(error);
            converted
        })
    }

    /// Keeps the statements the guest sends to change the database from now on.
    pub fn keep_sent(&mut self) {
        self.sent = Some(Vec::new());
    }

    /// The statements kept, each once, in the order first sent.
    pub fn take_sent(&mut self) -> Vec<String> {
        self.sent.take().unwrap_or_default()
    }

    fn sending(&mut self, statement: &str) {
        if let Some(sent) = &mut self.sent
            && sent.len() < MAX_SENT
            && !sent.iter().any(|s| s == statement)
        {
            sent.push(statement.to_owned());
        }
    }

    /// What the guest declared with `options.declare` in this call.
    pub fn take_declared(&mut self) -> Option<super::RunOptions> {
        self.declared.take()
    }

    /// What the guest logged, then what it printed, one line each, since the last call.
    pub fn take_output(&mut self) -> Vec<String> {
        let mut lines = std::mem::take(&mut self.logs);
        for (stream, capture) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (bytes, dropped) = capture.take();
            for line in String::from_utf8_lossy(&bytes).lines() {
                lines.push(format!("{stream}: {line}"));
            }
            if dropped > 0 {
                lines.push(format!("{stream}: ({dropped} more bytes dropped)"));
            }
        }
        lines
    }

    fn db(&mut self) -> Result<&mut Box<dyn Driver>, types::DbError> {
        self.driver.as_mut().ok_or_else(|| types::DbError {
            code: None,
            message: "no database during describe".to_owned(),
        })
    }
}

/// A clock that always reads zero: the Unix epoch for the wall clock, 0 ns for the monotonic one.
struct Frozen;

impl HostWallClock for Frozen {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl HostMonotonicClock for Frozen {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn to_value(value: types::Value) -> Value {
    match value {
        types::Value::Null => Value::Null,
        types::Value::Boolean(b) => Value::Boolean(b),
        types::Value::Integer(i) => Value::Integer(i),
        types::Value::Real(r) => Value::Real(r),
        types::Value::Text(t) => Value::Text(t),
        types::Value::Blob(b) => Value::Blob(b),
    }
}

fn from_value(value: Value) -> types::Value {
    match value {
        Value::Null => types::Value::Null,
        Value::Boolean(b) => types::Value::Boolean(b),
        Value::Integer(i) => types::Value::Integer(i),
        Value::Real(r) => types::Value::Real(r),
        Value::Text(t) => types::Value::Text(t),
        Value::Blob(b) => types::Value::Blob(b),
    }
}

fn db_error(error: crate::driver::DbError) -> types::DbError {
    types::DbError { code: error.code, message: error.message }
}

impl types::Host for GuestState {}

impl sql::Host for GuestState {
    fn current_dialect(&mut self) -> types::Dialect {
        match self.driver.as_ref().map(|d| d.dialect()) {
            Some(Dialect::Postgres) => types::Dialect::Postgres,
            _ => types::Dialect::Sqlite,
        }
    }

    fn execute(
        &mut self,
        statement: String,
        params: Vec<types::Value>,
    ) -> Result<u64, types::DbError> {
        let params: Vec<Value> = params.into_iter().map(to_value).collect();
        self.sending(&statement);
        let result = self.db()?.execute_with(&statement, &params);
        self.seen(result)
    }

    fn execute_many(
        &mut self,
        statement: String,
        row_width: u32,
        params: Vec<types::Value>,
    ) -> Result<u64, types::DbError> {
        let params: Vec<Value> = params.into_iter().map(to_value).collect();
        let width = usize::try_from(row_width).unwrap_or(usize::MAX);
        let rows = ParamRows::new(width, &params).map_err(db_error)?;
        self.sending(&statement);
        let result = self.db()?.execute_many(&statement, rows);
        self.seen(result)
    }

    fn query(
        &mut self,
        statement: String,
        params: Vec<types::Value>,
    ) -> Result<types::Rows, types::DbError> {
        let params: Vec<Value> = params.into_iter().map(to_value).collect();
        let result = self.db()?.query(&statement, &params);
        let rows = self.seen(result)?;
        Ok(types::Rows {
            columns: rows.columns,
            values: rows.values.into_iter().map(from_value).collect(),
        })
    }

    fn query_json(
        &mut self,
        statement: String,
        params: Vec<types::Value>,
    ) -> Result<types::JsonRows, types::DbError> {
        let params: Vec<Value> = params.into_iter().map(to_value).collect();
        let result = self.db()?.query(&statement, &params);
        let rows = self.seen(result)?;
        let (rows, tagged) = super::json::rows_to_json(&rows.columns, &rows.values);
        Ok(types::JsonRows { rows, tagged })
    }

    fn execute_many_json(
        &mut self,
        statement: String,
        rows: String,
    ) -> Result<u64, types::DbError> {
        let (width, params) = super::json::params_from_json(&rows).map_err(db_error)?;
        let rows = ParamRows::new(width, &params).map_err(db_error)?;
        self.sending(&statement);
        let result = self.db()?.execute_many(&statement, rows);
        self.seen(result)
    }
}

impl options::Host for GuestState {
    fn declare(&mut self, declared: options::RunOptions) {
        let millis = |ms: u32| std::time::Duration::from_millis(u64::from(ms));
        self.declared = Some(super::RunOptions {
            defer_transform: declared.defer_transform,
            batch_target: declared.batch_target_ms.map(millis),
            batch_min: declared.batch_min,
            batch_max: declared.batch_max,
            requires: declared.requires,
        });
    }
}

/// Distinct statements kept from one call for the linter.
const MAX_SENT: usize = 1000;

/// Log lines kept from one call, so a flood cannot exhaust the host's memory.
const MAX_LOG_LINES: usize = 1000;

impl log::Host for GuestState {
    fn log(&mut self, level: log::Level, message: String) {
        if self.logs.len() < MAX_LOG_LINES {
            let level = match level {
                log::Level::Debug => "debug",
                log::Level::Info => "info",
                log::Level::Warn => "warn",
                log::Level::Error => "error",
            };
            let message: String = message.chars().take(1000).collect();
            self.logs.push(format!("{level}: {message}"));
        } else if self.logs.len() == MAX_LOG_LINES {
            self.logs.push("(further log lines dropped)".to_owned());
        }
    }
}
