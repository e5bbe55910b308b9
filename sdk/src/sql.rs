//! SQL through the host, inside the transaction godwit opened for this step.

use crate::bindings::godwit::migration::{sql, types};
use crate::value::Row;
use crate::{Dialect, Error, Result, Value};
use std::rc::Rc;

impl From<types::DbError> for Error {
    fn from(error: types::DbError) -> Error {
        match error.code {
            Some(code) => Error(format!("{} ({code})", error.message)),
            None => Error(error.message),
        }
    }
}

/// The database godwit is migrating.
pub fn dialect() -> Dialect {
    sql::current_dialect()
}

/// Runs one statement with positional parameters (`$1`, `$2`, ... work on both databases);
/// returns the number of rows it changed.
pub fn execute(statement: &str, params: &[Value]) -> Result<u64> {
    Ok(sql::execute(statement, params)?)
}

/// Runs one statement once per parameter row, in one call to the host.
pub fn execute_many(statement: &str, rows: &[Vec<Value>]) -> Result<u64> {
    Ok(sql::execute_many(statement, rows)?)
}

/// Runs a query; each row reads its columns by name.
pub fn query(statement: &str, params: &[Value]) -> Result<Vec<Row>> {
    let result = sql::query(statement, params)?;
    let columns: Rc<[String]> = result.columns.into();
    Ok(result.rows.into_iter().map(|values| Row::new(columns.clone(), values)).collect())
}

/// The first column of the first row, typed.
pub fn scalar<T: for<'a> crate::FromValue<'a>>(statement: &str, params: &[Value]) -> Result<T> {
    let rows = query(statement, params)?;
    let row = rows.first().ok_or_else(|| Error::from("the query returned no row"))?;
    let value = row.values().first().unwrap_or(&Value::Null);
    T::from_value(value).map_err(Error)
}

/// Builds a parameter list from Rust values: `params![42, "text", None::<i64>]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::Value::from($value)),*][..]
    };
}
