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

/// A query's result: column names, then rows in that column order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
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
