//! Rust values to SQL values and back, and rows read by column name.

use crate::{Param, Value};

macro_rules! into_param {
    ($($ty:ty => $variant:ident),*) => {
        $(impl From<$ty> for Param<'_> {
            fn from(value: $ty) -> Self {
                Param::$variant(value.into())
            }
        })*
    };
}

into_param!(i64 => Integer, i32 => Integer, u32 => Integer, f64 => Real, bool => Boolean);

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Param<'a> {
        Param::Text(value)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Param<'a> {
        Param::Text(value)
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(value: &'a [u8]) -> Param<'a> {
        Param::Blob(value)
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(value: &'a Vec<u8>) -> Param<'a> {
        Param::Blob(value)
    }
}

/// A value read from a row, passed back as a parameter.
impl<'a> From<&'a Value> for Param<'a> {
    fn from(value: &'a Value) -> Param<'a> {
        match value {
            Value::Null => Param::Null,
            Value::Boolean(b) => Param::Boolean(*b),
            Value::Integer(i) => Param::Integer(*i),
            Value::Real(r) => Param::Real(*r),
            Value::Text(t) => Param::Text(t),
            Value::Blob(b) => Param::Blob(b),
        }
    }
}

impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(value: Option<T>) -> Param<'a> {
        value.map_or(Param::Null, Into::into)
    }
}

/// A Rust type a SQL value converts to. Text and blobs can be borrowed from the row
/// (`&str`, `&[u8]`) or copied (`String`, `Vec<u8>`).
pub trait FromValue<'a>: Sized {
    fn from_value(value: &'a Value) -> Result<Self, String>;
}

fn mismatch(want: &str, value: &Value) -> String {
    format!("expected {want}, found {value:?}")
}

impl FromValue<'_> for i64 {
    fn from_value(value: &Value) -> Result<i64, String> {
        match value {
            Value::Integer(i) => Ok(*i),
            Value::Boolean(b) => Ok(i64::from(*b)),
            other => Err(mismatch("an integer", other)),
        }
    }
}

impl FromValue<'_> for f64 {
    fn from_value(value: &Value) -> Result<f64, String> {
        match value {
            Value::Real(r) => Ok(*r),
            Value::Integer(i) => Ok(*i as f64),
            other => Err(mismatch("a number", other)),
        }
    }
}

impl FromValue<'_> for bool {
    fn from_value(value: &Value) -> Result<bool, String> {
        match value {
            Value::Boolean(b) => Ok(*b),
            Value::Integer(i) => Ok(*i != 0),
            other => Err(mismatch("a boolean", other)),
        }
    }
}

impl<'a> FromValue<'a> for &'a str {
    fn from_value(value: &'a Value) -> Result<&'a str, String> {
        match value {
            Value::Text(t) => Ok(t),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromValue<'_> for String {
    fn from_value(value: &Value) -> Result<String, String> {
        <&str>::from_value(value).map(str::to_owned)
    }
}

impl<'a> FromValue<'a> for &'a [u8] {
    fn from_value(value: &'a Value) -> Result<&'a [u8], String> {
        match value {
            Value::Blob(b) => Ok(b),
            other => Err(mismatch("a blob", other)),
        }
    }
}

impl FromValue<'_> for Vec<u8> {
    fn from_value(value: &Value) -> Result<Vec<u8>, String> {
        <&[u8]>::from_value(value).map(<[u8]>::to_vec)
    }
}

impl<'a, T: FromValue<'a>> FromValue<'a> for Option<T> {
    fn from_value(value: &'a Value) -> Result<Option<T>, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A query's result: rows whose columns are read by name.
#[derive(Debug, Clone)]
pub struct Rows {
    columns: Vec<String>,
    values: Vec<Value>,
}

impl Rows {
    pub(crate) fn new(columns: Vec<String>, values: Vec<Value>) -> Rows {
        Rows { columns, values }
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.columns.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Row `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<Row<'_>> {
        let width = self.columns.len();
        let values = self.values.get(index * width..(index + 1) * width)?;
        (width > 0).then_some(Row { columns: &self.columns, values })
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Row<'_>> {
        let columns = &self.columns;
        self.values.chunks(columns.len().max(1)).map(move |values| Row { columns, values })
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = Row<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// One result row, borrowed from its [`Rows`]; columns are read by name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    pub fn values(&self) -> &'a [Value] {
        self.values
    }

    /// The value of column `name`, converted: `row.get::<i64>("id")?`; text can be borrowed
    /// from the rows: `row.get::<&str>("name")?`.
    pub fn get<T: FromValue<'a>>(&self, name: &str) -> crate::Result<T> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| crate::Error(format!("no column `{name}` in the result")))?;
        let value = self.values.get(index).unwrap_or(&Value::Null);
        T::from_value(value).map_err(|e| crate::Error(format!("column `{name}`: {e}")))
    }
}
