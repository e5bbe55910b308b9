//! Statements sent as they are, prepared once per connection: godwit's own and those of
//! migrations no pack's grant confines; rows of parameters pipelined inside a step.

use super::types::{Param, as_sql, db_error};
use super::{PostgresDriver, ROWS_PER_ROUND_TRIP, client};
use crate::driver::{DbError, ParamRows, Rows, Value};
use tokio_postgres::Statement;
use tokio_postgres::types::Type;

impl PostgresDriver {
    /// A statement prepared once and run as the connection's own user.
    pub(super) fn plain_execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.open_pending()?;
        let statement = self.prepare_cached(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        self.client.execute(&statement, &as_sql(&params)).map_err(|e| db_error(&e))
    }

    /// One statement prepared once and run for every parameter row, the rows sent
    /// [`ROWS_PER_ROUND_TRIP`] at a time before their answers are read: a batch of updates
    /// costs a round trip per thousand rows, not per row. Only inside a step's transaction,
    /// where a row that fails aborts it and the rows sent after it do nothing, so the first
    /// failure is the error and nothing after it happened; outside one (where each row would
    /// commit on its own and the rows after a failure would still run) the rows go one by one.
    pub(super) fn plain_execute_many(
        &mut self,
        sql: &str,
        rows: ParamRows<'_>,
    ) -> Result<u64, DbError> {
        if !self.in_step {
            let mut changed = 0;
            for params in rows.iter() {
                changed += self.plain_execute(sql, params)?;
            }
            return Ok(changed);
        }
        self.open_pending()?;
        let statement = self.prepare_cached(sql)?;
        let rows: Vec<&[Value]> = rows.iter().collect();
        let mut changed = 0;
        for chunk in rows.chunks(ROWS_PER_ROUND_TRIP) {
            let params: Vec<Vec<Param<'_>>> =
                chunk.iter().map(|row| row.iter().map(Param).collect()).collect();
            let params: Vec<_> = params.iter().map(|row| as_sql(row)).collect();
            let client = self.client.requests();
            let requests = params
                .iter()
                .map(|row| Box::pin(client.execute(&statement, row)) as client::Request<'_>)
                .collect();
            for answer in self.client.pipeline(requests) {
                changed += answer.map_err(|e| db_error(&e))?;
            }
        }
        Ok(changed)
    }

    /// A query prepared once and run as the connection's own user, its columns mapped by
    /// `value`.
    pub(super) fn plain_query(
        &mut self,
        sql: &str,
        params: &[Value],
        value: ColumnValue,
    ) -> Result<Rows, DbError> {
        self.open_pending()?;
        let statement = self.prepare_cached(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let found = self.client.query(&statement, &as_sql(&params)).map_err(|e| db_error(&e))?;
        rows(&statement, &found, value)
    }
}

/// How a result column becomes a [`Value`].
pub(super) type ColumnValue =
    fn(&tokio_postgres::Row, usize, &str, &Type) -> Result<Value, DbError>;

/// The rows a statement returned, each column mapped by `value`.
pub(super) fn rows(
    statement: &Statement,
    found: &[tokio_postgres::Row],
    value: ColumnValue,
) -> Result<Rows, DbError> {
    let columns = statement.columns();
    let mut values = Vec::with_capacity(found.len() * columns.len());
    for row in found {
        for (i, column) in columns.iter().enumerate() {
            values.push(value(row, i, column.name(), column.type_())?);
        }
    }
    Ok(Rows { columns: columns.iter().map(|c| c.name().to_owned()).collect(), values })
}
