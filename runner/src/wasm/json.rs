//! The JSON forms of the contract's `query-json` and `execute-many-json`: one string crosses
//! the boundary, and an interpreted guest's own (native) JSON parser and printer do the work
//! that would otherwise be one guest object per value. The shapes are documented in
//! `wit/migration.wit`.

use crate::driver::{DbError, Value};
use base64::Engine as _;
use std::fmt::Write as _;

/// The rows of a query as a JSON array of objects keyed by column name, and whether any value
/// is tagged (a blob, or a real JSON cannot spell).
pub(super) fn rows_to_json(columns: &[String], values: &[Value]) -> (String, bool) {
    let mut out = String::with_capacity(2 + values.len() * 12);
    let mut tagged = false;
    let keys: Vec<String> = columns
        .iter()
        .map(|c| {
            let mut key = String::new();
            write_string(&mut key, c);
            key.push(':');
            key
        })
        .collect();
    out.push('[');
    if !columns.is_empty() {
        for (i, row) in values.chunks(columns.len()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            for (j, (key, value)) in keys.iter().zip(row).enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(key);
                tagged |= write_value(&mut out, value);
            }
            out.push('}');
        }
    }
    out.push(']');
    (out, tagged)
}

/// Writes one value; true when it is tagged.
fn write_value(out: &mut String, value: &Value) -> bool {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(true) => out.push_str("true"),
        Value::Boolean(false) => out.push_str("false"),
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        // `{:?}` always writes a fraction or an exponent (`1.0`, `1e300`), so the guest reads
        // a real back, never an integer.
        Value::Real(r) if r.is_finite() => {
            let _ = write!(out, "{r:?}");
        }
        Value::Real(r) => {
            let name = match (r.is_nan(), *r > 0.0) {
                (true, _) => "NaN",
                (false, true) => "Infinity",
                (false, false) => "-Infinity",
            };
            let _ = write!(out, "{{\"$real\":\"{name}\"}}");
            return true;
        }
        Value::Text(text) => write_string(out, text),
        Value::Blob(bytes) => {
            out.push_str("{\"$blob\":\"");
            base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
            out.push_str("\"}");
            return true;
        }
    }
    false
}

/// A JSON string: quotes, backslashes and control characters escaped, the rest as it is.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..at]);
        match escape {
            "" => {
                let _ = write!(out, "\\u{byte:04x}");
            }
            escape => out.push_str(escape),
        }
        start = at + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// The parameter rows of `execute-many-json`, flattened, and their width.
pub(super) fn params_from_json(text: &str) -> Result<(usize, Vec<Value>), DbError> {
    let fail = DbError::new;
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(text)
        .map_err(|e| fail(format!("the parameter rows are not a JSON array of arrays: {e}")))?;
    let width = rows.first().map_or(0, Vec::len);
    let mut flat = Vec::with_capacity(width * rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        if row.len() != width {
            let n = row.len();
            return Err(fail(format!("parameter row {i} has {n} values, row 0 has {width}")));
        }
        for (j, value) in row.into_iter().enumerate() {
            let value = to_value(value)
                .map_err(|why| fail(format!("parameter row {i}, value {}: {why}", j + 1)))?;
            flat.push(value);
        }
    }
    Ok((width, flat))
}

fn to_value(value: serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as Json;
    Ok(match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(b),
        Json::Number(n) if n.is_f64() => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => return Err(format!("{n} does not fit a 64-bit integer")),
        },
        Json::String(s) => Value::Text(s),
        Json::Object(object) => match object.get("$blob") {
            Some(Json::String(encoded)) if object.len() == 1 => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| format!("a `$blob` that is not base64: {e}"))?;
                Value::Blob(bytes)
            }
            _ => {
                return Err(
                    "an object is not a SQL value (a blob is {\"$blob\": \"<base64>\"})".into()
                );
            }
        },
        Json::Array(_) => return Err("a list is not a SQL value".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_the_values_they_were() {
        let columns = vec!["id".to_owned(), "name \"q\"".to_owned()];
        let values = vec![
            Value::Integer(-7),
            Value::Text("a\"b\\c\nd\u{1}é".to_owned()),
            Value::Real(1.0),
            Value::Null,
            Value::Boolean(true),
            Value::Real(2.5e300),
        ];
        let (json, tagged) = rows_to_json(&columns, &values);
        assert!(!tagged);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed[0]["id"], -7);
        assert_eq!(parsed[0]["name \"q\""], "a\"b\\c\nd\u{1}é");
        assert!(parsed[1]["id"].is_f64(), "{json}");
        assert!(parsed[1]["name \"q\""].is_null());
        assert_eq!(parsed[2]["id"], true);
        assert_eq!(parsed[2]["name \"q\""].as_f64(), Some(2.5e300));
        let (json, tagged) =
            rows_to_json(&columns[..1], &[Value::Blob(vec![0, 255]), Value::Real(f64::NAN)]);
        assert!(tagged);
        assert_eq!(json, r#"[{"id":{"$blob":"AP8="}},{"id":{"$real":"NaN"}}]"#);
        assert_eq!(rows_to_json(&[], &[]).0, "[]");
    }

    #[test]
    fn parameter_rows_become_values_or_say_what_is_wrong() {
        let (width, flat) = params_from_json(
            r#"[[1, "a", 1.0, null, true], [2, "b", 2.5, {"$blob": "AP8="}, false]]"#,
        )
        .unwrap();
        assert_eq!(width, 5);
        assert_eq!(flat[0], Value::Integer(1));
        assert_eq!(flat[2], Value::Real(1.0));
        assert_eq!(flat[8], Value::Blob(vec![0, 255]));
        assert_eq!(params_from_json("[]").unwrap(), (0, Vec::new()));
        let error = |text| params_from_json(text).unwrap_err().message;
        assert_eq!(error("[[1, 2], [3]]"), "parameter row 1 has 1 values, row 0 has 2");
        assert!(error("[[18446744073709551615]]").contains("does not fit a 64-bit integer"));
        assert!(error("[[{\"a\": 1}]]").contains("row 0, value 1: an object is not a SQL value"));
        assert!(error("[[[1]]]").contains("a list is not a SQL value"));
        assert!(error("{}").contains("not a JSON array of arrays"));
    }
}
