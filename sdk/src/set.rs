//! One statement for a whole batch of rows: the rows travel as one JSON text in `$1`, and the
//! database reads them as a table and joins them, instead of running a statement per row.

use crate::bindings::godwit::migration::sql;
use crate::{Dialect, Error, Param, Result};
use std::fmt::Write;

/// Runs `statement` once over all of `rows`, set-based. In the statement, `{rows}` stands for
/// the rows as a table whose columns `columns` names and types (`"id bigint"`,
/// `"name text"`), in the order of each row's values:
///
/// ```ignore
/// sql::execute_set(
///     "UPDATE people SET first_name = v.first, passes = passes + 1 \
///      FROM {rows} AS v WHERE people.id = v.id",
///     &["first text", "id bigint"],
///     &[[first.into(), id.into()]],
/// )?;
/// ```
///
/// The rows go to the database as one JSON text in the statement's only parameter, read by
/// `json_array_elements` on PostgreSQL and `json_each` on SQLite, each value cast to its
/// column's type. Values are null, booleans, integers, finite reals and text; a blob has no
/// JSON form, so rows holding one need [`execute_many`](crate::sql::execute_many). Returns the
/// rows the statement changed.
pub fn execute_set<'a, R: AsRef<[Param<'a>]>>(
    statement: &str,
    columns: &[&str],
    rows: &[R],
) -> Result<u64> {
    if !statement.contains("{rows}") {
        return Err(Error::from("execute_set: the statement has no {rows} to read the rows from"));
    }
    let table = table(crate::sql::dialect(), columns)?;
    let json = rows_json(columns.len(), rows)?;
    let statement = statement.replace("{rows}", &table);
    Ok(sql::execute(&statement, &[Param::Text(&json)])?)
}

/// The rows as a table expression of `dialect` over the JSON text in `$1`.
fn table(dialect: Dialect, columns: &[&str]) -> Result<String> {
    if columns.is_empty() {
        return Err(Error::from("execute_set: no columns"));
    }
    let mut select = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let (name, ty) = column.trim().split_once(char::is_whitespace).ok_or_else(|| {
            Error(format!("execute_set: column `{column}` is not `name type`, like `id bigint`"))
        })?;
        let ty = ty.trim();
        let word =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let type_ok = ty.split(['(', ')', ',', ' ']).all(|part| part.is_empty() || word(part));
        if !word(name) || !type_ok {
            return Err(Error(format!("execute_set: column `{column}` is not `name type`")));
        }
        select.push(match dialect {
            Dialect::Postgres => format!("(r->>{i})::{ty} AS {name}"),
            Dialect::Sqlite => format!("CAST(value->>{i} AS {ty}) AS {name}"),
        });
    }
    let select = select.join(", ");
    Ok(match dialect {
        Dialect::Postgres => format!("(SELECT {select} FROM json_array_elements($1::json) AS r)"),
        Dialect::Sqlite => format!("(SELECT {select} FROM json_each($1))"),
    })
}

/// `rows` as a JSON array of arrays, each `width` values long.
fn rows_json<'a, R: AsRef<[Param<'a>]>>(width: usize, rows: &[R]) -> Result<String> {
    let mut json = String::with_capacity(rows.len() * width * 12 + 2);
    json.push('[');
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        if row.len() != width {
            return Err(Error(format!(
                "execute_set: row {i} has {} values for {width} columns",
                row.len()
            )));
        }
        json.push_str(if i == 0 { "[" } else { ",[" });
        for (j, value) in row.iter().enumerate() {
            if j > 0 {
                json.push(',');
            }
            value_json(&mut json, value)
                .map_err(|why| Error(format!("execute_set: row {i}: {why}")))?;
        }
        json.push(']');
    }
    json.push(']');
    Ok(json)
}

fn value_json(json: &mut String, value: &Param<'_>) -> Result<(), String> {
    match value {
        Param::Null => json.push_str("null"),
        Param::Boolean(b) => json.push_str(if *b { "true" } else { "false" }),
        Param::Integer(n) => {
            let _ = write!(json, "{n}");
        }
        Param::Real(r) if r.is_finite() => {
            // `{:?}` keeps a fraction or an exponent, so 1.0 stays a real.
            let _ = write!(json, "{r:?}");
        }
        Param::Real(r) => return Err(format!("{r} has no JSON form")),
        Param::Text(text) => string_json(json, text),
        Param::Blob(_) => return Err("a blob has no JSON form; use execute_many".to_owned()),
    }
    Ok(())
}

fn string_json(json: &mut String, text: &str) {
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(json, "\\u{:04x}", u32::from(c));
            }
            c => json.push(c),
        }
    }
    json.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_json_arrays() {
        let rows =
            [[Param::Integer(1), Param::Text("a \"q\"\n\u{1}é"), Param::Null, Param::Real(1.0)]];
        assert_eq!(rows_json(4, &rows).unwrap(), r#"[[1,"a \"q\"\n\u0001é",null,1.0]]"#);
        assert!(rows_json(1, &[[Param::Blob(b"x")]]).is_err());
        assert!(rows_json(1, &[[Param::Real(f64::NAN)]]).is_err());
        assert!(rows_json(2, &[[Param::Null]]).is_err());
    }

    #[test]
    fn the_table_reads_each_column_with_its_type() {
        let pg = table(Dialect::Postgres, &["id bigint", "name text"]).unwrap();
        assert_eq!(
            pg,
            "(SELECT (r->>0)::bigint AS id, (r->>1)::text AS name FROM json_array_elements($1::json) AS r)"
        );
        let sqlite = table(Dialect::Sqlite, &["amount numeric(10,2)"]).unwrap();
        assert_eq!(
            sqlite,
            "(SELECT CAST(value->>0 AS numeric(10,2)) AS amount FROM json_each($1))"
        );
        assert!(table(Dialect::Sqlite, &["id"]).is_err());
        assert!(table(Dialect::Sqlite, &["id; drop table x bigint"]).is_err());
    }
}
