//! Rust values to SQL values and back, and rows read by column name.

use crate::Value;
use std::rc::Rc;

macro_rules! into_value {
    ($($ty:ty => $variant:ident),*) => {
        $(impl From<$ty> for Value {
            fn from(value: $ty) -> Value {
                Value::$variant(value.into())
            }
        })*
    };
}

into_value!(i64 => Integer, i32 => Integer, u32 => Integer, f64 => Real, bool => Boolean, String => Text, &str => Text, Vec<u8> => Blob);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
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

/// One result row; columns are read by name.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Rc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Rc<[String]>, values: Vec<Value>) -> Row {
        Row { columns, values }
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value of column `name`, converted: `row.get::<i64>("id")?`; text can be borrowed
    /// from the row: `row.get::<&str>("name")?`.
    pub fn get<'a, T: FromValue<'a>>(&'a self, name: &str) -> crate::Result<T> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| crate::Error(format!("no column `{name}` in the result")))?;
        let value = self.values.get(index).unwrap_or(&Value::Null);
        T::from_value(value).map_err(|e| crate::Error(format!("column `{name}`: {e}")))
    }
}
