//! SQL through the host, inside the transaction godwit opened for this step.

use crate::bindings::godwit::migration::{sql, types};
use crate::value::Rows;
use crate::{Dialect, Error, Param, Result, Value};

pub use crate::set::execute_set;

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
pub fn execute(statement: &str, params: &[Param<'_>]) -> Result<u64> {
    Ok(sql::execute(statement, params)?)
}

/// Runs one statement once per parameter row, in one call to the host; returns the rows
/// changed, summed. Rows are arrays or vectors of equal length:
/// `sql::execute_many("UPDATE t SET a = $1 WHERE id = $2", &[[a.into(), id.into()]])`.
pub fn execute_many<'a, R: AsRef<[Param<'a>]>>(statement: &str, rows: &[R]) -> Result<u64> {
    let width = rows.first().map_or(0, |row| row.as_ref().len());
    let mut flat = Vec::with_capacity(width * rows.len());
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != width {
            return Err(Error(format!(
                "execute_many: parameter row {i} has {} values, row 0 has {width}",
                row.len()
            )));
        }
        flat.extend_from_slice(row);
    }
    let width = u32::try_from(width).map_err(|_| Error::from("execute_many: rows too wide"))?;
    Ok(sql::execute_many(statement, width, &flat)?)
}

/// Runs a query; each row reads its columns by name.
pub fn query(statement: &str, params: &[Param<'_>]) -> Result<Rows> {
    let result = sql::query(statement, params)?;
    Ok(Rows::new(result.columns, result.values))
}

/// The first column of the first row, typed.
pub fn scalar<T: for<'a> crate::FromValue<'a>>(statement: &str, params: &[Param<'_>]) -> Result<T> {
    let rows = query(statement, params)?;
    let row = rows.get(0).ok_or_else(|| Error::from("the query returned no row"))?;
    let value = row.values().first().unwrap_or(&Value::Null);
    T::from_value(value).map_err(Error)
}

/// Builds a parameter list from Rust values: `params![42, "text", None::<i64>]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::Param::from($value)),*][..]
    };
}
