//! SQL values that cross between godwit, its drivers and guest migrations: the six kinds both
//! SQLite and PostgreSQL can carry, and query results made of them.

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A query's result: column names, then the values of all rows, row after row, in that
/// column order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub values: Vec<Value>,
}

impl Rows {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.columns.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The rows, each a slice of values in column order.
    pub fn iter(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks(self.columns.len().max(1))
    }
}

/// The parameter rows of `execute_many`: `values` holds them one after another, `width`
/// values each.
#[derive(Clone, Copy, Debug)]
pub struct ParamRows<'a> {
    width: usize,
    values: &'a [Value],
}

impl<'a> ParamRows<'a> {
    /// Checks that `values` divides into rows of `width`.
    pub fn new(width: usize, values: &'a [Value]) -> Result<ParamRows<'a>, super::DbError> {
        match (width, values.len()) {
            (0, 0) => Ok(ParamRows { width: 1, values }),
            (0, n) => Err(super::DbError::new(format!(
                "execute-many got {n} parameter values with a row width of 0"
            ))),
            (w, n) if n % w != 0 => Err(super::DbError::new(format!(
                "execute-many got {n} parameter values, not a multiple of the row width {w}"
            ))),
            (width, _) => Ok(ParamRows { width, values }),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [Value]> {
        self.values.chunks(self.width)
    }
}

impl Value {
    /// The text PostgreSQL parses for this value in any column type (`Blob` excepted, which is
    /// sent as binary `bytea`).
    pub(crate) fn postgres_text(&self) -> Option<String> {
        Some(match self {
            Value::Null | Value::Blob(_) => return None,
            Value::Boolean(b) => b.to_string(),
            Value::Integer(i) => i.to_string(),
            Value::Real(r) if r.is_nan() => "NaN".to_owned(),
            Value::Real(r) if r.is_infinite() => {
                if *r > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
            }
            Value::Real(r) => format!("{r:?}"),
            Value::Text(t) => t.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_text_forms() {
        assert_eq!(Value::Real(1.0).postgres_text().as_deref(), Some("1.0"));
        assert_eq!(Value::Real(f64::NEG_INFINITY).postgres_text().as_deref(), Some("-Infinity"));
        assert_eq!(Value::Boolean(true).postgres_text().as_deref(), Some("true"));
        assert_eq!(Value::Null.postgres_text(), None);
    }
}
